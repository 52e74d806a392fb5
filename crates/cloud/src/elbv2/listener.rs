//! Listeners: CreateListener (with its default rule), DescribeListeners, ModifyListener,
//! DeleteListener, Describe/ModifyListenerAttributes.
//!
//! A listener's default actions are kept in its default rule (a [`Rule`] with no priority), the
//! one place they live: DescribeListeners shows them as `DefaultActions`, DescribeRules as the
//! rule whose priority is `default`.

use serde::{Deserialize, Serialize};

use super::action::{self, Action};
use super::attributes::{self, Attribute};
use super::error::Elbv2Error;
use super::load_balancer::{self, LoadBalancer};
use super::rule::{self, Rule};
use super::tags::{self, Tag};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// Listeners per load balancer.
pub const MAX_LISTENERS: usize = 50;
/// The security policy HTTPS listeners get when none is given.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

/// A stored listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub listener_arn: String,
    pub load_balancer_arn: String,
    pub port: u16,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    pub ssl_policy: Option<String>,
    pub certificates: Vec<Certificate>,
    pub alpn_policy: Vec<String>,
    pub attributes: Vec<Attribute>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Certificate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
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

/// The listener with this ARN, or `ListenerNotFound`.
pub fn load(cx: &Ctx<'_>, arn: &str) -> Result<Listener, ApiError> {
    cx.get::<Listener>(arn)?.ok_or_else(|| Elbv2Error::ListenerNotFound.into())
}

/// The listener's default rule.
pub fn default_rule(cx: &Ctx<'_>, listener_arn: &str) -> Result<Rule, ApiError> {
    cx.children::<Rule>(listener_arn)?
        .into_iter()
        .find(Rule::is_default)
        .ok_or_else(|| ApiError::internal(format!("listener {listener_arn} has no default rule")))
}

fn check_protocol(protocol: &str) -> Result<(), Elbv2Error> {
    match protocol {
        "HTTP" | "HTTPS" => Ok(()),
        "TCP" | "TLS" | "UDP" | "TCP_UDP" | "GENEVE" => Err(Elbv2Error::UnsupportedProtocol(format!(
            "Protocol '{protocol}' is not supported with load balancer type 'application'"
        ))),
        other => Err(Elbv2Error::constraint(
            other,
            "protocol",
            "Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE]",
        )),
    }
}

fn check_port(port: Option<i64>) -> Result<u16, Elbv2Error> {
    match port {
        None => Err(Elbv2Error::Validation("A listener port must be specified".into())),
        Some(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Some(p) => Err(Elbv2Error::constraint(p, "port", "Member must have value between 1 and 65535")),
    }
}

/// HTTPS listeners need a certificate; HTTP ones may not have one.
fn check_certificates(protocol: &str, certs: &[Certificate]) -> Result<(), Elbv2Error> {
    if protocol == "HTTPS" && certs.iter().all(|c| c.certificate_arn.is_none()) {
        return Err(Elbv2Error::Validation("A certificate must be specified for HTTPS listeners".into()));
    }
    if protocol == "HTTP" && !certs.is_empty() {
        return Err(Elbv2Error::IncompatibleProtocols(
            "Certificates are supported only for HTTPS listeners".into(),
        ));
    }
    Ok(())
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerOut {
    listener_arn: String,
    load_balancer_arn: String,
    port: u16,
    protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificates: Option<Vec<Certificate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_policy: Option<String>,
    default_actions: Vec<Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alpn_policy: Option<Vec<String>>,
}

fn listener_out(l: &Listener, default_actions: Vec<Action>) -> ListenerOut {
    ListenerOut {
        listener_arn: l.listener_arn.clone(),
        load_balancer_arn: l.load_balancer_arn.clone(),
        port: l.port,
        protocol: l.protocol.clone(),
        certificates: (!l.certificates.is_empty()).then(|| {
            l.certificates
                .iter()
                .map(|c| Certificate { certificate_arn: c.certificate_arn.clone(), is_default: None })
                .collect()
        }),
        ssl_policy: l.ssl_policy.clone(),
        default_actions,
        alpn_policy: (!l.alpn_policy.is_empty()).then(|| l.alpn_policy.clone()),
    }
}

fn out_with_actions(cx: &Ctx<'_>, l: &Listener) -> Result<ListenerOut, ApiError> {
    let actions = default_rule(cx, &l.listener_arn)?.actions;
    Ok(listener_out(l, actions))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenersOutput {
    listeners: Vec<ListenerOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

// === operations ===

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateListenerInput {
    load_balancer_arn: String,
    protocol: Option<String>,
    port: Option<i64>,
    ssl_policy: Option<String>,
    #[serde(default)]
    certificates: Vec<Certificate>,
    default_actions: Vec<Action>,
    #[serde(default)]
    alpn_policy: Vec<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_listener(cx: &Ctx<'_>, input: CreateListenerInput) -> Result<ListenersOutput, ApiError> {
    let lb: LoadBalancer = load_balancer::load(cx, &input.load_balancer_arn)?;
    let protocol = input.protocol.unwrap_or_else(|| "HTTP".into());
    check_protocol(&protocol)?;
    let port = check_port(input.port)?;
    check_certificates(&protocol, &input.certificates)?;
    if !input.alpn_policy.is_empty() {
        return Err(Elbv2Error::IncompatibleProtocols(
            "ALPN policies are supported only for TLS listeners".into(),
        )
        .into());
    }
    tags::validate(&input.tags)?;
    let ssl_policy = match (protocol.as_str(), input.ssl_policy) {
        ("HTTPS", p) => Some(p.unwrap_or_else(|| DEFAULT_SSL_POLICY.into())),
        (_, Some(_)) => {
            return Err(Elbv2Error::IncompatibleProtocols(
                "SSL policies are supported only for HTTPS listeners".into(),
            )
            .into());
        }
        (_, None) => None,
    };
    let actions = action::validate_actions(
        cx,
        input.default_actions,
        &lb.load_balancer_arn,
        Some(&lb.vpc_id),
        &protocol,
    )?;

    let siblings = cx.children::<Listener>(&lb.load_balancer_arn)?;
    if let Some(existing) = siblings.iter().find(|l| l.port == port) {
        let existing_actions = default_rule(cx, &existing.listener_arn)?.actions;
        if existing.protocol == protocol && existing_actions == actions && existing.ssl_policy == ssl_policy {
            return Ok(ListenersOutput {
                listeners: vec![listener_out(existing, existing_actions)],
                next_marker: None,
            });
        }
        return Err(Elbv2Error::DuplicateListener(lb.load_balancer_arn).into());
    }
    if siblings.len() >= MAX_LISTENERS {
        return Err(Elbv2Error::TooManyListeners.into());
    }
    let lb_path = format!("{}/{}", lb.load_balancer_name, lb.id_part());
    let listener = Listener {
        listener_arn: cx.arn("elasticloadbalancing", &format!("listener/app/{lb_path}/{}", ids::hex(16))),
        load_balancer_arn: lb.load_balancer_arn.clone(),
        port,
        attributes: attributes::listener_defaults(&protocol),
        protocol,
        ssl_policy,
        certificates: input.certificates,
        alpn_policy: input.alpn_policy,
        tags: input.tags,
    };
    let default = Rule {
        rule_arn: rule::new_arn(cx, &listener.listener_arn),
        listener_arn: listener.listener_arn.clone(),
        load_balancer_arn: lb.load_balancer_arn,
        priority: None,
        conditions: Vec::new(),
        actions: actions.clone(),
        tags: Vec::new(),
    };
    cx.put(&listener)?;
    cx.put(&default)?;
    Ok(ListenersOutput { listeners: vec![listener_out(&listener, actions)], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeListenersInput {
    load_balancer_arn: Option<String>,
    #[serde(default)]
    listener_arns: Vec<String>,
    marker: Option<String>,
    page_size: Option<i64>,
}

pub fn describe_listeners(cx: &Ctx<'_>, input: DescribeListenersInput) -> Result<ListenersOutput, ApiError> {
    let listeners = match (&input.load_balancer_arn, input.listener_arns.is_empty()) {
        (Some(lb), true) => {
            load_balancer::load(cx, lb)?;
            let mut ls = cx.children::<Listener>(lb)?;
            ls.sort_by_key(|l| l.port);
            ls
        }
        (None, false) => {
            let mut out = Vec::new();
            for arn in &input.listener_arns {
                out.push(load(cx, arn)?);
            }
            out
        }
        (Some(_), false) => {
            return Err(Elbv2Error::Validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time".into(),
            )
            .into());
        }
        (None, true) => {
            return Err(Elbv2Error::Validation(
                "You must specify either listener ARNs or a load balancer ARN".into(),
            )
            .into());
        }
    };
    let (page, next_marker) = super::page(&listeners, input.marker.as_deref(), input.page_size)?;
    let mut out = Vec::with_capacity(page.len());
    for l in page {
        out.push(out_with_actions(cx, l)?);
    }
    Ok(ListenersOutput { listeners: out, next_marker })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyListenerInput {
    listener_arn: String,
    port: Option<i64>,
    protocol: Option<String>,
    ssl_policy: Option<String>,
    #[serde(default)]
    certificates: Vec<Certificate>,
    #[serde(default)]
    default_actions: Vec<Action>,
    #[serde(default)]
    alpn_policy: Vec<String>,
}

pub fn modify_listener(cx: &Ctx<'_>, input: ModifyListenerInput) -> Result<ListenersOutput, ApiError> {
    let mut listener = load(cx, &input.listener_arn)?;
    let lb = load_balancer::load(cx, &listener.load_balancer_arn)?;
    if let Some(p) = input.protocol {
        check_protocol(&p)?;
        if p != listener.protocol {
            listener.attributes = attributes::listener_defaults(&p);
        }
        listener.protocol = p;
    }
    if input.port.is_some() {
        let port = check_port(input.port)?;
        let taken = cx
            .children::<Listener>(&lb.load_balancer_arn)?
            .iter()
            .any(|l| l.port == port && l.listener_arn != listener.listener_arn);
        if taken {
            return Err(Elbv2Error::DuplicateListener(lb.load_balancer_arn).into());
        }
        listener.port = port;
    }
    if !input.certificates.is_empty() {
        listener.certificates = input.certificates;
    }
    if listener.protocol == "HTTP" {
        listener.certificates.clear();
        if input.ssl_policy.is_some() {
            return Err(Elbv2Error::IncompatibleProtocols(
                "SSL policies are supported only for HTTPS listeners".into(),
            )
            .into());
        }
        listener.ssl_policy = None;
    } else {
        listener.ssl_policy =
            Some(input.ssl_policy.or(listener.ssl_policy).unwrap_or_else(|| DEFAULT_SSL_POLICY.into()));
    }
    check_certificates(&listener.protocol, &listener.certificates)?;
    if !input.alpn_policy.is_empty() {
        return Err(Elbv2Error::IncompatibleProtocols(
            "ALPN policies are supported only for TLS listeners".into(),
        )
        .into());
    }
    let mut default = default_rule(cx, &listener.listener_arn)?;
    if !input.default_actions.is_empty() {
        default.actions = action::validate_actions(
            cx,
            input.default_actions,
            &lb.load_balancer_arn,
            Some(&lb.vpc_id),
            &listener.protocol,
        )?;
        cx.put(&default)?;
    }
    cx.put(&listener)?;
    Ok(ListenersOutput { listeners: vec![listener_out(&listener, default.actions)], next_marker: None })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListenerArnInput {
    listener_arn: String,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

/// Deletes a listener and all its rules.
pub fn delete_listener(cx: &Ctx<'_>, input: ListenerArnInput) -> Result<Empty, ApiError> {
    let listener = load(cx, &input.listener_arn)?;
    for r in cx.children::<Rule>(&listener.listener_arn)? {
        cx.delete::<Rule>(&r.rule_arn)?;
    }
    cx.delete::<Listener>(&listener.listener_arn)?;
    Ok(Empty {})
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesOutput {
    attributes: Vec<Attribute>,
}

pub fn describe_listener_attributes(
    cx: &Ctx<'_>,
    input: ListenerArnInput,
) -> Result<AttributesOutput, ApiError> {
    Ok(AttributesOutput { attributes: load(cx, &input.listener_arn)?.attributes })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyListenerAttributesInput {
    listener_arn: String,
    attributes: Vec<Attribute>,
}

pub fn modify_listener_attributes(
    cx: &Ctx<'_>,
    input: ModifyListenerAttributesInput,
) -> Result<AttributesOutput, ApiError> {
    let mut listener = load(cx, &input.listener_arn)?;
    let protocol = listener.protocol.clone();
    attributes::modify(
        attributes::Owner::Listener { protocol: &protocol },
        &mut listener.attributes,
        &input.attributes,
    )?;
    cx.put(&listener)?;
    Ok(AttributesOutput { attributes: listener.attributes })
}
