//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! Describe/ModifyLoadBalancerAttributes, DescribeCapacityReservation, SetSecurityGroups,
//! SetSubnets.
//!
//! # What a load balancer is in berth
//! - Its DNS name is `<name>-<10 digits>.<region>.elb.localhost` (`internal-` in front for an
//!   internal one): curl and browsers resolve every `*.localhost` name to loopback, so the name
//!   opens the load balancer when the listener's port is served on 127.0.0.1. Its
//!   `CanonicalHostedZoneId` is AWS's for application load balancers in the region.
//! - It owns one managed network interface per subnet (owner `amazon-elb`, description
//!   `ELB app/<name>/<id>`), visible in EC2 DescribeNetworkInterfaces until the load balancer is
//!   deleted.
//! - It is `provisioning` when created and `active` one second later (computed from its creation
//!   time whenever it is read); only active load balancers are routed.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::attributes::{self, Attribute};
use super::error::Elbv2Error;
use super::listener::Listener;
use super::rule::Rule;
use super::tags::{self, Tag};
use super::target_group::now_ms;
use crate::api::ApiError;
use crate::ec2;
use crate::ec2::network_interface::ManagedInterface;
use crate::store::Resource;
use crate::{Ctx, ids, iso8601};

/// How long a new load balancer stays `provisioning`.
pub const PROVISIONING_MS: i64 = 1000;

/// A stored load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub load_balancer_arn: String,
    pub load_balancer_name: String,
    /// `<name>-<10 digits>.<region>.elb.localhost`.
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
    /// ISO 8601, as the API returns it.
    pub created_time: String,
    /// Milliseconds since the epoch (the state turns `active` [`PROVISIONING_MS`] after this).
    pub created_ms: i64,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    pub vpc_id: String,
    /// `application`.
    pub lb_type: String,
    pub ip_address_type: String,
    /// One per subnet, with the managed interface berth created in it.
    pub zones: Vec<Zone>,
    pub security_groups: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<Tag>,
}

/// A subnet the load balancer is in, and its interface there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub subnet_id: String,
    pub zone_name: String,
    pub network_interface_id: String,
}

impl Resource for LoadBalancer {
    const KIND: &'static str = "elbv2:load-balancer";

    fn id(&self) -> &str {
        &self.load_balancer_arn
    }

    fn name(&self) -> Option<&str> {
        Some(&self.load_balancer_name)
    }
}

impl LoadBalancer {
    /// `active` once [`PROVISIONING_MS`] passed since creation, else `provisioning`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        now_ms - self.created_ms >= PROVISIONING_MS
    }

    /// The `<16 hex>` id at the end of the ARN.
    pub fn id_part(&self) -> &str {
        crate::arn::last_segment(&self.load_balancer_arn)
    }

    /// `ELB app/<name>/<id>`: the description of the load balancer's network interfaces.
    pub fn interface_description(&self) -> String {
        format!("ELB app/{}/{}", self.load_balancer_name, self.id_part())
    }
}

/// AWS's hosted zone of application load balancers in `region` (Route 53 alias targets). Regions
/// berth does not know fall back to us-east-1's.
pub fn canonical_hosted_zone_id(region: &str) -> &'static str {
    match region {
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "ca-central-1" => "ZQSVJUPU6J1EY",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-west-2" => "ZHURV8PSTC4K8",
        "eu-west-3" => "Z3Q77PNBQS71R4",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        "ap-northeast-2" => "ZWKZPGTI48KDX",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-southeast-2" => "Z1GM3OXH4ZPM65",
        "ap-south-1" => "ZP97RAFLXTNZK",
        "sa-east-1" => "Z2P70J7HTTTPLU",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// `<name>-<digits>.<region>.elb.localhost`, `internal-` in front for internal load balancers.
pub fn dns_name(name: &str, digits: &str, region: &str, scheme: &str) -> String {
    let prefix = if scheme == "internal" { "internal-" } else { "" };
    format!("{prefix}{name}-{digits}.{region}.elb.localhost")
}

/// Ten random decimal digits (the number in an ALB's DNS name).
fn dns_digits() -> String {
    let n = u64::from_str_radix(&ids::hex(15), 16).unwrap_or(0) % 10_000_000_000;
    format!("{n:010}")
}

/// The load balancer with this ARN, or `LoadBalancerNotFound`.
pub fn load(cx: &Ctx<'_>, arn: &str) -> Result<LoadBalancer, ApiError> {
    cx.get::<LoadBalancer>(arn)?.ok_or_else(|| Elbv2Error::LoadBalancerNotFound.into())
}

// === validation ===

fn validate_name(name: &str) -> Result<(), Elbv2Error> {
    if name.is_empty() || name.len() > 32 {
        return Err(Elbv2Error::Validation(format!(
            "The load balancer name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Elbv2Error::Validation(format!(
            "The load balancer name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(Elbv2Error::Validation(format!(
            "The load balancer name '{name}' cannot begin or end with '-'"
        )));
    }
    if name.starts_with("internal-") {
        return Err(Elbv2Error::Validation(format!(
            "The load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

/// The subnets of a load balancer, checked: each exists, all in one VPC, at most one per
/// Availability Zone, at least two zones. Returns the subnets and their VPC.
fn check_subnets(
    cx: &Ctx<'_>,
    subnet_ids: &[String],
) -> Result<(Vec<ec2::subnet::Subnet>, String), ApiError> {
    let mut subnets: Vec<ec2::subnet::Subnet> = Vec::new();
    for id in subnet_ids {
        if subnets.iter().any(|s| &s.subnet_id == id) {
            continue;
        }
        let s = ec2::subnet::find(cx, id)?.ok_or_else(|| Elbv2Error::SubnetNotFound(id.clone()))?;
        subnets.push(s);
    }
    let Some(vpc_id) = subnets.first().map(|s| s.vpc_id.clone()) else {
        return Err(Elbv2Error::Validation(
            "At least two subnets in two different Availability Zones must be specified".into(),
        )
        .into());
    };
    if subnets.iter().any(|s| s.vpc_id != vpc_id) {
        return Err(Elbv2Error::InvalidConfigurationRequest(
            "The subnets of a load balancer must all belong to the same VPC".into(),
        )
        .into());
    }
    let mut zones: HashSet<&str> = HashSet::new();
    for s in &subnets {
        if !zones.insert(&s.availability_zone) {
            return Err(Elbv2Error::InvalidConfigurationRequest(format!(
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone ('{}')",
                s.availability_zone
            ))
            .into());
        }
    }
    if zones.len() < 2 {
        return Err(Elbv2Error::Validation(
            "At least two subnets in two different Availability Zones must be specified".into(),
        )
        .into());
    }
    Ok((subnets, vpc_id))
}

/// The security groups of a load balancer, checked against its VPC; none given means the VPC's
/// default group, as on AWS.
fn check_security_groups(cx: &Ctx<'_>, ids: &[String], vpc_id: &str) -> Result<Vec<String>, ApiError> {
    if ids.is_empty() {
        let vpc = ec2::vpc::load(cx, vpc_id)?;
        return Ok(vec![vpc.default_security_group_id]);
    }
    if ids.len() > 5 {
        return Err(Elbv2Error::InvalidConfigurationRequest(
            "A load balancer can have at most 5 security groups".into(),
        )
        .into());
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let Some(sg) = ec2::security_group::find(cx, id)? else {
            return Err(Elbv2Error::InvalidSecurityGroup(format!(
                "One or more security groups are invalid: '{id}' does not exist"
            ))
            .into());
        };
        if sg.vpc_id != vpc_id {
            return Err(Elbv2Error::InvalidSecurityGroup(format!(
                "Security group '{id}' does not belong to VPC '{vpc_id}'"
            ))
            .into());
        }
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Creates the load balancer's interface in `subnet`.
fn create_interface(cx: &Ctx<'_>, lb: &LoadBalancer, subnet: &ec2::subnet::Subnet) -> Result<Zone, ApiError> {
    let eni = ec2::network_interface::create_managed(
        cx,
        ManagedInterface {
            subnet_id: subnet.subnet_id.clone(),
            group_ids: lb.security_groups.clone(),
            description: lb.interface_description(),
            owner: "amazon-elb".into(),
            interface_type: "interface".into(),
        },
    )
    .map_err(|e| {
        if e.code.contains("InsufficientFreeAddresses") {
            Elbv2Error::InvalidSubnet(format!("Not enough IP space available in {}", subnet.subnet_id)).into()
        } else {
            e
        }
    })?;
    Ok(Zone {
        subnet_id: subnet.subnet_id.clone(),
        zone_name: subnet.availability_zone.clone(),
        network_interface_id: eni.network_interface_id,
    })
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct StateOut {
    code: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailabilityZoneOut {
    zone_name: String,
    subnet_id: String,
    load_balancer_addresses: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancerOut {
    load_balancer_arn: String,
    #[serde(rename = "DNSName")]
    dns_name: String,
    canonical_hosted_zone_id: String,
    created_time: String,
    load_balancer_name: String,
    scheme: String,
    vpc_id: String,
    state: StateOut,
    #[serde(rename = "Type")]
    lb_type: String,
    availability_zones: Vec<AvailabilityZoneOut>,
    security_groups: Vec<String>,
    ip_address_type: String,
}

fn zones_out(lb: &LoadBalancer) -> Vec<AvailabilityZoneOut> {
    lb.zones
        .iter()
        .map(|z| AvailabilityZoneOut {
            zone_name: z.zone_name.clone(),
            subnet_id: z.subnet_id.clone(),
            load_balancer_addresses: Vec::new(),
        })
        .collect()
}

pub fn load_balancer_out(lb: &LoadBalancer, now_ms: i64) -> LoadBalancerOut {
    LoadBalancerOut {
        load_balancer_arn: lb.load_balancer_arn.clone(),
        dns_name: lb.dns_name.clone(),
        canonical_hosted_zone_id: lb.canonical_hosted_zone_id.clone(),
        created_time: lb.created_time.clone(),
        load_balancer_name: lb.load_balancer_name.clone(),
        scheme: lb.scheme.clone(),
        vpc_id: lb.vpc_id.clone(),
        state: StateOut { code: if lb.is_active(now_ms) { "active" } else { "provisioning" } },
        lb_type: lb.lb_type.clone(),
        availability_zones: zones_out(lb),
        security_groups: lb.security_groups.clone(),
        ip_address_type: lb.ip_address_type.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancersOutput {
    load_balancers: Vec<LoadBalancerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

// === operations ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubnetMapping {
    subnet_id: Option<String>,
    allocation_id: Option<String>,
    #[serde(rename = "PrivateIPv4Address")]
    private_ipv4_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateLoadBalancerInput {
    name: String,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    subnet_mappings: Vec<SubnetMapping>,
    #[serde(default)]
    security_groups: Vec<String>,
    scheme: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(rename = "Type")]
    lb_type: Option<String>,
    ip_address_type: Option<String>,
    customer_owned_ipv4_pool: Option<String>,
}

/// Subnet ids from `Subnets` or `SubnetMappings` (not both; no Elastic IPs or fixed addresses
/// for application load balancers).
fn subnet_ids(subnets: Vec<String>, mappings: Vec<SubnetMapping>) -> Result<Vec<String>, Elbv2Error> {
    if !subnets.is_empty() && !mappings.is_empty() {
        return Err(Elbv2Error::Validation("You can specify subnets or subnet mappings, not both".into()));
    }
    if subnets.is_empty() && mappings.is_empty() {
        return Err(Elbv2Error::Validation(
            "At least two subnets in two different Availability Zones must be specified".into(),
        ));
    }
    let mut out = subnets;
    for m in mappings {
        if m.allocation_id.is_some() || m.private_ipv4_address.is_some() {
            return Err(Elbv2Error::InvalidConfigurationRequest(
                "Elastic IP addresses and private IPv4 addresses cannot be specified for application load balancers"
                    .into(),
            ));
        }
        out.push(m.subnet_id.ok_or_else(|| Elbv2Error::Validation("A subnet ID must be specified".into()))?);
    }
    Ok(out)
}

pub fn create_load_balancer(
    cx: &Ctx<'_>,
    input: CreateLoadBalancerInput,
) -> Result<LoadBalancersOutput, ApiError> {
    validate_name(&input.name)?;
    tags::validate(&input.tags)?;
    let lb_type = input.lb_type.unwrap_or_else(|| "application".into());
    match lb_type.as_str() {
        "application" => {}
        "network" | "gateway" => {
            return Err(Elbv2Error::InvalidConfigurationRequest(format!(
                "berth emulates application load balancers only; load balancers of type '{lb_type}' are not supported"
            ))
            .into());
        }
        other => {
            return Err(Elbv2Error::constraint(
                other,
                "type",
                "Member must satisfy enum value set: [gateway, application, network]",
            )
            .into());
        }
    }
    let scheme = input.scheme.unwrap_or_else(|| "internet-facing".into());
    if scheme != "internet-facing" && scheme != "internal" {
        return Err(Elbv2Error::constraint(
            &scheme,
            "scheme",
            "Member must satisfy enum value set: [internal, internet-facing]",
        )
        .into());
    }
    let ip_address_type = input.ip_address_type.unwrap_or_else(|| "ipv4".into());
    if !["ipv4", "dualstack", "dualstack-without-public-ipv4"].contains(&ip_address_type.as_str()) {
        return Err(Elbv2Error::constraint(
            &ip_address_type,
            "ipAddressType",
            "Member must satisfy enum value set: [ipv4, dualstack, dualstack-without-public-ipv4]",
        )
        .into());
    }
    if input.customer_owned_ipv4_pool.is_some() {
        return Err(Elbv2Error::InvalidConfigurationRequest(
            "Customer-owned IPv4 pools are only supported on AWS Outposts".into(),
        )
        .into());
    }
    let subnet_ids = subnet_ids(input.subnets, input.subnet_mappings)?;
    let (subnets, vpc_id) = check_subnets(cx, &subnet_ids)?;
    let security_groups = check_security_groups(cx, &input.security_groups, &vpc_id)?;

    if let Some(existing) = cx.by_name::<LoadBalancer>(&input.name)?.into_iter().next() {
        let mut existing_subnets: Vec<&str> = existing.zones.iter().map(|z| z.subnet_id.as_str()).collect();
        let mut wanted: Vec<&str> = subnets.iter().map(|s| s.subnet_id.as_str()).collect();
        existing_subnets.sort_unstable();
        wanted.sort_unstable();
        let same = existing_subnets == wanted
            && existing.scheme == scheme
            && existing.security_groups == security_groups
            && existing.ip_address_type == ip_address_type;
        if same {
            return Ok(LoadBalancersOutput {
                load_balancers: vec![load_balancer_out(&existing, now_ms(cx))],
                next_marker: None,
            });
        }
        return Err(Elbv2Error::DuplicateLoadBalancerName(input.name).into());
    }

    let id = ids::hex(16);
    let mut lb = LoadBalancer {
        load_balancer_arn: cx.arn("elasticloadbalancing", &format!("loadbalancer/app/{}/{id}", input.name)),
        dns_name: dns_name(&input.name, &dns_digits(), cx.region, &scheme),
        canonical_hosted_zone_id: canonical_hosted_zone_id(cx.region).to_string(),
        load_balancer_name: input.name,
        created_time: iso8601(cx.now),
        created_ms: now_ms(cx),
        scheme,
        vpc_id,
        lb_type,
        ip_address_type,
        zones: Vec::new(),
        security_groups,
        attributes: attributes::load_balancer_defaults(),
        tags: input.tags,
    };
    for s in &subnets {
        let zone = create_interface(cx, &lb, s)?;
        lb.zones.push(zone);
    }
    cx.put(&lb)?;
    Ok(LoadBalancersOutput { load_balancers: vec![load_balancer_out(&lb, now_ms(cx))], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLoadBalancersInput {
    #[serde(default)]
    load_balancer_arns: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    marker: Option<String>,
    page_size: Option<i64>,
}

pub fn describe_load_balancers(
    cx: &Ctx<'_>,
    input: DescribeLoadBalancersInput,
) -> Result<LoadBalancersOutput, ApiError> {
    if !input.load_balancer_arns.is_empty() && !input.names.is_empty() {
        return Err(Elbv2Error::Validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time".into(),
        )
        .into());
    }
    if input.load_balancer_arns.len() > 20 || input.names.len() > 20 {
        return Err(Elbv2Error::Validation("You can specify up to 20 load balancers".into()).into());
    }
    let lbs: Vec<LoadBalancer> = if !input.load_balancer_arns.is_empty() {
        let mut out = Vec::new();
        for arn in &input.load_balancer_arns {
            out.push(load(cx, arn)?);
        }
        out
    } else if !input.names.is_empty() {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for name in &input.names {
            match cx.by_name::<LoadBalancer>(name)?.into_iter().next() {
                Some(lb) => out.push(lb),
                None => missing.push(name.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(Elbv2Error::LoadBalancersNotFound(missing).into());
        }
        out
    } else {
        cx.list::<LoadBalancer>()?
    };
    let (page, next_marker) = super::page(&lbs, input.marker.as_deref(), input.page_size)?;
    let now = now_ms(cx);
    Ok(LoadBalancersOutput {
        load_balancers: page.iter().map(|lb| load_balancer_out(lb, now)).collect(),
        next_marker,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoadBalancerArnInput {
    load_balancer_arn: String,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

/// Deletes a load balancer with its listeners, their rules and its network interfaces. Deleting
/// one that does not exist succeeds, as on AWS.
pub fn delete_load_balancer(cx: &Ctx<'_>, input: LoadBalancerArnInput) -> Result<Empty, ApiError> {
    let Some(lb) = cx.get::<LoadBalancer>(&input.load_balancer_arn)? else {
        return Ok(Empty {});
    };
    if attributes::get(&lb.attributes, "deletion_protection.enabled") == Some("true") {
        return Err(Elbv2Error::OperationNotPermitted(format!(
            "Load balancer '{}' cannot be deleted because deletion protection is enabled",
            lb.load_balancer_arn
        ))
        .into());
    }
    for l in cx.children::<Listener>(&lb.load_balancer_arn)? {
        for r in cx.children::<Rule>(&l.listener_arn)? {
            cx.delete::<Rule>(&r.rule_arn)?;
        }
        cx.delete::<Listener>(&l.listener_arn)?;
    }
    for z in &lb.zones {
        ec2::network_interface::delete_managed(cx, &z.network_interface_id)?;
    }
    cx.delete::<LoadBalancer>(&lb.load_balancer_arn)?;
    Ok(Empty {})
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    attributes: Vec<Attribute>,
}

pub fn describe_load_balancer_attributes(
    cx: &Ctx<'_>,
    input: LoadBalancerArnInput,
) -> Result<AttributesOutput, ApiError> {
    Ok(AttributesOutput { attributes: load(cx, &input.load_balancer_arn)?.attributes })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyLoadBalancerAttributesInput {
    load_balancer_arn: String,
    attributes: Vec<Attribute>,
}

pub fn modify_load_balancer_attributes(
    cx: &Ctx<'_>,
    input: ModifyLoadBalancerAttributesInput,
) -> Result<AttributesOutput, ApiError> {
    let mut lb = load(cx, &input.load_balancer_arn)?;
    attributes::modify(attributes::Owner::LoadBalancer, &mut lb.attributes, &input.attributes)?;
    cx.put(&lb)?;
    Ok(AttributesOutput { attributes: lb.attributes })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCapacityReservationOutput {
    decrease_requests_remaining: i32,
    capacity_reservation_state: Vec<serde_json::Value>,
}

/// No load balancer in berth has a capacity reservation.
pub fn describe_capacity_reservation(
    cx: &Ctx<'_>,
    input: LoadBalancerArnInput,
) -> Result<DescribeCapacityReservationOutput, ApiError> {
    load(cx, &input.load_balancer_arn)?;
    Ok(DescribeCapacityReservationOutput {
        decrease_requests_remaining: 2,
        capacity_reservation_state: Vec::new(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSecurityGroupsInput {
    load_balancer_arn: String,
    #[serde(default)]
    security_groups: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSecurityGroupsOutput {
    security_group_ids: Vec<String>,
}

/// Replaces the load balancer's security groups. Its interfaces are recreated in the new groups
/// (their addresses may change, as an ALB's do on AWS).
pub fn set_security_groups(
    cx: &Ctx<'_>,
    input: SetSecurityGroupsInput,
) -> Result<SetSecurityGroupsOutput, ApiError> {
    let mut lb = load(cx, &input.load_balancer_arn)?;
    if input.security_groups.is_empty() {
        return Err(Elbv2Error::InvalidConfigurationRequest(
            "An application load balancer must have at least one security group".into(),
        )
        .into());
    }
    let groups = check_security_groups(cx, &input.security_groups, &lb.vpc_id)?;
    if groups != lb.security_groups {
        lb.security_groups = groups;
        let old = std::mem::take(&mut lb.zones);
        for z in &old {
            ec2::network_interface::delete_managed(cx, &z.network_interface_id)?;
        }
        for z in &old {
            let subnet = ec2::subnet::load(cx, &z.subnet_id)?;
            let zone = create_interface(cx, &lb, &subnet)?;
            lb.zones.push(zone);
        }
        cx.put(&lb)?;
    }
    Ok(SetSecurityGroupsOutput { security_group_ids: lb.security_groups })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubnetsInput {
    load_balancer_arn: String,
    #[serde(default)]
    subnets: Vec<String>,
    #[serde(default)]
    subnet_mappings: Vec<SubnetMapping>,
    ip_address_type: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubnetsOutput {
    availability_zones: Vec<AvailabilityZoneOut>,
    ip_address_type: String,
}

/// Replaces the load balancer's subnets: interfaces in subnets it keeps stay, the others are
/// created or deleted.
pub fn set_subnets(cx: &Ctx<'_>, input: SetSubnetsInput) -> Result<SetSubnetsOutput, ApiError> {
    let mut lb = load(cx, &input.load_balancer_arn)?;
    let ids = subnet_ids(input.subnets, input.subnet_mappings)?;
    let (subnets, vpc_id) = check_subnets(cx, &ids)?;
    if vpc_id != lb.vpc_id {
        return Err(Elbv2Error::InvalidConfigurationRequest(format!(
            "The subnets must belong to the load balancer's VPC '{}'",
            lb.vpc_id
        ))
        .into());
    }
    if let Some(t) = input.ip_address_type {
        if !["ipv4", "dualstack", "dualstack-without-public-ipv4"].contains(&t.as_str()) {
            return Err(Elbv2Error::constraint(
                &t,
                "ipAddressType",
                "Member must satisfy enum value set: [ipv4, dualstack, dualstack-without-public-ipv4]",
            )
            .into());
        }
        lb.ip_address_type = t;
    }
    let mut zones = Vec::new();
    for s in &subnets {
        match lb.zones.iter().find(|z| z.subnet_id == s.subnet_id) {
            Some(z) => zones.push(z.clone()),
            None => zones.push(create_interface(cx, &lb, s)?),
        }
    }
    for z in &lb.zones {
        if !zones.iter().any(|k| k.subnet_id == z.subnet_id) {
            ec2::network_interface::delete_managed(cx, &z.network_interface_id)?;
        }
    }
    lb.zones = zones;
    cx.put(&lb)?;
    Ok(SetSubnetsOutput { availability_zones: zones_out(&lb), ip_address_type: lb.ip_address_type })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_open_on_loopback() {
        let d = dns_digits();
        assert_eq!(d.len(), 10);
        assert!(d.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            dns_name("ecs-alb", "1234567890", "us-east-1", "internet-facing"),
            "ecs-alb-1234567890.us-east-1.elb.localhost"
        );
        assert_eq!(
            dns_name("ecs-alb", "1234567890", "eu-west-1", "internal"),
            "internal-ecs-alb-1234567890.eu-west-1.elb.localhost"
        );
    }

    #[test]
    fn hosted_zones_are_aws_s() {
        assert_eq!(canonical_hosted_zone_id("us-east-1"), "Z35SXDOTRQ7X7K");
        assert_eq!(canonical_hosted_zone_id("us-east-2"), "Z3AADJGX6KTTL2");
        assert_eq!(canonical_hosted_zone_id("us-west-2"), "Z1H1FL5HABSF5");
        assert_eq!(canonical_hosted_zone_id("eu-west-1"), "Z32O12XQLNTSW2");
        assert_eq!(canonical_hosted_zone_id("eu-central-1"), "Z215JYRZR1TBD5");
    }

    #[test]
    fn names_and_state() {
        assert!(validate_name("ecs-alb").is_ok());
        assert!(validate_name("internal-x").is_err());
        assert!(validate_name("a_b").is_err());
        assert!(validate_name(&"a".repeat(33)).is_err());
        let lb = LoadBalancer {
            load_balancer_arn:
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/x/0123456789abcdef"
                    .into(),
            load_balancer_name: "x".into(),
            dns_name: String::new(),
            canonical_hosted_zone_id: String::new(),
            created_time: String::new(),
            created_ms: 10_000,
            scheme: "internet-facing".into(),
            vpc_id: "vpc-1".into(),
            lb_type: "application".into(),
            ip_address_type: "ipv4".into(),
            zones: vec![],
            security_groups: vec![],
            attributes: vec![],
            tags: vec![],
        };
        assert!(!lb.is_active(10_999));
        assert!(lb.is_active(11_000));
        assert_eq!(lb.interface_description(), "ELB app/x/0123456789abcdef");
        assert_eq!(load_balancer_out(&lb, 10_500).state.code, "provisioning");
    }
}
