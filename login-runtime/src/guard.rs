//! The guards: what `#[login_required]`, `#[fresh_login_required]` (with `second_factor`) and
//! `#[anonymous_required]` run before the handler's own extractors.

use actix_web::HttpRequest;
use actix_web::http::Method;

use std::any::{TypeId, type_name};
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::core::error::LoginError;
use crate::core::methods::AuthMethod;
use crate::core::state::{RequestState, Source};
use crate::model::permission::Check;
use crate::model::user::AuthUser;
use crate::responses::{
    already_logged_in, failure, needs_refresh, needs_second_factor, unauthorized,
};

/// Which guard a handler carries, and its per-handler view overrides. Built by the macros.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct GuardSpec {
    /// The guarded handler's name, for the error a guarded login view gets.
    pub handler: &'static str,
    /// `#[fresh_login_required]`: a login that is not fresh is refused too.
    pub fresh: bool,
    /// The handler's own `login_view`, winning over scope and global views.
    pub login_view: Option<&'static str>,
    /// The handler's own `refresh_view`.
    pub refresh_view: Option<&'static str>,
}

impl GuardSpec {
    /// What refused, for the error a guarded login view gets.
    fn by(&self) -> String {
        let name = if self.fresh {
            "fresh_login_required"
        } else {
            "login_required"
        };
        format!("`#[{name}]` on handler `{}` guards", self.handler)
    }
}

/// Runs a guard for this request: `Ok(())` lets the handler run; the error renders as the
/// unauthorized or needs-refresh response, or a 500 when login-runtime is not installed.
#[doc(hidden)]
pub fn guard(
    req: &HttpRequest,
    spec: GuardSpec,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_login(&req, spec, None).await }
}

/// [`guard`] for the kind of user `U` (the guard's `user = U`, or its extractors' user type).
#[doc(hidden)]
pub fn guard_of<U: 'static>(
    req: &HttpRequest,
    spec: GuardSpec,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_login(&req, spec, Some(kind::<U>())).await }
}

/// [`guard`] for the kind of user whose permissions `check` asks for (a permission guard
/// whose handler names no user type).
#[doc(hidden)]
pub fn guard_for_check(
    req: &HttpRequest,
    spec: GuardSpec,
    check: &Check,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    let kind = check.user();
    async move { check_login(&req, spec, kind).await }
}

/// A kind of user: its user type and the type's name.
type Kind = (TypeId, &'static str);

fn kind<U: 'static>() -> Kind {
    (TypeId::of::<U>(), type_name::<U>())
}

/// The login state of the `kind` of user (the default kind's with `None`).
fn state_of(req: &HttpRequest, kind: Option<Kind>) -> Result<Rc<RequestState>, LoginError> {
    match kind {
        Some((user_type, name)) => RequestState::of_type(req, user_type, name),
        None => RequestState::of(req),
    }
}

async fn check_login(
    req: &HttpRequest,
    spec: GuardSpec,
    kind: Option<Kind>,
) -> Result<(), actix_web::Error> {
    let state = state_of(req, kind)?;
    // CORS preflights carry no credentials: never refuse them (Flask-Login's EXEMPT_METHODS).
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let source = state
        .current_source(req)
        .await
        .map_err(|error| failure(req, error))?;
    let Some(source) = source else {
        return Err(unauthorized(req, &state, spec.login_view, &spec.by()));
    };
    if spec.fresh
        && !(source == Source::Session
            && state.is_fresh(req).map_err(|error| failure(req, error))?)
    {
        let user_id = state
            .current(req)
            .await
            .map_err(|error| failure(req, error))?
            .map(|current| current.id);
        let by = spec.by();
        return Err(needs_refresh(req, &state, spec.refresh_view, user_id, &by));
    }
    Ok(())
}

/// Runs a guard's `second_factor` check, after [`guard`] admitted the login: `Ok(())` for a
/// login made with a second factor; otherwise the error renders as the second-factor (or
/// enrolment) redirect, or a JSON 401.
#[doc(hidden)]
pub fn second_factor(
    req: &HttpRequest,
    spec: GuardSpec,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_second_factor(&req, spec, None).await }
}

/// [`second_factor`] for the kind of user whose permissions `check` asks for.
#[doc(hidden)]
pub fn second_factor_for_check(
    req: &HttpRequest,
    spec: GuardSpec,
    check: &Check,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    let kind = check.user();
    async move { check_second_factor(&req, spec, kind).await }
}

/// [`second_factor`] for the kind of user `U`.
#[doc(hidden)]
pub fn second_factor_of<U: 'static>(
    req: &HttpRequest,
    spec: GuardSpec,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_second_factor(&req, spec, Some(kind::<U>())).await }
}

async fn check_second_factor(
    req: &HttpRequest,
    spec: GuardSpec,
    kind: Option<Kind>,
) -> Result<(), actix_web::Error> {
    let state = state_of(req, kind).map_err(|error| failure(req, error))?;
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let current = state
        .current(req)
        .await
        .map_err(|error| failure(req, error))?;
    let Some(current) = current else {
        return Err(unauthorized(req, &state, spec.login_view, &spec.by()));
    };
    let methods = state.methods(req).map_err(|error| failure(req, error))?;
    if methods.iter().any(AuthMethod::is_second_factor) {
        return Ok(());
    }
    // Sent to the step, or to enrolment when the account has no factor to give.
    let enrolled = match current.user {
        Some(user) => Rc::clone(&state.backend)
            .has_second_factor(user)
            .await
            .map_err(|error| failure(req, error))?,
        None => true,
    };
    Err(needs_second_factor(
        req,
        &state,
        current.id,
        enrolled,
        &spec.by(),
    ))
}

/// Runs the anonymous-only guard: `Ok(())` for a visitor who is not logged in; a logged-in
/// visitor is sent to a safe `next`, or the configured page (`/` by default).
#[doc(hidden)]
pub fn anonymous_only(
    req: &HttpRequest,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_anonymous(&req, None).await }
}

/// [`anonymous_only`] for the kind of user `U`: a visitor logged in as another kind passes.
#[doc(hidden)]
pub fn anonymous_only_of<U: 'static>(
    req: &HttpRequest,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check_anonymous(&req, Some(kind::<U>())).await }
}

async fn check_anonymous(req: &HttpRequest, kind: Option<Kind>) -> Result<(), actix_web::Error> {
    let state = state_of(req, kind)?;
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let source = state
        .current_source(req)
        .await
        .map_err(|error| failure(req, error))?;
    match source {
        None => Ok(()),
        Some(_) => Err(already_logged_in(req, &state)),
    }
}

/// `#[login_required]` for every handler of a `web::scope`, for the kind of user `U`: an
/// anonymous request (or one logged in only as another kind of user) gets the unauthorized
/// response of `U`'s `LoginManager` (its login view). Install it inside the managers:
///
/// ```
/// # use login_runtime::AuthUser;
/// # #[derive(Clone, AuthUser)] struct Staff { id: u32 }
/// use actix_web::{HttpResponse, web};
/// use login_runtime::RequireLogin;
///
/// let staff_area = web::scope("/staff")
///     .wrap(RequireLogin::<Staff>::new())
///     .route("/desk", web::get().to(HttpResponse::Ok));
/// # let _ = staff_area;
/// ```
pub struct RequireLogin<U> {
    user: std::marker::PhantomData<fn() -> U>,
}

impl<U: AuthUser> RequireLogin<U> {
    /// Requires a login of `U` for every request of the scope.
    pub fn new() -> Self {
        RequireLogin {
            user: std::marker::PhantomData,
        }
    }
}

impl<U: AuthUser> Default for RequireLogin<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U> Clone for RequireLogin<U> {
    fn clone(&self) -> Self {
        RequireLogin {
            user: std::marker::PhantomData,
        }
    }
}

impl<U> std::fmt::Debug for RequireLogin<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireLogin")
            .field("user", &type_name::<U>())
            .finish()
    }
}

impl<S, B, U> Transform<S, ServiceRequest> for RequireLogin<U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    U: AuthUser,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireLoginMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireLoginMiddleware {
            service: Rc::new(service),
            kind: kind::<U>(),
        }))
    }
}

/// The middleware [`RequireLogin`] installs; not used directly.
pub struct RequireLoginMiddleware<S> {
    service: Rc<S>,
    kind: Kind,
}

impl<S> std::fmt::Debug for RequireLoginMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireLoginMiddleware")
            .field("user", &self.kind.1)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequireLoginMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let kind = self.kind;
        async move {
            let spec = GuardSpec {
                handler: "a `RequireLogin` scope",
                fresh: false,
                login_view: None,
                refresh_view: None,
            };
            // The check holds no clone of the request once it is done: routing inside the
            // scope needs the request to itself.
            let verdict = check_login(req.request(), spec, Some(kind)).await;
            match verdict {
                Ok(()) => Ok(service.call(req).await?.map_into_left_body()),
                // A response, not an `Err`: `LoginManager` still writes this request's cookie
                // changes.
                Err(error) => Ok(req.error_response(error).map_into_right_body()),
            }
        }
        .boxed_local()
    }
}
