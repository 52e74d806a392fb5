//! The few facts about processes the runtime reads from `/proc`.
//!
//! Signals go to process groups, and a pid can be recycled once its process is reaped; the start
//! time in `/proc/<pid>/stat` is what tells a recorded process from a newer one with the same pid.

use std::fs;

/// The fields of `/proc/<pid>/stat` the runtime needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub state: char,
    /// Field 5: process group id.
    pub pgrp: i32,
    /// Field 6: session id.
    pub session: i32,
    /// Field 22: start time in clock ticks after boot. Never changes for a process, so (pid,
    /// start time) names one process for the life of the machine.
    pub start_time: u64,
}

impl Stat {
    /// A zombie has exited and only waits to be reaped by its parent (which, for an orphan, is
    /// init or a subreaper berth does not control); it runs no code and holds no resources.
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the contents of `/proc/<pid>/stat`.
///
/// The command name (field 2) is in parentheses and may itself contain spaces and parentheses, so
/// the fixed fields are counted from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `fields[0]` is field 3 of proc(5).
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// `/proc/<pid>/stat` of one process, or `None` once it is gone (reaped).
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process in `/proc` with its stat; processes that vanish while being read are skipped.
pub(crate) fn all_processes() -> Vec<(i32, Stat)> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        Some((pid, stat(pid)?))
    })
    .collect()
}

/// Pids of the members of process group `pgid` that still run code (zombies excluded).
pub(crate) fn running_members(pgid: i32) -> Vec<i32> {
    all_processes()
        .into_iter()
        .filter(|(_, s)| s.pgrp == pgid && s.is_running())
        .map(|(pid, _)| pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_has_spaces_and_parentheses() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 \
                    1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(s, Stat { state: 'S', pgrp: 4242, session: 4242, start_time: 987654 });
        assert!(s.is_running());
        let zombie = line.replacen(") S ", ") Z ", 1);
        assert!(!parse_stat(&zombie).unwrap().is_running());
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert!(s.is_running());
        assert_eq!(s.pgrp, nix::unistd::getpgrp().as_raw());
        assert!(all_processes().iter().any(|(pid, _)| *pid == me));
        assert!(running_members(s.pgrp).contains(&me));
    }

    #[test]
    fn garbage_is_not_a_stat() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("1 (x) S 1"), None);
    }
}
