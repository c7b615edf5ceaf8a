//! Starts `provider.js` (the oidc-provider npm package) for a test and stops it when dropped.
//! One file for the two suites that run it, each including it with
//! `#[path = ".../examples/oidc-provider/start.rs"] mod …;`: login-oidc's end-to-end tests and
//! the demo's.
//!
//! A start is bounded: the provider must serve its discovery document within 20 s, else it is
//! stopped and tried again on another free port, at most three times; the failure then says,
//! for each try, what node printed, whether it was still running and why the last request
//! failed.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `provider.js`, running on a loopback port; killed when dropped.
pub struct NodeProvider {
    /// `http://127.0.0.1:PORT`, the issuer it serves.
    pub issuer: String,
    child: Child,
}

impl NodeProvider {
    /// Starts `provider.js` in `dir` (which holds its `node_modules`) with `args` besides
    /// `--port`, and waits until it serves its discovery document.
    pub async fn start(dir: &Path, args: &[&str]) -> NodeProvider {
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "run `npm ci` in {} first (.ci/run does)",
            dir.display()
        );
        let mut failures = Vec::new();
        for _ in 0..3 {
            match NodeProvider::try_start(dir, args).await {
                Ok(provider) => return provider,
                Err(failure) => {
                    eprintln!("{failure}");
                    failures.push(failure);
                }
            }
        }
        panic!("the test provider did not start in three tries: {failures:#?}");
    }

    async fn try_start(dir: &Path, args: &[&str]) -> Result<NodeProvider, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("no free port: {error}"))?
            .port();
        let mut child = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg("provider.js")
            .args(["--port", &port.to_string()])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node is installed");
        // What node printed ("listening on …"), for the failure message.
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        if let Some(stdout) = child.stdout.take() {
            let printed = printed.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                {
                    printed.lock().unwrap().push(line);
                }
            });
        }
        let mut provider = NodeProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
        };
        let discovery = format!("{}/.well-known/openid-configuration", provider.issuer);
        // Each request bounded too: a listener that accepts and never answers must not stall
        // the wait.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let started = Instant::now();
        loop {
            let last = match http.get(&discovery).send().await {
                Ok(response) if response.status().is_success() => return Ok(provider),
                Ok(response) => format!("answered {}", response.status()),
                Err(error) => format!("{error:?}"),
            };
            if started.elapsed() > Duration::from_secs(20) {
                let status = provider.child.try_wait();
                provider.stop();
                return Err(format!(
                    "the provider did not serve {discovery} within 20 s (node: {status:?}; \
                     it printed {:?}; last try: {last})",
                    printed.lock().unwrap()
                ));
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the provider (also on drop).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        self.stop();
    }
}
