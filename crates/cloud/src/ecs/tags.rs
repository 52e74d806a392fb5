//! TagResource, UntagResource, ListTagsForResource over clusters, services, task definitions
//! and tasks (found by the resource type in their ARN).

use serde::{Deserialize, Serialize};

use super::cluster::Cluster;
use super::error::EcsError;
use super::service::Service;
use super::task::Task;
use super::task_definition::TaskDefinition;
use super::{Tag, merge_tags, validate_tags};
use crate::Ctx;
use crate::api::ApiError;

/// Reads the tags of the resource `arn`, lets `f` change them, and stores the result.
fn with_tags<T>(cx: &Ctx<'_>, arn: &str, f: impl FnOnce(&mut Vec<Tag>) -> T) -> Result<T, ApiError> {
    let kind = arn
        .split(':')
        .nth(5)
        .and_then(|r| r.split('/').next())
        .ok_or_else(|| EcsError::invalid(format!("Invalid resource ARN: {arn}")))?;
    let not_found = || ApiError::from(EcsError::ResourceNotFound);
    match kind {
        "cluster" => {
            let mut c = cx.get::<Cluster>(arn)?.filter(Cluster::is_active).ok_or_else(not_found)?;
            let before = c.tags.clone();
            let out = f(&mut c.tags);
            if c.tags != before {
                cx.put(&c)?;
            }
            Ok(out)
        }
        "service" => {
            let mut s = cx.get::<Service>(arn)?.ok_or_else(not_found)?;
            let before = s.tags.clone();
            let out = f(&mut s.tags);
            if s.tags != before {
                cx.put(&s)?;
            }
            Ok(out)
        }
        "task-definition" => {
            let mut td = cx.get::<TaskDefinition>(arn)?.ok_or_else(not_found)?;
            let before = td.tags.clone();
            let out = f(&mut td.tags);
            if td.tags != before {
                cx.put(&td)?;
            }
            Ok(out)
        }
        "task" => {
            let mut t = cx.get::<Task>(arn)?.ok_or_else(not_found)?;
            let before = t.tags.clone();
            let out = f(&mut t.tags);
            if t.tags != before {
                cx.put(&t)?;
            }
            Ok(out)
        }
        _ => Err(EcsError::invalid(format!("Unsupported resource type for tagging: {kind}")).into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn tag_resource(cx: &Ctx<'_>, input: TagResourceInput) -> Result<Empty, ApiError> {
    validate_tags(&input.tags)?;
    with_tags(cx, &input.resource_arn, |tags| {
        merge_tags(tags, &input.tags);
        validate_tags(tags)
    })??;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(cx: &Ctx<'_>, input: UntagResourceInput) -> Result<Empty, ApiError> {
    with_tags(cx, &input.resource_arn, |tags| tags.retain(|t| !input.tag_keys.contains(&t.key)))?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceInput {
    resource_arn: String,
}

#[derive(Debug, Serialize)]
pub struct ListTagsForResourceOutput {
    tags: Vec<Tag>,
}

pub fn list_tags_for_resource(
    cx: &Ctx<'_>,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, ApiError> {
    let tags = with_tags(cx, &input.resource_arn, |tags| tags.clone())?;
    Ok(ListTagsForResourceOutput { tags })
}
