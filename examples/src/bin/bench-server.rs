//! The server `bench/run.sh` measures (see BENCHMARKS.md): one user, `42`, in an in-memory map.
//!
//! ```text
//! cargo run --release -p examples --bin bench-server -- --port P
//!     [--store cookie|redis|postgres|redis-cluster] [--redis-url URL] [--database-url URL]
//!     [--cluster-urls URL,URL,…] [--protection off|basic|strong] [--session-hash]
//!     [--devices memory|redis] [--idle-timeout SECS] [--address-limit N]
//!     [--bare | --no-manager]
//! ```
//!
//! - `POST /login` logs user `42` in (`?remember=1` with remember-me) and sets the session
//!   cookie;
//! - `GET /protected` is `#[login_required]`, extracts `CurrentUser`, answers `42` with 200,
//!   or 401 without a login (no login view);
//! - `GET /open` has no guard and no extractor;
//! - `POST /password-login` (form `name`, `password`) is a real password login: the throttle
//!   (5 failures per account, `--address-limit` per client address, default 20, in 15 minutes;
//!   429 with `Retry-After` when used up, before any hashing), then argon2id (the demo's
//!   `Passwords`: OWASP parameters, on low-priority threads, one per core), 401 for a wrong
//!   password; user `user42` has the password `right password`.
//!
//! Sessions: actix-session's private `CookieSessionStore` with its defaults (`Secure` off for
//! plain HTTP), `RedisSessionStore` with `--store redis`, login-stores' `PgSessionStore` on
//! `--database-url` with `--store postgres` (its table made if missing), or login-stores'
//! `RedisSessions` over a `deadpool_redis::cluster::Pool` on `--cluster-urls` with
//! `--store redis-cluster`. `--devices` keeps every login as a
//! device (`MemoryDevices` shared by the workers, or `RedisDevices` on `--redis-url`), so every
//! request asks the registry; `--idle-timeout` ends logins idle that long. `ACTIX_WORKERS` sets
//! the worker count (default 1). `--bare` serves `/protected` and `/open` answering `42` with
//! neither sessions nor `LoginManager` (the floor); `--no-manager` keeps the session middleware
//! and the same routes but drops `LoginManager` (the reference for `/open`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, post, web};
use examples::demo::passwords::Passwords;
use login_runtime::throttle::{MemoryThrottleStore, Throttle};
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, LoginOptions, MemoryDevices, RedisDevices,
    RememberCookie, SecretKey, SessionProtection, UserLoader, client_address, login_required,
};
use login_stores::postgres::PgSessionStore;
use login_stores::redis::RedisSessions;
use serde::Deserialize;

/// The one user. Its session hash is only reported with `--session-hash`.
#[derive(Debug, Clone)]
struct User {
    id: u32,
    session_hash: Option<&'static str>,
}

impl AuthUser for User {
    type Id = u32;
    fn id(&self) -> u32 {
        self.id
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        self.session_hash.map(str::as_bytes)
    }
}

/// The in-memory loader: users by id, as `identity-peer --lookup` keeps them.
#[derive(Clone)]
struct Users(Arc<HashMap<u32, User>>);

impl Users {
    fn new(session_hash: bool) -> Self {
        let user = User {
            id: 42,
            session_hash: session_hash.then_some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        };
        Users(Arc::new(HashMap::from([(42, user)])))
    }
}

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<User>, Infallible> {
        Ok(self.0.get(id).cloned())
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    remember: Option<u8>,
}

#[post("/login")]
async fn login(
    login: Login<User>,
    query: web::Query<LoginQuery>,
    users: web::Data<Users>,
) -> actix_web::Result<HttpResponse> {
    let user = users
        .0
        .get(&42)
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorNotFound("no user"))?;
    let options = LoginOptions::new().remember(query.remember == Some(1));
    login.login_with(&user, options)?;
    Ok(HttpResponse::Ok().body("logged in"))
}

#[login_required]
#[get("/protected")]
async fn protected(user: CurrentUser<User>) -> String {
    user.id.to_string()
}

#[get("/open")]
async fn open() -> &'static str {
    "42"
}

#[get("/protected")]
async fn bare_protected() -> &'static str {
    "42"
}

/// What `/password-login` checks against: the password hash of `user42`, the hashing pool and
/// the throttle, shared by the workers.
#[derive(Clone)]
struct PasswordLogin {
    hash: Arc<str>,
    passwords: Passwords,
    account: Throttle<MemoryThrottleStore>,
    address: Throttle<MemoryThrottleStore>,
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

#[post("/password-login")]
async fn password_login_route(
    req: HttpRequest,
    form: web::Form<Credentials>,
    check: web::Data<PasswordLogin>,
) -> actix_web::Result<HttpResponse> {
    let account = format!("account:{}", form.name);
    let address = format!("address:{}", client_address(&req).unwrap_or_default());
    let throttled = |error| actix_web::error::ErrorInternalServerError(format!("{error:?}"));
    let wait = check
        .account
        .check(&[&account])
        .await
        .map_err(throttled)?
        .max(check.address.check(&[&address]).await.map_err(throttled)?);
    if let Some(wait) = wait {
        // Refused before any hashing: a flood costs nothing once its keys are used up.
        return Ok(HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, wait.as_secs().max(1).to_string()))
            .finish());
    }
    let hash = (form.name == "user42").then_some(&*check.hash);
    let right = check
        .passwords
        .verify(&form.password, hash)
        .await
        .map_err(actix_web::error::ErrorServiceUnavailable)?;
    if right {
        check.account.succeeded(&account).await.map_err(throttled)?;
        return Ok(HttpResponse::Ok().body("logged in"));
    }
    check.account.failed(&[&account]).await.map_err(throttled)?;
    check.address.failed(&[&address]).await.map_err(throttled)?;
    Ok(HttpResponse::Unauthorized().body("wrong name or password"))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Login,
    Bare,
    NoManager,
}

#[derive(Clone, Copy, PartialEq)]
enum DeviceStore {
    None,
    Memory,
    Redis,
}

/// Where sessions live (`--store`).
#[derive(Clone, Copy, PartialEq)]
enum Sessions {
    Cookie,
    Redis,
    Postgres,
    RedisCluster,
}

struct Args {
    port: u16,
    sessions: Sessions,
    redis_url: String,
    database_url: String,
    cluster_urls: Vec<String>,
    protection: SessionProtection,
    session_hash: bool,
    mode: Mode,
    devices: DeviceStore,
    idle_timeout: Option<Duration>,
    address_limit: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8088,
        sessions: Sessions::Cookie,
        redis_url: "redis://127.0.0.1:6379".to_owned(),
        database_url: "postgres://postgres@127.0.0.1:5432/test".to_owned(),
        cluster_urls: Vec::new(),
        protection: SessionProtection::Basic,
        session_hash: false,
        mode: Mode::Login,
        devices: DeviceStore::None,
        idle_timeout: None,
        address_limit: 20,
    };
    let mut store = "cookie".to_owned();
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--store" => store = value()?,
            "--redis-url" => args.redis_url = value()?,
            "--database-url" => args.database_url = value()?,
            "--cluster-urls" => {
                args.cluster_urls = value()?.split(',').map(str::to_owned).collect();
            }
            "--protection" => {
                args.protection = match value()?.as_str() {
                    "off" => SessionProtection::Off,
                    "basic" => SessionProtection::Basic,
                    "strong" => SessionProtection::Strong,
                    other => return Err(format!("--protection: unknown mode {other}")),
                }
            }
            "--session-hash" => args.session_hash = true,
            "--devices" => {
                args.devices = match value()?.as_str() {
                    "memory" => DeviceStore::Memory,
                    "redis" => DeviceStore::Redis,
                    other => return Err(format!("--devices: unknown store {other}")),
                }
            }
            "--idle-timeout" => {
                let secs: u64 = value()?
                    .parse()
                    .map_err(|e| format!("--idle-timeout: {e}"))?;
                args.idle_timeout = Some(Duration::from_secs(secs));
            }
            "--address-limit" => {
                args.address_limit = value()?
                    .parse()
                    .map_err(|e| format!("--address-limit: {e}"))?
            }
            "--bare" => args.mode = Mode::Bare,
            "--no-manager" => args.mode = Mode::NoManager,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    args.sessions = match store.as_str() {
        "cookie" => Sessions::Cookie,
        "redis" => Sessions::Redis,
        "postgres" => Sessions::Postgres,
        "redis-cluster" => Sessions::RedisCluster,
        other => return Err(format!("--store: unknown store {other}")),
    };
    Ok(args)
}

/// Random keys, or with `BENCH_FIXED_KEYS=1` fixed ones (benchmarks only: a cookie from one
/// run then works in the next, so two runs can send byte-identical requests).
fn keys() -> std::io::Result<(Key, SecretKey)> {
    if std::env::var_os("BENCH_FIXED_KEYS").is_some() {
        let secret =
            SecretKey::try_from("bench-only 5c1e0a9f3b7d2e8c4a6f1b0d9e3c7a5f2b8d4e6c0a1f9b3d")
                .map_err(std::io::Error::other)?;
        return Ok((Key::derive_from(secret.as_bytes()), secret));
    }
    Ok((Key::generate(), SecretKey::generate()))
}

/// Runs an `HttpServer` whose app the block builds, on 127.0.0.1 with the worker count.
macro_rules! serve {
    ($port:expr, $workers:expr, $app:expr) => {
        HttpServer::new($app)
            .workers($workers)
            .bind(("127.0.0.1", $port))?
            .run()
            .await
    };
}

/// The device registry every worker's manager shares.
#[derive(Clone)]
enum Registry {
    None,
    Memory(MemoryDevices),
    Redis(RedisDevices),
}

/// What every worker's app is built from.
#[derive(Clone)]
struct Settings {
    port: u16,
    workers: usize,
    session_key: Key,
    secret: SecretKey,
    protection: SessionProtection,
    users: Users,
    registry: Registry,
    idle_timeout: Option<Duration>,
    password_login: PasswordLogin,
}

impl Settings {
    /// The manager, built in each worker (it is not `Send`).
    fn manager(&self) -> LoginManager<Users> {
        let manager = LoginManager::new(self.users.clone())
            .session_protection(self.protection)
            .secret_key(self.secret.clone())
            .remember_cookie(RememberCookie::default().secure(false));
        let manager = match &self.registry {
            Registry::None => manager,
            Registry::Memory(devices) => manager.device_registry(devices.clone()),
            Registry::Redis(devices) => manager.device_registry(devices.clone()),
        };
        match self.idle_timeout {
            Some(timeout) => manager.idle_timeout(timeout),
            None => manager,
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = parse_args().map_err(std::io::Error::other)?;
    let workers = std::env::var("ACTIX_WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .unwrap_or(1);
    // One key of each kind for every worker: a login made on one worker is valid on all.
    let (session_key, secret) = keys()?;
    let passwords = Passwords::new().map_err(std::io::Error::other)?;
    let hash = passwords
        .hash("right password")
        .await
        .map_err(std::io::Error::other)?;
    let window = Duration::from_secs(15 * 60);
    let password_login = PasswordLogin {
        hash: hash.into(),
        passwords,
        account: Throttle::new(MemoryThrottleStore::default(), 5, window),
        address: Throttle::new(MemoryThrottleStore::default(), args.address_limit, window),
    };
    let registry = match args.devices {
        DeviceStore::None => Registry::None,
        DeviceStore::Memory => Registry::Memory(MemoryDevices::new()),
        DeviceStore::Redis => {
            let pool = deadpool_redis::Config::from_url(args.redis_url.clone())
                .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .map_err(std::io::Error::other)?;
            Registry::Redis(RedisDevices::new(pool, "bench:devices:"))
        }
    };
    let settings = Settings {
        port: args.port,
        workers,
        session_key,
        secret,
        protection: args.protection,
        users: Users::new(args.session_hash),
        registry,
        idle_timeout: args.idle_timeout,
        password_login,
    };
    let mode = args.mode;
    if mode == Mode::Bare {
        return serve!(settings.port, settings.workers, || App::new()
            .service(bare_protected)
            .service(open));
    }
    match args.sessions {
        Sessions::Cookie => run(settings, mode, CookieSessionStore::default).await,
        Sessions::Redis => {
            let store = RedisSessionStore::new(args.redis_url)
                .await
                .map_err(|error| std::io::Error::other(error.to_string()))?;
            run(settings, mode, move || store.clone()).await
        }
        Sessions::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect(&args.database_url)
                .await
                .map_err(std::io::Error::other)?;
            login_stores::postgres::migrate(&pool)
                .await
                .map_err(std::io::Error::other)?;
            let store = PgSessionStore::new(pool);
            run(settings, mode, move || store.clone()).await
        }
        Sessions::RedisCluster => {
            let pool = deadpool_redis::cluster::Config::from_urls(args.cluster_urls)
                .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                .map_err(std::io::Error::other)?;
            let store = RedisSessions::new(pool, "bench:session:");
            run(settings, mode, move || store.clone()).await
        }
    }
}

/// Serves the login app, or with [`Mode::NoManager`] the same routes without `LoginManager`
/// (never calling the two that need it, so routing costs the same), on sessions in `store`.
async fn run<St, F>(settings: Settings, mode: Mode, store: F) -> std::io::Result<()>
where
    St: SessionStore + 'static,
    F: Fn() -> St + Clone + Send + 'static,
{
    let Settings { port, workers, .. } = settings.clone();
    let session_key = settings.session_key.clone();
    let sessions = move || {
        SessionMiddleware::builder(store(), session_key.clone())
            .cookie_secure(false)
            .build()
    };
    if mode == Mode::NoManager {
        return serve!(port, workers, move || App::new()
            .service(login)
            .service(protected)
            .service(open)
            .wrap(sessions()));
    }
    serve!(port, workers, move || App::new()
        .app_data(web::Data::new(settings.users.clone()))
        .app_data(web::Data::new(settings.password_login.clone()))
        .service(login)
        .service(protected)
        .service(open)
        .service(password_login_route)
        .wrap(settings.manager())
        .wrap(sessions()))
}
