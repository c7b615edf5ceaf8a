//! Errors, and the one place they become responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// What went wrong inside login-runtime. Every variant is logged when it becomes a response,
/// and every one is a 500: they are mistakes in the application's set-up or failures of its
/// user store, never something a client should be told about in detail.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// A guard or extractor ran in an app that is not wrapped in [`LoginManager`](crate::LoginManager).
    #[error(
        "login-runtime is not installed on this route: wrap the app (or its scope) with `.wrap(LoginManager::new(loader))`"
    )]
    NoLoginManager,
    /// `LoginManager` ran without a session to keep the login in.
    #[error(
        "login-runtime found no session: wrap `LoginManager` inside `SessionMiddleware`, i.e. `.wrap(LoginManager::new(..))` before `.wrap(SessionMiddleware::new(..))`"
    )]
    NoSessionMiddleware,
    /// An extractor asked for a different user type than the one the `LoginManager` loads.
    #[error(
        "`{requested}` was requested, but the `LoginManager` loads `{loaded}`: use the loader's `User` type in extractors"
    )]
    UserTypeMismatch {
        /// The type the extractor named.
        requested: &'static str,
        /// The type the loader returns.
        loaded: &'static str,
    },
    /// The application's [`UserLoader`](crate::UserLoader) returned an error.
    #[error("the user loader failed: {0}")]
    Loader(String),
    /// The session could not be read or written.
    #[error("the session could not be read or written: {0}")]
    Session(String),
    /// A remember-me duration that does not fit in a cookie expiry.
    #[error("remember-me duration is out of range: {0:?}")]
    InvalidDuration(std::time::Duration),
}

impl ResponseError for LoginError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        // The detail goes to the log for the operator, not to the client.
        tracing::error!(target: "login_runtime", error = %self, "login-runtime error");
        HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body("500 Internal Server Error")
    }
}
