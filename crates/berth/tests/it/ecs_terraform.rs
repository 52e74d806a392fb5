//! A cluster, a Fargate task definition whose image is `product-svc`, and a service of two tasks
//! (no load balancer), applied by the real terraform: the tasks really run as processes, each on
//! its own address in its own subnet; ECS replaces a task killed with `kill -9`, scales out, rolls
//! a new revision over; terraform destroy leaves no task process behind.
//!
//! Prints the closing note's numbers: CreateService → both tasks RUNNING, kill → replacement
//! RUNNING, and berth's RSS with 4 tasks running.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::ecs_support::*;
use serde_json::Value;
use testkit::{http_get, require_tool};

const CLUSTER: &str = "ecs-cluster";
const SERVICE: &str = "product-svc";

fn started_at(t: &Value) -> f64 {
    t["startedAt"].as_f64().expect("a RUNNING task has startedAt")
}

#[test]
fn terraform_service_runs_for_real_and_ecs_keeps_it_alive() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    let product_svc = service_binaries().join("product-svc");
    let berth = start_berth();
    let tf = berth.terraform(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stacks/ecs-no-alb"), None);
    tf.init();
    tf.apply();
    let subnets: HashSet<String> = tf.outputs()["subnets"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();

    // Two tasks RUNNING within seconds, one per subnet, each with its own address.
    let running = wait_running(&berth, CLUSTER, 2, Duration::from_secs(20), |_| true);
    let task_subnets: HashSet<String> = running.iter().map(|t| task_detail(t, "subnetId")).collect();
    assert_eq!(task_subnets, subnets, "one task in each subnet");
    let ips: Vec<String> = running.iter().map(task_ip).collect();
    assert_ne!(ips[0], ips[1]);
    for ip in &ips {
        assert!(ip.ends_with(".4"), "the first free address after AWS's 4 reserved ones: {ip}");
    }
    let svc = berth.aws(&["ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE]).json();
    let svc = &svc["services"][0];
    assert_eq!(svc["runningCount"], 2);
    assert_eq!(svc["availabilityZoneRebalancing"], "ENABLED");
    let created = svc["createdAt"].as_f64().unwrap();
    let both_running = running.iter().map(started_at).fold(0.0, f64::max);
    eprintln!("MEASURE create_service_to_both_running_ms={:.0}", (both_running - created) * 1000.0);
    let started = events(&berth, CLUSTER, SERVICE);
    assert!(started.contains("(service product-svc) has started 2 tasks: (task "), "{started}");

    // Each task answers on its own address with its own hostname, from its environment.
    for t in &running {
        let ip = task_ip(t);
        let (status, body) = http_get(&format!("http://{}:3000/product-svc/info", host_of(&ip))).unwrap();
        assert_eq!(status, 200, "{body}");
        let info: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["hostname"], format!("ip-{}.ec2.internal", ip.replace('.', "-")));
        assert_eq!(info["hostname"], task_detail(t, "privateDnsName"));
        // demo-web reads these two from the task metadata endpoint.
        assert_eq!(info["task_arn"], t["taskArn"]);
        assert_eq!(info["availability_zone"], t["availabilityZone"]);
    }

    // The task's ENI is what EC2 shows.
    let enis = berth
        .aws(&[
            "ec2",
            "describe-network-interfaces",
            "--filters",
            "Name=attachment.instance-owner-id,Values=amazon-aws",
        ])
        .json();
    let eni_ids: HashSet<&str> = enis["NetworkInterfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["NetworkInterfaceId"].as_str().unwrap())
        .collect();
    for t in &running {
        assert!(eni_ids.contains(task_detail(t, "networkInterfaceId").as_str()), "{enis}");
    }

    // The metadata endpoint's task document.
    let task_id = id_of(running[0]["taskArn"].as_str().unwrap());
    let (status, body) = berth.get(&format!("/_berth/task-metadata/v4/{task_id}/product-svc/task"));
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["TaskARN"], running[0]["taskArn"]);
    assert_eq!(doc["ServiceName"], SERVICE);
    assert_eq!(doc["LaunchType"], "FARGATE");
    assert_eq!(doc["Containers"][0]["Networks"][0]["IPv4Addresses"][0], task_ip(&running[0]));

    // terraform sees exactly what it applied.
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan right after apply must be empty:\n{plan}");

    // kill -9 of one task's process: ECS replaces the task.
    let victim = running[0].clone();
    let pid = pid_serving(&product_svc, &host_of(&task_ip(&victim))).expect("the task's process");
    let killed_at = epoch_now();
    assert!(Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
    let after = wait_running(&berth, CLUSTER, 2, Duration::from_secs(20), |ts| {
        ts.iter().all(|t| t["taskArn"] != victim["taskArn"])
    });
    let replacement = after.iter().find(|t| !running.iter().any(|r| r["taskArn"] == t["taskArn"])).unwrap();
    eprintln!("MEASURE kill_to_replacement_running_ms={:.0}", (started_at(replacement) - killed_at) * 1000.0);
    let old = berth
        .aws(&["ecs", "describe-tasks", "--cluster", CLUSTER, "--tasks", victim["taskArn"].as_str().unwrap()])
        .json();
    let old = &old["tasks"][0];
    assert_eq!(old["lastStatus"], "STOPPED", "{old}");
    assert_eq!(old["stopCode"], "EssentialContainerExited");
    assert_eq!(old["stoppedReason"], "Essential container in task exited");
    assert_eq!(old["containers"][0]["exitCode"], 137);
    assert_eq!(old["attachments"][0]["status"], "DELETED");

    // Scale out with the AWS CLI.
    berth
        .aws(&["ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--desired-count", "3"])
        .json();
    let three = wait_running(&berth, CLUSTER, 3, Duration::from_secs(20), |_| true);
    assert_eq!(three.iter().map(task_ip).collect::<HashSet<_>>().len(), 3);

    // berth's resident memory with 4 tasks running.
    berth
        .aws(&["ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--desired-count", "4"])
        .json();
    wait_running(&berth, CLUSTER, 4, Duration::from_secs(20), |_| true);
    eprintln!("MEASURE berth_rss_kib_with_4_tasks={}", rss_kib(berth.pid().unwrap()));
    berth
        .aws(&["ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--desired-count", "2"])
        .json();
    wait_running(&berth, CLUSTER, 2, Duration::from_secs(20), |_| true);

    // A new revision rolls the tasks over.
    let td = berth.aws(&["ecs", "describe-task-definition", "--task-definition", "product-svc-td"]).json();
    let mut containers = td["taskDefinition"]["containerDefinitions"].clone();
    containers[0]["environment"] = serde_json::json!([{"name": "GREETING", "value": "v2"}]);
    let registered = berth
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
            "1024",
            "--container-definitions",
            &containers.to_string(),
        ])
        .json();
    let rev2 = registered["taskDefinition"]["taskDefinitionArn"].as_str().unwrap().to_string();
    assert!(rev2.ends_with("product-svc-td:2"));
    let before: HashSet<String> =
        running_tasks(&berth, CLUSTER).iter().map(|t| t["taskArn"].as_str().unwrap().to_string()).collect();
    let updated = berth
        .aws(&[
            "ecs",
            "update-service",
            "--cluster",
            CLUSTER,
            "--service",
            SERVICE,
            "--task-definition",
            "product-svc-td:2",
        ])
        .json();
    assert_eq!(updated["service"]["deployments"].as_array().unwrap().len(), 2);
    let rolled = wait_running(&berth, CLUSTER, 2, Duration::from_secs(30), |ts| {
        ts.iter().all(|t| t["taskDefinitionArn"] == rev2.as_str())
    });
    assert!(rolled.iter().all(|t| !before.contains(t["taskArn"].as_str().unwrap())));
    let completed = || {
        let s = berth.aws(&["ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE]).json();
        let d = &s["services"][0]["deployments"];
        d.as_array().unwrap().len() == 1 && d[0]["rolloutState"] == "COMPLETED"
    };
    testkit::assert_eventually!(completed(), Duration::from_secs(20));
    assert!(events(&berth, CLUSTER, SERVICE).contains("deployment completed."));

    // Destroy: every task stops and no task process is left in the process table.
    tf.destroy();
    let svc = berth.aws(&["ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE]).json();
    assert_eq!(svc["services"][0]["status"], "INACTIVE");
    let clusters = berth.aws(&["ecs", "describe-clusters", "--clusters", CLUSTER]).json();
    assert_eq!(clusters["clusters"][0]["status"], "INACTIVE");
    assert_eq!(clusters["clusters"][0]["runningTasksCount"], 0);
    testkit::assert_eventually!(
        pids_of_berth(&product_svc, &berth.endpoint).is_empty(),
        Duration::from_secs(10)
    );
    let enis = berth
        .aws(&[
            "ec2",
            "describe-network-interfaces",
            "--filters",
            "Name=attachment.instance-owner-id,Values=amazon-aws",
        ])
        .json();
    assert_eq!(enis["NetworkInterfaces"], serde_json::json!([]));
}
