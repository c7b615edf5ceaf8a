//! A small app around login-account: users in memory, login-runtime with a device registry,
//! cookie sessions, the outbox for mail, a clock the tests move; and a browser that keeps
//! cookies and the last form token it was shown.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use actix_session::{SessionMiddleware, storage::CookieSessionStore};
use actix_web::cookie::Key;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use login_account::testing::Outbox;
use login_account::{
    Account, AccountConfig, AccountEvent, AccountUser, AccountUsers, Clock, ManualClock,
    MemoryTokenStore, Purpose, TokenRecord, TokenStore, Verified,
};
use login_runtime::testing::TestClient;
use login_runtime::throttle::MemoryThrottleStore;
use login_runtime::{
    AfterFirstFactor, AuthUser, CurrentUser, FirstFactor, Login, LoginManager, LoginOptions,
    MemoryDevices, SecondStepGate, SecondStepHandler, SecretKey, UserLoader,
};

pub const PUBLIC_URL: &str = "https://app.example";

#[derive(Clone, Debug, AuthUser)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub verified: bool,
    #[auth(session_hash)]
    pub password_hash: String,
    pub created_at: SystemTime,
    #[auth(active)]
    pub enabled: bool,
    /// Has a second factor: a first factor leads to the second step (`/two-factor`).
    pub second_factor: bool,
}

impl AccountUser for User {
    fn email(&self) -> &str {
        &self.email
    }
    fn email_verified(&self) -> bool {
        self.verified
    }
    fn created_at(&self) -> SystemTime {
        self.created_at
    }
    fn personal_words(&self) -> Vec<&str> {
        vec![&self.name]
    }
}

#[derive(Clone, Default)]
pub struct Users(pub Rc<RefCell<HashMap<u64, User>>>);

impl Users {
    pub fn get(&self, id: u64) -> User {
        self.0.borrow()[&id].clone()
    }
    pub fn update(&self, id: u64, change: impl FnOnce(&mut User)) {
        change(self.0.borrow_mut().get_mut(&id).unwrap());
    }
}

impl UserLoader for Users {
    type User = User;
    type Id = u64;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
        Ok(self.0.borrow().get(id).cloned())
    }
    async fn has_second_factor(&self, user: &User) -> Result<bool, Self::Error> {
        Ok(user.second_factor)
    }
}

/// The app's second step, as login-mfa would be: an account with a second factor is sent to
/// `/two-factor` (nobody logged in), the others are logged in with the first factor.
struct TwoFactor;

impl SecondStepHandler<User> for TwoFactor {
    fn after_first_factor<'a>(
        &'a self,
        req: &'a actix_web::HttpRequest,
        user: &'a User,
        first: FirstFactor,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<AfterFirstFactor, String>> {
        Box::pin(async move {
            if user.second_factor {
                return Ok(AfterFirstFactor::SecondStep {
                    url: "/two-factor".to_owned(),
                });
            }
            let login = <Login<User> as actix_web::FromRequest>::extract(req)
                .await
                .map_err(|error| error.to_string())?;
            let options = LoginOptions::new()
                .remember(first.remember)
                .method(first.method);
            match login.login_with(user, options) {
                Ok(true) => Ok(AfterFirstFactor::LoggedIn),
                Ok(false) => Ok(AfterFirstFactor::Inactive),
                Err(error) => Err(error.to_string()),
            }
        })
    }
}

impl AccountUsers for Users {
    type User = User;
    type Error = std::convert::Infallible;
    async fn by_email(&self, email: &str) -> Result<Option<User>, Self::Error> {
        Ok(self
            .0
            .borrow()
            .values()
            .find(|user| user.email.eq_ignore_ascii_case(email.trim()))
            .cloned())
    }
    async fn by_id(&self, id: &u64) -> Result<Option<User>, Self::Error> {
        Ok(self.0.borrow().get(id).cloned())
    }
    async fn mark_verified(&self, user: &User) -> Result<(), Self::Error> {
        self.update(user.id, |u| u.verified = true);
        Ok(())
    }
    async fn set_password(&self, user: &User, password: &str) -> Result<(), Self::Error> {
        self.update(user.id, |u| u.password_hash = hash(password));
        Ok(())
    }
    async fn set_email(&self, user: &User, email: &str) -> Result<bool, Self::Error> {
        if self.by_email(email).await?.is_some() {
            return Ok(false);
        }
        self.update(user.id, |u| {
            u.email = email.to_owned();
            u.verified = true;
        });
        Ok(true)
    }
}

pub fn hash(password: &str) -> String {
    format!("hash:{password}")
}

pub struct Site {
    pub users: Users,
    pub outbox: Outbox,
    pub key: SecretKey,
    pub session_key: Key,
    pub devices: MemoryDevices,
    pub tokens: MemoryTokenStore,
    pub throttle: MemoryThrottleStore,
    pub clock: Clock,
    pub time: ManualClock,
    pub events: Rc<RefCell<Vec<AccountEvent>>>,
    pub config: AccountConfig,
    /// When set, the token store holds the first two consumes until both arrived, so that two
    /// concurrent requests for one token both pass every check before either uses it, as they
    /// may with a database.
    pub race: Option<Rc<tokio::sync::Barrier>>,
    /// When set, every call to the token store fails, as a database that is down does.
    pub store_down: bool,
    /// What the event sink received: each event and the path of its request.
    pub sunk: Rc<RefCell<Vec<(AccountEvent, String)>>>,
    /// When set, the event sink fails every event (after recording it).
    pub sink_fails: bool,
}

/// An event sink that records what it receives, after a wait as a database write has.
struct RecordingSink {
    received: Rc<RefCell<Vec<(AccountEvent, String)>>>,
    fails: bool,
}

impl login_account::AccountEventSink for RecordingSink {
    async fn deliver(
        &self,
        event: &AccountEvent,
        req: &actix_web::HttpRequest,
    ) -> actix_web::Result<()> {
        actix_web::rt::time::sleep(Duration::from_millis(2)).await;
        self.received
            .borrow_mut()
            .push((event.clone(), req.path().to_owned()));
        if self.fails {
            return Err(actix_web::error::ErrorInternalServerError("audit log down"));
        }
        Ok(())
    }
}

/// A token store whose database is down.
#[derive(Clone)]
pub struct DownStore;

impl TokenStore for DownStore {
    type Error = &'static str;
    async fn insert(&self, _: &TokenRecord) -> Result<(), Self::Error> {
        Err("connection refused")
    }
    async fn find(&self, _: &str) -> Result<Option<TokenRecord>, Self::Error> {
        Err("connection refused")
    }
    async fn consume(&self, _: &str, _: SystemTime) -> Result<Option<TokenRecord>, Self::Error> {
        Err("connection refused")
    }
    async fn revoke(&self, _: &str, _: Purpose) -> Result<usize, Self::Error> {
        Err("connection refused")
    }
    async fn purge_expired(&self, _: SystemTime) -> Result<usize, Self::Error> {
        Err("connection refused")
    }
}

/// The memory store, holding consumes at the race's barrier once.
#[derive(Clone)]
pub struct RaceStore(
    pub MemoryTokenStore,
    pub Rc<tokio::sync::Barrier>,
    pub Rc<std::cell::Cell<u32>>,
);

impl TokenStore for RaceStore {
    type Error = std::convert::Infallible;
    async fn insert(&self, record: &TokenRecord) -> Result<(), Self::Error> {
        self.0.insert(record).await
    }
    async fn find(&self, hash: &str) -> Result<Option<TokenRecord>, Self::Error> {
        self.0.find(hash).await
    }
    async fn consume(
        &self,
        hash: &str,
        at: SystemTime,
    ) -> Result<Option<TokenRecord>, Self::Error> {
        // Held until both requests checked the token and got here: only the store's atomic
        // consume tells them apart now.
        let arrived = self.2.get();
        self.2.set(arrived + 1);
        if arrived < 1 {
            self.1.wait().await;
        }
        self.0.consume(hash, at).await
    }
    async fn revoke(&self, user_id: &str, purpose: Purpose) -> Result<usize, Self::Error> {
        self.0.revoke(user_id, purpose).await
    }
    async fn purge_expired(&self, now: SystemTime) -> Result<usize, Self::Error> {
        self.0.purge_expired(now).await
    }
}

impl Site {
    pub fn new() -> Site {
        Site::with(|config| config)
    }

    pub fn with(adjust: impl FnOnce(AccountConfig) -> AccountConfig) -> Site {
        let (clock, time) = Clock::manual();
        let config = AccountConfig::new(PUBLIC_URL).unwrap().site_name("Example");
        Site {
            users: Users::default(),
            outbox: Outbox::new(),
            key: SecretKey::generate(),
            session_key: Key::generate(),
            devices: MemoryDevices::new(),
            tokens: MemoryTokenStore::new(),
            throttle: MemoryThrottleStore::default(),
            clock,
            time,
            events: Rc::default(),
            config: adjust(config),
            race: None,
            store_down: false,
            sunk: Rc::default(),
            sink_fails: false,
        }
    }

    pub fn add(&self, id: u64, email: &str, password: &str) -> User {
        let user = User {
            id,
            name: format!("user{id}"),
            email: email.to_owned(),
            verified: true,
            password_hash: hash(password),
            created_at: self.clock.now(),
            enabled: true,
            second_factor: false,
        };
        self.users.0.borrow_mut().insert(id, user.clone());
        user
    }

    pub fn account(&self) -> Account<Users> {
        let events = self.events.clone();
        let account = Account::new(
            self.config.clone(),
            self.users.clone(),
            &self.key,
            self.outbox.clone(),
        )
        .unwrap();
        let account = match &self.race {
            _ if self.store_down => account.token_store(DownStore),
            Some(barrier) => {
                let arrivals = Rc::new(std::cell::Cell::new(0));
                account.token_store(RaceStore(self.tokens.clone(), barrier.clone(), arrivals))
            }
            None => account.token_store(self.tokens.clone()),
        };
        account
            .throttle_store(self.throttle.clone())
            .device_registry(self.devices.clone())
            .clock(self.clock.clone())
            .on_event(move |event| events.borrow_mut().push(event.clone()))
            .event_sink(RecordingSink {
                received: self.sunk.clone(),
                fails: self.sink_fails,
            })
    }

    pub fn events(&self) -> Vec<AccountEvent> {
        self.events.borrow().clone()
    }

    /// The link in the latest mail to `address`.
    pub fn link_to(&self, address: &str) -> String {
        let mail = self.outbox.last_to(address).expect("a mail to the address");
        mail.link(PUBLIC_URL).expect("a link in the mail")
    }

    /// The token in the latest mail to `address`.
    pub fn token_to(&self, address: &str) -> String {
        token_of(&self.link_to(address))
    }

    pub fn advance(&self, by: Duration) {
        self.time.advance(by);
    }
}

pub fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_owned()
}

/// The path and query of a link to the site.
pub fn path_of(link: &str) -> String {
    link.strip_prefix(PUBLIC_URL).unwrap().to_owned()
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    #[serde(default)]
    remember: bool,
}

async fn test_login(
    login: Login<User>,
    users: web::Data<Users>,
    path: web::Path<u64>,
    query: web::Query<LoginQuery>,
) -> actix_web::Result<HttpResponse> {
    let user = users.get(path.into_inner());
    login.login_with(&user, LoginOptions::new().remember(query.remember))?;
    Ok(HttpResponse::Ok().body("logged in"))
}

async fn me(user: CurrentUser<User>, login: Login<User>) -> actix_web::Result<HttpResponse> {
    let fresh = login.is_fresh()?;
    Ok(HttpResponse::Ok().body(format!("user {} fresh {fresh}", user.id)))
}

async fn verified_only(user: Verified<User>) -> HttpResponse {
    HttpResponse::Ok().body(format!("verified {}", user.id))
}

pub struct Page {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub struct Browser<S> {
    pub client: TestClient<S>,
    csrf: RefCell<Option<String>>,
    peer: std::net::SocketAddr,
}

pub async fn browser(
    site: &Site,
    peer: u8,
) -> Browser<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let account = site.account();
    let manager = LoginManager::new(site.users.clone())
        .secret_key(site.key.clone())
        .login_view("/login")
        .refresh_view("/reauthenticate")
        .device_registry(site.devices.clone());
    let app = App::new()
        .app_data(web::Data::new(site.users.clone()))
        .app_data(SecondStepGate::new(TwoFactor))
        .configure(account.configure())
        .route("/test/login/{id}", web::post().to(test_login))
        .route("/me", web::get().to(me))
        .route("/verified-only", web::get().to(verified_only))
        .wrap(manager)
        .wrap(SessionMiddleware::new(
            CookieSessionStore::default(),
            site.session_key.clone(),
        ));
    Browser {
        client: TestClient::new(test::init_service(app).await),
        csrf: RefCell::new(None),
        peer: std::net::SocketAddr::from(([192, 0, 2, peer], 40000)),
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
    pub async fn send(&self, req: TestRequest) -> Page {
        let res = self.client.call(req.peer_addr(self.peer)).await.unwrap();
        let status = res.status();
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
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(TestRequest::get().uri(path)).await
    }

    pub async fn get_json(&self, path: &str) -> Page {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("accept", "application/json")),
        )
        .await
    }

    /// The form token of the last form shown.
    pub fn client_token(&self) -> String {
        self.csrf.borrow().clone().expect("a form was shown first")
    }

    /// Posts a form with the token of the last form shown, as a browser would.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self.csrf.borrow().clone().expect("a form was shown first");
        let mut form = form.to_vec();
        form.push(("csrf", &token));
        self.send(TestRequest::post().uri(path).set_form(&form))
            .await
    }

    pub async fn post_without_token(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(TestRequest::post().uri(path).set_form(form))
            .await
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> Page {
        self.send(
            TestRequest::post()
                .uri(path)
                .insert_header(("accept", "application/json"))
                .set_json(body),
        )
        .await
    }

    /// Logs in as `id` through the test route (not fresh after [`Self::forget_session`]).
    pub async fn log_in(&self, id: u64, remember: bool) {
        let page = self
            .send(TestRequest::post().uri(&format!("/test/login/{id}?remember={remember}")))
            .await;
        assert_eq!(page.status, StatusCode::OK);
    }

    /// Who `/me` says is logged in.
    pub async fn who(&self) -> Option<String> {
        let page = self.get("/me").await;
        (page.status == StatusCode::OK).then_some(page.body)
    }

    /// The browser closed: the session cookie goes, the remember cookie stays.
    pub fn forget_session(&self) {
        self.client.remove_cookie("id");
    }
}
