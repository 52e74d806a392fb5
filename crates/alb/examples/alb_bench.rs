//! The data plane alone, with the seed's routing, for `shared/bench/proxy-baseline.sh`.
//!
//! Listens on `$BENCH_LISTEN` (default `127.0.0.1:8080`); `/product-svc*` → 127.0.0.11:3000 and
//! 127.0.0.12:3000, `/user-svc*` → 127.0.0.13:3000 and 127.0.0.14:3000, anything else the fixed
//! 404 "Not Found"; `/health` checked every 5 s. Connections are served by `$BENCH_WORKERS`
//! thread-per-core workers (default: available parallelism, so 1 under `taskset -c 1`); the
//! control loop and health checks run on one more, mostly idle, thread. With
//! `BENCH_SERVING=runtime`, connections are served instead on a multi-thread tokio runtime of
//! `$BENCH_WORKERS` threads (`alb::start`, as berth does by default), for comparison. Serves until
//! SIGTERM or SIGINT.
//!
//! ```sh
//! cargo build --release -p alb --example alb_bench
//! BENCH_LISTEN=127.0.0.1:8080 target/release/examples/alb_bench
//! ```

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alb::{AlbConfig, PortMapping, Serving};
use model::routing::*;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

fn main() -> Result<(), Box<dyn Error>> {
    let listen: SocketAddr =
        std::env::var("BENCH_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into()).parse()?;
    let workers = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .and_then(std::num::NonZeroUsize::new)
        .or_else(|| std::thread::available_parallelism().ok())
        .unwrap_or(std::num::NonZeroUsize::MIN);
    if std::env::var("BENCH_SERVING").is_ok_and(|s| s == "runtime") {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(workers.get()).enable_all().build()?;
        return runtime.block_on(serve(listen, Serving::CallerRuntime));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve(listen, Serving::Workers(workers)))
}

async fn serve(listen: SocketAddr, serving: Serving) -> Result<(), Box<dyn Error>> {
    let (_snapshots_tx, snapshots) = watch::channel(Arc::new(seed(listen.port())));
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    let config = AlbConfig { bind_ip: listen.ip(), ports: PortMapping::Exact };
    let plane = alb::start_serving(config, serving, snapshots, events_tx, shutdown).await?;
    for binding in plane.bindings() {
        eprintln!("alb_bench: listener {} on {}", binding.port, binding.addr);
    }
    // Health changes are printed; the benchmark expects no other output.
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let model::health::DataPlaneEvent::Health { key, health } = event {
                eprintln!("alb_bench: {} {}", key.id, health.state.as_str());
            }
        }
    });
    plane.stopped().await;
    Ok(())
}

/// The seed stack's routing: two path rules, two targets each, a fixed 404 default.
fn seed(port: u16) -> RoutingSnapshot {
    let target = |ip: [u8; 4]| Target {
        id: format!("10.0.{}.{}", ip[2], ip[3]),
        port: 3000,
        addr: SocketAddr::from((ip, 3000)),
        availability_zone: None,
        draining_deadline_ms: None,
    };
    let group = |name: &str, targets: Vec<Target>| TargetGroup {
        arn: format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/0123456789abcdef"
        ),
        name: name.into(),
        protocol: "HTTP".into(),
        port: 3000,
        algorithm: Algorithm::RoundRobin,
        health_check: HealthCheck {
            enabled: true,
            protocol: "HTTP".into(),
            port: None,
            path: "/health".into(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        },
        deregistration_delay: Duration::from_secs(300),
        in_use: true,
        targets,
    };
    let product = group("product-svc", vec![target([127, 0, 0, 11]), target([127, 0, 0, 12])]);
    let user = group("user-svc", vec![target([127, 0, 0, 13]), target([127, 0, 0, 14])]);
    let forward = |arn: &str| {
        Action::Forward(Forward {
            target_groups: vec![WeightedTargetGroup { arn: arn.into(), weight: 1 }],
            stickiness: None,
        })
    };
    let rule = |priority: u32, path: &str, action: Action| Rule {
        arn: format!("rule-{priority}"),
        priority: Some(priority),
        conditions: vec![Condition::PathPattern(vec![path.into()])],
        action,
    };
    let rules = vec![
        rule(1, "/product-svc*", forward(&product.arn)),
        rule(2, "/user-svc*", forward(&user.arn)),
        Rule {
            arn: "default".into(),
            priority: None,
            conditions: vec![],
            action: Action::FixedResponse {
                status_code: 404,
                content_type: Some("text/plain".into()),
                body: Some("Not Found".into()),
            },
        },
    ];
    RoutingSnapshot {
        generation: 1,
        load_balancers: vec![LoadBalancer {
            arn:
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/bench/0123456789abcdef"
                    .into(),
            name: "bench".into(),
            dns_name: "bench-123456789.us-east-1.elb.localhost".into(),
            listeners: vec![Listener { arn: "listener".into(), port, protocol: "HTTP".into(), rules }],
            idle_timeout: Duration::from_secs(60),
            xff_mode: XffMode::Append,
            xff_client_port: false,
            drop_invalid_header_fields: false,
            preserve_host_header: false,
        }],
        target_groups: vec![product, user],
    }
}
