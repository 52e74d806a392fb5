//! The README cannot rot: every command it shows in a `sh` block is run by CI, either by
//! `scripts/tutorial-check` (the tutorial against a live stack) or by `.ci/run` itself. This test
//! checks that each of those lines appears verbatim in one of them (quotes ignored, the example
//! load balancer URL standing for the real one).

use testkit::workspace_root;

/// The example URL the README shows, and what the check script calls the real one.
const EXAMPLE_URL: &str = "http://ecs-alb-1234567890.us-east-1.elb.localhost/";
const REAL_URL: &str = "${LB_URL}";

fn sh_commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if in_sh && !trimmed.is_empty() && !trimmed.starts_with('#') {
            // Drop a trailing comment (`cmd   # what it does`).
            let cmd = trimmed.split("  #").next().unwrap_or(trimmed).trim();
            out.push(cmd.to_string());
        }
    }
    out
}

fn normalise(s: &str) -> String {
    s.replace(EXAMPLE_URL, REAL_URL).replace('"', "")
}

#[test]
fn every_readme_command_is_run_by_ci() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let runners: String = ["scripts/tutorial-check", ".ci/run", "scripts/test"]
        .iter()
        .map(|p| std::fs::read_to_string(root.join(p)).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let runners = normalise(&runners);
    let commands = sh_commands(&readme);
    assert!(commands.len() >= 8, "the README's tutorial commands were not found: {commands:?}");
    let missing: Vec<&String> = commands.iter().filter(|c| !runners.contains(&normalise(c))).collect();
    assert!(
        missing.is_empty(),
        "README commands that no CI step runs (add them to scripts/tutorial-check): {missing:#?}"
    );
}
