//! Tags on ELBv2 resources: the `Tag` type, its validation, and AddTags, RemoveTags, DescribeTags
//! across load balancers, target groups, listeners and rules.

use serde::{Deserialize, Serialize};

use super::error::Elbv2Error;
use super::listener::Listener;
use super::load_balancer::LoadBalancer;
use super::rule::Rule;
use super::target_group::TargetGroup;
use crate::Ctx;
use crate::api::ApiError;

/// AWS's limit of tags per ELBv2 resource.
pub const MAX_TAGS: usize = 50;

/// A key/value tag as ELBv2 spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Checks tags given to a Create call or AddTags: no key twice, keys 1..128, values ≤ 256,
/// no `aws:` prefix.
pub fn validate(tags: &[Tag]) -> Result<(), Elbv2Error> {
    if tags.len() > MAX_TAGS {
        return Err(too_many());
    }
    for (i, t) in tags.iter().enumerate() {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(Elbv2Error::constraint(
                &t.key,
                &format!("tags.{}.member.key", i + 1),
                "Member must have length between 1 and 128",
            ));
        }
        if t.value.as_ref().is_some_and(|v| v.chars().count() > 256) {
            return Err(Elbv2Error::Validation(format!(
                "1 validation error detected: Value at 'tags.{}.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
                i + 1
            )));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Elbv2Error::Validation(format!("Tag key '{}' cannot start with 'aws:'", t.key)));
        }
        if tags[..i].iter().any(|o| o.key == t.key) {
            return Err(Elbv2Error::DuplicateTagKeys(format!(
                "Tag key '{}' specified more than once",
                t.key
            )));
        }
    }
    Ok(())
}

/// `existing` with `added` merged in (a key already present gets the new value), checked against
/// the per-resource limit.
pub fn merge(existing: &[Tag], added: &[Tag]) -> Result<Vec<Tag>, Elbv2Error> {
    validate(added)?;
    let mut out = existing.to_vec();
    for t in added {
        match out.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value = t.value.clone(),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(too_many());
    }
    Ok(out)
}

fn too_many() -> Elbv2Error {
    Elbv2Error::TooManyTags(
        "The quota for the number of tags that can be assigned to a load balancer has been reached".into(),
    )
}

/// A taggable ELBv2 resource, found by ARN.
enum Taggable {
    LoadBalancer(LoadBalancer),
    TargetGroup(TargetGroup),
    Listener(Listener),
    Rule(Rule),
}

impl Taggable {
    fn tags(&self) -> &[Tag] {
        match self {
            Self::LoadBalancer(r) => &r.tags,
            Self::TargetGroup(r) => &r.tags,
            Self::Listener(r) => &r.tags,
            Self::Rule(r) => &r.tags,
        }
    }

    fn set_tags(&mut self, tags: Vec<Tag>) {
        match self {
            Self::LoadBalancer(r) => r.tags = tags,
            Self::TargetGroup(r) => r.tags = tags,
            Self::Listener(r) => r.tags = tags,
            Self::Rule(r) => r.tags = tags,
        }
    }

    fn save(&self, cx: &Ctx<'_>) -> Result<(), ApiError> {
        match self {
            Self::LoadBalancer(r) => cx.put(r)?,
            Self::TargetGroup(r) => cx.put(r)?,
            Self::Listener(r) => cx.put(r)?,
            Self::Rule(r) => cx.put(r)?,
        }
        Ok(())
    }
}

/// The resource an ARN names, or the NotFound error of its kind.
fn load(cx: &Ctx<'_>, arn: &str) -> Result<Taggable, ApiError> {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let kind = resource.split('/').next().unwrap_or_default();
    match kind {
        "loadbalancer" => cx
            .get::<LoadBalancer>(arn)?
            .map(Taggable::LoadBalancer)
            .ok_or_else(|| Elbv2Error::LoadBalancerNotFound.into()),
        "targetgroup" => cx
            .get::<TargetGroup>(arn)?
            .map(Taggable::TargetGroup)
            .ok_or_else(|| Elbv2Error::TargetGroupNotFound.into()),
        "listener" => cx
            .get::<Listener>(arn)?
            .map(Taggable::Listener)
            .ok_or_else(|| Elbv2Error::ListenerNotFound.into()),
        "listener-rule" => {
            cx.get::<Rule>(arn)?.map(Taggable::Rule).ok_or_else(|| Elbv2Error::RuleNotFound.into())
        }
        _ => Err(Elbv2Error::Validation(format!("'{arn}' is not a valid ARN")).into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsInput {
    resource_arns: Vec<String>,
    tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn add_tags(cx: &Ctx<'_>, input: AddTagsInput) -> Result<Empty, ApiError> {
    if input.resource_arns.len() > 20 {
        return Err(Elbv2Error::constraint(
            format!("{:?}", input.resource_arns),
            "resourceArns",
            "Member must have length less than or equal to 20",
        )
        .into());
    }
    for arn in &input.resource_arns {
        let mut r = load(cx, arn)?;
        let tags = merge(r.tags(), &input.tags)?;
        r.set_tags(tags);
        r.save(cx)?;
    }
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsInput {
    resource_arns: Vec<String>,
    tag_keys: Vec<String>,
}

pub fn remove_tags(cx: &Ctx<'_>, input: RemoveTagsInput) -> Result<Empty, ApiError> {
    for arn in &input.resource_arns {
        let mut r = load(cx, arn)?;
        let tags = r.tags().iter().filter(|t| !input.tag_keys.contains(&t.key)).cloned().collect();
        r.set_tags(tags);
        r.save(cx)?;
    }
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTagsInput {
    resource_arns: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagDescription {
    resource_arn: String,
    tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTagsOutput {
    tag_descriptions: Vec<TagDescription>,
}

pub fn describe_tags(cx: &Ctx<'_>, input: DescribeTagsInput) -> Result<DescribeTagsOutput, ApiError> {
    if input.resource_arns.len() > 20 {
        return Err(Elbv2Error::constraint(
            format!("{:?}", input.resource_arns),
            "resourceArns",
            "Member must have length less than or equal to 20",
        )
        .into());
    }
    let mut out = Vec::new();
    for arn in input.resource_arns {
        let r = load(cx, &arn)?;
        out.push(TagDescription { tags: r.tags().to_vec(), resource_arn: arn });
    }
    Ok(DescribeTagsOutput { tag_descriptions: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: Some(v.into()) }
    }

    #[test]
    fn duplicate_keys_and_limits() {
        assert_eq!(validate(&[tag("a", "1"), tag("a", "2")]).unwrap_err().code(), "DuplicateTagKeys");
        assert_eq!(validate(&[tag("aws:x", "1")]).unwrap_err().code(), "ValidationError");
        let merged = merge(&[tag("a", "1")], &[tag("a", "2"), tag("b", "3")]).unwrap();
        assert_eq!(merged, vec![tag("a", "2"), tag("b", "3")]);
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(merge(&[], &many).unwrap_err().code(), "TooManyTags");
    }
}
