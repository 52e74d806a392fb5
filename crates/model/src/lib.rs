//! Plain data passed between berth's crates, and the traits they meet through.
//!
//! # Layout
//! - [`routing`]: the immutable [`routing::RoutingSnapshot`] the control plane (`cloud`) builds
//!   from its store and pushes to the data plane (`alb`) over a `tokio::sync::watch` channel.
//! - [`health`]: target health as the data plane observes it and reports back to the control
//!   plane ([`health::TargetHealthReport`]).
//! - [`task`]: what the control plane asks the runtime to run ([`task::TaskSpec`]), what the runtime
//!   reports back ([`task::TaskEvent`]), and the [`task::TaskLauncher`] trait between them.
//! - [`network`]: how a VPC address is reached from the host ([`network::AddressMap`]).
//!
//! # Architecture invariants
//! - No IO, no async runtime, no wire formats: every type here is plain data. `serde` derives
//!   exist only so the control plane can persist what it chose (for example a task's spec) and so
//!   `berth status --json` can print snapshots; they are not an AWS wire format.
//! - `cloud`, `alb` and `runtime` never import each other; they only share these types.

#![forbid(unsafe_code)]

pub mod health;
pub mod network;
pub mod routing;
pub mod task;
