//! VPCs: CreateVpc (with its default security group, default network ACL and main route
//! table), DescribeVpcs, DeleteVpc, DescribeVpcAttribute, ModifyVpcAttribute.

use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::tags::Tag;
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

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

/// The VPC with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<Vpc>, ApiError> {
    Ok(cx.get::<Vpc>(id)?)
}

/// The VPC with this id, or `InvalidVpcID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<Vpc, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::VpcNotFound(id.to_string()).into())
}
