//! The demo site, driven as a browser would (forms, redirects, cookies) through
//! `actix_web::test`, on a real database: SQLite in a temporary directory, and the same suite
//! on PostgreSQL (a fresh database per test, dropped afterwards; ignored, run by `.ci/run`)
//! and with Redis sessions and counters (ignored, run by `.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use examples::demo::{Config, Demo, app};
use login_oidc::OidcConfig;
use login_runtime::testing::TestClient;

/// A running demo on its own database.
struct Site {
    demo: Demo,
    /// A client address of its own, so that per-address throttling in one test (or one run,
    /// with Redis) never reaches another.
    address: [u8; 3],
    _dir: Option<tempfile::TempDir>,
    postgres: Option<String>,
    /// The Redis key prefix of this site's device registry, removed when it finishes.
    devices_prefix: Option<String>,
}

const REDIS_URL: &str = "redis://127.0.0.1:6379";

const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn admin_execute(sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(POSTGRES_ADMIN_URL)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (user postgres, database test)");
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

impl Site {
    async fn start(config: Config) -> Demo {
        Demo::start(&config).await.expect("the demo starts")
    }

    async fn sqlite() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let demo = Site::start(Config::sqlite(&dir.path().join("demo.db"))).await;
        Site {
            demo,
            address: rand::random(),
            _dir: Some(dir),
            postgres: None,
            devices_prefix: None,
        }
    }

    /// A new database on the local PostgreSQL, dropped when the test ends.
    async fn postgres() -> Site {
        let name = format!("demo_test_{}", hex::encode(rand::random::<[u8; 6]>()));
        admin_execute(&format!("CREATE DATABASE {name}")).await;
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        let demo = Site::start(Config::database(&url)).await;
        Site {
            demo,
            address: rand::random(),
            _dir: None,
            postgres: Some(name),
            devices_prefix: None,
        }
    }

    /// SQLite for users, Redis for sessions and login-failure counters.
    async fn redis() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::sqlite(&dir.path().join("demo.db"));
        config.redis_url = Some(REDIS_URL.to_owned());
        // User ids start at 1 in every test's database: devices get a prefix of their own.
        config.devices_prefix = format!("demo-test:{}:", hex::encode(rand::random::<[u8; 6]>()));
        let devices_prefix = Some(config.devices_prefix.clone());
        let demo = Site::start(config).await;
        Site {
            demo,
            address: rand::random(),
            _dir: Some(dir),
            postgres: None,
            devices_prefix,
        }
    }

    fn peer(&self, last: u8) -> SocketAddr {
        let [a, b, c] = self.address;
        SocketAddr::from(([10 | (a & 0x70), b, c, last], 40000))
    }

    /// Closes the pool and removes its device keys from Redis; dropping the site then drops
    /// its PostgreSQL database.
    async fn finish(self) {
        self.demo.db.close().await;
        if let Some(prefix) = &self.devices_prefix {
            let client = ::redis::Client::open(REDIS_URL).unwrap();
            let mut redis = client.get_multiplexed_async_connection().await.unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query_async(&mut redis)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: () = ::redis::cmd("DEL")
                    .arg(keys)
                    .query_async(&mut redis)
                    .await
                    .unwrap();
            }
        }
    }
}

impl Drop for Site {
    /// Also when a test failed: no test database outlives its test.
    fn drop(&mut self) {
        if let Some(name) = self.postgres.take() {
            let drop_database = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(admin_execute(&drop_database));
            })
            .join();
        }
    }
}

struct Page {
    status: StatusCode,
    location: String,
    retry_after: Option<u64>,
    content_type: String,
    set_cookies: Vec<String>,
    headers: actix_web::http::header::HeaderMap,
    body: String,
}

/// One visitor: an address, a User-Agent, the cookies a browser would keep, and the CSRF token
/// of the last form it was shown (which its next form submission sends).
struct Browser<S> {
    client: TestClient<S>,
    peer: SocketAddr,
    csrf: RefCell<Option<String>>,
}

async fn browser(
    site: &Site,
    peer: u8,
) -> Browser<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    Browser {
        client: TestClient::new(test::init_service(app(&site.demo)).await),
        peer: site.peer(peer),
        csrf: RefCell::new(None),
    }
}

impl<S, B> Browser<S>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    async fn send(&self, req: TestRequest) -> Page {
        let req = req
            .insert_header(("user-agent", "demo-test"))
            .peer_addr(self.peer);
        let res = self.client.call(req).await.unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let status = res.status();
        let location = header("location").unwrap_or_default();
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after").map(|v| v.parse().unwrap());
        let set_cookies = res
            .headers()
            .get_all("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let headers = res.headers().clone();
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        if let Some(token) = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            *self.csrf.borrow_mut() = Some(token.to_owned());
        }
        Page {
            status,
            location,
            retry_after,
            content_type,
            set_cookies,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(TestRequest::get().uri(path)).await
    }

    async fn get_with(&self, path: &str, header: (&str, &str)) -> Page {
        self.send(TestRequest::get().uri(path).insert_header(header))
            .await
    }

    fn token(&self) -> String {
        self.csrf
            .borrow()
            .clone()
            .expect("a form was shown before it is submitted")
    }

    /// Submits a form with the token of the last form shown, as a browser submits a form.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.token();
        let mut form = form.to_vec();
        form.push(("csrf", &token));
        self.post_without_token(path, &form).await
    }

    /// What another site's page can make the browser post: the fields, not the token.
    async fn post_without_token(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(TestRequest::post().uri(path).set_form(form))
            .await
    }

    /// The form with its token and a header a browser adds.
    async fn post_with(&self, path: &str, form: &[(&str, &str)], header: (&str, &str)) -> Page {
        let token = self.token();
        let mut form = form.to_vec();
        form.push(("csrf", &token));
        self.send(
            TestRequest::post()
                .uri(path)
                .set_form(&form)
                .insert_header(header),
        )
        .await
    }

    /// Signs up as `name`, with the address `{name}@example.com`.
    async fn sign_up(&self, name: &str, password: &str) -> Page {
        self.get("/signup").await;
        self.post(
            "/signup",
            &[
                ("username", name),
                ("display_name", &format!("{name} Example")),
                ("email", &format!("{name}@example.com")),
                ("password", password),
                ("confirm", password),
            ],
        )
        .await
    }

    async fn log_in(&self, name: &str, password: &str, remember: bool) -> Page {
        self.get("/login").await;
        let mut form = vec![("username", name), ("password", password)];
        if remember {
            form.push(("remember", "on"));
        }
        self.post("/login", &form).await
    }

    async fn log_out(&self) -> Page {
        self.get("/").await;
        self.post("/logout", &[]).await
    }

    async fn change_password(&self, current: &str, new: &str) -> Page {
        self.get("/settings").await;
        let form = [("current", current), ("password", new), ("confirm", new)];
        self.post("/settings/password", &form).await
    }

    /// Creates an API token on the tokens page; the token it shows once.
    async fn new_token(&self, label: &str) -> String {
        self.get("/tokens").await;
        let page = self.post("/tokens", &[("label", label)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location, "/tokens");
        let page = self.get("/tokens").await;
        page.body
            .split("<pre id=\"new-token\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("the new token on the page")
            .to_owned()
    }

    fn close_browser(&self) {
        // The session cookie goes; the persistent remember cookie stays.
        self.client.remove_cookie("id");
    }
}

/// A name no other test (or earlier run, with Redis) has used.
fn new_name(prefix: &str) -> String {
    format!("{prefix}{}", hex::encode(rand::random::<[u8; 4]>()))
}

const PASSWORD: &str = "correct horse battery";

async fn sign_up_and_log_in(site: &Site) {
    let visitor = browser(site, 1).await;
    assert!(visitor.get("/").await.body.contains("Hello, stranger."));
    let name = new_name("alice");

    let page = visitor.sign_up(&name, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/profile");
    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Your account is ready."),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("{name} Example")));
    // Logout is a POST form in the navigation of every page.
    assert!(
        page.body
            .contains("<form class=\"logout\" method=\"post\" action=\"/logout\">")
    );

    let page = visitor.log_out().await;
    assert_eq!(page.location, "/");
    assert!(visitor.get("/").await.body.contains("You are logged out."));
    assert_eq!(visitor.get("/profile").await.status, StatusCode::FOUND);

    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/");
    let home = visitor.get("/").await;
    assert!(
        home.body.contains(&format!("Hello, {name} Example.")),
        "{}",
        home.body
    );

    // The name is taken now; a short password or a mismatch is refused, with reasons.
    let other = browser(site, 2).await;
    let page = other.sign_up(&name, PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("This name is taken"), "{}", page.body);
    let page = other.sign_up(&new_name("bob"), "short").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("at least 8 characters"));

    // The user is in the database, with an argon2id hash and not the password.
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!user.password_hash.contains(PASSWORD));
}

async fn wrong_password_keeps_next_and_the_name(site: &Site) {
    let name = new_name("carol");
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let visitor = browser(site, 2).await;

    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/login?next=%2Fprofile");
    let form = visitor.get(&page.location).await;
    assert!(form.body.contains("Please log in to access this page."));
    assert!(
        form.body.contains("name=\"next\" value=\"/profile\""),
        "{}",
        form.body
    );

    let page = visitor
        .post(
            "/login",
            &[
                ("username", &name),
                ("password", "nope nope"),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Wrong name or password."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"next\" value=\"/profile\""),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("name=\"username\" value=\"{name}\""))
    );

    // An unknown name and a disabled account get the very same answer.
    let page = visitor
        .post(
            "/login",
            &[("username", "nobody-here"), ("password", PASSWORD)],
        )
        .await;
    assert!(page.body.contains("Wrong name or password."));
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    site.demo.db.set_enabled(user.id, false).await.unwrap();
    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Wrong name or password."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("disabled"));
    site.demo.db.set_enabled(user.id, true).await.unwrap();

    // The right password goes on to `next`; a hostile one is not followed.
    let page = visitor
        .post(
            "/login",
            &[
                ("username", &name),
                ("password", PASSWORD),
                ("next", "/profile"),
            ],
        )
        .await;
    assert_eq!(page.location, "/profile");
    for next in ["//evil.example", "https://evil.example/", "/\\evil.example"] {
        // Logged in, the login page sends the member on: the home page's form token serves.
        visitor.get("/").await;
        let page = visitor
            .post(
                "/login",
                &[("username", &name), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(page.location, "/", "{next}");
    }
}

async fn remember_me_restores_a_login_that_is_not_fresh(site: &Site) {
    let name = new_name("dave");
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    visitor.log_out().await;
    let page = visitor.log_in(&name, PASSWORD, true).await;
    assert!(
        page.set_cookies
            .iter()
            .any(|c| c.starts_with("remember_token="))
    );
    assert!(
        visitor
            .get("/profile")
            .await
            .body
            .contains("fresh (password entered")
    );
    assert_eq!(visitor.get("/settings").await.status, StatusCode::OK);

    // Browser closed and reopened: remembered, not fresh.
    visitor.close_browser();
    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("not fresh (restored from remember-me)"),
        "{}",
        page.body
    );

    // Settings need the password again: the re-authenticate page asks only for it.
    let page = visitor.get("/settings").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/reauthenticate?next=%2Fsettings");
    let form = visitor.get(&page.location).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(&format!("logged in as <strong>{name}</strong>"))
    );
    assert_eq!(form.body.matches("<label").count(), 1, "{}", form.body);
    assert!(form.body.contains("<label for=\"password\">Password"));

    let page = visitor
        .post(
            "/reauthenticate",
            &[("password", "nope nope"), ("next", "/settings")],
        )
        .await;
    assert!(page.body.contains("Wrong password."));
    assert_eq!(visitor.get("/settings").await.status, StatusCode::FOUND);
    visitor.get("/reauthenticate?next=%2Fsettings").await;
    let page = visitor
        .post(
            "/reauthenticate",
            &[("password", PASSWORD), ("next", "/settings")],
        )
        .await;
    assert_eq!(page.location, "/settings");
    let page = visitor.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Password confirmed."));
    assert!(page.body.contains("Change password"));

    // Logging out ends the remember cookie too.
    visitor.log_out().await;
    visitor.close_browser();
    assert_eq!(visitor.get("/profile").await.status, StatusCode::FOUND);
}

async fn password_change_logs_out_every_other_session(site: &Site) {
    let name = new_name("erin");
    let new_password = "a brand new password";
    let laptop = browser(site, 1).await;
    laptop.sign_up(&name, PASSWORD).await;
    laptop.log_out().await;
    laptop.log_in(&name, PASSWORD, true).await;
    let phone = browser(site, 2).await;
    phone.log_in(&name, PASSWORD, true).await;
    assert_eq!(phone.get("/profile").await.status, StatusCode::OK);

    // A wrong current password changes nothing.
    laptop.get("/settings").await;
    let page = laptop.change_password("nope nope", new_password).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The current password is wrong."));

    let page = laptop.change_password(PASSWORD, new_password).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/settings");
    // This session stays logged in, fresh, and its remember cookie is renewed.
    let page = laptop.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("Every other session of yours has been logged out.")
    );
    laptop.close_browser();
    assert_eq!(laptop.get("/profile").await.status, StatusCode::OK);

    // The other client is logged out: its session and its remember cookie are refused.
    assert_eq!(phone.get("/profile").await.status, StatusCode::FOUND);
    phone.close_browser();
    assert_eq!(phone.get("/profile").await.status, StatusCode::FOUND);
    assert!(
        phone
            .log_in(&name, PASSWORD, false)
            .await
            .body
            .contains("Wrong name or password.")
    );
    assert_eq!(phone.log_in(&name, new_password, false).await.location, "/");
}

async fn api_answers_json_401_then_200_then_401_once_revoked(site: &Site) {
    let name = new_name("frank");
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    let api = browser(site, 2).await;

    // No token, a made-up token: JSON 401, never a redirect.
    let page = api.get("/api/me").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.content_type, "application/json");
    assert!(
        page.body.contains("\"error\":\"unauthorized\""),
        "{}",
        page.body
    );
    let page = api
        .get_with("/api/me", ("authorization", "Bearer demo_0000"))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.content_type, "application/json");

    // A token made on the tokens page, shown once.
    let token = visitor.new_token("laptop script").await;
    assert!(token.starts_with("demo_") && token.len() == 69, "{token}");
    let list = visitor.get("/tokens").await;
    assert!(list.body.contains("laptop script"));
    assert!(!list.body.contains(&token), "a token is shown only once");
    // Stored hashed: the table holds its SHA-256, never the token.
    let stored: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM api_tokens")
        .fetch_all(site.demo.db.pool())
        .await
        .unwrap();
    assert_eq!(stored, [(token_hash(&token),)]);

    let bearer = format!("Bearer {token}");
    let page = api.get_with("/api/me", ("authorization", &bearer)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let me: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(me["name"], name.as_str());
    let page = api
        .get_with("/api/tokens", ("authorization", &bearer))
        .await;
    assert!(page.body.contains("laptop script") && !page.body.contains(&token));
    // A token opens the API only, not the pages.
    let page = api.get_with("/profile", ("authorization", &bearer)).await;
    assert_eq!(page.status, StatusCode::FOUND);

    // Revoked: 401 again.
    let id = site
        .demo
        .db
        .tokens(me["id"].as_i64().unwrap())
        .await
        .unwrap()[0]
        .id;
    let page = visitor.post(&format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(page.location, "/tokens");
    assert!(
        visitor
            .get("/tokens")
            .await
            .body
            .contains("The token is revoked.")
    );
    let page = api.get_with("/api/me", ("authorization", &bearer)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.content_type, "application/json");
}

async fn repeated_failures_are_throttled_before_any_hash(site: &Site) {
    let name = new_name("gina");
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let guesser = browser(site, 2).await;

    // Four failures, then the right password: let in, and the account's counter starts over.
    for _ in 0..4 {
        let page = guesser.log_in(&name, "wrong guess", false).await;
        assert!(page.body.contains("Wrong name or password."));
    }
    assert_eq!(guesser.log_in(&name, PASSWORD, false).await.location, "/");
    guesser.log_out().await;

    // Five failures in a row: the sixth attempt is refused, even with the right password.
    for _ in 0..5 {
        let page = guesser.log_in(&name, "wrong guess", false).await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let page = guesser.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("Too many failed logins"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("value=\"{name}\"")));
    let retry_after = page.retry_after.expect("a Retry-After header");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_eq!(guesser.get("/profile").await.status, StatusCode::FOUND);
    // From another address too: the account is locked, not the address.
    let elsewhere = browser(site, 3).await;
    assert_eq!(
        elsewhere.log_in(&name, PASSWORD, false).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // One address guessing at many accounts is stopped as well (20 failures).
    let spray = browser(site, 4).await;
    for _ in 0..20 {
        let page = spray
            .log_in(&new_name("nobody"), "wrong guess", false)
            .await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let other = new_name("hank");
    browser(site, 5).await.sign_up(&other, PASSWORD).await;
    assert_eq!(
        spray.log_in(&other, PASSWORD, false).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        browser(site, 6)
            .await
            .log_in(&other, PASSWORD, false)
            .await
            .location,
        "/"
    );
}

async fn forms_posted_from_another_site_are_refused(site: &Site) {
    let name = new_name("ivan");
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let visitor = browser(site, 2).await;
    let credentials = [("username", name.as_str()), ("password", PASSWORD)];

    // No token, a forged one.
    visitor.get("/login").await;
    let page = visitor.post_without_token("/login", &credentials).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("This form has expired"), "{}", page.body);
    let forged = [credentials[0], credentials[1], ("csrf", "00")];
    assert_eq!(
        visitor.post_without_token("/login", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    // The right token, but the browser says the form came from another site.
    let page = visitor
        .post_with("/login", &credentials, ("origin", "https://evil.example"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("sent from another site"),
        "{}",
        page.body
    );
    let page = visitor
        .post_with("/login", &credentials, ("sec-fetch-site", "cross-site"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(visitor.get("/profile").await.status, StatusCode::FOUND);

    // The same form from this site's own page is accepted.
    visitor.get("/login").await;
    let page = visitor
        .post_with("/login", &credentials, ("origin", "http://localhost:8080"))
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // Logged in, the token seen before the login is worth nothing after it.
    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    let stale = [("csrf", "0")];
    assert_eq!(
        visitor.post_without_token("/logout", &stale).await.status,
        StatusCode::FORBIDDEN
    );
    let page = visitor
        .post_with("/logout", &[], ("sec-fetch-site", "same-site"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The 403 page keeps the navigation (and its logout form).
    assert!(page.body.contains("action=\"/logout\""));
    assert_eq!(visitor.get("/profile").await.status, StatusCode::OK);
    let page = visitor
        .post_with("/logout", &[], ("sec-fetch-site", "same-origin"))
        .await;
    assert_eq!(page.location, "/");
}

async fn audit_rows_are_written_without_secrets(site: &Site) {
    let name = new_name("judy");
    let new_password = "another good password";
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    visitor.log_out().await;
    visitor.log_in(&name, "wrong guess", false).await;
    visitor.log_in(&name, PASSWORD, true).await;
    let cookies: Vec<String> = ["id", "remember_token"]
        .iter()
        .map(|cookie| visitor.client.cookie(cookie).expect(cookie))
        .collect();
    let token = visitor.new_token("ci").await;
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    let id = site.demo.db.tokens(user.id).await.unwrap()[0].id;
    visitor.post(&format!("/tokens/{id}/revoke"), &[]).await;
    visitor.get("/settings").await;
    visitor.change_password(PASSWORD, new_password).await;
    // A member on the admin page without a second factor: sent to enrol one first (the
    // second factor is asked before the permission; `admin_page_needs_the_admin_permission`
    // shows the 403 and its audit row).
    let page = visitor.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert!(
        page.location.starts_with("/mfa/security"),
        "{}",
        page.location
    );
    visitor.log_out().await;
    for _ in 0..5 {
        visitor.log_in(&name, "wrong guess", false).await;
    }
    visitor.log_in(&name, new_password, false).await;

    let mut rows = site.demo.db.recent_audit(100).await.unwrap();
    rows.reverse();
    let mine: Vec<&str> = rows
        .iter()
        .filter(|row| row.user_id == Some(user.id))
        .map(|row| row.event.as_str())
        .collect();
    let mut expected = vec![
        "signed_up",
        // Sign-up mails a link to confirm the address.
        "verification_sent",
        "logout",
        "login_failed",
        "login",
        "token_created",
        "token_revoked",
        "password_changed",
        "logout",
    ];
    expected.extend(["login_failed"; 5]);
    expected.push("throttled");
    assert_eq!(mine, expected);
    let client = site.peer(1).ip().to_string();
    let token_row = rows
        .iter()
        .find(|row| row.event == "token_created")
        .unwrap();
    assert_eq!(token_row.detail, format!("token {id}"));
    for row in &rows {
        assert_eq!(
            (row.event.as_str(), row.client.as_str()),
            (row.event.as_str(), &*client)
        );
        assert!(row.at > 0, "{row:?} has no time");
    }

    // No password, token or cookie value anywhere in the table.
    let secrets = [
        PASSWORD,
        new_password,
        "wrong guess",
        &token,
        &token_hash(&token),
    ];
    for row in &rows {
        let text = format!("{} {} {}", row.event, row.client, row.detail);
        for secret in secrets.iter().map(|s| s.to_string()).chain(cookies.clone()) {
            assert!(!text.contains(&secret), "{text:?} holds a secret");
        }
    }
}

async fn reauthentication_is_throttled_and_audited_as_a_login_is(site: &Site) {
    let name = new_name("lena");
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    let id = site.demo.db.user_by_name(&name).await.unwrap().unwrap().id;

    // A wrong password, then the right one: on to `next`, and the account's count starts over.
    visitor.get("/reauthenticate").await;
    let page = visitor
        .post("/reauthenticate", &[("password", "wrong guess")])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Wrong password."), "{}", page.body);
    let page = visitor
        .post(
            "/reauthenticate",
            &[("password", PASSWORD), ("next", "/tokens")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/tokens");

    // Five wrong passwords: the sixth attempt is refused, even with the right password.
    for _ in 0..5 {
        let page = visitor
            .post("/reauthenticate", &[("password", "wrong guess")])
            .await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let page = visitor
        .post("/reauthenticate", &[("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.body.contains("Too many wrong passwords. Try again in"),
        "{}",
        page.body
    );
    let retry_after = page.retry_after.expect("a Retry-After header");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    // The same throttle as the login form's: the account is locked there too.
    let elsewhere = browser(site, 2).await;
    assert_eq!(
        elsewhere.log_in(&name, PASSWORD, false).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    assert_eq!(
        audited(site, "reauthentication_failed").await,
        vec![(Some(id), "wrong password".to_owned()); 6]
    );
    assert_eq!(
        audited(site, "reauthenticated").await,
        [(Some(id), String::new())]
    );
    assert_eq!(
        audited(site, "throttled").await,
        [
            (Some(id), "reauthenticate".to_owned()),
            (Some(id), "login".to_owned())
        ]
    );
}

async fn admin_page_needs_the_admin_permission(site: &Site) {
    let visitor = browser(site, 1).await;
    // A visitor: the login form, as for any members' page.
    let page = visitor.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/login?next=%2Fadmin");

    // A member without `Perm::Admin`: the site's own 403 page, in the layout (navigation,
    // logout), never the login form; JSON for a client that asks for it.
    let name = new_name("mallory");
    visitor.sign_up(&name, PASSWORD).await;
    // The page needs a second factor, asked before the permission: without one, enrol one.
    let page = visitor.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/mfa/security?next=%2Fadmin");
    mfa::log_in_with_totp(&visitor, &name, PASSWORD).await;
    let page = visitor.get("/admin").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    assert!(page.body.contains("<h1>Forbidden</h1>"), "{}", page.body);
    assert!(page.body.contains("Your account may not open this page."));
    assert!(page.body.contains("action=\"/logout\""));
    assert!(
        !page.body.contains("href=\"/admin\""),
        "no admin link for members"
    );
    let page = visitor
        .get_with("/admin", ("accept", "application/json"))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.body, r#"{"error":"forbidden"}"#);
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    let refused = audited(site, "forbidden").await;
    let mine = (Some(user.id), "/admin".to_owned());
    assert_eq!(refused, [mine.clone(), mine]);

    // The login and sign-up pages are for visitors: a member is sent on.
    let page = visitor.get("/login").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/profile");
    let page = visitor.get("/signup?next=%2Ftokens").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/tokens");
    let page = visitor
        .get("/login?next=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(page.location, "/profile", "an unsafe next is not followed");
}

/// The device ids of the logout forms on a devices page: this device's, and the others'.
fn device_ids(page: &Page) -> (String, Vec<String>) {
    let mut current = None;
    let mut others = Vec::new();
    for row in page.body.split("<tr").skip(2) {
        let id = row
            .split("action=\"/devices/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("a logout form in each row")
            .to_owned();
        if row.starts_with(" class=\"current\"") {
            assert!(current.replace(id).is_none(), "one row is this device");
        } else {
            others.push(id);
        }
    }
    (current.expect("this device is listed"), others)
}

async fn devices_page_lists_and_logs_out_devices(site: &Site) {
    let name = new_name("dave");
    let laptop = browser(site, 1).await;
    // Members only.
    let page = laptop.get("/devices").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/login?next=%2Fdevices");

    // Two logins, two devices: the sign-up's, and a phone's with "remember me".
    laptop.sign_up(&name, PASSWORD).await;
    let phone = browser(site, 2).await;
    assert_eq!(phone.log_in(&name, PASSWORD, true).await.location, "/");
    let page = laptop.get("/devices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/devices\""), "in the navigation");
    let (laptop_id, others) = device_ids(&page);
    assert_eq!(others.len(), 1, "{}", page.body);
    for address in [site.peer(1), site.peer(2)] {
        assert!(page.body.contains(&format!("<td>{}</td>", address.ip())));
    }
    assert!(page.body.contains("demo-test"), "the User-Agent");
    assert!(page.body.contains("Log out all other devices"));
    // The phone sees the same two, itself as this device.
    let (phone_id, phone_others) = device_ids(&phone.get("/devices").await);
    assert_eq!(
        (phone_id, phone_others),
        (others[0].clone(), vec![laptop_id.clone()])
    );

    // "Log out all other devices" needs the form token, like every form.
    let page = laptop
        .post_without_token("/devices/log-out-others", &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(phone.get("/profile").await.status, StatusCode::OK);

    // It ends the phone's session and its remember cookie, even a copy taken before.
    let remember = phone.client.cookie("remember_token").expect("remembered");
    laptop.get("/devices").await;
    let page = laptop.post("/devices/log-out-others", &[]).await;
    assert_eq!(page.location, "/devices");
    let page = laptop.get("/devices").await;
    assert!(
        page.body.contains("1 other device is logged out."),
        "{}",
        page.body
    );
    assert_eq!(device_ids(&page), (laptop_id.clone(), vec![]));
    assert_eq!(phone.get("/profile").await.status, StatusCode::FOUND);
    let copy = browser(site, 3).await;
    copy.client.set_cookie("remember_token", &remember);
    assert_eq!(copy.get("/profile").await.status, StatusCode::FOUND);
    assert_eq!(laptop.get("/profile").await.status, StatusCode::OK);

    // One device by id: a tablet logs in; the laptop logs it out and stays.
    let tablet = browser(site, 4).await;
    tablet.log_in(&name, PASSWORD, false).await;
    let (_, others) = device_ids(&laptop.get("/devices").await);
    assert_eq!(others.len(), 1);
    let page = laptop
        .post(&format!("/devices/{}/logout", others[0]), &[])
        .await;
    assert_eq!(page.location, "/devices");
    assert_eq!(tablet.get("/profile").await.status, StatusCode::FOUND);
    let page = laptop.get("/devices").await;
    assert!(page.body.contains("The device is logged out."));
    assert_eq!(device_ids(&page), (laptop_id.clone(), vec![]));
    // An id that is not one of the member's devices changes nothing.
    laptop.post("/devices/0123/logout", &[]).await;
    assert!(
        laptop
            .get("/devices")
            .await
            .body
            .contains("No such signed-in device.")
    );
    // Logging out this device is a logout.
    let page = laptop
        .post(&format!("/devices/{laptop_id}/logout"), &[])
        .await;
    assert_eq!(page.location, "/");
    assert_eq!(laptop.get("/profile").await.status, StatusCode::FOUND);

    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    let mine = Some(user.id);
    assert_eq!(
        audited(site, "other_devices_logged_out").await,
        [(mine, "1 device".to_owned())]
    );
    assert_eq!(
        audited(site, "device_logged_out").await,
        [(mine, String::new()), (mine, String::new())]
    );
}

fn token_hash(token: &str) -> String {
    examples::demo::auth::token_hash(token)
}

async fn admin_sees_users_and_audit_and_errors_are_real_pages(site: &Site) {
    let password = site.demo.ensure_demo_account().await.unwrap().unwrap();
    assert_eq!(site.demo.ensure_demo_account().await.unwrap(), None);
    let admin = browser(site, 1).await;
    assert_eq!(admin.log_in("demo", &password, false).await.location, "/");
    // The admin page needs a second factor: an authenticator app, then its code.
    let totp = mfa::enrol_totp(&admin).await;
    admin.log_out().await;
    assert_eq!(
        admin.log_in("demo", &password, false).await.location,
        "/mfa/verify"
    );
    admin.get("/mfa/verify").await;
    let code = totp.code_at(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 30,
    );
    let page = admin.post("/mfa/verify/totp", &[("code", &code)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Demo Admin"));
    assert!(
        page.body
            .contains("Logged in <code class=\"code\">login</code>"),
        "{}",
        page.body
    );

    let page = admin.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found"));
    assert!(page.body.contains("action=\"/logout\""));
    let page = admin.get("/api/nothing").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.content_type, "application/json");
    let css = admin.get("/static/style.css").await;
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    assert!(css.body.contains("font-family"));
    // Escaped: a display name is text, never markup.
    admin.get("/settings").await;
    admin
        .post("/settings/display-name", &[("display_name", "<b>Boss</b>")])
        .await;
    let page = admin.get("/").await;
    assert!(
        page.body.contains("Hello, &#60;b&#62;Boss&#60;/b&#62;.")
            || page.body.contains("Hello, &lt;b&gt;Boss&lt;/b&gt;."),
        "{}",
        page.body
    );
}

#[path = "demo/account.rs"]
mod account;
#[path = "support/base32.rs"]
mod base32;
#[path = "demo/mail.rs"]
mod mail;
#[path = "demo/mfa.rs"]
mod mfa;
#[path = "../oidc-provider/start.rs"]
mod oidc_provider;
#[path = "demo/polish.rs"]
mod polish;

use oidc_provider::NodeProvider;

use mfa::{
    a_login_made_before_enrolment_steps_up_with_a_code_for_the_admin_page,
    a_trusted_device_stops_working_after_it_is_logged_out,
    the_admin_page_asks_for_a_second_factor_and_a_totp_login_admits_it,
    the_form_token_seen_before_the_second_step_is_refused_after_it,
};

use account::{
    a_sign_in_link_for_an_account_with_an_authenticator_app_asks_for_its_code,
    a_sign_in_link_from_the_login_page_logs_in_only_where_it_was_asked,
    account_tokens_in_the_database_pass_the_store_rules,
    email_change_in_settings_confirms_by_link_and_tells_the_old_address,
    forgot_password_walks_from_the_mail_to_the_new_password,
    reset_answers_alike_for_known_and_unknown_addresses,
    sign_up_mails_a_verification_link_and_the_banner_resends_it,
    the_password_policy_speaks_on_sign_up_and_password_change,
};
use polish::{
    a_new_token_is_made_once_and_shown_once_after_a_redirect,
    after_a_password_change_the_devices_page_lists_only_this_device,
    an_oversized_form_gets_the_sites_413_page, form_errors_stand_by_their_fields_with_aria,
    logging_out_in_a_second_tab_lands_logged_out,
    no_address_a_form_leaves_in_the_address_bar_is_a_404,
    the_api_challenges_for_a_bearer_token_and_answers_405_to_other_methods,
    the_audit_table_names_users_and_events_and_keeps_the_name_tried,
    the_navigation_marks_the_current_page,
};

/// Runs one test on `site`, then closes it (and drops its PostgreSQL database).
async fn run(site: Site, test: impl AsyncFnOnce(&Site)) {
    test(&site).await;
    site.finish().await;
}

/// Each test runs on SQLite here, and on PostgreSQL and Redis with `--include-ignored`.
macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_web::test]
            async fn $test() { super::run(super::Site::sqlite().await, super::$test).await })*
        }
        mod postgres {
            $(#[actix_web::test]
            #[ignore = "needs PostgreSQL; run by .ci/run"]
            async fn $test() { super::run(super::Site::postgres().await, super::$test).await })*
        }
        mod redis {
            $(#[actix_web::test]
            #[ignore = "needs Redis; run by .ci/run"]
            async fn $test() { super::run(super::Site::redis().await, super::$test).await })*
        }
    };
}

suite!(
    sign_up_and_log_in,
    wrong_password_keeps_next_and_the_name,
    remember_me_restores_a_login_that_is_not_fresh,
    password_change_logs_out_every_other_session,
    api_answers_json_401_then_200_then_401_once_revoked,
    repeated_failures_are_throttled_before_any_hash,
    reauthentication_is_throttled_and_audited_as_a_login_is,
    forms_posted_from_another_site_are_refused,
    audit_rows_are_written_without_secrets,
    admin_sees_users_and_audit_and_errors_are_real_pages,
    admin_page_needs_the_admin_permission,
    devices_page_lists_and_logs_out_devices,
    forgot_password_walks_from_the_mail_to_the_new_password,
    reset_answers_alike_for_known_and_unknown_addresses,
    sign_up_mails_a_verification_link_and_the_banner_resends_it,
    email_change_in_settings_confirms_by_link_and_tells_the_old_address,
    a_sign_in_link_from_the_login_page_logs_in_only_where_it_was_asked,
    a_sign_in_link_for_an_account_with_an_authenticator_app_asks_for_its_code,
    the_password_policy_speaks_on_sign_up_and_password_change,
    account_tokens_in_the_database_pass_the_store_rules,
    a_new_token_is_made_once_and_shown_once_after_a_redirect,
    no_address_a_form_leaves_in_the_address_bar_is_a_404,
    logging_out_in_a_second_tab_lands_logged_out,
    the_api_challenges_for_a_bearer_token_and_answers_405_to_other_methods,
    the_audit_table_names_users_and_events_and_keeps_the_name_tried,
    form_errors_stand_by_their_fields_with_aria,
    an_oversized_form_gets_the_sites_413_page,
    after_a_password_change_the_devices_page_lists_only_this_device,
    the_navigation_marks_the_current_page,
    the_admin_page_asks_for_a_second_factor_and_a_totp_login_admits_it,
    a_trusted_device_stops_working_after_it_is_logged_out,
    the_form_token_seen_before_the_second_step_is_refused_after_it,
    a_login_made_before_enrolment_steps_up_with_a_code_for_the_admin_page,
);

// ---- Sign in with OpenID Connect ----

/// A demo on SQLite whose OpenID Connect provider is at `issuer`, its callback at `redirect`.
async fn oidc_site(issuer: &str, redirect: &str) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let oidc = OidcConfig::new(issuer, OIDC_CLIENT_ID, Some(OIDC_CLIENT_SECRET), redirect)
        .unwrap()
        .http_timeout(std::time::Duration::from_secs(5));
    let config = Config::sqlite(&dir.path().join("demo.db"))
        .with_oidc(oidc)
        .unwrap();
    Site {
        demo: Site::start(config).await,
        address: rand::random(),
        _dir: Some(dir),
        postgres: None,
        devices_prefix: None,
    }
}

const OIDC_CLIENT_ID: &str = "login-oidc-test";
const OIDC_CLIENT_SECRET: &str = "login-oidc-test-secret-0123456789abcdef";
const OIDC_BUTTON: &str = "Sign in with OpenID Connect";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The audit entries `event` written so far: (user id, detail), oldest first.
async fn audited(site: &Site, event: &str) -> Vec<(Option<i64>, String)> {
    let mut rows = site.demo.db.recent_audit(100).await.unwrap();
    rows.reverse();
    rows.into_iter()
        .filter(|row| row.event == event)
        .map(|row| (row.user_id, row.detail))
        .collect()
}

#[actix_web::test]
async fn without_oidc_configuration_there_is_no_oidc_button() {
    let site = Site::sqlite().await;
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/login\""));
    assert!(!page.body.contains(OIDC_BUTTON), "{}", page.body);
    assert!(!page.body.contains("/oidc/start"));
    assert_eq!(
        visitor.get("/oidc/start").await.status,
        StatusCode::NOT_FOUND
    );
    drop(visitor);
    site.finish().await;
}

#[actix_web::test]
async fn oidc_refusals_are_demo_pages_and_audited() {
    // Configured, but nothing listens at the issuer: the provider is down.
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let site = oidc_site(&issuer, "http://127.0.0.1:8080/oidc/callback").await;
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/login?next=%2Ftokens").await;
    assert!(page.body.contains(OIDC_BUTTON), "{}", page.body);
    assert!(
        page.body
            .contains("<form class=\"card\" method=\"get\" action=\"/oidc/start\">")
    );
    assert!(page.body.contains("name=\"next\" value=\"/tokens\""));
    // The session cookie stays SameSite=Lax: the provider's redirect back is cross-site.
    let set = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("id="))
        .unwrap();
    assert!(set.contains("SameSite=Lax"), "{set}");

    // A callback with no sign-in in progress, and a sign-in while the provider is down: the
    // demo's own error page, nobody logged in, an audit entry with the refusal's code.
    let page = visitor.get("/oidc/callback?code=stolen&state=guess").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("<h1>Sign-in refused</h1>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/login\">Back to the login page"));
    assert!(
        page.body.contains("/static/style.css"),
        "in the site's layout"
    );
    let page = visitor.get("/oidc/start?next=%2Ftokens").await;
    assert!(page.status.is_server_error(), "{}", page.status);
    assert!(page.body.contains("<h1>Sign-in refused</h1>"));
    assert!(visitor.get("/").await.body.contains("Hello, stranger."));
    assert_eq!(
        audited(&site, "oidc_refused").await,
        [
            (None, "no_sign_in_in_progress".to_owned()),
            (None, "provider_unavailable".to_owned())
        ]
    );
    drop(visitor);
    site.finish().await;
}

/// examples/oidc-provider/provider.js, running on a free port; killed when dropped.
struct OidcTestProvider {
    issuer: String,
    _node: NodeProvider,
}

impl OidcTestProvider {
    /// Starts the provider for a client redirecting to `redirect_uri` and waits (bounded, with
    /// retries: `oidc-provider/start.rs`) until it serves its discovery document.
    async fn start(redirect_uri: &str) -> OidcTestProvider {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
        let node = NodeProvider::start(
            &dir,
            &[
                "--redirect-uri",
                redirect_uri,
                "--client-id",
                OIDC_CLIENT_ID,
                "--client-secret",
                OIDC_CLIENT_SECRET,
            ],
        )
        .await;
        OidcTestProvider {
            issuer: node.issuer.clone(),
            _node: node,
        }
    }
}

/// The first `name="…"` attribute value in `html` that contains `needle`.
fn attribute_containing(html: &str, name: &str, needle: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    html.match_indices(&marker).find_map(|(at, _)| {
        let rest = &html[at + marker.len()..];
        let value = &rest[..rest.find('"')?];
        value.contains(needle).then(|| value.replace("&amp;", "&"))
    })
}

/// Walks the provider's login and consent pages from its authorization URL as `account`
/// (any password), as a browser without JavaScript; the URL it sends the visitor back to.
async fn through_provider(authorize: &str, redirect: &str, account: &str) -> String {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let mut url = reqwest::Url::parse(authorize).unwrap();
    for _ in 0..20 {
        if url.as_str().starts_with(redirect) {
            return url.to_string();
        }
        let response = http.get(url.clone()).send().await.unwrap();
        let mut response = if response.status().is_redirection() {
            response
        } else {
            let body = response.text().await.unwrap();
            let action = attribute_containing(&body, "action", "/interaction/")
                .unwrap_or_else(|| panic!("no interaction form at {url}: {body}"));
            let form: &[(&str, &str)] = if body.contains("name=\"login\"") {
                &[("prompt", "login"), ("login", account), ("password", "any")]
            } else {
                &[("prompt", "consent")]
            };
            http.post(url.join(&action).unwrap())
                .form(form)
                .send()
                .await
                .unwrap()
        };
        assert!(response.status().is_redirection(), "at {url}");
        let location = response.headers_mut().remove("location").unwrap();
        url = url.join(location.to_str().unwrap()).unwrap();
    }
    panic!("the provider never sent the visitor back to the demo");
}

/// An account made by OpenID Connect has no password: asked for a fresh login, it confirms at
/// the provider (`prompt=login`, `max_age`), and the profile says how the login was made.
#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_oidc_account_reauthenticates_through_the_provider_and_the_profile_says_so() {
    let base = format!("http://127.0.0.1:{}", free_port());
    let redirect = format!("{base}/oidc/callback");
    let provider = OidcTestProvider::start(&redirect).await;
    let site = oidc_site(&provider.issuer, &redirect).await;
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/oidc/start?remember=on").await;
    let callback = through_provider(&page.location, &redirect, "alice").await;
    visitor.get(callback.strip_prefix(&base).unwrap()).await;
    let page = visitor.get("/profile").await;
    let signed_in = format!(
        "signed in with OpenID Connect at {}, fresh",
        provider.issuer
    );
    assert!(page.body.contains(&signed_in), "{}", page.body);

    // The browser closes; remember-me restores the login, which is not fresh.
    visitor.close_browser();
    let page = visitor.get("/settings").await;
    assert_eq!(page.location, "/reauthenticate?next=%2Fsettings");
    let page = visitor.get(&page.location).await;
    assert!(page.body.contains("id=\"oidc-reauth\""), "{}", page.body);
    assert!(
        page.body.contains("action=\"/oidc/start\""),
        "{}",
        page.body
    );
    // What its form asks: the provider, with prompt=login and max_age.
    let page = visitor.get("/oidc/start?reauth=1&next=%2Fsettings").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location.contains("prompt=login"), "{}", page.location);
    assert!(page.location.contains("max_age="), "{}", page.location);
    let callback = through_provider(&page.location, &redirect, "alice").await;
    let page = visitor.get(callback.strip_prefix(&base).unwrap()).await;
    assert_eq!(page.location, "/settings", "{}", page.body);
    assert_eq!(visitor.get("/settings").await.status, StatusCode::OK);
    let page = visitor.get("/profile").await;
    assert!(page.body.contains(&signed_in), "{}", page.body);

    // A member with a password (no OpenID Connect identity) is offered the password only.
    let member = browser(&site, 2).await;
    let name = new_name("dora");
    member.sign_up(&name, PASSWORD).await;
    let page = member.get("/reauthenticate").await;
    assert!(!page.body.contains("oidc-reauth"), "{}", page.body);
    let page = member.get("/profile").await;
    assert!(
        page.body
            .contains("fresh (password entered in this session)")
    );
    drop((visitor, member));
    site.finish().await;
}

/// The provider is a first factor like a password: for an account with an authenticator app,
/// its callback leads to the second step, and nobody is logged in (nor remembered) until the
/// code is given.
#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_oidc_sign_in_of_an_account_with_an_authenticator_app_asks_for_its_code() {
    let base = format!("http://127.0.0.1:{}", free_port());
    let redirect = format!("{base}/oidc/callback");
    let provider = OidcTestProvider::start(&redirect).await;
    let site = oidc_site(&provider.issuer, &redirect).await;
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/oidc/start").await;
    let callback = through_provider(&page.location, &redirect, "alice").await;
    let page = visitor.get(callback.strip_prefix(&base).unwrap()).await;
    assert_eq!(page.location, "/profile", "{}", page.body);
    let totp = mfa::enrol_totp(&visitor).await;
    visitor.log_out().await;

    let page = visitor.get("/oidc/start?remember=on&next=%2Ftokens").await;
    let callback = through_provider(&page.location, &redirect, "alice").await;
    let page = visitor.get(callback.strip_prefix(&base).unwrap()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/mfa/verify");
    assert_eq!(visitor.get("/profile").await.status, StatusCode::FOUND);
    assert!(
        visitor.client.cookie("remember_token").is_none(),
        "not remembered before the second step"
    );
    visitor.get("/mfa/verify").await;
    let page = visitor
        .post(
            "/mfa/verify/totp",
            &[("code", &totp.code_at(mfa::now() + 30))],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/tokens", "the sign-in's next is kept");
    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Alice Liddell"), "{}", page.body);
    assert!(
        visitor.client.cookie("remember_token").is_some(),
        "remembered once logged in"
    );
    let user = site.demo.db.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(
        audited(&site, "oidc_sign_in").await,
        [
            (Some(user.id), "new account".to_owned()),
            (Some(user.id), "second factor asked".to_owned())
        ]
    );
    drop(visitor);
    site.finish().await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn oidc_sign_in_through_the_provider_lands_on_the_profile() {
    // The callback URL is only handed from the provider's redirect to the in-process demo:
    // nothing needs to listen on it.
    let base = format!("http://127.0.0.1:{}", free_port());
    let redirect = format!("{base}/oidc/callback");
    let provider = OidcTestProvider::start(&redirect).await;
    let site = oidc_site(&provider.issuer, &redirect).await;

    let mut ids = Vec::new();
    for peer in [1, 2] {
        let visitor = browser(&site, peer).await;
        let page = visitor.get("/login").await;
        assert!(page.body.contains(OIDC_BUTTON), "{}", page.body);
        // What the button's form submits.
        let page = visitor.get("/oidc/start?remember=on").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(
            page.location.starts_with(&provider.issuer),
            "{}",
            page.location
        );
        let callback = through_provider(&page.location, &redirect, "alice").await;
        let page = visitor.get(callback.strip_prefix(&base).unwrap()).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location, "/profile");
        let page = visitor.get("/profile").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Alice Liddell"), "{}", page.body);
        assert!(
            visitor.client.cookie("remember_token").is_some(),
            "remembered"
        );
        let user = site.demo.db.user_by_name("alice").await.unwrap().unwrap();
        ids.push(user.id);
    }
    // The second sign-in found the account the first made: one member, not two.
    assert_eq!(ids[0], ids[1]);
    let alices: Vec<_> = site
        .demo
        .db
        .users()
        .await
        .unwrap()
        .into_iter()
        .filter(|user| user.display_name == "Alice Liddell")
        .collect();
    assert_eq!(alices.len(), 1);
    assert_eq!(
        audited(&site, "oidc_sign_in").await,
        [
            (Some(ids[0]), "new account".to_owned()),
            (Some(ids[0]), "existing account".to_owned())
        ]
    );
    // That account has no password: the password form refuses it like a wrong one.
    let visitor = browser(&site, 3).await;
    let page = visitor.log_in("alice", "any", false).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Wrong name or password."));
    drop(visitor);
    site.finish().await;
}

#[actix_web::test]
async fn cookies_are_secure_together_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    for secure in [false, true] {
        let mut config = Config::sqlite(&dir.path().join("demo.db"));
        config.secure_cookies = secure;
        let site = Site {
            demo: Demo::start(&config).await.unwrap(),
            address: rand::random(),
            _dir: None,
            postgres: None,
            devices_prefix: None,
        };
        let visitor = browser(&site, 1).await;
        let name = new_name("kim");
        visitor.sign_up(&name, PASSWORD).await;
        visitor.log_out().await;
        let page = visitor.log_in(&name, PASSWORD, true).await;
        // The session cookie (which also carries the flash messages) and the remember cookie.
        for cookie in ["id=", "remember_token="] {
            let set = page
                .set_cookies
                .iter()
                .find(|c| c.starts_with(cookie))
                .unwrap();
            assert_eq!(set.contains("; Secure"), secure, "{set}");
        }
        drop(visitor);
        site.finish().await;
    }
}
