//! Errors, and the one place they become responses.
//!
//! A mistake in the application's set-up (no `LoginManager`, no `SessionMiddleware`, the
//! wrong user type, a guarded login view) must be visible to the developer who made it, even
//! in a first app with no `tracing` subscriber: a debug build's 500 body names it, and it
//! goes to stderr once per process when no subscriber would record it. A release build's
//! body stays opaque (the detail is for the operator, not the client) and it is logged.

use std::sync::atomic::{AtomicU8, Ordering};

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// What went wrong inside login-runtime. Every variant is logged when it becomes a response,
/// and every one but [`Devices`](Self::Devices) (a 503) is a 500: they are mistakes in the
/// application's set-up or failures of its stores, never something a client should be told
/// about in detail (a debug build's body names a set-up mistake, for the developer).
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
    /// A guard (or `CurrentUser`) on the handler that serves the login or refresh view
    /// itself: redirecting there would send the visitor to the same page forever.
    #[error(
        "{guard} the login view `{view}` itself, so anonymous visitors would be redirected from `{view}` to `{view}` forever: remove the guard (or the `CurrentUser` parameter) from the login page's handler"
    )]
    GuardedLoginView {
        /// What refused the visitor: "`#[login_required]` on handler `x` guards", say.
        guard: String,
        /// The view's path.
        view: String,
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
    Devices(#[from] DeviceError),
    /// A remember-me duration that does not fit in a cookie expiry.
    #[error("remember-me duration is out of range: {0:?}")]
    InvalidDuration(Duration),
    /// [`Login::after_first_factor`](crate::Login::after_first_factor) proved an account that
    /// has a second factor, and no second step is installed where it ran: the login is refused
    /// rather than made without the second factor.
    #[error(
        "the account has a second factor, but no second step is installed on this route: register one with `.app_data(SecondStepGate::new(..))` (login-mfa's `Mfa::configure` does), at the app's root so that every first factor finds it"
    )]
    NoSecondStep,
    /// The installed second step could not answer (its store failed).
    #[error("the second step failed: {0}")]
    SecondStep(String),
}

/// A server-side store (the device registry) could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The store failed or is unreachable.
    #[error("the device registry is unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time.
    #[error("the device registry did not answer within {0:?}")]
    Timeout(Duration),
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
        self.report();
        // JSON for a client that prefers it, as every refusal answers.
        if crate::core::scope::prefers_json() {
            return self.json_response();
        }
        if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            return HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
                .content_type("text/plain; charset=utf-8")
                .body("503 Service Unavailable");
        }
        HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body(self.body(cfg!(debug_assertions)))
    }
}

impl LoginError {
    /// Logs the error for the operator (the detail never goes to the client), and shows a
    /// set-up mistake on stderr once when no `tracing` subscriber would record it.
    pub(crate) fn report(&self) {
        tracing::error!(target: "login_runtime", error = %self, "login-runtime error");
        if let Some(kind) = self.setup_mistake() {
            to_stderr_once(kind, &format!("login-runtime set-up mistake: {self}"));
        }
    }

    /// Which set-up mistake this is (a bit of [`SHOWN`]), or `None` for failures at run time
    /// (the loader, the session store), whose detail may be sensitive.
    fn setup_mistake(&self) -> Option<u8> {
        match self {
            Self::NoLoginManager => Some(1),
            Self::NoSessionMiddleware => Some(1 << 1),
            Self::UserTypeMismatch { .. } => Some(1 << 2),
            Self::GuardedLoginView { .. } => Some(1 << 3),
            Self::NoDeviceRegistry => Some(1 << 5),
            Self::NoSecondStep => Some(1 << 6),
            Self::Loader(_)
            | Self::Session(_)
            | Self::Devices(_)
            | Self::InvalidDuration(_)
            | Self::SecondStep(_) => None,
        }
    }

    /// The response a client that prefers JSON gets: what went wrong in one word (and in a
    /// debug build the set-up mistake), with the status, and `Retry-After` for a store that is
    /// down.
    pub(crate) fn json_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "1"))
                .json(serde_json::json!({ "error": "unavailable" }));
        }
        HttpResponse::build(status).json(serde_json::json!({
            "error": "server_error",
            "message": self.detail_for_client(cfg!(debug_assertions)),
        }))
    }

    /// What a client may be told beyond the status: the set-up mistake, in a debug build
    /// only (`None` otherwise, and always for failures at run time).
    pub(crate) fn detail_for_client(&self, debug_build: bool) -> Option<String> {
        match self.setup_mistake() {
            Some(_) if debug_build => Some(format!("login-runtime set-up mistake: {self}")),
            _ => None,
        }
    }

    /// The 500's body: opaque, but for a set-up mistake in a debug build.
    fn body(&self, debug_build: bool) -> String {
        match self.setup_mistake() {
            Some(_) if debug_build => format!(
                "500 Internal Server Error\n\nlogin-runtime set-up mistake: {self}\n\n(This detail is shown in debug \
                 builds only; a release build answers an opaque 500 and logs it.)\n"
            ),
            _ => "500 Internal Server Error".to_owned(),
        }
    }
}

/// The set-up messages already written to stderr, one bit each.
static SHOWN: AtomicU8 = AtomicU8::new(0);
/// Bit of the missing-secret-key warning in [`SHOWN`].
pub(crate) const NO_SECRET_KEY: u8 = 1 << 4;

/// Writes `message` to stderr, once per process for each `kind`, when no `tracing`
/// subscriber would record it (at the level it is logged at: `WARN` for the missing secret
/// key, `ERROR` for the others): a first app without one still sees its set-up mistakes.
pub(crate) fn to_stderr_once(kind: u8, message: &str) {
    let recorded = if kind == NO_SECRET_KEY {
        tracing::enabled!(target: "login_runtime", tracing::Level::WARN)
    } else {
        tracing::enabled!(target: "login_runtime", tracing::Level::ERROR)
    };
    if recorded {
        return;
    }
    if SHOWN.fetch_or(kind, Ordering::Relaxed) & kind == 0 {
        eprintln!("{message}");
    }
}

#[cfg(test)]
mod tests {
    use super::LoginError;

    #[test]
    fn a_debug_body_names_a_setup_mistake_and_a_release_body_does_not() {
        let error = LoginError::NoLoginManager;
        let debug = error.body(true);
        assert!(debug.contains("LoginManager::new(loader)"), "{debug}");
        assert_eq!(error.body(false), "500 Internal Server Error");
    }

    #[test]
    fn failures_at_run_time_stay_opaque_even_in_debug_builds() {
        let error = LoginError::Loader("connection to 10.0.0.3 refused".into());
        assert_eq!(error.body(true), "500 Internal Server Error");
    }
}
