//! Task definitions: RegisterTaskDefinition, DescribeTaskDefinition, DeregisterTaskDefinition,
//! ListTaskDefinitions, ListTaskDefinitionFamilies.
//!
//! A registration is validated as ECS does (Fargate's cpu/memory table, `awsvpc` for Fargate,
//! host port = container port under `awsvpc`, an essential container, unique names) and stored
//! with AWS's defaults filled in, so Describe echoes every field sent and terraform's
//! normalisation of `container_definitions` finds no difference. Container definitions are kept
//! as the JSON objects that were sent (every field, known to berth or not), with the defaults
//! added and the keys in AWS's order; [`ContainerDef`] is the typed view the runtime needs.
//!
//! Revisions count up per family and region and are never reused; a deregistered revision stays
//! describable (`INACTIVE`) and running tasks keep using it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::EcsError;
use super::{KeyValuePair, Tag, includes, is_valid_name, page, validate_tags};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{ACCOUNT_ID, Ctx, epoch_seconds};

/// A stored task definition revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub task_definition_arn: String,
    pub family: String,
    pub revision: i64,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// The container definitions as sent, with AWS's defaults, keys in AWS's order.
    pub container_definitions: Vec<Value>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub network_mode: String,
    pub volumes: Vec<Value>,
    pub placement_constraints: Vec<Value>,
    pub requires_compatibilities: Vec<String>,
    pub compatibilities: Vec<String>,
    pub requires_attributes: Vec<String>,
    /// Normalised to CPU units (`"256"`).
    pub cpu: Option<String>,
    /// Normalised to MiB (`"1024"`).
    pub memory: Option<String>,
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub proxy_configuration: Option<Value>,
    pub inference_accelerators: Vec<Value>,
    pub ephemeral_storage: Option<Value>,
    pub runtime_platform: Option<Value>,
    pub enable_fault_injection: Option<bool>,
    pub registered_at: f64,
    pub registered_by: String,
    pub deregistered_at: Option<f64>,
    pub tags: Vec<Tag>,
}

impl Resource for TaskDefinition {
    const KIND: &'static str = "ecs:task-definition";

    fn id(&self) -> &str {
        &self.task_definition_arn
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.family)
    }

    fn name(&self) -> Option<&str> {
        Some(&self.family)
    }
}

/// The typed view of a container definition: what validation and the runtime use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDef {
    pub name: Option<String>,
    pub image: Option<String>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub port_mappings: Option<Vec<PortMapping>>,
    pub essential: Option<bool>,
    pub entry_point: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub environment: Option<Vec<KeyValuePair>>,
    pub working_directory: Option<String>,
    pub stop_timeout: Option<i64>,
    pub start_timeout: Option<i64>,
    pub hostname: Option<String>,
    pub links: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: Option<i64>,
    pub host_port: Option<i64>,
    pub protocol: Option<String>,
    pub container_port_range: Option<String>,
}

impl ContainerDef {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or_default()
    }

    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }

    /// Whether the container maps `port` (as a container port).
    pub fn maps_port(&self, port: i64) -> bool {
        self.port_mappings.iter().flatten().any(|p| p.container_port == Some(port))
    }
}

impl TaskDefinition {
    /// The typed container definitions (they were validated when registered).
    pub fn containers(&self) -> Result<Vec<ContainerDef>, ApiError> {
        self.container_definitions
            .iter()
            .map(|v| {
                ContainerDef::deserialize(v).map_err(|e| {
                    ApiError::internal(format!(
                        "stored task definition {} has a bad container definition: {e}",
                        self.task_definition_arn
                    ))
                })
            })
            .collect()
    }

    pub fn container(&self, name: &str) -> Result<Option<ContainerDef>, ApiError> {
        Ok(self.containers()?.into_iter().find(|c| c.name() == name))
    }

    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }

    /// Whether tasks of this definition can run on Fargate.
    pub fn fargate_compatible(&self) -> bool {
        self.compatibilities.iter().any(|c| c == "FARGATE")
    }

    /// `family:revision`.
    pub fn family_revision(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }
}

// === lookups ===

/// Finds a task definition by `family` (its latest ACTIVE revision), `family:revision` or ARN.
pub fn find(cx: &Ctx<'_>, reference: &str) -> Result<Option<TaskDefinition>, ApiError> {
    let reference = reference.trim();
    if reference.starts_with("arn:") {
        return Ok(cx.get::<TaskDefinition>(reference)?);
    }
    match reference.rsplit_once(':') {
        Some((family, rev)) if rev.parse::<i64>().is_ok() => {
            Ok(cx.get::<TaskDefinition>(&arn(cx, family, rev.parse().unwrap_or_default()))?)
        }
        _ => Ok(cx
            .children::<TaskDefinition>(reference)?
            .into_iter()
            .filter(TaskDefinition::is_active)
            .max_by_key(|td| td.revision)),
    }
}

fn arn(cx: &Ctx<'_>, family: &str, revision: i64) -> String {
    cx.arn("ecs", &format!("task-definition/{family}:{revision}"))
}

// === cpu and memory ===

/// Task cpu as CPU units: `"256"`, `"1 vCPU"`, `".5 vcpu"`.
pub fn parse_cpu(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(v) = t.strip_suffix("vcpu").or_else(|| t.strip_suffix("vcpus")) {
        let f: f64 = v.trim().parse().ok()?;
        let units = f * 1024.0;
        return (units > 0.0 && units.fract() == 0.0 && units < 1e9).then_some(units as i64);
    }
    t.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Task memory as MiB: `"1024"`, `"2 GB"`, `"2GiB"`.
pub fn parse_memory(s: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    for (suffix, scale) in [("gib", 1024.0), ("gb", 1024.0), ("mib", 1.0), ("mb", 1.0)] {
        if let Some(v) = t.strip_suffix(suffix) {
            let f: f64 = v.trim().parse().ok()?;
            let mib = f * scale;
            return (mib > 0.0 && mib.fract() == 0.0 && mib < 1e9).then_some(mib as i64);
        }
    }
    t.parse::<i64>().ok().filter(|n| *n > 0)
}

/// Whether Fargate offers this cpu/memory pair (task-cpu-memory-error.md).
pub fn fargate_size_ok(cpu: i64, memory: i64) -> bool {
    let stepped = |lo: i64, hi: i64, step: i64| memory >= lo && memory <= hi && memory % step == 0;
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => stepped(1024, 4096, 1024),
        1024 => stepped(2048, 8192, 1024),
        2048 => stepped(4096, 16384, 1024),
        4096 => stepped(8192, 30720, 1024),
        8192 => stepped(16384, 61440, 4096),
        16384 => stepped(32768, 122880, 8192),
        _ => false,
    }
}

// === normalisation ===

/// `ContainerDefinition` members in the order AWS returns them.
const CONTAINER_KEY_ORDER: &[&str] = &[
    "name",
    "image",
    "repositoryCredentials",
    "cpu",
    "memory",
    "memoryReservation",
    "links",
    "portMappings",
    "essential",
    "restartPolicy",
    "entryPoint",
    "command",
    "environment",
    "environmentFiles",
    "mountPoints",
    "volumesFrom",
    "linuxParameters",
    "secrets",
    "dependsOn",
    "startTimeout",
    "stopTimeout",
    "versionConsistency",
    "hostname",
    "user",
    "workingDirectory",
    "disableNetworking",
    "privileged",
    "readonlyRootFilesystem",
    "dnsServers",
    "dnsSearchDomains",
    "extraHosts",
    "dockerSecurityOptions",
    "interactive",
    "pseudoTerminal",
    "dockerLabels",
    "ulimits",
    "logConfiguration",
    "healthCheck",
    "systemControls",
    "resourceRequirements",
    "firelensConfiguration",
    "credentialSpecs",
];

const PORT_KEY_ORDER: &[&str] =
    &["containerPort", "hostPort", "protocol", "name", "appProtocol", "containerPortRange"];

/// `object` with its keys in `order` first (in that order), then any others as they came.
fn ordered(object: Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let mut rest = object;
    let mut out = Map::new();
    for key in order {
        if let Some(v) = rest.remove(*key) {
            out.insert((*key).to_string(), v);
        }
    }
    out.extend(rest);
    out
}

/// A container definition as AWS stores it: nulls dropped, defaults filled in (cpu 0, essential
/// true, empty lists, each port mapping's protocol and, for `awsvpc`/`host`, its host port).
fn normalise_container(raw: Map<String, Value>, network_mode: &str) -> Map<String, Value> {
    let mut c: Map<String, Value> = raw.into_iter().filter(|(_, v)| !v.is_null()).collect();
    c.entry("cpu").or_insert(Value::from(0));
    c.entry("essential").or_insert(Value::Bool(true));
    for key in ["portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"] {
        c.entry(key).or_insert(Value::Array(Vec::new()));
    }
    if let Some(Value::Array(mappings)) = c.get_mut("portMappings") {
        for m in mappings.iter_mut() {
            if let Value::Object(obj) = m {
                let mut obj2: Map<String, Value> =
                    std::mem::take(obj).into_iter().filter(|(_, v)| !v.is_null()).collect();
                if matches!(network_mode, "awsvpc" | "host")
                    && !obj2.contains_key("hostPort")
                    && let Some(port) = obj2.get("containerPort").cloned()
                {
                    obj2.insert("hostPort".into(), port);
                }
                obj2.entry("protocol").or_insert(Value::from("tcp"));
                *obj = ordered(obj2, PORT_KEY_ORDER);
            }
        }
    }
    ordered(c, CONTAINER_KEY_ORDER)
}

// === RegisterTaskDefinition ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTaskDefinitionInput {
    family: String,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    network_mode: Option<String>,
    container_definitions: Vec<Value>,
    #[serde(default)]
    volumes: Option<Vec<Value>>,
    #[serde(default)]
    placement_constraints: Option<Vec<Value>>,
    #[serde(default)]
    requires_compatibilities: Option<Vec<String>>,
    cpu: Option<String>,
    memory: Option<String>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    pid_mode: Option<String>,
    ipc_mode: Option<String>,
    proxy_configuration: Option<Value>,
    #[serde(default)]
    inference_accelerators: Option<Vec<Value>>,
    ephemeral_storage: Option<Value>,
    runtime_platform: Option<Value>,
    enable_fault_injection: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionOutput {
    task_definition: TaskDefinitionOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionOut {
    task_definition_arn: String,
    container_definitions: Vec<Value>,
    family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_role_arn: Option<String>,
    network_mode: String,
    revision: i64,
    volumes: Vec<Value>,
    status: String,
    requires_attributes: Vec<Attribute>,
    placement_constraints: Vec<Value>,
    compatibilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_platform: Option<Value>,
    requires_compatibilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    inference_accelerators: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipc_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proxy_configuration: Option<Value>,
    registered_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    deregistered_at: Option<f64>,
    registered_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ephemeral_storage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_fault_injection: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Attribute {
    name: String,
}

pub fn task_definition_out(td: &TaskDefinition) -> TaskDefinitionOut {
    TaskDefinitionOut {
        task_definition_arn: td.task_definition_arn.clone(),
        container_definitions: td.container_definitions.clone(),
        family: td.family.clone(),
        task_role_arn: td.task_role_arn.clone(),
        execution_role_arn: td.execution_role_arn.clone(),
        network_mode: td.network_mode.clone(),
        revision: td.revision,
        volumes: td.volumes.clone(),
        status: td.status.clone(),
        requires_attributes: td.requires_attributes.iter().map(|n| Attribute { name: n.clone() }).collect(),
        placement_constraints: td.placement_constraints.clone(),
        compatibilities: td.compatibilities.clone(),
        runtime_platform: td.runtime_platform.clone(),
        requires_compatibilities: td.requires_compatibilities.clone(),
        cpu: td.cpu.clone(),
        memory: td.memory.clone(),
        inference_accelerators: td.inference_accelerators.clone(),
        pid_mode: td.pid_mode.clone(),
        ipc_mode: td.ipc_mode.clone(),
        proxy_configuration: td.proxy_configuration.clone(),
        registered_at: td.registered_at,
        deregistered_at: td.deregistered_at,
        registered_by: td.registered_by.clone(),
        ephemeral_storage: td.ephemeral_storage.clone(),
        enable_fault_injection: td.enable_fault_injection,
    }
}

fn client(msg: impl Into<String>) -> ApiError {
    EcsError::client(msg).into()
}

/// Validates a registration and builds the stored definition (without ARN and revision).
fn build(input: RegisterTaskDefinitionInput, now: f64) -> Result<TaskDefinition, ApiError> {
    if !is_valid_name(&input.family) {
        return Err(client(
            "Family contains invalid characters. Family must be 1 to 255 letters, numbers, hyphens, and underscores.",
        ));
    }
    if input.container_definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if input.container_definitions.len() > 10 {
        return Err(client("Too many containers. A task definition can have at most 10 containers."));
    }
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;
    let requires = input.requires_compatibilities.unwrap_or_default();
    for c in &requires {
        if !matches!(c.as_str(), "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES") {
            return Err(EcsError::invalid(format!("Invalid compatibility value: {c}")).into());
        }
    }
    let fargate = requires.iter().any(|c| c == "FARGATE");
    let network_mode = input.network_mode.clone().unwrap_or_else(|| "bridge".to_string());
    if !matches!(network_mode.as_str(), "bridge" | "host" | "awsvpc" | "none") {
        return Err(client(format!("Invalid networkMode: {network_mode}")));
    }
    if fargate && network_mode != "awsvpc" {
        return Err(client("Fargate only supports network mode \u{2018}awsvpc\u{2019}."));
    }
    let cpu = match &input.cpu {
        None => None,
        Some(s) => Some(parse_cpu(s).ok_or_else(|| client("Invalid 'cpu' setting for task."))?),
    };
    let memory = match &input.memory {
        None => None,
        Some(s) => Some(parse_memory(s).ok_or_else(|| client("Invalid 'memory' setting for task."))?),
    };

    // Containers.
    let mut normalised = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut any_essential = false;
    for raw in input.container_definitions {
        let Value::Object(obj) = raw else {
            return Err(EcsError::invalid("Container definition must be a JSON object.").into());
        };
        let def = ContainerDef::deserialize(&Value::Object(obj.clone()))
            .map_err(|e| ApiError::bad_request("SerializationException", e.to_string()))?;
        let name = def.name().to_string();
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !is_valid_name(&name) {
            return Err(client(format!(
                "Container name '{name}' is invalid. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
            )));
        }
        if names.contains(&name) {
            return Err(client(format!("Duplicate container name found: {name}.")));
        }
        if def.image().trim().is_empty() {
            return Err(client("Container.image should not be null or empty."));
        }
        if def.cpu.is_some_and(|c| c < 0) {
            return Err(client(format!("Invalid 'cpu' setting for container '{name}'.")));
        }
        if memory.is_none() && def.memory.is_none() && def.memory_reservation.is_none() {
            return Err(client(format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        if let (Some(m), Some(r)) = (def.memory, def.memory_reservation)
            && m < r
        {
            return Err(client(format!(
                "Invalid setting for container '{name}'. 'memory' must be greater than or equal to 'memoryReservation'."
            )));
        }
        if let Some(t) = def.stop_timeout {
            if t < 2 {
                return Err(client(format!(
                    "Granular stop timeout on container '{name}' must be at least 2 seconds."
                )));
            }
            if fargate && t > 120 {
                return Err(client(
                    "Tasks using the Fargate launch type must have a container stop timeout of less than 120 seconds.",
                ));
            }
        }
        if network_mode == "awsvpc" && def.hostname.is_some() {
            return Err(client("hostname is not supported on container when networkMode=awsvpc."));
        }
        if network_mode == "awsvpc" && def.links.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(client("links are not supported when networkMode=awsvpc."));
        }
        for pm in def.port_mappings.iter().flatten() {
            if pm.container_port_range.is_none() {
                match pm.container_port {
                    Some(p) if (1..=65535).contains(&p) => {}
                    _ => return Err(client("Invalid 'containerPort' setting for container.")),
                }
            }
            if let Some(h) = pm.host_port
                && !(0..=65535).contains(&h)
            {
                return Err(client("Invalid 'hostPort' setting for container."));
            }
            if let Some(p) = &pm.protocol
                && p != "tcp"
                && p != "udp"
            {
                return Err(client(format!("Invalid protocol value: {p}")));
            }
            if matches!(network_mode.as_str(), "awsvpc" | "host")
                && let (Some(h), Some(c)) = (pm.host_port, pm.container_port)
                && h != c
            {
                return Err(client(format!(
                    "When networkMode={network_mode}, the host ports and container ports in port mappings must match."
                )));
            }
        }
        any_essential |= def.is_essential();
        names.push(name);
        normalised.push(Value::Object(normalise_container(obj, &network_mode)));
    }
    if !any_essential {
        return Err(client("Task definition does not have any essential container."));
    }

    // Fargate's sizes.
    if fargate {
        let Some(c) = cpu else {
            return Err(client("Fargate requires that 'cpu' be defined at the task level."));
        };
        let Some(m) = memory else {
            return Err(client("Fargate requires that 'memory' be defined at the task level."));
        };
        if !fargate_size_ok(c, m) {
            return Err(client(format!(
                "No Fargate configuration exists for given values: {c} CPU, {m} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
    }
    let fargate_ok =
        network_mode == "awsvpc" && matches!((cpu, memory), (Some(c), Some(m)) if fargate_size_ok(c, m));
    let compatibilities: Vec<String> = if fargate_ok {
        vec!["EC2".into(), "FARGATE".into()]
    } else if network_mode == "awsvpc" {
        vec!["EC2".into()]
    } else {
        vec!["EXTERNAL".into(), "EC2".into()]
    };
    let mut requires_attributes = vec!["com.amazonaws.ecs.capability.docker-remote-api.1.18".to_string()];
    if network_mode == "awsvpc" {
        requires_attributes.push("ecs.capability.task-eni".into());
    }
    if input.execution_role_arn.is_some() {
        requires_attributes.push("ecs.capability.execution-role-awslogs".into());
    }
    if input.task_role_arn.is_some() {
        requires_attributes.push("com.amazonaws.ecs.capability.task-iam-role".into());
    }

    Ok(TaskDefinition {
        task_definition_arn: String::new(),
        family: input.family,
        revision: 0,
        status: "ACTIVE".into(),
        container_definitions: normalised,
        task_role_arn: input.task_role_arn,
        execution_role_arn: input.execution_role_arn,
        network_mode,
        volumes: input.volumes.unwrap_or_default(),
        placement_constraints: input.placement_constraints.unwrap_or_default(),
        requires_compatibilities: requires,
        compatibilities,
        requires_attributes,
        cpu: cpu.map(|c| c.to_string()),
        memory: memory.map(|m| m.to_string()),
        pid_mode: input.pid_mode,
        ipc_mode: input.ipc_mode,
        proxy_configuration: input.proxy_configuration,
        inference_accelerators: input.inference_accelerators.unwrap_or_default(),
        ephemeral_storage: input.ephemeral_storage,
        runtime_platform: input.runtime_platform,
        enable_fault_injection: input.enable_fault_injection,
        registered_at: now,
        registered_by: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
        deregistered_at: None,
        tags,
    })
}

pub fn register_task_definition(
    cx: &Ctx<'_>,
    input: RegisterTaskDefinitionInput,
) -> Result<TaskDefinitionOutput, ApiError> {
    let mut td = build(input, epoch_seconds(cx.now))?;
    let revision =
        cx.tx.next_counter(&format!("ecs:task-definition-revision:{}:{}", cx.region, td.family))?;
    td.revision = revision;
    td.task_definition_arn = arn(cx, &td.family, revision);
    cx.put(&td)?;
    let tags = (!td.tags.is_empty()).then(|| td.tags.clone());
    Ok(TaskDefinitionOutput { task_definition: task_definition_out(&td), tags })
}

// === DescribeTaskDefinition ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionInput {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

pub fn describe_task_definition(
    cx: &Ctx<'_>,
    input: DescribeTaskDefinitionInput,
) -> Result<TaskDefinitionOutput, ApiError> {
    let td =
        find(cx, &input.task_definition)?.ok_or_else(|| client("Unable to describe task definition."))?;
    let tags = includes(&input.include, "TAGS").then(|| td.tags.clone());
    Ok(TaskDefinitionOutput { task_definition: task_definition_out(&td), tags })
}

// === DeregisterTaskDefinition ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionInput {
    task_definition: String,
}

pub fn deregister_task_definition(
    cx: &Ctx<'_>,
    input: DeregisterTaskDefinitionInput,
) -> Result<TaskDefinitionOutput, ApiError> {
    let reference = input.task_definition.trim();
    let has_revision = reference.rsplit_once(':').is_some_and(|(_, rev)| rev.parse::<i64>().is_ok());
    if !has_revision {
        return Err(client(format!(
            "Invalid revision number. Number: {}",
            reference.rsplit_once(':').map_or("", |(_, r)| r)
        )));
    }
    let mut td =
        find(cx, reference)?.ok_or_else(|| client("The specified task definition does not exist."))?;
    if td.is_active() {
        td.status = "INACTIVE".into();
        td.deregistered_at = Some(epoch_seconds(cx.now));
        cx.put(&td)?;
    }
    Ok(TaskDefinitionOutput { task_definition: task_definition_out(&td), tags: None })
}

// === ListTaskDefinitions ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsOutput {
    task_definition_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn status_filter(status: Option<&str>, allow_all: bool) -> Result<Option<&'static str>, ApiError> {
    match status {
        None | Some("ACTIVE") => Ok(Some("ACTIVE")),
        Some("INACTIVE") => Ok(Some("INACTIVE")),
        Some("ALL") if allow_all => Ok(None),
        Some(other) => Err(EcsError::invalid(format!("Invalid status: {other}")).into()),
    }
}

pub fn list_task_definitions(
    cx: &Ctx<'_>,
    input: ListTaskDefinitionsInput,
) -> Result<ListTaskDefinitionsOutput, ApiError> {
    let status = status_filter(input.status.as_deref(), false)?;
    let mut tds: Vec<TaskDefinition> = match &input.family_prefix {
        Some(family) => cx.children::<TaskDefinition>(family)?,
        None => cx.list::<TaskDefinition>()?,
    };
    tds.retain(|td| status.is_none_or(|s| td.status == s));
    tds.sort_by(|a, b| a.family.cmp(&b.family).then(a.revision.cmp(&b.revision)));
    if input.sort.as_deref() == Some("DESC") {
        tds.reverse();
    }
    let arns: Vec<String> = tds.into_iter().map(|td| td.task_definition_arn).collect();
    let (task_definition_arns, next_token) =
        page(&arns, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(ListTaskDefinitionsOutput { task_definition_arns, next_token })
}

// === ListTaskDefinitionFamilies ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesInput {
    family_prefix: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesOutput {
    families: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_task_definition_families(
    cx: &Ctx<'_>,
    input: ListTaskDefinitionFamiliesInput,
) -> Result<ListTaskDefinitionFamiliesOutput, ApiError> {
    let status = status_filter(input.status.as_deref(), true)?;
    let tds = cx.list::<TaskDefinition>()?;
    let mut families: Vec<String> = Vec::new();
    for td in &tds {
        if families.contains(&td.family) {
            continue;
        }
        if let Some(prefix) = &input.family_prefix
            && !td.family.starts_with(prefix.as_str())
        {
            continue;
        }
        let any_active = tds.iter().any(|t| t.family == td.family && t.is_active());
        let wanted = match status {
            Some("ACTIVE") => any_active,
            Some(_) => !any_active,
            None => true,
        };
        if wanted {
            families.push(td.family.clone());
        }
    }
    families.sort();
    let (families, next_token) = page(&families, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(ListTaskDefinitionFamiliesOutput { families, next_token })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(v: Value) -> RegisterTaskDefinitionInput {
        serde_json::from_value(v).unwrap()
    }

    fn seed() -> Value {
        // tftrace-samples/36: the seed's product-svc task definition as terraform sends it.
        json!({"containerDefinitions":[{"essential":true,"image":"phamtrongnghia1105/user-svc","name":"user-svc",
               "portMappings":[{"containerPort":3000,"hostPort":3000}]}],
               "cpu":"256","executionRoleArn":"arn:aws:iam::000000000000:role/ecs-task-execution-role",
               "family":"user-svc-td","memory":"1024","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"]})
    }

    #[test]
    fn the_seed_gets_aws_defaults() {
        let td = build(input(seed()), 1.0).unwrap();
        assert_eq!(
            td.container_definitions[0],
            json!({"name":"user-svc","image":"phamtrongnghia1105/user-svc","cpu":0,
                   "portMappings":[{"containerPort":3000,"hostPort":3000,"protocol":"tcp"}],
                   "essential":true,"environment":[],"mountPoints":[],"volumesFrom":[],"systemControls":[]})
        );
        assert_eq!(td.compatibilities, vec!["EC2", "FARGATE"]);
        assert_eq!(td.cpu.as_deref(), Some("256"));
        // Keys come back in AWS's order.
        let keys: Vec<&String> = td.container_definitions[0].as_object().unwrap().keys().collect();
        assert_eq!(keys[..4], ["name", "image", "cpu", "portMappings"]);
    }

    #[test]
    fn awsvpc_fills_in_the_host_port() {
        let mut v = seed();
        v["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 8080}]);
        let td = build(input(v), 1.0).unwrap();
        assert_eq!(
            td.container_definitions[0]["portMappings"],
            json!([{"containerPort":8080,"hostPort":8080,"protocol":"tcp"}])
        );
    }

    fn err(v: Value) -> ApiError {
        build(input(v), 1.0).unwrap_err()
    }

    #[test]
    fn fargate_rules() {
        let mut v = seed();
        v["memory"] = json!("3000");
        let e = err(v);
        assert_eq!(e.code, "ClientException");
        assert_eq!(
            e.message,
            "No Fargate configuration exists for given values: 256 CPU, 3000 memory. See the Amazon ECS documentation for the valid values."
        );
        let mut v = seed();
        v["networkMode"] = json!("bridge");
        v["containerDefinitions"][0]["portMappings"] = json!([]);
        assert_eq!(err(v).message, "Fargate only supports network mode \u{2018}awsvpc\u{2019}.");
        let mut v = seed();
        v["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 3000, "hostPort": 80}]);
        assert_eq!(
            err(v).message,
            "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
        );
        let mut v = seed();
        v.as_object_mut().unwrap().remove("cpu");
        assert_eq!(err(v).message, "Fargate requires that 'cpu' be defined at the task level.");
    }

    #[test]
    fn sizes_parse_like_aws() {
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_cpu("256"), Some(256));
        assert_eq!(parse_cpu("abc"), None);
        assert_eq!(parse_memory("2 GB"), Some(2048));
        assert_eq!(parse_memory("512"), Some(512));
        assert!(fargate_size_ok(256, 512) && fargate_size_ok(512, 4096) && fargate_size_ok(8192, 20480));
        assert!(!fargate_size_ok(256, 4096) && !fargate_size_ok(512, 1500) && !fargate_size_ok(8192, 18432));
    }

    #[test]
    fn duplicates_and_missing_essentials_are_refused() {
        let mut v = seed();
        let c = v["containerDefinitions"][0].clone();
        v["containerDefinitions"] = json!([c.clone(), c]);
        assert!(err(v).message.contains("Duplicate container name"));
        let mut v = seed();
        v["containerDefinitions"][0]["essential"] = json!(false);
        assert_eq!(err(v).message, "Task definition does not have any essential container.");
    }
}
