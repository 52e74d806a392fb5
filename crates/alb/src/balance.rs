//! Target selection: weighted target groups, round robin, least outstanding requests, and the
//! live per-target state the selection reads.
//!
//! The selection functions are pure (they see a slice of candidates and a counter value) so they
//! are tested by tables. [`TargetRt`] is the only shared mutable state of the request path, and it
//! is made of atomics: the request path reads a target's routing class and in-flight count
//! without taking a lock.
//!
//! Which targets are eligible (ALB semantics, anchors §4.4):
//! - healthy targets (and targets whose group has health checks disabled) when there is any;
//! - otherwise every target that is not draining (fail-open: "the load balancer routes requests
//!   to all those targets, regardless of their health status");
//! - never a draining target; no eligible target at all is ALB's 503.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http::uri::Authority;
use model::health::{TargetHealth, TargetKey};
use model::routing::Algorithm;
use tokio::sync::Notify;

use crate::health::Fsm;

/// How the balancer treats a target, derived from its health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Class {
    /// `healthy`, or `unavailable` (health checks disabled: AWS routes to it).
    Healthy = 0,
    /// `initial`, `unhealthy` or `unused`: only used when no target of the group is healthy.
    NotHealthy = 1,
    /// `draining`: never gets a new request.
    Draining = 2,
}

impl Class {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Healthy,
            2 => Self::Draining,
            _ => Self::NotHealthy,
        }
    }
}

/// What selection needs to know about a candidate.
pub trait Candidate {
    fn class(&self) -> Class;
    fn in_flight(&self) -> usize;
}

/// Picks a target index for one request, or `None` (ALB's 503) when no target is eligible.
///
/// `n` is the group's request counter (round robin position, and the tie-breaker rotation for
/// least outstanding requests). Allocation-free: two passes over the candidates at most.
pub fn select<C: Candidate>(targets: &[C], algorithm: Algorithm, n: usize) -> Option<usize> {
    let healthy = targets.iter().filter(|t| t.class() == Class::Healthy).count();
    let eligible: fn(Class) -> bool =
        if healthy > 0 { |c| c == Class::Healthy } else { |c| c != Class::Draining };
    let count = if healthy > 0 { healthy } else { targets.iter().filter(|t| eligible(t.class())).count() };
    if count == 0 {
        return None;
    }
    match algorithm {
        Algorithm::RoundRobin => {
            let nth = n % count;
            targets.iter().enumerate().filter(|(_, t)| eligible(t.class())).nth(nth).map(|(i, _)| i)
        }
        Algorithm::LeastOutstandingRequests => {
            // Start the scan at a rotating offset so equal loads are spread, not always the first.
            let len = targets.len();
            let start = n % len;
            let mut best: Option<(usize, usize)> = None;
            for k in 0..len {
                let i = (start + k) % len;
                let t = &targets[i];
                if !eligible(t.class()) {
                    continue;
                }
                let load = t.in_flight();
                if best.is_none_or(|(_, b)| load < b) {
                    best = Some((i, load));
                }
            }
            best.map(|(i, _)| i)
        }
    }
}

/// Picks one of several weighted target groups: request `n` of every `total` goes to the group
/// whose cumulative weight range contains `n % total`. A weight of 0 gets nothing; `None` when
/// every weight is 0.
pub fn pick_weighted(weights: &[u32], n: usize) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut point = (n as u64) % total;
    for (i, &w) in weights.iter().enumerate() {
        let w = u64::from(w);
        if point < w {
            return Some(i);
        }
        point -= w;
    }
    None
}

/// One registered target as the data plane tracks it across snapshots.
///
/// Kept in a registry keyed by [`TargetKey`] and reused by every table built while the target is
/// registered, so health and in-flight counts survive snapshot swaps.
#[derive(Debug)]
pub struct TargetRt {
    pub key: TargetKey,
    /// Where traffic goes.
    pub addr: SocketAddr,
    /// `ip:port` of [`Self::addr`], ready for the upstream URI.
    pub authority: Authority,
    class: AtomicU8,
    in_flight: AtomicUsize,
    draining: AtomicBool,
    /// Woken when a draining target's last request finishes.
    pub(crate) drained: Notify,
    /// Idle keep-alive connections to this target.
    pub(crate) pool: crate::upstream::Pool,
    /// Health-check state and the last health reported to the control plane. Only the health
    /// tasks and the snapshot applier touch it, never the request path (std mutex: no `.await`
    /// while held).
    pub(crate) status: Mutex<TargetStatus>,
}

/// The checker's view of a target (behind [`TargetRt::status`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetStatus {
    pub fsm: Fsm,
    pub reported: Option<TargetHealth>,
    /// `Drained` was already sent for the current draining period.
    pub drained_sent: bool,
}

impl TargetRt {
    pub fn new(key: TargetKey, addr: SocketAddr) -> Self {
        let authority = Authority::try_from(addr.to_string().as_str())
            .unwrap_or_else(|_| Authority::from_static("invalid"));
        Self {
            key,
            addr,
            authority,
            class: AtomicU8::new(Class::NotHealthy as u8),
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            drained: Notify::new(),
            pool: crate::upstream::Pool::default(),
            status: Mutex::new(TargetStatus { fsm: Fsm::default(), reported: None, drained_sent: false }),
        }
    }

    pub fn set_class(&self, class: Class) {
        self.class.store(class as u8, Ordering::Release);
        self.draining.store(class == Class::Draining, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Requests (and WebSocket sessions) currently using this target.
    pub fn outstanding(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(crate) fn lock_status(&self) -> std::sync::MutexGuard<'_, TargetStatus> {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Candidate for Arc<TargetRt> {
    fn class(&self) -> Class {
        Class::from_u8(self.class.load(Ordering::Relaxed))
    }
    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Counts one request against a target for as long as it lives (through the response body, or
/// the WebSocket session).
#[derive(Debug)]
pub struct InFlight(Arc<TargetRt>);

impl InFlight {
    pub fn start(target: Arc<TargetRt>) -> Self {
        target.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(target)
    }

    pub fn target(&self) -> &Arc<TargetRt> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let before = self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        if before == 1 && self.0.is_draining() {
            self.0.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T(Class, usize);
    impl Candidate for T {
        fn class(&self) -> Class {
            self.0
        }
        fn in_flight(&self) -> usize {
            self.1
        }
    }
    use Class::{Draining as D, Healthy as H, NotHealthy as N};

    type Case = (&'static str, Vec<T>, Vec<Option<usize>>);

    fn picks(targets: &[T], algorithm: Algorithm, n: usize) -> Vec<Option<usize>> {
        (0..n).map(|i| select(targets, algorithm, i)).collect()
    }

    #[test]
    fn round_robin_cases() {
        let rr = Algorithm::RoundRobin;
        // (targets, expected picks for counters 0..len)
        let cases: Vec<Case> = vec![
            ("two healthy alternate", vec![T(H, 0), T(H, 0)], vec![Some(0), Some(1), Some(0), Some(1)]),
            ("unhealthy skipped", vec![T(H, 0), T(N, 0), T(H, 0)], vec![Some(0), Some(2), Some(0), Some(2)]),
            ("only healthy one", vec![T(N, 0), T(H, 0)], vec![Some(1), Some(1), Some(1)]),
            ("fail-open to all non-draining", vec![T(N, 0), T(N, 0)], vec![Some(0), Some(1), Some(0)]),
            ("fail-open never draining", vec![T(N, 0), T(D, 0), T(N, 0)], vec![Some(0), Some(2), Some(0)]),
            ("draining never while healthy", vec![T(D, 0), T(H, 0)], vec![Some(1), Some(1)]),
            ("all draining: 503", vec![T(D, 0), T(D, 0)], vec![None, None]),
            ("no targets: 503", vec![], vec![None, None]),
        ];
        for (name, targets, expected) in cases {
            assert_eq!(picks(&targets, rr, expected.len()), expected, "{name}");
        }
    }

    #[test]
    fn least_outstanding_cases() {
        let lor = Algorithm::LeastOutstandingRequests;
        let cases: Vec<Case> = vec![
            ("lowest load wins", vec![T(H, 5), T(H, 1), T(H, 3)], vec![Some(1), Some(1), Some(1)]),
            ("ties rotate", vec![T(H, 2), T(H, 2)], vec![Some(0), Some(1), Some(0)]),
            ("unhealthy ignored even if idle", vec![T(N, 0), T(H, 9)], vec![Some(1), Some(1)]),
            ("fail-open by load", vec![T(N, 4), T(N, 1)], vec![Some(1), Some(1)]),
            ("draining ignored", vec![T(D, 0), T(N, 7)], vec![Some(1), Some(1)]),
            ("nothing eligible", vec![T(D, 0)], vec![None]),
        ];
        for (name, targets, expected) in cases {
            assert_eq!(picks(&targets, lor, expected.len()), expected, "{name}");
        }
    }

    #[test]
    fn weighted_groups() {
        let count = |weights: &[u32], n: usize| {
            let mut hits = vec![0usize; weights.len()];
            for i in 0..n {
                if let Some(g) = pick_weighted(weights, i) {
                    hits[g] += 1;
                }
            }
            hits
        };
        assert_eq!(count(&[1], 4), vec![4]);
        assert_eq!(count(&[10, 20], 30), vec![10, 20]);
        assert_eq!(count(&[0, 5], 10), vec![0, 10]);
        assert_eq!(count(&[1, 0, 1], 4), vec![2, 0, 2]);
        assert_eq!(count(&[999, 1], 1000), vec![999, 1]);
        assert_eq!(pick_weighted(&[0, 0], 3), None);
        assert_eq!(pick_weighted(&[], 3), None);
    }

    #[test]
    fn in_flight_guard_counts() {
        let key = TargetKey { target_group_arn: "tg".into(), id: "10.0.0.1".into(), port: 80 };
        let t = Arc::new(TargetRt::new(
            key,
            "127.0.0.1:80".parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 80))),
        ));
        assert_eq!(t.authority.as_str(), "127.0.0.1:80");
        let a = InFlight::start(t.clone());
        let b = InFlight::start(t.clone());
        assert_eq!(t.outstanding(), 2);
        drop(a);
        drop(b);
        assert_eq!(t.outstanding(), 0);
    }
}
