//! IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription,
//! UpdateAssumeRolePolicy, DeleteRole, TagRole, UntagRole, ListRoleTags,
//! ListInstanceProfilesForRole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::IamError;
use super::{Paging, Tag, encode_policy_document, page};
use crate::api::ApiError;
use crate::store::{Resource, Scope};
use crate::{Ctx, arn, ids, iso8601};

/// A stored role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The store key: the lower-cased name (role names are unique regardless of case).
    pub key: String,
    pub role_name: String,
    pub role_id: String,
    pub arn: String,
    pub path: String,
    /// The trust policy exactly as the caller sent it.
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: i32,
    pub permissions_boundary: Option<String>,
    pub create_date: String,
    pub tags: Vec<Tag>,
    /// ARNs of attached managed policies, in attachment order.
    pub attached_policies: Vec<String>,
    /// Inline policies by name (documents as sent).
    pub inline_policies: BTreeMap<String, String>,
}

impl Resource for Role {
    const KIND: &'static str = "iam:role";
    const SCOPE: Scope = Scope::Global;

    fn id(&self) -> &str {
        &self.key
    }

    fn name(&self) -> Option<&str> {
        Some(&self.role_name)
    }
}

/// The store key of a role name.
fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Loads a role by name (any case) or fails with `NoSuchEntity`.
pub fn load(cx: &Ctx<'_>, name: &str) -> Result<Role, ApiError> {
    cx.get::<Role>(&key(name))?.ok_or_else(|| IamError::NoSuchRole(name.to_string()).into())
}

pub fn save(cx: &Ctx<'_>, role: &Role) -> Result<(), ApiError> {
    cx.put(role)?;
    Ok(())
}

/// Every role, in creation order.
pub fn all(cx: &Ctx<'_>) -> Result<Vec<Role>, ApiError> {
    Ok(cx.list::<Role>()?)
}

// === validation ===

pub(super) fn validate_role_name(name: &str) -> Result<(), IamError> {
    if name.is_empty() || name.len() > 64 {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must have length between 1 and 64"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    Ok(())
}

fn validate_path(path: &str) -> Result<(), IamError> {
    let ok = path == "/"
        || (path.len() >= 2
            && path.len() <= 512
            && path.starts_with('/')
            && path.ends_with('/')
            && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)));
    if ok {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )))
    }
}

fn validate_max_session_duration(d: i32) -> Result<(), IamError> {
    if (3600..=43200).contains(&d) {
        Ok(())
    } else {
        Err(IamError::Validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200"
        )))
    }
}

fn validate_description(d: &str) -> Result<(), IamError> {
    if d.chars().count() > 1000 {
        return Err(IamError::Validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
        ));
    }
    Ok(())
}

fn validate_tags(tags: &[Tag]) -> Result<(), IamError> {
    if tags.len() > 50 {
        return Err(IamError::LimitExceeded("The number of tags has exceeded the limit of 50.".into()));
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{}' at 'tags.1.member.key' failed to satisfy constraint: Member must have length between 1 and 128",
                t.key
            )));
        }
        if t.value.chars().count() > 256 {
            return Err(IamError::Validation(
                "1 validation error detected: Value at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256".into(),
            ));
        }
    }
    Ok(())
}

/// Checks that a policy document is JSON with a `Statement` whose entries have a valid `Effect`.
pub(super) fn validate_policy_document(doc: &str) -> Result<(), IamError> {
    let value: serde_json::Value = serde_json::from_str(doc)
        .map_err(|_| IamError::MalformedPolicyDocument("This policy contains invalid Json".into()))?;
    let syntax = || IamError::MalformedPolicyDocument("Syntax errors in policy.".into());
    let statements = match value.get("Statement") {
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(obj @ serde_json::Value::Object(_)) => vec![obj.clone()],
        _ => return Err(syntax()),
    };
    if let Some(version) = value.get("Version")
        && !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17"))
    {
        return Err(IamError::MalformedPolicyDocument("The policy failed legacy parsing".into()));
    }
    for s in &statements {
        match s.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow" | "Deny") => {}
            _ => return Err(syntax()),
        }
    }
    Ok(())
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleOut {
    path: String,
    role_name: String,
    role_id: String,
    arn: String,
    create_date: String,
    assume_role_policy_document: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    max_session_duration: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions_boundary: Option<PermissionsBoundary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_last_used: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PermissionsBoundary {
    permissions_boundary_type: &'static str,
    permissions_boundary_arn: String,
}

/// The role as GetRole shows it (`full`), or as ListRoles does (no tags, no last-used).
pub fn role_out(role: &Role, full: bool) -> RoleOut {
    RoleOut {
        path: role.path.clone(),
        role_name: role.role_name.clone(),
        role_id: role.role_id.clone(),
        arn: role.arn.clone(),
        create_date: role.create_date.clone(),
        assume_role_policy_document: encode_policy_document(&role.assume_role_policy_document),
        description: role.description.clone(),
        max_session_duration: role.max_session_duration,
        permissions_boundary: role.permissions_boundary.as_ref().map(|arn| PermissionsBoundary {
            permissions_boundary_type: "Policy",
            permissions_boundary_arn: arn.clone(),
        }),
        tags: (full && !role.tags.is_empty()).then(|| role.tags.clone()),
        role_last_used: full.then(|| serde_json::json!({})),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleResult {
    role: RoleOut,
}

// === operations ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleInput {
    role_name: String,
    assume_role_policy_document: String,
    path: Option<String>,
    description: Option<String>,
    max_session_duration: Option<i32>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_role(cx: &Ctx<'_>, input: CreateRoleInput) -> Result<RoleResult, ApiError> {
    validate_role_name(&input.role_name)?;
    let path = input.path.unwrap_or_else(|| "/".to_string());
    validate_path(&path)?;
    let max_session_duration = input.max_session_duration.unwrap_or(3600);
    validate_max_session_duration(max_session_duration)?;
    if let Some(d) = &input.description {
        validate_description(d)?;
    }
    validate_tags(&input.tags)?;
    validate_policy_document(&input.assume_role_policy_document)?;
    if let Some(boundary) = &input.permissions_boundary
        && super::policy::find_managed(cx, boundary)?.is_none()
    {
        return Err(IamError::PolicyNotAttachable(boundary.clone()).into());
    }
    if cx.get::<Role>(&key(&input.role_name))?.is_some() {
        return Err(IamError::RoleExists(input.role_name).into());
    }
    let role = Role {
        arn: arn::iam_role(cx.account, &path, &input.role_name),
        role_id: ids::iam_unique("AROA"),
        key: key(&input.role_name),
        role_name: input.role_name,
        path,
        assume_role_policy_document: input.assume_role_policy_document,
        description: input.description,
        max_session_duration,
        permissions_boundary: input.permissions_boundary,
        create_date: iso8601(cx.now),
        tags: input.tags,
        attached_policies: Vec::new(),
        inline_policies: BTreeMap::new(),
    };
    save(cx, &role)?;
    Ok(RoleResult { role: role_out(&role, false) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleNameInput {
    role_name: String,
}

pub fn get_role(cx: &Ctx<'_>, input: RoleNameInput) -> Result<RoleResult, ApiError> {
    let role = load(cx, &input.role_name)?;
    Ok(RoleResult { role: role_out(&role, true) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesInput {
    path_prefix: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRolesOutput {
    roles: Vec<RoleOut>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

pub fn list_roles(cx: &Ctx<'_>, input: ListRolesInput) -> Result<ListRolesOutput, ApiError> {
    let prefix = input.path_prefix.unwrap_or_else(|| "/".into());
    let mut roles: Vec<Role> = all(cx)?.into_iter().filter(|r| r.path.starts_with(&prefix)).collect();
    roles.sort_by_key(|r| r.key.clone());
    let (items, marker) = page(&roles, &input.paging)?;
    Ok(ListRolesOutput {
        roles: items.iter().map(|r| role_out(r, false)).collect(),
        is_truncated: marker.is_some(),
        marker,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleInput {
    role_name: String,
    description: Option<String>,
    max_session_duration: Option<i32>,
}

/// UpdateRole has an empty result element.
#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn update_role(cx: &Ctx<'_>, input: UpdateRoleInput) -> Result<Empty, ApiError> {
    let mut role = load(cx, &input.role_name)?;
    if let Some(d) = input.max_session_duration {
        validate_max_session_duration(d)?;
        role.max_session_duration = d;
    }
    if let Some(d) = input.description {
        validate_description(&d)?;
        role.description = Some(d);
    }
    save(cx, &role)?;
    Ok(Empty {})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleDescriptionInput {
    role_name: String,
    description: String,
}

pub fn update_role_description(
    cx: &Ctx<'_>,
    input: UpdateRoleDescriptionInput,
) -> Result<RoleResult, ApiError> {
    let mut role = load(cx, &input.role_name)?;
    validate_description(&input.description)?;
    role.description = Some(input.description);
    save(cx, &role)?;
    Ok(RoleResult { role: role_out(&role, true) })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAssumeRolePolicyInput {
    role_name: String,
    policy_document: String,
}

pub fn update_assume_role_policy(cx: &Ctx<'_>, input: UpdateAssumeRolePolicyInput) -> Result<(), ApiError> {
    let mut role = load(cx, &input.role_name)?;
    validate_policy_document(&input.policy_document)?;
    role.assume_role_policy_document = input.policy_document;
    save(cx, &role)
}

pub fn delete_role(cx: &Ctx<'_>, input: RoleNameInput) -> Result<(), ApiError> {
    let role = load(cx, &input.role_name)?;
    if !role.attached_policies.is_empty() {
        return Err(IamError::DeleteConflictAttached.into());
    }
    if !role.inline_policies.is_empty() {
        return Err(IamError::DeleteConflictInline.into());
    }
    cx.delete::<Role>(&role.key)?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRoleInput {
    role_name: String,
    tags: Vec<Tag>,
}

pub fn tag_role(cx: &Ctx<'_>, input: TagRoleInput) -> Result<(), ApiError> {
    let mut role = load(cx, &input.role_name)?;
    for tag in input.tags {
        match role.tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => role.tags.push(tag),
        }
    }
    validate_tags(&role.tags)?;
    save(cx, &role)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagRoleInput {
    role_name: String,
    tag_keys: Vec<String>,
}

pub fn untag_role(cx: &Ctx<'_>, input: UntagRoleInput) -> Result<(), ApiError> {
    let mut role = load(cx, &input.role_name)?;
    role.tags.retain(|t| !input.tag_keys.contains(&t.key));
    save(cx, &role)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoleTagsInput {
    role_name: String,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoleTagsOutput {
    tags: Vec<Tag>,
    is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
}

pub fn list_role_tags(cx: &Ctx<'_>, input: ListRoleTagsInput) -> Result<ListRoleTagsOutput, ApiError> {
    let role = load(cx, &input.role_name)?;
    let (tags, marker) = page(&role.tags, &input.paging)?;
    Ok(ListRoleTagsOutput { tags, is_truncated: marker.is_some(), marker })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstanceProfilesForRoleOutput {
    instance_profiles: Vec<serde_json::Value>,
    is_truncated: bool,
}

/// berth has no instance profiles (no EC2 instances), so the list is always empty.
pub fn list_instance_profiles_for_role(
    cx: &Ctx<'_>,
    input: RoleNameInput,
) -> Result<ListInstanceProfilesForRoleOutput, ApiError> {
    load(cx, &input.role_name)?;
    Ok(ListInstanceProfilesForRoleOutput { instance_profiles: Vec::new(), is_truncated: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_paths_are_validated_like_iam() {
        assert!(validate_role_name("ecs-task-execution-role").is_ok());
        assert!(validate_role_name("a b").is_err());
        assert!(validate_role_name(&"x".repeat(65)).is_err());
        assert!(validate_path("/").is_ok());
        assert!(validate_path("/service-role/").is_ok());
        assert!(validate_path("service-role/").is_err());
        assert!(validate_path("/a").is_err());
    }

    #[test]
    fn policy_documents_are_checked() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert!(validate_policy_document(trust).is_ok());
        assert_eq!(
            validate_policy_document("{not json").unwrap_err().to_string(),
            "This policy contains invalid Json"
        );
        assert!(validate_policy_document(r#"{"Version":"2012-10-17"}"#).is_err());
        assert!(validate_policy_document(r#"{"Statement":[{"Effect":"Maybe"}]}"#).is_err());
    }
}
