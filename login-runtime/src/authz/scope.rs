//! [`RequirePermission`]: the permission guards' check for every handler of a scope.

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::authz::check::run_check;
use crate::model::permission::{Check, Permission, Rule};

/// The same checks as `#[permission_required]`, for every handler of a `web::scope`:
/// anonymous requests get the unauthorized response, logged-in users without the
/// permission 403. Install it inside the app's `LoginManager`:
///
/// ```
/// # use login_runtime::{AuthUser, HasPermission, Permission};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// # #[derive(PartialEq)] enum Perm { Admin }
/// # impl Permission for Perm { type User = User; }
/// # impl HasPermission<Perm> for User {}
/// use actix_web::{HttpResponse, web};
/// use login_runtime::RequirePermission;
///
/// let admin = web::scope("/admin")
///     .wrap(RequirePermission::new(Perm::Admin))
///     .route("/users", web::get().to(HttpResponse::Ok));
/// # let _ = admin;
/// ```
///
/// It runs before actix routes the request inside the scope, so it cannot see the handler:
/// a handler's own attribute is checked after it, and can only ask for more. Put a handler
/// that needs a different rule outside the scope.
#[derive(Clone, Debug)]
pub struct RequirePermission {
    check: Rc<Check>,
}

impl RequirePermission {
    /// Requires `rule` (a permission, or a [`Rule`]) for every request of the scope.
    pub fn new<P: Permission>(rule: impl Into<Rule<P>>) -> Self {
        RequirePermission {
            check: Rc::new(Check::from(rule.into())),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequirePermission
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequirePermissionMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequirePermissionMiddleware {
            service: Rc::new(service),
            check: Rc::clone(&self.check),
        }))
    }
}

/// The middleware [`RequirePermission`] installs; not used directly.
pub struct RequirePermissionMiddleware<S> {
    service: Rc<S>,
    check: Rc<Check>,
}

impl<S> fmt::Debug for RequirePermissionMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePermissionMiddleware")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequirePermissionMiddleware<S>
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
        let check = Rc::clone(&self.check);
        async move {
            // The check holds no clone of the request once it is done: routing inside the
            // scope needs the request to itself.
            let verdict = run_check(req.request(), &check).await;
            match verdict {
                Ok(()) => Ok(service.call(req).await?.map_into_left_body()),
                // A response, not an `Err`: `LoginManager` still writes this request's
                // cookie changes (a cleared remember cookie, say).
                Err(error) => Ok(req.error_response(error).map_into_right_body()),
            }
        }
        .boxed_local()
    }
}
