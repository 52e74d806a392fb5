//! The app over real HTTP on 127.0.0.1:0, with a fake ECS task metadata
//! endpoint where needed. Every wait is bounded.

// Test helpers outside #[test] fns: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use demo_web::{Config, Service};
use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);
const HOST: &str = "ip-10-0-2-17.ec2.internal";

struct Server {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(service: Service, config: Config) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, rx) = oneshot::channel::<()>();
        let app = demo_web::app(service, &config);
        let task = tokio::spawn(demo_web::serve(listener, app, async {
            let _ = rx.await;
        }));
        Self { addr, shutdown, task }
    }

    /// Triggers shutdown and waits (bounded) for `serve` to return Ok.
    async fn stop(self) {
        let _ = self.shutdown.send(());
        timeout(WAIT, self.task).await.expect("server did not stop in time").unwrap().unwrap();
    }
}

fn config(metadata_uri: Option<String>) -> Config {
    Config { bind_addr: "127.0.0.1:0".parse().unwrap(), hostname: HOST.to_owned(), metadata_uri }
}

async fn product_svc() -> Server {
    Server::start(Service::new("product-svc"), config(None)).await
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        assert_eq!(self.headers[header::CONTENT_TYPE], "application/json", "{}", self.body);
        serde_json::from_str(&self.body).unwrap()
    }

    fn html(&self) -> &str {
        let ctype = self.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(ctype.starts_with("text/html"), "{ctype}");
        &self.body
    }
}

/// One request on a fresh HTTP/1.1 connection.
async fn request(addr: SocketAddr, method: &str, path: &str) -> Resp {
    timeout(WAIT, async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp { status, headers, body: String::from_utf8(body.to_vec()).unwrap() }
    })
    .await
    .expect("request timed out")
}

async fn get_path(addr: SocketAddr, path: &str) -> Resp {
    request(addr, "GET", path).await
}

#[tokio::test]
async fn health_returns_ok_json() {
    let server = product_svc().await;
    let resp = get_path(server.addr, "/health").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.json(), json!({ "status": "ok" }));
    server.stop().await;
}

#[tokio::test]
async fn hello_page_on_every_path_the_alb_forwards() {
    let server = product_svc().await;
    for path in [
        "/product-svc",
        "/product-svc/",
        "/product-svc/x/y",
        "/product-svcFOO",
        "/product-svc/info/",
        "/product-svc/x?q=1",
    ] {
        let resp = get_path(server.addr, path).await;
        assert_eq!(resp.status, StatusCode::OK, "{path}");
        let html = resp.html();
        assert!(html.contains("<h1>Hello from product-svc</h1>"), "{html}");
        assert!(html.contains(&format!("served by <code>{HOST}</code>")), "{html}");
        let shown = path.split('?').next().unwrap();
        assert!(html.contains(&format!("<code>{shown}</code>")), "{html}");
        assert!(html.contains(demo_web::VERSION), "{html}");
    }
    server.stop().await;
}

#[tokio::test]
async fn hello_page_escapes_the_path() {
    let server = product_svc().await;
    let html = get_path(server.addr, "/product-svc/a&b=\"c\"").await.html().to_owned();
    assert!(html.contains("<code>/product-svc/a&amp;b=&quot;c&quot;</code>"), "{html}");
    server.stop().await;
}

#[tokio::test]
async fn head_is_answered_and_other_methods_on_the_page_are_405() {
    let server = product_svc().await;
    let resp = request(server.addr, "HEAD", "/product-svc/x").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert!(resp.body.is_empty());
    let resp = request(server.addr, "POST", "/product-svc/x").await;
    assert_eq!(resp.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers[header::ALLOW], "GET, HEAD");
    server.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let server = product_svc().await;
    for path in ["/", "/nope", "/user-svc", "/Product-svc", "/health/x"] {
        let resp = get_path(server.addr, path).await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(resp.json(), json!({ "error": "not found", "path": path }));
    }
    server.stop().await;
}

#[tokio::test]
async fn service_routes_are_served() {
    let routes = Router::new().route("/user-svc/users", get(|| async { "[]" }));
    let server = Server::start(Service::new("user-svc").routes(routes), config(None)).await;
    let resp = get_path(server.addr, "/user-svc/users").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, "[]");
    let resp = get_path(server.addr, "/user-svc/other").await;
    assert!(resp.html().contains("Hello from user-svc"));
    server.stop().await;
}

#[tokio::test]
async fn status_paths_answer_with_that_status() {
    let server = product_svc().await;
    let resp = get_path(server.addr, "/product-svc/status/500").await;
    assert_eq!(resp.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(resp.json()["hostname"], HOST);
    assert_eq!(get_path(server.addr, "/product-svc/status/204").await.status, StatusCode::NO_CONTENT);
    assert_eq!(get_path(server.addr, "/product-svc/status/abc").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get_path(server.addr, "/product-svc/status/100").await.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn info_has_nulls_without_metadata_endpoint() {
    let server = product_svc().await;
    let resp = get_path(server.addr, "/product-svc/info").await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(
        resp.json(),
        json!({
            "service": "product-svc",
            "hostname": HOST,
            "version": demo_web::VERSION,
            "task_arn": null,
            "availability_zone": null,
        })
    );
    server.stop().await;
}

const TASK_ARN: &str = "arn:aws:ecs:us-east-1:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c";

/// A fake task metadata endpoint v4 at `http://<addr>/v4/abc`; the first
/// `failures` requests get a 500. Returns (base URI, request counter, stop).
async fn fake_metadata(failures: usize) -> (String, Arc<AtomicUsize>, Server) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let routes = Router::new().route(
        "/v4/abc/task",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < failures {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_owned());
                }
                let doc = json!({
                    "Cluster": "default",
                    "TaskARN": TASK_ARN,
                    "Family": "product-svc",
                    "AvailabilityZone": "us-east-1a",
                    "Containers": [],
                });
                (StatusCode::OK, doc.to_string())
            }
        }),
    );
    let server = Server::start(Service::new("metadata").routes(routes), config(None)).await;
    (format!("http://{}/v4/abc", server.addr), hits, server)
}

#[tokio::test]
async fn info_reads_task_metadata_and_caches_it() {
    let (uri, hits, metadata) = fake_metadata(0).await;
    let server = Server::start(Service::new("product-svc"), config(Some(uri))).await;
    for _ in 0..3 {
        let info = get_path(server.addr, "/product-svc/info").await.json();
        assert_eq!(info["task_arn"], TASK_ARN);
        assert_eq!(info["availability_zone"], "us-east-1a");
        assert_eq!(info["hostname"], HOST);
        assert_eq!(info["service"], "product-svc");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "metadata fetched once");
    server.stop().await;
    metadata.stop().await;
}

#[tokio::test]
async fn info_has_nulls_when_metadata_fails_and_retries_later() {
    let (uri, hits, metadata) = fake_metadata(1).await;
    let server = Server::start(Service::new("product-svc"), config(Some(uri))).await;
    let info = get_path(server.addr, "/product-svc/info").await.json();
    assert_eq!(info["task_arn"], Value::Null);
    assert_eq!(info["availability_zone"], Value::Null);
    let info = get_path(server.addr, "/product-svc/info").await.json();
    assert_eq!(info["task_arn"], TASK_ARN);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    server.stop().await;
    metadata.stop().await;
}

#[tokio::test]
async fn info_has_nulls_when_metadata_endpoint_is_down() {
    // A port that was just free: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let uri = format!("http://{closed}/v4/abc");
    let server = Server::start(Service::new("product-svc"), config(Some(uri))).await;
    let info = get_path(server.addr, "/product-svc/info").await.json();
    assert_eq!(info["task_arn"], Value::Null);
    assert_eq!(info["availability_zone"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn info_gives_up_on_a_hanging_metadata_endpoint_after_2s() {
    // Accepts connections and never answers.
    let hang = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_addr = hang.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            held.push(socket);
        }
    });
    let uri = format!("http://{hang_addr}/v4/abc");
    let server = Server::start(Service::new("product-svc"), config(Some(uri))).await;
    let start = std::time::Instant::now();
    let info = get_path(server.addr, "/product-svc/info").await.json();
    let took = start.elapsed();
    assert_eq!(info["task_arn"], Value::Null);
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_millis(4000), "{took:?}");
    server.stop().await;
    holder.abort();
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_request() {
    let started = Arc::new(Notify::new());
    let entered = started.clone();
    let routes = Router::new().route(
        "/product-svc/slow",
        get(move || {
            let entered = entered.clone();
            async move {
                entered.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow done"
            }
        }),
    );
    let server = Server::start(Service::new("product-svc").routes(routes), config(None)).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(get_path(addr, "/product-svc/slow"));
    timeout(WAIT, started.notified()).await.expect("slow request never reached the handler");

    server.stop().await;
    let resp = timeout(WAIT, in_flight).await.unwrap().unwrap();
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, "slow done");

    // The listener is gone: no new connections.
    assert!(TcpStream::connect(addr).await.is_err());
}
