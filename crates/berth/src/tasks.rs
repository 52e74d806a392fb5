//! ECS tasks for real: the process runtime ([`runtime::ProcessLauncher`]) wired to the ECS
//! service scheduler ([`cloud::reconcile::ecs_service`]).
//!
//! The runtime keeps its pid records in `<data dir>/runtime` and kills whatever an earlier berth on
//! the same data dir left behind before anything starts; the scheduler then finds those tasks gone
//! and replaces them. On shutdown the scheduler stops first (so it does not replace the tasks
//! being stopped), then every task gets SIGTERM and, after its stop timeout, SIGKILL.
//!
//! # Images
//! A task definition's image resolves to an executable (see [`runtime::image`]): an explicit
//! mapping first, from `--image NAME=PATH` (repeatable, wins) and from the `[images]` table of a
//! `berth.toml` in the stack directory (the data dir's parent) or the current directory; else the
//! image's last path segment as an executable beside berth, then on `PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use cloud::Cloud;
use cloud::reconcile::ecs_service::{self, SchedulerConfig};
use model::task::TaskLauncher;
use runtime::{ProcessLauncher, RuntimeConfig};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The running scheduler and runtime.
pub struct Tasks {
    stop_scheduler: oneshot::Sender<()>,
    scheduler: JoinHandle<()>,
    launcher: Arc<ProcessLauncher>,
}

/// What `berth up` says about tasks.
#[derive(Debug, Clone, Default)]
pub struct TasksConfig {
    pub data_dir: PathBuf,
    /// `--image NAME=PATH` mappings, in the order given.
    pub images: Vec<(String, PathBuf)>,
}

/// Parses `--image NAME=PATH`.
pub fn parse_image_mapping(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s
        .split_once('=')
        .filter(|(n, p)| !n.trim().is_empty() && !p.trim().is_empty())
        .ok_or_else(|| format!("expected NAME=PATH (an image and the program that plays it), got {s:?}"))?;
    Ok((name.trim().to_string(), absolute(Path::new(path.trim()), None)))
}

/// `path` made absolute against `base` (or the current directory).
fn absolute(path: &Path, base: Option<&Path>) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    let base = base.map(Path::to_path_buf).or_else(|| std::env::current_dir().ok()).unwrap_or_default();
    base.join(path)
}

/// What berth reads from a `berth.toml`: only its `[images]` table (other tables are ignored).
#[derive(Debug, Default, serde::Deserialize)]
struct BerthToml {
    #[serde(default)]
    images: BTreeMap<String, String>,
}

/// The `[images]` table of a `berth.toml`: `"image" = "path"` entries, paths relative to the file.
pub fn parse_berth_toml(text: &str, dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let parsed: BerthToml = toml::from_str(text).map_err(|e| e.to_string())?;
    parsed
        .images
        .into_iter()
        .map(|(image, path)| {
            if path.trim().is_empty() {
                Err(format!("[images] \"{image}\": empty path"))
            } else {
                Ok((image, absolute(Path::new(&path), Some(dir))))
            }
        })
        .collect()
}

/// The explicit image mappings: every `berth.toml` found, then `--image` (which wins).
fn image_map(config: &TasksConfig) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(parent) = absolute(&config.data_dir, None).parent() {
        dirs.push(parent.to_path_buf());
    }
    if let Ok(cwd) = std::env::current_dir()
        && !dirs.contains(&cwd)
    {
        dirs.push(cwd);
    }
    let mut map = BTreeMap::new();
    for dir in dirs {
        let file = dir.join("berth.toml");
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let entries =
            parse_berth_toml(&text, &dir).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        for (image, path) in entries {
            map.entry(image).or_insert(path);
        }
    }
    for (image, path) in &config.images {
        map.insert(image.clone(), path.clone());
    }
    Ok(map)
}

/// Starts the runtime (killing what an earlier berth left) and the ECS scheduler.
pub async fn start(cloud: Arc<Cloud>, config: TasksConfig) -> anyhow::Result<Tasks> {
    let mut runtime_config = RuntimeConfig::new(config.data_dir.join("runtime"));
    runtime_config.image_map = image_map(&config)?;
    for (image, path) in &runtime_config.image_map {
        tracing::info!(image, path = %path.display(), "image mapping");
    }
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    // `ProcessLauncher::new` blocks while it kills leftovers.
    let launcher = tokio::task::spawn_blocking(move || ProcessLauncher::new(runtime_config, events_tx))
        .await
        .context("starting the process runtime")?
        .context("starting the process runtime")?;
    if !launcher.reaped_at_start().is_empty() {
        tracing::info!(
            tasks = launcher.reaped_at_start().len(),
            "killed the processes of tasks an earlier berth left running; ECS replaces those tasks"
        );
    }
    let (stop_scheduler, stopped) = oneshot::channel::<()>();
    let dyn_launcher: Arc<dyn TaskLauncher> = launcher.clone();
    let scheduler = tokio::spawn(ecs_service::run(
        cloud,
        dyn_launcher,
        SchedulerConfig::default(),
        events_rx,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok(Tasks { stop_scheduler, scheduler, launcher })
}

impl Tasks {
    /// Stops the scheduler, then every task (SIGTERM, SIGKILL after its stop timeout).
    pub async fn stop(self) {
        let _ = self.stop_scheduler.send(());
        if let Err(e) = self.scheduler.await {
            tracing::error!(error = %e, "the ECS scheduler failed");
        }
        self.launcher.shutdown().await;
        tracing::info!("every task stopped");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn image_flags_parse() {
        let (name, path) = parse_image_mapping("phamtrongnghia1105/product-svc=/usr/bin/true").unwrap();
        assert_eq!(name, "phamtrongnghia1105/product-svc");
        assert_eq!(path, PathBuf::from("/usr/bin/true"));
        assert!(parse_image_mapping("no-equals").is_err());
        assert!(parse_image_mapping("=x").is_err());
        assert!(parse_image_mapping("rel=bin/x").unwrap().1.is_absolute());
    }

    #[test]
    fn berth_toml_images_table() {
        let text = r#"
# berth settings
[other]
x = "y"

[images]
"phamtrongnghia1105/product-svc" = "target/debug/product-svc"   # built by cargo
user-svc = "/opt/bin/user-svc"
"#;
        let got = parse_berth_toml(text, Path::new("/stack")).unwrap();
        assert_eq!(
            got,
            vec![
                (
                    "phamtrongnghia1105/product-svc".to_string(),
                    PathBuf::from("/stack/target/debug/product-svc")
                ),
                ("user-svc".to_string(), PathBuf::from("/opt/bin/user-svc")),
            ]
        );
        assert!(parse_berth_toml("[images]\nx = y", Path::new("/")).is_err());
    }
}
