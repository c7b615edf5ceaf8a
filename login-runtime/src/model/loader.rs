//! How to find users: Flask-Login's `user_loader`, `request_loader`, and the permissions kept
//! outside the user.

use std::fmt::{Debug, Display};
use std::future::Future;

use actix_web::HttpRequest;

use crate::diagnostics::LoginId;
use crate::model::permission::PermissionSet;
use crate::model::user::AuthUser;

/// Finds users: Flask-Login's `user_loader` and `request_loader` in one trait.
///
/// ```
/// use login_runtime::{AuthUser, UserLoader};
/// use std::collections::HashMap;
///
/// #[derive(Clone)]
/// struct User { id: u32, name: String }
/// impl AuthUser for User {
///     type Id = u32;
///     fn id(&self) -> u32 { self.id }
/// }
///
/// struct Users(HashMap<u32, User>);
///
/// impl UserLoader for Users {
///     type User = User;
///     type Id = u32;
///     type Error = std::convert::Infallible;
///
///     async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
///         Ok(self.0.get(id).cloned())
///     }
/// }
/// ```
pub trait UserLoader: 'static {
    /// The application's user type.
    type User: AuthUser<Id = Self::Id>;
    /// The user's id, `<Self::User as AuthUser>::Id` (e.g. `u32`): what
    /// [`load_user`](Self::load_user) is given. Naming it here, not as a projection through
    /// `AuthUser`, is what gives a `type User` that is not an `AuthUser` one error at that
    /// line instead of three.
    type Id: LoginId;
    /// What a failed lookup reports (a database error, say). It is logged, and the request
    /// gets a 500; it never turns into an anonymous user silently.
    type Error: Display + Debug + 'static;

    /// Loads the user with this id from the session or a remember cookie; `Ok(None)` when
    /// there is no such user (the stale login is then removed).
    fn load_user(
        &self,
        id: &Self::Id,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>>;

    /// Loads a user from the request itself (an API key, a bearer token) when neither the
    /// session nor a remember cookie names one. Such a login lasts for this request only and
    /// is never fresh. The default finds nobody.
    fn load_user_from_request(
        &self,
        req: &HttpRequest,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> {
        let _ = req;
        std::future::ready(Ok(None))
    }

    /// Whether `user` has a second factor enrolled (a one-time code, a passkey), asked only
    /// when a guard with `second_factor` refuses a login made without one: an account with a
    /// factor is sent to the second-factor step, one without to enrolment. The default answers
    /// `false`.
    fn has_second_factor(
        &self,
        user: &Self::User,
    ) -> impl Future<Output = Result<bool, Self::Error>> {
        let _ = user;
        std::future::ready(Ok(false))
    }

    /// Loads the permissions of `user` that are not kept with it (another table, a policy
    /// service), for the permission guards and the [`Permissions`](crate::Permissions)
    /// extractor. It runs at most once per request, however many of them ask, and only when
    /// [`HasPermission::has_permission`](crate::HasPermission::has_permission) did not
    /// already grant what was asked. An error answers 500, never a silent deny. The default
    /// finds none.
    fn load_permissions(
        &self,
        user: &Self::User,
    ) -> impl Future<Output = Result<PermissionSet<Self::User>, Self::Error>> {
        let _ = user;
        std::future::ready(Ok(PermissionSet::new()))
    }
}
