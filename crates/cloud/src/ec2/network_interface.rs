//! Network interfaces (ENIs): the ones users create (CreateNetworkInterface,
//! DeleteNetworkInterface), the ones AWS services create for themselves ([`create_managed`]:
//! load balancers, Fargate tasks, NAT gateways), DescribeNetworkInterfaces over both, and the
//! private address allocator every interface gets its address from.
//!
//! # Addresses
//! An interface gets the first free address of its subnet after AWS's reserved ones (the network
//! address, the next three, and the broadcast address). berth serves a VPC address `A.B.C.D` on
//! the host's `127.B.C.D` ([`model::network::loopback_alias`]), so the allocator also skips any
//! address whose loopback alias is that of another live interface, in any VPC of any region.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, bool_value, one, opt};
use super::security_group::{self, SecurityGroup};
use super::subnet::{self, Subnet};
use super::tags::{self, Tag, TagSpecification};
use super::{ReturnTrue, by_ids, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids, iso8601};

/// A stored network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub network_interface_id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub private_ip_address: String,
    pub mac_address: String,
    /// `ip-10-0-2-17.ec2.internal` (us-east-1) or `ip-10-0-2-17.<region>.compute.internal`.
    pub private_dns_name: String,
    pub description: String,
    pub groups: Vec<GroupRef>,
    pub owner_id: String,
    /// `interface`, `nat_gateway`, …
    pub interface_type: String,
    /// Created by an AWS service for itself (not deletable by the user while in use).
    pub requester_managed: bool,
    /// The service that created it (`amazon-elb`, `amazon-aws`), for managed interfaces.
    pub requester_id: Option<String>,
    /// `available` (unattached) or `in-use`.
    pub status: String,
    pub attachment: Option<Attachment>,
    /// The Elastic IP associated with the primary address.
    pub association: Option<PublicAssociation>,
    pub source_dest_check: bool,
    pub tags: Vec<Tag>,
}

/// A security group an interface belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub group_id: String,
    pub group_name: String,
}

/// What an interface is attached to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub attachment_id: String,
    pub instance_id: Option<String>,
    pub instance_owner_id: String,
    pub device_index: i32,
    pub status: String,
    pub attach_time: String,
    pub delete_on_termination: bool,
}

/// An Elastic IP associated with an interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicAssociation {
    pub public_ip: String,
    pub allocation_id: String,
    pub association_id: String,
    pub ip_owner_id: String,
}

impl Resource for NetworkInterface {
    const KIND: &'static str = "ec2:network-interface";

    fn id(&self) -> &str {
        &self.network_interface_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.subnet_id)
    }
}

impl NetworkInterface {
    /// The ids of the interface's security groups.
    pub fn group_ids(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.group_id.as_str())
    }
}

/// Interfaces AWS services create for themselves (ELB, ECS tasks, NAT gateways).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedInterface {
    pub subnet_id: String,
    pub group_ids: Vec<String>,
    pub description: String,
    /// `attachment.instance-owner-id` and `requesterId`: "amazon-elb" for load balancers,
    /// "amazon-aws" for Fargate tasks and NAT gateways.
    pub owner: String,
    /// `interface` for load balancers and tasks, `nat_gateway` for NAT gateways.
    pub interface_type: String,
}

/// The interface with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<NetworkInterface>, ApiError> {
    Ok(cx.get::<NetworkInterface>(id)?)
}

/// The interface with this id, or `InvalidNetworkInterfaceID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<NetworkInterface, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::NetworkInterfaceNotFound(id.to_string()).into())
}

/// Creates an interface an AWS service owns: validates the subnet and groups (AWS's errors),
/// allocates the subnet's first free address, and attaches it to `spec.owner`. The interface is
/// `in-use` and requester-managed; it shows in DescribeNetworkInterfaces and blocks deleting its
/// subnet and security groups until [`delete_managed`].
pub fn create_managed(cx: &Ctx<'_>, spec: ManagedInterface) -> Result<NetworkInterface, ApiError> {
    let subnet = subnet::load(cx, &spec.subnet_id)?;
    let groups = load_groups(cx, &subnet, &spec.group_ids)?;
    let ip = allocate_address(cx, &subnet, None)?;
    // NAT gateways forward traffic that is not theirs: AWS turns the check off on their interface.
    let source_dest_check = spec.interface_type != "nat_gateway";
    let eni = NetworkInterface {
        attachment: Some(Attachment {
            // AWS's own attachments (load balancers, NAT gateways, Fargate) are `ela-attach-…`.
            attachment_id: ids::ec2("ela-attach"),
            instance_id: None,
            instance_owner_id: spec.owner.clone(),
            device_index: 1,
            status: "attached".into(),
            attach_time: iso8601(cx.now),
            delete_on_termination: false,
        }),
        requester_managed: true,
        requester_id: Some(spec.owner),
        status: "in-use".into(),
        source_dest_check,
        ..new_interface(cx, &subnet, ip, groups, spec.description, spec.interface_type)
    };
    cx.put(&eni)?;
    Ok(eni)
}

/// Deletes a managed interface (and lets go of any Elastic IP associated with it). Deleting an
/// interface that does not exist is not an error.
pub fn delete_managed(cx: &Ctx<'_>, network_interface_id: &str) -> Result<(), ApiError> {
    if let Some(eni) = find(cx, network_interface_id)? {
        if let Some(assoc) = &eni.association {
            super::address::forget_association(cx, &assoc.allocation_id)?;
        }
        cx.delete::<NetworkInterface>(network_interface_id)?;
    }
    Ok(())
}

/// The security groups `ids` as an interface in `subnet` would join them: each must exist and
/// belong to the subnet's VPC.
pub(super) fn load_groups(cx: &Ctx<'_>, subnet: &Subnet, ids: &[String]) -> Result<Vec<GroupRef>, ApiError> {
    let mut groups = Vec::new();
    for id in ids {
        let sg: SecurityGroup = security_group::load(cx, id)?;
        if sg.vpc_id != subnet.vpc_id {
            return Err(Ec2Error::InvalidParameter(format!(
                "Security group {} and subnet {} belong to different networks.",
                sg.group_id, subnet.subnet_id
            ))
            .into());
        }
        if !groups.iter().any(|g: &GroupRef| g.group_id == sg.group_id) {
            groups.push(GroupRef { group_id: sg.group_id, group_name: sg.group_name });
        }
    }
    Ok(groups)
}

/// A fresh, unattached interface (the caller fills in attachment and ownership).
pub(super) fn new_interface(
    cx: &Ctx<'_>,
    subnet: &Subnet,
    ip: Ipv4Addr,
    groups: Vec<GroupRef>,
    description: String,
    interface_type: String,
) -> NetworkInterface {
    NetworkInterface {
        network_interface_id: ids::ec2("eni"),
        subnet_id: subnet.subnet_id.clone(),
        vpc_id: subnet.vpc_id.clone(),
        availability_zone: subnet.availability_zone.clone(),
        availability_zone_id: subnet.availability_zone_id.clone(),
        private_ip_address: ip.to_string(),
        mac_address: mac_address(),
        private_dns_name: private_dns_name(cx.region, ip),
        description,
        groups,
        owner_id: cx.account.to_string(),
        interface_type,
        requester_managed: false,
        requester_id: None,
        status: "available".into(),
        attachment: None,
        association: None,
        source_dest_check: true,
        tags: Vec::new(),
    }
}

/// `ip-10-0-2-17.ec2.internal` in us-east-1, `ip-10-0-2-17.<region>.compute.internal` elsewhere.
pub fn private_dns_name(region: &str, ip: Ipv4Addr) -> String {
    let host = format!("ip-{}", ip.to_string().replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}

/// A locally administered unicast MAC address, as VPC interfaces have.
fn mac_address() -> String {
    let hex = ids::hex(10);
    let mut mac = String::from("02");
    for pair in hex.as_bytes().chunks(2) {
        mac.push(':');
        mac.extend(pair.iter().map(|b| *b as char));
    }
    mac
}

// === the address allocator ===

/// Whether `ip` is one of the five addresses AWS reserves in every subnet.
pub fn is_reserved(net: Ipv4Net, ip: Ipv4Addr) -> bool {
    let offset = u32::from(ip).wrapping_sub(u32::from(net.network()));
    offset <= 3 || ip == net.broadcast()
}

/// How many addresses of `net` interfaces can use (its size less the five reserved ones).
pub fn usable_addresses(net: Ipv4Net) -> u32 {
    let size = 1u64 << (32 - u32::from(net.prefix_len()));
    size.saturating_sub(5) as u32
}

/// The first address of `net` that is not reserved, not `used` in the subnet, and whose loopback
/// alias is not in `aliases`.
pub fn first_free(net: Ipv4Net, used: &HashSet<Ipv4Addr>, aliases: &HashSet<IpAddr>) -> Option<Ipv4Addr> {
    net.hosts()
        .filter(|ip| !is_reserved(net, *ip))
        .find(|ip| !used.contains(ip) && !aliases.contains(&model::network::loopback_alias(IpAddr::V4(*ip))))
}

/// Allocates an address in `subnet` for a new interface: `requested` if given (checked), else the
/// first free one.
pub(super) fn allocate_address(
    cx: &Ctx<'_>,
    subnet: &Subnet,
    requested: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, ApiError> {
    let net: Ipv4Net = subnet
        .cidr_block
        .parse()
        .map_err(|_| ApiError::internal(format!("stored subnet {} has a bad CIDR", subnet.subnet_id)))?;
    let used: HashSet<Ipv4Addr> = cx
        .children::<NetworkInterface>(&subnet.subnet_id)?
        .iter()
        .filter_map(|e| e.private_ip_address.parse().ok())
        .collect();
    let aliases: HashSet<IpAddr> = cx
        .tx
        .list_all_regions::<NetworkInterface>()?
        .iter()
        .filter_map(|(_, e)| e.private_ip_address.parse::<IpAddr>().ok())
        .map(model::network::loopback_alias)
        .collect();
    match requested {
        None => first_free(net, &used, &aliases)
            .ok_or_else(|| Ec2Error::InsufficientFreeAddresses(subnet.subnet_id.clone()).into()),
        Some(ip) => {
            if !net.contains(&ip) {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Address {ip} does not fall within the subnet's address range"
                ))
                .into());
            }
            if is_reserved(net, ip) {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Address {ip} is in subnet's reserved address range"
                ))
                .into());
            }
            if used.contains(&ip) {
                return Err(
                    Ec2Error::IpAddressInUse("The specified address is already in use.".into()).into()
                );
            }
            if aliases.contains(&model::network::loopback_alias(IpAddr::V4(ip))) {
                // Not an AWS rule: berth serves A.B.C.D on 127.B.C.D, so it must stay unique.
                return Err(Ec2Error::IpAddressInUse(format!(
                    "The specified address is already in use (berth serves {ip} on {}, which another interface already uses).",
                    model::network::loopback_alias(IpAddr::V4(ip))
                ))
                .into());
            }
            Ok(ip)
        }
    }
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterfaceOut {
    network_interface_id: String,
    subnet_id: String,
    vpc_id: String,
    availability_zone: String,
    availability_zone_id: String,
    description: String,
    owner_id: String,
    requester_id: Option<String>,
    requester_managed: bool,
    status: String,
    mac_address: String,
    private_ip_address: String,
    private_dns_name: String,
    source_dest_check: bool,
    group_set: Vec<GroupOut>,
    attachment: Option<AttachmentOut>,
    association: Option<AssociationOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    private_ip_addresses_set: Vec<PrivateIpOut>,
    ipv6_addresses_set: Vec<()>,
    interface_type: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupOut {
    group_id: String,
    group_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentOut {
    attachment_id: String,
    instance_id: Option<String>,
    instance_owner_id: String,
    device_index: i32,
    network_card_index: i32,
    status: String,
    attach_time: String,
    delete_on_termination: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationOut {
    public_ip: String,
    public_dns_name: String,
    ip_owner_id: String,
    allocation_id: String,
    association_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PrivateIpOut {
    private_ip_address: String,
    private_dns_name: String,
    primary: bool,
    association: Option<AssociationOut>,
}

pub fn interface_out(cx: &Ctx<'_>, e: &NetworkInterface) -> NetworkInterfaceOut {
    let association = e.association.as_ref().map(|a| AssociationOut {
        public_ip: a.public_ip.clone(),
        public_dns_name: super::address::public_dns_name(cx.region, &a.public_ip),
        ip_owner_id: a.ip_owner_id.clone(),
        allocation_id: a.allocation_id.clone(),
        association_id: a.association_id.clone(),
    });
    NetworkInterfaceOut {
        network_interface_id: e.network_interface_id.clone(),
        subnet_id: e.subnet_id.clone(),
        vpc_id: e.vpc_id.clone(),
        availability_zone: e.availability_zone.clone(),
        availability_zone_id: e.availability_zone_id.clone(),
        description: e.description.clone(),
        owner_id: e.owner_id.clone(),
        requester_id: e.requester_id.clone(),
        requester_managed: e.requester_managed,
        status: e.status.clone(),
        mac_address: e.mac_address.clone(),
        private_ip_address: e.private_ip_address.clone(),
        private_dns_name: e.private_dns_name.clone(),
        source_dest_check: e.source_dest_check,
        group_set: e
            .groups
            .iter()
            .map(|g| GroupOut { group_id: g.group_id.clone(), group_name: g.group_name.clone() })
            .collect(),
        attachment: e.attachment.as_ref().map(|a| AttachmentOut {
            attachment_id: a.attachment_id.clone(),
            instance_id: a.instance_id.clone(),
            instance_owner_id: a.instance_owner_id.clone(),
            device_index: a.device_index,
            network_card_index: 0,
            status: a.status.clone(),
            attach_time: a.attach_time.clone(),
            delete_on_termination: a.delete_on_termination,
        }),
        association: association.clone(),
        tags: e.tags.clone(),
        private_ip_addresses_set: vec![PrivateIpOut {
            private_ip_address: e.private_ip_address.clone(),
            private_dns_name: e.private_dns_name.clone(),
            primary: true,
            association,
        }],
        ipv6_addresses_set: Vec::new(),
        interface_type: e.interface_type.clone(),
    }
}

impl Filterable for NetworkInterface {
    const FILTERS: &'static [&'static str] = &[
        "network-interface-id",
        "subnet-id",
        "vpc-id",
        "availability-zone",
        "description",
        "group-id",
        "group-name",
        "attachment.attachment-id",
        "attachment.instance-owner-id",
        "attachment.instance-id",
        "attachment.status",
        "attachment.device-index",
        "addresses.private-ip-address",
        "private-ip-address",
        "private-dns-name",
        "mac-address",
        "owner-id",
        "requester-id",
        "requester-managed",
        "source-dest-check",
        "status",
        "interface-type",
        "association.public-ip",
        "association.allocation-id",
        "association.association-id",
    ];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        let attachment = self.attachment.as_ref();
        let association = self.association.as_ref();
        match name {
            "network-interface-id" => one(&self.network_interface_id),
            "subnet-id" => one(&self.subnet_id),
            "vpc-id" => one(&self.vpc_id),
            "availability-zone" => one(&self.availability_zone),
            "description" => one(&self.description),
            "group-id" => self.groups.iter().map(|g| g.group_id.clone()).collect(),
            "group-name" => self.groups.iter().map(|g| g.group_name.clone()).collect(),
            "attachment.attachment-id" => opt(attachment.map(|a| a.attachment_id.as_str())),
            "attachment.instance-owner-id" => opt(attachment.map(|a| a.instance_owner_id.as_str())),
            "attachment.instance-id" => opt(attachment.and_then(|a| a.instance_id.as_deref())),
            "attachment.status" => opt(attachment.map(|a| a.status.as_str())),
            "attachment.device-index" => attachment.map(|a| a.device_index.to_string()).into_iter().collect(),
            "addresses.private-ip-address" | "private-ip-address" => one(&self.private_ip_address),
            "private-dns-name" => one(&self.private_dns_name),
            "mac-address" => one(&self.mac_address),
            "owner-id" => one(&self.owner_id),
            "requester-id" => opt(self.requester_id.as_deref()),
            "requester-managed" => bool_value(self.requester_managed),
            "source-dest-check" => bool_value(self.source_dest_check),
            "status" => one(&self.status),
            "interface-type" => one(&self.interface_type),
            "association.public-ip" => opt(association.map(|a| a.public_ip.as_str())),
            "association.allocation-id" => opt(association.map(|a| a.allocation_id.as_str())),
            "association.association-id" => opt(association.map(|a| a.association_id.as_str())),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct CreateNetworkInterfaceInput {
    #[serde(rename = "SubnetId")]
    subnet_id: String,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "SecurityGroupId", default)]
    group_ids: Vec<String>,
    #[serde(rename = "PrivateIpAddress")]
    private_ip_address: Option<String>,
    #[serde(rename = "InterfaceType")]
    interface_type: Option<String>,
    #[serde(rename = "ClientToken")]
    client_token: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNetworkInterfaceOutput {
    network_interface: NetworkInterfaceOut,
    client_token: Option<String>,
}

/// A user's own interface: unattached (`available`), in the VPC's default security group unless
/// groups are given.
pub fn create_network_interface(
    cx: &Ctx<'_>,
    input: CreateNetworkInterfaceInput,
) -> Result<CreateNetworkInterfaceOutput, ApiError> {
    let subnet = subnet::load(cx, &input.subnet_id)?;
    if let Some(t) = input.interface_type.as_deref().filter(|t| *t != "interface") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "berth does not implement network interfaces of type '{t}'"
        ))
        .into());
    }
    let group_ids = if input.group_ids.is_empty() {
        vec![super::vpc::load(cx, &subnet.vpc_id)?.default_security_group_id]
    } else {
        input.group_ids
    };
    let groups = load_groups(cx, &subnet, &group_ids)?;
    let requested = match &input.private_ip_address {
        Some(ip) => Some(ip.parse::<Ipv4Addr>().map_err(|_| {
            Ec2Error::InvalidParameterValue(format!(
                "Value ({ip}) for parameter privateIpAddress is invalid. Invalid IPv4 address."
            ))
        })?),
        None => None,
    };
    let tags = tags::from_specs(&input.tag_specifications, "network-interface")?;
    let ip = allocate_address(cx, &subnet, requested)?;
    let eni = NetworkInterface {
        tags,
        ..new_interface(cx, &subnet, ip, groups, input.description.unwrap_or_default(), "interface".into())
    };
    cx.put(&eni)?;
    Ok(CreateNetworkInterfaceOutput {
        network_interface: interface_out(cx, &eni),
        client_token: input.client_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct DescribeNetworkInterfacesInput {
    #[serde(rename = "NetworkInterfaceId", default)]
    network_interface_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeNetworkInterfacesOutput {
    network_interface_set: Vec<NetworkInterfaceOut>,
    next_token: Option<String>,
}

pub fn describe_network_interfaces(
    cx: &Ctx<'_>,
    input: DescribeNetworkInterfacesInput,
) -> Result<DescribeNetworkInterfacesOutput, ApiError> {
    let enis: Vec<NetworkInterface> =
        by_ids(cx, &input.network_interface_ids, Ec2Error::NetworkInterfaceNotFound)?;
    let enis = filter::select(enis, &input.filters)?;
    let (enis, next_token) = page(enis, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeNetworkInterfacesOutput {
        network_interface_set: enis.iter().map(|e| interface_out(cx, e)).collect(),
        next_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct NetworkInterfaceIdInput {
    #[serde(rename = "NetworkInterfaceId")]
    network_interface_id: String,
}

/// Deletes a user's unattached interface; AWS services' interfaces are theirs to delete.
pub fn delete_network_interface(
    cx: &Ctx<'_>,
    input: NetworkInterfaceIdInput,
) -> Result<ReturnTrue, ApiError> {
    let eni = load(cx, &input.network_interface_id)?;
    if eni.requester_managed || eni.attachment.is_some() {
        return Err(Ec2Error::NetworkInterfaceInUse(eni.network_interface_id).into());
    }
    if let Some(assoc) = &eni.association {
        super::address::forget_association(cx, &assoc.allocation_id)?;
    }
    cx.delete::<NetworkInterface>(&eni.network_interface_id)?;
    Ok(ReturnTrue::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn the_five_reserved_addresses_are_skipped() {
        let n = net("10.0.2.0/24");
        for r in ["10.0.2.0", "10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.255"] {
            assert!(is_reserved(n, ip(r)), "{r}");
        }
        assert!(!is_reserved(n, ip("10.0.2.4")));
        assert_eq!(usable_addresses(n), 251);
        assert_eq!(usable_addresses(net("10.0.0.0/28")), 11);
        assert_eq!(usable_addresses(net("10.0.0.0/16")), 65531);
        assert_eq!(first_free(n, &HashSet::new(), &HashSet::new()), Some(ip("10.0.2.4")));
    }

    #[test]
    fn used_addresses_and_taken_loopback_aliases_are_skipped() {
        let n = net("10.0.2.0/24");
        let used: HashSet<_> = [ip("10.0.2.4"), ip("10.0.2.5")].into();
        // Another VPC (say 172.0.0.0/8 in another region) already holds x.0.2.6: 127.0.2.6 is taken.
        let aliases: HashSet<IpAddr> = ["127.0.2.6".parse().unwrap()].into();
        assert_eq!(first_free(n, &used, &aliases), Some(ip("10.0.2.7")));
    }

    #[test]
    fn a_full_subnet_has_no_free_address() {
        let n = net("10.0.0.16/28");
        let used: HashSet<_> = n.hosts().filter(|a| !is_reserved(n, *a)).collect();
        assert_eq!(used.len(), 11);
        assert_eq!(first_free(n, &used, &HashSet::new()), None);
    }

    // === create_managed over a real store ===

    use serde_json::json;

    use crate::{Cloud, Config};

    fn cloud() -> (tempfile::TempDir, Cloud) {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Cloud::open(Config {
            default_region: "us-east-1".into(),
            data_dir: dir.path().to_path_buf(),
            endpoint: "http://127.0.0.1:0".into(),
            fast: false,
        })
        .unwrap();
        (dir, cloud)
    }

    fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    /// A VPC with one subnet and one security group: `(vpc, subnet, group)` ids.
    fn network(cx: &Ctx<'_>, vpc_cidr: &str, subnet_cidr: &str) -> (String, String, String) {
        let vpc = super::super::vpc::create_vpc(cx, input(json!({"CidrBlock": vpc_cidr}))).unwrap();
        let vpc_id = serde_json::to_value(vpc).unwrap()["vpc"]["vpcId"].as_str().unwrap().to_string();
        let subnet = super::super::subnet::create_subnet(
            cx,
            input(json!({"VpcId": vpc_id, "CidrBlock": subnet_cidr, "AvailabilityZone": format!("{}a", cx.region)})),
        )
        .unwrap();
        let subnet_id =
            serde_json::to_value(subnet).unwrap()["subnet"]["subnetId"].as_str().unwrap().to_string();
        let sg = security_group::create_security_group(
            cx,
            input(json!({"GroupName": "private-sg", "GroupDescription": "d", "VpcId": vpc_id})),
        )
        .unwrap();
        let group_id = serde_json::to_value(sg).unwrap()["groupId"].as_str().unwrap().to_string();
        (vpc_id, subnet_id, group_id)
    }

    fn managed(subnet_id: &str, group_id: &str, owner: &str, description: &str) -> ManagedInterface {
        ManagedInterface {
            subnet_id: subnet_id.into(),
            group_ids: vec![group_id.into()],
            description: description.into(),
            owner: owner.into(),
            interface_type: "interface".into(),
        }
    }

    fn describe(cx: &Ctx<'_>, filters: serde_json::Value) -> Vec<String> {
        let out = describe_network_interfaces(cx, input(json!({ "Filter": filters }))).unwrap();
        serde_json::to_value(out).unwrap()["networkInterfaceSet"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["networkInterfaceId"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn managed_interfaces_take_addresses_show_up_and_block_deletes() {
        let (_dir, cloud) = cloud();
        cloud
            .transact("us-east-1", |cx| {
                let (_, subnet_id, group_id) = network(cx, "10.0.0.0/16", "10.0.2.0/24");
                let elb =
                    create_managed(cx, managed(&subnet_id, &group_id, "amazon-elb", "ELB app/ecs-alb/1"))?;
                let task = create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task"))?;
                assert_eq!(elb.private_ip_address, "10.0.2.4");
                assert_eq!(task.private_ip_address, "10.0.2.5");
                assert_eq!(task.private_dns_name, "ip-10-0-2-5.ec2.internal");
                assert_eq!(task.availability_zone, "us-east-1a");
                let subnet = super::super::subnet::load(cx, &subnet_id)?;
                assert_eq!(super::super::subnet::available_ip_address_count(cx, &subnet)?, 249);

                // DescribeNetworkInterfaces sees them with the filters terraform and ECS use.
                let f = |name: &str, v: &str| json!({"Name": name, "Value": [v]});
                assert_eq!(
                    describe(cx, json!([f("attachment.instance-owner-id", "amazon-elb")])),
                    vec![elb.network_interface_id.clone()]
                );
                assert_eq!(
                    describe(
                        cx,
                        json!([
                            f("description", "ELB app/ecs-alb/1"),
                            f("attachment.instance-owner-id", "amazon-elb")
                        ])
                    ),
                    vec![elb.network_interface_id.clone()]
                );
                assert_eq!(describe(cx, json!([f("group-id", &group_id)])).len(), 2);
                assert_eq!(
                    describe(cx, json!([f("subnet-id", &subnet_id), f("requester-managed", "true")])).len(),
                    2
                );
                assert_eq!(
                    describe(cx, json!([f("private-ip-address", "10.0.2.5")])),
                    vec![task.network_interface_id.clone()]
                );
                assert_eq!(describe(cx, json!([f("status", "in-use")])).len(), 2);
                assert!(describe(cx, json!([f("attachment.instance-owner-id", "someone-else")])).is_empty());

                // They keep their subnet and group alive.
                let e = super::super::subnet::delete_subnet(cx, input(json!({"SubnetId": subnet_id})))
                    .unwrap_err();
                assert_eq!(e.code, "DependencyViolation");
                let e = security_group::delete_security_group(cx, input(json!({"GroupId": group_id})))
                    .unwrap_err();
                assert_eq!(
                    (e.code.as_ref(), e.message.as_str()),
                    ("DependencyViolation", format!("resource {group_id} has a dependent object").as_str())
                );
                // Users cannot delete them.
                let e = delete_network_interface(
                    cx,
                    input(json!({"NetworkInterfaceId": task.network_interface_id})),
                )
                .unwrap_err();
                assert_eq!(e.code, "InvalidNetworkInterface.InUse");

                // Deleting is idempotent and frees the address for the next interface.
                delete_managed(cx, &elb.network_interface_id)?;
                delete_managed(cx, &elb.network_interface_id)?;
                let again = create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task 2"))?;
                assert_eq!(again.private_ip_address, "10.0.2.4");
                delete_managed(cx, &again.network_interface_id)?;
                delete_managed(cx, &task.network_interface_id)?;
                security_group::delete_security_group(cx, input(json!({"GroupId": group_id})))?;
                super::super::subnet::delete_subnet(cx, input(json!({"SubnetId": subnet_id})))?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn addresses_whose_loopback_alias_is_taken_in_any_region_are_skipped() {
        let (_dir, cloud) = cloud();
        let first = cloud
            .transact("us-east-1", |cx| {
                let (_, subnet_id, group_id) = network(cx, "10.0.0.0/16", "10.0.2.0/24");
                create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task"))
            })
            .unwrap();
        assert_eq!(first.private_ip_address, "10.0.2.4");
        // The same CIDRs in another region would map 10.0.2.4 onto the same 127.0.2.4.
        let second = cloud
            .transact("eu-west-1", |cx| {
                let (_, subnet_id, group_id) = network(cx, "10.0.0.0/16", "10.0.2.0/24");
                create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task"))
            })
            .unwrap();
        assert_eq!(second.private_ip_address, "10.0.2.5");
        assert_eq!(second.private_dns_name, "ip-10-0-2-5.eu-west-1.compute.internal");
        // A different first octet shares the alias too (172.0.2.x -> 127.0.2.x).
        let third = cloud
            .transact("us-east-1", |cx| {
                let (_, subnet_id, group_id) = network(cx, "172.0.0.0/16", "172.0.2.0/24");
                create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task"))
            })
            .unwrap();
        assert_eq!(third.private_ip_address, "172.0.2.6");
    }

    #[test]
    fn a_full_subnet_refuses_another_interface_and_bad_ids_fail_like_aws() {
        let (_dir, cloud) = cloud();
        cloud
            .transact("us-east-1", |cx| {
                let (_, subnet_id, group_id) = network(cx, "10.0.0.0/16", "10.0.9.0/28");
                for _ in 0..11 {
                    create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task"))?;
                }
                let e = create_managed(cx, managed(&subnet_id, &group_id, "amazon-aws", "task")).unwrap_err();
                assert_eq!((e.code.as_ref(), e.status), ("InsufficientFreeAddressesInSubnet", 400));
                let e = create_managed(cx, managed("subnet-0000", &group_id, "amazon-aws", "t")).unwrap_err();
                assert_eq!(e.code, "InvalidSubnetID.NotFound");
                let e = create_managed(cx, managed(&subnet_id, "sg-0000", "amazon-aws", "t")).unwrap_err();
                assert_eq!(e.code, "InvalidGroup.NotFound");
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn dns_names_and_macs() {
        assert_eq!(private_dns_name("us-east-1", ip("10.0.2.17")), "ip-10-0-2-17.ec2.internal");
        assert_eq!(private_dns_name("eu-west-1", ip("10.0.2.17")), "ip-10-0-2-17.eu-west-1.compute.internal");
        let mac = mac_address();
        assert_eq!(mac.len(), 17);
        assert!(mac.starts_with("02:"));
        assert_eq!(mac.split(':').count(), 6);
    }
}
