//! The load balancer really routes: a listener with a fixed 404 default and a rule forwarding
//! `/app*` to an `ip` target group whose target is a tiny HTTP server on the target's loopback
//! alias. curl opens the listener by its DNS name (`*.elb.localhost`) at the address
//! `/_berth/load-balancers` reports. Health checks turn the target healthy, then unhealthy with
//! AWS's reason when its health path answers 500; deregistering drains it. Runs with `--fast`.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::elbv2_support::{berth, create_lb, create_listener, create_tg, health, network, str_of};
use testkit::{patience, require_tool, wait_for};

/// A backend on `ip:0` answering `GET /health` with `health_status` and anything else with 200
/// `backend <path>`.
fn backend(ip: Ipv4Addr, health_status: Arc<AtomicU16>) -> u16 {
    let listener = TcpListener::bind((ip, 0)).expect("bind the backend on its loopback alias");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let status = Arc::clone(&health_status);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                        break;
                    }
                }
                let (code, body) = if path == "/health" {
                    (status.load(Ordering::SeqCst), "health".to_string())
                } else {
                    (200, format!("backend {path}"))
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// `curl` (which resolves `*.localhost` to loopback): `(status, body)`.
fn curl(url: &str) -> (u16, String) {
    let out =
        Command::new("curl").args(["-s", "-m", "10", "-w", "\n%{http_code}", url]).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn a_listener_routes_to_a_healthy_target_and_health_checks_report_aws_reasons() {
    if !require_tool("aws") || !require_tool("curl") {
        return;
    }
    let berth = berth(&["--fast"]);
    let net = network(&berth, 35);
    // A target address unlikely to clash with other tests binding loopback aliases.
    let last = 100 + (std::process::id() % 150) as u8;
    let target_ip = Ipv4Addr::new(10, 35, 1, last);
    let health_status = Arc::new(AtomicU16::new(200));
    let port = backend(Ipv4Addr::new(127, 35, 1, last), Arc::clone(&health_status));

    let lb = create_lb(&berth, &net, "traffic-alb");
    let lb_arn = str_of(&lb["LoadBalancerArn"]);
    let dns = str_of(&lb["DNSName"]);
    let tg_arn = str_of(
        &create_tg(
            &berth,
            &net,
            "app-tg",
            &[
                "--health-check-path",
                "/health",
                "--health-check-interval-seconds",
                "10",
                "--health-check-timeout-seconds",
                "5",
                "--healthy-threshold-count",
                "2",
                "--unhealthy-threshold-count",
                "2",
            ],
        )["TargetGroupArn"],
    );
    let l_arn = str_of(&create_listener(&berth, &lb_arn, "80")["ListenerArn"]);
    berth
        .aws(&[
            "elbv2",
            "create-rule",
            "--listener-arn",
            &l_arn,
            "--priority",
            "1",
            "--conditions",
            "Field=path-pattern,Values=/app*",
            "--actions",
            &format!("Type=forward,TargetGroupArn={tg_arn}"),
        ])
        .json();
    berth
        .aws(&[
            "elbv2",
            "register-targets",
            "--target-group-arn",
            &tg_arn,
            "--targets",
            &format!("Id={target_ip},Port={port}"),
        ])
        .json();

    // Where the listener really is.
    let url = wait_for(patience(Duration::from_secs(15)), || {
        let (code, body) = berth.get("/_berth/load-balancers");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let lb = v["loadBalancers"].as_array()?.iter().find(|l| l["arn"] == lb_arn.as_str())?.clone();
        assert_eq!(lb["dnsName"], dns.as_str());
        let listener = lb["listeners"].as_array()?.first()?.clone();
        assert_eq!(listener["port"], 80);
        listener["address"].as_str()?;
        listener["url"].as_str().map(str::to_string)
    })
    .expect("the listener never got an address");
    assert!(url.starts_with(&format!("http://{dns}:")), "{url}");
    // `berth status` tells the same.
    let status = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["status", "--data-dir"])
        .arg(&berth.data_dir)
        .output()
        .expect("berth status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && text.contains(&url) && text.contains("traffic-alb (active"), "{text}");

    // Healthy within a few of the fast 1 s checks.
    let healthy = wait_for(patience(Duration::from_secs(20)), || {
        let h = health(&berth, &tg_arn, &[]);
        (h.first().map(|t| t.1.as_str()) == Some("healthy")).then_some(())
    });
    assert!(healthy.is_some(), "never healthy: {:?}", health(&berth, &tg_arn, &[]));

    let (code, body) = curl(&format!("{url}app/hello"));
    assert_eq!((code, body.as_str()), (200, "backend /app/hello"));
    let (code, body) = curl(&url);
    assert_eq!((code, body.as_str()), (404, "Not Found"), "the default action answers");

    // A health path answering 500: unhealthy with AWS's reason.
    health_status.store(500, Ordering::SeqCst);
    let unhealthy = wait_for(patience(Duration::from_secs(20)), || {
        let d = berth.aws(&["elbv2", "describe-target-health", "--target-group-arn", &tg_arn]).json();
        let th = d["TargetHealthDescriptions"][0]["TargetHealth"].clone();
        (th["State"] == "unhealthy").then_some(th)
    })
    .expect("never unhealthy");
    assert_eq!(unhealthy["Reason"], "Target.ResponseCodeMismatch");
    assert!(unhealthy["Description"].as_str().unwrap().contains("500"), "{unhealthy}");

    // Deregistering drains: the API shows `draining` until the (fast: 2 s) delay is over. Both
    // calls go straight over HTTP: the AWS CLI's start-up alone can outlast a 2 s window.
    health_status.store(200, Ordering::SeqCst);
    let target = format!("{target_ip}");
    let port_s = port.to_string();
    let (code, body) = berth.query(
        "elasticloadbalancing",
        &[
            ("Action", "DeregisterTargets"),
            ("Version", "2015-12-01"),
            ("TargetGroupArn", &tg_arn),
            ("Targets.member.1.Id", &target),
            ("Targets.member.1.Port", &port_s),
        ],
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = berth.query(
        "elasticloadbalancing",
        &[("Action", "DescribeTargetHealth"), ("Version", "2015-12-01"), ("TargetGroupArn", &tg_arn)],
    );
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(&format!("<Id>{target_ip}</Id>"))
            && body.contains("<State>draining</State>")
            && body.contains("<Reason>Target.DeregistrationInProgress</Reason>"),
        "right after DeregisterTargets the target is draining: {body}"
    );
    let gone =
        wait_for(patience(Duration::from_secs(15)), || health(&berth, &tg_arn, &[]).is_empty().then_some(()));
    assert!(gone.is_some(), "still registered after the deregistration delay");
    let (code, _) = curl(&format!("{url}app/hello"));
    assert_eq!(code, 503, "no registered targets: the ALB answers 503");
}
