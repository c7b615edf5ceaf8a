//! `LoginManager`: the builder users configure, with Flask-Login's settings as methods.

use std::any::type_name;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};
use actix_web_flash_messages::Level;

use crate::client::{ProxyTrust, TrustedProxies};
use crate::core::config::{Config, FlashText, RememberCookie, SessionProtection};
use crate::core::events::EventSink;
use crate::devices::DeviceRegistry;
use crate::devices::hook::ServerSide;
use crate::events::LoginEvent;
use crate::key::SecretKey;
use crate::model::loader::UserLoader;
use crate::remember::{RememberCodec, RememberFormat};

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
    pub(crate) loader: Rc<L>,
    pub(crate) config: Config,
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
        LoginManager {
            loader: Rc::new(loader),
            config: Config::new(),
        }
    }

    /// Where guards send anonymous browsers (`login_view`): a path on this site such as
    /// `/login`, or an absolute `https://` (or `http://`) URL of a login service. The request's
    /// path goes along as `next` (its whole URL, for a service on another host). The same two
    /// shapes are what `#[login_required(login_view = "..")]` accepts; the macro refuses any
    /// other at compile time. The handler serving this view must not be guarded: a request
    /// to it answers a 500 naming the mistake, never a redirect loop.
    pub fn login_view(mut self, path: impl Into<String>) -> Self {
        self.config.refusals.login_view = Some(path.into());
        self
    }

    /// A login view for every path under `prefix` (Flask-Login's `blueprint_login_views`, for
    /// an actix scope). The longest matching prefix wins over the global view; `None` makes
    /// the scope answer 401 instead of redirecting. A handler's own
    /// `#[login_required(login_view = "..")]` wins over both.
    pub fn scope_login_view(mut self, prefix: impl Into<String>, view: Option<&str>) -> Self {
        self.config
            .refusals
            .scope_login_views
            .push((prefix.into(), view.map(str::to_owned)));
        self
    }

    /// Where `#[fresh_login_required]` sends a login that is not fresh (`refresh_view`).
    pub fn refresh_view(mut self, path: impl Into<String>) -> Self {
        self.config.refusals.refresh_view = Some(path.into());
        self
    }

    /// The message flashed when redirecting to the login view (default "Please log in to
    /// access this page."); `None` flashes nothing. Messages go through
    /// `actix-web-flash-messages` when its `FlashMessagesFramework` is installed.
    pub fn login_message(mut self, message: Option<&str>, level: Level) -> Self {
        self.config.refusals.login_message = flash_text(message, level);
        self
    }

    /// The message flashed when redirecting to the refresh view (default "Please
    /// reauthenticate to access this page."); `None` flashes nothing.
    pub fn needs_refresh_message(mut self, message: Option<&str>, level: Level) -> Self {
        self.config.refusals.needs_refresh_message = flash_text(message, level);
        self
    }

    /// Keep `next` in the session instead of the login URL's query (`USE_SESSION_FOR_NEXT`).
    pub fn next_in_session(mut self, enabled: bool) -> Self {
        self.config.refusals.next_in_session = enabled;
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
        self.config.refusals.unauthorized_handler = Some(Rc::new(handler));
        self
    }

    /// Answer logins that are not fresh on `#[fresh_login_required]` handlers with this
    /// (`needs_refresh_handler`).
    pub fn needs_refresh_handler(
        mut self,
        handler: impl Fn(&HttpRequest) -> HttpResponse + 'static,
    ) -> Self {
        self.config.refusals.needs_refresh_handler = Some(Rc::new(handler));
        self
    }

    /// Call `callback` with every [`LoginEvent`] (Flask-Login's signals). Callbacks run
    /// in the request, in registration order; keep them quick.
    pub fn on_event(mut self, callback: impl Fn(&LoginEvent) + 'static) -> Self {
        self.config.event_handlers.push(Rc::new(callback));
        self
    }

    /// Hand every [`LoginEvent`] to `sink` as well, after the handler and before the response
    /// goes out, waiting for it (an audit trail in a database); see [`EventSink`]. A sink's
    /// error fails the request. Without a sink, no event is kept.
    pub fn event_sink(mut self, sink: impl EventSink) -> Self {
        self.config.event_sinks.push(Rc::new(sink));
        self
    }

    /// Let every request through the guards (`LOGIN_DISABLED`), for tests. Extractors still
    /// report who is logged in.
    pub fn disable_guards(mut self, disabled: bool) -> Self {
        self.config.guards_disabled = disabled;
        self
    }

    /// Take the client address for session protection from `Forwarded` /
    /// `X-Forwarded-For` instead of the socket, from whoever sends them. Only behind a proxy
    /// that sets them: a client can write these headers itself. Prefer
    /// [`trusted_proxies`](Self::trusted_proxies), which believes them only from your proxies.
    pub fn trust_proxy_headers(mut self, trust: bool) -> Self {
        self.config.proxies = if trust {
            ProxyTrust::Everyone
        } else {
            ProxyTrust::Nobody
        };
        self
    }

    /// Believe `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto` / `X-Forwarded-Host` only
    /// from these proxies (the load balancer, the reverse proxy): the client's address is then
    /// the right-most hop that is not one of them, for session protection, devices and
    /// [`client_address`](crate::client_address) alike, and the scheme and host of login URLs
    /// are the proxy's. A client that connects directly and writes these headers changes
    /// nothing. Replaces [`trust_proxy_headers`](Self::trust_proxy_headers), which believes
    /// anyone.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.config.proxies = ProxyTrust::Only(proxies);
        self
    }

    /// Redirect to login views on this host (`FORCE_HOST_FOR_REDIRECTS`), e.g. `login.example.com`.
    pub fn force_host(mut self, host: impl Into<String>) -> Self {
        self.config.refusals.force_host = Some(host.into());
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

    /// Makes this the manager of another kind of user than the app's default one (staff next
    /// to customers, say), named `realm`: a short word such as `"staff"`. Its logins are kept
    /// apart from the default kind's in the same session (`_l.staff`), with a remember cookie
    /// of its own (`remember_token_staff` unless [`remember_cookie`](Self::remember_cookie)
    /// names one), its own views, events, device registry and timeouts, so both kinds can be
    /// logged in at once in one browser and logging out of one leaves the other. Guards and
    /// extractors find it by the user type its loader loads: `CurrentUser<Staff>`,
    /// `#[login_required(user = Staff)]`. One `LoginManager` of an app has no realm: the
    /// default kind, which Flask-format remember cookies and a guard without a user type use.
    pub fn realm(mut self, realm: &str) -> Self {
        self.config.set_realm(realm);
        self
    }

    /// The remember cookie's name, duration and attributes.
    pub fn remember_cookie(mut self, cookie: RememberCookie) -> Self {
        self.config.remember = cookie;
        self
    }
}

/// Several servers: the device registry and the login timeouts (see [`Devices`](crate::Devices)).
impl<L: UserLoader> LoginManager<L> {
    /// Keep every login as a device in `registry` ([`MemoryDevices`](crate::MemoryDevices)
    /// for one process, `RedisDevices` for several servers): logout revokes the device, so
    /// no copy of its session or remember cookie logs in again on any instance, and users can
    /// list their devices and log out others with the [`Devices`](crate::Devices) extractor.
    /// Each request that carries a login then asks the registry whether its device is live.
    pub fn device_registry(self, registry: impl DeviceRegistry) -> Self {
        self.server_side(|side| side.registry = Some(Rc::new(registry)))
    }

    /// End a login that made no request for `timeout` (an idle timeout, actix-identity's
    /// `visit_deadline`), checked on the server for sessions and remember cookies.
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.server_side(|side| side.timeouts.idle = Some(timeout))
    }

    /// End a login `lifetime` after the user entered credentials, however active it is (an
    /// absolute lifetime, actix-identity's `login_deadline`); remember cookies included.
    pub fn login_lifetime(self, lifetime: Duration) -> Self {
        self.server_side(|side| side.timeouts.lifetime = Some(lifetime))
    }

    /// Changes the device and timeout settings, installing their hook on first use.
    fn server_side(mut self, change: impl FnOnce(&mut ServerSide)) -> Self {
        let mut side = self
            .config
            .hook::<ServerSide>()
            .cloned()
            .unwrap_or_default();
        change(&mut side);
        self.config.set_hook(side);
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
        self.config.refusals.forbidden_handler = Some(Rc::new(handler));
        self
    }

    /// Answer a refused permission check with 404 instead of 403, for resources whose
    /// existence is secret. A [`forbidden_handler`](Self::forbidden_handler) wins.
    pub fn forbidden_as_not_found(mut self, enabled: bool) -> Self {
        self.config.refusals.forbidden_as_not_found = enabled;
        self
    }

    /// Where a guard with `second_factor` sends a login made without one (with `next`): the
    /// page that asks for the one-time code or the passkey.
    pub fn second_factor_view(mut self, path: impl Into<String>) -> Self {
        self.config.refusals.second_factor_view = Some(path.into());
        self
    }

    /// Where a guard with `second_factor` sends an account that has no second factor to give
    /// ([`UserLoader::has_second_factor`](crate::UserLoader::has_second_factor) is `false`): the
    /// page that enrols one. Without it, the [second-factor view](Self::second_factor_view).
    pub fn second_factor_enrolment_view(mut self, path: impl Into<String>) -> Self {
        self.config.refusals.second_factor_enrolment_view = Some(path.into());
        self
    }

    /// Where `#[anonymous_required]` sends a visitor who is already logged in, when the
    /// request carries no safe `next` (default `/`).
    pub fn anonymous_redirect(mut self, path: impl Into<String>) -> Self {
        self.config.refusals.anonymous_redirect = Some(path.into());
        self
    }
}

/// A flashed message of the builder's: `None` or an empty text flashes nothing.
fn flash_text(message: Option<&str>, level: Level) -> Option<FlashText> {
    message
        .filter(|text| !text.is_empty())
        .map(|text| FlashText {
            text: text.to_owned(),
            level,
        })
}
