//! The extractors handlers use: who is logged in, and the handle that logs in and out.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, http::header};
use futures_util::future::LocalBoxFuture;

use crate::error::LoginError;
use crate::state::{NEXT, RequestState, read};
use crate::user::AuthUser;

/// The logged-in user (Flask-Login's `current_user`, authenticated). An anonymous request is
/// refused with the unauthorized response: the login view, a JSON 401, or 401.
///
/// ```
/// use login_runtime::{AuthUser, CurrentUser};
/// # #[derive(Clone)] struct User { id: u32, name: String }
/// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
///
/// async fn profile(user: CurrentUser<User>) -> String {
///     format!("Hello, {}", user.name)
/// }
/// # let _ = actix_web::web::get().to(profile);
/// ```
pub struct CurrentUser<U>(Rc<U>);

impl<U> CurrentUser<U> {
    /// The user, shared with the request's cache.
    pub fn into_inner(self) -> Rc<U> {
        self.0
    }
}

impl<U> Deref for CurrentUser<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U: AuthUser + fmt::Debug> fmt::Debug for CurrentUser<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CurrentUser").field(&self.0).finish()
    }
}

impl<U: AuthUser> FromRequest for CurrentUser<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of(&req)?;
            match user_of::<U>(&state, &req).await? {
                Some(user) => Ok(CurrentUser(user)),
                None => Err(crate::guard::unauthorized(&req, &state, None)),
            }
        })
    }
}

/// The user if one is logged in (Flask-Login's `current_user`, which may be anonymous).
/// Anonymity is not an error; a failing loader still is (a 500).
///
/// ```
/// use login_runtime::{AuthUser, MaybeUser};
/// # #[derive(Clone)] struct User { id: u32, name: String }
/// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
///
/// async fn home(user: MaybeUser<User>) -> String {
///     match user.get() {
///         Some(user) => format!("Hello, {}", user.name),
///         None => "Hello, stranger".to_owned(),
///     }
/// }
/// # let _ = actix_web::web::get().to(home);
/// ```
pub struct MaybeUser<U>(Option<Rc<U>>);

impl<U> MaybeUser<U> {
    /// The user, if any.
    pub fn get(&self) -> Option<&U> {
        self.0.as_deref()
    }
    /// Whether nobody is logged in.
    pub fn is_anonymous(&self) -> bool {
        self.0.is_none()
    }
    /// The user, shared with the request's cache.
    pub fn into_inner(self) -> Option<Rc<U>> {
        self.0
    }
}

impl<U: AuthUser + fmt::Debug> fmt::Debug for MaybeUser<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MaybeUser").field(&self.0).finish()
    }
}

impl<U: AuthUser> FromRequest for MaybeUser<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of(&req)?;
            Ok(MaybeUser(user_of::<U>(&state, &req).await?))
        })
    }
}

async fn user_of<U: AuthUser>(
    state: &Rc<RequestState>,
    req: &HttpRequest,
) -> Result<Option<Rc<U>>, LoginError> {
    let Some(object) = state.current_user(req).await? else {
        return Ok(None);
    };
    object
        .downcast::<U>()
        .map(Some)
        .map_err(|_| LoginError::UserTypeMismatch {
            requested: type_name::<U>(),
            loaded: state.backend.user_type_name(),
        })
}

/// How [`Login::login_with`] logs a user in (`login_user`'s keyword arguments).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOptions {
    pub(crate) remember: bool,
    pub(crate) duration: Option<Duration>,
    pub(crate) force: bool,
    pub(crate) fresh: bool,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            remember: false,
            duration: None,
            force: false,
            fresh: true,
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
}

/// The login handle: Flask-Login's `login_user`, `logout_user`, `confirm_login`,
/// `login_fresh` and `login_remembered`, and a validated `next`.
///
/// ```
/// use actix_web::{HttpResponse, web};
/// use login_runtime::{AuthUser, Login, LoginOptions};
/// # #[derive(Clone)] struct User { id: u32 }
/// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
///
/// async fn do_login(login: Login<User>) -> actix_web::Result<HttpResponse> {
///     let user = User { id: 1 }; // after checking the password
///     if login.login_with(&user, LoginOptions::new().remember(true))? {
///         Ok(login.redirect_to_next("/"))
///     } else {
///         Ok(HttpResponse::Forbidden().body("account disabled"))
///     }
/// }
/// # let _ = web::post().to(do_login);
/// ```
pub struct Login<U> {
    req: HttpRequest,
    state: Rc<RequestState>,
    user: PhantomData<fn() -> U>,
}

impl<U: AuthUser> fmt::Debug for Login<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &type_name::<U>())
            .finish_non_exhaustive()
    }
}

impl<U: AuthUser> FromRequest for Login<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of(&req)?;
            state.session(&req)?;
            // Settle who is logged in (a remember cookie may restore a login), so freshness,
            // confirmation and logout act on the real state. A failing loader is left to the
            // extractors that need the user: logging out must work while the database is down.
            if let Err(error) = state.current(&req).await {
                tracing::warn!(target: "login_runtime", %error, "could not load the current user");
            }
            Ok(Login {
                req,
                state,
                user: PhantomData,
            })
        })
    }
}

// Only the methods that take a user need `U: AuthUser`, each as its own bound: with a type
// that is not a user, the extractor's bound reports the one error, and a call to `login` adds
// an E0277 with `AuthUser`'s note, never an E0599 without it.
impl<U> Login<U> {
    /// Logs `user` in: a fresh login, not remembered. Returns `false` (and changes nothing)
    /// when the user is inactive.
    pub fn login(&self, user: &U) -> Result<bool, LoginError>
    where
        U: AuthUser,
    {
        self.login_with(user, LoginOptions::default())
    }

    /// Logs `user` in with `options`. The session id is renewed; with `remember`, a signed
    /// remember cookie is set. Returns `false` (and changes nothing) when the user is inactive
    /// and `force` is not set.
    pub fn login_with(&self, user: &U, options: LoginOptions) -> Result<bool, LoginError>
    where
        U: AuthUser,
    {
        self.state.login(&self.req, user, &options)
    }

    /// Logs out: removes the login from the session (keeping the app's own keys), renews the
    /// session id and clears the remember cookie.
    pub fn logout(&self) -> Result<(), LoginError> {
        self.state.logout(&self.req)
    }

    /// Marks the login fresh again after the user re-entered the password (`confirm_login`).
    pub fn confirm(&self) -> Result<(), LoginError> {
        self.state.confirm(&self.req)
    }

    /// Whether the login was made with credentials in this session (`login_fresh`).
    pub fn is_fresh(&self) -> Result<bool, LoginError> {
        self.state.is_fresh(&self.req)
    }

    /// Whether the request carries a valid remember cookie (`login_remembered`).
    pub fn is_remembered(&self) -> bool {
        self.state.is_remembered(&self.req)
    }

    /// The id of the user logged in through the session, if any, without loading the user.
    pub fn user_id(&self) -> Option<String> {
        let session = self.state.session(&self.req).ok()?;
        read::<String>(&session, crate::state::USER_ID)
    }

    /// Where to go after logging in: the `next` query parameter, or (with
    /// [`next_in_session`](crate::LoginManager::next_in_session)) the one kept in the
    /// session, but only if [`is_safe_next`](crate::is_safe_next) accepts it.
    pub fn next_url(&self) -> Option<String> {
        let from_query =
            actix_web::web::Query::<std::collections::HashMap<String, String>>::from_query(
                self.req.query_string(),
            )
            .ok()
            .and_then(|query| query.get(NEXT).cloned());
        let from_session = || {
            let session = self.state.session(&self.req).ok()?;
            if !self.state.config().next_in_session || !session.contains_key(NEXT) {
                return None;
            }
            let next = read::<String>(&session, NEXT);
            session.remove(NEXT);
            next
        };
        from_query
            .or_else(from_session)
            .filter(|next| crate::next::is_safe_next(next))
    }

    /// The unauthorized response, as a guard would answer (Flask-Login's
    /// `login_manager.unauthorized()`): return it from the handler with `Err(..)?`.
    pub fn unauthorized(&self) -> actix_web::Error {
        crate::guard::unauthorized(&self.req, &self.state, None)
    }

    /// The needs-refresh response, as `#[fresh_login_required]` would answer (Flask-Login's
    /// `login_manager.needs_refresh()`).
    pub fn needs_refresh(&self) -> actix_web::Error {
        crate::guard::needs_refresh(&self.req, &self.state, None, self.user_id())
    }

    /// A 303 to [`next_url`](Self::next_url), or to `default` when there is none or it is
    /// not safe to follow.
    pub fn redirect_to_next(&self, default: &str) -> HttpResponse {
        let target = self.next_url().unwrap_or_else(|| default.to_owned());
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .finish()
    }
}
