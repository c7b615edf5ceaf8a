//! The [`Permissions`] extractor.

use std::any::type_name;
use std::fmt;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::authz::cache::loaded_permissions;
use crate::authz::check::{logged_in_user, type_mismatch};
use crate::core::state::RequestState;
use crate::model::permission::{HasPermission, Permission, PermissionSet, Rule};
use crate::model::user::AuthUser;
use crate::responses::failure;

/// The logged-in user's permissions, for handlers that decide more than a guard can (which
/// links to show, say). Refuses anonymous requests with the unauthorized response; the
/// permissions from [`UserLoader::load_permissions`](crate::UserLoader::load_permissions) are loaded once per request, shared with
/// the guards.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission, Permissions};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// #[derive(PartialEq)]
/// enum Perm { Admin }
/// impl Permission for Perm { type User = User; }
/// impl HasPermission<Perm> for User {}
///
/// async fn menu(permissions: Permissions<User>) -> &'static str {
///     if permissions.has(&Perm::Admin) { "home | admin" } else { "home" }
/// }
/// # let _ = actix_web::web::get().to(menu);
/// ```
pub struct Permissions<U: AuthUser> {
    user: Rc<U>,
    loaded: Option<Rc<PermissionSet<U>>>,
}

impl<U: AuthUser> Permissions<U> {
    /// Whether the user holds `permission`, from the user itself or the loaded set.
    pub fn has<P>(&self, permission: &P) -> bool
    where
        P: Permission<User = U>,
        U: HasPermission<P>,
    {
        self.user.has_permission(permission)
            || self
                .loaded
                .as_ref()
                .is_some_and(|set| set.contains(permission))
    }

    /// Whether the user satisfies `rule`.
    pub fn satisfies<P>(&self, rule: &Rule<P>) -> bool
    where
        P: Permission<User = U>,
        U: HasPermission<P>,
    {
        rule.holds(&mut |permission| self.has(permission))
    }

    /// The logged-in user.
    pub fn user(&self) -> &U {
        &self.user
    }
}

impl<U: AuthUser> fmt::Debug for Permissions<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permissions")
            .field("user", &type_name::<U>())
            .field("loaded", &self.loaded)
            .finish()
    }
}

impl<U: AuthUser> FromRequest for Permissions<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of_user::<U>(&req).map_err(|error| failure(&req, error))?;
            let (user, _) = logged_in_user(&req, &state).await?;
            let loaded = loaded_permissions(&req, &state, &user)
                .await
                .map_err(|error| failure(&req, error))?;
            let user = user
                .downcast::<U>()
                .map_err(|_| failure(&req, type_mismatch(&state, type_name::<U>())))?;
            let loaded = loaded.and_then(|loaded| loaded.downcast::<PermissionSet<U>>().ok());
            Ok(Permissions { user, loaded })
        })
    }
}
