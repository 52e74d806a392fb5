//! The wire: the only code in berth that knows how AWS requests and responses are spelled.
//!
//! - [`form`]: `application/x-www-form-urlencoded` bodies of the awsQuery and ec2Query protocols,
//!   decoded into a [`form::Node`] tree that typed inputs deserialize from.
//! - [`xml`]: XML responses of the query protocols (IAM, STS, ELBv2 wrap list items in `<member>`,
//!   EC2 in `<item>`).
//! - [`json`]: the awsJson1.1 protocol of ECS.
//! - [`error`]: each protocol's error document.
//!
//! Service modules never import this module: they get an [`crate::api::Input`] to parse and
//! return plain serializable outputs and [`crate::api::ApiError`]s.

pub mod error;
pub mod form;
pub mod json;
pub mod xml;

/// The wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsQuery: IAM, STS, ELBv2.
    Query,
    /// ec2Query: EC2.
    Ec2Query,
    /// awsJson1.1: ECS, CloudWatch Logs.
    Json11,
}

impl Protocol {
    /// How list items are wrapped in XML responses.
    pub fn list_item_tag(self) -> &'static str {
        match self {
            Protocol::Ec2Query => "item",
            Protocol::Query | Protocol::Json11 => "member",
        }
    }
}
