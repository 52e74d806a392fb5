//! The AWS CLI (`aws`, from PyPI's `awscli`) against a berth.
//!
//! The CLI spends about a second of CPU importing botocore and building its command table before
//! every call; with hundreds of calls in the suite that dominated the tests' time. So a berth's
//! calls go to one long-lived Python process that imports `awscli` once and runs
//! `awscli.clidriver` — the code the `aws` script itself runs — for each call in a forked child:
//! the same argument parsing, botocore, output and exit codes, without the start-up. When `awscli` cannot be
//! imported that way (a CLI installed another way), each call spawns `aws` instead.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

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

/// Arguments every call gets: JSON output, short timeouts, no retries.
const COMMON_ARGS: [&str; 6] = ["--output", "json", "--cli-read-timeout", "30", "--cli-connect-timeout", "5"];

/// A fork server: imports `awscli`, builds a driver and warms its caches (command table, the
/// services' models and clients) once, then answers each request line `{"args": [...]}` from a
/// forked child running `driver.main(args)` with `{"code", "stdout", "stderr"}`. Each call gets a
/// pristine driver (the CLI keeps per-call state on it, so reusing one across calls breaks some
/// commands), at the cost of a fork instead of an interpreter start-up and imports.
const SERVER: &str = r#"
import contextlib, io, json, os, sys
import awscli.clidriver
driver = awscli.clidriver.create_clidriver()
if hasattr(driver, "_get_command_table"):
    driver._get_command_table()
for name in ("ec2", "ecs", "elbv2", "iam", "sts"):
    try:
        driver.session.get_service_model(name)
        driver.session.create_client(name)
    except Exception:
        pass
print("ready", flush=True)
for line in sys.stdin:
    args = json.loads(line)["args"]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = driver.main(args)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except Exception as e:
                err.write(f"berth testkit: the CLI raised {e!r}\n")
                code = 255
        with os.fdopen(w, "wb") as f:
            f.write(json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        answer = f.read().decode()
    os.waitpid(pid, 0)
    sys.stdout.write((answer or json.dumps({"code": -1, "stdout": "", "stderr": "the CLI child died"})) + "\n")
    sys.stdout.flush()
"#;

/// A long-lived Python process running the AWS CLI for one environment.
pub(crate) struct CliServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CliServer {
    /// Starts the server with `env`; `None` when `awscli` cannot be imported by `python3`.
    pub(crate) fn start(env: &[(String, String)]) -> Option<Self> {
        let mut child = Command::new("python3")
            .args(["-c", SERVER])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let mut stdout = BufReader::new(child.stdout.take()?);
        let mut first = String::new();
        if stdout.read_line(&mut first).ok()? == 0 || first.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(Self { child, stdin, stdout })
    }

    pub(crate) fn call(&mut self, args: &[&str]) -> AwsOutput {
        let all: Vec<&str> = args.iter().copied().chain(COMMON_ARGS).collect();
        let request = serde_json::json!({ "args": all }).to_string();
        writeln!(self.stdin, "{request}").expect("writing to the AWS CLI process");
        self.stdin.flush().expect("writing to the AWS CLI process");
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("reading from the AWS CLI process");
        assert!(n > 0, "the AWS CLI process died during `aws {}`", args.join(" "));
        let v: serde_json::Value = serde_json::from_str(&line).expect("the AWS CLI process answers JSON");
        AwsOutput {
            code: v["code"].as_i64().and_then(|c| i32::try_from(c).ok()).unwrap_or(-1),
            stdout: v["stdout"].as_str().unwrap_or_default().to_string(),
            stderr: v["stderr"].as_str().unwrap_or_default().to_string(),
        }
    }
}

impl Drop for CliServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `aws` for one call (the fallback, and for callers without a server).
pub(crate) fn run(env: &[(String, String)], args: &[&str]) -> AwsOutput {
    let out = Command::new("aws")
        .args(args)
        .args(COMMON_ARGS)
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
