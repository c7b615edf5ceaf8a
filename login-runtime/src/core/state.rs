//! The login state of one request, shared by the guards, the extractors and the middleware
//! through one `Rc<RequestState>` kept in the request's extensions.
//!
//! This file holds the state and its small accessors; resolving the user is in `resolve`, the
//! login operations in `ops`, session protection in `protection`.

use std::any::{Any, TypeId, type_name};
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::time::SystemTime;

use actix_session::{Session, SessionExt};
use actix_web::{HttpMessage, HttpRequest};
use futures_util::future::{LocalBoxFuture, Shared};

use crate::core::backend::Backend;
use crate::core::config::Config;
use crate::core::cookie::{self, CookieAction};
use crate::core::error::LoginError;
use crate::core::hooks::HookCx;
use crate::core::scope::ErrorPreference;
use crate::events::LoginEvent;
use crate::remember::RememberToken;

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

pub(crate) type Resolution = Result<Option<Current>, Rc<LoginError>>;

/// The request's user as far as it is known: not asked for yet, being loaded (shared by every
/// guard and extractor that waits for it), or settled.
pub(crate) enum Slot {
    Empty,
    Pending(Shared<LocalBoxFuture<'static, Resolution>>),
    Done(Resolution),
}

/// The states of the managers of other kinds of user than the default on this request, by
/// the type their loaders load.
struct Realms(Vec<(TypeId, Rc<RequestState>)>);

pub(crate) struct RequestState {
    pub(crate) backend: Rc<dyn Backend>,
    session_present: bool,
    /// Session protection ran (or a login of this request made it moot).
    pub(in crate::core) protected: Cell<bool>,
    pub(in crate::core) resolution: RefCell<Slot>,
    cookie: RefCell<CookieAction>,
    /// The request's remember token, verified at most once however often it is asked for.
    token: OnceCell<Option<RememberToken>>,
    /// The binding (a device id) the request's remember cookie carried in its tag field.
    cookie_binding: RefCell<Option<String>>,
    /// The session auth hash of the user a login of this request was made for (other users'
    /// are read from the user object).
    pub(in crate::core) user_hash: RefCell<Option<Vec<u8>>>,
    /// Events kept for the configured sinks (none kept without a sink).
    events: RefCell<Vec<LoginEvent>>,
    /// Whether the request prefers JSON, noted when a method hands the app an error.
    json_preference: Cell<Option<bool>>,
}

impl ErrorPreference for RequestState {
    fn prefers_json(&self) -> Option<bool> {
        self.json_preference.get()
    }
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
            cookie_binding: RefCell::new(None),
            user_hash: RefCell::new(None),
            events: RefCell::new(Vec::new()),
            json_preference: Cell::new(None),
        }
    }

    /// Notes what the request prefers, before a method hands the app `error` to return: its
    /// response, made by actix without the request, then answers in kind.
    pub(crate) fn noting_preference(&self, prefers_json: bool, error: LoginError) -> LoginError {
        self.json_preference.set(Some(prefers_json));
        error
    }

    /// The state the `LoginManager` of the default kind of user put on this request.
    pub(crate) fn of(req: &HttpRequest) -> Result<Rc<RequestState>, LoginError> {
        req.extensions()
            .get::<Rc<RequestState>>()
            .cloned()
            .ok_or(LoginError::NoLoginManager)
    }

    /// The state of the `LoginManager` whose loader loads `U`: the default kind's (one lookup,
    /// as for an app with one kind of user), or another kind's.
    pub(crate) fn of_user<U: 'static>(req: &HttpRequest) -> Result<Rc<RequestState>, LoginError> {
        RequestState::of_type(req, TypeId::of::<U>(), type_name::<U>())
    }

    /// [`of_user`](Self::of_user) for a type known at run time.
    pub(crate) fn of_type(
        req: &HttpRequest,
        user_type: TypeId,
        name: &'static str,
    ) -> Result<Rc<RequestState>, LoginError> {
        let extensions = req.extensions();
        let default = extensions.get::<Rc<RequestState>>();
        if let Some(state) = default
            && state.backend.user_type_id() == user_type
        {
            return Ok(Rc::clone(state));
        }
        let realms = extensions.get::<Realms>();
        if let Some((_, state)) =
            realms.and_then(|realms| realms.0.iter().find(|(kind, _)| *kind == user_type))
        {
            return Ok(Rc::clone(state));
        }
        match (default, realms) {
            (Some(state), _) => Err(LoginError::UserTypeMismatch {
                requested: name,
                loaded: state.backend.user_type_name(),
            }),
            (None, Some(realms)) => Err(LoginError::UserTypeMismatch {
                requested: name,
                loaded: realms
                    .0
                    .first()
                    .map_or("another type", |(_, state)| state.backend.user_type_name()),
            }),
            (None, None) => Err(LoginError::NoLoginManager),
        }
    }

    /// Puts this state on the request, where guards and extractors of its kind of user find
    /// it.
    pub(crate) fn install(self: &Rc<Self>, extensions: &mut actix_http::Extensions) {
        if self.config().realm.is_none() {
            extensions.insert(Rc::clone(self));
            return;
        }
        let kind = self.backend.user_type_id();
        match extensions.get_mut::<Realms>() {
            Some(realms) => {
                realms.0.retain(|(other, _)| *other != kind);
                realms.0.push((kind, Rc::clone(self)));
            }
            None => {
                extensions.insert(Realms(vec![(kind, Rc::clone(self))]));
            }
        }
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

    pub(in crate::core) fn cookie_action(&self) -> CookieAction {
        self.cookie.borrow().clone()
    }

    pub(in crate::core) fn cookie_cleared(&self) -> bool {
        *self.cookie.borrow() == CookieAction::Clear
    }

    /// The first valid remember token the request carries, verified once per request, with a
    /// feature's binding (a device id) taken out of its tag field and kept aside, so the usual
    /// checks see the user's hash tag.
    pub(crate) fn remember_token(&self, req: &HttpRequest) -> Option<&RememberToken> {
        self.token
            .get_or_init(|| {
                let config = self.config();
                let mut token = cookie::remember_token(req, config, SystemTime::now())?;
                if !config.hooks.is_empty() {
                    let accepts = |binding: &str| {
                        config
                            .hooks
                            .iter()
                            .any(|hook| hook.accepts_binding(binding))
                    };
                    if let Some((binding, tag)) =
                        cookie::split_binding(token.hash_tag.as_deref(), accepts)
                    {
                        token.hash_tag = tag;
                        *self.cookie_binding.borrow_mut() = Some(binding);
                    }
                }
                Some(token)
            })
            .as_ref()
    }

    /// The binding the request's remember cookie came with.
    pub(crate) fn cookie_binding(&self) -> Option<String> {
        self.cookie_binding.borrow().clone()
    }

    /// Where the hooks are called from.
    pub(in crate::core) fn hook_cx<'a>(
        &'a self,
        req: &'a HttpRequest,
        session: &'a Session,
        binding: Option<&'a str>,
    ) -> HookCx<'a> {
        let cookie = match (self.token.get().and_then(Option::as_ref), binding) {
            (Some(token), Some(binding)) => Some((token.user_id.as_str(), binding)),
            _ => None,
        };
        HookCx {
            req,
            session,
            proxies: &self.config().proxies,
            cookie,
            remember_format: self.config().codec.format(),
            realm: self.config().realm.as_deref(),
        }
    }

    pub(in crate::core) fn settle(&self, resolution: Resolution) {
        *self.resolution.borrow_mut() = Slot::Done(resolution);
    }

    /// Drops the cached load (and the request a pending one holds).
    pub(crate) fn forget_pending_load(&self) {
        *self.resolution.borrow_mut() = Slot::Empty;
    }

    /// Whether `tag` is the keyed tag of this request's user's session hash (under the current
    /// key or a previous one), compared in constant time; a feature's record of a login made
    /// before a password change fails it. `false` before the user is resolved.
    pub(crate) fn session_tag_matches(&self, tag: Option<&str>) -> bool {
        let config = self.config();
        let made_here = self.user_hash.borrow();
        if made_here.is_some() {
            return config.bound_tag(made_here.as_deref(), tag).is_some();
        }
        let resolution = self.resolution.borrow();
        let Slot::Done(Ok(Some(current))) = &*resolution else {
            return false;
        };
        let Some(user) = &current.user else {
            return false;
        };
        let hash = self.backend.session_hash_of(&**user);
        config.bound_tag(hash, tag).is_some()
    }

    /// Reports `event`: to the `tracing` log, the callbacks, and (kept until the response)
    /// the sinks.
    pub(crate) fn emit(&self, event: LoginEvent) {
        let config = self.config();
        event.trace();
        for handler in &config.event_handlers {
            handler(&event);
        }
        if !config.event_sinks.is_empty() {
            self.events.borrow_mut().push(event);
        }
    }

    /// Hands the request's events to the sinks, in order, waiting for each.
    pub(crate) async fn deliver_events(&self, req: &HttpRequest) -> Result<(), actix_web::Error> {
        let sinks = &self.config().event_sinks;
        if sinks.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut *self.events.borrow_mut());
        for event in &events {
            for sink in sinks {
                sink.deliver(event, req).await?;
            }
        }
        Ok(())
    }

    /// The cookie the response must carry, refreshing a remembered login when configured.
    pub(crate) fn cookie_for_response(&self, req: &HttpRequest) -> CookieAction {
        let action = self.cookie_action();
        if action != CookieAction::Keep || !self.config().remember.refresh_each_request {
            return action;
        }
        let token = self.remember_token(req);
        let binding = self.cookie_binding();
        let tag = token.and_then(|token| token.hash_tag.as_deref());
        let tag = cookie::bound_tag(binding.as_deref(), tag);
        cookie::refreshed(self.config(), token, tag.as_deref(), SystemTime::now())
    }
}
