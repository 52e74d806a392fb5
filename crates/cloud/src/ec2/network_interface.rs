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
use super::security_group::{self, SecurityGroup};
use super::subnet::{self, Subnet};
use super::tags::Tag;
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
    let attachment_prefix = if spec.owner == "amazon-elb" { "ela-attach" } else { "eni-attach" };
    let eni = NetworkInterface {
        attachment: Some(Attachment {
            attachment_id: ids::ec2(attachment_prefix),
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
