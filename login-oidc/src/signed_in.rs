//! How the current login was made, for pages that say so ("signed in with GitHub") and for a
//! re-authentication page that offers the provider instead of a password.

use actix_session::Session;
use login_runtime::Login;

/// The session key of the record.
const SIGNED_IN: &str = "login_oidc.signed_in";

/// How the current login was made through login-oidc: which provider, who at the provider,
/// and when. Read with [`SignedInWith::of`]; a login made any other way (a password) has none.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SignedInWith {
    /// The provider's short name ([`OidcConfig::name`](crate::OidcConfig::name)).
    pub provider: String,
    /// The issuer (or a plain OAuth 2.0 provider's identity).
    pub issuer: String,
    /// The subject at the provider.
    pub subject: String,
    /// The local user's id the record is for.
    pub user_id: String,
    /// When the sign-in happened here (seconds since the epoch).
    pub signed_in_at: i64,
    /// When the visitor last authenticated at the provider (`auth_time`), when it said.
    pub authenticated_at: Option<i64>,
    /// When the login was last made fresh by re-authenticating at the provider.
    pub reauthenticated_at: Option<i64>,
}

impl SignedInWith {
    /// The record for the user logged in now, if login-oidc made that login. `None` when the
    /// session's login is another user's (the record is from an earlier login), or there is
    /// none.
    ///
    /// A password login of the same user in the same session after an OpenID Connect one
    /// leaves the record in place: the app's password login calls [`forget`](Self::forget).
    pub fn of<U>(session: &Session, login: &Login<U>) -> Option<SignedInWith> {
        let record = session.get::<SignedInWith>(SIGNED_IN).ok().flatten()?;
        (login.user_id().as_deref() == Some(record.user_id.as_str())).then_some(record)
    }

    /// Removes the record (a login made another way).
    pub fn forget(session: &Session) {
        session.remove(SIGNED_IN);
    }

    pub(crate) fn record(&self, session: &Session) -> Result<(), String> {
        session
            .insert(SIGNED_IN, self)
            .map_err(|error| error.to_string())
    }

    pub(crate) fn read(session: &Session) -> Option<SignedInWith> {
        session.get::<SignedInWith>(SIGNED_IN).ok().flatten()
    }
}
