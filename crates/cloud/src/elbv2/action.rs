//! Listener and rule actions: their wire (and stored) shape, validation, and the form AWS returns
//! them in (a single-group `forward` shows both `TargetGroupArn` and `ForwardConfig`; a redirect
//! has every part filled with its `#{...}` default).

use serde::{Deserialize, Serialize};

use super::error::Elbv2Error;
use super::target_group::{self, TargetGroup};
use crate::Ctx;
use crate::api::ApiError;

/// At most this many target groups in one forward action.
pub const MAX_FORWARD_TARGET_GROUPS: usize = 5;

/// An action as the API takes and returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Action {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_config: Option<RedirectConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_response_config: Option<FixedResponseConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedirectConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FixedResponseConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForwardConfig {
    #[serde(default)]
    pub target_groups: Vec<TargetGroupTuple>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_stickiness_config: Option<StickinessConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupTuple {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StickinessConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i32>,
}

impl Action {
    /// Whether this action ends evaluation (forward, redirect, fixed-response).
    pub fn is_terminal(&self) -> bool {
        matches!(self.kind.as_str(), "forward" | "redirect" | "fixed-response")
    }

    /// Every target group this action forwards to (weight 0 included).
    pub fn target_group_arns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(arn) = &self.target_group_arn {
            out.push(arn);
        }
        if let Some(fc) = &self.forward_config {
            for t in &fc.target_groups {
                if let Some(arn) = &t.target_group_arn
                    && !out.contains(&arn.as_str())
                {
                    out.push(arn);
                }
            }
        }
        out
    }
}

/// Every target group a list of actions forwards to, without repeats.
pub fn target_group_arns(actions: &[Action]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in actions {
        for arn in a.target_group_arns() {
            if !out.iter().any(|o| o == arn) {
                out.push(arn.to_string());
            }
        }
    }
    out
}

/// Validates the actions of a listener or rule and returns them as AWS stores and returns them:
/// sorted by `Order`, forward actions in both spellings, redirect parts defaulted.
///
/// `load_balancer_arn` is the load balancer the listener belongs to: a target group may serve only
/// one load balancer, and must be in its VPC.
pub fn validate_actions(
    cx: &Ctx<'_>,
    actions: Vec<Action>,
    load_balancer_arn: &str,
    lb_vpc_id: Option<&str>,
    listener_protocol: &str,
) -> Result<Vec<Action>, ApiError> {
    if actions.is_empty() {
        return Err(Elbv2Error::constraint(
            "[]",
            "actions",
            "Member must have length greater than or equal to 1",
        )
        .into());
    }
    // Orders: each 1..=50000, unique.
    let mut seen_orders = Vec::new();
    for a in &actions {
        if let Some(o) = a.order {
            if !(1..=50000).contains(&o) {
                return Err(Elbv2Error::constraint(
                    o,
                    "actions.member.order",
                    "Member must have value between 1 and 50000",
                )
                .into());
            }
            if seen_orders.contains(&o) {
                return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                    "Action order '{o}' must be unique"
                ))
                .into());
            }
            seen_orders.push(o);
        }
    }
    let mut actions = actions;
    actions.sort_by_key(|a| a.order.unwrap_or(i32::MAX));
    let terminal: Vec<&Action> = actions.iter().filter(|a| a.is_terminal()).collect();
    if terminal.len() != 1 {
        return Err(if terminal.is_empty() {
            Elbv2Error::InvalidLoadBalancerAction(
                "A forward, redirect, or fixed-response action must be specified".into(),
            )
        } else {
            Elbv2Error::TooManyActions(
                "You can specify only one forward, redirect, or fixed-response action".into(),
            )
        }
        .into());
    }
    if actions.last().is_some_and(|a| !a.is_terminal()) {
        return Err(Elbv2Error::InvalidLoadBalancerAction(
            "The forward, redirect, or fixed-response action must be the last action".into(),
        )
        .into());
    }
    let mut out = Vec::with_capacity(actions.len());
    for a in actions {
        out.push(normalize(cx, a, load_balancer_arn, lb_vpc_id, listener_protocol)?);
    }
    Ok(out)
}

fn normalize(
    cx: &Ctx<'_>,
    mut a: Action,
    load_balancer_arn: &str,
    lb_vpc_id: Option<&str>,
    listener_protocol: &str,
) -> Result<Action, ApiError> {
    match a.kind.as_str() {
        "forward" => {
            if a.redirect_config.is_some() || a.fixed_response_config.is_some() {
                return Err(Elbv2Error::InvalidLoadBalancerAction(
                    "A forward action can only have a target group or a forward configuration".into(),
                )
                .into());
            }
            let mut groups: Vec<TargetGroupTuple> =
                a.forward_config.as_ref().map(|f| f.target_groups.clone()).unwrap_or_default();
            match (&a.target_group_arn, groups.len()) {
                (None, 0) => {
                    return Err(Elbv2Error::Validation(
                        "A target group ARN must be specified for a forward action".into(),
                    )
                    .into());
                }
                (Some(arn), 0) => groups.push(TargetGroupTuple { target_group_arn: Some(arn.clone()), weight: Some(1) }),
                (Some(arn), 1) if groups[0].target_group_arn.as_deref() == Some(arn.as_str()) => {}
                (Some(_), _) => {
                    return Err(Elbv2Error::InvalidLoadBalancerAction(
                        "You cannot specify both a target group ARN and a forward config with a different or more than one target group".into(),
                    )
                    .into());
                }
                (None, _) => {}
            }
            if groups.len() > MAX_FORWARD_TARGET_GROUPS {
                return Err(Elbv2Error::TooManyTargetGroups(format!(
                    "You cannot specify more than {MAX_FORWARD_TARGET_GROUPS} target groups in a forward action"
                ))
                .into());
            }
            for (i, g) in groups.iter_mut().enumerate() {
                let Some(arn) = g.target_group_arn.clone() else {
                    return Err(Elbv2Error::Validation("A target group ARN must be specified".into()).into());
                };
                if groups_before_contains(&a, i, &arn) {
                    return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                        "Target group '{arn}' is specified more than once in the forward action"
                    ))
                    .into());
                }
                let weight = g.weight.unwrap_or(1);
                if !(0..=999).contains(&weight) {
                    return Err(Elbv2Error::constraint(
                        weight,
                        "actions.member.forwardConfig.targetGroups.member.weight",
                        "Member must have value between 0 and 999",
                    )
                    .into());
                }
                g.weight = Some(weight);
                let tg = target_group::load(cx, &arn)?;
                check_target_group(cx, &tg, load_balancer_arn, lb_vpc_id)?;
            }
            let stickiness = match a.forward_config.as_ref().and_then(|f| f.target_group_stickiness_config.clone()) {
                Some(s) if s.enabled == Some(true) => {
                    let d = s.duration_seconds.ok_or_else(|| {
                        Elbv2Error::Validation(
                            "A duration must be specified when target group stickiness is enabled".into(),
                        )
                    })?;
                    if !(1..=604800).contains(&d) {
                        return Err(Elbv2Error::constraint(
                            d,
                            "actions.member.forwardConfig.targetGroupStickinessConfig.durationSeconds",
                            "Member must have value between 1 and 604800",
                        )
                        .into());
                    }
                    StickinessConfig { enabled: Some(true), duration_seconds: Some(d) }
                }
                _ => StickinessConfig { enabled: Some(false), duration_seconds: None },
            };
            a.target_group_arn = if groups.len() == 1 { groups[0].target_group_arn.clone() } else { None };
            a.forward_config = Some(ForwardConfig { target_groups: groups, target_group_stickiness_config: Some(stickiness) });
            Ok(a)
        }
        "fixed-response" => {
            let Some(fr) = a.fixed_response_config.as_mut() else {
                return Err(Elbv2Error::Validation(
                    "A fixed-response configuration must be specified for a fixed-response action".into(),
                )
                .into());
            };
            let code_ok = fr.status_code.len() == 3
                && fr.status_code.chars().all(|c| c.is_ascii_digit())
                && matches!(fr.status_code.as_bytes()[0], b'2' | b'4' | b'5');
            if !code_ok {
                return Err(Elbv2Error::constraint(
                    &fr.status_code,
                    "actions.member.fixedResponseConfig.statusCode",
                    "Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$",
                )
                .into());
            }
            if let Some(ct) = &fr.content_type
                && !["text/plain", "text/css", "text/html", "application/javascript", "application/json"]
                    .contains(&ct.as_str())
            {
                return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                    "The content type '{ct}' is not valid. Valid content types are text/plain, text/css, text/html, application/javascript, application/json"
                ))
                .into());
            }
            if fr.message_body.as_ref().is_some_and(|b| b.len() > 1024) {
                return Err(Elbv2Error::constraint(
                    "…",
                    "actions.member.fixedResponseConfig.messageBody",
                    "Member must have length less than or equal to 1024",
                )
                .into());
            }
            if a.target_group_arn.is_some() || a.forward_config.is_some() || a.redirect_config.is_some() {
                return Err(Elbv2Error::InvalidLoadBalancerAction(
                    "A fixed-response action cannot have a target group or another configuration".into(),
                )
                .into());
            }
            Ok(a)
        }
        "redirect" => {
            let Some(r) = a.redirect_config.as_mut() else {
                return Err(Elbv2Error::Validation(
                    "A redirect configuration must be specified for a redirect action".into(),
                )
                .into());
            };
            if r.status_code != "HTTP_301" && r.status_code != "HTTP_302" {
                return Err(Elbv2Error::constraint(
                    &r.status_code,
                    "actions.member.redirectConfig.statusCode",
                    "Member must satisfy enum value set: [HTTP_302, HTTP_301]",
                )
                .into());
            }
            let protocol = r.protocol.get_or_insert_with(|| "#{protocol}".into()).clone();
            let port = r.port.get_or_insert_with(|| "#{port}".into()).clone();
            let host = r.host.get_or_insert_with(|| "#{host}".into()).clone();
            let path = r.path.get_or_insert_with(|| "/#{path}".into()).clone();
            r.query.get_or_insert_with(|| "#{query}".into());
            if !["HTTP", "HTTPS", "#{protocol}"].contains(&protocol.as_str()) {
                return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                    "The redirect protocol '{protocol}' is not valid"
                ))
                .into());
            }
            if listener_protocol == "HTTPS" && protocol == "HTTP" {
                return Err(Elbv2Error::InvalidLoadBalancerAction(
                    "You cannot redirect from HTTPS to HTTP".into(),
                )
                .into());
            }
            if !path.starts_with('/') {
                return Err(Elbv2Error::InvalidLoadBalancerAction("The redirect path must start with '/'".into()).into());
            }
            if protocol == "#{protocol}" && port == "#{port}" && host == "#{host}" && path == "/#{path}" {
                return Err(Elbv2Error::InvalidLoadBalancerAction(
                    "The redirect must change at least one of the protocol, host, port, or path to avoid a redirect loop".into(),
                )
                .into());
            }
            if a.target_group_arn.is_some() || a.forward_config.is_some() || a.fixed_response_config.is_some() {
                return Err(Elbv2Error::InvalidLoadBalancerAction(
                    "A redirect action cannot have a target group or another configuration".into(),
                )
                .into());
            }
            Ok(a)
        }
        "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
            if listener_protocol != "HTTPS" {
                return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                    "The '{}' action is supported only on HTTPS listeners",
                    a.kind
                ))
                .into());
            }
            Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                "berth does not support '{}' actions (it serves listeners as plain HTTP)",
                a.kind
            ))
            .into())
        }
        other => Err(Elbv2Error::constraint(
            other,
            "actions.member.type",
            "Member must satisfy enum value set: [forward, authenticate-oidc, authenticate-cognito, redirect, fixed-response, jwt-validation]",
        )
        .into()),
    }
}

fn groups_before_contains(a: &Action, i: usize, arn: &str) -> bool {
    a.forward_config
        .as_ref()
        .map(|f| f.target_groups.iter().take(i).any(|g| g.target_group_arn.as_deref() == Some(arn)))
        .unwrap_or(false)
}

/// A target group may be used by one load balancer only, must be in its VPC, and must be one an
/// application load balancer can forward to.
fn check_target_group(
    cx: &Ctx<'_>,
    tg: &TargetGroup,
    load_balancer_arn: &str,
    lb_vpc_id: Option<&str>,
) -> Result<(), ApiError> {
    if let (Some(lb_vpc), Some(tg_vpc)) = (lb_vpc_id, tg.vpc_id.as_deref())
        && lb_vpc != tg_vpc
    {
        return Err(Elbv2Error::InvalidConfigurationRequest(format!(
            "The VPC ID '{tg_vpc}' of target group '{}' does not match the VPC ID '{lb_vpc}' of the load balancer",
            tg.target_group_arn
        ))
        .into());
    }
    if matches!(tg.protocol.as_deref(), Some("TCP" | "UDP" | "TLS" | "TCP_UDP" | "GENEVE")) {
        return Err(Elbv2Error::IncompatibleProtocols(format!(
            "The target group '{}' has a protocol ({}) that is not compatible with an application load balancer",
            tg.target_group_arn,
            tg.protocol.as_deref().unwrap_or_default()
        ))
        .into());
    }
    let others: Vec<String> = target_group::load_balancer_arns(cx, &tg.target_group_arn)?
        .into_iter()
        .filter(|arn| arn != load_balancer_arn)
        .collect();
    if !others.is_empty() {
        return Err(Elbv2Error::TargetGroupAssociationLimit(tg.target_group_arn.clone()).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(arn: &str) -> Action {
        Action {
            kind: "forward".into(),
            target_group_arn: Some(arn.into()),
            order: Some(1),
            redirect_config: None,
            fixed_response_config: None,
            forward_config: None,
        }
    }

    #[test]
    fn target_group_arns_from_both_spellings() {
        let mut a = forward("a");
        a.forward_config = Some(ForwardConfig {
            target_groups: vec![
                TargetGroupTuple { target_group_arn: Some("a".into()), weight: Some(1) },
                TargetGroupTuple { target_group_arn: Some("b".into()), weight: Some(0) },
            ],
            target_group_stickiness_config: None,
        });
        assert_eq!(a.target_group_arns(), vec!["a", "b"]);
        assert_eq!(target_group_arns(&[a.clone(), forward("c"), forward("a")]), vec!["a", "b", "c"]);
        assert!(a.is_terminal());
    }
}
