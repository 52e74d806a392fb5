//! A service's `loadBalancers`: what CreateService/UpdateService require of them, and the
//! target registrations the scheduler makes for the service's tasks.
//!
//! The checks follow ECS, in its order: the container and its port exist in the task
//! definition; the target group exists; an `awsvpc` task definition needs a target group of
//! type `ip`; the target group must already be used by a listener or rule of a load balancer
//! (else `The target group with targetGroupArn … does not have an associated load balancer.`,
//! which the AWS provider retries until the listener exists).
//!
//! Target groups belong to ELBv2; this module only reads and changes them through the lookups
//! ELBv2 exports for other services (see [`TargetGroups`]).

use model::health::{TargetHealthState, TargetKey};

use super::error::EcsError;
use super::service::LoadBalancer;
use super::task_definition::TaskDefinition;
use crate::Ctx;
use crate::api::ApiError;
use crate::elbv2::target_group::{self, TargetRef};

/// A target group as ECS needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupInfo {
    pub target_group_arn: String,
    /// `ip`, `instance`, `lambda` or `alb`.
    pub target_type: String,
    /// ARNs of the load balancers whose listeners or rules forward to it.
    pub load_balancer_arns: Vec<String>,
}

/// One registration of a task in a target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub target_group_arn: String,
    /// The task's private IPv4 address.
    pub ip: String,
    pub port: u16,
    pub availability_zone: String,
}

/// ELBv2's target groups, read and changed through the lookups ELBv2 exports for other
/// services ([`crate::elbv2::target_group`]).
pub struct TargetGroups;

impl TargetGroups {
    pub fn find(cx: &Ctx<'_>, arn: &str) -> Result<Option<TargetGroupInfo>, ApiError> {
        let Some(tg) = target_group::find(cx, arn)? else {
            return Ok(None);
        };
        Ok(Some(TargetGroupInfo {
            load_balancer_arns: target_group::load_balancer_arns(cx, &tg.target_group_arn)?,
            target_group_arn: tg.target_group_arn,
            target_type: tg.target_type,
        }))
    }

    /// Registers the targets (ELBv2 starts health-checking them). A target group deleted in the
    /// meantime is skipped.
    pub fn register(cx: &Ctx<'_>, targets: &[Registration]) -> Result<(), ApiError> {
        for (tg, refs) in by_group(targets) {
            if target_group::find(cx, &tg)?.is_some() {
                target_group::register_targets(cx, &tg, &refs)?;
            }
        }
        Ok(())
    }

    /// Deregisters the targets (ELBv2 starts draining them).
    pub fn deregister(cx: &Ctx<'_>, targets: &[Registration]) -> Result<(), ApiError> {
        for (tg, refs) in by_group(targets) {
            if target_group::find(cx, &tg)?.is_some() {
                target_group::deregister_targets(cx, &tg, &refs)?;
            }
        }
        Ok(())
    }

    /// Whether the target is still registered (false once its draining finished).
    pub fn is_registered(cx: &Ctx<'_>, target: &Registration) -> Result<bool, ApiError> {
        target_group::is_registered(cx, &target.target_group_arn, &target.ip, target.port)
    }
}

/// The registrations grouped by target group, as ELBv2 takes them.
fn by_group(targets: &[Registration]) -> Vec<(String, Vec<TargetRef>)> {
    let mut out: Vec<(String, Vec<TargetRef>)> = Vec::new();
    for t in targets {
        let r = TargetRef { id: t.ip.clone(), port: t.port, availability_zone: None };
        match out.iter_mut().find(|(tg, _)| *tg == t.target_group_arn) {
            Some((_, refs)) => refs.push(r),
            None => out.push((t.target_group_arn.clone(), vec![r])),
        }
    }
    out
}

impl Registration {
    pub fn key(&self) -> TargetKey {
        TargetKey { target_group_arn: self.target_group_arn.clone(), id: self.ip.clone(), port: self.port }
    }
}

/// The health the data plane last reported for a registration.
pub fn health_state(cx: &Ctx<'_>, r: &Registration) -> Option<TargetHealthState> {
    cx.cloud.live.health_of(&r.key()).map(|h| h.state)
}

fn invalid(msg: impl Into<String>) -> ApiError {
    EcsError::invalid(msg).into()
}

/// Checks that each load balancer's container and port exist in the task definition.
pub fn validate_containers(lbs: &[LoadBalancer], td: &TaskDefinition) -> Result<(), ApiError> {
    if lbs.len() > 5 {
        return Err(invalid("loadBalancers can have at most 5 items."));
    }
    for lb in lbs {
        let Some(container_name) = lb.container_name.as_deref() else {
            return Err(invalid("Container name can not be blank."));
        };
        let Some(container) = td.container(container_name)? else {
            return Err(invalid(format!(
                "The container {container_name} does not exist in the task definition."
            )));
        };
        let Some(port) = lb.container_port else {
            return Err(invalid("Container port can not be blank."));
        };
        if !container.maps_port(i64::from(port)) {
            return Err(invalid(format!(
                "The container {container_name} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

/// Checks a service's load balancers against its task definition and ELBv2, in ECS's order.
pub fn validate(cx: &Ctx<'_>, lbs: &[LoadBalancer], td: &TaskDefinition) -> Result<(), ApiError> {
    validate_containers(lbs, td)?;
    for lb in lbs {
        if lb.load_balancer_name.is_some() && lb.target_group_arn.is_none() {
            return Err(invalid("Classic load balancers are not supported by berth; use a target group."));
        }
        let Some(tg_arn) = lb.target_group_arn.as_deref() else {
            return Err(invalid("Target group ARN can not be blank."));
        };
        let Some(tg) = TargetGroups::find(cx, tg_arn)? else {
            return Err(invalid(
                "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions.",
            ));
        };
        if td.network_mode == "awsvpc" && tg.target_type != "ip" {
            return Err(invalid(format!(
                "The provided target group {tg_arn} has target type {}, which is incompatible with the awsvpc network mode specified in the task definition.",
                tg.target_type
            )));
        }
        if tg.load_balancer_arns.is_empty() {
            return Err(invalid(format!(
                "The target group with targetGroupArn {tg_arn} does not have an associated load balancer."
            )));
        }
    }
    Ok(())
}
