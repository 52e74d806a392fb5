//! Errors, classified by where they come from (pingora's `ErrorSource`), and the responses the
//! load balancer writes itself: ALB's error pages, fixed-response actions and redirects.
//!
//! | failure | source | status |
//! |---|---|---|
//! | malformed request, request line or header over ALB's limits | downstream | 400 |
//! | no target registered (or every target draining) | internal | 503 |
//! | target refused / reset / closed early / sent an invalid response | upstream | 502 |
//! | target connect timeout, or silent past the idle timeout | upstream | 504 |

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use model::routing::Redirect;

use crate::proxy::ProxyBody;

/// `Server` of every response the load balancer writes itself.
pub const SERVER: HeaderValue = HeaderValue::from_static("awselb/2.0");

/// Why [`crate::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AlbError {
    #[error("bind listener port {port} on {addr}: {source}")]
    Bind { port: u16, addr: SocketAddr, source: std::io::Error },
    #[error("listener port {port} + offset {offset} is not a port")]
    PortOverflow { port: u16, offset: u16 },
    #[error("start serving workers: {0}")]
    Workers(std::io::Error),
}

/// Which side of the proxy a failure belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    /// The client sent something the load balancer refuses.
    Downstream,
    /// The target failed.
    Upstream,
    /// The load balancer itself cannot serve (no target to send to).
    Internal,
}

/// A request the load balancer answers itself because forwarding failed or was impossible.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    #[error("no registered target in the target group")]
    NoTarget,
    #[error("target {addr}: {reason}")]
    Upstream { addr: SocketAddr, reason: String },
    #[error("target {addr} timed out")]
    UpstreamTimeout { addr: SocketAddr },
}

impl ProxyError {
    pub fn source(&self) -> ErrorSource {
        match self {
            Self::BadRequest(_) => ErrorSource::Downstream,
            Self::NoTarget => ErrorSource::Internal,
            Self::Upstream { .. } | Self::UpstreamTimeout { .. } => ErrorSource::Upstream,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NoTarget => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { .. } => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// ALB's page for this error.
    pub fn response(&self) -> Response<ProxyBody> {
        error_page(self.status())
    }
}

/// ALB's HTML error page for `status`, byte for byte.
pub fn error_page(status: StatusCode) -> Response<ProxyBody> {
    let body: &'static str = match status.as_u16() {
        400 => page!("400 Bad Request"),
        403 => page!("403 Forbidden"),
        404 => page!("404 Not Found"),
        405 => page!("405 Method Not Allowed"),
        408 => page!("408 Request Time-out"),
        413 => page!("413 Request Entity Too Large"),
        414 => page!("414 Request-URI Too Large"),
        501 => page!("501 Not Implemented"),
        502 => page!("502 Bad Gateway"),
        503 => page!("503 Service Temporarily Unavailable"),
        504 => page!("504 Gateway Time-out"),
        _ => page!("500 Internal Server Error"),
    };
    let mut resp = Response::new(ProxyBody::full(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::SERVER, SERVER);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    resp
}

/// ALB's error page layout (an nginx-style page).
macro_rules! page {
    ($title:literal) => {
        concat!(
            "<html>\r\n<head><title>",
            $title,
            "</title></head>\r\n<body>\r\n<center><h1>",
            $title,
            "</h1></center>\r\n</body>\r\n</html>\r\n"
        )
    };
}
use page;

/// A compiled fixed-response action.
#[derive(Debug, Clone)]
pub struct FixedResponse {
    pub status: StatusCode,
    pub content_type: HeaderValue,
    pub body: Bytes,
}

impl FixedResponse {
    /// Compiles the action. A status that is not a valid code becomes 500 (the control plane
    /// validates 2XX/4XX/5XX, but no input may panic here). ALB answers text types with
    /// `; charset=utf-8`, and `text/plain` when no content type is configured.
    pub fn compile(status: u16, content_type: Option<&str>, body: Option<&str>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let ct = match content_type {
            None | Some("") => "text/plain; charset=utf-8".to_owned(),
            Some(ct) if ct.contains("charset") => ct.to_owned(),
            Some(ct) => format!("{ct}; charset=utf-8"),
        };
        let content_type =
            HeaderValue::try_from(ct).unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
        Self { status, content_type, body: Bytes::copy_from_slice(body.unwrap_or("").as_bytes()) }
    }

    pub fn response(&self) -> Response<ProxyBody> {
        let mut resp = Response::new(ProxyBody::full(self.body.clone()));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(header::SERVER, SERVER);
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        resp
    }
}

/// What a redirect's placeholders stand for in one request.
#[derive(Debug, Clone, Copy)]
pub struct RedirectInput<'a> {
    /// `http` (the listener's protocol as the client used it).
    pub protocol: &'a str,
    /// The Host header without port.
    pub host: &'a str,
    /// The listener port as the API shows it.
    pub port: u16,
    /// The request path, with its leading `/`.
    pub path: &'a str,
    /// The query without `?` (empty when none).
    pub query: &'a str,
}

/// Builds the `Location` of a redirect action. Pure.
///
/// Each component may hold `#{protocol}`, `#{host}`, `#{port}`, `#{path}` and `#{query}`. The port
/// is left out when it is the protocol's default (80 for http, 443 for https), and `?` only
/// appears when the query is not empty.
pub fn redirect_location(r: &Redirect, req: &RedirectInput<'_>) -> String {
    let port = req.port.to_string();
    let fill = |template: &str| -> String {
        template
            .replace("#{protocol}", req.protocol)
            .replace("#{host}", req.host)
            .replace("#{port}", &port)
            .replace("#{path}", req.path)
            .replace("#{query}", req.query)
    };
    let protocol = fill(&r.protocol).to_ascii_lowercase();
    let host = fill(&r.host);
    let port = fill(&r.port);
    // `#{path}` stands for the path with its leading `/`; AWS's default path is `/#{path}`, so a
    // `/` written right before the placeholder is the same slash, not a second one.
    let mut path = fill(&r.path.replace("/#{path}", "#{path}"));
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let query = fill(&r.query);
    let default_port = matches!((protocol.as_str(), port.as_str()), ("http", "80") | ("https", "443"));
    let mut location = format!("{protocol}://{host}");
    if !default_port && !port.is_empty() {
        location.push(':');
        location.push_str(&port);
    }
    location.push_str(&path);
    if !query.is_empty() {
        location.push('?');
        location.push_str(&query);
    }
    location
}

/// The redirect response for `location`.
pub fn redirect_response(status: u16, location: &str) -> Response<ProxyBody> {
    let status = match status {
        301 => StatusCode::MOVED_PERMANENTLY,
        _ => StatusCode::FOUND,
    };
    let mut resp = Response::new(ProxyBody::empty());
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::SERVER, SERVER);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    match HeaderValue::try_from(location) {
        Ok(v) => {
            headers.insert(header::LOCATION, v);
            resp
        }
        Err(_) => error_page(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_are_albs() {
        let page = error_page(StatusCode::BAD_GATEWAY);
        assert_eq!(page.status(), 502);
        assert_eq!(page.headers()[header::SERVER], "awselb/2.0");
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html");
        assert_eq!(
            page!("502 Bad Gateway"),
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
        );
        let cases = [
            (ProxyError::BadRequest("x"), 400, ErrorSource::Downstream),
            (ProxyError::NoTarget, 503, ErrorSource::Internal),
            (
                ProxyError::Upstream { addr: ([127, 0, 0, 1], 1).into(), reason: "refused".into() },
                502,
                ErrorSource::Upstream,
            ),
            (ProxyError::UpstreamTimeout { addr: ([127, 0, 0, 1], 1).into() }, 504, ErrorSource::Upstream),
        ];
        for (err, status, source) in cases {
            assert_eq!(err.status(), status, "{err}");
            assert_eq!(err.source(), source, "{err}");
            assert_eq!(err.response().status(), status);
        }
    }

    #[test]
    fn fixed_response_content_types() {
        let cases = [
            (None, "text/plain; charset=utf-8"),
            (Some("text/plain"), "text/plain; charset=utf-8"),
            (Some("application/json"), "application/json; charset=utf-8"),
            (Some("text/html; charset=iso-8859-1"), "text/html; charset=iso-8859-1"),
            (Some("bad\nvalue"), "text/plain; charset=utf-8"),
        ];
        for (ct, expected) in cases {
            let fixed = FixedResponse::compile(404, ct, Some("Not Found"));
            assert_eq!(fixed.content_type, expected, "{ct:?}");
            assert_eq!(fixed.body, "Not Found");
        }
        assert_eq!(FixedResponse::compile(9999, None, None).status, 500);
    }

    #[test]
    fn redirect_locations() {
        let req = RedirectInput {
            protocol: "http",
            host: "shop.example.com",
            port: 80,
            path: "/a/b",
            query: "x=1",
        };
        let r = |protocol: &str, host: &str, port: &str, path: &str, query: &str| Redirect {
            protocol: protocol.into(),
            host: host.into(),
            port: port.into(),
            path: path.into(),
            query: query.into(),
            status_code: 301,
        };
        let cases = [
            (
                "to https",
                r("HTTPS", "#{host}", "443", "/#{path}", "#{query}"),
                "https://shop.example.com/a/b?x=1",
            ),
            (
                "identity keeps default port out",
                r("#{protocol}", "#{host}", "#{port}", "/#{path}", "#{query}"),
                "http://shop.example.com/a/b?x=1",
            ),
            (
                "other host and port",
                r("HTTP", "new.example.com", "8080", "/#{path}", ""),
                "http://new.example.com:8080/a/b",
            ),
            (
                "path rewrite with placeholders",
                r("#{protocol}", "#{host}", "#{port}", "/v2#{path}", "#{query}&y=2"),
                "http://shop.example.com/v2/a/b?x=1&y=2",
            ),
            (
                "slash before placeholder is not doubled",
                r("#{protocol}", "#{host}", "#{port}", "/v2/#{path}", ""),
                "http://shop.example.com/v2/a/b",
            ),
            (
                "bare placeholder",
                r("#{protocol}", "#{host}", "#{port}", "#{path}", ""),
                "http://shop.example.com/a/b",
            ),
            (
                "empty query drops ?",
                r("HTTPS", "#{host}", "443", "/#{path}", ""),
                "https://shop.example.com/a/b",
            ),
        ];
        for (name, redirect, expected) in cases {
            assert_eq!(redirect_location(&redirect, &req), expected, "{name}");
        }
        let resp = redirect_response(301, "https://x.example.com/");
        assert_eq!(resp.status(), 301);
        assert_eq!(resp.headers()[header::LOCATION], "https://x.example.com/");
        assert_eq!(redirect_response(302, "bad\nloc").status(), 500);
    }
}
