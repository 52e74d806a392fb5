//! The AWS CLI (`aws`, from PyPI's `awscli`) against a berth.

use std::process::Command;

/// What an `aws` invocation printed and how it exited.
#[derive(Debug)]
pub struct AwsOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl AwsOutput {
    /// Panics with the CLI's output unless it succeeded; returns stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "aws failed (exit {}): {}{}", self.code, self.stdout, self.stderr);
        if self.stdout.trim().is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("aws printed non-JSON ({e}): {}", self.stdout))
    }

    /// Panics unless the CLI failed with this AWS error code; returns the stderr text.
    pub fn expect_error(&self, code: &str) -> &str {
        assert_ne!(self.code, 0, "aws succeeded but {code} was expected: {}", self.stdout);
        assert!(
            self.stderr.contains(&format!("({code})")),
            "expected error code {code}, got exit {} and: {}",
            self.code,
            self.stderr
        );
        &self.stderr
    }
}

pub(crate) fn run(env: &[(String, String)], args: &[&str]) -> AwsOutput {
    let out = Command::new("aws")
        .args(args)
        .args(["--output", "json", "--cli-read-timeout", "30", "--cli-connect-timeout", "5"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap_or_else(|e| panic!("running aws: {e}"));
    AwsOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
