//! Why a step was refused, each with its status and a code for JSON clients.

use std::time::Duration;

use actix_web::http::StatusCode;

/// A refused or failed step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MfaError {
    /// The body is not the JSON or form the step takes.
    #[error("the request is not understood: {0}")]
    BadRequest(String),
    /// A form without this session's form token.
    #[error("the form has expired; load the page and try again")]
    FormToken,
    /// No login waits for a second factor (never started, or expired).
    #[error("no sign-in waits for a second factor; sign in again")]
    NoPendingLogin,
    /// Not logged in.
    #[error("you must be logged in")]
    NotLoggedIn,
    /// A wrong, malformed or already used code.
    #[error("that code is not right")]
    WrongCode,
    /// Too many wrong codes.
    #[error("too many wrong codes; try again later")]
    Throttled {
        /// When to try again.
        retry_after: Duration,
    },
    /// TOTP is not set up (or not enabled) for this account.
    #[error("no authenticator app is set up")]
    NoTotp,
    /// The passkey ceremony is unknown, used or expired.
    #[error("the passkey request has expired; try again")]
    NoCeremony,
    /// The passkey's answer was refused (signature, origin, user verification, counter, an
    /// unknown or removed credential).
    #[error("the passkey was not accepted")]
    PasskeyRefused(&'static str),
    /// The passkey is already registered.
    #[error("this passkey is already registered")]
    PasskeyExists,
    /// No such passkey for this user.
    #[error("no such passkey")]
    NoSuchPasskey,
    /// A passkey name that is empty or too long.
    #[error("a passkey's name must have 1 to 64 characters")]
    BadName,
    /// The account is disabled (`AuthUser::is_active` is `false`): nobody was logged in.
    #[error("this account is disabled")]
    Inactive,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::StoreError),
    /// login-runtime failed (the session, the user loader).
    #[error("login failed: {0}")]
    Login(String),
    /// Something that should not happen (a state that does not serialise).
    #[error("internal error: {0}")]
    Internal(String),
}

impl MfaError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            MfaError::BadRequest(_) | MfaError::BadName => StatusCode::BAD_REQUEST,
            MfaError::FormToken => StatusCode::FORBIDDEN,
            MfaError::NoPendingLogin | MfaError::NotLoggedIn => StatusCode::UNAUTHORIZED,
            MfaError::WrongCode | MfaError::PasskeyRefused(_) => StatusCode::UNAUTHORIZED,
            MfaError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            MfaError::NoTotp | MfaError::NoSuchPasskey => StatusCode::NOT_FOUND,
            MfaError::NoCeremony => StatusCode::BAD_REQUEST,
            MfaError::PasskeyExists => StatusCode::CONFLICT,
            MfaError::Inactive => StatusCode::FORBIDDEN,
            MfaError::Store(_) | MfaError::Login(_) | MfaError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// A short code for JSON clients: `bad_request`, `wrong_code`, `throttled`, …
    pub fn code(&self) -> &'static str {
        match self {
            MfaError::BadRequest(_) => "bad_request",
            MfaError::FormToken => "form_token",
            MfaError::NoPendingLogin => "no_pending_login",
            MfaError::NotLoggedIn => "not_logged_in",
            MfaError::WrongCode => "wrong_code",
            MfaError::Throttled { .. } => "throttled",
            MfaError::NoTotp => "no_totp",
            MfaError::NoCeremony => "no_ceremony",
            MfaError::PasskeyRefused(_) => "passkey_refused",
            MfaError::PasskeyExists => "passkey_exists",
            MfaError::NoSuchPasskey => "no_such_passkey",
            MfaError::BadName => "bad_name",
            MfaError::Inactive => "inactive",
            MfaError::Store(_) | MfaError::Login(_) | MfaError::Internal(_) => "internal",
        }
    }

    /// What a visitor is shown: the message, but never a server error's detail.
    pub fn message(&self) -> String {
        if self.status().is_server_error() {
            "something went wrong; try again".to_owned()
        } else {
            self.to_string()
        }
    }
}
