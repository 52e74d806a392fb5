//! The commands and their flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::server;

/// berth: an ECS Fargate + ALB stack of AWS running on one machine.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run berth's AWS endpoint in the foreground until Ctrl-C or SIGTERM.
    Up(UpArgs),
    /// Print the shell exports that point terraform and the AWS CLI at berth.
    Env(EnvArgs),
    /// Print the captured stdout/stderr of a service's tasks or of one task.
    Logs(crate::logs::LogsArgs),
    /// Show the load balancers of a running berth and where each listener really listens.
    Status(crate::load_balancing::StatusArgs),
}

/// Where berth listens and keeps its state.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// Address of the AWS API endpoint. Binding anything but loopback exposes an
    /// unauthenticated AWS API to the network, so berth warns about it.
    #[arg(long, default_value = server::DEFAULT_LISTEN, env = "BERTH_LISTEN")]
    pub listen: SocketAddr,
    /// Directory for berth's database, task logs and other state.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Region for requests that do not name one.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    pub region: String,
    /// Quick local loops: health checks every 1 s instead of the target group's interval and
    /// draining capped at 2 s. The AWS API keeps reporting the configured values.
    #[arg(long, env = "BERTH_FAST")]
    pub fast: bool,
    /// Where load balancer listeners are served: `prefer` (the listener's own port, e.g. 80, when
    /// berth may bind it, else an ephemeral one), `exact`, `ephemeral`, or `offset:N` (port + N).
    /// `GET /_berth/load-balancers` shows the real address of every listener.
    #[arg(long, default_value = "prefer", env = "BERTH_LISTENER_PORTS", value_parser = crate::load_balancing::parse_port_mapping)]
    pub listener_ports: crate::load_balancing::PortMapping,
    /// Run IMAGE as the program at PATH (repeatable; wins over `berth.toml [images]`). Without a
    /// mapping, an image runs the executable named like its last path segment found beside
    /// berth, then on PATH.
    #[arg(long = "image", value_name = "IMAGE=PATH", value_parser = crate::tasks::parse_image_mapping)]
    pub images: Vec<(String, PathBuf)>,
}

#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// The data dir of a running berth whose endpoint to use.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Use this endpoint instead of the one a running berth recorded.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Region to export.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    pub region: String,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => {
            server::up(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs(args) => {
            crate::logs::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            crate::load_balancing::status_command(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Env(args) => {
            let endpoint = match args.endpoint {
                Some(e) => e,
                None => server::recorded_endpoint(&args.data_dir)
                    .with_context(|| format!("reading {}", args.data_dir.display()))?
                    .unwrap_or_else(|| format!("http://{}", server::DEFAULT_LISTEN)),
            };
            print!("{}", server::exports(&endpoint, &args.region));
            Ok(ExitCode::SUCCESS)
        }
    }
}
