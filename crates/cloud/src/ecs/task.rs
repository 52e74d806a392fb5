//! Tasks: RunTask, StopTask, ListTasks, DescribeTasks, and what a task is to the rest of berth
//! (its [`TaskSpec`] for the runtime, its task metadata documents).
//!
//! # Lifecycle
//! A task is created `PROVISIONING` with its ENI already allocated (its address is the first
//! free one of its subnet), by RunTask or by the service scheduler. From there only the
//! scheduler moves `lastStatus`, always forward:
//! `PROVISIONING → PENDING` (handed to the runtime) `→ ACTIVATING` (every container started;
//! target groups registered) `→ RUNNING`, then `DEACTIVATING` (targets deregistered, waiting
//! for draining) `→ STOPPING` (SIGTERM, SIGKILL after `stopTimeout`) `→ DEPROVISIONING` (the
//! processes are gone; the ENI is deleted) `→ STOPPED`. API calls only set `desiredStatus`
//! (`StopTask`), with the stop code and reason.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use model::task::{ContainerSpec, TaskSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::cluster::{self, Cluster};
use super::error::EcsError;
use super::load_balancer::Registration;
use super::service::{self, NetworkConfiguration, runs_on_fargate};
use super::task_definition::TaskDefinition;
use super::{Failure, KeyValuePair, Tag, includes, page, validate_tags};
use crate::api::ApiError;
use crate::ec2::network_interface::{self, ManagedInterface};
use crate::ec2::{subnet, vpc};
use crate::store::{Resource, Store, StoreError};
use crate::{Cloud, Ctx, epoch_seconds, ids, iso8601};

/// How long a stopped task stays describable (AWS: about an hour).
pub const STOPPED_TASK_RETENTION_SECONDS: f64 = 3600.0;

/// Where a task is in its life (`lastStatus`), in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Pending => "PENDING",
            Self::Activating => "ACTIVATING",
            Self::Running => "RUNNING",
            Self::Deactivating => "DEACTIVATING",
            Self::Stopping => "STOPPING",
            Self::Deprovisioning => "DEPROVISIONING",
            Self::Stopped => "STOPPED",
        }
    }

    /// Not yet running (what `pendingCount` counts).
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Provisioning | Self::Pending | Self::Activating)
    }

    /// Handed to the runtime and not yet known to be gone.
    pub fn is_launched(self) -> bool {
        matches!(self, Self::Pending | Self::Activating | Self::Running | Self::Deactivating | Self::Stopping)
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_arn: String,
    /// The 32 hex digits at the end of the ARN; also the runtime's task id.
    pub task_id: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub family: String,
    pub revision: i64,
    /// `service:<name>` or `family:<family>` unless RunTask named one.
    pub group: String,
    pub started_by: Option<String>,
    pub service_arn: Option<String>,
    pub service_name: Option<String>,
    pub launch_type: Option<String>,
    pub capacity_provider_name: Option<String>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub last_status: TaskStatus,
    /// `RUNNING` or `STOPPED`.
    pub desired_status: String,
    pub availability_zone: String,
    pub containers: Vec<TaskContainer>,
    pub eni: TaskEni,
    pub overrides: Value,
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    pub version: i64,
    pub created_at: f64,
    pub connectivity_at: Option<f64>,
    pub pull_started_at: Option<f64>,
    pub pull_stopped_at: Option<f64>,
    pub started_at: Option<f64>,
    pub stopping_at: Option<f64>,
    pub execution_stopped_at: Option<f64>,
    pub stopped_at: Option<f64>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    /// Target group registrations the task should have while it runs.
    pub registrations: Vec<TaskRegistration>,
    /// The task stopped without (or only briefly) running: a start failure for the back-off.
    #[serde(default)]
    pub start_failure: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskContainer {
    pub container_arn: String,
    pub name: String,
    pub image: String,
    pub essential: bool,
    /// `PENDING`, `RUNNING` or `STOPPED`.
    pub last_status: String,
    /// Fargate's container id: `<task id>-<10 digits>`.
    pub runtime_id: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub cpu: String,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub pid: Option<u32>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
}

/// The task's elastic network interface, as its attachment shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEni {
    pub attachment_id: String,
    /// `PRECREATED`, `ATTACHED`, `DETACHED` or `DELETED`.
    pub status: String,
    pub network_interface_id: String,
    pub subnet_id: String,
    pub subnet_cidr: String,
    pub vpc_id: String,
    pub private_ipv4_address: String,
    pub mac_address: String,
    pub private_dns_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRegistration {
    pub target_group_arn: String,
    pub port: u16,
    /// Whether the scheduler registered it and has not yet seen it fully deregistered.
    pub registered: bool,
}

impl Resource for Task {
    const KIND: &'static str = "ecs:task";

    fn id(&self) -> &str {
        &self.task_arn
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.cluster_arn)
    }
}

impl Task {
    /// Moves `lastStatus` forward (never back), stamping the matching timestamps.
    pub fn advance(&mut self, to: TaskStatus, now: f64) -> bool {
        if to <= self.last_status {
            return false;
        }
        self.last_status = to;
        self.version += 1;
        match to {
            TaskStatus::Pending => {
                self.pull_started_at.get_or_insert(now);
                self.connectivity_at.get_or_insert(now);
                self.eni.status = "ATTACHED".into();
            }
            TaskStatus::Activating => {
                self.pull_stopped_at.get_or_insert(now);
            }
            TaskStatus::Running => {
                self.pull_stopped_at.get_or_insert(now);
                self.started_at.get_or_insert(now);
            }
            TaskStatus::Deactivating | TaskStatus::Stopping => {
                self.stopping_at.get_or_insert(now);
            }
            TaskStatus::Deprovisioning => {
                self.stopping_at.get_or_insert(now);
                self.execution_stopped_at.get_or_insert(now);
                for c in &mut self.containers {
                    if c.last_status != "STOPPED" {
                        c.last_status = "STOPPED".into();
                        c.finished_at.get_or_insert(now);
                    }
                }
                self.eni.status = "DETACHED".into();
            }
            TaskStatus::Stopped => {
                self.stopping_at.get_or_insert(now);
                self.execution_stopped_at.get_or_insert(now);
                self.stopped_at = Some(now);
                for c in &mut self.containers {
                    c.last_status = "STOPPED".into();
                }
                self.eni.status = "DELETED".into();
            }
            TaskStatus::Provisioning => {}
        }
        true
    }

    /// Asks for the task to stop (first reason wins). Returns whether anything changed.
    pub fn request_stop(&mut self, code: &str, reason: impl Into<String>, now: f64) -> bool {
        if self.desired_status == "STOPPED" {
            return false;
        }
        self.desired_status = "STOPPED".into();
        self.stop_code = Some(code.to_string());
        self.stopped_reason = Some(reason.into());
        self.stopping_at.get_or_insert(now);
        self.version += 1;
        true
    }

    pub fn wants_running(&self) -> bool {
        self.desired_status == "RUNNING"
    }

    /// The task's address as the host serves it (`10.0.2.17` → `127.0.2.17`).
    pub fn host_ip(&self) -> Option<IpAddr> {
        self.eni.private_ipv4_address.parse::<IpAddr>().ok().map(model::network::loopback_alias)
    }

    /// The task's target group registrations as ELBv2 sees them.
    pub fn registrations(&self) -> Vec<Registration> {
        self.registrations
            .iter()
            .map(|r| Registration {
                target_group_arn: r.target_group_arn.clone(),
                ip: self.eni.private_ipv4_address.clone(),
                port: r.port,
                availability_zone: self.availability_zone.clone(),
            })
            .collect()
    }

    /// The region of the task (from its ARN).
    pub fn region(&self) -> &str {
        crate::arn::region(&self.task_arn).unwrap_or_default()
    }

    pub fn cluster_name(&self) -> &str {
        crate::arn::last_segment(&self.cluster_arn)
    }
}

// === creating tasks ===

/// What a new task needs (RunTask's input, or what the scheduler decided).
pub struct NewTask<'a> {
    pub cluster: &'a Cluster,
    pub td: &'a TaskDefinition,
    pub subnet_id: &'a str,
    pub security_groups: &'a [String],
    pub launch_type: Option<String>,
    pub capacity_provider_name: Option<String>,
    pub platform_version: Option<String>,
    pub group: String,
    pub started_by: Option<String>,
    pub service: Option<(&'a str, &'a str)>,
    pub overrides: Value,
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    pub registrations: Vec<(String, u16)>,
}

/// Fargate's container runtime id: `<task id>-<10 digits>`.
fn runtime_id(task_id: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let n: u64 = rng.random_range(1_000_000_000..10_000_000_000);
    format!("{task_id}-{n}")
}

/// Creates a task `PROVISIONING` with its ENI (the subnet's first free address) and stores it.
pub fn create(cx: &Ctx<'_>, new: NewTask<'_>) -> Result<Task, ApiError> {
    let subnet = subnet::load(cx, new.subnet_id)?;
    let mut groups = new.security_groups.to_vec();
    if groups.is_empty() {
        groups.push(vpc::load(cx, &subnet.vpc_id)?.default_security_group_id);
    }
    let attachment_id = ids::uuid();
    let eni = network_interface::create_managed(
        cx,
        ManagedInterface {
            subnet_id: subnet.subnet_id.clone(),
            group_ids: groups,
            description: cx.arn("ecs", &format!("attachment/{attachment_id}")),
            owner: "amazon-aws".into(),
            interface_type: "interface".into(),
        },
    )?;
    let task_id = ids::hex(32);
    let task_arn = cx.arn("ecs", &format!("task/{}/{task_id}", new.cluster.cluster_name));
    let containers = new
        .td
        .containers()?
        .into_iter()
        .map(|c| TaskContainer {
            container_arn: cx
                .arn("ecs", &format!("container/{}/{task_id}/{}", new.cluster.cluster_name, ids::uuid())),
            name: c.name().to_string(),
            image: c.image().to_string(),
            essential: c.is_essential(),
            last_status: "PENDING".into(),
            runtime_id: runtime_id(&task_id),
            exit_code: None,
            reason: None,
            cpu: c.cpu.unwrap_or(0).to_string(),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            pid: None,
            started_at: None,
            finished_at: None,
        })
        .collect();
    let fargate = runs_on_fargate(new.launch_type.as_deref(), &[]) || new.capacity_provider_name.is_some();
    let now = epoch_seconds(cx.now);
    let task = Task {
        task_arn,
        task_id,
        cluster_arn: new.cluster.cluster_arn.clone(),
        task_definition_arn: new.td.task_definition_arn.clone(),
        family: new.td.family.clone(),
        revision: new.td.revision,
        group: new.group,
        started_by: new.started_by,
        service_arn: new.service.map(|(arn, _)| arn.to_string()),
        service_name: new.service.map(|(_, name)| name.to_string()),
        launch_type: new.launch_type,
        capacity_provider_name: new.capacity_provider_name,
        platform_version: fargate.then(|| match new.platform_version.as_deref() {
            None | Some("LATEST") => "1.4.0".to_string(),
            Some(v) => v.to_string(),
        }),
        platform_family: fargate.then(|| "Linux".to_string()),
        cpu: new.td.cpu.clone(),
        memory: new.td.memory.clone(),
        last_status: TaskStatus::Provisioning,
        desired_status: "RUNNING".into(),
        availability_zone: subnet.availability_zone.clone(),
        containers,
        eni: TaskEni {
            attachment_id,
            status: "PRECREATED".into(),
            network_interface_id: eni.network_interface_id,
            subnet_id: subnet.subnet_id.clone(),
            subnet_cidr: subnet.cidr_block.clone(),
            vpc_id: subnet.vpc_id.clone(),
            private_ipv4_address: eni.private_ip_address,
            mac_address: eni.mac_address,
            private_dns_name: eni.private_dns_name,
        },
        overrides: new.overrides,
        tags: new.tags,
        enable_execute_command: new.enable_execute_command,
        version: 1,
        created_at: now,
        connectivity_at: None,
        pull_started_at: None,
        pull_stopped_at: None,
        started_at: None,
        stopping_at: None,
        execution_stopped_at: None,
        stopped_at: None,
        stop_code: None,
        stopped_reason: None,
        registrations: new
            .registrations
            .into_iter()
            .map(|(target_group_arn, port)| TaskRegistration { target_group_arn, port, registered: false })
            .collect(),
        start_failure: false,
    };
    cx.put(&task)?;
    Ok(task)
}

// === what the runtime runs ===

/// Where berth keeps a task's captured output: `<data dir>/tasks/<task id>/`.
pub fn log_dir(cloud: &Cloud, task_id: &str) -> PathBuf {
    cloud.config.data_dir.join("tasks").join(task_id)
}

/// The container overrides RunTask was given for `name`, if any.
fn container_override<'v>(overrides: &'v Value, name: &str) -> Option<&'v Value> {
    overrides
        .get("containerOverrides")?
        .as_array()?
        .iter()
        .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
}

/// The spec the runtime starts the task from: each container's program, arguments and full
/// environment (the task definition's, RunTask's overrides, and what ECS and berth add).
pub fn spec(cloud: &Cloud, task: &Task, td: &TaskDefinition) -> Result<TaskSpec, ApiError> {
    let host_ip = task
        .host_ip()
        .ok_or_else(|| ApiError::internal(format!("task {} has no usable address", task.task_id)))?;
    let endpoint = cloud.config.endpoint.trim_end_matches('/');
    let region = task.region();
    let mut containers = Vec::new();
    for c in td.containers()? {
        let name = c.name().to_string();
        let over = container_override(&task.overrides, &name);
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        env.insert("AWS_REGION".into(), region.to_string());
        env.insert("AWS_DEFAULT_REGION".into(), region.to_string());
        env.insert("AWS_ENDPOINT_URL".into(), endpoint.to_string());
        for kv in c.environment.iter().flatten() {
            if let (Some(k), Some(v)) = (&kv.name, &kv.value) {
                env.insert(k.clone(), v.clone());
            }
        }
        if let Some(list) = over.and_then(|o| o.get("environment")).and_then(Value::as_array) {
            for kv in list {
                if let (Some(k), Some(v)) =
                    (kv.get("name").and_then(Value::as_str), kv.get("value").and_then(Value::as_str))
                {
                    env.insert(k.to_string(), v.to_string());
                }
            }
        }
        // What the ECS agent sets wins over the task definition, as on Fargate.
        env.insert("HOSTNAME".into(), task.eni.private_dns_name.clone());
        env.insert("BERTH_BIND_ADDR".into(), host_ip.to_string());
        env.insert("AWS_EXECUTION_ENV".into(), "AWS_ECS_FARGATE".into());
        env.insert(
            "ECS_CONTAINER_METADATA_URI_V4".into(),
            format!("{endpoint}/_berth/task-metadata/v4/{}/{name}", task.task_id),
        );
        env.insert(
            "ECS_CONTAINER_METADATA_URI".into(),
            format!("{endpoint}/_berth/task-metadata/v3/{}/{name}", task.task_id),
        );
        if td.task_role_arn.is_some() {
            // The SDKs' container credentials provider: a full URI on loopback, as they allow.
            env.insert(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                format!("{endpoint}/_berth/task-credentials/{}", task.task_id),
            );
        }
        let command = match over.and_then(|o| o.get("command")).and_then(Value::as_array) {
            Some(cmd) => cmd.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            None => c.command.clone().unwrap_or_default(),
        };
        containers.push(ContainerSpec {
            image: c.image().to_string(),
            entry_point: c.entry_point.clone().unwrap_or_default(),
            command,
            environment: env,
            working_directory: c.working_directory.clone(),
            essential: c.is_essential(),
            stop_timeout: Duration::from_secs(c.stop_timeout.unwrap_or(30).clamp(0, 600) as u64),
            name,
        });
    }
    Ok(TaskSpec {
        task_id: task.task_id.clone(),
        host_ip,
        hostname: task.eni.private_dns_name.clone(),
        log_dir: log_dir(cloud, &task.task_id),
        containers,
    })
}

// === output ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOut {
    attachments: Vec<AttachmentOut>,
    attributes: Vec<KeyValuePair>,
    availability_zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity_provider_name: Option<String>,
    cluster_arn: String,
    connectivity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connectivity_at: Option<f64>,
    containers: Vec<ContainerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<String>,
    created_at: f64,
    desired_status: String,
    enable_execute_command: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_stopped_at: Option<f64>,
    group: String,
    health_status: &'static str,
    last_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
    overrides: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_stopped_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopping_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag>>,
    task_arn: String,
    task_definition_arn: String,
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ephemeral_storage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fargate_ephemeral_storage: Option<Value>,
}

#[derive(Debug, Serialize)]
struct AttachmentOut {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    status: String,
    details: Vec<KeyValuePair>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ContainerOut {
    container_arn: String,
    task_arn: String,
    name: String,
    image: String,
    runtime_id: String,
    last_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    network_bindings: Vec<Value>,
    network_interfaces: Vec<NetworkInterfaceOut>,
    health_status: &'static str,
    cpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_reservation: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NetworkInterfaceOut {
    attachment_id: String,
    private_ipv4_address: String,
}

pub fn task_out(t: &Task, with_tags: bool) -> TaskOut {
    let fargate = t.platform_version.is_some();
    let details = vec![
        KeyValuePair::new("subnetId", &t.eni.subnet_id),
        KeyValuePair::new("networkInterfaceId", &t.eni.network_interface_id),
        KeyValuePair::new("macAddress", &t.eni.mac_address),
        KeyValuePair::new("privateDnsName", &t.eni.private_dns_name),
        KeyValuePair::new("privateIPv4Address", &t.eni.private_ipv4_address),
    ];
    TaskOut {
        attachments: vec![AttachmentOut {
            id: t.eni.attachment_id.clone(),
            kind: "ElasticNetworkInterface",
            status: t.eni.status.clone(),
            details,
        }],
        attributes: vec![KeyValuePair::new("ecs.cpu-architecture", "x86_64")],
        availability_zone: t.availability_zone.clone(),
        capacity_provider_name: t.capacity_provider_name.clone(),
        cluster_arn: t.cluster_arn.clone(),
        connectivity: "CONNECTED",
        connectivity_at: t.connectivity_at,
        containers: t
            .containers
            .iter()
            .map(|c| ContainerOut {
                container_arn: c.container_arn.clone(),
                task_arn: t.task_arn.clone(),
                name: c.name.clone(),
                image: c.image.clone(),
                runtime_id: c.runtime_id.clone(),
                last_status: c.last_status.clone(),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
                network_bindings: Vec::new(),
                network_interfaces: vec![NetworkInterfaceOut {
                    attachment_id: t.eni.attachment_id.clone(),
                    private_ipv4_address: t.eni.private_ipv4_address.clone(),
                }],
                health_status: "UNKNOWN",
                cpu: c.cpu.clone(),
                memory: c.memory.clone(),
                memory_reservation: c.memory_reservation.clone(),
            })
            .collect(),
        cpu: t.cpu.clone(),
        created_at: t.created_at,
        desired_status: t.desired_status.clone(),
        enable_execute_command: t.enable_execute_command,
        execution_stopped_at: t.execution_stopped_at,
        group: t.group.clone(),
        health_status: "UNKNOWN",
        last_status: t.last_status.as_str(),
        launch_type: t.launch_type.clone(),
        memory: t.memory.clone(),
        overrides: t.overrides.clone(),
        platform_version: t.platform_version.clone(),
        platform_family: t.platform_family.clone(),
        pull_started_at: t.pull_started_at,
        pull_stopped_at: t.pull_stopped_at,
        started_at: t.started_at,
        started_by: t.started_by.clone(),
        stop_code: t.stop_code.clone(),
        stopped_at: t.stopped_at,
        stopped_reason: t.stopped_reason.clone(),
        stopping_at: t.stopping_at,
        tags: with_tags.then(|| t.tags.clone()),
        task_arn: t.task_arn.clone(),
        task_definition_arn: t.task_definition_arn.clone(),
        version: t.version,
        ephemeral_storage: fargate.then(|| json!({"sizeInGiB": 20})),
        fargate_ephemeral_storage: fargate.then(|| json!({"sizeInGiB": 20})),
    }
}

fn invalid(msg: impl Into<String>) -> ApiError {
    EcsError::invalid(msg).into()
}

/// The ARN of a task named by id or ARN in `cluster`.
pub fn arn_of(cx: &Ctx<'_>, cluster: &Cluster, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        cx.arn("ecs", &format!("task/{}/{reference}", cluster.cluster_name))
    }
}

fn find(cx: &Ctx<'_>, cluster: &Cluster, reference: &str) -> Result<Option<Task>, ApiError> {
    Ok(cx.get::<Task>(&arn_of(cx, cluster, reference))?.filter(|t| t.cluster_arn == cluster.cluster_arn))
}

// === RunTask ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskInput {
    cluster: Option<String>,
    task_definition: String,
    count: Option<i32>,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Option<Vec<Value>>,
    network_configuration: Option<NetworkConfiguration>,
    overrides: Option<Value>,
    started_by: Option<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    enable_execute_command: Option<bool>,
    platform_version: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RunTaskOutput {
    tasks: Vec<TaskOut>,
    failures: Vec<Failure>,
}

pub fn run_task(cx: &Ctx<'_>, input: RunTaskInput) -> Result<RunTaskOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let td = service::load_task_definition(cx, &input.task_definition)?;
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(invalid("count must be between 1 and 10."));
    }
    let strategy = input.capacity_provider_strategy.unwrap_or_default();
    let strategy = if input.launch_type.is_none() && strategy.is_empty() {
        cluster.default_capacity_provider_strategy.clone()
    } else {
        strategy
    };
    if input.launch_type.is_some() && !strategy.is_empty() {
        return Err(invalid(
            "Specifying both a launch type and capacity provider strategy is not supported.",
        ));
    }
    let fargate = runs_on_fargate(input.launch_type.as_deref(), &strategy);
    if !fargate {
        // berth runs no container instances: like an EC2 cluster without any.
        return Err(invalid("No Container Instances were found in your cluster."));
    }
    if !td.fargate_compatible() {
        return Err(invalid("Task definition does not support launch_type FARGATE."));
    }
    let network = input.network_configuration;
    service::validate_network(cx, network.as_ref(), &td, true)?;
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;
    if let Some(s) = &input.started_by
        && s.len() > 128
    {
        return Err(invalid("startedBy can have at most 128 characters."));
    }
    let subnets: Vec<String> = network.as_ref().map(|n| n.subnets().to_vec()).unwrap_or_default();
    let groups: Vec<String> = network.as_ref().map(|n| n.security_groups().to_vec()).unwrap_or_default();
    let overrides = normalise_overrides(input.overrides, &td)?;
    let capacity_provider_name = if input.launch_type.is_none() {
        strategy.first().and_then(|s| s.get("capacityProvider")).and_then(Value::as_str).map(str::to_string)
    } else {
        None
    };
    let mut tasks = Vec::new();
    for i in 0..count as usize {
        let Some(subnet_id) = subnets.get(i % subnets.len().max(1)) else {
            return Err(invalid("subnets can not be empty."));
        };
        let task = create(
            cx,
            NewTask {
                cluster: &cluster,
                td: &td,
                subnet_id,
                security_groups: &groups,
                launch_type: input.launch_type.clone(),
                capacity_provider_name: capacity_provider_name.clone(),
                platform_version: input.platform_version.clone(),
                group: input.group.clone().unwrap_or_else(|| format!("family:{}", td.family)),
                started_by: input.started_by.clone(),
                service: None,
                overrides: overrides.clone(),
                tags: tags.clone(),
                enable_execute_command: input.enable_execute_command.unwrap_or(false),
                registrations: Vec::new(),
            },
        )?;
        tasks.push(task_out(&task, true));
    }
    Ok(RunTaskOutput { tasks, failures: Vec::new() })
}

/// RunTask's `overrides` as AWS echoes them: one `containerOverrides` entry per container.
fn normalise_overrides(overrides: Option<Value>, td: &TaskDefinition) -> Result<Value, ApiError> {
    let mut given = overrides.unwrap_or_else(|| json!({}));
    let Some(obj) = given.as_object_mut() else {
        return Err(invalid("overrides must be an object."));
    };
    let existing: Vec<Value> =
        obj.get("containerOverrides").and_then(Value::as_array).cloned().unwrap_or_default();
    for o in &existing {
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
        if td.container(name)?.is_none() {
            return Err(invalid(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
    }
    let mut list = Vec::new();
    for c in td.containers()? {
        match existing.iter().find(|o| o.get("name").and_then(Value::as_str) == Some(c.name())) {
            Some(o) => list.push(o.clone()),
            None => list.push(json!({"name": c.name()})),
        }
    }
    obj.insert("containerOverrides".into(), Value::Array(list));
    obj.entry("inferenceAcceleratorOverrides").or_insert(json!([]));
    Ok(given)
}

// === StopTask ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTaskInput {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StopTaskOutput {
    task: TaskOut,
}

pub fn stop_task(cx: &Ctx<'_>, input: StopTaskInput) -> Result<StopTaskOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let mut task =
        find(cx, &cluster, &input.task)?.ok_or_else(|| invalid("The referenced task was not found."))?;
    let reason = input.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| "Task stopped by user".to_string());
    if reason.len() > 255 {
        return Err(invalid("reason can have at most 255 characters."));
    }
    if task.request_stop("UserInitiated", reason, epoch_seconds(cx.now)) {
        cx.put(&task)?;
    }
    Ok(StopTaskOutput { task: task_out(&task, false) })
}

// === ListTasks ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksInput {
    cluster: Option<String>,
    family: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
    container_instance: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksOutput {
    task_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_tasks(cx: &Ctx<'_>, input: ListTasksInput) -> Result<ListTasksOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    if input.container_instance.is_some() {
        // Fargate has no container instances: no task runs on one.
        return Ok(ListTasksOutput { task_arns: Vec::new(), next_token: None });
    }
    let service_arn = match &input.service_name {
        Some(name) => {
            let s = service::find(cx, &cluster, name)?.ok_or(EcsError::ServiceNotFound)?;
            Some(s.service_arn)
        }
        None => None,
    };
    let desired = input.desired_status.as_deref().unwrap_or("RUNNING");
    if !matches!(desired, "RUNNING" | "PENDING" | "STOPPED") {
        return Err(invalid(format!("Invalid desiredStatus: {desired}")));
    }
    let arns: Vec<String> = cx
        .children::<Task>(&cluster.cluster_arn)?
        .into_iter()
        .filter(|t| match desired {
            "STOPPED" => t.desired_status == "STOPPED",
            "PENDING" => t.wants_running() && t.last_status.is_pending(),
            _ => t.wants_running(),
        })
        .filter(|t| input.family.as_deref().is_none_or(|f| t.family == f))
        .filter(|t| input.started_by.is_none() || t.started_by == input.started_by)
        .filter(|t| service_arn.is_none() || t.service_arn == service_arn)
        .filter(|t| input.launch_type.is_none() || t.launch_type == input.launch_type)
        .map(|t| t.task_arn)
        .collect();
    let (task_arns, next_token) = page(&arns, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(ListTasksOutput { task_arns, next_token })
}

// === DescribeTasks ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DescribeTasksOutput {
    tasks: Vec<TaskOut>,
    failures: Vec<Failure>,
}

pub fn describe_tasks(cx: &Ctx<'_>, input: DescribeTasksInput) -> Result<DescribeTasksOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    if input.tasks.is_empty() {
        return Err(invalid("Tasks cannot be empty."));
    }
    if input.tasks.len() > 100 {
        return Err(invalid("tasks can have at most 100 items."));
    }
    let with_tags = includes(&input.include, "TAGS");
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for r in &input.tasks {
        match find(cx, &cluster, r)? {
            Some(t) => tasks.push(task_out(&t, with_tags)),
            None => failures.push(Failure::missing(arn_of(cx, &cluster, r))),
        }
    }
    Ok(DescribeTasksOutput { tasks, failures })
}

// === task metadata endpoint (v4) ===

fn iso(t: Option<f64>) -> Value {
    match t.and_then(|secs| OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128).ok()) {
        Some(t) => Value::String(iso8601(t)),
        None => Value::Null,
    }
}

/// The task with this runtime id, in whichever region it lives.
pub fn find_by_id(store: &Store, task_id: &str) -> Result<Option<Task>, StoreError> {
    store.transaction(|tx| {
        Ok(tx.list_all_regions::<Task>()?.into_iter().map(|(_, t)| t).find(|t| t.task_id == task_id))
    })
}

fn known_status(t: &Task) -> &'static str {
    match t.last_status {
        TaskStatus::Provisioning | TaskStatus::Pending => "PENDING",
        TaskStatus::Activating | TaskStatus::Running => "RUNNING",
        TaskStatus::Deactivating | TaskStatus::Stopping | TaskStatus::Deprovisioning => "STOPPING",
        TaskStatus::Stopped => "STOPPED",
    }
}

/// A stable stand-in for an image's digest (64 hex digits derived from its name).
fn image_digest(image: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf29ce484222325;
    for round in 0..4u8 {
        for b in image.bytes().chain([round]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

fn container_metadata(t: &Task, c: &TaskContainer) -> Value {
    let gateway = t
        .eni
        .subnet_cidr
        .parse::<ipnet::Ipv4Net>()
        .ok()
        .map(|net| format!("{}/{}", Ipv4Addr::from(u32::from(net.network()) + 1), net.prefix_len()));
    let dns_search = if t.region() == "us-east-1" {
        "ec2.internal".to_string()
    } else {
        format!("{}.compute.internal", t.region())
    };
    let mut m = json!({
        "DockerId": c.runtime_id,
        "Name": c.name,
        "DockerName": c.name,
        "Image": c.image,
        "ImageID": format!("sha256:{}", image_digest(&c.image)),
        "Labels": {
            "com.amazonaws.ecs.cluster": t.cluster_arn,
            "com.amazonaws.ecs.container-name": c.name,
            "com.amazonaws.ecs.task-arn": t.task_arn,
            "com.amazonaws.ecs.task-definition-family": t.family,
            "com.amazonaws.ecs.task-definition-version": t.revision.to_string(),
        },
        "DesiredStatus": if t.wants_running() { "RUNNING" } else { "STOPPED" },
        "KnownStatus": c.last_status,
        "Limits": {"CPU": c.cpu.parse::<i64>().unwrap_or(0), "Memory": c.memory.as_deref().and_then(|m| m.parse::<i64>().ok()).unwrap_or(0)},
        "CreatedAt": iso(Some(t.created_at)),
        "StartedAt": iso(c.started_at),
        "Type": "NORMAL",
        "ContainerARN": c.container_arn,
        "Networks": [{
            "NetworkMode": "awsvpc",
            "IPv4Addresses": [t.eni.private_ipv4_address],
            "AttachmentIndex": 0,
            "MACAddress": t.eni.mac_address,
            "IPv4SubnetCIDRBlock": t.eni.subnet_cidr,
            "DomainNameServers": ["169.254.169.253"],
            "DomainNameSearchList": [dns_search],
            "PrivateDNSName": t.eni.private_dns_name,
            "SubnetGatewayIpv4Address": gateway,
        }],
        "Snapshotter": "overlayfs",
    });
    if let Some(obj) = m.as_object_mut() {
        if let Some(code) = c.exit_code {
            obj.insert("ExitCode".into(), json!(code));
        }
        if c.finished_at.is_some() {
            obj.insert("FinishedAt".into(), iso(c.finished_at));
        }
    }
    m
}

/// The container metadata document (`${ECS_CONTAINER_METADATA_URI_V4}`).
pub fn metadata_v4_container(
    cloud: &Cloud,
    task_id: &str,
    container: &str,
) -> Result<Option<Value>, StoreError> {
    let Some(t) = find_by_id(&cloud.store, task_id)? else {
        return Ok(None);
    };
    Ok(t.containers.iter().find(|c| c.name == container).map(|c| container_metadata(&t, c)))
}

/// The task metadata document (`${ECS_CONTAINER_METADATA_URI_V4}/task`).
pub fn metadata_v4_task(cloud: &Cloud, task_id: &str) -> Result<Option<Value>, StoreError> {
    let Some(t) = find_by_id(&cloud.store, task_id)? else {
        return Ok(None);
    };
    let cpu_units = t.cpu.as_deref().and_then(|c| c.parse::<f64>().ok()).unwrap_or(0.0);
    let memory = t.memory.as_deref().and_then(|m| m.parse::<i64>().ok()).unwrap_or(0);
    let mut doc = json!({
        "Cluster": t.cluster_arn,
        "TaskARN": t.task_arn,
        "Family": t.family,
        "Revision": t.revision.to_string(),
        "DesiredStatus": if t.wants_running() { "RUNNING" } else { "STOPPED" },
        "KnownStatus": known_status(&t),
        "Limits": {"CPU": cpu_units / 1024.0, "Memory": memory},
        "PullStartedAt": iso(t.pull_started_at),
        "PullStoppedAt": iso(t.pull_stopped_at),
        "AvailabilityZone": t.availability_zone,
        "LaunchType": t.launch_type.clone().unwrap_or_else(|| "FARGATE".into()),
        "Containers": t.containers.iter().map(|c| container_metadata(&t, c)).collect::<Vec<_>>(),
        "VPCID": t.eni.vpc_id,
        "ClockDrift": {"ClockErrorBound": 0.5, "ReferenceTimestamp": iso(Some(epoch_seconds(OffsetDateTime::now_utc()))), "ClockSynchronizationStatus": "SYNCHRONIZED"},
        "EphemeralStorageMetrics": {"Utilized": 0, "Reserved": 20496},
    });
    if let Some(obj) = doc.as_object_mut() {
        if let Some(name) = &t.service_name {
            obj.insert("ServiceName".into(), json!(name));
        }
        if t.execution_stopped_at.is_some() {
            obj.insert("ExecutionStoppedAt".into(), iso(t.execution_stopped_at));
        }
    }
    Ok(Some(doc))
}

/// The task role's credentials, as the container credentials endpoint serves them to SDKs inside
/// the task (`AWS_CONTAINER_CREDENTIALS_FULL_URI`). `None` when the task is unknown, stopped, or
/// its task definition has no task role. berth accepts any credentials; these are well-formed.
pub fn credentials(cloud: &Cloud, task_id: &str) -> Result<Option<Value>, StoreError> {
    let Some(t) = find_by_id(&cloud.store, task_id)? else {
        return Ok(None);
    };
    if t.last_status == TaskStatus::Stopped {
        return Ok(None);
    }
    let region = t.region().to_string();
    let td = cloud.store.transaction(|tx| tx.get::<TaskDefinition>(&region, &t.task_definition_arn))?;
    let Some(role) = td.and_then(|td| td.task_role_arn) else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let expiration = now + time::Duration::hours(6);
    Ok(Some(json!({
        "RoleArn": role,
        "AccessKeyId": ids::iam_unique("ASIA"),
        "SecretAccessKey": ids::hex(40),
        "Token": format!("berth-task-{}", t.task_id),
        "Expiration": iso8601(expiration),
    })))
}

/// Each container's name and, while it runs, its process id.
pub type ContainerPids = Vec<(String, Option<u32>)>;

/// The pids of a task's running containers (for the metadata endpoint's `/stats`).
pub fn container_pids(cloud: &Cloud, task_id: &str) -> Result<Option<ContainerPids>, StoreError> {
    Ok(find_by_id(&cloud.store, task_id)?.map(|t| {
        t.containers
            .iter()
            .map(|c| (c.name.clone(), (c.last_status == "RUNNING").then_some(c.pid).flatten()))
            .collect()
    }))
}

/// Every task of services named `service_name` (in any cluster and region), oldest first, for
/// `berth logs <service>`. `cluster/service` narrows it to one cluster.
pub fn tasks_of_service(store: &Store, service_name: &str) -> Result<Vec<Task>, StoreError> {
    let (cluster, name) = match service_name.split_once('/') {
        Some((c, n)) => (Some(c), n),
        None => (None, service_name),
    };
    let mut tasks: Vec<Task> = store.transaction(|tx| {
        Ok::<_, StoreError>(
            tx.list_all_regions::<Task>()?
                .into_iter()
                .map(|(_, t)| t)
                .filter(|t| t.service_name.as_deref() == Some(name))
                .filter(|t| cluster.is_none_or(|c| t.cluster_name() == c))
                .collect(),
        )
    })?;
    tasks.sort_by(|a, b| a.created_at.total_cmp(&b.created_at));
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(TaskStatus::Provisioning < TaskStatus::Running);
        assert!(TaskStatus::Stopping < TaskStatus::Stopped);
        assert!(TaskStatus::Pending.is_pending() && !TaskStatus::Running.is_pending());
        assert!(TaskStatus::Stopping.is_launched() && !TaskStatus::Deprovisioning.is_launched());
        assert_eq!(serde_json::to_value(TaskStatus::Deactivating).unwrap(), json!("DEACTIVATING"));
    }

    #[test]
    fn runtime_ids_look_like_fargate_docker_ids() {
        let id = runtime_id("0123456789abcdef0123456789abcdef");
        let (task, n) = id.split_once('-').unwrap();
        assert_eq!(task.len(), 32);
        assert_eq!(n.len(), 10);
    }
}
