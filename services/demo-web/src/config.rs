//! Runtime configuration read from the environment (or built by hand in tests).

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Environment variable holding the IP address to listen on (default `0.0.0.0`).
pub const ENV_BIND_ADDR: &str = "BERTH_BIND_ADDR";
/// Environment variable holding the TCP port to listen on (default `3000`).
pub const ENV_PORT: &str = "PORT";
/// Environment variable overriding the hostname shown on the page.
pub const ENV_HOSTNAME: &str = "HOSTNAME";
/// Environment variable ECS sets to the task metadata endpoint v4 base URI.
pub const ENV_METADATA_URI: &str = "ECS_CONTAINER_METADATA_URI_V4";

/// Port used when `PORT` is unset or empty.
pub const DEFAULT_PORT: u16 = 3000;

/// Everything about the environment the app depends on.
///
/// `Config::from_env()` is what the binaries use; tests build one by hand so
/// nothing has to mutate the process environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address [`crate::run`] binds (`BERTH_BIND_ADDR`:`PORT`).
    pub bind_addr: SocketAddr,
    /// Hostname shown on the page and in `/<name>/info`.
    pub hostname: String,
    /// Base URI of the ECS task metadata endpoint v4, if any (`http://` only).
    pub metadata_uri: Option<String>,
}

/// An environment variable holds a value the app cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}")]
pub struct ConfigError {
    /// Name of the offending variable.
    pub var: &'static str,
    /// Its value (lossily decoded).
    pub value: String,
    /// What was expected instead.
    pub reason: &'static str,
}

impl Config {
    /// Reads `BERTH_BIND_ADDR`, `PORT`, `HOSTNAME` and
    /// `ECS_CONTAINER_METADATA_URI_V4` from the process environment.
    /// Empty values count as unset (like `${VAR:-default}` in a shell).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Same as [`Config::from_env`] with an arbitrary variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let ip = match var(&lookup, ENV_BIND_ADDR)? {
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Some(value) => parse_ip(&value).ok_or(ConfigError {
                var: ENV_BIND_ADDR,
                value,
                reason: "expected an IP address such as 0.0.0.0, 127.0.0.1 or ::",
            })?,
        };
        let port = match var(&lookup, ENV_PORT)? {
            None => DEFAULT_PORT,
            Some(value) => value.trim().parse::<u16>().map_err(|_| ConfigError {
                var: ENV_PORT,
                value,
                reason: "expected a TCP port number (0-65535)",
            })?,
        };
        let hostname = match var(&lookup, ENV_HOSTNAME)? {
            Some(name) => name,
            None => os_hostname(),
        };
        let metadata_uri = match var(&lookup, ENV_METADATA_URI)? {
            None => None,
            Some(value) => {
                if crate::metadata::task_uri(&value).is_err() {
                    return Err(ConfigError {
                        var: ENV_METADATA_URI,
                        value,
                        reason: "expected an http:// URI",
                    });
                }
                Some(value)
            }
        };
        Ok(Self { bind_addr: SocketAddr::new(ip, port), hostname, metadata_uri })
    }
}

/// Looks `name` up; unset or empty → `None`; not UTF-8 → error.
fn var(
    lookup: &impl Fn(&str) -> Option<OsString>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    match lookup(name) {
        None => Ok(None),
        Some(raw) => match raw.into_string() {
            Ok(value) if value.is_empty() => Ok(None),
            Ok(value) => Ok(Some(value)),
            Err(raw) => Err(ConfigError {
                var: name,
                value: raw.to_string_lossy().into_owned(),
                reason: "not valid UTF-8",
            }),
        },
    }
}

/// Accepts `1.2.3.4`, `::1` and the bracketed `[::1]`.
fn parse_ip(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    let unbracketed = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
    unbracketed.parse().ok()
}

/// The OS hostname (gethostname(2)), or `"unknown"` if it cannot be read.
pub fn os_hostname() -> String {
    match nix::unistd::gethostname() {
        Ok(name) if !name.is_empty() => name.to_string_lossy().into_owned(),
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), OsString::from(v))).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_when_unset_or_empty() {
        let cfg = Config::from_lookup(lookup(&[("PORT", ""), ("HOSTNAME", "h1")])).unwrap();
        assert_eq!(cfg.bind_addr, "0.0.0.0:3000".parse().unwrap());
        assert_eq!(cfg.hostname, "h1");
        assert_eq!(cfg.metadata_uri, None);
    }

    #[test]
    fn reads_all_variables() {
        let cfg = Config::from_lookup(lookup(&[
            ("BERTH_BIND_ADDR", "127.0.0.1"),
            ("PORT", "8080"),
            ("HOSTNAME", "ip-10-0-2-17.ec2.internal"),
            ("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/abc"),
        ]))
        .unwrap();
        assert_eq!(cfg.bind_addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(cfg.hostname, "ip-10-0-2-17.ec2.internal");
        assert_eq!(cfg.metadata_uri.as_deref(), Some("http://169.254.170.2/v4/abc"));
    }

    #[test]
    fn accepts_ipv6_bind_addr() {
        let cfg = Config::from_lookup(lookup(&[("BERTH_BIND_ADDR", "[::1]")])).unwrap();
        assert_eq!(cfg.bind_addr, "[::1]:3000".parse().unwrap());
    }

    #[test]
    fn rejects_invalid_values() {
        let err = Config::from_lookup(lookup(&[("PORT", "http")])).unwrap_err();
        assert_eq!(err.var, "PORT");
        assert!(err.to_string().contains("PORT=\"http\""), "{err}");
        let err = Config::from_lookup(lookup(&[("PORT", "70000")])).unwrap_err();
        assert_eq!(err.var, "PORT");
        let err = Config::from_lookup(lookup(&[("BERTH_BIND_ADDR", "localhost")])).unwrap_err();
        assert_eq!(err.var, "BERTH_BIND_ADDR");
        let err =
            Config::from_lookup(lookup(&[("ECS_CONTAINER_METADATA_URI_V4", "https://169.254.170.2/v4")]))
                .unwrap_err();
        assert_eq!(err.var, "ECS_CONTAINER_METADATA_URI_V4");
    }

    #[test]
    fn falls_back_to_os_hostname() {
        let cfg = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(cfg.hostname, os_hostname());
        assert!(!cfg.hostname.is_empty());
    }
}
