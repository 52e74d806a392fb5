//! Reconcilers: loops that turn the desired state in the store into actions, and observations
//! back into the store.
//!
//! Each reconciler wakes when the store's change counter moves ([`crate::store::Store::subscribe`])
//! or when an observation arrives (task events from the runtime, health reports from the data
//! plane), and on a periodic tick; it reads the store, acts, and writes what it did back in one
//! transaction per step. They run until the shutdown future resolves.
//!
//! - `ecs_service`: the ECS service scheduler (desired count → tasks, deployments, replacement).
//! - `routing_snapshot`: builds the data plane's [`model::routing::RoutingSnapshot`] from ELBv2
//!   resources and publishes it on [`crate::live::Live::routing`].

pub mod routing_snapshot;

pub mod ecs_service;
