//! `berth`: the command line. Parses flags and runs one command; the work lives in the library
//! crates (`cloud`, `alb`, `runtime`) and in this crate's [`server`] wiring.

#![forbid(unsafe_code)]

mod cli;
mod client;
mod instance;
mod load_balancing;
mod logs;
mod server;
mod stack;
mod status;
mod task_metadata;
mod tasks;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: could not start the async runtime: {e}");
            return ExitCode::from(70);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("berth: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `BERTH_LOG` (or `RUST_LOG`) filters them, `info` by default.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("BERTH_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_string());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
