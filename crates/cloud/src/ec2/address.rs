//! Elastic IP addresses: AllocateAddress, DescribeAddresses, DescribeAddressesAttribute,
//! AssociateAddress, DisassociateAddress, ReleaseAddress.
//!
//! berth's public addresses come from the documentation ranges (RFC 5737: 203.0.113.0/24,
//! 198.51.100.0/24, 192.0.2.0/24), unique across regions, so nobody mistakes them for a real
//! host. Only the `vpc` domain exists (EC2-Classic is retired).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, one, opt};
use super::network_interface::{self, NetworkInterface, PublicAssociation};
use super::tags::{self, Tag, TagSpecification};
use super::{ReturnTrue, internet_gateway, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// The ranges public addresses are drawn from, in order.
const POOLS: [&str; 3] = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"];

/// A stored Elastic IP address (VPC domain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub allocation_id: String,
    pub public_ip: String,
    pub domain: String,
    pub network_border_group: String,
    pub association_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub private_ip_address: Option<String>,
    pub tags: Vec<Tag>,
}

impl Resource for Address {
    const KIND: &'static str = "ec2:elastic-ip";

    fn id(&self) -> &str {
        &self.allocation_id
    }
}

/// The address with this allocation id, or `InvalidAllocationID.NotFound`.
pub fn load(cx: &Ctx<'_>, allocation_id: &str) -> Result<Address, ApiError> {
    cx.get::<Address>(allocation_id)?.ok_or_else(|| Ec2Error::AllocationNotFound(allocation_id.into()).into())
}

/// `ec2-203-0-113-1.compute-1.amazonaws.com` (us-east-1) or `ec2-….<region>.compute.amazonaws.com`.
pub fn public_dns_name(region: &str, ip: &str) -> String {
    let host = format!("ec2-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.compute-1.amazonaws.com")
    } else {
        format!("{host}.{region}.compute.amazonaws.com")
    }
}

/// The first public address not held in any region.
fn free_public_ip(taken: &HashSet<String>) -> Option<Ipv4Addr> {
    POOLS
        .iter()
        .filter_map(|p| p.parse::<Ipv4Net>().ok())
        .flat_map(|net| net.hosts())
        .find(|ip| !taken.contains(&ip.to_string()))
}

/// Associates `addr` with the primary address of `eni` (both are written).
pub(super) fn associate(
    cx: &Ctx<'_>,
    addr: &mut Address,
    eni: &mut NetworkInterface,
) -> Result<String, ApiError> {
    let association_id = ids::ec2("eipassoc");
    addr.association_id = Some(association_id.clone());
    addr.network_interface_id = Some(eni.network_interface_id.clone());
    addr.private_ip_address = Some(eni.private_ip_address.clone());
    eni.association = Some(PublicAssociation {
        public_ip: addr.public_ip.clone(),
        allocation_id: addr.allocation_id.clone(),
        association_id: association_id.clone(),
        ip_owner_id: cx.account.to_string(),
    });
    cx.put(addr)?;
    cx.put(eni)?;
    Ok(association_id)
}

/// Clears the association of an address whose interface went away (a NAT gateway's or a
/// service's interface being deleted).
pub(super) fn forget_association(cx: &Ctx<'_>, allocation_id: &str) -> Result<(), ApiError> {
    if let Some(mut addr) = cx.get::<Address>(allocation_id)? {
        addr.association_id = None;
        addr.network_interface_id = None;
        addr.private_ip_address = None;
        cx.put(&addr)?;
    }
    Ok(())
}

/// Whether some Elastic IP is associated with an interface in `vpc_id`.
pub(super) fn maps_public_addresses(cx: &Ctx<'_>, vpc_id: &str) -> Result<bool, ApiError> {
    for addr in cx.list::<Address>()? {
        if let Some(eni_id) = &addr.network_interface_id
            && cx.get::<NetworkInterface>(eni_id)?.is_some_and(|e| e.vpc_id == vpc_id)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressOut {
    public_ip: String,
    allocation_id: String,
    domain: String,
    public_ipv4_pool: &'static str,
    network_border_group: String,
    association_id: Option<String>,
    network_interface_id: Option<String>,
    network_interface_owner_id: Option<String>,
    private_ip_address: Option<String>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
}

fn address_out(cx: &Ctx<'_>, a: &Address) -> AddressOut {
    AddressOut {
        public_ip: a.public_ip.clone(),
        allocation_id: a.allocation_id.clone(),
        domain: a.domain.clone(),
        public_ipv4_pool: "amazon",
        network_border_group: a.network_border_group.clone(),
        association_id: a.association_id.clone(),
        network_interface_id: a.network_interface_id.clone(),
        network_interface_owner_id: a.network_interface_id.as_ref().map(|_| cx.account.to_string()),
        private_ip_address: a.private_ip_address.clone(),
        tags: a.tags.clone(),
    }
}

impl Filterable for Address {
    const FILTERS: &'static [&'static str] = &[
        "allocation-id",
        "association-id",
        "domain",
        "instance-id",
        "network-border-group",
        "network-interface-id",
        "network-interface-owner-id",
        "private-ip-address",
        "public-ip",
    ];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "allocation-id" => one(&self.allocation_id),
            "association-id" => opt(self.association_id.as_deref()),
            "domain" => one(&self.domain),
            "network-border-group" => one(&self.network_border_group),
            "network-interface-id" => opt(self.network_interface_id.as_deref()),
            "network-interface-owner-id" => {
                self.network_interface_id.iter().map(|_| crate::ACCOUNT_ID.to_string()).collect()
            }
            "private-ip-address" => opt(self.private_ip_address.as_deref()),
            "public-ip" => one(&self.public_ip),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct AllocateAddressInput {
    #[serde(rename = "Domain")]
    domain: Option<String>,
    #[serde(rename = "Address")]
    address: Option<String>,
    #[serde(rename = "NetworkBorderGroup")]
    network_border_group: Option<String>,
    #[serde(rename = "PublicIpv4Pool")]
    public_ipv4_pool: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocateAddressOutput {
    public_ip: String,
    allocation_id: String,
    public_ipv4_pool: &'static str,
    network_border_group: String,
    domain: String,
}

pub fn allocate_address(
    cx: &Ctx<'_>,
    input: AllocateAddressInput,
) -> Result<AllocateAddressOutput, ApiError> {
    let domain = input.domain.unwrap_or_else(|| "vpc".into());
    if domain != "vpc" {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({domain}) for parameter domain is invalid. Valid values: vpc"
        ))
        .into());
    }
    if input.address.is_some() || input.public_ipv4_pool.as_deref().is_some_and(|p| p != "amazon") {
        return Err(Ec2Error::InvalidParameterValue(
            "berth allocates Amazon-pool addresses only (no BYOIP address or pool)".into(),
        )
        .into());
    }
    let tags = tags::from_specs(&input.tag_specifications, "elastic-ip")?;
    let taken: HashSet<String> =
        cx.tx.list_all_regions::<Address>()?.into_iter().map(|(_, a)| a.public_ip).collect();
    let ip = free_public_ip(&taken).ok_or(Ec2Error::AddressLimitExceeded)?;
    let addr = Address {
        allocation_id: ids::ec2("eipalloc"),
        public_ip: ip.to_string(),
        domain,
        network_border_group: input.network_border_group.unwrap_or_else(|| cx.region.to_string()),
        association_id: None,
        network_interface_id: None,
        private_ip_address: None,
        tags,
    };
    cx.put(&addr)?;
    Ok(AllocateAddressOutput {
        public_ip: addr.public_ip,
        allocation_id: addr.allocation_id,
        public_ipv4_pool: "amazon",
        network_border_group: addr.network_border_group,
        domain: addr.domain,
    })
}

#[derive(Debug, Deserialize)]
pub struct DescribeAddressesInput {
    #[serde(rename = "AllocationId", default)]
    allocation_ids: Vec<String>,
    #[serde(rename = "PublicIp", default)]
    public_ips: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAddressesOutput {
    addresses_set: Vec<AddressOut>,
}

/// The addresses named by allocation id or public IP (all when neither is given).
fn named(cx: &Ctx<'_>, allocation_ids: &[String], public_ips: &[String]) -> Result<Vec<Address>, ApiError> {
    let all = cx.list::<Address>()?;
    for id in allocation_ids {
        if !all.iter().any(|a| &a.allocation_id == id) {
            return Err(Ec2Error::AllocationNotFound(id.clone()).into());
        }
    }
    for ip in public_ips {
        if !all.iter().any(|a| &a.public_ip == ip) {
            return Err(Ec2Error::AddressNotFound(ip.clone()).into());
        }
    }
    Ok(all
        .into_iter()
        .filter(|a| {
            (allocation_ids.is_empty() && public_ips.is_empty())
                || allocation_ids.contains(&a.allocation_id)
                || public_ips.contains(&a.public_ip)
        })
        .collect())
}

pub fn describe_addresses(
    cx: &Ctx<'_>,
    input: DescribeAddressesInput,
) -> Result<DescribeAddressesOutput, ApiError> {
    let addrs = named(cx, &input.allocation_ids, &input.public_ips)?;
    let addrs = filter::select(addrs, &input.filters)?;
    Ok(DescribeAddressesOutput { addresses_set: addrs.iter().map(|a| address_out(cx, a)).collect() })
}

#[derive(Debug, Deserialize)]
pub struct DescribeAddressesAttributeInput {
    #[serde(rename = "AllocationId", default)]
    allocation_ids: Vec<String>,
    #[serde(rename = "Attribute")]
    attribute: Option<String>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAddressesAttributeOutput {
    address_set: Vec<AddressAttributeOut>,
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressAttributeOut {
    public_ip: String,
    allocation_id: String,
}

/// The reverse-DNS (`domain-name`) attribute: berth sets no PTR records, so only the address.
pub fn describe_addresses_attribute(
    cx: &Ctx<'_>,
    input: DescribeAddressesAttributeInput,
) -> Result<DescribeAddressesAttributeOutput, ApiError> {
    if let Some(a) = &input.attribute
        && a != "domain-name"
    {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({a}) for parameter attribute is invalid. Valid values: domain-name"
        ))
        .into());
    }
    let addrs = named(cx, &input.allocation_ids, &[])?;
    let (addrs, next_token) = page(addrs, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeAddressesAttributeOutput {
        address_set: addrs
            .into_iter()
            .map(|a| AddressAttributeOut { public_ip: a.public_ip, allocation_id: a.allocation_id })
            .collect(),
        next_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct AssociateAddressInput {
    #[serde(rename = "AllocationId")]
    allocation_id: Option<String>,
    #[serde(rename = "PublicIp")]
    public_ip: Option<String>,
    #[serde(rename = "NetworkInterfaceId")]
    network_interface_id: Option<String>,
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "PrivateIpAddress")]
    private_ip_address: Option<String>,
    #[serde(rename = "AllowReassociation", default)]
    allow_reassociation: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociateAddressOutput {
    association_id: String,
}

pub fn associate_address(
    cx: &Ctx<'_>,
    input: AssociateAddressInput,
) -> Result<AssociateAddressOutput, ApiError> {
    let mut addr = match (&input.allocation_id, &input.public_ip) {
        (Some(id), _) => load(cx, id)?,
        (None, Some(ip)) => named(cx, &[], std::slice::from_ref(ip))?
            .into_iter()
            .next()
            .ok_or_else(|| Ec2Error::AddressNotFound(ip.clone()))?,
        (None, None) => return Err(Ec2Error::MissingParameter("AllocationId".into()).into()),
    };
    if let Some(instance) = input.instance_id {
        return Err(Ec2Error::InstanceNotFound(instance).into());
    }
    let eni_id =
        input.network_interface_id.ok_or_else(|| Ec2Error::MissingParameter("NetworkInterfaceId".into()))?;
    let mut eni = network_interface::load(cx, &eni_id)?;
    if let Some(ip) = &input.private_ip_address
        && ip != &eni.private_ip_address
    {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "The private IP address {ip} is not assigned to network interface {eni_id}"
        ))
        .into());
    }
    if internet_gateway::attached(cx, &eni.vpc_id)?.is_none() {
        return Err(Ec2Error::GatewayNotAttached(format!(
            "Network {} is not attached to any internet gateway",
            eni.vpc_id
        ))
        .into());
    }
    if let Some(existing) = &addr.association_id {
        if !input.allow_reassociation {
            return Err(Ec2Error::AlreadyAssociated(format!(
                "resource {} is already associated with associate-id {existing}",
                addr.allocation_id
            ))
            .into());
        }
        disassociate(cx, &mut addr)?;
    }
    // An interface holds one Elastic IP on its primary address: the new one replaces the old.
    if let Some(old) = eni.association.take() {
        forget_association(cx, &old.allocation_id)?;
    }
    let association_id = associate(cx, &mut addr, &mut eni)?;
    Ok(AssociateAddressOutput { association_id })
}

/// Drops `addr`'s association and the interface's side of it.
fn disassociate(cx: &Ctx<'_>, addr: &mut Address) -> Result<(), ApiError> {
    if let Some(eni_id) = &addr.network_interface_id
        && let Some(mut eni) = cx.get::<NetworkInterface>(eni_id)?
    {
        eni.association = None;
        cx.put(&eni)?;
    }
    addr.association_id = None;
    addr.network_interface_id = None;
    addr.private_ip_address = None;
    cx.put(addr)?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct DisassociateAddressInput {
    #[serde(rename = "AssociationId")]
    association_id: Option<String>,
    #[serde(rename = "PublicIp")]
    public_ip: Option<String>,
}

pub fn disassociate_address(cx: &Ctx<'_>, input: DisassociateAddressInput) -> Result<ReturnTrue, ApiError> {
    let all = cx.list::<Address>()?;
    let mut addr = match (&input.association_id, &input.public_ip) {
        (Some(id), _) => all
            .into_iter()
            .find(|a| a.association_id.as_ref() == Some(id))
            .ok_or_else(|| Ec2Error::AssociationNotFound(id.clone()))?,
        (None, Some(ip)) => all
            .into_iter()
            .find(|a| &a.public_ip == ip)
            .ok_or_else(|| Ec2Error::AddressNotFound(ip.clone()))?,
        (None, None) => return Err(Ec2Error::MissingParameter("AssociationId".into()).into()),
    };
    if let Some(eni_id) = &addr.network_interface_id
        && cx.get::<NetworkInterface>(eni_id)?.is_some_and(|e| e.requester_managed)
    {
        // Wording guessed: the address belongs to a NAT gateway (or another AWS service) now.
        return Err(Ec2Error::OperationNotPermitted(format!(
            "The Elastic IP address {} is in use by a managed network interface ({eni_id}) and cannot be disassociated.",
            addr.public_ip
        ))
        .into());
    }
    disassociate(cx, &mut addr)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct ReleaseAddressInput {
    #[serde(rename = "AllocationId")]
    allocation_id: Option<String>,
    #[serde(rename = "PublicIp")]
    public_ip: Option<String>,
}

pub fn release_address(cx: &Ctx<'_>, input: ReleaseAddressInput) -> Result<ReturnTrue, ApiError> {
    let addr = match (&input.allocation_id, &input.public_ip) {
        (Some(id), _) => load(cx, id)?,
        (None, Some(ip)) => named(cx, &[], std::slice::from_ref(ip))?
            .into_iter()
            .next()
            .ok_or_else(|| Ec2Error::AddressNotFound(ip.clone()))?,
        (None, None) => return Err(Ec2Error::MissingParameter("AllocationId".into()).into()),
    };
    if addr.association_id.is_some() {
        return Err(Ec2Error::IpAddressInUse(format!("Address {} is in use.", addr.public_ip)).into());
    }
    cx.delete::<Address>(&addr.allocation_id)?;
    Ok(ReturnTrue::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses_come_from_the_documentation_ranges_in_order() {
        let mut taken = HashSet::new();
        assert_eq!(free_public_ip(&taken), Some("203.0.113.1".parse().unwrap()));
        taken.insert("203.0.113.1".to_string());
        assert_eq!(free_public_ip(&taken), Some("203.0.113.2".parse().unwrap()));
        let all: HashSet<String> = POOLS
            .iter()
            .flat_map(|p| p.parse::<Ipv4Net>().unwrap().hosts().map(|h| h.to_string()).collect::<Vec<_>>())
            .collect();
        assert_eq!(all.len(), 3 * 254);
        assert_eq!(free_public_ip(&all), None);
        assert_eq!(public_dns_name("us-east-1", "203.0.113.1"), "ec2-203-0-113-1.compute-1.amazonaws.com");
        assert_eq!(
            public_dns_name("eu-west-1", "203.0.113.1"),
            "ec2-203-0-113-1.eu-west-1.compute.amazonaws.com"
        );
    }
}
