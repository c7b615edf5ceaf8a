//! The login operations: `login_user`, `logout_user`, `confirm_login`, `login_fresh` and
//! `login_remembered`, and the login a test plants.

use std::any::TypeId;
use std::time::{Duration, SystemTime};

use actix_web::HttpRequest;

use crate::core::cookie::{self, CookieAction};
use crate::core::entry::{login_user_id, update_entry, with_entry};
use crate::core::error::LoginError;
use crate::core::methods::{AuthMethod, decode, encode};
use crate::core::protection::identifier;
use crate::core::record::{LoginRecord, write_login};
use crate::core::session::remove_login_keys;
use crate::core::state::{Current, RequestState, Source};
use crate::events::LoginEvent;
use crate::model::user::AuthUser;

/// How [`Login::login_with`](crate::Login::login_with) logs a user in (`login_user`'s
/// keyword arguments).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOptions {
    pub(crate) remember: bool,
    pub(crate) duration: Option<Duration>,
    pub(crate) force: bool,
    pub(crate) fresh: bool,
    pub(crate) methods: Vec<AuthMethod>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            remember: false,
            duration: None,
            force: false,
            fresh: true,
            methods: Vec::new(),
        }
    }
}

impl LoginOptions {
    /// A fresh login, not remembered, refusing inactive users.
    pub fn new() -> Self {
        Self::default()
    }
    /// Also set a remember-me cookie, so the login survives the session.
    pub fn remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }
    /// How long this login is remembered, instead of the configured duration.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }
    /// Log the user in even if inactive.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
    /// Whether the login counts as fresh (default `true`). Pass `false` for logins that did
    /// not check a password, e.g. a magic link.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }
    /// Records that the user proved who they are with `method` (call once per method: a
    /// password, then a one-time code), for [`Login::methods`](crate::Login::methods) and the
    /// guards' `second_factor` argument.
    pub fn method(mut self, method: AuthMethod) -> Self {
        self.methods.push(method);
        self
    }
}

/// A login that a test attached to its request, written into the session when the request
/// arrives as if an earlier request of the same client had made it.
#[derive(Debug, Clone)]
pub(crate) struct PlantedLogin {
    /// The type of the user, so the manager of that kind of user takes it.
    pub(crate) user_type: TypeId,
    pub(crate) user_id: String,
    pub(crate) fresh: bool,
    pub(crate) session_hash: Option<Vec<u8>>,
    pub(crate) methods: Vec<AuthMethod>,
}

/// The logins a test attached to its request, one per kind of user.
#[derive(Debug, Default)]
pub(crate) struct PlantedLogins(pub(crate) Vec<PlantedLogin>);

impl PlantedLogins {
    /// The login for the kind of user `user_type`, taken out.
    pub(crate) fn take(&mut self, user_type: TypeId) -> Option<PlantedLogin> {
        let at = self
            .0
            .iter()
            .position(|login| login.user_type == user_type)?;
        Some(self.0.remove(at))
    }
}

impl RequestState {
    pub(crate) fn login<U: AuthUser>(
        &self,
        req: &HttpRequest,
        user: &U,
        options: &LoginOptions,
    ) -> Result<bool, LoginError> {
        if !options.force && !user.is_active() {
            return Ok(false);
        }
        let config = self.config();
        let session = self.session(req)?;
        let id = user.id().to_string();
        let hash = user.session_auth_hash();
        let tag = hash.map(|hash| config.key.session_hash_tag(hash));
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
        // What the features add to the new login (a new device, its times), told while the
        // session still holds the login this one replaces.
        let mut stamps = Vec::with_capacity(config.hooks.len());
        if !config.hooks.is_empty() {
            let replaced = login_user_id(&session, config);
            let binding = self.cookie_binding();
            let cx = self.hook_cx(req, &session, binding.as_deref());
            for hook in &config.hooks {
                stamps.push(hook.on_login(&cx, &id, tag.as_deref(), replaced.as_deref())?);
            }
        }
        let binding = stamps.iter().find_map(|stamp| stamp.cookie_binding.clone());
        let remember = remember.map(|(duration, now)| {
            let cookie_tag = cookie::bound_tag(binding.as_deref(), tag.as_deref());
            cookie::issue(config, &id, cookie_tag.as_deref(), duration, now)
        });

        remove_login_keys(&session, config);
        // Renew the session id on login: a session id planted before login (fixation) is
        // worth nothing after it.
        session.renew();
        let record = LoginRecord {
            user_id: &id,
            fresh: options.fresh,
            tag: tag.as_deref(),
            methods: &options.methods,
        };
        write_login(&session, req, config, &record, &stamps)?;
        self.protected.set(true);
        match remember {
            Some(action) => self.set_cookie_action(action),
            // A remember cookie left by an earlier login must not outlive this one.
            None if cookie::has_remember_cookie(req, config) => {
                self.set_cookie_action(CookieAction::Clear);
            }
            None => {}
        }
        *self.user_hash.borrow_mut() = hash.map(<[u8]>::to_vec);
        self.settle(Ok(Some(Current {
            user: None,
            id: id.clone(),
            source: Source::Session,
        })));
        self.emit(LoginEvent::LoggedIn { user_id: id });
        Ok(true)
    }

    pub(crate) fn logout(&self, req: &HttpRequest) -> Result<(), LoginError> {
        let config = self.config();
        let session = self.session(req)?;
        let user_id = login_user_id(&session, config);
        if !config.hooks.is_empty() {
            // The remember cookie's binding too (its device), whether or not it was read yet.
            let _ = self.remember_token(req);
            let binding = self.cookie_binding();
            let cx = self.hook_cx(req, &session, binding.as_deref());
            for hook in &config.hooks {
                hook.on_logout(&cx, user_id.as_deref());
            }
        }
        remove_login_keys(&session, config);
        // Renew the session id on logout, so the old id cannot be replayed.
        session.renew();
        self.protected.set(true);
        if cookie::has_remember_cookie(req, config) {
            self.set_cookie_action(CookieAction::Clear);
        }
        self.settle(Ok(None));
        self.emit(LoginEvent::LoggedOut { user_id });
        Ok(())
    }

    pub(crate) fn confirm(
        &self,
        req: &HttpRequest,
        methods: &[AuthMethod],
    ) -> Result<(), LoginError> {
        let config = self.config();
        let session = self.session(req)?;
        let user_id = login_user_id(&session, config);
        if user_id.is_some() {
            // The confirming client becomes the session's client: basic protection stops
            // flagging it.
            let client = identifier(req, &config.proxies);
            update_entry(&session, config, |entry| {
                let mut all = decode(&entry.methods);
                all.extend_from_slice(methods);
                entry.fresh = true;
                entry.methods = encode(&all);
                entry.identifier = client.as_str().to_owned();
            })?;
        }
        self.protected.set(true);
        self.emit(LoginEvent::LoginConfirmed { user_id });
        Ok(())
    }

    /// Adds `methods` to the session's login, leaving its freshness and client as they are
    /// (a second factor given for a login made without one).
    pub(crate) fn add_methods(
        &self,
        req: &HttpRequest,
        methods: &[AuthMethod],
    ) -> Result<(), LoginError> {
        let session = self.session(req)?;
        // Read and written in one pass over the login's entry; without one, nothing changes.
        update_entry(&session, self.config(), |entry| {
            let mut all = decode(&entry.methods);
            for method in methods {
                if !all.contains(method) {
                    all.push(method.clone());
                }
            }
            entry.methods = encode(&all);
        })
    }

    /// How the session's login was made (nothing for a restored login, or a request's).
    pub(crate) fn methods(&self, req: &HttpRequest) -> Result<Vec<AuthMethod>, LoginError> {
        let session = self.session(req)?;
        Ok(with_entry(&session, self.config(), |entry| decode(entry.methods)).unwrap_or_default())
    }

    /// Whether the login in this session is fresh (made with credentials in this session).
    pub(crate) fn is_fresh(&self, req: &HttpRequest) -> Result<bool, LoginError> {
        self.protect(req)?;
        let session = self.session(req)?;
        Ok(with_entry(&session, self.config(), |entry| entry.fresh).unwrap_or(false))
    }

    /// Whether this request's login comes with a valid remember cookie.
    pub(crate) fn is_remembered(&self, req: &HttpRequest) -> bool {
        match self.cookie_action() {
            CookieAction::Set { .. } => return true,
            CookieAction::Clear => return false,
            CookieAction::Keep => {}
        }
        self.remember_token(req).is_some()
    }

    /// Writes the login a test planted into the session, as if an earlier request had logged
    /// in from this client.
    pub(crate) fn plant_login(
        &self,
        req: &HttpRequest,
        login: &PlantedLogin,
    ) -> Result<(), LoginError> {
        let session = self.session(req)?;
        let config = self.config();
        let tag = login
            .session_hash
            .as_ref()
            .map(|hash| config.key.session_hash_tag(hash));
        let mut stamps = Vec::with_capacity(config.hooks.len());
        {
            let cx = self.hook_cx(req, &session, None);
            for hook in &config.hooks {
                stamps.push(hook.on_login(&cx, &login.user_id, tag.as_deref(), None)?);
            }
        }
        let record = LoginRecord {
            user_id: &login.user_id,
            fresh: login.fresh,
            tag: tag.as_deref(),
            methods: &login.methods,
        };
        write_login(&session, req, config, &record, &stamps)
    }
}
