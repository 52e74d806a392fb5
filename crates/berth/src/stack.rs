//! `berth up <stack-dir>` and `berth down --destroy`: terraform driven against this berth.
//!
//! berth runs the user's own `terraform` in the stack directory with the AWS provider pointed at
//! berth (`AWS_ENDPOINT_URL`, dummy credentials). When a provider mirror is configured
//! (`$BERTH_TF_PLUGIN_MIRROR`, else `/opt/tf-plugins` if it exists) berth writes a terraform CLI
//! config that installs `hashicorp/aws` from it, so the example works offline; otherwise terraform
//! uses the registry as usual. Terraform's state stays where terraform keeps it (the stack
//! directory), so plain `terraform plan` there keeps working while berth runs.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use cloud::Cloud;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

/// The provider mirror to install `hashicorp/aws` from, if any. (testkit applies the same rule on
/// its own, so the tests would notice this one going wrong.)
pub fn plugin_mirror() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_TF_PLUGIN_MIRROR").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = Path::new("/opt/tf-plugins");
    default.is_dir().then(|| default.to_path_buf())
}

/// A terraform CLI configuration that installs `hashicorp/aws` from `mirror` and everything else
/// from the registry.
pub fn cli_config(mirror: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
        mirror.display()
    )
}

/// The `terraform` executable, or an error that says how to get it.
fn terraform_path() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|d| d.join("terraform")).find(|p| p.is_file()).ok_or_else(|| {
        anyhow::anyhow!(
            "terraform is not installed (not found on PATH).\n  Install it from https://developer.hashicorp.com/terraform/install \
             (or your package manager), then run this command again.\n  berth itself is running fine without it: \
             `berth up` without a stack directory serves the AWS endpoint alone."
        )
    })
}

/// How progress is shown: a live bar on a terminal, plain lines otherwise (logs, CI).
pub enum Progress {
    Bar(ProgressBar),
    /// Plain lines; the last one printed, so a repeated state is not printed again.
    Lines(std::sync::Mutex<String>),
}

impl Progress {
    pub fn new() -> Self {
        if std::io::stdout().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress::Bar(bar)
        } else {
            Progress::Lines(std::sync::Mutex::new(String::new()))
        }
    }

    /// A step that has no count (init, waiting).
    pub fn stage(&self, msg: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_length(0);
                bar.set_position(0);
                bar.set_message(msg.to_string());
            }
            Progress::Lines(last) => print_once(last, format!("berth: {msg}")),
        }
    }

    /// Counted progress (`done` of `total`).
    pub fn count(&self, done: u64, total: u64, msg: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_length(total.max(done));
                bar.set_position(done);
                bar.set_message(msg.to_string());
            }
            Progress::Lines(last) => print_once(last, format!("berth: [{done}/{total}] {msg}")),
        }
    }

    /// A line that stays visible above the bar.
    pub fn note(&self, msg: &str) {
        match self {
            Progress::Bar(bar) => bar.println(msg),
            Progress::Lines(_) => println!("berth: {msg}"),
        }
    }

    pub fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn print_once(last: &std::sync::Mutex<String>, line: String) {
    let Ok(mut last) = last.lock() else {
        println!("{line}");
        return;
    };
    if *last != line {
        println!("{line}");
        *last = line;
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// A terraform configuration directory driven against berth.
pub struct Stack {
    dir: PathBuf,
    terraform: PathBuf,
    env: Vec<(String, String)>,
    cancel: Option<watch::Receiver<bool>>,
}

/// How long terraform may take to exit after SIGINT before it is killed.
const TERRAFORM_EXIT_GRACE: Duration = Duration::from_secs(90);

/// Resolves when `cancel` turns true; never without one.
async fn cancelled(cancel: &mut Option<watch::Receiver<bool>>) {
    match cancel {
        Some(rx) => {
            if rx.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// What `terraform apply`/`destroy` printed that berth turns into progress.
#[derive(Debug, Default, PartialEq, Eq)]
struct ApplyProgress {
    total: Option<u64>,
    done: u64,
}

impl ApplyProgress {
    /// Reads one line of terraform's output; returns a message worth showing, if any.
    fn observe(&mut self, line: &str) -> Option<String> {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Plan: ") {
            // "Plan: 34 to add, 0 to change, 0 to destroy."
            let total: u64 =
                rest.split(", ").filter_map(|part| part.split_whitespace().next()?.parse::<u64>().ok()).sum();
            self.total = Some(total);
            return Some(line.to_string());
        }
        if line.contains(": Creation complete after")
            || line.contains(": Modifications complete after")
            || line.contains(": Destruction complete after")
        {
            self.done += 1;
            return Some(line.to_string());
        }
        if line.contains(": Still ") || line.contains(": Creating...") || line.contains(": Destroying...") {
            return Some(line.to_string());
        }
        None
    }
}

/// Checks that `dir` is a Terraform configuration and that terraform is installed, before berth
/// starts anything.
pub fn check_dir(dir: &Path) -> anyhow::Result<()> {
    terraform_path()?;
    if !dir.is_dir() {
        bail!("stack directory {} does not exist", dir.display());
    }
    let has_tf = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| e.path().extension().is_some_and(|x| x == "tf"));
    if !has_tf {
        bail!(
            "{} holds no *.tf files: give berth up the directory of a Terraform configuration",
            dir.display()
        );
    }
    Ok(())
}

impl Stack {
    /// Prepares to run terraform in `dir` against `endpoint`. Writes berth's terraform CLI config
    /// (provider mirror) into `data_dir` when a mirror is configured.
    pub fn new(dir: &Path, endpoint: &str, region: &str, data_dir: &Path) -> anyhow::Result<Self> {
        check_dir(dir)?;
        let terraform = terraform_path()?;
        let mut env: Vec<(String, String)> = crate::server::client_env(endpoint, region)
            .into_iter()
            .chain([
                ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
                ("TF_IN_AUTOMATION", "1".to_string()),
                ("TF_INPUT", "0".to_string()),
                ("CHECKPOINT_DISABLE", "1".to_string()),
            ])
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if let Some(mirror) = plugin_mirror() {
            // Absolute: terraform runs in the stack directory, not in berth's.
            let path = std::path::absolute(data_dir.join("terraform.rc"))
                .with_context(|| format!("resolving {}", data_dir.display()))?;
            std::fs::write(&path, cli_config(&mirror))
                .with_context(|| format!("writing {}", path.display()))?;
            env.push(("TF_CLI_CONFIG_FILE".to_string(), path.display().to_string()));
        }
        Ok(Self { dir: dir.to_path_buf(), terraform, env, cancel: None })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Asks [`Stack::run`] to interrupt terraform when `cancel` turns true: terraform gets SIGINT,
    /// finishes the calls in flight and saves its state before it exits (a SIGKILL could lose
    /// the record of a resource it just created).
    pub fn cancel_on(mut self, cancel: watch::Receiver<bool>) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Runs terraform, feeding stdout lines to `on_line`; the exit code (0, or 2 for a plan with
    /// changes), or an error with the tail of its output.
    async fn run(&self, args: &[&str], mut on_line: impl FnMut(&str)) -> anyhow::Result<i32> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting terraform {}", args.join(" ")))?;
        let stdout = child.stdout.take().context("terraform stdout")?;
        let mut stderr = child.stderr.take().context("terraform stderr")?;
        let err_reader = tokio::spawn(async move {
            let mut buf = String::new();
            let _ = stderr.read_to_string(&mut buf).await;
            buf
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut transcript = String::new();
        let mut cancel = self.cancel.clone();
        let mut interrupted = false;
        loop {
            tokio::select! {
                line = lines.next_line() => match line.context("reading terraform output")? {
                    Some(line) => {
                        on_line(&line);
                        transcript.push_str(&line);
                        transcript.push('\n');
                    }
                    None => break,
                },
                () = cancelled(&mut cancel), if !interrupted => {
                    interrupted = true;
                    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                        tracing::warn!("interrupting terraform; it saves its state before it exits");
                        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGINT);
                    }
                }
            }
        }
        let status = match tokio::time::timeout(TERRAFORM_EXIT_GRACE, child.wait()).await {
            Ok(status) => status.context("waiting for terraform")?,
            Err(_) => {
                let _ = child.kill().await;
                bail!("terraform did not exit within {TERRAFORM_EXIT_GRACE:?} of being interrupted");
            }
        };
        let stderr = err_reader.await.unwrap_or_default();
        if interrupted {
            bail!(
                "terraform {} was interrupted; its state is saved, run berth up again to finish",
                args.join(" ")
            );
        }
        let code = status.code().unwrap_or(-1);
        if code != 0 && code != 2 {
            bail!(
                "terraform {} failed (exit {code}) in {}:\n{}{}",
                args.join(" "),
                self.dir.display(),
                tail(&transcript, 40),
                stderr
            );
        }
        Ok(code)
    }

    pub async fn init(&self, progress: &Progress) -> anyhow::Result<()> {
        progress.stage("terraform init");
        let started = Instant::now();
        self.run(&["init", "-input=false", "-no-color"], |_| {}).await?;
        progress.note(&format!("terraform init done in {:.1?}", started.elapsed()));
        Ok(())
    }

    /// `terraform plan -detailed-exitcode`: true when there is nothing to change.
    pub async fn plan_is_empty(&self, progress: &Progress) -> anyhow::Result<bool> {
        progress.stage("terraform plan (is the stack already applied?)");
        let code = self
            .run(&["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock=false"], |_| {})
            .await?;
        Ok(code == 0)
    }

    pub async fn apply(&self, progress: &Progress) -> anyhow::Result<()> {
        self.run_counted(
            &["apply", "-auto-approve", "-input=false", "-no-color"],
            "terraform apply",
            progress,
        )
        .await
    }

    pub async fn destroy(&self, progress: &Progress) -> anyhow::Result<()> {
        self.run_counted(
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
            "terraform destroy",
            progress,
        )
        .await
    }

    async fn run_counted(&self, args: &[&str], what: &str, progress: &Progress) -> anyhow::Result<()> {
        progress.stage(what);
        let started = Instant::now();
        let mut state = ApplyProgress::default();
        self.run(args, |line| {
            if let Some(msg) = state.observe(line) {
                match state.total {
                    Some(total) => progress.count(state.done, total, &msg),
                    None => progress.stage(&msg),
                }
            }
        })
        .await?;
        progress.note(&format!("{what} done in {:.1?} ({} resources)", started.elapsed(), state.done));
        Ok(())
    }

    /// Whether terraform's local state records any resource (a stack applied before).
    pub fn has_state(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.dir.join("terraform.tfstate")) else {
            return false;
        };
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["resources"].as_array().map(|r| !r.is_empty()))
            .unwrap_or(false)
    }

    /// `terraform output -json`.
    pub async fn outputs(&self) -> anyhow::Result<serde_json::Value> {
        let out =
            self.command(&["output", "-json", "-no-color"]).output().await.context("terraform output")?;
        if !out.status.success() {
            bail!("terraform output failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("terraform output is not JSON")
    }
}

/// How long `berth up` waits for tasks to run and targets to be healthy before it says so and
/// keeps serving anyway (a task that never gets healthy is for `berth status` to explain).
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// `berth up <stack>`: init, apply unless the state is already applied, wait until every service
/// runs its desired tasks and every target a rule uses is healthy, then describe what is served.
pub async fn bring_up(
    cloud: &Arc<Cloud>,
    bindings: &watch::Receiver<Vec<alb::ListenerBinding>>,
    stack: &Stack,
    progress: &Progress,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<String> {
    let started = Instant::now();
    stack.init(progress).await?;
    if stack.has_state() && stack.plan_is_empty(progress).await? {
        progress.note("the stack is already applied (terraform plan is empty): resuming it");
    } else {
        stack.apply(progress).await?;
    }
    let ready = wait_until_ready(cloud, progress, shutdown).await?;
    let outputs = stack.outputs().await?;
    let report = report(cloud).await?;
    let mut summary = summary(&outputs, &report, &bindings.borrow());
    let took = started.elapsed();
    summary.push_str(&if ready {
        format!("ready in {took:.1?}: every service runs its tasks and every target is healthy\n")
    } else {
        format!(
            "not everything became ready within {READY_TIMEOUT:?} (see `berth status`); berth keeps serving\n"
        )
    });
    Ok(summary)
}

async fn report(cloud: &Arc<Cloud>) -> anyhow::Result<cloud::status::Report> {
    let c = Arc::clone(cloud);
    tokio::task::spawn_blocking(move || cloud::status::report(&c))
        .await
        .context("reading berth's state")?
        .map_err(|e| anyhow::anyhow!("reading berth's state: {e}"))
}

/// Counts what is ready in a report: `(running, desired, healthy, expected targets)`.
fn readiness(r: &cloud::status::Report) -> (u64, u64, u64, u64) {
    let active = r.services.iter().filter(|s| s.status == "ACTIVE");
    let (mut running, mut desired) = (0u64, 0u64);
    for s in active {
        running += u64::try_from(s.running.min(s.desired)).unwrap_or(0);
        desired += u64::try_from(s.desired).unwrap_or(0);
    }
    let (mut healthy, mut targets) = (0u64, 0u64);
    for tg in r.target_groups.iter().filter(|tg| tg.in_use) {
        for t in tg.targets.iter().filter(|t| t.state != "draining") {
            targets += 1;
            healthy += u64::from(t.state == "healthy");
        }
    }
    (running, desired, healthy, targets)
}

/// Waits until services run their desired tasks and every target in use is healthy; false when
/// [`READY_TIMEOUT`] passed first.
async fn wait_until_ready(
    cloud: &Arc<Cloud>,
    progress: &Progress,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<bool> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let report = report(cloud).await?;
        let (running, desired, healthy, targets) = readiness(&report);
        // Zero targets is "not yet" while a service is still to register its tasks.
        let registers_targets =
            report.services.iter().any(|s| s.status == "ACTIVE" && s.desired > 0 && s.load_balanced);
        progress.count(
            running + healthy,
            desired + targets,
            &format!("{running}/{desired} tasks running, {healthy}/{targets} targets healthy"),
        );
        if running == desired && healthy == targets && (targets > 0 || !registers_targets) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.wait_for(|s| *s) => bail!("interrupted while waiting for the stack to become ready"),
        }
    }
}

/// The stack's outputs, with every load balancer DNS name turned into URLs to open.
fn summary(
    outputs: &serde_json::Value,
    report: &cloud::status::Report,
    bindings: &[alb::ListenerBinding],
) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\nOutputs:\n");
    let empty = serde_json::Map::new();
    let outputs = outputs.as_object().unwrap_or(&empty);
    if outputs.is_empty() {
        out.push_str("  (none)\n");
    }
    for (name, o) in outputs {
        let value = match &o["value"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "  {name} = {value}");
    }
    for lb in &report.load_balancers {
        for l in &lb.listeners {
            let Some(b) = crate::status::binding_of(bindings, &lb.arn, l.port) else {
                continue;
            };
            let base = crate::status::listener_url(&lb.dns_name, b.addr.port());
            let _ =
                writeln!(out, "\nLoad balancer {} (listener :{}, served on {}):", lb.name, l.port, b.addr);
            let mut paths: Vec<String> = l
                .rules
                .iter()
                .flat_map(|r| r.conditions.iter())
                .filter_map(|c| c.strip_prefix("path-pattern "))
                .flat_map(|v| v.split(", "))
                .map(|p| p.trim_end_matches('*').trim_start_matches('/').to_string())
                .filter(|p| !p.contains(['*', '?']))
                .collect();
            paths.dedup();
            if paths.is_empty() {
                paths.push(String::new());
            }
            for p in paths {
                let _ = writeln!(out, "  {base}{p}");
            }
        }
    }
    out.push('\n');
    out
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = lines[start..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_output_becomes_counted_progress() {
        let mut p = ApplyProgress::default();
        assert!(p.observe("Terraform will perform the following actions:").is_none());
        assert!(p.observe("Plan: 34 to add, 0 to change, 0 to destroy.").is_some());
        assert_eq!(p.total, Some(34));
        p.observe("aws_vpc.this[0]: Creating...");
        p.observe("aws_vpc.this[0]: Creation complete after 1s [id=vpc-0a1b2c3d4e5f67890]");
        p.observe("aws_alb.alb: Still creating... [30s elapsed]");
        p.observe("module.vpc.aws_subnet.public[1]: Destruction complete after 0s");
        assert_eq!(p.done, 2);
        let mut d = ApplyProgress::default();
        d.observe("Plan: 0 to add, 2 to change, 1 to destroy.");
        assert_eq!(d.total, Some(3));
    }

    #[test]
    fn cli_config_names_the_mirror() {
        let text = cli_config(Path::new("/opt/tf-plugins"));
        assert!(text.contains("path    = \"/opt/tf-plugins\""));
        assert!(text.contains("exclude = [\"registry.terraform.io/hashicorp/aws\"]"));
    }
}
