//! EC2 tags: the [`Tag`] type every resource carries, `TagSpecification` at create time, and
//! CreateTags, DeleteTags, DescribeTags across every taggable resource.

use serde::{Deserialize, Serialize};

use super::address::Address;
use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, one};
use super::internet_gateway::InternetGateway;
use super::nat_gateway::NatGateway;
use super::network_acl::NetworkAcl;
use super::network_interface::NetworkInterface;
use super::route_table::RouteTable;
use super::security_group::SecurityGroup;
use super::subnet::Subnet;
use super::vpc::Vpc;
use super::{ReturnTrue, page};
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

/// A key/value tag. Requests spell it `Key`/`Value`, responses `key`/`value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename(serialize = "key", deserialize = "Key"), alias = "key")]
    pub key: String,
    #[serde(rename(serialize = "value", deserialize = "Value"), alias = "value", default)]
    pub value: String,
}

/// One `TagSpecification.N` of a create call.
#[derive(Debug, Clone, Deserialize)]
pub struct TagSpecification {
    #[serde(rename = "ResourceType")]
    pub resource_type: Option<String>,
    #[serde(rename = "Tag", default)]
    pub tags: Vec<Tag>,
}

/// The tags a create call gives a resource of `resource_type` (`vpc`, `subnet`, `natgateway`…).
/// A specification for another resource type is AWS's `InvalidParameterValue`.
pub fn from_specs(specs: &[TagSpecification], resource_type: &str) -> Result<Vec<Tag>, Ec2Error> {
    let mut tags: Vec<Tag> = Vec::new();
    for spec in specs {
        match spec.resource_type.as_deref() {
            Some(t) if t == resource_type => {}
            Some(t) => {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "'{t}' is not a valid taggable resource type for this operation."
                )));
            }
            None => {
                return Err(Ec2Error::InvalidParameterValue(
                    "Tag specification resource type must have a value".into(),
                ));
            }
        }
        merge(&mut tags, &spec.tags)?;
    }
    Ok(tags)
}

/// Adds or overwrites `new` in `tags`, checking AWS's limits.
pub fn merge(tags: &mut Vec<Tag>, new: &[Tag]) -> Result<(), Ec2Error> {
    for tag in new {
        validate(tag)?;
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value.clone(),
            None => tags.push(tag.clone()),
        }
    }
    if tags.len() > 50 {
        return Err(Ec2Error::TagLimitExceeded(
            "The maximum number of Tags for a resource has been reached.".into(),
        ));
    }
    Ok(())
}

fn validate(tag: &Tag) -> Result<(), Ec2Error> {
    if tag.key.is_empty() || tag.key.chars().count() > 128 {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Tag key must have a value and must not exceed 128 characters: '{}'",
            tag.key
        )));
    }
    if tag.key.to_ascii_lowercase().starts_with("aws:") {
        return Err(Ec2Error::InvalidParameterValue(
            "Tag keys starting with 'aws:' are reserved for internal use".into(),
        ));
    }
    if tag.value.chars().count() > 256 {
        return Err(Ec2Error::InvalidParameterValue(
            "Tag value exceeds the maximum length of 256 characters".into(),
        ));
    }
    Ok(())
}

// === CreateTags, DeleteTags, DescribeTags ===

/// A resource that carries tags.
pub trait Tagged: Resource {
    /// The `resourceType` DescribeTags reports.
    const RESOURCE_TYPE: &'static str;
    fn tag_list(&self) -> &[Tag];
    fn tag_list_mut(&mut self) -> &mut Vec<Tag>;
}

macro_rules! tagged {
    ($($ty:ty => $kind:literal),* $(,)?) => {$(
        impl Tagged for $ty {
            const RESOURCE_TYPE: &'static str = $kind;
            fn tag_list(&self) -> &[Tag] {
                &self.tags
            }
            fn tag_list_mut(&mut self) -> &mut Vec<Tag> {
                &mut self.tags
            }
        }
    )*};
}

tagged! {
    Vpc => "vpc",
    Subnet => "subnet",
    SecurityGroup => "security-group",
    InternetGateway => "internet-gateway",
    RouteTable => "route-table",
    NetworkAcl => "network-acl",
    NatGateway => "natgateway",
    Address => "elastic-ip",
    NetworkInterface => "network-interface",
}

type Edit<'f> = &'f mut dyn FnMut(&mut Vec<Tag>) -> Result<(), Ec2Error>;

fn edit<T: Tagged>(
    cx: &Ctx<'_>,
    id: &str,
    not_found: fn(String) -> Ec2Error,
    f: Edit<'_>,
) -> Result<(), ApiError> {
    let mut resource = cx.get::<T>(id)?.ok_or_else(|| not_found(id.to_string()))?;
    f(resource.tag_list_mut())?;
    cx.put(&resource)?;
    Ok(())
}

fn edit_rule(cx: &Ctx<'_>, id: &str, f: Edit<'_>) -> Result<(), ApiError> {
    let Some(mut group) =
        cx.list::<SecurityGroup>()?.into_iter().find(|g| g.rules.iter().any(|r| r.rule_id == id))
    else {
        return Err(Ec2Error::SecurityGroupRuleNotFound(id.to_string()).into());
    };
    if let Some(rule) = group.rules.iter_mut().find(|r| r.rule_id == id) {
        f(&mut rule.tags)?;
    }
    cx.put(&group)?;
    Ok(())
}

/// Applies `f` to the tags of the resource `id` names (by its prefix).
fn edit_any(cx: &Ctx<'_>, id: &str, f: Edit<'_>) -> Result<(), ApiError> {
    let prefix = id.rsplit_once('-').map(|(p, _)| p).unwrap_or("");
    match prefix {
        "vpc" => edit::<Vpc>(cx, id, Ec2Error::VpcNotFound, f),
        "subnet" => edit::<Subnet>(cx, id, Ec2Error::SubnetNotFound, f),
        "sg" => edit::<SecurityGroup>(cx, id, Ec2Error::GroupNotFound, f),
        "sgr" => edit_rule(cx, id, f),
        "igw" => edit::<InternetGateway>(cx, id, Ec2Error::InternetGatewayNotFound, f),
        "rtb" => edit::<RouteTable>(cx, id, Ec2Error::RouteTableNotFound, f),
        "acl" => edit::<NetworkAcl>(cx, id, Ec2Error::NetworkAclNotFound, f),
        "nat" => edit::<NatGateway>(cx, id, Ec2Error::NatGatewayNotFound, f),
        "eipalloc" => edit::<Address>(cx, id, Ec2Error::AllocationNotFound, f),
        "eni" => edit::<NetworkInterface>(cx, id, Ec2Error::NetworkInterfaceNotFound, f),
        _ => Err(Ec2Error::InvalidId(id.to_string()).into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateTagsInput {
    #[serde(rename = "ResourceId", default)]
    resource_ids: Vec<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
}

pub fn create_tags(cx: &Ctx<'_>, input: CreateTagsInput) -> Result<ReturnTrue, ApiError> {
    if input.resource_ids.is_empty() {
        return Err(Ec2Error::MissingParameter("resourceIdSet".into()).into());
    }
    for id in &input.resource_ids {
        edit_any(cx, id, &mut |tags| merge(tags, &input.tags))?;
    }
    Ok(ReturnTrue::new())
}

/// A `Tag.N` of DeleteTags: with a value, only a tag with that value goes.
#[derive(Debug, Deserialize)]
pub struct TagKeyIn {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value")]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DeleteTagsInput {
    #[serde(rename = "ResourceId", default)]
    resource_ids: Vec<String>,
    #[serde(rename = "Tag", default)]
    tags: Vec<TagKeyIn>,
}

pub fn delete_tags(cx: &Ctx<'_>, input: DeleteTagsInput) -> Result<ReturnTrue, ApiError> {
    if input.resource_ids.is_empty() {
        return Err(Ec2Error::MissingParameter("resourceIdSet".into()).into());
    }
    for id in &input.resource_ids {
        edit_any(cx, id, &mut |tags| {
            if input.tags.is_empty() {
                tags.clear();
            } else {
                tags.retain(|t| {
                    !input
                        .tags
                        .iter()
                        .any(|d| d.key == t.key && d.value.as_ref().is_none_or(|v| *v == t.value))
                });
            }
            Ok(())
        })?;
    }
    Ok(ReturnTrue::new())
}

/// One tag of one resource, as DescribeTags lists and filters it.
pub struct TagRow {
    resource_id: String,
    resource_type: &'static str,
    tag: Tag,
    all: Vec<Tag>,
}

impl Filterable for TagRow {
    const FILTERS: &'static [&'static str] = &["key", "value", "resource-id", "resource-type"];

    fn tags(&self) -> &[Tag] {
        &self.all
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "key" => one(&self.tag.key),
            "value" => one(&self.tag.value),
            "resource-id" => one(&self.resource_id),
            "resource-type" => one(self.resource_type),
            _ => Vec::new(),
        }
    }
}

fn rows<T: Tagged>(cx: &Ctx<'_>, out: &mut Vec<TagRow>) -> Result<(), ApiError> {
    for r in cx.list::<T>()? {
        for tag in r.tag_list() {
            out.push(TagRow {
                resource_id: r.id().to_string(),
                resource_type: T::RESOURCE_TYPE,
                tag: tag.clone(),
                all: r.tag_list().to_vec(),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct DescribeTagsInput {
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagDescriptionOut {
    resource_id: String,
    resource_type: &'static str,
    key: String,
    value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTagsOutput {
    tag_set: Vec<TagDescriptionOut>,
    next_token: Option<String>,
}

pub fn describe_tags(cx: &Ctx<'_>, input: DescribeTagsInput) -> Result<DescribeTagsOutput, ApiError> {
    let mut all = Vec::new();
    rows::<Vpc>(cx, &mut all)?;
    rows::<Subnet>(cx, &mut all)?;
    rows::<SecurityGroup>(cx, &mut all)?;
    rows::<InternetGateway>(cx, &mut all)?;
    rows::<RouteTable>(cx, &mut all)?;
    rows::<NetworkAcl>(cx, &mut all)?;
    rows::<NatGateway>(cx, &mut all)?;
    rows::<Address>(cx, &mut all)?;
    rows::<NetworkInterface>(cx, &mut all)?;
    for group in cx.list::<SecurityGroup>()? {
        for rule in &group.rules {
            for tag in &rule.tags {
                all.push(TagRow {
                    resource_id: rule.rule_id.clone(),
                    resource_type: "security-group-rule",
                    tag: tag.clone(),
                    all: rule.tags.clone(),
                });
            }
        }
    }
    let rows = filter::select(all, &input.filters)?;
    let (rows, next_token) = page(rows, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeTagsOutput {
        tag_set: rows
            .into_iter()
            .map(|r| TagDescriptionOut {
                resource_id: r.resource_id,
                resource_type: r.resource_type,
                key: r.tag.key,
                value: r.tag.value,
            })
            .collect(),
        next_token,
    })
}
