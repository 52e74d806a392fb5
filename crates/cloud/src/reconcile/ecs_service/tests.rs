//! The scheduler against a fake launcher: every pass is driven by hand, so each test sees each
//! step of a task's life and can check invariants between them.

use std::collections::{BTreeSet, HashSet};

use model::task::LaunchError;
use serde_json::{Value, json};

use super::*;
use crate::Config;
use crate::api::Input;
use crate::edge::{Call, ServiceId};
use crate::protocol::{Protocol, form};

const REGION: &str = "us-east-1";

/// Runs tasks "instantly": launch reports every container started (or failed, for images in
/// `failing`), stop reports them exited by SIGTERM.
#[derive(Default)]
struct FakeState {
    live: BTreeSet<String>,
    launched: Vec<TaskSpec>,
    failing: HashSet<String>,
}

struct FakeLauncher {
    state: Mutex<FakeState>,
    events: mpsc::UnboundedSender<TaskEvent>,
}

impl FakeLauncher {
    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn gone(&self, task_id: &str, signal: i32) {
        let spec = self.state().launched.iter().find(|s| s.task_id == task_id).cloned().unwrap();
        self.state().live.remove(task_id);
        for c in &spec.containers {
            let _ = self.events.send(TaskEvent::ContainerExited {
                task_id: task_id.into(),
                container: c.name.clone(),
                exit_code: None,
                signal: Some(signal),
            });
        }
        let _ = self.events.send(TaskEvent::TaskGone { task_id: task_id.into() });
    }

    /// `kill -9` of the task's process.
    fn kill(&self, task_id: &str) {
        self.gone(task_id, 9);
    }
}

impl TaskLauncher for FakeLauncher {
    fn launch(&self, spec: TaskSpec) -> Result<(), LaunchError> {
        let failing = spec.containers.iter().any(|c| self.state().failing.contains(&c.image));
        self.state().launched.push(spec.clone());
        if failing {
            let _ = self.events.send(TaskEvent::ContainerFailedToStart {
                task_id: spec.task_id.clone(),
                container: spec.containers[0].name.clone(),
                reason:
                    "CannotPullContainerError: pull image manifest has been retried 1 time(s): no such image"
                        .into(),
            });
            let _ = self.events.send(TaskEvent::TaskGone { task_id: spec.task_id });
            return Ok(());
        }
        self.state().live.insert(spec.task_id.clone());
        for (i, c) in spec.containers.iter().enumerate() {
            let _ = self.events.send(TaskEvent::ContainerStarted {
                task_id: spec.task_id.clone(),
                container: c.name.clone(),
                pid: 1000 + i as u32,
            });
        }
        Ok(())
    }

    fn stop(&self, task_id: &str) {
        if self.state().live.contains(task_id) {
            self.gone(task_id, 15);
        }
    }

    fn live_tasks(&self) -> Vec<String> {
        self.state().live.iter().cloned().collect()
    }
}

struct World {
    _dir: tempfile::TempDir,
    cloud: Arc<Cloud>,
    launcher: Arc<FakeLauncher>,
    events: mpsc::UnboundedReceiver<TaskEvent>,
    scheduler: Scheduler,
    vpc: String,
    subnets: Vec<String>,
    sg: String,
}

fn call(cloud: &Cloud, service: ServiceId, operation: &str, input: Input) -> Result<Value, ApiError> {
    crate::edge::dispatch(cloud, &Call { service, operation: operation.into(), region: REGION.into(), input })
}

fn ec2(cloud: &Cloud, query: &str) -> Value {
    let action = query.split('&').next().unwrap().trim_start_matches("Action=").to_string();
    let tree = form::parse(format!("{query}&Version=2016-11-15").as_bytes()).unwrap();
    call(cloud, ServiceId::Ec2, &action, Input::form(Protocol::Ec2Query, tree)).unwrap()
}

fn elbv2(cloud: &Cloud, query: &str) -> Value {
    let action = query.split('&').next().unwrap().trim_start_matches("Action=").to_string();
    let tree = form::parse(format!("{query}&Version=2015-12-01").as_bytes()).unwrap();
    call(cloud, ServiceId::Elbv2, &action, Input::form(Protocol::Query, tree)).unwrap()
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let cloud = Arc::new(
            Cloud::open(Config {
                default_region: REGION.into(),
                data_dir: dir.path().to_path_buf(),
                endpoint: "http://127.0.0.1:4566".into(),
                fast: true,
            })
            .unwrap(),
        );
        let (tx, events) = mpsc::unbounded_channel();
        let launcher = Arc::new(FakeLauncher { state: Mutex::new(FakeState::default()), events: tx });
        let scheduler = Scheduler::new(Arc::clone(&cloud), launcher.clone(), SchedulerConfig::default());
        let vpc = ec2(&cloud, "Action=CreateVpc&CidrBlock=10.0.0.0/16");
        let vpc_id = vpc["vpc"]["vpcId"].as_str().unwrap().to_string();
        let mut subnets = Vec::new();
        for (cidr, az) in [("10.0.2.0/24", "us-east-1a"), ("10.0.3.0/24", "us-east-1b")] {
            let s = ec2(
                &cloud,
                &format!("Action=CreateSubnet&VpcId={vpc_id}&CidrBlock={cidr}&AvailabilityZone={az}"),
            );
            subnets.push(s["subnet"]["subnetId"].as_str().unwrap().to_string());
        }
        let sg = ec2(
            &cloud,
            &format!("Action=CreateSecurityGroup&VpcId={vpc_id}&GroupName=private&GroupDescription=d"),
        );
        let sg = sg["groupId"].as_str().unwrap().to_string();
        let w = World { _dir: dir, cloud, launcher, events, scheduler, vpc: vpc_id, subnets, sg };
        w.ecs("CreateCluster", json!({"clusterName": "ecs-cluster"})).unwrap();
        w.register("product-svc-td", "phamtrongnghia1105/product-svc");
        w
    }

    fn ecs(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        call(&self.cloud, ServiceId::Ecs, op, Input::json(body))
    }

    fn register(&self, family: &str, image: &str) -> Value {
        self.ecs(
            "RegisterTaskDefinition",
            json!({"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                   "cpu": "256", "memory": "1024",
                   "containerDefinitions": [{"name": "product-svc", "image": image, "essential": true,
                        "portMappings": [{"containerPort": 3000}],
                        "environment": [{"name": "GREETING", "value": "hi"}]}]}),
        )
        .unwrap()
    }

    fn create_service(&self, desired: i32, extra: Value) -> Value {
        let mut body = json!({"cluster": "ecs-cluster", "serviceName": "product-svc",
            "taskDefinition": "product-svc-td", "desiredCount": desired, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": self.subnets, "securityGroups": [self.sg]}}});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.ecs("CreateService", body).unwrap()
    }

    /// One scheduler pass over whatever the launcher reported since the last one.
    fn pass(&mut self) {
        let mut batch = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            batch.push(e);
        }
        self.scheduler.pass(batch);
    }

    /// Passes until nothing changes (bounded).
    fn settle(&mut self) {
        let changes = self.cloud.store.subscribe();
        for _ in 0..50 {
            let before = *changes.borrow();
            self.pass();
            if *changes.borrow() == before && self.events.is_empty() {
                return;
            }
        }
        panic!("the scheduler did not settle");
    }

    fn tasks(&self) -> Vec<Task> {
        self.cloud.transact(REGION, |cx| Ok(cx.list::<Task>()?)).unwrap()
    }

    fn running(&self) -> Vec<Task> {
        self.tasks()
            .into_iter()
            .filter(|t| t.last_status == TaskStatus::Running && t.wants_running())
            .collect()
    }

    fn service(&self) -> Value {
        let out = self
            .ecs("DescribeServices", json!({"cluster": "ecs-cluster", "services": ["product-svc"]}))
            .unwrap();
        out["services"][0].clone()
    }

    fn events_text(&self) -> String {
        self.service()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn enis(&self) -> usize {
        self.cloud
            .transact(REGION, |cx| Ok(cx.list::<crate::ec2::network_interface::NetworkInterface>()?.len()))
            .unwrap()
    }
}

#[test]
fn a_service_runs_its_desired_count_spread_over_zones() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    // First pass: two tasks PROVISIONING with their ENIs.
    w.pass();
    let tasks = w.tasks();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.last_status == TaskStatus::Provisioning));
    assert_eq!(w.enis(), 2);
    w.settle();
    let running = w.running();
    assert_eq!(running.len(), 2);
    let zones: HashSet<&str> = running.iter().map(|t| t.availability_zone.as_str()).collect();
    assert_eq!(zones.len(), 2, "one task per zone");
    let ips: HashSet<&str> = running.iter().map(|t| t.eni.private_ipv4_address.as_str()).collect();
    assert!(ips.contains("10.0.2.4") && ips.contains("10.0.3.4"), "{ips:?}");

    let svc = w.service();
    assert_eq!(svc["runningCount"], 2);
    assert_eq!(svc["pendingCount"], 0);
    assert_eq!(svc["deployments"][0]["rolloutState"], "COMPLETED");
    let events = w.events_text();
    assert!(events.contains("(service product-svc) has started 2 tasks: (task "), "{events}");
    assert!(events.contains("(service product-svc) has reached a steady state."), "{events}");

    // What the runtime was asked to run.
    let launched = w.launcher.state().launched.clone();
    let spec = launched.iter().find(|s| s.task_id == running[0].task_id).unwrap();
    let env = &spec.containers[0].environment;
    assert_eq!(env["GREETING"], "hi");
    assert_eq!(env["HOSTNAME"], running[0].eni.private_dns_name);
    assert_eq!(env["BERTH_BIND_ADDR"], spec.host_ip.to_string());
    assert!(spec.host_ip.to_string().starts_with("127.0."));
    assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_ECS_FARGATE");
    assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566");
    assert_eq!(
        env["ECS_CONTAINER_METADATA_URI_V4"],
        format!("http://127.0.0.1:4566/_berth/task-metadata/v4/{}/product-svc", spec.task_id)
    );
    assert_eq!(spec.containers[0].stop_timeout, Duration::from_secs(30));
    assert!(spec.log_dir.ends_with(format!("tasks/{}", spec.task_id)));

    // A quiet system writes nothing.
    let changes = w.cloud.store.subscribe();
    let before = *changes.borrow();
    w.pass();
    w.pass();
    assert_eq!(*changes.borrow(), before);
}

#[test]
fn a_killed_task_is_replaced() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    w.settle();
    let victim = w.running()[0].clone();
    w.launcher.kill(&victim.task_id);
    w.settle();
    let old = w.tasks().into_iter().find(|t| t.task_id == victim.task_id).unwrap();
    assert_eq!(old.last_status, TaskStatus::Stopped);
    assert_eq!(old.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(old.stopped_reason.as_deref(), Some("Essential container in task exited"));
    assert_eq!(old.containers[0].exit_code, Some(137));
    assert_eq!(old.eni.status, "DELETED");
    let running = w.running();
    assert_eq!(running.len(), 2);
    assert!(running.iter().all(|t| t.task_id != victim.task_id));
    // The replacement went to the zone that lost a task, reusing its address.
    assert!(running.iter().any(|t| t.availability_zone == victim.availability_zone));
    assert_eq!(w.enis(), 2);
}

#[test]
fn desired_count_changes_scale_out_and_in() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    w.settle();
    w.ecs("UpdateService", json!({"cluster": "ecs-cluster", "service": "product-svc", "desiredCount": 3}))
        .unwrap();
    w.settle();
    assert_eq!(w.running().len(), 3);
    assert_eq!(w.service()["deployments"].as_array().unwrap().len(), 1);
    w.ecs("UpdateService", json!({"cluster": "ecs-cluster", "service": "product-svc", "desiredCount": 1}))
        .unwrap();
    w.settle();
    assert_eq!(w.running().len(), 1);
    let stopped: Vec<Task> = w.tasks().into_iter().filter(|t| t.last_status == TaskStatus::Stopped).collect();
    assert_eq!(stopped.len(), 2);
    assert!(stopped.iter().all(|t| t.stop_code.as_deref() == Some("ServiceSchedulerInitiated")));
    assert!(
        stopped[0]
            .stopped_reason
            .as_deref()
            .unwrap()
            .starts_with("Scaling activity initiated by (deployment ecs-svc/")
    );
    assert!(w.events_text().contains("has stopped 2 running tasks"));
    assert_eq!(w.enis(), 1);
}

#[test]
fn a_new_revision_rolls_over_without_dropping_below_minimum_healthy() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    w.settle();
    let old_ids: HashSet<String> = w.running().into_iter().map(|t| t.task_id).collect();
    w.register("product-svc-td", "phamtrongnghia1105/product-svc:v2");
    let out = w
        .ecs(
            "UpdateService",
            json!({"cluster": "ecs-cluster", "service": "product-svc", "taskDefinition": "product-svc-td:2"}),
        )
        .unwrap();
    let deployments = out["service"]["deployments"].as_array().unwrap().clone();
    assert_eq!(deployments.len(), 2);
    assert_eq!(deployments[0]["status"], "PRIMARY");
    assert_eq!(deployments[0]["rolloutState"], "IN_PROGRESS");
    assert_eq!(deployments[1]["status"], "ACTIVE");
    let mut max_seen = 0;
    for _ in 0..40 {
        w.pass();
        let wanted = w.tasks().into_iter().filter(|t| t.wants_running()).count();
        max_seen = max_seen.max(wanted);
        assert!(w.running().len() >= 2, "minimumHealthyPercent 100 keeps 2 tasks running");
        assert!(wanted <= 4, "maximumPercent 200 caps the service at 4 tasks");
    }
    assert_eq!(max_seen, 4);
    let running = w.running();
    assert_eq!(running.len(), 2);
    assert!(running.iter().all(|t| !old_ids.contains(&t.task_id)));
    assert!(running.iter().all(|t| t.task_definition_arn.ends_with("product-svc-td:2")));
    let svc = w.service();
    assert_eq!(svc["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(svc["deployments"][0]["rolloutState"], "COMPLETED");
    assert!(w.events_text().contains("deployment completed."));
}

#[test]
fn tasks_that_cannot_start_back_off() {
    let mut w = World::new();
    w.launcher.state().failing.insert("phamtrongnghia1105/product-svc".into());
    w.create_service(1, json!({}));
    for _ in 0..30 {
        w.pass();
    }
    let stopped: Vec<Task> = w.tasks().into_iter().filter(|t| t.last_status == TaskStatus::Stopped).collect();
    // Three attempts, then the back-off holds launches for a while.
    assert_eq!(stopped.len(), 3, "{:?}", stopped.iter().map(|t| t.last_status).collect::<Vec<_>>());
    assert_eq!(stopped[0].stop_code.as_deref(), Some("TaskFailedToStart"));
    assert!(stopped[0].stopped_reason.as_deref().unwrap().starts_with("CannotPullContainerError"));
    assert!(w.events_text().contains(
        "(service product-svc) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    ));
    assert_eq!(w.service()["deployments"][0]["failedTasks"], 3);
    assert_eq!(w.enis(), 0);
}

#[test]
fn a_deleted_service_drains_to_inactive() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    w.settle();
    let err =
        w.ecs("DeleteService", json!({"cluster": "ecs-cluster", "service": "product-svc"})).unwrap_err();
    assert_eq!(err.code, "InvalidParameterException");
    assert_eq!(err.message, "The service cannot be stopped while it is scaled above 0.");
    w.ecs("UpdateService", json!({"cluster": "ecs-cluster", "service": "product-svc", "desiredCount": 0}))
        .unwrap();
    let out = w.ecs("DeleteService", json!({"cluster": "ecs-cluster", "service": "product-svc"})).unwrap();
    assert_eq!(out["service"]["status"], "DRAINING");
    let err = w
        .ecs("UpdateService", json!({"cluster": "ecs-cluster", "service": "product-svc", "desiredCount": 1}))
        .unwrap_err();
    assert_eq!(err.code, "ServiceNotActiveException");
    w.settle();
    assert_eq!(w.service()["status"], "INACTIVE");
    assert!(w.tasks().iter().all(|t| t.last_status == TaskStatus::Stopped));
    assert_eq!(w.enis(), 0);
    assert!(w.launcher.state().live.is_empty());
    w.ecs("DeleteCluster", json!({"cluster": "ecs-cluster"})).unwrap();
}

#[test]
fn a_restarted_berth_replaces_tasks_whose_processes_are_gone() {
    let mut w = World::new();
    w.create_service(2, json!({}));
    w.settle();
    let old: HashSet<String> = w.running().into_iter().map(|t| t.task_id).collect();
    // A new runtime knows no task (it killed what the old berth left).
    let (tx, rx) = mpsc::unbounded_channel();
    let fresh = Arc::new(FakeLauncher { state: Mutex::new(FakeState::default()), events: tx });
    w.launcher = fresh.clone();
    w.events = rx;
    w.scheduler = Scheduler::new(Arc::clone(&w.cloud), fresh, SchedulerConfig::default());
    w.settle();
    let tasks = w.tasks();
    for t in tasks.iter().filter(|t| old.contains(&t.task_id)) {
        assert_eq!(t.last_status, TaskStatus::Stopped);
        assert!(t.stopped_reason.as_deref().unwrap().contains("berth restarted"));
    }
    let running = w.running();
    assert_eq!(running.len(), 2);
    assert!(running.iter().all(|t| !old.contains(&t.task_id)));
}

#[test]
fn run_task_and_stop_task() {
    let mut w = World::new();
    let out = w
        .ecs(
            "RunTask",
            json!({"cluster": "ecs-cluster", "taskDefinition": "product-svc-td", "launchType": "FARGATE", "count": 2,
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": w.subnets}}}),
        )
        .unwrap();
    let tasks = out["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["lastStatus"], "PROVISIONING");
    assert_eq!(tasks[0]["group"], "family:product-svc-td");
    assert_eq!(tasks[0]["attachments"][0]["status"], "PRECREATED");
    w.settle();
    assert_eq!(w.running().len(), 2);
    let arn = tasks[0]["taskArn"].as_str().unwrap();
    let out = w.ecs("StopTask", json!({"cluster": "ecs-cluster", "task": arn, "reason": "done"})).unwrap();
    assert_eq!(out["task"]["desiredStatus"], "STOPPED");
    w.settle();
    let out = w.ecs("DescribeTasks", json!({"cluster": "ecs-cluster", "tasks": [arn]})).unwrap();
    let t = &out["tasks"][0];
    assert_eq!(t["lastStatus"], "STOPPED");
    assert_eq!(t["stopCode"], "UserInitiated");
    assert_eq!(t["stoppedReason"], "done");
    assert_eq!(t["containers"][0]["exitCode"], 143);
    // A standalone task is not replaced.
    assert_eq!(w.running().len(), 1);
    let err = w.ecs("DeleteCluster", json!({"cluster": "ecs-cluster"})).unwrap_err();
    assert_eq!(err.code, "ClusterContainsTasksException");
}

#[test]
fn load_balanced_tasks_register_wait_for_health_and_drain_before_stopping() {
    use model::health::{TargetHealth, TargetHealthReason, TargetKey};

    use crate::elbv2::target_group;

    let mut w = World::new();
    let tg = elbv2(
        &w.cloud,
        &format!("Action=CreateTargetGroup&Name=tg&Protocol=HTTP&Port=3000&VpcId={}&TargetType=ip", w.vpc),
    )["TargetGroups"][0]["TargetGroupArn"]
        .as_str()
        .unwrap()
        .to_string();
    let lb = elbv2(
        &w.cloud,
        &format!(
            "Action=CreateLoadBalancer&Name=alb&Subnets.member.1={}&Subnets.member.2={}",
            w.subnets[0], w.subnets[1]
        ),
    )["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    elbv2(
        &w.cloud,
        &format!(
            "Action=CreateListener&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn={tg}"
        ),
    );
    w.create_service(
        2,
        json!({"loadBalancers": [{"targetGroupArn": tg, "containerName": "product-svc", "containerPort": 3000}]}),
    );
    w.settle();
    let registered = |w: &World| -> Vec<(String, u16, bool)> {
        w.cloud
            .transact(REGION, |cx| {
                Ok(target_group::load(cx, &tg)?
                    .targets
                    .iter()
                    .map(|r| (r.id.clone(), r.port, r.deregistered_ms.is_some()))
                    .collect())
            })
            .unwrap()
    };
    let running = w.running();
    assert_eq!(running.len(), 2);
    let mut got = registered(&w);
    got.sort();
    let mut want: Vec<(String, u16, bool)> =
        running.iter().map(|t| (t.eni.private_ipv4_address.clone(), 3000, false)).collect();
    want.sort();
    assert_eq!(got, want, "each task's IP:containerPort is registered");
    assert!(
        w.events_text()
            .contains(&format!("(service product-svc) registered 1 targets in (target-group {tg})"))
    );
    // Not healthy in the target group yet: the deployment is not done.
    assert_eq!(w.service()["deployments"][0]["rolloutState"], "IN_PROGRESS");
    let key = |t: &Task| TargetKey {
        target_group_arn: tg.clone(),
        id: t.eni.private_ipv4_address.clone(),
        port: 3000,
    };
    for t in &running {
        w.cloud.live.record_health(key(t), TargetHealth::healthy());
    }
    w.settle();
    assert_eq!(w.service()["deployments"][0]["rolloutState"], "COMPLETED");

    // Scale in: the task leaving is deregistered and keeps running until it has drained.
    w.ecs("UpdateService", json!({"cluster": "ecs-cluster", "service": "product-svc", "desiredCount": 1}))
        .unwrap();
    w.settle();
    let leaving: Vec<Task> =
        w.tasks().into_iter().filter(|t| t.last_status == TaskStatus::Deactivating).collect();
    assert_eq!(leaving.len(), 1);
    assert_eq!(w.launcher.state().live.len(), 2, "not stopped before draining finished");
    assert!(
        registered(&w)
            .iter()
            .any(|(ip, _, draining)| *ip == leaving[0].eni.private_ipv4_address && *draining)
    );
    w.cloud
        .transact(REGION, |cx| {
            target_group::finish_draining(cx, &tg, &leaving[0].eni.private_ipv4_address, 3000)
        })
        .unwrap();
    w.settle();
    assert_eq!(w.launcher.state().live.len(), 1);
    assert!(
        w.events_text()
            .contains(&format!("(service product-svc) deregistered 1 targets in (target-group {tg})"))
    );

    // Failing the target group's health checks gets a task replaced.
    let remaining = w.running().remove(0);
    w.cloud.live.record_health(
        key(&remaining),
        TargetHealth {
            state: model::health::TargetHealthState::Unhealthy,
            reason: Some(TargetHealthReason::ResponseCodeMismatch),
            description: Some("Health checks failed with these codes: [500]".into()),
        },
    );
    w.pass();
    let t = w.tasks().into_iter().find(|t| t.task_id == remaining.task_id).unwrap();
    assert_eq!(t.desired_status, "STOPPED");
    assert_eq!(t.stop_code.as_deref(), Some("ServiceSchedulerInitiated"));
    assert_eq!(t.stopped_reason, Some(format!("Task failed ELB health checks in (target-group {tg})")));
    assert!(w.events_text().contains("due to (reason Health checks failed with these codes: [500])."));
}

#[test]
fn a_task_role_gives_the_task_container_credentials() {
    let mut w = World::new();
    w.ecs(
        "RegisterTaskDefinition",
        json!({"family": "with-role", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "256", "memory": "512", "taskRoleArn": "arn:aws:iam::000000000000:role/app",
               "containerDefinitions": [{"name": "app", "image": "product-svc"}]}),
    )
    .unwrap();
    let out = w
        .ecs(
            "RunTask",
            json!({"cluster": "ecs-cluster", "taskDefinition": "with-role", "launchType": "FARGATE",
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": [w.subnets[0]]}}}),
        )
        .unwrap();
    let arn = out["tasks"][0]["taskArn"].as_str().unwrap().to_string();
    w.settle();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let spec = w.launcher.state().launched.iter().find(|s| s.task_id == id).cloned().unwrap();
    assert_eq!(
        spec.containers[0].environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
        format!("http://127.0.0.1:4566/_berth/task-credentials/{id}")
    );
    let creds = crate::ecs::task::credentials(&w.cloud, &id).unwrap().unwrap();
    assert_eq!(creds["RoleArn"], "arn:aws:iam::000000000000:role/app");
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    // An unknown task gets nothing.
    assert!(crate::ecs::task::credentials(&w.cloud, "0123456789abcdef0123456789abcdef").unwrap().is_none());
}
