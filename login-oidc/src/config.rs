//! What the application tells login-oidc: the provider, the client, and a few limits.

use std::time::Duration;

use openidconnect::url::{Host, Url};

/// The environment variables [`OidcConfig::from_env`] reads.
pub const ENV_ISSUER_URL: &str = "OIDC_ISSUER_URL";
/// The client id the provider gave the application.
pub const ENV_CLIENT_ID: &str = "OIDC_CLIENT_ID";
/// The client secret (optional: without it the client is a public one, PKCE only).
pub const ENV_CLIENT_SECRET: &str = "OIDC_CLIENT_SECRET";
/// The full URL of the callback route, as registered at the provider.
pub const ENV_REDIRECT_URL: &str = "OIDC_REDIRECT_URL";

/// A setting that cannot work, found when the configuration is built (never at request time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A URL that does not parse.
    #[error("{name} is not a valid URL: {value:?}")]
    InvalidUrl {
        /// Which setting.
        name: &'static str,
        /// What was given.
        value: String,
    },
    /// An issuer that is not `https` (only loopback addresses may use `http`, for tests).
    #[error(
        "the issuer URL must use https (http is accepted for 127.0.0.1, ::1 and localhost only): {0:?}"
    )]
    InsecureIssuer(String),
    /// A setting that must not be empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Some of the environment variables are set, but not the required ones.
    #[error("OpenID Connect is half configured: set {missing} as well (or unset {set})")]
    HalfConfigured {
        /// The variables that are missing.
        missing: String,
        /// The variables that are set.
        set: String,
    },
    /// The default landing page is not a same-site path.
    #[error("after_login must be a same-site path such as \"/\", not {0:?}")]
    UnsafeLandingPage(String),
    /// The HTTP client could not be built (its TLS backend failed to start).
    #[error("the HTTP client for the provider could not be built: {0}")]
    HttpClient(String),
}

/// How the application signs users in with one OpenID Connect provider.
///
/// Built with [`OidcConfig::new`] or [`OidcConfig::from_env`], then adjusted:
///
/// ```
/// use std::time::Duration;
/// use login_oidc::OidcConfig;
///
/// let config = OidcConfig::new(
///     "https://accounts.google.com",
///     "my-client-id",
///     Some("my-client-secret"),
///     "https://app.example/oidc/callback",
/// )?
/// .http_timeout(Duration::from_secs(5))
/// .after_login("/welcome")?;
/// # Ok::<(), login_oidc::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct OidcConfig {
    // Kept exactly as given: the issuer must equal the discovery document's `issuer` and the
    // ID token's `iss` character for character, and the redirect URL the registered one.
    pub(crate) issuer_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_url: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) http_timeout: Duration,
    pub(crate) key_refetch_interval: Duration,
    pub(crate) flow_lifetime: Duration,
    pub(crate) after_login: String,
    pub(crate) login_page: String,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret never reaches a log.
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("http_timeout", &self.http_timeout)
            .field("key_refetch_interval", &self.key_refetch_interval)
            .field("flow_lifetime", &self.flow_lifetime)
            .field("after_login", &self.after_login)
            .field("login_page", &self.login_page)
            .finish()
    }
}

impl OidcConfig {
    /// A configuration for the provider at `issuer_url` (its discovery document is at
    /// `{issuer_url}/.well-known/openid-configuration`), the client the provider registered,
    /// and the full URL of this app's callback route (`…/oidc/callback`).
    ///
    /// Defaults: scopes `openid email profile`, a 10 s timeout on every request to the
    /// provider, provider keys re-fetched at most once a minute, 10 minutes to finish a
    /// sign-in, landing on `/` and linking back to `/login` from error pages.
    pub fn new(
        issuer_url: &str,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_url: &str,
    ) -> Result<Self, ConfigError> {
        let parsed = parse_url("the issuer URL", issuer_url)?;
        // Discovery, keys and tokens travel over this URL: plain http only on loopback.
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && is_loopback(&parsed)) {
            return Err(ConfigError::InsecureIssuer(issuer_url.to_owned()));
        }
        parse_url("the redirect URL", redirect_url)?;
        if client_id.is_empty() {
            return Err(ConfigError::Empty("the client id"));
        }
        Ok(OidcConfig {
            issuer_url: issuer_url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret
                .filter(|secret| !secret.is_empty())
                .map(str::to_owned),
            redirect_url: redirect_url.to_owned(),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            http_timeout: Duration::from_secs(10),
            key_refetch_interval: Duration::from_secs(60),
            flow_lifetime: Duration::from_secs(600),
            after_login: "/".to_owned(),
            login_page: "/login".to_owned(),
        })
    }

    /// Reads `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` (optional) and
    /// `OIDC_REDIRECT_URL`. `Ok(None)` when none of them is set: the app then runs without
    /// OpenID Connect (and shows no button). Some but not all required ones set is an error,
    /// so a typo does not silently switch sign-in off.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// [`from_env`](Self::from_env) over any source of variables (a config file, a test).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let required = [ENV_ISSUER_URL, ENV_CLIENT_ID, ENV_REDIRECT_URL];
        let secret = var(ENV_CLIENT_SECRET);
        let values = required.map(&var);
        let (set, missing): (Vec<_>, Vec<_>) = required
            .iter()
            .zip(&values)
            .partition(|(_, value)| value.is_some());
        if set.is_empty() && secret.is_none() {
            return Ok(None);
        }
        if !missing.is_empty() {
            let names = |list: &[(&&str, &Option<String>)]| {
                list.iter()
                    .map(|(name, _)| **name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut set = names(&set);
            if secret.is_some() {
                set = if set.is_empty() {
                    ENV_CLIENT_SECRET.to_owned()
                } else {
                    format!("{set}, {ENV_CLIENT_SECRET}")
                };
            }
            return Err(ConfigError::HalfConfigured {
                missing: names(&missing),
                set,
            });
        }
        let [Some(issuer), Some(client_id), Some(redirect)] = values else {
            return Ok(None);
        };
        Self::new(&issuer, &client_id, secret.as_deref(), &redirect).map(Some)
    }

    /// The scopes to ask for (`openid` is always sent, listed or not).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The longest any request to the provider may take, connecting included (default 10 s).
    /// A provider that is down or slow then gets a clear error page, not a hanging request.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// How often, at most, an ID token signed with a key the app has not seen makes it fetch
    /// the provider's keys again (default once a minute). Providers rotate keys; a flood of
    /// forged tokens with made-up key ids must not turn into a flood of requests.
    pub fn key_refetch_interval(mut self, interval: Duration) -> Self {
        self.key_refetch_interval = interval;
        self
    }

    /// How long a visitor has to come back from the provider (default 10 minutes).
    pub fn flow_lifetime(mut self, lifetime: Duration) -> Self {
        self.flow_lifetime = lifetime;
        self
    }

    /// Where a sign-in lands when it carried no (safe) `next` (default `/`).
    pub fn after_login(mut self, path: &str) -> Result<Self, ConfigError> {
        if !login_runtime::is_safe_next(path) {
            return Err(ConfigError::UnsafeLandingPage(path.to_owned()));
        }
        self.after_login = path.to_owned();
        Ok(self)
    }

    /// The app's sign-in page, linked from the error pages (default `/login`).
    pub fn login_page(mut self, path: &str) -> Result<Self, ConfigError> {
        if !login_runtime::is_safe_next(path) {
            return Err(ConfigError::UnsafeLandingPage(path.to_owned()));
        }
        self.login_page = path.to_owned();
        Ok(self)
    }

    /// The issuer URL, as configured.
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    Url::parse(value).map_err(|_| ConfigError::InvalidUrl {
        name,
        value: value.to_owned(),
    })
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn nothing_set_means_no_oidc() {
        assert!(OidcConfig::from_vars(vars(&[])).unwrap().is_none());
    }

    #[test]
    fn all_set_builds_a_config() {
        let config = OidcConfig::from_vars(vars(&[
            (ENV_ISSUER_URL, "https://idp.example"),
            (ENV_CLIENT_ID, "app"),
            (ENV_CLIENT_SECRET, "s3cret"),
            (ENV_REDIRECT_URL, "https://app.example/oidc/callback"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.client_secret.as_deref(), Some("s3cret"));
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn half_configured_is_an_error_naming_what_is_missing() {
        let error = OidcConfig::from_vars(vars(&[(ENV_CLIENT_ID, "app")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "OpenID Connect is half configured: set OIDC_ISSUER_URL, OIDC_REDIRECT_URL as well (or unset OIDC_CLIENT_ID)"
        );
    }

    #[test]
    fn plain_http_issuer_only_on_loopback() {
        let new = |issuer| OidcConfig::new(issuer, "app", None, "http://127.0.0.1/cb");
        assert!(new("http://127.0.0.1:4000").is_ok());
        assert!(new("http://localhost:4000").is_ok());
        assert!(new("http://[::1]:4000").is_ok());
        assert_eq!(
            new("http://idp.example").unwrap_err(),
            ConfigError::InsecureIssuer("http://idp.example".into())
        );
    }

    #[test]
    fn landing_pages_must_be_same_site_paths() {
        let config = OidcConfig::new("https://idp.example", "app", None, "https://a/cb").unwrap();
        assert!(config.clone().after_login("//evil.example").is_err());
        assert!(config.login_page("https://evil.example").is_err());
    }
}
