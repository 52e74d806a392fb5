//! Subnets: CreateSubnet, DescribeSubnets, DeleteSubnet, ModifySubnetAttribute.

use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::tags::Tag;
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

/// A stored subnet. Its available address count is not stored: it is the subnet's size less
/// AWS's five reserved addresses less the network interfaces in it.
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
    pub map_public_ip_on_launch: bool,
    pub assign_ipv6_address_on_creation: bool,
    pub enable_dns64: bool,
    pub private_dns_hostname_type: String,
    pub enable_resource_name_dns_a_record: bool,
    pub enable_resource_name_dns_aaaa_record: bool,
    pub tags: Vec<Tag>,
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

/// The subnet with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<Subnet>, ApiError> {
    Ok(cx.get::<Subnet>(id)?)
}

/// The subnet with this id, or `InvalidSubnetID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<Subnet, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::SubnetNotFound(id.to_string()).into())
}
