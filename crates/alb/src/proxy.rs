//! The request path: one hyper HTTP/1.1 server connection per client, routing through the current
//! [`Table`], forwarding over pooled keep-alive connections ([`crate::upstream`]).
//!
//! Life of a request:
//! 1. [`decide`] (synchronous, no lock): one atomic load of the table, ALB's header limits, the load
//!    balancer by Host, the first matching rule, then either a response the load balancer writes
//!    itself (fixed-response, redirect, error page) or a chosen target counted in flight.
//! 2. [`rewrite`]: hop-by-hop headers out, `X-Forwarded-*`, `X-Amzn-Trace-Id` and `Host` as ALB
//!    sets them, the URI pointed at the target (path and query unchanged).
//! 3. [`forward`]: [`upstream::send`] sends it on a pooled connection; no response head within the load balancer's idle
//!    timeout is a 504, a refused/reset/invalid exchange a 502. The response body streams back and
//!    the in-flight count drops when it ends. A `101 Switching Protocols` bridges both upgraded
//!    connections (WebSocket).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::uri::{PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, StatusCode, Uri, header};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use model::routing::XffMode;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::balance::InFlight;
use crate::compiled::{CompiledAction, Table};
use crate::error::{ProxyError, RedirectInput, SERVER, error_page, redirect_location, redirect_response};
use crate::headers::{
    X_AMZN_TRACE_ID, X_FORWARDED_PORT, X_FORWARDED_PROTO, check_limits, forwarded_for, forwarded_host,
    is_upgrade, new_trace_id, root_trace_value, strip_hop_by_hop, trace_header,
};
use crate::rules::{RequestView, first_match, host_without_port};
use crate::upstream::{self, Answer, UpstreamBody, UpstreamError};

/// hyper's read buffer must hold a request head over ALB's limits (16 KiB line + 64 KiB headers)
/// so that [`check_limits`] can answer ALB's 400 instead of hyper's bare 431.
const MAX_HEAD_BUFFER: usize = 128 * 1024;

/// State shared by every connection of the data plane.
pub struct Shared {
    /// The current routing table; replaced whole on every snapshot.
    pub table: ArcSwap<Table>,
    /// Open client connections (a stopping worker waits for them).
    pub live: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("generation", &self.table.load().generation).finish_non_exhaustive()
    }
}

impl Shared {
    pub fn new() -> Self {
        Self { table: ArcSwap::from_pointee(Table::default()), live: Arc::default() }
    }

    /// The idle timeout of a new connection on listener `port`: the longest of its load balancers'.
    pub fn idle_timeout(&self, port: u16) -> Duration {
        self.table
            .load()
            .port(port)
            .and_then(|p| p.lbs.iter().map(|lb| lb.idle_timeout).max())
            .unwrap_or(Duration::from_secs(60))
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

/// What one client connection knows about itself.
struct ConnCtx {
    shared: Arc<Shared>,
    /// The listener port as the API shows it.
    port: u16,
    peer: SocketAddr,
    /// The peer as `X-Forwarded-For` shows it, without and with its port (built once per
    /// connection, not per request).
    xff_ip: HeaderValue,
    xff_ip_port: HeaderValue,
    /// Bumped by every read or write on the client socket that moves bytes ([`ActiveIo`]).
    activity: AtomicU64,
    /// Requests being handled (routing, waiting for the target's response head).
    busy: AtomicUsize,
}

/// A future polled only after its own waker fired (and at first).
///
/// `select!` polls every branch whenever the connection's task wakes, twice per request. The stop
/// signal is a `watch` receiver shared by every connection, and polling a waiting one locks the
/// channel's waiter list: a lock shared across the worker threads, taken on every request. Behind
/// this wrapper the stop branch costs an atomic swap per wake instead.
struct PolledOnWake<F> {
    fut: F,
    flag: Arc<WakeFlag>,
}

struct WakeFlag {
    woken: AtomicBool,
    /// The task to wake when `fut`'s waker fires (a task's waker does not change: registered
    /// once, compared on later polls).
    task: std::sync::Mutex<Option<Waker>>,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        let task = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

impl<F: Future + Unpin> PolledOnWake<F> {
    fn new(fut: F) -> Self {
        let flag = WakeFlag { woken: AtomicBool::new(true), task: std::sync::Mutex::new(None) };
        Self { fut, flag: Arc::new(flag) }
    }
}

impl<F: Future + Unpin> Future for PolledOnWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        {
            let mut task = this.flag.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let waker = Waker::from(this.flag.clone());
        Pin::new(&mut this.fut).poll(&mut Context::from_waker(&waker))
    }
}

/// Counts a request as busy for as long as it is handled.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The client socket, counting the reads and writes that move bytes (the idle timeout's clock).
struct ActiveIo {
    io: TcpStream,
    ctx: Arc<ConnCtx>,
}

impl ActiveIo {
    fn bump(&self) {
        // One writer (this connection's task): a relaxed load and store, no locked instruction.
        let n = self.ctx.activity.load(Ordering::Relaxed);
        self.ctx.activity.store(n.wrapping_add(1), Ordering::Relaxed);
    }
}

impl AsyncRead for ActiveIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.bump();
        }
        res
    }
}

impl AsyncWrite for ActiveIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.io).poll_write(cx, data);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.bump();
        }
        res
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let res = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            this.bump();
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serves one client connection until it closes, idles out, or the data plane stops.
pub async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    port: u16,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _live = crate::workers::LiveConn::new(&shared.live);
    let _ = stream.set_nodelay(true);
    let idle = shared.idle_timeout(port);
    let ip = peer.ip();
    let xff_ip = HeaderValue::try_from(ip.to_string()).unwrap_or(HeaderValue::from_static("unknown"));
    let with_port = match ip {
        std::net::IpAddr::V4(_) => format!("{ip}:{}", peer.port()),
        std::net::IpAddr::V6(_) => format!("[{ip}]:{}", peer.port()),
    };
    let xff_ip_port = HeaderValue::try_from(with_port).unwrap_or_else(|_| xff_ip.clone());
    let ctx = Arc::new(ConnCtx {
        shared,
        port,
        peer,
        xff_ip,
        xff_ip_port,
        activity: AtomicU64::new(0),
        busy: AtomicUsize::new(0),
    });
    let io = ActiveIo { io: stream, ctx: ctx.clone() };
    let service_ctx = ctx.clone();
    let service = service_fn(move |req| {
        let ctx = service_ctx.clone();
        async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        // Not hyper's header read timer: it allocates and arms a timer for every request. The
        // idle timeout is the watchdog below, one timer per connection.
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BUFFER);
    let conn = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    // ALB's idle timeout: the connection closes when no byte has moved either way and no request
    // was being handled for `idle` (a request waiting for its target gets its 504 from
    // `forward` instead). Checked every `idle / 8`: it closes between 1 and 1.25 x `idle` after
    // the last byte.
    let check = (idle / 8).max(Duration::from_millis(10));
    let watchdog = tokio::time::sleep(check);
    let mut watchdog = std::pin::pin!(watchdog);
    let mut seen = ctx.activity.load(Ordering::Relaxed);
    let mut quiet_since = tokio::time::Instant::now();
    let mut stop = PolledOnWake::new(Box::pin(async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    }));
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(%peer, error = %e, "client connection ended");
                }
                return;
            }
            () = &mut watchdog => {
                let now = tokio::time::Instant::now();
                let activity = ctx.activity.load(Ordering::Relaxed);
                if activity != seen || ctx.busy.load(Ordering::Relaxed) > 0 {
                    seen = activity;
                    quiet_since = now;
                } else if now.duration_since(quiet_since) >= idle {
                    tracing::trace!(%peer, "client connection idle");
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                    return;
                }
                watchdog.as_mut().reset(now + check);
            }
            () = &mut stop => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
                return;
            }
        }
    }
}

async fn handle(ctx: &ConnCtx, mut req: Request<Incoming>) -> Response<ProxyBody> {
    let _busy = Busy::start(&ctx.busy);
    let plan = match decide(ctx, &req) {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    rewrite(ctx, &mut req, &plan);
    forward(ctx, req, plan).await
}

/// A request that goes to a target.
struct Plan {
    guard: InFlight,
    idle: Duration,
    upgrade: bool,
    xff_mode: XffMode,
    xff_client_port: bool,
    drop_invalid_header_fields: bool,
    forwarded_port: HeaderValue,
    /// The `Host` to send when it differs from the client's.
    host: Option<String>,
    /// Target-group stickiness: the group's cookie value and its lifetime.
    set_cookie: Option<(String, Duration)>,
}

/// Routes a request: `Ok` when it goes to a target, `Err` with the response the load balancer
/// answers itself.
// The `Err` is a whole response on purpose: boxing it would cost an allocation per fixed response.
#[allow(clippy::result_large_err)]
fn decide(ctx: &ConnCtx, req: &Request<Incoming>) -> Result<Plan, Response<ProxyBody>> {
    let table = ctx.shared.table.load();
    let Some(port) = table.port(ctx.port) else {
        // The listener was removed while this connection was open.
        return Err(error_page(StatusCode::SERVICE_UNAVAILABLE));
    };
    let uri = req.uri();
    let line_len = req.method().as_str().len()
        + uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len() + 8)
        + 10;
    if let Err(why) = check_limits(line_len, req.headers()) {
        tracing::debug!(peer = %ctx.peer, why, "400");
        return Err(ProxyError::BadRequest(why).response());
    }
    // An absolute-form request names its host in the URI; otherwise the Host header does.
    let host_full = match uri.authority() {
        Some(authority) => authority.as_str(),
        None => req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""),
    };
    let host = host_without_port(host_full);
    let Some(lb) = port.select(host) else {
        let mut resp = Response::new(ProxyBody::full(port.unknown_host.clone()));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        resp.headers_mut().insert(header::SERVER, SERVER);
        return Err(resp);
    };
    let view = RequestView {
        path: uri.path(),
        query: uri.query(),
        host,
        method: req.method(),
        headers: req.headers(),
        source_ip: ctx.peer.ip(),
    };
    let Some(rule) =
        first_match(lb.rules.iter().map(|r| r.matchers.iter()), &view).and_then(|i| lb.rules.get(i))
    else {
        return Err(error_page(StatusCode::SERVICE_UNAVAILABLE));
    };
    let forward = match &rule.action {
        CompiledAction::Fixed(fixed) => return Err(fixed.response()),
        CompiledAction::Redirect(redirect) => {
            let input = RedirectInput {
                protocol: "http",
                host,
                port: port.port,
                path: uri.path(),
                query: uri.query().unwrap_or(""),
            };
            return Err(redirect_response(redirect.status_code, &redirect_location(redirect, &input)));
        }
        CompiledAction::Forward(forward) => forward,
    };
    // Target-group stickiness: a valid AWSALBTG cookie names the group, when it can serve.
    let sticky = forward.stickiness.and_then(|_| sticky_cookie(req.headers()));
    let picked = sticky
        .and_then(|token| forward.sticky_group(token))
        .and_then(|group| group.pick().map(|t| (group, t)))
        .or_else(|| forward.pick_group().and_then(|group| group.pick().map(|t| (group, t))));
    let Some((group, target)) = picked else {
        return Err(ProxyError::NoTarget.response());
    };
    let set_cookie = forward.stickiness.map(|duration| (group.sticky_token.clone(), duration));
    let host = if lb.preserve_host_header {
        None
    } else if host_full.is_empty() {
        // HTTP/1.0 without Host: ALB sends its own DNS name.
        forwarded_host(&lb.dns_name, &lb.dns_name, port.port).or_else(|| Some(lb.dns_name.clone()))
    } else {
        forwarded_host(host_full, host, port.port)
    };
    Ok(Plan {
        guard: InFlight::start(target.clone()),
        idle: lb.idle_timeout,
        upgrade: is_upgrade(req.headers()),
        xff_mode: lb.xff_mode,
        xff_client_port: lb.xff_client_port,
        drop_invalid_header_fields: lb.drop_invalid_header_fields,
        forwarded_port: port.forwarded_port.clone(),
        host,
        set_cookie,
    })
}

/// Rewrites a routed request for its target, as ALB does.
fn rewrite(ctx: &ConnCtx, req: &mut Request<Incoming>, plan: &Plan) {
    let headers = req.headers_mut();
    strip_hop_by_hop(headers, plan.upgrade);
    if plan.drop_invalid_header_fields {
        let invalid: Vec<_> = headers
            .keys()
            .filter(|name| !name.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .cloned()
            .collect();
        for name in invalid {
            headers.remove(name);
        }
    }
    let client = if plan.xff_client_port { &ctx.xff_ip_port } else { &ctx.xff_ip };
    forwarded_for(headers, plan.xff_mode, client);
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    headers.insert(X_FORWARDED_PORT.clone(), plan.forwarded_port.clone());

    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let id = new_trace_id(now, rand::random::<u128>());
    let value = match headers.get(&X_AMZN_TRACE_ID) {
        None => Some(root_trace_value(&id)),
        Some(existing) => HeaderValue::try_from(trace_header(existing.to_str().ok(), id.as_str())).ok(),
    };
    if let Some(value) = value {
        headers.insert(X_AMZN_TRACE_ID.clone(), value);
    }
    if let Some(host) = &plan.host
        && let Ok(value) = HeaderValue::try_from(host.as_str())
    {
        headers.insert(header::HOST, value);
    }

    // Point the URI at the target; the path and query go unchanged.
    let target = plan.guard.target();
    let path_and_query = req.uri().path_and_query().cloned().unwrap_or(PathAndQuery::from_static("/"));
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(target.authority.clone());
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

async fn forward(ctx: &ConnCtx, mut req: Request<Incoming>, plan: Plan) -> Response<ProxyBody> {
    let client_upgrade = plan.upgrade.then(|| hyper::upgrade::on(&mut req));
    let addr = plan.guard.target().addr;
    let Plan { guard, idle, set_cookie, .. } = plan;
    let plan = StickyPlan { set_cookie };
    let answer = match tokio::time::timeout(idle, upstream::send(req, guard)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            let err = classify(e, addr);
            tracing::debug!(peer = %ctx.peer, error = %err, source = ?err.source(), "upstream failure");
            return err.response();
        }
        Err(_) => {
            let err = ProxyError::UpstreamTimeout { addr };
            tracing::debug!(peer = %ctx.peer, error = %err, "upstream timeout");
            return err.response();
        }
    };
    match answer {
        Answer::Response(mut response) => {
            strip_hop_by_hop(response.headers_mut(), false);
            if let Some((token, duration)) = &plan.set_cookie {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                for cookie in sticky_set_cookies(token, now + duration.as_secs()) {
                    if let Ok(value) = HeaderValue::try_from(cookie) {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                }
            }
            response.map(ProxyBody::Upstream)
        }
        Answer::Upgraded(parts, upstream, early, guard) => {
            let Some(client_upgrade) = client_upgrade else {
                // A 101 the client did not ask for cannot be bridged.
                return ProxyError::Upstream { addr, reason: "unsolicited 101".into() }.response();
            };
            tokio::spawn(async move {
                let Ok(client) = client_upgrade.await else { return };
                let mut client = TokioIo::new(client);
                let mut upstream = upstream;
                if !early.is_empty() && client.write_all(&early).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                drop(guard);
            });
            Response::from_parts(parts, ProxyBody::empty())
        }
    }
}

/// What `forward` still needs after the plan's guard moved into the upstream call.
struct StickyPlan {
    set_cookie: Option<(String, Duration)>,
}

/// The value of an `AWSALBTG` (or `AWSALBTGCORS`) cookie in the request, if any.
fn sticky_cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        line.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            matches!(name, "AWSALBTG" | "AWSALBTGCORS").then_some(value)
        })
    })
}

/// The two cookies ALB sets for target-group stickiness (the CORS one for cross-site requests).
pub fn sticky_set_cookies(token: &str, expires_epoch: u64) -> [String; 2] {
    let expires = http_date(expires_epoch);
    [
        format!("AWSALBTG={token}; Expires={expires}; Path=/"),
        format!("AWSALBTGCORS={token}; Expires={expires}; Path=/; SameSite=None; Secure"),
    ]
}

/// An IMF-fixdate (`Thu, 26 Nov 2026 11:37:40 GMT`) for seconds since the epoch.
pub fn http_date(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1).clamp(0, 11) as usize],
        year,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Maps an upstream failure to ALB's answer by source: a target that does not accept the
/// connection in time is a 504, a client body that breaks off a 400, anything else a 502.
fn classify(e: UpstreamError, addr: SocketAddr) -> ProxyError {
    match e {
        UpstreamError::ConnectTimeout => ProxyError::UpstreamTimeout { addr },
        UpstreamError::RequestBody(_) => ProxyError::BadRequest("client body ended early"),
        other => ProxyError::Upstream { addr, reason: other.to_string() },
    }
}

/// A response body: bytes the load balancer wrote, or a target's body streamed through while its
/// in-flight count is held.
#[derive(Debug)]
pub enum ProxyBody {
    Full(Option<Bytes>),
    Upstream(UpstreamBody),
}

impl ProxyBody {
    pub fn full(bytes: Bytes) -> Self {
        Self::Full(Some(bytes))
    }

    pub fn empty() -> Self {
        Self::Full(None)
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Upstream(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Upstream(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Upstream(body) => body.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let cases = [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_795_693_060, "Thu, 26 Nov 2026 11:37:40 GMT"),
            (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 GMT"),
        ];
        for (epoch, expected) in cases {
            assert_eq!(http_date(epoch), expected, "{epoch}");
        }
    }

    #[test]
    fn sticky_cookies() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(sticky_cookie(&headers), None);
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; AWSALBTG=abc; b=2"));
        assert_eq!(sticky_cookie(&headers), Some("abc"));
        let mut cors = http::HeaderMap::new();
        cors.append(header::COOKIE, HeaderValue::from_static("x=y"));
        cors.append(header::COOKIE, HeaderValue::from_static("AWSALBTGCORS=def"));
        assert_eq!(sticky_cookie(&cors), Some("def"));
        let [plain, cross] = sticky_set_cookies("abc", 0);
        assert_eq!(plain, "AWSALBTG=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/");
        assert_eq!(
            cross,
            "AWSALBTGCORS=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; SameSite=None; Secure"
        );
    }
}
