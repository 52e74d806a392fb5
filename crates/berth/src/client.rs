//! Talking to a running berth from another `berth` process (`status`, `down`): which endpoint it
//! recorded in its data dir, and JSON over HTTP to its `/_berth/...` routes.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The endpoint of the berth running on `data_dir`, or an error that says how to start one.
pub fn endpoint_of(data_dir: &Path) -> anyhow::Result<String> {
    crate::instance::recorded_endpoint(data_dir)
        .with_context(|| format!("reading {}", data_dir.display()))?
        .with_context(|| {
            format!(
                "no berth is running with data dir {} (start one with `berth up`, or pass --data-dir)",
                data_dir.display()
            )
        })
}

/// `GET <endpoint><path>` and parse the JSON answer (10 s timeout).
pub async fn get_json(endpoint: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let uri: http::Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = tokio::time::timeout(Duration::from_secs(10), client.get(uri))
        .await
        .with_context(|| format!("{url} did not answer within 10 s"))?
        .with_context(|| format!("connecting to {endpoint} (is berth running?)"))?;
    let status = response.status();
    let body = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .with_context(|| format!("{url} did not finish its answer within 10 s"))?
        .with_context(|| format!("reading the answer of {url}"))?
        .to_bytes();
    if !status.is_success() {
        bail!("{url} answered {status}: {}", String::from_utf8_lossy(&body));
    }
    serde_json::from_slice(&body).with_context(|| format!("{url} answered something that is not JSON"))
}
