//! The permission check the guards run after the login (and freshness) check, and
//! [`authorize`] for rules chosen at run time.

use std::any::Any;
use std::rc::Rc;

use actix_web::HttpRequest;
use actix_web::http::Method;

use crate::authz::cache::loaded_permissions;
use crate::core::error::LoginError;
use crate::core::state::{Current, RequestState};
use crate::model::permission::{Check, Permission, Rule};
use crate::responses::{BY_EXTRACTOR, failure, forbidden, unauthorized};

/// The check `#[permission_required]` runs, for handlers that decide at run time which
/// permission a request needs: `Ok(())` when the logged-in user satisfies `rule`; otherwise
/// an error that renders as the unauthorized response for an anonymous request, 403 (or the
/// configured forbidden response) for a logged-in user without the permission, or 500 when
/// a lookup failed. `OPTIONS` requests pass.
///
/// ```
/// # use login_runtime::{AuthUser, HasPermission, Permission};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// # #[derive(PartialEq)] enum Perm { Edit, Publish }
/// # impl Permission for Perm { type User = User; }
/// # impl HasPermission<Perm> for User {}
/// use actix_web::{HttpRequest, web};
/// use login_runtime::{Rule, authorize};
///
/// async fn save(req: HttpRequest, publish: web::Query<bool>) -> actix_web::Result<&'static str> {
///     let needed = if *publish { Perm::Publish } else { Perm::Edit };
///     authorize(&req, Rule::one(needed)).await?;
///     Ok("saved")
/// }
/// # let _ = web::post().to(save);
/// ```
pub fn authorize<P: Permission>(
    req: &HttpRequest,
    rule: Rule<P>,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    authorize_check(req, Check::from(rule))
}

/// [`authorize`] for a rule the attributes built.
#[doc(hidden)]
pub fn authorize_check(
    req: &HttpRequest,
    check: Check,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { run_check(&req, &check).await }
}

pub(crate) async fn run_check(req: &HttpRequest, check: &Check) -> Result<(), actix_web::Error> {
    // The login of the kind of user that holds the permission.
    let state = match check.user() {
        Some((user_type, name)) => RequestState::of_type(req, user_type, name),
        None => RequestState::of(req),
    }
    .map_err(|error| failure(req, error))?;
    // CORS preflights carry no credentials: never refuse them, as the login guards do not.
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let (user, id) = logged_in_user(req, &state).await?;
    let mismatch = |requested| failure(req, type_mismatch(&state, requested));
    // What the user answers from itself first: a rule it satisfies costs no lookup.
    if check.holds(&*user, None).map_err(mismatch)? {
        return Ok(());
    }
    let loaded = loaded_permissions(req, &state, &user)
        .await
        .map_err(|error| failure(req, error))?;
    let granted = check.holds(&*user, loaded.as_deref()).map_err(mismatch)?;
    if granted {
        Ok(())
    } else {
        // Logged in without the permission: 403, never the login view (no redirect loop).
        Err(forbidden(req, &state, id))
    }
}

/// The logged-in user, type-erased, and its id; or the response for an anonymous request.
pub(crate) async fn logged_in_user(
    req: &HttpRequest,
    state: &Rc<RequestState>,
) -> Result<(Rc<dyn Any>, String), actix_web::Error> {
    let current = state
        .current(req)
        .await
        .map_err(|error| failure(req, error))?;
    let Some(Current { user, id, .. }) = current else {
        return Err(unauthorized(req, state, None, BY_EXTRACTOR));
    };
    match user {
        Some(user) => Ok((user, id)),
        // `None` only right after `login()` in this request: nothing to check permissions on.
        None => Err(forbidden(req, state, id)),
    }
}

/// A permission of another user type than the loader's: a set-up mistake.
pub(crate) fn type_mismatch(state: &RequestState, requested: &'static str) -> LoginError {
    LoginError::UserTypeMismatch {
        requested,
        loaded: state.backend.user_type_name(),
    }
}
