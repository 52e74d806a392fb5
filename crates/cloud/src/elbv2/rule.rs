//! Listener rules: CreateRule, DescribeRules, ModifyRule, SetRulePriorities, DeleteRule, and the
//! validation of rule conditions against AWS's limits.

use serde::{Deserialize, Serialize};

use super::action::Action;
use super::tags::Tag;
use crate::store::Resource;

/// A stored rule. The listener's default rule has `priority: None` and no conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule_arn: String,
    pub listener_arn: String,
    /// The listener's load balancer (kept here so lookups by target group need no join).
    pub load_balancer_arn: String,
    /// 1..=50000; `None` for the default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<serde_json::Value>,
    pub actions: Vec<Action>,
    pub tags: Vec<Tag>,
}

impl Resource for Rule {
    const KIND: &'static str = "elbv2:rule";

    fn id(&self) -> &str {
        &self.rule_arn
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.listener_arn)
    }
}
