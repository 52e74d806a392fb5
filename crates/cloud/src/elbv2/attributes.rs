//! Attributes of load balancers, target groups and listeners: the default sets as AWS returns them
//! for application load balancers, HTTP(S) target groups and HTTP(S) listeners, and the checks
//! Modify*Attributes applies (unknown keys and malformed values are `ValidationError`s).
//!
//! Attributes are stored as the whole list, in AWS's order, so Describe returns every key.

use serde::{Deserialize, Serialize};

use super::error::Elbv2Error;

/// One `Key`/`Value` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

impl Attribute {
    pub fn new(key: &str, value: &str) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// The value of `key` in `attrs`.
pub fn get<'a>(attrs: &'a [Attribute], key: &str) -> Option<&'a str> {
    attrs.iter().find(|a| a.key == key).map(|a| a.value.as_str())
}

/// The value of `key` parsed, or `default` when absent or malformed.
pub fn get_or<T: std::str::FromStr>(attrs: &[Attribute], key: &str, default: T) -> T {
    get(attrs, key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What kind of value a key takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    /// An integer in an inclusive range.
    Int(i64, i64),
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// Free text (bucket names, prefixes, header names and values).
    Text,
}

/// The attributes of an application load balancer, in the order AWS returns them.
const LOAD_BALANCER: &[(&str, &str, Kind)] = &[
    ("access_logs.s3.enabled", "false", Kind::Bool),
    ("access_logs.s3.bucket", "", Kind::Text),
    ("access_logs.s3.prefix", "", Kind::Text),
    ("health_check_logs.s3.enabled", "false", Kind::Bool),
    ("health_check_logs.s3.bucket", "", Kind::Text),
    ("health_check_logs.s3.prefix", "", Kind::Text),
    ("idle_timeout.timeout_seconds", "60", Kind::Int(1, 4000)),
    ("deletion_protection.enabled", "false", Kind::Bool),
    ("routing.http2.enabled", "true", Kind::Bool),
    ("routing.http.drop_invalid_header_fields.enabled", "false", Kind::Bool),
    ("routing.http.xff_client_port.enabled", "false", Kind::Bool),
    ("routing.http.preserve_host_header.enabled", "false", Kind::Bool),
    ("routing.http.xff_header_processing.mode", "append", Kind::OneOf(&["append", "preserve", "remove"])),
    ("load_balancing.cross_zone.enabled", "true", Kind::Bool),
    ("routing.http.desync_mitigation_mode", "defensive", Kind::OneOf(&["monitor", "defensive", "strictest"])),
    ("client_keep_alive.seconds", "3600", Kind::Int(60, 604800)),
    ("waf.fail_open.enabled", "false", Kind::Bool),
    ("routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false", Kind::Bool),
    ("zonal_shift.config.enabled", "false", Kind::Bool),
    ("connection_logs.s3.enabled", "false", Kind::Bool),
    ("connection_logs.s3.bucket", "", Kind::Text),
    ("connection_logs.s3.prefix", "", Kind::Text),
];

/// The attributes of a target group of an application load balancer (instance or ip targets).
const TARGET_GROUP: &[(&str, &str, Kind)] = &[
    ("stickiness.enabled", "false", Kind::Bool),
    ("deregistration_delay.timeout_seconds", "300", Kind::Int(0, 3600)),
    ("stickiness.app_cookie.cookie_name", "", Kind::Text),
    ("stickiness.type", "lb_cookie", Kind::OneOf(&["lb_cookie", "app_cookie"])),
    ("stickiness.lb_cookie.duration_seconds", "86400", Kind::Int(1, 604800)),
    ("slow_start.duration_seconds", "0", Kind::Int(0, 900)),
    ("stickiness.app_cookie.duration_seconds", "86400", Kind::Int(1, 604800)),
    (
        "load_balancing.algorithm.type",
        "round_robin",
        Kind::OneOf(&["round_robin", "least_outstanding_requests", "weighted_random"]),
    ),
    ("load_balancing.algorithm.anomaly_mitigation", "off", Kind::OneOf(&["on", "off"])),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
        Kind::OneOf(&["true", "false", "use_load_balancer_configuration"]),
    ),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1", Kind::Int(1, 1000)),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off", Kind::Text),
    ("target_group_health.dns_failover.minimum_healthy_targets.count", "1", Kind::Text),
    ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off", Kind::Text),
];

/// The attributes of a lambda target group.
const LAMBDA_TARGET_GROUP: &[(&str, &str, Kind)] =
    &[("lambda.multi_value_headers.enabled", "false", Kind::Bool)];

/// The attributes of an HTTP(S) listener of an application load balancer.
const LISTENER: &[(&str, &str, Kind)] = &[
    ("routing.http.response.server.enabled", "true", Kind::Bool),
    ("routing.http.response.strict_transport_security.header_value", "", Kind::Text),
    ("routing.http.response.access_control_allow_origin.header_value", "", Kind::Text),
    ("routing.http.response.access_control_allow_methods.header_value", "", Kind::Text),
    ("routing.http.response.access_control_allow_headers.header_value", "", Kind::Text),
    ("routing.http.response.access_control_allow_credentials.header_value", "", Kind::Text),
    ("routing.http.response.access_control_expose_headers.header_value", "", Kind::Text),
    ("routing.http.response.access_control_max_age.header_value", "", Kind::Text),
    ("routing.http.response.content_security_policy.header_value", "", Kind::Text),
    ("routing.http.response.x_content_type_options.header_value", "", Kind::Text),
    ("routing.http.response.x_frame_options.header_value", "", Kind::Text),
];

/// Extra attributes of HTTPS listeners (TLS and mTLS request header names).
const HTTPS_LISTENER: &[(&str, &str, Kind)] = &[
    ("routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_mtls_clientcert_issuer.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_mtls_clientcert_subject.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_mtls_clientcert_validity.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_mtls_clientcert_leaf.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_mtls_clientcert.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_tls_version.header_name", "", Kind::Text),
    ("routing.http.request.x_amzn_tls_cipher_suite.header_name", "", Kind::Text),
];

fn defaults(table: &[(&str, &str, Kind)]) -> Vec<Attribute> {
    table.iter().map(|(k, v, _)| Attribute::new(k, v)).collect()
}

/// The attributes a new application load balancer has.
pub fn load_balancer_defaults() -> Vec<Attribute> {
    defaults(LOAD_BALANCER)
}

/// The attributes a new target group has.
pub fn target_group_defaults(target_type: &str) -> Vec<Attribute> {
    if target_type == "lambda" { defaults(LAMBDA_TARGET_GROUP) } else { defaults(TARGET_GROUP) }
}

/// The attributes a new listener has.
pub fn listener_defaults(protocol: &str) -> Vec<Attribute> {
    let mut out = defaults(LISTENER);
    if protocol == "HTTPS" {
        out.extend(defaults(HTTPS_LISTENER));
    }
    out
}

/// Which resource's attributes are being modified (for the key table and error wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    LoadBalancer,
    TargetGroup { target_type: &'a str },
    Listener { protocol: &'a str },
}

impl Owner<'_> {
    fn table(self) -> Vec<(&'static str, &'static str, Kind)> {
        match self {
            Owner::LoadBalancer => LOAD_BALANCER.to_vec(),
            Owner::TargetGroup { target_type: "lambda" } => LAMBDA_TARGET_GROUP.to_vec(),
            Owner::TargetGroup { .. } => TARGET_GROUP.to_vec(),
            Owner::Listener { protocol } => {
                let mut t = LISTENER.to_vec();
                if protocol == "HTTPS" {
                    t.extend_from_slice(HTTPS_LISTENER);
                }
                t
            }
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Owner::LoadBalancer => "Load balancer",
            Owner::TargetGroup { .. } => "Target group",
            Owner::Listener { .. } => "Listener",
        }
    }
}

/// Applies `changes` to `current` after checking every key and value; nothing changes if one is
/// refused. Keys berth knows but `current` lacks (stored by an older berth) are added.
pub fn modify(
    owner: Owner<'_>,
    current: &mut Vec<Attribute>,
    changes: &[Attribute],
) -> Result<(), Elbv2Error> {
    if changes.is_empty() {
        return Err(Elbv2Error::constraint(
            "[]",
            "attributes",
            "Member must have length greater than or equal to 1",
        ));
    }
    let table = owner.table();
    for c in changes {
        let Some((_, _, kind)) = table.iter().find(|(k, _, _)| *k == c.key) else {
            return Err(Elbv2Error::Validation(format!(
                "{} attribute key '{}' is not recognized",
                owner.noun(),
                c.key
            )));
        };
        check_value(owner, &c.key, &c.value, *kind)?;
    }
    let mut next = current.clone();
    for c in changes {
        match next.iter_mut().find(|a| a.key == c.key) {
            Some(a) => a.value = c.value.clone(),
            None => next.push(c.clone()),
        }
    }
    cross_checks(owner, &next)?;
    *current = next;
    Ok(())
}

fn check_value(owner: Owner<'_>, key: &str, value: &str, kind: Kind) -> Result<(), Elbv2Error> {
    let invalid =
        || Elbv2Error::Validation(format!("{} attribute '{key}' value '{value}' is not valid", owner.noun()));
    match kind {
        Kind::Bool => {
            if value != "true" && value != "false" {
                return Err(invalid());
            }
        }
        Kind::Int(lo, hi) => {
            let n: i64 = value.parse().map_err(|_| invalid())?;
            if n < lo || n > hi {
                // slow_start accepts 0 (off) or 30..=900.
                return Err(Elbv2Error::Validation(format!(
                    "{} attribute '{key}' value '{value}' must be between {lo} and {hi}",
                    owner.noun()
                )));
            }
            if key == "slow_start.duration_seconds" && n != 0 && n < 30 {
                return Err(Elbv2Error::Validation(format!(
                    "{} attribute '{key}' value '{value}' must be between 30 and 900, or 0 to disable",
                    owner.noun()
                )));
            }
        }
        Kind::OneOf(words) => {
            if !words.contains(&value) {
                return Err(invalid());
            }
        }
        Kind::Text => {}
    }
    Ok(())
}

/// Combinations AWS refuses after the change.
fn cross_checks(owner: Owner<'_>, attrs: &[Attribute]) -> Result<(), Elbv2Error> {
    if let Owner::TargetGroup { .. } = owner {
        let lor = get(attrs, "load_balancing.algorithm.type") == Some("least_outstanding_requests");
        let slow = get_or(attrs, "slow_start.duration_seconds", 0i64) > 0;
        if lor && slow {
            return Err(Elbv2Error::InvalidConfigurationRequest(
                "Slow start mode is not supported with least outstanding requests load balancing algorithm"
                    .into(),
            ));
        }
        if get(attrs, "load_balancing.algorithm.anomaly_mitigation") == Some("on")
            && get(attrs, "load_balancing.algorithm.type") != Some("weighted_random")
        {
            return Err(Elbv2Error::InvalidConfigurationRequest(
                "Anomaly mitigation is only supported with the weighted_random load balancing algorithm"
                    .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_aws_s() {
        let lb = load_balancer_defaults();
        assert_eq!(get(&lb, "idle_timeout.timeout_seconds"), Some("60"));
        assert_eq!(get(&lb, "routing.http.xff_header_processing.mode"), Some("append"));
        assert_eq!(get(&lb, "client_keep_alive.seconds"), Some("3600"));
        assert_eq!(get(&lb, "access_logs.s3.bucket"), Some(""));
        let tg = target_group_defaults("ip");
        assert_eq!(get(&tg, "deregistration_delay.timeout_seconds"), Some("300"));
        assert_eq!(get(&tg, "stickiness.enabled"), Some("false"));
        assert_eq!(get(&tg, "stickiness.type"), Some("lb_cookie"));
        assert_eq!(get(&tg, "load_balancing.algorithm.type"), Some("round_robin"));
        assert_eq!(get(&tg, "load_balancing.cross_zone.enabled"), Some("use_load_balancer_configuration"));
        assert_eq!(target_group_defaults("lambda").len(), 1);
        let l = listener_defaults("HTTP");
        assert_eq!(get(&l, "routing.http.response.server.enabled"), Some("true"));
        assert!(get(&l, "routing.http.request.x_amzn_tls_version.header_name").is_none());
        assert!(
            get(&listener_defaults("HTTPS"), "routing.http.request.x_amzn_tls_version.header_name").is_some()
        );
    }

    #[test]
    fn modify_checks_keys_values_and_combinations() {
        let mut lb = load_balancer_defaults();
        modify(Owner::LoadBalancer, &mut lb, &[Attribute::new("idle_timeout.timeout_seconds", "120")])
            .unwrap();
        assert_eq!(get(&lb, "idle_timeout.timeout_seconds"), Some("120"));
        let e = modify(Owner::LoadBalancer, &mut lb, &[Attribute::new("nope", "1")]).unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        assert!(e.to_string().contains("'nope' is not recognized"));
        let e = modify(Owner::LoadBalancer, &mut lb, &[Attribute::new("idle_timeout.timeout_seconds", "0")]);
        assert!(e.is_err());
        assert_eq!(get(&lb, "idle_timeout.timeout_seconds"), Some("120"), "a refused change changes nothing");

        let owner = Owner::TargetGroup { target_type: "ip" };
        let mut tg = target_group_defaults("ip");
        modify(owner, &mut tg, &[Attribute::new("deregistration_delay.timeout_seconds", "5")]).unwrap();
        assert!(
            modify(owner, &mut tg, &[Attribute::new("deregistration_delay.timeout_seconds", "3601")])
                .is_err()
        );
        assert!(modify(owner, &mut tg, &[Attribute::new("slow_start.duration_seconds", "10")]).is_err());
        let mut both = tg.clone();
        let e = modify(
            owner,
            &mut both,
            &[
                Attribute::new("slow_start.duration_seconds", "30"),
                Attribute::new("load_balancing.algorithm.type", "least_outstanding_requests"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.code(), "InvalidConfigurationRequest");
        assert!(modify(owner, &mut tg, &[Attribute::new("stickiness.enabled", "yes")]).is_err());
    }
}
