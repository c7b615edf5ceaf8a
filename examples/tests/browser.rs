//! The demo in a real browser: headless Chromium, driven over WebDriver by chromedriver, with
//! real cookies, redirects and forms, on the demo's SQLite database in a temporary directory.
//! It walks sign up → log in with remember-me → profile → settings (re-authenticate) → log out
//! and saves a screenshot of each page into `target/screenshots/`. `.ci/run` installs
//! Chromium and runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use examples::demo::{Config, Demo};
use examples::demo_app;
use serde_json::{Value, json};

/// The WebDriver element key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 request to chromedriver on loopback; the JSON it answers.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "chromedriver closed mid-answer"
        );
        response.push(byte[0]);
    }
    let head = String::from_utf8(response).unwrap();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).unwrap();
    serde_json::from_slice(&payload)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&payload)))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chromedriver process and one headless Chromium session.
struct Browser {
    port: u16,
    driver: Child,
    session: String,
    profile: std::path::PathBuf,
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!("login-runtime-chromium-{port}"));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--window-size=1100,820", "--hide-scrollbars",
                    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let created = http(port, "POST", "/session", Some(&capabilities));
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            port,
            driver,
            session,
            profile,
        }
    }

    /// One WebDriver command; the WebDriver error (`stale element reference`, …) as `Err`.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let path = format!("/session/{}{path}", self.session);
        let mut answer = http(self.port, method, &path, body.as_ref());
        let value = answer["value"].take();
        match value.get("error") {
            None => Ok(value),
            Some(_) => Err(json!({ "command": format!("{method} {path}"), "answer": value })),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    /// The page's text, or `Err` while a navigation replaces the document under us.
    fn try_text(&self) -> Result<String, Value> {
        let found = self.try_call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": "body"})),
        )?;
        let body = found[ELEMENT].as_str().unwrap_or_default().to_owned();
        let text = self.try_call("GET", &format!("/element/{body}/text"), None)?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until the page shows `needle`. A click that submits a form returns before the next
    /// page has replaced the current one (logging out of `/` lands on `/` again), so a page's
    /// text is only trusted once it says what the test expects, or the wait times out.
    fn wait_for_text(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.try_text();
            if matches!(&text, Ok(text) if text.contains(needle)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page at {} never showed {needle:?}; last seen: {text:?}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    fn cookie_names(&self) -> Vec<String> {
        let cookies = self.call("GET", "/cookie", None);
        cookies
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Forgets the session cookie, as closing the browser would; the remember cookie stays.
    fn close_and_reopen(&self) {
        self.call("DELETE", "/cookie/id", None);
    }

    /// Saves a PNG of the page as it is shown.
    fn screenshot(&self, path: &Path) {
        let data = self.call("GET", "/screenshot", None);
        let png = BASE64_STANDARD
            .decode(data.as_str().expect("a base64 screenshot"))
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Waits for a navigation started by a click to land on `path`.
    fn wait_for_path(&self, base: &str, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.url() != format!("{base}{path}") {
            assert!(
                Instant::now() < deadline,
                "still at {} instead of {path}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Serves the demo, on a SQLite database in `dir`, on a free loopback port from its own
/// thread.
fn serve_demo(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config::sqlite(&dir.join("demo.db"));
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let demo = Demo::start(&config).await.unwrap();
            HttpServer::new(move || demo_app!(demo))
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
        })
    });
    base
}

/// Where the screenshots go: `target/screenshots/` of the workspace.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "needs Chromium and ChromeDriver; run by .ci/run"]
fn the_demo_works_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve_demo(dir.path());
    let browser = Browser::start();
    let shots = screenshot_dir();
    let shot = |name: &str| browser.screenshot(&shots.join(format!("{name}.png")));

    // Sign up: the new member lands on the profile page, logged in.
    browser.go(&format!("{base}/"));
    browser.wait_for_text("Hello, stranger.");
    shot("1-home");
    browser.click("a.button[href='/signup']");
    browser.wait_for_path(&base, "/signup");
    browser.fill("input[name=username]", "alice");
    browser.fill("input[name=display_name]", "Alice Liddell");
    browser.fill("input[name=password]", "wonderland rabbit");
    browser.fill("input[name=confirm]", "wonderland rabbit");
    shot("2-sign-up");
    browser.click("form.card button");
    browser.wait_for_path(&base, "/profile");
    browser.wait_for_text("Your account is ready.");
    browser.click("form.logout button");
    browser.wait_for_text("You are logged out.");

    // A members' page sends the visitor to the login form, which says why.
    browser.go(&format!("{base}/profile"));
    assert_eq!(browser.url(), format!("{base}/login?next=%2Fprofile"));
    browser.wait_for_text("Please log in to access this page.");

    // A wrong password keeps the name; then log in with remember-me, on to `next`.
    browser.fill("input[name=username]", "alice");
    browser.fill("input[name=password]", "wrong");
    browser.click("form.card button");
    browser.wait_for_text("Wrong name or password.");
    browser.fill("input[name=password]", "wonderland rabbit");
    browser.click("input[name=remember]");
    shot("3-log-in");
    browser.click("form.card button");
    browser.wait_for_path(&base, "/profile");
    browser.wait_for_text("Welcome back, Alice Liddell.");
    shot("4-profile");
    let cookies = browser.cookie_names();
    assert!(
        cookies.contains(&"id".to_owned()) && cookies.contains(&"remember_token".to_owned()),
        "{cookies:?}"
    );

    // The browser is closed and reopened: remembered, but settings need the password again.
    browser.close_and_reopen();
    browser.go(&format!("{base}/profile"));
    browser.wait_for_text("not fresh (restored from remember-me)");
    browser.go(&format!("{base}/settings"));
    assert_eq!(
        browser.url(),
        format!("{base}/reauthenticate?next=%2Fsettings")
    );
    browser.wait_for_text("Enter your password to continue.");
    shot("5-reauthenticate");
    browser.fill("input[name=password]", "wonderland rabbit");
    browser.click("form.card button");
    browser.wait_for_path(&base, "/settings");
    browser.wait_for_text("Password confirmed.");
    shot("6-settings");

    // Log out from the navigation: the login and the remember cookie are gone.
    browser.click("form.logout button");
    browser.wait_for_text("You are logged out.");
    assert_eq!(browser.url(), format!("{base}/"));
    shot("7-logged-out");
    assert!(
        !browser
            .cookie_names()
            .contains(&"remember_token".to_owned())
    );
    browser.close_and_reopen();
    browser.go(&format!("{base}/profile"));
    assert_eq!(browser.url(), format!("{base}/login?next=%2Fprofile"));
    for name in [
        "1-home",
        "2-sign-up",
        "3-log-in",
        "4-profile",
        "5-reauthenticate",
        "6-settings",
        "7-logged-out",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
    }
}
