//! Security groups and their rules: CreateSecurityGroup, DescribeSecurityGroups,
//! DeleteSecurityGroup, AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/Egress
//! (by rule id or by permission), DescribeSecurityGroupRules.
//!
//! A group stores its rules one peer each (AWS's `sgr-…` rules). DescribeSecurityGroups folds
//! them back into `IpPermissions`, one per protocol and port range. Every VPC's default group
//! (created with the VPC) admits traffic from itself and lets everything out; any other new group
//! starts with the allow-all egress rule only.

use std::collections::HashSet;

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, one};
use super::network_interface::NetworkInterface;
use super::tags::{self, Tag, TagSpecification};
use super::vpc::{self, Vpc};
use super::{by_ids, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// A stored security group with its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub group_id: String,
    pub vpc_id: String,
    pub group_name: String,
    pub description: String,
    pub owner_id: String,
    pub arn: String,
    /// Ingress and egress rules, in creation order.
    pub rules: Vec<Rule>,
    pub tags: Vec<Tag>,
}

/// One security group rule (`sgr-…`): a protocol and port range with exactly one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule_id: String,
    pub is_egress: bool,
    /// `-1`, `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number.
    pub ip_protocol: String,
    /// `-1` when the protocol has no ports.
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

/// The other side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Peer {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group { group_id: String, user_id: String },
}

impl Resource for SecurityGroup {
    const KIND: &'static str = "ec2:security-group";

    fn id(&self) -> &str {
        &self.group_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }

    fn name(&self) -> Option<&str> {
        Some(&self.group_name)
    }
}

/// The security group with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<SecurityGroup>, ApiError> {
    Ok(cx.get::<SecurityGroup>(id)?)
}

/// The security group with this id, or `InvalidGroup.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<SecurityGroup, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::GroupNotFound(id.to_string()).into())
}

/// berth has no default VPC, so a group named without a VPC is never found (AWS's wording).
fn not_in_default_vpc(name: &str) -> Ec2Error {
    Ec2Error::GroupNotInDefaultVpc(name.to_string())
}

// === rules: parsing and normalising IpPermissions ===

/// One `IpPermissions.N` of an authorize or revoke call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpPermissionIn {
    #[serde(rename = "IpProtocol")]
    ip_protocol: Option<String>,
    #[serde(rename = "FromPort")]
    from_port: Option<i32>,
    #[serde(rename = "ToPort")]
    to_port: Option<i32>,
    #[serde(rename = "IpRanges", default)]
    ip_ranges: Vec<IpRangeIn>,
    #[serde(rename = "Ipv6Ranges", default)]
    ipv6_ranges: Vec<Ipv6RangeIn>,
    #[serde(rename = "PrefixListIds", default)]
    prefix_list_ids: Vec<PrefixListIn>,
    #[serde(rename = "Groups", default)]
    groups: Vec<GroupPairIn>,
}

#[derive(Debug, Clone, Deserialize)]
struct IpRangeIn {
    #[serde(rename = "CidrIp")]
    cidr_ip: String,
    #[serde(rename = "Description")]
    description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Ipv6RangeIn {
    #[serde(rename = "CidrIpv6")]
    cidr_ipv6: String,
    #[serde(rename = "Description")]
    description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct PrefixListIn {
    #[serde(rename = "PrefixListId")]
    prefix_list_id: String,
    #[serde(rename = "Description")]
    description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct GroupPairIn {
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "GroupName")]
    group_name: Option<String>,
    #[serde(rename = "UserId")]
    user_id: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
}

/// `tcp`/`6` → `tcp`, `all`/`-1` → `-1`, other numbers stay numbers.
pub fn normalize_protocol(p: &str) -> Result<String, Ec2Error> {
    let lower = p.trim().to_ascii_lowercase();
    let named = match lower.as_str() {
        "-1" | "all" => "-1",
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        "icmp" | "1" => "icmp",
        "icmpv6" | "58" => "icmpv6",
        other => {
            return match other.parse::<u8>() {
                Ok(n) => Ok(n.to_string()),
                Err(_) => Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid value '{p}' for IP protocol. Unknown protocol."
                ))),
            };
        }
    };
    Ok(named.to_string())
}

/// The stored `(from, to)` of a rule: ports for TCP/UDP, type and code for ICMP, `-1` otherwise.
pub fn normalize_ports(protocol: &str, from: Option<i32>, to: Option<i32>) -> Result<(i32, i32), Ec2Error> {
    match protocol {
        "tcp" | "udp" => {
            let (Some(from), Some(to)) = (from, to) else {
                // Wording guessed.
                return Err(Ec2Error::InvalidParameterValue(
                    "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange".into(),
                ));
            };
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid TCP/UDP port range: from port {from}, to port {to}"
                )));
            }
            Ok((from, to))
        }
        "icmp" | "icmpv6" => {
            let (t, c) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&t) || !(-1..=255).contains(&c) {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid value for ICMP type/code: type {t}, code {c}"
                )));
            }
            Ok((t, c))
        }
        _ => Ok((-1, -1)),
    }
}

fn validate_description(d: &str) -> Result<(), Ec2Error> {
    const EXTRA: &str = " ._-:/()#,@[]+=&;{}!$*";
    if d.chars().count() > 255 || !d.chars().all(|c| c.is_ascii_alphanumeric() || EXTRA.contains(c)) {
        return Err(Ec2Error::InvalidParameterValue(
            "Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*".into(),
        ));
    }
    Ok(())
}

fn parse_v4(cidr: &str) -> Result<String, Ec2Error> {
    let net: Ipv4Net = cidr.parse().map_err(|_| {
        Ec2Error::InvalidParameterValue(format!(
            "Value ({cidr}) for parameter cidrIp is invalid. This is not a valid CIDR block."
        ))
    })?;
    if net.network() != net.addr() {
        return Err(Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed")));
    }
    Ok(net.to_string())
}

fn parse_v6(cidr: &str) -> Result<String, Ec2Error> {
    let net: Ipv6Net = cidr.parse().map_err(|_| {
        Ec2Error::InvalidParameterValue(format!(
            "Value ({cidr}) for parameter cidrIpv6 is invalid. This is not a valid IPv6 CIDR block."
        ))
    })?;
    if net.network() != net.addr() {
        return Err(Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed")));
    }
    Ok(net.to_string())
}

/// The rules (without ids) an IpPermission names, one per peer, checked against `group`'s VPC.
fn expand(
    cx: &Ctx<'_>,
    group: &SecurityGroup,
    perm: &IpPermissionIn,
    is_egress: bool,
) -> Result<Vec<Rule>, ApiError> {
    let protocol = normalize_protocol(
        perm.ip_protocol
            .as_deref()
            .ok_or_else(|| Ec2Error::MissingParameter("ipPermissions.ipProtocol".into()))?,
    )?;
    let (from_port, to_port) = normalize_ports(&protocol, perm.from_port, perm.to_port)?;
    let mut peers: Vec<(Peer, Option<String>)> = Vec::new();
    for r in &perm.ip_ranges {
        peers.push((Peer::Ipv4(parse_v4(&r.cidr_ip)?), r.description.clone()));
    }
    for r in &perm.ipv6_ranges {
        peers.push((Peer::Ipv6(parse_v6(&r.cidr_ipv6)?), r.description.clone()));
    }
    for p in &perm.prefix_list_ids {
        peers.push((Peer::PrefixList(p.prefix_list_id.clone()), p.description.clone()));
    }
    for g in &perm.groups {
        let other = match (&g.group_id, &g.group_name) {
            (Some(id), _) => load(cx, id)?,
            (None, Some(name)) => cx
                .children::<SecurityGroup>(&group.vpc_id)?
                .into_iter()
                .find(|sg| &sg.group_name == name)
                .ok_or_else(|| Ec2Error::GroupNameNotFound {
                    name: name.clone(),
                    vpc: group.vpc_id.clone(),
                })?,
            (None, None) => {
                return Err(Ec2Error::MissingParameter("groupId".into()).into());
            }
        };
        if other.vpc_id != group.vpc_id {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "You have specified two resources that belong to different networks: {} and {}",
                group.group_id, other.group_id
            ))
            .into());
        }
        let user_id = g.user_id.clone().unwrap_or_else(|| other.owner_id.clone());
        peers.push((Peer::Group { group_id: other.group_id, user_id }, g.description.clone()));
    }
    if peers.is_empty() {
        return Err(Ec2Error::InvalidParameterValue(
            "missing mandatory parameter: exactly one of remote-security-group, remote-ip-range, remote-ipv6-range, or prefix-list-id must be present."
                .into(),
        )
        .into());
    }
    peers
        .into_iter()
        .map(|(peer, description)| {
            if let Some(d) = &description {
                validate_description(d)?;
            }
            Ok(Rule {
                rule_id: String::new(),
                is_egress,
                ip_protocol: protocol.clone(),
                from_port,
                to_port,
                peer,
                description,
                tags: Vec::new(),
            })
        })
        .collect()
}

/// Whether two rules are the same rule (descriptions and ids aside).
fn same_rule(a: &Rule, b: &Rule) -> bool {
    a.is_egress == b.is_egress
        && a.ip_protocol == b.ip_protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && a.peer == b.peer
}

/// How AWS spells a rule in `InvalidPermission.Duplicate`:
/// `peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW`.
pub fn describe_rule(rule: &Rule) -> String {
    let peer = match &rule.peer {
        Peer::Ipv4(c) | Peer::Ipv6(c) | Peer::PrefixList(c) => c.clone(),
        Peer::Group { group_id, .. } => group_id.clone(),
    };
    let proto =
        if rule.ip_protocol == "-1" { "ALL".to_string() } else { rule.ip_protocol.to_ascii_uppercase() };
    match rule.ip_protocol.as_str() {
        "tcp" | "udp" => {
            format!("peer: {peer}, {proto}, from port: {}, to port: {}, ALLOW", rule.from_port, rule.to_port)
        }
        "icmp" | "icmpv6" => {
            format!("peer: {peer}, {proto}, type: {}, code: {}, ALLOW", rule.from_port, rule.to_port)
        }
        _ => format!("peer: {peer}, {proto}, ALLOW"),
    }
}

fn all_traffic(is_egress: bool, peer: Peer) -> Rule {
    Rule {
        rule_id: ids::ec2("sgr"),
        is_egress,
        ip_protocol: "-1".into(),
        from_port: -1,
        to_port: -1,
        peer,
        description: None,
        tags: Vec::new(),
    }
}

/// The allow-all egress rules a new group starts with (`::/0` too when the VPC has IPv6).
fn default_egress(vpc: &Vpc) -> Vec<Rule> {
    let mut rules = vec![all_traffic(true, Peer::Ipv4("0.0.0.0/0".into()))];
    if vpc.ipv6.is_some() {
        rules.push(all_traffic(true, Peer::Ipv6("::/0".into())));
    }
    rules
}

/// Creates the default security group of a new VPC; returns its id.
pub(super) fn create_default(cx: &Ctx<'_>, vpc: &Vpc) -> Result<String, ApiError> {
    let group_id = ids::ec2("sg");
    let mut rules =
        vec![all_traffic(false, Peer::Group { group_id: group_id.clone(), user_id: cx.account.to_string() })];
    rules.extend(default_egress(vpc));
    let group = SecurityGroup {
        arn: cx.arn("ec2", &format!("security-group/{group_id}")),
        group_id: group_id.clone(),
        vpc_id: vpc.vpc_id.clone(),
        group_name: "default".into(),
        description: "default VPC security group".into(),
        owner_id: cx.account.to_string(),
        rules,
        tags: Vec::new(),
    };
    cx.put(&group)?;
    Ok(group_id)
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupOut {
    group_id: String,
    ip_permissions_egress: Vec<IpPermissionOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    vpc_id: String,
    security_group_arn: String,
    owner_id: String,
    group_name: String,
    group_description: String,
    ip_permissions: Vec<IpPermissionOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IpPermissionOut {
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    groups: Vec<GroupPairOut>,
    ip_ranges: Vec<IpRangeOut>,
    ipv6_ranges: Vec<Ipv6RangeOut>,
    prefix_list_ids: Vec<PrefixListOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupPairOut {
    description: Option<String>,
    user_id: String,
    group_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IpRangeOut {
    description: Option<String>,
    cidr_ip: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ipv6RangeOut {
    description: Option<String>,
    cidr_ipv6: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrefixListOut {
    description: Option<String>,
    prefix_list_id: String,
}

fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6")
}

/// Folds rules into IpPermissions: one per (protocol, from, to), in order of first appearance.
fn permissions(rules: &[&Rule]) -> Vec<IpPermissionOut> {
    let mut out: Vec<(String, i32, i32, IpPermissionOut)> = Vec::new();
    for r in rules {
        let idx = match out
            .iter()
            .position(|(p, f, t, _)| *p == r.ip_protocol && *f == r.from_port && *t == r.to_port)
        {
            Some(i) => i,
            None => {
                let ports = has_ports(&r.ip_protocol);
                out.push((
                    r.ip_protocol.clone(),
                    r.from_port,
                    r.to_port,
                    IpPermissionOut {
                        ip_protocol: r.ip_protocol.clone(),
                        from_port: ports.then_some(r.from_port),
                        to_port: ports.then_some(r.to_port),
                        groups: Vec::new(),
                        ip_ranges: Vec::new(),
                        ipv6_ranges: Vec::new(),
                        prefix_list_ids: Vec::new(),
                    },
                ));
                out.len() - 1
            }
        };
        let perm = &mut out[idx].3;
        let description = r.description.clone();
        match &r.peer {
            Peer::Ipv4(c) => perm.ip_ranges.push(IpRangeOut { description, cidr_ip: c.clone() }),
            Peer::Ipv6(c) => perm.ipv6_ranges.push(Ipv6RangeOut { description, cidr_ipv6: c.clone() }),
            Peer::PrefixList(p) => {
                perm.prefix_list_ids.push(PrefixListOut { description, prefix_list_id: p.clone() })
            }
            Peer::Group { group_id, user_id } => perm.groups.push(GroupPairOut {
                description,
                user_id: user_id.clone(),
                group_id: group_id.clone(),
            }),
        }
    }
    out.into_iter().map(|(.., p)| p).collect()
}

pub fn group_out(g: &SecurityGroup) -> SecurityGroupOut {
    let ingress: Vec<&Rule> = g.rules.iter().filter(|r| !r.is_egress).collect();
    let egress: Vec<&Rule> = g.rules.iter().filter(|r| r.is_egress).collect();
    SecurityGroupOut {
        group_id: g.group_id.clone(),
        ip_permissions_egress: permissions(&egress),
        tags: g.tags.clone(),
        vpc_id: g.vpc_id.clone(),
        security_group_arn: g.arn.clone(),
        owner_id: g.owner_id.clone(),
        group_name: g.group_name.clone(),
        group_description: g.description.clone(),
        ip_permissions: permissions(&ingress),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleOut {
    security_group_rule_id: String,
    group_id: String,
    group_owner_id: String,
    is_egress: bool,
    ip_protocol: String,
    from_port: i32,
    to_port: i32,
    cidr_ipv4: Option<String>,
    cidr_ipv6: Option<String>,
    prefix_list_id: Option<String>,
    referenced_group_info: Option<ReferencedGroupOut>,
    description: Option<String>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    security_group_rule_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReferencedGroupOut {
    group_id: String,
    user_id: String,
}

fn rule_out(cx: &Ctx<'_>, g: &SecurityGroup, r: &Rule) -> RuleOut {
    let (mut v4, mut v6, mut pl, mut rg) = (None, None, None, None);
    match &r.peer {
        Peer::Ipv4(c) => v4 = Some(c.clone()),
        Peer::Ipv6(c) => v6 = Some(c.clone()),
        Peer::PrefixList(p) => pl = Some(p.clone()),
        Peer::Group { group_id, user_id } => {
            rg = Some(ReferencedGroupOut { group_id: group_id.clone(), user_id: user_id.clone() })
        }
    }
    RuleOut {
        security_group_rule_id: r.rule_id.clone(),
        group_id: g.group_id.clone(),
        group_owner_id: g.owner_id.clone(),
        is_egress: r.is_egress,
        ip_protocol: r.ip_protocol.clone(),
        from_port: r.from_port,
        to_port: r.to_port,
        cidr_ipv4: v4,
        cidr_ipv6: v6,
        prefix_list_id: pl,
        referenced_group_info: rg,
        description: r.description.clone(),
        tags: r.tags.clone(),
        security_group_rule_arn: cx.arn("ec2", &format!("security-group-rule/{}", r.rule_id)),
    }
}

impl Filterable for SecurityGroup {
    const FILTERS: &'static [&'static str] = &[
        "group-id",
        "group-name",
        "vpc-id",
        "description",
        "owner-id",
        "ip-permission.cidr",
        "ip-permission.ipv6-cidr",
        "ip-permission.from-port",
        "ip-permission.to-port",
        "ip-permission.protocol",
        "ip-permission.group-id",
        "ip-permission.prefix-list-id",
        "egress.ip-permission.cidr",
        "egress.ip-permission.ipv6-cidr",
        "egress.ip-permission.from-port",
        "egress.ip-permission.to-port",
        "egress.ip-permission.protocol",
        "egress.ip-permission.group-id",
        "egress.ip-permission.prefix-list-id",
    ];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        let (egress, field) = match name.strip_prefix("egress.") {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        let rules = self.rules.iter().filter(|r| r.is_egress == egress);
        match field {
            "group-id" if !egress => one(&self.group_id),
            "group-name" if !egress => one(&self.group_name),
            "vpc-id" if !egress => one(&self.vpc_id),
            "description" if !egress => one(&self.description),
            "owner-id" if !egress => one(&self.owner_id),
            "ip-permission.cidr" => rules
                .filter_map(|r| match &r.peer {
                    Peer::Ipv4(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            "ip-permission.ipv6-cidr" => rules
                .filter_map(|r| match &r.peer {
                    Peer::Ipv6(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            "ip-permission.prefix-list-id" => rules
                .filter_map(|r| match &r.peer {
                    Peer::PrefixList(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            "ip-permission.group-id" => rules
                .filter_map(|r| match &r.peer {
                    Peer::Group { group_id, .. } => Some(group_id.clone()),
                    _ => None,
                })
                .collect(),
            "ip-permission.from-port" => rules.map(|r| r.from_port.to_string()).collect(),
            "ip-permission.to-port" => rules.map(|r| r.to_port.to_string()).collect(),
            "ip-permission.protocol" => rules.map(|r| r.ip_protocol.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// A rule with its group, as DescribeSecurityGroupRules filters it.
struct RuleView<'g> {
    group: &'g SecurityGroup,
    rule: &'g Rule,
}

impl Filterable for RuleView<'_> {
    const FILTERS: &'static [&'static str] = &["group-id", "security-group-rule-id"];

    fn tags(&self) -> &[Tag] {
        &self.rule.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "group-id" => one(&self.group.group_id),
            "security-group-rule-id" => one(&self.rule.rule_id),
            _ => Vec::new(),
        }
    }
}

// === groups ===

fn validate_group_name(name: &str) -> Result<(), Ec2Error> {
    const EXTRA: &str = " ._-:/()#,@[]+=&;{}!$*";
    if name.is_empty() || name.chars().count() > 255 {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{name}' for groupName. Length must be between 1 and 255 characters."
        )));
    }
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{name}' for groupName. Group names may not be in the format sg-*."
        )));
    }
    if name == "default" {
        return Err(Ec2Error::InvalidParameterValue(
            "Invalid value 'default' for groupName. 'default' is a reserved group name.".into(),
        ));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || EXTRA.contains(c)) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{name}' for groupName. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{{}}!$*"
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct CreateSecurityGroupInput {
    #[serde(rename = "GroupName")]
    group_name: String,
    #[serde(rename = "GroupDescription")]
    description: String,
    #[serde(rename = "VpcId")]
    vpc_id: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSecurityGroupOutput {
    group_id: String,
    #[serde(rename = "tagSet")]
    tags: Option<Vec<Tag>>,
    security_group_arn: String,
}

pub fn create_security_group(
    cx: &Ctx<'_>,
    input: CreateSecurityGroupInput,
) -> Result<CreateSecurityGroupOutput, ApiError> {
    let vpc_id = input.vpc_id.ok_or(Ec2Error::NoDefaultVpc)?;
    let vpc = vpc::load(cx, &vpc_id)?;
    validate_group_name(&input.group_name)?;
    if input.description.chars().count() > 255 {
        return Err(Ec2Error::InvalidParameterValue(
            "Invalid value for groupDescription. Length must be between 0 and 255 characters.".into(),
        )
        .into());
    }
    if cx.children::<SecurityGroup>(&vpc.vpc_id)?.iter().any(|g| g.group_name == input.group_name) {
        return Err(Ec2Error::GroupDuplicate { name: input.group_name, vpc: vpc.vpc_id }.into());
    }
    let tags = tags::from_specs(&input.tag_specifications, "security-group")?;
    let group_id = ids::ec2("sg");
    let group = SecurityGroup {
        arn: cx.arn("ec2", &format!("security-group/{group_id}")),
        group_id,
        vpc_id: vpc.vpc_id.clone(),
        group_name: input.group_name,
        description: input.description,
        owner_id: cx.account.to_string(),
        rules: default_egress(&vpc),
        tags,
    };
    cx.put(&group)?;
    Ok(CreateSecurityGroupOutput {
        group_id: group.group_id.clone(),
        tags: (!group.tags.is_empty()).then(|| group.tags.clone()),
        security_group_arn: group.arn,
    })
}

#[derive(Debug, Deserialize)]
pub struct DescribeSecurityGroupsInput {
    #[serde(rename = "GroupId", default)]
    group_ids: Vec<String>,
    #[serde(rename = "GroupName", default)]
    group_names: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSecurityGroupsOutput {
    security_group_info: Vec<SecurityGroupOut>,
    next_token: Option<String>,
}

pub fn describe_security_groups(
    cx: &Ctx<'_>,
    input: DescribeSecurityGroupsInput,
) -> Result<DescribeSecurityGroupsOutput, ApiError> {
    if let Some(name) = input.group_names.first() {
        return Err(not_in_default_vpc(name).into());
    }
    let groups: Vec<SecurityGroup> = by_ids(cx, &input.group_ids, Ec2Error::GroupNotFound)?;
    let groups = filter::select(groups, &input.filters)?;
    let (groups, next_token) = page(groups, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeSecurityGroupsOutput {
        security_group_info: groups.iter().map(group_out).collect(),
        next_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct DeleteSecurityGroupInput {
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "GroupName")]
    group_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSecurityGroupOutput {
    #[serde(rename = "return")]
    ret: bool,
    group_id: String,
}

/// Deletes a group no interface uses and no other group's rule references.
pub fn delete_security_group(
    cx: &Ctx<'_>,
    input: DeleteSecurityGroupInput,
) -> Result<DeleteSecurityGroupOutput, ApiError> {
    let group = match (input.group_id, input.group_name) {
        (Some(id), _) => load(cx, &id)?,
        (None, Some(name)) => return Err(not_in_default_vpc(&name).into()),
        (None, None) => return Err(Ec2Error::MissingParameter("GroupId".into()).into()),
    };
    if group.group_name == "default" {
        return Err(Ec2Error::CannotDelete(format!(
            "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
            group.group_id
        ))
        .into());
    }
    let dependent =
        || Ec2Error::DependencyViolation(format!("resource {} has a dependent object", group.group_id));
    if cx.list::<NetworkInterface>()?.iter().any(|e| e.group_ids().any(|g| g == group.group_id)) {
        return Err(dependent().into());
    }
    let referenced = cx.list::<SecurityGroup>()?.iter().any(|other| {
        other.group_id != group.group_id
            && other
                .rules
                .iter()
                .any(|r| matches!(&r.peer, Peer::Group { group_id, .. } if *group_id == group.group_id))
    });
    if referenced {
        return Err(dependent().into());
    }
    cx.delete::<SecurityGroup>(&group.group_id)?;
    Ok(DeleteSecurityGroupOutput { ret: true, group_id: group.group_id })
}

// === rules: authorize, revoke, describe ===

#[derive(Debug, Deserialize)]
pub struct PermissionsInput {
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "GroupName")]
    group_name: Option<String>,
    #[serde(rename = "IpPermissions", default)]
    ip_permissions: Vec<IpPermissionIn>,
    #[serde(rename = "SecurityGroupRuleId", default)]
    security_group_rule_ids: Vec<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
    // The legacy single-rule form.
    #[serde(rename = "IpProtocol")]
    ip_protocol: Option<String>,
    #[serde(rename = "FromPort")]
    from_port: Option<i32>,
    #[serde(rename = "ToPort")]
    to_port: Option<i32>,
    #[serde(rename = "CidrIp")]
    cidr_ip: Option<String>,
    #[serde(rename = "SourceSecurityGroupName")]
    source_security_group_name: Option<String>,
}

impl PermissionsInput {
    fn group(&self, cx: &Ctx<'_>) -> Result<SecurityGroup, ApiError> {
        match (&self.group_id, &self.group_name) {
            (Some(id), _) => load(cx, id),
            (None, Some(name)) => Err(not_in_default_vpc(name).into()),
            (None, None) => Err(Ec2Error::MissingParameter("GroupId".into()).into()),
        }
    }

    /// `IpPermissions`, or the legacy top-level form turned into one permission.
    fn permissions(&self) -> Vec<IpPermissionIn> {
        let mut perms = self.ip_permissions.clone();
        if self.ip_protocol.is_some() || self.cidr_ip.is_some() || self.source_security_group_name.is_some() {
            perms.push(IpPermissionIn {
                ip_protocol: self.ip_protocol.clone().or_else(|| Some("-1".into())),
                from_port: self.from_port,
                to_port: self.to_port,
                ip_ranges: self
                    .cidr_ip
                    .iter()
                    .map(|c| IpRangeIn { cidr_ip: c.clone(), description: None })
                    .collect(),
                groups: self
                    .source_security_group_name
                    .iter()
                    .map(|n| GroupPairIn {
                        group_id: None,
                        group_name: Some(n.clone()),
                        user_id: None,
                        description: None,
                    })
                    .collect(),
                ..IpPermissionIn::default()
            });
        }
        perms
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeOutput {
    #[serde(rename = "return")]
    ret: bool,
    security_group_rule_set: Vec<RuleOut>,
}

fn authorize(cx: &Ctx<'_>, input: PermissionsInput, is_egress: bool) -> Result<AuthorizeOutput, ApiError> {
    let mut group = input.group(cx)?;
    let perms = input.permissions();
    if perms.is_empty() {
        return Err(Ec2Error::MissingParameter("IpPermissions".into()).into());
    }
    let tags = tags::from_specs(&input.tag_specifications, "security-group-rule")?;
    let mut new: Vec<Rule> = Vec::new();
    for perm in &perms {
        for mut rule in expand(cx, &group, perm, is_egress)? {
            if group.rules.iter().chain(&new).any(|r| same_rule(r, &rule)) {
                return Err(Ec2Error::PermissionDuplicate(describe_rule(&rule)).into());
            }
            rule.rule_id = ids::ec2("sgr");
            rule.tags = tags.clone();
            new.push(rule);
        }
    }
    group.rules.extend(new.iter().cloned());
    cx.put(&group)?;
    Ok(AuthorizeOutput {
        ret: true,
        security_group_rule_set: new.iter().map(|r| rule_out(cx, &group, r)).collect(),
    })
}

pub fn authorize_ingress(cx: &Ctx<'_>, input: PermissionsInput) -> Result<AuthorizeOutput, ApiError> {
    authorize(cx, input, false)
}

pub fn authorize_egress(cx: &Ctx<'_>, input: PermissionsInput) -> Result<AuthorizeOutput, ApiError> {
    authorize(cx, input, true)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeOutput {
    #[serde(rename = "return")]
    ret: bool,
    revoked_security_group_rule_set: Vec<RevokedRuleOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RevokedRuleOut {
    security_group_rule_id: String,
    group_id: String,
    is_egress: bool,
    ip_protocol: String,
    from_port: i32,
    to_port: i32,
    cidr_ipv4: Option<String>,
    cidr_ipv6: Option<String>,
    description: Option<String>,
}

/// Revokes rules by id or by permission. In a non-default VPC (all of berth's) a permission that
/// matches no rule is `InvalidPermission.NotFound`, and nothing is revoked.
fn revoke(cx: &Ctx<'_>, input: PermissionsInput, is_egress: bool) -> Result<RevokeOutput, ApiError> {
    let mut group = input.group(cx)?;
    let mut doomed: HashSet<String> = HashSet::new();
    for id in &input.security_group_rule_ids {
        match group.rules.iter().find(|r| &r.rule_id == id && r.is_egress == is_egress) {
            Some(r) => {
                doomed.insert(r.rule_id.clone());
            }
            None => return Err(Ec2Error::SecurityGroupRuleNotFound(id.clone()).into()),
        }
    }
    for perm in &input.permissions() {
        for wanted in expand(cx, &group, perm, is_egress)? {
            match group.rules.iter().find(|r| same_rule(r, &wanted)) {
                Some(r) => {
                    doomed.insert(r.rule_id.clone());
                }
                None => return Err(Ec2Error::PermissionNotFound.into()),
            }
        }
    }
    if doomed.is_empty() {
        return Err(Ec2Error::MissingParameter("IpPermissions or SecurityGroupRuleIds".into()).into());
    }
    let revoked: Vec<RevokedRuleOut> = group
        .rules
        .iter()
        .filter(|r| doomed.contains(&r.rule_id))
        .map(|r| RevokedRuleOut {
            security_group_rule_id: r.rule_id.clone(),
            group_id: group.group_id.clone(),
            is_egress: r.is_egress,
            ip_protocol: r.ip_protocol.clone(),
            from_port: r.from_port,
            to_port: r.to_port,
            cidr_ipv4: match &r.peer {
                Peer::Ipv4(c) => Some(c.clone()),
                _ => None,
            },
            cidr_ipv6: match &r.peer {
                Peer::Ipv6(c) => Some(c.clone()),
                _ => None,
            },
            description: r.description.clone(),
        })
        .collect();
    group.rules.retain(|r| !doomed.contains(&r.rule_id));
    cx.put(&group)?;
    Ok(RevokeOutput { ret: true, revoked_security_group_rule_set: revoked })
}

pub fn revoke_ingress(cx: &Ctx<'_>, input: PermissionsInput) -> Result<RevokeOutput, ApiError> {
    revoke(cx, input, false)
}

pub fn revoke_egress(cx: &Ctx<'_>, input: PermissionsInput) -> Result<RevokeOutput, ApiError> {
    revoke(cx, input, true)
}

#[derive(Debug, Deserialize)]
pub struct DescribeSecurityGroupRulesInput {
    #[serde(rename = "SecurityGroupRuleId", default)]
    rule_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSecurityGroupRulesOutput {
    security_group_rule_set: Vec<RuleOut>,
    next_token: Option<String>,
}

pub fn describe_security_group_rules(
    cx: &Ctx<'_>,
    input: DescribeSecurityGroupRulesInput,
) -> Result<DescribeSecurityGroupRulesOutput, ApiError> {
    let groups = cx.list::<SecurityGroup>()?;
    let all: Vec<RuleView<'_>> = groups
        .iter()
        .flat_map(|group| group.rules.iter().map(move |rule| RuleView { group, rule }))
        .collect();
    for id in &input.rule_ids {
        if !all.iter().any(|v| &v.rule.rule_id == id) {
            return Err(Ec2Error::SecurityGroupRuleNotFound(id.clone()).into());
        }
    }
    let wanted: Vec<RuleView<'_>> = all
        .into_iter()
        .filter(|v| input.rule_ids.is_empty() || input.rule_ids.contains(&v.rule.rule_id))
        .collect();
    let wanted = filter::select(wanted, &input.filters)?;
    let (wanted, next_token) = page(wanted, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeSecurityGroupRulesOutput {
        security_group_rule_set: wanted.iter().map(|v| rule_out(cx, v.group, v.rule)).collect(),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: &str, from: i32, to: i32, peer: Peer) -> Rule {
        Rule {
            rule_id: "sgr-1".into(),
            is_egress: false,
            ip_protocol: protocol.into(),
            from_port: from,
            to_port: to,
            peer,
            description: None,
            tags: vec![],
        }
    }

    #[test]
    fn protocols_and_ports_are_normalised() {
        assert_eq!(normalize_protocol("TCP").unwrap(), "tcp");
        assert_eq!(normalize_protocol("6").unwrap(), "tcp");
        assert_eq!(normalize_protocol("all").unwrap(), "-1");
        assert_eq!(normalize_protocol("50").unwrap(), "50");
        assert_eq!(normalize_protocol("bogus").unwrap_err().code(), "InvalidParameterValue");
        assert_eq!(normalize_ports("-1", Some(0), Some(0)).unwrap(), (-1, -1));
        assert_eq!(normalize_ports("tcp", Some(80), Some(80)).unwrap(), (80, 80));
        assert!(normalize_ports("tcp", Some(80), None).is_err());
        assert!(normalize_ports("tcp", Some(90), Some(80)).is_err());
        assert!(normalize_ports("udp", Some(0), Some(70000)).is_err());
        assert_eq!(normalize_ports("icmp", None, None).unwrap(), (-1, -1));
    }

    #[test]
    fn duplicate_rules_are_spelled_like_aws() {
        let r = rule("tcp", 80, 80, Peer::Ipv4("0.0.0.0/0".into()));
        assert_eq!(describe_rule(&r), "peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW");
        let all = rule("-1", -1, -1, Peer::Group { group_id: "sg-1".into(), user_id: "0".into() });
        assert_eq!(describe_rule(&all), "peer: sg-1, ALL, ALLOW");
    }

    #[test]
    fn rules_fold_into_permissions_without_ports_for_all_traffic() {
        let a = rule("-1", -1, -1, Peer::Ipv4("0.0.0.0/0".into()));
        let b = rule("-1", -1, -1, Peer::Ipv6("::/0".into()));
        let c = rule("tcp", 80, 80, Peer::Ipv4("10.0.0.0/16".into()));
        let perms = permissions(&[&a, &b, &c]);
        assert_eq!(perms.len(), 2);
        assert_eq!(perms[0].from_port, None);
        assert_eq!(perms[0].ip_ranges.len(), 1);
        assert_eq!(perms[0].ipv6_ranges.len(), 1);
        assert_eq!(perms[1].from_port, Some(80));
        let json = serde_json::to_value(&perms[0]).unwrap();
        assert_eq!(json["ipProtocol"], "-1");
        assert!(json["fromPort"].is_null());
    }

    #[test]
    fn group_names_and_descriptions() {
        assert!(validate_group_name("public-sg").is_ok());
        assert!(validate_group_name("sg-123").is_err());
        assert!(validate_group_name("default").is_err());
        assert!(validate_group_name("").is_err());
        assert!(validate_group_name("bad\u{7}").is_err());
        assert!(validate_description("Allow all inbound traffic from the public subnet").is_ok());
        assert!(validate_description("no <html>").is_err());
    }
}
