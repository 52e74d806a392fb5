//! The tutorial's whole stack (`examples/two-services`) brought up by `berth up <stack-dir>`,
//! driven with the real terraform, the AWS CLI and HTTP through the load balancer, then removed
//! by `berth down --destroy`.
//!
//! Timings: health checks run with `--fast` (1 s) to keep the test short; the terraform apply
//! still takes over a minute because the AWS provider's ALB waiter sleeps 2 × 30 s.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::ecs_support::{BERTH, service_binaries, task_processes_of};
use serde_json::Value;
use testkit::{Berth, Terraform, assert_eventually, copy_config, http_request, require_tool, workspace_root};

/// `GET path` on the listener at `addr` with `Host: dns` (curl resolves `*.localhost` itself; the
/// test connects to the real address and names the load balancer in the Host header, as it does).
fn get(addr: &str, dns: &str, path: &str) -> (u16, String) {
    http_request("GET", &format!("http://{addr}{path}"), &[("Host", dns)]).unwrap_or((0, String::new()))
}

/// The `ip-a-b-c-d.ec2.internal` hostname a page shows.
fn hostname_in(page: &str) -> Option<String> {
    let start = page.find("ip-")?;
    let end = page[start..].find(".ec2.internal")? + start + ".ec2.internal".len();
    Some(page[start..end].to_string())
}

/// `ip-10-0-2-4.ec2.internal` → `10.0.2.4`.
fn ip_of(hostname: &str) -> String {
    hostname.trim_start_matches("ip-").trim_end_matches(".ec2.internal").replace('-', ".")
}

fn target_health(berth: &Berth, tg_arn: &str) -> Vec<(String, String, String)> {
    let out = berth.aws(&["elbv2", "describe-target-health", "--target-group-arn", tg_arn]).json();
    out["TargetHealthDescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Target"]["Id"].as_str().unwrap_or_default().to_string(),
                d["TargetHealth"]["State"].as_str().unwrap_or_default().to_string(),
                d["TargetHealth"]["Reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn running_tasks(berth: &Berth, service: &str) -> Vec<String> {
    let out = berth
        .aws(&[
            "ecs",
            "list-tasks",
            "--cluster",
            "ecs-cluster",
            "--service-name",
            service,
            "--desired-status",
            "RUNNING",
        ])
        .json();
    out["taskArns"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
}

#[test]
fn the_tutorial_stack_routes_both_services_through_the_alb_and_goes_away() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    // `berth` finds product-svc and user-svc beside itself, as `cargo build` leaves them.
    service_binaries();
    let stack = copy_config(&workspace_root().join("examples/two-services"), None);
    let stack_dir = stack.path().to_str().unwrap().to_string();
    let started = Instant::now();
    let mut berth = Berth::start_with(BERTH, &[&stack_dir, "--listener-ports", "ephemeral", "--fast"]);
    berth.wait_for_log("every service runs its tasks and every target is healthy", Duration::from_secs(400));
    eprintln!("MEASURE berth up <stack> to ready: {:.1?}", started.elapsed());
    assert!(
        berth.log().contains("Outputs:") && berth.log().contains("alb_dns_name = ecs-alb-"),
        "{}",
        berth.log()
    );

    // The load balancer as berth serves it.
    let (code, body) = berth.get("/_berth/status");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&body).unwrap();
    let lb = &status["loadBalancers"][0];
    let dns = lb["dnsName"].as_str().unwrap().to_string();
    assert!(dns.starts_with("ecs-alb-") && dns.ends_with(".us-east-1.elb.localhost"), "{dns}");
    let addr = lb["listeners"][0]["address"].as_str().unwrap().to_string();
    let url = lb["listeners"][0]["url"].as_str().unwrap().to_string();
    assert!(
        berth.log().contains(&format!("{url}product-svc")),
        "berth up prints the URL to open:\n{}",
        berth.log()
    );

    // terraform sees nothing to change.
    let tf = Terraform::at(stack.path(), berth.aws_env());
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan right after berth up must be empty:\n{plan}");

    // Ten requests to /product-svc reach both product tasks.
    let mut product_hosts = BTreeSet::new();
    for _ in 0..10 {
        let (code, page) = get(&addr, &dns, "/product-svc");
        assert_eq!(code, 200, "{page}");
        assert!(page.contains("Hello from product-svc"), "{page}");
        product_hosts.insert(hostname_in(&page).unwrap());
    }
    assert_eq!(product_hosts.len(), 2, "both product tasks answer: {product_hosts:?}");
    let (code, page) = get(&addr, &dns, "/user-svc/anything");
    assert_eq!(code, 200);
    assert!(page.contains("Hello from user-svc") && page.contains("/user-svc/anything"), "{page}");
    let (code, body) = get(&addr, &dns, "/");
    assert_eq!((code, body.as_str()), (404, "Not Found"), "the listener's default action");

    // DescribeTargetHealth: 4 healthy targets over the two groups.
    let groups = berth.aws(&["elbv2", "describe-target-groups"]).json();
    let arn_of = |name: &str| {
        groups["TargetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["TargetGroupName"] == name)
            .map(|g| g["TargetGroupArn"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (product_tg, user_tg) = (arn_of("product-svc-tg"), arn_of("user-svc-tg"));
    let all: Vec<_> = [&product_tg, &user_tg].iter().flat_map(|tg| target_health(&berth, tg)).collect();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|(_, state, _)| state == "healthy"), "{all:?}");

    // `berth status` shows the same picture.
    let out = Command::new(BERTH).args(["status", "--data-dir"]).arg(&berth.data_dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for needle in
        ["path-pattern /product-svc*", "forward product-svc-tg", "fixed-response 404", "ecs-cluster/user-svc"]
    {
        assert!(text.contains(needle), "berth status lacks {needle:?}:\n{text}");
    }
    assert_eq!(text.matches(" healthy").count(), 4, "{text}");

    // Stopping a task drains its target and ECS replaces it while requests keep succeeding.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, ok, failed, addr, dns) =
            (stop.clone(), ok.clone(), failed.clone(), addr.clone(), dns.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                match get(&addr, &dns, "/product-svc") {
                    (200, _) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let before = running_tasks(&berth, "product-svc");
    assert_eq!(before.len(), 2);
    berth
        .aws(&["ecs", "stop-task", "--cluster", "ecs-cluster", "--task", &before[0], "--reason", "test"])
        .json();
    assert_eventually!(
        {
            let now = running_tasks(&berth, "product-svc");
            now.len() == 2 && !now.contains(&before[0])
        },
        Duration::from_secs(60),
        "ECS replaces the stopped task"
    );
    assert_eventually!(
        {
            let h = target_health(&berth, &product_tg);
            h.len() == 2 && h.iter().all(|(_, s, _)| s == "healthy")
        },
        Duration::from_secs(60),
        "the replacement becomes a healthy target and the old one is gone"
    );
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let stopped =
        berth.aws(&["ecs", "describe-tasks", "--cluster", "ecs-cluster", "--tasks", &before[0]]).json();
    assert_eq!(stopped["tasks"][0]["lastStatus"], "STOPPED");
    assert_eq!(stopped["tasks"][0]["stopCode"], "UserInitiated");
    assert!(ok.load(Ordering::Relaxed) > 20, "the load ran");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no request failed while the task was replaced");

    // A target group whose health path answers 500 reports it.
    let vpc = groups["TargetGroups"][0]["VpcId"].as_str().unwrap().to_string();
    let probe = berth
        .aws(&[
            "elbv2",
            "create-target-group",
            "--name",
            "probe-tg",
            "--protocol",
            "HTTP",
            "--port",
            "3000",
            "--vpc-id",
            &vpc,
            "--target-type",
            "ip",
            "--health-check-path",
            "/product-svc/status/500",
            "--health-check-interval-seconds",
            "5",
            "--health-check-timeout-seconds",
            "2",
        ])
        .json();
    let probe_tg = probe["TargetGroups"][0]["TargetGroupArn"].as_str().unwrap().to_string();
    let listener = lb["listeners"][0]["arn"].as_str().unwrap();
    let rule = berth
        .aws(&[
            "elbv2",
            "create-rule",
            "--listener-arn",
            listener,
            "--priority",
            "50",
            "--conditions",
            "Field=path-pattern,Values=/probe*",
            "--actions",
            &format!("Type=forward,TargetGroupArn={probe_tg}"),
        ])
        .json();
    let rule_arn = rule["Rules"][0]["RuleArn"].as_str().unwrap().to_string();
    let ip = ip_of(&hostname_in(&get(&addr, &dns, "/product-svc").1).unwrap());
    berth
        .aws(&[
            "elbv2",
            "register-targets",
            "--target-group-arn",
            &probe_tg,
            "--targets",
            &format!("Id={ip},Port=3000"),
        ])
        .json();
    assert_eventually!(
        target_health(&berth, &probe_tg)
            == vec![(ip.clone(), "unhealthy".to_string(), "Target.ResponseCodeMismatch".to_string())],
        Duration::from_secs(30),
        "the probe target is unhealthy: {:?}",
        target_health(&berth, &probe_tg)
    );
    let described = berth.aws(&["elbv2", "describe-target-health", "--target-group-arn", &probe_tg]).json();
    assert_eq!(
        described["TargetHealthDescriptions"][0]["TargetHealth"]["Description"],
        "Health checks failed with these codes: [500]"
    );

    // What the test added outside terraform goes before terraform destroys the rest.
    berth.aws(&["elbv2", "delete-rule", "--rule-arn", &rule_arn]).json();
    berth.aws(&["elbv2", "delete-target-group", "--target-group-arn", &probe_tg]).json();

    // berth down --destroy: terraform destroy of the recorded stack, then berth stops.
    let endpoint = berth.endpoint.clone();
    assert!(!task_processes_of(&endpoint).is_empty(), "the tasks are processes of this berth");
    let started = Instant::now();
    let out =
        Command::new(BERTH).args(["down", "--destroy", "--data-dir"]).arg(&berth.data_dir).output().unwrap();
    assert!(
        out.status.success(),
        "berth down --destroy failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("MEASURE berth down --destroy: {:.1?}", started.elapsed());
    let exit = berth.wait_exit(Duration::from_secs(30)).expect("berth exits after berth down");
    assert!(exit.success(), "berth exits cleanly: {exit}");
    assert!(task_processes_of(&endpoint).is_empty(), "no task process is left");
    assert!(std::net::TcpStream::connect(&addr).is_err(), "the listener is closed");
    assert!(
        std::net::TcpStream::connect(endpoint.trim_start_matches("http://")).is_err(),
        "the API is closed"
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(stack.path().join("terraform.tfstate")).unwrap())
            .unwrap();
    assert_eq!(state["resources"], serde_json::json!([]), "terraform destroyed every resource");
}
