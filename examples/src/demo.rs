//! The demo site, as a team would start their own: users, API tokens and an audit trail in a
//! database (SQLite or PostgreSQL through sqlx), argon2id passwords, askama templates, sign-up,
//! remember-me, re-authentication, password change, a bearer-token JSON API, throttled logins
//! and CSRF-protected forms.
//!
//! - [`config`]: what the environment configures, and the signing keys; [`Demo`] (here):
//!   what every handler shares, started from a [`Config`].
//! - [`auth`]: login-runtime wired to the demo (the user loader, permissions, the login
//!   manager); [`app`](mod@app): the middleware and routes assembled into one `App`.
//! - [`db`]: the tables and every query; [`passwords`]: argon2id off the executor.
//! - [`pages`]: the HTML pages; [`devices`]: the signed-in devices page; [`api`]: the JSON API
//!   under `/api/`; [`oidc`]: "Sign in with OpenID Connect", when configured.
//! - [`throttle`]: failed-login counters (database or Redis); [`audit`]: the audit trail.
//! - [`account`]: email verification, password reset, change of email and sign-in links
//!   (login-account), mail to the console or SMTP.
//! - [`mfa`]: second factors (login-mfa): the Security page, the login's second step,
//!   passkeys, trusted devices.
//! - [`csrf`]: form tokens and the cross-site check; [`sessions`]: cookie or Redis sessions,
//!   and flash messages kept in the session.

pub mod account;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod csrf;
pub mod db;
pub mod devices;
pub mod health;
pub mod mfa;
pub mod oidc;
pub mod pages;
pub mod passwords;
pub mod sessions;
pub mod throttle;

pub use self::app::app;
pub use self::config::{Config, ConfigError, Keys};

use std::time::Duration;

use actix_session::storage::RedisSessionStore;
use login_oidc::OidcProvider;
use login_runtime::{MemoryDevices, RedisDevices, TrustedProxies};
use login_stores::postgres::PgDevices;
use login_stores::sqlite::SqliteDevices;

use self::account::AccountSetup;
use self::db::{Db, OpenError};
use self::passwords::{PasswordError, Passwords};
use self::sessions::SessionBackend;
use self::throttle::{Counters, LoginThrottle};

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
    /// The PostgreSQL session and device stores.
    #[error("session store: {0}")]
    Stores(#[from] login_stores::StoreError),
    /// Hashing.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The OpenID Connect client.
    #[error("OpenID Connect: {0}")]
    Oidc(#[from] login_oidc::ConfigError),
    /// The account flows' public URL or mailer.
    #[error("account flows: {0}")]
    Account(#[from] login_account::ConfigError),
    /// The stored keys are not keys the demo wrote.
    #[error(
        "the signing keys in the table demo_keys are damaged: delete the row to make new ones (this logs everyone out)"
    )]
    DamagedKeys,
    /// The second factors' relying party.
    #[error("second factors: {0}")]
    Mfa(#[from] login_mfa::ConfigError),
}

/// Everything the handlers share, built once and cloned into every worker.
#[derive(Clone, Debug)]
pub struct Demo {
    /// The Redis pool with `REDIS_URL`, for `/healthz`.
    pub redis: Option<deadpool_redis::Pool>,
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
    /// The proxies whose forwarding headers are believed ([`Config::trusted_proxies`]).
    pub trusted_proxies: Option<TrustedProxies>,
    /// Every login as a device: in the database (SQLite or PostgreSQL), or in Redis with
    /// `REDIS_URL`.
    pub devices: DeviceStore,
    /// The idle timeout and the absolute lifetime of a login, if configured.
    pub idle_timeout: Option<Duration>,
    /// See [`Config::login_lifetime`].
    pub login_lifetime: Option<Duration>,
    /// The OpenID Connect provider, built once for every worker (one discovery, one key set).
    pub oidc: Option<OidcProvider>,
    /// The account flows' configuration and mailer.
    pub account: AccountSetup,
    /// The second factors' configuration (relying party, origins).
    pub mfa: login_mfa::MfaConfig,
}

/// Where the devices (signed-in logins) are kept.
#[derive(Clone, Debug)]
pub enum DeviceStore {
    /// This process's memory: clones share it, so every worker sees the same devices.
    Memory(MemoryDevices),
    /// Redis, shared by every instance.
    Redis(RedisDevices),
    /// PostgreSQL (`DATABASE_URL=postgres://…` without `REDIS_URL`), shared by every instance.
    Postgres(PgDevices),
    /// The SQLite file (`DATABASE_URL=sqlite:…`, the default, without `REDIS_URL`).
    Sqlite(SqliteDevices),
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
    /// Opens and migrates the database, reads the signing keys kept in it (making and storing
    /// them on the first start), and connects to Redis if configured.
    pub async fn start(config: &Config) -> Result<Demo, StartError> {
        let db = Db::open(&config.database_url).await?;
        let redis = config.redis_url.as_deref().map(redis_pool).transpose()?;
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
            // PostgreSQL alone gives every server-side feature: sessions and devices in its
            // tables, so several instances share logins without Redis.
            None if is_postgres(&config.database_url) => {
                let (sessions, devices) = health::postgres_stores(&config.database_url).await?;
                (
                    SessionBackend::Postgres(sessions),
                    Counters::Db(db.clone()),
                    DeviceStore::Postgres(devices),
                )
            }
            // SQLite: the session is the cookie, the devices are rows of the same file.
            None => (
                SessionBackend::Cookie,
                Counters::Db(db.clone()),
                DeviceStore::Sqlite(health::sqlite_devices(&config.database_url).await?),
            ),
        };
        Ok(Demo {
            redis,
            passwords: Passwords::new()?,
            throttle: LoginThrottle::new(counters, config.limits),
            keys: stored_keys(&db).await?,
            sessions,
            secure_cookies: config.secure_cookies,
            trusted_proxies: config.trusted_proxies.clone(),
            devices,
            idle_timeout: config.idle_timeout,
            login_lifetime: config.login_lifetime,
            oidc: config.oidc.clone().map(OidcProvider::new).transpose()?,
            account: AccountSetup::new(&config.account)?,
            mfa: mfa::config(&config.account.public_url, config.secure_cookies)?,
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
            .create_user(DEMO_ACCOUNT, "Demo Admin", DEMO_EMAIL, &hash, true)
            .await?;
        if let Some(id) = created {
            self.db.mark_email_verified(id).await?;
        }
        Ok(created.map(|_| password))
    }
}

/// The keys kept in the database, made and stored there by the first start (of any instance)
/// on it.
async fn stored_keys(db: &Db) -> Result<Keys, StartError> {
    let fresh = Keys::generate().to_hex();
    let (login, session) = db.keys_or_insert((&fresh.0, &fresh.1)).await?;
    Keys::from_hex(&login, &session).ok_or(StartError::DamagedKeys)
}

/// The demo account's login name.
pub const DEMO_ACCOUNT: &str = "demo";

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// The demo account's email address (its mail goes to the console, like every mail).
pub const DEMO_EMAIL: &str = "demo@localhost.localdomain";
