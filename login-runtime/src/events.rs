//! Flask-Login's signals, as one enum.

/// Something that happened to a login. Every event is delivered to the callbacks registered
/// with [`LoginManager::on_event`](crate::LoginManager::on_event) and is always emitted as a
/// `tracing` event (target `login_runtime`) carrying the user id, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginEvent {
    /// A user logged in (`user_logged_in`).
    LoggedIn {
        /// The user's id, as stored in the session.
        user_id: String,
    },
    /// A user logged out (`user_logged_out`). `user_id` is `None` when the session no longer
    /// named a user.
    LoggedOut {
        /// The user's id, if the request still had one.
        user_id: Option<String>,
    },
    /// A login was restored from a remember cookie (`user_loaded_from_cookie`).
    LoadedFromCookie {
        /// The user's id.
        user_id: String,
    },
    /// A user was found by [`UserLoader::load_user_from_request`](crate::UserLoader::load_user_from_request)
    /// (`user_loaded_from_request`).
    LoadedFromRequest {
        /// The user's id.
        user_id: String,
    },
    /// A login was confirmed, making it fresh again (`user_login_confirmed`).
    LoginConfirmed {
        /// The user's id, if anyone was logged in.
        user_id: Option<String>,
    },
    /// A guard refused an anonymous request (`user_unauthorized`).
    Unauthorized {
        /// The refused request's path.
        path: String,
    },
    /// A fresh-login guard refused a login that is not fresh (`user_needs_refresh`).
    NeedsRefresh {
        /// The user's id.
        user_id: Option<String>,
        /// The refused request's path.
        path: String,
    },
    /// A guard that needs a second factor refused a login made without one.
    NeedsSecondFactor {
        /// The user's id.
        user_id: String,
        /// The refused request's path.
        path: String,
        /// Whether the account has a second factor (sent to the second-factor step), or not
        /// (sent to enrolment).
        enrolled: bool,
    },
    /// A permission check refused a logged-in user (answered with 403, or 404 when
    /// configured).
    Forbidden {
        /// The user's id.
        user_id: String,
        /// The refused request's path.
        path: String,
    },
    /// Session protection saw a different client identifier (`session_protected`).
    SessionProtected {
        /// The user's id stored in the session.
        user_id: Option<String>,
        /// `true` when the login was dropped (strong mode), `false` when it was only marked
        /// not fresh (basic mode).
        dropped: bool,
    },
}

impl LoginEvent {
    pub(crate) fn trace(&self) {
        match self {
            LoginEvent::LoggedIn { user_id } => {
                tracing::info!(target: "login_runtime", event = "logged_in", user_id = %user_id);
            }
            LoginEvent::LoggedOut { user_id } => {
                tracing::info!(target: "login_runtime", event = "logged_out", user_id = ?user_id);
            }
            LoginEvent::LoadedFromCookie { user_id } => {
                tracing::info!(target: "login_runtime", event = "loaded_from_cookie", user_id = %user_id);
            }
            LoginEvent::LoadedFromRequest { user_id } => {
                tracing::debug!(target: "login_runtime", event = "loaded_from_request", user_id = %user_id);
            }
            LoginEvent::LoginConfirmed { user_id } => {
                tracing::info!(target: "login_runtime", event = "login_confirmed", user_id = ?user_id);
            }
            LoginEvent::Unauthorized { path } => {
                tracing::debug!(target: "login_runtime", event = "unauthorized", path = %path);
            }
            LoginEvent::NeedsRefresh { user_id, path } => {
                tracing::debug!(target: "login_runtime", event = "needs_refresh", user_id = ?user_id, path = %path);
            }
            LoginEvent::NeedsSecondFactor {
                user_id,
                path,
                enrolled,
            } => {
                tracing::info!(target: "login_runtime", event = "needs_second_factor", user_id = %user_id, path = %path, enrolled = enrolled);
            }
            LoginEvent::Forbidden { user_id, path } => {
                tracing::info!(target: "login_runtime", event = "forbidden", user_id = %user_id, path = %path);
            }
            LoginEvent::SessionProtected { user_id, dropped } => {
                tracing::warn!(target: "login_runtime", event = "session_protected", user_id = ?user_id, dropped = dropped);
            }
        }
    }
}
