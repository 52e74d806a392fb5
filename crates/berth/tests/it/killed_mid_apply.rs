//! berth killed with SIGKILL in the middle of a `terraform apply`, then started again on the same
//! data dir and address while terraform still runs: the AWS provider retries the refused
//! connections, the apply finishes, nothing berth acknowledged before the crash is lost or made
//! twice, the next plan is empty, the service's tasks run, and destroy leaves no process behind.

use std::path::Path;
use std::time::Duration;

use crate::ecs_support::{start_berth, task_processes_of, wait_running};
use testkit::{patience, require_tool, wait_for};

const CLUSTER: &str = "ecs-cluster";

#[test]
fn berth_killed_mid_apply_comes_back_and_the_apply_finishes() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    let mut berth = start_berth();
    // The ECS stack of `ecs_terraform`, on its own addresses (10.47.x.y is served on 127.47.x.y):
    // the two tests run side by side.
    let stack = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stacks/ecs-no-alb/main.tf");
    let config = tempfile::tempdir().unwrap();
    let main_tf = std::fs::read_to_string(stack).unwrap().replace("10.42.", "10.47.");
    std::fs::write(config.path().join("main.tf"), main_tf).unwrap();
    let tf = berth.terraform(config.path(), None);
    tf.init();

    let apply = std::thread::scope(|s| {
        let apply = s.spawn(|| tf.run(&["apply", "-auto-approve", "-input=false", "-no-color"]));
        // Crash berth once the cluster and the role's policy attachment exist: terraform is then
        // in the middle of the apply (the provider waits 10 s after creating a cluster and after
        // setting the VPC's DNS attribute; the subnets, the security group, the task definition
        // and the service are still to come) with no create call in flight.
        let created = wait_for(patience(Duration::from_secs(60)), || {
            let clusters = berth.aws(&["ecs", "describe-clusters", "--clusters", CLUSTER]);
            let attached =
                berth.aws(&["iam", "list-attached-role-policies", "--role-name", "ecs-no-alb-execution"]);
            let cluster_active = clusters.code == 0 && clusters.json()["clusters"][0]["status"] == "ACTIVE";
            let policy_attached = attached.code == 0
                && attached.json()["AttachedPolicies"].as_array().is_some_and(|a| !a.is_empty());
            (cluster_active && policy_attached).then_some(())
        });
        assert!(
            created.is_some(),
            "terraform did not create the cluster and the role; log:\n{}",
            berth.log()
        );
        std::thread::sleep(Duration::from_secs(1));
        assert!(!apply.is_finished(), "the apply ended before berth could be killed in the middle of it");
        berth.kill();
        // Down long enough for terraform's calls to be refused and retried.
        std::thread::sleep(Duration::from_secs(2));
        berth.start_again_at_the_same_address();
        apply.join().expect("the apply thread")
    });
    let stdout = String::from_utf8_lossy(&apply.stdout);
    assert!(
        apply.status.success(),
        "the apply that berth's crash interrupted did not finish:\n{stdout}\n{}",
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(stdout.contains("Apply complete!"), "{stdout}");

    // Nothing lost, nothing made twice: one cluster, one VPC with the stack's tag, one role.
    let clusters = berth.aws(&["ecs", "list-clusters"]).json();
    assert_eq!(clusters["clusterArns"].as_array().map(Vec::len), Some(1), "{clusters}");
    let vpcs = berth.aws(&["ec2", "describe-vpcs", "--filters", "Name=tag:Name,Values=ecs-no-alb"]).json();
    assert_eq!(vpcs["Vpcs"].as_array().map(Vec::len), Some(1), "{vpcs}");
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan after the recovered apply is not empty:\n{plan}");

    // The service runs its two tasks on the restarted berth.
    let running = wait_running(&berth, CLUSTER, 2, Duration::from_secs(30), |_| true);
    assert_eq!(running.len(), 2);
    assert!(!task_processes_of(&berth.endpoint).is_empty(), "the tasks are processes of this berth");

    tf.destroy();
    testkit::assert_eventually!(task_processes_of(&berth.endpoint).is_empty(), Duration::from_secs(45));
}
