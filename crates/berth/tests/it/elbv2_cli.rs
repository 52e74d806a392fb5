//! ELBv2 through the real AWS CLI: the shapes Describe calls return, AWS's defaults, the errors
//! (codes asserted), target health states, the load balancer's network interfaces in EC2, and
//! the PriorityInUse race terraform relies on.

use std::time::Duration;

use crate::elbv2_support::{berth, create_lb, create_listener, create_tg, health, network, str_of};
use serde_json::Value;
use testkit::{patience, require_tool, wait_for};

fn attr<'a>(attrs: &'a Value, key: &str) -> Option<&'a str> {
    attrs.as_array()?.iter().find(|a| a["Key"] == key).and_then(|a| a["Value"].as_str())
}

#[test]
fn load_balancer_shape_state_dns_enis_and_errors() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth(&[]);
    let net = network(&berth, 31);
    let lb = create_lb(&berth, &net, "ecs-alb");
    let arn = str_of(&lb["LoadBalancerArn"]);
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert!(
        arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/ecs-alb/")
            && id.len() == 16
            && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{arn}"
    );
    assert_eq!(lb["State"]["Code"], "provisioning");
    assert_eq!(lb["Scheme"], "internet-facing");
    assert_eq!(lb["Type"], "application");
    assert_eq!(lb["IpAddressType"], "ipv4");
    assert_eq!(lb["CanonicalHostedZoneId"], "Z35SXDOTRQ7X7K");
    assert_eq!(lb["VpcId"], net.vpc.as_str());
    assert_eq!(lb["SecurityGroups"], serde_json::json!([net.sg]));
    let dns = str_of(&lb["DNSName"]);
    let digits =
        dns.strip_prefix("ecs-alb-").and_then(|r| r.strip_suffix(".us-east-1.elb.localhost")).unwrap();
    assert!(digits.len() == 10 && digits.chars().all(|c| c.is_ascii_digit()), "{dns}");
    let zones: Vec<&str> =
        lb["AvailabilityZones"].as_array().unwrap().iter().map(|z| z["ZoneName"].as_str().unwrap()).collect();
    assert_eq!(zones, vec!["us-east-1a", "us-east-1b"]);

    // Active about a second later.
    let active = wait_for(patience(Duration::from_secs(10)), || {
        let d = berth.aws(&["elbv2", "describe-load-balancers", "--load-balancer-arns", &arn]).json();
        (d["LoadBalancers"][0]["State"]["Code"] == "active").then_some(())
    });
    assert!(active.is_some(), "the load balancer never became active");

    // AWS's default attributes.
    let attrs = berth
        .aws(&["elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", &arn])
        .json()["Attributes"]
        .clone();
    assert_eq!(attr(&attrs, "idle_timeout.timeout_seconds"), Some("60"));
    assert_eq!(attr(&attrs, "deletion_protection.enabled"), Some("false"));
    assert_eq!(attr(&attrs, "routing.http2.enabled"), Some("true"));
    assert_eq!(attr(&attrs, "routing.http.xff_header_processing.mode"), Some("append"));
    assert_eq!(attr(&attrs, "routing.http.desync_mitigation_mode"), Some("defensive"));
    assert_eq!(attr(&attrs, "client_keep_alive.seconds"), Some("3600"));
    assert_eq!(attr(&attrs, "access_logs.s3.bucket"), Some(""));
    berth
        .aws(&[
            "elbv2",
            "modify-load-balancer-attributes",
            "--load-balancer-arn",
            &arn,
            "--attributes",
            "Key=no.such.key,Value=1",
        ])
        .expect_error("ValidationError");

    // One interface per subnet, owned by amazon-elb, as terraform's destroy polls for them.
    let description = format!("ELB app/ecs-alb/{id}");
    let enis = |owner: &str| {
        berth
            .aws(&[
                "ec2",
                "describe-network-interfaces",
                "--filters",
                &format!("Name=description,Values={description}"),
                &format!("Name=attachment.instance-owner-id,Values={owner}"),
            ])
            .json()["NetworkInterfaces"]
            .as_array()
            .unwrap()
            .clone()
    };
    let mine = enis("amazon-elb");
    assert_eq!(mine.len(), 2, "{mine:?}");
    let mut subnets: Vec<&str> = mine.iter().map(|e| e["SubnetId"].as_str().unwrap()).collect();
    subnets.sort_unstable();
    let mut want = vec![net.subnet_a.as_str(), net.subnet_b.as_str()];
    want.sort_unstable();
    assert_eq!(subnets, want);
    assert!(mine.iter().all(|e| e["RequesterManaged"] == true && e["Status"] == "in-use"));
    assert!(enis("amazon-aws").is_empty());

    // Errors.
    let one_subnet =
        berth.aws(&["elbv2", "create-load-balancer", "--name", "one", "--subnets", &net.subnet_a]);
    // (checked below)
    assert!(
        one_subnet
            .expect_error("ValidationError")
            .contains("At least two subnets in two different Availability Zones")
    );
    berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "x",
            "--subnets",
            "subnet-0123456789abcdef0",
            &net.subnet_a,
        ])
        .expect_error("SubnetNotFound");
    berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "nlb",
            "--type",
            "network",
            "--subnets",
            &net.subnet_a,
            &net.subnet_b,
        ])
        .expect_error("InvalidConfigurationRequest");
    berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "bad-sg",
            "--subnets",
            &net.subnet_a,
            &net.subnet_b,
            "--security-groups",
            "sg-0123456789abcdef0",
        ])
        .expect_error("InvalidSecurityGroup");
    // Same name and settings: AWS returns the existing load balancer; other settings: an error.
    assert_eq!(create_lb(&berth, &net, "ecs-alb")["LoadBalancerArn"], arn.as_str());
    berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "ecs-alb",
            "--subnets",
            &net.subnet_a,
            &net.subnet_b,
            "--scheme",
            "internal",
        ])
        .expect_error("DuplicateLoadBalancerName");
    berth.aws(&["elbv2", "describe-load-balancers", "--names", "nope"]).expect_error("LoadBalancerNotFound");

    // Without security groups the VPC's default group is used.
    let internal = berth.aws(&[
        "elbv2",
        "create-load-balancer",
        "--name",
        "internal-lb-2",
        "--subnets",
        &net.subnet_a,
        &net.subnet_b,
    ]);
    assert!(internal.expect_error("ValidationError").contains("internal-"), "{internal:?}");
    let plain = berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            "plain",
            "--scheme",
            "internal",
            "--subnets",
            &net.subnet_a,
            &net.subnet_b,
        ])
        .json();
    assert_eq!(plain["LoadBalancers"][0]["SecurityGroups"].as_array().unwrap().len(), 1);
    assert!(str_of(&plain["LoadBalancers"][0]["DNSName"]).starts_with("internal-plain-"));

    // Tags.
    berth.aws(&["elbv2", "add-tags", "--resource-arns", &arn, "--tags", "Key=team,Value=web"]).json();
    let tags = berth.aws(&["elbv2", "describe-tags", "--resource-arns", &arn]).json();
    assert_eq!(tags["TagDescriptions"][0]["Tags"][0]["Key"], "team");
    berth
        .aws(&["elbv2", "add-tags", "--resource-arns", &arn, "--tags", "Key=a,Value=1", "Key=a,Value=2"])
        .expect_error("DuplicateTagKeys");
    berth.aws(&["elbv2", "remove-tags", "--resource-arns", &arn, "--tag-keys", "team"]).json();
    let tags = berth.aws(&["elbv2", "describe-tags", "--resource-arns", &arn]).json();
    assert_eq!(tags["TagDescriptions"][0]["Tags"], serde_json::json!([]));

    // Security groups and subnets can be replaced; interfaces follow.
    let sg2 = str_of(
        &berth
            .aws(&[
                "ec2",
                "create-security-group",
                "--group-name",
                "alb-2",
                "--description",
                "x",
                "--vpc-id",
                &net.vpc,
            ])
            .json()["GroupId"],
    );
    let set = berth
        .aws(&["elbv2", "set-security-groups", "--load-balancer-arn", &arn, "--security-groups", &sg2])
        .json();
    assert_eq!(set["SecurityGroupIds"], serde_json::json!([sg2]));
    let mine = enis("amazon-elb");
    assert!(mine.iter().all(|e| e["Groups"][0]["GroupId"] == sg2.as_str()), "{mine:?}");
    let subnet_c = str_of(
        &berth
            .aws(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &net.vpc,
                "--cidr-block",
                "10.31.3.0/24",
                "--availability-zone",
                "us-east-1c",
            ])
            .json()["Subnet"]["SubnetId"],
    );
    let set = berth
        .aws(&["elbv2", "set-subnets", "--load-balancer-arn", &arn, "--subnets", &net.subnet_a, &subnet_c])
        .json();
    assert_eq!(set["AvailabilityZones"].as_array().unwrap().len(), 2);
    let mine = enis("amazon-elb");
    assert!(
        mine.iter().any(|e| e["SubnetId"] == subnet_c.as_str())
            && !mine.iter().any(|e| e["SubnetId"] == net.subnet_b.as_str())
    );

    // Delete: listeners go with it, interfaces vanish, a second delete still succeeds.
    let listener = create_listener(&berth, &arn, "80");
    berth.aws(&["elbv2", "delete-load-balancer", "--load-balancer-arn", &arn]).json();
    assert!(enis("amazon-elb").is_empty(), "interfaces left behind");
    berth
        .aws(&["elbv2", "describe-load-balancers", "--load-balancer-arns", &arn])
        .expect_error("LoadBalancerNotFound");
    berth
        .aws(&["elbv2", "describe-listeners", "--listener-arns", listener["ListenerArn"].as_str().unwrap()])
        .expect_error("ListenerNotFound");
    berth.aws(&["elbv2", "delete-load-balancer", "--load-balancer-arn", &arn]).json();
}

#[test]
fn target_groups_defaults_registration_and_health_states() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth(&[]);
    let net = network(&berth, 32);
    let tg = create_tg(&berth, &net, "app-tg", &[]);
    let tg_arn = str_of(&tg["TargetGroupArn"]);
    assert!(tg_arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/app-tg/"));
    assert_eq!(tg["HealthCheckProtocol"], "HTTP");
    assert_eq!(tg["HealthCheckPort"], "traffic-port");
    assert_eq!(tg["HealthCheckPath"], "/");
    assert_eq!(tg["HealthCheckEnabled"], true);
    assert_eq!(tg["HealthCheckIntervalSeconds"], 30);
    assert_eq!(tg["HealthCheckTimeoutSeconds"], 5);
    assert_eq!(tg["HealthyThresholdCount"], 5);
    assert_eq!(tg["UnhealthyThresholdCount"], 2);
    assert_eq!(tg["Matcher"]["HttpCode"], "200");
    assert_eq!(tg["ProtocolVersion"], "HTTP1");
    assert_eq!(tg["IpAddressType"], "ipv4");
    assert_eq!(tg["LoadBalancerArns"], serde_json::json!([]));

    let attrs = berth
        .aws(&["elbv2", "describe-target-group-attributes", "--target-group-arn", &tg_arn])
        .json()["Attributes"]
        .clone();
    assert_eq!(attr(&attrs, "deregistration_delay.timeout_seconds"), Some("300"));
    assert_eq!(attr(&attrs, "stickiness.enabled"), Some("false"));
    assert_eq!(attr(&attrs, "stickiness.type"), Some("lb_cookie"));
    assert_eq!(attr(&attrs, "load_balancing.algorithm.type"), Some("round_robin"));
    assert_eq!(attr(&attrs, "slow_start.duration_seconds"), Some("0"));
    let modified = berth
        .aws(&[
            "elbv2",
            "modify-target-group-attributes",
            "--target-group-arn",
            &tg_arn,
            "--attributes",
            "Key=deregistration_delay.timeout_seconds,Value=5",
        ])
        .json();
    assert_eq!(attr(&modified["Attributes"], "deregistration_delay.timeout_seconds"), Some("5"));
    berth
        .aws(&[
            "elbv2",
            "modify-target-group-attributes",
            "--target-group-arn",
            &tg_arn,
            "--attributes",
            "Key=deregistration_delay.timeout_seconds,Value=9999",
        ])
        .expect_error("ValidationError");

    // Errors.
    berth.aws(&["elbv2", "describe-target-groups", "--names", "nope"]).expect_error("TargetGroupNotFound");
    berth
        .aws(&["elbv2", "describe-target-groups", "--target-group-arns", &tg_arn.replace("app-tg", "other")])
        .expect_error("TargetGroupNotFound");
    let dup = berth.aws(&[
        "elbv2",
        "create-target-group",
        "--name",
        "app-tg",
        "--protocol",
        "HTTP",
        "--port",
        "9090",
        "--vpc-id",
        &net.vpc,
        "--target-type",
        "ip",
    ]);
    dup.expect_error("DuplicateTargetGroupName");
    assert_eq!(
        create_tg(&berth, &net, "app-tg", &[])["TargetGroupArn"],
        tg_arn.as_str(),
        "same settings: same group"
    );
    berth
        .aws(&[
            "elbv2",
            "create-target-group",
            "--name",
            "bad_name",
            "--protocol",
            "HTTP",
            "--port",
            "80",
            "--vpc-id",
            &net.vpc,
        ])
        .expect_error("ValidationError");
    berth
        .aws(&[
            "elbv2",
            "create-target-group",
            "--name",
            "noport",
            "--protocol",
            "HTTP",
            "--vpc-id",
            &net.vpc,
            "--target-type",
            "ip",
        ])
        .expect_error("ValidationError");
    berth
        .aws(&[
            "elbv2",
            "modify-target-group",
            "--target-group-arn",
            &tg_arn,
            "--health-check-timeout-seconds",
            "40",
        ])
        .expect_error("InvalidConfigurationRequest");
    let modified = berth
        .aws(&[
            "elbv2",
            "modify-target-group",
            "--target-group-arn",
            &tg_arn,
            "--health-check-path",
            "/health",
            "--matcher",
            "HttpCode=200-299",
        ])
        .json();
    assert_eq!(modified["TargetGroups"][0]["HealthCheckPath"], "/health");
    assert_eq!(modified["TargetGroups"][0]["Matcher"]["HttpCode"], "200-299");

    // Registration: addresses outside the VPC's private space are refused.
    berth
        .aws(&["elbv2", "register-targets", "--target-group-arn", &tg_arn, "--targets", "Id=8.8.8.8"])
        .expect_error("InvalidTarget");
    berth
        .aws(&["elbv2", "register-targets", "--target-group-arn", &tg_arn, "--targets", "Id=not-an-ip"])
        .expect_error("InvalidTarget");
    berth
        .aws(&["elbv2", "register-targets", "--target-group-arn", &tg_arn, "--targets", "Id=10.32.1.50"])
        .json();
    // Idempotent.
    berth
        .aws(&["elbv2", "register-targets", "--target-group-arn", &tg_arn, "--targets", "Id=10.32.1.50"])
        .json();

    // No rule forwards to the group: unused / Target.NotInUse; unknown targets: Target.NotRegistered.
    let h = health(&berth, &tg_arn, &[]);
    assert_eq!(h, vec![("10.32.1.50".into(), "unused".into(), "Target.NotInUse".into())]);
    let full = berth.aws(&["elbv2", "describe-target-health", "--target-group-arn", &tg_arn]).json();
    assert_eq!(full["TargetHealthDescriptions"][0]["Target"]["Port"], 8080);
    assert_eq!(full["TargetHealthDescriptions"][0]["Target"]["AvailabilityZone"], "us-east-1a");
    assert_eq!(full["TargetHealthDescriptions"][0]["HealthCheckPort"], "8080");
    let h = health(&berth, &tg_arn, &["10.32.1.99"]);
    assert_eq!(h, vec![("10.32.1.99".into(), "unused".into(), "Target.NotRegistered".into())]);

    // Deregistering from a group nothing uses is immediate; deregistering again is an error.
    berth
        .aws(&["elbv2", "deregister-targets", "--target-group-arn", &tg_arn, "--targets", "Id=10.32.1.50"])
        .json();
    assert!(health(&berth, &tg_arn, &[]).is_empty());
    berth
        .aws(&["elbv2", "deregister-targets", "--target-group-arn", &tg_arn, "--targets", "Id=10.32.1.50"])
        .expect_error("InvalidTarget");
    berth
        .aws(&["elbv2", "describe-target-health", "--target-group-arn", &tg_arn.replace("app-tg", "gone")])
        .expect_error("TargetGroupNotFound");

    berth.aws(&["elbv2", "delete-target-group", "--target-group-arn", &tg_arn]).json();
    berth.aws(&["elbv2", "describe-target-groups", "--names", "app-tg"]).expect_error("TargetGroupNotFound");
}

#[test]
fn listeners_rules_priorities_limits_and_groups_in_use() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth(&[]);
    let net = network(&berth, 33);
    let lb = create_lb(&berth, &net, "ecs-alb");
    let lb_arn = str_of(&lb["LoadBalancerArn"]);
    let tg_arn = str_of(&create_tg(&berth, &net, "product-tg", &[])["TargetGroupArn"]);
    let tg2_arn = str_of(&create_tg(&berth, &net, "user-tg", &[])["TargetGroupArn"]);

    let listener = create_listener(&berth, &lb_arn, "80");
    let l_arn = str_of(&listener["ListenerArn"]);
    assert!(l_arn.starts_with(&lb_arn.replace(":loadbalancer/", ":listener/")), "{l_arn}");
    assert_eq!(listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"], "404");
    assert!(listener.get("SslPolicy").is_none(), "HTTP listeners have no SSL policy");
    let attrs = berth.aws(&["elbv2", "describe-listener-attributes", "--listener-arn", &l_arn]).json();
    assert_eq!(attr(&attrs["Attributes"], "routing.http.response.server.enabled"), Some("true"));
    berth
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
            &format!("Type=forward,TargetGroupArn={tg_arn}"),
        ])
        .expect_error("DuplicateListener");
    berth
        .aws(&[
            "elbv2",
            "create-listener",
            "--load-balancer-arn",
            &lb_arn,
            "--protocol",
            "TCP",
            "--port",
            "81",
            "--default-actions",
            crate::elbv2_support::NOT_FOUND_404,
        ])
        .expect_error("UnsupportedProtocol");

    // The default rule's priority is the string "default".
    let rules = berth.aws(&["elbv2", "describe-rules", "--listener-arn", &l_arn]).json();
    assert_eq!(rules["Rules"][0]["Priority"], "default");
    assert_eq!(rules["Rules"][0]["IsDefault"], true);
    assert_eq!(rules["Rules"][0]["Conditions"], serde_json::json!([]));

    let create_rule = |priority: &str, path: &str, tg: &str| {
        berth.aws(&[
            "elbv2",
            "create-rule",
            "--listener-arn",
            &l_arn,
            "--priority",
            priority,
            "--conditions",
            &format!("Field=path-pattern,Values={path}"),
            "--actions",
            &format!("Type=forward,TargetGroupArn={tg}"),
        ])
    };
    let r1 = create_rule("1", "/product-svc*", &tg_arn).json();
    let r1_arn = str_of(&r1["Rules"][0]["RuleArn"]);
    assert_eq!(r1["Rules"][0]["Priority"], "1");
    assert_eq!(r1["Rules"][0]["Conditions"][0]["PathPatternConfig"]["Values"][0], "/product-svc*");
    assert_eq!(r1["Rules"][0]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["Weight"], 1);
    let e = create_rule("1", "/user-svc*", &tg2_arn);
    assert!(e.expect_error("PriorityInUse").contains("Priority '1' is currently in use"));
    // (Priorities outside 1..=50000 are refused by the CLI itself; see the unit tests.)
    let r2_arn = str_of(&create_rule("2", "/user-svc*", &tg2_arn).json()["Rules"][0]["RuleArn"]);

    // The group a rule forwards to is in use by the load balancer.
    let tgs = berth.aws(&["elbv2", "describe-target-groups", "--target-group-arns", &tg_arn]).json();
    assert_eq!(tgs["TargetGroups"][0]["LoadBalancerArns"], serde_json::json!([lb_arn]));
    let by_lb = berth.aws(&["elbv2", "describe-target-groups", "--load-balancer-arn", &lb_arn]).json();
    assert_eq!(by_lb["TargetGroups"].as_array().unwrap().len(), 2);
    let e = berth.aws(&["elbv2", "delete-target-group", "--target-group-arn", &tg_arn]);
    assert!(e.expect_error("ResourceInUse").contains("is currently in use by a listener or a rule"));

    // A target group serves one load balancer only.
    let other = create_lb(&berth, &net, "other-alb");
    berth
        .aws(&[
            "elbv2",
            "create-listener",
            "--load-balancer-arn",
            other["LoadBalancerArn"].as_str().unwrap(),
            "--protocol",
            "HTTP",
            "--port",
            "80",
            "--default-actions",
            &format!("Type=forward,TargetGroupArn={tg_arn}"),
        ])
        .expect_error("TargetGroupAssociationLimit");

    // Condition limits.
    let rule_with = |conditions: &[&str]| {
        let mut args =
            vec!["elbv2", "create-rule", "--listener-arn", &l_arn, "--priority", "10", "--conditions"];
        args.extend_from_slice(conditions);
        let action = format!("Type=forward,TargetGroupArn={tg_arn}");
        args.extend_from_slice(&["--actions", &action]);
        berth.aws(&args)
    };
    rule_with(&["Field=path-pattern,PathPatternConfig={Values=[/a,/b,/c,/d]}"])
        .expect_error("ValidationError");
    rule_with(&["Field=path-pattern,Values=/a", "Field=path-pattern,Values=/b"])
        .expect_error("ValidationError");
    rule_with(&[
        "Field=path-pattern,PathPatternConfig={Values=[/a,/b,/c]}",
        "Field=http-header,HttpHeaderConfig={HttpHeaderName=X-A,Values=[1,2,3]}",
    ])
    .expect_error("ValidationError");
    rule_with(&["Field=path-pattern,PathPatternConfig={Values=[/a**,/b**,/c**]}"])
        .expect_error("ValidationError");
    rule_with(&["Field=cookie,Values=x"]).expect_error("ValidationError");
    let ok = rule_with(&[
        "Field=host-header,HostHeaderConfig={Values=[api.example.com]}",
        "Field=http-request-method,HttpRequestMethodConfig={Values=[GET,HEAD]}",
        "Field=query-string,QueryStringConfig={Values=[{Key=v,Value=2}]}",
    ])
    .json();
    let r10_arn = str_of(&ok["Rules"][0]["RuleArn"]);
    assert_eq!(ok["Rules"][0]["Conditions"][0]["HostHeaderConfig"]["Values"][0], "api.example.com");

    // Priorities can be swapped in one call; a clash is PriorityInUse.
    let swapped = berth
        .aws(&[
            "elbv2",
            "set-rule-priorities",
            "--rule-priorities",
            &format!("RuleArn={r1_arn},Priority=2"),
            &format!("RuleArn={r2_arn},Priority=1"),
        ])
        .json();
    assert_eq!(swapped["Rules"].as_array().unwrap().len(), 2);
    berth
        .aws(&["elbv2", "set-rule-priorities", "--rule-priorities", &format!("RuleArn={r10_arn},Priority=1")])
        .expect_error("PriorityInUse");
    let order: Vec<String> =
        berth.aws(&["elbv2", "describe-rules", "--listener-arn", &l_arn]).json()["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| str_of(&r["Priority"]))
            .collect();
    assert_eq!(order, vec!["1", "2", "10", "default"]);

    // ModifyRule and ModifyListener.
    let modified = berth
        .aws(&[
            "elbv2",
            "modify-rule",
            "--rule-arn",
            &r1_arn,
            "--conditions",
            "Field=path-pattern,Values=/products*",
        ])
        .json();
    assert_eq!(modified["Rules"][0]["Conditions"][0]["Values"][0], "/products*");
    let modified = berth
        .aws(&[
            "elbv2",
            "modify-listener",
            "--listener-arn",
            &l_arn,
            "--default-actions",
            "Type=redirect,RedirectConfig={Path=/product-svc,StatusCode=HTTP_302}",
        ])
        .json();
    assert_eq!(modified["Listeners"][0]["DefaultActions"][0]["RedirectConfig"]["Host"], "#{host}");
    let default_rule =
        berth.aws(&["elbv2", "describe-rules", "--listener-arn", &l_arn]).json()["Rules"][3].clone();
    assert_eq!(default_rule["Actions"][0]["Type"], "redirect");
    berth
        .aws(&["elbv2", "delete-rule", "--rule-arn", default_rule["RuleArn"].as_str().unwrap()])
        .expect_error("OperationNotPermitted");

    // A registered target of a used group starts `initial`.
    berth
        .aws(&["elbv2", "register-targets", "--target-group-arn", &tg_arn, "--targets", "Id=10.33.1.60"])
        .json();
    let h = health(&berth, &tg_arn, &[]);
    assert_eq!(h[0].0, "10.33.1.60");
    // `initial` (registration or first checks in progress) until the data plane has a verdict;
    // nothing listens on the target, so that verdict is `unhealthy`.
    assert!(
        (h[0].1 == "initial"
            && ["Elb.RegistrationInProgress", "Elb.InitialHealthChecking"].contains(&h[0].2.as_str()))
            || h[0].1 == "unhealthy",
        "{h:?}"
    );

    // Not found.
    berth
        .aws(&["elbv2", "describe-rules", "--rule-arns", &format!("{r1_arn}0")])
        .expect_error("RuleNotFound");
    berth
        .aws(&["elbv2", "describe-listeners", "--listener-arns", &format!("{l_arn}0")])
        .expect_error("ListenerNotFound");
    berth
        .aws(&["elbv2", "describe-listeners", "--load-balancer-arn", &format!("{lb_arn}0")])
        .expect_error("LoadBalancerNotFound");

    // Deleting the listener deletes its rules; the group is free again.
    berth.aws(&["elbv2", "delete-listener", "--listener-arn", &l_arn]).json();
    berth.aws(&["elbv2", "describe-rules", "--rule-arns", &r1_arn]).expect_error("RuleNotFound");
    berth.aws(&["elbv2", "delete-listener", "--listener-arn", &l_arn]).expect_error("ListenerNotFound");
    berth.aws(&["elbv2", "delete-target-group", "--target-group-arn", &tg2_arn]).json();
}

#[test]
fn two_create_rule_calls_racing_for_one_priority_one_gets_priority_in_use() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth(&[]);
    let net = network(&berth, 34);
    let lb_arn = str_of(&create_lb(&berth, &net, "race-alb")["LoadBalancerArn"]);
    let l_arn = str_of(&create_listener(&berth, &lb_arn, "80")["ListenerArn"]);
    let tgs: Vec<String> = (0..2)
        .map(|i| str_of(&create_tg(&berth, &net, &format!("race-tg-{i}"), &[])["TargetGroupArn"]))
        .collect();
    let outcomes: Vec<testkit::AwsOutput> = std::thread::scope(|s| {
        let handles: Vec<_> = tgs
            .iter()
            .enumerate()
            .map(|(i, tg)| {
                let (berth, l_arn) = (&berth, &l_arn);
                s.spawn(move || {
                    berth.aws(&[
                        "elbv2",
                        "create-rule",
                        "--listener-arn",
                        l_arn,
                        "--priority",
                        "1",
                        "--conditions",
                        &format!("Field=path-pattern,Values=/svc-{i}*"),
                        "--actions",
                        &format!("Type=forward,TargetGroupArn={tg}"),
                    ])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = outcomes.iter().filter(|o| o.code == 0).count();
    assert_eq!(won, 1, "exactly one wins: {outcomes:?}");
    let lost = outcomes.iter().find(|o| o.code != 0).unwrap();
    lost.expect_error("PriorityInUse");
    let rules = berth.aws(&["elbv2", "describe-rules", "--listener-arn", &l_arn]).json();
    assert_eq!(rules["Rules"].as_array().unwrap().len(), 2);
}
