//! The real `user-svc` binary: serves its own route and exits 0 on SIGTERM.
//! Binds 127.0.0.1 only; every wait is bounded.

// Test helpers outside #[test] fns: a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Kills the child if the test fails before it exits by itself.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` over a fresh connection; the raw response.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    Ok(raw)
}

#[test]
fn serves_users_and_exits_zero_on_sigterm() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut proc = Proc(
        Command::new(env!("CARGO_BIN_EXE_user-svc"))
            .env("BERTH_BIND_ADDR", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("HOSTNAME", "ip-10-0-3-9.ec2.internal")
            .env_remove("ECS_CONTAINER_METADATA_URI_V4")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let users = loop {
        assert!(proc.0.try_wait().unwrap().is_none(), "user-svc exited early");
        if let Ok(raw) = http_get(port, "/user-svc/users") {
            break raw;
        }
        assert!(Instant::now() < deadline, "user-svc never answered");
        sleep(Duration::from_millis(50));
    };
    assert!(users.starts_with("HTTP/1.1 200"), "{users}");
    assert!(users.contains("Ada Lovelace"), "{users}");
    let page = http_get(port, "/user-svc").unwrap();
    assert!(page.contains("Hello from user-svc"), "{page}");
    assert!(page.contains("ip-10-0-3-9.ec2.internal"), "{page}");

    kill(Pid::from_raw(i32::try_from(proc.0.id()).unwrap()), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = proc.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 5 s of SIGTERM");
        sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status}");
}
