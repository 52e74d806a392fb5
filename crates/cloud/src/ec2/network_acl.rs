//! Network ACLs and their entries: CreateNetworkAcl, DescribeNetworkAcls, DeleteNetworkAcl,
//! CreateNetworkAclEntry, ReplaceNetworkAclEntry, DeleteNetworkAclEntry,
//! ReplaceNetworkAclAssociation.
//!
//! Every VPC has a default ACL (created with it) that allows everything in and out (rule 100,
//! and 101 for IPv6) before the final deny-all rules AWS numbers 32767 (and 32768 for IPv6),
//! which can be neither changed nor deleted. Every subnet is associated with exactly one ACL of
//! its VPC, the default one unless replaced.

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::error::{Ec2Error, has_dependencies};
use super::filter::{self, Filter, Filterable, bool_value, one};
use super::subnet::Subnet;
use super::tags::{self, Tag, TagSpecification};
use super::vpc::{self, Vpc};
use super::{ReturnTrue, by_ids, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// The deny-all rule number AWS closes every ACL with (IPv4), and its IPv6 twin.
pub const DEFAULT_RULE_V4: i64 = 32767;
pub const DEFAULT_RULE_V6: i64 = 32768;

/// A stored network ACL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub network_acl_id: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub is_default: bool,
    pub entries: Vec<Entry>,
    pub associations: Vec<AclAssociation>,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

/// One numbered rule of an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub rule_number: i64,
    pub egress: bool,
    /// A protocol number as a string, `-1` for all.
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    pub cidr_block: Option<String>,
    pub ipv6_cidr_block: Option<String>,
    pub port_range: Option<(i32, i32)>,
    /// ICMP `(type, code)`.
    pub icmp: Option<(i32, i32)>,
}

/// A subnet's association with an ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclAssociation {
    pub association_id: String,
    pub subnet_id: String,
}

impl Resource for NetworkAcl {
    const KIND: &'static str = "ec2:network-acl";

    fn id(&self) -> &str {
        &self.network_acl_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
}

/// The ACL with this id, or `InvalidNetworkAclID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<NetworkAcl, ApiError> {
    cx.get::<NetworkAcl>(id)?.ok_or_else(|| Ec2Error::NetworkAclNotFound(id.to_string()).into())
}

fn entry(rule_number: i64, egress: bool, action: &str, v4: Option<&str>, v6: Option<&str>) -> Entry {
    Entry {
        rule_number,
        egress,
        protocol: "-1".into(),
        rule_action: action.into(),
        cidr_block: v4.map(str::to_string),
        ipv6_cidr_block: v6.map(str::to_string),
        port_range: None,
        icmp: None,
    }
}

/// The closing deny-all entries every ACL has.
fn closing_entries(ipv6: bool) -> Vec<Entry> {
    let mut out = Vec::new();
    for egress in [true, false] {
        out.push(entry(DEFAULT_RULE_V4, egress, "deny", Some("0.0.0.0/0"), None));
        if ipv6 {
            out.push(entry(DEFAULT_RULE_V6, egress, "deny", None, Some("::/0")));
        }
    }
    out
}

/// Creates the default ACL of a new VPC; returns its id.
pub(super) fn create_default(cx: &Ctx<'_>, vpc: &Vpc) -> Result<String, ApiError> {
    let ipv6 = vpc.ipv6.is_some();
    let mut entries = Vec::new();
    for egress in [true, false] {
        entries.push(entry(100, egress, "allow", Some("0.0.0.0/0"), None));
        if ipv6 {
            entries.push(entry(101, egress, "allow", None, Some("::/0")));
        }
    }
    entries.extend(closing_entries(ipv6));
    let acl = NetworkAcl {
        network_acl_id: ids::ec2("acl"),
        vpc_id: vpc.vpc_id.clone(),
        owner_id: cx.account.to_string(),
        is_default: true,
        entries,
        associations: Vec::new(),
        tags: Vec::new(),
        client_token: None,
    };
    cx.put(&acl)?;
    Ok(acl.network_acl_id)
}

/// Associates a new subnet with its VPC's default ACL.
pub(super) fn associate_with_default(cx: &Ctx<'_>, vpc: &Vpc, subnet_id: &str) -> Result<(), ApiError> {
    let mut acl = load(cx, &vpc.default_network_acl_id)?;
    acl.associations
        .push(AclAssociation { association_id: ids::ec2("aclassoc"), subnet_id: subnet_id.into() });
    cx.put(&acl)?;
    Ok(())
}

/// Drops the association of a subnet being deleted.
pub(super) fn forget_subnet(cx: &Ctx<'_>, subnet: &Subnet) -> Result<(), ApiError> {
    for mut acl in cx.children::<NetworkAcl>(&subnet.vpc_id)? {
        let before = acl.associations.len();
        acl.associations.retain(|a| a.subnet_id != subnet.subnet_id);
        if acl.associations.len() != before {
            cx.put(&acl)?;
        }
    }
    Ok(())
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAclOut {
    association_set: Vec<AssociationOut>,
    entry_set: Vec<EntryOut>,
    #[serde(rename = "default")]
    is_default: bool,
    network_acl_id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    vpc_id: String,
    owner_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationOut {
    network_acl_association_id: String,
    network_acl_id: String,
    subnet_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryOut {
    cidr_block: Option<String>,
    ipv6_cidr_block: Option<String>,
    egress: bool,
    icmp_type_code: Option<IcmpOut>,
    port_range: Option<PortRangeOut>,
    protocol: String,
    rule_action: String,
    rule_number: i64,
}

#[derive(Debug, Serialize)]
struct IcmpOut {
    code: i32,
    #[serde(rename = "type")]
    kind: i32,
}

#[derive(Debug, Serialize)]
struct PortRangeOut {
    from: i32,
    to: i32,
}

pub fn acl_out(acl: &NetworkAcl) -> NetworkAclOut {
    let mut entries: Vec<&Entry> = acl.entries.iter().collect();
    // AWS lists egress entries first, each direction by rule number.
    entries.sort_by_key(|e| (!e.egress, e.rule_number));
    NetworkAclOut {
        association_set: acl
            .associations
            .iter()
            .map(|a| AssociationOut {
                network_acl_association_id: a.association_id.clone(),
                network_acl_id: acl.network_acl_id.clone(),
                subnet_id: a.subnet_id.clone(),
            })
            .collect(),
        entry_set: entries
            .into_iter()
            .map(|e| EntryOut {
                cidr_block: e.cidr_block.clone(),
                ipv6_cidr_block: e.ipv6_cidr_block.clone(),
                egress: e.egress,
                icmp_type_code: e.icmp.map(|(kind, code)| IcmpOut { code, kind }),
                port_range: e.port_range.map(|(from, to)| PortRangeOut { from, to }),
                protocol: e.protocol.clone(),
                rule_action: e.rule_action.clone(),
                rule_number: e.rule_number,
            })
            .collect(),
        is_default: acl.is_default,
        network_acl_id: acl.network_acl_id.clone(),
        tags: acl.tags.clone(),
        vpc_id: acl.vpc_id.clone(),
        owner_id: acl.owner_id.clone(),
    }
}

impl Filterable for NetworkAcl {
    const FILTERS: &'static [&'static str] = &[
        "network-acl-id",
        "vpc-id",
        "default",
        "owner-id",
        "association.association-id",
        "association.network-acl-id",
        "association.subnet-id",
        "entry.cidr",
        "entry.ipv6-cidr",
        "entry.egress",
        "entry.protocol",
        "entry.rule-action",
        "entry.rule-number",
        "entry.port-range.from",
        "entry.port-range.to",
        "entry.icmp.code",
        "entry.icmp.type",
    ];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        let entries = self.entries.iter();
        match name {
            "network-acl-id" => one(&self.network_acl_id),
            "vpc-id" => one(&self.vpc_id),
            "default" => bool_value(self.is_default),
            "owner-id" => one(&self.owner_id),
            "association.association-id" => {
                self.associations.iter().map(|a| a.association_id.clone()).collect()
            }
            "association.network-acl-id" => {
                self.associations.iter().map(|_| self.network_acl_id.clone()).collect()
            }
            "association.subnet-id" => self.associations.iter().map(|a| a.subnet_id.clone()).collect(),
            "entry.cidr" => entries.filter_map(|e| e.cidr_block.clone()).collect(),
            "entry.ipv6-cidr" => entries.filter_map(|e| e.ipv6_cidr_block.clone()).collect(),
            "entry.egress" => entries.map(|e| e.egress.to_string()).collect(),
            "entry.protocol" => entries.map(|e| e.protocol.clone()).collect(),
            "entry.rule-action" => entries.map(|e| e.rule_action.clone()).collect(),
            "entry.rule-number" => entries.map(|e| e.rule_number.to_string()).collect(),
            "entry.port-range.from" => {
                entries.filter_map(|e| e.port_range.map(|p| p.0.to_string())).collect()
            }
            "entry.port-range.to" => entries.filter_map(|e| e.port_range.map(|p| p.1.to_string())).collect(),
            "entry.icmp.type" => entries.filter_map(|e| e.icmp.map(|p| p.0.to_string())).collect(),
            "entry.icmp.code" => entries.filter_map(|e| e.icmp.map(|p| p.1.to_string())).collect(),
            _ => Vec::new(),
        }
    }
}

// === ACLs ===

#[derive(Debug, Deserialize)]
pub struct CreateNetworkAclInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
    #[serde(rename = "ClientToken")]
    client_token: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNetworkAclOutput {
    network_acl: NetworkAclOut,
    client_token: Option<String>,
}

pub fn create_network_acl(
    cx: &Ctx<'_>,
    input: CreateNetworkAclInput,
) -> Result<CreateNetworkAclOutput, ApiError> {
    let vpc = vpc::load(cx, &input.vpc_id)?;
    if let Some(token) = &input.client_token
        && let Some(existing) = cx
            .children::<NetworkAcl>(&vpc.vpc_id)?
            .into_iter()
            .find(|a| a.client_token.as_ref() == Some(token))
    {
        return Ok(CreateNetworkAclOutput {
            network_acl: acl_out(&existing),
            client_token: input.client_token,
        });
    }
    let acl = NetworkAcl {
        network_acl_id: ids::ec2("acl"),
        vpc_id: vpc.vpc_id.clone(),
        owner_id: cx.account.to_string(),
        is_default: false,
        entries: closing_entries(vpc.ipv6.is_some()),
        associations: Vec::new(),
        tags: tags::from_specs(&input.tag_specifications, "network-acl")?,
        client_token: input.client_token.clone(),
    };
    cx.put(&acl)?;
    Ok(CreateNetworkAclOutput { network_acl: acl_out(&acl), client_token: input.client_token })
}

#[derive(Debug, Deserialize)]
pub struct DescribeNetworkAclsInput {
    #[serde(rename = "NetworkAclId", default)]
    network_acl_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeNetworkAclsOutput {
    network_acl_set: Vec<NetworkAclOut>,
    next_token: Option<String>,
}

pub fn describe_network_acls(
    cx: &Ctx<'_>,
    input: DescribeNetworkAclsInput,
) -> Result<DescribeNetworkAclsOutput, ApiError> {
    let acls: Vec<NetworkAcl> = by_ids(cx, &input.network_acl_ids, Ec2Error::NetworkAclNotFound)?;
    let acls = filter::select(acls, &input.filters)?;
    let (acls, next_token) = page(acls, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeNetworkAclsOutput { network_acl_set: acls.iter().map(acl_out).collect(), next_token })
}

#[derive(Debug, Deserialize)]
pub struct NetworkAclIdInput {
    #[serde(rename = "NetworkAclId")]
    network_acl_id: String,
}

pub fn delete_network_acl(cx: &Ctx<'_>, input: NetworkAclIdInput) -> Result<ReturnTrue, ApiError> {
    let acl = load(cx, &input.network_acl_id)?;
    if acl.is_default {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "cannot delete default network ACL {}",
            acl.network_acl_id
        ))
        .into());
    }
    if !acl.associations.is_empty() {
        return Err(has_dependencies("networkAcl", &acl.network_acl_id).into());
    }
    cx.delete::<NetworkAcl>(&acl.network_acl_id)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct ReplaceNetworkAclAssociationInput {
    #[serde(rename = "AssociationId")]
    association_id: String,
    #[serde(rename = "NetworkAclId")]
    network_acl_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceNetworkAclAssociationOutput {
    new_association_id: String,
}

/// Moves a subnet to another ACL of its VPC.
pub fn replace_network_acl_association(
    cx: &Ctx<'_>,
    input: ReplaceNetworkAclAssociationInput,
) -> Result<ReplaceNetworkAclAssociationOutput, ApiError> {
    let target = load(cx, &input.network_acl_id)?;
    let Some(mut old) = cx
        .list::<NetworkAcl>()?
        .into_iter()
        .find(|a| a.associations.iter().any(|x| x.association_id == input.association_id))
    else {
        return Err(Ec2Error::AssociationNotFound(input.association_id).into());
    };
    if old.vpc_id != target.vpc_id {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Network ACL {} and association {} belong to different networks",
            target.network_acl_id, input.association_id
        ))
        .into());
    }
    let subnet_id = old
        .associations
        .iter()
        .find(|a| a.association_id == input.association_id)
        .map(|a| a.subnet_id.clone())
        .unwrap_or_default();
    old.associations.retain(|a| a.association_id != input.association_id);
    cx.put(&old)?;
    let mut target = load(cx, &target.network_acl_id)?;
    let new_association_id = ids::ec2("aclassoc");
    target.associations.push(AclAssociation { association_id: new_association_id.clone(), subnet_id });
    cx.put(&target)?;
    Ok(ReplaceNetworkAclAssociationOutput { new_association_id })
}

// === entries ===

#[derive(Debug, Deserialize)]
pub struct EntryInput {
    #[serde(rename = "NetworkAclId")]
    network_acl_id: String,
    #[serde(rename = "RuleNumber")]
    rule_number: i64,
    #[serde(rename = "Egress", default)]
    egress: bool,
    #[serde(rename = "Protocol")]
    protocol: Option<String>,
    #[serde(rename = "RuleAction")]
    rule_action: Option<String>,
    #[serde(rename = "CidrBlock")]
    cidr_block: Option<String>,
    #[serde(rename = "Ipv6CidrBlock")]
    ipv6_cidr_block: Option<String>,
    #[serde(rename = "PortRange")]
    port_range: Option<PortRangeIn>,
    #[serde(rename = "Icmp")]
    icmp: Option<IcmpIn>,
}

#[derive(Debug, Deserialize)]
struct PortRangeIn {
    #[serde(rename = "From")]
    from: Option<i32>,
    #[serde(rename = "To")]
    to: Option<i32>,
}

#[derive(Debug, Deserialize)]
struct IcmpIn {
    #[serde(rename = "Type")]
    kind: Option<i32>,
    #[serde(rename = "Code")]
    code: Option<i32>,
}

/// An ACL entry protocol: a number as a string (`6` for `tcp`), `-1` for all.
pub fn normalize_protocol(p: &str) -> Result<String, Ec2Error> {
    let lower = p.trim().to_ascii_lowercase();
    let n = match lower.as_str() {
        "-1" | "all" => return Ok("-1".into()),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" => 58,
        other => other.parse::<u8>().map_err(|_| {
            Ec2Error::InvalidParameterValue(format!("Invalid value '{p}' for protocol. Unknown protocol."))
        })?,
    };
    Ok(n.to_string())
}

fn check_rule_number(n: i64) -> Result<(), Ec2Error> {
    if !(1..=32766).contains(&n) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Invalid value '{n}' for ruleNumber. Value must be between 1 and 32766."
        )));
    }
    Ok(())
}

/// The entry an entry call describes, checked.
fn parse_entry(input: &EntryInput) -> Result<Entry, Ec2Error> {
    check_rule_number(input.rule_number)?;
    let protocol = normalize_protocol(
        input.protocol.as_deref().ok_or_else(|| Ec2Error::MissingParameter("protocol".into()))?,
    )?;
    let action =
        input.rule_action.as_deref().ok_or_else(|| Ec2Error::MissingParameter("ruleAction".into()))?;
    let action = action.to_ascii_lowercase();
    if !matches!(action.as_str(), "allow" | "deny") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({action}) for parameter ruleAction is invalid. Valid values: allow, deny"
        )));
    }
    let (cidr_block, ipv6_cidr_block) = match (&input.cidr_block, &input.ipv6_cidr_block) {
        (Some(v4), None) => {
            let net: Ipv4Net = v4.parse().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!(
                    "Value ({v4}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
                ))
            })?;
            (Some(net.trunc().to_string()), None)
        }
        (None, Some(v6)) => {
            let net: Ipv6Net = v6.parse().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!(
                    "Value ({v6}) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block."
                ))
            })?;
            (None, Some(net.trunc().to_string()))
        }
        (None, None) => return Err(Ec2Error::MissingParameter("cidrBlock or ipv6CidrBlock".into())),
        (Some(_), Some(_)) => {
            return Err(Ec2Error::InvalidParameterCombination(
                "Only one of cidrBlock or ipv6CidrBlock may be specified".into(),
            ));
        }
    };
    let (port_range, icmp) = match protocol.as_str() {
        "6" | "17" => {
            let range = input.port_range.as_ref().and_then(|r| Some((r.from?, r.to?)));
            let Some((from, to)) = range else {
                return Err(Ec2Error::MissingParameter("portRange".into()));
            };
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Invalid value for portRange. Must specify a valid port range: {from}-{to}"
                )));
            }
            (Some((from, to)), None)
        }
        "1" | "58" => {
            let icmp = input.icmp.as_ref().map(|i| (i.kind.unwrap_or(-1), i.code.unwrap_or(-1)));
            (None, Some(icmp.unwrap_or((-1, -1))))
        }
        _ => (None, None),
    };
    Ok(Entry {
        rule_number: input.rule_number,
        egress: input.egress,
        protocol,
        rule_action: action,
        cidr_block,
        ipv6_cidr_block,
        port_range,
        icmp,
    })
}

pub fn create_network_acl_entry(cx: &Ctx<'_>, input: EntryInput) -> Result<ReturnTrue, ApiError> {
    let mut acl = load(cx, &input.network_acl_id)?;
    let entry = parse_entry(&input)?;
    if acl.entries.iter().any(|e| e.rule_number == entry.rule_number && e.egress == entry.egress) {
        return Err(Ec2Error::NetworkAclEntryAlreadyExists(entry.rule_number).into());
    }
    acl.entries.push(entry);
    cx.put(&acl)?;
    Ok(ReturnTrue::new())
}

pub fn replace_network_acl_entry(cx: &Ctx<'_>, input: EntryInput) -> Result<ReturnTrue, ApiError> {
    let mut acl = load(cx, &input.network_acl_id)?;
    let entry = parse_entry(&input)?;
    let Some(existing) =
        acl.entries.iter_mut().find(|e| e.rule_number == entry.rule_number && e.egress == entry.egress)
    else {
        return Err(Ec2Error::NetworkAclEntryNotFound(entry.rule_number).into());
    };
    *existing = entry;
    cx.put(&acl)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct DeleteEntryInput {
    #[serde(rename = "NetworkAclId")]
    network_acl_id: String,
    #[serde(rename = "RuleNumber")]
    rule_number: i64,
    #[serde(rename = "Egress", default)]
    egress: bool,
}

pub fn delete_network_acl_entry(cx: &Ctx<'_>, input: DeleteEntryInput) -> Result<ReturnTrue, ApiError> {
    let mut acl = load(cx, &input.network_acl_id)?;
    check_rule_number(input.rule_number)?;
    let before = acl.entries.len();
    acl.entries.retain(|e| !(e.rule_number == input.rule_number && e.egress == input.egress));
    if acl.entries.len() == before {
        return Err(Ec2Error::NetworkAclEntryNotFound(input.rule_number).into());
    }
    cx.put(&acl)?;
    Ok(ReturnTrue::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(protocol: &str, v4: Option<&str>, ports: Option<(i32, i32)>) -> EntryInput {
        EntryInput {
            network_acl_id: "acl-1".into(),
            rule_number: 100,
            egress: true,
            protocol: Some(protocol.into()),
            rule_action: Some("allow".into()),
            cidr_block: v4.map(Into::into),
            ipv6_cidr_block: None,
            port_range: ports.map(|(f, t)| PortRangeIn { from: Some(f), to: Some(t) }),
            icmp: None,
        }
    }

    #[test]
    fn entries_are_parsed_like_ec2() {
        // What terraform's aws_default_network_acl sends for "allow all": ports are ignored.
        let e = parse_entry(&input("-1", Some("0.0.0.0/0"), Some((0, 0)))).unwrap();
        assert_eq!((e.protocol.as_str(), e.port_range), ("-1", None));
        let e = parse_entry(&input("tcp", Some("10.0.0.0/16"), Some((80, 443)))).unwrap();
        assert_eq!((e.protocol.as_str(), e.port_range), ("6", Some((80, 443))));
        assert_eq!(
            parse_entry(&input("6", Some("10.0.0.0/16"), None)).unwrap_err().code(),
            "MissingParameter"
        );
        assert_eq!(parse_entry(&input("-1", None, None)).unwrap_err().code(), "MissingParameter");
        assert_eq!(
            parse_entry(&input("bogus", Some("0.0.0.0/0"), None)).unwrap_err().code(),
            "InvalidParameterValue"
        );
        let mut closing = input("-1", Some("0.0.0.0/0"), None);
        closing.rule_number = DEFAULT_RULE_V4;
        assert_eq!(parse_entry(&closing).unwrap_err().code(), "InvalidParameterValue");
    }
}
