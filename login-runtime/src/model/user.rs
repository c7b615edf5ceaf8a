//! Who a user is: the trait an application derives on its user type.

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
