//! The routing snapshot: everything the data plane needs to serve traffic, and nothing else.
//!
//! The control plane rebuilds a whole [`RoutingSnapshot`] whenever load balancers, listeners,
//! rules, target groups or their targets change, and publishes it (`Arc`) on a watch channel.
//! The data plane swaps it in atomically; requests in flight keep the snapshot they started with.
//!
//! Durations are the ones the data plane must *use*. They may be shorter than what the AWS API
//! reports when berth runs with its quick-loop time scale (see `cloud`'s config).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One consistent view of every load balancer and target group in berth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingSnapshot {
    /// Increases with every snapshot the control plane publishes.
    pub generation: u64,
    pub load_balancers: Vec<LoadBalancer>,
    /// Every target group, whether or not a rule forwards to it (health is reported for all).
    pub target_groups: Vec<TargetGroup>,
}

impl RoutingSnapshot {
    pub fn target_group(&self, arn: &str) -> Option<&TargetGroup> {
        self.target_groups.iter().find(|tg| tg.arn == arn)
    }
}

/// An application load balancer that is `active` (provisioning ones are not routed yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `<name>-<digits>.<region>.elb.localhost`: the Host header that selects this load balancer
    /// when several share one listening port.
    pub dns_name: String,
    pub listeners: Vec<Listener>,
    /// `idle_timeout.timeout_seconds` (default 60 s).
    pub idle_timeout: Duration,
    /// `routing.http.xff_header_processing.mode`.
    pub xff_mode: XffMode,
    /// `routing.http.xff_client_port.enabled`.
    pub xff_client_port: bool,
    /// `routing.http.drop_invalid_header_fields.enabled`.
    pub drop_invalid_header_fields: bool,
    /// `routing.http.preserve_host_header.enabled`.
    pub preserve_host_header: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum XffMode {
    #[default]
    Append,
    Preserve,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    /// The port the AWS API shows (80 in the seed). Where berth really listens is the data plane's
    /// business (it may map 80 to another host port) and is reported by it.
    pub port: u16,
    /// `HTTP` (HTTPS listeners are accepted by the API but served as plain HTTP locally).
    pub protocol: String,
    /// Ordered as the ALB evaluates them: ascending priority, the default rule last.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    /// `None` for the listener's default rule.
    pub priority: Option<u32>,
    /// All must match (AND); values inside one condition are alternatives (OR).
    pub conditions: Vec<Condition>,
    pub action: Action,
}

/// A rule condition, as validated by the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// Case-sensitive glob (`*`, `?`) over the path only, anchored at both ends.
    PathPattern(Vec<String>),
    /// Case-insensitive glob over the Host header without its port.
    HostHeader(Vec<String>),
    /// Case-insensitive glob over the values of header `name`.
    HttpHeader { name: String, values: Vec<String> },
    /// Case-sensitive exact method names.
    HttpRequestMethod(Vec<String>),
    /// Case-insensitive globs over decoded query parameters.
    QueryString(Vec<QueryStringPattern>),
    /// The TCP peer address (not X-Forwarded-For).
    SourceIp(Vec<ipnet::IpNet>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryStringPattern {
    /// `None` matches any key.
    pub key: Option<String>,
    pub value: String,
}

/// The final action of a rule (forward, fixed-response or redirect).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    Forward(Forward),
    FixedResponse { status_code: u16, content_type: Option<String>, body: Option<String> },
    Redirect(Redirect),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forward {
    /// One or more target groups with weights 0..=999 (a single group has weight 1).
    pub target_groups: Vec<WeightedTargetGroup>,
    /// Target-group stickiness duration (`AWSALBTG` cookie), when enabled.
    pub stickiness: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    pub arn: String,
    pub weight: u32,
}

/// A redirect; each part may hold `#{protocol}`, `#{host}`, `#{port}`, `#{path}`, `#{query}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Redirect {
    pub protocol: String,
    pub host: String,
    pub port: String,
    pub path: String,
    pub query: String,
    /// 301 or 302.
    pub status_code: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    /// `HTTP` or `HTTPS` (both are spoken as plain HTTP to local targets).
    pub protocol: String,
    /// The traffic port.
    pub port: u16,
    pub algorithm: Algorithm,
    pub health_check: HealthCheck,
    /// How long a deregistered target drains before it is removed.
    pub deregistration_delay: Duration,
    /// True when a listener rule forwards to this group; otherwise its targets are
    /// `unused / Target.NotInUse` and are not health checked.
    pub in_use: bool,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Algorithm {
    #[default]
    RoundRobin,
    LeastOutstandingRequests,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The target id as the API shows it (an IP for `ip` target groups).
    pub id: String,
    /// The port traffic is sent to (the registration's port, else the group's).
    pub port: u16,
    /// Where that endpoint is reachable from this host (see [`crate::network::AddressMap`]).
    pub addr: SocketAddr,
    pub availability_zone: Option<String>,
    /// Set once the target is deregistered: it gets no new requests, in-flight ones finish, and
    /// the data plane reports [`crate::health::DataPlaneEvent::Drained`] when it has no request in
    /// flight or at this deadline (milliseconds since the Unix epoch), whichever comes first.
    pub draining_deadline_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    /// `HTTP`, `HTTPS` or `TCP`.
    pub protocol: String,
    /// `None` = `traffic-port`.
    pub port: Option<u16>,
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// HTTP codes: `200`, `200,202`, `200-299`.
    pub matcher: String,
}

impl TargetGroup {
    /// The port health checks go to for `target`.
    pub fn health_check_port(&self, target: &Target) -> u16 {
        self.health_check.port.unwrap_or(target.port)
    }
}
