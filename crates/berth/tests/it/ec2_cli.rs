//! EC2 through the real AWS CLI: a NAT gateway's life (its requester-managed interface, found
//! with the DescribeNetworkInterfaces filters terraform uses, its Elastic IP, its states), tags
//! and tag filters, availability zones, and paging.

use std::time::Duration;

use serde_json::Value;
use testkit::{Berth, assert_eventually, require_tool};

fn berth() -> Berth {
    Berth::start(env!("CARGO_BIN_EXE_berth"))
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}")).to_string()
}

fn enis(berth: &Berth, filters: &[&str]) -> Vec<Value> {
    let mut args = vec!["ec2", "describe-network-interfaces", "--filters"];
    args.extend_from_slice(filters);
    berth.aws(&args).json()["NetworkInterfaces"].as_array().unwrap().clone()
}

fn nat_state(berth: &Berth, nat: &str) -> String {
    let out = berth.aws(&["ec2", "describe-nat-gateways", "--nat-gateway-ids", nat]).json();
    s(&out["NatGateways"][0], "State")
}

#[test]
fn a_nat_gateway_owns_an_interface_and_an_address_until_it_is_deleted() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let vpc = s(&berth.aws(&["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"]).json()["Vpc"], "VpcId");
    let subnet = s(
        &berth
            .aws(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &vpc,
                "--cidr-block",
                "10.0.0.0/24",
                "--availability-zone",
                "us-east-1a",
            ])
            .json()["Subnet"],
        "SubnetId",
    );
    let eip = berth.aws(&["ec2", "allocate-address", "--domain", "vpc"]).json();
    let allocation = s(&eip, "AllocationId");
    let public_ip = s(&eip, "PublicIp");
    assert!(public_ip.starts_with("203.0.113."), "{public_ip}");

    // A public NAT gateway needs an internet gateway on its VPC.
    let create = ["ec2", "create-nat-gateway", "--subnet-id", &subnet, "--allocation-id", &allocation];
    berth.aws(&create).expect_error("Gateway.NotAttached");
    let igw =
        s(&berth.aws(&["ec2", "create-internet-gateway"]).json()["InternetGateway"], "InternetGatewayId");
    berth.aws(&["ec2", "attach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();

    let created = berth.aws(&create).json();
    let nat = s(&created["NatGateway"], "NatGatewayId");
    assert_eq!(created["NatGateway"]["State"], "pending");
    assert_eventually!(nat_state(&berth, &nat) == "available", Duration::from_secs(10));
    let described = berth.aws(&["ec2", "describe-nat-gateways", "--nat-gateway-ids", &nat]).json();
    let address = &described["NatGateways"][0]["NatGatewayAddresses"][0];
    assert_eq!(address["PrivateIp"], "10.0.0.4");
    assert_eq!(address["PublicIp"], public_ip.as_str());
    assert_eq!(address["IsPrimary"], true);
    let eni_id = s(address, "NetworkInterfaceId");

    // Its interface, by each filter terraform and ECS use.
    let description = format!("Name=description,Values=Interface for NAT Gateway {nat}");
    let subnet_filter = format!("Name=subnet-id,Values={subnet}");
    let vpc_filter = format!("Name=vpc-id,Values={vpc}");
    let id_filter = format!("Name=network-interface-id,Values={eni_id}");
    for filters in [
        vec![subnet_filter.as_str()],
        vec![vpc_filter.as_str()],
        vec![id_filter.as_str()],
        vec![description.as_str(), "Name=attachment.instance-owner-id,Values=amazon-aws"],
        vec!["Name=requester-managed,Values=true", "Name=status,Values=in-use"],
        vec!["Name=private-ip-address,Values=10.0.0.4"],
        vec!["Name=interface-type,Values=nat_gateway"],
        vec!["Name=description,Values=Interface for NAT Gateway nat-*"],
    ] {
        let found = enis(&berth, &filters);
        assert_eq!(found.len(), 1, "{filters:?}");
        assert_eq!(found[0]["NetworkInterfaceId"], eni_id.as_str());
    }
    assert!(enis(&berth, &["Name=attachment.instance-owner-id,Values=amazon-elb"]).is_empty());
    let eni = &enis(&berth, &[subnet_filter.as_str()])[0];
    assert_eq!(eni["RequesterManaged"], true);
    assert_eq!(eni["Status"], "in-use");
    assert_eq!(eni["PrivateDnsName"], "ip-10-0-0-4.ec2.internal");
    assert_eq!(eni["Association"]["PublicIp"], public_ip.as_str());
    assert_eq!(eni["Attachment"]["InstanceOwnerId"], "amazon-aws");

    // The address shows the association; the subnet has one address fewer.
    let addr = berth.aws(&["ec2", "describe-addresses", "--allocation-ids", &allocation]).json();
    assert_eq!(addr["Addresses"][0]["NetworkInterfaceId"], eni_id.as_str());
    assert_eq!(addr["Addresses"][0]["PrivateIpAddress"], "10.0.0.4");
    let attr = berth
        .aws(&[
            "ec2",
            "describe-addresses-attribute",
            "--allocation-ids",
            &allocation,
            "--attribute",
            "domain-name",
        ])
        .json();
    assert_eq!(attr["Addresses"][0]["PublicIp"], public_ip.as_str());
    let subnets = berth.aws(&["ec2", "describe-subnets", "--subnet-ids", &subnet]).json();
    assert_eq!(subnets["Subnets"][0]["AvailableIpAddressCount"], 250);

    // While it lives: no subnet delete, no address release, no gateway detach.
    berth.aws(&["ec2", "delete-subnet", "--subnet-id", &subnet]).expect_error("DependencyViolation");
    berth
        .aws(&["ec2", "release-address", "--allocation-id", &allocation])
        .expect_error("InvalidIPAddress.InUse");
    berth
        .aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc])
        .expect_error("DependencyViolation");
    berth
        .aws(&["ec2", "delete-network-interface", "--network-interface-id", &eni_id])
        .expect_error("InvalidNetworkInterface.InUse");

    let deleted = berth.aws(&["ec2", "delete-nat-gateway", "--nat-gateway-id", &nat]).json();
    assert_eq!(deleted["NatGatewayId"], nat.as_str());
    assert_eventually!(nat_state(&berth, &nat) == "deleted", Duration::from_secs(10));
    assert!(enis(&berth, &[subnet_filter.as_str()]).is_empty());
    let addr = berth.aws(&["ec2", "describe-addresses", "--allocation-ids", &allocation]).json();
    assert!(addr["Addresses"][0].get("AssociationId").is_none(), "{addr}");
    berth.aws(&["ec2", "release-address", "--allocation-id", &allocation]).json();
    berth.aws(&["ec2", "delete-subnet", "--subnet-id", &subnet]).json();
    berth.aws(&["ec2", "detach-internet-gateway", "--internet-gateway-id", &igw, "--vpc-id", &vpc]).json();
    berth.aws(&["ec2", "delete-nat-gateway", "--nat-gateway-id", "nat-1"]).expect_error("NatGatewayNotFound");
}

#[test]
fn tags_tag_filters_zones_and_paging() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let vpc = berth
        .aws(&[
            "ec2",
            "create-vpc",
            "--cidr-block",
            "10.0.0.0/16",
            "--tag-specifications",
            "ResourceType=vpc,Tags=[{Key=Name,Value=ecs-vpc}]",
        ])
        .json();
    let vpc = s(&vpc["Vpc"], "VpcId");
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b", "us-east-1c"].iter().enumerate() {
        let cidr = format!("10.0.{i}.0/24");
        let spec = format!("ResourceType=subnet,Tags=[{{Key=Name,Value=ecs-vpc-public-{az}}}]");
        let out = berth
            .aws(&[
                "ec2",
                "create-subnet",
                "--vpc-id",
                &vpc,
                "--cidr-block",
                &cidr,
                "--availability-zone",
                az,
                "--tag-specifications",
                &spec,
            ])
            .json();
        assert_eq!(out["Subnet"]["AvailableIpAddressCount"], 251);
        assert_eq!(out["Subnet"]["MapPublicIpOnLaunch"], false);
        subnets.push(s(&out["Subnet"], "SubnetId"));
    }
    let ids = |filter: &str| -> Vec<String> {
        let out = berth.aws(&["ec2", "describe-subnets", "--filters", filter]).json();
        out["Subnets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["SubnetId"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("Name=tag:Name,Values=ecs-vpc-public-us-east-1?").len(), 3);
    assert_eq!(ids("Name=tag:Name,Values=*-1b"), [subnets[1].clone()]);
    assert_eq!(ids("Name=availability-zone,Values=us-east-1c"), [subnets[2].clone()]);
    assert_eq!(ids("Name=tag-key,Values=Name").len(), 3);
    assert!(ids("Name=tag-key,Values=team").is_empty());

    // CreateTags / DeleteTags / DescribeTags across resource types.
    berth
        .aws(&[
            "ec2",
            "create-tags",
            "--resources",
            &vpc,
            &subnets[0],
            "--tags",
            "Key=team,Value=infra",
            "Key=env,Value=dev",
        ])
        .json();
    assert_eq!(ids("Name=tag:team,Values=infra"), [subnets[0].clone()]);
    let tags = berth.aws(&["ec2", "describe-tags", "--filters", "Name=key,Values=team"]).json();
    let mut tagged: Vec<(String, String)> =
        tags["Tags"].as_array().unwrap().iter().map(|t| (s(t, "ResourceId"), s(t, "ResourceType"))).collect();
    tagged.sort();
    let mut want = vec![(vpc.clone(), "vpc".to_string()), (subnets[0].clone(), "subnet".to_string())];
    want.sort();
    assert_eq!(tagged, want);
    berth.aws(&["ec2", "delete-tags", "--resources", &subnets[0], "--tags", "Key=team,Value=other"]).json();
    assert_eq!(ids("Name=tag:team,Values=infra").len(), 1, "a delete with another value keeps the tag");
    berth.aws(&["ec2", "delete-tags", "--resources", &subnets[0], "--tags", "Key=team"]).json();
    assert!(ids("Name=tag:team,Values=infra").is_empty());
    let vpcs = berth.aws(&["ec2", "describe-vpcs", "--filters", "Name=tag:env,Values=dev"]).json();
    assert_eq!(vpcs["Vpcs"][0]["VpcId"], vpc.as_str());

    // The CLI pages through NextToken (MaxResults is at least 5 for EC2).
    berth
        .aws(&[
            "ec2",
            "create-tags",
            "--resources",
            &vpc,
            "--tags",
            "Key=k1,Value=1",
            "Key=k2,Value=2",
            "Key=k3,Value=3",
            "Key=k4,Value=4",
        ])
        .json();
    let all = berth.aws(&["ec2", "describe-tags"]).json()["Tags"].as_array().unwrap().len();
    assert!(all > 5, "{all}");
    let paged = berth.aws(&["ec2", "describe-tags", "--page-size", "5"]).json();
    assert_eq!(paged["Tags"].as_array().unwrap().len(), all);

    // Zones of the region.
    let zones = berth.aws(&["ec2", "describe-availability-zones"]).json();
    let names: Vec<&str> = zones["AvailabilityZones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["ZoneName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]);
    assert_eq!(zones["AvailabilityZones"][0]["ZoneId"], "use1-az6");
    assert_eq!(zones["AvailabilityZones"][0]["State"], "available");
    let west = berth.aws(&["ec2", "describe-availability-zones", "--region", "eu-west-1"]).json();
    assert_eq!(west["AvailabilityZones"].as_array().unwrap().len(), 3);
    assert_eq!(west["AvailabilityZones"][0]["ZoneName"], "eu-west-1a");
    berth
        .aws(&["ec2", "describe-availability-zones", "--zone-names", "us-east-1z"])
        .expect_error("InvalidParameterValue");

    // VPC attributes.
    let attr = |name: &str| {
        berth.aws(&["ec2", "describe-vpc-attribute", "--vpc-id", &vpc, "--attribute", name]).json()
    };
    assert_eq!(attr("enableDnsSupport")["EnableDnsSupport"]["Value"], true);
    assert_eq!(attr("enableDnsHostnames")["EnableDnsHostnames"]["Value"], false);
    assert_eq!(attr("enableNetworkAddressUsageMetrics")["EnableNetworkAddressUsageMetrics"]["Value"], false);
    berth
        .aws(&["ec2", "modify-vpc-attribute", "--vpc-id", &vpc, "--enable-dns-hostnames", "{\"Value\":true}"])
        .json();
    assert_eq!(attr("enableDnsHostnames")["EnableDnsHostnames"]["Value"], true);
}
