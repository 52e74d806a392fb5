//! [`ProcessLauncher`]: tasks as process groups, one supervisor per task.
//!
//! Each launched task gets a supervisor (a tokio task) that starts its containers one by one, then
//! owns every decision about the task: the essential-container policy, `SIGTERM` and the `SIGKILL`
//! deadline of a stop, and the final `TaskGone`. All of a task's events are sent by its
//! supervisor, which is what keeps them in order. Process exits reach the supervisor from one
//! watcher thread per container (see the private `spawn` module).

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::task::{ContainerSpec, LaunchError, TaskEvent, TaskLauncher, TaskSpec};
use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::image::Resolver;
use crate::records::{GroupRecord, Records, TaskRecord};
use crate::spawn::{self, Launch, Proc, Report, Spawner};
use crate::{RuntimeConfig, RuntimeError, lock, logs, procfs};

/// Runs tasks as host processes. See the crate doc for the guarantees.
#[derive(Debug)]
pub struct ProcessLauncher {
    inner: Arc<Inner>,
    reaped_at_start: Vec<String>,
}

#[derive(Debug)]
struct Inner {
    resolver: Resolver,
    records: Records,
    events: mpsc::UnboundedSender<TaskEvent>,
    spawner: Spawner,
    /// A std mutex: it is never held across an `.await`, only for map updates and signal sends.
    state: std::sync::Mutex<State>,
    /// The number of tasks not yet gone, for [`ProcessLauncher::shutdown`] to wait on.
    live: watch::Sender<usize>,
    /// Supervisors are spawned here, so `launch` works from any thread.
    runtime: tokio::runtime::Handle,
}

#[derive(Debug, Default)]
struct State {
    tasks: HashMap<String, TaskHandle>,
    shutting_down: bool,
}

/// What the launcher keeps of a task while its supervisor runs.
#[derive(Debug)]
struct TaskHandle {
    stop: mpsc::UnboundedSender<()>,
    /// Filled in by the supervisor as containers start; used by `Drop` as a last resort.
    procs: Vec<Arc<Proc>>,
}

impl ProcessLauncher {
    /// Builds the launcher: kills process groups that an earlier berth on the same `state_dir` left
    /// behind, and starts the spawner thread. Must be called inside a tokio runtime; the
    /// supervisors run on it. Blocks while leftovers die (at most about two seconds, and only if
    /// there were any).
    ///
    /// Two launchers must never share a `state_dir` at the same time: the second would kill the
    /// first one's tasks as leftovers.
    pub fn new(
        config: RuntimeConfig,
        events: mpsc::UnboundedSender<TaskEvent>,
    ) -> Result<Arc<Self>, RuntimeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| RuntimeError::NoAsyncRuntime)?;
        let state_error = |source| RuntimeError::StateDir { path: config.state_dir.clone(), source };
        let records = Records::open(&config.state_dir).map_err(state_error)?;
        let reaped_at_start = records.reap_orphans().map_err(state_error)?;
        let spawner = Spawner::start().map_err(RuntimeError::SpawnerThread)?;
        let RuntimeConfig { image_map, search_dirs, search_path, .. } = config;
        Ok(Arc::new(Self {
            inner: Arc::new(Inner {
                resolver: Resolver { image_map, search_dirs, search_path },
                records,
                events,
                spawner,
                state: std::sync::Mutex::new(State::default()),
                live: watch::Sender::new(0),
                runtime,
            }),
            reaped_at_start,
        }))
    }

    /// Ids of the tasks whose leftover processes [`ProcessLauncher::new`] killed.
    pub fn reaped_at_start(&self) -> &[String] {
        &self.reaped_at_start
    }

    /// The executable `image` resolves to, or the stop reason a task using it would get.
    pub fn resolve_image(&self, image: &str) -> Result<PathBuf, String> {
        self.inner.resolver.image(image, std::env::var_os("PATH").as_deref())
    }

    /// Stops every task (`SIGTERM`, then `SIGKILL` after each container's stop timeout) and
    /// returns once all of them are gone. Later launches are refused.
    pub async fn shutdown(&self) {
        {
            let mut state = lock(&self.inner.state);
            state.shutting_down = true;
            for task in state.tasks.values() {
                let _ = task.stop.send(());
            }
        }
        let mut live = self.inner.live.subscribe();
        // The sender lives in `inner`, which `self` holds, so this cannot fail.
        let _ = live.wait_for(|n| *n == 0).await;
    }
}

impl TaskLauncher for ProcessLauncher {
    fn launch(&self, spec: TaskSpec) -> Result<(), LaunchError> {
        if spec.containers.is_empty() {
            return Err(LaunchError(format!("task {} has no containers", spec.task_id)));
        }
        let mut stems = BTreeSet::new();
        for container in &spec.containers {
            if !stems.insert(logs::log_file_stem(&container.name)) {
                return Err(LaunchError(format!(
                    "task {} has two containers named like {:?}",
                    spec.task_id, container.name
                )));
            }
        }
        let (stop, stop_requests) = mpsc::unbounded_channel();
        {
            let mut state = lock(&self.inner.state);
            if state.shutting_down {
                return Err(LaunchError("the runtime is shutting down".to_string()));
            }
            if state.tasks.contains_key(&spec.task_id) {
                return Err(LaunchError(format!("task {} is already running", spec.task_id)));
            }
            state.tasks.insert(spec.task_id.clone(), TaskHandle { stop, procs: Vec::new() });
            self.inner.live.send_replace(state.tasks.len());
        }
        let supervisor = Supervisor::new(self.inner.clone(), spec, stop_requests);
        self.inner.runtime.spawn(supervisor.run());
        Ok(())
    }

    fn stop(&self, task_id: &str) {
        if let Some(task) = lock(&self.inner.state).tasks.get(task_id) {
            let _ = task.stop.send(());
        }
    }

    /// Tasks launched and not yet reported gone: each has a live process or is about to report
    /// why it has none.
    fn live_tasks(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.inner.state).tasks.keys().cloned().collect();
        ids.sort();
        ids
    }
}

impl Drop for Inner {
    /// Only reached when no supervisor is left to do it properly (the tokio runtime was dropped
    /// with tasks running): kill what remains rather than leave it behind.
    fn drop(&mut self) {
        let state = lock(&self.state);
        for proc in state.tasks.values().flat_map(|t| &t.procs) {
            proc.signal_group(Signal::SIGKILL);
        }
    }
}

/// Where one container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started (yet, or ever: it failed to start or the task stopped first).
    NotStarted,
    Running,
    /// The leader exited and was reaped; the rest of its group is being killed.
    Exited,
    /// No process of the container remains.
    Gone,
}

struct Container {
    spec: ContainerSpec,
    phase: Phase,
    proc: Option<Arc<Proc>>,
    /// Whether the stop's `SIGTERM` went out.
    term_sent: bool,
    /// When the stop's `SIGTERM` turns into `SIGKILL`; cleared once `SIGKILL` is sent.
    kill_at: Option<Instant>,
}

struct Supervisor {
    inner: Arc<Inner>,
    task_id: String,
    log_dir: PathBuf,
    containers: Vec<Container>,
    record: TaskRecord,
    stop_requests: mpsc::UnboundedReceiver<()>,
    reports_tx: mpsc::UnboundedSender<Report>,
    reports: mpsc::UnboundedReceiver<Report>,
    stopping: bool,
}

impl Supervisor {
    fn new(inner: Arc<Inner>, spec: TaskSpec, stop_requests: mpsc::UnboundedReceiver<()>) -> Self {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        Self {
            inner,
            record: TaskRecord { task_id: spec.task_id.clone(), groups: Vec::new() },
            task_id: spec.task_id,
            log_dir: spec.log_dir,
            containers: spec
                .containers
                .into_iter()
                .map(|spec| Container {
                    spec,
                    phase: Phase::NotStarted,
                    proc: None,
                    term_sent: false,
                    kill_at: None,
                })
                .collect(),
            stop_requests,
            reports_tx,
            reports,
            stopping: false,
        }
    }

    fn emit(&self, event: TaskEvent) {
        // A dropped receiver means nobody listens any more; the task is still supervised.
        let _ = self.inner.events.send(event);
    }

    async fn run(mut self) {
        tracing::info!(task = %self.task_id, "starting task");
        for index in 0..self.containers.len() {
            if self.stop_requests.try_recv().is_ok() {
                self.stopping = true;
            }
            if self.stopping {
                // Containers not started yet never will be; they get no events.
                break;
            }
            self.start(index).await;
        }
        if self.stopping {
            self.begin_stop();
        }
        while !self.containers.iter().all(|c| matches!(c.phase, Phase::NotStarted | Phase::Gone)) {
            let next_kill =
                self.containers.iter().filter(|c| c.phase == Phase::Running).filter_map(|c| c.kill_at).min();
            tokio::select! {
                Some(report) = self.reports.recv() => self.on_report(report),
                Some(()) = self.stop_requests.recv() => self.begin_stop(),
                () = sleep_until(next_kill), if next_kill.is_some() => self.kill_overdue(),
            }
        }
        self.inner.records.remove(&self.task_id);
        {
            let mut state = lock(&self.inner.state);
            state.tasks.remove(&self.task_id);
            self.inner.live.send_replace(state.tasks.len());
        }
        tracing::info!(task = %self.task_id, "task gone");
        self.emit(TaskEvent::TaskGone { task_id: self.task_id.clone() });
    }

    /// Starts container `index` and reports `ContainerStarted` or `ContainerFailedToStart`.
    async fn start(&mut self, index: usize) {
        let name = self.containers[index].spec.name.clone();
        match self.spawn(index).await {
            Ok(pid) => {
                tracing::info!(task = %self.task_id, container = %name, pid, "container started");
                let proc = Arc::new(Proc::new(pid));
                let container = &mut self.containers[index];
                container.phase = Phase::Running;
                container.proc = Some(proc.clone());
                if let Some(task) = lock(&self.inner.state).tasks.get_mut(&self.task_id) {
                    task.procs.push(proc.clone());
                }
                // Started goes out before the watcher exists, so it precedes Exited.
                self.emit(TaskEvent::ContainerStarted {
                    task_id: self.task_id.clone(),
                    container: name,
                    pid: pid.unsigned_abs(),
                });
                spawn::watch(proc, index, self.reports_tx.clone());
            }
            Err(reason) => {
                tracing::warn!(task = %self.task_id, container = %name, %reason, "container failed to start");
                self.emit(TaskEvent::ContainerFailedToStart {
                    task_id: self.task_id.clone(),
                    container: name,
                    reason,
                });
                if self.containers[index].spec.essential {
                    self.stopping = true;
                }
            }
        }
    }

    /// Resolves, opens the log, forks, records the new group before its program runs, and waits
    /// for the exec. Returns the pid; the error is the stop reason.
    async fn spawn(&mut self, index: usize) -> Result<i32, String> {
        let spec = &self.containers[index].spec;
        fs::create_dir_all(&self.log_dir).map_err(|e| {
            format!(
                "CannotStartContainerError: berth could not create the log directory {}: {e}",
                self.log_dir.display()
            )
        })?;
        let cwd: &Path = match &spec.working_directory {
            Some(dir) if Path::new(dir).is_dir() => Path::new(dir),
            _ => &self.log_dir,
        };
        let (program, args) = match spec.entry_point.split_first() {
            Some((first, rest)) => {
                let task_path =
                    spec.environment.get("PATH").map(OsString::from).or_else(|| std::env::var_os("PATH"));
                let program = self.inner.resolver.entry_point(first, task_path.as_deref(), cwd)?;
                (program, rest.iter().chain(&spec.command).cloned().collect::<Vec<_>>())
            }
            None => {
                let program = self.inner.resolver.image(&spec.image, std::env::var_os("PATH").as_deref())?;
                (program, spec.command.clone())
            }
        };
        let log_path = logs::log_file(&self.log_dir, &spec.name);
        let log = fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| {
            format!(
                "CannotStartContainerError: berth could not open the log file {}: {e}",
                log_path.display()
            )
        })?;
        let cannot_start = |e: std::io::Error| {
            format!("CannotStartContainerError: berth could not start {}: {e}", program.display())
        };
        let (gate, child_gate) = spawn::gate().map_err(cannot_start)?;
        let command = spawn::command(
            Launch { program: &program, args: &args, environment: &spec.environment, cwd, log },
            child_gate,
        )
        .map_err(cannot_start)?;
        let execed = self.inner.spawner.spawn(command).map_err(cannot_start)?;

        let (gate, arrived) = gate.arrived().await;
        let recorded = match arrived {
            Some(pid) => self.record_group(index, pid),
            None => false,
        };
        if let Some(gate) = gate {
            gate.open();
        }
        let execed = match execed.await {
            Ok(execed) => execed,
            Err(_) => Err(std::io::Error::other("the runtime's spawner thread is gone")),
        };
        if execed.is_err() && recorded {
            // The child was reaped by the spawner; forget its group.
            self.record.groups.pop();
            self.write_record();
        }
        execed.map_err(cannot_start)
    }

    /// Adds container `index`'s new group (led by `pid`, still before exec) to the task's pid
    /// record. False if the process vanished first.
    fn record_group(&mut self, index: usize, pid: i32) -> bool {
        let Some(stat) = procfs::stat(pid) else {
            return false;
        };
        self.record.groups.push(GroupRecord {
            container: self.containers[index].spec.name.clone(),
            pgid: pid,
            start_time: stat.start_time,
            session: stat.session,
        });
        self.write_record();
        true
    }

    fn write_record(&self) {
        let written = if self.record.groups.is_empty() {
            self.inner.records.remove(&self.task_id);
            Ok(())
        } else {
            self.inner.records.write(&self.record)
        };
        if let Err(e) = written {
            // The process still dies with berth (PR_SET_PDEATHSIG); only its children could be
            // missed after a crash.
            tracing::warn!(task = %self.task_id, error = %e, "could not write the pid record");
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::Exited(index, exit) => {
                let container = &mut self.containers[index];
                container.phase = Phase::Exited;
                container.kill_at = None;
                let essential = container.spec.essential;
                let name = container.spec.name.clone();
                tracing::info!(
                    task = %self.task_id, container = %name,
                    exit_code = ?exit.exit_code, signal = ?exit.signal, "container exited"
                );
                self.emit(TaskEvent::ContainerExited {
                    task_id: self.task_id.clone(),
                    container: name,
                    exit_code: exit.exit_code,
                    signal: exit.signal,
                });
                if essential && !self.stopping {
                    tracing::info!(task = %self.task_id, "an essential container exited; stopping the task");
                }
                if essential {
                    self.begin_stop();
                }
            }
            Report::GroupGone(index) => self.containers[index].phase = Phase::Gone,
        }
    }

    /// `SIGTERM` to every running container's group, `SIGKILL` due after its stop timeout.
    /// Idempotent: a container is sent `SIGTERM` once, and a deadline once set is kept.
    fn begin_stop(&mut self) {
        self.stopping = true;
        let now = Instant::now();
        for container in &mut self.containers {
            if container.phase == Phase::Running
                && !container.term_sent
                && let Some(proc) = &container.proc
            {
                tracing::debug!(task = %self.task_id, container = %container.spec.name, "SIGTERM");
                proc.signal_group(Signal::SIGTERM);
                container.term_sent = true;
                container.kill_at = Some(now + container.spec.stop_timeout);
            }
        }
    }

    fn kill_overdue(&mut self) {
        let now = Instant::now();
        for container in &mut self.containers {
            if container.phase == Phase::Running
                && container.kill_at.is_some_and(|at| at <= now)
                && let Some(proc) = &container.proc
            {
                tracing::info!(
                    task = %self.task_id, container = %container.spec.name,
                    "stop timeout passed; SIGKILL"
                );
                proc.signal_group(Signal::SIGKILL);
                // Nothing more to escalate to; the watcher reports the exit.
                container.kill_at = None;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
