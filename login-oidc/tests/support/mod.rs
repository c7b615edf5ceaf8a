//! What the end-to-end tests share: the real provider (examples/oidc-provider, a Node process
//! on a free loopback port), a small app using login-runtime and login-oidc, and a visitor
//! (a cookie-keeping HTTP client that follows redirects by hand).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod github;
pub mod idp;
#[path = "../../../examples/oidc-provider/start.rs"]
mod node;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::storage::{CookieSessionStore, RedisSessionStore};
use actix_web::cookie::Key;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, post, web};
use login_oidc::{
    AccessTokens, Oidc, OidcConfig, OidcEvent, OidcIdentity, OidcProvider, OidcUsers,
    ScopePermission,
};
use login_runtime::{
    AuthUser, CurrentUser, HasPermission, Login, LoginManager, MaybeUser, Permission,
    RememberCookie, UserLoader, fresh_login_required, login_required, permission_required,
};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{StatusCode, Url};

use node::NodeProvider;

pub const CLIENT_ID: &str = "login-oidc-test";
pub const CLIENT_SECRET: &str = "login-oidc-test-secret-0123456789abcdef";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// The provider

/// examples/oidc-provider/provider.js, running; killed when dropped.
pub struct Provider {
    pub issuer: String,
    node: NodeProvider,
}

impl Provider {
    /// Starts the provider for a client redirecting to `redirect_uri`, with extra flags
    /// (`--jwks impostor`, `--clock-skew -600`, …), on a free port, and waits (bounded, with
    /// retries: `examples/oidc-provider/start.rs`) until it serves its discovery document.
    pub async fn start(redirect_uri: &str, flags: &[&str]) -> Provider {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/oidc-provider");
        let mut args = vec!["--redirect-uri", redirect_uri];
        args.extend(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]);
        args.extend(flags);
        let node = NodeProvider::start(&dir, &args).await;
        Provider {
            issuer: node.issuer.clone(),
            node,
        }
    }

    /// How often the provider's keys (`/jwks`) were fetched.
    pub async fn jwks_fetches(&self) -> u64 {
        let stats: serde_json::Value = reqwest::get(format!("{}/__test/stats", self.issuer))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["jwksFetches"].as_u64().unwrap()
    }

    /// A JWT access token from the client_credentials grant for the API `resource`.
    pub async fn client_credentials(&self, resource: &str, scope: &str) -> String {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_owned()
    }

    /// Stops the provider now (it is down from here on).
    pub fn stop(&mut self) {
        self.node.stop();
    }
}

/// Asserts that a refused callback answered `status` with the built-in refusal page (linking
/// back to `/login`), that nobody is logged in and no sign-in was reported, and that the app
/// heard about it as `code`.
pub async fn refused(app: &TestApp, visitor: &Visitor, answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "{answer:?}");
    assert!(
        answer.body.contains("<h1>Sign-in failed</h1>"),
        "a clear page: {}",
        answer.body
    );
    assert!(answer.body.contains("href=\"/login\""), "{}", answer.body);
    assert_eq!(
        app.refusals().last().copied(),
        Some(code),
        "the audit event"
    );
    assert_eq!(visitor.whoami(app).await, "anonymous", "nobody logged in");
    assert!(
        app.sign_ins().is_empty(),
        "no sign-in reported: {:?}",
        app.sign_ins()
    );
}

// ---------------------------------------------------------------------------------------------
// The app

#[derive(Clone, Debug, AuthUser)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    #[auth(active)]
    pub active: bool,
    /// What a bearer token's scopes grant (API callers only).
    pub granted: Vec<Api>,
}

/// The test API's permissions, granted by access-token scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    ReadReports,
    WriteReports,
}

impl Permission for Api {
    type User = User;
}

impl HasPermission<Api> for User {
    fn has_permission(&self, permission: &Api) -> bool {
        self.granted.contains(permission)
    }
}

impl Api {
    /// [`ScopePermission::from_scope`] as a plain function, for `permission_set`.
    pub fn from_scope_fn(scope: &str) -> Option<Api> {
        <Api as ScopePermission>::from_scope(scope)
    }
}

impl ScopePermission for Api {
    fn from_scope(scope: &str) -> Option<Api> {
        match scope {
            "reports:read" => Some(Api::ReadReports),
            "reports:write" => Some(Api::WriteReports),
            _ => None,
        }
    }
}

/// Users in memory, with the links (issuer, subject) → user id.
#[derive(Default)]
pub struct Directory {
    pub accounts: Mutex<Vec<User>>,
    pub links: Mutex<HashMap<(String, String), u64>>,
    /// Whether a first sign-in creates an account.
    pub sign_up: bool,
    /// The API's access-token validator, when the app has an API.
    pub api: Mutex<Option<AccessTokens>>,
    /// Why bearer tokens were refused, in order.
    pub api_refusals: Mutex<Vec<&'static str>>,
    /// The accounts with a second factor enrolled.
    pub second_factor: Vec<u64>,
}

#[derive(Clone)]
pub struct Users(pub Arc<Directory>);

impl UserLoader for Users {
    type User = User;
    type Id = u64;
    type Error = std::convert::Infallible;

    async fn load_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
        let accounts = self.0.accounts.lock().unwrap();
        Ok(accounts.iter().find(|user| user.id == *id).cloned())
    }

    async fn has_second_factor(&self, user: &User) -> Result<bool, Self::Error> {
        Ok(self.0.second_factor.contains(&user.id))
    }

    /// An API caller: a bearer JWT from the provider, its scopes as the caller's permissions.
    async fn load_user_from_request(&self, req: &HttpRequest) -> Result<Option<User>, Self::Error> {
        let Some(tokens) = self.0.api.lock().unwrap().clone() else {
            return Ok(None);
        };
        match tokens.from_request(req).await {
            Ok(Some(token)) => Ok(Some(User {
                id: 9000,
                name: format!("api:{}", token.subject().unwrap_or("?")),
                email: String::new(),
                active: true,
                granted: token.scoped_permissions::<Api>(),
            })),
            Ok(None) => Ok(None),
            Err(error) => {
                self.0.api_refusals.lock().unwrap().push(error.code());
                Ok(None)
            }
        }
    }
}

impl OidcUsers for Users {
    type User = User;
    type Error = std::convert::Infallible;

    async fn find(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
        let key = (identity.issuer.clone(), identity.subject.clone());
        let Some(id) = self.0.links.lock().unwrap().get(&key).copied() else {
            return Ok(None);
        };
        self.load_user(&id).await
    }

    /// Links an existing account only on an email address the provider verified.
    async fn linkable(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
        let (Some(email), true) = (&identity.email, identity.email_verified) else {
            return Ok(None);
        };
        let accounts = self.0.accounts.lock().unwrap();
        Ok(accounts.iter().find(|user| &user.email == email).cloned())
    }

    async fn link(&self, user: &User, identity: &OidcIdentity) -> Result<(), Self::Error> {
        let key = (identity.issuer.clone(), identity.subject.clone());
        self.0.links.lock().unwrap().insert(key, user.id);
        Ok(())
    }

    async fn create(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
        if !self.0.sign_up {
            return Ok(None);
        }
        let mut accounts = self.0.accounts.lock().unwrap();
        let user = User {
            id: 1000 + accounts.len() as u64,
            name: identity
                .name
                .clone()
                .unwrap_or_else(|| identity.subject.clone()),
            email: identity.email.clone().unwrap_or_default(),
            active: true,
            granted: Vec::new(),
        };
        accounts.push(user.clone());
        let key = (identity.issuer.clone(), identity.subject.clone());
        self.0.links.lock().unwrap().insert(key, user.id);
        Ok(Some(user))
    }
}

#[login_required]
#[get("/members")]
async fn members(user: CurrentUser<User>, login: Login<User>) -> String {
    let fresh = login.is_fresh().unwrap_or(false);
    format!("Hello, {}! (fresh: {fresh})", user.name)
}

#[fresh_login_required]
#[get("/settings")]
async fn settings(user: CurrentUser<User>) -> String {
    format!("Settings of {}", user.name)
}

#[permission_required(Api::ReadReports)]
#[get("/api/reports")]
async fn read_reports(user: CurrentUser<User>) -> String {
    format!("reports for {}", user.name)
}

#[permission_required(Api::WriteReports)]
#[post("/api/reports")]
async fn write_reports(user: CurrentUser<User>) -> String {
    format!("report written by {}", user.name)
}

#[get("/whoami")]
async fn whoami(user: MaybeUser<User>) -> String {
    user.get()
        .map_or_else(|| "anonymous".to_owned(), |user| user.name.clone())
}

/// Where a login that is not fresh is sent: this app has no password, so its only way back is
/// re-authenticating at the provider.
#[get("/reauth")]
async fn reauth_page() -> &'static str {
    "Confirm it is you: /oidc/start?reauth=1"
}

#[get("/")]
async fn home() -> &'static str {
    "Home"
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The providers' buttons: (prefix, name).
pub struct Buttons(pub Vec<(String, String)>);

/// A password form would sit here; the test app has only a button per provider, each carrying
/// `next` to its `/start`.
#[get("/login")]
async fn login_page(query: web::Query<NextQuery>, buttons: web::Data<Buttons>) -> HttpResponse {
    let next = query
        .next
        .as_deref()
        .filter(|next| login_runtime::is_safe_next(next))
        .unwrap_or("/");
    let next: String = next
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    let forms: String = buttons
        .0
        .iter()
        .map(|(prefix, name)| {
            format!(
                "<form action=\"{prefix}/start\" method=\"get\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
                 <button id=\"{name}\" type=\"submit\">Sign in with {name}</button></form>"
            )
        })
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><title>Log in</title><h1>Log in</h1>{forms}"
        ))
}

/// How the current login was made, as login-oidc recorded it.
#[get("/how")]
async fn how(session: actix_session::Session, login: Login<User>) -> String {
    match login_oidc::SignedInWith::of(&session, &login) {
        Some(record) => format!(
            "signed in with {} as {} (re-authenticated: {})",
            record.provider,
            record.subject,
            record.reauthenticated_at.is_some()
        ),
        None => "not signed in through login-oidc".to_owned(),
    }
}

/// How a test app is set up.
pub struct AppOptions {
    /// Sessions in Redis (the session id is then a server-side key whose renewal is visible).
    pub redis: bool,
    pub sign_up: bool,
    pub accounts: Vec<User>,
    pub http_timeout: Duration,
    pub key_refetch_interval: Duration,
    /// Overrides the issuer the app is configured with (a dead or silent port).
    pub issuer: Option<String>,
    /// Adjusts the configuration the test app builds.
    pub configure: Option<Configure>,
    /// More providers, each under its prefix (`/github`), from the app's base URL.
    pub providers: Vec<(&'static str, ConfigFor)>,
    /// The app serves `/api/reports` to bearer JWTs for this audience from its provider.
    pub api_audience: Option<String>,
    /// The app's event sink answers every event with an error (after recording it).
    pub failing_sink: bool,
    /// The ids of the accounts that have a second factor (the app installs no second step).
    pub second_factor: Vec<u64>,
}

pub type ConfigFor = Arc<dyn Fn(&str) -> OidcConfig + Send + Sync>;

pub type Configure = Arc<dyn Fn(OidcConfig) -> OidcConfig + Send + Sync>;

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            redis: false,
            sign_up: true,
            accounts: Vec::new(),
            http_timeout: Duration::from_secs(10),
            key_refetch_interval: Duration::from_secs(3600),
            issuer: None,
            configure: None,
            providers: Vec::new(),
            api_audience: None,
            failing_sink: false,
            second_factor: Vec::new(),
        }
    }
}

impl AppOptions {
    /// These options, with another provider under `prefix`, configured by `config` from the
    /// app's base URL.
    pub fn provider(
        mut self,
        prefix: &'static str,
        config: impl Fn(&str) -> OidcConfig + Send + Sync + 'static,
    ) -> AppOptions {
        self.providers.push((prefix, Arc::new(config)));
        self
    }

    /// These options, with the configuration adjusted by `configure`.
    pub fn configure(
        self,
        configure: impl Fn(OidcConfig) -> OidcConfig + Send + Sync + 'static,
    ) -> AppOptions {
        AppOptions {
            configure: Some(Arc::new(configure)),
            ..self
        }
    }
}

/// An event sink that records what it receives (and fails when told to).
#[derive(Clone)]
struct RecordingSink {
    received: Arc<Mutex<Vec<(OidcEvent, String)>>>,
    fails: bool,
}

impl login_oidc::OidcEventSink for RecordingSink {
    async fn deliver(&self, event: &OidcEvent, req: &HttpRequest) -> actix_web::Result<()> {
        // As a database write would: the answer waits for it.
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        let path = req.path().to_owned();
        self.received.lock().unwrap().push((event.clone(), path));
        if self.fails {
            return Err(actix_web::error::ErrorInternalServerError(
                "audit log unavailable",
            ));
        }
        Ok(())
    }
}

/// The test app, served on a free loopback port from its own thread.
pub struct TestApp {
    pub base: String,
    pub events: Arc<Mutex<Vec<OidcEvent>>>,
    /// What the app's event sink received: the event and the path of its request.
    pub sunk: Arc<Mutex<Vec<(OidcEvent, String)>>>,
    pub directory: Arc<Directory>,
}

impl TestApp {
    /// A listening socket for the app, so the provider can be told its redirect URI first.
    pub fn bind() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        (listener, base)
    }

    pub fn serve(listener: TcpListener, issuer: &str, options: AppOptions) -> TestApp {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = options.issuer.clone().unwrap_or_else(|| issuer.to_owned());
        let config = OidcConfig::new(
            &issuer,
            CLIENT_ID,
            Some(CLIENT_SECRET),
            &format!("{base}/oidc/callback"),
        )
        .unwrap()
        .http_timeout(options.http_timeout)
        .key_refetch_interval(options.key_refetch_interval);
        let config = match &options.configure {
            Some(configure) => configure(config),
            None => config,
        };
        let directory = Arc::new(Directory {
            accounts: Mutex::new(options.accounts),
            links: Mutex::default(),
            sign_up: options.sign_up,
            api: Mutex::default(),
            api_refusals: Mutex::default(),
            second_factor: options.second_factor,
        });
        let events = Arc::new(Mutex::new(Vec::new()));
        let recorded = events.clone();
        let sunk = Arc::new(Mutex::new(Vec::new()));
        let sink = RecordingSink {
            received: sunk.clone(),
            fails: options.failing_sink,
        };
        // As an app with a user store per worker does: one provider, an `Oidc` per worker.
        let provider = OidcProvider::new(config).unwrap();
        if let Some(audience) = &options.api_audience {
            *directory.api.lock().unwrap() = Some(AccessTokens::new(provider.clone(), audience));
        }
        let extra: Vec<(&'static str, OidcProvider)> = options
            .providers
            .iter()
            .map(|(prefix, config)| (*prefix, OidcProvider::new(config(&base)).unwrap()))
            .collect();
        let mut buttons = vec![(
            "/oidc".to_owned(),
            provider.config().provider_name().to_owned(),
        )];
        buttons.extend(extra.iter().map(|(prefix, provider)| {
            (
                (*prefix).to_owned(),
                provider.config().provider_name().to_owned(),
            )
        }));
        let buttons = web::Data::new(Buttons(buttons));
        let users = Users(directory.clone());
        let redis = options.redis;
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let key = Key::generate();
                macro_rules! app {
                    ($store:expr) => {{
                        let recorded = recorded.clone();
                        let record = recorded.clone();
                        let oidc = Oidc::with_provider(provider.clone(), users.clone())
                            .on_event(move |event| record.lock().unwrap().push(event.clone()))
                            .event_sink(sink.clone());
                        let mut app = App::new().app_data(buttons.clone());
                        for (prefix, provider) in &extra {
                            let record = recorded.clone();
                            let oidc = Oidc::with_provider(provider.clone(), users.clone())
                                .on_event(move |event| record.lock().unwrap().push(event.clone()));
                            app = app.service(oidc.service_at(prefix));
                        }
                        app.service(home)
                            .service(login_page)
                            .service(members)
                            .service(settings)
                            .service(whoami)
                            .service(reauth_page)
                            .service(how)
                            .service(read_reports)
                            .service(write_reports)
                            .service(oidc.service())
                            .wrap(
                                LoginManager::new(users.clone())
                                    .login_view("/login")
                                    .refresh_view("/reauth")
                                    .remember_cookie(RememberCookie::default().secure(false)),
                            )
                            .wrap(
                                SessionMiddleware::builder($store, key.clone())
                                    .cookie_secure(false)
                                    .build(),
                            )
                    }};
                }
                let server = if redis {
                    let store = RedisSessionStore::new("redis://127.0.0.1:6379")
                        .await
                        .expect("Redis on 127.0.0.1:6379");
                    HttpServer::new(move || app!(store.clone()))
                        .workers(1)
                        .listen(listener)
                        .unwrap()
                        .run()
                } else {
                    HttpServer::new(move || app!(CookieSessionStore::default()))
                        .workers(1)
                        .listen(listener)
                        .unwrap()
                        .run()
                };
                server.await
            })
        });
        TestApp {
            base,
            events,
            sunk,
            directory,
        }
    }

    /// The app and a provider that knows it, both running.
    pub async fn with_provider(options: AppOptions, flags: &[&str]) -> (TestApp, Provider) {
        let (listener, base) = TestApp::bind();
        let provider = Provider::start(&format!("{base}/oidc/callback"), flags).await;
        let app = TestApp::serve(listener, &provider.issuer, options);
        (app, provider)
    }

    /// The app and the in-process provider (tests/support/idp.rs) with `knobs`.
    pub fn with_fake_idp(options: AppOptions, knobs: idp::Knobs) -> (TestApp, idp::FakeIdp) {
        let provider = idp::FakeIdp::start(knobs);
        let (listener, _) = TestApp::bind();
        let app = TestApp::serve(listener, &provider.issuer, options);
        (app, provider)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The codes of the refusals reported so far, in order.
    pub fn refusals(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|event| match event {
                OidcEvent::Refused { error } => Some(error.code()),
                _ => None,
            })
            .collect()
    }

    pub fn sign_ins(&self) -> Vec<OidcEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| matches!(event, OidcEvent::SignedIn { .. }))
            .cloned()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The visitor

/// One answer, with its `Location` resolved against the request URL.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

/// A browser without JavaScript: keeps cookies, follows nothing by itself.
pub struct Visitor {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Visitor {
    pub fn new() -> Visitor {
        Visitor::with_jar(Arc::new(Jar::default()))
    }

    /// A visitor whose browser also trusts the certificate authority in `pem`.
    pub fn trusting(pem: &str) -> Visitor {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Visitor { http, jar }
    }

    pub fn with_jar(jar: Arc<Jar>) -> Visitor {
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Visitor { http, jar }
    }

    /// A second visitor holding copies of this one's cookies for `base` (a stolen session).
    pub fn clone_cookies(&self, base: &str) -> Visitor {
        let url = Url::parse(base).unwrap();
        let jar = Arc::new(Jar::default());
        if let Some(header) = self.jar.cookies(&url) {
            for pair in header.to_str().unwrap().split("; ") {
                jar.add_cookie_str(&format!("{pair}; Path=/"), &url);
            }
        }
        Visitor::with_jar(jar)
    }

    /// The value of the cookie `name` this visitor would send to `base`.
    pub fn cookie(&self, base: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&Url::parse(base).unwrap())?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    async fn answer(url: &str, response: reqwest::Response) -> Answer {
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| {
                Url::parse(url)
                    .unwrap()
                    .join(value.to_str().unwrap())
                    .unwrap()
                    .to_string()
            });
        let set_cookies = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_owned())
            .collect();
        let body = response.text().await.unwrap();
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Answer {
        let response = self.http.get(url).send().await.unwrap();
        Visitor::answer(url, response).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        let response = self.http.post(url).form(form).send().await.unwrap();
        Visitor::answer(url, response).await
    }

    /// `GET url` and then every redirect, as a browser would; the last answer.
    pub async fn follow(&self, url: &str) -> (String, Answer) {
        let mut url = url.to_owned();
        for _ in 0..20 {
            let answer = self.get(&url).await;
            match &answer.location {
                Some(next) if answer.status.is_redirection() => url = next.clone(),
                _ => return (url, answer),
            }
        }
        panic!("more than 20 redirects from {url}");
    }

    /// Starts a sign-in at the app (`/oidc/start?…`); the provider's authorization URL.
    pub async fn start(&self, app: &TestApp, query: &str) -> String {
        let answer = self.get(&app.url(&format!("/oidc/start{query}"))).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
        answer.location.unwrap()
    }

    /// Goes from the provider's authorization URL through its login and consent pages as
    /// `account`; the URL the provider sends the visitor back to (the app's callback).
    pub async fn through_provider(&self, app: &TestApp, authorize: &str, account: &str) -> String {
        self.at_provider(app, authorize, Some(account)).await
    }

    /// Like [`through_provider`](Self::through_provider), but cancels on the login page.
    pub async fn cancel_at_provider(&self, app: &TestApp, authorize: &str) -> String {
        self.at_provider(app, authorize, None).await
    }

    async fn at_provider(&self, app: &TestApp, authorize: &str, account: Option<&str>) -> String {
        let mut url = authorize.to_owned();
        for _ in 0..20 {
            if url.starts_with(&app.base) {
                return url;
            }
            let answer = self.get(&url).await;
            if answer.status.is_redirection() {
                url = answer.location.unwrap();
                continue;
            }
            assert_eq!(answer.status, StatusCode::OK, "at {url}: {answer:?}");
            let Some(account) = account else {
                url = attribute_containing(&answer.body, "href", "/abort")
                    .unwrap_or_else(|| panic!("no abort link at {url}: {}", answer.body));
                continue;
            };
            let action = attribute_containing(&answer.body, "action", "/interaction/")
                .unwrap_or_else(|| panic!("no interaction form at {url}: {}", answer.body));
            let submitted = if answer.body.contains("name=\"login\"") {
                self.post(
                    &action,
                    &[("prompt", "login"), ("login", account), ("password", "any")],
                )
                .await
            } else {
                self.post(&action, &[("prompt", "consent")]).await
            };
            assert!(
                submitted.status.is_redirection(),
                "posting {action}: {submitted:?}"
            );
            url = submitted.location.unwrap();
        }
        panic!("the provider never sent the visitor back to the app");
    }

    /// Start (with `query`) and the provider as `account`: the callback URL, not yet visited.
    pub async fn callback(&self, app: &TestApp, query: &str, account: &str) -> String {
        let authorize = self.start(app, query).await;
        self.through_provider(app, &authorize, account).await
    }

    /// A whole sign-in: start (with `query`), the provider as `account`, the callback; the
    /// callback's answer.
    pub async fn sign_in(&self, app: &TestApp, query: &str, account: &str) -> Answer {
        let callback = self.callback(app, query, account).await;
        self.get(&callback).await
    }

    pub async fn whoami(&self, app: &TestApp) -> String {
        self.get(&app.url("/whoami")).await.body
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

/// `url` with query parameter `name` replaced by `value` (`None`: removed).
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut url = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != name)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, old) in &pairs {
            query.append_pair(key, old);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

/// The value of query parameter `name` in `url`.
pub fn param(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A TCP port that accepts connections and never answers (a hung provider), for as long as
/// the returned listener's thread lives.
pub fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        // Bounded: the few connections a test makes, each held open and never answered.
        for stream in listener.incoming().take(16).flatten() {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    port
}
