//! The process runtime: runs each task's containers as processes on this host, captures their
//! output, stops them, and reports what happened to them. No AWS vocabulary: tasks and containers.
//!
//! # Layout
//! - [`image`]: image reference → executable.
//! - [`logs`]: where a container's output goes and how `berth logs` reads and follows it.
//! - `procfs`: the few fields of `/proc/<pid>/stat` the rest relies on.

#![deny(unsafe_code)]

pub mod image;
pub mod logs;
#[allow(dead_code)] // Used by the launcher, which comes next.
mod procfs;

pub use logs::{LogCursor, follow, log_file, log_files};
