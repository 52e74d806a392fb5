//! ECS: clusters, task definitions, services and the tasks they run.
//!
//! # Layout
//! - [`cluster`]: the [`cluster::Cluster`] resource; CreateCluster, DescribeClusters,
//!   DeleteCluster, ListClusters.
//! - [`task_definition`]: task definitions and their revisions, with AWS's validation (Fargate
//!   sizes, `awsvpc`, port mappings) and defaults; Register/Describe/Deregister/List.
//! - [`service`]: the [`service::Service`] resource, its deployments and events; Create/Describe/
//!   Update/Delete/ListServices. The service only records what is wanted; the scheduler in
//!   [`crate::reconcile::ecs_service`] makes it so.
//! - [`task`]: the [`task::Task`] resource and its lifecycle; RunTask, StopTask, ListTasks,
//!   DescribeTasks, the task metadata documents (v4) and the runtime's [`model::task::TaskSpec`].
//! - [`load_balancer`]: what a service's `loadBalancers` must satisfy and how targets are
//!   (de)registered in ELBv2 target groups.
//! - [`tags`]: TagResource, UntagResource, ListTagsForResource over all of the above.
//! - [`error`]: ECS's errors.
//!
//! # Storage
//! Every ECS resource is stored under its ARN: clusters (`ecs:cluster`, named), task definitions
//! (`ecs:task-definition`, parent = family), services (`ecs:service`, parent = cluster ARN,
//! named) and tasks (`ecs:task`, parent = cluster ARN). Deleted clusters and services stay
//! stored as `INACTIVE` (Describe shows them, as on AWS); stopped tasks are kept for an hour.
//!
//! # Invariants
//! - A task's lifecycle only moves forward (PROVISIONING → … → STOPPED); API calls set the
//!   *desired* state and the scheduler moves the *last* state.
//! - A task owns exactly one ENI (created with the task, deleted when it reaches STOPPED).

pub mod cluster;
pub mod error;
pub mod load_balancer;
pub mod service;
pub mod tags;
pub mod task;
pub mod task_definition;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::error::EcsError;
use crate::Cloud;
use crate::api::{ApiError, reply};
use crate::edge::Call;

crate::operations! {
    /// The ECS operations berth implements.
    pub enum Operation {
        CreateCluster,
        DescribeClusters,
        DeleteCluster,
        ListClusters,
        RegisterTaskDefinition,
        DescribeTaskDefinition,
        DeregisterTaskDefinition,
        ListTaskDefinitions,
        ListTaskDefinitionFamilies,
        CreateService,
        DescribeServices,
        UpdateService,
        DeleteService,
        ListServices,
        RunTask,
        StopTask,
        ListTasks,
        DescribeTasks,
        TagResource,
        UntagResource,
        ListTagsForResource,
    }
}

pub fn handle(cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    let op = Operation::from_name(&call.operation)
        .ok_or_else(|| ApiError::not_implemented("ecs", &call.operation))?;
    let input = &call.input;
    cloud.transact(&call.region, |cx| match op {
        Operation::CreateCluster => reply(cluster::create_cluster(cx, input.parse()?)?),
        Operation::DescribeClusters => reply(cluster::describe_clusters(cx, input.parse()?)?),
        Operation::DeleteCluster => reply(cluster::delete_cluster(cx, input.parse()?)?),
        Operation::ListClusters => reply(cluster::list_clusters(cx, input.parse()?)?),
        Operation::RegisterTaskDefinition => {
            reply(task_definition::register_task_definition(cx, input.parse()?)?)
        }
        Operation::DescribeTaskDefinition => {
            reply(task_definition::describe_task_definition(cx, input.parse()?)?)
        }
        Operation::DeregisterTaskDefinition => {
            reply(task_definition::deregister_task_definition(cx, input.parse()?)?)
        }
        Operation::ListTaskDefinitions => reply(task_definition::list_task_definitions(cx, input.parse()?)?),
        Operation::ListTaskDefinitionFamilies => {
            reply(task_definition::list_task_definition_families(cx, input.parse()?)?)
        }
        Operation::CreateService => reply(service::create_service(cx, input.parse()?)?),
        Operation::DescribeServices => reply(service::describe_services(cx, input.parse()?)?),
        Operation::UpdateService => reply(service::update_service(cx, input.parse()?)?),
        Operation::DeleteService => reply(service::delete_service(cx, input.parse()?)?),
        Operation::ListServices => reply(service::list_services(cx, input.parse()?)?),
        Operation::RunTask => reply(task::run_task(cx, input.parse()?)?),
        Operation::StopTask => reply(task::stop_task(cx, input.parse()?)?),
        Operation::ListTasks => reply(task::list_tasks(cx, input.parse()?)?),
        Operation::DescribeTasks => reply(task::describe_tasks(cx, input.parse()?)?),
        Operation::TagResource => reply(tags::tag_resource(cx, input.parse()?)?),
        Operation::UntagResource => reply(tags::untag_resource(cx, input.parse()?)?),
        Operation::ListTagsForResource => reply(tags::list_tags_for_resource(cx, input.parse()?)?),
    })
}

/// A resource tag as ECS spells it (`key`, `value`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// A `name`/`value` pair (environment variables, attachment details, settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl KeyValuePair {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: Some(name.into()), value: Some(value.into()) }
    }
}

/// A lookup that found nothing, as Describe calls report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub arn: String,
    pub reason: String,
}

impl Failure {
    pub fn missing(arn: String) -> Self {
        Self { arn, reason: "MISSING".into() }
    }
}

/// Checks and merges tags as ECS does (at most 50, keys 1–128 characters, values ≤ 256).
pub fn validate_tags(tags: &[Tag]) -> Result<(), EcsError> {
    if tags.len() > 50 {
        return Err(EcsError::invalid("The number of tags exceeds the limit of 50."));
    }
    for t in tags {
        let len = t.key.chars().count();
        if len == 0 || len > 128 {
            return Err(EcsError::invalid(format!(
                "1 validation error detected: Value '{}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
                t.key
            )));
        }
        if t.value.chars().count() > 256 {
            return Err(EcsError::invalid(
                "1 validation error detected: Value at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EcsError::invalid("Tag keys must not start with 'aws:'."));
        }
    }
    Ok(())
}

/// Adds or replaces `new` tags in `tags`, keeping the order of first appearance.
pub fn merge_tags(tags: &mut Vec<Tag>, new: &[Tag]) {
    for t in new {
        match tags.iter_mut().find(|x| x.key == t.key) {
            Some(existing) => existing.value = t.value.clone(),
            None => tags.push(t.clone()),
        }
    }
}

/// One page of a List call: `nextToken` is the index of the next item.
pub fn page<T: Clone>(
    items: &[T],
    next_token: Option<&str>,
    max_results: Option<i32>,
    default_max: usize,
) -> Result<(Vec<T>, Option<String>), EcsError> {
    let start = match next_token {
        Some(t) if !t.is_empty() => t
            .parse::<usize>()
            .map_err(|_| EcsError::invalid("Invalid nextToken: the token does not come from this berth."))?,
        _ => 0,
    };
    let max = match max_results {
        None => default_max,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(EcsError::invalid("maxResults must be between 1 and 100.")),
    };
    let start = start.min(items.len());
    let end = (start + max).min(items.len());
    let slice = items.get(start..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
}

/// Whether `include` (a Describe call's `include` list) asks for `what`.
pub fn includes(include: &[String], what: &str) -> bool {
    include.iter().any(|i| i == what)
}

/// `ecs-svc/` and 19 random digits: a deployment id and a service task's `startedBy`.
pub fn deployment_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let first = rng.random_range(1..=9u8);
    let rest: String = (0..18).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    format!("ecs-svc/{first}{rest}")
}

/// Whether `s` is a valid ECS resource name (letters, digits, hyphens, underscores; 1–255).
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ids_have_nineteen_digits() {
        let id = deployment_id();
        let digits = id.strip_prefix("ecs-svc/").unwrap();
        assert_eq!(digits.len(), 19);
        assert!(digits.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn paging_walks_the_list() {
        let items: Vec<u32> = (0..25).collect();
        let (first, next) = page(&items, None, Some(10), 100).unwrap();
        assert_eq!(first.len(), 10);
        assert_eq!(next.as_deref(), Some("10"));
        let (last, next) = page(&items, Some("20"), Some(10), 100).unwrap();
        assert_eq!(last, vec![20, 21, 22, 23, 24]);
        assert_eq!(next, None);
        assert!(page(&items, Some("x"), None, 100).is_err());
        assert!(page(&items, None, Some(0), 100).is_err());
    }

    #[test]
    fn tags_merge_in_place() {
        let mut tags = vec![Tag { key: "a".into(), value: "1".into() }];
        merge_tags(
            &mut tags,
            &[Tag { key: "b".into(), value: "2".into() }, Tag { key: "a".into(), value: "3".into() }],
        );
        assert_eq!(
            tags,
            vec![Tag { key: "a".into(), value: "3".into() }, Tag { key: "b".into(), value: "2".into() }]
        );
        assert!(validate_tags(&[Tag { key: "aws:x".into(), value: String::new() }]).is_err());
    }
}
