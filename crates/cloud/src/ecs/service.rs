//! Services: CreateService, DescribeServices, UpdateService, DeleteService, ListServices.
//!
//! A service records what is wanted (task definition, desired count, network, load balancers)
//! and what happened (deployments, events). The API never starts or stops a task itself: the
//! scheduler ([`crate::reconcile::ecs_service`]) compares the service with its tasks and acts.
//!
//! # Deployments
//! CreateService makes the first `PRIMARY` deployment. An UpdateService that changes what tasks
//! run (task definition, network configuration, load balancers, platform, capacity providers,
//! `forceNewDeployment`) adds a new `PRIMARY` and turns the previous ones `ACTIVE`; a desired
//! count change only resizes the `PRIMARY`. The scheduler drops `ACTIVE` deployments once
//! their tasks are gone and marks the `PRIMARY` `COMPLETED` when it runs its desired count.
//!
//! # Deletion
//! DeleteService turns the service `DRAINING` (refused while it is scaled above 0 unless
//! `force`); the scheduler stops its tasks and turns it `INACTIVE` once the last one is
//! `STOPPED`. An `INACTIVE` service stays describable; creating one with its name replaces it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cluster::{self, Cluster};
use super::error::EcsError;
use super::task::{Task, TaskStatus};
use super::task_definition::{self, TaskDefinition};
use super::{Failure, Tag, deployment_id, includes, is_valid_name, load_balancer, page, validate_tags};
use crate::api::ApiError;
use crate::ec2::{security_group, subnet};
use crate::store::Resource;
use crate::{ACCOUNT_ID, Ctx, epoch_seconds, ids};

/// The most events a service keeps (AWS shows the latest 100).
const MAX_EVENTS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    Active,
    Draining,
    Inactive,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Draining => "DRAINING",
            Self::Inactive => "INACTIVE",
        }
    }
}

/// A stored service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    pub status: ServiceStatus,
    pub task_definition: String,
    pub desired_count: i32,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<Value>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub load_balancers: Vec<LoadBalancer>,
    pub service_registries: Vec<Value>,
    pub deployment_configuration: DeploymentConfiguration,
    /// Newest (the `PRIMARY`) first.
    pub deployments: Vec<Deployment>,
    pub role_arn: Option<String>,
    /// Newest first, at most [`MAX_EVENTS`].
    pub events: Vec<ServiceEvent>,
    pub created_at: f64,
    pub placement_constraints: Vec<Value>,
    pub placement_strategy: Vec<Value>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub health_check_grace_period_seconds: Option<i32>,
    pub scheduling_strategy: String,
    pub deployment_controller: DeploymentController,
    pub tags: Vec<Tag>,
    pub created_by: String,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    pub enable_execute_command: bool,
    pub availability_zone_rebalancing: String,
    pub service_connect_configuration: Option<Value>,
    pub volume_configurations: Vec<Value>,
    pub vpc_lattice_configurations: Vec<Value>,
    pub client_token: Option<String>,
    /// The scheduler's own bookkeeping (not shown by the API).
    #[serde(default)]
    pub scheduler: SchedulerState,
}

/// What the scheduler remembers about a service between passes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Tasks in a row that stopped without ever (or only briefly) running.
    pub consecutive_failures: u32,
    /// No task is launched before this time (epoch seconds): the start-failure back-off.
    pub next_launch_at: Option<f64>,
    /// Whether the "has reached a steady state" event was given for the current state.
    pub steady: bool,
    /// Whether the "unable to place a task" event was given for the current situation.
    pub placement_blocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<String>,
}

impl NetworkConfiguration {
    pub fn subnets(&self) -> &[String] {
        self.awsvpc_configuration.as_ref().map(|a| a.subnets.as_slice()).unwrap_or_default()
    }

    pub fn security_groups(&self) -> &[String] {
        self.awsvpc_configuration.as_ref().and_then(|a| a.security_groups.as_deref()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    pub deployment_circuit_breaker: CircuitBreaker,
    pub maximum_percent: i32,
    pub minimum_healthy_percent: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub id: String,
    #[serde(rename = "createdAt")]
    pub created_at: f64,
    pub message: String,
}

/// A deployment: one task definition and configuration being rolled out (or run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    /// `PRIMARY` (the newest) or `ACTIVE` (an older one still running tasks).
    pub status: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub failed_tasks: i32,
    pub created_at: f64,
    pub updated_at: f64,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<Value>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub load_balancers: Vec<LoadBalancer>,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: String,
    pub rollout_state_reason: String,
}

impl Resource for Service {
    const KIND: &'static str = "ecs:service";

    fn id(&self) -> &str {
        &self.service_arn
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.cluster_arn)
    }

    fn name(&self) -> Option<&str> {
        Some(&self.service_name)
    }
}

impl Service {
    /// Adds an event (newest first, at most 100 kept).
    pub fn add_event(&mut self, now: f64, message: impl Into<String>) {
        self.events.insert(0, ServiceEvent { id: ids::uuid(), created_at: now, message: message.into() });
        self.events.truncate(MAX_EVENTS);
    }

    /// The `PRIMARY` deployment.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.first()
    }

    pub fn primary_mut(&mut self) -> Option<&mut Deployment> {
        self.deployments.first_mut()
    }

    /// `service:<name>`: the `group` of the service's tasks.
    pub fn group(&self) -> String {
        format!("service:{}", self.service_name)
    }

    /// Whether this service's tasks run on Fargate (launch type or capacity provider).
    pub fn runs_on_fargate(&self) -> bool {
        runs_on_fargate(self.launch_type.as_deref(), &self.capacity_provider_strategy)
    }

    pub fn network(&self) -> Option<&NetworkConfiguration> {
        self.network_configuration.as_ref()
    }
}

/// Whether a launch type / capacity provider strategy puts tasks on Fargate.
pub fn runs_on_fargate(launch_type: Option<&str>, strategy: &[Value]) -> bool {
    match launch_type {
        Some(lt) => lt == "FARGATE",
        None => strategy.iter().any(|s| {
            s.get("capacityProvider")
                .and_then(Value::as_str)
                .is_some_and(|p| p == "FARGATE" || p == "FARGATE_SPOT")
        }),
    }
}

/// The ARN of a service named in `cluster` (a name or an ARN).
pub fn arn_of(cx: &Ctx<'_>, cluster: &Cluster, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        cx.arn("ecs", &format!("service/{}/{reference}", cluster.cluster_name))
    }
}

/// The service with this name or ARN in `cluster`, in any status.
pub fn find(cx: &Ctx<'_>, cluster: &Cluster, reference: &str) -> Result<Option<Service>, ApiError> {
    Ok(cx.get::<Service>(&arn_of(cx, cluster, reference))?.filter(|s| s.cluster_arn == cluster.cluster_arn))
}

/// The tasks of a service (all of them, stopped ones included).
pub fn tasks_of(cx: &Ctx<'_>, service: &Service) -> Result<Vec<Task>, ApiError> {
    Ok(cx
        .children::<Task>(&service.cluster_arn)?
        .into_iter()
        .filter(|t| t.service_arn.as_deref() == Some(service.service_arn.as_str()))
        .collect())
}

// === output ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOut {
    service_arn: String,
    service_name: String,
    cluster_arn: String,
    load_balancers: Vec<LoadBalancer>,
    service_registries: Vec<Value>,
    status: &'static str,
    desired_count: i32,
    running_count: i32,
    pending_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capacity_provider_strategy: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_family: Option<String>,
    task_definition: String,
    deployment_configuration: DeploymentConfiguration,
    deployments: Vec<DeploymentOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
    events: Vec<ServiceEvent>,
    created_at: f64,
    placement_constraints: Vec<Value>,
    placement_strategy: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_grace_period_seconds: Option<i32>,
    scheduling_strategy: String,
    deployment_controller: DeploymentController,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag>>,
    created_by: String,
    enable_ecs_managed_tags: bool,
    propagate_tags: String,
    enable_execute_command: bool,
    availability_zone_rebalancing: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentOut {
    id: String,
    status: String,
    task_definition: String,
    desired_count: i32,
    pending_count: i32,
    running_count: i32,
    failed_tasks: i32,
    created_at: f64,
    updated_at: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    capacity_provider_strategy: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_configuration: Option<NetworkConfiguration>,
    rollout_state: String,
    rollout_state_reason: String,
}

/// Running and pending counts of `tasks` (those the scheduler wants running), as DescribeServices
/// reports them.
pub(crate) fn counts<'a>(tasks: impl Iterator<Item = &'a Task>) -> (i32, i32) {
    let mut running = 0;
    let mut pending = 0;
    for t in tasks {
        if t.last_status == TaskStatus::Running {
            running += 1;
        } else if t.last_status.is_pending() && t.desired_status == "RUNNING" {
            pending += 1;
        }
    }
    (running, pending)
}

pub fn service_out(cx: &Ctx<'_>, s: &Service, with_tags: bool) -> Result<ServiceOut, ApiError> {
    let tasks = tasks_of(cx, s)?;
    let (running_count, pending_count) = counts(tasks.iter());
    let deployments = s
        .deployments
        .iter()
        .map(|d| {
            let (running, pending) =
                counts(tasks.iter().filter(|t| t.started_by.as_deref() == Some(d.id.as_str())));
            DeploymentOut {
                id: d.id.clone(),
                status: d.status.clone(),
                task_definition: d.task_definition.clone(),
                desired_count: d.desired_count,
                pending_count: pending,
                running_count: running,
                failed_tasks: d.failed_tasks,
                created_at: d.created_at,
                updated_at: d.updated_at,
                capacity_provider_strategy: d.capacity_provider_strategy.clone(),
                launch_type: d.launch_type.clone(),
                platform_version: d.platform_version.clone(),
                platform_family: d.platform_family.clone(),
                network_configuration: d.network_configuration.clone(),
                rollout_state: d.rollout_state.clone(),
                rollout_state_reason: d.rollout_state_reason.clone(),
            }
        })
        .collect();
    Ok(ServiceOut {
        service_arn: s.service_arn.clone(),
        service_name: s.service_name.clone(),
        cluster_arn: s.cluster_arn.clone(),
        load_balancers: s.load_balancers.clone(),
        service_registries: s.service_registries.clone(),
        status: s.status.as_str(),
        desired_count: s.desired_count,
        running_count,
        pending_count,
        launch_type: s.launch_type.clone(),
        capacity_provider_strategy: s.capacity_provider_strategy.clone(),
        platform_version: s.platform_version.clone(),
        platform_family: s.platform_family.clone(),
        task_definition: s.task_definition.clone(),
        deployment_configuration: s.deployment_configuration.clone(),
        deployments,
        role_arn: s.role_arn.clone(),
        events: s.events.clone(),
        created_at: s.created_at,
        placement_constraints: s.placement_constraints.clone(),
        placement_strategy: s.placement_strategy.clone(),
        network_configuration: s.network_configuration.clone(),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds,
        scheduling_strategy: s.scheduling_strategy.clone(),
        deployment_controller: s.deployment_controller.clone(),
        tags: with_tags.then(|| s.tags.clone()),
        created_by: s.created_by.clone(),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags,
        propagate_tags: s.propagate_tags.clone(),
        enable_execute_command: s.enable_execute_command,
        availability_zone_rebalancing: s.availability_zone_rebalancing.clone(),
    })
}

#[derive(Debug, Serialize)]
pub struct ServiceOutput {
    service: ServiceOut,
}

// === validation shared by Create and Update ===

fn invalid(msg: impl Into<String>) -> ApiError {
    EcsError::invalid(msg).into()
}

/// The task definition a service or task names: it must exist and be `ACTIVE`.
pub fn load_task_definition(cx: &Ctx<'_>, reference: &str) -> Result<TaskDefinition, ApiError> {
    match task_definition::find(cx, reference)? {
        Some(td) if td.is_active() => Ok(td),
        Some(_) => Err(invalid("TaskDefinition is inactive")),
        None => Err(EcsError::client("TaskDefinition not found.").into()),
    }
}

/// Checks a network configuration against a task definition and EC2, as ECS does.
pub fn validate_network(
    cx: &Ctx<'_>,
    network: Option<&NetworkConfiguration>,
    td: &TaskDefinition,
    fargate: bool,
) -> Result<(), ApiError> {
    let Some(awsvpc) = network.and_then(|n| n.awsvpc_configuration.as_ref()) else {
        if td.network_mode == "awsvpc" {
            return Err(invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        }
        return Ok(());
    };
    if td.network_mode != "awsvpc" {
        return Err(invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        ));
    }
    if awsvpc.subnets.is_empty() {
        return Err(invalid("subnets can not be empty."));
    }
    if awsvpc.subnets.len() > 16 {
        return Err(invalid("subnets can have at most 16 items."));
    }
    let groups = awsvpc.security_groups.as_deref().unwrap_or_default();
    if groups.len() > 5 {
        return Err(invalid("securityGroups can have at most 5 items."));
    }
    if let Some(ip) = &awsvpc.assign_public_ip {
        if ip != "ENABLED" && ip != "DISABLED" {
            return Err(invalid(format!("Invalid value for assignPublicIp: {ip}")));
        }
        if ip == "ENABLED" && !fargate {
            return Err(invalid("Assign public IP is not supported for this launch type."));
        }
    }
    let mut vpc: Option<String> = None;
    for id in &awsvpc.subnets {
        let Some(s) = subnet::find(cx, id)? else {
            return Err(invalid(format!(
                "Error retrieving subnet information for [{id}]: The subnet ID '{id}' does not exist (ErrorCode: InvalidSubnetID.NotFound)"
            )));
        };
        match &vpc {
            Some(v) if *v != s.vpc_id => {
                return Err(invalid("The subnets must all belong to the same VPC."));
            }
            _ => vpc = Some(s.vpc_id),
        }
    }
    for id in groups {
        let Some(g) = security_group::find(cx, id)? else {
            return Err(invalid(format!(
                "Error retrieving security group information for [{id}]: The security group '{id}' does not exist (ErrorCode: InvalidGroup.NotFound)"
            )));
        };
        if vpc.as_deref().is_some_and(|v| v != g.vpc_id) {
            return Err(invalid(format!("Security group {id} and the subnets are not in the same VPC.")));
        }
    }
    Ok(())
}

fn validate_launch(
    launch_type: Option<&str>,
    strategy: &[Value],
    td: &TaskDefinition,
) -> Result<(), ApiError> {
    if let Some(lt) = launch_type {
        if !matches!(lt, "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES") {
            return Err(invalid(format!("Invalid launch type: {lt}")));
        }
        if !strategy.is_empty() {
            return Err(invalid(
                "Specifying both a launch type and capacity provider strategy is not supported.",
            ));
        }
    }
    if runs_on_fargate(launch_type, strategy) && !td.fargate_compatible() {
        return Err(invalid("Task definition does not support launch_type FARGATE."));
    }
    Ok(())
}

fn validate_deployment_configuration(c: &DeploymentConfiguration) -> Result<(), ApiError> {
    if !(0..=100).contains(&c.minimum_healthy_percent) {
        return Err(invalid("minimumHealthyPercent must be between 0 and 100."));
    }
    if c.maximum_percent < 100 && c.minimum_healthy_percent >= 100 {
        return Err(invalid(
            "The maximumPercent must be greater than or equal to 100 when minimumHealthyPercent is 100.",
        ));
    }
    if c.maximum_percent <= c.minimum_healthy_percent && c.maximum_percent < 100 {
        return Err(invalid("maximumPercent must be greater than minimumHealthyPercent."));
    }
    Ok(())
}

fn platform_of(fargate: bool, version: Option<String>) -> (Option<String>, Option<String>) {
    if fargate {
        (Some(version.unwrap_or_else(|| "LATEST".to_string())), Some("Linux".to_string()))
    } else {
        (version, None)
    }
}

/// The platform version a Fargate deployment resolves `LATEST` to.
fn resolved_platform(fargate: bool, version: Option<&str>) -> Option<String> {
    if !fargate {
        return None;
    }
    match version {
        None | Some("LATEST") => Some("1.4.0".to_string()),
        Some(v) => Some(v.to_string()),
    }
}

fn new_deployment(s: &Service, now: f64) -> Deployment {
    let fargate = s.runs_on_fargate();
    let id = deployment_id();
    Deployment {
        rollout_state_reason: format!("ECS deployment {id} in progress."),
        id,
        status: "PRIMARY".into(),
        task_definition: s.task_definition.clone(),
        desired_count: s.desired_count,
        failed_tasks: 0,
        created_at: now,
        updated_at: now,
        launch_type: s.launch_type.clone(),
        capacity_provider_strategy: s.capacity_provider_strategy.clone(),
        platform_version: resolved_platform(fargate, s.platform_version.as_deref()),
        platform_family: fargate.then(|| "Linux".to_string()),
        network_configuration: s.network_configuration.clone(),
        load_balancers: s.load_balancers.clone(),
        rollout_state: "IN_PROGRESS".into(),
    }
}

/// Fills in AWS's default `assignPublicIp`.
fn normalise_network(n: Option<NetworkConfiguration>) -> Option<NetworkConfiguration> {
    n.map(|mut n| {
        if let Some(a) = n.awsvpc_configuration.as_mut()
            && a.assign_public_ip.is_none()
        {
            a.assign_public_ip = Some("DISABLED".into());
        }
        n
    })
}

// === CreateService ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfigurationIn {
    deployment_circuit_breaker: Option<CircuitBreaker>,
    maximum_percent: Option<i32>,
    minimum_healthy_percent: Option<i32>,
    alarms: Option<Value>,
    strategy: Option<String>,
    bake_time_in_minutes: Option<i32>,
}

impl DeploymentConfigurationIn {
    fn apply(self, mut c: DeploymentConfiguration) -> DeploymentConfiguration {
        if let Some(b) = self.deployment_circuit_breaker {
            c.deployment_circuit_breaker = b;
        }
        if let Some(m) = self.maximum_percent {
            c.maximum_percent = m;
        }
        if let Some(m) = self.minimum_healthy_percent {
            c.minimum_healthy_percent = m;
        }
        if self.alarms.is_some() {
            c.alarms = self.alarms;
        }
        if self.strategy.is_some() {
            c.strategy = self.strategy;
        }
        if self.bake_time_in_minutes.is_some() {
            c.bake_time_in_minutes = self.bake_time_in_minutes;
        }
        c
    }
}

fn default_deployment_configuration() -> DeploymentConfiguration {
    DeploymentConfiguration {
        deployment_circuit_breaker: CircuitBreaker { enable: false, rollback: false },
        maximum_percent: 200,
        minimum_healthy_percent: 100,
        alarms: None,
        strategy: None,
        bake_time_in_minutes: None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateServiceInput {
    cluster: Option<String>,
    service_name: String,
    task_definition: Option<String>,
    availability_zone_rebalancing: Option<String>,
    #[serde(default)]
    load_balancers: Option<Vec<LoadBalancer>>,
    #[serde(default)]
    service_registries: Option<Vec<Value>>,
    desired_count: Option<i32>,
    client_token: Option<String>,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Option<Vec<Value>>,
    platform_version: Option<String>,
    role: Option<String>,
    deployment_configuration: Option<DeploymentConfigurationIn>,
    #[serde(default)]
    placement_constraints: Option<Vec<Value>>,
    #[serde(default)]
    placement_strategy: Option<Vec<Value>>,
    network_configuration: Option<NetworkConfiguration>,
    health_check_grace_period_seconds: Option<i32>,
    scheduling_strategy: Option<String>,
    deployment_controller: Option<DeploymentController>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<String>,
    enable_execute_command: Option<bool>,
    service_connect_configuration: Option<Value>,
    #[serde(default)]
    volume_configurations: Option<Vec<Value>>,
    #[serde(default)]
    vpc_lattice_configurations: Option<Vec<Value>>,
}

pub fn create_service(cx: &Ctx<'_>, input: CreateServiceInput) -> Result<ServiceOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let name = input.service_name;
    if !is_valid_name(&name) {
        return Err(invalid(
            "Service name can only contain letters, numbers, hyphens, and underscores, and must be 1 to 255 characters long.",
        ));
    }
    let arn = cx.arn("ecs", &format!("service/{}/{name}", cluster.cluster_name));
    if let Some(existing) = cx.get::<Service>(&arn)?
        && existing.status != ServiceStatus::Inactive
    {
        if input.client_token.is_some() && existing.client_token == input.client_token {
            return Ok(ServiceOutput { service: service_out(cx, &existing, true)? });
        }
        return Err(invalid("Creation of service was not idempotent."));
    }
    let scheduling_strategy = input.scheduling_strategy.unwrap_or_else(|| "REPLICA".into());
    if scheduling_strategy != "REPLICA" && scheduling_strategy != "DAEMON" {
        return Err(invalid(format!("Invalid scheduling strategy: {scheduling_strategy}")));
    }
    let controller = input.deployment_controller.unwrap_or(DeploymentController { kind: "ECS".into() });
    if controller.kind != "ECS" {
        return Err(invalid(format!(
            "berth only implements the ECS deployment controller, not {}.",
            controller.kind
        )));
    }
    let fargate_strategy = input.capacity_provider_strategy.unwrap_or_default();
    if scheduling_strategy == "DAEMON" && runs_on_fargate(input.launch_type.as_deref(), &fargate_strategy) {
        return Err(invalid("The daemon scheduling strategy is not supported with the Fargate launch type."));
    }
    // With neither a launch type nor a capacity provider strategy, the cluster's default
    // strategy applies; a cluster without one means the EC2 launch type.
    let (launch_type, strategy) = if input.launch_type.is_none() && fargate_strategy.is_empty() {
        if cluster.default_capacity_provider_strategy.is_empty() {
            (Some("EC2".to_string()), Vec::new())
        } else {
            (None, cluster.default_capacity_provider_strategy.clone())
        }
    } else {
        (input.launch_type, fargate_strategy)
    };
    let td_ref = input.task_definition.ok_or_else(|| invalid("TaskDefinition can not be blank."))?;
    let td = load_task_definition(cx, &td_ref)?;
    validate_launch(launch_type.as_deref(), &strategy, &td)?;
    let fargate = runs_on_fargate(launch_type.as_deref(), &strategy);
    let network = normalise_network(input.network_configuration);
    validate_network(cx, network.as_ref(), &td, fargate)?;
    let desired_count = input.desired_count.unwrap_or(0);
    if desired_count < 0 {
        return Err(invalid("Desired count must be a non-negative number."));
    }
    let load_balancers = input.load_balancers.unwrap_or_default();
    load_balancer::validate(cx, &load_balancers, &td)?;
    if input.health_check_grace_period_seconds.is_some() && load_balancers.is_empty() {
        return Err(invalid(
            "Health check grace period is only valid for services configured to use load balancers",
        ));
    }
    let deployment_configuration = match input.deployment_configuration {
        Some(c) => c.apply(default_deployment_configuration()),
        None => default_deployment_configuration(),
    };
    validate_deployment_configuration(&deployment_configuration)?;
    let tags = input.tags.unwrap_or_default();
    validate_tags(&tags)?;
    let propagate_tags = input.propagate_tags.unwrap_or_else(|| "NONE".into());
    if !matches!(propagate_tags.as_str(), "TASK_DEFINITION" | "SERVICE" | "NONE") {
        return Err(invalid(format!("Invalid value for propagateTags: {propagate_tags}")));
    }
    let rebalancing = input.availability_zone_rebalancing.unwrap_or_else(|| "ENABLED".into());
    if rebalancing != "ENABLED" && rebalancing != "DISABLED" {
        return Err(invalid(format!("Invalid value for availabilityZoneRebalancing: {rebalancing}")));
    }
    let (platform_version, platform_family) = platform_of(fargate, input.platform_version);
    let now = epoch_seconds(cx.now);
    let grace = if load_balancers.is_empty() {
        None
    } else {
        Some(input.health_check_grace_period_seconds.unwrap_or(0))
    };
    let mut service = Service {
        service_arn: arn,
        service_name: name,
        cluster_arn: cluster.cluster_arn.clone(),
        status: ServiceStatus::Active,
        task_definition: td.task_definition_arn.clone(),
        desired_count,
        launch_type,
        capacity_provider_strategy: strategy,
        platform_version,
        platform_family,
        load_balancers,
        service_registries: input.service_registries.unwrap_or_default(),
        deployment_configuration,
        deployments: Vec::new(),
        role_arn: Some(input.role.unwrap_or_else(|| {
            format!("arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS")
        })),
        events: Vec::new(),
        created_at: now,
        placement_constraints: input.placement_constraints.unwrap_or_default(),
        placement_strategy: input.placement_strategy.unwrap_or_default(),
        network_configuration: network,
        health_check_grace_period_seconds: grace,
        scheduling_strategy,
        deployment_controller: controller,
        tags,
        created_by: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags.unwrap_or(false),
        propagate_tags,
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        availability_zone_rebalancing: rebalancing,
        service_connect_configuration: input.service_connect_configuration,
        volume_configurations: input.volume_configurations.unwrap_or_default(),
        vpc_lattice_configurations: input.vpc_lattice_configurations.unwrap_or_default(),
        client_token: input.client_token,
        scheduler: SchedulerState::default(),
    };
    let deployment = new_deployment(&service, now);
    service.deployments.push(deployment);
    cx.put(&service)?;
    Ok(ServiceOutput { service: service_out(cx, &service, true)? })
}

// === DescribeServices ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServicesInput {
    cluster: Option<String>,
    services: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DescribeServicesOutput {
    services: Vec<ServiceOut>,
    failures: Vec<Failure>,
}

pub fn describe_services(
    cx: &Ctx<'_>,
    input: DescribeServicesInput,
) -> Result<DescribeServicesOutput, ApiError> {
    if input.services.is_empty() {
        return Err(invalid("Services cannot be empty."));
    }
    if input.services.len() > 10 {
        return Err(invalid("services can have at most 10 items."));
    }
    let cluster = cluster::find(cx, input.cluster.as_deref())?.ok_or(EcsError::ClusterNotFound)?;
    let with_tags = includes(&input.include, "TAGS");
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for r in &input.services {
        match find(cx, &cluster, r)? {
            Some(s) => services.push(service_out(cx, &s, with_tags)?),
            None => failures.push(Failure::missing(arn_of(cx, &cluster, r))),
        }
    }
    Ok(DescribeServicesOutput { services, failures })
}

// === UpdateService ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceInput {
    cluster: Option<String>,
    service: String,
    desired_count: Option<i32>,
    task_definition: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Option<Vec<Value>>,
    deployment_configuration: Option<DeploymentConfigurationIn>,
    availability_zone_rebalancing: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    #[serde(default)]
    placement_constraints: Option<Vec<Value>>,
    #[serde(default)]
    placement_strategy: Option<Vec<Value>>,
    platform_version: Option<String>,
    #[serde(default)]
    force_new_deployment: bool,
    health_check_grace_period_seconds: Option<i32>,
    enable_execute_command: Option<bool>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    #[serde(default)]
    load_balancers: Option<Vec<LoadBalancer>>,
    propagate_tags: Option<String>,
    #[serde(default)]
    service_registries: Option<Vec<Value>>,
    service_connect_configuration: Option<Value>,
    #[serde(default)]
    volume_configurations: Option<Vec<Value>>,
    #[serde(default)]
    vpc_lattice_configurations: Option<Vec<Value>>,
}

pub fn update_service(cx: &Ctx<'_>, input: UpdateServiceInput) -> Result<ServiceOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let mut s = find(cx, &cluster, &input.service)?.ok_or(EcsError::ServiceNotFound)?;
    if s.status != ServiceStatus::Active {
        return Err(EcsError::ServiceNotActive.into());
    }
    let now = epoch_seconds(cx.now);
    let mut redeploy = input.force_new_deployment;

    if let Some(n) = input.desired_count {
        if n < 0 {
            return Err(invalid("Desired count must be a non-negative number."));
        }
        s.desired_count = n;
    }
    // What changes is checked again; a desired-count change alone checks nothing else (the
    // target groups may be losing their listeners while terraform destroys the stack).
    let mut td_changed = false;
    let td = match &input.task_definition {
        Some(r) => {
            let td = load_task_definition(cx, r)?;
            if td.task_definition_arn != s.task_definition {
                redeploy = true;
                td_changed = true;
            }
            td
        }
        None => task_definition::find(cx, &s.task_definition)?.ok_or_else(|| {
            ApiError::internal(format!("the task definition {} is gone", s.task_definition))
        })?,
    };
    if let Some(strategy) = input.capacity_provider_strategy
        && strategy != s.capacity_provider_strategy
    {
        if !strategy.is_empty() {
            s.launch_type = None;
        }
        s.capacity_provider_strategy = strategy;
        redeploy = true;
    }
    if td_changed || redeploy {
        validate_launch(s.launch_type.as_deref(), &s.capacity_provider_strategy, &td)?;
    }
    let fargate = s.runs_on_fargate();
    let mut network_changed = false;
    if let Some(n) = normalise_network(input.network_configuration)
        && Some(&n) != s.network_configuration.as_ref()
    {
        s.network_configuration = Some(n);
        redeploy = true;
        network_changed = true;
    }
    if td_changed || network_changed {
        validate_network(cx, s.network_configuration.as_ref(), &td, fargate)?;
    }
    let mut lbs_changed = false;
    if let Some(lbs) = input.load_balancers
        && lbs != s.load_balancers
    {
        s.load_balancers = lbs;
        redeploy = true;
        lbs_changed = true;
    }
    if lbs_changed {
        load_balancer::validate(cx, &s.load_balancers, &td)?;
    } else if td_changed {
        load_balancer::validate_containers(&s.load_balancers, &td)?;
    }
    if let Some(v) = input.platform_version
        && s.platform_version.as_deref() != Some(v.as_str())
    {
        s.platform_version = Some(v);
        redeploy = true;
    }
    if let Some(c) = input.deployment_configuration {
        s.deployment_configuration = c.apply(s.deployment_configuration.clone());
        validate_deployment_configuration(&s.deployment_configuration)?;
    }
    if let Some(r) = input.availability_zone_rebalancing {
        if r != "ENABLED" && r != "DISABLED" {
            return Err(invalid(format!("Invalid value for availabilityZoneRebalancing: {r}")));
        }
        s.availability_zone_rebalancing = r;
    }
    if let Some(g) = input.health_check_grace_period_seconds {
        if s.load_balancers.is_empty() {
            return Err(invalid(
                "Health check grace period is only valid for services configured to use load balancers",
            ));
        }
        s.health_check_grace_period_seconds = Some(g);
    } else if !s.load_balancers.is_empty() && s.health_check_grace_period_seconds.is_none() {
        s.health_check_grace_period_seconds = Some(0);
    }
    if let Some(v) = input.enable_execute_command
        && v != s.enable_execute_command
    {
        s.enable_execute_command = v;
    }
    if let Some(v) = input.enable_ecs_managed_tags {
        s.enable_ecs_managed_tags = v;
    }
    if let Some(v) = input.propagate_tags {
        s.propagate_tags = v;
    }
    if let Some(v) = input.placement_constraints {
        s.placement_constraints = v;
    }
    if let Some(v) = input.placement_strategy {
        s.placement_strategy = v;
    }
    if let Some(v) = input.service_registries {
        s.service_registries = v;
    }
    if input.service_connect_configuration.is_some() {
        s.service_connect_configuration = input.service_connect_configuration;
    }
    if let Some(v) = input.volume_configurations {
        s.volume_configurations = v;
    }
    if let Some(v) = input.vpc_lattice_configurations {
        s.vpc_lattice_configurations = v;
    }
    s.task_definition = td.task_definition_arn.clone();

    if redeploy {
        for d in &mut s.deployments {
            d.status = "ACTIVE".into();
        }
        let deployment = new_deployment(&s, now);
        s.deployments.insert(0, deployment);
        s.scheduler.steady = false;
        s.scheduler.consecutive_failures = 0;
        s.scheduler.next_launch_at = None;
    } else if let desired = s.desired_count
        && let Some(primary) = s.primary_mut()
        && primary.desired_count != desired
    {
        primary.desired_count = desired;
        primary.updated_at = now;
        s.scheduler.steady = false;
    }
    s.scheduler.placement_blocked = false;
    cx.put(&s)?;
    Ok(ServiceOutput { service: service_out(cx, &s, true)? })
}

// === DeleteService ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteServiceInput {
    cluster: Option<String>,
    service: String,
    #[serde(default)]
    force: bool,
}

pub fn delete_service(cx: &Ctx<'_>, input: DeleteServiceInput) -> Result<ServiceOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let mut s = find(cx, &cluster, &input.service)?.ok_or(EcsError::ServiceNotFound)?;
    match s.status {
        ServiceStatus::Inactive => return Err(EcsError::ServiceNotFound.into()),
        ServiceStatus::Draining => return Err(EcsError::ServiceNotActive.into()),
        ServiceStatus::Active => {}
    }
    if s.desired_count > 0 && !input.force {
        return Err(invalid("The service cannot be stopped while it is scaled above 0."));
    }
    s.desired_count = 0;
    if let Some(primary) = s.primary_mut() {
        primary.desired_count = 0;
    }
    s.status = ServiceStatus::Draining;
    s.scheduler.steady = false;
    cx.put(&s)?;
    Ok(ServiceOutput { service: service_out(cx, &s, true)? })
}

// === ListServices ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesInput {
    cluster: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesOutput {
    service_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_services(cx: &Ctx<'_>, input: ListServicesInput) -> Result<ListServicesOutput, ApiError> {
    let cluster = cluster::load_active(cx, input.cluster.as_deref())?;
    let arns: Vec<String> = cx
        .children::<Service>(&cluster.cluster_arn)?
        .into_iter()
        .filter(|s| s.status != ServiceStatus::Inactive)
        .filter(|s| input.launch_type.is_none() || s.launch_type == input.launch_type)
        .filter(|s| input.scheduling_strategy.as_deref().is_none_or(|st| s.scheduling_strategy == st))
        .map(|s| s.service_arn)
        .collect();
    let (service_arns, next_token) = page(&arns, input.next_token.as_deref(), input.max_results, 10)?;
    Ok(ListServicesOutput { service_arns, next_token })
}
