//! The demo binary's logging follows `RUST_LOG`: INFO and above without it (an audit entry is
//! logged), only warnings with `RUST_LOG=warn`, and an unreadable value is said and ignored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the demo with `rust_log` (unset for `None`) on a database of its own, makes one
/// request that the audit trail records (a cross-site POST, refused), stops it, and returns
/// what it printed (stdout and stderr).
///
/// The port is picked free, but another test's demo can take it before this one binds it: then
/// this demo exits (the address is in use) and the request may reach the other one as it shuts
/// down. Such a start is tried again on another port, at most three times; a demo that is still
/// running and answers wrongly fails the test.
fn demo_output(rust_log: Option<&str>) -> String {
    let mut collisions = Vec::new();
    for _ in 0..3 {
        match try_demo_output(rust_log) {
            Ok(output) => return output,
            Err(collision) => collisions.push(collision),
        }
    }
    panic!("the demo could not keep a port in three tries: {collisions:#?}");
}

/// One start of [`demo_output`]; `Err` with what the demo printed when it exited before the
/// request was answered by it (its port taken).
fn try_demo_output(rust_log: Option<&str>) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    command
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("demo.db").display()),
        )
        .env("DEMO_ADDR", format!("127.0.0.1:{port}"))
        .env("DEMO_SHUTDOWN_SECS", "1")
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(value) = rust_log {
        command.env("RUST_LOG", value);
    }
    let mut child = command.spawn().expect("the demo binary starts");
    let printed = |child: std::process::Child| {
        let output = child.wait_with_output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let started = Instant::now();
    let mut stream = loop {
        if child.try_wait().unwrap().is_some() {
            return Err(printed(child));
        }
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => {
                let _ = child.kill();
                panic!("the demo never listened: {error}");
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nSec-Fetch-Site: cross-site\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    if !answer.starts_with("HTTP/1.1 403") && exits_within(&mut child, Duration::from_secs(5)) {
        // Not this demo that answered: it could not bind its port.
        return Err(printed(child));
    }
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // SIGTERM: a graceful stop, which flushes what it logged.
    send_sigterm(child.id());
    Ok(printed(child))
}

/// Whether `child` exits within `limit`.
fn exits_within(child: &mut std::process::Child, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Sends SIGTERM with the `kill` program (no libc binding needed).
fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn audit_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|line| line.contains("audit:") || line.contains(" audit "))
        .collect()
}

#[test]
fn without_rust_log_the_demo_logs_info_and_above() {
    let output = demo_output(None);
    let audit = audit_lines(&output);
    assert!(
        audit
            .iter()
            .any(|line| line.contains("INFO") && line.contains("forbidden")),
        "{output}"
    );
}

#[test]
fn rust_log_warn_leaves_out_info() {
    let output = demo_output(Some("warn"));
    assert!(audit_lines(&output).is_empty(), "{output}");
    assert!(!output.contains(" INFO "), "{output}");
    // What the demo prints itself (its address) is not logging and stays.
    assert!(output.contains("demo: http://127.0.0.1:"), "{output}");
}

#[test]
fn rust_log_can_pick_one_target() {
    let output = demo_output(Some("warn,audit=info"));
    assert!(!audit_lines(&output).is_empty(), "{output}");
    assert!(
        !output
            .lines()
            .any(|line| line.contains(" INFO ") && !line.contains("audit")),
        "{output}"
    );
}

#[test]
fn an_unreadable_rust_log_is_said_and_info_is_logged() {
    let output = demo_output(Some("audit=loud"));
    assert!(
        output.contains("RUST_LOG=\"audit=loud\" is not a filter"),
        "{output}"
    );
    assert!(!audit_lines(&output).is_empty(), "{output}");
}
