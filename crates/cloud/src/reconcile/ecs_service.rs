//! The ECS service scheduler: keeps each service's tasks running, moves every task through its
//! lifecycle, and rolls deployments over, against any [`TaskLauncher`].
//!
//! # Loop
//! [`run`] wakes on a store change (an API call), a [`TaskEvent`] from the runtime, or a tick
//! (1 s), and runs one *pass* on a blocking thread:
//! 1. the runtime's events are applied to their tasks (one transaction);
//! 2. per region, one transaction moves every task one step ([`Scheduler::step_task`]) and
//!    brings every service closer to what it wants ([`Scheduler::step_service`]);
//! 3. after the commit, the launches and stops decided in it are handed to the launcher; a
//!    refused launch is written back as a task that failed to start.
//!
//! A pass writes only what changed, so a quiet system makes no writes and wakes only on ticks.
//! All state lives in the store (task status, deployments, events, the back-off); the scheduler
//! keeps nothing in memory that a restart would need.
//!
//! # Task lifecycle (`lastStatus`, only forward)
//! ```text
//! PROVISIONING --launch--> PENDING --all containers started--> ACTIVATING --targets registered--> RUNNING
//!   desiredStatus STOPPED: RUNNING/ACTIVATING --deregister--> DEACTIVATING --drained--> STOPPING --SIGTERM…
//!   …TaskGone--> DEPROVISIONING --ENI deleted--> STOPPED
//! ```
//! An essential container that exits or fails to start sets `desiredStatus` STOPPED with the stop
//! code (`EssentialContainerExited`, `TaskFailedToStart`) and its reason; the runtime's
//! `TaskGone` then moves the task to DEPROVISIONING. A task the runtime no longer knows (berth
//! restarted: the runtime killed what the old berth left) is treated the same way.
//!
//! # Services
//! For an ACTIVE service, with `desired` its count and the deployment configuration's
//! percentages: tasks of the `PRIMARY` deployment beyond `desired` are stopped (spread kept,
//! unstarted ones first); tasks of older deployments are stopped while at least
//! `ceil(desired × minimumHealthyPercent / 100)` healthy tasks remain; new `PRIMARY` tasks are
//! started while fewer than `desired` exist and the service stays under
//! `floor(desired × maximumPercent / 100)` tasks, each in the Availability Zone (then subnet)
//! of the service's subnets with the fewest of them. "Healthy" is RUNNING, and healthy in every
//! target group when the service has load balancers. A DRAINING service has all its tasks
//! stopped and becomes INACTIVE when the last one is STOPPED.
//!
//! # Back-off
//! A task that fails to start (`TaskFailedToStart`), or whose essential container exits within
//! [`SchedulerConfig::quick_exit`] of running, counts as a start failure. From the
//! [`SchedulerConfig::backoff_after`]th failure in a row, launches wait
//! `backoff_base × 2^k`, capped at [`SchedulerConfig::backoff_cap`] (AWS caps at 15 minutes;
//! locally 1 minute), with ECS's "unable to consistently start tasks" event. A task that stays
//! running that long resets the count.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use model::health::TargetHealthState;
use model::task::{TaskEvent, TaskLauncher, TaskSpec};
use tokio::sync::mpsc;

use crate::api::ApiError;
use crate::ec2::{network_interface, subnet};
use crate::ecs::load_balancer::{self, TargetGroups};
use crate::ecs::service::{Deployment, Service, ServiceStatus};
use crate::ecs::task::{self, NewTask, STOPPED_TASK_RETENTION_SECONDS, Task, TaskStatus};
use crate::ecs::task_definition::TaskDefinition;
use crate::ecs::{cluster, deployment_id};
use crate::{Cloud, Ctx, epoch_seconds};

/// Timings of the scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// How often a pass runs when nothing wakes it.
    pub tick: Duration,
    /// A task whose essential container exits sooner than this after RUNNING failed to start,
    /// for the back-off (and a task running this long resets the count).
    pub quick_exit: Duration,
    /// Start failures in a row before launches are delayed.
    pub backoff_after: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// How long a launched task may be unknown to the runtime before it counts as gone.
    pub gone_after: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            quick_exit: Duration::from_secs(10),
            backoff_after: 3,
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(60),
            gone_after: Duration::from_secs(2),
        }
    }
}

/// What a pass decided to do to the runtime once its transaction committed.
#[derive(Debug)]
enum Action {
    Launch { region: String, task_arn: String, spec: Box<TaskSpec> },
    Stop { task_id: String },
}

/// The scheduler's state between passes (nothing a restart needs).
pub struct Scheduler {
    cloud: Arc<Cloud>,
    launcher: Arc<dyn TaskLauncher>,
    config: SchedulerConfig,
    first_pass: bool,
    /// Launched tasks the runtime did not list, since when.
    missing_since: HashMap<String, Instant>,
}

/// Runs the scheduler until `shutdown` resolves.
pub async fn run(
    cloud: Arc<Cloud>,
    launcher: Arc<dyn TaskLauncher>,
    config: SchedulerConfig,
    mut events: mpsc::UnboundedReceiver<TaskEvent>,
    shutdown: impl Future<Output = ()>,
) {
    let tick = config.tick;
    let mut changes = cloud.store.subscribe();
    let scheduler = Arc::new(Mutex::new(Scheduler::new(cloud, launcher, config)));
    let mut shutdown = std::pin::pin!(shutdown);
    let mut batch: Vec<TaskEvent> = Vec::new();
    loop {
        let pass_scheduler = Arc::clone(&scheduler);
        let pass_events = std::mem::take(&mut batch);
        let done = tokio::task::spawn_blocking(move || {
            pass_scheduler.lock().unwrap_or_else(PoisonError::into_inner).pass(pass_events);
        })
        .await;
        if let Err(e) = done {
            tracing::error!(error = %e, "the ECS scheduler's pass failed");
        }
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(event) = events.recv() => batch.push(event),
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                // Let a burst of API writes land before looking.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            () = tokio::time::sleep(tick) => {}
        }
        while let Ok(event) = events.try_recv() {
            batch.push(event);
        }
    }
    tracing::debug!("ECS scheduler stopped");
}

/// `(service x) has started 2 tasks: (task a) (task b).`
fn task_list(ids: &[String]) -> String {
    ids.iter().map(|id| format!("(task {id})")).collect::<Vec<_>>().join(" ")
}

impl Scheduler {
    pub fn new(cloud: Arc<Cloud>, launcher: Arc<dyn TaskLauncher>, config: SchedulerConfig) -> Self {
        Self { cloud, launcher, config, first_pass: true, missing_since: HashMap::new() }
    }

    /// One pass: events, then every region's tasks and services, then the runtime actions.
    pub fn pass(&mut self, events: Vec<TaskEvent>) {
        if !events.is_empty()
            && let Err(e) = self.apply_events(&events)
        {
            tracing::error!(error = %e, "could not record task events");
        }
        let regions = match self.regions() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the ECS scheduler cannot read the store");
                return;
            }
        };
        let live: HashSet<String> = self.launcher.live_tasks().into_iter().collect();
        for region in regions {
            let cloud = Arc::clone(&self.cloud);
            match cloud.transact(&region, |cx| self.step_region(cx, &live)) {
                Ok(actions) => self.perform(actions),
                Err(e) => tracing::error!(region, error = %e, "ECS scheduler pass failed"),
            }
        }
        self.first_pass = false;
    }

    fn regions(&self) -> Result<Vec<String>, ApiError> {
        self.cloud.store.transaction(|tx| {
            let mut regions: Vec<String> =
                tx.list_all_regions::<Service>()?.into_iter().map(|(r, _)| r).collect();
            regions.extend(tx.list_all_regions::<Task>()?.into_iter().map(|(r, _)| r));
            regions.sort();
            regions.dedup();
            Ok::<_, ApiError>(regions)
        })
    }

    // === runtime events ===

    fn apply_events(&mut self, events: &[TaskEvent]) -> Result<(), ApiError> {
        // Which region each task lives in (tasks are few; one scan per batch).
        let by_id: HashMap<String, (String, String)> = self.cloud.store.transaction(|tx| {
            Ok::<_, ApiError>(
                tx.list_all_regions::<Task>()?
                    .into_iter()
                    .map(|(region, t)| (t.task_id, (region, t.task_arn)))
                    .collect(),
            )
        })?;
        let quick = self.config.quick_exit.as_secs_f64();
        for event in events {
            let Some((region, arn)) = by_id.get(event.task_id()) else {
                tracing::debug!(task = event.task_id(), "event for a task berth does not know");
                continue;
            };
            self.cloud.transact(region, |cx| {
                let Some(mut t) = cx.get::<Task>(arn)? else {
                    return Ok(());
                };
                let before = t.clone();
                apply_event(&mut t, event, epoch_seconds(cx.now), quick);
                if t != before {
                    cx.put(&t)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    // === one region ===

    fn step_region(&mut self, cx: &Ctx<'_>, live: &HashSet<String>) -> Result<Vec<Action>, ApiError> {
        let now = epoch_seconds(cx.now);
        let mut actions = Vec::new();
        let mut services: BTreeMap<String, Service> =
            cx.list::<Service>()?.into_iter().map(|s| (s.service_arn.clone(), s)).collect();
        let originals = services.clone();

        for mut t in cx.list::<Task>()? {
            if t.last_status == TaskStatus::Stopped {
                if t.stopped_at.is_some_and(|at| now - at > STOPPED_TASK_RETENTION_SECONDS) {
                    cx.delete::<Task>(&t.task_arn)?;
                }
                continue;
            }
            let before = t.clone();
            self.step_task(cx, &mut t, live, &mut services, &mut actions, now)?;
            if t != before {
                cx.put(&t)?;
            }
        }

        for s in services.values_mut() {
            if s.status != ServiceStatus::Inactive {
                self.step_service(cx, s, now)?;
            }
        }
        for (arn, s) in &services {
            if originals.get(arn) != Some(s) {
                cx.put(s)?;
            }
        }
        Ok(actions)
    }

    /// Moves one task one step along its lifecycle.
    fn step_task(
        &mut self,
        cx: &Ctx<'_>,
        t: &mut Task,
        live: &HashSet<String>,
        services: &mut BTreeMap<String, Service>,
        actions: &mut Vec<Action>,
        now: f64,
    ) -> Result<(), ApiError> {
        // A launched task the runtime does not know any more is gone.
        if t.last_status.is_launched() {
            if live.contains(&t.task_id) {
                self.missing_since.remove(&t.task_id);
            } else {
                let since = *self.missing_since.entry(t.task_id.clone()).or_insert_with(Instant::now);
                if self.first_pass || since.elapsed() >= self.config.gone_after {
                    let reason = if self.first_pass {
                        "Essential container in task exited: berth restarted and the task's processes were gone"
                    } else {
                        "Essential container in task exited"
                    };
                    t.request_stop("EssentialContainerExited", reason, now);
                    t.advance(TaskStatus::Deprovisioning, now);
                    self.missing_since.remove(&t.task_id);
                }
            }
        }

        match t.last_status {
            TaskStatus::Provisioning if t.wants_running() => {
                let td = cx.get::<TaskDefinition>(&t.task_definition_arn)?;
                match td.map(|td| task::spec(cx.cloud, t, &td)) {
                    Some(Ok(spec)) => {
                        actions.push(Action::Launch {
                            region: cx.region.to_string(),
                            task_arn: t.task_arn.clone(),
                            spec: Box::new(spec),
                        });
                        t.advance(TaskStatus::Pending, now);
                    }
                    Some(Err(e)) => {
                        t.request_stop(
                            "TaskFailedToStart",
                            format!("CannotStartContainerError: {}", e.message),
                            now,
                        );
                        mark_failure(t);
                        t.advance(TaskStatus::Deprovisioning, now);
                    }
                    None => {
                        t.request_stop("TaskFailedToStart", "Unable to describe task definition.", now);
                        mark_failure(t);
                        t.advance(TaskStatus::Deprovisioning, now);
                    }
                }
            }
            TaskStatus::Provisioning => {
                t.advance(TaskStatus::Deprovisioning, now);
            }
            TaskStatus::Pending if !t.wants_running() => {
                actions.push(Action::Stop { task_id: t.task_id.clone() });
                t.advance(TaskStatus::Stopping, now);
            }
            TaskStatus::Activating if t.wants_running() => {
                let regs = t.registrations();
                if regs.is_empty() {
                    t.advance(TaskStatus::Running, now);
                    return Ok(());
                }
                let registered = TargetGroups::register(cx, &regs);
                // Whatever part was registered is cleaned up by the deregistration later.
                for r in &mut t.registrations {
                    r.registered = true;
                }
                let service = t.service_arn.as_ref().and_then(|a| services.get_mut(a));
                match registered {
                    Ok(()) => {
                        if let Some(s) = service {
                            for tg in distinct_target_groups(&regs) {
                                let n = regs.iter().filter(|r| r.target_group_arn == tg).count();
                                s.add_event(
                                    now,
                                    format!(
                                        "(service {}) registered {n} targets in (target-group {tg})",
                                        s.service_name
                                    ),
                                );
                            }
                        }
                        t.advance(TaskStatus::Running, now);
                    }
                    Err(e) => {
                        let tgs = distinct_target_groups(&regs).join(", ");
                        if let Some(s) = service {
                            s.add_event(
                                now,
                                format!(
                                    "(service {}) failed to register targets in (target-group {tgs}) with (error {})",
                                    s.service_name, e.message
                                ),
                            );
                        }
                        t.request_stop(
                            "TaskFailedToStart",
                            format!("Task failed to register in (target-group {tgs}): {}", e.message),
                            now,
                        );
                        mark_failure(t);
                    }
                }
            }
            TaskStatus::Activating | TaskStatus::Running if !t.wants_running() => {
                let regs: Vec<_> = t
                    .registrations()
                    .into_iter()
                    .zip(&t.registrations)
                    .filter(|(_, stored)| stored.registered)
                    .map(|(r, _)| r)
                    .collect();
                if regs.is_empty() {
                    actions.push(Action::Stop { task_id: t.task_id.clone() });
                    t.advance(TaskStatus::Stopping, now);
                } else {
                    deregister(cx, &regs);
                    if let Some(s) = t.service_arn.as_ref().and_then(|a| services.get_mut(a)) {
                        for tg in distinct_target_groups(&regs) {
                            let n = regs.iter().filter(|r| r.target_group_arn == tg).count();
                            s.add_event(
                                now,
                                format!(
                                    "(service {}) deregistered {n} targets in (target-group {tg})",
                                    s.service_name
                                ),
                            );
                        }
                    }
                    t.advance(TaskStatus::Deactivating, now);
                }
            }
            TaskStatus::Deactivating => {
                let mut all_gone = true;
                for (i, r) in t.registrations().iter().enumerate() {
                    if t.registrations.get(i).is_some_and(|s| s.registered) {
                        if TargetGroups::is_registered(cx, r)? {
                            all_gone = false;
                        } else if let Some(s) = t.registrations.get_mut(i) {
                            s.registered = false;
                        }
                    }
                }
                if all_gone {
                    actions.push(Action::Stop { task_id: t.task_id.clone() });
                    t.advance(TaskStatus::Stopping, now);
                }
            }
            TaskStatus::Deprovisioning => {
                let regs: Vec<_> = t
                    .registrations()
                    .into_iter()
                    .zip(&t.registrations)
                    .filter(|(_, stored)| stored.registered)
                    .map(|(r, _)| r)
                    .collect();
                if !regs.is_empty() {
                    deregister(cx, &regs);
                    for r in &mut t.registrations {
                        r.registered = false;
                    }
                }
                network_interface::delete_managed(cx, &t.eni.network_interface_id)?;
                t.advance(TaskStatus::Stopped, now);
                if let Some(s) = t.service_arn.as_ref().and_then(|a| services.get_mut(a)) {
                    self.record_stopped(s, t, now);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A service's bookkeeping when one of its tasks reached STOPPED: failed tasks and back-off.
    fn record_stopped(&self, s: &mut Service, t: &Task, now: f64) {
        if !t.start_failure {
            return;
        }
        if let Some(d) = s.deployments.iter_mut().find(|d| Some(d.id.as_str()) == t.started_by.as_deref()) {
            d.failed_tasks += 1;
            d.updated_at = now;
        }
        s.scheduler.consecutive_failures += 1;
        let n = s.scheduler.consecutive_failures;
        if n >= self.config.backoff_after {
            let exp = (n - self.config.backoff_after).min(16);
            let delay = (self.config.backoff_base.as_secs_f64() * f64::from(1u32 << exp))
                .min(self.config.backoff_cap.as_secs_f64());
            s.scheduler.next_launch_at = Some(now + delay);
            s.add_event(
                now,
                format!(
                    "(service {}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
                    s.service_name
                ),
            );
        }
    }

    // === one service ===

    fn step_service(&mut self, cx: &Ctx<'_>, s: &mut Service, now: f64) -> Result<(), ApiError> {
        let mut tasks: Vec<Task> = cx
            .children::<Task>(&s.cluster_arn)?
            .into_iter()
            .filter(|t| t.service_arn.as_deref() == Some(s.service_arn.as_str()))
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect();
        let name = s.service_name.clone();
        let quick = self.config.quick_exit.as_secs_f64();

        // A task that has run for a while ends a streak of start failures.
        if tasks
            .iter()
            .any(|t| t.last_status == TaskStatus::Running && t.started_at.is_some_and(|at| now - at >= quick))
            && (s.scheduler.consecutive_failures > 0 || s.scheduler.next_launch_at.is_some())
        {
            s.scheduler.consecutive_failures = 0;
            s.scheduler.next_launch_at = None;
        }

        if s.status == ServiceStatus::Draining {
            let reason = format!(
                "Scaling activity initiated by (deployment {})",
                s.primary().map(|d| d.id.clone()).unwrap_or_default()
            );
            let mut stopped = Vec::new();
            for t in tasks.iter_mut().filter(|t| t.wants_running()) {
                if t.request_stop("ServiceSchedulerInitiated", reason.clone(), now) {
                    stopped.push(t.task_id.clone());
                    cx.put(t)?;
                }
            }
            if !stopped.is_empty() {
                s.add_event(
                    now,
                    format!(
                        "(service {name}) has stopped {} running tasks: {}.",
                        stopped.len(),
                        task_list(&stopped)
                    ),
                );
            }
            if tasks.is_empty() {
                s.status = ServiceStatus::Inactive;
            }
            return Ok(());
        }

        if !s.runs_on_fargate() {
            if s.desired_count > 0 && !s.scheduler.placement_blocked {
                s.add_event(
                    now,
                    format!(
                        "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
                    ),
                );
                s.scheduler.placement_blocked = true;
            }
            return Ok(());
        }
        let Some(primary) = s.primary().cloned() else {
            return Ok(());
        };

        let mut changed_tasks = false;
        let desired = s.desired_count.max(0) as usize;
        let max_total = (desired * s.deployment_configuration.maximum_percent.max(0) as usize) / 100;
        let min_healthy =
            (desired * s.deployment_configuration.minimum_healthy_percent.max(0) as usize).div_ceil(100);
        let grace = f64::from(s.health_check_grace_period_seconds.unwrap_or(0));

        // Tasks failing their target group's health checks are replaced (after the grace period).
        let mut stopped = Vec::new();
        for t in tasks.iter_mut().filter(|t| t.wants_running() && t.last_status == TaskStatus::Running) {
            if t.started_at.is_some_and(|at| now - at < grace) {
                continue;
            }
            let failing = t
                .registrations()
                .into_iter()
                .find(|r| load_balancer::health_state(cx, r) == Some(TargetHealthState::Unhealthy));
            if let Some(r) = failing {
                let description = cx
                    .cloud
                    .live
                    .health_of(&r.key())
                    .and_then(|h| h.description)
                    .unwrap_or_else(|| "Health checks failed".into());
                s.add_event(
                    now,
                    format!(
                        "(service {name}) (task {}) (port {}) is unhealthy in (target-group {}) due to (reason {description}).",
                        t.task_id, r.port, r.target_group_arn
                    ),
                );
                t.request_stop(
                    "ServiceSchedulerInitiated",
                    format!("Task failed ELB health checks in (target-group {})", r.target_group_arn),
                    now,
                );
                cx.put(t)?;
                stopped.push(t.task_id.clone());
            }
        }

        let healthy = |cx: &Ctx<'_>, t: &Task| -> bool {
            t.wants_running()
                && t.last_status == TaskStatus::Running
                && t.registrations()
                    .iter()
                    .all(|r| load_balancer::health_state(cx, r) == Some(TargetHealthState::Healthy))
        };

        // 1. The primary deployment runs no more than `desired` tasks.
        let mut primary_tasks: Vec<usize> = (0..tasks.len())
            .filter(|&i| {
                tasks[i].wants_running() && tasks[i].started_by.as_deref() == Some(primary.id.as_str())
            })
            .collect();
        let scale_in_reason = format!("Scaling activity initiated by (deployment {})", primary.id);
        while primary_tasks.len() > desired {
            let Some(pos) = pick_to_stop(&tasks, &primary_tasks) else { break };
            let i = primary_tasks.remove(pos);
            tasks[i].request_stop("ServiceSchedulerInitiated", scale_in_reason.clone(), now);
            cx.put(&tasks[i])?;
            stopped.push(tasks[i].task_id.clone());
        }

        // 2. Older deployments give way while enough healthy tasks remain.
        let mut healthy_count = tasks.iter().filter(|t| healthy(cx, t)).count();
        let mut old: Vec<usize> = (0..tasks.len())
            .filter(|&i| {
                tasks[i].wants_running() && tasks[i].started_by.as_deref() != Some(primary.id.as_str())
            })
            .collect();
        // Unhealthy ones first (stopping them costs nothing), then the oldest.
        old.sort_by(|&a, &b| {
            healthy(cx, &tasks[a])
                .cmp(&healthy(cx, &tasks[b]))
                .then(tasks[a].created_at.total_cmp(&tasks[b].created_at))
        });
        for i in old {
            let was_healthy = healthy(cx, &tasks[i]);
            if was_healthy && healthy_count <= min_healthy {
                continue;
            }
            let reason = format!(
                "Scaling activity initiated by (deployment {})",
                tasks[i].started_by.clone().unwrap_or_default()
            );
            tasks[i].request_stop("ServiceSchedulerInitiated", reason, now);
            cx.put(&tasks[i])?;
            stopped.push(tasks[i].task_id.clone());
            if was_healthy {
                healthy_count -= 1;
            }
        }
        if !stopped.is_empty() {
            changed_tasks = true;
            s.add_event(
                now,
                format!(
                    "(service {name}) has stopped {} running tasks: {}.",
                    stopped.len(),
                    task_list(&stopped)
                ),
            );
        }

        // 3. Start what the primary deployment lacks, within maximumPercent and the back-off.
        let running_total = tasks.iter().filter(|t| t.wants_running()).count();
        let mut to_start =
            desired.saturating_sub(primary_tasks.len()).min(max_total.saturating_sub(running_total));
        if primary.rollout_state == "FAILED" {
            to_start = 0;
        }
        if s.scheduler.next_launch_at.is_some_and(|at| now < at) {
            to_start = 0;
        }
        if to_start > 0 {
            let started = self.start_tasks(cx, s, &primary, &tasks, &primary_tasks, to_start, now)?;
            if !started.is_empty() {
                changed_tasks = true;
                s.add_event(
                    now,
                    format!("(service {name}) has started {} tasks: {}.", started.len(), task_list(&started)),
                );
            }
        }

        // 4. Deployments: drop finished old ones, complete or fail the primary.
        let all: Vec<Task> = cx
            .children::<Task>(&s.cluster_arn)?
            .into_iter()
            .filter(|t| t.service_arn.as_deref() == Some(s.service_arn.as_str()))
            .filter(|t| t.last_status != TaskStatus::Stopped)
            .collect();
        let primary_id = primary.id.clone();
        s.deployments.retain(|d| {
            d.id == primary_id || all.iter().any(|t| t.started_by.as_deref() == Some(d.id.as_str()))
        });
        let primary_running = all
            .iter()
            .filter(|t| t.started_by.as_deref() == Some(primary_id.as_str()) && healthy(cx, t))
            .count();
        let settled = s.deployments.len() == 1
            && primary_running == desired
            && all.iter().all(|t| t.wants_running() && t.last_status == TaskStatus::Running);
        self.check_circuit_breaker(s, now);
        if let Some(p) = s.primary_mut()
            && settled
            && p.rollout_state == "IN_PROGRESS"
        {
            p.rollout_state = "COMPLETED".into();
            p.rollout_state_reason = format!("ECS deployment {} completed.", p.id);
            p.updated_at = now;
            let id = p.id.clone();
            s.add_event(now, format!("(service {name}) (deployment {id}) deployment completed."));
        }
        if settled && !changed_tasks {
            if !s.scheduler.steady {
                s.scheduler.steady = true;
                s.add_event(now, format!("(service {name}) has reached a steady state."));
            }
        } else if s.scheduler.steady {
            s.scheduler.steady = false;
        }
        Ok(())
    }

    /// Stops launching for a deployment whose tasks keep failing, when the circuit breaker is on;
    /// rolls back to the previous task definition when asked to.
    fn check_circuit_breaker(&self, s: &mut Service, now: f64) {
        let breaker = s.deployment_configuration.deployment_circuit_breaker;
        if !breaker.enable {
            return;
        }
        let threshold = (s.desired_count.max(0) / 2).clamp(3, 200);
        let name = s.service_name.clone();
        let Some(p) = s.primary_mut() else { return };
        if p.rollout_state != "IN_PROGRESS" || p.failed_tasks < threshold {
            return;
        }
        p.rollout_state = "FAILED".into();
        p.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.".into();
        p.updated_at = now;
        let failed_id = p.id.clone();
        s.add_event(
            now,
            format!("(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."),
        );
        if breaker.rollback
            && let Some(previous) = s.deployments.get(1).cloned()
        {
            for d in &mut s.deployments {
                d.status = "ACTIVE".into();
            }
            let id = deployment_id();
            s.task_definition = previous.task_definition.clone();
            s.add_event(now, format!("(service {name}) rolling back to deployment {}.", previous.id));
            s.deployments.insert(
                0,
                Deployment {
                    rollout_state_reason: format!("ECS deployment {id} in progress."),
                    id,
                    status: "PRIMARY".into(),
                    desired_count: s.desired_count,
                    failed_tasks: 0,
                    created_at: now,
                    updated_at: now,
                    rollout_state: "IN_PROGRESS".into(),
                    ..previous
                },
            );
            s.scheduler.consecutive_failures = 0;
            s.scheduler.next_launch_at = None;
        }
    }

    /// Starts up to `n` tasks of the primary deployment, spread over its subnets' zones.
    #[allow(clippy::too_many_arguments)]
    fn start_tasks(
        &mut self,
        cx: &Ctx<'_>,
        s: &mut Service,
        primary: &Deployment,
        tasks: &[Task],
        primary_tasks: &[usize],
        n: usize,
        now: f64,
    ) -> Result<Vec<String>, ApiError> {
        let Some(cluster) = cluster::find(cx, Some(&s.cluster_arn))?.filter(|c| c.is_active()) else {
            return Ok(Vec::new());
        };
        let Some(td) = cx.get::<TaskDefinition>(&primary.task_definition)? else {
            return Ok(Vec::new());
        };
        let network = primary.network_configuration.clone().or_else(|| s.network_configuration.clone());
        let subnet_ids: Vec<String> = network.as_ref().map(|n| n.subnets().to_vec()).unwrap_or_default();
        let groups: Vec<String> = network.as_ref().map(|n| n.security_groups().to_vec()).unwrap_or_default();
        // (subnet, zone) in the service's order.
        let mut subnets: Vec<(String, String)> = Vec::new();
        for id in &subnet_ids {
            if let Some(sn) = subnet::find(cx, id)? {
                subnets.push((sn.subnet_id, sn.availability_zone));
            }
        }
        if subnets.is_empty() {
            self.placement_failed(s, now, "none of the service's subnets exist".into());
            return Ok(Vec::new());
        }
        let mut per_subnet: HashMap<String, usize> = HashMap::new();
        for &i in primary_tasks {
            *per_subnet.entry(tasks[i].eni.subnet_id.clone()).or_default() += 1;
        }
        let registrations: Vec<(String, u16)> = primary
            .load_balancers
            .iter()
            .filter_map(|lb| Some((lb.target_group_arn.clone()?, u16::try_from(lb.container_port?).ok()?)))
            .collect();
        let capacity_provider = primary
            .capacity_provider_strategy
            .first()
            .and_then(|c| c.get("capacityProvider"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        let mut started = Vec::new();
        for _ in 0..n {
            let Some(subnet_id) = pick_subnet(&subnets, &per_subnet) else { break };
            let created = task::create(
                cx,
                NewTask {
                    cluster: &cluster,
                    td: &td,
                    subnet_id: &subnet_id,
                    security_groups: &groups,
                    launch_type: primary.launch_type.clone(),
                    capacity_provider_name: capacity_provider.clone(),
                    platform_version: primary.platform_version.clone(),
                    group: s.group(),
                    started_by: Some(primary.id.clone()),
                    service: Some((&s.service_arn, &s.service_name)),
                    overrides: serde_json::json!({
                        "containerOverrides": td.containers()?.iter().map(|c| serde_json::json!({"name": c.name()})).collect::<Vec<_>>(),
                        "inferenceAcceleratorOverrides": [],
                    }),
                    tags: if s.propagate_tags == "SERVICE" {
                        s.tags.clone()
                    } else if s.propagate_tags == "TASK_DEFINITION" {
                        td.tags.clone()
                    } else {
                        Vec::new()
                    },
                    enable_execute_command: s.enable_execute_command,
                    registrations: registrations.clone(),
                },
            );
            match created {
                Ok(t) => {
                    *per_subnet.entry(subnet_id).or_default() += 1;
                    started.push(t.task_id);
                    s.scheduler.placement_blocked = false;
                }
                Err(e) => {
                    self.placement_failed(s, now, e.message);
                    break;
                }
            }
        }
        Ok(started)
    }

    fn placement_failed(&self, s: &mut Service, now: f64, reason: String) {
        if !s.scheduler.placement_blocked {
            s.add_event(
                now,
                format!("(service {}) was unable to place a task. Reason: {reason}.", s.service_name),
            );
            s.scheduler.placement_blocked = true;
        }
    }

    // === runtime actions ===

    fn perform(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Stop { task_id } => self.launcher.stop(&task_id),
                Action::Launch { region, task_arn, spec } => {
                    let task_id = spec.task_id.clone();
                    if let Err(e) = self.launcher.launch(*spec) {
                        tracing::warn!(task = %task_id, error = %e, "the runtime refused a task");
                        let written = self.cloud.transact(&region, |cx| {
                            if let Some(mut t) = cx.get::<Task>(&task_arn)? {
                                let now = epoch_seconds(cx.now);
                                t.request_stop(
                                    "TaskFailedToStart",
                                    format!("CannotStartContainerError: {e}"),
                                    now,
                                );
                                mark_failure(&mut t);
                                t.advance(TaskStatus::Deprovisioning, now);
                                cx.put(&t)?;
                            }
                            Ok(())
                        });
                        if let Err(e) = written {
                            tracing::error!(task = %task_id, error = %e, "could not record a refused launch");
                        }
                    }
                }
            }
        }
    }
}

/// Deregisters targets; a failure (the target group is gone or refuses) is logged, not fatal:
/// the task goes on stopping.
fn deregister(cx: &Ctx<'_>, regs: &[load_balancer::Registration]) {
    if let Err(e) = TargetGroups::deregister(cx, regs) {
        tracing::warn!(error = %e, "could not deregister a task's targets");
    }
}

fn mark_failure(t: &mut Task) {
    t.start_failure = true;
}

fn distinct_target_groups(regs: &[load_balancer::Registration]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in regs {
        if !out.contains(&r.target_group_arn) {
            out.push(r.target_group_arn.clone());
        }
    }
    out
}

/// The subnet for the next task: in the zone with the fewest tasks, then the subnet with the
/// fewest, then the first in the service's order.
fn pick_subnet(subnets: &[(String, String)], per_subnet: &HashMap<String, usize>) -> Option<String> {
    let mut per_zone: HashMap<&str, usize> = HashMap::new();
    for (id, zone) in subnets {
        *per_zone.entry(zone.as_str()).or_default() += per_subnet.get(id).copied().unwrap_or(0);
    }
    subnets
        .iter()
        .enumerate()
        .min_by_key(|(i, (id, zone))| {
            (per_zone.get(zone.as_str()).copied().unwrap_or(0), per_subnet.get(id).copied().unwrap_or(0), *i)
        })
        .map(|(_, (id, _))| id.clone())
}

/// Which of `candidates` (indexes into `tasks`) to stop when scaling in: one not running yet,
/// else one in the zone with the most candidates, the newest there. Returns a position in
/// `candidates`.
fn pick_to_stop(tasks: &[Task], candidates: &[usize]) -> Option<usize> {
    if let Some(pos) = candidates.iter().position(|&i| tasks[i].last_status != TaskStatus::Running) {
        return Some(pos);
    }
    let mut per_zone: HashMap<&str, usize> = HashMap::new();
    for &i in candidates {
        *per_zone.entry(tasks[i].availability_zone.as_str()).or_default() += 1;
    }
    candidates
        .iter()
        .enumerate()
        .max_by(|(_, a), (_, b)| {
            let (a, b) = (**a, **b);
            let za = per_zone.get(tasks[a].availability_zone.as_str()).copied().unwrap_or(0);
            let zb = per_zone.get(tasks[b].availability_zone.as_str()).copied().unwrap_or(0);
            za.cmp(&zb).then(tasks[a].created_at.total_cmp(&tasks[b].created_at))
        })
        .map(|(pos, _)| pos)
}

/// Records what the runtime reported about one of a task's containers.
fn apply_event(t: &mut Task, event: &TaskEvent, now: f64, quick_exit: f64) {
    match event {
        TaskEvent::ContainerStarted { container, pid, .. } => {
            if let Some(c) = t.containers.iter_mut().find(|c| &c.name == container) {
                c.last_status = "RUNNING".into();
                c.pid = Some(*pid);
                c.started_at = Some(now);
            }
            let all_up = t
                .containers
                .iter()
                .all(|c| c.last_status == "RUNNING" || (c.last_status == "STOPPED" && !c.essential));
            if all_up && t.wants_running() && t.last_status == TaskStatus::Pending {
                t.advance(TaskStatus::Activating, now);
            }
        }
        TaskEvent::ContainerFailedToStart { container, reason, .. } => {
            let mut essential = false;
            if let Some(c) = t.containers.iter_mut().find(|c| &c.name == container) {
                c.last_status = "STOPPED".into();
                c.reason = Some(reason.clone());
                c.finished_at = Some(now);
                essential = c.essential;
            }
            if essential {
                if t.request_stop("TaskFailedToStart", reason.clone(), now) {
                    t.start_failure = true;
                }
                if t.last_status < TaskStatus::Stopping && t.last_status != TaskStatus::Deactivating {
                    t.advance(TaskStatus::Stopping, now);
                }
            } else {
                let all_up = t
                    .containers
                    .iter()
                    .all(|c| c.last_status == "RUNNING" || (c.last_status == "STOPPED" && !c.essential));
                if all_up && t.wants_running() && t.last_status == TaskStatus::Pending {
                    t.advance(TaskStatus::Activating, now);
                }
            }
        }
        TaskEvent::ContainerExited { container, exit_code, signal, .. } => {
            let mut essential = false;
            if let Some(c) = t.containers.iter_mut().find(|c| &c.name == container) {
                c.last_status = "STOPPED".into();
                c.exit_code = exit_code.or(signal.map(|s| 128 + s));
                c.finished_at = Some(now);
                essential = c.essential;
            }
            if essential && t.wants_running() {
                let quick = t.started_at.is_none_or(|at| now - at < quick_exit);
                t.request_stop("EssentialContainerExited", "Essential container in task exited", now);
                t.start_failure = quick;
            }
        }
        TaskEvent::TaskGone { .. } => {
            if t.wants_running() {
                t.request_stop("EssentialContainerExited", "Essential container in task exited", now);
            }
            t.advance(TaskStatus::Deprovisioning, now);
        }
    }
}

#[cfg(test)]
mod tests;
