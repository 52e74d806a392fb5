#!/usr/bin/env python3
"""Creates the benchmark's load balancer in a running berth through the AWS API (boto3), the
way a user would, then waits until every target is healthy.

What it builds (the seed stack's routing, on listener port 8080):
  VPC 10.0.0.0/16, subnets 10.0.0.0/24 (us-east-1a) and 10.0.1.0/24 (us-east-1b)
  ALB bench-alb in both subnets
  target groups product-svc-tg / user-svc-tg: ip targets, port 3000, health GET /health every 5 s
  listener HTTP 8080: default fixed-response 404 "Not Found",
    rule 1 path /product-svc* -> product-svc-tg, rule 2 path /user-svc* -> user-svc-tg
  targets 10.0.0.11, 10.0.0.12 (product) and 10.0.0.13, 10.0.0.14 (user), port 3000

berth serves VPC address A.B.C.D on 127.B.C.D, so the targets are the harness's nginx backends
on 127.0.0.11-14:3000. Usage: alb_setup.py ENDPOINT [LISTENER_PORT] [TIMEOUT_S]
"""
import sys
import time

import boto3
from botocore.config import Config


def main() -> int:
    endpoint = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    cfg = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30)
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
              aws_secret_access_key="test", config=cfg)
    ec2 = boto3.client("ec2", **kw)
    elb = boto3.client("elbv2", **kw)

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        for cidr, az in (("10.0.0.0/24", "us-east-1a"), ("10.0.1.0/24", "us-east-1b"))
    ]
    lb = elb.create_load_balancer(Name="bench-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]

    def group(name: str) -> str:
        return elb.create_target_group(
            Name=name, Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip",
            HealthCheckProtocol="HTTP", HealthCheckPath="/health", HealthCheckIntervalSeconds=5,
            HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]

    groups = {"product": group("product-svc-tg"), "user": group("user-svc-tg")}
    listener = elb.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=port,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not Found"}}],
    )["Listeners"][0]["ListenerArn"]
    for prio, (svc, pattern) in enumerate((("product", "/product-svc*"), ("user", "/user-svc*")), 1):
        elb.create_rule(ListenerArn=listener, Priority=prio,
                        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [pattern]}}],
                        Actions=[{"Type": "forward", "TargetGroupArn": groups[svc]}])
    targets = {"product": ["10.0.0.11", "10.0.0.12"], "user": ["10.0.0.13", "10.0.0.14"]}
    for svc, ips in targets.items():
        elb.register_targets(TargetGroupArn=groups[svc], Targets=[{"Id": ip, "Port": 3000} for ip in ips])

    deadline = time.monotonic() + timeout
    states = {}
    while time.monotonic() < deadline:
        states = {}
        for svc, arn in groups.items():
            for d in elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
                states[d["Target"]["Id"]] = d["TargetHealth"]["State"]
        lb_state = elb.describe_load_balancers(LoadBalancerArns=[lb])["LoadBalancers"][0]["State"]["Code"]
        if lb_state == "active" and len(states) == 4 and all(s == "healthy" for s in states.values()):
            print(f"alb_setup: load balancer active, targets healthy: {states}", file=sys.stderr)
            return 0
        time.sleep(0.5)
    print(f"alb_setup: not ready after {timeout:.0f} s: {states}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
