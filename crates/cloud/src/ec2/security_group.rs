//! Security groups and their rules: CreateSecurityGroup, DescribeSecurityGroups,
//! DeleteSecurityGroup, Authorize/RevokeSecurityGroupIngress/Egress, DescribeSecurityGroupRules.

use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::tags::Tag;
use crate::Ctx;
use crate::api::ApiError;
use crate::store::Resource;

/// A stored security group with its rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub group_id: String,
    pub vpc_id: String,
    pub group_name: String,
    pub description: String,
    pub owner_id: String,
    pub arn: String,
    /// Ingress and egress rules, in creation order.
    pub rules: Vec<Rule>,
    pub tags: Vec<Tag>,
}

/// One security group rule (`sgr-…`): a protocol and port range with exactly one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule_id: String,
    pub is_egress: bool,
    /// `-1`, `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number.
    pub ip_protocol: String,
    /// `-1` when the protocol has no ports.
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

/// The other side of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Peer {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group { group_id: String, user_id: String },
}

impl Resource for SecurityGroup {
    const KIND: &'static str = "ec2:security-group";

    fn id(&self) -> &str {
        &self.group_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }

    fn name(&self) -> Option<&str> {
        Some(&self.group_name)
    }
}

/// The security group with this id in the call's region, if any.
pub fn find(cx: &Ctx<'_>, id: &str) -> Result<Option<SecurityGroup>, ApiError> {
    Ok(cx.get::<SecurityGroup>(id)?)
}

/// The security group with this id, or `InvalidGroup.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<SecurityGroup, ApiError> {
    find(cx, id)?.ok_or_else(|| Ec2Error::GroupNotFound(id.to_string()).into())
}
