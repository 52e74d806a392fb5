//! The process runtime against real processes: `/bin/sh` scripts in a temporary directory play
//! the images (through the explicit image map). Every wait is bounded.

// Helpers outside `#[test]` functions are test code too; a failed setup should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::task::{ContainerSpec, TaskEvent, TaskLauncher, TaskSpec};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use runtime::{ProcessLauncher, RuntimeConfig};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// Upper bound for anything the tests wait for.
const PATIENCE: Duration = Duration::from_secs(10);

/// A test's temporary world: scripts, state and logs, one launcher and its events.
struct Fixture {
    dir: tempfile::TempDir,
    launcher: Arc<ProcessLauncher>,
    events: UnboundedReceiver<TaskEvent>,
}

impl Fixture {
    /// A launcher whose images are the given `(image, script body)` pairs.
    fn new(images: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), images);
        let (tx, events) = unbounded_channel();
        let launcher = ProcessLauncher::new(config, tx).unwrap();
        Self { dir, launcher, events }
    }

    fn log_dir(&self, task_id: &str) -> PathBuf {
        self.dir.path().join("logs").join(task_id)
    }

    fn task(&self, task_id: &str, containers: Vec<ContainerSpec>) -> TaskSpec {
        TaskSpec {
            task_id: task_id.to_string(),
            host_ip: "127.0.2.17".parse().unwrap(),
            hostname: "ip-10-0-2-17.ec2.internal".to_string(),
            log_dir: self.log_dir(task_id),
            containers,
        }
    }

    async fn next(&mut self) -> TaskEvent {
        tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .expect("no event in time")
            .expect("event channel closed")
    }

    /// The task's events up to and including `TaskGone`.
    async fn until_gone(&mut self, task_id: &str) -> Vec<TaskEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            if event.task_id() != task_id {
                continue;
            }
            let gone = matches!(event, TaskEvent::TaskGone { .. });
            seen.push(event);
            if gone {
                return seen;
            }
        }
    }

    /// The pid from the next `ContainerStarted` for `container`.
    async fn started(&mut self, container: &str) -> i32 {
        match self.next().await {
            TaskEvent::ContainerStarted { container: c, pid, .. } if c == container => pid as i32,
            other => panic!("expected {container} to start, got {other:?}"),
        }
    }
}

fn config(dir: &Path, images: &[(&str, &str)]) -> RuntimeConfig {
    let scripts = dir.join("images");
    fs::create_dir_all(&scripts).unwrap();
    let mut config = RuntimeConfig::new(dir.join("state"));
    config.search_dirs = Vec::new();
    config.search_path = false;
    for (image, body) in images {
        let path = scripts.join(image.replace(['/', ':'], "_"));
        write_script(&path, body);
        config.image_map.insert((*image).to_string(), path);
    }
    config
}

fn write_script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn container(name: &str, image: &str) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        image: image.to_string(),
        entry_point: Vec::new(),
        command: Vec::new(),
        environment: BTreeMap::new(),
        working_directory: None,
        essential: true,
        stop_timeout: Duration::from_secs(5),
    }
}

fn exited(task: &str, container: &str, exit_code: Option<i32>, signal: Option<i32>) -> TaskEvent {
    TaskEvent::ContainerExited {
        task_id: task.to_string(),
        container: container.to_string(),
        exit_code,
        signal,
    }
}

fn gone(task: &str) -> TaskEvent {
    TaskEvent::TaskGone { task_id: task.to_string() }
}

/// Whether `pid` runs code (a zombie waiting for an indifferent init does not).
fn running(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
        Err(_) => false,
    }
}

/// Polls `condition` until it holds or `PATIENCE` runs out.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for a file a script writes its pids into, and reads the pid.
async fn pid_file(path: &Path) -> i32 {
    let mut pid = None;
    eventually(&format!("{} is written", path.display()), || {
        pid = fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok());
        pid.is_some()
    })
    .await;
    pid.unwrap()
}

const SLEEPER: &str = "exec sleep 1000";
const GRACEFUL: &str = "trap 'echo got TERM; exit 0' TERM\necho ready\nwhile :; do sleep 0.05; done";
const STUBBORN: &str = "trap '' TERM\necho ready\nwhile :; do sleep 0.05; done";
/// Starts a grandchild in the container's group and records both pids in the working directory.
const FORKER: &str = "sleep 1000 &\necho $! > grandchild.pid\necho $$ > leader.pid\nwait";

#[tokio::test]
async fn a_started_container_sees_exactly_its_environment_and_logs_to_its_file() {
    let mut f = Fixture::new(&[("env", "echo \"args: $*\"\nenv\necho to-stderr >&2\nexec sleep 1000")]);
    let mut app = container("app", "env");
    app.command = vec!["one".into(), "two".into()];
    app.environment = BTreeMap::from([
        ("BERTH_BIND_ADDR".to_string(), "127.0.2.17".to_string()),
        ("GREETING".to_string(), "hello".to_string()),
    ]);
    f.launcher.launch(f.task("t-env", vec![app])).unwrap();
    let pid = f.started("app").await;
    assert!(running(pid));
    assert_eq!(f.launcher.live_tasks(), vec!["t-env".to_string()]);

    let log = f.log_dir("t-env").join("app.log");
    eventually("the log has stderr too", || fs::read_to_string(&log).is_ok_and(|l| l.contains("to-stderr")))
        .await;
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("args: one two"), "{text}");
    assert!(text.contains("GREETING=hello"), "{text}");
    assert!(text.contains("BERTH_BIND_ADDR=127.0.2.17"), "{text}");
    assert!(text.contains("PATH="), "PATH is inherited when absent: {text}");
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    // dash exports PWD itself; nothing else of the test's environment leaks in.
    for name in names {
        assert!(["BERTH_BIND_ADDR", "GREETING", "PATH", "PWD"].contains(&name), "leaked {name}");
    }
    assert!(text.contains(&format!("PWD={}", f.log_dir("t-env").display())), "cwd is the log dir");
    assert_eq!(runtime::log_files(&f.log_dir("t-env")), vec![("app".to_string(), log.clone())]);

    f.launcher.stop("t-env");
    assert_eq!(f.until_gone("t-env").await, vec![exited("t-env", "app", None, Some(15)), gone("t-env")]);
    assert!(!running(pid));
    assert!(f.launcher.live_tasks().is_empty());
}

#[tokio::test]
async fn an_exit_code_is_reported_then_the_task_is_gone() {
    let mut f = Fixture::new(&[("three", "exit 3")]);
    f.launcher.launch(f.task("t-3", vec![container("app", "three")])).unwrap();
    f.started("app").await;
    assert_eq!(f.until_gone("t-3").await, vec![exited("t-3", "app", Some(3), None), gone("t-3")]);
    assert!(f.launcher.live_tasks().is_empty());
}

#[tokio::test]
async fn a_killed_process_reports_its_signal() {
    let mut f = Fixture::new(&[("sleeper", SLEEPER)]);
    f.launcher.launch(f.task("t-9", vec![container("app", "sleeper")])).unwrap();
    let pid = f.started("app").await;
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    assert_eq!(f.until_gone("t-9").await, vec![exited("t-9", "app", None, Some(9)), gone("t-9")]);
}

#[tokio::test]
async fn stop_lets_a_container_exit_gracefully_on_sigterm() {
    let mut f = Fixture::new(&[("graceful", GRACEFUL)]);
    let mut app = container("app", "graceful");
    app.stop_timeout = Duration::from_secs(30);
    f.launcher.launch(f.task("t-term", vec![app])).unwrap();
    f.started("app").await;
    let log = f.log_dir("t-term").join("app.log");
    eventually("the trap is set", || fs::read_to_string(&log).is_ok_and(|l| l.contains("ready"))).await;

    let asked = Instant::now();
    f.launcher.stop("t-term");
    f.launcher.stop("t-term");
    assert_eq!(f.until_gone("t-term").await, vec![exited("t-term", "app", Some(0), None), gone("t-term")]);
    assert!(asked.elapsed() < Duration::from_secs(5), "did not wait for the stop timeout");
    assert!(fs::read_to_string(&log).unwrap().contains("got TERM"));

    // Stopping again, or stopping what never existed, does nothing and sends nothing.
    f.launcher.stop("t-term");
    f.launcher.stop("no-such-task");
    let quiet = tokio::time::timeout(Duration::from_millis(100), f.events.recv()).await;
    assert!(quiet.is_err(), "unexpected event {quiet:?}");
}

#[tokio::test]
async fn stop_kills_a_container_that_ignores_sigterm_after_its_stop_timeout() {
    let mut f = Fixture::new(&[("stubborn", STUBBORN)]);
    let mut app = container("app", "stubborn");
    app.stop_timeout = Duration::from_millis(300);
    f.launcher.launch(f.task("t-kill", vec![app])).unwrap();
    let pid = f.started("app").await;
    let log = f.log_dir("t-kill").join("app.log");
    eventually("the trap is set", || fs::read_to_string(&log).is_ok_and(|l| l.contains("ready"))).await;

    let asked = Instant::now();
    f.launcher.stop("t-kill");
    assert_eq!(f.until_gone("t-kill").await, vec![exited("t-kill", "app", None, Some(9)), gone("t-kill")]);
    let took = asked.elapsed();
    assert!(took >= Duration::from_millis(300), "SIGKILL came early: {took:?}");
    assert!(took < Duration::from_secs(5), "SIGKILL came late: {took:?}");
    assert!(!running(pid));
}

#[tokio::test]
async fn stop_takes_the_containers_children_with_it() {
    let mut f = Fixture::new(&[("forker", FORKER)]);
    f.launcher.launch(f.task("t-tree", vec![container("app", "forker")])).unwrap();
    f.started("app").await;
    let grandchild = pid_file(&f.log_dir("t-tree").join("grandchild.pid")).await;
    assert!(running(grandchild));

    f.launcher.stop("t-tree");
    let events = f.until_gone("t-tree").await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!running(grandchild), "the grandchild outlived TaskGone");
}

#[tokio::test]
async fn a_container_that_exits_on_its_own_leaves_no_children_behind() {
    let mut f = Fixture::new(&[("daemonizer", "sleep 1000 &\necho $! > grandchild.pid\nexit 0")]);
    f.launcher.launch(f.task("t-daemon", vec![container("app", "daemonizer")])).unwrap();
    f.started("app").await;
    let events = f.until_gone("t-daemon").await;
    assert_eq!(events, vec![exited("t-daemon", "app", Some(0), None), gone("t-daemon")]);
    let grandchild = pid_file(&f.log_dir("t-daemon").join("grandchild.pid")).await;
    assert!(!running(grandchild), "the grandchild outlived TaskGone");
}

#[tokio::test]
async fn an_essential_container_exiting_stops_its_siblings() {
    let mut f = Fixture::new(&[("graceful", GRACEFUL), ("short", "sleep 0.2\nexit 3")]);
    let mut sidecar = container("sidecar", "graceful");
    sidecar.essential = false;
    let main = container("main", "short");
    f.launcher.launch(f.task("t-ess", vec![sidecar, main])).unwrap();
    f.started("sidecar").await;
    f.started("main").await;
    assert_eq!(
        f.until_gone("t-ess").await,
        vec![
            exited("t-ess", "main", Some(3), None),
            exited("t-ess", "sidecar", Some(0), None),
            gone("t-ess"),
        ]
    );
}

#[tokio::test]
async fn a_non_essential_container_exiting_leaves_the_task_running() {
    let mut f = Fixture::new(&[("sleeper", SLEEPER), ("once", "exit 0")]);
    let mut init = container("init", "once");
    init.essential = false;
    f.launcher.launch(f.task("t-side", vec![container("main", "sleeper"), init])).unwrap();
    let main = f.started("main").await;
    f.started("init").await;
    assert_eq!(f.next().await, exited("t-side", "init", Some(0), None));
    assert!(running(main));
    assert_eq!(f.launcher.live_tasks(), vec!["t-side".to_string()]);
    f.launcher.stop("t-side");
    assert_eq!(f.until_gone("t-side").await, vec![exited("t-side", "main", None, Some(15)), gone("t-side")]);
}

#[tokio::test]
async fn an_unresolvable_image_fails_like_a_failed_pull() {
    let mut f = Fixture::new(&[]);
    let app = container("app", "phamtrongnghia1105/product-svc");
    f.launcher.launch(f.task("t-pull", vec![app])).unwrap();
    let events = f.until_gone("t-pull").await;
    let [TaskEvent::ContainerFailedToStart { container, reason, .. }, TaskEvent::TaskGone { .. }] =
        events.as_slice()
    else {
        panic!("unexpected events {events:?}");
    };
    assert_eq!(container, "app");
    assert!(
        reason.starts_with(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to \
             resolve ref docker.io/phamtrongnghia1105/product-svc:latest: berth found no \
             executable \"product-svc\""
        ),
        "{reason}"
    );
    assert!(reason.contains("--image"), "{reason}");
}

#[tokio::test]
async fn an_essential_container_failing_to_start_stops_the_task() {
    let mut f = Fixture::new(&[("sleeper", SLEEPER)]);
    let mut sidecar = container("sidecar", "sleeper");
    sidecar.essential = false;
    let broken = container("main", "nowhere/to-be-found");
    let never = container("later", "sleeper");
    f.launcher.launch(f.task("t-fail", vec![sidecar, broken, never])).unwrap();
    let events = f.until_gone("t-fail").await;
    assert!(matches!(&events[0], TaskEvent::ContainerStarted { container, .. } if container == "sidecar"));
    assert!(matches!(&events[1], TaskEvent::ContainerFailedToStart { container, .. } if container == "main"));
    assert_eq!(events[2..], [exited("t-fail", "sidecar", None, Some(15)), gone("t-fail")]);
}

#[tokio::test]
async fn an_entry_point_runs_with_the_command_appended() {
    let mut f = Fixture::new(&[]);
    let mut app = container("app", "not/resolved-when-an-entry-point-is-given");
    app.entry_point = vec!["sh".into(), "-c".into(), "echo \"$0-$1\"; pwd".into()];
    app.command = vec!["first".into(), "second".into()];
    app.working_directory = Some(f.dir.path().display().to_string());
    f.launcher.launch(f.task("t-entry", vec![app])).unwrap();
    f.started("app").await;
    assert_eq!(f.until_gone("t-entry").await, vec![exited("t-entry", "app", Some(0), None), gone("t-entry")]);
    let log = fs::read_to_string(f.log_dir("t-entry").join("app.log")).unwrap();
    assert_eq!(log, format!("first-second\n{}\n", f.dir.path().display()));
}

#[tokio::test]
async fn an_image_resolves_to_an_executable_in_a_search_directory() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    write_script(&bin.join("product-svc"), "echo \"I am product-svc\"");
    let mut config = RuntimeConfig::new(dir.path().join("state"));
    config.search_dirs = vec![bin.clone()];
    config.search_path = false;
    let (tx, mut events) = unbounded_channel();
    let launcher = ProcessLauncher::new(config, tx).unwrap();
    assert_eq!(launcher.resolve_image("phamtrongnghia1105/product-svc:latest"), Ok(bin.join("product-svc")));
    let log_dir = dir.path().join("logs");
    launcher
        .launch(TaskSpec {
            task_id: "t-search".into(),
            host_ip: "127.0.0.1".parse().unwrap(),
            hostname: "localhost".into(),
            log_dir: log_dir.clone(),
            containers: vec![container("web", "phamtrongnghia1105/product-svc:latest")],
        })
        .unwrap();
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(TaskEvent::TaskGone { .. })) {
        seen.push(tokio::time::timeout(PATIENCE, events.recv()).await.unwrap().unwrap());
    }
    assert_eq!(seen[1], exited("t-search", "web", Some(0), None));
    assert_eq!(fs::read_to_string(log_dir.join("web.log")).unwrap(), "I am product-svc\n");
}

#[tokio::test]
async fn launches_are_refused_for_duplicates_empty_tasks_and_after_shutdown() {
    let mut f = Fixture::new(&[("sleeper", SLEEPER)]);
    f.launcher.launch(f.task("t-dup", vec![container("app", "sleeper")])).unwrap();
    assert!(f.launcher.launch(f.task("t-dup", vec![container("app", "sleeper")])).is_err());
    assert!(f.launcher.launch(f.task("t-empty", vec![])).is_err());
    let twins = vec![container("app", "sleeper"), container("app", "sleeper")];
    assert!(f.launcher.launch(f.task("t-twins", twins)).is_err());
    f.started("app").await;
    tokio::time::timeout(PATIENCE, f.launcher.shutdown()).await.unwrap();
    assert!(f.launcher.launch(f.task("t-late", vec![container("app", "sleeper")])).is_err());
}

#[tokio::test]
async fn shutdown_stops_every_task_and_leaves_no_process() {
    let mut f = Fixture::new(&[("stubborn", STUBBORN), ("forker", FORKER), ("sleeper", SLEEPER)]);
    let mut stubborn = container("app", "stubborn");
    stubborn.stop_timeout = Duration::from_millis(300);
    f.launcher.launch(f.task("t-a", vec![stubborn])).unwrap();
    f.launcher.launch(f.task("t-b", vec![container("app", "forker"), container("side", "sleeper")])).unwrap();
    let mut pids = Vec::new();
    for _ in 0..3 {
        match f.next().await {
            TaskEvent::ContainerStarted { pid, .. } => pids.push(pid as i32),
            other => panic!("unexpected {other:?}"),
        }
    }
    pids.push(pid_file(&f.log_dir("t-b").join("grandchild.pid")).await);

    tokio::time::timeout(PATIENCE, f.launcher.shutdown()).await.expect("shutdown hung");
    assert!(f.launcher.live_tasks().is_empty());
    for pid in pids {
        assert!(!running(pid), "{pid} survived shutdown");
    }
    let mut gone_tasks = Vec::new();
    while let Ok(event) = f.events.try_recv() {
        if let TaskEvent::TaskGone { task_id } = event {
            gone_tasks.push(task_id);
        }
    }
    gone_tasks.sort();
    assert_eq!(gone_tasks, ["t-a", "t-b"]);
}

#[tokio::test]
async fn a_new_launcher_kills_what_a_crashed_one_left_behind() {
    let mut f = Fixture::new(&[("forker", FORKER)]);
    f.launcher.launch(f.task("t-crash", vec![container("app", "forker")])).unwrap();
    let leader = f.started("app").await;
    let grandchild = pid_file(&f.log_dir("t-crash").join("grandchild.pid")).await;

    // The crash: the first launcher never stops its task.
    let Fixture { dir, launcher, events: _old_events } = f;
    std::mem::forget(launcher);
    let (tx, _events) = unbounded_channel();
    let second = ProcessLauncher::new(config(dir.path(), &[]), tx).unwrap();
    assert_eq!(second.reaped_at_start(), ["t-crash".to_string()]);
    assert!(!running(leader), "the old leader survived");
    assert!(!running(grandchild), "the old grandchild survived");
    assert!(second.live_tasks().is_empty());
}

/// Environment variable that turns [`pdeathsig_helper`] from a no-op into the helper process.
const HELPER_DIR: &str = "BERTH_RUNTIME_PDEATHSIG_HELPER_DIR";

/// Not a test: the process [`tasks_die_with_a_killed_berth`] starts and kills. It launches one
/// task and then blocks until killed.
#[test]
#[ignore = "helper process of tasks_die_with_a_killed_berth"]
fn pdeathsig_helper() {
    let Some(dir) = std::env::var_os(HELPER_DIR).map(PathBuf::from) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (tx, mut events) = unbounded_channel();
        let launcher = ProcessLauncher::new(config(&dir, &[("forker", FORKER)]), tx).unwrap();
        launcher
            .launch(TaskSpec {
                task_id: "t-orphan".into(),
                host_ip: "127.0.0.1".parse().unwrap(),
                hostname: "localhost".into(),
                log_dir: dir.join("logs"),
                containers: vec![container("app", "forker")],
            })
            .unwrap();
        while events.recv().await.is_some() {}
    });
}

#[tokio::test]
async fn tasks_die_with_a_killed_berth() {
    let dir = tempfile::tempdir().unwrap();
    let mut helper = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["pdeathsig_helper", "--exact", "--ignored", "--test-threads=1"])
        .env(HELPER_DIR, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let logs = dir.path().join("logs");
    let leader = pid_file(&logs.join("leader.pid")).await;
    let grandchild = pid_file(&logs.join("grandchild.pid")).await;
    assert!(running(leader) && running(grandchild));

    helper.kill().unwrap();
    helper.wait().unwrap();
    eventually("the leader dies with its parent", || !running(leader)).await;

    // The death signal is not inherited: the grandchild is left for the next launcher.
    assert!(running(grandchild));
    let (tx, _events) = unbounded_channel();
    let next = ProcessLauncher::new(config(dir.path(), &[]), tx).unwrap();
    assert_eq!(next.reaped_at_start(), ["t-orphan".to_string()]);
    assert!(!running(grandchild), "the grandchild survived the next launcher");
}
