//! The seed's network and IAM part (`main.tf`, `variables.tf`, `vpc.tf` with the local VPC
//! module, `iam.tf`) applied by the real terraform and AWS provider: apply, an empty plan (also
//! after berth restarts), destroy, and then the AWS CLI finds nothing left.
//!
//! Run with `--nocapture` to see each terraform command's wall time.

use serde_json::Value;
use testkit::{Berth, require_tool, workspace_root};

fn list(berth: &Berth, args: &[&str], key: &str) -> Vec<Value> {
    let out = berth.aws(args).json();
    out[key].as_array().unwrap_or_else(|| panic!("{key} missing in {out}")).clone()
}

fn tag(v: &Value, key: &str) -> Option<String> {
    v["Tags"]
        .as_array()?
        .iter()
        .find(|t| t["Key"] == key)
        .and_then(|t| t["Value"].as_str())
        .map(str::to_string)
}

#[test]
fn terraform_applies_plans_empty_and_destroys_the_seed_network() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    let mut berth = Berth::start(env!("CARGO_BIN_EXE_berth"));
    let tf = berth.terraform(
        workspace_root().join("examples/two-services"),
        Some(&["main.tf", "variables.tf", "vpc.tf", "iam.tf"]),
    );
    tf.init();
    tf.apply();

    // What the VPC module and the two security groups made, as the AWS CLI sees it.
    let vpcs = list(&berth, &["ec2", "describe-vpcs"], "Vpcs");
    assert_eq!(vpcs.len(), 1);
    let vpc_id = vpcs[0]["VpcId"].as_str().unwrap().to_string();
    assert_eq!(tag(&vpcs[0], "Name").as_deref(), Some("ecs-vpc"));
    assert_eq!(vpcs[0]["CidrBlock"], "10.0.0.0/16");
    let hostnames = berth
        .aws(&["ec2", "describe-vpc-attribute", "--vpc-id", &vpc_id, "--attribute", "enableDnsHostnames"])
        .json();
    assert_eq!(hostnames["EnableDnsHostnames"]["Value"], true);

    let subnets = list(&berth, &["ec2", "describe-subnets"], "Subnets");
    let mut names: Vec<String> = subnets.iter().filter_map(|s| tag(s, "Name")).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ecs-vpc-private-us-east-1a",
            "ecs-vpc-private-us-east-1b",
            "ecs-vpc-public-us-east-1a",
            "ecs-vpc-public-us-east-1b"
        ]
    );

    // The adopted default security group has no rules left; the seed's quirk opens private-sg.
    let groups = list(&berth, &["ec2", "describe-security-groups"], "SecurityGroups");
    let default_sg = groups.iter().find(|g| g["GroupName"] == "default").unwrap();
    assert_eq!(tag(default_sg, "Name").as_deref(), Some("ecs-vpc-default"));
    assert_eq!(default_sg["IpPermissions"], serde_json::json!([]));
    assert_eq!(default_sg["IpPermissionsEgress"], serde_json::json!([]));
    let private_sg = groups.iter().find(|g| g["GroupName"] == "private-sg").unwrap();
    assert_eq!(private_sg["IpPermissions"][0]["IpRanges"][0]["CidrIp"], "0.0.0.0/0");
    assert_eq!(private_sg["IpPermissions"][0]["UserIdGroupPairs"], serde_json::json!([]));

    // One NAT gateway with its interface and address in the first public subnet.
    let nats = list(&berth, &["ec2", "describe-nat-gateways"], "NatGateways");
    assert_eq!(nats.len(), 1);
    assert_eq!(nats[0]["State"], "available");
    assert_eq!(tag(&nats[0], "Name").as_deref(), Some("ecs-vpc-us-east-1a"));
    let nat_ip = nats[0]["NatGatewayAddresses"][0]["PrivateIp"].as_str().unwrap();
    assert_eq!(nat_ip, "10.0.0.4", "first address after the subnet's reserved ones");
    let enis = list(&berth, &["ec2", "describe-network-interfaces"], "NetworkInterfaces");
    assert_eq!(enis.len(), 1);
    assert_eq!(enis[0]["InterfaceType"], "nat_gateway");
    assert_eq!(enis[0]["PrivateIpAddress"], nat_ip);

    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan right after apply must be empty:\n{plan}");

    // The same cloud after a restart: same ids, still no changes.
    berth.restart();
    let again = list(&berth, &["ec2", "describe-vpcs"], "Vpcs");
    assert_eq!(again[0]["VpcId"], vpc_id.as_str());
    let tf = tf.with_endpoint(&berth.endpoint);
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan after a restart must be empty:\n{plan}");

    tf.destroy();
    for (args, key) in [
        (&["ec2", "describe-vpcs"][..], "Vpcs"),
        (&["ec2", "describe-subnets"][..], "Subnets"),
        (&["ec2", "describe-internet-gateways"][..], "InternetGateways"),
        (&["ec2", "describe-addresses"][..], "Addresses"),
        (&["ec2", "describe-route-tables"][..], "RouteTables"),
        (&["ec2", "describe-security-groups"][..], "SecurityGroups"),
        (&["ec2", "describe-network-acls"][..], "NetworkAcls"),
        (&["ec2", "describe-network-interfaces"][..], "NetworkInterfaces"),
    ] {
        assert_eq!(list(&berth, args, key), Vec::<Value>::new(), "{key} left after destroy");
    }
    // Deleted NAT gateways stay visible for a while, as on AWS; they must be `deleted`.
    for nat in list(&berth, &["ec2", "describe-nat-gateways"], "NatGateways") {
        assert_eq!(nat["State"], "deleted", "{nat}");
    }
    berth.aws(&["iam", "get-role", "--role-name", "ecs-task-execution-role"]).expect_error("NoSuchEntity");
}
