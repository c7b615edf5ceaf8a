//! The trait an application implements: which local user an identity at the provider is.

use std::fmt::{Debug, Display};
use std::future::Future;

use login_runtime::AuthUser;

/// Who the provider says signed in: from a verified ID token (completed from UserInfo when it
/// lacks the profile or the address), or from a plain OAuth 2.0 provider's user-info API.
///
/// `(issuer, subject)` is the identity: stable and unique at the provider. Everything else is
/// profile data the user may change at the provider; in particular an email address is not an
/// identity, and is only worth linking on when the provider verified it and the app trusts the
/// provider to (see [`OidcUsers::linkable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OidcIdentity {
    /// The issuer (`iss`), exactly as configured.
    pub issuer: String,
    /// The subject (`sub`): the user's id at the provider.
    pub subject: String,
    /// The `email` claim, if the provider sent one.
    pub email: Option<String>,
    /// The `email_verified` claim: `true` only when the provider says it checked the address
    /// (`true` or `"true"`; GitHub: the primary address of `/user/emails` is `verified`).
    pub email_verified: bool,
    /// The `name` claim (in the default language).
    pub name: Option<String>,
    /// The `preferred_username` claim (GitHub: `login`).
    pub preferred_username: Option<String>,
    /// When the profile last changed (`updated_at`, seconds since the epoch; a number or an
    /// ISO 8601 string at the provider).
    pub updated_at: Option<i64>,
}

/// How the app's users relate to identities at the provider: find, link, or create.
///
/// The callback asks, in order: [`find`](Self::find) the user already linked to
/// `(issuer, subject)`; else [`linkable`](Self::linkable), an existing account the app chooses
/// to link (by default none), which it then records with [`link`](Self::link); else
/// [`create`](Self::create) a new account (return `Ok(None)` to allow sign-in for existing
/// accounts only). The user found is then logged in through login-runtime's
/// [`Login`](login_runtime::Login), exactly as a password login would be.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use login_oidc::{OidcIdentity, OidcUsers};
/// # use login_runtime::AuthUser;
/// # #[derive(Clone)] struct User { id: u64, email: String }
/// # impl AuthUser for User { type Id = u64; fn id(&self) -> u64 { self.id } }
///
/// struct Users {
///     accounts: Mutex<Vec<User>>,
///     links: Mutex<HashMap<(String, String), u64>>,
/// }
///
/// impl OidcUsers for Users {
///     type User = User;
///     type Error = std::convert::Infallible;
///
///     async fn find(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
///         let links = self.links.lock().unwrap();
///         let Some(id) = links.get(&(identity.issuer.clone(), identity.subject.clone())) else {
///             return Ok(None);
///         };
///         Ok(self.accounts.lock().unwrap().iter().find(|u| u.id == *id).cloned())
///     }
///
///     // Link an existing account only on an address the provider verified.
///     async fn linkable(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
///         let (Some(email), true) = (&identity.email, identity.email_verified) else {
///             return Ok(None);
///         };
///         Ok(self.accounts.lock().unwrap().iter().find(|u| &u.email == email).cloned())
///     }
///
///     async fn link(&self, user: &User, identity: &OidcIdentity) -> Result<(), Self::Error> {
///         let key = (identity.issuer.clone(), identity.subject.clone());
///         self.links.lock().unwrap().insert(key, user.id);
///         Ok(())
///     }
///
///     async fn create(&self, identity: &OidcIdentity) -> Result<Option<User>, Self::Error> {
///         Ok(None) // existing accounts only
///     }
/// }
/// ```
pub trait OidcUsers: 'static {
    /// The application's user type, the one its `LoginManager` loads.
    type User: AuthUser;
    /// What a failed lookup reports (a database error). The sign-in is refused with a 500.
    type Error: Display + Debug + 'static;

    /// The user already linked to `(identity.issuer, identity.subject)`.
    fn find(
        &self,
        identity: &OidcIdentity,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>>;

    /// An existing account to link this identity to, when the app decides it may (for example
    /// a verified email from a provider the app trusts for that). The default links nothing:
    /// an attacker who registers someone's address at a lax provider must not get their account.
    fn linkable(
        &self,
        identity: &OidcIdentity,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> {
        let _ = identity;
        std::future::ready(Ok(None))
    }

    /// Records that `identity` now signs in as `user` (called after [`linkable`](Self::linkable)
    /// chose it), so [`find`](Self::find) returns it next time.
    fn link(
        &self,
        user: &Self::User,
        identity: &OidcIdentity,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// A new account for an identity seen for the first time, linked to it; `Ok(None)` when
    /// the app does not sign up users this way.
    fn create(
        &self,
        identity: &OidcIdentity,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>>;
}
