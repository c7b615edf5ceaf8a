//! One sign-in through the provider's real pages in headless Chromium, driven over WebDriver
//! (chromedriver), as a person would: the app's button, the provider's login and consent
//! forms, back to the members' page. `.ci/run` installs Chromium and the provider.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{AppOptions, TestApp, free_port};

/// The WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver with one headless Chromium session, spoken to over WebDriver's JSON API.
struct Chromium {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    profile: std::path::PathBuf,
}

impl Chromium {
    async fn start() -> Chromium {
        let port = free_port();
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("login-oidc-chromium-{port}"));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-sync",
                         // The provider's development pages link a web font: only loopback
                         // resolves, so the test talks to nothing but 127.0.0.1.
                         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                         format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Chromium {
            driver,
            http,
            session,
            base,
            profile,
        }
    }

    /// One command; WebDriver's error (a stale element while a page is replaced, …) as `Err`.
    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body.unwrap_or_else(|| json!({}))),
        };
        let mut answer: Value = request.send().await.unwrap().json().await.unwrap();
        let value = answer["value"].take();
        match value.get("error") {
            None => Ok(value),
            Some(_) => Err(value),
        }
    }

    async fn go(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .await
            .unwrap();
    }

    async fn url(&self) -> String {
        let url = self.command("GET", "/url", None).await.unwrap();
        url.as_str().unwrap().to_owned()
    }

    async fn element(&self, css: &str) -> Result<String, Value> {
        let found = self
            .command(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(found[ELEMENT].as_str().unwrap_or_default().to_owned())
    }

    /// Waits (bounded) for an element matching `css` on the current page, so a click is
    /// never aimed at the page being replaced.
    async fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(element) = self.element(css).await {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no {css} at {} within 30 s",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        let path = format!("/element/{element}/value");
        self.command("POST", &path, Some(json!({ "text": text })))
            .await
            .unwrap();
    }

    async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.command("POST", &format!("/element/{element}/click"), None)
            .await
            .unwrap();
    }

    /// Waits (bounded) until the page's text contains `needle`; the page's URL then.
    async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = match self.element("body").await {
                Ok(body) => self
                    .command("GET", &format!("/element/{body}/text"), None)
                    .await
                    .ok()
                    .and_then(|text| text.as_str().map(str::to_owned)),
                Err(_) => None,
            };
            if text.as_deref().is_some_and(|text| text.contains(needle)) {
                return self.url().await;
            }
            assert!(
                Instant::now() < deadline,
                "the page at {} never showed {needle:?}; last seen: {text:?}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Ending the WebDriver session quits Chromium (killing chromedriver alone would leave it
        // running). Drop cannot await, so this one request is written by hand, bounded.
        let address = self.base.trim_start_matches("http://");
        if let Ok(mut stream) = TcpStream::connect(address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                // The answer comes once Chromium has quit.
                let _ = stream.read(&mut [0u8; 512]);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[actix_web::test]
#[ignore = "needs Node, the oidc-provider npm package, Chromium and ChromeDriver; run by .ci/run"]
async fn signs_in_through_the_providers_real_pages_in_a_browser() {
    let (app, provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let browser = Chromium::start().await;

    // The members' page sends the visitor to the app's login page, which offers the button.
    browser.go(&app.url("/members")).await;
    assert_eq!(browser.url().await, app.url("/login?next=%2Fmembers"));
    browser.click("#oidc").await;

    // The provider's own sign-in page, then its consent page.
    browser.fill("input[name=login]", "alice").await;
    browser.fill("input[name=password]", "any password").await;
    assert!(browser.url().await.starts_with(&provider.issuer));
    browser.click("button[type=submit]").await;
    browser.wait_for_text("Authorize").await;
    browser.click("button[type=submit]").await;

    // Back at the app, logged in, on the page the visitor first asked for.
    let landed = browser
        .wait_for_text("Hello, Alice Liddell! (fresh: true)")
        .await;
    assert_eq!(landed, app.url("/members"));
    assert_eq!(app.sign_ins().len(), 1);
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}
