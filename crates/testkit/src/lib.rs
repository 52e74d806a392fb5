//! Test harness (dev-dependency only): starts a real `berth` on `127.0.0.1:0` with a temporary
//! data dir and drives it with real clients: `terraform` (with the offline provider mirror), the
//! AWS CLI, and plain HTTP.
//!
//! # Tools that may be missing
//! [`require_tool`] decides what a test does when `terraform` or `aws` is not installed: with
//! `CI=true` the test fails; locally it is skipped with a loud message on stderr.
//!
//! # Invariants
//! - Everything listens on 127.0.0.1 and every wait is bounded in time.
//! - A [`Berth`] kills its process (and with it, the tasks berth runs) when dropped.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod aws;
mod berth;
mod terraform;

use std::path::Path;
use std::time::{Duration, Instant};

pub use aws::AwsOutput;
pub use berth::Berth;
pub use terraform::{Terraform, copy_config, plugin_mirror};

/// True when running under CI (`CI=true`), where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// Whether `tool` is on PATH. When it is not: panics under CI, else prints a loud skip message
/// and returns false (the caller returns early). Under CI, `terraform` also needs the provider
/// mirror (see [`terraform::plugin_mirror`]).
pub fn require_tool(tool: &str) -> bool {
    if which(tool).is_some() {
        // CI runs offline: terraform without the provider mirror would fail later, less clearly.
        if tool == "terraform" && in_ci() && terraform::plugin_mirror().is_none() {
            panic!(
                "CI=true needs the terraform provider mirror: set BERTH_TF_PLUGIN_MIRROR or provide /opt/tf-plugins"
            );
        }
        return true;
    }
    assert!(!in_ci(), "{tool} is required under CI=true but is not on PATH");
    eprintln!(
        "\n!!!!!! SKIPPED: `{tool}` is not installed; install it (see README) to run this test !!!!!!\n"
    );
    false
}

/// The full path of an executable on PATH.
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|p| p.is_file() && is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asserts that a condition becomes true within a timeout (default 10 s), polling it.
/// `BERTH_TEST_PATIENCE` multiplies every timeout (for slow machines).
#[macro_export]
macro_rules! assert_eventually {
    ($cond:expr $(,)?) => {
        $crate::assert_eventually!($cond, std::time::Duration::from_secs(10), stringify!($cond))
    };
    ($cond:expr, $timeout:expr $(,)?) => {
        $crate::assert_eventually!($cond, $timeout, stringify!($cond))
    };
    ($cond:expr, $timeout:expr, $($msg:tt)+) => {{
        let timeout = $crate::patience($timeout);
        if $crate::wait_for(timeout, || if $cond { Some(()) } else { None }).is_none() {
            panic!("not true within {:?}: {}", timeout, format!($($msg)+));
        }
    }};
}

/// Scales a timeout by `BERTH_TEST_PATIENCE` (a float, default 1).
pub fn patience(d: Duration) -> Duration {
    let factor: f64 = std::env::var("BERTH_TEST_PATIENCE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    d.mul_f64(factor.max(0.1))
}

/// The workspace root (where `Cargo.toml` with `[workspace]` lives).
pub fn workspace_root() -> std::path::PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().nth(2).unwrap_or(here).to_path_buf()
}

/// A plain HTTP/1.1 GET over a fresh TCP connection: `(status, body)`.
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    http_request("GET", url, &[])
}

/// A plain HTTP/1.1 request with extra headers; the body is read to the end (`Connection: close`).
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("not an http URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = std::net::TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // A `Host` among `headers` replaces the URL's authority (a load balancer picked by DNS name).
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !has_host {
        req.push_str(&format!("Host: {authority}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    let body = match text.find("\r\n\r\n") {
        Some(i) => decode_chunked_if_needed(&text[..i], &text[i + 4..]),
        None => String::new(),
    };
    Ok((status, body))
}

/// POSTs an urlencoded form to `<endpoint>/` with an `Authorization` header: `(status, body)`.
pub fn http_post_form(endpoint: &str, authorization: &str, body: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = match text.find("\r\n\r\n") {
        Some(i) => decode_chunked_if_needed(&text[..i], &text[i + 4..]),
        None => String::new(),
    };
    Ok((status, body))
}

fn decode_chunked_if_needed(head: &str, body: &str) -> String {
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("\r\n") {
        let size = usize::from_str_radix(rest[..i].trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        let end = (start + size).min(rest.len());
        out.push_str(&rest[start..end]);
        rest = rest.get(end + 2..).unwrap_or("");
    }
    out
}
