//! Talking to the provider: discovery, keys (re-fetched on rotation, rate-limited), the code
//! exchange and ID-token verification.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::reqwest;
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    IssuerUrl, JsonWebKeySet, Nonce, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RequestTokenError, SignatureVerificationError, TokenResponse,
};
use subtle::ConstantTimeEq;

use crate::{ConfigError, OidcConfig, OidcError};

/// The discovery document fields openidconnect's core metadata leaves out.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub(crate) struct ExtraMetadata {
    /// RFC 9207: the provider puts `iss` on every authorization response.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

pub(crate) type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The provider as last discovered.
struct Cached {
    metadata: Arc<Metadata>,
    /// When an unknown key id last made us fetch the keys again.
    keys_refetched: Option<Instant>,
}

/// The provider side of sign-in: the configuration, the HTTP client, and the discovered
/// metadata and keys. `Send + Sync` and cheap to clone (clones share one discovery), so an app
/// whose user store lives per worker builds it once and gives each worker's
/// [`Oidc::with_provider`](crate::Oidc::with_provider) a clone.
#[derive(Clone)]
pub struct OidcProvider(pub(crate) Arc<Provider>);

impl OidcProvider {
    /// The provider `config` names. Nothing is fetched until the first sign-in.
    pub fn new(config: OidcConfig) -> Result<Self, ConfigError> {
        Provider::new(config).map(|provider| OidcProvider(Arc::new(provider)))
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
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OidcProvider").field(&self.0.config).finish()
    }
}

pub(crate) struct Provider {
    pub(crate) config: OidcConfig,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    cached: Mutex<Option<Cached>>,
}

impl Provider {
    pub(crate) fn new(config: OidcConfig) -> Result<Self, ConfigError> {
        let redirect_url =
            RedirectUrl::new(config.redirect_url.clone()).map_err(|_| ConfigError::InvalidUrl {
                name: "the redirect URL",
                value: config.redirect_url.clone(),
            })?;
        let http = reqwest::Client::builder()
            // Never follow redirects: a provider endpoint that redirects could send the code,
            // the client secret or the PKCE verifier somewhere else (SSRF, token theft).
            .redirect(reqwest::redirect::Policy::none())
            // Bounded: a provider that is down or slow gets an error page, not a hung request.
            .connect_timeout(config.http_timeout)
            .timeout(config.http_timeout)
            .build()
            .map_err(|error| ConfigError::HttpClient(error.to_string()))?;
        Ok(Provider {
            config,
            redirect_url,
            http,
            cached: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The discovered metadata (with the keys), discovering on first use. A provider that is
    /// down at start-up only makes sign-ins fail until it is back, not the app.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, OidcError> {
        if let Some(cached) = self.lock().as_ref() {
            return Ok(cached.metadata.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer_url.clone())
            .map_err(|error| OidcError::ProviderUnavailable(error.to_string()))?;
        // Discovery checks that the document's `issuer` is exactly the configured one.
        let metadata = Arc::new(
            Metadata::discover_async(issuer, &self.http)
                .await
                .map_err(|error| OidcError::ProviderUnavailable(error_chain(&error)))?,
        );
        let mut cached = self.lock();
        match cached.as_ref() {
            Some(existing) => Ok(existing.metadata.clone()),
            None => {
                *cached = Some(Cached {
                    metadata: metadata.clone(),
                    keys_refetched: None,
                });
                Ok(metadata)
            }
        }
    }

    /// The provider's keys again, after an ID token named a key we do not have (the provider
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
                .is_some_and(|at| at.elapsed() < self.config.key_refetch_interval)
            {
                return Ok(None);
            }
            cached.keys_refetched = Some(Instant::now());
        }
        let keys = JsonWebKeySet::fetch_async(seen.jwks_uri(), &self.http)
            .await
            .map_err(|error| OidcError::ProviderUnavailable(error_chain(&error)))?;
        let metadata = Arc::new((**seen).clone().set_jwks(keys));
        if let Some(cached) = self.lock().as_mut() {
            cached.metadata = metadata.clone();
        }
        Ok(Some(metadata))
    }

    pub(crate) fn client(&self, metadata: &Metadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// Whether the provider promises `iss` on authorization responses (RFC 9207).
    pub(crate) fn sends_iss(metadata: &Metadata) -> bool {
        metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
    }

    /// Exchanges the code (with the PKCE verifier) for tokens and verifies the ID token:
    /// signature against the provider's keys, `iss`, `aud`, `exp`, and `nonce`.
    pub(crate) async fn exchange(
        &self,
        metadata: Arc<Metadata>,
        code: String,
        pkce_verifier: String,
        nonce: &str,
    ) -> Result<CoreIdTokenClaims, OidcError> {
        let client = self.client(&metadata);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|error| OidcError::ProviderUnavailable(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::ServerResponse(response) => OidcError::CodeRefused {
                    error: response.error().to_string(),
                },
                other => OidcError::ProviderUnavailable(error_chain(&other)),
            })?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        match verify(&client, id_token, nonce) {
            // A key id we have not seen: the provider may have rotated its keys.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => match self.refetch_keys(&metadata).await? {
                Some(fresh) => verify(&self.client(&fresh), id_token, nonce),
                None => Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )),
            },
            verified => verified,
        }
        .map_err(|error| match error {
            ClaimsVerificationError::Expired(_) => OidcError::TokenExpired,
            ClaimsVerificationError::InvalidNonce(_) => OidcError::NonceMismatch,
            ClaimsVerificationError::SignatureVerification(error) => {
                OidcError::BadSignature(error.to_string())
            }
            other => OidcError::InvalidIdToken(other.to_string()),
        })
    }
}

pub(crate) type Client = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn verify(
    client: &Client,
    id_token: &CoreIdToken,
    nonce: &str,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    // openidconnect checks the signature (only the algorithms the provider lists), `iss`,
    // `aud` (and `azp`), and `exp`; the nonce check is ours.
    id_token
        .claims(&client.id_token_verifier(), |claimed: Option<&Nonce>| {
            match claimed {
                // Constant-time compare: the nonce binds the token to this sign-in.
                Some(claimed)
                    if bool::from(claimed.secret().as_bytes().ct_eq(nonce.as_bytes())) =>
                {
                    Ok(())
                }
                Some(_) => Err("nonce mismatch".to_owned()),
                None => Err("missing nonce claim".to_owned()),
            }
        })
        .cloned()
}

/// An error with its sources, for the operator's log (reqwest's timeouts hide in the chain).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
