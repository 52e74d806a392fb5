//! Target groups and their registrations: CreateTargetGroup, DescribeTargetGroups,
//! ModifyTargetGroup, DeleteTargetGroup, Describe/ModifyTargetGroupAttributes, RegisterTargets,
//! DeregisterTargets.
//!
//! # Used by other services
//! The ECS scheduler registers task IPs with [`register_targets`], deregisters them with
//! [`deregister_targets`] before stopping a task and waits until [`is_registered`] is false (the
//! target drained). It checks a service's target group with [`find`] and [`load_balancer_arns`].
//!
//! # Registrations
//! Registrations are kept inside the group. A deregistered target stays registered, `draining`,
//! until the data plane reports it drained (no request in flight) or the group's deregistration
//! delay passes ([`crate::reconcile::routing_snapshot`] removes it then). A target of a group no
//! load balancer uses has nothing to drain and is removed at once.

use std::net::{IpAddr, Ipv4Addr};

use model::health::TargetKey;
use serde::{Deserialize, Serialize};

use super::attributes::{self, Attribute};
use super::error::Elbv2Error;
use super::rule::Rule;
use super::tags::{self, Tag};
use crate::api::ApiError;
use crate::ec2;
use crate::store::Resource;
use crate::{Ctx, ids};

/// AWS's limit of targets per target group.
pub const MAX_TARGETS: usize = 1000;

/// A stored target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub target_group_arn: String,
    pub target_group_name: String,
    /// `ip`, `instance`, `lambda` or `alb`.
    pub target_type: String,
    pub protocol: Option<String>,
    /// `HTTP1`, `HTTP2` or `GRPC` for HTTP(S) groups.
    pub protocol_version: Option<String>,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    pub ip_address_type: String,
    pub health_check: HealthCheck,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<Tag>,
    /// Registered targets, in registration order (draining ones included).
    pub targets: Vec<Registration>,
}

/// A target group's health check settings, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    pub protocol: Option<String>,
    /// A port number or `traffic-port`.
    pub port: String,
    pub path: Option<String>,
    pub interval_seconds: i32,
    pub timeout_seconds: i32,
    pub healthy_threshold: i32,
    pub unhealthy_threshold: i32,
    /// `HttpCode` (`200`, `200,202`, `200-299`).
    pub matcher_http_code: Option<String>,
    /// `GrpcCode` for GRPC groups.
    pub matcher_grpc_code: Option<String>,
}

/// One registered target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: String,
    pub port: u16,
    pub availability_zone: Option<String>,
    pub registered_ms: i64,
    /// Set by DeregisterTargets: when the target started draining (ms since the epoch).
    pub deregistered_ms: Option<i64>,
    /// Set when the data plane reported the target drained (no request in flight). The
    /// deregistration is complete ([`is_registered`] is false) but, as on AWS, the API keeps
    /// showing the target `draining` until its deregistration delay has passed.
    #[serde(default)]
    pub drained: bool,
}

impl Registration {
    /// Registered and not yet done draining.
    pub fn is_live(&self) -> bool {
        !self.drained
    }
}

impl Resource for TargetGroup {
    const KIND: &'static str = "elbv2:target-group";

    fn id(&self) -> &str {
        &self.target_group_arn
    }

    fn name(&self) -> Option<&str> {
        Some(&self.target_group_name)
    }
}

impl TargetGroup {
    /// `deregistration_delay.timeout_seconds` as configured.
    pub fn deregistration_delay_seconds(&self) -> u64 {
        attributes::get_or(&self.attributes, "deregistration_delay.timeout_seconds", 300u64)
    }

    /// The registration of `(id, port)`, if any.
    pub fn registration(&self, id: &str, port: u16) -> Option<&Registration> {
        self.targets.iter().find(|r| r.id == id && r.port == port)
    }
}

/// A target as ECS (or any caller inside berth) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    pub id: String,
    pub port: u16,
    pub availability_zone: Option<String>,
}

/// Milliseconds since the epoch of the call's clock.
pub(crate) fn now_ms(cx: &Ctx<'_>) -> i64 {
    (cx.now.unix_timestamp_nanos() / 1_000_000) as i64
}

// === lookups for other services ===

/// The target group with this ARN in the call's region, if any.
pub fn find(cx: &Ctx<'_>, arn: &str) -> Result<Option<TargetGroup>, ApiError> {
    Ok(cx.get::<TargetGroup>(arn)?)
}

/// The target group with this ARN, or `TargetGroupNotFound`.
pub fn load(cx: &Ctx<'_>, arn: &str) -> Result<TargetGroup, ApiError> {
    find(cx, arn)?.ok_or_else(|| Elbv2Error::TargetGroupArnNotFound(arn.to_string()).into())
}

/// ARNs of the load balancers whose listener default actions or rules forward to this group (what
/// DescribeTargetGroups shows as `LoadBalancerArns`), in creation order.
pub fn load_balancer_arns(cx: &Ctx<'_>, target_group_arn: &str) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for rule in cx.list::<Rule>()? {
        let uses = rule.actions.iter().any(|a| a.target_group_arns().contains(&target_group_arn));
        if uses && !out.contains(&rule.load_balancer_arn) {
            out.push(rule.load_balancer_arn);
        }
    }
    Ok(out)
}

/// RegisterTargets semantics: validates every target (AWS's errors), then registers the new ones.
/// Registering a target that is already registered changes nothing, unless it is draining: then
/// it is registered afresh (health checks start over).
pub fn register_targets(cx: &Ctx<'_>, target_group_arn: &str, targets: &[TargetRef]) -> Result<(), ApiError> {
    let mut tg = load(cx, target_group_arn)?;
    let now = now_ms(cx);
    let mut fresh: Vec<TargetKey> = Vec::new();
    for t in targets {
        let (port, az) = check_target(cx, &tg, t)?;
        let key = TargetKey { target_group_arn: tg.target_group_arn.clone(), id: t.id.clone(), port };
        match tg.targets.iter_mut().find(|r| r.id == t.id && r.port == port) {
            Some(r) if r.deregistered_ms.is_some() => {
                r.deregistered_ms = None;
                r.drained = false;
                r.registered_ms = now;
                r.availability_zone = az;
                fresh.push(key);
            }
            Some(_) => {}
            None => {
                tg.targets.push(Registration {
                    id: t.id.clone(),
                    port,
                    availability_zone: az,
                    registered_ms: now,
                    deregistered_ms: None,
                    drained: false,
                });
                fresh.push(key);
            }
        }
    }
    if tg.targets.len() > MAX_TARGETS {
        return Err(Elbv2Error::TooManyTargets(tg.target_group_name).into());
    }
    cx.put(&tg)?;
    // A new registration starts `initial`: forget what the data plane said about an earlier one
    // with the same address (a replacement task often gets the address its predecessor had).
    if let Ok(mut health) = cx.cloud.live.target_health.write() {
        for key in &fresh {
            health.remove(key);
        }
    }
    Ok(())
}

/// DeregisterTargets semantics: each target starts draining for the group's deregistration delay
/// (or is removed at once when no load balancer uses the group). A target that is not registered
/// is ignored here; the DeregisterTargets operation refuses it first.
pub fn deregister_targets(
    cx: &Ctx<'_>,
    target_group_arn: &str,
    targets: &[TargetRef],
) -> Result<(), ApiError> {
    let mut tg = load(cx, target_group_arn)?;
    let in_use = !load_balancer_arns(cx, target_group_arn)?.is_empty();
    let now = now_ms(cx);
    for t in targets {
        let port = if t.port == 0 { tg.port.unwrap_or(0) } else { t.port };
        if in_use {
            if let Some(r) = tg.targets.iter_mut().find(|r| r.id == t.id && r.port == port)
                && r.deregistered_ms.is_none()
            {
                r.deregistered_ms = Some(now);
            }
        } else {
            tg.targets.retain(|r| !(r.id == t.id && r.port == port));
        }
    }
    cx.put(&tg)?;
    Ok(())
}

/// Whether `(id, port)` is still registered in the group, including while draining. False once
/// draining finished (the data plane reported it drained, or its delay passed) and when the
/// group does not exist.
pub fn is_registered(cx: &Ctx<'_>, target_group_arn: &str, id: &str, port: u16) -> Result<bool, ApiError> {
    Ok(find(cx, target_group_arn)?
        .is_some_and(|tg| tg.registration(id, port).is_some_and(Registration::is_live)))
}

/// Marks a draining registration drained (the data plane reported no request in flight). It
/// stays visible as `draining` until the routing reconciler removes it when its deregistration
/// delay has passed. Returns whether something changed.
pub fn finish_draining(cx: &Ctx<'_>, target_group_arn: &str, id: &str, port: u16) -> Result<bool, ApiError> {
    let Some(mut tg) = find(cx, target_group_arn)? else {
        return Ok(false);
    };
    let Some(r) = tg
        .targets
        .iter_mut()
        .find(|r| r.id == id && r.port == port && r.deregistered_ms.is_some() && !r.drained)
    else {
        return Ok(false);
    };
    r.drained = true;
    cx.put(&tg)?;
    Ok(true)
}

/// The port a target is registered on and its Availability Zone, after AWS's checks.
fn check_target(cx: &Ctx<'_>, tg: &TargetGroup, t: &TargetRef) -> Result<(u16, Option<String>), ApiError> {
    let port = if t.port == 0 {
        tg.port.ok_or_else(|| {
            Elbv2Error::Validation(format!("A port must be specified for target '{}'", t.id))
        })?
    } else {
        t.port
    };
    match tg.target_type.as_str() {
        "ip" => {
            let ip: IpAddr = t.id.parse().map_err(|_| {
                Elbv2Error::InvalidTarget(format!("The IP address '{}' is not a valid IPv4 address", t.id))
            })?;
            let IpAddr::V4(v4) = ip else {
                return Err(Elbv2Error::InvalidTarget(format!(
                    "The IP address '{}' is not valid for a target group with IP address type 'ipv4'",
                    t.id
                ))
                .into());
            };
            let vpc_id = tg.vpc_id.clone().unwrap_or_default();
            let vpc = ec2::vpc::find(cx, &vpc_id)?;
            let in_vpc = vpc.as_ref().is_some_and(|v| cidr_contains(&v.cidr_block, v4));
            if in_vpc {
                let subnet_az = ec2_subnet_az(cx, &vpc_id, v4)?;
                match (&t.availability_zone, subnet_az) {
                    (Some(az), _) if az == "all" => Err(Elbv2Error::InvalidTarget(format!(
                        "The Availability Zone 'all' is not valid for IP address '{}', which is within the target group's VPC",
                        t.id
                    ))
                    .into()),
                    (Some(az), Some(subnet_az)) if *az != subnet_az => Err(Elbv2Error::InvalidTarget(format!(
                        "The IP address '{}' is in Availability Zone '{subnet_az}', not '{az}'",
                        t.id
                    ))
                    .into()),
                    (Some(az), _) => Ok((port, Some(az.clone()))),
                    (None, subnet_az) => Ok((port, subnet_az)),
                }
            } else if is_private(v4) {
                match t.availability_zone.as_deref() {
                    Some("all") => Ok((port, Some("all".into()))),
                    _ => Err(Elbv2Error::Validation(format!(
                        "The IP address '{}' is outside the target group's VPC, so the Availability Zone must be 'all'",
                        t.id
                    ))
                    .into()),
                }
            } else {
                Err(Elbv2Error::InvalidTarget(format!(
                    "The IP address '{}' is not within the VPC's CIDR or a private address range (RFC 1918, RFC 6598)",
                    t.id
                ))
                .into())
            }
        }
        "instance" => Err(Elbv2Error::InvalidTarget(format!(
            "The following targets are not valid instances: '{}' (berth runs no EC2 instances; use a target group with target type 'ip')",
            t.id
        ))
        .into()),
        other => Err(Elbv2Error::InvalidTarget(format!(
            "berth does not support registering targets in target groups of type '{other}'"
        ))
        .into()),
    }
}

/// The Availability Zone of the VPC subnet that holds `ip`, if one does.
fn ec2_subnet_az(cx: &Ctx<'_>, vpc_id: &str, ip: Ipv4Addr) -> Result<Option<String>, ApiError> {
    for s in cx.children::<ec2::subnet::Subnet>(vpc_id)? {
        if cidr_contains(&s.cidr_block, ip) {
            return Ok(Some(s.availability_zone));
        }
    }
    Ok(None)
}

/// Whether the IPv4 CIDR `cidr` holds `ip` (false for a malformed CIDR).
fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    cidr.parse::<ipnet::Ipv4Net>().is_ok_and(|n| n.contains(&ip))
}

/// RFC 1918 and RFC 6598 addresses (what an `ip` target outside the VPC may be).
fn is_private(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private() || (a == 100 && (64..128).contains(&b))
}

// === validation ===

fn validate_name(name: &str) -> Result<(), Elbv2Error> {
    if name.is_empty() || name.len() > 32 {
        return Err(Elbv2Error::Validation(format!(
            "Target group name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Elbv2Error::Validation(format!(
            "Target group name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(Elbv2Error::Validation(format!(
            "Target group name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

const PROTOCOLS: &[&str] = &["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"];

fn is_http(protocol: Option<&str>) -> bool {
    matches!(protocol, Some("HTTP" | "HTTPS"))
}

/// Checks the health check settings of a group after defaults are applied.
fn validate_health_check(hc: &HealthCheck, protocol: Option<&str>) -> Result<(), Elbv2Error> {
    if let Some(p) = &hc.protocol {
        if !["HTTP", "HTTPS", "TCP"].contains(&p.as_str()) {
            return Err(Elbv2Error::constraint(
                p,
                "healthCheckProtocol",
                "Member must satisfy enum value set: [HTTP, HTTPS, TCP]",
            ));
        }
        if is_http(protocol) && p == "TCP" {
            return Err(Elbv2Error::InvalidConfigurationRequest(format!(
                "Health check protocol '{p}' is not supported for target groups with the {} protocol",
                protocol.unwrap_or_default()
            )));
        }
    }
    if hc.port != "traffic-port" && !hc.port.parse::<u16>().is_ok_and(|p| p >= 1) {
        return Err(Elbv2Error::Validation(format!(
            "Health check port '{}' must be 'traffic-port' or a number between 1 and 65535",
            hc.port
        )));
    }
    if !(5..=300).contains(&hc.interval_seconds) {
        return Err(Elbv2Error::constraint(
            hc.interval_seconds,
            "healthCheckIntervalSeconds",
            "Member must have value between 5 and 300",
        ));
    }
    if !(2..=120).contains(&hc.timeout_seconds) {
        return Err(Elbv2Error::constraint(
            hc.timeout_seconds,
            "healthCheckTimeoutSeconds",
            "Member must have value between 2 and 120",
        ));
    }
    if hc.timeout_seconds >= hc.interval_seconds {
        return Err(Elbv2Error::InvalidConfigurationRequest(format!(
            "Health check timeout '{}' must be smaller than the interval '{}'",
            hc.timeout_seconds, hc.interval_seconds
        )));
    }
    for (v, field) in
        [(hc.healthy_threshold, "healthyThresholdCount"), (hc.unhealthy_threshold, "unhealthyThresholdCount")]
    {
        if !(2..=10).contains(&v) {
            return Err(Elbv2Error::constraint(v, field, "Member must have value between 2 and 10"));
        }
    }
    if let Some(path) = &hc.path {
        if !path.starts_with('/') {
            return Err(Elbv2Error::Validation(format!("Health check path '{path}' must begin with '/'")));
        }
        if path.len() > 1024 {
            return Err(Elbv2Error::constraint(
                path,
                "healthCheckPath",
                "Member must have length less than or equal to 1024",
            ));
        }
    }
    if let Some(code) = &hc.matcher_http_code {
        validate_http_matcher(code)?;
    }
    Ok(())
}

/// `200`, `200,202`, `200-299`: codes 200..=499.
pub fn validate_http_matcher(code: &str) -> Result<(), Elbv2Error> {
    let bad = || {
        Elbv2Error::InvalidConfigurationRequest(format!(
            "Matcher HttpCode '{code}' must be HTTP codes between 200 and 499, as a single code ('200'), a list ('200,202') or a range ('200-299')"
        ))
    };
    let in_range = |s: &str| s.trim().parse::<u16>().is_ok_and(|c| (200..=499).contains(&c));
    if code.is_empty() {
        return Err(bad());
    }
    if let Some((a, b)) = code.split_once('-') {
        if !in_range(a) || !in_range(b) || a.trim().parse::<u16>().ok() > b.trim().parse::<u16>().ok() {
            return Err(bad());
        }
        return Ok(());
    }
    if code.split(',').all(in_range) { Ok(()) } else { Err(bad()) }
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Matcher {
    #[serde(skip_serializing_if = "Option::is_none")]
    http_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grpc_code: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupOut {
    target_group_arn: String,
    target_group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_protocol: Option<String>,
    health_check_port: String,
    health_check_enabled: bool,
    health_check_interval_seconds: i32,
    health_check_timeout_seconds: i32,
    healthy_threshold_count: i32,
    unhealthy_threshold_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matcher: Option<Matcher>,
    load_balancer_arns: Vec<String>,
    target_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol_version: Option<String>,
    ip_address_type: String,
}

pub fn target_group_out(cx: &Ctx<'_>, tg: &TargetGroup) -> Result<TargetGroupOut, ApiError> {
    let hc = &tg.health_check;
    let matcher = (hc.matcher_http_code.is_some() || hc.matcher_grpc_code.is_some()).then(|| Matcher {
        http_code: hc.matcher_http_code.clone(),
        grpc_code: hc.matcher_grpc_code.clone(),
    });
    Ok(TargetGroupOut {
        target_group_arn: tg.target_group_arn.clone(),
        target_group_name: tg.target_group_name.clone(),
        protocol: tg.protocol.clone(),
        port: tg.port,
        vpc_id: tg.vpc_id.clone(),
        health_check_protocol: hc.protocol.clone(),
        health_check_port: hc.port.clone(),
        health_check_enabled: hc.enabled,
        health_check_interval_seconds: hc.interval_seconds,
        health_check_timeout_seconds: hc.timeout_seconds,
        healthy_threshold_count: hc.healthy_threshold,
        unhealthy_threshold_count: hc.unhealthy_threshold,
        health_check_path: hc.path.clone(),
        matcher,
        load_balancer_arns: load_balancer_arns(cx, &tg.target_group_arn)?,
        target_type: tg.target_type.clone(),
        protocol_version: tg.protocol_version.clone(),
        ip_address_type: tg.ip_address_type.clone(),
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupsOutput {
    target_groups: Vec<TargetGroupOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

// === operations ===

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatcherInput {
    http_code: Option<String>,
    grpc_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTargetGroupInput {
    name: String,
    protocol: Option<String>,
    protocol_version: Option<String>,
    port: Option<i64>,
    vpc_id: Option<String>,
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_path: Option<String>,
    health_check_interval_seconds: Option<i32>,
    health_check_timeout_seconds: Option<i32>,
    healthy_threshold_count: Option<i32>,
    unhealthy_threshold_count: Option<i32>,
    matcher: Option<MatcherInput>,
    target_type: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    ip_address_type: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.is_empty())
}

pub fn create_target_group(
    cx: &Ctx<'_>,
    input: CreateTargetGroupInput,
) -> Result<TargetGroupsOutput, ApiError> {
    validate_name(&input.name)?;
    tags::validate(&input.tags)?;
    let target_type = input.target_type.unwrap_or_else(|| "instance".into());
    if !["instance", "ip", "lambda", "alb"].contains(&target_type.as_str()) {
        return Err(Elbv2Error::constraint(
            &target_type,
            "targetType",
            "Member must satisfy enum value set: [instance, alb, ip, lambda]",
        )
        .into());
    }
    let lambda = target_type == "lambda";
    let protocol = non_empty(input.protocol);
    let port = match input.port {
        Some(p) if !(1..=65535).contains(&p) => {
            return Err(
                Elbv2Error::constraint(p, "port", "Member must have value between 1 and 65535").into()
            );
        }
        p => p.map(|p| p as u16),
    };
    let vpc_id = non_empty(input.vpc_id);
    if let Some(p) = &protocol
        && !PROTOCOLS.contains(&p.as_str())
    {
        return Err(Elbv2Error::constraint(
            p,
            "protocol",
            "Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE]",
        )
        .into());
    }
    if lambda {
        if protocol.is_some() || port.is_some() || vpc_id.is_some() {
            return Err(Elbv2Error::Validation(
                "A protocol, port, and VPC ID cannot be specified for target groups with target type 'lambda'".into(),
            )
            .into());
        }
    } else {
        if protocol.is_none() {
            return Err(Elbv2Error::Validation(format!(
                "A protocol must be specified for target groups with target type '{target_type}'"
            ))
            .into());
        }
        if port.is_none() {
            return Err(Elbv2Error::Validation(format!(
                "A port must be specified for target groups with target type '{target_type}'"
            ))
            .into());
        }
        if vpc_id.is_none() {
            return Err(Elbv2Error::Validation(format!(
                "A VPC ID must be specified for target groups with target type '{target_type}'"
            ))
            .into());
        }
    }
    if let Some(v) = &vpc_id
        && ec2::vpc::find(cx, v)?.is_none()
    {
        return Err(Elbv2Error::Validation(format!("The VPC ID '{v}' is not found")).into());
    }
    let http = is_http(protocol.as_deref());
    let protocol_version = match non_empty(input.protocol_version) {
        Some(v) if !http => {
            return Err(Elbv2Error::InvalidConfigurationRequest(format!(
                "Protocol version '{v}' is only supported for target groups with the HTTP or HTTPS protocol"
            ))
            .into());
        }
        Some(v) if !["HTTP1", "HTTP2", "GRPC"].contains(&v.to_ascii_uppercase().as_str()) => {
            return Err(Elbv2Error::Validation(format!("Protocol version '{v}' is not valid")).into());
        }
        Some(v) => Some(v.to_ascii_uppercase()),
        None if http => Some("HTTP1".into()),
        None => None,
    };
    let grpc = protocol_version.as_deref() == Some("GRPC");
    let hc_protocol = non_empty(input.health_check_protocol).or_else(|| {
        if lambda {
            None
        } else if http {
            Some(protocol.clone().unwrap_or_else(|| "HTTP".into()))
        } else {
            Some("TCP".into())
        }
    });
    let hc_http = matches!(hc_protocol.as_deref(), Some("HTTP" | "HTTPS")) || lambda;
    let matcher = input.matcher.unwrap_or_default();
    let health_check = HealthCheck {
        enabled: input.health_check_enabled.unwrap_or(!lambda),
        port: non_empty(input.health_check_port).unwrap_or_else(|| "traffic-port".into()),
        path: non_empty(input.health_check_path)
            .or_else(|| if grpc { Some("/AWS.ALB/healthcheck".into()) } else { hc_http.then(|| "/".into()) }),
        interval_seconds: input.health_check_interval_seconds.unwrap_or(if lambda { 35 } else { 30 }),
        timeout_seconds: input.health_check_timeout_seconds.unwrap_or(match (lambda, http, hc_http) {
            (true, _, _) => 30,
            (false, true, _) => 5,
            (false, false, true) => 6,
            (false, false, false) => 10,
        }),
        healthy_threshold: input.healthy_threshold_count.unwrap_or(5),
        unhealthy_threshold: input.unhealthy_threshold_count.unwrap_or(2),
        matcher_http_code: if grpc {
            None
        } else {
            non_empty(matcher.http_code).or_else(|| hc_http.then(|| "200".into()))
        },
        matcher_grpc_code: if grpc {
            non_empty(matcher.grpc_code).or_else(|| Some("12".into()))
        } else {
            None
        },
        protocol: hc_protocol,
    };
    validate_health_check(&health_check, protocol.as_deref())?;
    let ip_address_type = input.ip_address_type.unwrap_or_else(|| "ipv4".into());
    if ip_address_type != "ipv4" && ip_address_type != "ipv6" {
        return Err(Elbv2Error::constraint(
            &ip_address_type,
            "ipAddressType",
            "Member must satisfy enum value set: [ipv6, ipv4]",
        )
        .into());
    }

    if let Some(existing) = cx.by_name::<TargetGroup>(&input.name)?.into_iter().next() {
        let same = existing.target_type == target_type
            && existing.protocol == protocol
            && existing.port == port
            && existing.vpc_id == vpc_id
            && existing.health_check == health_check;
        if same {
            return Ok(TargetGroupsOutput {
                target_groups: vec![target_group_out(cx, &existing)?],
                next_marker: None,
            });
        }
        return Err(Elbv2Error::DuplicateTargetGroupName(input.name).into());
    }
    let tg = TargetGroup {
        target_group_arn: cx
            .arn("elasticloadbalancing", &format!("targetgroup/{}/{}", input.name, ids::hex(16))),
        target_group_name: input.name,
        attributes: attributes::target_group_defaults(&target_type),
        target_type,
        protocol,
        protocol_version,
        port,
        vpc_id,
        ip_address_type,
        health_check,
        tags: input.tags,
        targets: Vec::new(),
    };
    cx.put(&tg)?;
    Ok(TargetGroupsOutput { target_groups: vec![target_group_out(cx, &tg)?], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTargetGroupsInput {
    load_balancer_arn: Option<String>,
    #[serde(default)]
    target_group_arns: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    marker: Option<String>,
    page_size: Option<i64>,
}

pub fn describe_target_groups(
    cx: &Ctx<'_>,
    input: DescribeTargetGroupsInput,
) -> Result<TargetGroupsOutput, ApiError> {
    let selectors = usize::from(input.load_balancer_arn.is_some())
        + usize::from(!input.target_group_arns.is_empty())
        + usize::from(!input.names.is_empty());
    if selectors > 1 {
        return Err(Elbv2Error::Validation(
            "Only one of load balancer ARN, target group ARNs, or names can be specified".into(),
        )
        .into());
    }
    let groups: Vec<TargetGroup> = if !input.target_group_arns.is_empty() {
        let mut out = Vec::new();
        for arn in &input.target_group_arns {
            out.push(find(cx, arn)?.ok_or(Elbv2Error::TargetGroupNotFound)?);
        }
        out
    } else if !input.names.is_empty() {
        let mut out = Vec::new();
        for name in &input.names {
            let tg =
                cx.by_name::<TargetGroup>(name)?.into_iter().next().ok_or(Elbv2Error::TargetGroupNotFound)?;
            out.push(tg);
        }
        out
    } else if let Some(lb) = &input.load_balancer_arn {
        if cx.get::<super::load_balancer::LoadBalancer>(lb)?.is_none() {
            return Err(Elbv2Error::LoadBalancerNotFound.into());
        }
        let mut out = Vec::new();
        for tg in cx.list::<TargetGroup>()? {
            if load_balancer_arns(cx, &tg.target_group_arn)?.contains(lb) {
                out.push(tg);
            }
        }
        out
    } else {
        cx.list::<TargetGroup>()?
    };
    let (page, next_marker) = super::page(&groups, input.marker.as_deref(), input.page_size)?;
    let mut target_groups = Vec::with_capacity(page.len());
    for tg in page {
        target_groups.push(target_group_out(cx, tg)?);
    }
    Ok(TargetGroupsOutput { target_groups, next_marker })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyTargetGroupInput {
    target_group_arn: String,
    health_check_protocol: Option<String>,
    health_check_port: Option<String>,
    health_check_path: Option<String>,
    health_check_enabled: Option<bool>,
    health_check_interval_seconds: Option<i32>,
    health_check_timeout_seconds: Option<i32>,
    healthy_threshold_count: Option<i32>,
    unhealthy_threshold_count: Option<i32>,
    matcher: Option<MatcherInput>,
}

pub fn modify_target_group(
    cx: &Ctx<'_>,
    input: ModifyTargetGroupInput,
) -> Result<TargetGroupsOutput, ApiError> {
    let mut tg = load(cx, &input.target_group_arn)?;
    let hc = &mut tg.health_check;
    if let Some(v) = non_empty(input.health_check_protocol) {
        if matches!(v.as_str(), "HTTP" | "HTTPS") && hc.path.is_none() {
            hc.path = Some("/".into());
        }
        hc.protocol = Some(v);
    }
    if let Some(v) = non_empty(input.health_check_port) {
        hc.port = v;
    }
    if let Some(v) = non_empty(input.health_check_path) {
        hc.path = Some(v);
    }
    if let Some(v) = input.health_check_enabled {
        hc.enabled = v;
    }
    if let Some(v) = input.health_check_interval_seconds {
        hc.interval_seconds = v;
    }
    if let Some(v) = input.health_check_timeout_seconds {
        hc.timeout_seconds = v;
    }
    if let Some(v) = input.healthy_threshold_count {
        hc.healthy_threshold = v;
    }
    if let Some(v) = input.unhealthy_threshold_count {
        hc.unhealthy_threshold = v;
    }
    if let Some(m) = input.matcher {
        if let Some(c) = non_empty(m.http_code) {
            hc.matcher_http_code = Some(c);
        }
        if let Some(c) = non_empty(m.grpc_code) {
            hc.matcher_grpc_code = Some(c);
        }
    }
    validate_health_check(&tg.health_check, tg.protocol.as_deref())?;
    cx.put(&tg)?;
    Ok(TargetGroupsOutput { target_groups: vec![target_group_out(cx, &tg)?], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetGroupArnInput {
    target_group_arn: String,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn delete_target_group(cx: &Ctx<'_>, input: TargetGroupArnInput) -> Result<Empty, ApiError> {
    if find(cx, &input.target_group_arn)?.is_none() {
        return Ok(Empty {});
    }
    if !load_balancer_arns(cx, &input.target_group_arn)?.is_empty() {
        return Err(Elbv2Error::TargetGroupInUse(input.target_group_arn).into());
    }
    cx.delete::<TargetGroup>(&input.target_group_arn)?;
    Ok(Empty {})
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    attributes: Vec<Attribute>,
}

pub fn describe_target_group_attributes(
    cx: &Ctx<'_>,
    input: TargetGroupArnInput,
) -> Result<AttributesOutput, ApiError> {
    let tg = load(cx, &input.target_group_arn)?;
    Ok(AttributesOutput { attributes: tg.attributes })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyTargetGroupAttributesInput {
    target_group_arn: String,
    attributes: Vec<Attribute>,
}

pub fn modify_target_group_attributes(
    cx: &Ctx<'_>,
    input: ModifyTargetGroupAttributesInput,
) -> Result<AttributesOutput, ApiError> {
    let mut tg = load(cx, &input.target_group_arn)?;
    let owner = attributes::Owner::TargetGroup { target_type: &tg.target_type.clone() };
    attributes::modify(owner, &mut tg.attributes, &input.attributes)?;
    cx.put(&tg)?;
    Ok(AttributesOutput { attributes: tg.attributes })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetDescription {
    pub id: String,
    pub port: Option<i64>,
    pub availability_zone: Option<String>,
}

impl TargetDescription {
    pub(super) fn to_ref(&self) -> Result<TargetRef, Elbv2Error> {
        let port = match self.port {
            None => 0,
            Some(p) if (1..=65535).contains(&p) => p as u16,
            Some(p) => {
                return Err(Elbv2Error::constraint(
                    p,
                    "targets.member.port",
                    "Member must have value between 1 and 65535",
                ));
            }
        };
        Ok(TargetRef { id: self.id.clone(), port, availability_zone: self.availability_zone.clone() })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetsInput {
    target_group_arn: String,
    targets: Vec<TargetDescription>,
}

pub fn register_targets_op(cx: &Ctx<'_>, input: TargetsInput) -> Result<Empty, ApiError> {
    let refs = input.targets.iter().map(TargetDescription::to_ref).collect::<Result<Vec<_>, _>>()?;
    register_targets(cx, &input.target_group_arn, &refs)?;
    Ok(Empty {})
}

pub fn deregister_targets_op(cx: &Ctx<'_>, input: TargetsInput) -> Result<Empty, ApiError> {
    let tg = load(cx, &input.target_group_arn)?;
    let refs = input.targets.iter().map(TargetDescription::to_ref).collect::<Result<Vec<_>, _>>()?;
    let missing: Vec<String> = refs
        .iter()
        .filter(|t| {
            let port = if t.port == 0 { tg.port.unwrap_or(0) } else { t.port };
            tg.registration(&t.id, port).is_none()
        })
        .map(|t| t.id.clone())
        .collect();
    if !missing.is_empty() {
        return Err(Elbv2Error::InvalidTarget(format!(
            "The following targets are not registered in target group '{}': '{}'",
            tg.target_group_arn,
            missing.join("', '")
        ))
        .into());
    }
    deregister_targets(cx, &input.target_group_arn, &refs)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("user-svc-tg").is_ok());
        assert!(validate_name("-x").is_err());
        assert!(validate_name("a_b").is_err());
        assert!(validate_name(&"a".repeat(33)).is_err());
    }

    #[test]
    fn matchers() {
        for ok in ["200", "200,202", "200-299", "404", "200-499"] {
            assert!(validate_http_matcher(ok).is_ok(), "{ok}");
        }
        for bad in ["", "199", "500", "299-200", "abc", "200-"] {
            assert!(validate_http_matcher(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_ranges() {
        assert!(is_private("10.1.2.3".parse().unwrap()));
        assert!(is_private("172.16.0.1".parse().unwrap()));
        assert!(is_private("100.64.0.1".parse().unwrap()));
        assert!(!is_private("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn health_check_bounds() {
        let hc = HealthCheck {
            enabled: true,
            protocol: Some("HTTP".into()),
            port: "traffic-port".into(),
            path: Some("/".into()),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher_http_code: Some("200".into()),
            matcher_grpc_code: None,
        };
        assert!(validate_health_check(&hc, Some("HTTP")).is_ok());
        let bad = HealthCheck { timeout_seconds: 30, ..hc.clone() };
        assert_eq!(
            validate_health_check(&bad, Some("HTTP")).unwrap_err().code(),
            "InvalidConfigurationRequest"
        );
        let bad = HealthCheck { healthy_threshold: 11, ..hc.clone() };
        assert_eq!(validate_health_check(&bad, Some("HTTP")).unwrap_err().code(), "ValidationError");
        let bad = HealthCheck { protocol: Some("TCP".into()), ..hc.clone() };
        assert!(validate_health_check(&bad, Some("HTTP")).is_err());
        let bad = HealthCheck { port: "0".into(), ..hc };
        assert!(validate_health_check(&bad, Some("HTTP")).is_err());
    }
}
