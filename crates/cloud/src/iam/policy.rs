//! Managed policies (AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies, GetPolicy,
//! GetPolicyVersion, ListPolicies) and inline role policies (PutRolePolicy, GetRolePolicy,
//! DeleteRolePolicy, ListRolePolicies).
//!
//! The AWS-managed policies an ECS stack uses are embedded from `aws_managed_policies.json`
//! (names, paths, versions, dates and documents as AWS publishes them). berth has no
//! customer-managed policies yet, so any other policy ARN is `NoSuchEntity`.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::error::IamError;
use super::role::{self, validate_policy_document};
use super::{Paging, encode_policy_document, page};
use crate::api::ApiError;
use crate::{Ctx, arn, ids};

/// One AWS-managed policy from the embedded catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicy {
    pub policy_name: String,
    pub path: String,
    pub default_version_id: String,
    pub create_date: String,
    pub update_date: String,
    pub document: serde_json::Value,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        arn::iam_policy("aws", &self.path, &self.policy_name)
    }
}

/// The embedded catalogue of AWS-managed policies.
pub fn aws_managed() -> &'static [ManagedPolicy] {
    static CATALOGUE: OnceLock<Vec<ManagedPolicy>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        // The file is part of the binary; a parse failure is a build defect caught by the unit
        // test below, so an empty catalogue (every ARN unknown) is the safe fallback here.
        serde_json::from_str(include_str!("aws_managed_policies.json")).unwrap_or_else(|e| {
            tracing::error!(error = %e, "embedded AWS-managed policy catalogue does not parse");
            Vec::new()
        })
    })
}

/// The managed policy with this ARN, if berth knows it.
pub fn find_managed(_cx: &Ctx<'_>, policy_arn: &str) -> Result<Option<&'static ManagedPolicy>, ApiError> {
    Ok(aws_managed().iter().find(|p| p.arn() == policy_arn))
}

fn date(s: &str) -> String {
    // The catalogue spells dates `2017-11-16T18:48:22+00:00`; IAM answers `...Z`.
    s.replace("+00:00", "Z")
}

// === attachments ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RolePolicyArnInput {
    role_name: String,
    policy_arn: String,
}

pub fn attach_role_policy(cx: &Ctx<'_>, input: RolePolicyArnInput) -> Result<(), ApiError> {
    let mut role = role::load(cx, &input.role_name)?;
    if find_managed(cx, &input.policy_arn)?.is_none() {
        return Err(IamError::PolicyNotAttachable(input.policy_arn).into());
    }
    if !role.attached_policies.contains(&input.policy_arn) {
        if role.attached_policies.len() >= 20 {
            return Err(
                IamError::LimitExceeded(format!("Cannot exceed quota for PoliciesPerRole: {}", 20)).into()
            );
        }
        role.attached_policies.push(input.policy_arn);
        role::save(cx, &role)?;
    }
    Ok(())
}

pub fn detach_role_policy(cx: &Ctx<'_>, input: RolePolicyArnInput) -> Result<(), ApiError> {
    let mut role = role::load(cx, &input.role_name)?;
    let before = role.attached_policies.len();
    role.attached_policies.retain(|a| *a != input.policy_arn);
    if role.attached_policies.len() == before {
        return Err(IamError::NotAttached(input.policy_arn).into());
    }
    role::save(cx, &role)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedRolePoliciesInput {
    role_name: String,
    path_prefix: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    policy_name: String,
    policy_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAttachedRolePoliciesOutput {
    attached_policies: Vec<AttachedPolicy>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

pub fn list_attached_role_policies(
    cx: &Ctx<'_>,
    input: ListAttachedRolePoliciesInput,
) -> Result<ListAttachedRolePoliciesOutput, ApiError> {
    let role = role::load(cx, &input.role_name)?;
    let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
    let attached: Vec<AttachedPolicy> = role
        .attached_policies
        .iter()
        .filter_map(|policy_arn| aws_managed().iter().find(|p| p.arn() == *policy_arn))
        .filter(|p| p.path.starts_with(&prefix))
        .map(|p| AttachedPolicy { policy_name: p.policy_name.clone(), policy_arn: p.arn() })
        .collect();
    let (attached_policies, marker) = page(&attached, &input.paging)?;
    Ok(ListAttachedRolePoliciesOutput { attached_policies, is_truncated: marker.is_some(), marker })
}

// === managed policy reads ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyArnInput {
    policy_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyOut {
    policy_name: String,
    policy_id: String,
    arn: String,
    path: String,
    default_version_id: String,
    attachment_count: usize,
    permissions_boundary_usage_count: usize,
    is_attachable: bool,
    create_date: String,
    update_date: String,
}

fn policy_out(cx: &Ctx<'_>, p: &ManagedPolicy) -> Result<PolicyOut, ApiError> {
    let policy_arn = p.arn();
    let roles = role::all(cx)?;
    let attachment_count = roles.iter().filter(|r| r.attached_policies.contains(&policy_arn)).count();
    let permissions_boundary_usage_count =
        roles.iter().filter(|r| r.permissions_boundary.as_deref() == Some(&policy_arn)).count();
    Ok(PolicyOut {
        policy_name: p.policy_name.clone(),
        policy_id: ids::iam_unique_stable("ANPA", &p.policy_name),
        arn: policy_arn,
        path: p.path.clone(),
        default_version_id: p.default_version_id.clone(),
        attachment_count,
        permissions_boundary_usage_count,
        is_attachable: true,
        create_date: date(&p.create_date),
        update_date: date(&p.update_date),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyOutput {
    policy: PolicyOut,
}

pub fn get_policy(cx: &Ctx<'_>, input: PolicyArnInput) -> Result<GetPolicyOutput, ApiError> {
    let p = find_managed(cx, &input.policy_arn)?
        .ok_or_else(|| IamError::PolicyNotFound(input.policy_arn.clone()))?;
    Ok(GetPolicyOutput { policy: policy_out(cx, p)? })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyVersionInput {
    policy_arn: String,
    version_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersionOut {
    document: String,
    version_id: String,
    is_default_version: bool,
    create_date: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyVersionOutput {
    policy_version: PolicyVersionOut,
}

/// Only a policy's default version is kept; older versions are not in the catalogue.
pub fn get_policy_version(
    cx: &Ctx<'_>,
    input: GetPolicyVersionInput,
) -> Result<GetPolicyVersionOutput, ApiError> {
    let p = find_managed(cx, &input.policy_arn)?
        .ok_or_else(|| IamError::PolicyNotFound(input.policy_arn.clone()))?;
    if p.default_version_id != input.version_id {
        return Err(
            IamError::PolicyVersionNotFound { arn: input.policy_arn, version: input.version_id }.into()
        );
    }
    Ok(GetPolicyVersionOutput {
        policy_version: PolicyVersionOut {
            document: encode_policy_document(&p.document.to_string()),
            version_id: p.default_version_id.clone(),
            is_default_version: true,
            create_date: date(&p.update_date),
        },
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesInput {
    scope: Option<String>,
    only_attached: Option<bool>,
    path_prefix: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesOutput {
    policies: Vec<PolicyOut>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

pub fn list_policies(cx: &Ctx<'_>, input: ListPoliciesInput) -> Result<ListPoliciesOutput, ApiError> {
    let scope = input.scope.unwrap_or_else(|| "All".into());
    if !matches!(scope.as_str(), "All" | "AWS" | "Local") {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]"
        ))
        .into());
    }
    let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
    let mut out = Vec::new();
    if scope != "Local" {
        for p in aws_managed().iter().filter(|p| p.path.starts_with(&prefix)) {
            let shown = policy_out(cx, p)?;
            if !input.only_attached.unwrap_or(false) || shown.attachment_count > 0 {
                out.push(shown);
            }
        }
    }
    let (policies, marker) = page(&out, &input.paging)?;
    Ok(ListPoliciesOutput { policies, is_truncated: marker.is_some(), marker })
}

// === inline policies ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRolePolicyInput {
    role_name: String,
    policy_name: String,
    policy_document: String,
}

fn validate_policy_name(name: &str) -> Result<(), IamError> {
    if name.is_empty()
        || name.len() > 128
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

pub fn put_role_policy(cx: &Ctx<'_>, input: PutRolePolicyInput) -> Result<(), ApiError> {
    validate_policy_name(&input.policy_name)?;
    let mut role = role::load(cx, &input.role_name)?;
    validate_policy_document(&input.policy_document)?;
    role.inline_policies.insert(input.policy_name, input.policy_document);
    role::save(cx, &role)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RolePolicyNameInput {
    role_name: String,
    policy_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRolePolicyOutput {
    role_name: String,
    policy_name: String,
    policy_document: String,
}

pub fn get_role_policy(cx: &Ctx<'_>, input: RolePolicyNameInput) -> Result<GetRolePolicyOutput, ApiError> {
    let role = role::load(cx, &input.role_name)?;
    let doc = role
        .inline_policies
        .get(&input.policy_name)
        .ok_or_else(|| IamError::NoSuchRolePolicy(input.policy_name.clone()))?;
    Ok(GetRolePolicyOutput {
        role_name: role.role_name.clone(),
        policy_name: input.policy_name,
        policy_document: encode_policy_document(doc),
    })
}

pub fn delete_role_policy(cx: &Ctx<'_>, input: RolePolicyNameInput) -> Result<(), ApiError> {
    let mut role = role::load(cx, &input.role_name)?;
    if role.inline_policies.remove(&input.policy_name).is_none() {
        return Err(IamError::NoSuchRolePolicy(input.policy_name).into());
    }
    role::save(cx, &role)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolePoliciesInput {
    role_name: String,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolePoliciesOutput {
    policy_names: Vec<String>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

pub fn list_role_policies(
    cx: &Ctx<'_>,
    input: ListRolePoliciesInput,
) -> Result<ListRolePoliciesOutput, ApiError> {
    let role = role::load(cx, &input.role_name)?;
    let names: Vec<String> = role.inline_policies.keys().cloned().collect();
    let (policy_names, marker) = page(&names, &input.paging)?;
    Ok(ListRolePoliciesOutput { policy_names, is_truncated: marker.is_some(), marker })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_has_the_ecs_policies() {
        let arns: Vec<String> = aws_managed().iter().map(ManagedPolicy::arn).collect();
        for needed in [
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            "arn:aws:iam::aws:policy/AmazonECS_FullAccess",
            "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        ] {
            assert!(arns.iter().any(|a| a == needed), "missing {needed}");
        }
    }

    #[test]
    fn policy_documents_are_url_encoded_like_aws() {
        assert_eq!(
            encode_policy_document(r#"{"Action": "sts:AssumeRole"}"#),
            "%7B%22Action%22%3A%20%22sts%3AAssumeRole%22%7D"
        );
        assert_eq!(encode_policy_document("ecs-tasks.amazonaws.com_~"), "ecs-tasks.amazonaws.com_~");
    }
}
