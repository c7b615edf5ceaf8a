//! The demo site, as a team would start their own: users, API tokens and an audit trail in a
//! database (SQLite or PostgreSQL through sqlx), argon2id passwords, askama templates, sign-up,
//! remember-me, re-authentication, password change, a bearer-token JSON API, throttled logins
//! and CSRF-protected forms.
//!
//! - [`db`]: the tables and every query; [`passwords`]: argon2id off the executor.
//! - [`pages`]: the HTML pages; [`devices`]: the signed-in devices page; [`api`]: the JSON API
//!   under `/api/`; [`oidc`]: "Sign in with OpenID Connect", when configured.
//! - [`throttle`]: failed-login counters (database or Redis); [`audit`]: the audit trail.
//! - [`csrf`]: form tokens and the cross-site check; [`sessions`]: cookie or Redis sessions,
//!   and flash messages kept in the session.

pub mod api;
pub mod audit;
pub mod csrf;
pub mod db;
pub mod devices;
pub mod oidc;
pub mod pages;
pub mod passwords;
pub mod sessions;
pub mod throttle;

use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::storage::RedisSessionStore;
use actix_web::cookie::{Key, SameSite};
use actix_web::http::header::HeaderValue;
use actix_web::{HttpRequest, web};
use actix_web_flash_messages::FlashMessagesFramework;
use login_oidc::{OidcConfig, OidcProvider};
use login_runtime::{
    HasPermission, LoginEvent, LoginManager, MemoryDevices, Permission, RedisDevices,
    RememberCookie, SecretKey, UserLoader,
};
use sha2::{Digest, Sha256};

use self::audit::AuditEvent;
use self::db::{Db, OpenError, User};
use self::passwords::{PasswordError, Passwords};
use self::sessions::{SessionBackend, SessionFlashStore};
use self::throttle::{Counters, Limits, LoginThrottle};

/// How the demo is configured; [`Config::from_env`] reads it from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://demo.db` by default, or `postgres://…`.
    pub database_url: String,
    /// `REDIS_URL`: when set, sessions and login-failure counters live in Redis.
    pub redis_url: Option<String>,
    /// `DEMO_SECURE_COOKIES=1`: mark the session and remember cookies `Secure` (behind HTTPS).
    /// Off by default, so the demo works on plain HTTP on any address; the flash messages
    /// live in the session and so always follow the session cookie.
    pub secure_cookies: bool,
    /// Failed logins allowed per account and per address.
    pub limits: Limits,
    /// `DEMO_IDLE_TIMEOUT_SECS`: end a login after this long without a request (off by
    /// default).
    pub idle_timeout: Option<Duration>,
    /// `DEMO_LOGIN_LIFETIME_SECS`: end a login this long after the password was entered,
    /// however active (off by default).
    pub login_lifetime: Option<Duration>,
    /// Where the device registry keeps its keys in Redis (`demo:devices:`).
    pub devices_prefix: String,
    /// `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `OIDC_REDIRECT_URL`: "Sign in
    /// with OpenID Connect" on the login page. Off (and no button) when none is set.
    pub oidc: Option<OidcConfig>,
}

/// The Redis key prefix of the demo's device registry.
pub const DEVICES_PREFIX: &str = "demo:devices:";

impl Config {
    /// Reads `DATABASE_URL`, `REDIS_URL`, `DEMO_SECURE_COOKIES`, `DEMO_IDLE_TIMEOUT_SECS` and
    /// `DEMO_LOGIN_LIFETIME_SECS`.
    pub fn from_env() -> Result<Config, ConfigError> {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let seconds = |name: &'static str| {
            var(name)
                .map(|value| match value.parse::<u64>() {
                    Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
                    _ => Err(ConfigError::Seconds(name, value)),
                })
                .transpose()
        };
        Ok(Config {
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://demo.db".to_owned()),
            redis_url: var("REDIS_URL"),
            secure_cookies: var("DEMO_SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true"),
            limits: Limits::default(),
            idle_timeout: seconds("DEMO_IDLE_TIMEOUT_SECS")?,
            login_lifetime: seconds("DEMO_LOGIN_LIFETIME_SECS")?,
            devices_prefix: DEVICES_PREFIX.to_owned(),
            oidc: OidcConfig::from_env()?.map(oidc_landing).transpose()?,
        })
    }

    /// A SQLite file (`sqlite://{path}`), no Redis, plain-HTTP cookies.
    pub fn sqlite(path: &std::path::Path) -> Config {
        Config::database(&format!("sqlite://{}", path.display()))
    }

    /// The database at `url`, no Redis, plain-HTTP cookies.
    pub fn database(url: &str) -> Config {
        Config {
            database_url: url.to_owned(),
            redis_url: None,
            secure_cookies: false,
            limits: Limits::default(),
            idle_timeout: None,
            login_lifetime: None,
            devices_prefix: DEVICES_PREFIX.to_owned(),
            oidc: None,
        }
    }

    /// Signs in with the OpenID Connect provider `config` describes.
    pub fn with_oidc(mut self, config: OidcConfig) -> Result<Config, ConfigError> {
        self.oidc = Some(oidc_landing(config)?);
        Ok(self)
    }
}

/// An OpenID Connect sign-in without a `next` lands on the profile page.
fn oidc_landing(config: OidcConfig) -> Result<OidcConfig, ConfigError> {
    Ok(config.after_login("/profile")?.login_page("/login")?)
}

/// A setting in the environment that the demo cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not a whole number of seconds above zero.
    #[error("{0} must be a whole number of seconds above 0, not {1:?}")]
    Seconds(&'static str, String),
    /// The `OIDC_*` variables (for example only some of them set).
    #[error("OpenID Connect: {0}")]
    Oidc(#[from] login_oidc::ConfigError),
}

/// Keys the demo signs with. A real deployment reads both from its configuration; the demo
/// makes new ones at each start, so logins end when the process does.
#[derive(Clone)]
pub struct Keys {
    /// Signs remember-me cookies.
    pub login: SecretKey,
    /// Signs and encrypts the session cookie.
    pub session: Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        Keys {
            login: SecretKey::generate(),
            session: Key::generate(),
        }
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Db(#[from] OpenError),
    /// A query.
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
    /// Redis.
    #[error("redis: {0}")]
    Redis(String),
    /// Hashing.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The OpenID Connect client.
    #[error("OpenID Connect: {0}")]
    Oidc(#[from] login_oidc::ConfigError),
}

/// Everything the handlers share, built once and cloned into every worker.
#[derive(Clone, Debug)]
pub struct Demo {
    /// The database.
    pub db: Db,
    /// Password hashing.
    pub passwords: Passwords,
    /// Failed-login throttling.
    pub throttle: LoginThrottle,
    /// Signing keys.
    pub keys: Keys,
    /// Where sessions live.
    pub sessions: SessionBackend,
    /// Whether cookies are marked `Secure`.
    pub secure_cookies: bool,
    /// Every login as a device: in memory (shared by the workers of this process), or in
    /// Redis with `REDIS_URL`.
    pub devices: DeviceStore,
    /// The idle timeout and the absolute lifetime of a login, if configured.
    pub idle_timeout: Option<Duration>,
    /// See [`Config::login_lifetime`].
    pub login_lifetime: Option<Duration>,
    /// The OpenID Connect provider, built once for every worker (one discovery, one key set).
    pub oidc: Option<OidcProvider>,
}

/// Where the devices (signed-in logins) are kept.
#[derive(Clone, Debug)]
pub enum DeviceStore {
    /// This process's memory: clones share it, so every worker sees the same devices.
    Memory(MemoryDevices),
    /// Redis, shared by every instance.
    Redis(RedisDevices),
}

fn redis_pool(url: &str) -> Result<deadpool_redis::Pool, StartError> {
    // Timeouts, as the README recommends: while Redis is down, requests fail at once with a
    // 500 instead of waiting out a reconnection backoff.
    let mut config = deadpool_redis::Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig {
        timeouts: deadpool_redis::Timeouts {
            wait: Some(Duration::from_secs(2)),
            create: Some(Duration::from_secs(2)),
            recycle: Some(Duration::from_secs(2)),
        },
        ..deadpool_redis::PoolConfig::default()
    });
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .map_err(|error| StartError::Redis(error.to_string()))
}

impl Demo {
    /// Opens and migrates the database, and connects to Redis if configured.
    pub async fn start(config: &Config) -> Result<Demo, StartError> {
        let db = Db::open(&config.database_url).await?;
        let (sessions, counters, devices) = match &config.redis_url {
            Some(url) => {
                let pool = redis_pool(url)?;
                let store = RedisSessionStore::new_pooled(pool.clone())
                    .await
                    .map_err(|error| StartError::Redis(error.to_string()))?;
                let devices = RedisDevices::new(pool.clone(), config.devices_prefix.clone());
                (
                    SessionBackend::Redis(store),
                    Counters::Redis(pool),
                    DeviceStore::Redis(devices),
                )
            }
            None => (
                SessionBackend::Cookie,
                Counters::Db(db.clone()),
                DeviceStore::Memory(MemoryDevices::new()),
            ),
        };
        Ok(Demo {
            passwords: Passwords::new()?,
            throttle: LoginThrottle::new(counters, config.limits),
            keys: Keys::generate(),
            sessions,
            secure_cookies: config.secure_cookies,
            devices,
            idle_timeout: config.idle_timeout,
            login_lifetime: config.login_lifetime,
            oidc: config.oidc.clone().map(OidcProvider::new).transpose()?,
            db,
        })
    }

    /// Creates the demo account (`demo`, an admin) on first start; returns its password when
    /// it was just created, `None` when it already existed.
    pub async fn ensure_demo_account(&self) -> Result<Option<String>, StartError> {
        if self.db.user_by_name(DEMO_ACCOUNT).await?.is_some() {
            return Ok(None);
        }
        let password = hex::encode(rand::random::<[u8; 8]>());
        let hash = self.passwords.hash(&password).await?;
        let created = self
            .db
            .create_user(DEMO_ACCOUNT, "Demo Admin", &hash, true)
            .await?;
        Ok(created.map(|_| password))
    }
}

/// The demo account's login name.
pub const DEMO_ACCOUNT: &str = "demo";

/// Loads users from the database: by id for sessions and remember cookies, by bearer token
/// for the API.
#[derive(Debug, Clone)]
pub struct Users {
    db: Db,
}

/// The SHA-256 of an API token, as stored. Tokens are 256 random bits, so a fast hash is
/// enough: nobody can guess one to match.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl UserLoader for Users {
    type User = User;
    type Id = i64;
    type Error = sqlx::Error;

    async fn load_user(&self, id: &i64) -> Result<Option<User>, sqlx::Error> {
        self.db.user(*id).await
    }

    async fn load_user_from_request(&self, req: &HttpRequest) -> Result<Option<User>, sqlx::Error> {
        // Bearer tokens open the API only: a stolen token cannot drive the HTML forms.
        if !req.path().starts_with("/api/") {
            return Ok(None);
        }
        match bearer_token(req) {
            Some(token) => self.db.user_by_token_hash(&token_hash(token)).await,
            None => Ok(None),
        }
    }
}

/// What a member may do beyond their own pages. A permission is a value of this type, never a
/// string: `#[permission_required(Perm::Admni)]` does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Open the admin page.
    Admin,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {
    // Answered from the user as loaded: no query of its own.
    fn has_permission(&self, permission: &Perm) -> bool {
        match permission {
            Perm::Admin => self.is_admin,
        }
    }
}

/// What the demo records of login-runtime's events: its own handlers record logins and
/// logouts (with more detail), so only refused permission checks.
fn audit_login_event(event: &LoginEvent) {
    if let LoginEvent::Forbidden { user_id, path } = event {
        audit::later(AuditEvent::Forbidden, user_id.parse().ok(), path);
    }
}

/// The login manager as the demo configures it.
pub fn login_manager(demo: &Demo) -> LoginManager<Users> {
    let manager = LoginManager::new(Users {
        db: demo.db.clone(),
    })
    .login_view("/login")
    // The API never redirects to a login form: it answers 401 (as JSON, see `api`).
    .scope_login_view("/api", None)
    .refresh_view("/reauthenticate")
    .secret_key(demo.keys.login.clone())
    .remember_cookie(RememberCookie::default().secure(demo.secure_cookies))
    // A member without the permission gets the site's own 403 page, never the login form.
    .forbidden_handler(pages::forbidden_handler)
    // Where the login and sign-up pages send someone already logged in.
    .anonymous_redirect("/profile")
    .on_event(audit_login_event);
    // Every login is a device the user can see and log out on the devices page; logout
    // revokes it, so a copy of its session or remember cookie no longer logs in.
    let mut manager = match &demo.devices {
        DeviceStore::Memory(devices) => manager.device_registry(devices.clone()),
        DeviceStore::Redis(devices) => manager.device_registry(devices.clone()),
    };
    if let Some(timeout) = demo.idle_timeout {
        manager = manager.idle_timeout(timeout);
    }
    if let Some(lifetime) = demo.login_lifetime {
        manager = manager.login_lifetime(lifetime);
    }
    manager
}

/// The session middleware: cookie sessions, or Redis with `REDIS_URL`. Its `Secure` flag is
/// the remember cookie's, and the flash messages ride in the session, so the three agree.
pub fn session_middleware(demo: &Demo) -> SessionMiddleware<SessionBackend> {
    SessionMiddleware::builder(demo.sessions.clone(), demo.keys.session.clone())
        .cookie_secure(demo.secure_cookies)
        // Lax, not Strict: the provider's redirect back to /oidc/callback is a cross-site
        // navigation that must carry the session holding the sign-in's state and nonce.
        .cookie_same_site(SameSite::Lax)
        .build()
}

/// Flash messages, kept in the session (installed inside [`session_middleware`]).
pub fn flash_messages() -> FlashMessagesFramework {
    FlashMessagesFramework::builder(SessionFlashStore).build()
}

/// The demo's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    pages::routes(cfg);
    devices::routes(cfg);
    cfg.service(
        web::scope("/api")
            .wrap(actix_web::middleware::from_fn(api::speaks_json))
            .configure(api::routes),
    );
}

/// `Accept: application/json`, which the API scope sets on every request it serves.
pub(crate) const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Builds the whole demo app from a [`Demo`]; `bin/demo.rs` and the tests share it.
#[macro_export]
macro_rules! demo_app {
    ($demo:expr) => {{
        let demo: &$crate::demo::Demo = &$demo;
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(demo.clone()))
            .configure($crate::demo::routes)
            .configure($crate::demo::oidc::routes(demo))
            .default_service(actix_web::web::to($crate::demo::pages::not_found))
            .wrap(actix_web::middleware::from_fn(
                $crate::demo::csrf::refuse_cross_site,
            ))
            .wrap($crate::demo::login_manager(demo))
            .wrap(actix_web::middleware::from_fn(
                $crate::demo::pages::render_marked_pages,
            ))
            .wrap(actix_web::middleware::from_fn(
                $crate::demo::audit::write_pending,
            ))
            .wrap($crate::demo::flash_messages())
            .wrap($crate::demo::session_middleware(demo))
    }};
}
