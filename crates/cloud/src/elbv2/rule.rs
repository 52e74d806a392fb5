//! Listener rules: CreateRule, DescribeRules, ModifyRule, SetRulePriorities, DeleteRule, and the
//! validation of rule conditions against AWS's limits.
//!
//! # Limits (AWS's quotas for application load balancers)
//! - at most one each of `host-header`, `http-request-method`, `path-pattern`, `source-ip`
//!   conditions per rule; any number of `http-header` and `query-string` ones;
//! - at most 3 values (match evaluations) per condition and 5 per rule, at most 5 wildcards
//!   (`*`, `?`) per rule; no empty value;
//! - priorities 1..=50000, unique per listener (`PriorityInUse`); 100 rules per load balancer,
//!   not counting default rules.
//!
//! Every API call is one store transaction, serialized by the store, so two CreateRule calls racing
//! for one priority resolve as on AWS: one gets it, the other `PriorityInUse`.

use serde::{Deserialize, Serialize};

use super::action::{self, Action};
use super::error::Elbv2Error;
use super::listener::{self, Listener};
use super::load_balancer;
use super::tags::{self, Tag};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// Rules per load balancer, not counting default rules.
pub const MAX_RULES_PER_LOAD_BALANCER: usize = 100;
/// Values (match evaluations) per condition.
pub const MAX_VALUES_PER_CONDITION: usize = 3;
/// Values (match evaluations) per rule.
pub const MAX_VALUES_PER_RULE: usize = 5;
/// Wildcards (`*`, `?`) per rule.
pub const MAX_WILDCARDS_PER_RULE: usize = 5;

/// A stored rule. The listener's default rule has `priority: None` and no conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub rule_arn: String,
    pub listener_arn: String,
    /// The listener's load balancer (kept here so lookups by target group need no join).
    pub load_balancer_arn: String,
    /// 1..=50000; `None` for the default rule.
    pub priority: Option<u32>,
    pub conditions: Vec<RuleCondition>,
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

impl Rule {
    pub fn is_default(&self) -> bool {
        self.priority.is_none()
    }
}

/// A rule condition as the API takes and returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header_config: Option<ValuesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern_config: Option<ValuesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_config: Option<HttpHeaderConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_config: Option<QueryStringConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_request_method_config: Option<ValuesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip_config: Option<ValuesConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValuesConfig {
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpHeaderConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_name: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringConfig {
    #[serde(default)]
    pub values: Vec<QueryStringPair>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryStringPair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

// === condition validation (pure) ===

const FIELDS: &[&str] =
    &["http-header", "http-request-method", "host-header", "path-pattern", "query-string", "source-ip"];

fn err(msg: impl Into<String>) -> Elbv2Error {
    Elbv2Error::Validation(msg.into())
}

fn wildcards(s: &str) -> usize {
    s.chars().filter(|c| *c == '*' || *c == '?').count()
}

/// Checks a rule's conditions and returns them as AWS stores and returns them (`host-header` and
/// `path-pattern` in both their `Values` and `*Config` spelling).
pub fn validate_conditions(conditions: Vec<RuleCondition>) -> Result<Vec<RuleCondition>, Elbv2Error> {
    let mut out = Vec::with_capacity(conditions.len());
    let mut singletons: Vec<&str> = Vec::new();
    let mut total_values = 0usize;
    let mut total_wildcards = 0usize;
    for c in conditions {
        let field = c.field.clone().unwrap_or_default();
        let Some(field) = FIELDS.iter().copied().find(|f| *f == field) else {
            return Err(Elbv2Error::constraint(
                &field,
                "conditions.member.field",
                "Member must satisfy enum value set: [http-header, http-request-method, host-header, path-pattern, query-string, source-ip]",
            ));
        };
        if matches!(field, "host-header" | "http-request-method" | "path-pattern" | "source-ip") {
            if singletons.contains(&field) {
                return Err(err(format!("A rule can only have one '{field}' condition")));
            }
            singletons.push(field);
        }
        let configs_given = [
            c.host_header_config.is_some(),
            c.path_pattern_config.is_some(),
            c.http_header_config.is_some(),
            c.query_string_config.is_some(),
            c.http_request_method_config.is_some(),
            c.source_ip_config.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if configs_given > 1 {
            return Err(err("A condition can have only one condition configuration"));
        }
        let legacy = c.values.clone().unwrap_or_default();
        if !legacy.is_empty() && !matches!(field, "host-header" | "path-pattern") {
            return Err(err(format!(
                "The 'Values' field is supported only for 'host-header' and 'path-pattern' conditions; use the configuration of the '{field}' condition"
            )));
        }
        let wrong_config = match field {
            "host-header" => configs_given > usize::from(c.host_header_config.is_some()),
            "path-pattern" => configs_given > usize::from(c.path_pattern_config.is_some()),
            "http-header" => configs_given > usize::from(c.http_header_config.is_some()),
            "query-string" => configs_given > usize::from(c.query_string_config.is_some()),
            "http-request-method" => configs_given > usize::from(c.http_request_method_config.is_some()),
            _ => configs_given > usize::from(c.source_ip_config.is_some()),
        };
        if wrong_config {
            return Err(err(format!(
                "The condition configuration does not match the condition field '{field}'"
            )));
        }
        let mut normalized = RuleCondition { field: Some(field.to_string()), ..RuleCondition::default() };
        let count = match field {
            "host-header" | "path-pattern" => {
                let cfg = if field == "host-header" { &c.host_header_config } else { &c.path_pattern_config };
                let values = match (cfg, legacy.is_empty()) {
                    (Some(cfg), true) => cfg.values.clone(),
                    (None, _) => legacy,
                    (Some(cfg), false) if cfg.values == legacy => legacy,
                    (Some(_), false) => {
                        return Err(err(format!(
                            "You cannot specify both 'Values' and a '{field}' configuration with different values"
                        )));
                    }
                };
                for v in &values {
                    if field == "host-header" {
                        validate_host_pattern(v)?;
                    } else {
                        validate_path_pattern(v)?;
                    }
                    total_wildcards += wildcards(v);
                }
                let n = values.len();
                normalized.values = Some(values.clone());
                let cfg = Some(ValuesConfig { values });
                if field == "host-header" {
                    normalized.host_header_config = cfg;
                } else {
                    normalized.path_pattern_config = cfg;
                }
                n
            }
            "http-header" => {
                let cfg = c.http_header_config.clone().unwrap_or_default();
                let name = cfg.http_header_name.clone().unwrap_or_default();
                validate_header_name(&name)?;
                for v in &cfg.values {
                    validate_text_value("http-header", v)?;
                    total_wildcards += wildcards(v);
                }
                let n = cfg.values.len();
                normalized.http_header_config = Some(cfg);
                n
            }
            "http-request-method" => {
                let cfg = c.http_request_method_config.clone().unwrap_or_default();
                for v in &cfg.values {
                    validate_method(v)?;
                }
                let n = cfg.values.len();
                normalized.http_request_method_config = Some(cfg);
                n
            }
            "query-string" => {
                let cfg = c.query_string_config.clone().unwrap_or_default();
                for p in &cfg.values {
                    let value = p.value.as_deref().unwrap_or_default();
                    if value.is_empty() {
                        return Err(err("A query string condition value cannot be empty"));
                    }
                    validate_text_value("query-string", value)?;
                    total_wildcards += wildcards(value);
                    if let Some(k) = &p.key {
                        if k.is_empty() {
                            return Err(err("A query string condition key cannot be empty"));
                        }
                        validate_text_value("query-string", k)?;
                        total_wildcards += wildcards(k);
                    }
                }
                let n = cfg.values.len();
                normalized.query_string_config = Some(cfg);
                n
            }
            _ => {
                let cfg = c.source_ip_config.clone().unwrap_or_default();
                for v in &cfg.values {
                    if v.parse::<ipnet::IpNet>().is_err() {
                        return Err(err(format!("The source IP '{v}' is not a valid CIDR block")));
                    }
                }
                let n = cfg.values.len();
                normalized.source_ip_config = Some(cfg);
                n
            }
        };
        if count == 0 {
            return Err(err(format!("A '{field}' condition must have at least one value")));
        }
        let per_condition = if field == "source-ip" { 5 } else { MAX_VALUES_PER_CONDITION };
        if count > per_condition {
            return Err(err(format!("A '{field}' condition can have a maximum of '{per_condition}' values")));
        }
        total_values += count;
        out.push(normalized);
    }
    if total_values > MAX_VALUES_PER_RULE {
        return Err(err(format!("A rule can only have '{MAX_VALUES_PER_RULE}' condition values")));
    }
    if total_wildcards > MAX_WILDCARDS_PER_RULE {
        return Err(err(format!("A rule can only have '{MAX_WILDCARDS_PER_RULE}' wildcards")));
    }
    Ok(out)
}

fn validate_path_pattern(v: &str) -> Result<(), Elbv2Error> {
    if v.is_empty() {
        return Err(err("A path pattern cannot be empty"));
    }
    if v.chars().count() > 128 {
        return Err(err(format!("The path pattern '{v}' is longer than 128 characters")));
    }
    let ok = v.chars().all(|c| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c));
    if !ok {
        return Err(err(format!("The path pattern '{v}' contains characters that are not valid")));
    }
    Ok(())
}

fn validate_host_pattern(v: &str) -> Result<(), Elbv2Error> {
    if v.is_empty() {
        return Err(err("A host header value cannot be empty"));
    }
    if v.chars().count() > 128 {
        return Err(err(format!("The host header '{v}' is longer than 128 characters")));
    }
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c)) {
        return Err(err(format!("The host header '{v}' contains characters that are not valid")));
    }
    let Some((_, last)) = v.rsplit_once('.') else {
        return Err(err(format!("The host header '{v}' must contain at least one '.' character")));
    };
    if !last.chars().all(|c| c.is_ascii_alphabetic() || c == '*' || c == '?') {
        return Err(err(format!(
            "The host header '{v}' can contain only alphabetical characters after the final '.'"
        )));
    }
    Ok(())
}

fn validate_header_name(name: &str) -> Result<(), Elbv2Error> {
    if name.is_empty() {
        return Err(err("An HTTP header name must be specified for an 'http-header' condition"));
    }
    if name.len() > 40 {
        return Err(err(format!("The HTTP header name '{name}' is longer than 40 characters")));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'+-.^_`|~".contains(c)) {
        return Err(err(format!("The HTTP header name '{name}' is not valid (wildcards are not allowed)")));
    }
    if name.eq_ignore_ascii_case("host") {
        return Err(err("The 'Host' header cannot be used in an 'http-header' condition; use 'host-header'"));
    }
    Ok(())
}

fn validate_method(v: &str) -> Result<(), Elbv2Error> {
    if v.is_empty() || v.len() > 40 || !v.chars().all(|c| c.is_ascii_uppercase() || c == '-' || c == '_') {
        return Err(err(format!(
            "The HTTP request method '{v}' is not valid: it must be 1 to 40 characters A-Z, '-' or '_'"
        )));
    }
    Ok(())
}

fn validate_text_value(field: &str, v: &str) -> Result<(), Elbv2Error> {
    if v.is_empty() {
        return Err(err(format!("A '{field}' condition value cannot be empty")));
    }
    if v.chars().count() > 128 {
        return Err(err(format!("The '{field}' condition value '{v}' is longer than 128 characters")));
    }
    if v.chars().any(|c| c.is_ascii_control() || !c.is_ascii()) {
        return Err(err(format!(
            "The '{field}' condition value '{v}' contains characters that are not valid"
        )));
    }
    Ok(())
}

/// The data plane's form of a validated condition.
pub fn to_model(c: &RuleCondition) -> Option<model::routing::Condition> {
    use model::routing::{Condition, QueryStringPattern};
    let values = |cfg: &Option<ValuesConfig>| cfg.as_ref().map(|c| c.values.clone()).unwrap_or_default();
    Some(match c.field.as_deref()? {
        "path-pattern" => Condition::PathPattern(
            c.path_pattern_config
                .as_ref()
                .map(|c| c.values.clone())
                .or_else(|| c.values.clone())
                .unwrap_or_default(),
        ),
        "host-header" => Condition::HostHeader(
            c.host_header_config
                .as_ref()
                .map(|c| c.values.clone())
                .or_else(|| c.values.clone())
                .unwrap_or_default(),
        ),
        "http-header" => {
            let cfg = c.http_header_config.as_ref()?;
            Condition::HttpHeader { name: cfg.http_header_name.clone()?, values: cfg.values.clone() }
        }
        "http-request-method" => Condition::HttpRequestMethod(values(&c.http_request_method_config)),
        "query-string" => Condition::QueryString(
            c.query_string_config
                .as_ref()?
                .values
                .iter()
                .map(|p| QueryStringPattern {
                    key: p.key.clone(),
                    value: p.value.clone().unwrap_or_default(),
                })
                .collect(),
        ),
        "source-ip" => {
            Condition::SourceIp(values(&c.source_ip_config).iter().filter_map(|v| v.parse().ok()).collect())
        }
        _ => return None,
    })
}

// === priorities ===

/// Parses a priority: 1..=50000.
pub fn validate_priority(p: i64) -> Result<u32, Elbv2Error> {
    if (1..=50000).contains(&p) {
        Ok(p as u32)
    } else {
        Err(Elbv2Error::constraint(p, "priority", "Member must have value between 1 and 50000"))
    }
}

/// Rules in the order the ALB evaluates them: ascending priority, the default rule last.
pub fn sort_for_evaluation(rules: &mut [Rule]) {
    rules.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleOut {
    rule_arn: String,
    priority: String,
    conditions: Vec<RuleCondition>,
    actions: Vec<Action>,
    is_default: bool,
}

pub fn rule_out(r: &Rule) -> RuleOut {
    RuleOut {
        rule_arn: r.rule_arn.clone(),
        priority: r.priority.map(|p| p.to_string()).unwrap_or_else(|| "default".into()),
        conditions: r.conditions.clone(),
        actions: r.actions.clone(),
        is_default: r.is_default(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesOutput {
    rules: Vec<RuleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

// === lookups ===

/// The rule with this ARN, or `RuleNotFound`.
pub fn load(cx: &Ctx<'_>, arn: &str) -> Result<Rule, ApiError> {
    cx.get::<Rule>(arn)?.ok_or_else(|| Elbv2Error::RuleNotFound.into())
}

/// A listener's rules in evaluation order (default last).
pub fn of_listener(cx: &Ctx<'_>, listener_arn: &str) -> Result<Vec<Rule>, ApiError> {
    let mut rules = cx.children::<Rule>(listener_arn)?;
    sort_for_evaluation(&mut rules);
    Ok(rules)
}

/// Non-default rules of all of a load balancer's listeners.
fn count_rules_of_load_balancer(cx: &Ctx<'_>, load_balancer_arn: &str) -> Result<usize, ApiError> {
    let mut n = 0;
    for l in cx.children::<Listener>(load_balancer_arn)? {
        n += cx.children::<Rule>(&l.listener_arn)?.iter().filter(|r| !r.is_default()).count();
    }
    Ok(n)
}

/// `listener-rule/app/<lb name>/<lb id>/<listener id>/<rule id>`.
pub fn new_arn(cx: &Ctx<'_>, listener_arn: &str) -> String {
    let resource = listener_arn.splitn(6, ':').nth(5).unwrap_or_default();
    let rest = resource.strip_prefix("listener/").unwrap_or(resource);
    cx.arn("elasticloadbalancing", &format!("listener-rule/{rest}/{}", ids::hex(16)))
}

/// Checks actions against the listener's load balancer.
pub(super) fn validate_actions_for(
    cx: &Ctx<'_>,
    listener: &Listener,
    actions: Vec<Action>,
) -> Result<Vec<Action>, ApiError> {
    let lb = load_balancer::load(cx, &listener.load_balancer_arn)?;
    action::validate_actions(cx, actions, &lb.load_balancer_arn, Some(&lb.vpc_id), &listener.protocol)
}

// === operations ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRuleInput {
    listener_arn: String,
    conditions: Vec<RuleCondition>,
    priority: i64,
    actions: Vec<Action>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_rule(cx: &Ctx<'_>, input: CreateRuleInput) -> Result<RulesOutput, ApiError> {
    let listener = listener::load(cx, &input.listener_arn)?;
    let priority = validate_priority(input.priority)?;
    tags::validate(&input.tags)?;
    if input.conditions.is_empty() {
        return Err(Elbv2Error::constraint(
            "[]",
            "conditions",
            "Member must have length greater than or equal to 1",
        )
        .into());
    }
    let conditions = validate_conditions(input.conditions)?;
    let actions = validate_actions_for(cx, &listener, input.actions)?;
    if cx.children::<Rule>(&listener.listener_arn)?.iter().any(|r| r.priority == Some(priority)) {
        return Err(Elbv2Error::PriorityInUse(priority).into());
    }
    if count_rules_of_load_balancer(cx, &listener.load_balancer_arn)? >= MAX_RULES_PER_LOAD_BALANCER {
        return Err(Elbv2Error::TooManyRules.into());
    }
    let rule = Rule {
        rule_arn: new_arn(cx, &listener.listener_arn),
        listener_arn: listener.listener_arn.clone(),
        load_balancer_arn: listener.load_balancer_arn.clone(),
        priority: Some(priority),
        conditions,
        actions,
        tags: input.tags,
    };
    cx.put(&rule)?;
    Ok(RulesOutput { rules: vec![rule_out(&rule)], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRulesInput {
    listener_arn: Option<String>,
    #[serde(default)]
    rule_arns: Vec<String>,
    marker: Option<String>,
    page_size: Option<i64>,
}

pub fn describe_rules(cx: &Ctx<'_>, input: DescribeRulesInput) -> Result<RulesOutput, ApiError> {
    let rules = match (&input.listener_arn, input.rule_arns.is_empty()) {
        (Some(l), true) => {
            listener::load(cx, l)?;
            of_listener(cx, l)?
        }
        (None, false) => {
            let mut out = Vec::new();
            for arn in &input.rule_arns {
                out.push(load(cx, arn)?);
            }
            out
        }
        (Some(_), false) => {
            return Err(
                Elbv2Error::Validation("Listener ARN and rule ARNs cannot be used together".into()).into()
            );
        }
        (None, true) => {
            return Err(
                Elbv2Error::Validation("You must specify either listener ARN or rule ARNs".into()).into()
            );
        }
    };
    let (page, next_marker) = super::page(&rules, input.marker.as_deref(), input.page_size)?;
    Ok(RulesOutput { rules: page.iter().map(rule_out).collect(), next_marker })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyRuleInput {
    rule_arn: String,
    #[serde(default)]
    conditions: Vec<RuleCondition>,
    #[serde(default)]
    actions: Vec<Action>,
}

pub fn modify_rule(cx: &Ctx<'_>, input: ModifyRuleInput) -> Result<RulesOutput, ApiError> {
    let mut rule = load(cx, &input.rule_arn)?;
    let listener = listener::load(cx, &rule.listener_arn)?;
    if !input.conditions.is_empty() {
        if rule.is_default() {
            return Err(Elbv2Error::OperationNotPermitted(format!(
                "The conditions of default rule '{}' cannot be modified",
                rule.rule_arn
            ))
            .into());
        }
        rule.conditions = validate_conditions(input.conditions)?;
    }
    if !input.actions.is_empty() {
        rule.actions = validate_actions_for(cx, &listener, input.actions)?;
    }
    cx.put(&rule)?;
    Ok(RulesOutput { rules: vec![rule_out(&rule)], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulePriorityPair {
    rule_arn: String,
    priority: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetRulePrioritiesInput {
    rule_priorities: Vec<RulePriorityPair>,
}

pub fn set_rule_priorities(cx: &Ctx<'_>, input: SetRulePrioritiesInput) -> Result<RulesOutput, ApiError> {
    let mut changed: Vec<Rule> = Vec::new();
    for pair in &input.rule_priorities {
        let mut rule = load(cx, &pair.rule_arn)?;
        if rule.is_default() {
            return Err(Elbv2Error::OperationNotPermitted(format!(
                "The priority of default rule '{}' cannot be modified",
                rule.rule_arn
            ))
            .into());
        }
        if changed.iter().any(|r| r.rule_arn == rule.rule_arn) {
            return Err(Elbv2Error::Validation(format!(
                "Rule '{}' is specified more than once",
                rule.rule_arn
            ))
            .into());
        }
        rule.priority = Some(validate_priority(pair.priority)?);
        changed.push(rule);
    }
    // The final priorities of every affected listener must be unique.
    let mut listeners: Vec<String> = changed.iter().map(|r| r.listener_arn.clone()).collect();
    listeners.dedup();
    for l in &listeners {
        let mut seen: Vec<u32> = Vec::new();
        for r in cx.children::<Rule>(l)? {
            let current = changed.iter().find(|c| c.rule_arn == r.rule_arn).unwrap_or(&r);
            if let Some(p) = current.priority {
                if seen.contains(&p) {
                    return Err(Elbv2Error::PriorityInUse(p).into());
                }
                seen.push(p);
            }
        }
    }
    for r in &changed {
        cx.put(r)?;
    }
    Ok(RulesOutput { rules: changed.iter().map(rule_out).collect(), next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleArnInput {
    rule_arn: String,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

pub fn delete_rule(cx: &Ctx<'_>, input: RuleArnInput) -> Result<Empty, ApiError> {
    let rule = load(cx, &input.rule_arn)?;
    if rule.is_default() {
        return Err(Elbv2Error::OperationNotPermitted(format!(
            "Default rule '{}' cannot be deleted",
            rule.rule_arn
        ))
        .into());
    }
    cx.delete::<Rule>(&rule.rule_arn)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(values: &[&str]) -> RuleCondition {
        RuleCondition {
            field: Some("path-pattern".into()),
            path_pattern_config: Some(ValuesConfig {
                values: values.iter().map(|s| s.to_string()).collect(),
            }),
            ..RuleCondition::default()
        }
    }

    fn host(values: &[&str]) -> RuleCondition {
        RuleCondition {
            field: Some("host-header".into()),
            values: Some(values.iter().map(|s| s.to_string()).collect()),
            ..RuleCondition::default()
        }
    }

    fn header(name: &str, values: &[&str]) -> RuleCondition {
        RuleCondition {
            field: Some("http-header".into()),
            http_header_config: Some(HttpHeaderConfig {
                http_header_name: Some(name.into()),
                values: values.iter().map(|s| s.to_string()).collect(),
            }),
            ..RuleCondition::default()
        }
    }

    #[test]
    fn path_and_host_are_returned_in_both_spellings() {
        let out = validate_conditions(vec![path(&["/product-svc*"]), host(&["api.example.com"])]).unwrap();
        assert_eq!(out[0].values, Some(vec!["/product-svc*".to_string()]));
        assert_eq!(out[0].path_pattern_config.as_ref().unwrap().values, vec!["/product-svc*"]);
        assert_eq!(out[1].host_header_config.as_ref().unwrap().values, vec!["api.example.com"]);
        assert_eq!(
            to_model(&out[0]),
            Some(model::routing::Condition::PathPattern(vec!["/product-svc*".into()]))
        );
    }

    #[test]
    fn one_of_each_singleton_condition() {
        let e = validate_conditions(vec![path(&["/a"]), path(&["/b"])]).unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        assert!(e.to_string().contains("only have one 'path-pattern'"));
        // http-header may repeat.
        assert!(validate_conditions(vec![header("X-A", &["1"]), header("X-B", &["2"])]).is_ok());
    }

    #[test]
    fn value_limits_per_condition_and_rule() {
        let e = validate_conditions(vec![path(&["/a", "/b", "/c", "/d"])]).unwrap_err();
        assert!(e.to_string().contains("maximum of '3' values"), "{e}");
        let e = validate_conditions(vec![path(&["/a", "/b", "/c"]), header("X-A", &["1", "2", "3"])])
            .unwrap_err();
        assert!(e.to_string().contains("'5' condition values"), "{e}");
        assert!(validate_conditions(vec![path(&["/a", "/b", "/c"]), header("X-A", &["1", "2"])]).is_ok());
        let e = validate_conditions(vec![path(&["/a*?*", "/b*?*"])]).unwrap_err();
        assert!(e.to_string().contains("'5' wildcards"), "{e}");
        assert!(validate_conditions(vec![path(&[""])]).is_err());
        assert!(validate_conditions(vec![path(&[])]).is_err());
    }

    #[test]
    fn values_are_checked_per_type() {
        assert!(validate_conditions(vec![host(&["localhost"])]).is_err());
        assert!(validate_conditions(vec![host(&["a.b1"])]).is_err());
        assert!(validate_conditions(vec![host(&["*.example.com"])]).is_ok());
        assert!(validate_conditions(vec![header("Host", &["x"])]).is_err());
        assert!(validate_conditions(vec![header("X-*", &["x"])]).is_err());
        let method = |m: &str| RuleCondition {
            field: Some("http-request-method".into()),
            http_request_method_config: Some(ValuesConfig { values: vec![m.into()] }),
            ..RuleCondition::default()
        };
        assert!(validate_conditions(vec![method("GET")]).is_ok());
        assert!(validate_conditions(vec![method("get")]).is_err());
        let ip = |v: &[&str]| RuleCondition {
            field: Some("source-ip".into()),
            source_ip_config: Some(ValuesConfig { values: v.iter().map(|s| s.to_string()).collect() }),
            ..RuleCondition::default()
        };
        assert!(validate_conditions(vec![ip(&["10.0.0.0/8", "::1/128"])]).is_ok());
        assert!(validate_conditions(vec![ip(&["10.0.0.0/33"])]).is_err());
        let bad_field = RuleCondition { field: Some("cookie".into()), ..RuleCondition::default() };
        assert!(validate_conditions(vec![bad_field]).is_err());
        // A config of another type is refused.
        let mixed = RuleCondition {
            field: Some("path-pattern".into()),
            host_header_config: Some(ValuesConfig { values: vec!["a.com".into()] }),
            ..RuleCondition::default()
        };
        assert!(validate_conditions(vec![mixed]).is_err());
    }

    #[test]
    fn priorities() {
        assert_eq!(validate_priority(1).unwrap(), 1);
        assert_eq!(validate_priority(50000).unwrap(), 50000);
        assert!(validate_priority(0).is_err());
        assert!(validate_priority(50001).is_err());
        let rule = |p: Option<u32>| Rule {
            rule_arn: format!("{p:?}"),
            listener_arn: "l".into(),
            load_balancer_arn: "lb".into(),
            priority: p,
            conditions: vec![],
            actions: vec![],
            tags: vec![],
        };
        let mut rules = vec![rule(None), rule(Some(7)), rule(Some(2))];
        sort_for_evaluation(&mut rules);
        assert_eq!(rules.iter().map(|r| r.priority).collect::<Vec<_>>(), vec![Some(2), Some(7), None]);
        assert_eq!(rule_out(&rules[2]).priority, "default");
        assert!(rule_out(&rules[2]).is_default);
    }
}
