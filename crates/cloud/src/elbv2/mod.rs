//! Elastic Load Balancing v2: application load balancers, listeners, rules, target groups.
//!
//! # Layout
//! - [`load_balancer`]: the [`load_balancer::LoadBalancer`] resource (its managed ENIs, DNS name,
//!   `provisioning` → `active` state) and its operations.
//! - [`listener`], [`rule`]: listeners with their default rule, and listener rules with AWS's
//!   condition limits and priority handling (`PriorityInUse`).
//! - [`action`]: the actions of listeners and rules, and their validation.
//! - [`target_group`]: target groups and their registrations; also the functions ECS calls
//!   (`register_targets`, `deregister_targets`, `is_registered`, `find`, `load_balancer_arns`).
//! - [`target_health`]: DescribeTargetHealth, from registrations and the data plane's reports.
//! - [`attributes`]: the default attribute sets and their validation.
//! - [`tags`]: the `Tag` type and AddTags / RemoveTags / DescribeTags.
//! - [`error`]: ELBv2's error codes and messages.
//!
//! The routing the data plane serves is built from these resources by
//! [`crate::reconcile::routing_snapshot`].

pub mod action;
pub mod attributes;
pub mod error;
pub mod listener;
pub mod load_balancer;
pub mod rule;
pub mod tags;
pub mod target_group;
pub mod target_health;

use serde_json::Value;

use crate::Cloud;
use crate::api::{ApiError, reply};
use crate::edge::Call;
use error::Elbv2Error;

crate::operations! {
    /// The ELBv2 operations berth implements.
    pub enum Operation {
        CreateLoadBalancer,
        DescribeLoadBalancers,
        DeleteLoadBalancer,
        DescribeLoadBalancerAttributes,
        ModifyLoadBalancerAttributes,
        DescribeCapacityReservation,
        SetSecurityGroups,
        SetSubnets,
        CreateListener,
        DescribeListeners,
        ModifyListener,
        DeleteListener,
        DescribeListenerAttributes,
        ModifyListenerAttributes,
        CreateRule,
        DescribeRules,
        ModifyRule,
        SetRulePriorities,
        DeleteRule,
        CreateTargetGroup,
        DescribeTargetGroups,
        ModifyTargetGroup,
        DeleteTargetGroup,
        DescribeTargetGroupAttributes,
        ModifyTargetGroupAttributes,
        RegisterTargets,
        DeregisterTargets,
        DescribeTargetHealth,
        AddTags,
        RemoveTags,
        DescribeTags,
    }
}

pub fn handle(cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    let op = Operation::from_name(&call.operation)
        .ok_or_else(|| ApiError::not_implemented("elasticloadbalancing", &call.operation))?;
    let input = &call.input;
    cloud.transact(&call.region, |cx| match op {
        Operation::CreateLoadBalancer => reply(load_balancer::create_load_balancer(cx, input.parse()?)?),
        Operation::DescribeLoadBalancers => {
            reply(load_balancer::describe_load_balancers(cx, input.parse()?)?)
        }
        Operation::DeleteLoadBalancer => reply(load_balancer::delete_load_balancer(cx, input.parse()?)?),
        Operation::DescribeLoadBalancerAttributes => {
            reply(load_balancer::describe_load_balancer_attributes(cx, input.parse()?)?)
        }
        Operation::ModifyLoadBalancerAttributes => {
            reply(load_balancer::modify_load_balancer_attributes(cx, input.parse()?)?)
        }
        Operation::DescribeCapacityReservation => {
            reply(load_balancer::describe_capacity_reservation(cx, input.parse()?)?)
        }
        Operation::SetSecurityGroups => reply(load_balancer::set_security_groups(cx, input.parse()?)?),
        Operation::SetSubnets => reply(load_balancer::set_subnets(cx, input.parse()?)?),
        Operation::CreateListener => reply(listener::create_listener(cx, input.parse()?)?),
        Operation::DescribeListeners => reply(listener::describe_listeners(cx, input.parse()?)?),
        Operation::ModifyListener => reply(listener::modify_listener(cx, input.parse()?)?),
        Operation::DeleteListener => reply(listener::delete_listener(cx, input.parse()?)?),
        Operation::DescribeListenerAttributes => {
            reply(listener::describe_listener_attributes(cx, input.parse()?)?)
        }
        Operation::ModifyListenerAttributes => {
            reply(listener::modify_listener_attributes(cx, input.parse()?)?)
        }
        Operation::CreateRule => reply(rule::create_rule(cx, input.parse()?)?),
        Operation::DescribeRules => reply(rule::describe_rules(cx, input.parse()?)?),
        Operation::ModifyRule => reply(rule::modify_rule(cx, input.parse()?)?),
        Operation::SetRulePriorities => reply(rule::set_rule_priorities(cx, input.parse()?)?),
        Operation::DeleteRule => reply(rule::delete_rule(cx, input.parse()?)?),
        Operation::CreateTargetGroup => reply(target_group::create_target_group(cx, input.parse()?)?),
        Operation::DescribeTargetGroups => reply(target_group::describe_target_groups(cx, input.parse()?)?),
        Operation::ModifyTargetGroup => reply(target_group::modify_target_group(cx, input.parse()?)?),
        Operation::DeleteTargetGroup => reply(target_group::delete_target_group(cx, input.parse()?)?),
        Operation::DescribeTargetGroupAttributes => {
            reply(target_group::describe_target_group_attributes(cx, input.parse()?)?)
        }
        Operation::ModifyTargetGroupAttributes => {
            reply(target_group::modify_target_group_attributes(cx, input.parse()?)?)
        }
        Operation::RegisterTargets => reply(target_group::register_targets_op(cx, input.parse()?)?),
        Operation::DeregisterTargets => reply(target_group::deregister_targets_op(cx, input.parse()?)?),
        Operation::DescribeTargetHealth => reply(target_health::describe_target_health(cx, input.parse()?)?),
        Operation::AddTags => reply(tags::add_tags(cx, input.parse()?)?),
        Operation::RemoveTags => reply(tags::remove_tags(cx, input.parse()?)?),
        Operation::DescribeTags => reply(tags::describe_tags(cx, input.parse()?)?),
    })
}

/// One page of a Describe call: `Marker` is the index of the next item, `PageSize` 1..=400.
pub fn page<'a, T>(
    items: &'a [T],
    marker: Option<&str>,
    page_size: Option<i64>,
) -> Result<(&'a [T], Option<String>), Elbv2Error> {
    let start = match marker {
        Some(m) => m
            .parse::<usize>()
            .map_err(|_| Elbv2Error::Validation(format!("The marker '{m}' is not valid")))?,
        None => 0,
    };
    let size = page_size.unwrap_or(400);
    if !(1..=400).contains(&size) {
        return Err(Elbv2Error::constraint(size, "pageSize", "Member must have value between 1 and 400"));
    }
    let start = start.min(items.len());
    let end = (start + size as usize).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items.get(start..end).unwrap_or_default(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        let items: Vec<u32> = (0..5).collect();
        let (p, next) = page(&items, None, Some(2)).unwrap();
        assert_eq!((p, next.as_deref()), (&[0, 1][..], Some("2")));
        let (p, next) = page(&items, Some("4"), Some(2)).unwrap();
        assert_eq!((p, next), (&[4][..], None));
        assert!(page(&items, Some("x"), None).is_err());
        assert!(page(&items, None, Some(401)).is_err());
    }
}
