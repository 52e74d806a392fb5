//! The commands and their flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::stack::{Progress, Stack};
use crate::{client, instance, server};

/// `berth down [--destroy]`.
async fn down(args: DownArgs) -> anyhow::Result<ExitCode> {
    if !instance::is_running(&args.data_dir) {
        if args.destroy {
            anyhow::bail!(
                "no berth is running with data dir {}: start it (`berth up <stack>`) so terraform destroy can reach the stack",
                args.data_dir.display()
            );
        }
        println!("no berth is running with data dir {}", args.data_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    if args.destroy {
        let endpoint = client::endpoint_of(&args.data_dir)?;
        let dir = args.stack.or_else(|| instance::recorded_stack(&args.data_dir)).with_context(|| {
            format!(
                "berth on {} applied no stack; name the one to destroy: berth down --destroy <STACK_DIR>",
                args.data_dir.display()
            )
        })?;
        let stack = Stack::new(&dir, &endpoint, &args.region, &args.data_dir)?;
        let progress = Progress::new();
        let destroyed = stack.destroy(&progress).await;
        progress.finish();
        destroyed?;
    }
    instance::stop(&args.data_dir, std::time::Duration::from_secs(120)).await?;
    println!("berth stopped");
    Ok(ExitCode::SUCCESS)
}

/// berth: an ECS Fargate + ALB stack of AWS running on one machine.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run berth in the foreground until Ctrl-C or SIGTERM; given a Terraform directory, also
    /// `terraform init` + `apply` it against berth and wait until it is ready.
    Up(UpArgs),
    /// Stop the berth running on a data dir; with --destroy, `terraform destroy` its stack first.
    Down(DownArgs),
    /// Print the shell exports that point terraform and the AWS CLI at berth.
    Env(EnvArgs),
    /// Print the captured stdout/stderr of a service's tasks or of one task.
    Logs(crate::logs::LogsArgs),
    /// Show a running berth: load balancers and where they listen, rules, targets and their
    /// health, services and tasks.
    Status(crate::status::StatusArgs),
}

/// Where berth listens and keeps its state.
#[derive(Debug, Clone, clap::Args)]
pub struct UpArgs {
    /// A Terraform configuration to apply against berth (e.g. `examples/two-services`). Its
    /// terraform state stays in that directory; the next `berth up` with it resumes the stack.
    #[arg(value_name = "STACK_DIR")]
    pub stack: Option<PathBuf>,
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
pub struct DownArgs {
    /// The data dir of the berth to stop.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Run `terraform destroy` on the stack first (the one `berth up` applied, or STACK_DIR).
    #[arg(long)]
    pub destroy: bool,
    /// The stack to destroy, when it is not the one `berth up` recorded.
    #[arg(value_name = "STACK_DIR")]
    pub stack: Option<PathBuf>,
    /// Region terraform runs in.
    #[arg(long, default_value = "us-east-1", env = "AWS_REGION")]
    pub region: String,
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
        Command::Up(args) => server::up(args).await,
        Command::Down(args) => down(args).await,
        Command::Logs(args) => {
            crate::logs::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            crate::status::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Env(args) => {
            let endpoint = match args.endpoint {
                Some(e) => e,
                None => instance::recorded_endpoint(&args.data_dir)
                    .with_context(|| format!("reading {}", args.data_dir.display()))?
                    .unwrap_or_else(|| format!("http://{}", server::DEFAULT_LISTEN)),
            };
            print!("{}", server::exports(&endpoint, &args.region));
            Ok(ExitCode::SUCCESS)
        }
    }
}
