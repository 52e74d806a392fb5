//! One berth per data dir, and how other `berth` commands find it.
//!
//! `berth up` takes an exclusive `flock` on `<data dir>/lock` for as long as it runs: two berths on
//! one data dir would share a database and, worse, the second one's runtime would kill the first
//! one's tasks as leftovers of a crash. Beside the lock it records:
//! - `berth.pid`: its process id (for `berth down`);
//! - `endpoint`: the URL of its AWS API (for `berth env`, `status`, `down`);
//! - `stack`: the stack directory it applied, if any (for `berth down --destroy`).
//!
//! `pid` and `endpoint` are removed on a clean exit; after a crash they remain but the lock is
//! free, which is how a stale record is told from a running berth.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const LOCK_FILE: &str = "lock";
const PID_FILE: &str = "berth.pid";
const ENDPOINT_FILE: &str = "endpoint";
const STACK_FILE: &str = "stack";

/// The claim of a running berth on its data dir; released when dropped.
pub struct Instance {
    dir: PathBuf,
    _lock: Flock<File>,
}

impl Instance {
    /// Creates `data_dir` if needed and locks it, or explains which berth holds it.
    pub fn claim(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let path = data_dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let who = recorded_pid(data_dir).map(|p| format!(" (pid {p})")).unwrap_or_default();
                bail!(
                    "another berth{who} is already running on data dir {dir}; stop it with `berth down --data-dir {dir}` \
                     or give this one its own --data-dir",
                    dir = data_dir.display()
                );
            }
            Err((_, e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        };
        let instance = Self { dir: data_dir.to_path_buf(), _lock: lock };
        instance.write(PID_FILE, &std::process::id().to_string())?;
        Ok(instance)
    }

    fn write(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        std::fs::write(&path, format!("{value}\n")).with_context(|| format!("writing {}", path.display()))
    }

    /// Records the API endpoint once it is bound.
    pub fn record_endpoint(&self, endpoint: &str) -> anyhow::Result<()> {
        self.write(ENDPOINT_FILE, endpoint)
    }

    /// Records the stack directory `berth up` applies (absolute).
    pub fn record_stack(&self, stack: &Path) -> anyhow::Result<()> {
        let abs = std::path::absolute(stack).unwrap_or_else(|_| stack.to_path_buf());
        self.write(STACK_FILE, &abs.display().to_string())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        for name in [ENDPOINT_FILE, PID_FILE] {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The endpoint a running berth recorded in `data_dir`, if any.
pub fn recorded_endpoint(data_dir: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(data_dir.join(ENDPOINT_FILE)) {
        Ok(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The pid a berth recorded in `data_dir`, if any.
pub fn recorded_pid(data_dir: &Path) -> Option<i32> {
    read_trimmed(&data_dir.join(PID_FILE))?.parse().ok()
}

/// The stack directory the last `berth up <stack>` on `data_dir` applied.
pub fn recorded_stack(data_dir: &Path) -> Option<PathBuf> {
    read_trimmed(&data_dir.join(STACK_FILE)).map(PathBuf::from)
}

/// Whether a berth holds the lock on `data_dir` right now.
pub fn is_running(data_dir: &Path) -> bool {
    let Ok(file) = File::options().write(true).open(data_dir.join(LOCK_FILE)) else {
        return false;
    };
    // Taking the lock ourselves (and dropping it at once) means nobody held it.
    Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
}

/// Sends SIGTERM to the berth running on `data_dir` and waits (up to `timeout`) until it has
/// stopped its tasks and released the data dir.
pub async fn stop(data_dir: &Path, timeout: Duration) -> anyhow::Result<()> {
    if !is_running(data_dir) {
        bail!("no berth is running with data dir {}", data_dir.display());
    }
    let pid = recorded_pid(data_dir)
        .with_context(|| format!("the berth on {} recorded no pid", data_dir.display()))?;
    kill(Pid::from_raw(pid), Signal::SIGTERM).with_context(|| format!("signalling berth (pid {pid})"))?;
    let deadline = tokio::time::Instant::now() + timeout;
    while is_running(data_dir) {
        if tokio::time::Instant::now() >= deadline {
            bail!("berth (pid {pid}) did not stop within {timeout:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_takes_one_berth_and_is_free_again_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert!(!is_running(&data));
        let first = Instance::claim(&data).unwrap();
        first.record_endpoint("http://127.0.0.1:1").unwrap();
        first.record_stack(Path::new("/some/stack")).unwrap();
        assert!(is_running(&data));
        let err = Instance::claim(&data).err().unwrap().to_string();
        assert!(
            err.contains("already running") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(recorded_endpoint(&data).unwrap().as_deref(), Some("http://127.0.0.1:1"));
        drop(first);
        assert!(!is_running(&data));
        assert_eq!(recorded_endpoint(&data).unwrap(), None, "the endpoint goes with the berth");
        assert_eq!(recorded_stack(&data), Some(PathBuf::from("/some/stack")), "the stack is remembered");
        Instance::claim(&data).unwrap();
    }
}
