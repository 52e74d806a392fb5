//! Listeners: CreateListener (with its default rule), DescribeListeners, ModifyListener,
//! DeleteListener, Describe/ModifyListenerAttributes.

use serde::{Deserialize, Serialize};

use super::attributes::Attribute;
use super::tags::Tag;
use crate::store::Resource;

/// A stored listener. Its default actions live in its default rule ([`super::rule::Rule`] with
/// `priority: None`), the single place they are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub port: u16,
    pub protocol: String,
    pub ssl_policy: Option<String>,
    pub certificates: Vec<String>,
    pub alpn_policy: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<Tag>,
}

impl Resource for Listener {
    const KIND: &'static str = "elbv2:listener";

    fn id(&self) -> &str {
        &self.listener_arn
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.load_balancer_arn)
    }
}
