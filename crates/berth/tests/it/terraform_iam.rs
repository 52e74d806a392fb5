//! The seed's `main.tf` + `variables.tf` + `iam.tf` applied by the real terraform and AWS
//! provider: apply, an empty plan, the same empty plan after berth restarts, and a destroy that
//! leaves no role.

use testkit::{Berth, require_tool, workspace_root};

#[test]
fn terraform_applies_plans_empty_across_a_restart_and_destroys_the_seed_iam() {
    if !require_tool("terraform") || !require_tool("aws") {
        return;
    }
    let mut berth = Berth::start(env!("CARGO_BIN_EXE_berth"));
    let tf = berth.terraform(
        workspace_root().join("examples/two-services"),
        Some(&["main.tf", "variables.tf", "iam.tf"]),
    );
    tf.init();
    tf.apply();

    let role = berth.aws(&["iam", "get-role", "--role-name", "ecs-task-execution-role"]).json();
    let attached =
        berth.aws(&["iam", "list-attached-role-policies", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(
        attached["AttachedPolicies"][0]["PolicyArn"],
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    );

    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan right after apply must be empty:\n{plan}");

    berth.restart();
    let again = berth.aws(&["iam", "get-role", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(again["Role"]["RoleId"], role["Role"]["RoleId"], "same id after restart");
    // The restarted berth listens on a new port: point terraform at it.
    let tf = tf.with_endpoint(&berth.endpoint);
    let (code, plan) = tf.plan_exit_code();
    assert_eq!(code, 0, "plan after a restart must be empty:\n{plan}");

    tf.destroy();
    berth.aws(&["iam", "get-role", "--role-name", "ecs-task-execution-role"]).expect_error("NoSuchEntity");
    let roles = berth.aws(&["iam", "list-roles"]).json();
    assert_eq!(roles["Roles"], serde_json::json!([]));
}
