//! `demo-web`: the small web app behind the tutorial's two example services
//! (`product-svc`, `user-svc`), parameterised by service name.
//!
//! It owns everything the two binaries share: configuration from the
//! environment (`BERTH_BIND_ADDR`, `PORT`, `HOSTNAME`,
//! `ECS_CONTAINER_METADATA_URI_V4`), the routes (`GET /health`, the hello
//! page on every path the ALB rule `/<name>*` forwards, `GET /<name>/info`
//! with ECS task metadata, JSON 404s), the access log on stdout, and graceful
//! shutdown on SIGTERM/SIGINT. A binary only names itself and may add routes:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     demo_web::main(demo_web::Service::new("product-svc"))
//! }
//! ```
//!
//! It depends on no berth crate: the services are ordinary apps that run the
//! same on AWS ECS Fargate as under berth.

#![forbid(unsafe_code)]

mod app;
mod config;
mod metadata;

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

pub use app::{Service, VERSION, app};
pub use config::{
    Config, ConfigError, DEFAULT_PORT, ENV_BIND_ADDR, ENV_HOSTNAME, ENV_METADATA_URI, ENV_PORT, os_hostname,
};

/// Exit code for invalid configuration (bad `PORT`, `BERTH_BIND_ADDR`, ...).
pub const EXIT_CONFIG: u8 = 2;

/// Entry point of a service binary: logs to stdout, reads [`Config::from_env`],
/// serves until SIGTERM/SIGINT. Exit code 0 after a graceful shutdown,
/// [`EXIT_CONFIG`] (2) for invalid configuration, 1 for any other failure.
pub fn main(service: Service) -> ExitCode {
    init_logging();
    let name = service.name();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
        .and_then(|rt| rt.block_on(run(service, config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Binds `config.bind_addr` and serves [`app`] until SIGTERM or SIGINT, then
/// drains in-flight requests and returns.
pub async fn run(service: Service, config: Config) -> anyhow::Result<()> {
    // Install the handlers before accepting anything, so a SIGTERM that
    // arrives as soon as the port answers is already a graceful shutdown.
    let shutdown = shutdown_signal().context("installing signal handlers")?;
    let listener =
        TcpListener::bind(config.bind_addr).await.with_context(|| format!("binding {}", config.bind_addr))?;
    let name = service.name();
    tracing::info!("{name} {VERSION} starting");
    serve(listener, app(service, &config), shutdown).await.with_context(|| format!("serving {name}"))
}

/// Serves `app` on an already-bound `listener` until `shutdown` completes;
/// then stops accepting, lets in-flight requests finish and returns.
///
/// The client address is made available to the access log.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!("listening on {addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
        })
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Installs SIGTERM and SIGINT handlers now; the returned future completes
/// on the first of either signal.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("received {name}");
    })
}

/// Plain-text log lines on stdout (where ECS' awslogs driver picks them up);
/// level from `RUST_LOG`, default `info`. Does nothing if a global
/// subscriber is already set.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
