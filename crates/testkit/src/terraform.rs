//! `terraform` in a temporary copy of a configuration, pointed at a berth.
//!
//! The AWS provider comes from a filesystem mirror so no registry access is needed: the mirror
//! is `$BERTH_TF_PLUGIN_MIRROR`, else `/opt/tf-plugins` when it exists. With neither, terraform
//! uses its normal registry download (a user online needs nothing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// A terraform working directory.
pub struct Terraform {
    dir: WorkDir,
    env: Vec<(String, String)>,
}

enum WorkDir {
    /// A temporary copy owned by this value.
    Owned(tempfile::TempDir),
    /// A directory someone else owns (e.g. a stack `berth up` applied).
    Borrowed(PathBuf),
}

impl WorkDir {
    fn path(&self) -> &Path {
        match self {
            WorkDir::Owned(t) => t.path(),
            WorkDir::Borrowed(p) => p,
        }
    }
}

/// A temporary copy of a terraform configuration (`*.tf`, `*.tfvars`, `*.toml` and `modules/`, or
/// only `files` plus `modules/`).
pub fn copy_config(config: &Path, files: Option<&[&str]>) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("berth-tf-").tempdir().expect("temp dir");
    copy_tree(config, dir.path(), files);
    dir
}

/// The provider mirror to use, if any: the same rule as `berth up`'s (`crates/berth/src/stack.rs`),
/// kept apart on purpose: a test harness that borrowed berth's would not notice berth getting it
/// wrong.
pub fn plugin_mirror() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_TF_PLUGIN_MIRROR").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = Path::new("/opt/tf-plugins");
    default.is_dir().then(|| default.to_path_buf())
}

/// A terraform CLI config that installs `hashicorp/aws` from `mirror`.
pub fn cli_config(mirror: &Path) -> String {
    format!(
        r#"provider_installation {{
  filesystem_mirror {{
    path    = "{}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"#,
        mirror.display()
    )
}

fn copy_tree(from: &Path, to: &Path, files: Option<&[&str]>) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if path.is_dir() {
            if name == "modules" || (files.is_none() && !name.starts_with('.')) {
                copy_tree(&path, &to.join(&name), None);
            }
            continue;
        }
        let wanted = match files {
            Some(list) => list.contains(&name.as_str()),
            None => name.ends_with(".tf") || name.ends_with(".tfvars") || name.ends_with(".toml"),
        };
        if wanted {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

impl Terraform {
    pub(crate) fn new(config: &Path, files: Option<&[&str]>, env: Vec<(String, String)>) -> Self {
        Self::with_dir(WorkDir::Owned(copy_config(config, files)), env)
    }

    /// Terraform in an existing directory (not copied, not removed), e.g. a stack `berth up`
    /// applied, with the environment that points AWS clients at a berth.
    pub fn at(dir: &Path, env: Vec<(String, String)>) -> Self {
        Self::with_dir(WorkDir::Borrowed(dir.to_path_buf()), env)
    }

    fn with_dir(dir: WorkDir, mut env: Vec<(String, String)>) -> Self {
        // Outside the working directory so `terraform` never mistakes it for configuration.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let rc = std::env::temp_dir().join(format!("berth-test-{}-{n}.terraformrc", std::process::id()));
        let text = plugin_mirror().map(|mirror| cli_config(&mirror)).unwrap_or_default();
        std::fs::write(&rc, text).expect("write cli config");
        env.push(("TF_CLI_CONFIG_FILE".into(), rc.display().to_string()));
        env.push(("TF_IN_AUTOMATION".into(), "1".into()));
        env.push(("CHECKPOINT_DISABLE".into(), "1".into()));
        env.push(("TF_INPUT".into(), "0".into()));
        Terraform { dir, env }
    }

    /// The same working directory, pointed at another endpoint (berth restarted on a new port).
    pub fn with_endpoint(mut self, endpoint: &str) -> Self {
        for (k, v) in &mut self.env {
            if k == "AWS_ENDPOINT_URL" {
                *v = endpoint.to_string();
            }
        }
        self
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `terraform <args>` and returns its output (whatever the exit code).
    pub fn run(&self, args: &[&str]) -> Output {
        let started = Instant::now();
        let out = Command::new("terraform")
            .args(args)
            .current_dir(self.dir())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap_or_else(|e| panic!("running terraform: {e}"));
        eprintln!(
            "terraform {} took {:.1?} (exit {:?})",
            args.join(" "),
            started.elapsed(),
            out.status.code()
        );
        out
    }

    /// Runs `terraform <args>` and panics with its output unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "terraform {} failed ({:?}):\n{}\n{}",
            args.join(" "),
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub fn init(&self) {
        self.ok(&["init", "-input=false", "-no-color"]);
    }

    pub fn apply(&self) {
        self.ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    }

    pub fn destroy(&self) {
        self.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    }

    /// `terraform plan -detailed-exitcode`: 0 = no changes, 2 = changes (with the plan text).
    pub fn plan_exit_code(&self) -> (i32, String) {
        let out = self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code().unwrap_or(-1), text)
    }

    /// `terraform output -json`.
    pub fn outputs(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["output", "-json"])).expect("terraform output is JSON")
    }
}
