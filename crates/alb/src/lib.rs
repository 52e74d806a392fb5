//! berth's data plane: an HTTP/1.1 reverse proxy that behaves like an AWS Application Load
//! Balancer, fed by the control plane's routing snapshots.
//!
//! # Boundary
//! [`start`] (or [`start_serving`], to serve on thread-per-core workers) consumes a
//! `watch::Receiver<Arc<RoutingSnapshot>>` and emits
//! [`DataPlaneEvent`]s (target health changes, drained targets) on an `mpsc::UnboundedSender`.
//! It never reads the store and knows no AWS API: everything it serves comes from the snapshot,
//! and everything it learns goes back as events. Where each listener really listens is published
//! as [`ListenerBinding`]s ([`DataPlaneHandle::bindings`]).
//!
//! # Layout
//! - [`compiled`]: a snapshot compiled once into the immutable routing [`compiled::Table`]
//!   (pre-parsed globs, ordered rules, per-port load balancers, target groups with their targets).
//! - [`rules`]: pure rule matching (glob, the six condition types, first match wins).
//! - [`balance`]: pure target selection (weighted groups, round robin, least outstanding
//!   requests, fail-open) and the per-target atomics it reads.
//! - [`health`]: the pure threshold state machine, the status matcher, the probe and the tasks
//!   that check targets and watch draining ones.
//! - [`headers`]: ALB's request header rewriting and limits (pure).
//! - [`proxy`]: the hyper server connection and the life of a request.
//! - [`upstream`]: the target side: an HTTP/1.1 client whose connection belongs to the request
//!   using it, and a keep-alive pool per target.
//! - [`error`]: failures by source (downstream / upstream / internal) and the responses the load
//!   balancer writes itself (error pages, fixed-response, redirect).
//! - [`listener`]: listening sockets per listener port, and their bindings.
//! - [`workers`]: where connections are served: the caller's runtime, or thread-per-core workers.
//!
//! # Architecture invariants
//! - A request is routed only to healthy targets, or, when a group has none, to all its targets
//!   that are not draining, `initial` ones included (ALB fail-open). A draining target never gets a new request; its
//!   in-flight requests finish.
//! - One immutable compiled table per snapshot, swapped whole: a request sees one snapshot from
//!   start to end.
//! - Routing takes no lock: one atomic load of the table, atomics for round robin, health class
//!   and in-flight counts. The only lock a request touches is its target's connection pool, a
//!   push/pop under a mutex never held across an `.await`; the others are in the health tasks and
//!   the applier.
//! - Health survives snapshot swaps for targets still registered (keyed by `TargetKey`), and a
//!   health event is sent only when a target's state, reason or description changes.
//! - No input panics: every request, header and snapshot value has a defined answer.
//!
//! # Behaviour choices where AWS is silent or berth is local
//! - `Host` is forwarded as ALB does by default: the client's host, with the listener port (as
//!   the API shows it) appended unless it is 80 or 443; `preserve_host_header` keeps it as sent.
//!   `X-Forwarded-Port` is also the API's port, not the host port berth really listens on.
//! - Several load balancers on one port: the one whose DNS name is the Host (without port,
//!   case-insensitive); a lone one answers any Host; otherwise a plain-text 404 lists the names.
//! - Fixed responses get `; charset=utf-8` appended to the configured content type (unless it
//!   names a charset), and `text/plain; charset=utf-8` when none is configured. Redirects leave out the port when it is the
//!   protocol's default; `#{path}` includes its leading `/` and a `/` written just before it in
//!   the template is not doubled (AWS's default path is `/#{path}`).
//! - A rule with a weighted forward picks groups deterministically (request `n` of every
//!   `sum(weights)`), not randomly: same proportions, reproducible tests.
//! - Health: a target is probed by its own task on its own clock; health checks of `HTTPS`
//!   groups speak plain HTTP. Groups with checks disabled report `unavailable` and are routed to
//!   like healthy ones.
//! - Malformed requests that hyper itself rejects get hyper's bare 400/431/414, not ALB's page;
//!   requests within hyper's limits but over ALB's (16 KiB line or header, 64 KiB of headers) get
//!   ALB's 400 page.

#![forbid(unsafe_code)]

pub mod balance;
pub mod compiled;
pub mod error;
pub mod headers;
pub mod health;
pub mod listener;
pub mod proxy;
pub mod rules;
pub mod upstream;
pub mod workers;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use model::health::{DataPlaneEvent, TargetKey};
use model::routing::RoutingSnapshot;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use error::AlbError;
pub use listener::{BoundLoadBalancer, ListenerBinding};
pub use workers::Serving;

use crate::balance::TargetRt;
use crate::health::Supervisor;
use crate::listener::Listeners;
use crate::proxy::Shared;
use crate::workers::Workers;

/// How the data plane listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlbConfig {
    /// Address every listener binds (127.0.0.1).
    pub bind_ip: IpAddr,
    pub ports: PortMapping,
}

impl Default for AlbConfig {
    fn default() -> Self {
        Self { bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST), ports: PortMapping::PreferExact }
    }
}

/// Which host port serves a listener port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortMapping {
    /// The listener's own port; failing to bind it is an error.
    Exact,
    /// The listener's own port when possible, else an ephemeral one (logged).
    PreferExact,
    /// Always an ephemeral port (tests running in parallel).
    Ephemeral,
    /// The listener's port plus this offset (80 → 8080 with 8000).
    Offset(u16),
}

/// A running data plane.
#[derive(Debug)]
pub struct DataPlaneHandle {
    bindings: watch::Receiver<Vec<ListenerBinding>>,
    task: JoinHandle<()>,
}

impl DataPlaneHandle {
    /// Where every listener port is served right now.
    pub fn bindings(&self) -> Vec<ListenerBinding> {
        self.bindings.borrow().clone()
    }

    /// Follows [`Self::bindings`] as snapshots open and close ports.
    pub fn subscribe_bindings(&self) -> watch::Receiver<Vec<ListenerBinding>> {
        self.bindings.clone()
    }

    /// Waits until the data plane has stopped (after the shutdown future resolved).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// Starts the data plane, serving connections on the caller's runtime: applies the current
/// snapshot (its listener ports are bound before this returns, so `PortMapping::Exact` fails
/// here), then follows `snapshots` until `shutdown` resolves. When the snapshot sender goes away,
/// the last snapshot keeps being served.
pub async fn start(
    config: AlbConfig,
    snapshots: watch::Receiver<Arc<RoutingSnapshot>>,
    events: mpsc::UnboundedSender<DataPlaneEvent>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<DataPlaneHandle, AlbError> {
    start_serving(config, Serving::CallerRuntime, snapshots, events, shutdown).await
}

/// [`start`], choosing where client connections are served: [`Serving::Workers`] runs them on the
/// data plane's own thread-per-core workers (the fast configuration, see [`workers`]). The
/// control loop and health checks stay on the caller's runtime either way.
pub async fn start_serving(
    config: AlbConfig,
    serving: Serving,
    mut snapshots: watch::Receiver<Arc<RoutingSnapshot>>,
    events: mpsc::UnboundedSender<DataPlaneEvent>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<DataPlaneHandle, AlbError> {
    let shared = Arc::new(Shared::new());
    let workers = match serving {
        Serving::CallerRuntime => None,
        Serving::Workers(n) => Some(Workers::start(n, shared.live.clone()).map_err(AlbError::Workers)?),
    };
    let handles = workers.as_ref().map(|w| w.handles.clone()).unwrap_or_default();
    let (conn_stop_tx, conn_stop_rx) = watch::channel(false);
    let mut plane = Plane {
        shared: shared.clone(),
        registry: HashMap::new(),
        supervisor: Supervisor::default(),
        listeners: Listeners::new(config, shared, conn_stop_rx, handles),
        events,
    };
    let first = snapshots.borrow_and_update().clone();
    let bindings = match plane.apply(&first, true) {
        Ok(bindings) => bindings,
        Err(e) => {
            plane.supervisor.stop();
            plane.listeners.close_all();
            if let Some(workers) = workers {
                workers.stop().await;
            }
            return Err(e);
        }
    };
    let (bindings_tx, bindings_rx) = watch::channel(bindings);

    let task = tokio::spawn(async move {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut following = true;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                changed = snapshots.changed(), if following => {
                    if changed.is_err() {
                        following = false;
                        continue;
                    }
                    let snapshot = snapshots.borrow_and_update().clone();
                    if let Ok(bindings) = plane.apply(&snapshot, false) {
                        bindings_tx.send_if_modified(|current| {
                            let changed = *current != bindings;
                            *current = bindings;
                            changed
                        });
                    }
                }
            }
        }
        plane.supervisor.stop();
        plane.listeners.close_all();
        let _ = conn_stop_tx.send(true);
        bindings_tx.send_replace(Vec::new());
        if let Some(workers) = workers {
            workers.stop().await;
        }
        tracing::info!("data plane stopped");
    });
    Ok(DataPlaneHandle { bindings: bindings_rx, task })
}

/// The applier: owns everything that changes per snapshot.
struct Plane {
    shared: Arc<Shared>,
    /// Target runtimes by key, carried from table to table.
    registry: HashMap<TargetKey, Arc<TargetRt>>,
    supervisor: Supervisor,
    listeners: Listeners,
    events: mpsc::UnboundedSender<DataPlaneEvent>,
}

impl Plane {
    fn apply(&mut self, snapshot: &RoutingSnapshot, strict: bool) -> Result<Vec<ListenerBinding>, AlbError> {
        let table = Arc::new(compiled::build(snapshot, &mut self.registry));
        self.supervisor.apply(snapshot, &table, &self.events);
        // Publish the table before opening new ports, so their first request finds its routes.
        self.shared.table.store(table.clone());
        self.listeners.apply(&table, strict)?;
        tracing::debug!(generation = snapshot.generation, ports = table.ports.len(), "snapshot applied");
        Ok(self.listeners.bindings(&table))
    }
}
