//! IAM's errors, with AWS's codes, HTTP statuses and messages.

use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    #[error("The role with name {0} cannot be found.")]
    NoSuchRole(String),
    #[error("Role with name {0} already exists.")]
    RoleExists(String),
    #[error("Policy {0} does not exist or is not attachable.")]
    PolicyNotAttachable(String),
    #[error("Policy {0} was not found.")]
    PolicyNotFound(String),
    #[error("Policy {arn} version {version} does not exist or is not attachable.")]
    PolicyVersionNotFound { arn: String, version: String },
    #[error("Policy {0} was not found.")]
    NotAttached(String),
    #[error("The role policy with name {0} cannot be found.")]
    NoSuchRolePolicy(String),
    #[error("Cannot delete entity, must detach all policies first.")]
    DeleteConflictAttached,
    #[error("Cannot delete entity, must delete policies first.")]
    DeleteConflictInline,
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("Invalid Marker.")]
    InvalidMarker,
}

impl IamError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuchRole(_)
            | Self::PolicyNotAttachable(_)
            | Self::PolicyNotFound(_)
            | Self::PolicyVersionNotFound { .. }
            | Self::NotAttached(_)
            | Self::NoSuchRolePolicy(_) => "NoSuchEntity",
            Self::RoleExists(_) => "EntityAlreadyExists",
            Self::DeleteConflictAttached | Self::DeleteConflictInline => "DeleteConflict",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::Validation(_) | Self::InvalidMarker => "ValidationError",
            Self::LimitExceeded(_) => "LimitExceeded",
        }
    }

    pub fn status(&self) -> u16 {
        match self.code() {
            "NoSuchEntity" => 404,
            "EntityAlreadyExists" | "DeleteConflict" => 409,
            "LimitExceeded" => 409,
            _ => 400,
        }
    }
}

impl From<IamError> for ApiError {
    fn from(e: IamError) -> Self {
        ApiError::new(e.code(), e.status(), e.to_string())
    }
}
