//! `berth status [--json]` and `GET /_berth/status`: load balancers with their DNS names and real
//! listener addresses, listener rules in priority order with their target groups, targets with
//! health state and reason, services with desired/running/pending and their last events, tasks
//! with id, IP, AZ, status and uptime.
//!
//! The control plane builds the report ([`cloud::status::report`]); berth adds where each
//! listener is really served (the data plane's bindings) and the URL to open it.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use cloud::Cloud;
use comfy_table::{Cell, ContentArrangement, Table, presets};
use serde_json::{Value, json};
use tokio::sync::watch;

/// `berth status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The data dir of the running berth to ask.
    #[arg(long, default_value = ".berth", env = "BERTH_DATA_DIR")]
    pub data_dir: std::path::PathBuf,
    /// Ask this endpoint instead of the one the running berth recorded.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Print the report as JSON (the body of `GET /_berth/status`).
    #[arg(long)]
    pub json: bool,
}

struct RouteState {
    cloud: Arc<Cloud>,
    bindings: watch::Receiver<Vec<alb::ListenerBinding>>,
}

/// `GET /_berth/status` (everything) and `GET /_berth/load-balancers` (only `loadBalancers`).
pub fn router(cloud: Arc<Cloud>, bindings: watch::Receiver<Vec<alb::ListenerBinding>>) -> Router {
    Router::new()
        .route("/_berth/status", get(status_route))
        .route("/_berth/load-balancers", get(load_balancers_route))
        .with_state(Arc::new(RouteState { cloud, bindings }))
}

async fn load_balancers_route(state: State<Arc<RouteState>>) -> Result<Json<Value>, (StatusCode, String)> {
    let Json(report) = status_route(state).await?;
    Ok(Json(json!({"loadBalancers": report["loadBalancers"]})))
}

async fn status_route(State(state): State<Arc<RouteState>>) -> Result<Json<Value>, (StatusCode, String)> {
    let cloud = Arc::clone(&state.cloud);
    let report = tokio::task::spawn_blocking(move || cloud::status::report(&cloud))
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("building the status failed: {e}")))?
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("building the status failed: {e}")))?;
    let bindings = state.bindings.borrow().clone();
    let mut value = serde_json::to_value(&report)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the status failed: {e}")))?;
    add_bindings(&mut value, &bindings);
    if let Some(obj) = value.as_object_mut() {
        obj.insert("endpoint".into(), json!(state.cloud.config.endpoint));
        obj.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        obj.insert("uptimeSeconds".into(), json!(state.cloud.uptime().as_secs()));
        obj.insert("nowSeconds".into(), json!(now_seconds()));
    }
    Ok(Json(value))
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Adds `address` and `url` to every listener the data plane serves.
fn add_bindings(report: &mut Value, bindings: &[alb::ListenerBinding]) {
    let Some(lbs) = report.get_mut("loadBalancers").and_then(Value::as_array_mut) else {
        return;
    };
    for lb in lbs {
        let arn = lb["arn"].as_str().unwrap_or_default().to_string();
        let dns = lb["dnsName"].as_str().unwrap_or_default().to_string();
        let Some(listeners) = lb.get_mut("listeners").and_then(Value::as_array_mut) else {
            continue;
        };
        for l in listeners {
            let port = l["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
            if let (Some(b), Some(obj)) = (binding_of(bindings, &arn, port), l.as_object_mut()) {
                obj.insert("address".into(), json!(b.addr.to_string()));
                obj.insert("url".into(), json!(listener_url(&dns, b.addr.port())));
            }
        }
    }
}

/// Where the data plane serves listener `port` of load balancer `lb_arn`.
pub fn binding_of<'a>(
    bindings: &'a [alb::ListenerBinding],
    lb_arn: &str,
    port: u16,
) -> Option<&'a alb::ListenerBinding> {
    bindings.iter().find(|b| b.port == port && b.load_balancers.iter().any(|x| x.arn == lb_arn))
}

/// `http://<dns name>/` on port 80, else `http://<dns name>:<port>/`.
pub fn listener_url(dns_name: &str, port: u16) -> String {
    if port == 80 { format!("http://{dns_name}/") } else { format!("http://{dns_name}:{port}/") }
}

/// Prints the status of the berth running on `args.data_dir`.
pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let endpoint = match args.endpoint {
        Some(e) => e,
        None => crate::client::endpoint_of(&args.data_dir)?,
    };
    let report = crate::client::get_json(&endpoint, "/_berth/status").await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).context("printing JSON")?);
    } else {
        print!("{}", render(&report, 100));
    }
    Ok(())
}

fn table(width: u16, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(header.iter().map(|h| Cell::new(h).add_attribute(comfy_table::Attribute::Bold)));
    t
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `4m12s`, `2h05m`, `3d04h`.
fn duration(secs: f64) -> String {
    let secs = secs.max(0.0) as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d{:02}h", secs / 86400, (secs % 86400) / 3600),
    }
}

/// The human form of a status report, at most `width` columns wide.
pub fn render(r: &Value, width: u16) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let now = r["nowSeconds"].as_f64().unwrap_or(0.0);
    let _ = writeln!(
        out,
        "berth {} at {} (up {})\n",
        s(&r["version"]),
        s(&r["endpoint"]),
        duration(r["uptimeSeconds"].as_f64().unwrap_or(0.0))
    );

    let lbs = r["loadBalancers"].as_array().cloned().unwrap_or_default();
    out.push_str("LOAD BALANCERS\n");
    if lbs.is_empty() {
        out.push_str("  none\n");
    }
    for lb in &lbs {
        let _ = writeln!(out, "  {} ({}) {}", s(&lb["name"]), s(&lb["state"]), s(&lb["dnsName"]));
        for l in lb["listeners"].as_array().cloned().unwrap_or_default() {
            let served = match l["address"].as_str() {
                Some(a) => format!("served on {a}  {}", s(&l["url"])),
                None => "not served yet".to_string(),
            };
            let _ = writeln!(out, "  listener {} :{}  {served}", s(&l["protocol"]), s(&l["port"]));
            let mut t = table(width.saturating_sub(4), &["priority", "conditions", "action"]);
            for rule in l["rules"].as_array().cloned().unwrap_or_default() {
                let conditions: Vec<String> =
                    rule["conditions"].as_array().cloned().unwrap_or_default().iter().map(s).collect();
                t.add_row(vec![s(&rule["priority"]), conditions.join(" AND "), s(&rule["action"])]);
            }
            for line in t.to_string().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }

    out.push_str("\nTARGET GROUPS\n");
    let mut t = table(width, &["target group", "target", "AZ", "state", "reason"]);
    let tgs = r["targetGroups"].as_array().cloned().unwrap_or_default();
    for tg in &tgs {
        let targets = tg["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            t.add_row(vec![
                s(&tg["name"]),
                "(no targets)".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for (i, target) in targets.iter().enumerate() {
            let name = if i == 0 { s(&tg["name"]) } else { String::new() };
            let reason = match (target["reason"].as_str(), target["description"].as_str()) {
                (Some(code), Some(desc)) => format!("{code}: {desc}"),
                (Some(code), None) => code.to_string(),
                _ => String::new(),
            };
            t.add_row(vec![
                name,
                format!("{}:{}", s(&target["id"]), s(&target["port"])),
                s(&target["availabilityZone"]),
                s(&target["state"]),
                reason,
            ]);
        }
    }
    if tgs.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&t.to_string());
        out.push('\n');
    }

    out.push_str("\nSERVICES\n");
    let services = r["services"].as_array().cloned().unwrap_or_default();
    if services.is_empty() {
        out.push_str("  none\n");
    } else {
        let mut t = table(
            width,
            &["service", "status", "desired", "running", "pending", "task definition", "rollout"],
        );
        for svc in &services {
            t.add_row(vec![
                format!("{}/{}", s(&svc["cluster"]), s(&svc["name"])),
                s(&svc["status"]),
                s(&svc["desired"]),
                s(&svc["running"]),
                s(&svc["pending"]),
                s(&svc["taskDefinition"]),
                s(&svc["rolloutState"]),
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
        for svc in &services {
            let events = svc["events"].as_array().cloned().unwrap_or_default();
            if events.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  last events of {}:", s(&svc["name"]));
            for e in events {
                let age = duration(now - e["createdAt"].as_f64().unwrap_or(now));
                let _ = writeln!(out, "    {age:>7} ago  {}", s(&e["message"]));
            }
        }
    }

    out.push_str("\nTASKS\n");
    let tasks = r["tasks"].as_array().cloned().unwrap_or_default();
    if tasks.is_empty() {
        out.push_str("  none\n");
    } else {
        let mut t = table(width, &["task", "service", "IP", "AZ", "status", "uptime"]);
        for task in &tasks {
            let status = match (task["lastStatus"].as_str(), task["desiredStatus"].as_str()) {
                (Some(last), Some("STOPPED")) if last != "STOPPED" => format!("{last} → STOPPED"),
                (Some(last), _) => last.to_string(),
                _ => String::new(),
            };
            let uptime = task["startedAt"].as_f64().map(|t| duration(now - t)).unwrap_or_default();
            t.add_row(vec![
                s(&task["id"]),
                s(&task["group"]),
                s(&task["privateIp"]),
                s(&task["availabilityZone"]),
                status,
                uptime,
            ]);
        }
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "version": "0.1.0", "endpoint": "http://127.0.0.1:4566", "uptimeSeconds": 300, "nowSeconds": 1000.0,
            "loadBalancers": [{"arn": "lb", "name": "ecs-alb", "state": "active", "region": "us-east-1",
                "dnsName": "ecs-alb-1234567890.us-east-1.elb.localhost",
                "listeners": [{"arn": "l", "port": 80, "protocol": "HTTP", "address": "127.0.0.1:80",
                    "url": "http://ecs-alb-1234567890.us-east-1.elb.localhost/",
                    "rules": [
                        {"priority": "1", "conditions": ["path-pattern /product-svc*"], "action": "forward product-svc-tg"},
                        {"priority": "2", "conditions": ["path-pattern /user-svc*"], "action": "forward user-svc-tg"},
                        {"priority": "default", "conditions": [], "action": "fixed-response 404"}]}]}],
            "targetGroups": [{"arn": "tg", "name": "product-svc-tg", "inUse": true, "targets": [
                {"id": "10.0.2.4", "port": 3000, "availabilityZone": "us-east-1a", "state": "healthy"},
                {"id": "10.0.3.4", "port": 3000, "availabilityZone": "us-east-1b", "state": "unhealthy",
                 "reason": "Target.ResponseCodeMismatch", "description": "Health checks failed with these codes: [500]"}]}],
            "services": [{"name": "product-svc", "cluster": "ecs-cluster", "status": "ACTIVE", "desired": 2,
                "running": 2, "pending": 0, "taskDefinition": "product-svc-td:1", "rolloutState": "COMPLETED",
                "events": [{"createdAt": 940.0, "message": "(service product-svc) has reached a steady state."}]}],
            "tasks": [{"id": "0123456789abcdef0123456789abcdef", "group": "product-svc", "privateIp": "10.0.2.4",
                "availabilityZone": "us-east-1a", "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "startedAt": 748.0}]
        })
    }

    #[test]
    fn the_report_reads_at_100_columns() {
        let text = render(&sample(), 100);
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "too wide ({}): {line}", line.chars().count());
        }
        for needle in [
            "ecs-alb (active) ecs-alb-1234567890.us-east-1.elb.localhost",
            "served on 127.0.0.1:80",
            "path-pattern /product-svc*",
            "forward product-svc-tg",
            "fixed-response 404",
            "Target.ResponseCodeMismatch",
            "ecs-cluster/product-svc",
            "product-svc-td:1",
            "1m00s ago  (service product-svc) has reached a steady state.",
            "0123456789abcdef0123456789abcdef",
            "4m12s",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        // Priority order: 1, 2, default.
        let (p1, p2, d) =
            (text.find("/product-svc*"), text.find("/user-svc*"), text.find("fixed-response 404"));
        assert!(p1 < p2 && p2 < d, "{text}");
    }

    #[test]
    fn an_empty_berth_says_so() {
        let text = render(&json!({"version": "0.1.0", "endpoint": "e", "uptimeSeconds": 1}), 100);
        assert_eq!(text.matches("  none").count(), 4, "{text}");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(5.0), "5s");
        assert_eq!(duration(252.0), "4m12s");
        assert_eq!(duration(7500.0), "2h05m");
        assert_eq!(duration(273600.0), "3d04h");
        assert_eq!(listener_url("a.elb.localhost", 80), "http://a.elb.localhost/");
        assert_eq!(listener_url("a.elb.localhost", 8080), "http://a.elb.localhost:8080/");
    }
}
