//! Three demo instances behind HAProxy (ignored: needs `haproxy` and PostgreSQL; run by
//! `.ci/run`). Each test makes its own certificate authority and certificate, its own
//! PostgreSQL database (sessions, devices, failed-login counters and keys all live there, so
//! the instances share them), starts three `demo` processes and an HAProxy on free loopback
//! ports, and stops every process by its PID when it ends, failed or not.
//!
//! HAProxy terminates TLS, balances round robin with no stickiness, adds `X-Forwarded-For`
//! (`option forwardfor`) and `X-Forwarded-Proto: https`, and connects to the instances from
//! 127.0.0.2: the one address the instances trust (`DEMO_TRUSTED_PROXIES`). The clients
//! connect to HAProxy from 127.0.0.3, and "directly" to an instance from 127.0.0.1, so every
//! address the demo records says which way a request came.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::cookie::CookieStore;
use reqwest::header::{HeaderMap, HeaderValue};

const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// HAProxy's address towards the instances: their only trusted proxy.
const PROXY_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Where the clients connect to HAProxy from: the address the demo must record for them.
const CLIENT_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const PASSWORD: &str = "correct horse battery";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A process this test started, killed (SIGKILL) and reaped when dropped.
struct Process {
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private certificate authority's PEM and a `localhost` / `127.0.0.1` certificate it
/// signed, with its key, in one PEM file as HAProxy's `crt` wants it.
fn certificate(dir: &Path) -> (String, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "load balancer test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let pem = dir.join("site.pem");
    std::fs::write(
        &pem,
        format!("{}{}", server.pem(), server_key.serialize_pem()),
    )
    .unwrap();
    (ca.pem(), pem)
}

/// Three demo instances on one database, behind HAProxy.
struct Site {
    dir: tempfile::TempDir,
    database_url: String,
    instances: [Option<Process>; 3],
    _haproxy: Process,
    front: Arc<Front>,
}

/// Where the clients go: HAProxy (trusting the test's CA) and each instance's own port.
struct Front {
    proxy_port: u16,
    ca_pem: String,
    ports: [u16; 3],
}

impl Site {
    fn start_instance(dir: &Path, database_url: &str, port: u16, n: usize) -> Process {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("demo{n}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .env("DATABASE_URL", database_url)
            .env_remove("REDIS_URL")
            .env("DEMO_ADDR", format!("127.0.0.1:{port}"))
            .env("DEMO_SECURE_COOKIES", "1")
            .env("DEMO_TRUSTED_PROXIES", PROXY_SOURCE.to_string())
            .env("DEMO_SHUTDOWN_SECS", "5")
            .env_remove("OIDC_ISSUER_URL")
            .env_remove("SMTP_URL")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the demo binary starts");
        Process { child }
    }

    /// Waits (at most 60 s) until the instance on `port` answers `/healthz` with 200.
    async fn wait_healthy(port: u16) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let res = client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if res.is_ok_and(|res| res.status() == StatusCode::OK) {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the instance on {port} did not become healthy in 60 s");
    }

    async fn start(database_url: String) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let ports = [free_port(), free_port(), free_port()];
        // Started together: they race to migrate the database and to store the keys.
        let instances =
            [0, 1, 2].map(|n| Some(Site::start_instance(dir.path(), &database_url, ports[n], n)));
        for port in ports {
            Site::wait_healthy(port).await;
        }
        let (ca_pem, pem) = certificate(dir.path());
        let proxy_port = free_port();
        let servers: String = (0..3)
            .map(|n| format!("    server d{n} 127.0.0.1:{} check\n", ports[n]))
            .collect();
        let config = format!(
            "global\n\
             \x20   maxconn 2000\n\
             defaults\n\
             \x20   mode http\n\
             \x20   timeout connect 1s\n\
             \x20   timeout client 30s\n\
             \x20   timeout server 15s\n\
             \x20   retries 2\n\
             \x20   option redispatch\n\
             frontend https\n\
             \x20   bind 127.0.0.1:{proxy_port} ssl crt {pem}\n\
             \x20   option forwardfor\n\
             \x20   http-request set-header X-Forwarded-Proto https\n\
             \x20   http-response set-header X-Served-By %[srv_name]\n\
             \x20   default_backend demo\n\
             backend demo\n\
             \x20   balance roundrobin\n\
             \x20   option httpchk GET /healthz\n\
             \x20   http-check expect status 200\n\
             \x20   timeout check 2s\n\
             \x20   default-server inter 500ms fall 2 rise 1 source {PROXY_SOURCE}\n\
             {servers}",
            pem = pem.display(),
        );
        let config_path = dir.path().join("haproxy.cfg");
        std::fs::write(&config_path, config).unwrap();
        let check = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&config_path)
            .output()
            .expect("haproxy is installed (apt-get install haproxy)");
        assert!(
            check.status.success(),
            "haproxy.cfg: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let haproxy = Process {
            child: Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&config_path)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        };
        let site = Site {
            dir,
            database_url,
            instances,
            _haproxy: haproxy,
            front: Arc::new(Front {
                proxy_port,
                ca_pem,
                ports,
            }),
        };
        site.front.wait_all_served(3).await;
        site
    }

    fn kill(&mut self, instance: usize) {
        self.instances[instance] = None;
    }

    async fn restart(&mut self, instance: usize) {
        let port = self.front.ports[instance];
        self.instances[instance] = Some(Site::start_instance(
            self.dir.path(),
            &self.database_url,
            port,
            instance,
        ));
        Site::wait_healthy(port).await;
        self.front.wait_all_served(3).await;
    }
}

impl Front {
    /// Waits (at most 30 s) until HAProxy has sent requests to `count` instances in a row.
    async fn wait_all_served(&self, count: usize) {
        let client = self.cookieless("health/1");
        let mut served = BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while served.len() < count && Instant::now() < deadline {
            if let Ok(res) = client.get(self.url("/healthz")).send().await
                && res.status() == StatusCode::OK
            {
                served.insert(served_by(res.headers()));
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            served.len(),
            count,
            "HAProxy reaches every instance: {served:?}"
        );
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.proxy_port)
    }

    fn direct_url(&self, instance: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ports[instance])
    }

    /// A browser through HAProxy: trusts the test's CA only, keeps cookies as a browser does
    /// (`Secure` ones over HTTPS only), follows no redirect, and always sends `agent`.
    fn browser(&self, agent: &str) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve(
                "localhost",
                SocketAddr::from((Ipv4Addr::LOCALHOST, self.proxy_port)),
            )
            .local_address(IpAddr::V4(CLIENT_ADDRESS))
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(agent)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            origin: self.url(""),
            csrf: std::cell::RefCell::new(None),
        }
    }

    /// A client through HAProxy that keeps no cookies (they are set per request).
    fn cookieless(&self, agent: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .resolve(
                "localhost",
                SocketAddr::from((Ipv4Addr::LOCALHOST, self.proxy_port)),
            )
            .local_address(IpAddr::V4(CLIENT_ADDRESS))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(agent)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// A client that connects straight to an instance (from 127.0.0.1, not a trusted proxy),
    /// keeping no cookies, sending the same `agent`.
    fn direct(agent: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(agent)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }
}

/// Which instance HAProxy sent a request to.
fn served_by(headers: &HeaderMap) -> String {
    headers
        .get("x-served-by")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// An answer as the test reads it.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    served_by: String,
    body: String,
}

async fn page(res: reqwest::Response) -> Result<Page, reqwest::Error> {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await?;
    Ok(Page {
        status,
        location: headers
            .get("location")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        set_cookies: headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::to_owned)
            .collect(),
        served_by: served_by(&headers),
        body,
    })
}

fn csrf_of(body: &str) -> Option<String> {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

/// The login names a page shows (`<dd>NAME</dd>` on the profile page).
fn names_shown(body: &str) -> Vec<String> {
    body.split("<dt>Name</dt><dd>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect()
}

struct Browser {
    client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    origin: String,
    csrf: std::cell::RefCell<Option<String>>,
}

impl Browser {
    async fn get(&self, path: &str) -> Result<Page, reqwest::Error> {
        let page = page(
            self.client
                .get(format!("{}{path}", self.origin))
                .send()
                .await?,
        )
        .await?;
        if let Some(token) = csrf_of(&page.body) {
            *self.csrf.borrow_mut() = Some(token);
        }
        Ok(page)
    }

    /// Posts `form` with the last form's token and the `Origin` a browser sends.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Page, reqwest::Error> {
        let mut form = form.to_vec();
        let token = self.csrf.borrow().clone().unwrap_or_default();
        form.push(("csrf", &token));
        page(
            self.client
                .post(format!("{}{path}", self.origin))
                .header("origin", &self.origin)
                .form(&form)
                .send()
                .await?,
        )
        .await
    }

    async fn sign_up(&self, name: &str) -> Result<Page, reqwest::Error> {
        let form = self.get("/signup").await?;
        if form.status != StatusCode::OK {
            return Ok(form);
        }
        self.post(
            "/signup",
            &[
                ("username", name),
                ("display_name", "Load Person"),
                ("email", &format!("{name}@example.com")),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await
    }

    /// Opens the login form and posts it. When the form itself does not come (a 502 from
    /// HAProxy for a request in flight on the killed instance), that answer is the result:
    /// posting without the form's token would be refused, and count as the site's fault.
    async fn log_in(&self, name: &str, password: &str) -> Result<Page, reqwest::Error> {
        let form = self.get("/login").await?;
        if form.status != StatusCode::OK {
            return Ok(form);
        }
        self.post(
            "/login",
            &[
                ("username", name),
                ("password", password),
                ("remember", "on"),
            ],
        )
        .await
    }

    async fn log_out(&self) -> Result<Page, reqwest::Error> {
        let home = self.get("/").await?;
        if home.status != StatusCode::OK {
            return Ok(home);
        }
        self.post("/logout", &[]).await
    }

    /// The `Cookie` header this browser sends to the site.
    fn cookie_header(&self) -> String {
        self.jar
            .cookies(&self.origin.parse().unwrap())
            .and_then(|value| value.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Runs `test` on three instances behind HAProxy, on a new database dropped afterwards.
async fn on_site<F: Future<Output = ()>>(test: impl FnOnce(Site) -> F) {
    sqlx::any::install_default_drivers();
    let name = format!("demo_lb_{}", hex::encode(rand::random::<[u8; 6]>()));
    admin(&format!("CREATE DATABASE {name}")).await;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
        let site = Site::start(url.clone()).await;
        test(site).await;
    }))
    .await;
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn admin(sql: &str) {
    let pool = sqlx::PgPool::connect(POSTGRES_ADMIN_URL)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (user postgres, database test)");
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[actix_web::test]
#[ignore = "needs haproxy and PostgreSQL; run by .ci/run"]
async fn behind_haproxy_cookies_are_secure_forged_headers_change_nothing_and_the_real_address_is_recorded()
 {
    on_site(async |site| {
        let browser = site.front.browser("lb-test/1");
        let signed_up = browser.sign_up("lbalice").await.unwrap();
        assert_eq!(
            signed_up.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_up.body
        );
        let session_cookie = signed_up
            .set_cookies
            .iter()
            .find(|cookie| cookie.starts_with("id="))
            .expect("the login sets the session cookie");
        assert!(session_cookie.contains("; Secure"), "{session_cookie}");
        assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
        assert_eq!(
            browser.log_out().await.unwrap().status,
            StatusCode::SEE_OTHER
        );
        let login = browser.log_in("lbalice", PASSWORD).await.unwrap();
        assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
        for cookie in &login.set_cookies {
            assert!(
                cookie.contains("; Secure"),
                "every cookie is Secure: {cookie}"
            );
        }
        assert!(
            login
                .set_cookies
                .iter()
                .any(|cookie| cookie.starts_with("remember_token=")),
            "{:?}",
            login.set_cookies
        );

        // No stickiness: the login made on one instance is valid on every one.
        let mut served = BTreeSet::new();
        for _ in 0..6 {
            let profile = browser.get("/profile").await.unwrap();
            assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
            assert_eq!(names_shown(&profile.body), ["lbalice"]);
            served.insert(profile.served_by);
        }
        assert_eq!(served.len(), 3, "round robin over the three: {served:?}");

        // The address recorded for the device is the client's, not HAProxy's.
        let devices = browser.get("/devices").await.unwrap();
        assert!(
            devices.body.contains(&format!("<td>{CLIENT_ADDRESS}</td>")),
            "{}",
            devices.body
        );
        assert!(!devices.body.contains(&format!("<td>{PROXY_SOURCE}</td>")));

        // A forged X-Forwarded-For through HAProxy: HAProxy appends the real address, which
        // is the right-most untrusted hop, and the one recorded.
        let forger = site.front.browser("lb-test/1");
        forger.get("/login").await.unwrap();
        let forger_token = forger.csrf.borrow().clone().unwrap();
        let res = forger
            .client
            .post(site.front.url("/login"))
            .header("x-forwarded-for", "203.0.113.66")
            .header("origin", site.front.url(""))
            .form(&[
                ("username", "lbalice"),
                ("password", PASSWORD),
                ("csrf", &forger_token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let devices = browser.get("/devices").await.unwrap();
        assert!(!devices.body.contains("203.0.113.66"), "{}", devices.body);

        // Straight to an instance, forging every forwarding header: none of it is believed.
        let agent = "lb-direct/1";
        let direct = Front::direct(agent);
        let form = page(
            direct
                .get(site.front.direct_url(0, "/login"))
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        let token = csrf_of(&form.body).unwrap();
        let cookie: String = form
            .set_cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        let forged = |request: reqwest::RequestBuilder| {
            request
                .header("cookie", &cookie)
                .header("x-forwarded-for", "203.0.113.77")
                .header("forwarded", "for=203.0.113.77;proto=https")
                .header("x-forwarded-proto", "https")
        };
        // X-Forwarded-Proto: the instance knows it is plain HTTP here, so an `https://` Origin
        // is another site's (through HAProxy the same Origin was this site's).
        let res = forged(direct.post(site.front.direct_url(0, "/login")))
            .header(
                "origin",
                format!("https://127.0.0.1:{}", site.front.ports[0]),
            )
            .form(&[
                ("username", "lbalice"),
                ("password", PASSWORD),
                ("csrf", &token),
            ])
            .send()
            .await
            .unwrap();
        let refused = page(res).await.unwrap();
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(
            refused.body.contains("sent from another site"),
            "{}",
            refused.body
        );
        // X-Forwarded-For: the login from 127.0.0.1 is recorded as 127.0.0.1.
        let res = forged(direct.post(site.front.direct_url(0, "/login")))
            .form(&[
                ("username", "lbalice"),
                ("password", PASSWORD),
                ("csrf", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let devices = browser.get("/devices").await.unwrap();
        assert!(!devices.body.contains("203.0.113.77"), "{}", devices.body);
        assert!(
            devices.body.contains("<td>127.0.0.1</td>"),
            "{}",
            devices.body
        );
        assert_eq!(
            devices.body.matches("<td>127.0.0.3</td>").count(),
            2,
            "the two logins through HAProxy, by their real address: {}",
            devices.body
        );

        // The audit trail: the logins by address, from the database all instances share.
        let pool = sqlx::PgPool::connect(&site.database_url).await.unwrap();
        let clients: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT client FROM audit_log WHERE event = 'login' ORDER BY client",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        pool.close().await;
        assert_eq!(clients, ["127.0.0.1", "127.0.0.3"]);
    })
    .await;
}

#[actix_web::test]
#[ignore = "needs haproxy and PostgreSQL; run by .ci/run"]
async fn five_wrong_passwords_spread_over_the_three_instances_lock_the_account() {
    on_site(async |site| {
        let owner = site.front.browser("lb-owner/1");
        assert_eq!(
            owner.sign_up("lbcarol").await.unwrap().status,
            StatusCode::SEE_OTHER
        );
        let attacker = site.front.browser("lb-attacker/1");
        attacker.get("/login").await.unwrap();
        let mut served = BTreeSet::new();
        for attempt in 1..=5 {
            let page = attacker
                .post(
                    "/login",
                    &[("username", "lbcarol"), ("password", "wrong password")],
                )
                .await
                .unwrap();
            assert_eq!(page.status, StatusCode::OK, "attempt {attempt}");
            assert!(
                page.body.contains("Wrong name or password."),
                "{}",
                page.body
            );
            served.insert(page.served_by);
        }
        assert_eq!(
            served.len(),
            3,
            "the attempts went to every instance: {served:?}"
        );
        // Locked on every instance, for the right password too.
        let mut locked_on = BTreeSet::new();
        for _ in 0..3 {
            let page = attacker
                .post("/login", &[("username", "lbcarol"), ("password", PASSWORD)])
                .await
                .unwrap();
            assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
            assert!(
                page.body.contains("Too many failed logins"),
                "{}",
                page.body
            );
            locked_on.insert(page.served_by);
        }
        assert_eq!(locked_on.len(), 3, "{locked_on:?}");
        let fresh = site.front.browser("lb-owner/2");
        let page = fresh.log_in("lbcarol", PASSWORD).await.unwrap();
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    })
    .await;
}

/// What the load test counts.
#[derive(Default)]
struct Tally {
    /// Answers by status (`502`, …) or error kind (`connect`, `timeout`).
    by_outcome: BTreeMap<String, u64>,
    latencies: Vec<Duration>,
    /// A page that named another user.
    wrong_user: u64,
    /// A cookie that still logged in after its logout or revocation.
    survived_logout: u64,
    /// Checks of a logged-out cookie that answered the anonymous page.
    logouts_checked: u64,
    /// Answers that are neither what the flow expects nor a clean 5xx or connection error.
    unexpected: Vec<String>,
    /// The slowest answer or error.
    slowest: Duration,
    cycles: u64,
}

impl Tally {
    fn record(&mut self, started: Instant, result: &Result<Page, reqwest::Error>) {
        let took = started.elapsed();
        self.latencies.push(took);
        self.slowest = self.slowest.max(took);
        let key = match result {
            Ok(page) => page.status.as_u16().to_string(),
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(error) if error.is_connect() => "connect error".to_owned(),
            Err(_) => "connection closed".to_owned(),
        };
        *self.by_outcome.entry(key).or_default() += 1;
    }

    /// Whether `result` is `expected`; a clean failure (5xx, a connection error) is not
    /// unexpected, anything else is.
    fn expect(&mut self, what: &str, result: &Result<Page, reqwest::Error>, expected: u16) -> bool {
        match result {
            Ok(page) if page.status.as_u16() == expected => true,
            Ok(page) if page.status.is_server_error() => false,
            Ok(page) => {
                self.unexpected
                    .push(format!("{what}: {} from {}", page.status, page.served_by));
                false
            }
            Err(error) if error.is_timeout() => {
                self.unexpected.push(format!("{what}: timed out"));
                false
            }
            Err(_) => false,
        }
    }

    fn merge(&mut self, other: Tally) {
        for (key, count) in other.by_outcome {
            *self.by_outcome.entry(key).or_default() += count;
        }
        self.latencies.extend(other.latencies);
        self.wrong_user += other.wrong_user;
        self.survived_logout += other.survived_logout;
        self.logouts_checked += other.logouts_checked;
        self.unexpected.extend(other.unexpected);
        self.slowest = self.slowest.max(other.slowest);
        self.cycles += other.cycles;
    }
}

/// A timed request.
macro_rules! timed {
    ($tally:expr, $request:expr) => {{
        let started = Instant::now();
        let result = $request.await;
        $tally.record(started, &result);
        result
    }};
}

/// One client's work until `deadline`: log in (two browsers of the same user), browse, log the
/// other browser out from the devices page, log out; after each logout, check the old cookies
/// through HAProxy and straight at every instance.
async fn client_loop(site: Arc<Front>, n: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let name = format!("lbu{n:02}x");
    let agent = format!("lb-load/{n}");
    while Instant::now() < deadline {
        tally.cycles += 1;
        let first = site.browser(&agent);
        let second = site.browser(&agent);
        let login = timed!(tally, first.log_in(&name, PASSWORD));
        if !tally.expect("login", &login, 303) {
            continue;
        }
        let login = timed!(tally, second.log_in(&name, PASSWORD));
        if !tally.expect("second login", &login, 303) {
            continue;
        }
        for path in ["/profile", "/", "/profile", "/devices", "/profile"] {
            let page = timed!(tally, first.get(path));
            if tally.expect(path, &page, 200)
                && let Ok(page) = &page
            {
                let shown = names_shown(&page.body);
                if shown.iter().any(|shown| *shown != name) {
                    tally.wrong_user += 1;
                }
                if path == "/profile" && shown.is_empty() {
                    tally.unexpected.push("profile without a name".to_owned());
                }
            }
        }
        // Revoke the second browser's device from the first.
        let devices = timed!(tally, first.get("/devices"));
        if !tally.expect("devices", &devices, 200) {
            continue;
        }
        let revoked = timed!(tally, first.post("/devices/log-out-others", &[]));
        if tally.expect("log out others", &revoked, 303) {
            let cookies = second.cookie_header();
            check_logged_out(&site, &second, &cookies, &agent, &mut tally).await;
        }
        let cookies = first.cookie_header();
        let logout = timed!(tally, first.log_out());
        if tally.expect("logout", &logout, 303) {
            check_logged_out(&site, &first, &cookies, &agent, &mut tally).await;
        }
    }
    tally
}

/// After a logout: the browser itself, and the cookies it held before (through HAProxy and at
/// every instance), get the anonymous answer (302 to the login page), never the profile.
async fn check_logged_out(
    site: &Front,
    browser: &Browser,
    cookies: &str,
    agent: &str,
    tally: &mut Tally,
) {
    let mut answers = vec![timed!(tally, browser.get("/profile"))];
    let cookie = HeaderValue::from_str(cookies).unwrap();
    let mut requests = vec![
        site.cookieless(agent)
            .get(site.url("/profile"))
            .header("cookie", cookie.clone()),
    ];
    let direct = Front::direct(agent);
    for instance in 0..3 {
        requests.push(
            direct
                .get(site.direct_url(instance, "/profile"))
                .header("cookie", cookie.clone()),
        );
    }
    for request in requests {
        answers.push(timed!(tally, async { page(request.send().await?).await }));
    }
    for answer in &answers {
        match answer {
            Ok(page) if page.status == StatusCode::OK => tally.survived_logout += 1,
            Ok(page) if page.status == StatusCode::FOUND && page.location.starts_with("/login") => {
                tally.logouts_checked += 1;
            }
            _ => {
                tally.expect("logged-out cookie", answer, 302);
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

const CLIENTS: usize = 30;
const LOAD_SECS: u64 = 20;

#[actix_web::test]
#[ignore = "needs haproxy and PostgreSQL; run by .ci/run"]
async fn load_through_haproxy_while_an_instance_is_killed_no_wrong_user_and_no_login_survives_logout()
 {
    on_site(async |mut site| {
        // The users, signed up through HAProxy before the load.
        let signups = (0..CLIENTS).map(|n| {
            let browser = site.front.browser("lb-signup/1");
            async move {
                let page = browser.sign_up(&format!("lbu{n:02}x")).await.unwrap();
                assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
            }
        });
        futures_util::future::join_all(signups).await;

        let urls = site.front.clone();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(LOAD_SECS);
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| actix_web::rt::spawn(client_loop(urls.clone(), n, deadline)))
            .collect();

        // A third of the way in, SIGKILL the second instance; restart it 4 s later.
        actix_web::rt::time::sleep(Duration::from_secs(LOAD_SECS / 3)).await;
        site.kill(1);
        let killed_at = started.elapsed();
        actix_web::rt::time::sleep(Duration::from_secs(4)).await;
        site.restart(1).await;
        let restarted_at = started.elapsed();

        let mut tally = Tally::default();
        let all = actix_web::rt::time::timeout(
            Duration::from_secs(LOAD_SECS + 60),
            futures_util::future::join_all(clients),
        )
        .await
        .expect("every client finishes within its bound");
        for result in all {
            tally.merge(result.expect("a client task"));
        }

        // After the restart, the same logins work on it: a fresh login served by it.
        let after = site.front.browser("lb-load/after");
        let mut restarted_served = false;
        after.log_in("lbu00x", PASSWORD).await.unwrap();
        for _ in 0..6 {
            let page = after.get("/profile").await.unwrap();
            assert_eq!(page.status, StatusCode::OK);
            assert_eq!(names_shown(&page.body), ["lbu00x"]);
            restarted_served |= page.served_by == "d1";
        }
        assert!(
            restarted_served,
            "the restarted instance serves logins again"
        );

        tally.latencies.sort();
        let total: u64 = tally.by_outcome.values().sum();
        println!(
            "\nload through HAProxy: {CLIENTS} clients, {LOAD_SECS} s, instance d1 killed at \
             {killed_at:.1?} and healthy again at {restarted_at:.1?}"
        );
        println!("| requests | p50 | p99 | slowest | login cycles | logged-out cookies checked |");
        println!("|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {total} | {:.1?} | {:.1?} | {:.1?} | {} | {} |",
            percentile(&tally.latencies, 0.5),
            percentile(&tally.latencies, 0.99),
            tally.slowest,
            tally.cycles,
            tally.logouts_checked,
        );
        println!("\n| answer | count |\n|---|---:|");
        for (outcome, count) in &tally.by_outcome {
            println!("| {outcome} | {count} |");
        }
        println!(
            "\nwrong-user answers: {}, logins surviving their logout: {}",
            tally.wrong_user, tally.survived_logout
        );

        assert_eq!(tally.wrong_user, 0, "no answer names another user");
        assert_eq!(tally.survived_logout, 0, "no login survives its logout");
        assert!(
            tally.unexpected.is_empty(),
            "only clean 5xx or connection errors: {:?}",
            &tally.unexpected[..tally.unexpected.len().min(20)]
        );
        assert!(tally.logouts_checked > 100, "enough logouts were checked");
        assert!(
            tally.slowest < Duration::from_secs(10),
            "every answer or error within 10 s"
        );
        // The failures (5xx, connection errors: requests in flight on the killed instance, and
        // the checks sent straight to it while it was down) stay a small part of the load.
        let answered: u64 = ["200", "302", "303"]
            .iter()
            .filter_map(|status| tally.by_outcome.get(*status))
            .sum();
        assert!(
            (total - answered) * 10 < total,
            "fewer than 10% failures: {} of {total}",
            total - answered
        );
    })
    .await;
}
