//! Settings: Flask-Login's config keys, as types, and everything a `LoginManager` was
//! configured with.

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use actix_web::cookie::SameSite;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_flash_messages::Level;
use subtle::ConstantTimeEq;

use crate::client::ProxyTrust;
use crate::core::events::ErasedSink;
use crate::core::hooks::{LoginHook, namespaced};
use crate::events::LoginEvent;
use crate::key::SecretKey;
use crate::remember::{RememberCodec, RememberFormat};

/// How hard the session is tied to the client that logged in (Flask-Login's
/// `SESSION_PROTECTION`). The identifier is SHA-512 of the peer address and the User-Agent,
/// truncated to 96 bits: the session stores this digest, never the address or the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionProtection {
    /// No check.
    Off,
    /// A different client keeps the login but it is no longer fresh, so
    /// `#[fresh_login_required]` asks for the password again.
    #[default]
    Basic,
    /// A different client loses the login (the rest of the session is kept) and its remember
    /// cookie is cleared.
    Strong,
}

/// The remember-me cookie (Flask-Login's `REMEMBER_COOKIE_*` settings).
///
/// Defaults: name `remember_token`, 365 days, path `/`, no domain, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, not refreshed on each request.
///
/// ```
/// use login_runtime::RememberCookie;
/// use std::time::Duration;
///
/// let cookie = RememberCookie::default()
///     .name("remember")
///     .duration(Duration::from_secs(14 * 24 * 3600))
///     .refresh_each_request(true);
/// # let _ = cookie;
/// ```
#[derive(Debug, Clone)]
pub struct RememberCookie {
    pub(crate) name: String,
    pub(crate) duration: Duration,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: SameSite,
    pub(crate) refresh_each_request: bool,
}

impl Default for RememberCookie {
    fn default() -> Self {
        RememberCookie {
            name: "remember_token".to_owned(),
            duration: Duration::from_secs(365 * 24 * 3600),
            domain: None,
            path: "/".to_owned(),
            // Safer than Flask-Login: Secure and SameSite=Lax by default.
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            refresh_each_request: false,
        }
    }
}

impl RememberCookie {
    /// The cookie's name (`REMEMBER_COOKIE_NAME`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// How long a remembered login lasts (`REMEMBER_COOKIE_DURATION`); a duration passed to
    /// [`LoginOptions::duration`](crate::LoginOptions::duration) wins.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }
    /// The cookie's `Domain` (`REMEMBER_COOKIE_DOMAIN`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
    /// The cookie's `Path` (`REMEMBER_COOKIE_PATH`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    /// Whether the cookie is `Secure` (`REMEMBER_COOKIE_SECURE`; default `true`). Turn it off
    /// only for plain-HTTP development.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }
    /// Whether the cookie is `HttpOnly` (`REMEMBER_COOKIE_HTTPONLY`; default `true`).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }
    /// The cookie's `SameSite` (`REMEMBER_COOKIE_SAMESITE`; default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }
    /// Re-issue a remembered login's cookie on every request, restarting its duration
    /// (`REMEMBER_COOKIE_REFRESH_EACH_REQUEST`). Applies only to logins made with remember-me.
    pub fn refresh_each_request(mut self, refresh: bool) -> Self {
        self.refresh_each_request = refresh;
        self
    }
}

/// The session key of the login entry of the default kind of user (see `entry`).
const LOGIN: &str = "_l";
/// The session key of `next` with `next_in_session`, for the default kind of user.
const NEXT: &str = "next";

/// A message flashed when a guard redirects to a login or refresh view.
#[derive(Debug, Clone)]
pub(crate) struct FlashText {
    pub(crate) text: String,
    pub(crate) level: Level,
}

pub(crate) type ResponseHandler = Rc<dyn Fn(&HttpRequest) -> HttpResponse>;
pub(crate) type EventHandler = Rc<dyn Fn(&LoginEvent)>;

/// How refusals are answered: the settings the responses module reads.
#[derive(Clone)]
pub(crate) struct Refusals {
    pub(crate) login_view: Option<String>,
    /// `(path prefix, view)`: the longest matching prefix wins; `None` answers 401.
    pub(crate) scope_login_views: Vec<(String, Option<String>)>,
    pub(crate) refresh_view: Option<String>,
    pub(crate) login_message: Option<FlashText>,
    pub(crate) needs_refresh_message: Option<FlashText>,
    pub(crate) next_in_session: bool,
    pub(crate) unauthorized_handler: Option<ResponseHandler>,
    pub(crate) needs_refresh_handler: Option<ResponseHandler>,
    pub(crate) forbidden_handler: Option<ResponseHandler>,
    /// Answer 404 instead of 403, for resources whose existence is secret.
    pub(crate) forbidden_as_not_found: bool,
    /// Where a login without a second factor goes, on a guard with `second_factor`.
    pub(crate) second_factor_view: Option<String>,
    /// Where it goes when the account has no second factor enrolled.
    pub(crate) second_factor_enrolment_view: Option<String>,
    /// Where the anonymous-only guard sends a logged-in visitor without a safe `next`.
    pub(crate) anonymous_redirect: Option<String>,
    pub(crate) force_host: Option<String>,
}

impl Default for Refusals {
    fn default() -> Self {
        Refusals {
            login_view: None,
            scope_login_views: Vec::new(),
            refresh_view: None,
            login_message: Some(FlashText {
                text: "Please log in to access this page.".to_owned(),
                level: Level::Info,
            }),
            needs_refresh_message: Some(FlashText {
                text: "Please reauthenticate to access this page.".to_owned(),
                level: Level::Info,
            }),
            next_in_session: false,
            unauthorized_handler: None,
            needs_refresh_handler: None,
            forbidden_handler: None,
            forbidden_as_not_found: false,
            second_factor_view: None,
            second_factor_enrolment_view: None,
            anonymous_redirect: None,
            force_host: None,
        }
    }
}

impl Refusals {
    /// The login view for a path: longest matching scope prefix, then the global view.
    /// `Some(None)` means a scope said "no login view here": answer 401.
    pub(crate) fn login_view_for(&self, path: &str) -> Option<&str> {
        let scoped = self
            .scope_login_views
            .iter()
            .filter(|(prefix, _)| path_has_prefix(path, prefix))
            .max_by_key(|(prefix, _)| prefix.len());
        match scoped {
            Some((_, view)) => view.as_deref(),
            None => self.login_view.as_deref(),
        }
    }
}

/// Everything a `LoginManager` was configured with; shared by every request.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) protection: SessionProtection,
    pub(crate) event_handlers: Vec<EventHandler>,
    /// Sinks that are awaited before the response goes out (`events`).
    pub(crate) event_sinks: Vec<Rc<dyn ErasedSink>>,
    pub(crate) guards_disabled: bool,
    /// Which proxies' `Forwarded` / `X-Forwarded-*` headers are believed.
    pub(crate) proxies: ProxyTrust,
    pub(crate) remember: RememberCookie,
    pub(crate) key: SecretKey,
    pub(crate) previous_keys: Vec<SecretKey>,
    pub(crate) codec: RememberCodec,
    pub(crate) key_was_generated: bool,
    pub(crate) refusals: Refusals,
    /// The features that take part in every login and request (`hooks`); empty unless
    /// configured, and then nothing of theirs runs.
    pub(crate) hooks: Vec<Rc<dyn LoginHook>>,
    /// The kind of user this manager logs in, when an app has several (`None`: the default
    /// kind, whose session keys carry no suffix).
    pub(crate) realm: Option<String>,
    /// The session key of the login entry (`_l`, or `_l.<realm>`).
    pub(crate) login_key: String,
    /// The session key of `next` with `next_in_session` (`next`, or `next.<realm>`).
    pub(crate) next_key: String,
}

impl Config {
    pub(crate) fn new() -> Self {
        // One random key per process, not per `LoginManager`: actix builds the app once per
        // worker, and every worker must accept what another one signed.
        static PROCESS_KEY: std::sync::OnceLock<SecretKey> = std::sync::OnceLock::new();
        let key = PROCESS_KEY.get_or_init(SecretKey::generate).clone();
        Config {
            protection: SessionProtection::Basic,
            event_handlers: Vec::new(),
            event_sinks: Vec::new(),
            guards_disabled: false,
            proxies: ProxyTrust::Nobody,
            remember: RememberCookie::default(),
            previous_keys: Vec::new(),
            codec: RememberCodec::new(RememberFormat::Signed, key.clone()),
            key,
            key_was_generated: true,
            refusals: Refusals::default(),
            hooks: Vec::new(),
            realm: None,
            login_key: LOGIN.to_owned(),
            next_key: NEXT.to_owned(),
        }
    }

    /// Makes this the manager of the kind of user `realm` names: its session keys get the
    /// suffix.
    pub(crate) fn set_realm(&mut self, realm: &str) {
        self.realm = Some(realm.to_owned());
        self.login_key = namespaced(LOGIN, Some(realm)).into_owned();
        self.next_key = namespaced(NEXT, Some(realm)).into_owned();
    }

    /// The session key `name` for this manager's kind of user.
    pub(crate) fn session_key(&self, name: &'static str) -> Cow<'static, str> {
        namespaced(name, self.realm.as_deref())
    }

    /// The configured hook of type `H`, for the feature that installed it.
    pub(crate) fn hook<H: LoginHook>(&self) -> Option<&H> {
        self.hooks
            .iter()
            .find_map(|hook| hook.as_any().downcast_ref::<H>())
    }

    /// Installs `hook`, replacing one of the same type.
    pub(crate) fn set_hook<H: LoginHook>(&mut self, hook: H) {
        self.hooks
            .retain(|installed| installed.as_any().downcast_ref::<H>().is_none());
        self.hooks.push(Rc::new(hook));
    }

    /// The session hash tag of `hash` under the current key, then under each previous key
    /// (every item `None` when the user has no session hash), so rotating the key ends no
    /// session and no remember cookie.
    pub(crate) fn hash_tags<'a>(
        &'a self,
        hash: Option<&'a [u8]>,
    ) -> impl Iterator<Item = Option<String>> + 'a {
        std::iter::once(&self.key)
            .chain(self.previous_keys.iter())
            .map(move |key| hash.map(|hash| key.session_hash_tag(hash)))
    }

    /// The position in [`hash_tags`](Self::hash_tags) of the tag that matches the session's
    /// `stored` one, computed on the stack and compared in constant time; `Some(0)` when
    /// neither the user nor the session has a tag.
    pub(crate) fn bound_tag(&self, hash: Option<&[u8]>, stored: Option<&str>) -> Option<usize> {
        let Some(hash) = hash else {
            return stored.is_none().then_some(0);
        };
        let stored = stored?;
        std::iter::once(&self.key)
            .chain(self.previous_keys.iter())
            // Constant-time compare: the tag is a MAC the client must not learn by timing.
            .position(|key| bool::from(key.session_hash_tag_hex(hash).ct_eq(stored.as_bytes())))
    }
}

/// `/admin` is a prefix of `/admin` and `/admin/x`, not of `/administrator`.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.is_empty(),
        None => false,
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refusals = &self.refusals;
        f.debug_struct("Config")
            .field("login_view", &refusals.login_view)
            .field("scope_login_views", &refusals.scope_login_views)
            .field("refresh_view", &refusals.refresh_view)
            .field("next_in_session", &refusals.next_in_session)
            .field("protection", &self.protection)
            .field("guards_disabled", &self.guards_disabled)
            .field("proxies", &self.proxies)
            .field("remember", &self.remember)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::path_has_prefix;

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(path_has_prefix("/admin", "/admin"));
        assert!(path_has_prefix("/admin/users", "/admin"));
        assert!(path_has_prefix("/admin/users", "/admin/"));
        assert!(!path_has_prefix("/administrator", "/admin"));
        assert!(path_has_prefix("/anything", "/"));
    }
}
