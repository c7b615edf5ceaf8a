//! Talking to the provider: metadata (discovered, or given by hand) refreshed after a while,
//! keys re-fetched on rotation (rate-limited), the code exchange with the client authentication
//! the provider takes, ID-token verification, UserInfo, and a plain OAuth 2.0 provider's
//! user-info API.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openidconnect::JsonWebKeySet;
use openidconnect::core::CoreJsonWebKey;
use openidconnect::url::{Url, form_urlencoded};
use reqwest::header::AUTHORIZATION;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::config::{Kind, UserInfoMapping, is_secure};
use crate::error::Misconfiguration;
use crate::http::Http;
use crate::jwt::{self, ClaimsError, DEFAULT_ALGORITHMS, Expected, Jws, JwtError};
use crate::{ClientAuth, ConfigError, OidcConfig, OidcError, OidcIdentity};

/// What the app knows of the provider: its endpoints and keys.
#[derive(Debug)]
pub(crate) struct Metadata {
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: String,
    pub(crate) userinfo_endpoint: Option<String>,
    pub(crate) jwks_uri: Option<String>,
    /// `token_endpoint_auth_methods_supported`, when the provider lists them.
    pub(crate) auth_methods: Option<Vec<String>>,
    /// The ID-token algorithms accepted: the provider's list within ours.
    pub(crate) id_token_algorithms: Vec<String>,
    /// RFC 9207: the provider puts `iss` on every authorization response.
    pub(crate) sends_iss: bool,
    pub(crate) keys: Vec<CoreJsonWebKey>,
}

/// The discovery document, read leniently: only what is used, unknown values ignored.
#[derive(serde::Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// The metadata as last fetched.
struct Cached {
    metadata: Arc<Metadata>,
    fetched: Instant,
    /// When an unknown key id last made us fetch the keys again.
    keys_refetched: Option<Instant>,
}

/// The provider side of sign-in: the configuration, the HTTP client, and the provider's
/// metadata and keys. `Send + Sync` and cheap to clone (clones share one discovery), so an app
/// whose user store lives per worker builds it once and gives each worker's
/// [`Oidc::with_provider`](crate::Oidc::with_provider) a clone. Also what
/// [`AccessTokens`](crate::AccessTokens) verifies bearer tokens against.
#[derive(Clone)]
pub struct OidcProvider(Arc<Provider>);

struct Provider {
    config: OidcConfig,
    http: Http,
    cached: Mutex<Option<Cached>>,
}

/// What the token endpoint gave.
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) id_token: Option<String>,
}

/// The verified claims of an ID token.
pub(crate) struct IdClaims {
    pub(crate) claims: Map<String, Value>,
    pub(crate) subject: String,
}

/// How the client proves who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthMethod {
    Basic,
    Post,
    None,
}

impl OidcProvider {
    /// The provider `config` names. Nothing is fetched until the first sign-in.
    pub fn new(config: OidcConfig) -> Result<Self, ConfigError> {
        let http = Http::new(&config)?;
        Ok(OidcProvider(Arc::new(Provider {
            config,
            http,
            cached: Mutex::new(None),
        })))
    }

    /// [`OidcConfig::from_env`] and [`new`](Self::new) in one: `Ok(None)` when no `OIDC_*`
    /// variable is set (the app then shows no OpenID Connect button).
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        OidcConfig::from_env()?.map(OidcProvider::new).transpose()
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.0.config
    }

    fn lock(&self) -> MutexGuard<'_, Option<Cached>> {
        self.0.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The provider's metadata (with the keys), fetched on first use and again once it is
    /// older than the refresh interval. A provider that is down at start-up only makes
    /// sign-ins fail until it is back, not the app; one that is down at a refresh keeps the
    /// metadata it had.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, OidcError> {
        let config = self.config();
        let stale = {
            let cached = self.lock();
            match cached.as_ref() {
                Some(cached) if cached.fetched.elapsed() < config.metadata_refresh_interval => {
                    return Ok(cached.metadata.clone());
                }
                Some(cached) => Some(cached.metadata.clone()),
                None => None,
            }
        };
        let metadata = match self.fetch_metadata().await {
            Ok(metadata) => Arc::new(metadata),
            Err(error) => match stale {
                Some(stale) if !error.is_misconfiguration() => {
                    tracing::warn!(target: "login_oidc", %error, "refreshing the provider's metadata failed; the old metadata is kept");
                    // Tried again after another interval, not at every sign-in.
                    if let Some(cached) = self.lock().as_mut() {
                        cached.fetched = Instant::now();
                    }
                    return Ok(stale);
                }
                _ => return Err(error),
            },
        };
        *self.lock() = Some(Cached {
            metadata: metadata.clone(),
            fetched: Instant::now(),
            keys_refetched: None,
        });
        Ok(metadata)
    }

    async fn fetch_metadata(&self) -> Result<Metadata, OidcError> {
        let config = self.config();
        let (mut metadata, discovered_algs) = match (&config.kind, &config.endpoints) {
            (_, Some(endpoints)) => (
                Metadata {
                    authorization_endpoint: endpoint_url(
                        "authorization endpoint",
                        &endpoints.authorization,
                    )?,
                    token_endpoint: endpoints.token.clone(),
                    userinfo_endpoint: endpoints.userinfo.clone(),
                    jwks_uri: endpoints.jwks.clone(),
                    auth_methods: None,
                    id_token_algorithms: Vec::new(),
                    sends_iss: endpoints.sends_iss,
                    keys: Vec::new(),
                },
                None,
            ),
            (Kind::OAuth2(_), None) => {
                return Err(Misconfiguration::Endpoint(
                    "a plain OAuth 2.0 provider needs its endpoints configured".to_owned(),
                )
                .into());
            }
            (Kind::OpenIdConnect, None) => self.discover().await?,
        };
        // Our allow-list, narrowed to what the provider says it signs with.
        metadata.id_token_algorithms = DEFAULT_ALGORITHMS
            .iter()
            .filter(|alg| {
                discovered_algs
                    .as_ref()
                    .is_none_or(|listed: &Vec<String>| listed.iter().any(|l| l == *alg))
            })
            .map(|alg| (*alg).to_owned())
            .collect();
        if matches!(config.kind, Kind::OpenIdConnect) {
            let Some(jwks_uri) = metadata.jwks_uri.clone() else {
                return Err(Misconfiguration::Endpoint(
                    "no jwks_uri: ID tokens cannot be verified without the provider's keys"
                        .to_owned(),
                )
                .into());
            };
            metadata.keys = self.fetch_keys(&jwks_uri).await?;
        }
        Ok(metadata)
    }

    /// Discovery: the document's `issuer` must be exactly the configured one (Discovery 4.3).
    async fn discover(&self) -> Result<(Metadata, Option<Vec<String>>), OidcError> {
        let config = self.config();
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer_url.trim_end_matches('/')
        );
        let answer = self.0.http.send("discovery", self.0.http.get(&url)).await?;
        answer.expect_success("discovery")?;
        let document: Discovery = answer.json("discovery")?;
        if document.issuer != config.issuer_url {
            return Err(Misconfiguration::IssuerMismatch {
                configured: config.issuer_url.clone(),
                found: document.issuer,
            }
            .into());
        }
        let token_endpoint = document.token_endpoint.ok_or_else(|| {
            Misconfiguration::Endpoint("the discovery document has no token_endpoint".to_owned())
        })?;
        endpoint_url("token endpoint", &token_endpoint)?;
        for (name, url) in [
            ("userinfo endpoint", &document.userinfo_endpoint),
            ("jwks_uri", &document.jwks_uri),
        ] {
            if let Some(url) = url {
                endpoint_url(name, url)?;
            }
        }
        Ok((
            Metadata {
                authorization_endpoint: endpoint_url(
                    "authorization endpoint",
                    &document.authorization_endpoint,
                )?,
                token_endpoint,
                userinfo_endpoint: document.userinfo_endpoint,
                jwks_uri: document.jwks_uri,
                auth_methods: document.token_endpoint_auth_methods_supported,
                id_token_algorithms: Vec::new(),
                sends_iss: document.authorization_response_iss_parameter_supported,
                keys: Vec::new(),
            },
            document.id_token_signing_alg_values_supported,
        ))
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<Vec<CoreJsonWebKey>, OidcError> {
        let answer = self.0.http.send("JWKS", self.0.http.get(jwks_uri)).await?;
        answer.expect_success("JWKS")?;
        // Keys of kinds openidconnect does not know are skipped, not fatal.
        let keys: JsonWebKeySet<CoreJsonWebKey> = answer.json("JWKS")?;
        Ok(keys.keys().clone())
    }

    /// The provider's keys again, after a token named a key we do not have (the provider
    /// rotated its keys). `None` when the last re-fetch is more recent than the configured
    /// interval: forged tokens with random key ids must not make us hammer the provider.
    async fn refetch_keys(&self, seen: &Arc<Metadata>) -> Result<Option<Arc<Metadata>>, OidcError> {
        {
            let mut cached = self.lock();
            let Some(cached) = cached.as_mut() else {
                return Ok(None);
            };
            if !Arc::ptr_eq(&cached.metadata, seen) {
                // Someone else re-fetched in the meantime: use theirs.
                return Ok(Some(cached.metadata.clone()));
            }
            // Rate limit: at most one re-fetch per interval, claimed before fetching so that
            // concurrent callbacks do not all fetch.
            if cached
                .keys_refetched
                .is_some_and(|at| at.elapsed() < self.config().key_refetch_interval)
            {
                return Ok(None);
            }
            cached.keys_refetched = Some(Instant::now());
        }
        let Some(jwks_uri) = &seen.jwks_uri else {
            return Ok(None);
        };
        let keys = self.fetch_keys(jwks_uri).await?;
        let metadata = Arc::new(Metadata {
            authorization_endpoint: seen.authorization_endpoint.clone(),
            token_endpoint: seen.token_endpoint.clone(),
            userinfo_endpoint: seen.userinfo_endpoint.clone(),
            jwks_uri: seen.jwks_uri.clone(),
            auth_methods: seen.auth_methods.clone(),
            id_token_algorithms: seen.id_token_algorithms.clone(),
            sends_iss: seen.sends_iss,
            keys,
        });
        if let Some(cached) = self.lock().as_mut() {
            cached.metadata = metadata.clone();
        }
        Ok(Some(metadata))
    }

    /// Verifies a JWS against the provider's keys, fetching them again (rate-limited) when it
    /// names a key we do not have.
    pub(crate) async fn verify_jws(
        &self,
        metadata: &Arc<Metadata>,
        jws: &Jws,
        algorithms: &[String],
    ) -> Result<(), VerifyError> {
        match jws.verify(&metadata.keys, algorithms) {
            Err(JwtError::NoMatchingKey) => match self.refetch_keys(metadata).await {
                Ok(Some(fresh)) => jws
                    .verify(&fresh.keys, algorithms)
                    .map_err(VerifyError::Jwt),
                Ok(None) => Err(VerifyError::Jwt(JwtError::NoMatchingKey)),
                Err(error) => Err(VerifyError::Provider(error)),
            },
            verified => verified.map_err(VerifyError::Jwt),
        }
    }

    /// The client authentication to use: the configured one, or (`Auto`) one the provider
    /// lists, `client_secret_basic` first (the default when it lists none).
    fn auth_method(&self, metadata: &Metadata) -> Result<AuthMethod, OidcError> {
        let config = self.config();
        let listed = |method: &str| {
            metadata
                .auth_methods
                .as_ref()
                .is_none_or(|methods| methods.iter().any(|m| m == method))
        };
        Ok(match (config.client_auth, &config.client_secret) {
            (ClientAuth::None, _) | (ClientAuth::Auto, None) => AuthMethod::None,
            (ClientAuth::Basic, _) => AuthMethod::Basic,
            (ClientAuth::Post, _) => AuthMethod::Post,
            (ClientAuth::Auto, Some(_)) if listed("client_secret_basic") => AuthMethod::Basic,
            (ClientAuth::Auto, Some(_)) if listed("client_secret_post") => AuthMethod::Post,
            _ => {
                return Err(Misconfiguration::NoClientAuthMethod {
                    supported: metadata.auth_methods.clone().unwrap_or_default(),
                }
                .into());
            }
        })
    }

    /// Exchanges the code (with the PKCE verifier) for tokens.
    pub(crate) async fn exchange(
        &self,
        metadata: &Metadata,
        code: &str,
        pkce_verifier: &str,
    ) -> Result<Tokens, OidcError> {
        let config = self.config();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", config.redirect_url.as_str()),
            ("code_verifier", pkce_verifier),
        ];
        let mut request = self.0.http.post(&metadata.token_endpoint);
        match (self.auth_method(metadata)?, &config.client_secret) {
            (AuthMethod::Basic, Some(secret)) => {
                // RFC 6749 2.3.1: id and secret form-encoded, then Basic.
                let encode = |text: &str| {
                    form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
                };
                let credentials = format!("{}:{}", encode(&config.client_id), encode(secret));
                request = request.header(
                    AUTHORIZATION,
                    format!("Basic {}", STANDARD.encode(credentials)),
                );
            }
            (AuthMethod::Post, Some(secret)) => {
                form.push(("client_id", &config.client_id));
                form.push(("client_secret", secret));
            }
            _ => form.push(("client_id", &config.client_id)),
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let answer = self.0.http.send("token endpoint", request).await?;
        if answer.status >= 500 {
            answer.expect_success("token endpoint")?;
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            access_token: Option<String>,
            token_type: Option<String>,
            id_token: Option<String>,
            error: Option<String>,
        }
        let parsed: TokenAnswer = match answer.json("token endpoint") {
            Ok(parsed) => parsed,
            Err(error) => {
                // An error status without an OAuth error body (a 404: a wrong URL) says more
                // than the body that does not parse.
                answer.expect_success("token endpoint")?;
                return Err(error);
            }
        };
        // An error, with its status (RFC 6749 5.2) or GitHub's way, a 200 with `error`.
        if let Some(error) = parsed.error {
            return Err(match error.as_str() {
                "invalid_grant" | "bad_verification_code" => OidcError::CodeRefused { error },
                _ => Misconfiguration::ClientRefused { error }.into(),
            });
        }
        answer.expect_success("token endpoint")?;
        let Some(access_token) = parsed.access_token else {
            return Err(Misconfiguration::Unparsable {
                endpoint: "token endpoint",
                detail: "no access_token".to_owned(),
            }
            .into());
        };
        if let Some(kind) = &parsed.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Misconfiguration::Unparsable {
                endpoint: "token endpoint",
                detail: format!("token_type {kind:?} is not Bearer"),
            }
            .into());
        }
        Ok(Tokens {
            access_token,
            id_token: parsed.id_token,
        })
    }

    /// Verifies the ID token (Core 3.1.3.7): signature by the provider's keys with an allowed
    /// algorithm, `iss`, `aud` (this client, plus only trusted audiences), `azp`, `exp` and
    /// `iat` with the leeway, and the `nonce` this sign-in sent.
    pub(crate) async fn verify_id_token(
        &self,
        metadata: &Arc<Metadata>,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdClaims, OidcError> {
        let config = self.config();
        let jws =
            jwt::decode(id_token).map_err(|error| OidcError::InvalidIdToken(error.to_string()))?;
        self.verify_jws(metadata, &jws, &metadata.id_token_algorithms)
            .await
            .map_err(|error| match error {
                VerifyError::Provider(error) => error,
                VerifyError::Jwt(error @ (JwtError::NoMatchingKey | JwtError::BadSignature(_))) => {
                    OidcError::BadSignature(error.to_string())
                }
                VerifyError::Jwt(error) => OidcError::InvalidIdToken(error.to_string()),
            })?;
        let claims = jws
            .claims()
            .map_err(|error| OidcError::InvalidIdToken(error.to_string()))?;
        jwt::check_registered(
            &claims,
            &Expected {
                issuer: &config.issuer_url,
                audience: &config.client_id,
                trusted_audiences: Some(&config.trusted_audiences),
                leeway: config.leeway,
            },
        )
        .map_err(|error| match error {
            ClaimsError::Expired => OidcError::TokenExpired,
            ClaimsError::Invalid(why) => OidcError::InvalidIdToken(why),
        })?;
        // Steps 4 and 5: a token for several audiences names the party it was issued to, and
        // that party must be us (not a token another client obtained and passed on).
        let audiences = jwt::audiences(&claims);
        match jwt::string(&claims, "azp") {
            Some(azp) if azp != config.client_id => {
                return Err(OidcError::InvalidIdToken(format!(
                    "azp {azp:?} is another client"
                )));
            }
            None if audiences.len() > 1 => {
                return Err(OidcError::InvalidIdToken(
                    "several audiences and no azp".to_owned(),
                ));
            }
            _ => {}
        }
        // Constant-time compare: the nonce binds the token to this sign-in.
        match jwt::string(&claims, "nonce") {
            Some(claimed) if bool::from(claimed.as_bytes().ct_eq(nonce.as_bytes())) => {}
            _ => return Err(OidcError::NonceMismatch),
        }
        let subject = jwt::string(&claims, "sub")
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| OidcError::InvalidIdToken("no sub".to_owned()))?;
        Ok(IdClaims { claims, subject })
    }

    /// The UserInfo answer (Core 5.3), JSON or a signed JWT, checked to be about `subject`.
    pub(crate) async fn userinfo(
        &self,
        metadata: &Arc<Metadata>,
        userinfo_endpoint: &str,
        access_token: &str,
        subject: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let request = self.0.http.get(userinfo_endpoint).bearer_auth(access_token);
        let answer = self.0.http.send("UserInfo", request).await?;
        answer.expect_success("UserInfo")?;
        let claims: Map<String, Value> = if answer.content_type.starts_with("application/jwt") {
            let config = self.config();
            let text = String::from_utf8_lossy(&answer.body);
            let jws = jwt::decode(text.trim())
                .map_err(|error| OidcError::InvalidIdToken(format!("UserInfo: {error}")))?;
            self.verify_jws(metadata, &jws, &metadata.id_token_algorithms)
                .await
                .map_err(|error| match error {
                    VerifyError::Provider(error) => error,
                    VerifyError::Jwt(error) => {
                        OidcError::BadSignature(format!("UserInfo: {error}"))
                    }
                })?;
            let claims = jws
                .claims()
                .map_err(|error| OidcError::InvalidIdToken(format!("UserInfo: {error}")))?;
            // Core 5.3.2: a signed answer names the issuer and this client.
            if jwt::string(&claims, "iss").is_some_and(|iss| iss != config.issuer_url)
                || claims.contains_key("aud")
                    && !jwt::audiences(&claims).contains(&config.client_id)
            {
                return Err(OidcError::InvalidIdToken(
                    "UserInfo: signed for another issuer or client".to_owned(),
                ));
            }
            claims
        } else {
            answer.json("UserInfo")?
        };
        match jwt::string(&claims, "sub") {
            Some(sub) if sub == subject => Ok(claims),
            found => Err(OidcError::UserInfoSubjectMismatch {
                found: found.unwrap_or_default(),
            }),
        }
    }

    /// A plain OAuth 2.0 provider's user-info API, mapped to an identity.
    pub(crate) async fn oauth2_identity(
        &self,
        mapping: &UserInfoMapping,
        access_token: &str,
    ) -> Result<OidcIdentity, OidcError> {
        let config = self.config();
        let request = self.0.http.get(&mapping.url).bearer_auth(access_token);
        let answer = self.0.http.send("user-info API", request).await?;
        answer.expect_success("user-info API")?;
        let info: Map<String, Value> = answer.json("user-info API")?;
        // The subject may be a number (GitHub's `id`): its decimal text.
        let subject = match info.get(&mapping.subject) {
            Some(Value::String(text)) if !text.is_empty() => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            _ => {
                return Err(Misconfiguration::Unparsable {
                    endpoint: "user-info API",
                    detail: format!("no subject field {:?}", mapping.subject),
                }
                .into());
            }
        };
        let field = |name: &Option<String>| name.as_ref().and_then(|name| jwt::string(&info, name));
        let mut email = field(&mapping.email);
        let mut email_verified = mapping
            .email_verified
            .as_ref()
            .and_then(|name| jwt::boolean(&info, name))
            .unwrap_or(false);
        if let Some(emails_url) = &mapping.emails_url {
            let request = self.0.http.get(emails_url).bearer_auth(access_token);
            let answer = self.0.http.send("emails API", request).await?;
            answer.expect_success("emails API")?;
            #[derive(serde::Deserialize)]
            struct Address {
                email: String,
                #[serde(default)]
                primary: bool,
                #[serde(default)]
                verified: bool,
            }
            let addresses: Vec<Address> = answer.json("emails API")?;
            // Only the primary address, and verified only when the provider says so.
            if let Some(primary) = addresses.into_iter().find(|address| address.primary) {
                email = Some(primary.email);
                email_verified = primary.verified;
            } else {
                email_verified = false;
            }
        }
        Ok(OidcIdentity {
            issuer: config.issuer_url.clone(),
            subject,
            email,
            email_verified,
            name: field(&mapping.name),
            preferred_username: field(&mapping.preferred_username),
            updated_at: None,
        })
    }
}

/// A JWS that did not verify, or a provider that could not be asked for its keys.
pub(crate) enum VerifyError {
    Jwt(JwtError),
    Provider(OidcError),
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OidcProvider").field(&self.0.config).finish()
    }
}

/// An endpoint URL the provider gave: it must parse and be `https` (or loopback `http`),
/// since codes, secrets and tokens travel to it.
fn endpoint_url(name: &str, value: &str) -> Result<Url, OidcError> {
    match Url::parse(value) {
        Ok(url) if is_secure(&url) => Ok(url),
        _ => Err(
            Misconfiguration::Endpoint(format!("the {name} {value:?} is not an https URL")).into(),
        ),
    }
}
