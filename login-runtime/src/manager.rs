//! `LoginManager`: the builder users configure, and the middleware it becomes.

use std::any::type_name;
use std::cell::Cell;
use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Duration;

use actix_session::SessionExt;
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::cookie::time::OffsetDateTime;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use actix_web_flash_messages::Level;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::config::{Config, FlashText, RememberCookie, SessionProtection};
use crate::error::LoginError;
use crate::events::LoginEvent;
use crate::key::SecretKey;
use crate::remember::{RememberCodec, RememberFormat};
use crate::state::{Backend, CookieAction, LoadedUser, RequestState};
use crate::user::{AuthUser, UserLoader};

/// Flask-Login's `LoginManager`: configure it, then install it with `App::wrap`, inside
/// actix-session's `SessionMiddleware`:
///
/// ```
/// # use login_runtime::{AuthUser, UserLoader, LoginManager, SessionProtection, SecretKey};
/// # #[derive(Clone)] struct User { id: u32 }
/// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
/// # struct Users;
/// # impl UserLoader for Users {
/// #     type User = User; type Id = u32; type Error = std::convert::Infallible;
/// #     async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> { Ok(Some(User { id: *id })) }
/// # }
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key};
///
/// let secret = SecretKey::generate(); // in production: SecretKey::try_from(bytes from your config)
/// let app = App::new()
///     .wrap(
///         LoginManager::new(Users)
///             .login_view("/login")
///             .session_protection(SessionProtection::Strong)
///             .secret_key(secret),
///     )
///     .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate()));
/// # let _ = app;
/// ```
pub struct LoginManager<L: UserLoader> {
    loader: Rc<L>,
    config: Config,
}

impl<L: UserLoader> Clone for LoginManager<L> {
    fn clone(&self) -> Self {
        LoginManager {
            loader: Rc::clone(&self.loader),
            config: self.config.clone(),
        }
    }
}

impl<L: UserLoader> fmt::Debug for LoginManager<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginManager")
            .field("loader", &type_name::<L>())
            .field("config", &self.config)
            .finish()
    }
}

impl<L: UserLoader> LoginManager<L> {
    /// A manager that finds users with `loader`. Defaults: no login view (guards answer
    /// 401), basic session protection, a signed remember cookie (see [`RememberCookie`]),
    /// and a random secret key, which is fine for one process but means remember cookies do
    /// not survive a restart: set [`secret_key`](Self::secret_key) in production.
    pub fn new(loader: L) -> Self {
        let loader = Rc::new(loader);
        let mut config = Config::new();
        config.authz.permission_loader = Some(crate::authz::permission_loader(Rc::clone(&loader)));
        LoginManager { loader, config }
    }

    /// Where guards send anonymous browsers (`login_view`): a path on this site such as
    /// `/login`, or an absolute `https://` (or `http://`) URL of a login service. The request's
    /// path goes along as `next` (its whole URL, for a service on another host). The same two
    /// shapes are what `#[login_required(login_view = "..")]` accepts; the macro refuses any
    /// other at compile time. The handler serving this view must not be guarded: a request
    /// to it answers a 500 naming the mistake, never a redirect loop.
    pub fn login_view(mut self, path: impl Into<String>) -> Self {
        self.config.login_view = Some(path.into());
        self
    }

    /// A login view for every path under `prefix` (Flask-Login's `blueprint_login_views`, for
    /// an actix scope). The longest matching prefix wins over the global view; `None` makes
    /// the scope answer 401 instead of redirecting. A handler's own
    /// `#[login_required(login_view = "..")]` wins over both.
    pub fn scope_login_view(mut self, prefix: impl Into<String>, view: Option<&str>) -> Self {
        self.config
            .scope_login_views
            .push((prefix.into(), view.map(str::to_owned)));
        self
    }

    /// Where `#[fresh_login_required]` sends a login that is not fresh (`refresh_view`).
    pub fn refresh_view(mut self, path: impl Into<String>) -> Self {
        self.config.refresh_view = Some(path.into());
        self
    }

    /// The message flashed when redirecting to the login view (default "Please log in to
    /// access this page."); `None` flashes nothing. Messages go through
    /// `actix-web-flash-messages` when its `FlashMessagesFramework` is installed.
    pub fn login_message(mut self, message: Option<&str>, level: Level) -> Self {
        self.config.login_message = message
            .filter(|text| !text.is_empty())
            .map(|text| FlashText {
                text: text.to_owned(),
                level,
            });
        self
    }

    /// The message flashed when redirecting to the refresh view (default "Please
    /// reauthenticate to access this page."); `None` flashes nothing.
    pub fn needs_refresh_message(mut self, message: Option<&str>, level: Level) -> Self {
        self.config.needs_refresh_message =
            message
                .filter(|text| !text.is_empty())
                .map(|text| FlashText {
                    text: text.to_owned(),
                    level,
                });
        self
    }

    /// Keep `next` in the session instead of the login URL's query (`USE_SESSION_FOR_NEXT`).
    pub fn next_in_session(mut self, enabled: bool) -> Self {
        self.config.next_in_session = enabled;
        self
    }

    /// Session protection mode (`SESSION_PROTECTION`; default [`SessionProtection::Basic`]).
    pub fn session_protection(mut self, mode: SessionProtection) -> Self {
        self.config.protection = mode;
        self
    }

    /// Answer anonymous requests to guarded handlers with this instead of the built-in
    /// flow (`unauthorized_handler`).
    pub fn unauthorized_handler(
        mut self,
        handler: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> Self {
        self.config.unauthorized_handler = Some(Rc::new(handler));
        self
    }

    /// Answer logins that are not fresh on `#[fresh_login_required]` handlers with this
    /// (`needs_refresh_handler`).
    pub fn needs_refresh_handler(
        mut self,
        handler: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> Self {
        self.config.needs_refresh_handler = Some(Rc::new(handler));
        self
    }

    /// Call `callback` with every [`LoginEvent`] (Flask-Login's signals). Callbacks run
    /// in the request, in registration order; keep them quick.
    pub fn on_event(mut self, callback: impl Fn(&LoginEvent) + 'static) -> Self {
        self.config.event_handlers.push(Rc::new(callback));
        self
    }

    /// Let every request through the guards (`LOGIN_DISABLED`), for tests. Extractors still
    /// report who is logged in.
    pub fn disable_guards(mut self, disabled: bool) -> Self {
        self.config.guards_disabled = disabled;
        self
    }

    /// Take the client address for session protection from `Forwarded` /
    /// `X-Forwarded-For` instead of the socket. Only behind a proxy that sets them: a client
    /// can write these headers itself.
    pub fn trust_proxy_headers(mut self, trust: bool) -> Self {
        self.config.trust_proxy_headers = trust;
        self
    }

    /// Redirect to login views on this host (`FORCE_HOST_FOR_REDIRECTS`), e.g. `login.example.com`.
    pub fn force_host(mut self, host: impl Into<String>) -> Self {
        self.config.force_host = Some(host.into());
        self
    }

    /// The key that signs remember cookies and session hash tags. Build it with
    /// [`SecretKey::try_from`], which refuses keys of too little entropy.
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.config.key = key;
        self.config.key_was_generated = false;
        let format = self.config.codec.format();
        self.rebuild_codec(format)
    }

    /// Keys that signed remember cookies before the current one: still accepted, and such
    /// cookies are re-signed with the current key (and the user's hash tag under it) by the
    /// first request that loads their user, whether it restores the login or the session
    /// still holds it. Keep an old key listed until its cookies have been used, or have
    /// expired; removing it logs out whoever still holds only a cookie it signed.
    pub fn previous_secret_keys(mut self, keys: impl IntoIterator<Item = SecretKey>) -> Self {
        self.config.previous_keys.extend(keys);
        let format = self.config.codec.format();
        self.rebuild_codec(format)
    }

    /// The remember cookie's format. [`RememberFormat::FlaskLogin`] reads and writes exactly
    /// Flask-Login 0.6's cookies (set the Flask app's `SECRET_KEY` with
    /// [`secret_key`](Self::secret_key)), for sharing logins with a Flask app during a
    /// migration; it has no server-side expiry and no binding to the session hash.
    pub fn remember_format(self, format: RememberFormat) -> Self {
        self.rebuild_codec(format)
    }

    fn rebuild_codec(mut self, format: RememberFormat) -> Self {
        self.config.codec = RememberCodec::new(format, self.config.key.clone())
            .with_previous_keys(self.config.previous_keys.iter().cloned());
        self
    }

    /// The remember cookie's name, duration and attributes.
    pub fn remember_cookie(mut self, cookie: RememberCookie) -> Self {
        self.config.remember = cookie;
        self
    }
}

impl<L: UserLoader> Backend for LoginManager<L> {
    fn config(&self) -> &Config {
        &self.config
    }

    fn user_type_name(&self) -> &'static str {
        type_name::<L::User>()
    }

    fn load_user(
        self: Rc<Self>,
        id: &str,
    ) -> LocalBoxFuture<'static, Result<Option<LoadedUser>, LoginError>> {
        // Parsed before the future, so the future owns the parsed id, not a copy of the text.
        let Ok(parsed) = id.parse::<<L::User as AuthUser>::Id>() else {
            // An id that does not parse names nobody.
            tracing::debug!(target: "login_runtime", "stored user id does not parse; treating as anonymous");
            return ready(Ok(None)).boxed_local();
        };
        async move {
            let user = self
                .loader
                .load_user(&parsed)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(user.map(|user| self.erase(user)))
        }
        .boxed_local()
    }

    fn load_user_from_request(
        self: Rc<Self>,
        req: HttpRequest,
    ) -> LocalBoxFuture<'static, Result<Option<(String, LoadedUser)>, LoginError>> {
        async move {
            let user = self
                .loader
                .load_user_from_request(&req)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(user.map(|user| (user.id().to_string(), self.erase(user))))
        }
        .boxed_local()
    }
}

impl<L: UserLoader> LoginManager<L> {
    fn erase(&self, user: L::User) -> LoadedUser {
        LoadedUser {
            active: user.is_active(),
            session_hash: user.session_auth_hash().map(<[u8]>::to_vec),
            object: Rc::new(user),
        }
    }
}

impl<S, B, L> Transform<S, ServiceRequest> for LoginManager<L>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    L: UserLoader,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = LoginMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        if self.config.key_was_generated {
            let message = "LoginManager has no secret key: using a random one, so remember cookies end with this process; set `LoginManager::secret_key`";
            tracing::warn!(target: "login_runtime", "{message}");
            crate::error::to_stderr_once(
                crate::error::NO_SECRET_KEY,
                &format!("login-runtime: {message}"),
            );
        }
        let backend: Rc<dyn Backend> = Rc::new(self.clone());
        ready(Ok(LoginMiddleware {
            service: Rc::new(service),
            backend,
            session_seen: Cell::new(false),
        }))
    }
}

/// The middleware [`LoginManager`] installs; not used directly.
pub struct LoginMiddleware<S> {
    service: Rc<S>,
    backend: Rc<dyn Backend>,
    /// A `SessionMiddleware` was found around this middleware.
    session_seen: Cell<bool>,
}

impl<S> fmt::Debug for LoginMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginMiddleware").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for LoginMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Found out once per middleware: the middlewares outside this one are fixed when the
        // app is built, so a session middleware seen once wraps every later request too. Until
        // then (and for ever when there is none) each request is probed.
        let session_present = self.session_seen.get() || session_middleware_present(&req);
        self.session_seen.set(session_present);
        let state = Rc::new(RequestState::new(Rc::clone(&self.backend), session_present));
        req.extensions_mut().insert(Rc::clone(&state));
        // However the request ends, drop a load still pending: it holds the request, which
        // holds the state.
        let cleanup = StateCleanup(Rc::clone(&state));

        let test_login = req.extensions_mut().remove::<crate::testing::TestLogin>();
        if let Some(login) = test_login
            && let Err(error) = state.apply_test_login(req.request(), &login)
        {
            return ready(Err(error.into())).boxed_local();
        }

        let service = Rc::clone(&self.service);
        async move {
            let mut res = service.call(req).await?;
            // The registry writes of a login or logout, before its session is saved.
            crate::devices::flush(&state).await?;
            let action = state.cookie_for_response(res.request());
            apply_cookie(&mut res, state.config(), action);
            drop(cleanup);
            Ok(res)
        }
        .boxed_local()
    }
}

struct StateCleanup(Rc<RequestState>);

impl Drop for StateCleanup {
    fn drop(&mut self) {
        self.0.forget_pending_load();
    }
}

fn apply_cookie<B>(res: &mut ServiceResponse<B>, config: &Config, action: CookieAction) {
    let settings = &config.remember;
    let (value, max_age) = match action {
        CookieAction::Keep => return,
        // Flask-format values are quoted as Werkzeug quotes them, so a Flask app reads them.
        CookieAction::Set { value, max_age }
            if config.codec.format() == RememberFormat::FlaskLogin =>
        {
            (
                crate::remember::flask::quote_cookie_value(&value).into_owned(),
                Some(max_age),
            )
        }
        CookieAction::Set { value, max_age } => (value, Some(max_age)),
        CookieAction::Clear => (String::new(), None),
    };
    let mut cookie = Cookie::new(settings.name.clone(), value);
    cookie.set_path(settings.path.clone());
    if let Some(domain) = &settings.domain {
        cookie.set_domain(domain.clone());
    }
    cookie.set_secure(settings.secure);
    cookie.set_http_only(settings.http_only);
    cookie.set_same_site(settings.same_site);
    match max_age.and_then(cookie_lifetime) {
        Some(lifetime) => {
            cookie.set_max_age(lifetime);
            // Beyond what a cookie date can say, the latest one it can: never a panic.
            let expires = OffsetDateTime::now_utc()
                .checked_add(lifetime)
                .unwrap_or(latest_cookie_date());
            cookie.set_expires(expires);
        }
        None => cookie.make_removal(),
    }
    if let Err(error) = res.response_mut().add_cookie(&cookie) {
        tracing::error!(target: "login_runtime", %error, "could not set the remember cookie");
    }
}

/// 9999-12-31T23:59:59Z, the latest date every browser parses in `Expires`.
fn latest_cookie_date() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn cookie_lifetime(duration: Duration) -> Option<actix_web::cookie::time::Duration> {
    let seconds = i64::try_from(duration.as_secs()).ok()?;
    Some(actix_web::cookie::time::Duration::seconds(seconds))
}

/// Several servers: the device registry and the login timeouts (see [`Devices`](crate::Devices)).
impl<L: UserLoader> LoginManager<L> {
    /// Keep every login as a device in `registry` ([`MemoryDevices`](crate::MemoryDevices)
    /// for one process, `RedisDevices` for several servers): logout revokes the device, so
    /// no copy of its session or remember cookie logs in again on any instance, and users can
    /// list their devices and log out others with the [`Devices`](crate::Devices) extractor.
    /// Each request that carries a login then asks the registry whether its device is live.
    pub fn device_registry(mut self, registry: impl crate::DeviceRegistry) -> Self {
        self.config.server_side.registry = Some(Rc::new(registry));
        self
    }

    /// End a login that made no request for `timeout` (an idle timeout, actix-identity's
    /// `visit_deadline`), checked on the server for sessions and remember cookies.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.server_side.idle_timeout = Some(timeout);
        self
    }

    /// End a login `lifetime` after the user entered credentials, however active it is (an
    /// absolute lifetime, actix-identity's `login_deadline`); remember cookies included.
    pub fn login_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.server_side.lifetime = Some(lifetime);
        self
    }
}

/// Authorization settings: what a permission guard answers a logged-in user without the
/// permission, and where the anonymous-only guard sends a logged-in visitor.
impl<L: UserLoader> LoginManager<L> {
    /// Answer logged-in users refused by a permission check with this, instead of the
    /// built-in 403 (an HTML page, or `{"error":"forbidden"}` for clients preferring JSON).
    pub fn forbidden_handler(
        mut self,
        handler: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> Self {
        self.config.authz.forbidden_handler = Some(Rc::new(handler));
        self
    }

    /// Answer a refused permission check with 404 instead of 403, for resources whose
    /// existence is secret. A [`forbidden_handler`](Self::forbidden_handler) wins.
    pub fn forbidden_as_not_found(mut self, enabled: bool) -> Self {
        self.config.authz.forbidden_as_not_found = enabled;
        self
    }

    /// Where `#[anonymous_required]` sends a visitor who is already logged in, when the
    /// request carries no safe `next` (default `/`).
    pub fn anonymous_redirect(mut self, path: impl Into<String>) -> Self {
        self.config.authz.anonymous_redirect = Some(path.into());
        self
    }
}

/// Whether a `SessionMiddleware` wraps this request. actix-session offers no public test, so
/// this moves the request's extensions aside, makes a fresh session in the empty ones, and
/// puts the real extensions back: if a session middleware had installed its session, that one
/// replaces the fresh one, which is then no longer the request's (compared by address, no
/// JSON).
fn session_middleware_present(req: &ServiceRequest) -> bool {
    let saved = std::mem::take(&mut *req.extensions_mut());
    // Kept alive until the comparison, so its address cannot be reused.
    let probe = req.get_session();
    req.extensions_mut().extend(saved);
    let session = req.get_session();
    let only_the_probe = std::ptr::eq(&*probe.entries(), &*session.entries());
    !only_the_probe
}
