//! IAM: roles, their trust and inline policies, and the AWS-managed policies an ECS stack attaches.
//!
//! # Layout
//! - [`role`]: the [`role::Role`] resource and the role operations (create, read, update, delete,
//!   tags, instance profiles).
//! - [`policy`]: managed policies (the AWS-managed catalogue embedded from
//!   `aws_managed_policies.json`), attachments and inline role policies.
//! - [`error`]: IAM's errors with their codes and HTTP statuses.
//!
//! IAM is global: its resources are stored without a region. Role names are unique without regard
//! to case, as on AWS, so a role is stored under its lower-cased name.

pub mod error;
pub mod policy;
pub mod role;

use serde_json::Value;

use crate::Cloud;
use crate::api::{ApiError, reply};
use crate::edge::Call;

crate::operations! {
    /// The IAM operations berth implements.
    pub enum Operation {
        CreateRole,
        GetRole,
        ListRoles,
        UpdateRole,
        UpdateRoleDescription,
        UpdateAssumeRolePolicy,
        DeleteRole,
        TagRole,
        UntagRole,
        ListRoleTags,
        ListInstanceProfilesForRole,
        AttachRolePolicy,
        DetachRolePolicy,
        ListAttachedRolePolicies,
        PutRolePolicy,
        GetRolePolicy,
        DeleteRolePolicy,
        ListRolePolicies,
        GetPolicy,
        GetPolicyVersion,
        ListPolicies,
    }
}

pub fn handle(cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    let op = Operation::from_name(&call.operation)
        .ok_or_else(|| ApiError::not_implemented("iam", &call.operation))?;
    let input = &call.input;
    cloud.transact(&call.region, |cx| match op {
        Operation::CreateRole => reply(role::create_role(cx, input.parse()?)?),
        Operation::GetRole => reply(role::get_role(cx, input.parse()?)?),
        Operation::ListRoles => reply(role::list_roles(cx, input.parse()?)?),
        Operation::UpdateRole => reply(role::update_role(cx, input.parse()?)?),
        Operation::UpdateRoleDescription => reply(role::update_role_description(cx, input.parse()?)?),
        Operation::UpdateAssumeRolePolicy => reply(role::update_assume_role_policy(cx, input.parse()?)?),
        Operation::DeleteRole => reply(role::delete_role(cx, input.parse()?)?),
        Operation::TagRole => reply(role::tag_role(cx, input.parse()?)?),
        Operation::UntagRole => reply(role::untag_role(cx, input.parse()?)?),
        Operation::ListRoleTags => reply(role::list_role_tags(cx, input.parse()?)?),
        Operation::ListInstanceProfilesForRole => {
            reply(role::list_instance_profiles_for_role(cx, input.parse()?)?)
        }
        Operation::AttachRolePolicy => reply(policy::attach_role_policy(cx, input.parse()?)?),
        Operation::DetachRolePolicy => reply(policy::detach_role_policy(cx, input.parse()?)?),
        Operation::ListAttachedRolePolicies => {
            reply(policy::list_attached_role_policies(cx, input.parse()?)?)
        }
        Operation::PutRolePolicy => reply(policy::put_role_policy(cx, input.parse()?)?),
        Operation::GetRolePolicy => reply(policy::get_role_policy(cx, input.parse()?)?),
        Operation::DeleteRolePolicy => reply(policy::delete_role_policy(cx, input.parse()?)?),
        Operation::ListRolePolicies => reply(policy::list_role_policies(cx, input.parse()?)?),
        Operation::GetPolicy => reply(policy::get_policy(cx, input.parse()?)?),
        Operation::GetPolicyVersion => reply(policy::get_policy_version(cx, input.parse()?)?),
        Operation::ListPolicies => reply(policy::list_policies(cx, input.parse()?)?),
    })
}

/// A key/value tag as IAM spells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Paging of IAM list calls: `Marker` is the index of the next item.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paging {
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

/// One page of `items` and the marker of the next page, if any.
pub fn page<T: Clone>(items: &[T], paging: &Paging) -> Result<(Vec<T>, Option<String>), error::IamError> {
    let start = match &paging.marker {
        Some(m) => m.parse::<usize>().map_err(|_| error::IamError::InvalidMarker)?,
        None => 0,
    };
    let max = paging.max_items.unwrap_or(100);
    if !(1..=1000).contains(&max) {
        return Err(error::IamError::Validation(format!(
            "1 validation error detected: Value '{max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    let end = (start + max as usize).min(items.len());
    let slice = items.get(start.min(items.len())..end).unwrap_or_default().to_vec();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
}

/// AWS returns policy documents URL-encoded (RFC 3986: `%20` for a space, `-_.~` kept).
pub fn encode_policy_document(doc: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(doc, SET).to_string()
}
