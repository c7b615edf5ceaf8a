//! Settings: Flask-Login's config keys, as types.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use actix_web::cookie::SameSite;
use actix_web::{HttpRequest, HttpResponse};
use actix_web_flash_messages::Level;
use subtle::ConstantTimeEq;

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

/// A message flashed when a guard redirects to a login or refresh view.
#[derive(Debug, Clone)]
pub(crate) struct FlashText {
    pub(crate) text: String,
    pub(crate) level: Level,
}

pub(crate) type ResponseHandler = Rc<dyn Fn(&HttpRequest) -> HttpResponse>;
pub(crate) type EventHandler = Rc<dyn Fn(&LoginEvent)>;

/// Everything a `LoginManager` was configured with; shared by every request.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) login_view: Option<String>,
    /// `(path prefix, view)`: the longest matching prefix wins; `None` answers 401.
    pub(crate) scope_login_views: Vec<(String, Option<String>)>,
    pub(crate) refresh_view: Option<String>,
    pub(crate) login_message: Option<FlashText>,
    pub(crate) needs_refresh_message: Option<FlashText>,
    pub(crate) next_in_session: bool,
    pub(crate) protection: SessionProtection,
    pub(crate) unauthorized_handler: Option<ResponseHandler>,
    pub(crate) needs_refresh_handler: Option<ResponseHandler>,
    pub(crate) event_handlers: Vec<EventHandler>,
    pub(crate) guards_disabled: bool,
    pub(crate) trust_proxy_headers: bool,
    pub(crate) force_host: Option<String>,
    pub(crate) remember: RememberCookie,
    pub(crate) key: SecretKey,
    pub(crate) previous_keys: Vec<SecretKey>,
    pub(crate) codec: RememberCodec,
    pub(crate) key_was_generated: bool,
    /// The device registry and the login timeouts (`devices`).
    pub(crate) server_side: crate::devices::ServerSide,
    /// Permissions: the lookup, the forbidden response, the anonymous-only redirect.
    pub(crate) authz: crate::authz::AuthzConfig,
}

impl Config {
    pub(crate) fn new() -> Self {
        // One random key per process, not per `LoginManager`: actix builds the app once per
        // worker, and every worker must accept what another one signed.
        static PROCESS_KEY: std::sync::OnceLock<SecretKey> = std::sync::OnceLock::new();
        let key = PROCESS_KEY.get_or_init(SecretKey::generate).clone();
        Config {
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
            protection: SessionProtection::Basic,
            unauthorized_handler: None,
            needs_refresh_handler: None,
            event_handlers: Vec::new(),
            guards_disabled: false,
            trust_proxy_headers: false,
            force_host: None,
            remember: RememberCookie::default(),
            previous_keys: Vec::new(),
            codec: RememberCodec::new(RememberFormat::Signed, key.clone()),
            key,
            key_was_generated: true,
            server_side: crate::devices::ServerSide::default(),
            authz: crate::authz::AuthzConfig::default(),
        }
    }

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

    pub(crate) fn emit(&self, event: LoginEvent) {
        event.trace();
        for handler in &self.event_handlers {
            handler(&event);
        }
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
        f.debug_struct("Config")
            .field("login_view", &self.login_view)
            .field("scope_login_views", &self.scope_login_views)
            .field("refresh_view", &self.refresh_view)
            .field("next_in_session", &self.next_in_session)
            .field("protection", &self.protection)
            .field("guards_disabled", &self.guards_disabled)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("remember", &self.remember)
            .field("server_side", &self.server_side)
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
