//! ECS through the AWS CLI: each validation error ECS gives (code and message), standalone
//! tasks (RunTask, StopTask, an image that resolves to nothing), the start-failure back-off,
//! `berth logs`, and a berth killed and restarted on the same data dir.

use std::process::Command;
use std::time::Duration;

use crate::ecs_support::*;
use serde_json::{Value, json};
use testkit::{Berth, assert_eventually, http_get, require_tool};

fn register(berth: &Berth, family: &str, image: &str) -> Value {
    let containers = json!([{"name": "product-svc", "image": image, "essential": true,
        "portMappings": [{"containerPort": 3000}]}]);
    berth
        .aws(&[
            "ecs",
            "register-task-definition",
            "--family",
            family,
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
        .json()
}

fn awsvpc(subnets: &[String]) -> String {
    json!({"awsvpcConfiguration": {"subnets": subnets}}).to_string()
}

#[test]
fn ecs_validation_errors_match_aws() {
    if !require_tool("aws") {
        return;
    }
    let berth = start_berth();
    let (vpc, subnets) = network(&berth, 43);

    // Task definitions.
    let base = |cpu: &str, memory: &str, mode: &str, mappings: Value| {
        let containers =
            json!([{"name": "product-svc", "image": "product-svc", "portMappings": mappings}]).to_string();
        berth.aws(&[
            "ecs",
            "register-task-definition",
            "--family",
            "bad",
            "--network-mode",
            mode,
            "--requires-compatibilities",
            "FARGATE",
            "--cpu",
            cpu,
            "--memory",
            memory,
            "--container-definitions",
            &containers,
        ])
    };
    let err = base("256", "3000", "awsvpc", json!([{"containerPort": 3000}]));
    assert!(
        err.expect_error("ClientException").contains(
            "No Fargate configuration exists for given values: 256 CPU, 3000 memory. See the Amazon ECS documentation for the valid values."
        ),
        "{}",
        err.stderr
    );
    let err = base("256", "512", "bridge", json!([{"containerPort": 3000}]));
    assert!(err.expect_error("ClientException").contains("Fargate only supports network mode"));
    let err = base("256", "512", "awsvpc", json!([{"containerPort": 3000, "hostPort": 80}]));
    assert!(err.expect_error("ClientException").contains(
        "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
    ));
    berth
        .aws(&["ecs", "describe-task-definition", "--task-definition", "nope"])
        .expect_error("ClientException");
    let td = register(&berth, "product-svc-td", "product-svc");
    assert_eq!(td["taskDefinition"]["compatibilities"], json!(["EC2", "FARGATE"]));
    assert_eq!(td["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]["hostPort"], 3000);

    // Clusters and services.
    let create = |cluster: &str, extra: &[&str]| {
        let mut args = vec![
            "ecs",
            "create-service",
            "--cluster",
            cluster,
            "--service-name",
            "product-svc",
            "--task-definition",
            "product-svc-td",
            "--desired-count",
            "1",
            "--launch-type",
            "FARGATE",
        ];
        args.extend_from_slice(extra);
        berth.aws(&args)
    };
    create("missing", &[]).expect_error("ClusterNotFoundException");
    berth.aws(&["ecs", "create-cluster", "--cluster-name", "c"]).json();
    let err = create("c", &[]);
    assert!(
        err.expect_error("InvalidParameterException")
            .contains("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
    );
    let none: Vec<String> = Vec::new();
    let err = create("c", &["--network-configuration", &awsvpc(&none)]);
    assert!(
        err.expect_error("InvalidParameterException").contains("subnets can not be empty."),
        "{}",
        err.stderr
    );
    let net = awsvpc(&subnets);
    let fake_tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/nope/0123456789abcdef";
    let lb = |tg: &str, name: &str, port: &str| {
        format!("targetGroupArn={tg},containerName={name},containerPort={port}")
    };
    let err =
        create("c", &["--network-configuration", &net, "--load-balancers", &lb(fake_tg, "other", "3000")]);
    assert!(
        err.expect_error("InvalidParameterException")
            .contains("The container other does not exist in the task definition.")
    );
    let err = create(
        "c",
        &["--network-configuration", &net, "--load-balancers", &lb(fake_tg, "product-svc", "8080")],
    );
    assert!(
        err.expect_error("InvalidParameterException")
            .contains("The container product-svc did not have a container port 8080 defined.")
    );
    let err = create(
        "c",
        &["--network-configuration", &net, "--load-balancers", &lb(fake_tg, "product-svc", "3000")],
    );
    assert!(
        err.expect_error("InvalidParameterException")
            .contains("Unable to assume role and validate the specified targetGroupArn")
    );
    let tg = |name: &str, kind: &str| {
        berth
            .aws(&[
                "elbv2",
                "create-target-group",
                "--name",
                name,
                "--protocol",
                "HTTP",
                "--port",
                "3000",
                "--vpc-id",
                &vpc,
                "--target-type",
                kind,
            ])
            .json()["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let instance_tg = tg("instance-tg", "instance");
    let err = create(
        "c",
        &["--network-configuration", &net, "--load-balancers", &lb(&instance_tg, "product-svc", "3000")],
    );
    assert!(err.expect_error("InvalidParameterException").contains(&format!(
        "The provided target group {instance_tg} has target type instance, which is incompatible with the awsvpc network mode specified in the task definition."
    )));
    let ip_tg = tg("ip-tg", "ip");
    let err = create(
        "c",
        &["--network-configuration", &net, "--load-balancers", &lb(&ip_tg, "product-svc", "3000")],
    );
    assert!(err.expect_error("InvalidParameterException").contains(&format!(
        "The target group with targetGroupArn {ip_tg} does not have an associated load balancer."
    )));

    berth
        .aws(&["ecs", "update-service", "--cluster", "c", "--service", "nope", "--desired-count", "1"])
        .expect_error("ServiceNotFoundException");
    let svc = create("c", &["--network-configuration", &net]).json();
    assert_eq!(svc["service"]["status"], "ACTIVE");
    assert_eq!(svc["service"]["deploymentConfiguration"]["maximumPercent"], 200);
    assert_eq!(svc["service"]["deploymentConfiguration"]["minimumHealthyPercent"], 100);
    assert_eq!(
        svc["service"]["deploymentConfiguration"]["deploymentCircuitBreaker"],
        json!({"enable": false, "rollback": false})
    );
    assert_eq!(svc["service"]["availabilityZoneRebalancing"], "ENABLED");
    assert_eq!(svc["service"]["platformVersion"], "LATEST");
    create("c", &["--network-configuration", &net]).expect_error("InvalidParameterException");
    let err = berth.aws(&["ecs", "delete-service", "--cluster", "c", "--service", "product-svc"]);
    assert!(
        err.expect_error("InvalidParameterException")
            .contains("The service cannot be stopped while it is scaled above 0.")
    );
    berth.aws(&["ecs", "delete-cluster", "--cluster", "c"]).expect_error("ClusterContainsServicesException");
    let deleted =
        berth.aws(&["ecs", "delete-service", "--cluster", "c", "--service", "product-svc", "--force"]).json();
    assert_eq!(deleted["service"]["status"], "DRAINING");
    berth
        .aws(&["ecs", "update-service", "--cluster", "c", "--service", "product-svc", "--desired-count", "1"])
        .expect_error("ServiceNotActiveException");
    assert_eventually!(
        berth.aws(&["ecs", "describe-services", "--cluster", "c", "--services", "product-svc"]).json()["services"]
            [0]["status"]
            == "INACTIVE",
        Duration::from_secs(20)
    );
    berth.aws(&["ecs", "delete-cluster", "--cluster", "c"]).json();

    // Lookups that find nothing are failures, not errors.
    let out = berth.aws(&["ecs", "describe-clusters", "--clusters", "nope"]).json();
    assert_eq!(
        out["failures"],
        json!([{"arn": "arn:aws:ecs:us-east-1:000000000000:cluster/nope", "reason": "MISSING"}])
    );
    berth.aws(&["ecs", "create-cluster", "--cluster-name", "d"]).json();
    let out = berth.aws(&["ecs", "describe-services", "--cluster", "d", "--services", "ghost"]).json();
    assert_eq!(out["failures"][0]["reason"], "MISSING");
    berth
        .aws(&["ecs", "stop-task", "--cluster", "d", "--task", "0123456789abcdef0123456789abcdef"])
        .expect_error("InvalidParameterException");

    // Listing and tags.
    let families = berth.aws(&["ecs", "list-task-definition-families"]).json();
    assert_eq!(families["families"], json!(["product-svc-td"]));
    let tds = berth.aws(&["ecs", "list-task-definitions", "--family-prefix", "product-svc-td"]).json();
    assert_eq!(tds["taskDefinitionArns"].as_array().unwrap().len(), 1);
    let clusters = berth.aws(&["ecs", "list-clusters"]).json();
    assert_eq!(clusters["clusterArns"], json!(["arn:aws:ecs:us-east-1:000000000000:cluster/d"]));
    let arn = "arn:aws:ecs:us-east-1:000000000000:cluster/d";
    berth.aws(&["ecs", "tag-resource", "--resource-arn", arn, "--tags", "key=team,value=shop"]).json();
    let tags = berth.aws(&["ecs", "list-tags-for-resource", "--resource-arn", arn]).json();
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "shop"}]));
    berth.aws(&["ecs", "untag-resource", "--resource-arn", arn, "--tag-keys", "team"]).json();
    let tags = berth.aws(&["ecs", "list-tags-for-resource", "--resource-arn", arn]).json();
    assert_eq!(tags["tags"], json!([]));
}

#[test]
fn standalone_tasks_run_stop_and_fail_to_pull_like_ecs() {
    if !require_tool("aws") {
        return;
    }
    let berth = start_berth();
    let (_vpc, subnets) = network(&berth, 44);
    berth.aws(&["ecs", "create-cluster", "--cluster-name", "jobs"]).json();
    register(&berth, "web", "product-svc");
    register(&berth, "ghost", "example.com/team/no-such-image:1.0");
    let run = |family: &str| {
        berth
            .aws(&[
                "ecs",
                "run-task",
                "--cluster",
                "jobs",
                "--task-definition",
                family,
                "--launch-type",
                "FARGATE",
                "--network-configuration",
                &awsvpc(&subnets[..1]),
            ])
            .json()["tasks"][0]
            .clone()
    };

    // A task that runs.
    let task = run("web");
    assert_eq!(task["lastStatus"], "PROVISIONING");
    assert_eq!(task["group"], "family:web");
    let arn = task["taskArn"].as_str().unwrap().to_string();
    let describe = |arn: &str| {
        berth.aws(&["ecs", "describe-tasks", "--cluster", "jobs", "--tasks", arn]).json()["tasks"][0].clone()
    };
    assert_eventually!(describe(&arn)["lastStatus"] == "RUNNING", Duration::from_secs(15));
    let t = describe(&arn);
    let ip = task_ip(&t);
    assert_eq!(ip, "10.44.2.4");
    assert_eq!(t["attachments"][0]["type"], "ElasticNetworkInterface");
    assert_eq!(t["attachments"][0]["status"], "ATTACHED");
    assert_eq!(t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"], ip);
    assert_eq!(t["platformVersion"], "1.4.0");
    assert_eq!(t["launchType"], "FARGATE");
    for field in ["pullStartedAt", "pullStoppedAt", "startedAt", "connectivityAt", "createdAt"] {
        assert!(t[field].is_f64(), "{field}: {t}");
    }
    let (status, body) = http_get(&format!("http://{}:3000/product-svc", host_of(&ip))).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("ip-10-44-2-4.ec2.internal"), "{body}");
    let id = id_of(&arn);
    let (status, doc) = berth.get(&format!("/_berth/task-metadata/v4/{id}/product-svc"));
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["Name"], "product-svc");
    assert_eq!(doc["Labels"]["com.amazonaws.ecs.task-arn"], arn.as_str());
    assert_eq!(doc["Networks"][0]["NetworkMode"], "awsvpc");
    let (status, stats) = berth.get(&format!("/_berth/task-metadata/v4/{id}/product-svc/stats"));
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert!(stats["memory_stats"]["usage"].as_u64().unwrap() > 0, "{stats}");

    // berth logs shows what the task printed.
    let out = Command::new(BERTH).args(["logs", &id, "--data-dir"]).arg(&berth.data_dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("listening on 127.44.2.4:3000"), "{text}");

    // StopTask.
    let stopped =
        berth.aws(&["ecs", "stop-task", "--cluster", "jobs", "--task", &arn, "--reason", "done"]).json();
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
    assert_eventually!(describe(&arn)["lastStatus"] == "STOPPED", Duration::from_secs(15));
    let t = describe(&arn);
    assert_eq!(t["stopCode"], "UserInitiated");
    assert_eq!(t["stoppedReason"], "done");
    assert!(t["containers"][0]["exitCode"].is_i64(), "{t}");
    assert!(t["stoppedAt"].is_f64() && t["executionStoppedAt"].is_f64() && t["stoppingAt"].is_f64());
    assert_eq!(t["attachments"][0]["status"], "DELETED");

    // An image that resolves to nothing stops the task like a failed pull.
    let ghost = run("ghost");
    let garn = ghost["taskArn"].as_str().unwrap().to_string();
    assert_eventually!(describe(&garn)["lastStatus"] == "STOPPED", Duration::from_secs(15));
    let t = describe(&garn);
    assert_eq!(t["stopCode"], "TaskFailedToStart");
    let reason = t["stoppedReason"].as_str().unwrap();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(reason.contains("--image"), "the reason says how to fix it: {reason}");
    assert_eq!(t["containers"][0]["reason"], reason);

    // A service of it backs off, and says why.
    berth
        .aws(&[
            "ecs",
            "create-service",
            "--cluster",
            "jobs",
            "--service-name",
            "ghost",
            "--task-definition",
            "ghost",
            "--desired-count",
            "1",
            "--launch-type",
            "FARGATE",
            "--network-configuration",
            &awsvpc(&subnets),
        ])
        .json();
    assert_eventually!(
        events(&berth, "jobs", "ghost").contains(
            "(service ghost) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        ),
        Duration::from_secs(20)
    );
    let svc = berth.aws(&["ecs", "describe-services", "--cluster", "jobs", "--services", "ghost"]).json();
    assert!(svc["services"][0]["deployments"][0]["failedTasks"].as_i64().unwrap() >= 3);
    assert_eq!(svc["services"][0]["runningCount"], 0);
}

#[test]
fn a_restarted_berth_replaces_its_tasks_and_leaves_no_process_behind() {
    if !require_tool("aws") {
        return;
    }
    let product_svc = service_binaries().join("product-svc");
    let mut berth = start_berth();
    let (_vpc, subnets) = network(&berth, 45);
    berth.aws(&["ecs", "create-cluster", "--cluster-name", "c"]).json();
    register(&berth, "product-svc-td", "product-svc");
    berth
        .aws(&[
            "ecs",
            "create-service",
            "--cluster",
            "c",
            "--service-name",
            "product-svc",
            "--task-definition",
            "product-svc-td",
            "--desired-count",
            "2",
            "--launch-type",
            "FARGATE",
            "--network-configuration",
            &awsvpc(&subnets),
        ])
        .json();
    let before = wait_running(&berth, "c", 2, Duration::from_secs(20), |_| true);
    let first_endpoint = berth.endpoint.clone();
    assert_eq!(pids_of_berth(&product_svc, &first_endpoint).len(), 2);

    // berth dies without any cleanup: its tasks die with it (no orphans)...
    berth.kill();
    assert_eventually!(pids_of_berth(&product_svc, &first_endpoint).is_empty(), Duration::from_secs(10));
    // ...and the restarted berth sees they are gone and replaces them.
    berth.start_again();
    let after = wait_running(&berth, "c", 2, Duration::from_secs(20), |ts| {
        ts.iter().all(|t| !before.iter().any(|b| b["taskArn"] == t["taskArn"]))
    });
    for old in &before {
        let t = berth
            .aws(&["ecs", "describe-tasks", "--cluster", "c", "--tasks", old["taskArn"].as_str().unwrap()])
            .json()["tasks"][0]
            .clone();
        assert_eq!(t["lastStatus"], "STOPPED");
        assert!(t["stoppedReason"].as_str().unwrap().contains("berth restarted"), "{t}");
    }
    for t in &after {
        let (status, _) = http_get(&format!("http://{}:3000/health", host_of(&task_ip(t)))).unwrap();
        assert_eq!(status, 200);
    }
    assert_eq!(pids_of_berth(&product_svc, &berth.endpoint).len(), 2);

    // berth logs of the service: every task's lines, prefixed with its id.
    let out = Command::new(BERTH)
        .args(["logs", "product-svc", "--data-dir"])
        .arg(&berth.data_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for t in before.iter().chain(&after) {
        let id = id_of(t["taskArn"].as_str().unwrap());
        assert!(text.contains(&format!("{id} | ")), "{id} missing from:\n{text}");
    }

    // berth logs -f follows the service: a replacement task's output shows up too.
    let mut follow = Command::new(BERTH)
        .args(["logs", "product-svc", "-f", "--data-dir"])
        .arg(&berth.data_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let seen = std::sync::Arc::clone(&seen);
        let mut stdout = follow.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let victim = after[0]["taskArn"].as_str().unwrap().to_string();
    let victim_prefix = format!("{} | ", id_of(&victim));
    assert_eventually!(seen.lock().unwrap().contains(&victim_prefix), Duration::from_secs(10));
    berth.aws(&["ecs", "stop-task", "--cluster", "c", "--task", &victim]).json();
    let replaced = wait_running(&berth, "c", 2, Duration::from_secs(20), |ts| {
        ts.iter().all(|t| t["taskArn"] != victim.as_str())
    });
    let newcomer = replaced.iter().find(|t| !after.iter().any(|a| a["taskArn"] == t["taskArn"])).unwrap();
    let newcomer_id = id_of(newcomer["taskArn"].as_str().unwrap());
    let newcomer_prefix = format!("{newcomer_id} | ");
    assert_eventually!(
        seen.lock().unwrap().contains(&newcomer_prefix),
        Duration::from_secs(10),
        "berth logs -f did not pick up the replacement task {newcomer_id}"
    );
    assert!(Command::new("kill").args(["-INT", &follow.id().to_string()]).status().unwrap().success());
    let status = follow.wait().unwrap();
    assert!(status.success(), "berth logs -f ends cleanly on Ctrl-C: {status}");
    reader.join().unwrap();

    // A clean stop stops every task.
    let endpoint = berth.endpoint.clone();
    berth.stop();
    assert!(pids_of_berth(&product_svc, &endpoint).is_empty());
}
