//! Target health as the data plane observes it, in the ALB's vocabulary
//! (`DescribeTargetHealth`'s `State`, `Reason` and `Description`).

use serde::{Deserialize, Serialize};

/// Identifies one registration: a target id and port in a target group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetKey {
    pub target_group_arn: String,
    pub id: String,
    pub port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetHealthState {
    Initial,
    Healthy,
    Unhealthy,
    Unused,
    Draining,
    Unavailable,
}

impl TargetHealthState {
    /// The API's lowercase name (`healthy`, `unused`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
            Self::Unused => "unused",
            Self::Draining => "draining",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The reason codes `DescribeTargetHealth` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetHealthReason {
    RegistrationInProgress,
    InitialHealthChecking,
    ResponseCodeMismatch,
    Timeout,
    FailedHealthChecks,
    NotRegistered,
    NotInUse,
    DeregistrationInProgress,
    HealthCheckDisabled,
    InternalError,
}

impl TargetHealthReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::RegistrationInProgress => "Elb.RegistrationInProgress",
            Self::InitialHealthChecking => "Elb.InitialHealthChecking",
            Self::ResponseCodeMismatch => "Target.ResponseCodeMismatch",
            Self::Timeout => "Target.Timeout",
            Self::FailedHealthChecks => "Target.FailedHealthChecks",
            Self::NotRegistered => "Target.NotRegistered",
            Self::NotInUse => "Target.NotInUse",
            Self::DeregistrationInProgress => "Target.DeregistrationInProgress",
            Self::HealthCheckDisabled => "Target.HealthCheckDisabled",
            Self::InternalError => "Elb.InternalError",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub state: TargetHealthState,
    pub reason: Option<TargetHealthReason>,
    /// AWS's description text, e.g. `Health checks failed with these codes: [500]`.
    pub description: Option<String>,
}

impl TargetHealth {
    pub fn healthy() -> Self {
        Self { state: TargetHealthState::Healthy, reason: None, description: None }
    }
}

/// What the data plane tells the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataPlaneEvent {
    /// A target's health changed (sent on every change, not on every probe).
    Health { key: TargetKey, health: TargetHealth },
    /// A draining target has no request in flight any more, or its deregistration delay passed.
    Drained { key: TargetKey },
}
