//! berth's integration tests. Each module starts real `berth` processes (`testkit::Berth`) and
//! drives them with real clients: terraform with the AWS provider, the AWS CLI, HTTP through the
//! load balancer, the `berth` CLI itself.
//!
//! They form one test binary, so tests from every module run in parallel (`RUST_TEST_THREADS`)
//! rather than one file's binary after another: most of their time is spent waiting on
//! terraform's fixed sleeps and on processes, which overlaps well.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod ecs_support;
#[allow(dead_code)]
mod elbv2_support;

mod ec2_cli;
mod ec2_errors_cli;
mod ec2_terraform;
mod ecs_alb;
mod ecs_cli;
mod ecs_terraform;
mod edge_http;
mod elbv2_cli;
mod elbv2_terraform;
mod elbv2_traffic;
mod iam_sts_cli;
mod killed_mid_apply;
mod readme_commands;
mod terraform_iam;
mod two_services_stack;
