//! Why a step of a flow was refused ([`AccountError`]), with its status, its words for the
//! visitor and its stable code, decided together in one place.

use std::time::Duration;

use actix_web::http::StatusCode;

use crate::mail::MailError;
use crate::store::StoreError;
use crate::token::TokenError;

/// Why a step was refused. None logs anybody in or changes anything; each is answered with a
/// page (or JSON) saying what to do, and reported as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The link or token is unknown, used, expired, of another purpose, stale, or opened in
    /// another browser.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Too many mails (or codes) for this account, address or client: try again later.
    #[error("too many requests; try again in {retry_after:?}")]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The mail could not be sent.
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The throttle's counters could not be read or written.
    #[error("the throttle's counters failed: {0}")]
    Throttle(String),
    /// The device registry could not log the account's devices out.
    #[error("the device registry failed: {0}")]
    Devices(String),
    /// The application's [`AccountUsers`](crate::AccountUsers) store failed.
    #[error("the user store failed: {0}")]
    Users(String),
    /// The session could not be read or written, or the login not made.
    #[error("the session failed: {0}")]
    Session(String),
    /// The request's form carried no valid form token (cross-site request forgery).
    #[error("the form token is missing or wrong")]
    FormToken,
    /// The request's body does not parse, or misses a field.
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    /// This needs a confirmed email address.
    #[error("the account's email address is not confirmed")]
    NotVerified,
    /// No sign-in was asked for in this browser (or it was replaced, or used).
    #[error("no sign-in is in progress in this browser")]
    NoSignInPending,
    /// The account is disabled.
    #[error("the account is disabled")]
    Inactive,
    /// The new address of a change of email belongs to another account by now.
    #[error("the new address belongs to another account")]
    EmailTaken,
    /// An [`AccountEventSink`](crate::AccountEventSink) failed (the audit log could not be
    /// written).
    #[error("an event sink failed: {0}")]
    Events(String),
}

impl AccountError {
    /// A stable, short code for events and JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::Token(error) => error.code(),
            AccountError::Throttled { .. } => "throttled",
            AccountError::Mail(_) => "mail_unavailable",
            AccountError::Store(_) | AccountError::Throttle(_) | AccountError::Devices(_) => {
                "unavailable"
            }
            AccountError::Users(_) | AccountError::Session(_) | AccountError::Events(_) => {
                "server_error"
            }
            AccountError::FormToken => "form_token",
            AccountError::BadRequest(_) => "bad_request",
            AccountError::NotVerified => "email_not_verified",
            AccountError::NoSignInPending => "no_sign_in_pending",
            AccountError::Inactive => "inactive",
            AccountError::EmailTaken => "email_taken",
        }
    }

    /// The status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            AccountError::Token(TokenError::OtherBrowser) => StatusCode::FORBIDDEN,
            AccountError::Token(_)
            | AccountError::BadRequest(_)
            | AccountError::NoSignInPending => StatusCode::BAD_REQUEST,
            AccountError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AccountError::Mail(_)
            | AccountError::Store(_)
            | AccountError::Throttle(_)
            | AccountError::Devices(_) => StatusCode::SERVICE_UNAVAILABLE,
            AccountError::Users(_) | AccountError::Session(_) | AccountError::Events(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AccountError::FormToken | AccountError::NotVerified | AccountError::Inactive => {
                StatusCode::FORBIDDEN
            }
            AccountError::EmailTaken => StatusCode::CONFLICT,
        }
    }

    /// What the visitor is told: what happened and what to do, never a detail of the server.
    pub fn message(&self) -> String {
        match self {
            AccountError::Token(TokenError::Used) => {
                "This link has already been used. Ask for a new one if you still need it.".into()
            }
            AccountError::Token(TokenError::Expired) => {
                "This link has expired. Ask for a new one.".into()
            }
            AccountError::Token(TokenError::Stale) => {
                "This link is no longer valid: the account's password or email address changed since it was sent. Ask for a new one.".into()
            }
            AccountError::Token(TokenError::OtherBrowser) => {
                "Open this link in the browser where you asked to sign in, or type the code from the mail there. For your safety it cannot sign you in here.".into()
            }
            AccountError::Token(_) => {
                "This link is not valid. Check that you opened the whole link from the latest mail.".into()
            }
            AccountError::Throttled { retry_after } => format!(
                "Too many requests for this address or from this network. Try again in {}.",
                crate::mail::words_for_wait(*retry_after)
            ),
            AccountError::Mail(_) => {
                "We could not send the mail right now. Please try again in a few minutes.".into()
            }
            AccountError::Store(_) | AccountError::Throttle(_) | AccountError::Devices(_) => {
                "This is not available right now. Please try again in a few minutes.".into()
            }
            AccountError::Users(_) | AccountError::Session(_) | AccountError::Events(_) => {
                "Something went wrong on our side. Please try again later.".into()
            }
            AccountError::FormToken => {
                "This form has expired or did not come from this site. Go back, reload the page and try again.".into()
            }
            AccountError::BadRequest(_) => "The request was incomplete. Please try again.".into(),
            AccountError::NotVerified => {
                "Please confirm your email address first: we sent you a link.".into()
            }
            AccountError::NoSignInPending => {
                "No sign-in was asked for in this browser, or it was already used. Ask for a new sign-in link.".into()
            }
            AccountError::Inactive => "This account is disabled.".into(),
            AccountError::EmailTaken => {
                "This address belongs to another account by now, so your address was not changed.".into()
            }
        }
    }
}
