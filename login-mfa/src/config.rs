//! What the application configures: the relying party (id, origins, name), the issuer shown
//! in authenticator apps, how long a pending login and a trusted device last, the throttle on
//! codes, and where the routes and pages are.

use std::time::Duration;

use webauthn_rs::prelude::Url;

/// A setting that cannot work, found when [`Mfa`](crate::Mfa) is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An origin is not a URL such as `https://app.example` or `http://localhost:8080`.
    #[error("the WebAuthn origin {0:?} is not a URL such as `https://app.example`")]
    Origin(String),
    /// webauthn-rs refused the relying party (the id must be the origins' host or a parent
    /// of it, and a domain: `localhost`, not `127.0.0.1`).
    #[error("the WebAuthn relying party is refused: {0}")]
    RelyingParty(String),
    /// A path setting is not a same-site path.
    #[error("{name} must be a path starting with `/`, not {value:?}")]
    Path {
        /// Which setting.
        name: &'static str,
        /// What was given.
        value: String,
    },
}

/// How the second factors are configured. Built with [`MfaConfig::new`], then adjusted:
///
/// ```
/// use std::time::Duration;
/// use login_mfa::MfaConfig;
///
/// let config = MfaConfig::new("app.example", &["https://app.example"])?
///     .site_name("Example")
///     .pending_lifetime(Duration::from_secs(5 * 60))
///     .trust_lifetime(Duration::from_secs(30 * 86_400));
/// # Ok::<(), login_mfa::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MfaConfig {
    pub(crate) rp_id: String,
    pub(crate) origins: Vec<Url>,
    pub(crate) site_name: String,
    pub(crate) prefix: String,
    pub(crate) login_page: String,
    pub(crate) after_login: String,
    pub(crate) security_page: String,
    pub(crate) pending_lifetime: Duration,
    pub(crate) trust_lifetime: Duration,
    pub(crate) trust_cookie: String,
    pub(crate) secure_cookies: bool,
    pub(crate) code_attempts: u32,
    pub(crate) code_window: Duration,
    pub(crate) ceremony_lifetime: Duration,
    pub(crate) recovery_codes: usize,
}

fn is_path(path: &str) -> bool {
    path.starts_with('/') && login_runtime::is_safe_next(path)
}

impl MfaConfig {
    /// Passkeys for the relying party `rp_id` (a domain: `app.example`, `localhost`), used
    /// from `origins` (`https://app.example`; `http://localhost:8080` in development).
    ///
    /// Defaults: routes under `/mfa`; a pending login lasts 5 minutes; a trusted device 30
    /// days (cookie `mfa_trusted`, `Secure`); 5 wrong codes per account in 15 minutes; a
    /// ceremony 5 minutes; 10 recovery codes; logins land on `/`; pages link to `/login`.
    pub fn new(rp_id: &str, origins: &[&str]) -> Result<MfaConfig, ConfigError> {
        let origins = origins
            .iter()
            .map(|origin| Url::parse(origin).map_err(|_| ConfigError::Origin((*origin).to_owned())))
            .collect::<Result<Vec<_>, _>>()?;
        if origins.is_empty() {
            return Err(ConfigError::Origin(String::new()));
        }
        Ok(MfaConfig {
            rp_id: rp_id.to_owned(),
            site_name: rp_id.to_owned(),
            origins,
            prefix: "/mfa".to_owned(),
            login_page: "/login".to_owned(),
            after_login: "/".to_owned(),
            security_page: "/mfa/security".to_owned(),
            pending_lifetime: Duration::from_secs(5 * 60),
            trust_lifetime: Duration::from_secs(30 * 86_400),
            trust_cookie: "mfa_trusted".to_owned(),
            secure_cookies: true,
            code_attempts: 5,
            code_window: Duration::from_secs(15 * 60),
            ceremony_lifetime: Duration::from_secs(5 * 60),
            recovery_codes: 10,
        })
    }

    fn path(name: &'static str, value: &str) -> Result<String, ConfigError> {
        let value = value.trim_end_matches('/');
        let value = if value.is_empty() { "/" } else { value };
        if is_path(value) {
            Ok(value.to_owned())
        } else {
            Err(ConfigError::Path {
                name,
                value: value.to_owned(),
            })
        }
    }

    /// The name shown in authenticator apps and passkey prompts (the RP id by default).
    pub fn site_name(mut self, name: impl Into<String>) -> Self {
        self.site_name = name.into();
        self
    }

    /// Where the routes are (`/mfa` by default); the security page moves with them unless set.
    pub fn prefix(mut self, prefix: &str) -> Result<Self, ConfigError> {
        let prefix = Self::path("prefix", prefix)?;
        if self.security_page == format!("{}/security", self.prefix) {
            self.security_page = format!("{prefix}/security");
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// The login page: where an expired pending login is sent back to (`/login`).
    pub fn login_page(mut self, path: &str) -> Result<Self, ConfigError> {
        self.login_page = Self::path("login_page", path)?;
        Ok(self)
    }

    /// Where a completed login lands without a `next` (`/`).
    pub fn after_login(mut self, path: &str) -> Result<Self, ConfigError> {
        self.after_login = Self::path("after_login", path)?;
        Ok(self)
    }

    /// The page that lists the user's factors (`{prefix}/security`), where browsers land
    /// after a change.
    pub fn security_page(mut self, path: &str) -> Result<Self, ConfigError> {
        self.security_page = Self::path("security_page", path)?;
        Ok(self)
    }

    /// How long the second step may take after the first (5 minutes).
    pub fn pending_lifetime(mut self, lifetime: Duration) -> Self {
        self.pending_lifetime = lifetime;
        self
    }

    /// How long "don't ask again on this device" lasts (30 days).
    pub fn trust_lifetime(mut self, lifetime: Duration) -> Self {
        self.trust_lifetime = lifetime;
        self
    }

    /// Whether the trusted-device cookie is `Secure` (yes; `false` only for plain-HTTP
    /// development).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Wrong codes (TOTP and recovery) per account in `window` before more are refused.
    pub fn code_attempts(mut self, attempts: u32, window: Duration) -> Self {
        self.code_attempts = attempts;
        self.code_window = window;
        self
    }

    /// How many recovery codes a set has (10).
    pub fn recovery_codes(mut self, count: usize) -> Self {
        self.recovery_codes = count.clamp(1, 100);
        self
    }

    /// The routes' prefix.
    pub fn prefix_path(&self) -> &str {
        &self.prefix
    }
}
