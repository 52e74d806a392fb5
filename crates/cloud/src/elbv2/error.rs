//! ELBv2's errors, with AWS's codes, HTTP statuses and messages.
//!
//! Every ELBv2 error is an HTTP 400 `Sender` fault in the awsQuery error document; the code is the
//! error shape's name without its `Exception` suffix (`PriorityInUseException` → `PriorityInUse`).

use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Elbv2Error {
    /// Looked up by ARN (or a mix of names and ARNs).
    #[error("One or more load balancers not found")]
    LoadBalancerNotFound,
    /// Looked up by name (`DescribeLoadBalancers --names`).
    #[error("Load balancers '[{}]' not found", .0.join(", "))]
    LoadBalancersNotFound(Vec<String>),
    #[error("One or more target groups not found")]
    TargetGroupNotFound,
    /// Looked up by ARN, as a single-resource operation names it.
    #[error("Target groups '{0}' not found")]
    TargetGroupArnNotFound(String),
    #[error("One or more listeners not found")]
    ListenerNotFound,
    #[error("One or more rules not found")]
    RuleNotFound,
    #[error("Priority '{0}' is currently in use")]
    PriorityInUse(u32),
    #[error("A load balancer with the same name '{0}' exists, but with different settings")]
    DuplicateLoadBalancerName(String),
    #[error("A target group with the same name '{0}' exists, but with different settings")]
    DuplicateTargetGroupName(String),
    #[error("A listener already exists on this port for this load balancer '{0}'")]
    DuplicateListener(String),
    #[error("Target group '{0}' is currently in use by a listener or a rule")]
    TargetGroupInUse(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    InvalidConfigurationRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("The following target groups cannot be associated with more than one load balancer: {0}")]
    TargetGroupAssociationLimit(String),
    #[error("You've reached the limit on the number of targets registered to target group '{0}'")]
    TooManyTargets(String),
    #[error("{0}")]
    TooManyActions(String),
    #[error("{0}")]
    TooManyTargetGroups(String),
    #[error("You've reached the limit on the number of rules per load balancer")]
    TooManyRules,
    #[error("You've reached the limit on the number of listeners per load balancer")]
    TooManyListeners,
    #[error("{0}")]
    InvalidSubnet(String),
    #[error("The subnet ID '{0}' is not valid")]
    SubnetNotFound(String),
    #[error("{0}")]
    InvalidSecurityGroup(String),
    #[error("{0}")]
    InvalidLoadBalancerAction(String),
    #[error("{0}")]
    IncompatibleProtocols(String),
    #[error("{0}")]
    UnsupportedProtocol(String),
    #[error("{0}")]
    InvalidScheme(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    DuplicateTagKeys(String),
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("{0}")]
    CertificateNotFound(String),
}

impl Elbv2Error {
    pub fn code(&self) -> &'static str {
        match self {
            Self::LoadBalancerNotFound | Self::LoadBalancersNotFound(_) => "LoadBalancerNotFound",
            Self::TargetGroupNotFound | Self::TargetGroupArnNotFound(_) => "TargetGroupNotFound",
            Self::ListenerNotFound => "ListenerNotFound",
            Self::RuleNotFound => "RuleNotFound",
            Self::PriorityInUse(_) => "PriorityInUse",
            Self::DuplicateLoadBalancerName(_) => "DuplicateLoadBalancerName",
            Self::DuplicateTargetGroupName(_) => "DuplicateTargetGroupName",
            Self::DuplicateListener(_) => "DuplicateListener",
            Self::TargetGroupInUse(_) | Self::ResourceInUse(_) => "ResourceInUse",
            Self::InvalidConfigurationRequest(_) => "InvalidConfigurationRequest",
            Self::Validation(_) => "ValidationError",
            Self::InvalidTarget(_) => "InvalidTarget",
            Self::TargetGroupAssociationLimit(_) => "TargetGroupAssociationLimit",
            Self::TooManyTargets(_) => "TooManyTargets",
            Self::TooManyActions(_) => "TooManyActions",
            Self::TooManyTargetGroups(_) => "TooManyTargetGroups",
            Self::TooManyRules => "TooManyRules",
            Self::TooManyListeners => "TooManyListeners",
            Self::InvalidSubnet(_) => "InvalidSubnet",
            Self::SubnetNotFound(_) => "SubnetNotFound",
            Self::InvalidSecurityGroup(_) => "InvalidSecurityGroup",
            Self::InvalidLoadBalancerAction(_) => "InvalidLoadBalancerAction",
            Self::IncompatibleProtocols(_) => "IncompatibleProtocols",
            Self::UnsupportedProtocol(_) => "UnsupportedProtocol",
            Self::InvalidScheme(_) => "InvalidScheme",
            Self::TooManyTags(_) => "TooManyTags",
            Self::DuplicateTagKeys(_) => "DuplicateTagKeys",
            Self::OperationNotPermitted(_) => "OperationNotPermitted",
            Self::CertificateNotFound(_) => "CertificateNotFound",
        }
    }

    /// Every ELBv2 error shape is HTTP 400.
    pub fn status(&self) -> u16 {
        400
    }

    /// A `ValidationError` in the shape AWS's input validation uses:
    /// `1 validation error detected: Value '<v>' at '<field>' failed to satisfy constraint: <c>`.
    pub fn constraint(value: impl std::fmt::Display, field: &str, constraint: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }
}

impl From<Elbv2Error> for ApiError {
    fn from(e: Elbv2Error) -> Self {
        ApiError::new(e.code(), e.status(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let e: ApiError = Elbv2Error::PriorityInUse(1).into();
        assert_eq!((e.code.as_ref(), e.status), ("PriorityInUse", 400));
        assert_eq!(e.message, "Priority '1' is currently in use");
        let e: ApiError = Elbv2Error::LoadBalancersNotFound(vec!["ecs-alb".into()]).into();
        assert_eq!(e.message, "Load balancers '[ecs-alb]' not found");
        assert!(e.sender_fault);
        assert_eq!(Elbv2Error::TargetGroupInUse("a".into()).code(), "ResourceInUse");
    }
}
