//! Shared setup of the ELBv2 tests: a VPC with two subnets in two zones and a security group,
//! created through the AWS CLI, and small helpers.

use serde_json::Value;
use testkit::Berth;

pub fn berth(extra: &[&str]) -> Berth {
    let mut args = vec!["--listener-ports", "ephemeral"];
    args.extend_from_slice(extra);
    Berth::start_with(env!("CARGO_BIN_EXE_berth"), &args)
}

pub struct Net {
    pub vpc: String,
    pub subnet_a: String,
    pub subnet_b: String,
    pub sg: String,
    /// The VPC's second octet (`10.<n>.0.0/16`).
    pub octet: u8,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

/// A VPC `10.<octet>.0.0/16` with subnets `10.<octet>.1.0/24` (us-east-1a) and
/// `10.<octet>.2.0/24` (us-east-1b), and a security group.
pub fn network(berth: &Berth, octet: u8) -> Net {
    let vpc = s(
        &berth.aws(&["ec2", "create-vpc", "--cidr-block", &format!("10.{octet}.0.0/16")]).json()["Vpc"]["VpcId"],
    );
    let subnet = |n: u8, az: &str| {
        s(&berth
            .aws(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &vpc,
                "--cidr-block",
                &format!("10.{octet}.{n}.0/24"),
                "--availability-zone",
                az,
            ])
            .json()["Subnet"]["SubnetId"])
    };
    let subnet_a = subnet(1, "us-east-1a");
    let subnet_b = subnet(2, "us-east-1b");
    let sg = s(&berth
        .aws(&[
            "ec2",
            "create-security-group",
            "--group-name",
            "alb-sg",
            "--description",
            "alb",
            "--vpc-id",
            &vpc,
        ])
        .json()["GroupId"]);
    Net { vpc, subnet_a, subnet_b, sg, octet }
}

pub fn create_lb(berth: &Berth, net: &Net, name: &str) -> Value {
    berth
        .aws(&[
            "elbv2",
            "create-load-balancer",
            "--name",
            name,
            "--subnets",
            &net.subnet_a,
            &net.subnet_b,
            "--security-groups",
            &net.sg,
        ])
        .json()["LoadBalancers"][0]
        .clone()
}

pub fn create_tg(berth: &Berth, net: &Net, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "elbv2",
        "create-target-group",
        "--name",
        name,
        "--protocol",
        "HTTP",
        "--port",
        "8080",
        "--vpc-id",
        &net.vpc,
        "--target-type",
        "ip",
    ];
    args.extend_from_slice(extra);
    berth.aws(&args).json()["TargetGroups"][0].clone()
}

pub const NOT_FOUND_404: &str =
    "Type=fixed-response,FixedResponseConfig={StatusCode=404,ContentType=text/plain,MessageBody=Not Found}";

pub fn create_listener(berth: &Berth, lb_arn: &str, port: &str) -> Value {
    berth
        .aws(&[
            "elbv2",
            "create-listener",
            "--load-balancer-arn",
            lb_arn,
            "--protocol",
            "HTTP",
            "--port",
            port,
            "--default-actions",
            NOT_FOUND_404,
        ])
        .json()["Listeners"][0]
        .clone()
}

pub fn str_of(v: &Value) -> String {
    s(v)
}

/// The states of DescribeTargetHealth as `(id, state, reason)`.
pub fn health(berth: &Berth, tg_arn: &str, targets: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["elbv2", "describe-target-health", "--target-group-arn", tg_arn];
    let specs: Vec<String> = targets.iter().map(|t| format!("Id={t}")).collect();
    if !specs.is_empty() {
        args.push("--targets");
        args.extend(specs.iter().map(String::as_str));
    }
    berth.aws(&args).json()["TargetHealthDescriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                s(&d["Target"]["Id"]),
                s(&d["TargetHealth"]["State"]),
                d["TargetHealth"]["Reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
