//! The pending login: what the first factor proved, kept in the session until the second
//! factor completes the login. It is not a login: login-runtime's guards and extractors never
//! read it, so they see an anonymous visitor.

use actix_session::Session;
use login_runtime::AuthMethod;
use serde::{Deserialize, Serialize};

/// The session key. login-runtime leaves it alone, like every key of the app's.
pub(crate) const PENDING_KEY: &str = "login_mfa.pending";

/// The first factor, as kept in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PendingFactor {
    Password,
    SignInLink,
    Provider(String),
    Other,
}

impl PendingFactor {
    pub(crate) fn of(method: &AuthMethod) -> PendingFactor {
        match method {
            AuthMethod::Password => PendingFactor::Password,
            AuthMethod::SignInLink => PendingFactor::SignInLink,
            AuthMethod::Provider(name) => PendingFactor::Provider(name.clone()),
            _ => PendingFactor::Other,
        }
    }

    pub(crate) fn method(&self) -> Option<AuthMethod> {
        match self {
            PendingFactor::Password => Some(AuthMethod::Password),
            PendingFactor::SignInLink => Some(AuthMethod::SignInLink),
            PendingFactor::Provider(name) => Some(AuthMethod::Provider(name.clone())),
            PendingFactor::Other => None,
        }
    }
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The user's id, as text.
    pub(crate) user: String,
    /// Unix seconds after which it is void.
    pub(crate) expires: u64,
    /// Whether the login asked to be remembered: applied only when it completes.
    pub(crate) remember: bool,
    /// The factors used so far.
    pub(crate) first: Vec<PendingFactor>,
    /// Where to go once logged in (already checked same-site).
    #[serde(default)]
    pub(crate) next: Option<String>,
    /// Not a login waiting but a login made without a second factor (a password login before
    /// enrolment, a remembered login) that a guard sent here: the factor is added to it.
    #[serde(default)]
    pub(crate) step_up: bool,
}

/// The session's pending login, whether or not it expired.
pub(crate) fn read(session: &Session) -> Option<Pending> {
    // A value that does not parse (tampered, an older format) is no pending login.
    session.get::<Pending>(PENDING_KEY).ok().flatten()
}

pub(crate) fn write(session: &Session, pending: &Pending) -> Result<(), String> {
    session
        .insert(PENDING_KEY, pending)
        .map_err(|error| error.to_string())
}

pub(crate) fn clear(session: &Session) {
    session.remove(PENDING_KEY);
}
