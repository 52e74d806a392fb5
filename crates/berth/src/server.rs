//! `berth up`: claims the data dir, binds the endpoint, opens the control plane, starts the data
//! plane and the task runtime, brings a stack up when given one, and serves until told to stop.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use cloud::Cloud;
use cloud::edge::ServiceId;
use serde_json::json;
use tokio::sync::watch;

use crate::cli::UpArgs;
use crate::instance::Instance;
use crate::stack::{self, Progress, Stack};

/// LocalStack's edge port, so `tflocal` and `awslocal` work unchanged.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4566";

/// The environment that points terraform and the AWS CLI at `endpoint`. Both region variables:
/// the AWS CLI v1 and boto3 read only `AWS_DEFAULT_REGION`, SDKs and the CLI v2 read `AWS_REGION`.
pub fn client_env(endpoint: &str, region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", region.to_string()),
        ("AWS_DEFAULT_REGION", region.to_string()),
    ]
}

/// [`client_env`] as shell exports (`berth env`, `berth up`'s banner).
pub fn exports(endpoint: &str, region: &str) -> String {
    client_env(endpoint, region).into_iter().map(|(k, v)| format!("export {k}={v}\n")).collect()
}

/// Runs berth until Ctrl-C or SIGTERM; with a stack directory, also brings that stack up.
pub async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // One berth per data dir, claimed before anything else so a second one fails fast.
    let instance = Instance::claim(&args.data_dir)?;
    if let Some(dir) = &args.stack {
        stack::check_dir(dir)?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
        format!("cannot listen on {} (is another berth or LocalStack running?)", args.listen)
    })?;
    let addr: SocketAddr = listener.local_addr().context("reading the bound address")?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "berth is listening on a non-loopback address: anyone who can reach it can use its unauthenticated AWS API and start processes on this machine"
        );
    }
    let endpoint = format!("http://{addr}");
    let cloud = Cloud::open(cloud::Config {
        default_region: args.region.clone(),
        data_dir: args.data_dir.clone(),
        endpoint: endpoint.clone(),
        fast: args.fast,
    })
    .with_context(|| format!("opening berth's state in {}", args.data_dir.display()))?;
    let cloud = Arc::new(cloud);
    let load_balancing = crate::load_balancing::start(Arc::clone(&cloud), args.listener_ports).await?;
    let tasks = crate::tasks::start(
        Arc::clone(&cloud),
        crate::tasks::TasksConfig { data_dir: args.data_dir.clone(), images: args.images.clone() },
    )
    .await?;

    let app = Router::new()
        .route("/_berth/health", get(berth_health))
        .route("/_localstack/health", get(localstack_health))
        .with_state(Arc::clone(&cloud))
        .merge(crate::status::router(Arc::clone(&cloud), load_balancing.bindings()))
        .merge(crate::task_metadata::router(Arc::clone(&cloud)))
        .merge(cloud::edge::router(Arc::clone(&cloud)));

    instance.record_endpoint(&endpoint)?;
    println!("berth {} ready: {endpoint}", env!("CARGO_PKG_VERSION"));
    println!("data dir {}, region {}", args.data_dir.display(), args.region);
    println!("point terraform and the AWS CLI at it with:");
    print!("{}", exports(&endpoint, &args.region));

    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn({
        let shutdown_tx = shutdown_tx.clone();
        async move {
            shutdown_signal().await;
            let _ = shutdown_tx.send(true);
        }
    });
    let server = tokio::spawn(
        axum::serve(listener, app).with_graceful_shutdown(requested(shutdown.clone())).into_future(),
    );

    let mut code = ExitCode::SUCCESS;
    if let Some(dir) = &args.stack {
        instance.record_stack(dir)?;
        let stack = Stack::new(dir, &endpoint, &args.region, &args.data_dir)?.cancel_on(shutdown.clone());
        let progress = Progress::new();
        let outcome =
            stack::bring_up(&cloud, &load_balancing.bindings(), &stack, &progress, shutdown.clone()).await;
        progress.finish();
        match outcome {
            Ok(summary) => {
                print!("{summary}");
                println!(
                    "berth is serving the stack. `berth status` shows it; Ctrl-C stops the tasks and keeps \
                     the state (the next `berth up {}` resumes it); `berth down --destroy` removes it.",
                    dir.display()
                );
            }
            Err(e) => {
                eprintln!("berth: {e:#}");
                code = ExitCode::FAILURE;
                let _ = shutdown_tx.send(true);
            }
        }
    }

    let served = server.await.context("the API server task failed")?;
    tasks.stop().await;
    load_balancing.stop().await;
    drop(instance);
    served.context("serving the AWS endpoint")?;
    tracing::info!("berth stopped");
    Ok(code)
}

/// Resolves once shutdown is requested.
pub async fn requested(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn berth_health(State(cloud): State<Arc<Cloud>>) -> Json<serde_json::Value> {
    let services: serde_json::Map<String, serde_json::Value> = ServiceId::ALL
        .iter()
        .map(|s| {
            (s.signing_name().to_string(), json!({"status": "running", "operations": s.operations().len()}))
        })
        .collect();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": cloud.uptime().as_secs_f64(),
        "services": services,
    }))
}

/// LocalStack's health document, so tools that wait on it (tflocal, testcontainers) work.
async fn localstack_health() -> Json<serde_json::Value> {
    let services: serde_json::Map<String, serde_json::Value> =
        ServiceId::ALL.iter().map(|s| (localstack_name(*s).to_string(), json!("running"))).collect();
    Json(json!({
        "services": services,
        "edition": "community",
        "version": format!("berth-{}", env!("CARGO_PKG_VERSION")),
    }))
}

fn localstack_name(s: ServiceId) -> &'static str {
    match s {
        ServiceId::Elbv2 => "elbv2",
        other => other.signing_name(),
    }
}
