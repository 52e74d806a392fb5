//! VPCs: CreateVpc (with its default security group, default network ACL and main route
//! table), DescribeVpcs, DeleteVpc, DescribeVpcAttribute, ModifyVpcAttribute.
//!
//! berth does not model AWS's default VPC: a region starts with no VPC at all, like an account
//! whose default VPCs were deleted.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::error::{Ec2Error, has_dependencies};
use super::filter::{self, Filter, Filterable, bool_value, one};
use super::internet_gateway::InternetGateway;
use super::network_acl::{self, NetworkAcl};
use super::route_table::{self, RouteTable};
use super::security_group::{self, SecurityGroup};
use super::subnet::Subnet;
use super::tags::{self, Tag, TagSpecification};
use super::{AttributeBooleanValue, ReturnTrue, by_ids, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// A stored VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub vpc_id: String,
    /// The primary IPv4 CIDR, normalised (`10.0.0.0/16`).
    pub cidr_block: String,
    pub cidr_block_association_id: String,
    /// The Amazon-provided IPv6 /56, when asked for at create time.
    pub ipv6: Option<Ipv6Block>,
    pub instance_tenancy: String,
    pub dhcp_options_id: String,
    pub owner_id: String,
    pub is_default: bool,
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
    pub enable_network_address_usage_metrics: bool,
    /// Created with the VPC, deleted with it.
    pub default_security_group_id: String,
    pub default_network_acl_id: String,
    pub main_route_table_id: String,
    pub tags: Vec<Tag>,
}

/// An IPv6 CIDR associated with a VPC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ipv6Block {
    pub association_id: String,
    pub cidr_block: String,
    pub network_border_group: String,
}

impl Resource for Vpc {
    const KIND: &'static str = "ec2:vpc";

    fn id(&self) -> &str {
        &self.vpc_id
    }
}

impl Vpc {
    /// The primary IPv4 CIDR as a network.
    pub fn net(&self) -> Result<Ipv4Net, ApiError> {
        self.cidr_block
            .parse()
            .map_err(|_| ApiError::internal(format!("stored VPC {} has a bad CIDR", self.vpc_id)))
    }
}

/// The VPC with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<Vpc>, ApiError> {
    Ok(cx.get::<Vpc>(id)?)
}

/// The VPC with this id, or `InvalidVpcID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<Vpc, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::VpcNotFound(id.to_string()).into())
}

// === CIDR validation ===

/// Parses an IPv4 CIDR the way EC2 accepts it: dotted quad, prefix length, no host bits set.
pub fn parse_cidr(cidr: &str) -> Result<Ipv4Net, Ec2Error> {
    let invalid = || {
        Ec2Error::InvalidParameterValue(format!(
            "Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    };
    let net: Ipv4Net = cidr.parse().map_err(|_| invalid())?;
    if net.network() != net.addr() {
        return Err(invalid());
    }
    Ok(net)
}

/// A VPC's primary CIDR: a valid block between /16 and /28 outside the ranges AWS refuses.
pub fn validate_vpc_cidr(cidr: &str) -> Result<Ipv4Net, Ec2Error> {
    let net = parse_cidr(cidr)?;
    let refused = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3"]
        .iter()
        .filter_map(|r| r.parse::<Ipv4Net>().ok())
        .any(|r| r.contains(&net.network()));
    if !(16..=28).contains(&net.prefix_len()) || refused {
        return Err(Ec2Error::VpcRange(net.to_string()));
    }
    Ok(net)
}

/// The DHCP options set every VPC of a region uses (berth has one per region, like the default
/// set AWS gives an account).
fn dhcp_options_id(region: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in region.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("dopt-{h:017x}")
}

/// An Amazon-provided IPv6 /56 (berth picks it from AWS's `2600:1f10::/28`-style pool).
fn amazon_ipv6_block() -> String {
    let h = ids::hex(6);
    format!("2600:1f1{}:{}:{}00::/56", &h[0..1], &h[1..4], &h[4..6])
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcOut {
    owner_id: String,
    instance_tenancy: String,
    ipv6_cidr_block_association_set: Vec<Ipv6AssociationOut>,
    cidr_block_association_set: Vec<CidrAssociationOut>,
    is_default: bool,
    block_public_access_states: BlockPublicAccessStates,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    vpc_id: String,
    state: &'static str,
    cidr_block: String,
    dhcp_options_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BlockPublicAccessStates {
    internet_gateway_block_mode: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CidrAssociationOut {
    association_id: String,
    cidr_block: String,
    cidr_block_state: State,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ipv6AssociationOut {
    association_id: String,
    ipv6_cidr_block: String,
    ipv6_cidr_block_state: State,
    network_border_group: String,
    ipv6_pool: &'static str,
}

#[derive(Debug, Serialize)]
struct State {
    state: &'static str,
}

pub fn vpc_out(vpc: &Vpc) -> VpcOut {
    VpcOut {
        owner_id: vpc.owner_id.clone(),
        instance_tenancy: vpc.instance_tenancy.clone(),
        ipv6_cidr_block_association_set: vpc
            .ipv6
            .iter()
            .map(|b| Ipv6AssociationOut {
                association_id: b.association_id.clone(),
                ipv6_cidr_block: b.cidr_block.clone(),
                ipv6_cidr_block_state: State { state: "associated" },
                network_border_group: b.network_border_group.clone(),
                ipv6_pool: "Amazon",
            })
            .collect(),
        cidr_block_association_set: vec![CidrAssociationOut {
            association_id: vpc.cidr_block_association_id.clone(),
            cidr_block: vpc.cidr_block.clone(),
            cidr_block_state: State { state: "associated" },
        }],
        is_default: vpc.is_default,
        block_public_access_states: BlockPublicAccessStates { internet_gateway_block_mode: "off" },
        tags: vpc.tags.clone(),
        vpc_id: vpc.vpc_id.clone(),
        state: "available",
        cidr_block: vpc.cidr_block.clone(),
        dhcp_options_id: vpc.dhcp_options_id.clone(),
    }
}

impl Filterable for Vpc {
    const FILTERS: &'static [&'static str] = &[
        "vpc-id",
        "cidr",
        "cidr-block-association.cidr-block",
        "cidr-block-association.association-id",
        "cidr-block-association.state",
        "dhcp-options-id",
        "ipv6-cidr-block-association.ipv6-cidr-block",
        "ipv6-cidr-block-association.association-id",
        "ipv6-cidr-block-association.state",
        "is-default",
        "owner-id",
        "state",
    ];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "vpc-id" => one(&self.vpc_id),
            "cidr" | "cidr-block-association.cidr-block" => one(&self.cidr_block),
            "cidr-block-association.association-id" => one(&self.cidr_block_association_id),
            "cidr-block-association.state" | "state" => {
                one(if name == "state" { "available" } else { "associated" })
            }
            "dhcp-options-id" => one(&self.dhcp_options_id),
            "ipv6-cidr-block-association.ipv6-cidr-block" => {
                self.ipv6.iter().map(|b| b.cidr_block.clone()).collect()
            }
            "ipv6-cidr-block-association.association-id" => {
                self.ipv6.iter().map(|b| b.association_id.clone()).collect()
            }
            "ipv6-cidr-block-association.state" => self.ipv6.iter().map(|_| "associated".into()).collect(),
            "is-default" => bool_value(self.is_default),
            "owner-id" => one(&self.owner_id),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct CreateVpcInput {
    #[serde(rename = "CidrBlock")]
    cidr_block: Option<String>,
    #[serde(rename = "InstanceTenancy")]
    instance_tenancy: Option<String>,
    #[serde(rename = "AmazonProvidedIpv6CidrBlock", default)]
    amazon_provided_ipv6_cidr_block: bool,
    #[serde(rename = "Ipv6CidrBlockNetworkBorderGroup")]
    ipv6_network_border_group: Option<String>,
    #[serde(rename = "Ipv4IpamPoolId")]
    ipv4_ipam_pool_id: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
pub struct CreateVpcOutput {
    vpc: VpcOut,
}

pub fn create_vpc(cx: &Ctx<'_>, input: CreateVpcInput) -> Result<CreateVpcOutput, ApiError> {
    if input.ipv4_ipam_pool_id.is_some() {
        return Err(Ec2Error::InvalidParameterValue("berth does not implement IPAM pools".into()).into());
    }
    let cidr = input.cidr_block.ok_or_else(|| Ec2Error::MissingParameter("cidrBlock".into()))?;
    let net = validate_vpc_cidr(&cidr)?;
    let tenancy = input.instance_tenancy.unwrap_or_else(|| "default".into());
    if !matches!(tenancy.as_str(), "default" | "dedicated") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({tenancy}) for parameter instanceTenancy is invalid. Valid values: default, dedicated"
        ))
        .into());
    }
    let tags = tags::from_specs(&input.tag_specifications, "vpc")?;
    let vpc_id = ids::ec2("vpc");
    let ipv6 = input.amazon_provided_ipv6_cidr_block.then(|| Ipv6Block {
        association_id: ids::ec2("vpc-cidr-assoc"),
        cidr_block: amazon_ipv6_block(),
        network_border_group: input.ipv6_network_border_group.unwrap_or_else(|| cx.region.to_string()),
    });
    let mut vpc = Vpc {
        vpc_id: vpc_id.clone(),
        cidr_block: net.to_string(),
        cidr_block_association_id: ids::ec2("vpc-cidr-assoc"),
        ipv6,
        instance_tenancy: tenancy,
        dhcp_options_id: dhcp_options_id(cx.region),
        owner_id: cx.account.to_string(),
        is_default: false,
        enable_dns_support: true,
        enable_dns_hostnames: false,
        enable_network_address_usage_metrics: false,
        default_security_group_id: String::new(),
        default_network_acl_id: String::new(),
        main_route_table_id: String::new(),
        tags,
    };
    vpc.default_security_group_id = security_group::create_default(cx, &vpc)?;
    vpc.default_network_acl_id = network_acl::create_default(cx, &vpc)?;
    vpc.main_route_table_id = route_table::create_main(cx, &vpc)?;
    cx.put(&vpc)?;
    Ok(CreateVpcOutput { vpc: vpc_out(&vpc) })
}

#[derive(Debug, Deserialize)]
pub struct DescribeVpcsInput {
    #[serde(rename = "VpcId", default)]
    vpc_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeVpcsOutput {
    vpc_set: Vec<VpcOut>,
    next_token: Option<String>,
}

pub fn describe_vpcs(cx: &Ctx<'_>, input: DescribeVpcsInput) -> Result<DescribeVpcsOutput, ApiError> {
    let vpcs: Vec<Vpc> = by_ids(cx, &input.vpc_ids, Ec2Error::VpcNotFound)?;
    let vpcs = filter::select(vpcs, &input.filters)?;
    let (vpcs, next_token) = page(vpcs, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeVpcsOutput { vpc_set: vpcs.iter().map(vpc_out).collect(), next_token })
}

#[derive(Debug, Deserialize)]
pub struct VpcIdInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
}

/// Deletes a VPC that holds nothing but what was created with it.
pub fn delete_vpc(cx: &Ctx<'_>, input: VpcIdInput) -> Result<ReturnTrue, ApiError> {
    let vpc = load(cx, &input.vpc_id)?;
    let blocked = || -> Result<bool, ApiError> {
        if !cx.children::<Subnet>(&vpc.vpc_id)?.is_empty() {
            return Ok(true);
        }
        if cx.list::<InternetGateway>()?.iter().any(|g| g.attached_to(&vpc.vpc_id)) {
            return Ok(true);
        }
        if cx
            .children::<SecurityGroup>(&vpc.vpc_id)?
            .iter()
            .any(|g| g.group_id != vpc.default_security_group_id)
        {
            return Ok(true);
        }
        if cx.children::<RouteTable>(&vpc.vpc_id)?.iter().any(|t| t.route_table_id != vpc.main_route_table_id)
        {
            return Ok(true);
        }
        Ok(cx
            .children::<NetworkAcl>(&vpc.vpc_id)?
            .iter()
            .any(|a| a.network_acl_id != vpc.default_network_acl_id))
    };
    if blocked()? {
        return Err(has_dependencies("vpc", &vpc.vpc_id).into());
    }
    cx.delete::<SecurityGroup>(&vpc.default_security_group_id)?;
    cx.delete::<NetworkAcl>(&vpc.default_network_acl_id)?;
    cx.delete::<RouteTable>(&vpc.main_route_table_id)?;
    cx.delete::<Vpc>(&vpc.vpc_id)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct DescribeVpcAttributeInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
    #[serde(rename = "Attribute")]
    attribute: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeVpcAttributeOutput {
    vpc_id: String,
    enable_dns_support: Option<AttributeBooleanValue>,
    enable_dns_hostnames: Option<AttributeBooleanValue>,
    enable_network_address_usage_metrics: Option<AttributeBooleanValue>,
}

pub fn describe_vpc_attribute(
    cx: &Ctx<'_>,
    input: DescribeVpcAttributeInput,
) -> Result<DescribeVpcAttributeOutput, ApiError> {
    let vpc = load(cx, &input.vpc_id)?;
    let value = |b: bool| Some(AttributeBooleanValue { value: Some(b) });
    let mut out = DescribeVpcAttributeOutput {
        vpc_id: vpc.vpc_id.clone(),
        enable_dns_support: None,
        enable_dns_hostnames: None,
        enable_network_address_usage_metrics: None,
    };
    match input.attribute.as_str() {
        "enableDnsSupport" => out.enable_dns_support = value(vpc.enable_dns_support),
        "enableDnsHostnames" => out.enable_dns_hostnames = value(vpc.enable_dns_hostnames),
        "enableNetworkAddressUsageMetrics" => {
            out.enable_network_address_usage_metrics = value(vpc.enable_network_address_usage_metrics)
        }
        other => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            ))
            .into());
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct ModifyVpcAttributeInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
    #[serde(rename = "EnableDnsSupport")]
    enable_dns_support: Option<AttributeBooleanValue>,
    #[serde(rename = "EnableDnsHostnames")]
    enable_dns_hostnames: Option<AttributeBooleanValue>,
    #[serde(rename = "EnableNetworkAddressUsageMetrics")]
    enable_network_address_usage_metrics: Option<AttributeBooleanValue>,
}

pub fn modify_vpc_attribute(cx: &Ctx<'_>, input: ModifyVpcAttributeInput) -> Result<ReturnTrue, ApiError> {
    let mut vpc = load(cx, &input.vpc_id)?;
    let given =
        [&input.enable_dns_support, &input.enable_dns_hostnames, &input.enable_network_address_usage_metrics]
            .iter()
            .filter(|a| a.is_some())
            .count();
    if given != 1 {
        // Wording guessed.
        return Err(Ec2Error::InvalidParameterCombination(
            "Exactly one attribute must be specified: enableDnsSupport, enableDnsHostnames or enableNetworkAddressUsageMetrics"
                .into(),
        )
        .into());
    }
    let value = |a: &AttributeBooleanValue| a.value.ok_or_else(|| Ec2Error::MissingParameter("Value".into()));
    if let Some(a) = &input.enable_dns_support {
        vpc.enable_dns_support = value(a)?;
    }
    if let Some(a) = &input.enable_dns_hostnames {
        vpc.enable_dns_hostnames = value(a)?;
    }
    if let Some(a) = &input.enable_network_address_usage_metrics {
        vpc.enable_network_address_usage_metrics = value(a)?;
    }
    if vpc.enable_dns_hostnames && !vpc.enable_dns_support {
        return Err(Ec2Error::InvalidParameterValue(
            "DNS hostnames can only be enabled in a VPC that has DNS resolution enabled".into(),
        )
        .into());
    }
    cx.put(&vpc)?;
    Ok(ReturnTrue::new())
}

/// Whether `ip` is inside the VPC's IPv4 CIDR.
pub fn contains(vpc: &Vpc, ip: Ipv4Addr) -> bool {
    vpc.net().map(|n| n.contains(&ip)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_cidrs_are_validated_like_ec2() {
        assert_eq!(validate_vpc_cidr("10.0.0.0/16").unwrap().to_string(), "10.0.0.0/16");
        assert_eq!(validate_vpc_cidr("10.0.0.0/28").unwrap().prefix_len(), 28);
        let too_big = validate_vpc_cidr("10.0.0.0/8").unwrap_err();
        assert_eq!(
            (too_big.code(), too_big.to_string()),
            ("InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid.".into())
        );
        assert_eq!(validate_vpc_cidr("10.0.0.0/29").unwrap_err().code(), "InvalidVpc.Range");
        assert_eq!(validate_vpc_cidr("127.0.0.0/16").unwrap_err().code(), "InvalidVpc.Range");
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0.1/16", "banana", "10.0.0/16", ""] {
            let e = validate_vpc_cidr(bad).unwrap_err();
            assert_eq!(e.code(), "InvalidParameterValue", "{bad}");
            assert_eq!(
                e.to_string(),
                format!("Value ({bad}) for parameter cidrBlock is invalid. This is not a valid CIDR block.")
            );
        }
    }

    #[test]
    fn generated_ids_have_aws_shapes() {
        let d = dhcp_options_id("us-east-1");
        assert_eq!(d.len(), "dopt-".len() + 17);
        assert_eq!(d, dhcp_options_id("us-east-1"));
        let v6 = amazon_ipv6_block();
        assert!(v6.parse::<ipnet::Ipv6Net>().is_ok(), "{v6}");
        assert!(v6.ends_with("/56"));
    }
}
