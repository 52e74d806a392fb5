//! `berth logs <service|task-id> [-f]`: the captured stdout/stderr of a task or of every task of
//! a service.
//!
//! Output is read straight from the files the runtime writes (`<data dir>/tasks/<task id>/<container>.log`),
//! so it works whether berth is running or not. A service name (or `cluster/service`) is found
//! in berth's store: its tasks, oldest first, stopped ones included (their output is often the
//! interesting part). When several tasks or containers are shown, each line is prefixed with
//! `<task id>[/<container>] | `. `-f` keeps following, picks up tasks the scheduler starts later
//! (replacements, rollouts), and ends on Ctrl-C.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use cloud::store::Store;
use runtime::LogCursor;

/// How often `-f` looks for new output, and for new tasks of a service.
const POLL: Duration = Duration::from_millis(200);
const RESCAN: Duration = Duration::from_secs(1);

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// A service name (`product-svc` or `cluster/product-svc`), or a task id or ARN.
    pub target: String,
    /// Keep printing output as it is written, until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// berth's data directory.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: PathBuf,
}

/// What `target` names.
enum Target {
    Task(String),
    Service(String),
}

/// One container's log being read, with the part of a line not yet printed.
struct Source {
    label: String,
    cursor: LogCursor,
    partial: Vec<u8>,
}

struct Reader {
    data_dir: PathBuf,
    target: Target,
    store: Option<Store>,
    /// Keyed by (task creation order, container) so output groups by task.
    sources: BTreeMap<(usize, String, String), Source>,
    tasks_seen: Vec<String>,
}

fn tasks_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tasks")
}

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    if !args.data_dir.is_dir() {
        bail!(
            "{} is not a berth data directory (pass --data-dir or set BERTH_DATA_DIR)",
            args.data_dir.display()
        );
    }
    let id = args.target.rsplit('/').next().unwrap_or(&args.target).to_string();
    let is_task = id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());
    let target =
        if is_task && (tasks_dir(&args.data_dir).join(&id).is_dir() || args.target.starts_with("arn:")) {
            Target::Task(id)
        } else {
            Target::Service(args.target.clone())
        };
    let db = args.data_dir.join("berth.db");
    let store = match &target {
        Target::Service(_) if db.is_file() => {
            Some(Store::open(&db).with_context(|| format!("opening {}", db.display()))?)
        }
        Target::Service(name) => bail!("no task or service named {name} in {}", args.data_dir.display()),
        Target::Task(_) => None,
    };
    let mut reader = Reader {
        data_dir: args.data_dir.clone(),
        target,
        store,
        sources: BTreeMap::new(),
        tasks_seen: Vec::new(),
    };
    reader.rescan()?;
    if reader.tasks_seen.is_empty() {
        match &reader.target {
            Target::Service(name) => {
                if !args.follow {
                    bail!("no task or service named {name} in {}", args.data_dir.display());
                }
                eprintln!("berth: no task of {name} yet; waiting for one (Ctrl-C to stop)");
            }
            Target::Task(id) => bail!("no output for task {id} in {}", tasks_dir(&args.data_dir).display()),
        }
    }
    reader.drain(false)?;
    if !args.follow {
        reader.drain(true)?;
        return Ok(());
    }
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut last_scan = Instant::now();
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = tokio::time::sleep(POLL) => {}
        }
        if last_scan.elapsed() >= RESCAN {
            reader.rescan()?;
            last_scan = Instant::now();
        }
        reader.drain(false)?;
    }
    reader.drain(true)?;
    Ok(())
}

impl Reader {
    /// Finds the tasks (and their containers' log files) that exist now.
    fn rescan(&mut self) -> anyhow::Result<()> {
        let task_ids: Vec<String> = match (&self.target, &self.store) {
            (Target::Task(id), _) => vec![id.clone()],
            (Target::Service(name), Some(store)) => cloud::ecs::task::tasks_of_service(store, name)
                .context("reading berth's store")?
                .into_iter()
                .map(|t| t.task_id)
                .collect(),
            (Target::Service(_), None) => Vec::new(),
        };
        for id in task_ids {
            if !self.tasks_seen.contains(&id) {
                self.tasks_seen.push(id.clone());
            }
            let order = self.tasks_seen.iter().position(|t| *t == id).unwrap_or(0);
            for (container, path) in runtime::log_files(&tasks_dir(&self.data_dir).join(&id)) {
                let key = (order, id.clone(), container.clone());
                self.sources.entry(key).or_insert_with(|| Source {
                    label: format!("{id}/{container}"),
                    cursor: LogCursor::from_start(path),
                    partial: Vec::new(),
                });
            }
        }
        Ok(())
    }

    /// Prints every complete new line (and, when `flush`, what is left of unfinished ones).
    fn drain(&mut self, flush: bool) -> anyhow::Result<()> {
        let tasks = self.sources.keys().map(|(_, id, _)| id).collect::<std::collections::BTreeSet<_>>().len();
        let prefix_with_container = self.sources.len() > tasks;
        let prefixed = self.sources.len() > 1 || matches!(self.target, Target::Service(_));
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for ((_, id, _), source) in self.sources.iter_mut() {
            loop {
                let bytes = source
                    .cursor
                    .read_new()
                    .with_context(|| format!("reading {}", source.cursor.path().display()))?;
                if bytes.is_empty() {
                    break;
                }
                source.partial.extend_from_slice(&bytes);
            }
            let label = if prefix_with_container { source.label.as_str() } else { id.as_str() };
            while let Some(end) = source.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = source.partial.drain(..=end).collect();
                if prefixed {
                    write!(out, "{label} | ")?;
                }
                out.write_all(&line)?;
            }
            if flush && !source.partial.is_empty() {
                if prefixed {
                    write!(out, "{label} | ")?;
                }
                out.write_all(&source.partial)?;
                out.write_all(b"\n")?;
                source.partial.clear();
            }
        }
        out.flush()?;
        Ok(())
    }
}
