//! An ECS service behind a real ALB listener, through the AWS CLI, with `--fast` health checks:
//! CreateService refuses a target group no listener uses yet; the scheduler registers each task's
//! IP:3000 when it starts; a new revision rolls over under steady traffic without losing a
//! request (new tasks healthy before old ones are deregistered and drained); a task failing its
//! target group's health checks is replaced; deleting the service deregisters every target.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::ecs_support::*;
use serde_json::{Value, json};
use testkit::{Berth, assert_eventually, http_get, patience, require_tool, wait_for};

const CLUSTER: &str = "web";
const SERVICE: &str = "product-svc";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

fn register(berth: &Berth, greeting: &str) -> String {
    let containers = json!([{"name": "product-svc", "image": "product-svc", "essential": true,
        "portMappings": [{"containerPort": 3000}], "environment": [{"name": "GREETING", "value": greeting}]}]);
    s(&berth
        .aws(&[
            "ecs",
            "register-task-definition",
            "--family",
            "product-svc-td",
            "--network-mode",
            "awsvpc",
            "--requires-compatibilities",
            "FARGATE",
            "--cpu",
            "256",
            "--memory",
            "512",
            "--container-definitions",
            &containers.to_string(),
        ])
        .json()["taskDefinition"]["taskDefinitionArn"])
}

/// `(ip, state)` of every registration of the target group.
fn target_health(berth: &Berth, tg: &str) -> Vec<(String, String)> {
    berth.aws(&["elbv2", "describe-target-health", "--target-group-arn", tg]).json()["TargetHealthDescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (s(&d["Target"]["Id"]), s(&d["TargetHealth"]["State"])))
        .collect()
}

#[test]
fn a_service_behind_an_alb_registers_rolls_without_loss_and_replaces_unhealthy_tasks() {
    if !require_tool("aws") {
        return;
    }
    let args = image_args();
    let mut refs: Vec<&str> = args.iter().map(String::as_str).collect();
    refs.extend(["--fast", "--listener-ports", "ephemeral"]);
    let berth = Berth::start_with(BERTH, &refs);
    let (vpc, subnets) = network(&berth, 46);
    let sg = s(&berth
        .aws(&[
            "ec2",
            "create-security-group",
            "--group-name",
            "web",
            "--description",
            "web",
            "--vpc-id",
            &vpc,
        ])
        .json()["GroupId"]);
    berth.aws(&["ecs", "create-cluster", "--cluster-name", CLUSTER]).json();
    let rev1 = register(&berth, "v1");
    let tg = s(&berth
        .aws(&[
            "elbv2",
            "create-target-group",
            "--name",
            "product-svc-tg",
            "--protocol",
            "HTTP",
            "--port",
            "3000",
            "--vpc-id",
            &vpc,
            "--target-type",
            "ip",
            "--health-check-path",
            "/health",
            "--health-check-interval-seconds",
            "5",
            "--health-check-timeout-seconds",
            "2",
            "--healthy-threshold-count",
            "2",
            "--unhealthy-threshold-count",
            "2",
        ])
        .json()["TargetGroups"][0]["TargetGroupArn"]);
    let network_config =
        json!({"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}}).to_string();
    let lb_arg = format!("targetGroupArn={tg},containerName=product-svc,containerPort=3000");
    let create = || {
        berth.aws(&[
            "ecs",
            "create-service",
            "--cluster",
            CLUSTER,
            "--service-name",
            SERVICE,
            "--task-definition",
            "product-svc-td",
            "--desired-count",
            "2",
            "--launch-type",
            "FARGATE",
            "--network-configuration",
            &network_config,
            "--load-balancers",
            &lb_arg,
        ])
    };

    // No listener forwards to the target group yet.
    let err = create();
    assert!(err.expect_error("InvalidParameterException").contains(&format!(
        "The target group with targetGroupArn {tg} does not have an associated load balancer."
    )));

    let lb = berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "web-alb",
            "--subnets",
            &subnets[0],
            &subnets[1],
            "--security-groups",
            &sg,
        ])
        .json()["LoadBalancers"][0]
        .clone();
    let lb_arn = s(&lb["LoadBalancerArn"]);
    let listener = s(&berth
        .aws(&[
            "elbv2",
            "create-listener",
            "--load-balancer-arn",
            &lb_arn,
            "--protocol",
            "HTTP",
            "--port",
            "80",
            "--default-actions",
            "Type=fixed-response,FixedResponseConfig={StatusCode=404,ContentType=text/plain,MessageBody=Not Found}",
        ])
        .json()["Listeners"][0]["ListenerArn"]);
    berth
        .aws(&[
            "elbv2",
            "create-rule",
            "--listener-arn",
            &listener,
            "--priority",
            "1",
            "--conditions",
            "Field=path-pattern,Values=/product-svc*",
            "--actions",
            &format!("Type=forward,TargetGroupArn={tg}"),
        ])
        .json();

    let svc = create().json();
    assert_eq!(svc["service"]["healthCheckGracePeriodSeconds"], 0);
    assert_eq!(svc["service"]["loadBalancers"][0]["containerPort"], 3000);

    // Each task is registered with its IP and the container port, then turns healthy.
    let running = wait_running(&berth, CLUSTER, 2, Duration::from_secs(20), |_| true);
    let ips: HashSet<String> = running.iter().map(task_ip).collect();
    let all_healthy = |ips: &HashSet<String>| {
        let h = target_health(&berth, &tg);
        h.len() == 2 && h.iter().all(|(ip, state)| ips.contains(ip) && state == "healthy")
    };
    assert_eventually!(all_healthy(&ips), Duration::from_secs(30));
    let ev = events(&berth, CLUSTER, SERVICE);
    assert!(ev.contains(&format!("(service {SERVICE}) registered 1 targets in (target-group {tg})")), "{ev}");

    // Where the listener really is.
    let address = wait_for(patience(Duration::from_secs(15)), || {
        let (_, body) = berth.get("/_berth/load-balancers");
        let v: Value = serde_json::from_str(&body).ok()?;
        let lb = v["loadBalancers"].as_array()?.iter().find(|l| l["arn"] == lb_arn.as_str())?.clone();
        lb["listeners"][0]["address"].as_str().map(str::to_string)
    })
    .expect("the listener has an address");
    let url = format!("http://{address}/product-svc/info");
    let (code, body) = http_get(&url).unwrap();
    assert_eq!(code, 200, "{body}");

    // Steady traffic while a new revision rolls over: no request may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let hosts = Arc::new(std::sync::Mutex::new(HashSet::<String>::new()));
    let traffic = {
        let (stop, ok, failed, hosts, url) =
            (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed), Arc::clone(&hosts), url.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match http_get(&url) {
                    Ok((200, body)) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        if let Ok(v) = serde_json::from_str::<Value>(&body) {
                            hosts
                                .lock()
                                .unwrap()
                                .insert(v["hostname"].as_str().unwrap_or_default().to_string());
                        }
                    }
                    Ok((code, body)) => failed.lock().unwrap().push(format!("{code}: {body}")),
                    Err(e) => failed.lock().unwrap().push(e.to_string()),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let rev2 = register(&berth, "v2");
    assert_ne!(rev1, rev2);
    berth
        .aws(&[
            "ecs",
            "update-service",
            "--cluster",
            CLUSTER,
            "--service",
            SERVICE,
            "--task-definition",
            &rev2,
        ])
        .json();
    let rolled = wait_running(&berth, CLUSTER, 2, Duration::from_secs(60), |ts| {
        ts.iter().all(|t| t["taskDefinitionArn"] == rev2.as_str())
    });
    let new_ips: HashSet<String> = rolled.iter().map(task_ip).collect();
    assert_eventually!(all_healthy(&new_ips), Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    traffic.join().unwrap();
    let failures = failed.lock().unwrap().clone();
    let served = ok.load(Ordering::SeqCst);
    eprintln!("MEASURE rolling_update_requests_ok={served} failed={}", failures.len());
    assert!(failures.is_empty(), "requests failed during the rollout: {failures:?}");
    assert!(served > 20, "too little traffic to mean anything: {served}");
    assert!(hosts.lock().unwrap().len() >= 3, "old and new tasks both served: {:?}", hosts.lock().unwrap());
    let ev = events(&berth, CLUSTER, SERVICE);
    assert!(
        ev.contains(&format!("(service {SERVICE}) deregistered 1 targets in (target-group {tg})")),
        "{ev}"
    );
    assert!(ev.contains("deployment completed."), "{ev}");

    // A task that fails its target group's health checks is stopped and replaced.
    berth
        .aws(&[
            "elbv2",
            "modify-target-group",
            "--target-group-arn",
            &tg,
            "--health-check-path",
            "/no-such-path",
        ])
        .json();
    let failed_task = wait_for(patience(Duration::from_secs(40)), || {
        all_tasks(&berth, CLUSTER).into_iter().find(|t| {
            t["stoppedReason"].as_str()
                == Some(format!("Task failed ELB health checks in (target-group {tg})").as_str())
        })
    })
    .expect("a task stopped for failing ELB health checks");
    assert_eq!(failed_task["stopCode"], "ServiceSchedulerInitiated");
    let ev = events(&berth, CLUSTER, SERVICE);
    assert!(ev.contains(&format!("is unhealthy in (target-group {tg}) due to (reason")), "{ev}");
    berth
        .aws(&["elbv2", "modify-target-group", "--target-group-arn", &tg, "--health-check-path", "/health"])
        .json();
    wait_running(&berth, CLUSTER, 2, Duration::from_secs(30), |_| true);

    // terraform destroy's order: the listener rule goes first, then the service is scaled to 0
    // (which must not check the target group again) and deleted; every target is deregistered.
    let rules = berth.aws(&["elbv2", "describe-rules", "--listener-arn", &listener]).json();
    let rule = rules["Rules"].as_array().unwrap().iter().find(|r| r["IsDefault"] == false).unwrap();
    berth.aws(&["elbv2", "delete-rule", "--rule-arn", &s(&rule["RuleArn"])]).json();
    berth
        .aws(&["ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--desired-count", "0"])
        .json();
    berth.aws(&["ecs", "delete-service", "--cluster", CLUSTER, "--service", SERVICE]).json();
    assert_eventually!(
        berth.aws(&["ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE]).json()["services"]
            [0]["status"]
            == "INACTIVE",
        Duration::from_secs(30)
    );
    // As on AWS, the stopped tasks' targets stay listed as `draining` until the deregistration
    // delay has passed, after the service is already INACTIVE.
    assert_eventually!(target_health(&berth, &tg).is_empty(), Duration::from_secs(30));
    let product_svc = service_binaries().join("product-svc");
    assert_eventually!(pids_of_berth(&product_svc, &berth.endpoint).is_empty(), Duration::from_secs(10));
}
