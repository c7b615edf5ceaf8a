//! The demo stops gracefully on SIGTERM: a request in flight when the signal comes is answered
//! in full, then the process exits cleanly. The `demo` binary on a SQLite file of its own, on a
//! free loopback port, killed by its PID if the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The demo process, killed (SIGKILL) and reaped when dropped if still running.
struct Demo {
    child: Child,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start(dir: &std::path::Path, port: u16) -> Demo {
        let log = std::fs::File::create(dir.join("demo.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("demo.db").display()),
            )
            .env_remove("REDIS_URL")
            .env("DEMO_ADDR", format!("127.0.0.1:{port}"))
            .env("DEMO_SHUTDOWN_SECS", "10")
            .env_remove("OIDC_ISSUER_URL")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the demo binary starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the demo did not listen in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Demo { child }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits at most `bound` for the process to exit.
    fn exit_within(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

#[test]
fn sigterm_lets_a_request_in_flight_finish_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut demo = Demo::start(dir.path(), port);

    // A slow request: the headers and half of the form now, the rest after the signal.
    let body = "username=nobody&password=wrong+password&csrf=0000000000000000";
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    demo.signal("TERM");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        demo.child.try_wait().unwrap().is_none(),
        "still running while a request is in flight"
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();

    // The answer is whole: the form-token refusal, with its page, to the end.
    let (head, page) = answer
        .split_once("\r\n\r\n")
        .expect("a complete HTTP answer");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(page.contains("This form has expired"), "{page}");
    assert!(
        page.trim_end().ends_with("</html>"),
        "the page to its end: {page}"
    );

    let status = demo
        .exit_within(Duration::from_secs(10))
        .expect("the demo exits once the request is answered");
    assert!(status.success(), "a clean exit, not a kill: {status:?}");
}
