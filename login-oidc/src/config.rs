//! What the application tells login-oidc: the provider (OpenID Connect, discovered or by hand,
//! or plain OAuth 2.0 with a user-info API such as GitHub's), the client, and a few limits.

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
/// Optional: a PEM file of extra root certificates (a private certificate authority).
pub const ENV_CA_FILE: &str = "OIDC_CA_FILE";

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
    /// An issuer or endpoint that is not `https` (only loopback addresses may use `http`, for
    /// tests).
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
    /// A root certificate that does not parse as PEM, or a file that cannot be read.
    #[error("the root certificate could not be used: {0}")]
    RootCertificate(String),
    /// A signing algorithm login-oidc does not accept (`none`, a MAC, an unknown name).
    #[error("{0:?} is not an accepted signing algorithm (use RS256, PS256, ES256, EdDSA, …)")]
    Algorithm(String),
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// With a secret: `client_secret_basic` unless the provider's
    /// `token_endpoint_auth_methods_supported` lists only `client_secret_post`; without one,
    /// `none` (a public client, protected by PKCE). The default.
    Auto,
    /// `client_secret_basic`: the id and secret in an `Authorization: Basic` header.
    Basic,
    /// `client_secret_post`: the id and secret in the request body.
    Post,
    /// `none`: a public client, the id in the body, no secret (PKCE protects the code).
    None,
}

/// A provider's endpoints given by hand, for a provider without discovery (or a plain OAuth 2.0
/// one). All must be `https` (or `http` on loopback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub(crate) authorization: String,
    pub(crate) token: String,
    pub(crate) jwks: Option<String>,
    pub(crate) userinfo: Option<String>,
    pub(crate) sends_iss: bool,
}

impl Endpoints {
    /// The authorization and token endpoints.
    pub fn new(authorization: &str, token: &str) -> Result<Self, ConfigError> {
        checked_url("the authorization endpoint", authorization)?;
        checked_url("the token endpoint", token)?;
        Ok(Endpoints {
            authorization: authorization.to_owned(),
            token: token.to_owned(),
            jwks: None,
            userinfo: None,
            sends_iss: false,
        })
    }

    /// The provider's keys (`jwks_uri`), needed to verify ID tokens.
    pub fn jwks(mut self, url: &str) -> Result<Self, ConfigError> {
        checked_url("the JWKS URL", url)?;
        self.jwks = Some(url.to_owned());
        Ok(self)
    }

    /// The UserInfo endpoint.
    pub fn userinfo(mut self, url: &str) -> Result<Self, ConfigError> {
        checked_url("the UserInfo endpoint", url)?;
        self.userinfo = Some(url.to_owned());
        Ok(self)
    }

    /// The provider always puts `iss` on its callbacks (RFC 9207): one without it is refused.
    pub fn sends_iss(mut self, sends: bool) -> Self {
        self.sends_iss = sends;
        self
    }
}

/// Where a plain OAuth 2.0 provider (no ID token) says who signed in: a user-info URL
/// answering JSON, and which of its fields is which. `subject` must be stable and unique at the
/// provider (GitHub's numeric `id`, never the renamable `login`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfoMapping {
    pub(crate) url: String,
    pub(crate) subject: String,
    pub(crate) email: Option<String>,
    pub(crate) email_verified: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) preferred_username: Option<String>,
    pub(crate) emails_url: Option<String>,
}

impl UserInfoMapping {
    /// The user-info URL and the field holding the subject. An address from a field of this
    /// answer counts as verified only through [`email_verified`](Self::email_verified).
    pub fn new(url: &str, subject: &str) -> Result<Self, ConfigError> {
        checked_url("the user-info URL", url)?;
        Ok(UserInfoMapping {
            url: url.to_owned(),
            subject: subject.to_owned(),
            email: None,
            email_verified: None,
            name: None,
            preferred_username: None,
            emails_url: None,
        })
    }

    /// The field holding the email address.
    pub fn email(mut self, field: &str) -> Self {
        self.email = Some(field.to_owned());
        self
    }

    /// The field saying (`true` or `"true"`) that the provider verified the address.
    pub fn email_verified(mut self, field: &str) -> Self {
        self.email_verified = Some(field.to_owned());
        self
    }

    /// The field holding the display name.
    pub fn name(mut self, field: &str) -> Self {
        self.name = Some(field.to_owned());
        self
    }

    /// The field holding the user name (a handle, which may change).
    pub fn preferred_username(mut self, field: &str) -> Self {
        self.preferred_username = Some(field.to_owned());
        self
    }

    /// A GitHub-shaped list of the user's addresses (`[{"email", "primary", "verified"}]`):
    /// the primary address, and whether it is verified, come from there.
    pub fn emails_url(mut self, url: &str) -> Result<Self, ConfigError> {
        checked_url("the emails URL", url)?;
        self.emails_url = Some(url.to_owned());
        Ok(self)
    }

    /// GitHub's API at `api_base` (`https://api.github.com`, or `https://ghe.example/api/v3`):
    /// `/user` (`id`, `name`, `login`) and `/user/emails` for the verified primary address.
    pub fn github(api_base: &str) -> Result<Self, ConfigError> {
        let api = api_base.trim_end_matches('/');
        UserInfoMapping::new(&format!("{api}/user"), "id")?
            .name("name")
            .preferred_username("login")
            .emails_url(&format!("{api}/user/emails"))
    }
}

/// What kind of provider this is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// OpenID Connect: an ID token says who signed in.
    OpenIdConnect,
    /// OAuth 2.0 only: the user-info API says who signed in.
    OAuth2(UserInfoMapping),
}

/// How the application signs users in with one provider.
///
/// OpenID Connect with [`OidcConfig::new`] or [`OidcConfig::from_env`]; plain OAuth 2.0 with
/// [`OidcConfig::oauth2`] or the [`OidcConfig::github`] preset. Then adjusted:
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
    pub(crate) kind: Kind,
    // Kept exactly as given: the issuer must equal the discovery document's `issuer` and the
    // ID token's `iss` character for character, and the redirect URL the registered one.
    pub(crate) issuer_url: String,
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) redirect_url: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) endpoints: Option<Endpoints>,
    pub(crate) http_timeout: Duration,
    pub(crate) root_certificates: Vec<Vec<u8>>,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) key_refetch_interval: Duration,
    pub(crate) metadata_refresh_interval: Duration,
    pub(crate) leeway: Duration,
    pub(crate) trusted_audiences: Vec<String>,
    pub(crate) reauth_max_age: Duration,
    pub(crate) flow_lifetime: Duration,
    pub(crate) after_login: String,
    pub(crate) login_page: String,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client secret never reaches a log.
        f.debug_struct("OidcConfig")
            .field("kind", &self.kind)
            .field("issuer_url", &self.issuer_url)
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("client_auth", &self.client_auth)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("endpoints", &self.endpoints)
            .field("http_timeout", &self.http_timeout)
            .field("root_certificates", &self.root_certificates.len())
            .field("http_client", &self.http_client.is_some())
            .field("key_refetch_interval", &self.key_refetch_interval)
            .field("metadata_refresh_interval", &self.metadata_refresh_interval)
            .field("leeway", &self.leeway)
            .field("trusted_audiences", &self.trusted_audiences)
            .field("reauth_max_age", &self.reauth_max_age)
            .field("flow_lifetime", &self.flow_lifetime)
            .field("after_login", &self.after_login)
            .field("login_page", &self.login_page)
            .finish()
    }
}

impl OidcConfig {
    /// A configuration for the OpenID Connect provider at `issuer_url` (its discovery document
    /// is at `{issuer_url}/.well-known/openid-configuration`), the client the provider
    /// registered, and the full URL of this app's callback route (`…/oidc/callback`).
    ///
    /// Defaults: scopes `openid email profile`; client authentication chosen from the
    /// provider's list ([`ClientAuth::Auto`]); a 10 s timeout on every request to the provider;
    /// provider keys re-fetched at most once a minute when a token names an unknown one;
    /// metadata discovered again after an hour; 60 s of leeway for clocks; 5 minutes for a
    /// re-authentication; 10 minutes to finish a sign-in; landing on `/` and linking back to
    /// `/login` from error pages.
    pub fn new(
        issuer_url: &str,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_url: &str,
    ) -> Result<Self, ConfigError> {
        let parsed = parse_url("the issuer URL", issuer_url)?;
        // Discovery, keys and tokens travel over this URL: plain http only on loopback.
        if !is_secure(&parsed) {
            return Err(ConfigError::InsecureIssuer(issuer_url.to_owned()));
        }
        parse_url("the redirect URL", redirect_url)?;
        if client_id.is_empty() {
            return Err(ConfigError::Empty("the client id"));
        }
        Ok(OidcConfig {
            kind: Kind::OpenIdConnect,
            issuer_url: issuer_url.to_owned(),
            name: "oidc".to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret
                .filter(|secret| !secret.is_empty())
                .map(str::to_owned),
            client_auth: ClientAuth::Auto,
            redirect_url: redirect_url.to_owned(),
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            endpoints: None,
            http_timeout: Duration::from_secs(10),
            root_certificates: Vec::new(),
            http_client: None,
            key_refetch_interval: Duration::from_secs(60),
            metadata_refresh_interval: Duration::from_secs(3600),
            leeway: Duration::from_secs(60),
            trusted_audiences: Vec::new(),
            reauth_max_age: Duration::from_secs(300),
            flow_lifetime: Duration::from_secs(600),
            after_login: "/".to_owned(),
            login_page: "/login".to_owned(),
        })
    }

    /// A plain OAuth 2.0 provider (no ID token): its `endpoints`, and the user-info API that
    /// says who signed in. `identity` names the provider in [`OidcIdentity::issuer`]
    /// (`https://github.com`), the namespace of its subjects.
    ///
    /// [`OidcIdentity::issuer`]: crate::OidcIdentity::issuer
    pub fn oauth2(
        identity: &str,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_url: &str,
        endpoints: Endpoints,
        user_info: UserInfoMapping,
    ) -> Result<Self, ConfigError> {
        let mut config = OidcConfig::new(identity, client_id, client_secret, redirect_url)?;
        config.kind = Kind::OAuth2(user_info);
        config.endpoints = Some(endpoints);
        config.name = "oauth2".to_owned();
        config.scopes = Vec::new();
        Ok(config)
    }

    /// Sign in with GitHub (an OAuth App or a GitHub App's user authorization): the identity
    /// is `https://github.com` and the user's numeric id; the name and login come from
    /// `/user`, the address from `/user/emails` (the primary one, verified only when GitHub
    /// says so). Scopes `read:user user:email`; the secret goes in the body, as GitHub expects.
    pub fn github(
        client_id: &str,
        client_secret: &str,
        redirect_url: &str,
    ) -> Result<Self, ConfigError> {
        Self::github_enterprise(
            "https://github.com",
            "https://api.github.com",
            client_id,
            client_secret,
            redirect_url,
        )
    }

    /// [`github`](Self::github) for a GitHub Enterprise Server at `web_base`
    /// (`https://ghe.example`) with its API at `api_base` (`https://ghe.example/api/v3`).
    pub fn github_enterprise(
        web_base: &str,
        api_base: &str,
        client_id: &str,
        client_secret: &str,
        redirect_url: &str,
    ) -> Result<Self, ConfigError> {
        let web = web_base.trim_end_matches('/');
        let endpoints = Endpoints::new(
            &format!("{web}/login/oauth/authorize"),
            &format!("{web}/login/oauth/access_token"),
        )?;
        let mut config = Self::oauth2(
            web,
            client_id,
            Some(client_secret),
            redirect_url,
            endpoints,
            UserInfoMapping::github(api_base)?,
        )?
        .scopes(["read:user", "user:email"])
        .client_auth(ClientAuth::Post);
        config.name = "github".to_owned();
        Ok(config)
    }

    /// Reads `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` (optional),
    /// `OIDC_REDIRECT_URL` and `OIDC_CA_FILE` (optional). `Ok(None)` when none of the first
    /// four is set: the app then runs without OpenID Connect (and shows no button). Some but
    /// not all required ones set is an error, so a typo does not silently switch sign-in off.
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
        let mut config = Self::new(&issuer, &client_id, secret.as_deref(), &redirect)?;
        if let Some(path) = var(ENV_CA_FILE) {
            let pem = std::fs::read(&path).map_err(|error| {
                ConfigError::RootCertificate(format!("{ENV_CA_FILE}={path}: {error}"))
            })?;
            config = config.add_root_certificate_pem(&pem)?;
        }
        Ok(Some(config))
    }

    /// A short name for this provider (default `oidc`; `github` for the GitHub preset). It
    /// keeps each provider's sign-in in progress apart in the session, and is what
    /// [`SignedInWith::provider`](crate::SignedInWith::provider) says.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// The scopes to ask for (for OpenID Connect, `openid` is always sent, listed or not).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How the client authenticates at the token endpoint (default [`ClientAuth::Auto`]).
    pub fn client_auth(mut self, method: ClientAuth) -> Self {
        self.client_auth = method;
        self
    }

    /// The provider's endpoints given by hand: no discovery document is fetched. For OpenID
    /// Connect, give [`Endpoints::jwks`] too (ID tokens are verified against those keys).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = Some(endpoints);
        self
    }

    /// The longest any request to the provider may take, connecting included (default 10 s).
    /// A provider that is down or slow then gets a clear error page, not a hanging request.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Also trusts the root certificates in `pem` (one or more `BEGIN CERTIFICATE` blocks): a
    /// provider behind a private certificate authority. The built-in web roots and the
    /// platform's roots (including `SSL_CERT_FILE` and `SSL_CERT_DIR`) are always trusted.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|error| ConfigError::RootCertificate(error.to_string()))?;
        if certificates.is_empty() {
            return Err(ConfigError::RootCertificate(
                "no BEGIN CERTIFICATE block in the PEM".to_owned(),
            ));
        }
        self.root_certificates.push(pem.to_vec());
        Ok(self)
    }

    /// Talks to the provider with this client instead of one login-oidc builds (a proxy, a
    /// client certificate). Build it with `redirect(reqwest::redirect::Policy::none())`: a
    /// token endpoint that redirects must not take the code and secret elsewhere. The
    /// configured [`http_timeout`](Self::http_timeout) still bounds every request; the root
    /// certificates added here are not used (add them to that client).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How often, at most, a token signed with a key the app has not seen makes it fetch
    /// the provider's keys again (default once a minute). Providers rotate keys; a flood of
    /// forged tokens with made-up key ids must not turn into a flood of requests.
    pub fn key_refetch_interval(mut self, interval: Duration) -> Self {
        self.key_refetch_interval = interval;
        self
    }

    /// How long discovered metadata (endpoints, keys) is used before it is discovered again
    /// (default an hour). If the provider is down then, the old metadata is kept.
    pub fn metadata_refresh_interval(mut self, interval: Duration) -> Self {
        self.metadata_refresh_interval = interval;
        self
    }

    /// How far the provider's clock may be from ours: `exp` may have passed by this much,
    /// `iat` and `nbf` may be this much in the future (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Audiences an ID token may list besides this client (Keycloak's audience mappers add
    /// `account` or an API). Any other extra audience is refused (Core 3.1.3.7 step 3).
    pub fn trusted_audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trusted_audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// A re-authentication must have been made at the provider at most this long ago
    /// (`max_age`, checked against `auth_time`; default 5 minutes).
    pub fn reauth_max_age(mut self, max_age: Duration) -> Self {
        self.reauth_max_age = max_age;
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

    /// The issuer URL, as configured (for a plain OAuth 2.0 provider, its identity).
    pub fn issuer_url(&self) -> &str {
        &self.issuer_url
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// This app's callback URL, as registered at the provider.
    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    /// The provider's short name (see [`name`](Self::name)).
    pub fn provider_name(&self) -> &str {
        &self.name
    }

    /// Whether this is an OpenID Connect provider (with ID tokens), not plain OAuth 2.0.
    pub fn is_openid_connect(&self) -> bool {
        matches!(self.kind, Kind::OpenIdConnect)
    }
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    Url::parse(value).map_err(|_| ConfigError::InvalidUrl {
        name,
        value: value.to_owned(),
    })
}

/// A URL that parses and is `https` (or `http` on loopback).
fn checked_url(name: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = parse_url(name, value)?;
    if !is_secure(&url) {
        return Err(ConfigError::InsecureIssuer(value.to_owned()));
    }
    Ok(url)
}

/// `https`, or `http` to a loopback address: where secrets may travel.
pub(crate) fn is_secure(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback(url))
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
    fn a_ca_file_that_cannot_be_read_is_named() {
        let error = OidcConfig::from_vars(vars(&[
            (ENV_ISSUER_URL, "https://idp.example"),
            (ENV_CLIENT_ID, "app"),
            (ENV_REDIRECT_URL, "https://app.example/oidc/callback"),
            (ENV_CA_FILE, "/nonexistent/ca.pem"),
        ]))
        .unwrap_err();
        assert!(
            matches!(&error, ConfigError::RootCertificate(why) if why.contains("OIDC_CA_FILE=/nonexistent/ca.pem")),
            "{error}"
        );
    }

    #[test]
    fn endpoints_and_the_github_preset_must_be_secure() {
        assert!(Endpoints::new("http://idp.example/auth", "https://idp.example/token").is_err());
        let github =
            OidcConfig::github("id", "secret", "https://app.example/github/callback").unwrap();
        assert_eq!(github.issuer_url(), "https://github.com");
        assert_eq!(github.provider_name(), "github");
        assert!(!github.is_openid_connect());
        assert_eq!(github.client_auth, ClientAuth::Post);
        assert_eq!(github.scopes, ["read:user", "user:email"]);
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
