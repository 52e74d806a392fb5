//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! Describe/ModifyLoadBalancerAttributes, DescribeCapacityReservation, SetSecurityGroups,
//! SetSubnets.

use serde::{Deserialize, Serialize};

use super::attributes::Attribute;
use super::tags::Tag;
use crate::store::Resource;

/// A stored load balancer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub load_balancer_arn: String,
    pub load_balancer_name: String,
    /// `<name>-<10 digits>.<region>.elb.localhost`.
    pub dns_name: String,
    pub canonical_hosted_zone_id: String,
    /// ISO 8601, as the API returns it.
    pub created_time: String,
    /// Milliseconds since the epoch (the state turns `active` ~1 s after this).
    pub created_ms: i64,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    pub vpc_id: String,
    /// `application`.
    pub lb_type: String,
    pub ip_address_type: String,
    /// One per subnet, with the managed interface berth created in it.
    pub zones: Vec<Zone>,
    pub security_groups: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<Tag>,
}

/// A subnet the load balancer is in, and its interface there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub subnet_id: String,
    pub zone_name: String,
    pub network_interface_id: String,
}

impl Resource for LoadBalancer {
    const KIND: &'static str = "elbv2:load-balancer";

    fn id(&self) -> &str {
        &self.load_balancer_arn
    }

    fn name(&self) -> Option<&str> {
        Some(&self.load_balancer_name)
    }
}
