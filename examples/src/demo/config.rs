//! How the demo is configured: [`Config`] from the environment (or built by the tests),
//! what in it the demo cannot use ([`ConfigError`]), and the [`Keys`] it signs with.

use std::time::Duration;

use actix_web::cookie::Key;
use login_oidc::OidcConfig;
use login_runtime::{InvalidProxy, SecretKey, TrustedProxies};

use super::account::AccountSettings;
use super::throttle::Limits;

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
    /// `DEMO_TRUSTED_PROXIES`: the load balancers or reverse proxies in front (addresses or
    /// CIDR networks, comma-separated). Their `X-Forwarded-For` / `Forwarded` give the client
    /// address (session protection, throttling, devices, the audit trail) and their
    /// `X-Forwarded-Proto` the scheme; anyone else's are ignored. None by default: the
    /// socket's address.
    pub trusted_proxies: Option<TrustedProxies>,
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
    /// `DEMO_PUBLIC_URL`, `SMTP_URL`, `MAIL_FROM`: the account flows' links and mail.
    pub account: AccountSettings,
}

/// The Redis key prefix of the demo's device registry.
pub const DEVICES_PREFIX: &str = "demo:devices:";

impl Config {
    /// Reads `DATABASE_URL`, `REDIS_URL`, `DEMO_SECURE_COOKIES`, `DEMO_TRUSTED_PROXIES`,
    /// `DEMO_IDLE_TIMEOUT_SECS` and `DEMO_LOGIN_LIFETIME_SECS`.
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
            trusted_proxies: var("DEMO_TRUSTED_PROXIES")
                .map(|list| TrustedProxies::parse(list.split(',').filter(|e| !e.trim().is_empty())))
                .transpose()?,
            limits: Limits::default(),
            idle_timeout: seconds("DEMO_IDLE_TIMEOUT_SECS")?,
            login_lifetime: seconds("DEMO_LOGIN_LIFETIME_SECS")?,
            devices_prefix: DEVICES_PREFIX.to_owned(),
            oidc: OidcConfig::from_env()?.map(oidc_landing).transpose()?,
            account: AccountSettings::from_env(),
        })
    }

    /// A SQLite file (`sqlite://{path}`), no Redis, plain-HTTP cookies.
    pub fn sqlite(path: &std::path::Path) -> Config {
        Config::database(&format!("sqlite://{}", path.display()))
    }

    /// The database at `url`, no Redis, plain-HTTP cookies, mail kept in memory.
    pub fn database(url: &str) -> Config {
        Config {
            database_url: url.to_owned(),
            redis_url: None,
            secure_cookies: false,
            trusted_proxies: None,
            limits: Limits::default(),
            idle_timeout: None,
            login_lifetime: None,
            devices_prefix: DEVICES_PREFIX.to_owned(),
            oidc: None,
            account: AccountSettings::for_tests(),
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
    /// `DEMO_TRUSTED_PROXIES` names something that is no address or network.
    #[error("DEMO_TRUSTED_PROXIES: {0}")]
    Proxy(#[from] InvalidProxy),
    /// The `OIDC_*` variables (for example only some of them set).
    #[error("OpenID Connect: {0}")]
    Oidc(#[from] login_oidc::ConfigError),
}

/// Keys the demo signs with. Made once, at the first start on a database, and kept in it
/// (`demo_keys`, see [`Demo::start`](super::Demo::start)): a restart, or another instance on the
/// same database, keeps every login and remember cookie. A real deployment may as well read
/// them from its secret store.
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

    /// The keys as the database keeps them: hex of the remember-cookie key, hex of the
    /// session key's 64 bytes.
    pub fn to_hex(&self) -> (String, String) {
        (
            hex::encode(self.login.as_bytes()),
            hex::encode(self.session.master()),
        )
    }

    /// The keys [`Keys::to_hex`] wrote; `None` when the text is not such keys (a row edited by
    /// hand), which the demo refuses to start on rather than sign with a weak key.
    pub fn from_hex(login: &str, session: &str) -> Option<Keys> {
        let login = SecretKey::try_from_bytes(&hex::decode(login).ok()?).ok()?;
        let session = hex::decode(session).ok()?;
        // `Key::from` panics on fewer than 64 bytes.
        (session.len() >= 64).then(|| Keys {
            login,
            session: Key::from(&session),
        })
    }
}
