//! Header rewriting as ALB does it: hop-by-hop removal, `X-Forwarded-*`, `X-Amzn-Trace-Id`, the
//! forwarded `Host`, and AWS's request header limits. Pure functions over a `HeaderMap`.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use model::routing::XffMode;

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// ALB's limits (load-balancer-limits): request line and each header 16 KiB, all headers 64 KiB.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;
pub const MAX_HEADER: usize = 16 * 1024;
pub const MAX_HEADERS_TOTAL: usize = 64 * 1024;

/// Checks AWS's request size limits; `Err` names the one exceeded (the 400's log line).
pub fn check_limits(request_line_len: usize, headers: &HeaderMap) -> Result<(), &'static str> {
    if request_line_len > MAX_REQUEST_LINE {
        return Err("request line over 16 KiB");
    }
    let mut total = 0usize;
    for (name, value) in headers {
        // `name: value\r\n`
        let len = name.as_str().len() + value.len() + 4;
        if len > MAX_HEADER {
            return Err("header over 16 KiB");
        }
        total += len;
    }
    if total > MAX_HEADERS_TOTAL {
        return Err("headers over 64 KiB");
    }
    Ok(())
}

/// Removes hop-by-hop headers (RFC 9110 §7.6.1), including those the `Connection` header names.
/// With `keep_upgrade`, `Connection` and `Upgrade` stay (a WebSocket handshake needs both).
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none or one of these: look first (name comparisons, no hashing), and
    // remove only what is there.
    let is_hop = |name: &HeaderName| {
        (!keep_upgrade && (name == header::CONNECTION || name == header::UPGRADE))
            || name == KEEP_ALIVE
            || name == PROXY_CONNECTION
            || name == header::TE
            || name == header::TRAILER
            || name == header::TRANSFER_ENCODING
    };
    if !headers.keys().any(is_hop) {
        return;
    }
    if !keep_upgrade {
        if let Some(connection) = headers.remove(header::CONNECTION) {
            remove_connection_tokens(headers, &connection);
        }
        headers.remove(header::UPGRADE);
    }
    headers.remove(&KEEP_ALIVE);
    headers.remove(&PROXY_CONNECTION);
    headers.remove(header::TE);
    headers.remove(header::TRAILER);
    headers.remove(header::TRANSFER_ENCODING);
}

fn remove_connection_tokens(headers: &mut HeaderMap, connection: &HeaderValue) {
    let Ok(value) = connection.to_str() else { return };
    for token in value.split(',') {
        let token = token.trim();
        if token.is_empty() || token.eq_ignore_ascii_case("close") || token.eq_ignore_ascii_case("keep-alive")
        {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
            headers.remove(name);
        }
    }
}

/// True for a WebSocket (or other) upgrade request: `Connection: upgrade` and an `Upgrade`.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade"))))
}

/// Applies `routing.http.xff_header_processing.mode`. `client` is the TCP peer as XFF shows it
/// (`ip`, or `ip:port` with `xff_client_port`).
pub fn forwarded_for(headers: &mut HeaderMap, mode: XffMode, client: &HeaderValue) {
    match mode {
        XffMode::Preserve => {}
        XffMode::Remove => {
            headers.remove(&X_FORWARDED_FOR);
        }
        XffMode::Append => {
            // Several XFF lines are one comma-separated list; fold them and append the peer.
            let mut existing = headers.get_all(&X_FORWARDED_FOR).iter();
            let Some(first) = existing.next() else {
                headers.insert(X_FORWARDED_FOR.clone(), client.clone());
                return;
            };
            let mut joined = Vec::with_capacity(first.len() + client.len() + 16);
            joined.extend_from_slice(first.as_bytes());
            for more in existing {
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(more.as_bytes());
            }
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(client.as_bytes());
            if let Ok(value) = HeaderValue::from_bytes(&joined) {
                headers.insert(X_FORWARDED_FOR.clone(), value);
            }
        }
    }
}

/// A new trace id `1-<8 hex epoch seconds>-<24 hex random>`.
///
/// Hand-rolled hex: this runs once per forwarded request, and `format!` of a `u128` showed up in
/// profiles at about 2 % of the proxy's CPU.
pub fn new_trace_id(epoch_secs: u64, random: u128) -> TraceId {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; TRACE_ID_LEN];
    out[0] = b'1';
    out[1] = b'-';
    let secs = epoch_secs as u32;
    for (i, byte) in out[2..10].iter_mut().enumerate() {
        *byte = HEX[((secs >> (28 - 4 * i)) & 0xf) as usize];
    }
    out[10] = b'-';
    for (i, byte) in out[11..].iter_mut().enumerate() {
        *byte = HEX[((random >> (92 - 4 * i)) & 0xf) as usize];
    }
    TraceId(out)
}

const TRACE_ID_LEN: usize = 2 + 8 + 1 + 24;

/// A trace id (`1-5759e988-bd862e3fe1be46a994272793`), kept on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId([u8; TRACE_ID_LEN]);

impl TraceId {
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits, `1` and `-` are ever written.
        std::str::from_utf8(&self.0).unwrap_or("1-00000000-000000000000000000000000")
    }
}

/// The forwarded `X-Amzn-Trace-Id` for a request that had none: `Root=<id>`, no allocation
/// beyond the header value itself.
pub fn root_trace_value(id: &TraceId) -> HeaderValue {
    let mut buf = [0u8; 5 + TRACE_ID_LEN];
    buf[..5].copy_from_slice(b"Root=");
    buf[5..].copy_from_slice(&id.0);
    HeaderValue::from_bytes(&buf)
        .unwrap_or(HeaderValue::from_static("Root=1-00000000-000000000000000000000000"))
}

/// The `X-Amzn-Trace-Id` value ALB forwards: a new `Root` when the header is absent, invalid or
/// over 7 KB; otherwise the client's fields with `Self=<new id>` in front (replacing an older
/// `Self`), custom fields kept.
pub fn trace_header(existing: Option<&str>, new_id: &str) -> String {
    let Some(existing) = existing.filter(|e| e.len() <= 7 * 1024) else {
        return format!("Root={new_id}");
    };
    let has_root = existing.split(';').any(|f| f.trim().starts_with("Root=") && f.trim().len() > 5);
    if !has_root {
        return format!("Root={new_id}");
    }
    let mut out = format!("Self={new_id}");
    for field in existing.split(';').map(str::trim).filter(|f| !f.is_empty() && !f.starts_with("Self=")) {
        out.push(';');
        out.push_str(field);
    }
    out
}

/// The `Host` ALB forwards when `preserve_host_header` is off: the client's host with the
/// listener port appended unless it is 80 or 443. `None` when the header is already that.
pub fn forwarded_host(client_host: &str, host_without_port: &str, listener_port: u16) -> Option<String> {
    let wanted_port = !matches!(listener_port, 80 | 443);
    if !wanted_port {
        return (client_host != host_without_port).then(|| host_without_port.to_owned());
    }
    let rest = client_host.strip_prefix(host_without_port).unwrap_or("");
    let already = rest.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()) == Some(listener_port);
    (!already).then(|| format!("{host_without_port}:{listener_port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids() {
        let id = new_trace_id(0x5759e988, 0xbd862e3fe1be46a994272793);
        assert_eq!(id.as_str(), "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(new_trace_id(1, u128::MAX).as_str(), "1-00000001-ffffffffffffffffffffffff");
        assert_eq!(new_trace_id(0x1_0000_0002, 0xab).as_str(), "1-00000002-0000000000000000000000ab");
        assert_eq!(root_trace_value(&id), "Root=1-5759e988-bd862e3fe1be46a994272793");
        let cases = [
            (None, "Root=1-a-b"),
            (Some("garbage"), "Root=1-a-b"),
            (Some("Root="), "Root=1-a-b"),
            (
                Some("Root=1-67891233-abcdef012345678912345678"),
                "Self=1-a-b;Root=1-67891233-abcdef012345678912345678",
            ),
            (
                Some("Self=1-old;Root=1-67891233-abcdef012345678912345678;CalledFrom=app"),
                "Self=1-a-b;Root=1-67891233-abcdef012345678912345678;CalledFrom=app",
            ),
        ];
        for (existing, expected) in cases {
            assert_eq!(trace_header(existing, "1-a-b"), expected, "{existing:?}");
        }
        let huge = format!("Root=1-x-y;{}", "a".repeat(8000));
        assert_eq!(trace_header(Some(&huge), "1-a-b"), "Root=1-a-b");
    }

    #[test]
    fn xff_modes() {
        let peer = HeaderValue::from_static("127.0.0.1");
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(
                    X_FORWARDED_FOR.clone(),
                    HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
                );
            }
            h
        };
        let get = |h: &HeaderMap| {
            h.get_all(&X_FORWARDED_FOR)
                .iter()
                .map(|v| v.to_str().unwrap_or("?").to_owned())
                .collect::<Vec<_>>()
        };
        let cases = [
            (XffMode::Append, vec![], vec!["127.0.0.1"]),
            (XffMode::Append, vec!["127.0.0.4"], vec!["127.0.0.4, 127.0.0.1"]),
            (XffMode::Append, vec!["1.1.1.1", "2.2.2.2"], vec!["1.1.1.1, 2.2.2.2, 127.0.0.1"]),
            (XffMode::Preserve, vec!["127.0.0.4"], vec!["127.0.0.4"]),
            (XffMode::Preserve, vec![], vec![]),
            (XffMode::Remove, vec!["127.0.0.4"], vec![]),
        ];
        for (mode, before, after) in cases {
            let mut h = with(&before);
            forwarded_for(&mut h, mode, &peer);
            assert_eq!(get(&h), after, "{mode:?} {before:?}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Secret"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["x-kept"]);

        let mut ws = HeaderMap::new();
        ws.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        ws.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&ws));
        strip_hop_by_hop(&mut ws, true);
        assert!(is_upgrade(&ws));
        ws.remove(header::CONNECTION);
        assert!(!is_upgrade(&ws));
    }

    #[test]
    fn forwarded_host_follows_listener_port() {
        let cases = [
            ("shop.example.com", "shop.example.com", 80, None),
            ("shop.example.com:8080", "shop.example.com", 80, Some("shop.example.com")),
            ("shop.example.com:41234", "shop.example.com", 8080, Some("shop.example.com:8080")),
            ("shop.example.com:8080", "shop.example.com", 8080, None),
            ("shop.example.com", "shop.example.com", 443, None),
            ("shop.example.com", "shop.example.com", 3000, Some("shop.example.com:3000")),
        ];
        for (client, host, port, expected) in cases {
            assert_eq!(forwarded_host(client, host, port).as_deref(), expected, "{client} {port}");
        }
    }

    #[test]
    fn limits() {
        let mut h = HeaderMap::new();
        h.insert("x-a", HeaderValue::from_static("small"));
        assert!(check_limits(100, &h).is_ok());
        assert!(check_limits(MAX_REQUEST_LINE + 1, &h).is_err());
        let big = HeaderValue::from_str(&"a".repeat(MAX_HEADER)).unwrap_or(HeaderValue::from_static(""));
        h.insert("x-big", big);
        assert_eq!(check_limits(100, &h), Err("header over 16 KiB"));
        let mut many = HeaderMap::new();
        let v = HeaderValue::from_str(&"a".repeat(10_000)).unwrap_or(HeaderValue::from_static(""));
        for i in 0..7 {
            many.insert(
                HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap_or(X_FORWARDED_FOR.clone()),
                v.clone(),
            );
        }
        assert_eq!(check_limits(100, &many), Err("headers over 64 KiB"));
    }
}
