//! ECS's errors, with AWS's codes and messages. Every ECS error is HTTP 400 except
//! `ServerException`.

use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcsError {
    /// A request ECS refuses for what it asks (task definition validation mostly).
    #[error("{0}")]
    Client(String),
    /// A parameter with a bad value.
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Cluster not found.")]
    ClusterNotFound,
    #[error("Service not found.")]
    ServiceNotFound,
    #[error("Service was not ACTIVE.")]
    ServiceNotActive,
    #[error("The Cluster cannot be deleted while Services are active.")]
    ClusterContainsServices,
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    #[error("The specified resource could not be found.")]
    ResourceNotFound,
    #[error("{0}")]
    Server(String),
}

impl EcsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Client(_) => "ClientException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::ClusterNotFound => "ClusterNotFoundException",
            Self::ServiceNotFound => "ServiceNotFoundException",
            Self::ServiceNotActive => "ServiceNotActiveException",
            Self::ClusterContainsServices => "ClusterContainsServicesException",
            Self::ClusterContainsTasks => "ClusterContainsTasksException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::Server(_) => "ServerException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Server(_) => 500,
            _ => 400,
        }
    }

    pub fn client(message: impl Into<String>) -> Self {
        Self::Client(message.into())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }
}

impl From<EcsError> for ApiError {
    fn from(e: EcsError) -> Self {
        ApiError::new(e.code(), e.status(), e.to_string())
    }
}
