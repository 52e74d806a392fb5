//! Pid records: which process groups this runtime started, so a restarted berth can kill what a
//! crashed one left behind.
//!
//! `PR_SET_PDEATHSIG` kills a container's leader when berth dies, but not the leader's own children
//! (the death signal is not inherited). Each live task therefore has a file
//! `<state_dir>/pids/<task id>` listing its groups; [`Records::reap_orphans`] runs when a launcher
//! starts, kills every recorded group that still exists and deletes the records.
//!
//! A pid is only trusted together with its start time, so a recycled pid is never killed: a
//! recorded leader that is alive with another start time is a different process. If the leader is
//! gone but members of its group remain, the group id cannot have been reused (Linux keeps an id
//! reserved while any process uses it as a group id); members are additionally checked for the
//! recorded session and a start time no earlier than the leader's.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::procfs;

/// How long a starting launcher waits for the groups it killed to disappear.
const REAP_WAIT: Duration = Duration::from_secs(2);

/// One process group of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupRecord {
    pub container: String,
    /// The group id, which is also the leader's pid.
    pub pgid: i32,
    /// The leader's start time (`/proc/<pid>/stat` field 22).
    pub start_time: u64,
    /// The leader's session.
    pub session: i32,
}

/// The file for one task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct TaskRecord {
    pub task_id: String,
    pub groups: Vec<GroupRecord>,
}

/// The `pids` directory under the runtime's state directory.
#[derive(Debug)]
pub(crate) struct Records {
    dir: PathBuf,
}

impl Records {
    pub fn open(state_dir: &Path) -> io::Result<Self> {
        let dir = state_dir.join("pids");
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    #[cfg(test)]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the task's record (write to a temporary file, then rename, so a crash never leaves
    /// half a record).
    pub fn write(&self, record: &TaskRecord) -> io::Result<()> {
        let path = self.dir.join(file_name(&record.task_id));
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, serde_json::to_vec(record)?)?;
        fs::rename(&tmp, &path)
    }

    pub fn remove(&self, task_id: &str) {
        let path = self.dir.join(file_name(task_id));
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove pid record");
        }
    }

    /// Kills every recorded group that is still around, waits (bounded) for them to die and
    /// deletes all records. Returns the ids of the tasks that had live processes.
    pub fn reap_orphans(&self) -> io::Result<Vec<String>> {
        let mut killed_tasks = Vec::new();
        let mut killed_groups = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let record =
                fs::read(&path).ok().and_then(|bytes| serde_json::from_slice::<TaskRecord>(&bytes).ok());
            if let Some(record) = record {
                let mut any = false;
                for group in &record.groups {
                    if kill_recorded_group(group) {
                        tracing::warn!(
                            task = %record.task_id,
                            container = %group.container,
                            pgid = group.pgid,
                            "killed a process group left behind by an earlier berth"
                        );
                        killed_groups.push(group.pgid);
                        any = true;
                    }
                }
                if any {
                    killed_tasks.push(record.task_id);
                }
            }
            if let Err(e) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove pid record");
            }
        }
        let deadline = Instant::now() + REAP_WAIT;
        while killed_groups.iter().any(|g| !procfs::running_members(*g).is_empty())
            && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(10));
        }
        Ok(killed_tasks)
    }
}

/// Sends `SIGKILL` to the recorded group if it is provably the one recorded. True if sent.
pub(crate) fn kill_recorded_group(group: &GroupRecord) -> bool {
    let ours = match procfs::stat(group.pgid) {
        // The leader itself (running, or a zombie nobody reaped) pins the id.
        Some(leader) => leader.start_time == group.start_time,
        // The leader is gone; members may remain (its children, for instance).
        None => procfs::all_processes().iter().any(|(_, s)| {
            s.pgrp == group.pgid
                && s.session == group.session
                && s.start_time >= group.start_time
                && s.is_running()
        }),
    };
    ours && killpg(Pid::from_raw(group.pgid), Signal::SIGKILL).is_ok()
}

/// A task id as a file name: safe characters kept, everything else `%XX`-escaped, so distinct ids
/// stay distinct and none can name a path outside the directory.
fn file_name(task_id: &str) -> String {
    let mut name = String::with_capacity(task_id.len());
    for byte in task_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            name.push(byte as char);
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(".json");
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[test]
    fn task_ids_become_safe_distinct_file_names() {
        assert_eq!(file_name("0123abcd"), "0123abcd.json");
        assert_eq!(file_name("../x"), "%2E%2E%2Fx.json");
        assert_ne!(file_name("a/b"), file_name("a%2Fb"));
    }

    fn own_group_sleep() -> (std::process::Child, procfs::Stat) {
        let child = Command::new("sleep").arg("1000").process_group(0).spawn().unwrap();
        let stat = procfs::stat(child.id() as i32).unwrap();
        (child, stat)
    }

    #[test]
    fn a_recorded_group_that_is_still_alive_is_killed_and_the_record_removed() {
        let state = tempfile::tempdir().unwrap();
        let records = Records::open(state.path()).unwrap();
        let (mut child, stat) = own_group_sleep();
        let pid = child.id() as i32;
        records
            .write(&TaskRecord {
                task_id: "t1".into(),
                groups: vec![GroupRecord {
                    container: "app".into(),
                    pgid: pid,
                    start_time: stat.start_time,
                    session: stat.session,
                }],
            })
            .unwrap();
        assert_eq!(records.reap_orphans().unwrap(), vec!["t1".to_string()]);
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
        assert_eq!(fs::read_dir(records.dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_recycled_pid_is_never_killed() {
        let state = tempfile::tempdir().unwrap();
        let records = Records::open(state.path()).unwrap();
        let (mut child, stat) = own_group_sleep();
        let pid = child.id() as i32;
        records
            .write(&TaskRecord {
                task_id: "t2".into(),
                groups: vec![GroupRecord {
                    container: "app".into(),
                    pgid: pid,
                    // Another start time: the recorded process is gone and its pid was reused.
                    start_time: stat.start_time + 1,
                    session: stat.session,
                }],
            })
            .unwrap();
        assert!(records.reap_orphans().unwrap().is_empty());
        assert_eq!(child.try_wait().unwrap(), None, "the unrelated process must survive");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
