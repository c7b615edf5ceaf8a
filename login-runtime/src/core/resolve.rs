//! Who this request's user is: the session, then the remember cookie, then the request
//! loader; loaded at most once per request however many guards and extractors ask.

use std::any::Any;
use std::rc::Rc;
use std::task::Poll;
use std::time::SystemTime;

use actix_session::Session;
use actix_web::HttpRequest;
use futures_util::FutureExt;

use crate::core::cookie::{self, CookieAction};
use crate::core::entry::update_entry;
use crate::core::error::LoginError;
use crate::core::hooks::{Ended, Verdict};
use crate::core::protection::Snapshot;
use crate::core::record::{LoginRecord, write_login};
use crate::core::session::remove_login_keys;
use crate::core::state::{Current, RequestState, Resolution, Slot, Source};
use crate::events::LoginEvent;
use crate::remember::RememberToken;

impl RequestState {
    /// This request's user, loaded at most once however many guards and extractors ask.
    pub(crate) async fn current(
        self: &Rc<Self>,
        req: &HttpRequest,
    ) -> Result<Option<Current>, LoginError> {
        self.resolved(req, Current::clone).await
    }

    /// Where this request's user came from, if there is one: what a guard asks, without
    /// copying the user's id.
    pub(crate) async fn current_source(
        self: &Rc<Self>,
        req: &HttpRequest,
    ) -> Result<Option<Source>, LoginError> {
        self.resolved(req, |current| current.source).await
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

    /// Removes a login that can no longer be valid (the rest of the session kept) and tells
    /// the features, which may revoke what they keep of it.
    fn forget_login(&self, req: &HttpRequest, session: &Session, user_id: &str, why: Ended) {
        let config = self.config();
        remove_login_keys(session, config);
        if config.hooks.is_empty() {
            return;
        }
        // The remember cookie's binding too (its device), whether or not it was read yet.
        let _ = self.remember_token(req);
        let binding = self.cookie_binding();
        let cx = self.hook_cx(req, session, binding.as_deref());
        for hook in &config.hooks {
            hook.on_login_ended(&cx, user_id, why);
        }
    }

    /// [`forget_login`](Self::forget_login), and its remember cookie cleared.
    fn end_login(&self, req: &HttpRequest, session: &Session, user_id: &str, why: Ended) {
        self.forget_login(req, session, user_id, why);
        self.set_cookie_action(CookieAction::Clear);
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
    let session = state.session(req)?;
    let config = state.config();
    let mut snapshot = state.protect_and_read(req, &session)?;
    // A feature may end the session's login here (a revoked device, a timeout).
    if let Some(login) = &snapshot
        && !check_with_hooks(state, req, &session, &login.user_id).await?
    {
        snapshot = None;
    }

    if let Some(login) = snapshot {
        if let Some(current) = from_session(state, req, &session, login).await? {
            return Ok(Some(current));
        }
    } else if !state.cookie_cleared()
        // The token first (memoised): a request with a valid cookie parses its cookies once,
        // and only a request without one asks whether an invalid one came, to clear it.
        && (state.remember_token(req).is_some() || cookie::has_remember_cookie(req, config))
    {
        match state.remember_token(req).cloned() {
            Some(token) => {
                if let Some(current) = from_cookie(state, req, &session, token).await? {
                    return Ok(Some(current));
                }
            }
            // An invalid cookie is cleared, and does not stop the request loader.
            None => state.set_cookie_action(CookieAction::Clear),
        }
    }

    let backend = Rc::clone(&state.backend);
    if let Some((id, user)) = backend.load_user_from_request(req.clone()).await?
        && user.active
    {
        state.emit(LoginEvent::LoadedFromRequest {
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

/// Asks each feature whether the session's login of `user_id` goes on; `false` when one
/// ended it (it is then removed, and its remember cookie cleared).
async fn check_with_hooks(
    state: &RequestState,
    req: &HttpRequest,
    session: &Session,
    user_id: &str,
) -> Result<bool, LoginError> {
    let config = state.config();
    if config.hooks.is_empty() {
        return Ok(true);
    }
    let cx = state.hook_cx(req, session, None);
    for hook in &config.hooks {
        if hook.check_session(&cx, user_id).await? == Verdict::End {
            tracing::info!(target: "login_runtime", user_id = %user_id, "login revoked or timed out; ended");
            remove_login_keys(session, config);
            state.set_cookie_action(CookieAction::Clear);
            return Ok(false);
        }
    }
    Ok(true)
}

/// The login the session holds, if its user is still there, active, and has the credentials
/// it logged in with; otherwise the login is removed (the rest of the session kept).
async fn from_session(
    state: &RequestState,
    req: &HttpRequest,
    session: &Session,
    login: Snapshot,
) -> Result<Option<Current>, LoginError> {
    let config = state.config();
    let Snapshot { user_id: id, tag } = login;
    let user = Rc::clone(&state.backend).load_user(&id).await?;
    let bound = user
        .as_ref()
        .and_then(|user| config.bound_tag(user.session_hash(), tag.as_str()));
    match user {
        Some(user) if user.active && bound.is_some() => {
            let hash = user.session_hash();
            // Only made when needed: the usual request (tagged under the current key, no key
            // being retired) pays for no extra HMAC.
            let current_tag = || config.hash_tags(hash).next().flatten();
            if bound != Some(0)
                && let Some(tag) = current_tag()
            {
                // Tagged under a rotated-out key: re-tag under the current one.
                update_entry(session, config, |entry| entry.tag = Some(tag))?;
            }
            // The same for this user's remember cookie while an old key is listed, so retiring
            // it does not end the login once the session does. A cookie whose tag is stale (the
            // password changed since) is never re-signed.
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
                let binding = state.cookie_binding();
                let tag = cookie::bound_tag(binding.as_deref(), current.as_deref());
                let action = cookie::resign(config, token, tag.as_deref(), SystemTime::now());
                state.set_cookie_action(action);
            }
            Ok(Some(Current {
                user: Some(user.object),
                id,
                source: Source::Session,
            }))
        }
        Some(user) if user.active => {
            // The credentials changed since this login: end it, and its remember cookie.
            tracing::info!(target: "login_runtime", user_id = %id, "session auth hash changed; login ended");
            state.end_login(req, session, &id, Ended::CredentialsChanged);
            Ok(None)
        }
        _ => {
            // The user is gone or inactive: remove the stale login, keep the rest.
            state.forget_login(req, session, &id, Ended::UserGone);
            Ok(None)
        }
    }
}

/// The login a verified remember cookie restores, once every feature agrees and its user is
/// still there with the credentials the cookie was bound to; otherwise the cookie is cleared.
async fn from_cookie(
    state: &RequestState,
    req: &HttpRequest,
    session: &Session,
    token: RememberToken,
) -> Result<Option<Current>, LoginError> {
    let config = state.config();
    let binding = state.cookie_binding();
    let mut stamps = Vec::with_capacity(config.hooks.len());
    {
        let cx = state.hook_cx(req, session, binding.as_deref());
        for hook in &config.hooks {
            match hook.vet_cookie(&cx, &token, binding.as_deref()).await? {
                Some(stamp) => stamps.push(stamp),
                None => {
                    state.set_cookie_action(CookieAction::Clear);
                    return Ok(None);
                }
            }
        }
    }
    let user = Rc::clone(&state.backend).load_user(&token.user_id).await?;
    let bound = user.as_ref().and_then(|user| {
        let hash = user.session_hash();
        config
            .hash_tags(hash)
            .position(|tag| token.hash_tag_matches(tag.as_deref()))
    });
    match user {
        Some(user) if user.active && bound.is_some() => {
            let current_tag = config.hash_tags(user.session_hash()).next().flatten();
            // A new session for a restored login: whatever session id came with the request
            // is not trusted.
            session.renew();
            // Not fresh; the identifier stored, so strong protection keeps this login
            // (Flask-Login #248 drops it on the next request).
            let login = LoginRecord {
                user_id: &token.user_id,
                fresh: false,
                tag: current_tag.as_deref(),
                // A restored login was made by no method in this session.
                methods: &[],
            };
            write_login(session, req, config, &login, &stamps)?;
            if token.signed_with_previous_key {
                let tag = cookie::bound_tag(binding.as_deref(), current_tag.as_deref());
                let action = cookie::resign(config, &token, tag.as_deref(), SystemTime::now());
                state.set_cookie_action(action);
            }
            state.emit(LoginEvent::LoadedFromCookie {
                user_id: token.user_id.clone(),
            });
            Ok(Some(Current {
                user: Some(user.object),
                id: token.user_id,
                source: Source::Cookie,
            }))
        }
        Some(user) if user.active => {
            state.end_login(req, session, &token.user_id, Ended::CredentialsChanged);
            Ok(None)
        }
        _ => {
            state.end_login(req, session, &token.user_id, Ended::UserGone);
            Ok(None)
        }
    }
}
