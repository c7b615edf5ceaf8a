//! JWT access tokens for APIs (RFC 9068): a bearer token from the same provider, verified
//! against its keys (issuer, audience, expiry with leeway, an algorithm allow-list, the
//! `at+jwt` type), with its scopes mapped to the application's own permission type. Used from
//! the app's [`UserLoader::load_user_from_request`](login_runtime::UserLoader::load_user_from_request).

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::{StatusCode, header};
use login_runtime::{Permission, PermissionSet};
use serde_json::{Map, Value};

use crate::jwt::{self, ClaimsError, DEFAULT_ALGORITHMS, Expected, JwtError};
use crate::provider::{OidcProvider, VerifyError};
use crate::{ConfigError, OidcError};

/// Verifies bearer JWTs that the provider issued for one API (its audience).
///
/// ```no_run
/// use login_oidc::{AccessTokens, OidcConfig, OidcProvider, ScopePermission};
/// use login_runtime::{AuthUser, HasPermission, Permission, UserLoader};
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Api { ReadReports, WriteReports }
/// impl ScopePermission for Api {
///     fn from_scope(scope: &str) -> Option<Api> {
///         match scope {
///             "reports:read" => Some(Api::ReadReports),
///             "reports:write" => Some(Api::WriteReports),
///             _ => None,
///         }
///     }
/// }
///
/// #[derive(Clone, AuthUser)]
/// struct Caller { id: String, granted: Vec<Api> }
/// impl Permission for Api { type User = Caller; }
/// impl HasPermission<Api> for Caller {
///     fn has_permission(&self, permission: &Api) -> bool { self.granted.contains(permission) }
/// }
///
/// struct Users { tokens: AccessTokens }
/// impl UserLoader for Users {
///     type User = Caller;
///     type Id = String;
///     type Error = std::convert::Infallible;
///     async fn load_user(&self, _: &String) -> Result<Option<Caller>, Self::Error> { Ok(None) }
///     async fn load_user_from_request(
///         &self,
///         req: &actix_web::HttpRequest,
///     ) -> Result<Option<Caller>, Self::Error> {
///         // A missing, forged, expired or foreign token: nobody (the guard answers 401).
///         let Ok(Some(token)) = self.tokens.from_request(req).await else { return Ok(None) };
///         Ok(Some(Caller {
///             id: token.subject().unwrap_or_default().to_owned(),
///             granted: token.scoped_permissions::<Api>(),
///         }))
///     }
/// }
///
/// # fn main() -> Result<(), login_oidc::ConfigError> {
/// let config = OidcConfig::new("https://idp.example", "app", None, "https://app.example/cb")?;
/// let tokens = AccessTokens::new(OidcProvider::new(config)?, "https://api.example");
/// # let _ = Users { tokens };
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AccessTokens {
    provider: OidcProvider,
    audience: String,
    algorithms: Vec<String>,
    leeway: Duration,
    untyped: bool,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// Not a compact JWS, or its claims are not a JSON object.
    #[error("the access token is malformed: {0}")]
    Malformed(String),
    /// An algorithm outside the allow-list (`none`, `HS256`, …).
    #[error("the access token's algorithm is not allowed: {0}")]
    Algorithm(String),
    /// Not typed `at+jwt` (an ID token, or another JWT, presented as an access token).
    #[error("the token is not typed as an access token (at+jwt): {0:?}")]
    WrongType(Option<String>),
    /// No key of the provider has the token's key id (also after re-fetching them).
    #[error("the access token is signed by a key the provider does not publish")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the access token's signature does not verify: {0}")]
    BadSignature(String),
    /// Expired (beyond the leeway).
    #[error("the access token has expired")]
    Expired,
    /// Another issuer or audience, `iat`/`nbf` in the future, no `exp`.
    #[error("the access token is invalid: {0}")]
    Invalid(String),
    /// The provider's keys could not be fetched.
    #[error("the provider's keys are unavailable: {0}")]
    Provider(OidcError),
}

impl AccessTokenError {
    /// A stable, short code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AccessTokenError::Malformed(_) => "malformed",
            AccessTokenError::Algorithm(_) => "algorithm_not_allowed",
            AccessTokenError::WrongType(_) => "wrong_type",
            AccessTokenError::UnknownKey => "unknown_key",
            AccessTokenError::BadSignature(_) => "bad_signature",
            AccessTokenError::Expired => "expired",
            AccessTokenError::Invalid(_) => "invalid",
            AccessTokenError::Provider(_) => "provider_unavailable",
        }
    }

    /// Whether the token may be fine and the provider is at fault (answer 503, not 401).
    pub fn is_provider_fault(&self) -> bool {
        matches!(self, AccessTokenError::Provider(_))
    }

    /// The answer for an API: 401 with `WWW-Authenticate: Bearer error="invalid_token"`
    /// (RFC 6750 3.1), or 503 when the provider's keys are unavailable.
    pub fn response(&self) -> actix_web::HttpResponse {
        if self.is_provider_fault() {
            return actix_web::HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .json(serde_json::json!({"error": "temporarily_unavailable"}));
        }
        actix_web::HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .json(serde_json::json!({"error": "invalid_token", "error_description": self.code()}))
    }
}

/// A verified access token: who, for which client, with which scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    subject: Option<String>,
    client_id: Option<String>,
    scopes: Vec<String>,
    expires_at: i64,
    claims: Map<String, Value>,
}

/// A permission type whose values a scope grants: the typed mapping from the provider's
/// scope strings to the app's permissions.
pub trait ScopePermission: Sized {
    /// The permission `scope` grants, if any.
    fn from_scope(scope: &str) -> Option<Self>;
}

impl AccessTokens {
    /// Access tokens for the API `audience` (the `aud` the provider puts in them: a resource
    /// indicator such as `https://api.example`), from `provider`. Defaults: the asymmetric
    /// algorithms (RS, PS, ES, EdDSA; never `none` or a MAC), the provider's leeway (60 s),
    /// and only tokens typed `at+jwt`.
    pub fn new(provider: OidcProvider, audience: &str) -> Self {
        let leeway = provider.config().leeway;
        AccessTokens {
            provider,
            audience: audience.to_owned(),
            algorithms: DEFAULT_ALGORITHMS
                .iter()
                .map(|alg| (*alg).to_owned())
                .collect(),
            leeway,
            untyped: false,
        }
    }

    /// Only these algorithms (`RS256`, `ES256`, …): an allow-list within the asymmetric ones.
    pub fn algorithms<I, S>(mut self, algorithms: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let algorithms: Vec<String> = algorithms.into_iter().map(Into::into).collect();
        if let Some(refused) = algorithms
            .iter()
            .find(|alg| !DEFAULT_ALGORITHMS.contains(&alg.as_str()))
        {
            return Err(ConfigError::Algorithm(refused.clone()));
        }
        self.algorithms = algorithms;
        Ok(self)
    }

    /// How far the provider's clock may be from ours.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Also accepts tokens typed `JWT` or not typed (Keycloak's); the audience check then is
    /// what keeps an ID token from passing as an access token, so the API's audience must not
    /// be a client id.
    pub fn allow_untyped_tokens(mut self) -> Self {
        self.untyped = true;
        self
    }

    /// The API's audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The bearer token of `req` (`Authorization: Bearer …`), verified. `Ok(None)` when the
    /// request carries none.
    pub async fn from_request(
        &self,
        req: &HttpRequest,
    ) -> Result<Option<AccessToken>, AccessTokenError> {
        let Some(value) = req.headers().get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let Some(token) = value
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
        else {
            return Ok(None);
        };
        self.validate(token).await.map(Some)
    }

    /// Verifies `token`: signature by the provider's keys (fetched again, rate-limited, for an
    /// unknown key id) with an allowed algorithm, type `at+jwt`, `iss` the provider, `aud`
    /// listing this API, `exp` (required) with the leeway, `iat` and `nbf` not in the future.
    pub async fn validate(&self, token: &str) -> Result<AccessToken, AccessTokenError> {
        let jws =
            jwt::decode(token).map_err(|error| AccessTokenError::Malformed(error.to_string()))?;
        // RFC 9068 2.1: `at+jwt`, so that an ID token cannot be passed off as an access token.
        let typed = matches!(jws.typ.as_deref(), Some("at+jwt" | "application/at+jwt"));
        let untyped_ok = self.untyped && matches!(jws.typ.as_deref(), None | Some("jwt"));
        if !typed && !untyped_ok {
            return Err(AccessTokenError::WrongType(jws.typ.clone()));
        }
        let metadata = self
            .provider
            .metadata()
            .await
            .map_err(AccessTokenError::Provider)?;
        self.provider
            .verify_jws(&metadata, &jws, &self.algorithms)
            .await
            .map_err(|error| match error {
                VerifyError::Provider(error) => AccessTokenError::Provider(error),
                VerifyError::Jwt(JwtError::NoMatchingKey) => AccessTokenError::UnknownKey,
                VerifyError::Jwt(JwtError::BadSignature(why)) => {
                    AccessTokenError::BadSignature(why)
                }
                VerifyError::Jwt(JwtError::Algorithm(alg)) => AccessTokenError::Algorithm(alg),
                VerifyError::Jwt(error) => AccessTokenError::Malformed(error.to_string()),
            })?;
        let claims = jws
            .claims()
            .map_err(|error| AccessTokenError::Malformed(error.to_string()))?;
        jwt::check_registered(
            &claims,
            &Expected {
                issuer: &self.provider.config().issuer_url,
                audience: &self.audience,
                trusted_audiences: None,
                leeway: self.leeway,
            },
        )
        .map_err(|error| match error {
            ClaimsError::Expired => AccessTokenError::Expired,
            ClaimsError::Invalid(why) => AccessTokenError::Invalid(why),
        })?;
        // `scope` is a space-separated string (RFC 9068); `scp` a list (Entra ID, Okta).
        let scopes = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(scope)), _) | (None, Some(Value::String(scope))) => {
                scope.split_whitespace().map(str::to_owned).collect()
            }
            (None, Some(Value::Array(list))) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Ok(AccessToken {
            subject: jwt::string(&claims, "sub"),
            client_id: jwt::string(&claims, "client_id").or_else(|| jwt::string(&claims, "azp")),
            scopes,
            expires_at: jwt::numeric_date(&claims, "exp").unwrap_or_default(),
            claims,
        })
    }
}

impl AccessToken {
    /// The subject (`sub`): the user, or for a client-credentials token the client.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The client the token was issued to (`client_id`, else `azp`).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The scopes granted.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// When the token expires (seconds since the epoch).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Any claim (a custom one, `roles`, `tenant`, …).
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The permissions the granted scopes map to through `map` (scopes it does not know are
    /// ignored: they grant nothing).
    pub fn permissions<P>(&self, mut map: impl FnMut(&str) -> Option<P>) -> Vec<P> {
        let mut permissions = Vec::new();
        for scope in &self.scopes {
            if let Some(permission) = map(scope) {
                permissions.push(permission);
            }
        }
        permissions
    }

    /// The permissions of type `P` the granted scopes map to ([`ScopePermission`]).
    pub fn scoped_permissions<P: ScopePermission>(&self) -> Vec<P> {
        self.permissions(P::from_scope)
    }

    /// The permissions the granted scopes map to, as the set
    /// [`UserLoader::load_permissions`](login_runtime::UserLoader::load_permissions) returns.
    pub fn permission_set<P: Permission>(
        &self,
        map: impl FnMut(&str) -> Option<P>,
    ) -> PermissionSet<P::User> {
        self.permissions(map).into_iter().collect()
    }
}
