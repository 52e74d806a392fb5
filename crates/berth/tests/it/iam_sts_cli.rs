//! STS and IAM through the real AWS CLI: the calls a user makes, and IAM's errors with their
//! codes and exit statuses.

use testkit::{Berth, require_tool};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const EXEC_POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

fn berth() -> Berth {
    Berth::start(env!("CARGO_BIN_EXE_berth"))
}

#[test]
fn sts_get_caller_identity_names_the_berth_account() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let id = berth.aws(&["sts", "get-caller-identity"]).json();
    assert_eq!(id["Account"], "000000000000");
    assert_eq!(id["Arn"], "arn:aws:iam::000000000000:root");
}

#[test]
fn iam_role_lifecycle_through_the_cli() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let created = berth
        .aws(&[
            "iam",
            "create-role",
            "--role-name",
            "ecs-task-execution-role",
            "--assume-role-policy-document",
            TRUST,
        ])
        .json();
    let role_id = created["Role"]["RoleId"].as_str().unwrap().to_string();
    assert!(role_id.starts_with("AROA") && role_id.len() == 21, "{role_id}");
    assert_eq!(created["Role"]["Arn"], "arn:aws:iam::000000000000:role/ecs-task-execution-role");

    let got = berth.aws(&["iam", "get-role", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(got["Role"]["RoleId"], role_id.as_str());
    assert_eq!(got["Role"]["MaxSessionDuration"], 3600);
    // The CLI decodes the URL-encoded document AWS returns back into JSON.
    assert_eq!(
        got["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ecs-tasks.amazonaws.com"
    );

    berth
        .aws(&["iam", "tag-role", "--role-name", "ecs-task-execution-role", "--tags", "Key=team,Value=infra"])
        .json();
    let tags = berth.aws(&["iam", "list-role-tags", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(tags["Tags"][0]["Key"], "team");
    berth
        .aws(&["iam", "update-role", "--role-name", "ecs-task-execution-role", "--description", "runs tasks"])
        .json();
    berth
        .aws(&[
            "iam",
            "attach-role-policy",
            "--role-name",
            "ecs-task-execution-role",
            "--policy-arn",
            EXEC_POLICY,
        ])
        .json();
    let attached =
        berth.aws(&["iam", "list-attached-role-policies", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(attached["AttachedPolicies"][0]["PolicyName"], "AmazonECSTaskExecutionRolePolicy");
    let policy = berth.aws(&["iam", "get-policy", "--policy-arn", EXEC_POLICY]).json();
    assert_eq!(policy["Policy"]["AttachmentCount"], 1);
    let version =
        berth.aws(&["iam", "get-policy-version", "--policy-arn", EXEC_POLICY, "--version-id", "v1"]).json();
    assert!(version["PolicyVersion"]["Document"]["Statement"][0]["Action"].as_array().unwrap().len() >= 4);

    berth
        .aws(&[
            "iam",
            "put-role-policy",
            "--role-name",
            "ecs-task-execution-role",
            "--policy-name",
            "logs",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#,
        ])
        .json();
    let inline = berth.aws(&["iam", "list-role-policies", "--role-name", "ecs-task-execution-role"]).json();
    assert_eq!(inline["PolicyNames"], serde_json::json!(["logs"]));

    // DeleteConflict while policies are attached (409), then a clean delete.
    berth
        .aws(&["iam", "delete-role", "--role-name", "ecs-task-execution-role"])
        .expect_error("DeleteConflict");
    berth
        .aws(&[
            "iam",
            "detach-role-policy",
            "--role-name",
            "ecs-task-execution-role",
            "--policy-arn",
            EXEC_POLICY,
        ])
        .json();
    berth
        .aws(&["iam", "delete-role", "--role-name", "ecs-task-execution-role"])
        .expect_error("DeleteConflict");
    berth
        .aws(&[
            "iam",
            "delete-role-policy",
            "--role-name",
            "ecs-task-execution-role",
            "--policy-name",
            "logs",
        ])
        .json();
    berth.aws(&["iam", "delete-role", "--role-name", "ecs-task-execution-role"]).json();
    let roles = berth.aws(&["iam", "list-roles"]).json();
    assert_eq!(roles["Roles"], serde_json::json!([]));
}

#[test]
fn iam_errors_carry_aws_codes() {
    if !require_tool("aws") {
        return;
    }
    let berth = berth();
    let out = berth.aws(&["iam", "get-role", "--role-name", "nope"]);
    assert!(out.expect_error("NoSuchEntity").contains("The role with name nope cannot be found."));
    assert!(
        matches!(out.code, 254 | 255),
        "the CLI exits 254 (v2) or 255 (v1) on a service error, got {}",
        out.code
    );

    berth.aws(&["iam", "create-role", "--role-name", "dup", "--assume-role-policy-document", TRUST]).json();
    berth
        .aws(&["iam", "create-role", "--role-name", "DUP", "--assume-role-policy-document", TRUST])
        .expect_error("EntityAlreadyExists");
    let out = berth.aws(&[
        "iam",
        "create-role",
        "--role-name",
        "bad",
        "--assume-role-policy-document",
        "{not json",
    ]);
    assert!(out.expect_error("MalformedPolicyDocument").contains("This policy contains invalid Json"));
    berth
        .aws(&["iam", "create-role", "--role-name", "bad name!", "--assume-role-policy-document", TRUST])
        .expect_error("ValidationError");
    berth
        .aws(&[
            "iam",
            "create-role",
            "--role-name",
            "p",
            "--path",
            "nope",
            "--assume-role-policy-document",
            TRUST,
        ])
        .expect_error("ValidationError");
    berth
        .aws(&[
            "iam",
            "attach-role-policy",
            "--role-name",
            "dup",
            "--policy-arn",
            "arn:aws:iam::aws:policy/NoSuchPolicy",
        ])
        .expect_error("NoSuchEntity");
    berth
        .aws(&["iam", "detach-role-policy", "--role-name", "dup", "--policy-arn", EXEC_POLICY])
        .expect_error("NoSuchEntity");
    berth
        .aws(&["iam", "get-role-policy", "--role-name", "dup", "--policy-name", "x"])
        .expect_error("NoSuchEntity");
    let out = berth.aws(&[
        "ecs",
        "create-capacity-provider",
        "--name",
        "x",
        "--auto-scaling-group-provider",
        "autoScalingGroupArn=a",
    ]);
    assert!(
        out.expect_error("NotImplemented").contains("berth does not implement ecs:CreateCapacityProvider")
    );
}

#[test]
fn state_survives_a_restart_and_a_crash() {
    if !require_tool("aws") {
        return;
    }
    let mut berth = berth();
    let created = berth
        .aws(&["iam", "create-role", "--role-name", "kept", "--assume-role-policy-document", TRUST])
        .json();
    berth.restart();
    let got = berth.aws(&["iam", "get-role", "--role-name", "kept"]).json();
    assert_eq!(got["Role"]["RoleId"], created["Role"]["RoleId"]);
    // A commit survives berth being killed without any shutdown.
    berth.aws(&["iam", "tag-role", "--role-name", "kept", "--tags", "Key=k,Value=v"]).json();
    berth.kill();
    berth.start_again();
    let tags = berth.aws(&["iam", "list-role-tags", "--role-name", "kept"]).json();
    assert_eq!(tags["Tags"][0]["Value"], "v");
}
