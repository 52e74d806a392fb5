//! EC2's validation and error codes through the real AWS CLI: invalid and overlapping CIDRs,
//! deletes blocked by dependencies, unknown ids (HTTP 400), duplicates, routes to gateways of
//! other networks, and filters that match nothing.

use serde_json::Value;
use testkit::{Berth, require_tool};

fn berth() -> Berth {
    Berth::start(env!("CARGO_BIN_EXE_berth"))
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}")).to_string()
}

fn vpc(berth: &Berth, cidr: &str) -> String {
    s(&berth.aws(&["ec2", "create-vpc", "--cidr-block", cidr]).json()["Vpc"], "VpcId")
}

fn subnet(berth: &Berth, vpc: &str, cidr: &str) -> String {
    let out = berth
        .aws(&[
            "ec2",
            "create-subnet",
            "--vpc-id",
            vpc,
            "--cidr-block",
            cidr,
            "--availability-zone",
            "us-east-1a",
        ])
        .json();
    s(&out["Subnet"], "SubnetId")
}

fn group(berth: &Berth, vpc: &str, name: &str) -> String {
    let out = berth
        .aws(&[
            "ec2",
            "create-security-group",
            "--vpc-id",
            vpc,
            "--group-name",
            name,
            "--description",
            "test",
        ])
        .json();
    s(&out, "GroupId")
}

#[test]
fn cidrs_are_checked_like_ec2() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let err = berth
        .aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/33"])
        .expect_error("InvalidParameterValue")
        .to_string();
    assert!(
        err.contains(
            "Value (10.0.0.0/33) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ),
        "{err}"
    );
    berth.aws(&["ec2", "create-vpc", "--cidr-block", "not-a-cidr"]).expect_error("InvalidParameterValue");
    let err = berth
        .aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/8"])
        .expect_error("InvalidVpc.Range")
        .to_string();
    assert!(err.contains("The CIDR '10.0.0.0/8' is invalid."), "{err}");

    let vpc = vpc(&berth, "10.0.0.0/16");
    subnet(&berth, &vpc, "10.0.1.0/24");
    let try_subnet =
        |cidr: &str| berth.aws(&["ec2", "create-subnet", "--vpc-id", &vpc, "--cidr-block", cidr]);
    let err = try_subnet("10.0.1.0/24").expect_error("InvalidSubnet.Conflict").to_string();
    assert!(err.contains("The CIDR '10.0.1.0/24' conflicts with another subnet"), "{err}");
    try_subnet("10.0.1.128/25").expect_error("InvalidSubnet.Conflict");
    try_subnet("10.0.0.0/23").expect_error("InvalidSubnet.Conflict");
    let err = try_subnet("10.1.0.0/24").expect_error("InvalidSubnet.Range").to_string();
    assert!(err.contains("The CIDR '10.1.0.0/24' is invalid."), "{err}");
    try_subnet("10.0.2.0/29").expect_error("InvalidSubnet.Range");
    try_subnet("10.0.2.0/33").expect_error("InvalidParameterValue");
    try_subnet("10.0.2.7/24").expect_error("InvalidParameterValue");
    let err = berth
        .aws(&[
            "ec2",
            "create-subnet",
            "--vpc-id",
            &vpc,
            "--cidr-block",
            "10.0.2.0/24",
            "--availability-zone",
            "us-east-1z",
        ])
        .expect_error("InvalidParameterValue")
        .to_string();
    assert!(err.contains("us-east-1a, us-east-1b"), "{err}");
    // Nothing of the failed calls was created.
    let subnets = berth.aws(&["ec2", "describe-subnets"]).json();
    assert_eq!(subnets["Subnets"].as_array().unwrap().len(), 1);
}

#[test]
fn deletes_blocked_by_dependencies_are_dependency_violations() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let vpc = vpc(&berth, "10.0.0.0/16");

    // A subnet.
    let subnet_id = subnet(&berth, &vpc, "10.0.1.0/24");
    let err =
        berth.aws(&["ec2", "delete-vpc", "--vpc-id", &vpc]).expect_error("DependencyViolation").to_string();
    assert!(err.contains(&format!("The vpc '{vpc}' has dependencies and cannot be deleted.")), "{err}");

    // A security group used by a network interface: neither the group nor the subnet can go.
    let sg = group(&berth, &vpc, "app");
    let eni =
        berth.aws(&["ec2", "create-network-interface", "--subnet-id", &subnet_id, "--groups", &sg]).json();
    let eni_id = s(&eni["NetworkInterface"], "NetworkInterfaceId");
    assert_eq!(eni["NetworkInterface"]["PrivateIpAddress"], "10.0.1.4");
    let err = berth
        .aws(&["ec2", "delete-security-group", "--group-id", &sg])
        .expect_error("DependencyViolation")
        .to_string();
    assert!(err.contains(&format!("resource {sg} has a dependent object")), "{err}");
    let err = berth
        .aws(&["ec2", "delete-subnet", "--subnet-id", &subnet_id])
        .expect_error("DependencyViolation")
        .to_string();
    assert!(
        err.contains(&format!("The subnet '{subnet_id}' has dependencies and cannot be deleted.")),
        "{err}"
    );
    berth.aws(&["ec2", "delete-network-interface", "--network-interface-id", &eni_id]).json();
    berth.aws(&["ec2", "delete-subnet", "--subnet-id", &subnet_id]).json();

    // A security group referenced by another group's rule.
    let lb = group(&berth, &vpc, "lb");
    berth
        .aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            &sg,
            "--protocol",
            "tcp",
            "--port",
            "3000",
            "--source-group",
            &lb,
        ])
        .json();
    berth.aws(&["ec2", "delete-security-group", "--group-id", &lb]).expect_error("DependencyViolation");
    // The default group cannot be deleted at all.
    let default_sg = berth
        .aws(&[
            "ec2",
            "describe-security-groups",
            "--filters",
            &format!("Name=vpc-id,Values={vpc}"),
            "Name=group-name,Values=default",
        ])
        .json();
    let default_id = s(&default_sg["SecurityGroups"][0], "GroupId");
    berth.aws(&["ec2", "delete-security-group", "--group-id", &default_id]).expect_error("CannotDelete");
    // A security group is still in the VPC.
    berth.aws(&["ec2", "delete-vpc", "--vpc-id", &vpc]).expect_error("DependencyViolation");
    berth.aws(&["ec2", "delete-security-group", "--group-id", &sg]).json();
    berth.aws(&["ec2", "delete-security-group", "--group-id", &lb]).json();

    // An attached internet gateway: it blocks the VPC, and cannot itself be deleted while attached.
    let igw =
        s(&berth.aws(&["ec2", "create-internet-gateway"]).json()["InternetGateway"], "InternetGatewayId");
    berth.aws(&["ec2", "attach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();
    berth.aws(&["ec2", "delete-vpc", "--vpc-id", &vpc]).expect_error("DependencyViolation");
    berth
        .aws(&["ec2", "delete-internet-gateway", "--internet-gateway-id", &igw])
        .expect_error("DependencyViolation");
    berth
        .aws(&["ec2", "attach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc])
        .expect_error("Resource.AlreadyAssociated");
    berth.aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();
    berth
        .aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc])
        .expect_error("Gateway.NotAttached");
    berth.aws(&["ec2", "delete-internet-gateway", "--internet-gateway-id", &igw]).json();

    // A route table associated with a subnet, and the main route table.
    let rtb =
        s(&berth.aws(&["ec2", "create-route-table", "--vpc-id", &vpc]).json()["RouteTable"], "RouteTableId");
    let subnet = subnet(&berth, &vpc, "10.0.2.0/24");
    let assoc =
        berth.aws(&["ec2", "associate-route-table", "--route-table-id", &rtb, "--subnet-id", &subnet]).json();
    berth.aws(&["ec2", "delete-route-table", "--route-table-id", &rtb]).expect_error("DependencyViolation");
    let main = berth
        .aws(&[
            "ec2",
            "describe-route-tables",
            "--filters",
            "Name=association.main,Values=true",
            &format!("Name=vpc-id,Values={vpc}"),
        ])
        .json();
    let main_id = s(&main["RouteTables"][0], "RouteTableId");
    berth
        .aws(&["ec2", "delete-route-table", "--route-table-id", &main_id])
        .expect_error("DependencyViolation");
    berth.aws(&["ec2", "disassociate-route-table", "--association-id", &s(&assoc, "AssociationId")]).json();
    berth.aws(&["ec2", "delete-route-table", "--route-table-id", &rtb]).json();
    berth.aws(&["ec2", "delete-subnet", "--subnet-id", &subnet]).json();

    // Emptied, the VPC goes, and with it its default group, ACL and main route table.
    berth.aws(&["ec2", "delete-vpc", "--vpc-id", &vpc]).json();
    for (args, key) in [
        (&["ec2", "describe-security-groups"][..], "SecurityGroups"),
        (&["ec2", "describe-network-acls"][..], "NetworkAcls"),
        (&["ec2", "describe-route-tables"][..], "RouteTables"),
    ] {
        assert_eq!(berth.aws(args).json()[key], serde_json::json!([]), "{key}");
    }
}

#[test]
fn unknown_ids_fail_with_aws_codes_and_empty_filters_return_empty_lists() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    for (args, code, message) in [
        (
            vec!["describe-vpcs", "--vpc-ids", "vpc-0123456789abcdef0"],
            "InvalidVpcID.NotFound",
            "The vpc ID 'vpc-0123456789abcdef0' does not exist",
        ),
        (
            vec!["describe-subnets", "--subnet-ids", "subnet-1"],
            "InvalidSubnetID.NotFound",
            "The subnet ID 'subnet-1' does not exist",
        ),
        (
            vec!["describe-security-groups", "--group-ids", "sg-1"],
            "InvalidGroup.NotFound",
            "The security group 'sg-1' does not exist",
        ),
        (
            vec!["describe-route-tables", "--route-table-ids", "rtb-1"],
            "InvalidRouteTableID.NotFound",
            "The routeTable ID 'rtb-1' does not exist",
        ),
        (
            vec!["describe-internet-gateways", "--internet-gateway-ids", "igw-1"],
            "InvalidInternetGatewayID.NotFound",
            "The internetGateway ID 'igw-1' does not exist",
        ),
        (vec!["describe-nat-gateways", "--nat-gateway-ids", "nat-1"], "NatGatewayNotFound", "nat-1"),
        (
            vec!["describe-addresses", "--allocation-ids", "eipalloc-1"],
            "InvalidAllocationID.NotFound",
            "eipalloc-1",
        ),
        (
            vec!["describe-network-acls", "--network-acl-ids", "acl-1"],
            "InvalidNetworkAclID.NotFound",
            "acl-1",
        ),
        (
            vec!["describe-network-interfaces", "--network-interface-ids", "eni-1"],
            "InvalidNetworkInterfaceID.NotFound",
            "eni-1",
        ),
        (
            vec!["describe-security-group-rules", "--security-group-rule-ids", "sgr-1"],
            "InvalidSecurityGroupRuleId.NotFound",
            "sgr-1",
        ),
        (vec!["delete-vpc", "--vpc-id", "vpc-1"], "InvalidVpcID.NotFound", "vpc-1"),
        (vec!["delete-subnet", "--subnet-id", "subnet-1"], "InvalidSubnetID.NotFound", "subnet-1"),
        (vec!["delete-security-group", "--group-id", "sg-1"], "InvalidGroup.NotFound", "sg-1"),
        (vec!["delete-route-table", "--route-table-id", "rtb-1"], "InvalidRouteTableID.NotFound", "rtb-1"),
        (
            vec!["create-subnet", "--vpc-id", "vpc-1", "--cidr-block", "10.0.0.0/24"],
            "InvalidVpcID.NotFound",
            "vpc-1",
        ),
        (
            vec!["create-tags", "--resources", "vpc-1", "--tags", "Key=a,Value=b"],
            "InvalidVpcID.NotFound",
            "vpc-1",
        ),
        (
            vec!["disassociate-route-table", "--association-id", "rtbassoc-1"],
            "InvalidAssociationID.NotFound",
            "rtbassoc-1",
        ),
        (
            vec!["release-address", "--allocation-id", "eipalloc-1"],
            "InvalidAllocationID.NotFound",
            "eipalloc-1",
        ),
    ] {
        let mut full = vec!["ec2"];
        full.extend(args.iter().copied());
        let err = berth.aws(&full).expect_error(code).to_string();
        assert!(err.contains(message), "{full:?}: {err}");
    }

    // HTTP 400 in EC2's error document (the query protocol also answers GET).
    let (status, body) = berth.get("/?Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>"), "{body}");

    // Filters that match nothing are empty lists, not errors; unknown filter names are errors.
    let vpc = vpc(&berth, "10.0.0.0/16");
    let by_vpc = format!("Name=vpc-id,Values={vpc}");
    for (command, option, filter, key) in [
        ("describe-vpcs", "--filters", "Name=tag:Name,Values=nope", "Vpcs"),
        ("describe-subnets", "--filters", by_vpc.as_str(), "Subnets"),
        ("describe-security-groups", "--filters", "Name=group-name,Values=nope*", "SecurityGroups"),
        ("describe-route-tables", "--filters", "Name=association.main,Values=false", "RouteTables"),
        (
            "describe-network-interfaces",
            "--filters",
            "Name=attachment.instance-owner-id,Values=amazon-elb",
            "NetworkInterfaces",
        ),
        ("describe-nat-gateways", "--filter", "Name=state,Values=available", "NatGateways"),
        ("describe-addresses", "--filters", "Name=domain,Values=vpc", "Addresses"),
    ] {
        assert_eq!(
            berth.aws(&["ec2", command, option, filter]).json()[key],
            serde_json::json!([]),
            "{command}"
        );
    }
    let err = berth
        .aws(&["ec2", "describe-vpcs", "--filters", "Name=colour,Values=red"])
        .expect_error("InvalidParameterValue")
        .to_string();
    assert!(err.contains("The filter 'colour' is invalid"), "{err}");
}

#[test]
fn duplicates_and_routes_to_foreign_gateways_are_refused() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let vpc = vpc(&berth, "10.0.0.0/16");
    let sg = group(&berth, &vpc, "web");
    let err = berth
        .aws(&[
            "ec2",
            "create-security-group",
            "--vpc-id",
            &vpc,
            "--group-name",
            "web",
            "--description",
            "again",
        ])
        .expect_error("InvalidGroup.Duplicate")
        .to_string();
    assert!(err.contains(&format!("The security group 'web' already exists for VPC '{vpc}'")), "{err}");
    // The same name in another VPC is fine.
    let other = self::vpc(&berth, "10.1.0.0/16");
    group(&berth, &other, "web");

    let rule = [
        "ec2",
        "authorize-security-group-ingress",
        "--group-id",
        &sg,
        "--protocol",
        "tcp",
        "--port",
        "80",
        "--cidr",
        "0.0.0.0/0",
    ];
    let added = berth.aws(&rule).json();
    let rule_id = s(&added["SecurityGroupRules"][0], "SecurityGroupRuleId");
    assert!(rule_id.starts_with("sgr-"), "{rule_id}");
    let err = berth.aws(&rule).expect_error("InvalidPermission.Duplicate").to_string();
    assert!(
        err.contains(
            "the specified rule \"peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW\" already exists"
        ),
        "{err}"
    );
    // Revoking what is not there is InvalidPermission.NotFound; by rule id, the rule goes.
    berth
        .aws(&[
            "ec2",
            "revoke-security-group-ingress",
            "--group-id",
            &sg,
            "--protocol",
            "tcp",
            "--port",
            "81",
            "--cidr",
            "0.0.0.0/0",
        ])
        .expect_error("InvalidPermission.NotFound");
    berth
        .aws(&[
            "ec2",
            "revoke-security-group-ingress",
            "--group-id",
            &sg,
            "--security-group-rule-ids",
            &rule_id,
        ])
        .json();
    berth
        .aws(&[
            "ec2",
            "revoke-security-group-ingress",
            "--group-id",
            &sg,
            "--security-group-rule-ids",
            &rule_id,
        ])
        .expect_error("InvalidSecurityGroupRuleId.NotFound");
    // Referencing a group of another VPC or a missing group fails.
    berth
        .aws(&[
            "ec2",
            "authorize-security-group-ingress",
            "--group-id",
            &sg,
            "--protocol",
            "tcp",
            "--port",
            "80",
            "--source-group",
            "sg-1",
        ])
        .expect_error("InvalidGroup.NotFound");

    // A route to an internet gateway that is not attached to the table's VPC.
    let rtb =
        s(&berth.aws(&["ec2", "create-route-table", "--vpc-id", &vpc]).json()["RouteTable"], "RouteTableId");
    let igw =
        s(&berth.aws(&["ec2", "create-internet-gateway"]).json()["InternetGateway"], "InternetGatewayId");
    let route = [
        "ec2",
        "create-route",
        "--route-table-id",
        &rtb,
        "--destination-cidr-block",
        "0.0.0.0/0",
        "--gateway-id",
        &igw,
    ];
    let err = berth.aws(&route).expect_error("InvalidParameterValue").to_string();
    assert!(
        err.contains(&format!("route table {rtb} and network gateway {igw} belong to different networks")),
        "{err}"
    );
    berth.aws(&["ec2", "attach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &other]).json();
    berth.aws(&route).expect_error("InvalidParameterValue");
    berth.aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &other]).json();
    berth.aws(&["ec2", "attach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();
    berth.aws(&route).json();
    let err = berth.aws(&route).expect_error("RouteAlreadyExists").to_string();
    assert!(err.contains("The route identified by 0.0.0.0/0 already exists."), "{err}");
    berth
        .aws(&[
            "ec2",
            "create-route",
            "--route-table-id",
            &rtb,
            "--destination-cidr-block",
            "0.0.0.0/0",
            "--gateway-id",
            "igw-1",
        ])
        .expect_error("InvalidGatewayID.NotFound");
    berth
        .aws(&["ec2", "delete-route", "--route-table-id", &rtb, "--destination-cidr-block", "10.9.0.0/16"])
        .expect_error("InvalidRoute.NotFound");
    berth
        .aws(&["ec2", "delete-route", "--route-table-id", &rtb, "--destination-cidr-block", "10.0.0.0/16"])
        .expect_error("InvalidParameterValue");
    // Detaching the gateway leaves the route as a blackhole.
    berth.aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();
    let table = berth.aws(&["ec2", "describe-route-tables", "--route-table-ids", &rtb]).json();
    let routes = table["RouteTables"][0]["Routes"].as_array().unwrap().clone();
    assert_eq!(routes[0]["GatewayId"], "local");
    assert_eq!(routes[1]["State"], "blackhole");
}
