//! Elastic IP addresses: AllocateAddress, DescribeAddresses, DescribeAddressesAttribute,
//! AssociateAddress, DisassociateAddress, ReleaseAddress.

use serde::{Deserialize, Serialize};

use super::tags::Tag;
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

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
