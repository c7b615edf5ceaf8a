//! The plug boundary: how a feature takes part in every login, logout, request and response
//! without the core knowing it.
//!
//! A feature that must (the device registry and the login timeouts) implements [`LoginHook`]
//! and the `LoginManager` installs it in the configuration. The core calls each installed
//! hook at fixed points: when a login is made or restored, when it ends, on each request that
//! finds a login, and before the response goes out. With no hook installed the core loops over
//! an empty list: nothing of any feature runs, nothing is allocated.

use std::any::Any;
use std::borrow::Cow;

use actix_session::Session;
use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use crate::client::ProxyTrust;
use crate::core::error::LoginError;
use crate::remember::{RememberFormat, RememberToken};

/// `name` in the session of the kind of user `realm` names: `name` itself for the default
/// kind, `name.realm` for another, so that two kinds of user logged in at once in one browser
/// never share a key.
pub(crate) fn namespaced(name: &'static str, realm: Option<&str>) -> Cow<'static, str> {
    match realm {
        None => Cow::Borrowed(name),
        Some(realm) => Cow::Owned(format!("{name}.{realm}")),
    }
}

/// Where a hook is called from: this request and its session.
pub(crate) struct HookCx<'a> {
    pub(crate) req: &'a HttpRequest,
    pub(crate) session: &'a Session,
    /// Which proxies' headers say who the client is.
    pub(crate) proxies: &'a ProxyTrust,
    /// The user id and the binding of this request's verified remember cookie, if it has one
    /// with a binding.
    pub(crate) cookie: Option<(&'a str, &'a str)>,
    /// The remember cookie's format (a Flask-format cookie carries no binding).
    pub(crate) remember_format: RememberFormat,
    /// The kind of user this manager logs in (`None`: the default kind).
    pub(crate) realm: Option<&'a str>,
}

impl HookCx<'_> {
    /// The session key `name` for this manager's kind of user.
    pub(crate) fn key(&self, name: &'static str) -> Cow<'static, str> {
        namespaced(name, self.realm)
    }
}

/// What a hook adds to a login being written into the session.
#[derive(Debug, Default)]
pub(crate) struct LoginStamp {
    /// Session entries written with the login (and removed with it: declare their keys in
    /// [`LoginHook::session_keys`]).
    pub(crate) entries: Vec<(&'static str, serde_json::Value)>,
    /// Signed into the remember cookie with the login, and given back to
    /// [`LoginHook::vet_cookie`] when the cookie restores it (a device id, say).
    pub(crate) cookie_binding: Option<String>,
}

/// What a hook says of the login a session holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The login goes on.
    Keep,
    /// The login is over (revoked, timed out): the core removes it and clears its remember
    /// cookie.
    End,
}

/// Why the core ended a login that the session or a remember cookie held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The user's credentials changed since (the session hash no longer matches).
    CredentialsChanged,
    /// The user is gone or inactive.
    UserGone,
}

/// A feature that takes part in every login. Each method has a default that does nothing, so
/// a hook implements only the points it needs.
pub(crate) trait LoginHook: 'static {
    /// The hook as `Any`, so that its feature finds it again in the configuration.
    fn as_any(&self) -> &dyn Any;

    /// The session keys this hook writes with a login; they are removed with it.
    fn session_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether `binding`, taken from a verified remember cookie, is one of this hook's
    /// [`LoginStamp::cookie_binding`]s.
    fn accepts_binding(&self, binding: &str) -> bool {
        let _ = binding;
        false
    }

    /// A login of `user_id` is being made (the session still holds the one it `replaced`, of
    /// that user, if any); `session_tag` is the keyed tag of the user's session hash.
    fn on_login(
        &self,
        cx: &HookCx<'_>,
        user_id: &str,
        session_tag: Option<&str>,
        replaced: Option<&str>,
    ) -> Result<LoginStamp, LoginError> {
        let _ = (cx, user_id, session_tag, replaced);
        Ok(LoginStamp::default())
    }

    /// The login is being logged out (the session still holds it).
    fn on_logout(&self, cx: &HookCx<'_>, user_id: Option<&str>) {
        let _ = (cx, user_id);
    }

    /// The core ended the login of `user_id` that this request's session or remember cookie
    /// (the one `binding` came with, if any) held.
    fn on_login_ended(&self, cx: &HookCx<'_>, user_id: &str, why: Ended) {
        let _ = (cx, user_id, why);
    }

    /// Each request whose session holds a login of `user_id`, before the user is loaded.
    fn check_session<'a>(
        &'a self,
        cx: &'a HookCx<'a>,
        user_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<Verdict, LoginError>> {
        let _ = (cx, user_id);
        Box::pin(std::future::ready(Ok(Verdict::Keep)))
    }

    /// A verified remember cookie is about to restore its login: `None` refuses it (the cookie
    /// is then cleared); otherwise what to write with the restored login.
    fn vet_cookie<'a>(
        &'a self,
        cx: &'a HookCx<'a>,
        token: &'a RememberToken,
        binding: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Option<LoginStamp>, LoginError>> {
        let _ = (cx, token, binding);
        Box::pin(std::future::ready(Ok(Some(LoginStamp::default()))))
    }

    /// After the handler, before the response (and so the session) goes out: the place for
    /// writes the login or logout of this request queued. An error fails the request.
    fn before_response<'a>(
        &'a self,
        req: &'a HttpRequest,
    ) -> LocalBoxFuture<'a, Result<(), LoginError>> {
        let _ = req;
        Box::pin(std::future::ready(Ok(())))
    }
}
