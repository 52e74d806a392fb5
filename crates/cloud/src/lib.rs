//! berth's control plane: the AWS APIs a Fargate + ALB stack uses, their state, and the
//! reconcilers that turn that state into running tasks and routing.
//!
//! # Layout
//! - [`edge`]: the HTTP entry point. Finds the service (SigV4 credential scope, `X-Amz-Target`,
//!   `Version`), the operation and the region of a call, hands it to the service, and encodes the
//!   reply or error. Serves every path that is not one of berth's own (`/_berth/...`).
//! - [`protocol`]: the wire formats (awsQuery, ec2Query, awsJson1.1, XML, error documents). The
//!   only module that knows how AWS spells things on the wire.
//! - [`api`]: what a service module sees of a call ([`api::Input`], [`api::ApiError`]).
//! - One module per AWS service, all of the same shape: `mod.rs` holds the closed `Operation`
//!   enum and the dispatch; one file per resource holds its type and operations; `error.rs` holds
//!   the service's errors with their AWS codes: [`sts`], [`iam`], [`ec2`], [`ecs`], [`elbv2`].
//! - [`store`]: every resource in SQLite; one transaction per API call.
//! - [`live`]: what is observed rather than stored (target health, the published routing).
//! - [`reconcile`]: loops that turn stored desired state into running tasks and routing.
//! - [`status`]: a read-only view across services for `berth status`.
//! - [`ids`], [`arn`]: AWS ID and ARN formats.
//!
//! # Architecture invariants
//! - An API call either fully happens (committed to the store) or returns an AWS error; never
//!   half. Operations run inside [`Cloud::transact`].
//! - Service modules never import [`protocol`], hyper or axum. A lookup across services (ECS
//!   checking a target group) reads the other service's stored resources, never calls its
//!   operations.
//! - No input may panic the server: malformed requests become 400s in the protocol's error shape.
//! - Every resource ID and ARN has AWS's format; Describe calls return what Create accepted with
//!   AWS's defaults filled in, so `terraform plan` after `apply` is empty.

#![forbid(unsafe_code)]

pub mod api;
pub mod arn;
pub mod edge;
pub mod ids;
pub mod live;
pub mod protocol;
pub mod reconcile;
pub mod status;
pub mod store;

pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod iam;
pub mod sts;

use std::path::PathBuf;
use std::time::Instant;

use time::OffsetDateTime;

use crate::api::ApiError;
use crate::store::{Resource, Store, StoreError, Tx};

/// The account every resource belongs to (LocalStack's convention).
pub const ACCOUNT_ID: &str = "000000000000";

/// How berth's control plane is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Region used when a request does not name one (no SigV4 credential scope).
    pub default_region: String,
    /// Directory holding the database, task logs and other state.
    pub data_dir: PathBuf,
    /// The URL berth's API is reachable at (for URLs berth hands out, such as task metadata).
    pub endpoint: String,
    /// Quick local loops: shorter health-check intervals and deregistration delays than AWS's
    /// (the API still reports AWS's values). Off by default.
    pub fast: bool,
}

/// The control plane: configuration plus state.
#[derive(Debug)]
pub struct Cloud {
    pub config: Config,
    pub store: Store,
    pub live: live::Live,
    started: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("creating data dir {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Cloud {
    /// Opens the control plane on `config.data_dir` (creating it), resuming any state there.
    pub fn open(config: Config) -> Result<Self, OpenError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| OpenError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let store = Store::open(&config.data_dir.join("berth.db"))?;
        Ok(Self { config, store, live: live::Live::default(), started: Instant::now() })
    }

    /// Time since this control plane started.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Runs one API operation in one store transaction.
    pub fn transact<T>(
        &self,
        region: &str,
        f: impl FnOnce(&Ctx<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.store.transaction(|tx| {
            let cx = Ctx { tx, region, account: ACCOUNT_ID, now: OffsetDateTime::now_utc(), cloud: self };
            f(&cx)
        })
    }
}

/// What an operation works with: its transaction, region, account and clock.
pub struct Ctx<'a> {
    pub tx: &'a Tx<'a>,
    pub region: &'a str,
    pub account: &'a str,
    pub now: OffsetDateTime,
    pub cloud: &'a Cloud,
}

impl Ctx<'_> {
    pub fn get<R: Resource>(&self, id: &str) -> Result<Option<R>, StoreError> {
        self.tx.get(self.region, id)
    }

    pub fn put<R: Resource>(&self, resource: &R) -> Result<(), StoreError> {
        self.tx.put(self.region, resource)
    }

    pub fn delete<R: Resource>(&self, id: &str) -> Result<bool, StoreError> {
        self.tx.delete::<R>(self.region, id)
    }

    pub fn list<R: Resource>(&self) -> Result<Vec<R>, StoreError> {
        self.tx.list(self.region)
    }

    pub fn children<R: Resource>(&self, parent: &str) -> Result<Vec<R>, StoreError> {
        self.tx.children(self.region, parent)
    }

    pub fn by_name<R: Resource>(&self, name: &str) -> Result<Vec<R>, StoreError> {
        self.tx.by_name(self.region, name)
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>` in this call's region.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        arn::arn(service, self.region, self.account, resource)
    }
}

/// Formats a timestamp as AWS query APIs do: `2026-11-26T09:28:38.956Z`.
pub fn iso8601(t: OffsetDateTime) -> String {
    let ms = t.millisecond();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Seconds since the epoch with millisecond precision, as awsJson1.1 APIs return timestamps.
pub fn epoch_seconds(t: OffsetDateTime) -> f64 {
    (t.unix_timestamp_nanos() / 1_000_000) as f64 / 1000.0
}
