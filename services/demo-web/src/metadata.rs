//! Client for the ECS task metadata endpoint v4 (`GET ${ECS_CONTAINER_METADATA_URI_V4}/task`).

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// Upper bound on one metadata request, connect to last body byte.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// Task metadata documents are a few KiB; refuse anything absurd.
const MAX_BODY: usize = 1024 * 1024;

/// The two fields of the task metadata document the app shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct TaskMetadata {
    #[serde(rename = "TaskARN")]
    pub task_arn: Option<String>,
    #[serde(rename = "AvailabilityZone")]
    pub availability_zone: Option<String>,
}

/// Fetches the task metadata on demand and caches the first success.
pub(crate) struct MetadataClient {
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
    cache: OnceLock<TaskMetadata>,
}

/// `${base}/task` as a URI, accepting only plain `http://` with a host.
pub(crate) fn task_uri(base: &str) -> anyhow::Result<Uri> {
    let uri: Uri = format!("{}/task", base.trim_end_matches('/')).parse().context("not a valid URI")?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        bail!("only http://host URIs are supported");
    }
    Ok(uri)
}

impl MetadataClient {
    pub(crate) fn new(base: String) -> Self {
        Self { base, client: Client::builder(TokioExecutor::new()).build_http(), cache: OnceLock::new() }
    }

    /// The task metadata, or `None` (after logging a warning) if it cannot be
    /// fetched. Only a successful fetch is cached, so a failure is retried on
    /// the next call.
    pub(crate) async fn task(&self) -> Option<TaskMetadata> {
        if let Some(cached) = self.cache.get() {
            return Some(cached.clone());
        }
        match tokio::time::timeout(FETCH_TIMEOUT, self.fetch()).await {
            Ok(Ok(meta)) => Some(self.cache.get_or_init(|| meta).clone()),
            Ok(Err(err)) => {
                tracing::warn!("task metadata from {}/task unavailable: {err:#}", self.base);
                None
            }
            Err(_) => {
                tracing::warn!(
                    "task metadata from {}/task unavailable: timed out after {:?}",
                    self.base,
                    FETCH_TIMEOUT
                );
                None
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<TaskMetadata> {
        let req = Request::get(task_uri(&self.base)?)
            .header(hyper::header::ACCEPT, "application/json")
            .body(Empty::new())
            .context("building request")?;
        let resp = self.client.request(req).await.context("request failed")?;
        let status = resp.status();
        if !status.is_success() {
            bail!("HTTP {status}");
        }
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|err| anyhow::anyhow!("reading body: {err}"))?
            .to_bytes();
        serde_json::from_slice(&body).context("parsing task metadata JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_uri_appends_task() {
        assert_eq!(task_uri("http://169.254.170.2/v4/abc").unwrap(), "http://169.254.170.2/v4/abc/task");
        assert_eq!(task_uri("http://127.0.0.1:9/v4/").unwrap(), "http://127.0.0.1:9/v4/task");
        assert!(task_uri("https://169.254.170.2/v4").is_err());
        assert!(task_uri("not a uri").is_err());
        assert!(task_uri("/v4/abc").is_err());
    }

    #[test]
    fn parses_task_document() {
        let doc = r#"{"Cluster":"default","TaskARN":"arn:aws:ecs:us-east-1:111122223333:task/default/abc",
                      "AvailabilityZone":"us-east-1a","Containers":[]}"#;
        let meta: TaskMetadata = serde_json::from_str(doc).unwrap();
        assert_eq!(meta.task_arn.as_deref(), Some("arn:aws:ecs:us-east-1:111122223333:task/default/abc"));
        assert_eq!(meta.availability_zone.as_deref(), Some("us-east-1a"));
    }
}
