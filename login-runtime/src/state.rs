//! The login state of one request: lazy user loading, session protection, and the login
//! operations. Everything in here is shared by the guards and the extractors through one
//! `Rc<RequestState>` kept in the request's extensions.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use actix_session::{Session, SessionExt};
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha512};

use crate::config::Config;
use crate::error::LoginError;
use crate::events::LoginEvent;
use crate::remember::RememberToken;
use crate::user::AuthUser;

/// Session keys owned by login-runtime. Everything else in the session belongs to the app
/// and is never touched.
pub(crate) const USER_ID: &str = "_user_id";
pub(crate) const FRESH: &str = "_fresh";
pub(crate) const IDENTIFIER: &str = "_id";
pub(crate) const AUTH_HASH: &str = "_auth_hash";
pub(crate) const NEXT: &str = "next";
const LOGIN_KEYS: [&str; 7] = [
    USER_ID,
    FRESH,
    IDENTIFIER,
    AUTH_HASH,
    crate::devices::DEVICE,
    crate::devices::LOGIN_AT,
    crate::devices::SEEN,
];

/// A user as the type-erased backend hands it over.
pub(crate) struct LoadedUser {
    pub(crate) object: Rc<dyn Any>,
    pub(crate) active: bool,
    /// The user's session auth hash; only ever compared through keyed tags.
    pub(crate) session_hash: Option<Vec<u8>>,
}

/// The loader and configuration of one `LoginManager`, with the user type erased so that
/// guards, which do not know the user type, can run it.
pub(crate) trait Backend {
    fn config(&self) -> &Config;
    fn user_type_name(&self) -> &'static str;
    /// Parses `id` into the user's id type (an id that does not parse finds nobody) and loads.
    fn load_user(
        self: Rc<Self>,
        id: &str,
    ) -> LocalBoxFuture<'static, Result<Option<LoadedUser>, LoginError>>;
    fn load_user_from_request(
        self: Rc<Self>,
        req: HttpRequest,
    ) -> LocalBoxFuture<'static, Result<Option<(String, LoadedUser)>, LoginError>>;
}

/// Where this request's user came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Session,
    Cookie,
    Request,
}

/// The user of this request, once resolved.
#[derive(Clone)]
pub(crate) struct Current {
    /// `None` right after `login()`: the handler holds the user already.
    pub(crate) user: Option<Rc<dyn Any>>,
    pub(crate) id: String,
    pub(crate) source: Source,
}

type Resolution = Result<Option<Current>, Rc<LoginError>>;

/// The request's user as far as it is known: not asked for yet, being loaded (shared by every
/// guard and extractor that waits for it), or settled.
enum Slot {
    Empty,
    Pending(Shared<LocalBoxFuture<'static, Resolution>>),
    Done(Resolution),
}

/// What the response must do with the remember cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CookieAction {
    Keep,
    Set { value: String, max_age: Duration },
    Clear,
}

pub(crate) struct RequestState {
    pub(crate) backend: Rc<dyn Backend>,
    session_present: bool,
    protected: Cell<bool>,
    resolution: RefCell<Slot>,
    pub(crate) cookie: RefCell<CookieAction>,
    /// The request's remember token, verified at most once however often it is asked for.
    token: OnceCell<Option<RememberToken>>,
    /// This request's device and pending registry writes (`devices`).
    pub(crate) devices: crate::devices::RequestDevices,
}

impl RequestState {
    pub(crate) fn new(backend: Rc<dyn Backend>, session_present: bool) -> Self {
        RequestState {
            backend,
            session_present,
            protected: Cell::new(false),
            resolution: RefCell::new(Slot::Empty),
            cookie: RefCell::new(CookieAction::Keep),
            token: OnceCell::new(),
            devices: crate::devices::RequestDevices::default(),
        }
    }

    /// The state `LoginManager` put on this request.
    pub(crate) fn of(req: &HttpRequest) -> Result<Rc<RequestState>, LoginError> {
        req.extensions()
            .get::<Rc<RequestState>>()
            .cloned()
            .ok_or(LoginError::NoLoginManager)
    }

    pub(crate) fn config(&self) -> &Config {
        self.backend.config()
    }

    pub(crate) fn session(&self, req: &HttpRequest) -> Result<Session, LoginError> {
        if self.session_present {
            Ok(req.get_session())
        } else {
            Err(LoginError::NoSessionMiddleware)
        }
    }

    pub(crate) fn set_cookie_action(&self, action: CookieAction) {
        *self.cookie.borrow_mut() = action;
    }

    fn cookie_cleared(&self) -> bool {
        *self.cookie.borrow() == CookieAction::Clear
    }

    /// The first valid remember token the request carries, verified once per request.
    pub(crate) fn remember_token(&self, req: &HttpRequest) -> Option<&RememberToken> {
        self.token
            .get_or_init(|| {
                remember_token(req, self.config(), SystemTime::now())
                    .map(|token| self.devices.unbind(&self.config().server_side, token))
            })
            .as_ref()
    }

    fn settle(&self, resolution: Resolution) {
        *self.resolution.borrow_mut() = Slot::Done(resolution);
    }

    /// Drops the cached load (and the request a pending one holds).
    pub(crate) fn forget_pending_load(&self) {
        *self.resolution.borrow_mut() = Slot::Empty;
    }

    /// This request's user, loaded at most once however many guards and extractors ask.
    pub(crate) async fn current(
        self: &Rc<Self>,
        req: &HttpRequest,
    ) -> Result<Option<Current>, LoginError> {
        self.resolved(req, Current::clone).await
    }

    /// The user object of this request's user (none right after `login()`), without copying
    /// the rest of [`Current`]: what the extractors ask for.
    pub(crate) async fn current_user(
        self: &Rc<Self>,
        req: &HttpRequest,
    ) -> Result<Option<Rc<dyn Any>>, LoginError> {
        Ok(self
            .resolved(req, |current| current.user.clone())
            .await?
            .flatten())
    }

    /// Resolves the request's user once, and answers `pick` of it.
    async fn resolved<T>(
        self: &Rc<Self>,
        req: &HttpRequest,
        pick: impl Fn(&Current) -> T,
    ) -> Result<Option<T>, LoginError> {
        let pending = match &*self.resolution.borrow() {
            Slot::Done(resolution) => return answer(resolution, pick),
            Slot::Pending(shared) => Some(shared.clone()),
            Slot::Empty => None,
        };
        let shared = match pending {
            Some(shared) => shared,
            None => {
                let mut load = resolve(Rc::clone(self), req.clone()).boxed_local();
                // The usual load (a session, an in-memory or cached user) is ready at once: keep
                // its result as it is. Only a load that has to wait is shared, so that whoever
                // asks meanwhile waits for the same one; a `Shared` that completes wakes the task
                // polling it, which would cost actix a needless extra poll of the connection.
                let first = std::future::poll_fn(|cx| Poll::Ready(load.as_mut().poll(cx))).await;
                if let Poll::Ready(resolution) = first {
                    let result = answer(&resolution, pick);
                    self.settle(resolution);
                    return result;
                }
                let shared = load.shared();
                *self.resolution.borrow_mut() = Slot::Pending(shared.clone());
                shared
            }
        };
        let resolution = shared.await;
        let result = answer(&resolution, pick);
        let mut slot = self.resolution.borrow_mut();
        if matches!(*slot, Slot::Pending(_)) {
            *slot = Slot::Done(resolution);
        }
        result
    }

    /// Session protection, run at most once per request and only for a session that holds a
    /// login (an anonymous session is never touched).
    pub(crate) fn protect(&self, req: &HttpRequest) -> Result<(), LoginError> {
        if self.protected.replace(true) {
            return Ok(());
        }
        let config = self.config();
        let mode = config.protection;
        if mode == crate::SessionProtection::Off {
            return Ok(());
        }
        let session = self.session(req)?;
        if session
            .entries()
            .get(USER_ID)
            .and_then(|raw| json_str(raw))
            .is_none()
        {
            return Ok(());
        }
        let expected = identifier(req, config.trust_proxy_headers);
        {
            let entries = session.entries();
            if entries
                .get(IDENTIFIER)
                .and_then(|raw| json_str(raw))
                .is_some_and(|stored| stored.as_bytes() == expected.as_bytes())
            {
                return Ok(());
            }
        }
        // A session written before identifiers were compact holds the 128-hex SHA-512 one:
        // the same client is recognised by it, and its identifier rewritten in the new form.
        if read::<String>(&session, IDENTIFIER).is_some_and(|stored| {
            stored.len() == 128 && stored == legacy_identifier(req, config.trust_proxy_headers)
        }) {
            return put(&session, IDENTIFIER, expected.as_str());
        }
        let user_id = read::<String>(&session, USER_ID);
        match mode {
            crate::SessionProtection::Strong => {
                // A different client: drop the login (never the app's own keys) and its
                // remember cookie, so a stolen session cookie is worth nothing.
                remove_login_keys(&session);
                self.set_cookie_action(CookieAction::Clear);
                config.emit(LoginEvent::SessionProtected {
                    user_id,
                    dropped: true,
                });
            }
            _ => {
                // A different client keeps the login, but no longer fresh: sensitive pages
                // ask for the password again.
                if read::<bool>(&session, FRESH) == Some(true) {
                    put(&session, FRESH, false)?;
                }
                config.emit(LoginEvent::SessionProtected {
                    user_id,
                    dropped: false,
                });
            }
        }
        Ok(())
    }

    /// Whether the login in this session is fresh (made with credentials in this session).
    pub(crate) fn is_fresh(&self, req: &HttpRequest) -> Result<bool, LoginError> {
        self.protect(req)?;
        let session = self.session(req)?;
        Ok(session.contains_key(USER_ID) && read::<bool>(&session, FRESH) == Some(true))
    }

    /// Whether this request's login comes with a valid remember cookie.
    pub(crate) fn is_remembered(&self, req: &HttpRequest) -> bool {
        match &*self.cookie.borrow() {
            CookieAction::Set { .. } => return true,
            CookieAction::Clear => return false,
            CookieAction::Keep => {}
        }
        self.remember_token(req).is_some()
    }

    pub(crate) fn login<U: AuthUser>(
        &self,
        req: &HttpRequest,
        user: &U,
        options: &crate::LoginOptions,
    ) -> Result<bool, LoginError> {
        if !options.force && !user.is_active() {
            return Ok(false);
        }
        let config = self.config();
        let session = self.session(req)?;
        let id = user.id().to_string();
        let tag = user
            .session_auth_hash()
            .map(|hash| config.key.session_hash_tag(hash));
        let remember = if options.remember {
            let duration = options.duration.unwrap_or(config.remember.duration);
            let now = SystemTime::now();
            if now.checked_add(duration).is_none() || i64::try_from(duration.as_secs()).is_err() {
                return Err(LoginError::InvalidDuration(duration));
            }
            Some((duration, now))
        } else {
            None
        };
        // A new device for a new login (with a registry), signed into its remember cookie.
        let stamp = crate::devices::on_login(self, req, &id);
        let remember = remember.map(|(duration, now)| {
            let cookie_tag = self.devices.bind(tag.as_deref());
            CookieAction::Set {
                value: config
                    .codec
                    .encode(&id, cookie_tag.as_deref(), duration, now),
                max_age: duration,
            }
        });

        remove_login_keys(&session);
        // Renew the session id on login: a session id planted before login (fixation) is
        // worth nothing after it.
        session.renew();
        write_login(
            &session,
            req,
            config,
            &id,
            options.fresh,
            tag.as_deref(),
            stamp.as_ref(),
        )?;
        self.protected.set(true);
        match remember {
            Some(action) => self.set_cookie_action(action),
            // A remember cookie left by an earlier login must not outlive this one.
            None if has_remember_cookie(req, config) => self.set_cookie_action(CookieAction::Clear),
            None => {}
        }
        self.settle(Ok(Some(Current {
            user: None,
            id: id.clone(),
            source: Source::Session,
        })));
        config.emit(LoginEvent::LoggedIn { user_id: id });
        Ok(true)
    }

    pub(crate) fn logout(&self, req: &HttpRequest) -> Result<(), LoginError> {
        let config = self.config();
        let session = self.session(req)?;
        let user_id = read::<String>(&session, USER_ID);
        // Security: with a registry, the login's device is revoked, so neither a copy of its
        // session saved by a request still in flight nor its remember cookie logs in again.
        crate::devices::on_logout(self, req, &session, user_id.as_deref());
        remove_login_keys(&session);
        // Renew the session id on logout, so the old id cannot be replayed.
        session.renew();
        self.protected.set(true);
        if has_remember_cookie(req, config) {
            self.set_cookie_action(CookieAction::Clear);
        }
        self.settle(Ok(None));
        config.emit(LoginEvent::LoggedOut { user_id });
        Ok(())
    }

    pub(crate) fn confirm(&self, req: &HttpRequest) -> Result<(), LoginError> {
        let config = self.config();
        let session = self.session(req)?;
        let user_id = read::<String>(&session, USER_ID);
        if user_id.is_some() {
            put(&session, FRESH, true)?;
            // The confirming client becomes the session's client: basic protection stops
            // flagging it.
            put(
                &session,
                IDENTIFIER,
                identifier(req, config.trust_proxy_headers).as_str(),
            )?;
        }
        self.protected.set(true);
        config.emit(LoginEvent::LoginConfirmed { user_id });
        Ok(())
    }

    /// Writes a login into the session as the test helper asks, as if an earlier request
    /// had logged in from this client.
    pub(crate) fn apply_test_login(
        &self,
        req: &HttpRequest,
        login: &crate::testing::TestLogin,
    ) -> Result<(), LoginError> {
        let session = self.session(req)?;
        let config = self.config();
        let tag = login
            .session_auth_hash
            .as_ref()
            .map(|hash| config.key.session_hash_tag(hash));
        let stamp = crate::devices::on_login(self, req, &login.user_id);
        write_login(
            &session,
            req,
            config,
            &login.user_id,
            login.fresh,
            tag.as_deref(),
            stamp.as_ref(),
        )
    }

    /// The cookie the response must carry, refreshing a remembered login when configured.
    pub(crate) fn cookie_for_response(&self, req: &HttpRequest) -> CookieAction {
        let action = self.cookie.borrow().clone();
        let config = self.config();
        if action != CookieAction::Keep || !config.remember.refresh_each_request {
            return action;
        }
        let now = SystemTime::now();
        let Some(token) = self.remember_token(req) else {
            return CookieAction::Keep;
        };
        if token.signed_with_previous_key && token.hash_tag.is_some() {
            // Its hash tag was made with a retired key and only the user's session hash can
            // make it again: a request that loads the user re-signs it (`resolve`). Re-signing
            // the old tag here would give a cookie that dies with the old key.
            return CookieAction::Keep;
        }
        let duration = token.duration.unwrap_or(config.remember.duration);
        let cookie_tag = self.devices.rebind(token.hash_tag.as_deref());
        CookieAction::Set {
            value: config
                .codec
                .encode(&token.user_id, cookie_tag.as_deref(), duration, now),
            max_age: duration,
        }
    }
}

/// What a caller of [`RequestState::current`] gets from a resolution: `pick` of the user.
fn answer<T>(
    resolution: &Resolution,
    pick: impl Fn(&Current) -> T,
) -> Result<Option<T>, LoginError> {
    match resolution {
        Ok(current) => Ok(current.as_ref().map(pick)),
        Err(error) => Err((**error).clone()),
    }
}

/// Resolves the request's user: session, then remember cookie, then the request loader.
async fn resolve(state: Rc<RequestState>, req: HttpRequest) -> Resolution {
    resolve_inner(&state, &req).await.map_err(Rc::new)
}

async fn resolve_inner(
    state: &Rc<RequestState>,
    req: &HttpRequest,
) -> Result<Option<Current>, LoginError> {
    state.protect(req)?;
    let session = state.session(req)?;
    let config = state.config();
    let backend = Rc::clone(&state.backend);
    // A login whose device was revoked, or that timed out, is removed here.
    crate::devices::check_session(state, &session).await?;

    if let Some(id) = read_str(&session, USER_ID) {
        let user = Rc::clone(&backend).load_user(&id).await?;
        let bound = user.as_ref().and_then(|user| {
            let entries = session.entries();
            let stored_tag = entries.get(AUTH_HASH).and_then(|raw| json_str(raw));
            config.bound_tag(user.session_hash.as_deref(), stored_tag.as_deref())
        });
        match user {
            Some(user) if user.active && bound.is_some() => {
                let hash = user.session_hash.as_deref();
                // Only made when needed: the usual request (tagged under the current key, no
                // key being retired) pays for no extra HMAC.
                let current_tag = || config.hash_tags(hash).next().flatten();
                if bound != Some(0)
                    && let Some(tag) = current_tag()
                {
                    // Tagged under a rotated-out key: re-tag under the current one.
                    put(&session, AUTH_HASH, tag)?;
                }
                // The same for this user's remember cookie while an old key is listed, so
                // retiring it does not end the login once the session does. A cookie whose tag
                // is stale (the password changed since) is never re-signed.
                if !config.previous_keys.is_empty()
                    && !state.cookie_cleared()
                    && let Some(token) = state.remember_token(req)
                    && token.signed_with_previous_key
                    && token.user_id == id
                    && config
                        .hash_tags(hash)
                        .any(|tag| token.hash_tag_matches(tag.as_deref()))
                {
                    let current = current_tag();
                    let cookie_tag = state.devices.rebind(current.as_deref());
                    let action = resign(config, token, cookie_tag.as_deref(), SystemTime::now());
                    state.set_cookie_action(action);
                }
                return Ok(Some(Current {
                    user: Some(user.object),
                    id,
                    source: Source::Session,
                }));
            }
            Some(user) if user.active => {
                // The credentials changed since this login: end it, and its remember cookie.
                tracing::info!(target: "login_runtime", user_id = %id, "session auth hash changed; login ended");
                remove_login_keys(&session);
                state.set_cookie_action(CookieAction::Clear);
            }
            _ => {
                // The user is gone or inactive: remove the stale login, keep the rest.
                remove_login_keys(&session);
            }
        }
    } else if !state.cookie_cleared()
        // The token first (memoised): a request with a valid cookie parses its cookies once,
        // and only a request without one asks whether an invalid one came, to clear it.
        && (state.remember_token(req).is_some() || has_remember_cookie(req, config))
    {
        match crate::devices::vet_cookie(state, state.remember_token(req).cloned()).await? {
            Some(token) => {
                let user = Rc::clone(&backend).load_user(&token.user_id).await?;
                let bound = user.as_ref().and_then(|user| {
                    let hash = user.session_hash.as_deref();
                    config
                        .hash_tags(hash)
                        .position(|tag| token.hash_tag_matches(tag.as_deref()))
                });
                match user {
                    Some(user) if user.active && bound.is_some() => {
                        let current_tag = config
                            .hash_tags(user.session_hash.as_deref())
                            .next()
                            .flatten();
                        // A new session for a restored login: whatever session id came with
                        // the request is not trusted.
                        session.renew();
                        // Not fresh; the identifier stored, so strong protection keeps this
                        // login (Flask-Login #248 drops it on the next request).
                        write_login(
                            &session,
                            req,
                            config,
                            &token.user_id,
                            false,
                            current_tag.as_deref(),
                            state.devices.take_stamp().as_ref(),
                        )?;
                        if token.signed_with_previous_key {
                            let cookie_tag = state.devices.rebind(current_tag.as_deref());
                            let action =
                                resign(config, &token, cookie_tag.as_deref(), SystemTime::now());
                            state.set_cookie_action(action);
                        }
                        config.emit(LoginEvent::LoadedFromCookie {
                            user_id: token.user_id.clone(),
                        });
                        return Ok(Some(Current {
                            user: Some(user.object),
                            id: token.user_id,
                            source: Source::Cookie,
                        }));
                    }
                    _ => state.set_cookie_action(CookieAction::Clear),
                }
            }
            // An invalid cookie is cleared, and does not stop the request loader.
            None => state.set_cookie_action(CookieAction::Clear),
        }
    }

    if let Some((id, user)) = backend.load_user_from_request(req.clone()).await?
        && user.active
    {
        config.emit(LoginEvent::LoadedFromRequest {
            user_id: id.clone(),
        });
        return Ok(Some(Current {
            user: Some(user.object),
            id,
            source: Source::Request,
        }));
    }
    Ok(None)
}

/// Writes a login into the session: the user's id, whether it is fresh, the client's
/// identifier for session protection, and the user's session hash tag if they have one.
fn write_login(
    session: &Session,
    req: &HttpRequest,
    config: &Config,
    user_id: &str,
    fresh: bool,
    tag: Option<&str>,
    stamp: Option<&crate::devices::Stamp>,
) -> Result<(), LoginError> {
    put(session, USER_ID, user_id)?;
    // A login that is not fresh stores no `_fresh`: absent reads as not fresh, and the
    // session cookie stays shorter.
    if fresh {
        put(session, FRESH, true)?;
    } else if session.contains_key(FRESH) {
        session.remove(FRESH);
    }
    put(
        session,
        IDENTIFIER,
        identifier(req, config.trust_proxy_headers).as_str(),
    )?;
    if let Some(tag) = tag {
        put(session, AUTH_HASH, tag)?;
    }
    if let Some(stamp) = stamp {
        crate::devices::write_stamp(session, &config.server_side, stamp)?;
    }
    Ok(())
}

/// A remember cookie verified by a previous key, signed again with the current key and the
/// user's current hash tag. It keeps its expiry, unless every request refreshes it anyway.
fn resign(
    config: &Config,
    token: &RememberToken,
    current_tag: Option<&str>,
    now: SystemTime,
) -> CookieAction {
    let duration = token.duration.unwrap_or(config.remember.duration);
    let (issued, max_age) = match token.expires_at {
        Some(expires) if !config.remember.refresh_each_request => (
            expires.checked_sub(duration).unwrap_or(now),
            expires.duration_since(now).unwrap_or_default(),
        ),
        _ => (now, duration),
    };
    CookieAction::Set {
        value: config
            .codec
            .encode(&token.user_id, current_tag, duration, issued),
        max_age,
    }
}

/// Reads one of our keys; a value of the wrong shape (tampered, or written by something
/// else) reads as absent rather than failing the request.
pub(crate) fn read<T: DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    session.get::<T>(key).ok().flatten()
}

/// [`read`] for a string, without the JSON parser for the usual value (no escapes).
fn read_str(session: &Session, key: &str) -> Option<String> {
    session
        .entries()
        .get(key)
        .and_then(|raw| json_str(raw))
        .map(Cow::into_owned)
}

/// The string a session value (JSON) holds, or `None` if it holds something else. A string
/// without escapes is borrowed as it stands; anything else goes through `serde_json`, so the
/// answer is always the one `serde_json` gives.
fn json_str(raw: &str) -> Option<Cow<'_, str>> {
    let plain = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| inner.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    match plain {
        Some(inner) => Some(Cow::Borrowed(inner)),
        None => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
    }
}

pub(crate) fn put<T: Serialize>(session: &Session, key: &str, value: T) -> Result<(), LoginError> {
    session
        .insert(key, value)
        .map_err(|error| LoginError::Session(error.to_string()))
}

/// Whether the request carries a remember cookie at all, valid or not.
fn has_remember_cookie(req: &HttpRequest, config: &Config) -> bool {
    req.cookies_raw().is_ok_and(|cookies| {
        cookies
            .iter()
            .any(|cookie| cookie.name() == config.remember.name)
    })
}

/// The first valid remember token the request carries. Cookie values are read exactly as
/// sent (not percent-decoded), because that is what was signed; in the FlaskLogin format they
/// are read from the `Cookie` headers the way Werkzeug reads them, quotes and all.
fn remember_token(req: &HttpRequest, config: &Config, now: SystemTime) -> Option<RememberToken> {
    let name = config.remember.name.as_str();
    if config.codec.format() == crate::remember::RememberFormat::FlaskLogin {
        return req
            .headers()
            .get_all(header::COOKIE)
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .flat_map(|value| crate::remember::flask::werkzeug_cookie_values(value, name))
            .find_map(|value| config.codec.decode(&value?, now));
    }
    let cookies = req.cookies_raw().ok()?;
    cookies
        .iter()
        .filter(|cookie| cookie.name() == name)
        .find_map(|cookie| config.codec.decode(cookie.value(), now))
}

pub(crate) fn remove_login_keys(session: &Session) {
    for key in LOGIN_KEYS {
        if session.contains_key(key) {
            session.remove(key);
        }
    }
}

/// Domain separation for [`identifier`], hashed first.
const IDENTIFIER_DOMAIN: &[u8] = b"login-runtime/session-identifier/v2\x00";

/// Bytes of the SHA-512 kept in the identifier: 96 bits, as base64url 16 characters.
const IDENTIFIER_BYTES: usize = 12;

/// The session-protection identifier of a client: 16 base64url characters.
pub(crate) struct Identifier([u8; IDENTIFIER_BYTES / 3 * 4]);

impl Identifier {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always base64url characters, ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The client's identifier for session protection: SHA-512 of its address and User-Agent
/// (as Flask-Login's `_create_identifier`), truncated to 96 bits. The session stores this
/// digest, never the address or the agent. The address is the socket's, unless the app opted
/// in to trusting proxy headers. Each part is written unambiguously (a kind byte, lengths),
/// so no two clients share an input.
pub(crate) fn identifier(req: &HttpRequest, trust_proxy_headers: bool) -> Identifier {
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map_or(&b""[..], |agent| agent.as_bytes());
    if trust_proxy_headers {
        let info = req.connection_info();
        let address = info
            .realip_remote_addr()
            .map(strip_port)
            .unwrap_or_default();
        return hash_identifier(
            b's',
            &[&(address.len() as u64).to_le_bytes(), address.as_bytes()],
            agent,
        );
    }
    // The socket's address: the same client on a keep-alive connection asks for the same
    // identifier request after request, so the answer is memoised per worker thread.
    let (kind, octets) = match req.peer_addr().map(|addr| addr.ip()) {
        Some(std::net::IpAddr::V4(ip)) => (4, ip.to_ipv6_mapped().octets()),
        Some(std::net::IpAddr::V6(ip)) => (6, ip.octets()),
        None => (0, [0; 16]),
    };
    let address: &[u8] = match kind {
        4 => octets.get(12..).unwrap_or_default(),
        6 => &octets,
        _ => &[],
    };
    let mut input = [0_u8; 1 + 16 + MEMOISED_AGENT_LEN];
    let memo_key = (agent.len() <= MEMOISED_AGENT_LEN).then(|| {
        let parts = std::iter::once(kind)
            .chain(address.iter().copied())
            .chain(agent.iter().copied());
        let mut len = 0;
        for (slot, byte) in input.iter_mut().zip(parts) {
            *slot = byte;
            len += 1;
        }
        input.get(..len).unwrap_or_default()
    });
    let compute = || hash_identifier(kind, &[address], agent).0;
    let identifier = match memo_key {
        Some(key) => IDENTIFIER_MEMO
            .try_with(|memo| match memo.try_borrow_mut() {
                Ok(mut memo) => memo.get_or_compute(0, key, || widen(compute())),
                Err(_) => widen(compute()),
            })
            .unwrap_or_else(|_| widen(compute())),
        None => widen(compute()),
    };
    let mut narrow = [0_u8; IDENTIFIER_BYTES / 3 * 4];
    for (out, byte) in narrow.iter_mut().zip(identifier.iter()) {
        *out = *byte;
    }
    Identifier(narrow)
}

/// Longest User-Agent whose identifier is memoised (longer ones are hashed every time).
const MEMOISED_AGENT_LEN: usize = 495;

thread_local! {
    /// The memo of [`identifier`], per worker thread.
    static IDENTIFIER_MEMO: RefCell<crate::key::DigestMemo> =
        const { RefCell::new(crate::key::DigestMemo::new()) };
}

/// An identifier in the memo's 32-byte slot.
fn widen(identifier: [u8; IDENTIFIER_BYTES / 3 * 4]) -> [u8; 32] {
    let mut wide = [0_u8; 32];
    for (out, byte) in wide.iter_mut().zip(identifier.iter()) {
        *out = *byte;
    }
    wide
}

/// SHA-512 of the domain, the address kind, the address parts and the agent, truncated.
fn hash_identifier(kind: u8, address: &[&[u8]], agent: &[u8]) -> Identifier {
    let mut hasher = Sha512::new();
    hasher.update(IDENTIFIER_DOMAIN);
    hasher.update([kind]);
    for part in address {
        hasher.update(part);
    }
    // The agent's bytes as sent, last: nothing follows them.
    hasher.update(agent);
    let digest = hasher.finalize();
    let mut truncated = [0_u8; IDENTIFIER_BYTES];
    for (out, byte) in truncated.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    Identifier(base64url(&truncated))
}

/// Unpadded base64url of a multiple of three bytes.
fn base64url<const N: usize, const M: usize>(bytes: &[u8; N]) -> [u8; M] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = [0_u8; M];
    for (chars, group) in out.chunks_exact_mut(4).zip(bytes.chunks_exact(3)) {
        let [a, b, c] = [0, 1, 2].map(|i| u32::from(group.get(i).copied().unwrap_or(0)));
        let bits = (a << 16) | (b << 8) | c;
        for (i, char) in chars.iter_mut().enumerate() {
            let sextet = (bits >> (18 - 6 * i)) & 0x3f;
            *char = ALPHABET.get(sextet as usize).copied().unwrap_or(b'A');
        }
    }
    out
}

/// The identifier sessions stored before 0.1's compact one: hex SHA-512 of `address|agent`.
/// Only computed for a session that holds one.
fn legacy_identifier(req: &HttpRequest, trust_proxy_headers: bool) -> String {
    let address = if trust_proxy_headers {
        req.connection_info().realip_remote_addr().map(strip_port)
    } else {
        req.peer_addr().map(|addr| addr.ip().to_string())
    };
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let mut hasher = Sha512::new();
    hasher.update(address.unwrap_or_default().as_bytes());
    hasher.update(b"|");
    hasher.update(agent.unwrap_or_default().as_bytes());
    hex::encode(hasher.finalize())
}

fn strip_port(addr: &str) -> String {
    if let Ok(socket) = addr.parse::<std::net::SocketAddr>() {
        return socket.ip().to_string();
    }
    addr.to_owned()
}
