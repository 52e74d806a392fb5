//! Starting a container's process and watching it until its whole process group is gone.
//!
//! # Why one spawner thread
//! Each process asks the kernel for `SIGKILL` when its parent dies (`PR_SET_PDEATHSIG`), so tasks do
//! not outlive a berth that is killed with `SIGKILL`. The kernel's "parent" here is the *thread*
//! that forked, not the process: a child forked from a tokio blocking-pool thread would be killed
//! as soon as that thread retired after ten idle seconds. So every fork happens on one long-lived
//! thread, [`Spawner`], which lives as long as the launcher that owns it.
//!
//! # Why a start gate
//! A restarted berth can only kill what it has a record of, so the record of a process group must
//! exist before the program in it runs (a program may fork in its first microsecond). The child
//! therefore stops between fork and exec: it writes its pid into one pipe and waits for a byte on
//! another ([`gate`]). Meanwhile the supervisor writes the pid record and opens the gate. If the
//! supervisor goes away instead, the gate's pipe closes and the child exits without running the
//! program.
//!
//! # Why wait with `WNOWAIT`, kill the group, then reap
//! A container is a process group whose id is the leader's pid. After the leader is reaped, its pid
//! (and so the group id) may be recycled once the group is empty, and a signal to it could hit an
//! unrelated process. The reaper therefore learns of the exit with `waitid(WNOWAIT)`, which leaves
//! the leader a zombie that still pins the id, sends `SIGKILL` to whatever is left of the group,
//! and only then reaps. Every signal to a group (here and in [`Proc::signal_group`]) is sent under
//! the same lock that the reaper holds while reaping, so no signal is ever sent to a recycled id.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::prctl;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::{lock, procfs};

/// How long the reaper waits for the rest of a group to die after `SIGKILL` before it reports the
/// group gone anyway. Only a process stuck in uninterruptible sleep (`D`) takes this long.
const GROUP_KILL_GRACE: Duration = Duration::from_secs(5);

struct Request {
    command: Command,
    reply: oneshot::Sender<io::Result<i32>>,
}

/// Handle to the thread every task process is forked from (see the module doc for why).
#[derive(Debug)]
pub(crate) struct Spawner {
    requests: mpsc::Sender<Request>,
}

impl Spawner {
    /// Starts the spawner thread. It ends when the last handle is dropped.
    pub fn start() -> io::Result<Self> {
        let (requests, incoming) = mpsc::channel::<Request>();
        thread::Builder::new().name("berth-spawner".to_string()).spawn(move || {
            for Request { mut command, reply } in incoming {
                // Dropping a std `Child` neither waits nor kills; the pid is watched by `watch`.
                let spawned = command.spawn().map(|child| child.id() as i32);
                // Closes berth's copies of the child's ends of the start gate.
                drop(command);
                // If the caller gave up waiting, nothing would watch the process: kill it.
                if let Err(Ok(lost)) = reply.send(spawned) {
                    let _ = killpg(Pid::from_raw(lost), Signal::SIGKILL);
                    let _ = waitpid(Pid::from_raw(lost), None);
                }
            }
        })?;
        Ok(Self { requests })
    }

    /// Hands `command` to the spawner thread. The receiver yields the pid once the program runs
    /// (std's `spawn` returns only after a successful exec), or why it could not start.
    pub fn spawn(&self, command: Command) -> io::Result<oneshot::Receiver<io::Result<i32>>> {
        let (reply, response) = oneshot::channel();
        self.requests
            .send(Request { command, reply })
            .map_err(|_| io::Error::other("the runtime's spawner thread is gone"))?;
        Ok(response)
    }
}

/// berth's side of a start gate (see the module doc).
#[derive(Debug)]
pub(crate) struct Gate {
    pid: File,
    go: File,
}

/// The child's side of a start gate; moved into the command.
#[derive(Debug)]
pub(crate) struct ChildGate {
    pid: OwnedFd,
    go: OwnedFd,
}

/// A closed start gate. Both pipes are close-on-exec, so the program never sees them.
pub(crate) fn gate() -> io::Result<(Gate, ChildGate)> {
    let (pid_read, pid_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (go_read, go_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    Ok((
        Gate { pid: File::from(pid_read), go: File::from(go_write) },
        ChildGate { pid: pid_write, go: go_read },
    ))
}

impl Gate {
    /// The pid of the forked child now waiting at the gate, or `None` if no child will arrive
    /// (the fork or the setup before the gate failed, and the spawner dropped the command).
    /// Reading blocks, so it happens on the blocking pool.
    pub async fn arrived(self) -> (Option<Self>, Option<i32>) {
        let read = tokio::task::spawn_blocking(move || {
            let mut gate = self;
            let mut pid = [0u8; 4];
            let arrived = gate.pid.read_exact(&mut pid).ok().map(|()| i32::from_ne_bytes(pid));
            (gate, arrived)
        });
        match read.await {
            Ok((gate, arrived)) => (Some(gate), arrived),
            // Only at runtime shutdown; the gate is dropped with the closure, so a child waiting
            // at it gives up.
            Err(_) => (None, None),
        }
    }

    /// Lets the child exec its program.
    pub fn open(mut self) {
        if let Err(e) = self.go.write_all(&[1]) {
            tracing::debug!(error = %e, "start gate: the child is gone");
        }
    }
}

/// What to run for one container.
pub(crate) struct Launch<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub environment: &'a BTreeMap<String, String>,
    pub cwd: &'a Path,
    /// Receives both stdout and stderr; opened in append mode.
    pub log: File,
}

/// The command for a container: its own process group, a clean environment, stdin from
/// `/dev/null`, stdout and stderr straight into the log file (berth copies nothing, so the log
/// keeps being written however busy berth is).
pub(crate) fn command(launch: Launch<'_>, gate: ChildGate) -> io::Result<Command> {
    let mut command = Command::new(launch.program);
    command
        .args(launch.args)
        .env_clear()
        .envs(launch.environment)
        .current_dir(launch.cwd)
        .stdin(Stdio::null())
        .stdout(launch.log.try_clone()?)
        .stderr(launch.log)
        .process_group(0);
    if !launch.environment.contains_key("PATH")
        && let Some(path) = std::env::var_os("PATH")
    {
        command.env("PATH", path);
    }
    before_exec(&mut command, gate);
    Ok(command)
}

/// Runs in the child between fork and exec: asks for `SIGKILL` when the thread that forked it (the
/// spawner) dies, which is when berth dies, however it dies; then waits at the start gate.
#[allow(unsafe_code)]
fn before_exec(command: &mut Command, gate: ChildGate) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the forked child of a multi-threaded process, before exec, where
    // only async-signal-safe work is allowed. It makes only raw system calls (prctl, getppid,
    // getpid, write, read) on values it owns, builds `io::Error`s from errnos (no allocation),
    // and takes no locks and touches no shared state.
    unsafe {
        command.pre_exec(move || {
            prctl::set_pdeathsig(Signal::SIGKILL)?;
            // If berth died between fork and prctl, the death signal was never armed: the child
            // has been reparented, so give up instead of running unsupervised.
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(Errno::ESRCH));
            }
            let pid = nix::unistd::getpid().as_raw().to_ne_bytes();
            // Four bytes into an empty pipe are written whole or not at all.
            if nix::unistd::write(&gate.pid, &pid)? != pid.len() {
                return Err(io::Error::from(Errno::EPIPE));
            }
            let mut go = [0u8; 1];
            loop {
                match nix::unistd::read(&gate.go, &mut go) {
                    Ok(1) => return Ok(()),
                    // End of file: berth gave up on this start.
                    Ok(_) => return Err(io::Error::from(Errno::ECANCELED)),
                    Err(Errno::EINTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        });
    }
}

/// A running container's process group. Its id is the leader's pid.
#[derive(Debug)]
pub(crate) struct Proc {
    pub pid: i32,
    /// True once the leader is reaped: from then on the id may be recycled and is never signalled.
    reaped: Mutex<bool>,
}

impl Proc {
    pub fn new(pid: i32) -> Self {
        Self { pid, reaped: Mutex::new(false) }
    }

    /// Sends `signal` to the whole group, unless the leader has already been reaped.
    pub fn signal_group(&self, signal: Signal) {
        let reaped = lock(&self.reaped);
        if !*reaped && let Err(e) = killpg(Pid::from_raw(self.pid), signal) {
            tracing::debug!(pgid = self.pid, %signal, error = %e, "signal to process group failed");
        }
    }
}

/// How a container's leader process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exit {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

impl Exit {
    fn from_status(status: WaitStatus) -> Self {
        match status {
            WaitStatus::Exited(_, code) => Self { exit_code: Some(code), signal: None },
            WaitStatus::Signaled(_, signal, _) => Self { exit_code: None, signal: Some(signal as i32) },
            _ => Self { exit_code: None, signal: None },
        }
    }
}

/// What the reaper of container `index` reports, in this order.
#[derive(Debug)]
pub(crate) enum Report {
    Exited(usize, Exit),
    /// No process of the group runs any more.
    GroupGone(usize),
}

/// Watches `proc` on its own thread: waits for the leader, kills and reaps, waits for the group.
pub(crate) fn watch(proc: Arc<Proc>, index: usize, reports: tokio_mpsc::UnboundedSender<Report>) {
    let fallback = (proc.clone(), reports.clone());
    let spawned = thread::Builder::new()
        .name(format!("berth-wait-{}", proc.pid))
        .stack_size(64 * 1024)
        .spawn(move || reap(&proc, index, &reports));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread for a process watcher; using the blocking pool");
        let (proc, reports) = fallback;
        tokio::task::spawn_blocking(move || reap(&proc, index, &reports));
    }
}

fn reap(proc: &Proc, index: usize, reports: &tokio_mpsc::UnboundedSender<Report>) {
    let pid = Pid::from_raw(proc.pid);
    let status = loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Err(Errno::EINTR) => continue,
            other => break other,
        }
    };
    let exit = {
        let mut reaped = lock(&proc.reaped);
        // The leader is a zombie and pins the group id: whatever it left behind goes now.
        let _ = killpg(pid, Signal::SIGKILL);
        let reaped_status = loop {
            match waitpid(pid, None) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        *reaped = true;
        match status.or(reaped_status) {
            Ok(status) => Exit::from_status(status),
            Err(e) => {
                tracing::warn!(pid = proc.pid, error = %e, "could not learn how the process exited");
                Exit { exit_code: None, signal: None }
            }
        }
    };
    let _ = reports.send(Report::Exited(index, exit));
    wait_for_group(proc.pid);
    let _ = reports.send(Report::GroupGone(index));
}

/// Waits until no member of group `pgid` runs (they were sent `SIGKILL`), for a bounded time.
fn wait_for_group(pgid: i32) {
    let deadline = Instant::now() + GROUP_KILL_GRACE;
    let mut pause = Duration::from_millis(1);
    loop {
        let members = procfs::running_members(pgid);
        if members.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            tracing::warn!(pgid, ?members, "processes survived SIGKILL to their group");
            return;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
