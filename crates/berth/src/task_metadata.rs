//! The ECS task metadata endpoint, served on berth's API listener.
//!
//! Every container gets `ECS_CONTAINER_METADATA_URI_V4=<endpoint>/_berth/task-metadata/v4/<task
//! id>/<container>` (and the v3 form). Under it, as on Fargate: the container document (`GET
//! ${URI}`), the task document (`${URI}/task`), and Docker-style stats (`${URI}/stats`,
//! `${URI}/task/stats`). Tasks whose definition has a task role also get
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI=<endpoint>/_berth/task-credentials/<task id>`, which the
//! SDKs' container credentials provider reads. The documents are built by `cloud::ecs::task`
//! (which owns the ECS vocabulary); this module only serves them and reads `/proc` for the stats.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cloud::Cloud;
use cloud::ecs::task;
use serde_json::{Value, json};

/// The metadata routes (v4 and v3 paths serve the same documents).
pub fn router(cloud: Arc<Cloud>) -> Router {
    let mut r = Router::new();
    for v in ["v4", "v3"] {
        r = r
            .route(&format!("/_berth/task-metadata/{v}/{{task}}/{{container}}"), get(container))
            .route(&format!("/_berth/task-metadata/{v}/{{task}}/{{container}}/task"), get(task_document))
            .route(&format!("/_berth/task-metadata/{v}/{{task}}/{{container}}/stats"), get(container_stats))
            .route(&format!("/_berth/task-metadata/{v}/{{task}}/{{container}}/task/stats"), get(task_stats));
    }
    r.route("/_berth/task-credentials/{task}", get(credentials)).with_state(cloud)
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": format!("{what} not found")}))).into_response()
}

fn failed(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": e.to_string()}))).into_response()
}

/// Runs a store read off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(failed)
}

async fn container(
    State(cloud): State<Arc<Cloud>>,
    Path((task_id, name)): Path<(String, String)>,
) -> Response {
    match blocking(move || task::metadata_v4_container(&cloud, &task_id, &name)).await {
        Ok(Ok(Some(doc))) => Json(doc).into_response(),
        Ok(Ok(None)) => not_found("container"),
        Ok(Err(e)) => failed(e),
        Err(r) => r,
    }
}

/// The task role's credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
async fn credentials(State(cloud): State<Arc<Cloud>>, Path(task_id): Path<String>) -> Response {
    match blocking(move || task::credentials(&cloud, &task_id)).await {
        Ok(Ok(Some(doc))) => Json(doc).into_response(),
        Ok(Ok(None)) => not_found("task role credentials"),
        Ok(Err(e)) => failed(e),
        Err(r) => r,
    }
}

async fn task_document(
    State(cloud): State<Arc<Cloud>>,
    Path((task_id, _name)): Path<(String, String)>,
) -> Response {
    match blocking(move || task::metadata_v4_task(&cloud, &task_id)).await {
        Ok(Ok(Some(doc))) => Json(doc).into_response(),
        Ok(Ok(None)) => not_found("task"),
        Ok(Err(e)) => failed(e),
        Err(r) => r,
    }
}

async fn container_stats(
    State(cloud): State<Arc<Cloud>>,
    Path((task_id, name)): Path<(String, String)>,
) -> Response {
    match blocking(move || task::container_pids(&cloud, &task_id)).await {
        Ok(Ok(Some(pids))) => match pids.into_iter().find(|(c, _)| *c == name) {
            Some((c, pid)) => Json(docker_stats(&c, pid)).into_response(),
            None => not_found("container"),
        },
        Ok(Ok(None)) => not_found("task"),
        Ok(Err(e)) => failed(e),
        Err(r) => r,
    }
}

async fn task_stats(
    State(cloud): State<Arc<Cloud>>,
    Path((task_id, _name)): Path<(String, String)>,
) -> Response {
    let id = task_id.clone();
    match blocking(move || task::find_by_id(&cloud.store, &id)).await {
        Ok(Ok(Some(t))) => {
            let map: serde_json::Map<String, Value> = t
                .containers
                .iter()
                .map(|c| {
                    let pid = (c.last_status == "RUNNING").then_some(c.pid).flatten();
                    (c.runtime_id.clone(), docker_stats(&c.name, pid))
                })
                .collect();
            Json(Value::Object(map)).into_response()
        }
        Ok(Ok(None)) => not_found("task"),
        Ok(Err(e)) => failed(e),
        Err(r) => r,
    }
}

/// What `/proc/<pid>` says about a process: CPU time (ns) and resident memory (bytes).
fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name's closing parenthesis; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Linux reports CPU time in clock ticks of 1/100 s.
    let cpu_ns = (utime + stime) * 10_000_000;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some((cpu_ns, rss_kib * 1024))
}

/// A Docker-stats-shaped document for one container (zeros once it is not running).
fn docker_stats(name: &str, pid: Option<u32>) -> Value {
    let (cpu_ns, rss) = pid.and_then(proc_usage).unwrap_or((0, 0));
    let now = time::OffsetDateTime::now_utc();
    let read = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let online_cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    json!({
        "read": read,
        "name": name,
        "pids_stats": {"current": if pid.is_some() { 1 } else { 0 }},
        "cpu_stats": {
            "cpu_usage": {"total_usage": cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": cpu_ns},
            "online_cpus": online_cpus,
        },
        "memory_stats": {"usage": rss, "stats": {"rss": rss}},
        "networks": {},
    })
}
