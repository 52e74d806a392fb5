//! The routing table: a [`RoutingSnapshot`] compiled once into the shape the request path wants.
//!
//! Built once per snapshot by the control task and published whole through an `ArcSwap`
//! ([`crate::proxy::Shared::table`]); a request does one atomic load and then only reads. Globs are
//! pre-parsed, rules are in evaluation order, target groups hold their [`TargetRt`]s, and each
//! listening port knows the load balancers that share it. Target runtimes come from a registry
//! that outlives tables, so health and in-flight counts survive swaps.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use model::health::TargetKey;
use model::routing::{Action, Algorithm, LoadBalancer, Redirect, RoutingSnapshot, XffMode};

use crate::balance::{Candidate, TargetRt, pick_weighted, select};
use crate::error::FixedResponse;
use crate::health::CheckConfig;
use crate::rules::Matcher;

/// Everything the request path needs, for one snapshot.
#[derive(Debug, Default)]
pub struct Table {
    pub generation: u64,
    /// Listener port as the API shows it → what is served there. Few entries: a linear scan.
    pub ports: Vec<PortRoutes>,
    /// Every target group of the snapshot, by ARN (the health supervisor walks it).
    pub groups: HashMap<String, Arc<GroupRt>>,
}

impl Table {
    pub fn port(&self, port: u16) -> Option<&PortRoutes> {
        self.ports.iter().find(|p| p.port == port)
    }
}

/// The load balancers listening on one port.
#[derive(Debug)]
pub struct PortRoutes {
    pub port: u16,
    pub lbs: Vec<LbRoutes>,
    /// `X-Forwarded-Port` for requests on this listener.
    pub forwarded_port: HeaderValue,
    /// Body of the 404 sent when several load balancers share the port and none has the
    /// request's Host as its DNS name.
    pub unknown_host: Bytes,
}

impl PortRoutes {
    /// The load balancer answering `host` (already without port): the one whose DNS name it is,
    /// or the only one on the port.
    pub fn select(&self, host: &str) -> Option<&LbRoutes> {
        if let [only] = self.lbs.as_slice() {
            return Some(only);
        }
        self.lbs.iter().find(|lb| lb.dns_name.eq_ignore_ascii_case(host))
    }
}

/// One load balancer's listener on a port, with its attributes.
#[derive(Debug)]
pub struct LbRoutes {
    pub arn: String,
    pub dns_name: String,
    pub idle_timeout: Duration,
    pub xff_mode: XffMode,
    pub xff_client_port: bool,
    pub drop_invalid_header_fields: bool,
    pub preserve_host_header: bool,
    /// In evaluation order, the default rule last.
    pub rules: Vec<CompiledRule>,
}

#[derive(Debug)]
pub struct CompiledRule {
    pub matchers: Vec<Matcher>,
    pub action: CompiledAction,
}

#[derive(Debug)]
pub enum CompiledAction {
    Forward(ForwardAction),
    Fixed(FixedResponse),
    Redirect(Redirect),
}

/// A forward action over one or more weighted groups.
#[derive(Debug)]
pub struct ForwardAction {
    pub groups: Vec<Arc<GroupRt>>,
    pub weights: Vec<u32>,
    /// Target-group stickiness: how long the `AWSALBTG` cookie pins a client to a group.
    pub stickiness: Option<Duration>,
    /// Request counter for the weighted choice (unused with a single group).
    counter: AtomicUsize,
}

impl ForwardAction {
    /// The group this request goes to; `None` when every weight is 0 or a group is unknown.
    pub fn pick_group(&self) -> Option<&Arc<GroupRt>> {
        match self.groups.as_slice() {
            [one] => Some(one),
            _ => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                pick_weighted(&self.weights, n).and_then(|i| self.groups.get(i))
            }
        }
    }

    /// With stickiness, the group an `AWSALBTG` cookie value names, if it is still part of this
    /// action with a weight above 0.
    pub fn sticky_group(&self, cookie: &str) -> Option<&Arc<GroupRt>> {
        self.groups
            .iter()
            .zip(&self.weights)
            .find(|(g, w)| **w > 0 && g.sticky_token == cookie)
            .map(|(g, _)| g)
    }
}

/// A target group as the request path and the health checker see it.
#[derive(Debug)]
pub struct GroupRt {
    pub arn: String,
    pub algorithm: Algorithm,
    pub in_use: bool,
    pub check: Arc<CheckConfig>,
    /// Every registered target, draining ones included (selection skips them).
    pub targets: Vec<Arc<TargetRt>>,
    /// The `AWSALBTG` cookie value naming this group (opaque to clients, like AWS's).
    pub sticky_token: String,
    /// Per-group round-robin position.
    counter: AtomicUsize,
}

impl GroupRt {
    /// Picks a target for one request (`None`: ALB's 503).
    pub fn pick(&self) -> Option<&Arc<TargetRt>> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        select(&self.targets, self.algorithm, n).and_then(|i| self.targets.get(i))
    }

    /// Healthy targets right now (for logs and tests).
    pub fn healthy_count(&self) -> usize {
        self.targets.iter().filter(|t| t.class() == crate::balance::Class::Healthy).count()
    }
}

/// Compiles `snapshot`. `registry` holds the target runtimes of the previous table: those whose
/// key and address are unchanged are reused, new ones are created, and the registry is left
/// holding exactly the targets of this snapshot.
pub fn build(snapshot: &RoutingSnapshot, registry: &mut HashMap<TargetKey, Arc<TargetRt>>) -> Table {
    let mut next_registry = HashMap::with_capacity(registry.len());
    let mut groups = HashMap::with_capacity(snapshot.target_groups.len());
    for tg in &snapshot.target_groups {
        let targets = tg
            .targets
            .iter()
            .map(|t| {
                let key = TargetKey { target_group_arn: tg.arn.clone(), id: t.id.clone(), port: t.port };
                let rt = match registry.get(&key) {
                    Some(rt) if rt.addr == t.addr => rt.clone(),
                    _ => Arc::new(TargetRt::new(key.clone(), t.addr)),
                };
                next_registry.insert(key, rt.clone());
                rt
            })
            .collect();
        let group = GroupRt {
            arn: tg.arn.clone(),
            algorithm: tg.algorithm,
            in_use: tg.in_use,
            check: Arc::new(CheckConfig::compile(&tg.health_check)),
            targets,
            sticky_token: sticky_token(&tg.arn),
            counter: AtomicUsize::new(0),
        };
        groups.insert(tg.arn.clone(), Arc::new(group));
    }
    *registry = next_registry;

    // Listener port → load balancers on it, in snapshot order.
    let mut by_port: BTreeMap<u16, Vec<LbRoutes>> = BTreeMap::new();
    for lb in &snapshot.load_balancers {
        for listener in &lb.listeners {
            let rules = listener
                .rules
                .iter()
                .map(|rule| CompiledRule {
                    matchers: rule.conditions.iter().map(Matcher::compile).collect(),
                    action: compile_action(&rule.action, &groups),
                })
                .collect();
            by_port.entry(listener.port).or_default().push(lb_routes(lb, rules));
        }
    }
    let ports = by_port
        .into_iter()
        .map(|(port, lbs)| {
            let names: Vec<&str> = lbs.iter().map(|lb| lb.dns_name.as_str()).collect();
            let unknown_host = Bytes::from(format!(
                "No load balancer listening on port {port} has this Host. Send one of: {}\n",
                names.join(", ")
            ));
            PortRoutes { port, lbs, forwarded_port: HeaderValue::from(port), unknown_host }
        })
        .collect();
    Table { generation: snapshot.generation, ports, groups }
}

fn lb_routes(lb: &LoadBalancer, rules: Vec<CompiledRule>) -> LbRoutes {
    LbRoutes {
        arn: lb.arn.clone(),
        dns_name: lb.dns_name.clone(),
        idle_timeout: if lb.idle_timeout.is_zero() { Duration::from_secs(60) } else { lb.idle_timeout },
        xff_mode: lb.xff_mode,
        xff_client_port: lb.xff_client_port,
        drop_invalid_header_fields: lb.drop_invalid_header_fields,
        preserve_host_header: lb.preserve_host_header,
        rules,
    }
}

fn compile_action(action: &Action, groups: &HashMap<String, Arc<GroupRt>>) -> CompiledAction {
    match action {
        Action::Forward(forward) => {
            // An unknown group ARN is kept as a weight-0 entry: it gets nothing, and a forward
            // to nothing but unknown groups is a 503, like a group without targets.
            let (groups, weights) = forward
                .target_groups
                .iter()
                .filter_map(|wtg| groups.get(&wtg.arn).map(|g| (g.clone(), wtg.weight)))
                .unzip();
            CompiledAction::Forward(ForwardAction {
                groups,
                weights,
                stickiness: forward.stickiness,
                counter: AtomicUsize::new(0),
            })
        }
        Action::FixedResponse { status_code, content_type, body } => CompiledAction::Fixed(
            FixedResponse::compile(*status_code, content_type.as_deref(), body.as_deref()),
        ),
        Action::Redirect(redirect) => CompiledAction::Redirect(redirect.clone()),
    }
}

/// A stable, opaque cookie value for a target group: FNV-1a of its ARN, in hex.
fn sticky_token(arn: &str) -> String {
    let hash =
        arn.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}
