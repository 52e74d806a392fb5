//! The two-services example's ALB (`alb.tf`, with `main.tf`, `variables.tf`, `vpc.tf`, `iam.tf`)
//! applied by the real terraform and AWS provider: the two listener rules race for one priority
//! (the provider picks max+1 for both and retries the loser on PriorityInUse), the plan after
//! apply is empty, the listener is really served, and destroy leaves no load balancer, target
//! group, listener or network interface behind. The provider's ALB waiter sleeps 2 × 30 s, so the
//! apply takes more than a minute.

use crate::elbv2_support::str_of;
use testkit::{require_tool, workspace_root};

#[test]
fn terraform_applies_the_example_alb_plans_empty_and_destroys_it_all() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    let mut berth = crate::elbv2_support::berth(&[]);
    let tf = berth.terraform(
        workspace_root().join("examples/two-services"),
        Some(&["main.tf", "variables.tf", "vpc.tf", "iam.tf", "alb.tf"]),
    );
    tf.init();
    tf.apply();

    let lbs = berth.aws(&["elbv2", "describe-load-balancers", "--names", "ecs-alb"]).json();
    let lb = lbs["LoadBalancers"][0].clone();
    let lb_arn = str_of(&lb["LoadBalancerArn"]);
    assert_eq!(lb["State"]["Code"], "active");
    assert_eq!(lb["Scheme"], "internet-facing");
    assert!(str_of(&lb["DNSName"]).ends_with(".us-east-1.elb.localhost"));

    let listeners = berth.aws(&["elbv2", "describe-listeners", "--load-balancer-arn", &lb_arn]).json();
    let l_arn = str_of(&listeners["Listeners"][0]["ListenerArn"]);
    let rules = berth.aws(&["elbv2", "describe-rules", "--listener-arn", &l_arn]).json();
    let priorities: Vec<String> =
        rules["Rules"].as_array().unwrap().iter().map(|r| str_of(&r["Priority"])).collect();
    assert_eq!(priorities, vec!["1", "2", "default"]);
    let tgs =
        berth.aws(&["elbv2", "describe-target-groups", "--names", "product-svc-tg", "user-svc-tg"]).json();
    for tg in tgs["TargetGroups"].as_array().unwrap() {
        assert_eq!(tg["LoadBalancerArns"], serde_json::json!([lb_arn]), "{tg}");
        assert_eq!(tg["HealthCheckPath"], "/health");
    }
    let enis = berth
        .aws(&[
            "ec2",
            "describe-network-interfaces",
            "--filters",
            "Name=attachment.instance-owner-id,Values=amazon-elb",
        ])
        .json();
    assert_eq!(enis["NetworkInterfaces"].as_array().unwrap().len(), 2);

    // The listener is served, and berth says where.
    let (code, body) = berth.get("/_berth/load-balancers");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listener = &status["loadBalancers"][0]["listeners"][0];
    assert_eq!(listener["port"], 80);
    let address = str_of(&listener["address"]);
    let (code, body) = testkit::http_get(&format!("http://{address}/")).unwrap();
    assert_eq!((code, body.as_str()), (404, "Not Found"));

    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan right after apply must be empty:\n{plan}");

    // The load balancer survives a restart: same DNS name, served again, still an empty plan.
    berth.restart();
    let again = berth.aws(&["elbv2", "describe-load-balancers", "--names", "ecs-alb"]).json();
    assert_eq!(again["LoadBalancers"][0]["DNSName"], lb["DNSName"]);
    let served = testkit::wait_for(testkit::patience(std::time::Duration::from_secs(10)), || {
        let (_, body) = berth.get("/_berth/load-balancers");
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v["loadBalancers"][0]["listeners"][0]["address"].as_str().map(str::to_string)
    });
    assert!(served.is_some(), "the listener is not served after a restart");
    let tf = tf.with_endpoint(&berth.endpoint);
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan after a restart must be empty:\n{plan}");

    tf.destroy();
    let lbs = berth.aws(&["elbv2", "describe-load-balancers"]).json();
    assert_eq!(lbs["LoadBalancers"], serde_json::json!([]));
    let tgs = berth.aws(&["elbv2", "describe-target-groups"]).json();
    assert_eq!(tgs["TargetGroups"], serde_json::json!([]));
    berth.aws(&["elbv2", "describe-listeners", "--listener-arns", &l_arn]).expect_error("ListenerNotFound");
    let enis = berth.aws(&["ec2", "describe-network-interfaces"]).json();
    assert_eq!(enis["NetworkInterfaces"], serde_json::json!([]));
}
