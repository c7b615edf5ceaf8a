//! Errors, and the one place they become responses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// What went wrong inside login-runtime. Every variant is logged when it becomes a response,
/// and every one but [`Devices`](Self::Devices) (a 503) is a 500: they are mistakes in the
/// application's set-up or failures of its stores, never something a client should be told
/// about in detail.
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
    /// A [`Devices`](crate::Devices) extractor ran without a device registry.
    #[error(
        "no device registry is configured: set one with `LoginManager::device_registry(..)` to use `Devices`"
    )]
    NoDeviceRegistry,
    /// The device registry could not answer; the request fails with 503 and changes nothing.
    #[error(transparent)]
    Devices(#[from] crate::devices::DeviceError),
    /// A remember-me duration that does not fit in a cookie expiry.
    #[error("remember-me duration is out of range: {0:?}")]
    InvalidDuration(std::time::Duration),
}

impl ResponseError for LoginError {
    fn status_code(&self) -> StatusCode {
        match self {
            // A store that is down, not a bug: the client may try again shortly.
            LoginError::Devices(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The detail goes to the log for the operator, not to the client.
        tracing::error!(target: "login_runtime", error = %self, "login-runtime error");
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            return HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
                .content_type("text/plain; charset=utf-8")
                .body("503 Service Unavailable");
        }
        HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body("500 Internal Server Error")
    }
}
