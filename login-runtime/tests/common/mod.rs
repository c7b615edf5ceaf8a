//! The fixtures of Flask-Login's own test suite (`LoginTestCase`), rebuilt on actix-web:
//! the same users, the same routes, and a client that keeps cookies like a browser.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use actix_http::Request;
use actix_session::{SessionExt, SessionMiddleware, storage::CookieSessionStore};
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, Key};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use actix_web::{HttpRequest, web};
use login_runtime::__private::{GuardSpec, guard};
use login_runtime::testing::TestClient;
use login_runtime::{
    AuthUser, Login, LoginEvent, LoginManager, LoginOptions, MaybeUser, RememberCookie, SecretKey,
    UserLoader,
};

/// An `actix_web::test` service, as the helpers that build one return it:
/// `Client<impl TestApp>` instead of spelling out the `Service` bounds each time.
pub trait TestApp:
    Service<Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B> TestApp for S
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Body = B;
}

/// Flask-Login's test `User`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub id: String,
    pub active: bool,
    pub password_hash: String,
}

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.id.clone()
    }
    fn is_active(&self) -> bool {
        self.active
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        Some(self.password_hash.as_bytes())
    }
}

pub fn user(name: &str, id: &str, active: bool) -> User {
    User {
        name: name.to_owned(),
        id: id.to_owned(),
        active,
        password_hash: format!("hash-of-{name}"),
    }
}

pub fn notch() -> User {
    user("Notch", "1", true)
}
pub fn steve() -> User {
    user("Steve", "2", true)
}
pub fn creeper() -> User {
    user("Creeper", "3", false)
}
pub fn germanjapanese() -> User {
    user("Müller", "佐藤", true)
}

/// The user store: shared with the test so it can change passwords or fail on purpose.
#[derive(Clone, Default)]
pub struct Store {
    pub users: Rc<RefCell<HashMap<String, User>>>,
    pub loads: Rc<RefCell<u32>>,
    pub request_loads: Rc<RefCell<u32>>,
    pub fail: Rc<RefCell<bool>>,
    /// `user_loader` finds nobody (Flask's `test_incorrect_id_logs_out`).
    pub find_nobody: Rc<RefCell<bool>>,
    /// Flask's `request_loader` reading `?user_id`.
    pub request_loader: bool,
}

impl Store {
    pub fn flask() -> Store {
        let store = Store {
            request_loader: true,
            ..Store::default()
        };
        for user in [notch(), steve(), creeper(), germanjapanese()] {
            store.users.borrow_mut().insert(user.id.clone(), user);
        }
        store
    }
    pub fn get(&self, id: &str) -> User {
        self.users.borrow()[id].clone()
    }
    pub fn set_password(&self, id: &str, hash: &str) {
        self.users.borrow_mut().get_mut(id).unwrap().password_hash = hash.to_owned();
    }
    pub fn loads(&self) -> u32 {
        *self.loads.borrow()
    }
}

impl UserLoader for Store {
    type User = User;
    type Id = String;
    type Error = String;

    async fn load_user(&self, id: &String) -> Result<Option<User>, String> {
        *self.loads.borrow_mut() += 1;
        if *self.fail.borrow() {
            return Err("database is down".to_owned());
        }
        if *self.find_nobody.borrow() {
            return Ok(None);
        }
        Ok(self.users.borrow().get(id).cloned())
    }

    async fn load_user_from_request(&self, req: &HttpRequest) -> Result<Option<User>, String> {
        if !self.request_loader {
            return Ok(None);
        }
        *self.request_loads.borrow_mut() += 1;
        let query = web::Query::<HashMap<String, String>>::from_query(req.query_string()).ok();
        let Some(id) = query.and_then(|q| q.get("user_id").cloned()) else {
            return Ok(None);
        };
        Ok(self.users.borrow().get(&id).cloned())
    }
}

/// Records every event, like the signal receivers in Flask-Login's tests.
#[derive(Clone, Default)]
pub struct Events(pub Rc<RefCell<Vec<LoginEvent>>>);

impl Events {
    pub fn count(&self, matches: impl Fn(&LoginEvent) -> bool) -> usize {
        self.0
            .borrow()
            .iter()
            .filter(|event| matches(event))
            .count()
    }
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }
    pub fn all(&self) -> Vec<LoginEvent> {
        self.0.borrow().clone()
    }
}

/// The secret key shared by the test apps (a fixed one, so cookies made in one app verify in
/// another built the same way).
pub fn secret() -> SecretKey {
    SecretKey::try_from("9f8a7c6b5e4d3c2b1a0f9e8d7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a39").unwrap()
}

/// A manager configured like Flask-Login's `LoginTestCase`: no session protection, remember
/// cookie named `remember`, plain HTTP for the test client.
pub fn manager(store: &Store, events: &Events) -> LoginManager<Store> {
    let events = events.clone();
    LoginManager::new(store.clone())
        .secret_key(secret())
        .session_protection(login_runtime::SessionProtection::Off)
        .remember_cookie(RememberCookie::default().name("remember").secure(false))
        .on_event(move |event| events.0.borrow_mut().push(event.clone()))
}

pub fn session_key() -> Key {
    Key::from(&[7u8; 64])
}

pub fn session_middleware() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), session_key())
        .cookie_secure(false)
        .build()
}

fn text(result: Result<bool, login_runtime::LoginError>) -> actix_web::Result<String> {
    Ok(if result? { "True" } else { "False" }.to_owned())
}

/// Flask-Login's standard routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { "Welcome!" }))
        .route(
            "/secret",
            web::get()
                .to(|login: Login<User>| async move { Err::<String, _>(login.unauthorized()) }),
        )
        .route(
            "/needs-refresh",
            web::get()
                .to(|login: Login<User>| async move { Err::<String, _>(login.needs_refresh()) }),
        )
        .route(
            "/login-notch",
            web::get().to(|login: Login<User>| async move { text(login.login(&notch())) }),
        )
        .route(
            "/login-notch-unfresh",
            web::get().to(|login: Login<User>| async move {
                text(login.login_with(&notch(), LoginOptions::new().fresh(false)))
            }),
        )
        .route(
            "/login-notch-remember",
            web::get().to(|login: Login<User>| async move {
                text(login.login_with(&notch(), LoginOptions::new().remember(true)))
            }),
        )
        .route(
            "/login-notch-remember-custom",
            web::get().to(|login: Login<User>| async move {
                let options = LoginOptions::new()
                    .remember(true)
                    .duration(Duration::from_secs(7 * 3600));
                text(login.login_with(&notch(), options))
            }),
        )
        .route(
            "/login-creeper",
            web::get().to(|login: Login<User>| async move { text(login.login(&creeper())) }),
        )
        .route(
            "/login-creeper-forced",
            web::get().to(|login: Login<User>| async move {
                text(login.login_with(&creeper(), LoginOptions::new().force(true)))
            }),
        )
        .route(
            "/login-germanjapanese-remember",
            web::get().to(|login: Login<User>| async move {
                text(login.login_with(&germanjapanese(), LoginOptions::new().remember(true)))
            }),
        )
        .route(
            "/confirm-login",
            web::get().to(|login: Login<User>| async move {
                login.confirm()?;
                Ok::<_, actix_web::Error>("")
            }),
        )
        .route(
            "/username",
            web::get().to(|user: MaybeUser<User>| async move {
                user.get()
                    .map_or_else(|| "Anonymous".to_owned(), |user| user.name.clone())
            }),
        )
        .route(
            "/user-id",
            web::get().to(|user: MaybeUser<User>| async move {
                user.get().map_or_else(String::new, |user| user.id.clone())
            }),
        )
        .route(
            "/is-fresh",
            web::get().to(|login: Login<User>| async move { text(login.is_fresh()) }),
        )
        .route(
            "/is-remembered",
            web::get().to(|login: Login<User>| async move { text(Ok(login.is_remembered())) }),
        )
        .route(
            "/logout",
            web::get().to(|login: Login<User>| async move {
                login.logout()?;
                Ok::<_, actix_web::Error>("")
            }),
        )
        .route(
            "/empty_session",
            web::get().to(|req: HttpRequest| async move {
                format!("modified={:?}", req.get_session().status())
            }),
        )
        .route(
            "/set-foo",
            web::get().to(|req: HttpRequest| async move {
                req.get_session().insert("foo", "bar").unwrap();
                "ok"
            }),
        )
        .route(
            "/get-foo",
            web::get().to(|req: HttpRequest| async move {
                req.get_session()
                    .get::<String>("foo")
                    .unwrap()
                    .unwrap_or_default()
            }),
        )
        .route("/protected", web::route().to(guarded(false)))
        .route("/fresh-protected", web::route().to(guarded(true)))
        .route("/first/protected", web::get().to(guarded(false)))
        .route("/second/protected", web::get().to(guarded(false)))
        .route(
            "/next",
            web::get().to(|login: Login<User>| async move { login.next_url().unwrap_or_default() }),
        );
}

/// A handler guarded the way `#[login_required]` / `#[fresh_login_required]` expand.
pub fn guarded(
    fresh: bool,
) -> impl Fn(HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = actix_web::Result<&'static str>>>>
+ Clone
+ 'static {
    move |req: HttpRequest| {
        Box::pin(async move {
            guard(
                &req,
                GuardSpec {
                    handler: "guarded",
                    fresh,
                    login_view: None,
                    refresh_view: None,
                },
            )
            .await?;
            Ok("Access Granted")
        })
    }
}

/// What the client saw of one response.
#[derive(Debug)]
pub struct Seen {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub set_cookies: Vec<Cookie<'static>>,
    pub body: String,
}

impl Seen {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn cookie(&self, name: &str) -> Option<&Cookie<'static>> {
        self.set_cookies.iter().find(|cookie| cookie.name() == name)
    }
}

/// A browser for one test app: keeps cookies (through `login_runtime::testing::TestClient`),
/// sends a User-Agent and a peer address, and reads every response whole.
pub struct Client<S> {
    browser: TestClient<S>,
    pub user_agent: RefCell<String>,
    pub peer: RefCell<SocketAddr>,
}

impl<S, B> Client<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub fn new(app: S) -> Self {
        Client {
            browser: TestClient::new(app),
            user_agent: RefCell::new("test-agent/1.0".to_owned()),
            peer: RefCell::new("127.0.0.1:50000".parse().unwrap()),
        }
    }

    pub async fn get(&self, path: &str) -> Seen {
        self.send(TestRequest::get().uri(path)).await
    }

    pub async fn body(&self, path: &str) -> String {
        self.get(path).await.body
    }

    /// Sends `req` from this browser: its agent, its address, its cookies.
    pub async fn send(&self, req: TestRequest) -> Seen {
        let req = req
            .insert_header(("user-agent", self.user_agent.borrow().clone()))
            .peer_addr(*self.peer.borrow());
        self.send_raw(req.to_request()).await
    }

    /// Sends a request built elsewhere, with this browser's cookies only.
    pub async fn send_raw(&self, req: Request) -> Seen {
        match self.browser.call_request(req).await {
            Ok(res) => {
                let set_cookies: Vec<Cookie<'static>> = res
                    .headers()
                    .get_all("set-cookie")
                    .filter_map(|value| Cookie::parse(value.to_str().ok()?.to_owned()).ok())
                    .collect();
                let status = res.status();
                let headers = res.headers().clone();
                let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
                Seen {
                    status,
                    headers,
                    set_cookies,
                    body,
                }
            }
            Err(error) => {
                let res = error.error_response();
                Seen {
                    status: res.status(),
                    headers: res.headers().clone(),
                    set_cookies: Vec::new(),
                    body: String::new(),
                }
            }
        }
    }

    /// Wipes the session cookie, as if the browser had been closed; the remember cookie stays.
    pub fn clear_session(&self) {
        self.browser.remove_cookie("id");
    }

    pub fn clear_cookies(&self) {
        self.browser.clear_cookies();
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.browser.set_cookie(name, value);
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.browser.cookie(name)
    }
}

/// Builds the standard app around `manager` and returns a client for it.
#[macro_export]
macro_rules! flask_app {
    ($manager:expr) => {
        $crate::common::Client::new(
            actix_web::test::init_service(
                actix_web::App::new()
                    .configure($crate::common::routes)
                    .wrap($manager)
                    .wrap($crate::common::session_middleware()),
            )
            .await,
        )
    };
}

/// A loader whose user id is a number, for ids that do not parse.
pub struct NumericUsers;

#[derive(Debug, Clone)]
pub struct NumericUser(pub u32);

impl AuthUser for NumericUser {
    type Id = u32;
    fn id(&self) -> u32 {
        self.0
    }
}

impl UserLoader for NumericUsers {
    type User = NumericUser;
    type Id = u32;
    type Error = String;
    async fn load_user(&self, id: &u32) -> Result<Option<NumericUser>, String> {
        Ok(Some(NumericUser(*id)))
    }
}

/// `/who` of the numeric-id apps: the user's id, or "Anonymous".
pub async fn numeric_who(user: MaybeUser<NumericUser>) -> String {
    user.get()
        .map_or_else(|| "Anonymous".to_owned(), |u| u.0.to_string())
}

/// `POST /plant` writes the given keys into the session, as another version (or a hostile
/// store) could have left them.
pub fn planting_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/plant",
        web::post().to(
            |req: HttpRequest, body: web::Json<Vec<(String, serde_json::Value)>>| async move {
                let session = req.get_session();
                for (key, value) in body.into_inner() {
                    session.insert(key, value).unwrap();
                }
                ""
            },
        ),
    );
}
