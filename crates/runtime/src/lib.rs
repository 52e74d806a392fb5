//! The process runtime: runs each task's containers as processes on this host, captures their
//! output, stops them, and reports what happened to them.
//!
//! # Boundary
//! The runtime speaks of tasks and containers only. The control plane chooses a task's id, its
//! address and hostname, and every environment variable (including the bind address the task must
//! listen on), and hands them over in a [`model::task::TaskSpec`]; the runtime binds no socket and
//! adds nothing to the environment but `PATH`. It reports back through
//! [`model::task::TaskEvent`]s on the channel given to [`ProcessLauncher::new`], and is driven
//! through the [`model::task::TaskLauncher`] trait.
//!
//! # Layout
//! - [`launcher`]: [`ProcessLauncher`], one supervisor per task, the stop and essential-container
//!   policies.
//! - `spawn`: forking on one dedicated thread, and watching each process group until it is gone.
//! - `records`: pid records under the state directory, and killing what a crashed berth left.
//! - [`image`]: image reference → executable.
//! - [`logs`]: where output goes and how `berth logs` reads and follows it.
//! - `procfs`: the few fields of `/proc/<pid>/stat` the rest relies on.
//!
//! # What a container runs
//! - If `entry_point` is non-empty, the program is `entry_point[0]` and its arguments are
//!   `entry_point[1..]` followed by `command`. `entry_point[0]` is a path if it contains a `/`
//!   (relative to the working directory), else it is looked up like an image name (explicit
//!   mapping, then the search directories), then on the task's `PATH`. The image is not resolved.
//! - Otherwise the program is the image's executable (see [`image`]: explicit mapping by exact
//!   image, then by image without tag/digest, then the last path segment as an executable in the
//!   search directories, then on berth's `PATH`) and its arguments are `command`.
//! - An image or entry point that resolves to nothing fails the container with
//!   [`TaskEvent::ContainerFailedToStart`](model::task::TaskEvent::ContainerFailedToStart), whose
//!   reason reads like the matching container-engine error and says how to fix it.
//! - Environment: exactly the container's `environment`, plus berth's `PATH` if it has none.
//! - Working directory: `working_directory` if it exists, else the task's log directory.
//! - stdin is `/dev/null`; stdout and stderr are appended to `<log_dir>/<container>.log` by the
//!   process itself (berth hands over the file and copies nothing).
//!
//! # Invariants
//! - **One process group per container.** The container's process leads its own group; signals
//!   go to the whole group, so children started by the container stop with it.
//! - **No orphans.** A task is gone only when no process of any of its groups runs: when a
//!   container's leader exits (on its own or stopped), the rest of its group is sent `SIGKILL`.
//!   If berth is killed, every leader gets `SIGKILL` from the kernel (`PR_SET_PDEATHSIG`, armed
//!   from one long-lived spawner thread, because the signal follows the forking *thread*), and the
//!   next launcher on the same state directory kills any group members still alive. It knows them
//!   from pid records, which are written before a container's program runs (the child waits at a
//!   gate between fork and exec) and checked against process start times, so a recycled pid is
//!   never signalled.
//!   A process that leaves its group (`setsid`, `setpgid`) escapes; nothing here prevents that.
//! - **Stop** is `SIGTERM` to every container's group, then `SIGKILL` after that container's stop
//!   timeout. It is idempotent, and stopping an unknown task does nothing.
//! - **Essential containers.** When an essential container exits or fails to start, the task's
//!   other containers are stopped as above. A non-essential container exiting changes nothing.
//! - **Event order, per task:** each container gets `ContainerStarted` or
//!   `ContainerFailedToStart` (or nothing, if the task was stopped before it started), a started
//!   container later gets exactly one `ContainerExited`, and then the task gets exactly one
//!   `TaskGone`, after which no more events for it follow. Events of different tasks interleave.
//! - `live_tasks` lists the tasks launched and not yet reported gone.
//! - After [`ProcessLauncher::shutdown`] no process of any task remains and launches are refused.

#![deny(unsafe_code)]

pub mod image;
pub mod launcher;
pub mod logs;
mod procfs;
mod records;
mod spawn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use launcher::ProcessLauncher;
pub use logs::{LogCursor, follow, log_file, log_files};

/// How the runtime is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Where the runtime keeps its own state (pid records), e.g. `<data dir>/runtime`.
    pub state_dir: PathBuf,
    /// Explicit image → executable mappings (`berth.toml [images]`, `--image NAME=PATH`). Keys
    /// match the exact image string or the image without tag and digest.
    pub image_map: BTreeMap<String, PathBuf>,
    /// Directories searched for an image's executable name, in order (berth's own directory).
    pub search_dirs: Vec<PathBuf>,
    /// Whether an image's executable name is also looked up on `PATH`.
    pub search_path: bool,
}

impl RuntimeConfig {
    /// No mappings; executables are looked up beside the running program, then on `PATH`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        let beside_me = std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from));
        Self {
            state_dir: state_dir.into(),
            image_map: BTreeMap::new(),
            search_dirs: beside_me.into_iter().collect(),
            search_path: true,
        }
    }
}

/// Why the runtime could not be set up. Failures of individual tasks are events, not errors.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the process runtime must be created inside a tokio runtime")]
    NoAsyncRuntime,
    #[error("runtime state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not start the process spawner thread: {0}")]
    SpawnerThread(#[source] std::io::Error),
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves the data consistent (map
/// inserts and removals, a flag), so a panic elsewhere is no reason to stop supervising tasks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
