//! EC2 tags: the [`Tag`] type every resource carries, `TagSpecification` at create time, and
//! CreateTags, DeleteTags, DescribeTags across every taggable resource.

use serde::{Deserialize, Serialize};

use super::error::Ec2Error;

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
