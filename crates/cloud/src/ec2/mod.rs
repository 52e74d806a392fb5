//! EC2: the VPC networking an ECS Fargate stack needs.
//!
//! # Layout
//! - [`vpc`]: VPCs, created with their default security group, network ACL and main route table.
//! - [`subnet`], [`security_group`], [`network_interface`], [`address`]: one file per resource,
//!   holding its stored type and its operations.
//! - [`network_interface`] also owns the private address allocator and [`network_interface::create_managed`],
//!   which ELBv2, ECS and NAT gateways use for the interfaces AWS creates on their behalf.
//! - [`tags`]: the `Tag` type, `TagSpecification`, and the tag operations across every resource.
//! - [`filter`]: generic `Filter.N` matching with wildcards and tag filters.
//! - [`error`]: EC2's error codes and messages.
//!
//! # Lookups from other services
//! ECS and ELBv2 read EC2 resources through `vpc::find`, `subnet::find`, `security_group::find`
//! and `network_interface::{find, create_managed, delete_managed}`, never through operations.

pub mod address;
pub mod error;
pub mod filter;
pub mod network_interface;
pub mod security_group;
pub mod subnet;
pub mod tags;
pub mod vpc;

use serde_json::Value;

use crate::Cloud;
use crate::api::ApiError;
use crate::edge::Call;

crate::operations! {
    /// The EC2 operations berth implements.
    pub enum Operation {}
}

pub fn handle(_cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    match Operation::from_name(&call.operation) {
        None => Err(ApiError::not_implemented("ec2", &call.operation)),
    }
}
