//! A read-only view across services for `berth status`: load balancers and their listener rules,
//! target groups with each target's health, ECS services with their counts and last events, and
//! tasks. It reads stored resources and the live health map; it changes nothing.
//!
//! The report is plain data with camelCase JSON names, so `berth status --json` and the human
//! tables print the same thing. Where each listener is really served is the data plane's business;
//! berth joins that in.

use std::collections::BTreeSet;

use model::health::TargetKey;
use serde::Serialize;

use crate::api::ApiError;
use crate::ecs::service::{self, Service};
use crate::ecs::task::{Task, TaskStatus};
use crate::elbv2::action::Action;
use crate::elbv2::listener::Listener;
use crate::elbv2::load_balancer::LoadBalancer;
use crate::elbv2::rule::{self, Rule, RuleCondition};
use crate::elbv2::target_group::{self, TargetGroup};
use crate::elbv2::target_health::health_of_registration;
use crate::{Cloud, Ctx};

/// Everything `berth status` shows.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub load_balancers: Vec<LoadBalancerView>,
    pub target_groups: Vec<TargetGroupView>,
    pub services: Vec<ServiceView>,
    /// Tasks that are not STOPPED, oldest first.
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerView {
    pub arn: String,
    pub name: String,
    pub region: String,
    pub dns_name: String,
    /// `provisioning` or `active`.
    pub state: &'static str,
    pub listeners: Vec<ListenerView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerView {
    pub arn: String,
    /// The port the AWS API shows.
    pub port: u16,
    pub protocol: String,
    /// In evaluation order: ascending priority, the default rule last.
    pub rules: Vec<RuleView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    /// A number, or `default`.
    pub priority: String,
    /// e.g. `path-pattern /product-svc*`; empty for the default rule.
    pub conditions: Vec<String>,
    /// e.g. `forward product-svc-tg`, `fixed-response 404`.
    pub action: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroupView {
    pub arn: String,
    pub name: String,
    pub region: String,
    pub port: Option<u16>,
    /// Whether a listener rule forwards to it (otherwise its targets are `unused`).
    pub in_use: bool,
    pub targets: Vec<TargetView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub id: String,
    pub port: u16,
    pub availability_zone: Option<String>,
    /// DescribeTargetHealth's state (`healthy`, `initial`, ...).
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub arn: String,
    pub name: String,
    pub cluster: String,
    pub region: String,
    pub status: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// Whether its tasks register in target groups (`loadBalancers` on the service).
    pub load_balanced: bool,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED` of the primary deployment.
    pub rollout_state: Option<String>,
    /// The newest events first (at most three).
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Seconds since the epoch.
    pub created_at: f64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    pub id: String,
    pub arn: String,
    /// The service that started it, or the task's group for standalone tasks.
    pub group: String,
    pub cluster: String,
    pub private_ip: String,
    pub availability_zone: String,
    pub last_status: String,
    pub desired_status: String,
    /// Seconds since the epoch when it reached RUNNING.
    pub started_at: Option<f64>,
    pub task_definition: String,
}

/// Builds the report from every region's stored resources and the live health.
pub fn report(cloud: &Cloud) -> Result<Report, ApiError> {
    let regions: BTreeSet<String> = cloud.store.transaction(|tx| {
        let mut regions = BTreeSet::new();
        regions.extend(tx.list_all_regions::<LoadBalancer>()?.into_iter().map(|(r, _)| r));
        regions.extend(tx.list_all_regions::<TargetGroup>()?.into_iter().map(|(r, _)| r));
        regions.extend(tx.list_all_regions::<Service>()?.into_iter().map(|(r, _)| r));
        regions.extend(tx.list_all_regions::<Task>()?.into_iter().map(|(r, _)| r));
        Ok::<_, ApiError>(regions)
    })?;
    let mut report = Report::default();
    for region in regions {
        cloud.transact(&region, |cx| add_region(cx, &mut report))?;
    }
    report.tasks.sort_by(|a, b| a.started_at.partial_cmp(&b.started_at).unwrap_or(std::cmp::Ordering::Equal));
    Ok(report)
}

fn add_region(cx: &Ctx<'_>, report: &mut Report) -> Result<(), ApiError> {
    let now_ms = (cx.now.unix_timestamp_nanos() / 1_000_000) as i64;
    let target_groups: Vec<TargetGroup> = cx.list()?;
    let name_of = |arn: &str| {
        target_groups
            .iter()
            .find(|tg| tg.target_group_arn == arn)
            .map(|tg| tg.target_group_name.clone())
            .unwrap_or_else(|| arn.to_string())
    };
    let listeners: Vec<Listener> = cx.list()?;
    let rules: Vec<Rule> = cx.list()?;
    for lb in cx.list::<LoadBalancer>()? {
        let mut lb_listeners: Vec<&Listener> =
            listeners.iter().filter(|l| l.load_balancer_arn == lb.load_balancer_arn).collect();
        lb_listeners.sort_by_key(|l| l.port);
        let listeners = lb_listeners
            .into_iter()
            .map(|l| {
                let mut lrules: Vec<Rule> =
                    rules.iter().filter(|r| r.listener_arn == l.listener_arn).cloned().collect();
                rule::sort_for_evaluation(&mut lrules);
                ListenerView {
                    arn: l.listener_arn.clone(),
                    port: l.port,
                    protocol: l.protocol.clone(),
                    rules: lrules
                        .into_iter()
                        .map(|r| RuleView {
                            priority: r.priority.map_or_else(|| "default".to_string(), |p| p.to_string()),
                            conditions: r.conditions.iter().map(describe_condition).collect(),
                            action: describe_actions(&r.actions, &name_of),
                        })
                        .collect(),
                }
            })
            .collect();
        report.load_balancers.push(LoadBalancerView {
            arn: lb.load_balancer_arn.clone(),
            name: lb.load_balancer_name.clone(),
            region: cx.region.to_string(),
            dns_name: lb.dns_name.clone(),
            state: if lb.is_active(now_ms) { "active" } else { "provisioning" },
            listeners,
        });
    }
    for tg in &target_groups {
        let in_use = !target_group::load_balancer_arns(cx, &tg.target_group_arn)?.is_empty();
        let targets = tg
            .targets
            .iter()
            .map(|reg| {
                let key = TargetKey {
                    target_group_arn: tg.target_group_arn.clone(),
                    id: reg.id.clone(),
                    port: reg.port,
                };
                let health = health_of_registration(tg, reg, in_use, cx.cloud.live.health_of(&key));
                TargetView {
                    id: reg.id.clone(),
                    port: reg.port,
                    availability_zone: reg.availability_zone.clone(),
                    state: health.state.as_str(),
                    reason: health.reason.map(|r| r.code()),
                    description: health.description,
                }
            })
            .collect();
        report.target_groups.push(TargetGroupView {
            arn: tg.target_group_arn.clone(),
            name: tg.target_group_name.clone(),
            region: cx.region.to_string(),
            port: tg.port,
            in_use,
            targets,
        });
    }
    let tasks: Vec<Task> = cx.list()?;
    for s in cx.list::<Service>()? {
        let (running, pending) = service::counts(
            tasks.iter().filter(|t| t.service_arn.as_deref() == Some(s.service_arn.as_str())),
        );
        report.services.push(ServiceView {
            arn: s.service_arn.clone(),
            name: s.service_name.clone(),
            cluster: crate::arn::last_segment(&s.cluster_arn).to_string(),
            region: cx.region.to_string(),
            status: s.status.as_str().to_string(),
            task_definition: crate::arn::last_segment(&s.task_definition).to_string(),
            desired: s.desired_count,
            running,
            pending,
            load_balanced: !s.load_balancers.is_empty(),
            rollout_state: s.deployments.first().map(|d| d.rollout_state.clone()),
            events: s
                .events
                .iter()
                .take(3)
                .map(|e| EventView { created_at: e.created_at, message: e.message.clone() })
                .collect(),
        });
    }
    for t in tasks.into_iter().filter(|t| t.last_status != TaskStatus::Stopped) {
        report.tasks.push(TaskView {
            id: t.task_id.clone(),
            arn: t.task_arn.clone(),
            group: t.service_name.clone().unwrap_or_else(|| t.group.clone()),
            cluster: crate::arn::last_segment(&t.cluster_arn).to_string(),
            private_ip: t.eni.private_ipv4_address.clone(),
            availability_zone: t.availability_zone.clone(),
            last_status: t.last_status.as_str().to_string(),
            desired_status: t.desired_status.clone(),
            started_at: t.started_at,
            task_definition: format!("{}:{}", t.family, t.revision),
        });
    }
    Ok(())
}

/// `path-pattern /a*, /b*`.
fn describe_condition(c: &RuleCondition) -> String {
    let field = c.field.clone().unwrap_or_default();
    let values: Vec<String> = if let Some(cfg) = &c.http_header_config {
        let name = cfg.http_header_name.clone().unwrap_or_default();
        cfg.values.iter().map(|v| format!("{name}: {v}")).collect()
    } else if let Some(cfg) = &c.query_string_config {
        cfg.values
            .iter()
            .map(|kv| {
                let value = kv.value.clone().unwrap_or_default();
                match &kv.key {
                    Some(k) => format!("{k}={value}"),
                    None => value,
                }
            })
            .collect()
    } else {
        [&c.path_pattern_config, &c.host_header_config, &c.http_request_method_config, &c.source_ip_config]
            .into_iter()
            .flatten()
            .map(|cfg| cfg.values.clone())
            .find(|v| !v.is_empty())
            .or_else(|| c.values.clone())
            .unwrap_or_default()
    };
    format!("{field} {}", values.join(", "))
}

/// `forward product-svc-tg`, `forward a (80%), b (20%)`, `fixed-response 404`, `redirect 301 ...`.
fn describe_actions(actions: &[Action], name_of: &dyn Fn(&str) -> String) -> String {
    let Some(last) = actions.iter().find(|a| a.is_terminal()) else {
        return String::new();
    };
    match last.kind.as_str() {
        "forward" => {
            let groups: Vec<(String, i32)> = match &last.forward_config {
                Some(f) => f
                    .target_groups
                    .iter()
                    .filter_map(|t| Some((name_of(t.target_group_arn.as_deref()?), t.weight.unwrap_or(1))))
                    .collect(),
                None => last.target_group_arn.iter().map(|a| (name_of(a), 1)).collect(),
            };
            if groups.len() == 1 {
                format!("forward {}", groups[0].0)
            } else {
                let total: i32 = groups.iter().map(|(_, w)| w).sum::<i32>().max(1);
                let parts: Vec<String> =
                    groups.iter().map(|(n, w)| format!("{n} ({}%)", w * 100 / total)).collect();
                format!("forward {}", parts.join(", "))
            }
        }
        "fixed-response" => match &last.fixed_response_config {
            Some(f) => format!("fixed-response {}", f.status_code),
            None => "fixed-response".to_string(),
        },
        "redirect" => match &last.redirect_config {
            Some(r) => format!(
                "redirect {} to {}://{}:{}{}",
                r.status_code.trim_start_matches("HTTP_"),
                r.protocol.as_deref().unwrap_or("#{protocol}"),
                r.host.as_deref().unwrap_or("#{host}"),
                r.port.as_deref().unwrap_or("#{port}"),
                r.path.as_deref().unwrap_or("/#{path}"),
            ),
            None => "redirect".to_string(),
        },
        other => other.to_string(),
    }
}
