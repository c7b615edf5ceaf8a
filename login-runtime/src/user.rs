//! The two traits an application implements: who a user is, and how to find one.

use std::fmt::{Debug, Display};
use std::future::Future;

use actix_web::HttpRequest;

use crate::diagnostics::LoginId;

/// A user that can log in: Flask-Login's `UserMixin`.
///
/// Usually derived with [`#[derive(AuthUser)]`](derive@crate::AuthUser); a hand-written impl
/// needs only [`AuthUser::id`]:
///
/// ```
/// use login_runtime::AuthUser;
///
/// struct Account { key: u64, enabled: bool, password_hash: String }
///
/// impl AuthUser for Account {
///     type Id = u64;
///     fn id(&self) -> u64 { self.key }
///     fn is_active(&self) -> bool { self.enabled }
///     fn session_auth_hash(&self) -> Option<&[u8]> { Some(self.password_hash.as_bytes()) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a login user",
    label = "`{Self}` does not implement `AuthUser`",
    note = "add `#[derive(AuthUser)]` to `{Self}`, or implement `login_runtime::AuthUser` for it"
)]
pub trait AuthUser: 'static {
    /// The id stored in the session and the remember cookie. It is written with `Display`
    /// and read back with `FromStr`; an id that does not parse is treated as no login.
    type Id: LoginId;

    /// This user's id.
    fn id(&self) -> Self::Id;

    /// Whether this user may log in. An inactive user is refused by
    /// [`Login::login`](crate::Login::login) unless forced, and an inactive user found in a
    /// session is treated as anonymous.
    fn is_active(&self) -> bool {
        true
    }

    /// Whether this value stands for an authenticated user (always `true` for real users;
    /// kept for parity with Flask-Login's `UserMixin`).
    fn is_authenticated(&self) -> bool {
        true
    }

    /// Whether this value stands for an anonymous user (always `false` for real users).
    fn is_anonymous(&self) -> bool {
        false
    }

    /// Bytes that change whenever the user's credentials change, e.g. the password hash or a
    /// security stamp. When it changes, every session and remember cookie issued before the
    /// change stops working at its next request ("log out everywhere").
    fn session_auth_hash(&self) -> Option<&[u8]> {
        None
    }
}

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

    /// Loads the permissions of `user` that are not kept with it (another table, a policy
    /// service), for the permission guards and the [`Permissions`](crate::Permissions)
    /// extractor. It runs at most once per request, however many of them ask, and only when
    /// [`HasPermission::has_permission`](crate::HasPermission::has_permission) did not
    /// already grant what was asked. An error answers 500, never a silent deny. The default
    /// finds none.
    fn load_permissions(
        &self,
        user: &Self::User,
    ) -> impl Future<Output = Result<crate::PermissionSet<Self::User>, Self::Error>> {
        let _ = user;
        std::future::ready(Ok(crate::PermissionSet::new()))
    }
}
