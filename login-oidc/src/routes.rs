//! The two routes: `/oidc/start` sends the visitor to the provider, `/oidc/callback` brings
//! them back logged in (or refused).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::{Session, SessionExt};
use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::{AuthUser, Login, LoginOptions, is_safe_next};
use openidconnect::core::{CoreAuthenticationFlow, CoreIdTokenClaims};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, Scope};
use subtle::ConstantTimeEq;

use crate::provider::{OidcProvider, Provider};
use crate::{ConfigError, Matched, OidcConfig, OidcError, OidcEvent, OidcIdentity, OidcUsers};

/// The session key of the sign-in in progress.
const FLOW: &str = "login_oidc.flow";

/// A sign-in in progress, kept in the session between `/start` and `/callback`. Secrets stay
/// server-side or in the encrypted cookie session: never in a URL but the provider's.
#[derive(serde::Serialize, serde::Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: Option<String>,
    remember: bool,
    started_at: u64,
}

#[derive(serde::Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

type EventCallback = Arc<dyn Fn(&OidcEvent) + Send + Sync>;
type ErrorPage = Arc<dyn Fn(&OidcError) -> HttpResponse + Send + Sync>;

/// Sign-in with one OpenID Connect provider, for users the app maps with an [`OidcUsers`].
///
/// Register its routes with [`service`](Self::service) inside the app's `LoginManager` and
/// `SessionMiddleware`. A link or button to `/oidc/start?next=/where/to` starts a sign-in;
/// the provider sends the visitor back to `/oidc/callback`, which logs them in (fresh, session
/// id renewed) and redirects to `next` when it is a safe same-site path.
///
/// Clones share the discovered provider and its keys (one discovery for all workers); an app
/// whose user store is built per worker shares an [`OidcProvider`] with
/// [`with_provider`](Self::with_provider) instead.
pub struct Oidc<S> {
    provider: OidcProvider,
    users: Arc<S>,
    on_event: Vec<EventCallback>,
    error_page: Option<ErrorPage>,
}

impl<S> Clone for Oidc<S> {
    fn clone(&self) -> Self {
        Oidc {
            provider: self.provider.clone(),
            users: self.users.clone(),
            on_event: self.on_event.clone(),
            error_page: self.error_page.clone(),
        }
    }
}

impl<S> fmt::Debug for Oidc<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Oidc")
            .field("config", self.provider.config())
            .finish_non_exhaustive()
    }
}

impl<S: OidcUsers> Oidc<S> {
    /// Sign-in with the provider `config` names, for the users `users` maps. Nothing is
    /// fetched yet: the provider is discovered on the first sign-in, so the app starts (and
    /// its password login works) while the provider is down.
    pub fn new(config: OidcConfig, users: S) -> Result<Self, ConfigError> {
        Ok(Oidc::with_provider(OidcProvider::new(config)?, users))
    }

    /// [`OidcConfig::from_env`] and [`new`](Self::new) in one: `Ok(None)` when no `OIDC_*`
    /// variable is set (the app then shows no OpenID Connect button).
    pub fn from_env(users: S) -> Result<Option<Self>, ConfigError> {
        OidcConfig::from_env()?
            .map(|config| Oidc::new(config, users))
            .transpose()
    }

    /// Sign-in with a provider built (and perhaps already discovered) elsewhere, for example
    /// once before `HttpServer::new` and cloned into each worker next to its user store.
    pub fn with_provider(provider: OidcProvider, users: S) -> Self {
        Oidc {
            provider,
            users: Arc::new(users),
            on_event: Vec::new(),
            error_page: None,
        }
    }

    /// Calls `callback` with every [`OidcEvent`] (for an audit log). Events are also always
    /// emitted as `tracing` events.
    pub fn on_event(mut self, callback: impl Fn(&OidcEvent) + Send + Sync + 'static) -> Self {
        self.on_event.push(Arc::new(callback));
        self
    }

    /// Renders refusals with the app's own page instead of [`OidcError::page`].
    pub fn error_page(
        mut self,
        render: impl Fn(&OidcError) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.error_page = Some(Arc::new(render));
        self
    }

    /// The routes, under `/oidc`: `GET /oidc/start` and `GET /oidc/callback` (the configured
    /// redirect URL must point at the latter).
    pub fn service(&self) -> impl HttpServiceFactory + 'static {
        self.service_at("/oidc")
    }

    /// The routes under another prefix: `{prefix}/start` and `{prefix}/callback`.
    pub fn service_at(&self, prefix: &str) -> impl HttpServiceFactory + 'static {
        web::scope(prefix)
            .app_data(web::Data::new(self.clone()))
            .route("/start", web::get().to(start::<S>))
            .route("/callback", web::get().to(callback::<S>))
    }

    fn emit(&self, event: OidcEvent) {
        event.trace();
        for callback in &self.on_event {
            callback(&event);
        }
    }

    /// Reports a refusal and answers its page; nobody was logged in.
    fn refuse(&self, error: OidcError) -> HttpResponse {
        let response = match &self.error_page {
            Some(render) => render(&error),
            None => error.page(&self.provider.config().login_page),
        };
        self.emit(OidcEvent::Refused { error });
        response
    }

    async fn start(&self, req: &HttpRequest, session: &Session) -> Result<HttpResponse, OidcError> {
        let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
        // `next` is checked here, kept in the session (never sent to the provider), and checked
        // again on the way back.
        let next = query.get("next").filter(|next| is_safe_next(next)).cloned();
        let remember = query
            .get("remember")
            .is_some_and(|value| matches!(value.as_str(), "1" | "true" | "on" | "yes"));

        let metadata = self.provider.0.metadata().await?;
        let client = self.provider.0.client(&metadata);
        // PKCE with S256 on every sign-in, confidential client or not.
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self
            .provider
            .config()
            .scopes
            .iter()
            .filter(|scope| scope.as_str() != "openid")
            .map(|scope| Scope::new(scope.clone()));
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next,
            remember,
            started_at: now_secs(),
        };
        session
            .insert(FLOW, flow)
            .map_err(|error| OidcError::Session(error.to_string()))?;
        Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish())
    }

    async fn callback(
        &self,
        req: &HttpRequest,
        login: &Login<S::User>,
    ) -> Result<HttpResponse, OidcError> {
        let session = req.get_session();
        // Single use: the sign-in in progress leaves the session before anything is checked,
        // so a callback can never be replayed against it, whatever happens below.
        let flow = match session.remove_as::<Flow>(FLOW) {
            Some(Ok(flow)) => flow,
            Some(Err(_)) | None => return Err(OidcError::NoSignInInProgress),
        };
        let query = web::Query::<CallbackQuery>::from_query(req.query_string())
            .map_err(|_| OidcError::MalformedCallback)?
            .into_inner();
        let config = self.provider.config();
        if now_secs().saturating_sub(flow.started_at) > config.flow_lifetime.as_secs() {
            return Err(OidcError::SignInExpired);
        }
        let state = query.state.ok_or(OidcError::MissingState)?;
        // Constant-time compare: `state` ties the callback to the browser that started it
        // (no login CSRF, no callback meant for someone else).
        if !bool::from(state.as_bytes().ct_eq(flow.state.as_bytes())) {
            return Err(OidcError::StateMismatch);
        }
        let metadata = self.provider.0.metadata().await?;
        // RFC 9207: the response names its issuer; another one is a mix-up attack, and none at
        // all from a provider that promises it is as suspicious.
        match &query.iss {
            Some(iss) if iss != &config.issuer_url => return Err(OidcError::IssuerMismatch),
            None if Provider::sends_iss(&metadata) => return Err(OidcError::MissingIssuer),
            _ => {}
        }
        if let Some(error) = query.error {
            return Err(match error.as_str() {
                "access_denied" => OidcError::AccessDenied,
                _ => OidcError::ProviderError { error },
            });
        }
        let code = query.code.ok_or(OidcError::MissingCode)?;
        let claims = self
            .provider
            .0
            .exchange(metadata, code, flow.pkce_verifier, &flow.nonce)
            .await?;
        let identity = identity(config, &claims);

        let (user, matched) = self.local_user(&identity).await?;
        // An ordinary login-runtime login: fresh, session id renewed (fixation), remember-me
        // only when the visitor asked for it.
        match login.login_with(&user, LoginOptions::new().remember(flow.remember)) {
            Ok(true) => {}
            Ok(false) => return Err(OidcError::Inactive),
            Err(error) => return Err(OidcError::Session(error.to_string())),
        }
        self.emit(OidcEvent::SignedIn {
            issuer: identity.issuer,
            subject: identity.subject,
            user_id: user.id().to_string(),
            matched,
        });
        // `next` was checked at the start; checked again, in case the session was tampered with.
        let target = flow
            .next
            .filter(|next| is_safe_next(next))
            .unwrap_or_else(|| config.after_login.clone());
        Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish())
    }

    /// Find, link (only when the app says so), or create.
    async fn local_user(&self, identity: &OidcIdentity) -> Result<(S::User, Matched), OidcError> {
        let users_error = |error: S::Error| OidcError::Users(error.to_string());
        if let Some(user) = self.users.find(identity).await.map_err(users_error)? {
            return Ok((user, Matched::Found));
        }
        if let Some(user) = self.users.linkable(identity).await.map_err(users_error)? {
            self.users
                .link(&user, identity)
                .await
                .map_err(users_error)?;
            return Ok((user, Matched::Linked));
        }
        match self.users.create(identity).await.map_err(users_error)? {
            Some(user) => Ok((user, Matched::Created)),
            None => Err(OidcError::NoAccount),
        }
    }
}

fn identity(config: &OidcConfig, claims: &CoreIdTokenClaims) -> OidcIdentity {
    OidcIdentity {
        // Verified equal to the configured issuer.
        issuer: config.issuer_url.clone(),
        subject: claims.subject().to_string(),
        email: claims.email().map(|email| email.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.to_string()),
        preferred_username: claims
            .preferred_username()
            .map(|username| username.to_string()),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

async fn start<S: OidcUsers>(
    req: HttpRequest,
    session: Session,
    oidc: web::Data<Oidc<S>>,
) -> HttpResponse {
    match oidc.start(&req, &session).await {
        Ok(response) => {
            oidc.emit(OidcEvent::Started);
            response
        }
        Err(error) => oidc.refuse(error),
    }
}

async fn callback<S: OidcUsers>(
    req: HttpRequest,
    login: Login<S::User>,
    oidc: web::Data<Oidc<S>>,
) -> HttpResponse {
    match oidc.callback(&req, &login).await {
        Ok(response) => response,
        Err(error) => oidc.refuse(error),
    }
}
