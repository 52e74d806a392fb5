//! The data plane end to end: hand-made snapshots, real backends on loopback aliases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use model::health::{DataPlaneEvent, TargetHealthReason, TargetHealthState};
use model::routing::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ALB_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

fn one_group_snapshot(targets: Vec<Target>) -> RoutingSnapshot {
    RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb("web", 80, vec![default_rule(forward("tg-a"))])],
        target_groups: vec![group("tg-a", targets)],
    }
}

#[tokio::test]
async fn round_robin_alternates_between_two_targets() {
    let a = Backend::start("a", "127.0.2.11").await;
    let b = Backend::start("b", "127.0.2.12").await;
    let mut plane =
        Plane::start(one_group_snapshot(vec![a.target("10.0.2.11"), b.target("10.0.2.12")])).await;
    plane.wait_state("10.0.2.11", TargetHealthState::Healthy).await;
    plane.wait_state("10.0.2.12", TargetHealthState::Healthy).await;
    let addr = plane.addr(80);
    let mut names = Vec::new();
    for _ in 0..6 {
        names.push(get(addr, "lb.example", "/").await.body);
    }
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "round robin alternates: {names:?}");
    }
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 2);
    plane.stop().await;
}

#[tokio::test]
async fn path_rules_route_to_groups_and_default_is_fixed_404() {
    let p = Backend::start("product", "127.0.2.21").await;
    let u = Backend::start("user", "127.0.2.22").await;
    let snapshot = RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb(
            "web",
            80,
            vec![
                rule(1, "/product-svc*", forward("tg-p")),
                rule(2, "/user-svc*", forward("tg-u")),
                default_rule(not_found()),
            ],
        )],
        target_groups: vec![
            group("tg-p", vec![p.target("10.0.2.21")]),
            group("tg-u", vec![u.target("10.0.2.22")]),
        ],
    };
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);
    for (path, expected) in [
        ("/product-svc", "product"),
        ("/product-svc/x/y", "product"),
        ("/product-svcFOO", "product"),
        ("/user-svc/", "user"),
        ("/user-svc?x=/product-svc", "user"),
    ] {
        let got = get(addr, "lb.example", path).await;
        assert_eq!((got.status.as_u16(), got.body.as_str()), (200, expected), "{path}");
    }
    for path in ["/", "/Product-svc", "/api/product-svc"] {
        let got = get(addr, "lb.example", path).await;
        assert_eq!(got.status, 404, "{path}");
        assert_eq!(got.body, "Not Found");
        assert_eq!(got.headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(got.headers["server"], "awselb/2.0");
    }
    plane.stop().await;
}

#[tokio::test]
async fn unhealthy_target_gets_no_traffic_and_reports_response_code_mismatch() {
    let good = Backend::start("good", "127.0.2.31").await;
    let bad = Backend::start("bad", "127.0.2.32").await;
    bad.set_health(500);
    let mut plane =
        Plane::start(one_group_snapshot(vec![good.target("10.0.2.31"), bad.target("10.0.2.32")])).await;
    // A new target starts in `initial`.
    let first = plane
        .wait_event(
            "initial state",
            |e| matches!(e, DataPlaneEvent::Health { key, .. } if key.id == "10.0.2.32"),
        )
        .await;
    let DataPlaneEvent::Health { health, .. } = first else { unreachable!() };
    assert_eq!(health.state, TargetHealthState::Initial);
    assert_eq!(health.reason, Some(TargetHealthReason::RegistrationInProgress));

    let h = plane.wait_state("10.0.2.32", TargetHealthState::Unhealthy).await;
    assert_eq!(h.reason, Some(TargetHealthReason::ResponseCodeMismatch));
    assert_eq!(h.description.as_deref(), Some("Health checks failed with these codes: [500]"));
    plane.wait_state("10.0.2.31", TargetHealthState::Healthy).await;
    let addr = plane.addr(80);
    for _ in 0..6 {
        assert_eq!(get(addr, "lb.example", "/").await.body, "good");
    }
    assert_eq!(bad.hits.load(Ordering::SeqCst), 0);

    // It recovers after healthy_threshold (2) passing checks, and gets traffic again.
    bad.set_health(200);
    plane.wait_state("10.0.2.32", TargetHealthState::Healthy).await;
    eventually(addr, "/", |g| g.body == "bad").await;
    plane.stop().await;
}

#[tokio::test]
async fn all_unhealthy_fails_open() {
    let a = Backend::start("a", "127.0.2.41").await;
    let b = Backend::start("b", "127.0.2.42").await;
    a.set_health(503);
    b.set_health(503);
    let mut plane =
        Plane::start(one_group_snapshot(vec![a.target("10.0.2.41"), b.target("10.0.2.42")])).await;
    plane.wait_state("10.0.2.41", TargetHealthState::Unhealthy).await;
    plane.wait_state("10.0.2.42", TargetHealthState::Unhealthy).await;
    let addr = plane.addr(80);
    let mut names = HashSet::new();
    for _ in 0..4 {
        let got = get(addr, "lb.example", "/").await;
        assert_eq!(got.status, 200);
        names.insert(got.body);
    }
    assert_eq!(names.len(), 2, "fail-open routes to every target: {names:?}");
    plane.stop().await;
}

#[tokio::test]
async fn no_registered_targets_is_503_alb_page() {
    let plane = Plane::start(one_group_snapshot(vec![])).await;
    let got = get(plane.addr(80), "lb.example", "/").await;
    assert_eq!(got.status, 503);
    assert_eq!(got.headers["server"], "awselb/2.0");
    assert_eq!(got.headers["content-type"], "text/html");
    assert!(
        got.body.contains("<center><h1>503 Service Temporarily Unavailable</h1></center>"),
        "{}",
        got.body
    );
    plane.stop().await;
}

#[tokio::test]
async fn killed_backend_is_502() {
    let a = Backend::start("a", "127.0.2.51").await;
    let mut plane = Plane::start(one_group_snapshot(vec![a.target("10.0.2.51")])).await;
    plane.wait_state("10.0.2.51", TargetHealthState::Healthy).await;
    let addr = plane.addr(80);
    assert_eq!(get(addr, "lb.example", "/").await.body, "a");
    a.kill();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let got = get(addr, "lb.example", "/").await;
    assert_eq!(got.status, 502);
    assert_eq!(got.body, ALB_502);
    assert_eq!(got.headers["server"], "awselb/2.0");
    plane.stop().await;
}

#[tokio::test]
async fn slow_backend_beyond_idle_timeout_is_504() {
    let a = Backend::start("a", "127.0.2.61").await;
    let mut snapshot = one_group_snapshot(vec![a.target("10.0.2.61")]);
    snapshot.load_balancers[0].idle_timeout = Duration::from_millis(300);
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);
    let got = get(addr, "lb.example", "/slow?ms=2000").await;
    assert_eq!(got.status, 504);
    assert!(got.body.contains("504 Gateway Time-out"));
    // A quick request on the same target still works.
    assert_eq!(get(addr, "lb.example", "/slow?ms=10").await.body, "a");
    plane.stop().await;
}

/// `GET /` on an open keep-alive connection; the raw response, read until the body `body`.
async fn keep_alive_get(conn: &mut TcpStream, body: &str) -> String {
    conn.write_all(b"GET / HTTP/1.1\r\nHost: lb.example\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !(got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(body.as_bytes())) {
        let n = tokio::time::timeout(WAIT, conn.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed mid-response: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn idle_client_connection_closes_after_the_idle_timeout() {
    let a = Backend::start("a", "127.0.2.63").await;
    let mut snapshot = one_group_snapshot(vec![a.target("10.0.2.63")]);
    snapshot.load_balancers[0].idle_timeout = Duration::from_millis(400);
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);
    let mut conn = TcpStream::connect(addr).await.unwrap();
    assert!(keep_alive_get(&mut conn, "a").await.starts_with("HTTP/1.1 200"));
    // In use, the connection stays open: a second request 250 ms later is served on it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(keep_alive_get(&mut conn, "a").await.starts_with("HTTP/1.1 200"));
    // Then idle: closed between 1 and 1.25 x the idle timeout (plus scheduling slack).
    let idle_from = tokio::time::Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(3), conn.read(&mut buf)).await.unwrap().unwrap_or(0);
    let waited = idle_from.elapsed();
    assert_eq!(n, 0, "nothing but the close: {}", String::from_utf8_lossy(&buf[..n]));
    assert!(waited >= Duration::from_millis(390), "closed too early: {waited:?}");
    assert!(waited < Duration::from_millis(900), "closed too late: {waited:?}");
    plane.stop().await;
}

#[tokio::test]
async fn draining_target_finishes_in_flight_and_gets_nothing_new() {
    let a = Backend::start("a", "127.0.2.71").await;
    let b = Backend::start("b", "127.0.2.72").await;
    let mut plane = Plane::start(one_group_snapshot(vec![a.target("10.0.2.71")])).await;
    plane.wait_state("10.0.2.71", TargetHealthState::Healthy).await;
    let addr = plane.addr(80);

    let slow = tokio::spawn(async move { get(addr, "lb.example", "/slow?ms=800").await });
    // Let the slow request reach `a`.
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.hits.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let mut draining = a.target("10.0.2.71");
    draining.draining_deadline_ms = Some(now_ms + 20_000);
    let mut next = one_group_snapshot(vec![draining, b.target("10.0.2.72")]);
    next.generation = 2;
    plane.publish(next);
    let h = plane.wait_state("10.0.2.71", TargetHealthState::Draining).await;
    assert_eq!(h.reason, Some(TargetHealthReason::DeregistrationInProgress));
    assert_eq!(h.description.as_deref(), Some("Target deregistration is in progress"));

    // New requests go to `b` only (fail-open while `b` is initial never includes draining `a`).
    let a_before = a.hits.load(Ordering::SeqCst);
    for _ in 0..4 {
        assert_eq!(get(addr, "lb.example", "/").await.body, "b");
    }
    assert_eq!(a.hits.load(Ordering::SeqCst), a_before);
    assert!(
        !plane.seen.iter().any(|e| matches!(e, DataPlaneEvent::Drained { .. })),
        "not drained while in flight"
    );

    // The in-flight request finishes on `a`, then `Drained` is emitted.
    let got = slow.await.unwrap();
    assert_eq!((got.status.as_u16(), got.body.as_str()), (200, "a"));
    let e = plane.wait_event("drained", |e| matches!(e, DataPlaneEvent::Drained { .. })).await;
    let DataPlaneEvent::Drained { key } = e else { unreachable!() };
    assert_eq!(key.id, "10.0.2.71");
    plane.stop().await;
}

#[tokio::test]
async fn snapshot_swap_under_load_loses_no_request() {
    let a = Backend::start("a", "127.0.2.81").await;
    let b = Backend::start("b", "127.0.2.82").await;
    let plane = Plane::start(one_group_snapshot(vec![a.target("10.0.2.81"), b.target("10.0.2.82")])).await;
    let addr = plane.addr(80);
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop_at = tokio::time::Instant::now() + Duration::from_secs(2);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (ok, failed) = (ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            // One keep-alive connection per worker, like a real client.
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            while tokio::time::Instant::now() < stop_at {
                let req =
                    Request::get("/").header("host", "lb.example").body(Full::new(Bytes::new())).unwrap();
                match sender.send_request(req).await {
                    Ok(resp) if resp.status() == 200 => ok.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        }));
    }
    // Swap snapshots continuously: alternate a generation with a second rule and one without.
    let mut generation = 1;
    while tokio::time::Instant::now() < stop_at {
        generation += 1;
        let mut s = one_group_snapshot(vec![a.target("10.0.2.81"), b.target("10.0.2.82")]);
        s.generation = generation;
        if generation % 2 == 0 {
            s.load_balancers[0].listeners[0].rules.insert(0, rule(1, "/never*", not_found()));
        }
        plane.publish(s);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for w in workers {
        tokio::time::timeout(WAIT, w).await.unwrap().unwrap();
    }
    assert_eq!(failed.load(Ordering::SeqCst), 0);
    assert!(ok.load(Ordering::SeqCst) > 100, "only {} requests", ok.load(Ordering::SeqCst));
    plane.stop().await;
}

#[tokio::test]
async fn websocket_upgrade_round_trips() {
    let a = Backend::start("ws", "127.0.2.91").await;
    let plane = Plane::start(one_group_snapshot(vec![a.target("10.0.2.91")])).await;
    let mut stream = TcpStream::connect(plane.addr(80)).await.unwrap();
    stream
        .write_all(
            b"GET /chat HTTP/1.1\r\nHost: lb.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let head = tokio::time::timeout(WAIT, read_head(&mut stream)).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: websocket"), "{head}");
    stream.write_all(b"hello over the bridge").await.unwrap();
    let mut buf = vec![0u8; 21];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"hello over the bridge");
    plane.stop().await;
}

async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn forwarded_headers_and_trace_id_reach_the_backend() {
    let a = Backend::start("a", "127.0.3.11").await;
    let plane = Plane::start(one_group_snapshot(vec![a.target("10.0.3.11")])).await;
    let addr = plane.addr(80);
    let got = get(addr, &format!("web.example.com:{}", addr.port()), "/echo").await;
    let seen: Vec<&str> = got.body.lines().collect();
    let header = |name: &str| {
        seen.iter().find_map(|l| l.strip_prefix(&format!("{name}: "))).map(str::to_owned).unwrap_or_default()
    };
    assert_eq!(header("x-forwarded-for"), "127.0.0.1");
    assert_eq!(header("x-forwarded-proto"), "http");
    assert_eq!(header("x-forwarded-port"), "80", "the listener port as the API shows it");
    // Listener port 80: ALB forwards the host without port.
    assert_eq!(header("host"), "web.example.com");
    let trace = header("x-amzn-trace-id");
    let root = trace.strip_prefix("Root=1-").unwrap_or_else(|| panic!("trace id {trace:?}"));
    let (secs, random) = root.split_once('-').unwrap();
    assert_eq!((secs.len(), random.len()), (8, 24), "{trace}");

    // An existing XFF is appended to; an existing Root is kept and Self added.
    let req = Request::get("/echo")
        .header("host", "web.example.com")
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-amzn-trace-id", "Root=1-67891233-abcdef012345678912345678")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let got = send(addr, req).await;
    assert!(got.body.contains("x-forwarded-for: 203.0.113.7, 127.0.0.1\n"), "{}", got.body);
    assert!(got.body.contains(";Root=1-67891233-abcdef012345678912345678\n"), "{}", got.body);
    assert!(got.body.contains("x-amzn-trace-id: Self=1-"), "{}", got.body);
    plane.stop().await;
}

#[tokio::test]
async fn two_load_balancers_share_a_port_by_host() {
    let one = Backend::start("one", "127.0.3.21").await;
    let two = Backend::start("two", "127.0.3.22").await;
    let snapshot = RoutingSnapshot {
        generation: 1,
        load_balancers: vec![
            lb("alpha", 80, vec![default_rule(forward("tg-1"))]),
            lb("beta", 80, vec![default_rule(forward("tg-2"))]),
        ],
        target_groups: vec![
            group("tg-1", vec![one.target("10.0.3.21")]),
            group("tg-2", vec![two.target("10.0.3.22")]),
        ],
    };
    let plane = Plane::start(snapshot).await;
    let bindings = plane.handle.bindings();
    assert_eq!(bindings.len(), 1, "one socket for both: {bindings:?}");
    assert_eq!(bindings[0].load_balancers.len(), 2);
    let addr = plane.addr(80);
    let port = addr.port();
    assert_eq!(get(addr, &format!("alpha-123.us-east-1.elb.localhost:{port}"), "/").await.body, "one");
    assert_eq!(get(addr, "BETA-123.us-east-1.elb.localhost", "/").await.body, "two");
    let other = get(addr, "nobody.example", "/").await;
    assert_eq!(other.status, 404);
    assert!(other.body.contains("alpha-123.us-east-1.elb.localhost"), "{}", other.body);
    assert!(other.body.contains("beta-123.us-east-1.elb.localhost"), "{}", other.body);
    plane.stop().await;
}

#[tokio::test]
async fn header_too_large_is_400() {
    let a = Backend::start("a", "127.0.3.31").await;
    let plane = Plane::start(one_group_snapshot(vec![a.target("10.0.3.31")])).await;
    let big = "x".repeat(17 * 1024);
    let req = Request::get("/")
        .header("host", "lb.example")
        .header("x-big", big)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let got = send(plane.addr(80), req).await;
    assert_eq!(got.status, 400);
    assert!(got.body.contains("<center><h1>400 Bad Request</h1></center>"), "{}", got.body);
    assert_eq!(a.hits.load(Ordering::SeqCst), 0);
    plane.stop().await;
}

#[tokio::test]
async fn unused_group_is_reported_and_not_probed() {
    let a = Backend::start("a", "127.0.3.41").await;
    let mut snapshot = one_group_snapshot(vec![]);
    let mut idle = group("tg-idle", vec![a.target("10.0.3.41")]);
    idle.in_use = false;
    snapshot.target_groups.push(idle);
    let mut plane = Plane::start(snapshot).await;
    let h = plane.wait_state("10.0.3.41", TargetHealthState::Unused).await;
    assert_eq!(h.reason, Some(TargetHealthReason::NotInUse));
    assert_eq!(
        h.description.as_deref(),
        Some("Target group is not configured to receive traffic from the load balancer")
    );
    plane.stop().await;
}

#[tokio::test]
async fn listeners_open_and_close_with_snapshots() {
    let plane = Plane::start(RoutingSnapshot::default()).await;
    assert!(plane.handle.bindings().is_empty());
    let mut bindings = plane.handle.subscribe_bindings();
    let mut s = one_group_snapshot(vec![]);
    s.load_balancers.push(lb("second", 8080, vec![default_rule(not_found())]));
    plane.publish(s);
    tokio::time::timeout(WAIT, bindings.wait_for(|b| b.len() == 2)).await.unwrap().unwrap();
    let second = plane.addr(8080);
    assert_eq!(get(second, "x", "/").await.status, 404);
    plane.publish(RoutingSnapshot::default());
    tokio::time::timeout(WAIT, bindings.wait_for(|b| b.is_empty())).await.unwrap().unwrap();
    plane.stop().await;
}

#[tokio::test]
async fn conditions_redirects_and_weighted_groups() {
    let one = Backend::start("one", "127.0.3.51").await;
    let two = Backend::start("two", "127.0.3.52").await;
    let three = Backend::start("three", "127.0.3.53").await;
    let weighted = Action::Forward(Forward {
        target_groups: vec![
            WeightedTargetGroup { arn: "tg-1".into(), weight: 1 },
            WeightedTargetGroup { arn: "tg-2".into(), weight: 3 },
            WeightedTargetGroup { arn: "tg-3".into(), weight: 0 },
        ],
        stickiness: None,
    });
    let redirect = Action::Redirect(Redirect {
        protocol: "HTTPS".into(),
        host: "#{host}".into(),
        port: "443".into(),
        path: "/#{path}".into(),
        query: "#{query}".into(),
        status_code: 301,
    });
    let when = |priority: u32, conditions: Vec<Condition>, action: Action| Rule {
        arn: format!("rule-{priority}"),
        priority: Some(priority),
        conditions,
        action,
    };
    let rules = vec![
        when(1, vec![Condition::PathPattern(vec!["/old/*".into()])], redirect),
        when(
            2,
            vec![
                Condition::HttpHeader { name: "X-Canary".into(), values: vec!["y*".into()] },
                Condition::HttpRequestMethod(vec!["GET".into()]),
            ],
            forward("tg-3"),
        ),
        when(
            3,
            vec![Condition::QueryString(vec![QueryStringPattern {
                key: Some("v".into()),
                value: "2".into(),
            }])],
            forward("tg-2"),
        ),
        when(4, vec![Condition::HostHeader(vec!["*.weighted.example".into()])], weighted),
        default_rule(not_found()),
    ];
    let snapshot = RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb("web", 80, rules)],
        target_groups: vec![
            group("tg-1", vec![one.target("10.0.3.51")]),
            group("tg-2", vec![two.target("10.0.3.52")]),
            group("tg-3", vec![three.target("10.0.3.53")]),
        ],
    };
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);

    let got = get(addr, "shop.example.com", "/old/page?x=1").await;
    assert_eq!(got.status, 301);
    assert_eq!(got.headers["location"], "https://shop.example.com/old/page?x=1");

    let req = |method: &str, path: &str, canary: Option<&str>| {
        let mut b = Request::builder().method(method).uri(path).header("host", "lb.example");
        if let Some(c) = canary {
            b = b.header("x-canary", c);
        }
        b.body(Full::new(Bytes::new())).unwrap()
    };
    assert_eq!(send(addr, req("GET", "/", Some("YES"))).await.body, "three");
    assert_eq!(send(addr, req("POST", "/", Some("yes"))).await.status, 404, "method is part of the rule");
    assert_eq!(send(addr, req("GET", "/?V=2", None)).await.body, "two", "query keys are case-insensitive");

    let mut counts = std::collections::HashMap::new();
    for _ in 0..8 {
        let got = get(addr, "a.weighted.example", "/").await;
        *counts.entry(got.body).or_insert(0) += 1;
    }
    assert_eq!(counts.get("one"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("two"), Some(&6), "{counts:?}");
    assert_eq!(counts.get("three"), None, "weight 0 gets nothing: {counts:?}");
    plane.stop().await;
}

#[tokio::test]
async fn target_group_stickiness_pins_a_client_to_its_group() {
    let one = Backend::start("one", "127.0.3.61").await;
    let two = Backend::start("two", "127.0.3.62").await;
    let sticky = Action::Forward(Forward {
        target_groups: vec![
            WeightedTargetGroup { arn: "tg-1".into(), weight: 1 },
            WeightedTargetGroup { arn: "tg-2".into(), weight: 1 },
        ],
        stickiness: Some(Duration::from_secs(3600)),
    });
    let snapshot = RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb("web", 80, vec![default_rule(sticky)])],
        target_groups: vec![
            group("tg-1", vec![one.target("10.0.3.61")]),
            group("tg-2", vec![two.target("10.0.3.62")]),
        ],
    };
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);
    let first = get(addr, "lb.example", "/").await;
    let cookies: Vec<&str> =
        first.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(
        cookies[0].starts_with("AWSALBTG=")
            && cookies[0].contains("; Expires=")
            && cookies[0].ends_with("; Path=/")
    );
    assert!(cookies[1].starts_with("AWSALBTGCORS=") && cookies[1].ends_with("SameSite=None; Secure"));
    let pair = cookies[0].split(';').next().unwrap().to_owned();
    for _ in 0..4 {
        let req = Request::get("/")
            .header("host", "lb.example")
            .header("cookie", &pair)
            .body(Full::new(Bytes::new()))
            .unwrap();
        assert_eq!(send(addr, req).await.body, first.body, "the cookie keeps the group");
    }
    // Without the cookie the weights apply again: both groups answer.
    let mut names = HashSet::new();
    for _ in 0..4 {
        names.insert(get(addr, "lb.example", "/").await.body);
    }
    assert_eq!(names.len(), 2);
    plane.stop().await;
}

#[tokio::test]
async fn thread_per_core_workers_serve_the_same_routes() {
    let a = Backend::start("a", "127.0.3.71").await;
    let b = Backend::start("b", "127.0.3.72").await;
    let workers = alb::Serving::Workers(std::num::NonZeroUsize::new(2).unwrap());
    let mut plane =
        Plane::start_serving(one_group_snapshot(vec![a.target("10.0.3.71"), b.target("10.0.3.72")]), workers)
            .await;
    plane.wait_state("10.0.3.71", TargetHealthState::Healthy).await;
    plane.wait_state("10.0.3.72", TargetHealthState::Healthy).await;
    let addr = plane.addr(80);
    let mut names = HashSet::new();
    for _ in 0..8 {
        let got = get(addr, "lb.example", "/").await;
        assert_eq!(got.status, 200);
        names.insert(got.body);
    }
    assert_eq!(names.len(), 2, "{names:?}");
    // Keep-alive connections from several client tasks at once.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(tokio::spawn(async move {
            for _ in 0..20 {
                assert_eq!(get(addr, "lb.example", "/slow?ms=1").await.status, 200);
            }
        }));
    }
    for c in clients {
        tokio::time::timeout(WAIT, c).await.unwrap().unwrap();
    }
    plane.stop().await;
}

#[tokio::test]
async fn stopping_the_workers_closes_idle_keep_alive_connections_at_once() {
    let a = Backend::start("a", "127.0.3.73").await;
    let workers = alb::Serving::Workers(std::num::NonZeroUsize::new(2).unwrap());
    let plane = Plane::start_serving(one_group_snapshot(vec![a.target("10.0.3.73")]), workers).await;
    let addr = plane.addr(80);
    let mut conns = Vec::new();
    for _ in 0..4 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        assert!(keep_alive_get(&mut conn, "a").await.starts_with("HTTP/1.1 200"));
        conns.push(conn);
    }
    // The idle timeout is 60 s: only the stop signal closes these.
    let started = tokio::time::Instant::now();
    plane.stop().await;
    assert!(started.elapsed() < Duration::from_secs(2), "stop waited {:?}", started.elapsed());
    for mut conn in conns {
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(WAIT, conn.read(&mut buf)).await.unwrap().unwrap_or(0);
        assert_eq!(n, 0, "closed, not answered: {}", String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn silent_target_times_out_over_http_and_passes_tcp_checks() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.3.81:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let target = Target {
        id: "10.0.3.81".into(),
        port: addr.port(),
        addr,
        availability_zone: None,
        draining_deadline_ms: None,
    };
    let mut http = group("tg-http", vec![target.clone()]);
    http.health_check.timeout = Duration::from_millis(50);
    let mut tcp = group("tg-tcp", vec![target]);
    tcp.health_check.protocol = "TCP".into();
    let snapshot = RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb(
            "web",
            80,
            vec![rule(1, "/tcp*", forward("tg-tcp")), default_rule(forward("tg-http"))],
        )],
        target_groups: vec![http, tcp],
    };
    let mut plane = Plane::start(snapshot).await;
    let timed_out = plane
        .wait_event("http check timeout", |e| {
            matches!(e, DataPlaneEvent::Health { key, health }
                if key.target_group_arn == "tg-http" && health.state == TargetHealthState::Unhealthy)
        })
        .await;
    let DataPlaneEvent::Health { health, .. } = timed_out else { unreachable!() };
    assert_eq!(health.reason, Some(TargetHealthReason::Timeout));
    assert_eq!(health.description.as_deref(), Some("Request timed out"));
    plane
        .wait_event("tcp check passes", |e| {
            matches!(e, DataPlaneEvent::Health { key, health }
                if key.target_group_arn == "tg-tcp" && health.state == TargetHealthState::Healthy)
        })
        .await;
    plane.stop().await;
}

#[tokio::test]
async fn least_outstanding_requests_avoids_the_busy_target() {
    let a = Backend::start("a", "127.0.3.91").await;
    let b = Backend::start("b", "127.0.3.92").await;
    let mut snapshot = one_group_snapshot(vec![a.target("10.0.3.91"), b.target("10.0.3.92")]);
    snapshot.target_groups[0].algorithm = Algorithm::LeastOutstandingRequests;
    let plane = Plane::start(snapshot).await;
    let addr = plane.addr(80);
    let slow = tokio::spawn(async move { get(addr, "lb.example", "/slow?ms=800").await });
    let deadline = tokio::time::Instant::now() + WAIT;
    while a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let idle = if a.hits.load(Ordering::SeqCst) == 1 { "b" } else { "a" };
    for _ in 0..4 {
        assert_eq!(get(addr, "lb.example", "/").await.body, idle);
    }
    assert_eq!(slow.await.unwrap().status, 200);
    plane.stop().await;
}
