//! The target side of the proxy: response framings, request bodies, connection reuse.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use model::routing::*;

fn snapshot(targets: Vec<Target>) -> RoutingSnapshot {
    let mut tg = group("tg", targets);
    // These targets answer scripted responses only: no health checks to consume them.
    tg.health_check.enabled = false;
    RoutingSnapshot {
        generation: 1,
        load_balancers: vec![lb("web", 80, vec![default_rule(forward("tg"))])],
        target_groups: vec![tg],
    }
}

#[tokio::test]
async fn response_framings_are_decoded() {
    // (name, raw response, expected status, expected body)
    let cases: Vec<(&str, &'static [u8], u16, &str)> = vec![
        ("content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, "hello"),
        (
            "chunked with extension and trailer",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            200,
            "hello world",
        ),
        ("until close", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 200, "until the end"),
        ("204 has no body", b"HTTP/1.1 204 No Content\r\n\r\n", 204, ""),
        ("100 continue skipped", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, "ok"),
        ("http/1.0", b"HTTP/1.0 200 OK\r\n\r\nold", 200, "old"),
    ];
    for (i, (name, raw, status, body)) in cases.into_iter().enumerate() {
        let ip = format!("127.0.4.{}", 10 + i);
        // Bodies delimited by the end of the connection need the target to close it.
        let close =
            !raw.windows(15).any(|w| w == b"Content-Length:") && !raw.windows(7).any(|w| w == b"chunked");
        let (addr, _) = raw_backend(&ip, vec![raw], close).await;
        let plane = Plane::start(snapshot(vec![raw_target(addr, "10.0.4.1")])).await;
        let got = get(plane.addr(80), "lb.example", "/").await;
        assert_eq!((got.status.as_u16(), got.body.as_str()), (status, body), "{name}");
        plane.stop().await;
    }
}

#[tokio::test]
async fn invalid_response_is_502() {
    let (addr, _) = raw_backend("127.0.4.31", vec![b"NOT HTTP AT ALL\r\n\r\n"], false).await;
    let plane = Plane::start(snapshot(vec![raw_target(addr, "10.0.4.31")])).await;
    let got = get(plane.addr(80), "lb.example", "/").await;
    assert_eq!(got.status, 502);
    plane.stop().await;
}

#[tokio::test]
async fn keep_alive_connections_are_reused_and_head_has_no_body() {
    let (addr, count) = raw_backend(
        "127.0.4.32",
        vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
        ],
        false,
    )
    .await;
    let plane = Plane::start(snapshot(vec![raw_target(addr, "10.0.4.32")])).await;
    let head = Request::head("/").header("host", "lb.example").body(Full::new(Bytes::new())).unwrap();
    let got = send(plane.addr(80), head).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["content-length"], "100");
    // The HEAD answer had no body, so the connection is clean for the next request.
    let got = get(plane.addr(80), "lb.example", "/").await;
    assert_eq!(got.body, "abc");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    plane.stop().await;
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_target_is_retried() {
    // Every response says keep-alive, then the target closes the connection anyway.
    let (addr, _) =
        raw_backend("127.0.4.33", vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], true).await;
    let plane = Plane::start(snapshot(vec![raw_target(addr, "10.0.4.33")])).await;
    for _ in 0..5 {
        let got = get(plane.addr(80), "lb.example", "/").await;
        assert_eq!((got.status.as_u16(), got.body.as_str()), (200, "ok"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    plane.stop().await;
}

#[tokio::test]
async fn request_bodies_and_large_responses_stream_through() {
    let a = Backend::start("a", "127.0.4.41").await;
    let plane = Plane::start(snapshot(vec![a.target("10.0.4.41")])).await;
    let addr = plane.addr(80);
    // A body with Content-Length.
    let req = Request::post("/body")
        .header("host", "lb.example")
        .body(Full::new(Bytes::from("ping pong")))
        .unwrap();
    assert_eq!(send(addr, req).await.body, "ping pong");
    // A chunked body (no Content-Length): the client streams it, the proxy re-chunks it.
    let stream = tokio_stream_body(vec!["part one, ", "part two"]);
    let req = Request::post("/body").header("host", "lb.example").body(stream).unwrap();
    let got = send_streaming(addr, req).await;
    assert_eq!(got, "part one, part two");
    // A 1 MiB response.
    let got = get(addr, "lb.example", "/big").await;
    assert_eq!(got.body.len(), 1 << 20);
    plane.stop().await;
}

/// A body of several frames and no known length: hyper sends it chunked.
struct StreamBody(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for StreamBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

fn tokio_stream_body(parts: Vec<&'static str>) -> StreamBody {
    StreamBody(parts.into_iter().map(Bytes::from).collect())
}

async fn send_streaming(addr: std::net::SocketAddr, req: Request<StreamBody>) -> String {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let resp = tokio::time::timeout(WAIT, sender.send_request(req)).await.unwrap().unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}
