//! The app the fault tests drive (sessions and devices in the store under test, behind
//! login-runtime), and the load that drives it: many browsers, each its own user, logging
//! in, browsing, logging out and replaying their logged-out cookies, while a fault runs.
//! Counted: answers, clean 5xx, responses naming another user, logins surviving their
//! logout, and the slowest answer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_session::SessionMiddleware;
use actix_session::storage::SessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use login_runtime::{
    AuthUser, DeviceRegistry, Login, LoginManager, MaybeUser, RememberCookie, SecretKey,
    SessionProtection, UserLoader,
};

/// Any id is a user; its name says which, so a response naming another user is seen.
#[derive(Debug, Clone)]
pub struct User(pub String);

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.0.clone()
    }
}

pub struct Users;

impl UserLoader for Users {
    type User = User;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &String) -> Result<Option<User>, Self::Error> {
        Ok(Some(User(id.clone())))
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/login/{id}",
        web::get().to(|login: Login<User>, id: web::Path<String>| async move {
            login.login(&User(id.into_inner()))?;
            Ok::<_, actix_web::Error>("logged in")
        }),
    )
    .route(
        "/who",
        web::get().to(|user: MaybeUser<User>| async move {
            user.get()
                .map_or_else(|| "Anonymous".to_owned(), |user| format!("user:{}", user.0))
        }),
    )
    .route(
        "/logout",
        web::get().to(|login: Login<User>| async move {
            login.logout()?;
            Ok::<_, actix_web::Error>("logged out")
        }),
    );
}

/// The app: sessions in `store`, devices in `devices`.
pub async fn app<S, R>(
    store: S,
    devices: R,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
where
    S: SessionStore + 'static,
    R: DeviceRegistry,
{
    let secret =
        SecretKey::try_from("3e1d5c9a7b2f4e6d8c0a1b3d5f7e9c2a4b6d8f0e1c3a5b7d9f2e4c6a8b0d1f3e")
            .unwrap();
    test::init_service(
        App::new()
            .configure(routes)
            .wrap(
                LoginManager::new(Users)
                    .secret_key(secret)
                    .session_protection(SessionProtection::Off)
                    .remember_cookie(RememberCookie::default().secure(false))
                    .device_registry(devices),
            )
            .wrap(
                SessionMiddleware::builder(store, Key::from(&[42u8; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await
}

/// A browser's cookies.
#[derive(Debug, Clone, Default)]
pub struct Jar(pub HashMap<String, String>);

/// What one request answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
}

/// One request, however it fails; a hang (past 30 s) fails the test.
pub async fn get<S, B>(app: &S, path: &str, jar: &mut Jar) -> Answer
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = TestRequest::get().uri(path);
    for (name, value) in &jar.0 {
        req = req.cookie(actix_web::cookie::Cookie::new(name.clone(), value.clone()));
    }
    let started = Instant::now();
    let res = actix_web::rt::time::timeout(Duration::from_secs(30), app.call(req.to_request()))
        .await
        .unwrap_or_else(|_| panic!("{path} hung"));
    let elapsed = started.elapsed();
    match res {
        Ok(res) => {
            for cookie in res.response().cookies() {
                let gone = cookie.value().is_empty()
                    || cookie.max_age() == Some(actix_web::cookie::time::Duration::ZERO);
                if gone {
                    jar.0.remove(cookie.name());
                } else {
                    jar.0
                        .insert(cookie.name().to_owned(), cookie.value().to_owned());
                }
            }
            let status = res.status().as_u16();
            let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
            Answer {
                status,
                body,
                elapsed,
            }
        }
        Err(error) => Answer {
            status: error.as_response_error().status_code().as_u16(),
            // What the store said, for a failing test's message (the app's own 500 is opaque).
            body: error.to_string(),
            elapsed,
        },
    }
}

#[derive(Debug, Default)]
pub struct Counts {
    pub requests: usize,
    pub ok: usize,
    pub clean_errors: usize,
    pub other_errors: usize,
    pub wrong_user: usize,
    pub survived_logout: usize,
    /// Logged-in browsers found anonymous: a session written just before the fault and lost
    /// with it (asynchronous replication). Never a wrong user, never a survived logout.
    pub lost_logins: usize,
    pub logouts: usize,
    pub slowest: Duration,
    /// The first few clean errors (status and what the store said), to say why in a failure.
    pub first_errors: Vec<String>,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.clean_errors += other.clean_errors;
        self.other_errors += other.other_errors;
        self.wrong_user += other.wrong_user;
        self.survived_logout += other.survived_logout;
        self.lost_logins += other.lost_logins;
        self.logouts += other.logouts;
        self.slowest = self.slowest.max(other.slowest);
        for error in &other.first_errors {
            self.note_error(error.clone());
        }
    }

    fn note_error(&mut self, error: String) {
        if self.first_errors.len() < 3 {
            self.first_errors.push(error);
        }
    }

    /// Counts an answer that should be `expect` (or a clean 5xx); `Some(body)` when it was a 200.
    fn see(&mut self, answer: &Answer, me: &str, expect: &str) -> Option<String> {
        self.requests += 1;
        self.slowest = self.slowest.max(answer.elapsed);
        match answer.status {
            200 => {
                self.ok += 1;
                if answer.body.starts_with("user:") && answer.body != me {
                    self.wrong_user += 1;
                } else if expect == "Anonymous" && answer.body == me {
                    self.survived_logout += 1;
                } else if expect == me && answer.body == "Anonymous" {
                    self.lost_logins += 1;
                }
                Some(answer.body.clone())
            }
            500 | 503 => {
                self.clean_errors += 1;
                let said: String = answer.body.chars().take(200).collect();
                self.note_error(format!("{}: {said}", answer.status));
                None
            }
            other => {
                self.other_errors += 1;
                eprintln!("unexpected {other}: {}", answer.body);
                None
            }
        }
    }
}

/// `clients` browsers, each its own user, until `run_for` has passed: log in, look five
/// times, log out, replay the cookies from before the logout. Runs beside `fault`.
pub async fn load<S, B>(
    app: &S,
    clients: usize,
    run_for: Duration,
    tag: &str,
    fault: impl Future<Output = ()>,
) -> Counts
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let started = Instant::now();
    let browser = async |i: usize| {
        let mut counts = Counts::default();
        let mut round = 0;
        while started.elapsed() < run_for {
            round += 1;
            let id = format!("{tag}-{i}-{round}");
            let me = format!("user:{id}");
            let mut jar = Jar::default();
            let login = get(app, &format!("/login/{id}"), &mut jar).await;
            if counts.see(&login, &me, "logged in").is_none() {
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            for _ in 0..5 {
                let who = get(app, "/who", &mut jar).await;
                counts.see(&who, &me, &me);
            }
            let before = jar.clone();
            let logout = get(app, "/logout", &mut jar).await;
            if counts.see(&logout, &me, "logged out").is_some() {
                counts.logouts += 1;
                // Security: the logged-out session and its device stay ended, whatever the
                // fault did.
                let mut replay = before;
                let who = get(app, "/who", &mut replay).await;
                counts.see(&who, &me, "Anonymous");
            }
        }
        counts
    };
    let browsers = futures_util::future::join_all((0..clients).map(browser));
    let (all, ()) = futures_util::future::join(browsers, fault).await;
    let mut total = Counts::default();
    for counts in &all {
        total.add(counts);
    }
    total
}

/// Browsers logged in before a fault, kept to check that their logins work after it.
pub struct Kept(pub Vec<(String, Jar)>);

impl Kept {
    pub async fn log_in<S, B>(app: &S, tag: &str, count: usize) -> Kept
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let mut kept = Vec::new();
        for i in 0..count {
            let id = format!("{tag}-kept-{i}");
            let mut jar = Jar::default();
            let login = get(app, &format!("/login/{id}"), &mut jar).await;
            assert_eq!(login.status, 200, "a login before the fault");
            kept.push((format!("user:{id}"), jar));
        }
        Kept(kept)
    }

    /// Until each kept browser is served as its user again (within `limit`): the same
    /// logins, without restarting the app. Returns how long that took.
    pub async fn all_back<S, B>(&mut self, app: &S, limit: Duration) -> Duration
    where
        S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        let started = Instant::now();
        for (me, jar) in &mut self.0 {
            loop {
                let who = get(app, "/who", jar).await;
                if who.status == 200 {
                    assert_eq!(&who.body, me, "the same login after the fault");
                    break;
                }
                assert!(
                    started.elapsed() < limit,
                    "{me} still answered {} {limit:?} after the fault",
                    who.status
                );
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            }
        }
        started.elapsed()
    }
}
