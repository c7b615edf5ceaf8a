//! The demo in a real browser: headless Chromium, driven over WebDriver by chromedriver, with
//! real cookies, redirects and forms, on the demo's SQLite database in a temporary directory.
//! It walks sign up → log in with remember-me → profile → settings (re-authenticate) → log out
//! and saves a screenshot of each page into `target/screenshots/`; and a password reset from
//! "Forgot your password?" through the mail's link to the new password. `.ci/run` installs
//! Chromium and runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/base32.rs"]
mod base32;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use base32::base32_decode;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use examples::demo::account::MailTransport;
use examples::demo::{Config, Demo, app};
use login_account::testing::Outbox;
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
            // W3C WebAuthn "Automation": virtual authenticators the tests add (passkeys).
            "webauthn:virtualAuthenticators": true,
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

    /// Adds a virtual platform authenticator (CTAP2, internal, resident keys, user
    /// verification that succeeds): what a laptop's fingerprint reader is to a passkey.
    fn add_virtual_authenticator(&self) -> String {
        let id = self.call(
            "POST",
            "/webauthn/authenticator",
            Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        );
        id.as_str().unwrap().to_owned()
    }

    /// The credentials the virtual authenticator holds.
    fn credentials(&self, authenticator: &str) -> Vec<Value> {
        self.call(
            "GET",
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            None,
        )
        .as_array()
        .unwrap()
        .clone()
    }

    /// Runs `script` in the page; what it returns.
    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Saves a PNG of the page as it is shown.
    fn screenshot(&self, path: &Path) {
        let data = self.call("GET", "/screenshot", None);
        let png = BASE64_STANDARD
            .decode(data.as_str().expect("a base64 screenshot"))
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Runs `script` (a function body: `return …`) in the page with `args`; what it returns.
    fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Resizes the window: 1280 px wide for a laptop, 390 for a phone.
    fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// Runs axe-core (pinned by `examples/axe/package-lock.json`) on the page: its violations,
    /// each as `{id, impact, nodes, targets}`.
    fn axe(&self, source: &str) -> Vec<Value> {
        self.execute(source, json!([]));
        let answer = self.call(
            "POST",
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1];\
                    axe.run(document, { resultTypes: ['violations'] })\
                      .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,\
                        nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))))\
                      .catch(e => done({ error: String(e) }));",
                "args": [],
            })),
        );
        answer
            .as_array()
            .unwrap_or_else(|| panic!("axe failed: {answer}"))
            .clone()
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
    serve_demo_with_outbox(dir).0
}

/// [`serve_demo`], with the outbox its mails go to (its links point at the served address).
fn serve_demo_with_outbox(dir: &Path) -> (String, Outbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = Config::sqlite(&dir.join("demo.db"));
    config.account.public_url = base.clone();
    let outbox = Outbox::new();
    config.account.mail = MailTransport::Outbox(outbox.clone());
    serve_config(listener, config);
    (base, outbox)
}

/// [`serve_demo`] on `localhost` (WebAuthn needs a domain, not `127.0.0.1`).
fn serve_demo_on_localhost(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::sqlite(&dir.join("demo.db"));
    config.account.public_url = base.clone();
    serve_config(listener, config);
    base
}

/// Serves the demo configured by `config` on `listener`, from its own thread.
fn serve_config(listener: TcpListener, config: Config) {
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let demo = Demo::start(&config).await.unwrap();
            HttpServer::new(move || app(&demo))
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
        })
    });
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
    browser.fill("input[name=email]", "alice@example.com");
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

#[test]
#[ignore = "needs Chromium and ChromeDriver; run by .ci/run"]
fn a_password_reset_walks_from_the_mail_to_the_new_password_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (base, outbox) = serve_demo_with_outbox(dir.path());
    let browser = Browser::start();
    let shots = screenshot_dir();
    let shot = |name: &str| browser.screenshot(&shots.join(format!("{name}.png")));

    browser.go(&format!("{base}/signup"));
    browser.fill("input[name=username]", "bea");
    browser.fill("input[name=email]", "bea@example.com");
    browser.fill("input[name=password]", "forgotten tulip password");
    browser.fill("input[name=confirm]", "forgotten tulip password");
    browser.click("form.card button");
    browser.wait_for_text("Please confirm your email address");
    shot("reset-0-banner");
    browser.click("form.logout button");
    browser.wait_for_text("You are logged out.");

    // The login page's link, the form, the same answer for every address.
    browser.go(&format!("{base}/login"));
    browser.click("a[href='/account/reset']");
    browser.wait_for_path(&base, "/account/reset");
    browser.fill("input[name=email]", "bea@example.com");
    shot("reset-1-request");
    browser.click("form.card button");
    browser.wait_for_text("If an account has this address");
    shot("reset-2-mail-sent");

    // The link from the mail, opened in the browser.
    let mail = outbox.last_to("bea@example.com").expect("the reset mail");
    let link = mail
        .link(&format!("{base}/account/reset/confirm"))
        .expect("a link");
    browser.go(&link);
    browser.wait_for_text("Choose a new password for your account");
    browser.fill("input[name=password]", "remembered dahlia phrase");
    browser.fill("input[name=confirm]", "remembered dahlia phrase");
    shot("reset-3-new-password");
    browser.click("form.card button");
    browser.wait_for_text("Your password is changed.");
    shot("reset-4-changed");

    // The new password logs in; the old one does not.
    browser.go(&format!("{base}/login"));
    browser.fill("input[name=username]", "bea");
    browser.fill("input[name=password]", "forgotten tulip password");
    browser.click("form.card button");
    browser.wait_for_text("Wrong name or password.");
    browser.fill("input[name=password]", "remembered dahlia phrase");
    browser.click("form.card button");
    browser.wait_for_text("Welcome back, bea.");
    // The reset confirmed the address: no banner.
    browser.go(&format!("{base}/profile"));
    browser.wait_for_text("Only logged-in members see this page");
    assert!(
        !browser
            .try_text()
            .unwrap()
            .contains("Please confirm your email address")
    );
    let told = outbox.last_to("bea@example.com").unwrap();
    assert!(told.subject.contains("was changed"), "{}", told.subject);
}

/// axe-core's source, installed by `npm ci` in `examples/axe` (`.ci/run` does).
fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("run `npm ci` in {} first (.ci/run does)", path.display()))
}

/// Serves the demo with its admin account made; the address and the admin's password.
fn serve_demo_with_admin(dir: &Path) -> (String, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // `localhost`, not 127.0.0.1: the address a browser is given for a site on this machine.
    let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    let mut config = Config::sqlite(&dir.join("demo.db"));
    config.account.public_url = base.clone();
    let (sender, password) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let demo = Demo::start(&config).await.unwrap();
            let password = demo.ensure_demo_account().await.unwrap().unwrap();
            sender.send(password).unwrap();
            HttpServer::new(move || app(&demo))
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
        })
    });
    let password = password
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo started");
    (base, password)
}

/// Where the gallery of the demo's pages goes: `docs/gallery/` (the README shows it).
fn gallery_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/gallery");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the layout of the page shown looks like to a visitor: whether it is wider than the
/// window, the table buttons' heights, the inputs' weight and border contrast, and which
/// navigation link is marked current.
const LAYOUT_FACTS: &str = r#"
const luminance = (rgb) => {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map(c => {
    c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a, b) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};
const inputs = [...document.querySelectorAll('input:not([type=hidden]):not([type=checkbox])')];
const field = (input) => {
  const style = getComputedStyle(input);
  let parent = input.parentElement, background = 'rgb(255, 255, 255)';
  while (parent) {
    const bg = getComputedStyle(parent).backgroundColor;
    if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') { background = bg; break; }
    parent = parent.parentElement;
  }
  return { name: input.name, weight: style.fontWeight,
           border: contrast(style.borderTopColor, background),
           placeholder_italic: !input.placeholder || getComputedStyle(input, '::placeholder').fontStyle === 'italic' };
};
const buttons = [...document.querySelectorAll('td button')].map(b => b.getBoundingClientRect().height);
return {
  overflows: document.documentElement.scrollWidth > window.innerWidth + 1,
  scroll_width: document.documentElement.scrollWidth, width: window.innerWidth,
  wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)),
  table_button_heights: buttons,
  one_line_button: (() => { const b = document.querySelector('header button'); return b ? b.getBoundingClientRect().height : 0; })(),
  inputs: inputs.map(field),
  current: [...document.querySelectorAll('nav a[aria-current=page]')].map(a => a.getAttribute('href')),
  current_weight: (() => { const a = document.querySelector('nav a[aria-current=page]'); return a ? getComputedStyle(a).fontWeight : null; })(),
  icon: document.querySelector('link[rel=icon]') ? document.querySelector('link[rel=icon]').href : null,
};
"#;

#[test]
#[ignore = "needs Chromium, ChromeDriver and axe-core (npm ci in examples/axe); run by .ci/run"]
fn every_page_passes_axe_and_reads_well_at_laptop_and_phone_widths() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let (base, password) = serve_demo_with_admin(dir.path());
    let browser = Browser::start();
    let gallery = gallery_dir();
    let mut minor = Vec::new();
    let mut serious = Vec::new();
    let mut layout_problems = Vec::new();

    let mut check = |browser: &Browser, name: &str, path: &str, width: u32, shoot: bool| {
        browser.go(&format!("{base}{path}"));
        browser.find("main h1");
        for violation in browser.axe(&axe) {
            let line = format!("{name} @ {width}px: {violation}");
            match violation["impact"].as_str() {
                Some("serious" | "critical") => serious.push(line),
                _ => minor.push(line),
            }
        }
        let facts = browser.execute(LAYOUT_FACTS, json!([]));
        if facts["overflows"] == true {
            layout_problems.push(format!(
                "{name} @ {width}px is wider than the window: {facts}"
            ));
        }
        for input in facts["inputs"].as_array().unwrap() {
            if input["weight"] != "400" {
                layout_problems.push(format!("{name}: input {} is bold: {input}", input["name"]));
            }
            if input["border"].as_f64().unwrap() < 3.0 {
                layout_problems.push(format!(
                    "{name}: input {} border under 3:1: {input}",
                    input["name"]
                ));
            }
            if input["placeholder_italic"] != true {
                layout_problems.push(format!(
                    "{name}: placeholder of {} reads as a value",
                    input["name"]
                ));
            }
        }
        if width >= 1280 {
            // Table buttons on one line: no taller than the navigation's one-line button.
            let one_line = facts["one_line_button"].as_f64().unwrap_or(0.0).max(32.0);
            for height in facts["table_button_heights"].as_array().unwrap() {
                if height.as_f64().unwrap() > one_line * 1.2 {
                    layout_problems.push(format!("{name}: a table button wraps: {facts}"));
                }
            }
        }
        let nav_path = path.split('?').next().unwrap();
        let in_nav = [
            "/",
            "/login",
            "/signup",
            "/profile",
            "/settings",
            "/tokens",
            "/devices",
            "/mfa/security",
            "/admin",
        ];
        let marked = facts["current"] == json!([nav_path]) && facts["current_weight"] == "700";
        if in_nav.contains(&nav_path) && !marked {
            layout_problems.push(format!(
                "{name}: the navigation does not mark {nav_path}: {facts}"
            ));
        }
        if facts["icon"].is_null() {
            layout_problems.push(format!("{name}: no favicon"));
        }
        if shoot {
            browser.screenshot(&gallery.join(format!("{name}-{width}.png")));
        }
    };

    let logged_out = [
        ("home", "/"),
        ("log-in", "/login"),
        ("sign-up", "/signup"),
        ("reset", "/account/reset"),
        ("not-found", "/no/such/page"),
    ];
    let logged_in = [
        ("profile", "/profile"),
        ("settings", "/settings"),
        ("tokens", "/tokens"),
        ("devices", "/devices"),
        // The admin page needs a second factor: the passkey and TOTP test walks there.
        ("security", "/mfa/security"),
    ];
    for (width, height) in [(1280, 900), (390, 844)] {
        browser.resize(width, height);
        let phone = width < 1000;
        for (name, path) in logged_out {
            check(&browser, name, path, width, !phone || name == "log-in");
        }
        // Errors by their fields: a sign-up with a short password and a mismatch.
        browser.go(&format!("{base}/signup"));
        browser.fill("input[name=username]", "bob");
        browser.fill("input[name=email]", "bob@example.com");
        browser.fill("input[name=password]", "short");
        browser.fill("input[name=confirm]", "other");
        browser.click("form.card button");
        browser.wait_for_text("Please correct what is marked below.");
        let marked = browser.execute(
            "return [...document.querySelectorAll('input[aria-invalid=true]')].map(i => {\
               const error = document.getElementById(i.getAttribute('aria-describedby').split(' ').pop());\
               return { name: i.name, error: error && error.textContent.trim(),\
                        beside: !!error && i.closest('.field') === error.closest('.field'),\
                        visible: !!error && error.offsetParent !== null };\
             });",
            json!([]),
        );
        let names: Vec<&str> = marked
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["password", "confirm"], "{marked}");
        for field in marked.as_array().unwrap() {
            assert!(
                field["beside"] == true && field["visible"] == true,
                "{field}"
            );
        }
        check(&browser, "sign-up-errors", "/signup?", width, false);

        // Logged in as the admin, with a second device and a token, so the tables have rows.
        browser.go(&format!("{base}/login"));
        browser.fill("input[name=username]", "demo");
        browser.fill("input[name=password]", &password);
        browser.click("form.card button");
        browser.wait_for_text("Welcome back");
        browser.go(&format!("{base}/tokens"));
        browser.fill("input[name=label]", "nightly backup");
        browser.click("form.card button");
        browser.wait_for_text("Copy it now");
        for (name, path) in logged_in {
            check(
                &browser,
                name,
                path,
                width,
                !phone || matches!(name, "devices" | "tokens"),
            );
        }
        // The devices table: this device's row styled, each button named for its device.
        browser.go(&format!("{base}/devices"));
        let rows = browser.execute(
            "return [...document.querySelectorAll('tbody tr')].map(r => ({\
               current: r.classList.contains('current'),\
               background: getComputedStyle(r.querySelector('td')).backgroundColor,\
               button: r.querySelector('button').textContent.replace(/\\s+/g, ' ').trim() }));",
            json!([]),
        );
        for row in rows.as_array().unwrap() {
            let button = row["button"].as_str().unwrap();
            assert!(
                button.len() > "Log out".len(),
                "a button says which device: {rows}"
            );
            if row["current"] == true {
                assert_ne!(row["background"], "rgba(0, 0, 0, 0)", "{rows}");
                assert_eq!(button, "Log out this device", "{rows}");
            }
        }
        browser.click("form.logout button");
        browser.wait_for_text("You are logged out.");
    }
    println!("axe-core: {} violations below serious:", minor.len());
    for line in &minor {
        println!("  {line}");
    }
    assert!(
        serious.is_empty(),
        "axe-core, serious or critical:\n{}",
        serious.join("\n")
    );
    assert!(layout_problems.is_empty(), "{}", layout_problems.join("\n"));
    for entry in std::fs::read_dir(&gallery).unwrap() {
        let png = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
#[ignore = "needs Chromium and ChromeDriver; run by .ci/run"]
fn passkeys_and_an_authenticator_app_work_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let base = serve_demo_on_localhost(dir.path());
    let browser = Browser::start();
    let authenticator = browser.add_virtual_authenticator();
    let shots = screenshot_dir();
    let shot = |name: &str| browser.screenshot(&shots.join(format!("{name}.png")));

    browser.go(&format!("{base}/signup"));
    browser.wait_for_text("Sign up");
    browser.fill("input[name=username]", "grace");
    browser.fill("input[name=display_name]", "Grace Hopper");
    browser.fill("input[name=email]", "grace@example.com");
    browser.fill("input[name=password]", "compiler nanosecond cobol");
    browser.fill("input[name=confirm]", "compiler nanosecond cobol");
    browser.click("form.card button");
    browser.wait_for_path(&base, "/profile");

    // Add a passkey on the Security page: the virtual authenticator makes it (with user
    // verification), the page lists it by its name.
    browser.go(&format!("{base}/mfa/security"));
    browser.wait_for_text("Passkeys");
    browser.call(
        "POST",
        &format!("/element/{}/clear", browser.find("#passkey-name")),
        Some(json!({})),
    );
    browser.fill("#passkey-name", "Work laptop");
    browser.click("#passkey-add-button");
    let deadline = Instant::now() + Duration::from_secs(30);
    while browser.script("return document.querySelectorAll('#passkeys li').length") != json!(1) {
        assert!(
            Instant::now() < deadline,
            "no passkey listed; {:?}",
            browser.try_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        browser.script("return document.querySelector('#passkeys li input[name=name]').value"),
        json!("Work laptop")
    );
    let credentials = browser.credentials(&authenticator);
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0]["isResidentCredential"], json!(true));
    shot("mfa-1-passkey-added");

    // Log out, then sign in with the passkey: no name, no password typed.
    browser.click("form.logout button");
    browser.wait_for_text("You are logged out.");
    browser.go(&format!("{base}/login"));
    browser.wait_for_text("Sign in with a passkey");
    browser.click("#passkey-sign-in");
    browser.wait_for_path(&base, "/profile");
    browser.wait_for_text("Grace Hopper");
    shot("mfa-2-signed-in-with-passkey");

    // An authenticator app: the QR code and the secret; the test computes the codes.
    browser.go(&format!("{base}/mfa/security"));
    browser.click("#totp-setup");
    browser.wait_for_text("Or type this secret");
    shot("mfa-3-totp-qr-code");
    let secret_element = browser.find("#totp-secret");
    let secret = browser.call("GET", &format!("/element/{secret_element}/text"), None);
    let totp = login_mfa::Totp::new(
        login_mfa::TotpAlgorithm::Sha1,
        base32_decode(secret.as_str().unwrap()),
        6,
    );
    browser.fill("#totp-code", &totp.code_at(unix_now()));
    browser.click("#totp-enable");
    browser.wait_for_path(&base, "/mfa/security");
    browser.wait_for_text("On: logins ask for a code from your app.");
    browser.click("form.logout button");
    browser.wait_for_text("You are logged out.");

    // The password, then the code: the login's second step.
    browser.go(&format!("{base}/login"));
    browser.fill("input[name=username]", "grace");
    browser.fill("input[name=password]", "compiler nanosecond cobol");
    browser.click("form.card button");
    browser.wait_for_path(&base, "/mfa/verify");
    browser.wait_for_text("Code from your authenticator app");
    shot("mfa-4-second-step");
    // The code of the next step: the one that turned the app on is used up.
    browser.fill("#totp-code", &totp.code_at(unix_now() + 30));
    browser.click("#totp-submit");
    browser.wait_for_path(&base, "/profile");
    browser.wait_for_text("Grace Hopper");
}
