//! Test harness: real backends on loopback aliases, hand-made snapshots, a data plane on
//! ephemeral ports, and a small HTTP client. Every wait is bounded.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use alb::{AlbConfig, DataPlaneHandle, PortMapping};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use model::health::{DataPlaneEvent, TargetHealthState};
use model::routing::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

pub const WAIT: Duration = Duration::from_secs(10);

/// A target: answers `<name>` on any path, `/health` with [`Backend::set_health`]'s code,
/// `/slow?ms=N` after N ms, `/echo` with the request headers, and WebSocket-style upgrades by
/// echoing bytes.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    health: Arc<AtomicU16>,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    pub async fn start(name: &str, ip: &str) -> Self {
        let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let health = Arc::new(AtomicU16::new(200));
        let hits = Arc::new(AtomicUsize::new(0));
        let (n, h, c) = (name.to_owned(), health.clone(), hits.clone());
        let task = tokio::spawn(async move {
            // Aborting this task drops the set, which aborts every open connection: a killed target.
            let mut conns = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (n, h, c) = (n.clone(), h.clone(), c.clone());
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let (n, h, c) = (n.clone(), h.clone(), c.clone());
                        async move { Ok::<_, Infallible>(answer(&n, &h, &c, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Self { name: name.to_owned(), addr, health, hits, task }
    }

    pub fn set_health(&self, code: u16) {
        self.health.store(code, Ordering::SeqCst);
    }

    pub fn kill(&self) {
        self.task.abort();
    }

    pub fn target(&self, id: &str) -> Target {
        Target {
            id: id.to_owned(),
            port: self.addr.port(),
            addr: self.addr,
            availability_zone: None,
            draining_deadline_ms: None,
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    name: &str,
    health: &AtomicU16,
    hits: &AtomicUsize,
    mut req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    if path == "/health" {
        let code = health.load(Ordering::SeqCst);
        return Response::builder().status(code).body(Full::new(Bytes::from_static(b"health"))).unwrap();
    }
    hits.fetch_add(1, Ordering::SeqCst);
    if req.headers().contains_key(http::header::UPGRADE) {
        let on_upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = on_upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        return Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .body(Full::new(Bytes::new()))
            .unwrap();
    }
    if path == "/slow" {
        let ms: u64 = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("ms="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if path == "/body" {
        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        return Response::new(Full::new(body));
    }
    if path == "/big" {
        return Response::new(Full::new(Bytes::from(vec![b'x'; 1 << 20])));
    }
    if path == "/echo" {
        let mut text = String::new();
        for (k, v) in req.headers() {
            text.push_str(&format!("{}: {}\n", k, v.to_str().unwrap_or("?")));
        }
        return Response::new(Full::new(Bytes::from(text)));
    }
    Response::new(Full::new(Bytes::from(name.to_owned())))
}

/// A fast health check: every 100 ms, thresholds 2/2, matcher 200.
pub fn quick_check() -> HealthCheck {
    HealthCheck {
        enabled: true,
        protocol: "HTTP".into(),
        port: None,
        path: "/health".into(),
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(80),
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: "200".into(),
    }
}

pub fn group(arn: &str, targets: Vec<Target>) -> TargetGroup {
    TargetGroup {
        arn: arn.into(),
        name: arn.into(),
        protocol: "HTTP".into(),
        port: 3000,
        algorithm: Algorithm::RoundRobin,
        health_check: quick_check(),
        deregistration_delay: Duration::from_secs(300),
        in_use: true,
        targets,
    }
}

pub fn forward(arn: &str) -> Action {
    Action::Forward(Forward {
        target_groups: vec![WeightedTargetGroup { arn: arn.into(), weight: 1 }],
        stickiness: None,
    })
}

pub fn not_found() -> Action {
    Action::FixedResponse {
        status_code: 404,
        content_type: Some("text/plain".into()),
        body: Some("Not Found".into()),
    }
}

pub fn rule(priority: u32, path: &str, action: Action) -> Rule {
    Rule {
        arn: format!("rule-{priority}"),
        priority: Some(priority),
        conditions: vec![Condition::PathPattern(vec![path.into()])],
        action,
    }
}

pub fn default_rule(action: Action) -> Rule {
    Rule { arn: "default".into(), priority: None, conditions: vec![], action }
}

pub fn lb(name: &str, port: u16, rules: Vec<Rule>) -> LoadBalancer {
    LoadBalancer {
        arn: format!("arn:lb/{name}"),
        name: name.into(),
        dns_name: format!("{name}-123.us-east-1.elb.localhost"),
        listeners: vec![Listener {
            arn: format!("arn:listener/{name}/{port}"),
            port,
            protocol: "HTTP".into(),
            rules,
        }],
        idle_timeout: Duration::from_secs(60),
        xff_mode: XffMode::Append,
        xff_client_port: false,
        drop_invalid_header_fields: false,
        preserve_host_header: false,
    }
}

/// A running data plane with its snapshot sender and event log.
pub struct Plane {
    pub handle: DataPlaneHandle,
    pub snapshots: watch::Sender<Arc<RoutingSnapshot>>,
    pub events: mpsc::UnboundedReceiver<DataPlaneEvent>,
    pub seen: Vec<DataPlaneEvent>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Plane {
    pub async fn start(snapshot: RoutingSnapshot) -> Self {
        Self::start_serving(snapshot, alb::Serving::CallerRuntime).await
    }

    pub async fn start_serving(snapshot: RoutingSnapshot, serving: alb::Serving) -> Self {
        let (snapshots, rx) = watch::channel(Arc::new(snapshot));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let config = AlbConfig { ports: PortMapping::Ephemeral, ..AlbConfig::default() };
        let handle = alb::start_serving(config, serving, rx, events_tx, async move {
            let _ = stop_rx.await;
        })
        .await
        .unwrap();
        Self { handle, snapshots, events, seen: Vec::new(), stop: Some(stop) }
    }

    /// The real address of listener `port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        self.handle.bindings().iter().find(|b| b.port == port).expect("listener bound").addr
    }

    pub fn publish(&self, snapshot: RoutingSnapshot) {
        self.snapshots.send_replace(Arc::new(snapshot));
    }

    /// Waits (bounded) for an event matching `pred`, looking at those already seen first.
    pub async fn wait_event(&mut self, what: &str, pred: impl Fn(&DataPlaneEvent) -> bool) -> DataPlaneEvent {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                _ => panic!("timed out waiting for {what}; seen: {:#?}", self.seen),
            }
        }
    }

    /// Waits until target `id` reports `state`.
    pub async fn wait_state(&mut self, id: &str, state: TargetHealthState) -> model::health::TargetHealth {
        let id = id.to_owned();
        // Only the latest state of the target counts.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let latest = self.seen.iter().rev().find_map(|e| match e {
                DataPlaneEvent::Health { key, health } if key.id == id => Some(health.clone()),
                _ => None,
            });
            if let Some(h) = latest
                && h.state == state
            {
                return h;
            }
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => self.seen.push(e),
                _ => panic!("timed out waiting for {id} to be {state:?}; seen: {:#?}", self.seen),
            }
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.handle.stopped()).await.expect("data plane stops");
    }
}

/// One response, fully read.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// Sends one request on a new connection, with `host` as Host header.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> Got {
    let req = Request::get(path).header("host", host).body(Full::new(Bytes::new())).unwrap();
    send(addr, req).await
}

pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Got {
    tokio::time::timeout(WAIT, async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let resp = sender.send_request(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        Got {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    })
    .await
    .expect("response in time")
}

/// Polls `GET path` until `pred` holds for the response (bounded).
pub async fn eventually(addr: SocketAddr, path: &str, pred: impl Fn(&Got) -> bool) -> Got {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = get(addr, "lb.example", path).await;
        if pred(&got) {
            return got;
        }
        assert!(tokio::time::Instant::now() < deadline, "condition never held; last: {got:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// A scripted target speaking raw HTTP/1.1: for every request head it reads, it writes the next
/// canned response; with `close_after` it closes the connection after each response.
pub async fn raw_backend(
    ip: &str,
    responses: Vec<&'static [u8]>,
    close_after: bool,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let responses = responses.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Read one request head (the tests send no bodies here).
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0u8; 4096];
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    let i = seen.fetch_add(1, Ordering::SeqCst);
                    let response = responses[i.min(responses.len() - 1)];
                    if stream.write_all(response).await.is_err() {
                        return;
                    }
                    if close_after {
                        let _ = stream.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    (addr, count)
}

pub fn raw_target(addr: SocketAddr, id: &str) -> Target {
    Target { id: id.to_owned(), port: addr.port(), addr, availability_zone: None, draining_deadline_ms: None }
}
