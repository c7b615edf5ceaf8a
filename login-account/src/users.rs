//! What login-account needs to know of the application's users: the [`AccountUser`] trait on
//! the user type, and the [`AccountUsers`] store that finds and changes them.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use login_runtime::AuthUser;

/// A user with an email address: what the flows read from the app's user type.
///
/// Tokens are bound to [`email`](Self::email) and to the user's
/// [`AuthUser::session_auth_hash`] (the password hash, or a security stamp that changes with
/// the password): give the user a session hash, or a password change cannot end the
/// tokens, sessions and remember cookies issued before it.
pub trait AccountUser: AuthUser + Clone {
    /// The account's current email address.
    fn email(&self) -> &str;

    /// Whether the account's address has been confirmed.
    fn email_verified(&self) -> bool;

    /// When the account was made, for a grace period before verification is required
    /// ([`Verification::Grace`](crate::Verification::Grace)).
    fn created_at(&self) -> SystemTime {
        UNIX_EPOCH
    }

    /// Words a password of this account must not contain, besides its email address: its
    /// login name, the user's name.
    fn personal_words(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// The application's user store, as the flows use it. The app keeps hashing passwords its own
/// way (argon2 on the blocking pool in the demo): login-account hands over the new password
/// only once it passed the policy.
pub trait AccountUsers: 'static {
    /// The application's user type, the one its `LoginManager` loads.
    type User: AccountUser;
    /// What a failed lookup or change reports (a database error). The flow answers 500.
    type Error: Display + Debug + 'static;

    /// The user whose address is `email` (compare case-insensitively), if any.
    fn by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>>;

    /// The user with this id, if any.
    fn by_id(
        &self,
        id: &<Self::User as AuthUser>::Id,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>>;

    /// Records that `user`'s current address is confirmed.
    fn mark_verified(&self, user: &Self::User) -> impl Future<Output = Result<(), Self::Error>>;

    /// Sets `user`'s password to `password` (hash it; the user's session hash must change
    /// with it, which ends every other session and remember cookie of the user).
    fn set_password(
        &self,
        user: &Self::User,
        password: &str,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// Replaces `user`'s address with `email`, confirmed; `false` (and nothing changed) when
    /// another account has that address by now.
    fn set_email(
        &self,
        user: &Self::User,
        email: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>>;
}
