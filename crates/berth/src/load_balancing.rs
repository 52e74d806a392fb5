//! Load balancing in `berth up`: the ALB data plane ([`alb`]) fed by the control plane's routing
//! snapshots, the loops between them, and `GET /_berth/load-balancers`, which tells where each
//! listener really listens.
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
//! loopback in curl and browsers, so `http://<dns name>:<real port>/` opens it.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use cloud::Cloud;
use cloud::elbv2::listener::Listener;
use cloud::elbv2::load_balancer::LoadBalancer;
use cloud::reconcile::routing_snapshot;
use model::health::DataPlaneEvent;
use model::network::{AddressMap, LoopbackMap};
use serde::Serialize;
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
    /// `GET /_berth/load-balancers`.
    pub fn router(&self, cloud: Arc<Cloud>) -> Router {
        Router::new()
            .route("/_berth/load-balancers", get(load_balancers))
            .with_state(Arc::new(StatusState { cloud, bindings: self.bindings.clone() }))
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

struct StatusState {
    cloud: Arc<Cloud>,
    bindings: watch::Receiver<Vec<alb::ListenerBinding>>,
}

/// `GET /_berth/load-balancers`: every load balancer with its listeners and where each is served.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub load_balancers: Vec<LoadBalancerStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerStatus {
    pub arn: String,
    pub name: String,
    pub region: String,
    pub dns_name: String,
    /// `provisioning` or `active`.
    pub state: &'static str,
    pub listeners: Vec<ListenerStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    pub arn: String,
    /// The port the AWS API shows.
    pub port: u16,
    pub protocol: String,
    /// Where berth listens for it (`null` while the load balancer is provisioning).
    pub address: Option<String>,
    /// `http://<dns name>[:<real port>]/`.
    pub url: Option<String>,
}

async fn load_balancers(State(state): State<Arc<StatusState>>) -> Json<serde_json::Value> {
    let cloud = Arc::clone(&state.cloud);
    let stored = tokio::task::spawn_blocking(move || {
        cloud.store.transaction(|tx| {
            Ok::<_, cloud::store::StoreError>((
                tx.list_all_regions::<LoadBalancer>()?,
                tx.list_all_regions::<Listener>()?,
            ))
        })
    })
    .await;
    let (lbs, listeners) = match stored {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return Json(serde_json::json!({"error": format!("reading berth's state failed: {e}")}));
        }
        Err(e) => return Json(serde_json::json!({"error": format!("reading berth's state failed: {e}")})),
    };
    let bindings = state.bindings.borrow().clone();
    let now_ms = time_now_ms().unwrap_or(0);
    let status = status(&lbs, &listeners, &bindings, now_ms);
    Json(serde_json::to_value(status).unwrap_or_default())
}

fn time_now_ms() -> Option<i64> {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// Joins stored load balancers and listeners with the data plane's bindings. Pure.
pub fn status(
    lbs: &[(String, LoadBalancer)],
    listeners: &[(String, Listener)],
    bindings: &[alb::ListenerBinding],
    now_ms: i64,
) -> Status {
    let load_balancers = lbs
        .iter()
        .map(|(region, lb)| {
            let mut ls: Vec<&Listener> = listeners
                .iter()
                .map(|(_, l)| l)
                .filter(|l| l.load_balancer_arn == lb.load_balancer_arn)
                .collect();
            ls.sort_by_key(|l| l.port);
            let listeners = ls
                .into_iter()
                .map(|l| {
                    let bound = bindings.iter().find(|b| {
                        b.port == l.port && b.load_balancers.iter().any(|x| x.arn == lb.load_balancer_arn)
                    });
                    ListenerStatus {
                        arn: l.listener_arn.clone(),
                        port: l.port,
                        protocol: l.protocol.clone(),
                        address: bound.map(|b| b.addr.to_string()),
                        url: bound.map(|b| {
                            if b.addr.port() == 80 {
                                format!("http://{}/", lb.dns_name)
                            } else {
                                format!("http://{}:{}/", lb.dns_name, b.addr.port())
                            }
                        }),
                    }
                })
                .collect();
            LoadBalancerStatus {
                arn: lb.load_balancer_arn.clone(),
                name: lb.load_balancer_name.clone(),
                region: region.clone(),
                dns_name: lb.dns_name.clone(),
                state: if lb.is_active(now_ms) { "active" } else { "provisioning" },
                listeners,
            }
        })
        .collect();
    Status { load_balancers }
}

/// `berth status`: where a running berth serves its load balancers.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The data dir of the running berth to ask.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: std::path::PathBuf,
    /// Ask this endpoint instead of the one the running berth recorded.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Print `GET /_berth/load-balancers` as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints every load balancer of a running berth with the real address of each listener.
pub async fn status_command(args: StatusArgs) -> anyhow::Result<()> {
    let endpoint = match args.endpoint {
        Some(e) => e,
        None => crate::server::recorded_endpoint(&args.data_dir)
            .with_context(|| format!("reading {}", args.data_dir.display()))?
            .with_context(|| {
                format!(
                    "no berth is running with data dir {} (start one with `berth up`)",
                    args.data_dir.display()
                )
            })?,
    };
    let body = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        http_get(&endpoint, "/_berth/load-balancers"),
    )
    .await
    .with_context(|| format!("{endpoint} did not answer within 10 s"))??;
    let value: serde_json::Value = serde_json::from_str(&body)
        .with_context(|| format!("{endpoint} answered something that is not JSON"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    print!("{}", render_status(&endpoint, &value));
    Ok(())
}

/// The human form of `GET /_berth/load-balancers`.
fn render_status(endpoint: &str, v: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = format!("berth at {endpoint}\n");
    let lbs = v["loadBalancers"].as_array().cloned().unwrap_or_default();
    if lbs.is_empty() {
        out.push_str("no load balancers\n");
    }
    for lb in &lbs {
        let s = |k: &str| lb[k].as_str().unwrap_or("?").to_string();
        let _ = writeln!(out, "{} ({}, {}) {}", s("name"), s("state"), s("region"), s("dnsName"));
        let listeners = lb["listeners"].as_array().cloned().unwrap_or_default();
        if listeners.is_empty() {
            out.push_str("  no listeners\n");
        }
        for l in &listeners {
            let _ = writeln!(
                out,
                "  {} {} -> {}  {}",
                l["protocol"].as_str().unwrap_or("?"),
                l["port"],
                l["address"].as_str().unwrap_or("(not served yet)"),
                l["url"].as_str().unwrap_or(""),
            );
        }
    }
    out
}

/// A plain HTTP/1.1 GET of `path` on `http://host:port`; the body of a 200 answer.
async fn http_get(endpoint: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let authority = endpoint.strip_prefix("http://").unwrap_or(endpoint).trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {endpoint} (is berth running?)"))?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        anyhow::bail!("{endpoint}{path} answered {status}");
    }
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Ok(dechunk(body));
    }
    Ok(body.to_string())
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(after.get(..n).unwrap_or(after));
        rest = after.get(n..).unwrap_or("").trim_start_matches("\r\n");
    }
    out
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

    #[test]
    fn status_is_readable() {
        let v = serde_json::json!({"loadBalancers": [{
            "name": "ecs-alb", "state": "active", "region": "us-east-1",
            "dnsName": "ecs-alb-1.us-east-1.elb.localhost",
            "listeners": [{"protocol": "HTTP", "port": 80, "address": "127.0.0.1:80",
                           "url": "http://ecs-alb-1.us-east-1.elb.localhost/"}]}]});
        let text = render_status("http://127.0.0.1:4566", &v);
        assert!(text.contains("ecs-alb (active, us-east-1) ecs-alb-1.us-east-1.elb.localhost"), "{text}");
        assert!(
            text.contains("HTTP 80 -> 127.0.0.1:80  http://ecs-alb-1.us-east-1.elb.localhost/"),
            "{text}"
        );
        assert!(render_status("e", &serde_json::json!({"loadBalancers": []})).contains("no load balancers"));
        assert_eq!(dechunk("5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n"), "hello!");
    }
}
