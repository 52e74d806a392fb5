//! The real `product-svc` binary: configuration from the environment, the
//! page, the access log, SIGTERM → exit 0, invalid config → exit 2.
//! Binds 127.0.0.1 only; every wait is bounded.

// Test helpers outside #[test] fns: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_product-svc");
const HOSTNAME: &str = "ip-10-0-2-17.ec2.internal";

/// Kills the child if the test fails before it exits by itself.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            sleep(Duration::from_millis(20));
        }
        None
    }

    fn stdout(&mut self) -> String {
        let mut out = String::new();
        self.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        out
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` over a fresh connection; (status, body).
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn spawn(envs: &[(&str, &str)]) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("ECS_CONTAINER_METADATA_URI_V4")
        .env_remove("BERTH_BIND_ADDR")
        .env_remove("PORT")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Proc(cmd.spawn().unwrap())
}

#[test]
fn serves_the_page_and_exits_zero_on_sigterm() {
    let port = free_port();
    let port_s = port.to_string();
    let mut proc = spawn(&[("BERTH_BIND_ADDR", "127.0.0.1"), ("PORT", &port_s), ("HOSTNAME", HOSTNAME)]);

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = proc.0.try_wait().unwrap() {
            panic!("product-svc exited early: {status}");
        }
        if let Ok((200, body)) = http_get(port, "/health") {
            assert_eq!(body, r#"{"status":"ok"}"#);
            break;
        }
        assert!(Instant::now() < deadline, "/health never answered");
        sleep(Duration::from_millis(50));
    }

    let (status, page) = http_get(port, "/product-svc/x/y").unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Hello from product-svc"), "{page}");
    assert!(page.contains(HOSTNAME), "{page}");
    assert!(page.contains("/product-svc/x/y"), "{page}");

    let (status, products) = http_get(port, "/product-svc/products").unwrap();
    assert_eq!(status, 200);
    assert!(products.contains("\"price_cents\""), "{products}");

    let pid = Pid::from_raw(i32::try_from(proc.0.id()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    let status = proc.wait_exit(Duration::from_secs(5)).expect("no exit within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{status}");

    let log = proc.stdout();
    assert!(log.contains("127.0.0.1 GET /product-svc/x/y 200 "), "{log}");
    assert!(log.contains("shutting down"), "{log}");
}

#[test]
fn invalid_port_exits_2() {
    let mut proc = spawn(&[("BERTH_BIND_ADDR", "127.0.0.1"), ("PORT", "eighty")]);
    let status = proc.wait_exit(Duration::from_secs(5)).expect("no exit within 5 s");
    assert_eq!(status.code(), Some(2), "{status}");
    let mut err = String::new();
    proc.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("PORT"), "{err}");
}
