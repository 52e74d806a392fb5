//! The routing reconciler: builds the data plane's [`RoutingSnapshot`] from the ELBv2 resources in
//! the store and publishes it on [`crate::live::Live::routing`]; applies what the data plane
//! reports back ([`apply_data_plane_event`]).
//!
//! # What goes into a snapshot
//! - Load balancers that are `active` (a new one is `provisioning` for its first second), each
//!   with its listeners by port and their rules in evaluation order (ascending priority, the
//!   default rule last), and the attributes the proxy honours (idle timeout, X-Forwarded-For
//!   handling, dropping invalid headers, preserving the Host header).
//! - Every target group of every region, `in_use` when a rule or default action of an active load
//!   balancer forwards to it, with its registrations: each target's VPC address mapped to where
//!   it is reachable on this host ([`AddressMap`]), and a draining deadline for deregistered ones.
//!
//! # `--fast`
//! With [`crate::Config::fast`] the data plane gets shorter timings than the API reports:
//! health-check interval and timeout at most 1 s each, deregistration delay at most 2 s.
//! Thresholds, paths and matchers are unchanged.
//!
//! # When it runs
//! On every store commit that wrote something, and when a time-based change is due: a load
//! balancer turning active, or a draining deadline passing (the data plane normally reports
//! `Drained` first; the reconciler removes registrations whose deadline passed by more than
//! [`DRAIN_GRACE_MS`] in case no data plane is running). A snapshot is published only when it
//! differs from the last one, with the next `generation`.

use std::collections::HashSet;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use model::health::{DataPlaneEvent, TargetKey};
use model::network::AddressMap;
use model::routing::{self, RoutingSnapshot};

use crate::Cloud;
use crate::api::ApiError;
use crate::elbv2::action::Action;
use crate::elbv2::attributes;
use crate::elbv2::listener::Listener;
use crate::elbv2::load_balancer::LoadBalancer;
use crate::elbv2::rule::{self, Rule};
use crate::elbv2::target_group::{self, Registration, TargetGroup};
use crate::store::{StoreError, Tx};

/// How long after a draining deadline the reconciler removes a registration the data plane did
/// not report drained (one it did report is removed at the deadline).
pub const DRAIN_GRACE_MS: i64 = 1000;

/// The longest the reconciler sleeps without a store change (a safety net; wake-ups are
/// otherwise scheduled exactly).
const MAX_IDLE: Duration = Duration::from_secs(30);

/// Every ELBv2 resource of every region, as read in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub load_balancers: Vec<LoadBalancer>,
    pub listeners: Vec<Listener>,
    pub rules: Vec<Rule>,
    pub target_groups: Vec<TargetGroup>,
}

impl Stored {
    /// Reads every ELBv2 resource of every region.
    pub fn read(tx: &Tx<'_>) -> Result<Self, StoreError> {
        fn strip<R>(v: Vec<(String, R)>) -> Vec<R> {
            v.into_iter().map(|(_, r)| r).collect()
        }
        Ok(Self {
            load_balancers: strip(tx.list_all_regions::<LoadBalancer>()?),
            listeners: strip(tx.list_all_regions::<Listener>()?),
            rules: strip(tx.list_all_regions::<Rule>()?),
            target_groups: strip(tx.list_all_regions::<TargetGroup>()?),
        })
    }
}

/// Timings the data plane uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub fast: bool,
}

impl Timing {
    /// Health-check interval: at most 1 s with `fast`.
    pub fn interval(self, configured_s: i32) -> Duration {
        self.cap(configured_s, Duration::from_secs(1))
    }

    /// Health-check timeout: at most 1 s with `fast`.
    pub fn timeout(self, configured_s: i32) -> Duration {
        self.cap(configured_s, Duration::from_secs(1))
    }

    /// Deregistration delay: at most 2 s with `fast`.
    pub fn deregistration_delay(self, configured_s: u64) -> Duration {
        let d = Duration::from_secs(configured_s);
        if self.fast { d.min(Duration::from_secs(2)) } else { d }
    }

    fn cap(self, configured_s: i32, cap: Duration) -> Duration {
        let d = Duration::from_secs(u64::try_from(configured_s).unwrap_or(0));
        if self.fast { d.min(cap) } else { d }
    }
}

/// Milliseconds of a duration, saturating.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The deadline (ms since the epoch) of a draining registration.
pub fn draining_deadline_ms(tg: &TargetGroup, deregistered_ms: i64, timing: Timing) -> i64 {
    deregistered_ms.saturating_add(ms(timing.deregistration_delay(tg.deregistration_delay_seconds())))
}

/// When a deregistered registration leaves the store: at its deadline once the data plane reported
/// it drained, [`DRAIN_GRACE_MS`] later otherwise.
pub fn removal_ms(tg: &TargetGroup, reg: &Registration, timing: Timing) -> Option<i64> {
    let deadline = draining_deadline_ms(tg, reg.deregistered_ms?, timing);
    Some(if reg.drained { deadline } else { deadline + DRAIN_GRACE_MS })
}

/// Builds the snapshot (with generation 0) from stored resources. Pure.
pub fn build(stored: &Stored, address_map: &dyn AddressMap, timing: Timing, now_ms: i64) -> RoutingSnapshot {
    let active: Vec<&LoadBalancer> = stored.load_balancers.iter().filter(|lb| lb.is_active(now_ms)).collect();
    let mut used: HashSet<&str> = HashSet::new();
    let mut load_balancers = Vec::with_capacity(active.len());
    for lb in &active {
        let mut listeners: Vec<&Listener> =
            stored.listeners.iter().filter(|l| l.load_balancer_arn == lb.load_balancer_arn).collect();
        listeners.sort_by_key(|l| l.port);
        let mut out_listeners = Vec::with_capacity(listeners.len());
        for l in listeners {
            let mut rules: Vec<Rule> =
                stored.rules.iter().filter(|r| r.listener_arn == l.listener_arn).cloned().collect();
            rule::sort_for_evaluation(&mut rules);
            let mut out_rules = Vec::with_capacity(rules.len());
            for r in &rules {
                let Some(action) = terminal_action(&r.actions) else {
                    continue;
                };
                for a in &r.actions {
                    for arn in a.target_group_arns() {
                        if let Some(tg) = stored.target_groups.iter().find(|t| t.target_group_arn == arn) {
                            used.insert(&tg.target_group_arn);
                        }
                    }
                }
                out_rules.push(routing::Rule {
                    arn: r.rule_arn.clone(),
                    priority: r.priority,
                    conditions: r.conditions.iter().filter_map(rule::to_model).collect(),
                    action,
                });
            }
            out_listeners.push(routing::Listener {
                arn: l.listener_arn.clone(),
                port: l.port,
                protocol: l.protocol.clone(),
                rules: out_rules,
            });
        }
        let attrs = &lb.attributes;
        load_balancers.push(routing::LoadBalancer {
            arn: lb.load_balancer_arn.clone(),
            name: lb.load_balancer_name.clone(),
            dns_name: lb.dns_name.clone(),
            listeners: out_listeners,
            idle_timeout: Duration::from_secs(attributes::get_or(
                attrs,
                "idle_timeout.timeout_seconds",
                60u64,
            )),
            xff_mode: match attributes::get(attrs, "routing.http.xff_header_processing.mode") {
                Some("preserve") => routing::XffMode::Preserve,
                Some("remove") => routing::XffMode::Remove,
                _ => routing::XffMode::Append,
            },
            xff_client_port: attributes::get(attrs, "routing.http.xff_client_port.enabled") == Some("true"),
            drop_invalid_header_fields: attributes::get(
                attrs,
                "routing.http.drop_invalid_header_fields.enabled",
            ) == Some("true"),
            preserve_host_header: attributes::get(attrs, "routing.http.preserve_host_header.enabled")
                == Some("true"),
        });
    }
    let target_groups = stored
        .target_groups
        .iter()
        .map(|tg| target_group_snapshot(tg, used.contains(tg.target_group_arn.as_str()), address_map, timing))
        .collect();
    RoutingSnapshot { generation: 0, load_balancers, target_groups }
}

/// The terminal action of a rule (forward, fixed-response or redirect) in the data plane's form.
fn terminal_action(actions: &[Action]) -> Option<routing::Action> {
    let a = actions.iter().find(|a| a.is_terminal())?;
    match a.kind.as_str() {
        "forward" => {
            let (groups, stickiness) = match &a.forward_config {
                Some(fc) => (
                    fc.target_groups
                        .iter()
                        .filter_map(|t| {
                            Some(routing::WeightedTargetGroup {
                                arn: t.target_group_arn.clone()?,
                                weight: u32::try_from(t.weight.unwrap_or(1)).unwrap_or(0),
                            })
                        })
                        .collect(),
                    fc.target_group_stickiness_config.as_ref().and_then(|s| {
                        (s.enabled == Some(true)).then(|| {
                            Duration::from_secs(u64::try_from(s.duration_seconds.unwrap_or(0)).unwrap_or(0))
                        })
                    }),
                ),
                None => (
                    a.target_group_arn
                        .iter()
                        .map(|arn| routing::WeightedTargetGroup { arn: arn.clone(), weight: 1 })
                        .collect(),
                    None,
                ),
            };
            Some(routing::Action::Forward(routing::Forward { target_groups: groups, stickiness }))
        }
        "fixed-response" => {
            let fr = a.fixed_response_config.as_ref()?;
            Some(routing::Action::FixedResponse {
                status_code: fr.status_code.parse().ok()?,
                content_type: fr.content_type.clone(),
                body: fr.message_body.clone(),
            })
        }
        "redirect" => {
            let r = a.redirect_config.as_ref()?;
            Some(routing::Action::Redirect(routing::Redirect {
                protocol: r.protocol.clone().unwrap_or_else(|| "#{protocol}".into()),
                host: r.host.clone().unwrap_or_else(|| "#{host}".into()),
                port: r.port.clone().unwrap_or_else(|| "#{port}".into()),
                path: r.path.clone().unwrap_or_else(|| "/#{path}".into()),
                query: r.query.clone().unwrap_or_else(|| "#{query}".into()),
                status_code: if r.status_code == "HTTP_301" { 301 } else { 302 },
            }))
        }
        _ => None,
    }
}

fn target_group_snapshot(
    tg: &TargetGroup,
    in_use: bool,
    address_map: &dyn AddressMap,
    timing: Timing,
) -> routing::TargetGroup {
    let hc = &tg.health_check;
    let algorithm = match attributes::get(&tg.attributes, "load_balancing.algorithm.type") {
        Some("least_outstanding_requests") => routing::Algorithm::LeastOutstandingRequests,
        _ => routing::Algorithm::RoundRobin,
    };
    let targets = tg
        .targets
        .iter()
        .filter(|r| r.is_live())
        .filter_map(|r| {
            let ip: IpAddr = r.id.parse().ok()?;
            Some(routing::Target {
                id: r.id.clone(),
                port: r.port,
                addr: SocketAddr::new(address_map.host_ip(ip), r.port),
                availability_zone: r.availability_zone.clone(),
                draining_deadline_ms: r
                    .deregistered_ms
                    .map(|d| u64::try_from(draining_deadline_ms(tg, d, timing)).unwrap_or(0)),
            })
        })
        .collect();
    routing::TargetGroup {
        arn: tg.target_group_arn.clone(),
        name: tg.target_group_name.clone(),
        protocol: tg.protocol.clone().unwrap_or_else(|| "HTTP".into()),
        port: tg.port.unwrap_or(0),
        algorithm,
        health_check: routing::HealthCheck {
            enabled: hc.enabled,
            protocol: hc.protocol.clone().unwrap_or_else(|| "HTTP".into()),
            port: hc.port.parse().ok(),
            path: hc.path.clone().unwrap_or_else(|| "/".into()),
            interval: timing.interval(hc.interval_seconds),
            timeout: timing.timeout(hc.timeout_seconds),
            healthy_threshold: u32::try_from(hc.healthy_threshold).unwrap_or(5),
            unhealthy_threshold: u32::try_from(hc.unhealthy_threshold).unwrap_or(2),
            matcher: hc.matcher_http_code.clone().unwrap_or_else(|| "200".into()),
        },
        deregistration_delay: timing.deregistration_delay(tg.deregistration_delay_seconds()),
        in_use,
        targets,
    }
}

/// When the snapshot next changes by itself (a load balancer turning active, a draining
/// registration due for removal), in ms since the epoch.
pub fn next_due_ms(stored: &Stored, timing: Timing, now_ms: i64) -> Option<i64> {
    let activations = stored
        .load_balancers
        .iter()
        .filter(|lb| !lb.is_active(now_ms))
        .map(|lb| lb.created_ms + crate::elbv2::load_balancer::PROVISIONING_MS);
    let drains = stored.target_groups.iter().flat_map(|tg| {
        tg.targets.iter().filter_map(move |r| {
            r.deregistered_ms.map(|d| draining_deadline_ms(tg, d, timing) + DRAIN_GRACE_MS)
        })
    });
    activations.chain(drains).min()
}

/// One pass: removes registrations whose draining is long over, builds the snapshot, publishes it
/// if it changed. Returns when the next time-based change is due. Blocking (one store
/// transaction).
pub fn reconcile_once(cloud: &Cloud, address_map: &dyn AddressMap) -> Result<Option<i64>, ApiError> {
    let timing = Timing { fast: cloud.config.fast };
    let now_ms = now_ms();
    let stored = cloud.store.transaction(|tx| {
        let mut stored = Stored::read(tx)?;
        let regions: Vec<(String, TargetGroup)> = tx.list_all_regions::<TargetGroup>()?;
        for (region, mut tg) in regions {
            let before = tg.targets.len();
            let tg_ref = tg.clone();
            tg.targets.retain(|r| removal_ms(&tg_ref, r, timing).is_none_or(|t| t > now_ms));
            if tg.targets.len() != before {
                tracing::debug!(target_group = %tg.target_group_arn, "deregistration delay over");
                tx.put(&region, &tg)?;
                if let Some(s) =
                    stored.target_groups.iter_mut().find(|t| t.target_group_arn == tg.target_group_arn)
                {
                    *s = tg;
                }
            }
        }
        Ok::<_, ApiError>(stored)
    })?;
    let snapshot = build(&stored, address_map, timing, now_ms);
    publish(cloud, snapshot);
    forget_stale_health(cloud, &stored);
    Ok(next_due_ms(&stored, timing, now_ms))
}

/// Publishes `snapshot` if it differs from the current one (ignoring generations).
fn publish(cloud: &Cloud, mut snapshot: RoutingSnapshot) {
    cloud.live.routing.send_if_modified(|current| {
        snapshot.generation = current.generation;
        if **current == snapshot {
            return false;
        }
        snapshot.generation = current.generation + 1;
        tracing::debug!(generation = snapshot.generation, "routing snapshot published");
        *current = Arc::new(std::mem::take(&mut snapshot));
        true
    });
}

/// Drops health reports of registrations that no longer exist.
fn forget_stale_health(cloud: &Cloud, stored: &Stored) {
    let live: HashSet<TargetKey> = stored
        .target_groups
        .iter()
        .flat_map(|tg| {
            tg.targets.iter().map(|r| TargetKey {
                target_group_arn: tg.target_group_arn.clone(),
                id: r.id.clone(),
                port: r.port,
            })
        })
        .collect();
    if let Ok(mut m) = cloud.live.target_health.write() {
        m.retain(|k, _| live.contains(k));
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Runs the reconciler until `shutdown` resolves: a pass now, then on every store change and
/// whenever a time-based change is due.
pub async fn run(cloud: Arc<Cloud>, address_map: Arc<dyn AddressMap>, shutdown: impl Future<Output = ()>) {
    let mut changes = cloud.store.subscribe();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        changes.borrow_and_update();
        let (c, am) = (Arc::clone(&cloud), Arc::clone(&address_map));
        let due = match tokio::task::spawn_blocking(move || reconcile_once(&c, am.as_ref())).await {
            Ok(Ok(due)) => due,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "building the routing snapshot failed");
                Some(now_ms() + 1000)
            }
            Err(e) => {
                tracing::error!(error = %e, "the routing snapshot task failed");
                Some(now_ms() + 1000)
            }
        };
        let wait = due
            .map(|t| Duration::from_millis(u64::try_from(t - now_ms()).unwrap_or(0)))
            .unwrap_or(MAX_IDLE)
            .min(MAX_IDLE);
        tokio::select! {
            () = &mut shutdown => break,
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Applies one report of the data plane: a health change is recorded in [`crate::live::Live`]; a
/// drained target's registration is removed from the store (one transaction), so
/// [`target_group::is_registered`] turns false. Blocking: call it from a blocking thread.
pub fn apply_data_plane_event(cloud: &Cloud, ev: DataPlaneEvent) {
    match ev {
        DataPlaneEvent::Health { key, health } => cloud.live.record_health(key, health),
        DataPlaneEvent::Drained { key } => {
            let region =
                crate::arn::region(&key.target_group_arn).unwrap_or(&cloud.config.default_region).to_string();
            let done = cloud.transact(&region, |cx| {
                target_group::finish_draining(cx, &key.target_group_arn, &key.id, key.port)
            });
            match done {
                Ok(true) => tracing::debug!(target = %key.id, port = key.port, "target drained"),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, target = %key.id, "recording a drained target failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use model::network::LoopbackMap;

    use super::*;
    use crate::elbv2::action::{FixedResponseConfig, ForwardConfig, TargetGroupTuple};
    use crate::elbv2::load_balancer::Zone;
    use crate::elbv2::rule::{RuleCondition, ValuesConfig};
    use crate::elbv2::target_group::HealthCheck;

    const LB: &str =
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/ecs-alb/0123456789abcdef";
    const L: &str =
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/ecs-alb/0123456789abcdef/aaaa";
    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/product-svc-tg/bbbb";
    const TG2: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/idle-tg/cccc";

    fn lb(created_ms: i64) -> LoadBalancer {
        LoadBalancer {
            load_balancer_arn: LB.into(),
            load_balancer_name: "ecs-alb".into(),
            dns_name: "ecs-alb-1234567890.us-east-1.elb.localhost".into(),
            canonical_hosted_zone_id: "Z35SXDOTRQ7X7K".into(),
            created_time: String::new(),
            created_ms,
            scheme: "internet-facing".into(),
            vpc_id: "vpc-1".into(),
            lb_type: "application".into(),
            ip_address_type: "ipv4".into(),
            zones: vec![Zone {
                subnet_id: "s".into(),
                zone_name: "us-east-1a".into(),
                network_interface_id: "eni".into(),
            }],
            security_groups: vec![],
            attributes: attributes::load_balancer_defaults(),
            tags: vec![],
        }
    }

    fn fixed_404() -> Action {
        Action {
            kind: "fixed-response".into(),
            target_group_arn: None,
            order: Some(1),
            redirect_config: None,
            fixed_response_config: Some(FixedResponseConfig {
                message_body: Some("Not Found".into()),
                status_code: "404".into(),
                content_type: Some("text/plain".into()),
            }),
            forward_config: None,
        }
    }

    fn forward(arn: &str) -> Action {
        Action {
            kind: "forward".into(),
            target_group_arn: Some(arn.into()),
            order: Some(1),
            redirect_config: None,
            fixed_response_config: None,
            forward_config: Some(ForwardConfig {
                target_groups: vec![TargetGroupTuple { target_group_arn: Some(arn.into()), weight: Some(1) }],
                target_group_stickiness_config: None,
            }),
        }
    }

    fn rule(arn: &str, priority: Option<u32>, actions: Vec<Action>, path: Option<&str>) -> Rule {
        Rule {
            rule_arn: arn.into(),
            listener_arn: L.into(),
            load_balancer_arn: LB.into(),
            priority,
            conditions: path
                .map(|p| {
                    vec![RuleCondition {
                        field: Some("path-pattern".into()),
                        values: Some(vec![p.into()]),
                        path_pattern_config: Some(ValuesConfig { values: vec![p.into()] }),
                        ..RuleCondition::default()
                    }]
                })
                .unwrap_or_default(),
            actions,
            tags: vec![],
        }
    }

    fn tg(arn: &str, targets: Vec<Registration>) -> TargetGroup {
        TargetGroup {
            target_group_arn: arn.into(),
            target_group_name: "product-svc-tg".into(),
            target_type: "ip".into(),
            protocol: Some("HTTP".into()),
            protocol_version: Some("HTTP1".into()),
            port: Some(3000),
            vpc_id: Some("vpc-1".into()),
            ip_address_type: "ipv4".into(),
            health_check: HealthCheck {
                enabled: true,
                protocol: Some("HTTP".into()),
                port: "traffic-port".into(),
                path: Some("/health".into()),
                interval_seconds: 10,
                timeout_seconds: 5,
                healthy_threshold: 3,
                unhealthy_threshold: 2,
                matcher_http_code: Some("200".into()),
                matcher_grpc_code: None,
            },
            attributes: attributes::target_group_defaults("ip"),
            tags: vec![],
            targets,
        }
    }

    fn reg(ip: &str, deregistered_ms: Option<i64>) -> Registration {
        Registration {
            id: ip.into(),
            port: 3000,
            availability_zone: Some("us-east-1a".into()),
            registered_ms: 0,
            deregistered_ms,
            drained: false,
        }
    }

    fn stored(created_ms: i64) -> Stored {
        Stored {
            load_balancers: vec![lb(created_ms)],
            listeners: vec![Listener {
                listener_arn: L.into(),
                load_balancer_arn: LB.into(),
                port: 80,
                protocol: "HTTP".into(),
                ssl_policy: None,
                certificates: vec![],
                alpn_policy: vec![],
                attributes: vec![],
                tags: vec![],
            }],
            rules: vec![
                rule("default", None, vec![fixed_404()], None),
                rule("r2", Some(2), vec![forward(TG)], Some("/user-svc*")),
                rule("r1", Some(1), vec![forward(TG)], Some("/product-svc*")),
            ],
            target_groups: vec![
                tg(TG, vec![reg("10.0.2.17", None), reg("10.0.3.4", Some(5_000))]),
                tg(TG2, vec![reg("10.0.2.18", None)]),
            ],
        }
    }

    #[test]
    fn provisioning_load_balancers_are_not_routed() {
        let s = build(&stored(10_000), &LoopbackMap, Timing { fast: false }, 10_500);
        assert!(s.load_balancers.is_empty());
        assert!(s.target_groups.iter().all(|t| !t.in_use));
        assert_eq!(next_due_ms(&stored(10_000), Timing { fast: false }, 10_500), Some(11_000));
    }

    #[test]
    fn active_load_balancers_route_in_priority_order_default_last() {
        let s = build(&stored(0), &LoopbackMap, Timing { fast: false }, 10_000);
        assert_eq!(s.load_balancers.len(), 1);
        let lb = &s.load_balancers[0];
        assert_eq!(lb.dns_name, "ecs-alb-1234567890.us-east-1.elb.localhost");
        assert_eq!(lb.idle_timeout, Duration::from_secs(60));
        assert_eq!(lb.xff_mode, routing::XffMode::Append);
        let rules = &lb.listeners[0].rules;
        assert_eq!(rules.iter().map(|r| r.priority).collect::<Vec<_>>(), vec![Some(1), Some(2), None]);
        assert_eq!(rules[0].conditions, vec![routing::Condition::PathPattern(vec!["/product-svc*".into()])]);
        assert_eq!(
            rules[2].action,
            routing::Action::FixedResponse {
                status_code: 404,
                content_type: Some("text/plain".into()),
                body: Some("Not Found".into())
            }
        );
        match &rules[0].action {
            routing::Action::Forward(f) => {
                assert_eq!(f.target_groups, vec![routing::WeightedTargetGroup { arn: TG.into(), weight: 1 }]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn target_groups_carry_mapped_addresses_draining_and_use() {
        let s = build(&stored(0), &LoopbackMap, Timing { fast: false }, 10_000);
        let used = s.target_group(TG).unwrap();
        assert!(used.in_use);
        assert!(!s.target_group(TG2).unwrap().in_use);
        assert_eq!(used.targets[0].addr, "127.0.2.17:3000".parse().unwrap());
        assert_eq!(used.targets[0].draining_deadline_ms, None);
        // Deregistered at 5 s with the default 300 s delay.
        assert_eq!(used.targets[1].draining_deadline_ms, Some(305_000));
        assert_eq!(used.health_check.interval, Duration::from_secs(10));
        assert_eq!(used.health_check.timeout, Duration::from_secs(5));
        assert_eq!(used.health_check.path, "/health");
        assert_eq!(used.health_check.port, None);
        assert_eq!(used.deregistration_delay, Duration::from_secs(300));
        assert_eq!(next_due_ms(&stored(0), Timing { fast: false }, 10_000), Some(305_000 + DRAIN_GRACE_MS));
    }

    #[test]
    fn fast_shortens_what_the_data_plane_uses() {
        let s = build(&stored(0), &LoopbackMap, Timing { fast: true }, 10_000);
        let used = s.target_group(TG).unwrap();
        assert_eq!(used.health_check.interval, Duration::from_secs(1));
        assert_eq!(used.health_check.timeout, Duration::from_secs(1));
        assert_eq!(used.health_check.healthy_threshold, 3, "thresholds are kept");
        assert_eq!(used.deregistration_delay, Duration::from_secs(2));
        assert_eq!(used.targets[1].draining_deadline_ms, Some(7_000));
        let t = Timing { fast: true };
        assert_eq!(t.deregistration_delay(0), Duration::ZERO);
        assert_eq!(t.interval(30), Duration::from_secs(1));
    }

    #[test]
    fn drained_targets_leave_the_data_plane_and_the_store_at_their_deadline() {
        let mut s = stored(0);
        s.target_groups[0].targets[1].drained = true;
        let snap = build(&s, &LoopbackMap, Timing { fast: false }, 10_000);
        assert_eq!(snap.target_group(TG).unwrap().targets.len(), 1, "a drained target is not routed");
        let tg = &s.target_groups[0];
        assert_eq!(removal_ms(tg, &tg.targets[1], Timing { fast: false }), Some(305_000));
        assert_eq!(removal_ms(tg, &tg.targets[0], Timing { fast: false }), None);
        s.target_groups[0].targets[1].drained = false;
        let tg = &s.target_groups[0];
        assert_eq!(removal_ms(tg, &tg.targets[1], Timing { fast: false }), Some(305_000 + DRAIN_GRACE_MS));
    }

    #[test]
    fn the_same_resources_build_the_same_snapshot() {
        let a = build(&stored(0), &LoopbackMap, Timing { fast: false }, 10_000);
        let b = build(&stored(0), &LoopbackMap, Timing { fast: false }, 20_000);
        assert_eq!(a, b);
    }
}
