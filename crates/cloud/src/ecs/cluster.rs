//! Clusters: CreateCluster, DescribeClusters, DeleteCluster, ListClusters.
//!
//! A deleted cluster stays stored as `INACTIVE`, so DescribeClusters keeps showing it (terraform
//! waits for that after DeleteCluster), and CreateCluster with its name makes it `ACTIVE` again
//! under the same ARN. A cluster may only be deleted once it has no active or draining service
//! and no task that is not `STOPPED`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::EcsError;
use super::service::{Service, ServiceStatus};
use super::task::{Task, TaskStatus};
use super::{Failure, KeyValuePair, Tag, includes, is_valid_name, page, validate_tags};
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

/// A stored cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    /// `ACTIVE` or `INACTIVE` (deleted).
    pub status: String,
    pub settings: Vec<ClusterSetting>,
    pub configuration: Option<Value>,
    pub capacity_providers: Vec<String>,
    pub default_capacity_provider_strategy: Vec<Value>,
    pub service_connect_defaults: Option<Value>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSetting {
    pub name: String,
    pub value: String,
}

impl Resource for Cluster {
    const KIND: &'static str = "ecs:cluster";

    fn id(&self) -> &str {
        &self.cluster_arn
    }

    fn name(&self) -> Option<&str> {
        Some(&self.cluster_name)
    }
}

impl Cluster {
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// The ARN of the cluster a request names (a name, an ARN, or nothing: `default`).
pub fn arn_of(cx: &Ctx<'_>, reference: Option<&str>) -> String {
    match reference.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.starts_with("arn:") => r.to_string(),
        Some(name) => cx.arn("ecs", &format!("cluster/{name}")),
        None => cx.arn("ecs", "cluster/default"),
    }
}

/// The cluster a request names, active or not.
pub fn find(cx: &Ctx<'_>, reference: Option<&str>) -> Result<Option<Cluster>, ApiError> {
    Ok(cx.get::<Cluster>(&arn_of(cx, reference))?)
}

/// The active cluster a request names, or `ClusterNotFoundException`.
pub fn load_active(cx: &Ctx<'_>, reference: Option<&str>) -> Result<Cluster, ApiError> {
    match find(cx, reference)? {
        Some(c) if c.is_active() => Ok(c),
        _ => Err(EcsError::ClusterNotFound.into()),
    }
}

// === output ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterOut {
    cluster_arn: String,
    cluster_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    configuration: Option<Value>,
    status: String,
    registered_container_instances_count: i32,
    running_tasks_count: i32,
    pending_tasks_count: i32,
    active_services_count: i32,
    statistics: Vec<KeyValuePair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag>>,
    settings: Vec<ClusterSetting>,
    capacity_providers: Vec<String>,
    default_capacity_provider_strategy: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_connect_defaults: Option<Value>,
}

fn cluster_out(
    cx: &Ctx<'_>,
    c: &Cluster,
    include: &[String],
    always_tags: bool,
) -> Result<ClusterOut, ApiError> {
    let tasks = cx.children::<Task>(&c.cluster_arn)?;
    let running = tasks.iter().filter(|t| t.last_status == TaskStatus::Running).count() as i32;
    let pending = tasks.iter().filter(|t| t.last_status.is_pending()).count() as i32;
    let services =
        cx.children::<Service>(&c.cluster_arn)?.iter().filter(|s| s.status == ServiceStatus::Active).count()
            as i32;
    Ok(ClusterOut {
        cluster_arn: c.cluster_arn.clone(),
        cluster_name: c.cluster_name.clone(),
        configuration: c.configuration.clone(),
        status: c.status.clone(),
        registered_container_instances_count: 0,
        running_tasks_count: running,
        pending_tasks_count: pending,
        active_services_count: services,
        statistics: Vec::new(),
        tags: (always_tags || includes(include, "TAGS")).then(|| c.tags.clone()),
        settings: c.settings.clone(),
        capacity_providers: c.capacity_providers.clone(),
        default_capacity_provider_strategy: c.default_capacity_provider_strategy.clone(),
        service_connect_defaults: c.service_connect_defaults.clone(),
    })
}

// === CreateCluster ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterInput {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    settings: Vec<ClusterSetting>,
    configuration: Option<Value>,
    #[serde(default)]
    capacity_providers: Vec<String>,
    #[serde(default)]
    default_capacity_provider_strategy: Vec<Value>,
    service_connect_defaults: Option<Value>,
}

#[derive(Debug, Serialize)]
pub struct ClusterOutput {
    cluster: ClusterOut,
}

pub fn create_cluster(cx: &Ctx<'_>, input: CreateClusterInput) -> Result<ClusterOutput, ApiError> {
    let name = input.cluster_name.unwrap_or_else(|| "default".to_string());
    if !is_valid_name(&name) {
        return Err(EcsError::invalid(
            "Cluster name can only contain letters, numbers, hyphens, and underscores, and must be 1 to 255 characters long.",
        )
        .into());
    }
    validate_tags(&input.tags)?;
    for s in &input.settings {
        if s.name != "containerInsights" {
            return Err(EcsError::invalid(format!("Unsupported cluster setting: {}", s.name)).into());
        }
        if !matches!(s.value.as_str(), "enabled" | "disabled" | "enhanced") {
            return Err(EcsError::invalid(
                "The value for containerInsights must be 'enabled', 'disabled' or 'enhanced'.",
            )
            .into());
        }
    }
    for p in &input.capacity_providers {
        if p != "FARGATE" && p != "FARGATE_SPOT" {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider '{p}' is not in an ACTIVE state. Specify a valid capacity provider and try again."
            ))
            .into());
        }
    }
    let arn = cx.arn("ecs", &format!("cluster/{name}"));
    if let Some(existing) = cx.get::<Cluster>(&arn)?
        && existing.is_active()
    {
        // CreateCluster is idempotent: an active cluster of that name is returned as it is.
        return Ok(ClusterOutput { cluster: cluster_out(cx, &existing, &[], true)? });
    }
    let settings = if input.settings.is_empty() {
        vec![ClusterSetting { name: "containerInsights".into(), value: "disabled".into() }]
    } else {
        input.settings
    };
    let cluster = Cluster {
        cluster_arn: arn,
        cluster_name: name,
        status: "ACTIVE".into(),
        settings,
        configuration: input.configuration,
        capacity_providers: input.capacity_providers,
        default_capacity_provider_strategy: input.default_capacity_provider_strategy,
        service_connect_defaults: input.service_connect_defaults,
        tags: input.tags,
    };
    cx.put(&cluster)?;
    Ok(ClusterOutput { cluster: cluster_out(cx, &cluster, &[], true)? })
}

// === DescribeClusters ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClustersInput {
    #[serde(default)]
    clusters: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DescribeClustersOutput {
    clusters: Vec<ClusterOut>,
    failures: Vec<Failure>,
}

pub fn describe_clusters(
    cx: &Ctx<'_>,
    input: DescribeClustersInput,
) -> Result<DescribeClustersOutput, ApiError> {
    if input.clusters.len() > 100 {
        return Err(EcsError::invalid("clusters can have at most 100 items.").into());
    }
    let refs = if input.clusters.is_empty() { vec!["default".to_string()] } else { input.clusters };
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for r in &refs {
        let arn = arn_of(cx, Some(r));
        match cx.get::<Cluster>(&arn)? {
            Some(c) => clusters.push(cluster_out(cx, &c, &input.include, false)?),
            None => failures.push(Failure::missing(arn)),
        }
    }
    Ok(DescribeClustersOutput { clusters, failures })
}

// === DeleteCluster ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteClusterInput {
    cluster: String,
}

pub fn delete_cluster(cx: &Ctx<'_>, input: DeleteClusterInput) -> Result<ClusterOutput, ApiError> {
    let mut cluster = load_active(cx, Some(&input.cluster))?;
    let services = cx.children::<Service>(&cluster.cluster_arn)?;
    if services.iter().any(|s| s.status != ServiceStatus::Inactive) {
        return Err(EcsError::ClusterContainsServices.into());
    }
    let tasks = cx.children::<Task>(&cluster.cluster_arn)?;
    if tasks.iter().any(|t| t.last_status != TaskStatus::Stopped) {
        return Err(EcsError::ClusterContainsTasks.into());
    }
    cluster.status = "INACTIVE".into();
    cx.put(&cluster)?;
    Ok(ClusterOutput { cluster: cluster_out(cx, &cluster, &[], false)? })
}

// === ListClusters ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersInput {
    next_token: Option<String>,
    max_results: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersOutput {
    cluster_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_clusters(cx: &Ctx<'_>, input: ListClustersInput) -> Result<ListClustersOutput, ApiError> {
    let arns: Vec<String> =
        cx.list::<Cluster>()?.into_iter().filter(Cluster::is_active).map(|c| c.cluster_arn).collect();
    let (cluster_arns, next_token) = page(&arns, input.next_token.as_deref(), input.max_results, 100)?;
    Ok(ListClustersOutput { cluster_arns, next_token })
}
