//! Load balancing in `berth up`: the ALB data plane ([`alb`]) fed by the control plane's routing
//! snapshots, the loops between them, and the listener bindings that `GET /_berth/load-balancers`
//! and `berth status` ([`crate::status`]) report as each listener's real address.
//!
//! # Ports
//! A listener's port is the one the AWS API shows (80 in the two-services example). Where berth
//! serves it is set by `berth up --listener-ports`:
//! - `prefer` (default): the listener's own port when berth may bind it, else an ephemeral port
//!   (logged);
//! - `exact`: the listener's own port or an error;
//! - `ephemeral`: always an ephemeral port (tests running in parallel);
//! - `offset:N`: the listener's port plus N (80 → 8080 with `offset:8000`).
//!
//! Everything binds 127.0.0.1. A load balancer's DNS name (`*.elb.localhost`) resolves to
//! loopback in curl and browsers, so `http://<dns name>:<real port>/` opens it. The real addresses
//! are in `GET /_berth/load-balancers` and `berth status` ([`crate::status`]).

use std::sync::Arc;

use anyhow::Context as _;
use cloud::Cloud;
use cloud::reconcile::routing_snapshot;
use model::health::DataPlaneEvent;
use model::network::{AddressMap, LoopbackMap};
use tokio::sync::{mpsc, watch};

pub use alb::PortMapping;

/// Parses `--listener-ports`: `exact`, `prefer`, `ephemeral` or `offset:N`.
pub fn parse_port_mapping(s: &str) -> Result<PortMapping, String> {
    match s {
        "exact" => Ok(PortMapping::Exact),
        "prefer" => Ok(PortMapping::PreferExact),
        "ephemeral" => Ok(PortMapping::Ephemeral),
        other => match other.strip_prefix("offset:").map(str::parse::<u16>) {
            Some(Ok(n)) => Ok(PortMapping::Offset(n)),
            _ => {
                Err(format!("'{other}' is not one of exact, prefer, ephemeral, offset:N (N from 0 to 65535)"))
            }
        },
    }
}

/// The running data plane and the loops that feed it.
pub struct LoadBalancing {
    stop: watch::Sender<bool>,
    bindings: watch::Receiver<Vec<alb::ListenerBinding>>,
    data_plane: alb::DataPlaneHandle,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Starts the data plane on 127.0.0.1 with `ports`, the routing snapshot reconciler and the
/// loop that applies the data plane's reports.
pub async fn start(cloud: Arc<Cloud>, ports: PortMapping) -> anyhow::Result<LoadBalancing> {
    let (stop, stop_rx) = watch::channel(false);
    let address_map: Arc<dyn AddressMap> = Arc::new(LoopbackMap);
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    // Build the first snapshot before the data plane binds, so listeners of a resumed state are
    // open when `berth up` says it is ready.
    {
        let (c, am) = (Arc::clone(&cloud), Arc::clone(&address_map));
        tokio::task::spawn_blocking(move || routing_snapshot::reconcile_once(&c, am.as_ref()))
            .await
            .context("building the first routing snapshot")?
            .map_err(|e| anyhow::anyhow!("building the first routing snapshot: {e}"))?;
    }
    let config = alb::AlbConfig { bind_ip: std::net::Ipv4Addr::LOCALHOST.into(), ports };
    // Client connections are served on the data plane's own thread-per-core workers, one per core
    // berth may run on (1 under `taskset -c N`): on the 2-core benchmark box they served more
    // requests at less CPU per request than berth's shared work-stealing runtime, and keep proxy
    // load off the API's threads (bench/README.md, "Tuning").
    let workers = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
    let data_plane = alb::start_serving(
        config,
        alb::Serving::Workers(workers),
        cloud.live.subscribe_routing(),
        events_tx,
        stopped(stop_rx.clone()),
    )
    .await
    .context("starting the load balancers' data plane")?;
    let bindings = data_plane.subscribe_bindings();
    let snapshots =
        tokio::spawn(routing_snapshot::run(Arc::clone(&cloud), address_map, stopped(stop_rx.clone())));
    let events = tokio::spawn(apply_events(cloud, events_rx, stopped(stop_rx)));
    Ok(LoadBalancing { stop, bindings, data_plane, loops: vec![snapshots, events] })
}

/// Applies the data plane's reports until `shutdown`: health in memory, drained targets in the
/// store (on a blocking thread).
async fn apply_events(
    cloud: Arc<Cloud>,
    mut events: mpsc::UnboundedReceiver<DataPlaneEvent>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let ev = tokio::select! {
            () = &mut shutdown => break,
            ev = events.recv() => match ev {
                Some(ev) => ev,
                None => break,
            },
        };
        match ev {
            DataPlaneEvent::Health { .. } => routing_snapshot::apply_data_plane_event(&cloud, ev),
            DataPlaneEvent::Drained { .. } => {
                let c = Arc::clone(&cloud);
                if let Err(e) =
                    tokio::task::spawn_blocking(move || routing_snapshot::apply_data_plane_event(&c, ev))
                        .await
                {
                    tracing::error!(error = %e, "applying a drained target failed");
                }
            }
        }
    }
}

impl LoadBalancing {
    /// Where the data plane serves each listener, as it changes.
    pub fn bindings(&self) -> watch::Receiver<Vec<alb::ListenerBinding>> {
        self.bindings.clone()
    }

    /// Stops the data plane (listeners close, in-flight requests finish) and the loops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.data_plane.stopped().await;
        for l in self.loops {
            let _ = l.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_port_flags() {
        assert_eq!(parse_port_mapping("prefer"), Ok(PortMapping::PreferExact));
        assert_eq!(parse_port_mapping("exact"), Ok(PortMapping::Exact));
        assert_eq!(parse_port_mapping("ephemeral"), Ok(PortMapping::Ephemeral));
        assert_eq!(parse_port_mapping("offset:8000"), Ok(PortMapping::Offset(8000)));
        assert!(parse_port_mapping("offset:x").is_err());
        assert!(parse_port_mapping("80").is_err());
    }
}
