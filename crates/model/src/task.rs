//! What the control plane asks the runtime to run, and what the runtime reports back.
//!
//! The runtime speaks processes, not ECS: a task is a group of containers (processes) sharing one
//! network address; it knows nothing of services, deployments or target groups.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One task to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Opaque, unique id chosen by the control plane (berth uses the ECS task id).
    pub task_id: String,
    /// The address the task's processes bind (its VPC address as the host serves it).
    pub host_ip: IpAddr,
    /// The task's hostname (`ip-10-0-2-17.ec2.internal`).
    pub hostname: String,
    /// Directory for this task's captured stdout/stderr (one file per container).
    pub log_dir: PathBuf,
    pub containers: Vec<ContainerSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub name: String,
    /// The image reference; the runtime resolves it to something it can run.
    pub image: String,
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    /// Complete environment of the process (the runtime adds nothing but `PATH` if missing).
    pub environment: BTreeMap<String, String>,
    pub working_directory: Option<String>,
    pub essential: bool,
    /// Time between SIGTERM and SIGKILL when the task stops.
    pub stop_timeout: Duration,
}

/// What happened to a task's container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskEvent {
    ContainerStarted {
        task_id: String,
        container: String,
        pid: u32,
    },
    /// The image could not be resolved or the process could not be spawned.
    ContainerFailedToStart {
        task_id: String,
        container: String,
        reason: String,
    },
    ContainerExited {
        task_id: String,
        container: String,
        exit_code: Option<i32>,
        /// The signal that ended the process, if any.
        signal: Option<i32>,
    },
    /// Every process of the task is gone (after a stop or after all containers exited).
    TaskGone {
        task_id: String,
    },
}

impl TaskEvent {
    pub fn task_id(&self) -> &str {
        match self {
            Self::ContainerStarted { task_id, .. }
            | Self::ContainerFailedToStart { task_id, .. }
            | Self::ContainerExited { task_id, .. }
            | Self::TaskGone { task_id } => task_id,
        }
    }
}

/// Why a launch was refused outright (a launch that starts and then fails reports events instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchError(pub String);

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LaunchError {}

/// Starts and stops tasks. Implemented by `runtime`; `cloud` is tested with a fake.
///
/// Calls return quickly; outcomes arrive as [`TaskEvent`]s on the channel the implementation was
/// built with.
pub trait TaskLauncher: Send + Sync {
    /// Starts every container of `spec`.
    fn launch(&self, spec: TaskSpec) -> Result<(), LaunchError>;
    /// Sends SIGTERM to the task's processes, then SIGKILL after each container's stop timeout.
    /// A [`TaskEvent::TaskGone`] follows. Stopping an unknown task is a no-op.
    fn stop(&self, task_id: &str);
    /// Ids of tasks that still have at least one live process.
    fn live_tasks(&self) -> Vec<String>;
}
