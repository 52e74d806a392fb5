//! Shared helpers of the ECS integration tests (`tests/ecs_*.rs`).
//!
//! # The services' binaries
//! `cargo test -p berth` builds `berth` but not `product-svc`: bins of other packages are never
//! built for a package's tests. [`service_binaries`] builds them once per test process with the
//! same cargo, target directory and profile as the berth under test, and returns their directory;
//! the tests pass `--image product-svc=<dir>/product-svc` so nothing depends on what else happens
//! to be in `target/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Berth, patience, wait_for};

/// The berth under test.
pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// Builds `product-svc` and `user-svc` (once) and returns the directory holding them.
pub fn service_binaries() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = Path::new(BERTH);
        let profile_dir = exe.parent().expect("berth's directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let started = Instant::now();
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "product-svc", "-p", "user-svc", "--profile", &profile])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(testkit::workspace_root())
            .status()
            .expect("running cargo build for the example services");
        assert!(status.success(), "cargo build -p product-svc -p user-svc failed");
        eprintln!("built product-svc and user-svc in {:.1?}", started.elapsed());
        profile_dir.to_path_buf()
    })
    .clone()
}

/// `--image product-svc=… --image user-svc=…` for `berth up`.
pub fn image_args() -> Vec<String> {
    let dir = service_binaries();
    let mut args = Vec::new();
    for name in ["product-svc", "user-svc"] {
        args.push("--image".to_string());
        args.push(format!("{name}={}", dir.join(name).display()));
    }
    args
}

/// A berth that runs the example services for the images `product-svc` and `user-svc`.
pub fn start_berth() -> Berth {
    let args = image_args();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Berth::start_with(BERTH, &refs)
}

/// `(vpc, [subnet in us-east-1a, subnet in us-east-1b])` made through the AWS CLI: VPC
/// `10.<octet>.0.0/16`, subnets `10.<octet>.2.0/24` and `10.<octet>.3.0/24`. Tests running side by
/// side use different octets: berth serves `10.B.C.D` on `127.B.C.D`, which two berths on one
/// host would otherwise both bind.
pub fn network(berth: &Berth, octet: u8) -> (String, Vec<String>) {
    let vpc_cidr = format!("10.{octet}.0.0/16");
    let vpc = berth.aws(&["ec2", "create-vpc", "--cidr-block", &vpc_cidr]).json()["Vpc"]["VpcId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for (third, az) in [(2, "us-east-1a"), (3, "us-east-1b")] {
        let cidr = format!("10.{octet}.{third}.0/24");
        let s = berth
            .aws(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &vpc,
                "--cidr-block",
                &cidr,
                "--availability-zone",
                az,
            ])
            .json();
        subnets.push(s["Subnet"]["SubnetId"].as_str().unwrap().to_string());
    }
    (vpc, subnets)
}

/// `aws ecs describe-tasks` of every task of the cluster (running and stopped).
pub fn all_tasks(berth: &Berth, cluster: &str) -> Vec<Value> {
    let mut arns = Vec::new();
    for status in ["RUNNING", "STOPPED"] {
        let listed =
            berth.aws(&["ecs", "list-tasks", "--cluster", cluster, "--desired-status", status]).json();
        arns.extend(listed["taskArns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()));
    }
    if arns.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["ecs", "describe-tasks", "--cluster", cluster, "--tasks"];
    args.extend(arns.iter().map(String::as_str));
    berth.aws(&args).json()["tasks"].as_array().unwrap().clone()
}

/// The tasks that are RUNNING and meant to keep running.
pub fn running_tasks(berth: &Berth, cluster: &str) -> Vec<Value> {
    all_tasks(berth, cluster)
        .into_iter()
        .filter(|t| t["lastStatus"] == "RUNNING" && t["desiredStatus"] == "RUNNING")
        .collect()
}

/// Waits (bounded) until exactly `n` tasks run and `check` accepts them; returns them.
pub fn wait_running(
    berth: &Berth,
    cluster: &str,
    n: usize,
    timeout: Duration,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    let got = wait_for(patience(timeout), || {
        let running = running_tasks(berth, cluster);
        let ok = running.len() == n && check(&running);
        last = running.clone();
        ok.then_some(running)
    });
    got.unwrap_or_else(|| {
        panic!(
            "{n} running tasks expected within {timeout:?}; have {}: {}",
            last.len(),
            serde_json::to_string_pretty(&all_tasks(berth, cluster)).unwrap()
        )
    })
}

/// A task's private IPv4 address (from its ENI attachment).
pub fn task_ip(task: &Value) -> String {
    task["attachments"][0]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "privateIPv4Address")
        .and_then(|d| d["value"].as_str())
        .unwrap()
        .to_string()
}

pub fn task_detail(task: &Value, name: &str) -> String {
    task["attachments"][0]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .and_then(|d| d["value"].as_str())
        .unwrap()
        .to_string()
}

/// Where berth serves a task's VPC address: `10.0.2.4` → `127.0.2.4`.
pub fn host_of(ip: &str) -> String {
    let mut parts: Vec<&str> = ip.split('.').collect();
    parts[0] = "127";
    parts.join(".")
}

/// The last path segment of an ARN (a task's id).
pub fn id_of(arn: &str) -> String {
    arn.rsplit('/').next().unwrap().to_string()
}

/// Pids of live processes whose executable is `exe` (from the process table).
pub fn pids_of(exe: &Path) -> Vec<u32> {
    let want = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(target) = std::fs::read_link(entry.path().join("exe")) else { continue };
        // A zombie has no exe link; a replaced binary reads "<path> (deleted)".
        let target = PathBuf::from(target.to_string_lossy().trim_end_matches(" (deleted)"));
        if target == want {
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = state.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'));
            if !zombie {
                pids.push(pid);
            }
        }
    }
    pids
}

/// The pid of the process serving `host_ip` (its environment holds `BERTH_BIND_ADDR=host_ip`).
pub fn pid_serving(exe: &Path, host_ip: &str) -> Option<u32> {
    pids_of(exe).into_iter().find(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .map(|env| env.split(|b| *b == 0).any(|kv| kv == format!("BERTH_BIND_ADDR={host_ip}").as_bytes()))
            .unwrap_or(false)
    })
}

/// Resident memory of a process, in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The service's events, newest first, as one text.
pub fn events(berth: &Berth, cluster: &str, service: &str) -> String {
    let out = berth.aws(&["ecs", "describe-services", "--cluster", cluster, "--services", service]).json();
    out["services"][0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Polls `f` every 20 ms until it is true; returns how long that took (panics after `timeout`).
pub fn time_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    let deadline = started + patience(timeout);
    loop {
        if f() {
            return started.elapsed();
        }
        assert!(Instant::now() < deadline, "not within {timeout:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of live processes of `exe` started by the berth at `endpoint` (their environment points
/// their SDKs at it), so tests running side by side do not see each other's tasks.
pub fn pids_of_berth(exe: &Path, endpoint: &str) -> Vec<u32> {
    let needle = format!("AWS_ENDPOINT_URL={endpoint}");
    pids_of(exe)
        .into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Seconds since the epoch, as ECS timestamps are.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Processes whose environment points at this berth's task metadata endpoint: its tasks.
pub fn task_processes_of(endpoint: &str) -> Vec<u32> {
    let needle = format!("ECS_CONTAINER_METADATA_URI_V4={endpoint}/");
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(env) = std::fs::read(entry.path().join("environ"))
            && env.split(|b| *b == 0).any(|kv| kv.starts_with(needle.as_bytes()))
        {
            // A zombie keeps its environ until reaped; only count live processes.
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if !state.split(") ").nth(1).unwrap_or("").starts_with('Z') {
                pids.push(pid);
            }
        }
    }
    pids
}
