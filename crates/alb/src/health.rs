//! Health checking: the pure threshold state machine ([`observe`]), the status-code matcher, the
//! probe itself, and the background loops that drive them.
//!
//! AWS semantics (anchors §4.4, target-group-health-checks):
//! - a new target is `initial` (`Elb.RegistrationInProgress` until its first check completes, then
//!   `Elb.InitialHealthChecking`); one passing check makes it `healthy`, `unhealthy_threshold`
//!   consecutive failures make it `unhealthy`;
//! - `healthy` → `unhealthy` after `unhealthy_threshold` consecutive failures, `unhealthy` →
//!   `healthy` after `healthy_threshold` consecutive successes;
//! - each check opens a new connection and closes it afterwards, sends
//!   `User-Agent: ELB-HealthChecker/2.0`, and fails on a code outside the matcher
//!   (`Target.ResponseCodeMismatch`), on its timeout (`Target.Timeout`) or on a refused/reset
//!   connection (`Target.FailedHealthChecks`);
//! - targets of a group no rule forwards to are `unused` / `Target.NotInUse` and are not probed;
//!   draining targets are `draining` / `Target.DeregistrationInProgress` and are not probed.
//!
//! One task per probed target (rather than one per group): adding or removing a target never
//! resets the schedule of its neighbours, and each target is checked on its own clock as AWS does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use model::health::{DataPlaneEvent, TargetHealth, TargetHealthReason, TargetHealthState};
use model::routing::HealthCheck;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio::time::{MissedTickBehavior, interval, timeout};

use crate::balance::{Class, TargetRt};

/// The result of one health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(Failure),
}

/// Why a health check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The target answered with a code outside the matcher.
    Status(u16),
    /// No answer within the check's timeout.
    Timeout,
    /// Connection refused, reset or closed before a response.
    Connection,
}

/// Where a target stands in the threshold state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Registered, no check completed yet.
    #[default]
    Registering,
    /// At least one check completed, neither threshold reached.
    Initial,
    Healthy,
    Unhealthy,
}

/// The health-check state of one target: a value, advanced by [`observe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fsm {
    pub phase: Phase,
    /// Consecutive passing checks.
    pub passes: u32,
    /// Consecutive failing checks.
    pub failures: u32,
    /// The most recent failure, which names the unhealthy reason.
    pub last_failure: Option<Failure>,
}

/// The two consecutive-check thresholds of a target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub healthy: u32,
    pub unhealthy: u32,
}

/// Advances the state machine by one check outcome. Pure.
pub fn observe(fsm: Fsm, outcome: Outcome, t: Thresholds) -> Fsm {
    match outcome {
        Outcome::Pass => {
            let passes = fsm.passes.saturating_add(1);
            let phase = match fsm.phase {
                // "After your target is registered, it must pass one health check to be
                // considered healthy."
                Phase::Registering | Phase::Initial | Phase::Healthy => Phase::Healthy,
                Phase::Unhealthy if passes >= t.healthy => Phase::Healthy,
                Phase::Unhealthy => Phase::Unhealthy,
            };
            let last_failure = if phase == Phase::Healthy { None } else { fsm.last_failure };
            Fsm { phase, passes, failures: 0, last_failure }
        }
        Outcome::Fail(failure) => {
            let failures = fsm.failures.saturating_add(1);
            let reached = failures >= t.unhealthy;
            let phase = match fsm.phase {
                Phase::Registering | Phase::Initial if reached => Phase::Unhealthy,
                Phase::Registering | Phase::Initial => Phase::Initial,
                Phase::Healthy if reached => Phase::Unhealthy,
                Phase::Healthy => Phase::Healthy,
                Phase::Unhealthy => Phase::Unhealthy,
            };
            Fsm { phase, passes: 0, failures, last_failure: Some(failure) }
        }
    }
}

impl Fsm {
    /// What `DescribeTargetHealth` shows for this state.
    pub fn health(&self) -> TargetHealth {
        match self.phase {
            Phase::Registering => with_reason(
                TargetHealthState::Initial,
                TargetHealthReason::RegistrationInProgress,
                "Target registration is in progress",
            ),
            Phase::Initial => with_reason(
                TargetHealthState::Initial,
                TargetHealthReason::InitialHealthChecking,
                "Initial health checks in progress",
            ),
            Phase::Healthy => TargetHealth::healthy(),
            Phase::Unhealthy => match self.last_failure {
                Some(Failure::Status(code)) => TargetHealth {
                    state: TargetHealthState::Unhealthy,
                    reason: Some(TargetHealthReason::ResponseCodeMismatch),
                    description: Some(format!("Health checks failed with these codes: [{code}]")),
                },
                Some(Failure::Timeout) => with_reason(
                    TargetHealthState::Unhealthy,
                    TargetHealthReason::Timeout,
                    "Request timed out",
                ),
                Some(Failure::Connection) | None => with_reason(
                    TargetHealthState::Unhealthy,
                    TargetHealthReason::FailedHealthChecks,
                    "Health checks failed",
                ),
            },
        }
    }
}

fn with_reason(state: TargetHealthState, reason: TargetHealthReason, text: &str) -> TargetHealth {
    TargetHealth { state, reason: Some(reason), description: Some(text.to_owned()) }
}

/// `unused / Target.NotInUse`.
pub fn not_in_use() -> TargetHealth {
    with_reason(
        TargetHealthState::Unused,
        TargetHealthReason::NotInUse,
        "Target group is not configured to receive traffic from the load balancer",
    )
}

/// `draining / Target.DeregistrationInProgress`.
pub fn draining() -> TargetHealth {
    with_reason(
        TargetHealthState::Draining,
        TargetHealthReason::DeregistrationInProgress,
        "Target deregistration is in progress",
    )
}

/// `unavailable / Target.HealthCheckDisabled`.
pub fn disabled() -> TargetHealth {
    with_reason(
        TargetHealthState::Unavailable,
        TargetHealthReason::HealthCheckDisabled,
        "Health checks are disabled",
    )
}

/// The balancer's view of a health state.
pub fn class_of(health: &TargetHealth) -> Class {
    match health.state {
        TargetHealthState::Healthy | TargetHealthState::Unavailable => Class::Healthy,
        TargetHealthState::Draining => Class::Draining,
        TargetHealthState::Initial | TargetHealthState::Unhealthy | TargetHealthState::Unused => {
            Class::NotHealthy
        }
    }
}

/// The success codes of a health check (`200`, `200,202`, `200-299`), parsed once per snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMatcher {
    ranges: Vec<(u16, u16)>,
}

impl StatusMatcher {
    /// Parses a matcher; pieces that do not parse are ignored, and a matcher with no valid piece
    /// means AWS's default `200`.
    pub fn parse(spec: &str) -> Self {
        let ranges: Vec<(u16, u16)> = spec
            .split(',')
            .filter_map(|piece| {
                let piece = piece.trim();
                match piece.split_once('-') {
                    Some((lo, hi)) => {
                        let (lo, hi) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
                        (lo <= hi).then_some((lo, hi))
                    }
                    None => piece.parse().ok().map(|code| (code, code)),
                }
            })
            .collect();
        if ranges.is_empty() { Self { ranges: vec![(200, 200)] } } else { Self { ranges } }
    }

    pub fn accepts(&self, code: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// A target group's health-check settings, compiled once per snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    pub enabled: bool,
    /// TCP: connect only. HTTP and HTTPS are both spoken as plain HTTP locally.
    pub tcp: bool,
    /// `None`: the target's traffic port.
    pub port: Option<u16>,
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub thresholds: Thresholds,
    pub matcher: StatusMatcher,
}

impl CheckConfig {
    pub fn compile(hc: &HealthCheck) -> Self {
        Self {
            enabled: hc.enabled,
            tcp: hc.protocol.eq_ignore_ascii_case("TCP"),
            port: hc.port,
            path: if hc.path.is_empty() { "/".to_owned() } else { hc.path.clone() },
            // A zero interval would spin; AWS's minimum is seconds, quick-loop mode is ms.
            interval: hc.interval.max(Duration::from_millis(10)),
            timeout: hc.timeout.max(Duration::from_millis(1)),
            thresholds: Thresholds {
                healthy: hc.healthy_threshold.max(1),
                unhealthy: hc.unhealthy_threshold.max(1),
            },
            matcher: StatusMatcher::parse(&hc.matcher),
        }
    }

    /// Where a target's checks go.
    pub fn check_addr(&self, target: &TargetRt) -> SocketAddr {
        SocketAddr::new(target.addr.ip(), self.port.unwrap_or(target.addr.port()))
    }
}

/// Runs one health check against `addr`; `host` is the Host header (ALB sends the target's own
/// IP and the check port, which for berth is the VPC address, not the loopback one).
pub async fn probe(addr: SocketAddr, host: &str, cfg: &CheckConfig) -> Outcome {
    match timeout(cfg.timeout, probe_inner(addr, host, cfg)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Fail(Failure::Timeout),
    }
}

async fn probe_inner(addr: SocketAddr, host: &str, cfg: &CheckConfig) -> Outcome {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return Outcome::Fail(Failure::Connection);
    };
    if cfg.tcp {
        return Outcome::Pass;
    }
    let _ = stream.set_nodelay(true);
    let Ok((mut sender, conn)) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
    else {
        return Outcome::Fail(Failure::Connection);
    };
    let request = Request::get(cfg.path.as_str())
        .header(header::HOST, host)
        .header(header::USER_AGENT, "ELB-HealthChecker/2.0")
        .header(header::CONNECTION, "close")
        .body(Empty::new());
    let Ok(request) = request else {
        return Outcome::Fail(Failure::Connection);
    };
    // The connection future drives the socket; the response head arrives on `sender`. With
    // `Connection: close` the connection may finish in the same poll as the response, so when it
    // ends first the response future still decides. Dropping both closes the connection, as ALB
    // does after each check.
    let mut conn = std::pin::pin!(conn);
    let mut response = std::pin::pin!(sender.send_request(request));
    let response = tokio::select! {
        biased;
        response = &mut response => response,
        _ = &mut conn => response.await,
    };
    match response {
        Ok(resp) if cfg.matcher.accepts(resp.status().as_u16()) => Outcome::Pass,
        Ok(resp) => Outcome::Fail(Failure::Status(resp.status().as_u16())),
        Err(_) => Outcome::Fail(Failure::Connection),
    }
}

/// Records `health` as the target's current state: updates the class the balancer reads and
/// emits [`DataPlaneEvent::Health`] when it differs from what was last reported.
pub fn publish(target: &TargetRt, health: TargetHealth, events: &UnboundedSender<DataPlaneEvent>) {
    let class = class_of(&health);
    target.set_class(class);
    let mut status = target.lock_status();
    if status.reported.as_ref() != Some(&health) {
        status.reported = Some(health.clone());
        drop(status);
        let _ = events.send(DataPlaneEvent::Health { key: target.key.clone(), health });
    }
}

/// Checks `target` every `cfg.interval` until aborted, publishing every state change.
pub async fn check_loop(
    target: Arc<TargetRt>,
    cfg: Arc<CheckConfig>,
    events: UnboundedSender<DataPlaneEvent>,
) {
    let mut ticker = interval(cfg.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let addr = cfg.check_addr(&target);
    let host = format!("{}:{}", target.key.id, addr.port());
    loop {
        ticker.tick().await;
        let outcome = probe(addr, &host, &cfg).await;
        let health = {
            let mut status = target.lock_status();
            status.fsm = observe(status.fsm, outcome, cfg.thresholds);
            status.fsm.health()
        };
        tracing::trace!(target = %target.addr, ?outcome, state = health.state.as_str(), "health check");
        publish(&target, health, &events);
    }
}

/// Waits until a draining target has no request in flight or its deadline (ms since the epoch)
/// passes, then emits [`DataPlaneEvent::Drained`] once.
pub async fn drain_watch(target: Arc<TargetRt>, deadline_ms: u64, events: UnboundedSender<DataPlaneEvent>) {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let deadline = tokio::time::Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms));
    let idle = async {
        loop {
            // Register interest before looking at the count, so a request finishing in between
            // still wakes us.
            let notified = target.drained.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if target.outstanding() == 0 {
                return;
            }
            notified.await;
        }
    };
    tokio::select! {
        () = idle => {}
        () = tokio::time::sleep_until(deadline) => {}
    }
    let mut status = target.lock_status();
    if !status.drained_sent {
        status.drained_sent = true;
        drop(status);
        tracing::debug!(target = %target.addr, "drained");
        let _ = events.send(DataPlaneEvent::Drained { key: target.key.clone() });
    }
}

/// What background work a target needs.
#[derive(Debug, Clone, PartialEq)]
enum Work {
    Probe(Arc<CheckConfig>),
    Drain(u64),
}

struct Running {
    work: Work,
    target: Arc<TargetRt>,
    task: tokio::task::AbortHandle,
}

/// Keeps one probe task per checked target and one drain watcher per draining target, in step
/// with the snapshots, and sets every target's health state when a snapshot changes it.
#[derive(Default)]
pub(crate) struct Supervisor {
    running: std::collections::HashMap<model::health::TargetKey, Running>,
}

impl Supervisor {
    /// Brings states and tasks in line with `snapshot`, whose groups `table` compiled.
    pub fn apply(
        &mut self,
        snapshot: &model::routing::RoutingSnapshot,
        table: &crate::compiled::Table,
        events: &UnboundedSender<DataPlaneEvent>,
    ) {
        let mut wanted: Vec<(Arc<TargetRt>, Work)> = Vec::new();
        for tg in &snapshot.target_groups {
            let Some(group) = table.groups.get(&tg.arn) else { continue };
            for (target, rt) in tg.targets.iter().zip(&group.targets) {
                let previous = rt.lock_status().reported.as_ref().map(|h| h.state);
                if let Some(deadline) = target.draining_deadline_ms {
                    if previous != Some(TargetHealthState::Draining) {
                        rt.lock_status().drained_sent = false;
                    }
                    publish(rt, draining(), events);
                    if !rt.lock_status().drained_sent {
                        wanted.push((rt.clone(), Work::Drain(deadline)));
                    }
                    continue;
                }
                // Leaving draining, unused or disabled starts health checking afresh.
                let fresh = matches!(
                    previous,
                    None | Some(
                        TargetHealthState::Draining
                            | TargetHealthState::Unused
                            | TargetHealthState::Unavailable
                    )
                );
                if !tg.in_use {
                    publish(rt, not_in_use(), events);
                } else if !group.check.enabled {
                    publish(rt, disabled(), events);
                } else {
                    if fresh {
                        let health = {
                            let mut status = rt.lock_status();
                            status.fsm = Fsm::default();
                            status.fsm.health()
                        };
                        publish(rt, health, events);
                    }
                    wanted.push((rt.clone(), Work::Probe(group.check.clone())));
                }
            }
        }

        let mut next = std::collections::HashMap::with_capacity(wanted.len());
        for (target, work) in wanted {
            let key = target.key.clone();
            match self.running.remove(&key) {
                Some(running) if running.work == work && Arc::ptr_eq(&running.target, &target) => {
                    next.insert(key, running);
                }
                other => {
                    if let Some(old) = other {
                        old.task.abort();
                    }
                    let task = match &work {
                        Work::Probe(cfg) => {
                            tokio::spawn(check_loop(target.clone(), cfg.clone(), events.clone()))
                        }
                        Work::Drain(deadline) => {
                            tokio::spawn(drain_watch(target.clone(), *deadline, events.clone()))
                        }
                    };
                    next.insert(key, Running { work, target, task: task.abort_handle() });
                }
            }
        }
        for (_, stale) in self.running.drain() {
            stale.task.abort();
        }
        self.running = next;
    }

    /// Stops every probe and watcher.
    pub fn stop(&mut self) {
        for (_, running) in self.running.drain() {
            running.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds { healthy: 3, unhealthy: 2 };
    const PASS: Outcome = Outcome::Pass;
    const E500: Outcome = Outcome::Fail(Failure::Status(500));
    const TIMEOUT: Outcome = Outcome::Fail(Failure::Timeout);
    const REFUSED: Outcome = Outcome::Fail(Failure::Connection);

    fn run(outcomes: &[Outcome]) -> Vec<Phase> {
        let mut fsm = Fsm::default();
        outcomes
            .iter()
            .map(|&o| {
                fsm = observe(fsm, o, T);
                fsm.phase
            })
            .collect()
    }

    #[test]
    fn threshold_state_machine() {
        use Phase::*;
        let cases: Vec<(&str, Vec<Outcome>, Vec<Phase>)> = vec![
            ("one pass makes a new target healthy", vec![PASS], vec![Healthy]),
            ("new target: failures below threshold stay initial", vec![E500], vec![Initial]),
            ("new target: unhealthy after threshold", vec![E500, TIMEOUT], vec![Initial, Unhealthy]),
            ("new target: a pass after a failure is healthy", vec![E500, PASS], vec![Initial, Healthy]),
            ("healthy tolerates one failure", vec![PASS, E500, PASS], vec![Healthy, Healthy, Healthy]),
            (
                "healthy → unhealthy after threshold",
                vec![PASS, E500, E500],
                vec![Healthy, Healthy, Unhealthy],
            ),
            ("failures must be consecutive", vec![PASS, E500, PASS, E500], vec![Healthy; 4]),
            (
                "unhealthy → healthy needs healthy_threshold passes",
                vec![E500, E500, PASS, PASS, PASS],
                vec![Initial, Unhealthy, Unhealthy, Unhealthy, Healthy],
            ),
            (
                "passes must be consecutive",
                vec![E500, E500, PASS, PASS, REFUSED, PASS, PASS, PASS],
                vec![Initial, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy],
            ),
        ];
        for (name, outcomes, expected) in cases {
            assert_eq!(run(&outcomes), expected, "{name}");
        }
    }

    #[test]
    fn reasons_and_descriptions() {
        let health = |outcomes: &[Outcome]| {
            let mut fsm = Fsm::default();
            for &o in outcomes {
                fsm = observe(fsm, o, T);
            }
            let h = fsm.health();
            (h.state, h.reason.map(|r| r.code()), h.description)
        };
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            health(&[]),
            (
                TargetHealthState::Initial,
                Some("Elb.RegistrationInProgress"),
                s("Target registration is in progress")
            )
        );
        assert_eq!(
            health(&[E500]),
            (
                TargetHealthState::Initial,
                Some("Elb.InitialHealthChecking"),
                s("Initial health checks in progress")
            )
        );
        assert_eq!(
            health(&[E500, E500]),
            (
                TargetHealthState::Unhealthy,
                Some("Target.ResponseCodeMismatch"),
                s("Health checks failed with these codes: [500]")
            )
        );
        assert_eq!(
            health(&[E500, TIMEOUT]),
            (TargetHealthState::Unhealthy, Some("Target.Timeout"), s("Request timed out"))
        );
        assert_eq!(
            health(&[REFUSED, REFUSED]),
            (TargetHealthState::Unhealthy, Some("Target.FailedHealthChecks"), s("Health checks failed"))
        );
        // Still unhealthy while recovering: the reason stays the last failure's.
        assert_eq!(health(&[TIMEOUT, TIMEOUT, PASS]).1, Some("Target.Timeout"));
        assert_eq!(health(&[PASS]), (TargetHealthState::Healthy, None, None));
        assert_eq!(not_in_use().reason.map(|r| r.code()), Some("Target.NotInUse"));
        assert_eq!(draining().state, TargetHealthState::Draining);
        assert_eq!(class_of(&disabled()), Class::Healthy);
        assert_eq!(class_of(&draining()), Class::Draining);
        assert_eq!(class_of(&not_in_use()), Class::NotHealthy);
    }

    #[test]
    fn matcher_parsing() {
        // (spec, code, accepted)
        let cases = [
            ("200", 200, true),
            ("200", 201, false),
            ("200,202", 202, true),
            ("200,202", 201, false),
            ("200-299", 250, true),
            ("200-299", 300, false),
            ("200-299,404", 404, true),
            (" 200 , 302 ", 302, true),
            ("", 200, true),
            ("", 204, false),
            ("junk", 200, true),
            ("299-200", 200, true), // reversed range is ignored → default 200
            ("299-200", 250, false),
        ];
        for (spec, code, expected) in cases {
            assert_eq!(StatusMatcher::parse(spec).accepts(code), expected, "{spec:?} {code}");
        }
    }
}
