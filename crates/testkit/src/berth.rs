//! A real `berth up` process on `127.0.0.1:0`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use std::sync::Mutex;

use crate::aws::CliServer;
use crate::{AwsOutput, Terraform, patience, wait_for};

/// A running berth. Dropping it kills the process.
pub struct Berth {
    bin: PathBuf,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The data dir (a temp dir owned by this value unless given).
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    extra_args: Vec<String>,
    /// `--listen` of the next start: `127.0.0.1:0` unless a restart keeps the address.
    listen: String,
    log_path: PathBuf,
    /// The AWS CLI process for this berth's endpoint (see [`crate::aws`]).
    cli: Mutex<Cli>,
}

enum Cli {
    NotStarted,
    Server(CliServer),
    /// `awscli` could not be imported in-process: spawn `aws` per call.
    Spawn,
}

impl Berth {
    /// Starts `bin up` on a fresh temporary data dir.
    pub fn start(bin: impl AsRef<Path>) -> Berth {
        Self::start_with(bin, &[])
    }

    /// Starts `bin up <extra_args>` on a fresh temporary data dir.
    pub fn start_with(bin: impl AsRef<Path>, extra_args: &[&str]) -> Berth {
        let temp = tempfile::Builder::new().prefix("berth-test-").tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        let mut berth = Berth {
            bin: bin.as_ref().to_path_buf(),
            child: None,
            endpoint: String::new(),
            log_path: temp.path().join("berth.log"),
            data_dir,
            _temp: Some(temp),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            listen: "127.0.0.1:0".to_string(),
            cli: Mutex::new(Cli::NotStarted),
        };
        berth.spawn();
        berth
    }

    fn spawn(&mut self) {
        // A restarted berth has a new endpoint: the CLI process is started again for it.
        if let Ok(mut cli) = self.cli.lock() {
            *cli = Cli::NotStarted;
        }
        let _ = std::fs::remove_file(self.data_dir.join("endpoint"));
        let log = File::options().create(true).append(true).open(&self.log_path).expect("log file");
        let log2 = log.try_clone().expect("log file");
        let child = Command::new(&self.bin)
            .arg("up")
            .arg("--listen")
            .arg(&self.listen)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env("BERTH_LOG", std::env::var("BERTH_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.bin.display()));
        self.child = Some(child);
        let endpoint_file = self.data_dir.join("endpoint");
        let endpoint = wait_for(patience(Duration::from_secs(20)), || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("berth exited early with {status}; log:\n{}", self.log());
            }
            std::fs::read_to_string(&endpoint_file)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        });
        self.endpoint =
            endpoint.unwrap_or_else(|| panic!("berth did not become ready; log:\n{}", self.log()));
    }

    /// Everything berth printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Waits until berth's log contains `needle` (panics with the log after `timeout`).
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let found = wait_for(patience(timeout), || {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("berth exited with {status} before logging {needle:?}; log:\n{}", self.log());
            }
            self.log().contains(needle).then_some(())
        });
        if found.is_none() {
            panic!("berth did not log {needle:?} within {timeout:?}; log:\n{}", self.log());
        }
    }

    /// Waits for berth to exit on its own (e.g. after `berth down`); its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let status = wait_for(patience(timeout), || child.try_wait().ok().flatten());
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// The OS process id of berth.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits for a clean exit (panics if it takes more than 15 s or fails).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            let status = wait_for(patience(Duration::from_secs(15)), || child.try_wait().ok().flatten());
            match status {
                Some(s) if s.success() => {}
                Some(s) => panic!("berth exited with {s} on SIGTERM; log:\n{}", self.log()),
                None => {
                    let _ = child.kill();
                    panic!("berth did not stop within 15 s of SIGTERM; log:\n{}", self.log());
                }
            }
        }
    }

    /// SIGKILL: berth dies without any cleanup (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops berth (SIGTERM) and starts it again on the same data dir.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts berth again after [`Berth::kill`] or [`Berth::stop`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "berth is still running");
        self.spawn();
    }

    /// Starts berth again after [`Berth::kill`] or [`Berth::stop`] on the address it had, so
    /// clients still running against it (a `terraform apply`) reconnect to the new process.
    pub fn start_again_at_the_same_address(&mut self) {
        assert!(self.child.is_none(), "berth is still running");
        self.listen = self.endpoint.trim_start_matches("http://").to_string();
        self.spawn();
        self.listen = "127.0.0.1:0".to_string();
    }

    /// Environment that points AWS clients at this berth.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_PAGER".into(), String::new()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ]
    }

    /// Runs `aws <args> --output json` against this berth.
    pub fn aws(&self, args: &[&str]) -> AwsOutput {
        let mut cli = self.cli.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Cli::NotStarted = *cli {
            *cli = match CliServer::start(&self.aws_env()) {
                Some(server) => Cli::Server(server),
                None => Cli::Spawn,
            };
        }
        match &mut *cli {
            Cli::Server(server) => server.call(args),
            _ => crate::aws::run(&self.aws_env(), args),
        }
    }

    /// A terraform working copy of `config_dir` (only `*.tf` files and `modules/`) pointed at
    /// this berth.
    pub fn terraform(&self, config_dir: impl AsRef<Path>, files: Option<&[&str]>) -> Terraform {
        Terraform::new(config_dir.as_ref(), files, self.aws_env())
    }

    /// One awsQuery/ec2Query call straight over HTTP (a form POST with a SigV4-shaped credential
    /// scope naming `service`), for checks that must happen within milliseconds of the previous
    /// call; the AWS CLI takes a second or more just to start. Returns `(status, XML body)`.
    pub fn query(&self, service: &str, params: &[(&str, &str)]) -> (u16, String) {
        let body: String = params
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        crate::http_post_form(&self.endpoint, &auth, &body).expect("POST to berth")
    }

    /// `GET <endpoint><path>`.
    pub fn get(&self, path: &str) -> (u16, String) {
        crate::http_get(&format!("{}{}", self.endpoint, path)).expect("GET berth")
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // Ask nicely first so berth stops its tasks, then make sure.
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            if wait_for(Duration::from_secs(10), || child.try_wait().ok().flatten()).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!(
                "---- berth log ({}) ----\n{}\n---- end of berth log ----",
                self.log_path.display(),
                self.log()
            );
        }
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
