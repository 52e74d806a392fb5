//! Subnets: CreateSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute.
//!
//! A subnet's CIDR lies inside its VPC's, is between /16 and /28 and overlaps no other subnet of
//! the VPC. Its available address count is not stored: it is the subnet's size less AWS's five
//! reserved addresses less the network interfaces in it, so it drops as ECS tasks, load
//! balancers and NAT gateways take addresses.

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::error::{Ec2Error, has_dependencies};
use super::filter::{self, Filter, Filterable, bool_value, one, opt};
use super::network_interface::{NetworkInterface, usable_addresses};
use super::tags::{self, Tag, TagSpecification};
use super::vpc::{self, Vpc};
use super::{AttributeBooleanValue, ReturnTrue, availability_zone, by_ids, network_acl, page, route_table};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// A stored subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet_id: String,
    pub vpc_id: String,
    /// Normalised IPv4 CIDR (`10.0.2.0/24`).
    pub cidr_block: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub subnet_arn: String,
    pub owner_id: String,
    pub ipv6: Option<SubnetIpv6Block>,
    pub map_public_ip_on_launch: bool,
    pub assign_ipv6_address_on_creation: bool,
    pub enable_dns64: bool,
    /// `ip-name` or `resource-name`.
    pub private_dns_hostname_type: String,
    pub enable_resource_name_dns_a_record: bool,
    pub enable_resource_name_dns_aaaa_record: bool,
    pub tags: Vec<Tag>,
}

/// An IPv6 /64 of the VPC's /56 given to a subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetIpv6Block {
    pub association_id: String,
    pub cidr_block: String,
}

impl Resource for Subnet {
    const KIND: &'static str = "ec2:subnet";

    fn id(&self) -> &str {
        &self.subnet_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
}

impl Subnet {
    /// The subnet's IPv4 CIDR as a network.
    pub fn net(&self) -> Result<Ipv4Net, ApiError> {
        self.cidr_block
            .parse()
            .map_err(|_| ApiError::internal(format!("stored subnet {} has a bad CIDR", self.subnet_id)))
    }
}

/// The subnet with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<Subnet>, ApiError> {
    Ok(cx.get::<Subnet>(id)?)
}

/// The subnet with this id, or `InvalidSubnetID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<Subnet, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::SubnetNotFound(id.to_string()).into())
}

/// How many addresses of the subnet are still free.
pub fn available_ip_address_count(cx: &Ctx<'_>, subnet: &Subnet) -> Result<u32, ApiError> {
    let used = cx.children::<NetworkInterface>(&subnet.subnet_id)?.len() as u32;
    Ok(usable_addresses(subnet.net()?).saturating_sub(used))
}

/// Checks a new subnet's CIDR against its VPC and sibling subnets.
pub fn validate_subnet_cidr(cidr: &str, vpc: Ipv4Net, siblings: &[Ipv4Net]) -> Result<Ipv4Net, Ec2Error> {
    let net = vpc::parse_cidr(cidr)?;
    if !(16..=28).contains(&net.prefix_len()) || !vpc.contains(&net) {
        return Err(Ec2Error::SubnetRange(net.to_string()));
    }
    if siblings.iter().any(|s| s.contains(&net.network()) || net.contains(&s.network())) {
        return Err(Ec2Error::SubnetConflict(net.to_string()));
    }
    Ok(net)
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetOut {
    availability_zone_id: String,
    map_customer_owned_ip_on_launch: bool,
    owner_id: String,
    assign_ipv6_address_on_creation: bool,
    ipv6_cidr_block_association_set: Vec<Ipv6AssociationOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    subnet_arn: String,
    enable_dns64: bool,
    ipv6_native: bool,
    private_dns_name_options_on_launch: PrivateDnsNameOptions,
    block_public_access_states: BlockPublicAccessStates,
    subnet_id: String,
    state: &'static str,
    vpc_id: String,
    cidr_block: String,
    available_ip_address_count: u32,
    availability_zone: String,
    default_for_az: bool,
    map_public_ip_on_launch: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Ipv6AssociationOut {
    association_id: String,
    ipv6_cidr_block: String,
    ipv6_cidr_block_state: State,
}

#[derive(Debug, Serialize)]
struct State {
    state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrivateDnsNameOptions {
    hostname_type: String,
    #[serde(rename = "enableResourceNameDnsARecord")]
    enable_resource_name_dns_a_record: bool,
    #[serde(rename = "enableResourceNameDnsAAAARecord")]
    enable_resource_name_dns_aaaa_record: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BlockPublicAccessStates {
    internet_gateway_block_mode: &'static str,
}

/// A subnet with its computed address count, as Describe shows and filters it.
pub struct SubnetView {
    pub subnet: Subnet,
    pub available: u32,
}

pub fn view(cx: &Ctx<'_>, subnet: Subnet) -> Result<SubnetView, ApiError> {
    let available = available_ip_address_count(cx, &subnet)?;
    Ok(SubnetView { subnet, available })
}

pub fn subnet_out(v: &SubnetView) -> SubnetOut {
    let s = &v.subnet;
    SubnetOut {
        availability_zone_id: s.availability_zone_id.clone(),
        map_customer_owned_ip_on_launch: false,
        owner_id: s.owner_id.clone(),
        assign_ipv6_address_on_creation: s.assign_ipv6_address_on_creation,
        ipv6_cidr_block_association_set: s
            .ipv6
            .iter()
            .map(|b| Ipv6AssociationOut {
                association_id: b.association_id.clone(),
                ipv6_cidr_block: b.cidr_block.clone(),
                ipv6_cidr_block_state: State { state: "associated" },
            })
            .collect(),
        tags: s.tags.clone(),
        subnet_arn: s.subnet_arn.clone(),
        enable_dns64: s.enable_dns64,
        ipv6_native: false,
        private_dns_name_options_on_launch: PrivateDnsNameOptions {
            hostname_type: s.private_dns_hostname_type.clone(),
            enable_resource_name_dns_a_record: s.enable_resource_name_dns_a_record,
            enable_resource_name_dns_aaaa_record: s.enable_resource_name_dns_aaaa_record,
        },
        block_public_access_states: BlockPublicAccessStates { internet_gateway_block_mode: "off" },
        subnet_id: s.subnet_id.clone(),
        state: "available",
        vpc_id: s.vpc_id.clone(),
        cidr_block: s.cidr_block.clone(),
        available_ip_address_count: v.available,
        availability_zone: s.availability_zone.clone(),
        default_for_az: false,
        map_public_ip_on_launch: s.map_public_ip_on_launch,
    }
}

impl Filterable for SubnetView {
    const FILTERS: &'static [&'static str] = &[
        "subnet-id",
        "vpc-id",
        "cidr-block",
        "cidr",
        "cidrBlock",
        "availability-zone",
        "availabilityZone",
        "availability-zone-id",
        "available-ip-address-count",
        "default-for-az",
        "defaultForAz",
        "map-public-ip-on-launch",
        "ipv6-cidr-block-association.ipv6-cidr-block",
        "ipv6-cidr-block-association.association-id",
        "ipv6-native",
        "owner-id",
        "state",
        "subnet-arn",
    ];

    fn tags(&self) -> &[Tag] {
        &self.subnet.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        let s = &self.subnet;
        match name {
            "subnet-id" => one(&s.subnet_id),
            "vpc-id" => one(&s.vpc_id),
            "cidr-block" | "cidr" | "cidrBlock" => one(&s.cidr_block),
            "availability-zone" | "availabilityZone" => one(&s.availability_zone),
            "availability-zone-id" => one(&s.availability_zone_id),
            "available-ip-address-count" => one(&self.available.to_string()),
            "default-for-az" | "defaultForAz" | "ipv6-native" => bool_value(false),
            "map-public-ip-on-launch" => bool_value(s.map_public_ip_on_launch),
            "ipv6-cidr-block-association.ipv6-cidr-block" => {
                opt(s.ipv6.as_ref().map(|b| b.cidr_block.as_str()))
            }
            "ipv6-cidr-block-association.association-id" => {
                opt(s.ipv6.as_ref().map(|b| b.association_id.as_str()))
            }
            "owner-id" => one(&s.owner_id),
            "state" => one("available"),
            "subnet-arn" => one(&s.subnet_arn),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct CreateSubnetInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
    #[serde(rename = "CidrBlock")]
    cidr_block: Option<String>,
    #[serde(rename = "Ipv6CidrBlock")]
    ipv6_cidr_block: Option<String>,
    #[serde(rename = "Ipv6Native", default)]
    ipv6_native: bool,
    #[serde(rename = "AvailabilityZone")]
    availability_zone: Option<String>,
    #[serde(rename = "AvailabilityZoneId")]
    availability_zone_id: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
pub struct CreateSubnetOutput {
    subnet: SubnetOut,
}

pub fn create_subnet(cx: &Ctx<'_>, input: CreateSubnetInput) -> Result<CreateSubnetOutput, ApiError> {
    let vpc = vpc::load(cx, &input.vpc_id)?;
    if input.ipv6_native {
        return Err(
            Ec2Error::InvalidParameterValue("berth does not implement IPv6-only subnets".into()).into()
        );
    }
    let cidr = input.cidr_block.ok_or_else(|| Ec2Error::MissingParameter("cidrBlock".into()))?;
    let siblings: Vec<Ipv4Net> =
        cx.children::<Subnet>(&vpc.vpc_id)?.iter().filter_map(|s| s.cidr_block.parse().ok()).collect();
    let net = validate_subnet_cidr(&cidr, vpc.net()?, &siblings)?;
    let ipv6 = match &input.ipv6_cidr_block {
        Some(block) => Some(validate_ipv6(cx, &vpc, block)?),
        None => None,
    };
    let zone = availability_zone::resolve(
        cx.region,
        input.availability_zone.as_deref(),
        input.availability_zone_id.as_deref(),
    )?;
    let tags = tags::from_specs(&input.tag_specifications, "subnet")?;
    let subnet_id = ids::ec2("subnet");
    let subnet = Subnet {
        subnet_arn: cx.arn("ec2", &format!("subnet/{subnet_id}")),
        subnet_id,
        vpc_id: vpc.vpc_id.clone(),
        cidr_block: net.to_string(),
        availability_zone: zone.zone_name,
        availability_zone_id: zone.zone_id,
        owner_id: cx.account.to_string(),
        ipv6,
        map_public_ip_on_launch: false,
        assign_ipv6_address_on_creation: false,
        enable_dns64: false,
        private_dns_hostname_type: "ip-name".into(),
        enable_resource_name_dns_a_record: false,
        enable_resource_name_dns_aaaa_record: false,
        tags,
    };
    cx.put(&subnet)?;
    network_acl::associate_with_default(cx, &vpc, &subnet.subnet_id)?;
    Ok(CreateSubnetOutput { subnet: subnet_out(&view(cx, subnet)?) })
}

/// A subnet's IPv6 block: a /64 inside the VPC's /56, used by no other subnet.
fn validate_ipv6(cx: &Ctx<'_>, vpc: &Vpc, block: &str) -> Result<SubnetIpv6Block, ApiError> {
    let Some(vpc_block) = vpc.ipv6.as_ref().and_then(|b| b.cidr_block.parse::<Ipv6Net>().ok()) else {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "The VPC {} does not have an IPv6 CIDR block",
            vpc.vpc_id
        ))
        .into());
    };
    let net: Ipv6Net = block.parse().map_err(|_| {
        Ec2Error::InvalidParameterValue(format!(
            "Value ({block}) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block."
        ))
    })?;
    if net.prefix_len() != 64 || !vpc_block.contains(&net) {
        return Err(Ec2Error::SubnetRange(block.to_string()).into());
    }
    let taken = cx
        .children::<Subnet>(&vpc.vpc_id)?
        .iter()
        .filter_map(|s| s.ipv6.as_ref())
        .any(|b| b.cidr_block.parse::<Ipv6Net>().map(|n| n == net.trunc()).unwrap_or(false));
    if taken {
        return Err(Ec2Error::SubnetConflict(block.to_string()).into());
    }
    Ok(SubnetIpv6Block { association_id: ids::ec2("subnet-cidr-assoc"), cidr_block: net.trunc().to_string() })
}

#[derive(Debug, Deserialize)]
pub struct DescribeSubnetsInput {
    #[serde(rename = "SubnetId", default)]
    subnet_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSubnetsOutput {
    subnet_set: Vec<SubnetOut>,
    next_token: Option<String>,
}

pub fn describe_subnets(
    cx: &Ctx<'_>,
    input: DescribeSubnetsInput,
) -> Result<DescribeSubnetsOutput, ApiError> {
    let subnets: Vec<Subnet> = by_ids(cx, &input.subnet_ids, Ec2Error::SubnetNotFound)?;
    let views = subnets.into_iter().map(|s| view(cx, s)).collect::<Result<Vec<_>, _>>()?;
    let views = filter::select(views, &input.filters)?;
    let (views, next_token) = page(views, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeSubnetsOutput { subnet_set: views.iter().map(subnet_out).collect(), next_token })
}

#[derive(Debug, Deserialize)]
pub struct SubnetIdInput {
    #[serde(rename = "SubnetId")]
    subnet_id: String,
}

/// Deletes a subnet no network interface (task, load balancer, NAT gateway) uses.
pub fn delete_subnet(cx: &Ctx<'_>, input: SubnetIdInput) -> Result<ReturnTrue, ApiError> {
    let subnet = load(cx, &input.subnet_id)?;
    if !cx.children::<NetworkInterface>(&subnet.subnet_id)?.is_empty() {
        return Err(has_dependencies("subnet", &subnet.subnet_id).into());
    }
    route_table::forget_subnet(cx, &subnet)?;
    network_acl::forget_subnet(cx, &subnet)?;
    cx.delete::<Subnet>(&subnet.subnet_id)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct ModifySubnetAttributeInput {
    #[serde(rename = "SubnetId")]
    subnet_id: String,
    #[serde(rename = "MapPublicIpOnLaunch")]
    map_public_ip_on_launch: Option<AttributeBooleanValue>,
    #[serde(rename = "AssignIpv6AddressOnCreation")]
    assign_ipv6_address_on_creation: Option<AttributeBooleanValue>,
    #[serde(rename = "EnableDns64")]
    enable_dns64: Option<AttributeBooleanValue>,
    #[serde(rename = "PrivateDnsHostnameTypeOnLaunch")]
    private_dns_hostname_type_on_launch: Option<String>,
    #[serde(rename = "EnableResourceNameDnsARecordOnLaunch")]
    enable_resource_name_dns_a_record: Option<AttributeBooleanValue>,
    #[serde(rename = "EnableResourceNameDnsAAAARecordOnLaunch")]
    enable_resource_name_dns_aaaa_record: Option<AttributeBooleanValue>,
}

pub fn modify_subnet_attribute(
    cx: &Ctx<'_>,
    input: ModifySubnetAttributeInput,
) -> Result<ReturnTrue, ApiError> {
    let mut subnet = load(cx, &input.subnet_id)?;
    let set = |target: &mut bool, attr: &Option<AttributeBooleanValue>| {
        if let Some(v) = attr.as_ref().and_then(|a| a.value) {
            *target = v;
        }
    };
    set(&mut subnet.map_public_ip_on_launch, &input.map_public_ip_on_launch);
    set(&mut subnet.enable_dns64, &input.enable_dns64);
    set(&mut subnet.enable_resource_name_dns_a_record, &input.enable_resource_name_dns_a_record);
    set(&mut subnet.enable_resource_name_dns_aaaa_record, &input.enable_resource_name_dns_aaaa_record);
    if let Some(v) = input.assign_ipv6_address_on_creation.as_ref().and_then(|a| a.value) {
        if v && subnet.ipv6.is_none() {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value 'true' for assignIpv6AddressOnCreation. Cannot set assignIpv6AddressOnCreation to true unless the subnet ({}) has an IPv6 CIDR block associated with it.",
                subnet.subnet_id
            ))
            .into());
        }
        subnet.assign_ipv6_address_on_creation = v;
    }
    if let Some(t) = input.private_dns_hostname_type_on_launch {
        if !matches!(t.as_str(), "ip-name" | "resource-name") {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({t}) for parameter privateDnsHostnameTypeOnLaunch is invalid."
            ))
            .into());
        }
        subnet.private_dns_hostname_type = t;
    }
    cx.put(&subnet)?;
    Ok(ReturnTrue::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn subnet_cidrs_must_fit_the_vpc_and_not_overlap() {
        let vpc = net("10.0.0.0/16");
        let siblings = [net("10.0.0.0/24"), net("10.0.1.0/24")];
        assert_eq!(validate_subnet_cidr("10.0.2.0/24", vpc, &siblings).unwrap(), net("10.0.2.0/24"));

        let conflict = validate_subnet_cidr("10.0.1.0/24", vpc, &siblings).unwrap_err();
        assert_eq!(conflict.code(), "InvalidSubnet.Conflict");
        assert_eq!(conflict.to_string(), "The CIDR '10.0.1.0/24' conflicts with another subnet");
        // Partial overlaps in both directions conflict too.
        assert_eq!(
            validate_subnet_cidr("10.0.0.0/23", vpc, &siblings).unwrap_err().code(),
            "InvalidSubnet.Conflict"
        );
        assert_eq!(
            validate_subnet_cidr("10.0.1.128/25", vpc, &siblings).unwrap_err().code(),
            "InvalidSubnet.Conflict"
        );

        let outside = validate_subnet_cidr("10.1.0.0/24", vpc, &siblings).unwrap_err();
        assert_eq!(outside.code(), "InvalidSubnet.Range");
        assert_eq!(outside.to_string(), "The CIDR '10.1.0.0/24' is invalid.");
        assert_eq!(
            validate_subnet_cidr("10.0.9.0/29", vpc, &siblings).unwrap_err().code(),
            "InvalidSubnet.Range"
        );
        assert_eq!(
            validate_subnet_cidr("10.0.0.0/15", vpc, &siblings).unwrap_err().code(),
            "InvalidSubnet.Range"
        );
        assert_eq!(
            validate_subnet_cidr("10.0.9.0/33", vpc, &siblings).unwrap_err().code(),
            "InvalidParameterValue"
        );
        assert_eq!(
            validate_subnet_cidr("10.0.9.1/24", vpc, &siblings).unwrap_err().code(),
            "InvalidParameterValue"
        );
    }
}
