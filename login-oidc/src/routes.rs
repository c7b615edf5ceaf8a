//! The two routes: `/oidc/start` sends the visitor to the provider (`reauth=1`: to sign in
//! again), `/oidc/callback` brings them back logged in, or fresh again (or refused). Each handler parses, calls one function of
//! [`flow`](crate::flow), and renders.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use actix_session::{Session, SessionExt};
use actix_web::dev::HttpServiceFactory;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::Login;

use crate::events::ErasedSink;
use crate::flow::{self, Callback, StartRequest};
use crate::provider::OidcProvider;
use crate::{ConfigError, OidcConfig, OidcError, OidcEvent, OidcEventSink, OidcUsers};

type EventCallback = Arc<dyn Fn(&OidcEvent) + Send + Sync>;
type ErrorPage = Arc<dyn Fn(&OidcError) -> HttpResponse + Send + Sync>;

/// Sign-in with one provider (OpenID Connect, or plain OAuth 2.0 such as GitHub), for users the
/// app maps with an [`OidcUsers`]. An app with several providers registers one `Oidc` per
/// provider, each under its own prefix ([`service_at`](Self::service_at)) and with its own
/// [`OidcConfig::name`], and shows a button for each.
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
    sinks: Vec<Arc<dyn ErasedSink>>,
    error_page: Option<ErrorPage>,
}

impl<S> Clone for Oidc<S> {
    fn clone(&self) -> Self {
        Oidc {
            provider: self.provider.clone(),
            users: self.users.clone(),
            on_event: self.on_event.clone(),
            sinks: self.sinks.clone(),
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
            sinks: Vec::new(),
            error_page: None,
        }
    }

    /// Calls `callback` with every [`OidcEvent`] (for an audit log). Events are also always
    /// emitted as `tracing` events.
    pub fn on_event(mut self, callback: impl Fn(&OidcEvent) + Send + Sync + 'static) -> Self {
        self.on_event.push(Arc::new(callback));
        self
    }

    /// Hands every [`OidcEvent`] to `sink` as well, awaited before the answer goes out (an
    /// audit row in a database); a sink's error fails the request. See [`OidcEventSink`].
    pub fn event_sink(mut self, sink: impl OidcEventSink) -> Self {
        self.sinks.push(Arc::new(sink));
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
    /// redirect URL must point at the latter). `/oidc/start` takes `next` (a same-site path),
    /// `remember=1`, and `reauth=1`: re-authenticate the current login at the provider
    /// (`prompt=login`, `max_age`), which makes it fresh when the provider's `auth_time` is
    /// recent and the account is the same (OpenID Connect providers only).
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

    /// The provider (for [`AccessTokens`](crate::AccessTokens), or a button's label).
    pub fn provider(&self) -> &OidcProvider {
        &self.provider
    }

    /// Whether this provider can re-authenticate a login (OpenID Connect: yes; plain OAuth 2.0
    /// cannot say when the visitor last signed in).
    pub fn supports_reauthentication(&self) -> bool {
        self.provider.config().is_openid_connect()
    }

    /// Traces `event`, calls the callbacks, and waits for the sinks.
    async fn emit(&self, event: OidcEvent, req: &HttpRequest) -> actix_web::Result<()> {
        event.trace();
        for callback in &self.on_event {
            callback(&event);
        }
        for sink in &self.sinks {
            sink.deliver(&event, req).await?;
        }
        Ok(())
    }

    /// Reports a refusal and answers its page; nobody was logged in.
    async fn refuse(&self, error: OidcError, req: &HttpRequest) -> actix_web::Result<HttpResponse> {
        let response = match &self.error_page {
            Some(render) => render(&error),
            None => error.page(&self.provider.config().login_page),
        };
        self.emit(OidcEvent::Refused { error }, req).await?;
        Ok(response)
    }
}

async fn start<S: OidcUsers>(
    req: HttpRequest,
    session: Session,
    login: Login<S::User>,
    oidc: web::Data<Oidc<S>>,
) -> actix_web::Result<HttpResponse> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let yes = |name: &str| {
        query
            .get(name)
            .is_some_and(|value| matches!(value.as_str(), "1" | "true" | "on" | "yes"))
    };
    let request = StartRequest {
        next: query.get("next").cloned(),
        remember: yes("remember"),
        reauth: yes("reauth"),
    };
    match flow::start(&oidc.provider, &session, &login, request).await {
        Ok(url) => {
            oidc.emit(OidcEvent::Started, &req).await?;
            Ok(see_other(&url))
        }
        Err(error) => oidc.refuse(error, &req).await,
    }
}

async fn callback<S: OidcUsers>(
    req: HttpRequest,
    login: Login<S::User>,
    oidc: web::Data<Oidc<S>>,
) -> actix_web::Result<HttpResponse> {
    let query = web::Query::<Callback>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| OidcError::MalformedCallback);
    let session = req.get_session();
    match flow::callback(&oidc.provider, &*oidc.users, &session, &login, query).await {
        Ok(signed_in) => {
            let target = signed_in.target;
            let event = if signed_in.reauthenticated {
                OidcEvent::Reauthenticated {
                    issuer: signed_in.identity.issuer,
                    subject: signed_in.identity.subject,
                    user_id: signed_in.user_id,
                }
            } else if signed_in.second_step {
                OidcEvent::SecondFactorAsked {
                    issuer: signed_in.identity.issuer,
                    subject: signed_in.identity.subject,
                    user_id: signed_in.user_id,
                    matched: signed_in.matched,
                }
            } else {
                OidcEvent::SignedIn {
                    issuer: signed_in.identity.issuer,
                    subject: signed_in.identity.subject,
                    user_id: signed_in.user_id,
                    matched: signed_in.matched,
                }
            };
            oidc.emit(event, &req).await?;
            Ok(see_other(&target))
        }
        Err(error) => oidc.refuse(error, &req).await,
    }
}

/// A 303 that no cache keeps.
fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
