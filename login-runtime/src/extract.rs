//! The extractors handlers use: who is logged in, the handle that logs in and out, and the
//! client's address.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, http::header};
use futures_util::future::LocalBoxFuture;

use crate::client::ClientAddress;
use crate::core::entry::login_user_id;
use crate::core::error::LoginError;
use crate::core::methods::AuthMethod;
use crate::core::ops::LoginOptions;
use crate::core::session::read;
use crate::core::state::RequestState;
use crate::model::user::AuthUser;
use crate::responses::{BY_EXTRACTOR, failure, needs_refresh, unauthorized, wants_json};

mod second_step;
pub use second_step::{AfterFirstFactor, FirstFactor, SecondStepGate, SecondStepHandler};

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
            let state = RequestState::of_user::<U>(&req).map_err(|error| failure(&req, error))?;
            match user_of::<U>(&state, &req)
                .await
                .map_err(|error| failure(&req, error))?
            {
                Some(user) => Ok(CurrentUser(user)),
                None => Err(unauthorized(&req, &state, None, BY_EXTRACTOR)),
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
            let state = RequestState::of_user::<U>(&req).map_err(|error| failure(&req, error))?;
            let user = user_of::<U>(&state, &req)
                .await
                .map_err(|error| failure(&req, error))?;
            Ok(MaybeUser(user))
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
            // The manager of `U`'s kind: a handle for another user type would write an id that
            // a loader reads as one of its own users, refused as `CurrentUser` refuses it.
            let state = RequestState::of_user::<U>(&req).map_err(|error| failure(&req, error))?;
            state.session(&req).map_err(|error| failure(&req, error))?;
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
        self.state
            .login(&self.req, user, &options)
            .map_err(|error| self.noted(error))
    }

    /// Logs out: removes the login from the session (keeping the app's own keys), renews the
    /// session id and clears the remember cookie.
    pub fn logout(&self) -> Result<(), LoginError> {
        self.state
            .logout(&self.req)
            .map_err(|error| self.noted(error))
    }

    /// Marks the login fresh again after the user re-entered the password (`confirm_login`).
    pub fn confirm(&self) -> Result<(), LoginError> {
        self.state
            .confirm(&self.req, &[])
            .map_err(|error| self.noted(error))
    }

    /// [`confirm`](Self::confirm) after the user proved who they are with `method` (a
    /// re-entered password, a passkey, a provider's fresh sign-in), which is added to the
    /// login's [`methods`](Self::methods).
    pub fn confirm_with(&self, method: AuthMethod) -> Result<(), LoginError> {
        self.state
            .confirm(&self.req, &[method])
            .map_err(|error| self.noted(error))
    }

    /// Records that the logged-in user also proved who they are with `method` (a second
    /// factor that a guard with `second_factor` asked of a login made without one), for
    /// [`methods`](Self::methods). Unlike [`confirm_with`](Self::confirm_with), the login's
    /// freshness stays as it is. Does nothing when nobody is logged in through the session.
    pub fn add_method(&self, method: AuthMethod) -> Result<(), LoginError> {
        self.state
            .add_methods(&self.req, &[method])
            .map_err(|error| self.noted(error))
    }

    /// How the session's login was made (Flask-Security's "authentication methods"): what was
    /// given to [`LoginOptions::method`] and [`confirm_with`](Self::confirm_with). Empty for a
    /// login restored from a remember cookie, or found by the request loader.
    pub fn methods(&self) -> Result<Vec<AuthMethod>, LoginError> {
        self.state
            .methods(&self.req)
            .map_err(|error| self.noted(error))
    }

    /// Whether the login was made with credentials in this session (`login_fresh`).
    pub fn is_fresh(&self) -> Result<bool, LoginError> {
        self.state
            .is_fresh(&self.req)
            .map_err(|error| self.noted(error))
    }

    /// Whether the request carries a valid remember cookie (`login_remembered`).
    pub fn is_remembered(&self) -> bool {
        self.state.is_remembered(&self.req)
    }

    /// The id of the user logged in through the session, if any, without loading the user.
    pub fn user_id(&self) -> Option<String> {
        let session = self.state.session(&self.req).ok()?;
        login_user_id(&session, self.state.config())
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
            .and_then(|query| query.get("next").cloned());
        let from_session = || {
            let session = self.state.session(&self.req).ok()?;
            let config = self.state.config();
            let key = config.next_key.as_str();
            if !config.refusals.next_in_session || !session.contains_key(key) {
                return None;
            }
            let next = read::<String>(&session, key);
            session.remove(key);
            next
        };
        from_query
            .or_else(from_session)
            .filter(|next| crate::next::is_safe_next(next))
    }

    /// `error`, with what the request prefers noted for its response.
    fn noted(&self, error: LoginError) -> LoginError {
        self.state.noting_preference(wants_json(&self.req), error)
    }

    /// The unauthorized response, as a guard would answer (Flask-Login's
    /// `login_manager.unauthorized()`): return it from the handler with `Err(..)?`.
    pub fn unauthorized(&self) -> actix_web::Error {
        unauthorized(&self.req, &self.state, None, BY_EXTRACTOR)
    }

    /// The needs-refresh response, as `#[fresh_login_required]` would answer (Flask-Login's
    /// `login_manager.needs_refresh()`).
    pub fn needs_refresh(&self) -> actix_web::Error {
        needs_refresh(&self.req, &self.state, None, self.user_id(), BY_EXTRACTOR)
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

/// The address of the request's client by the same rule session protection and the device
/// registry use: the socket's, or the right-most hop of `Forwarded` / `X-Forwarded-For` that
/// is not one of the `LoginManager`'s trusted proxies; never with a port. For throttling keys and audit
/// trails. `None` when the request came from nowhere (a test request without a peer address),
/// or is not served by a `LoginManager`.
///
/// ```
/// use actix_web::test::TestRequest;
///
/// let req = TestRequest::default().peer_addr("192.0.2.9:51000".parse().unwrap()).to_http_request();
/// // Outside a LoginManager: nothing says which rule applies.
/// assert_eq!(login_runtime::client_address(&req), None);
/// ```
pub fn client_address(req: &HttpRequest) -> Option<String> {
    let state = RequestState::of(req).ok()?;
    ClientAddress::of(req, &state.config().proxies).to_text()
}
