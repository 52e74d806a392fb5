//! The target side of the proxy: a small HTTP/1.1 client whose connection is owned by the request
//! that uses it, and a keep-alive pool per target.
//!
//! Why not hyper's pooled client: it runs every upstream connection as its own task and talks to it
//! through channels, so each request crosses tasks (and often threads) twice. Profiling the seed
//! benchmark put that machinery at about a quarter of the proxy's CPU. Here the request future
//! writes the request and reads the response head itself, and the response body
//! ([`UpstreamBody`]) reads the socket when the client side polls it, then puts the connection
//! back in its target's pool (pingora's model).
//!
//! Framing follows RFC 9112: a response to HEAD, a 1xx, 204 or 304 has no body; then
//! `Transfer-Encoding: chunked`, then `Content-Length`, else the body runs to the connection's end
//! (and the connection is not reused). Response heads over 32 KiB are refused (ALB's limit).

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::balance::{InFlight, TargetRt};

/// Target connect timeout (anchors §4.8: 10 s, then 504).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection idle longer than this is closed instead of reused: shorter than common
/// target keep-alive timeouts, so the pool drops a connection before the target does.
const POOL_IDLE: Duration = Duration::from_secs(50);
/// At most this many idle connections are kept per target.
const POOL_MAX: usize = 1024;
/// ALB refuses response heads over 32 KiB (load-balancer-limits) with a 502.
const MAX_RESPONSE_HEAD: usize = 32 * 1024;
const MAX_RESPONSE_HEADERS: usize = 128;
const READ_CHUNK: usize = 16 * 1024;

/// Why a request to a target failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("connect: {0}")]
    Connect(io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    #[error("connection closed before a complete response head")]
    Closed,
    #[error("invalid response: {0}")]
    Invalid(&'static str),
    #[error("reading the client's request body: {0}")]
    RequestBody(String),
}

/// One connection to a target, with its read buffer and a reusable write buffer.
#[derive(Debug)]
pub struct Conn {
    io: TcpStream,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    idle_since: Instant,
}

impl Conn {
    /// False when the target has closed (or written to) this idle connection. Costs no syscall
    /// while the reactor has seen no event on it: tokio answers `WouldBlock` from its cached
    /// readiness.
    fn looks_alive(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Idle keep-alive connections to one target, in one slot per serving thread
/// ([`crate::workers::slot`]): a connection is reused by the thread whose reactor it is registered
/// with.
#[derive(Debug)]
pub struct Pool {
    // Std mutexes around a push/pop: held for nanoseconds, never across an `.await`, and with
    // one slot per worker, uncontended.
    slots: [Mutex<Vec<Conn>>; crate::workers::SLOTS],
}

impl Default for Pool {
    fn default() -> Self {
        Self { slots: std::array::from_fn(|_| Mutex::new(Vec::new())) }
    }
}

impl Pool {
    fn slot(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        let slot = &self.slots[crate::workers::slot() % crate::workers::SLOTS];
        slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(&self) -> Option<Conn> {
        let now = Instant::now();
        loop {
            let conn = self.slot().pop()?;
            if now.duration_since(conn.idle_since) < POOL_IDLE && conn.looks_alive() {
                return Some(conn);
            }
        }
    }

    fn put(&self, mut conn: Conn) {
        conn.idle_since = Instant::now();
        let mut idle = self.slot();
        if idle.len() < POOL_MAX {
            idle.push(conn);
        }
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        for slot in &self.slots {
            slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        }
    }
}

async fn connect(target: &TargetRt) -> Result<Conn, UpstreamError> {
    let io = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.addr)).await {
        Ok(Ok(io)) => io,
        Ok(Err(e)) => return Err(UpstreamError::Connect(e)),
        Err(_) => return Err(UpstreamError::ConnectTimeout),
    };
    let _ = io.set_nodelay(true);
    Ok(Conn {
        io,
        rbuf: BytesMut::with_capacity(READ_CHUNK),
        wbuf: Vec::with_capacity(1024),
        idle_since: Instant::now(),
    })
}

/// What a target answered.
pub enum Answer {
    /// A response whose body streams from the connection.
    Response(Response<UpstreamBody>),
    /// `101 Switching Protocols`: the head, and the raw connection (with bytes already read
    /// past the head) to bridge to the client, still counted in flight.
    Upgraded(http::response::Parts, TcpStream, Bytes, InFlight),
}

/// Sends `req` (origin-form URI, headers already rewritten) to the target `guard` counts
/// against, reusing a pooled connection when there is one.
pub async fn send(req: Request<Incoming>, guard: InFlight) -> Result<Answer, UpstreamError> {
    let (parts, mut body) = req.into_parts();
    let has_body = !body.is_end_stream();
    let target = guard.target().clone();
    let (mut conn, mut reused) = match target.pool.take() {
        Some(conn) => (conn, true),
        None => (connect(&target).await?, false),
    };
    loop {
        encode_head(&parts, has_body, &target, &mut conn.wbuf);
        let sent = async {
            conn.io.write_all(&conn.wbuf).await?;
            if has_body {
                write_body(&mut conn.io, &mut body, parts.headers.contains_key(header::CONTENT_LENGTH))
                    .await?;
            }
            read_head(&mut conn).await
        }
        .await;
        match sent {
            Ok(head) => return Ok(answer(head, conn, &parts, guard)),
            // A kept-alive connection the target closed meanwhile: retry once on a new one,
            // when nothing of the request body was consumed.
            Err(UpstreamError::Closed | UpstreamError::Io(_)) if reused && !has_body => {
                conn = connect(&target).await?;
                reused = false;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Serializes the request head into `out` (cleared first).
fn encode_head(parts: &http::request::Parts, has_body: bool, target: &TargetRt, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    out.extend_from_slice(if path.is_empty() { b"/" } else { path.as_bytes() });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(header::HOST) {
        out.extend_from_slice(b"host: ");
        out.extend_from_slice(target.authority.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if has_body && !parts.headers.contains_key(header::CONTENT_LENGTH) {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Streams the client's body to the target, chunk-encoding it when its length is unknown.
async fn write_body(io: &mut TcpStream, body: &mut Incoming, has_length: bool) -> Result<(), UpstreamError> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| UpstreamError::RequestBody(e.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        if has_length {
            io.write_all(&data).await?;
        } else {
            io.write_all(format!("{:x}\r\n", data.len()).as_bytes()).await?;
            io.write_all(&data).await?;
            io.write_all(b"\r\n").await?;
        }
    }
    if !has_length {
        io.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

/// A parsed response head.
struct Head {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
}

/// Reads until a final (non-1xx, or 101) response head is parsed, consuming it from the buffer.
async fn read_head(conn: &mut Conn) -> Result<Head, UpstreamError> {
    loop {
        if !conn.rbuf.is_empty() {
            match take_head(&mut conn.rbuf)? {
                Some(head) => {
                    // 100 Continue and other interim responses are skipped; 101 is final here.
                    if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                        continue;
                    }
                    return Ok(head);
                }
                None if conn.rbuf.len() > MAX_RESPONSE_HEAD => {
                    return Err(UpstreamError::Invalid("response head over 32 KiB"));
                }
                None => {}
            }
        }
        conn.rbuf.reserve(READ_CHUNK);
        conn.io.readable().await?;
        match read_some(&conn.io, &mut conn.rbuf) {
            Ok(0) => return Err(UpstreamError::Closed),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// One read into `buf`'s spare capacity, when tokio's reactor says the socket is readable.
///
/// Like tokio's own `AsyncRead` for `TcpStream` (tokio#5866), a read that does not fill the space
/// offered clears the reactor's readiness: the socket is drained, and epoll reports the next bytes
/// (or the peer's FIN, whose readiness tokio never clears) as a new event. Without this, readiness
/// stays set after a response is read, and the next use of the pooled connection
/// ([`Conn::looks_alive`]) pays a `recv` that only returns `EAGAIN`: one syscall per request.
fn read_some(io: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    let space = buf.capacity() - buf.len();
    let mut got = 0;
    let res = io.try_io(tokio::io::Interest::READABLE, || {
        got = io.try_read_buf(buf)?;
        if got > 0 && got < space {
            // Not an error: tells `try_io` to clear the readiness it observed.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(got)
    });
    match res {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        other => other,
    }
}

/// Parses a response head at the start of `buf` and takes it out of the buffer: `Ok(None)` (and
/// `buf` untouched) when more bytes are needed.
///
/// Header values are not copied: they are slices of the head's bytes, split off the read buffer
/// (the buffer's memory is reclaimed once the response head has been written to the client and
/// dropped). Standard header names are static; only other names allocate.
fn take_head(buf: &mut BytesMut) -> Result<Option<Head>, UpstreamError> {
    // Where each header's name and value sit in `buf` (the parser's slices borrow it).
    let mut spans = [(0u32, 0u32, 0u32, 0u32); MAX_RESPONSE_HEADERS];
    let (len, status, version, count) = {
        let mut storage = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut resp = httparse::Response::new(&mut storage);
        let len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(UpstreamError::Invalid("malformed response head")),
        };
        if len > MAX_RESPONSE_HEAD {
            return Err(UpstreamError::Invalid("response head over 32 KiB"));
        }
        let status = resp
            .code
            .and_then(|c| StatusCode::from_u16(c).ok())
            .ok_or(UpstreamError::Invalid("status code"))?;
        let version = if resp.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
        let base = buf.as_ptr() as usize;
        // Offsets below 32 KiB (the head's limit): u32 holds them.
        let at = |part: &[u8]| (part.as_ptr() as usize - base) as u32;
        for (span, h) in spans.iter_mut().zip(resp.headers.iter()) {
            *span = (at(h.name.as_bytes()), h.name.len() as u32, at(h.value), h.value.len() as u32);
        }
        (len, status, version, resp.headers.len())
    };
    let raw = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(count);
    for &(name_at, name_len, value_at, value_len) in &spans[..count] {
        let (name_at, name_len) = (name_at as usize, name_len as usize);
        let (value_at, value_len) = (value_at as usize, value_len as usize);
        let name = HeaderName::from_bytes(&raw[name_at..name_at + name_len])
            .map_err(|_| UpstreamError::Invalid("header name"))?;
        let value = HeaderValue::from_maybe_shared(raw.slice(value_at..value_at + value_len))
            .map_err(|_| UpstreamError::Invalid("header value"))?;
        headers.append(name, value);
    }
    Ok(Some(Head { status, version, headers }))
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
}

fn answer(head: Head, conn: Conn, req: &http::request::Parts, guard: InFlight) -> Answer {
    let Head { status, version, headers } = head;
    let mut builder = http::response::Builder::new().status(status).version(version);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let Ok(response) = builder.body(()) else {
        // Cannot happen with a valid status; answer an empty 502-worthy body rather than panic.
        return Answer::Response(Response::new(UpstreamBody::empty()));
    };
    let (parts, ()) = response.into_parts();
    if status == StatusCode::SWITCHING_PROTOCOLS {
        let Conn { io, rbuf, .. } = conn;
        return Answer::Upgraded(parts, io, rbuf.freeze(), guard);
    }
    let headers = &parts.headers;
    let framing = if req.method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::Length(0)
    } else if has_token(headers, header::TRANSFER_ENCODING, "chunked") {
        Framing::Chunked(Chunk::Size)
    } else if let Some(len) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
    {
        Framing::Length(len)
    } else {
        Framing::UntilClose
    };
    let keep_alive = !matches!(framing, Framing::UntilClose)
        && if version == Version::HTTP_10 {
            has_token(headers, header::CONNECTION, "keep-alive")
        } else {
            !has_token(headers, header::CONNECTION, "close")
        };
    let remaining = match framing {
        Framing::Length(n) => Some(n),
        _ => None,
    };
    let body = UpstreamBody { conn: Some(conn), framing, keep_alive, remaining, guard: Some(guard) };
    let mut response = Response::from_parts(parts, body);
    response.body_mut().finish_if_done();
    Answer::Response(response)
}

/// How the response body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

/// Where a chunked decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailer,
}

/// A target's response body, read from the connection as the client side polls it. The
/// connection goes back to the pool when the body ends cleanly and the target keeps it alive;
/// the in-flight count is held until then.
#[derive(Debug)]
pub struct UpstreamBody {
    conn: Option<Conn>,
    framing: Framing,
    keep_alive: bool,
    /// Bytes left for a `Content-Length` body (the size hint).
    remaining: Option<u64>,
    guard: Option<InFlight>,
}

impl UpstreamBody {
    fn empty() -> Self {
        Self { conn: None, framing: Framing::Done, keep_alive: false, remaining: Some(0), guard: None }
    }

    fn finish_if_done(&mut self) {
        if self.framing == Framing::Length(0) {
            self.framing = Framing::Done;
        }
        if self.framing == Framing::Done {
            self.release();
        }
    }

    /// Returns the connection to the pool (when reusable) and ends the in-flight count.
    fn release(&mut self) {
        if let (Some(conn), Some(guard)) = (self.conn.take(), self.guard.as_ref())
            && self.keep_alive
            && conn.rbuf.is_empty()
        {
            guard.target().pool.put(conn);
        }
        self.guard = None;
    }

    /// Reads more bytes into the buffer; `Ok(false)` at end of stream.
    fn poll_fill(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        loop {
            conn.rbuf.reserve(READ_CHUNK);
            ready!(conn.io.poll_read_ready(cx))?;
            match read_some(&conn.io, &mut conn.rbuf) {
                Ok(0) => return Poll::Ready(Ok(false)),
                Ok(_) => return Poll::Ready(Ok(true)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

fn incomplete() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "target closed the connection mid-body")
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            let framing = this.framing;
            if framing == Framing::Done {
                this.release();
                return Poll::Ready(None);
            }
            let Some(conn) = this.conn.as_mut() else {
                this.framing = Framing::Done;
                continue;
            };
            match framing {
                Framing::Done => {}
                Framing::Length(0) => this.framing = Framing::Done,
                Framing::Length(n) | Framing::Chunked(Chunk::Data(n)) => {
                    if conn.rbuf.is_empty() && !ready!(Self::poll_fill(conn, cx))? {
                        this.keep_alive = false;
                        this.framing = Framing::Done;
                        return Poll::Ready(Some(Err(incomplete())));
                    }
                    let take = (conn.rbuf.len() as u64).min(n);
                    let data = conn.rbuf.split_to(take as usize).freeze();
                    let left = n - take;
                    this.framing = match framing {
                        Framing::Length(_) => Framing::Length(left),
                        _ if left == 0 => Framing::Chunked(Chunk::DataEnd),
                        _ => Framing::Chunked(Chunk::Data(left)),
                    };
                    if let Some(r) = this.remaining.as_mut() {
                        *r = left;
                    }
                    if this.framing == Framing::Length(0) {
                        this.framing = Framing::Done;
                        // Release before handing out the last bytes: the connection is reusable
                        // as soon as the body is read, whenever the client side gets to it.
                        this.release();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::UntilClose => {
                    if conn.rbuf.is_empty() && !ready!(Self::poll_fill(conn, cx))? {
                        this.framing = Framing::Done;
                        continue;
                    }
                    let data = conn.rbuf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Chunked(Chunk::Size) | Framing::Chunked(Chunk::Trailer) => {
                    let Some(end) = find_crlf(&conn.rbuf) else {
                        if conn.rbuf.len() > 8 * 1024 {
                            this.keep_alive = false;
                            this.framing = Framing::Done;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "chunk line too long",
                            ))));
                        }
                        if !ready!(Self::poll_fill(conn, cx))? {
                            this.keep_alive = false;
                            this.framing = Framing::Done;
                            return Poll::Ready(Some(Err(incomplete())));
                        }
                        continue;
                    };
                    let line = conn.rbuf.split_to(end + 2);
                    let line = &line[..end];
                    if framing == Framing::Chunked(Chunk::Trailer) {
                        if line.is_empty() {
                            this.framing = Framing::Done;
                        }
                        continue;
                    }
                    let size = line.split(|&b| b == b';').next().unwrap_or(b"");
                    let size =
                        std::str::from_utf8(size).ok().and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
                    match size {
                        Some(0) => this.framing = Framing::Chunked(Chunk::Trailer),
                        Some(n) => this.framing = Framing::Chunked(Chunk::Data(n)),
                        None => {
                            this.keep_alive = false;
                            this.framing = Framing::Done;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "bad chunk size",
                            ))));
                        }
                    }
                }
                Framing::Chunked(Chunk::DataEnd) => {
                    if conn.rbuf.len() < 2 {
                        if !ready!(Self::poll_fill(conn, cx))? {
                            this.keep_alive = false;
                            this.framing = Framing::Done;
                            return Poll::Ready(Some(Err(incomplete())));
                        }
                        continue;
                    }
                    if &conn.rbuf[..2] != b"\r\n" {
                        this.keep_alive = false;
                        this.framing = Framing::Done;
                        return Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "chunk without CRLF",
                        ))));
                    }
                    conn.rbuf.advance(2);
                    this.framing = Framing::Chunked(Chunk::Size);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.framing == Framing::Done
    }

    fn size_hint(&self) -> SizeHint {
        match (self.framing, self.remaining) {
            (Framing::Done, _) => SizeHint::with_exact(0),
            (Framing::Length(_), Some(n)) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_heads_parse() {
        let parse = |raw: &[u8]| {
            let mut buf = BytesMut::from(raw);
            let head = take_head(&mut buf);
            (head, buf)
        };
        let (head, rest) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\nX-A: c\r\n\r\nhello");
        let head = head.ok().flatten().unwrap_or_else(|| panic!("complete head"));
        assert_eq!(&rest[..], b"hello");
        assert_eq!(head.status, 200);
        assert_eq!(head.headers["content-length"], "5");
        let xa: Vec<_> = head.headers.get_all("x-a").iter().collect();
        assert_eq!(xa, ["b", "c"]);
        let (partial, rest) = parse(b"HTTP/1.1 200 OK\r\nContent-");
        assert!(matches!(partial, Ok(None)));
        assert_eq!(&rest[..], b"HTTP/1.1 200 OK\r\nContent-");
        assert!(parse(b"NOT HTTP\r\n\r\n").0.is_err());
        let h10 = parse(b"HTTP/1.0 404 Not Found\r\n\r\n").0.ok().flatten().unwrap_or_else(|| panic!("head"));
        assert_eq!((h10.status.as_u16(), h10.version), (404, Version::HTTP_10));
    }
}
