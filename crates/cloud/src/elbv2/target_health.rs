//! DescribeTargetHealth: each registration's state, from the store (registered, draining, whether
//! a load balancer uses the group) and from what the data plane last reported
//! ([`crate::live::Live::health_of`]).
//!
//! | situation | State | Reason |
//! |---|---|---|
//! | deregistered, still draining | `draining` | `Target.DeregistrationInProgress` |
//! | no listener rule forwards to the group | `unused` | `Target.NotInUse` |
//! | health checks disabled | `unavailable` | `Target.HealthCheckDisabled` |
//! | nothing reported yet | `initial` | `Elb.RegistrationInProgress` |
//! | reported by the data plane | as reported | as reported |
//! | asked for explicitly, not registered | `unused` | `Target.NotRegistered` |

use model::health::{TargetHealth, TargetHealthReason, TargetHealthState, TargetKey};
use serde::{Deserialize, Serialize};

use super::target_group::{self, Registration, TargetDescription, TargetGroup};
use crate::Ctx;
use crate::api::ApiError;

/// AWS's description of each reason code.
pub fn description(reason: TargetHealthReason) -> &'static str {
    match reason {
        TargetHealthReason::RegistrationInProgress => "Target registration is in progress",
        TargetHealthReason::InitialHealthChecking => "Initial health checks in progress",
        TargetHealthReason::ResponseCodeMismatch => "Health checks failed",
        TargetHealthReason::Timeout => "Request timed out",
        TargetHealthReason::FailedHealthChecks => "Health checks failed",
        TargetHealthReason::NotRegistered => "Target is not registered to the target group",
        TargetHealthReason::NotInUse => {
            "Target group is not configured to receive traffic from the load balancer"
        }
        TargetHealthReason::DeregistrationInProgress => "Target deregistration is in progress",
        TargetHealthReason::HealthCheckDisabled => "Health checks are disabled",
        TargetHealthReason::InternalError => "Health checks failed with an internal error",
    }
}

fn with_reason(state: TargetHealthState, reason: TargetHealthReason) -> TargetHealth {
    TargetHealth { state, reason: Some(reason), description: Some(description(reason).to_string()) }
}

/// The health of one registration (pure: `reported` is the data plane's last report, if any).
pub fn health_of_registration(
    tg: &TargetGroup,
    reg: &Registration,
    in_use: bool,
    reported: Option<TargetHealth>,
) -> TargetHealth {
    if reg.deregistered_ms.is_some() {
        return with_reason(TargetHealthState::Draining, TargetHealthReason::DeregistrationInProgress);
    }
    if !in_use {
        return with_reason(TargetHealthState::Unused, TargetHealthReason::NotInUse);
    }
    if !tg.health_check.enabled {
        return with_reason(TargetHealthState::Unavailable, TargetHealthReason::HealthCheckDisabled);
    }
    match reported {
        // The data plane keeps reporting a target it no longer health checks as draining/unused
        // until the snapshot changes; the store is the authority on those two.
        Some(h) if !matches!(h.state, TargetHealthState::Draining | TargetHealthState::Unused) => {
            let description = h.description.clone().or_else(|| h.reason.map(|r| description(r).to_string()));
            TargetHealth { description, ..h }
        }
        _ => with_reason(TargetHealthState::Initial, TargetHealthReason::RegistrationInProgress),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTargetHealthInput {
    target_group_arn: String,
    #[serde(default)]
    targets: Vec<TargetDescription>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetOut {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability_zone: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetHealthOut {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetHealthDescription {
    target: TargetOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_port: Option<String>,
    target_health: TargetHealthOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTargetHealthOutput {
    target_health_descriptions: Vec<TargetHealthDescription>,
}

fn health_out(h: &TargetHealth) -> TargetHealthOut {
    TargetHealthOut {
        state: h.state.as_str(),
        reason: h.reason.map(TargetHealthReason::code),
        description: h.description.clone(),
    }
}

fn health_check_port(tg: &TargetGroup, port: u16) -> String {
    if tg.health_check.port == "traffic-port" { port.to_string() } else { tg.health_check.port.clone() }
}

pub fn describe_target_health(
    cx: &Ctx<'_>,
    input: DescribeTargetHealthInput,
) -> Result<DescribeTargetHealthOutput, ApiError> {
    let tg = target_group::load(cx, &input.target_group_arn)?;
    if let Some(bad) = input.include.iter().find(|i| !["AnomalyDetection", "All"].contains(&i.as_str())) {
        return Err(super::error::Elbv2Error::constraint(
            bad,
            "include",
            "Member must satisfy enum value set: [AnomalyDetection, All]",
        )
        .into());
    }
    let in_use = !target_group::load_balancer_arns(cx, &tg.target_group_arn)?.is_empty();
    let describe = |reg: &Registration| {
        let key =
            TargetKey { target_group_arn: tg.target_group_arn.clone(), id: reg.id.clone(), port: reg.port };
        let health = health_of_registration(&tg, reg, in_use, cx.cloud.live.health_of(&key));
        TargetHealthDescription {
            target: TargetOut {
                id: reg.id.clone(),
                port: Some(reg.port),
                availability_zone: reg.availability_zone.clone(),
            },
            health_check_port: Some(health_check_port(&tg, reg.port)),
            target_health: health_out(&health),
        }
    };
    let mut out = Vec::new();
    if input.targets.is_empty() {
        out.extend(tg.targets.iter().map(describe));
    } else {
        for t in &input.targets {
            let r = t.to_ref()?;
            let port = if r.port == 0 { tg.port.unwrap_or(0) } else { r.port };
            match tg.registration(&r.id, port) {
                Some(reg) => out.push(describe(reg)),
                None => out.push(TargetHealthDescription {
                    target: TargetOut { id: r.id, port: Some(port), availability_zone: r.availability_zone },
                    health_check_port: None,
                    target_health: health_out(&with_reason(
                        TargetHealthState::Unused,
                        TargetHealthReason::NotRegistered,
                    )),
                }),
            }
        }
    }
    Ok(DescribeTargetHealthOutput { target_health_descriptions: out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elbv2::target_group::HealthCheck;

    fn tg(enabled: bool) -> TargetGroup {
        TargetGroup {
            target_group_arn: "tg".into(),
            target_group_name: "tg".into(),
            target_type: "ip".into(),
            protocol: Some("HTTP".into()),
            protocol_version: Some("HTTP1".into()),
            port: Some(80),
            vpc_id: Some("vpc-1".into()),
            ip_address_type: "ipv4".into(),
            health_check: HealthCheck {
                enabled,
                protocol: Some("HTTP".into()),
                port: "traffic-port".into(),
                path: Some("/".into()),
                interval_seconds: 30,
                timeout_seconds: 5,
                healthy_threshold: 5,
                unhealthy_threshold: 2,
                matcher_http_code: Some("200".into()),
                matcher_grpc_code: None,
            },
            attributes: vec![],
            tags: vec![],
            targets: vec![],
        }
    }

    fn reg(draining: bool) -> Registration {
        Registration {
            id: "10.0.1.4".into(),
            port: 80,
            availability_zone: None,
            registered_ms: 0,
            deregistered_ms: draining.then_some(5),
            drained: false,
        }
    }

    #[test]
    fn states_follow_the_table() {
        let h = health_of_registration(&tg(true), &reg(false), false, None);
        assert_eq!((h.state, h.reason), (TargetHealthState::Unused, Some(TargetHealthReason::NotInUse)));
        let h = health_of_registration(&tg(true), &reg(false), true, None);
        assert_eq!(
            (h.state, h.reason),
            (TargetHealthState::Initial, Some(TargetHealthReason::RegistrationInProgress))
        );
        assert_eq!(h.description.as_deref(), Some("Target registration is in progress"));
        let h = health_of_registration(&tg(true), &reg(true), true, Some(TargetHealth::healthy()));
        assert_eq!(h.state, TargetHealthState::Draining);
        let h = health_of_registration(&tg(false), &reg(false), true, None);
        assert_eq!(h.reason, Some(TargetHealthReason::HealthCheckDisabled));
        let reported = TargetHealth {
            state: TargetHealthState::Unhealthy,
            reason: Some(TargetHealthReason::ResponseCodeMismatch),
            description: Some("Health checks failed with these codes: [500]".into()),
        };
        let h = health_of_registration(&tg(true), &reg(false), true, Some(reported.clone()));
        assert_eq!(h, reported);
        let h = health_of_registration(&tg(true), &reg(false), true, Some(TargetHealth::healthy()));
        assert_eq!(h, TargetHealth::healthy());
    }
}
