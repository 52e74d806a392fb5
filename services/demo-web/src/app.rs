//! The router: health check, hello page, `/<name>/info`, `/<name>/status/<code>`, 404s and the
//! access log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::config::Config;
use crate::metadata::{MetadataClient, TaskMetadata};

/// Version reported on the page and by `/<name>/info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What makes one service different from another: its name (which is also
/// the ALB path prefix `/<name>`) and any routes of its own.
#[derive(Debug)]
pub struct Service {
    name: &'static str,
    routes: Router,
}

impl Service {
    /// A service named `name`, answering under `/<name>`.
    pub fn new(name: &'static str) -> Self {
        Self { name, routes: Router::new() }
    }

    /// Adds routes of the service's own (absolute paths, e.g.
    /// `/product-svc/products`). They take precedence over the hello page
    /// and get the access log too.
    ///
    /// # Panics
    /// Like any axum route conflict: if `routes` sets a fallback or repeats
    /// a route added before, and later in [`app`] if it repeats a built-in
    /// route (`/health`, `/<name>/info`).
    pub fn routes(mut self, routes: Router) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// The service name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

struct AppState {
    service: &'static str,
    hostname: String,
    metadata: Option<MetadataClient>,
}

/// Builds the complete app for `service` (routes, fallback, access log).
///
/// Serve it with [`crate::serve`], which provides the client address the
/// access log shows.
pub fn app(service: Service, config: &Config) -> Router {
    let state = Arc::new(AppState {
        service: service.name,
        hostname: config.hostname.clone(),
        metadata: config.metadata_uri.clone().map(MetadataClient::new),
    });
    Router::new()
        .route("/health", get(health))
        .route(&format!("/{}/info", service.name), get(info))
        .route(&format!("/{}/status/{{code}}", service.name), get(status))
        .fallback(fallback)
        .with_state(state)
        .merge(service.routes)
        .layer(middleware::from_fn(access_log))
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

#[derive(Serialize)]
struct Info {
    service: &'static str,
    hostname: String,
    version: &'static str,
    task_arn: Option<String>,
    availability_zone: Option<String>,
}

async fn info(State(state): State<Arc<AppState>>) -> Json<Info> {
    let meta = match &state.metadata {
        Some(client) => client.task().await.unwrap_or_default(),
        None => TaskMetadata::default(),
    };
    Json(Info {
        service: state.service,
        hostname: state.hostname.clone(),
        version: VERSION,
        task_arn: meta.task_arn,
        availability_zone: meta.availability_zone,
    })
}

/// `GET /<name>/status/<code>`: answers with that HTTP status (100..=599 except 1xx), to show
/// what a load balancer does with it (point a health check here, or try a 503).
async fn status(State(state): State<Arc<AppState>>, Path(code): Path<String>) -> Response {
    match code
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .filter(|c| !c.is_informational())
    {
        Some(code) => (
            code,
            Json(json!({ "service": state.service, "hostname": state.hostname, "status": code.as_u16() })),
        )
            .into_response(),
        None => {
            let body = json!({ "error": "not an HTTP status between 200 and 599", "status": code });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

/// Everything without a route of its own: the hello page for every path the
/// ALB rule `/<name>*` forwards, a JSON 404 for the rest.
async fn fallback(State(state): State<Arc<AppState>>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !path.starts_with(&format!("/{}", state.service)) {
        let body = json!({ "error": "not found", "path": path });
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        let body = json!({ "error": "method not allowed", "method": method.as_str() });
        let mut resp = (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    Html(page(state.service, &state.hostname, path)).into_response()
}

/// The hello page; everything interpolated is HTML-escaped.
fn page(service: &str, hostname: &str, path: &str) -> String {
    let (service, hostname, path) = (escape(service), escape(hostname), escape(path));
    format!(
        "<!doctype html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<title>{service}</title>
<style>body {{ font-family: sans-serif; margin: 3em; }} code {{ background: #eee; padding: 0 .3em; }}</style>
</head>
<body>
<h1>Hello from {service}</h1>
<p>served by <code>{hostname}</code></p>
<p>path: <code>{path}</code></p>
<p>version: <code>{VERSION}</code></p>
</body>
</html>
"
    )
}

/// Minimal HTML escaping for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line per request: `<client ip> <method> <path> <status> <latency>ms`.
async fn access_log(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "-".to_owned());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    tracing::info!(
        "{client} {method} {path} {} {:.2}ms",
        resp.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn page_shows_name_host_path_version() {
        let html = page("user-svc", "ip-10-0-1-5", "/user-svc/<b>");
        assert!(html.contains("<h1>Hello from user-svc</h1>"));
        assert!(html.contains("served by <code>ip-10-0-1-5</code>"));
        assert!(html.contains("/user-svc/&lt;b&gt;"));
        assert!(html.contains(VERSION));
    }
}
