//! Pure rule matching: which rule of a listener answers a request.
//!
//! Nothing here does IO or returns a `Result`: patterns are compiled once per snapshot (in
//! [`crate::compiled`]) and matching a request is a walk over that compiled data. The semantics are
//! AWS's (anchors §4.1-4.2):
//! - conditions of one rule are ANDed, the values inside one condition are ORed;
//! - rules are evaluated in the order of the snapshot (ascending priority, default rule last) and
//!   the first rule whose conditions all match wins;
//! - `*` matches zero or more characters, `?` exactly one, and a pattern must match the whole value;
//! - path-pattern is case-sensitive and sees the path only (never the query string);
//! - host-header is case-insensitive and ignores the port;
//! - http-header: name case-insensitive, values case-insensitive globs, any value of a repeated
//!   header may match;
//! - http-request-method: exact and case-sensitive;
//! - query-string: key and value globs, case-insensitive, over URL-decoded parameters; a pattern
//!   without a key matches any parameter's value; `\*` and `\?` are a literal `*` and `?`;
//! - source-ip: CIDR blocks over the TCP peer address (never X-Forwarded-For).

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, Method};
use model::routing::{Condition, QueryStringPattern};

/// One token of a compiled glob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// This byte (already lowercased when the glob is case-insensitive).
    Byte(u8),
    /// `?`: exactly one byte.
    One,
    /// `*`: zero or more bytes.
    Many,
}

/// A compiled `*`/`?` pattern, anchored at both ends.
///
/// Matching works on bytes: rule values are visible ASCII (anchors §4.1), and a non-ASCII
/// request value can only ever match a `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
    case_insensitive: bool,
    /// Set when the pattern is only literal bytes followed by one `*` (`/product-svc*`), the
    /// overwhelmingly common shape, matched with a prefix comparison.
    prefix_star: bool,
}

impl Glob {
    /// Compiles a case-sensitive glob (path-pattern).
    pub fn case_sensitive(pattern: &str) -> Self {
        Self::compile(pattern, false, false)
    }

    /// Compiles a case-insensitive glob (host-header, http-header).
    pub fn case_insensitive(pattern: &str) -> Self {
        Self::compile(pattern, true, false)
    }

    /// Compiles a case-insensitive glob where `\*`, `\?` (and `\\`) are literals (query-string).
    pub fn query(pattern: &str) -> Self {
        Self::compile(pattern, true, true)
    }

    fn compile(pattern: &str, case_insensitive: bool, escapes: bool) -> Self {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut bytes = pattern.bytes();
        while let Some(b) = bytes.next() {
            let token = match b {
                b'*' => Token::Many,
                b'?' => Token::One,
                b'\\' if escapes => match bytes.next() {
                    Some(next) => Token::Byte(fold(next, case_insensitive)),
                    // A trailing backslash stands for itself.
                    None => Token::Byte(b'\\'),
                },
                other => Token::Byte(fold(other, case_insensitive)),
            };
            // `**` means the same as `*`; keeping one makes matching linear in practice.
            if token == Token::Many && tokens.last() == Some(&Token::Many) {
                continue;
            }
            tokens.push(token);
        }
        let prefix_star = tokens.last() == Some(&Token::Many)
            && tokens[..tokens.len() - 1].iter().all(|t| matches!(t, Token::Byte(_)));
        Self { tokens, case_insensitive, prefix_star }
    }

    /// True when `value` matches the whole pattern.
    pub fn matches(&self, value: &str) -> bool {
        let ci = self.case_insensitive;
        let value = value.as_bytes();
        if self.prefix_star {
            let literal = &self.tokens[..self.tokens.len() - 1];
            return value.len() >= literal.len()
                && literal.iter().zip(value).all(|(t, &v)| *t == Token::Byte(fold(v, ci)));
        }
        // Iterative wildcard matching with single-star backtracking: O(n·m) worst case, linear
        // for the patterns rules use.
        let tokens = &self.tokens;
        let (mut t, mut v) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while v < value.len() {
            match tokens.get(t) {
                Some(Token::Many) => {
                    star = Some((t, v));
                    t += 1;
                }
                Some(Token::One) => {
                    t += 1;
                    v += 1;
                }
                Some(Token::Byte(b)) if *b == fold(value[v], ci) => {
                    t += 1;
                    v += 1;
                }
                _ => match star {
                    Some((st, sv)) => {
                        // Let the last `*` swallow one more byte and retry after it.
                        t = st + 1;
                        v = sv + 1;
                        star = Some((st, sv + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[t..].iter().all(|tok| *tok == Token::Many)
    }
}

fn fold(b: u8, case_insensitive: bool) -> u8 {
    if case_insensitive { b.to_ascii_lowercase() } else { b }
}

/// A condition compiled for matching.
#[derive(Debug, Clone)]
pub enum Matcher {
    Path(Vec<Glob>),
    Host(Vec<Glob>),
    Header {
        name: HeaderName,
        values: Vec<Glob>,
    },
    Method(Vec<Method>),
    Query(Vec<(Option<Glob>, Glob)>),
    SourceIp(Vec<ipnet::IpNet>),
    /// A condition that can never match (for example a header name that is not a valid HTTP
    /// header name): the control plane validated it, but the data plane must not panic on it.
    Never,
}

impl Matcher {
    /// Compiles one snapshot condition.
    pub fn compile(condition: &Condition) -> Self {
        match condition {
            Condition::PathPattern(values) => {
                Self::Path(values.iter().map(|v| Glob::case_sensitive(v)).collect())
            }
            Condition::HostHeader(values) => {
                Self::Host(values.iter().map(|v| Glob::case_insensitive(v)).collect())
            }
            Condition::HttpHeader { name, values } => match HeaderName::from_bytes(name.as_bytes()) {
                Ok(name) => {
                    Self::Header { name, values: values.iter().map(|v| Glob::case_insensitive(v)).collect() }
                }
                Err(_) => Self::Never,
            },
            Condition::HttpRequestMethod(values) => {
                Self::Method(values.iter().filter_map(|m| Method::from_bytes(m.as_bytes()).ok()).collect())
            }
            Condition::QueryString(patterns) => Self::Query(
                patterns
                    .iter()
                    .map(|QueryStringPattern { key, value }| {
                        (key.as_deref().map(Glob::query), Glob::query(value))
                    })
                    .collect(),
            ),
            Condition::SourceIp(nets) => Self::SourceIp(nets.clone()),
        }
    }

    /// True when the request satisfies this condition (any of its values).
    pub fn matches(&self, req: &RequestView<'_>) -> bool {
        match self {
            Self::Path(globs) => globs.iter().any(|g| g.matches(req.path)),
            Self::Host(globs) => globs.iter().any(|g| g.matches(req.host)),
            Self::Header { name, values } => req.headers.get_all(name).iter().any(|value| {
                // Values that are not visible ASCII cannot equal a rule value, but `*` may
                // still match them, so compare their lossy text.
                let text = String::from_utf8_lossy(value.as_bytes());
                values.iter().any(|g| g.matches(&text))
            }),
            Self::Method(methods) => methods.iter().any(|m| m == req.method),
            Self::Query(patterns) => {
                let Some(query) = req.query else { return false };
                form_urlencoded::parse(query.as_bytes()).any(|(k, v)| {
                    patterns.iter().any(|(key, value)| {
                        key.as_ref().is_none_or(|key| key.matches(&k)) && value.matches(&v)
                    })
                })
            }
            Self::SourceIp(nets) => {
                let ip = canonical_ip(req.source_ip);
                nets.iter().any(|net| net.contains(&ip))
            }
            Self::Never => false,
        }
    }
}

/// An IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`) is matched as the IPv4 address it carries.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What rule matching may look at: borrowed from the request, nothing copied.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The path only, without the query.
    pub path: &'a str,
    /// The raw query string (without `?`), if any.
    pub query: Option<&'a str>,
    /// The Host header (or the absolute-form URI's authority) without the port.
    pub host: &'a str,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The TCP peer.
    pub source_ip: IpAddr,
}

/// The host part of a `Host` header value: `example.com:8080` → `example.com`,
/// `[::1]:80` → `[::1]`.
pub fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(colon) if host[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..colon],
        _ => host,
    }
}

/// The index of the first rule whose conditions all match, or `None`.
///
/// `rules` yields each rule's compiled conditions in evaluation order; a rule with no condition
/// (the default rule) always matches.
pub fn first_match<'r, I, C>(rules: I, req: &RequestView<'_>) -> Option<usize>
where
    I: IntoIterator<Item = C>,
    C: IntoIterator<Item = &'r Matcher>,
{
    rules.into_iter().position(|conditions| conditions.into_iter().all(|c| c.matches(req)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_globs_follow_aws() {
        // (pattern, value, expected)
        let cases = [
            ("/product-svc*", "/product-svc", true),
            ("/product-svc*", "/product-svc/", true),
            ("/product-svc*", "/product-svc/x/y", true),
            ("/product-svc*", "/product-svcFOO", true),
            ("/product-svc*", "/Product-svc", false),
            ("/product-svc*", "/api/product-svc", false),
            ("/img/*", "/img/picture.jpg", true),
            ("/img/*", "/img", false),
            ("/img/*", "/img/", true),
            ("/api/?/x", "/api/v/x", true),
            ("/api/?/x", "/api/vv/x", false),
            ("/api/?/x", "/api//x", false),
            ("*", "", true),
            ("*", "/anything", true),
            ("/", "/", true),
            ("/", "/a", false),
            ("*.jpg", "/a/b.jpg", true),
            ("*.jpg", "/a/b.jpeg", false),
            ("/a*b*c", "/axxbyyc", true),
            ("/a*b*c", "/axxbyyca", false),
            ("/a*b*c", "/abc", true),
            ("/a**", "/a", true),
            ("/a*?", "/a", false),
            ("/a*?", "/ab", true),
            ("/exact", "/exact", true),
            ("/exact", "/exactly", false),
            ("/exact", "/EXACT", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(Glob::case_sensitive(pattern).matches(value), expected, "{pattern} vs {value}");
        }
    }

    #[test]
    fn host_globs_are_case_insensitive() {
        let cases = [
            ("*.example.com", "www.example.com", true),
            ("*.example.com", "WWW.Example.COM", true),
            ("*.example.com", "example.com", false),
            ("example.com", "EXAMPLE.com", true),
            ("api-?.example.com", "api-1.example.com", true),
            ("api-?.example.com", "api-12.example.com", false),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(Glob::case_insensitive(pattern).matches(value), expected, "{pattern} vs {value}");
        }
    }

    #[test]
    fn query_globs_honour_escapes() {
        let cases = [
            (r"a\*b", "a*b", true),
            (r"a\*b", "axb", false),
            (r"a\?", "a?", true),
            (r"a\?", "ab", false),
            ("val*", "VALUE", true),
            ("x", "x", true),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(Glob::query(pattern).matches(value), expected, "{pattern} vs {value}");
        }
    }

    #[test]
    fn host_port_is_stripped() {
        let cases = [
            ("example.com", "example.com"),
            ("example.com:8080", "example.com"),
            ("127.0.0.1:80", "127.0.0.1"),
            ("[::1]:80", "[::1]"),
            ("[::1]", "[::1]"),
            ("weird:name", "weird:name"),
            ("", ""),
        ];
        for (host, expected) in cases {
            assert_eq!(host_without_port(host), expected);
        }
    }

    fn view<'a>(
        path: &'a str,
        query: Option<&'a str>,
        host: &'a str,
        method: &'a Method,
        headers: &'a HeaderMap,
        ip: &str,
    ) -> RequestView<'a> {
        RequestView {
            path,
            query,
            host,
            method,
            headers,
            source_ip: ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        }
    }

    #[test]
    fn conditions_follow_aws() {
        let mut headers = HeaderMap::new();
        headers.append("user-agent", "Mozilla/5.0 (Mobile)".parse().unwrap());
        headers.append("x-env", "blue".parse().unwrap());
        headers.append("x-env", "Canary".parse().unwrap());
        let get = Method::GET;
        let req = view(
            "/shop/cart",
            Some("version=v1&Color=RED&x=a%2Ab&sp=a+b"),
            "Shop.Example.com",
            &get,
            &headers,
            "10.0.3.7",
        );

        let c = |cond: Condition| Matcher::compile(&cond).matches(&req);
        let q = |key: Option<&str>, value: &str| QueryStringPattern {
            key: key.map(str::to_owned),
            value: value.to_owned(),
        };
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        let cases: Vec<(&str, Condition, bool)> = vec![
            ("path or-values", Condition::PathPattern(s(&["/nope", "/shop/*"])), true),
            ("path sees no query", Condition::PathPattern(s(&["*version*"])), false),
            ("host ci", Condition::HostHeader(s(&["shop.example.com"])), true),
            ("host glob", Condition::HostHeader(s(&["*.example.com"])), true),
            ("host other", Condition::HostHeader(s(&["api.example.com"])), false),
            (
                "header name ci, value glob ci",
                Condition::HttpHeader { name: "User-Agent".into(), values: s(&["*mobile*"]) },
                true,
            ),
            (
                "header repeated: second value",
                Condition::HttpHeader { name: "X-Env".into(), values: s(&["canary"]) },
                true,
            ),
            ("header missing", Condition::HttpHeader { name: "x-missing".into(), values: s(&["*"]) }, false),
            (
                "header invalid name never matches",
                Condition::HttpHeader { name: "bad name".into(), values: s(&["*"]) },
                false,
            ),
            ("method exact", Condition::HttpRequestMethod(s(&["POST", "GET"])), true),
            ("method case-sensitive", Condition::HttpRequestMethod(s(&["get"])), false),
            ("query key+value ci", Condition::QueryString(vec![q(Some("color"), "red")]), true),
            ("query any key", Condition::QueryString(vec![q(None, "v1")]), true),
            ("query glob value", Condition::QueryString(vec![q(Some("version"), "v*")]), true),
            ("query decoded + escaped star", Condition::QueryString(vec![q(Some("x"), r"a\*b")]), true),
            ("query plus is space", Condition::QueryString(vec![q(Some("sp"), "a b")]), true),
            ("query wrong value", Condition::QueryString(vec![q(Some("color"), "blue")]), false),
            (
                "query or-values",
                Condition::QueryString(vec![q(Some("color"), "blue"), q(Some("version"), "v1")]),
                true,
            ),
            ("source ip in cidr", Condition::SourceIp(vec!["10.0.0.0/16".parse().unwrap()]), true),
            ("source ip outside", Condition::SourceIp(vec!["192.168.0.0/16".parse().unwrap()]), false),
        ];
        for (name, cond, expected) in cases {
            assert_eq!(c(cond), expected, "{name}");
        }

        let no_query = view("/", None, "h", &get, &headers, "::ffff:10.0.0.1");
        assert!(!Matcher::compile(&Condition::QueryString(vec![q(None, "*")])).matches(&no_query));
        // An IPv4-mapped IPv6 peer matches IPv4 CIDRs.
        assert!(
            Matcher::compile(&Condition::SourceIp(vec!["10.0.0.0/8".parse().unwrap()])).matches(&no_query)
        );
    }

    #[test]
    fn first_matching_rule_wins_and_default_is_last() {
        let headers = HeaderMap::new();
        let get = Method::GET;
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Rules in evaluation order; the last one has no condition (default).
        let rules: Vec<Vec<Matcher>> = vec![
            vec![Matcher::compile(&Condition::PathPattern(s(&["/product-svc*"])))],
            vec![
                Matcher::compile(&Condition::PathPattern(s(&["/user-svc*"]))),
                Matcher::compile(&Condition::HttpRequestMethod(s(&["GET"]))),
            ],
            vec![Matcher::compile(&Condition::PathPattern(s(&["/*"])))],
            vec![],
        ];
        let cases = [
            ("/product-svc/x", Method::GET, Some(0)),
            ("/user-svc", Method::GET, Some(1)),
            ("/user-svc", Method::POST, Some(2)),
            ("/", Method::GET, Some(2)),
            ("", Method::GET, Some(3)),
        ];
        for (path, method, expected) in cases {
            let req = view(path, None, "h", &method, &headers, "127.0.0.1");
            assert_eq!(first_match(rules.iter(), &req), expected, "{path} {method}");
        }
        let _ = &get;
        let empty: Vec<Vec<Matcher>> = vec![];
        assert_eq!(first_match(empty.iter(), &view("/", None, "h", &get, &headers, "127.0.0.1")), None);
    }
}
