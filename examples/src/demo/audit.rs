//! The audit trail: every login, failed login, logout, password change, token created or
//! revoked, throttled attempt and forbidden access, as a `tracing` event (target `audit`) and
//! a row of `audit_log`, with the user id, the client address and the time. Never a password,
//! a token or a cookie value: callers pass only ids and fixed words as `detail`.
//!
//! Handlers call [`record`]. Callbacks that run inside a request but cannot wait on the
//! database (login-runtime's and login-oidc's `on_event`) call [`later`]; the
//! [`write_pending`] middleware writes those entries, with the request's client address,
//! before the response goes out.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, web};

use super::Demo;
use super::db::Db;
use super::pages::AppError;

/// The client's address as the audit trail keeps it: the socket's (proxy headers are not
/// trusted).
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// A new account was made.
    SignedUp,
    /// A login with the right password.
    Login,
    /// A wrong password, an unknown name or a disabled account.
    LoginFailed,
    /// A logout.
    Logout,
    /// The password was re-entered to make a login fresh.
    Reauthenticated,
    /// A wrong password on the re-authenticate page.
    ReauthenticationFailed,
    /// The password changed.
    PasswordChanged,
    /// The display name changed.
    DisplayNameChanged,
    /// An API token was made.
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// A login attempt refused by the throttle, before any password was checked.
    Throttled,
    /// A logged-in user asked for a page they may not see, or a form came from another site.
    Forbidden,
    /// A device (one login) was logged out from the devices page.
    DeviceLoggedOut,
    /// Every other device was logged out from the devices page.
    OtherDevicesLoggedOut,
    /// A sign-in with OpenID Connect (detail: existing or new account).
    OidcSignIn,
    /// An OpenID Connect sign-in refused, nobody logged in (detail: login-oidc's error code).
    OidcRefused,
}

impl AuditEvent {
    /// The name stored in the `event` column.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SignedUp => "signed_up",
            AuditEvent::Login => "login",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::Logout => "logout",
            AuditEvent::Reauthenticated => "reauthenticated",
            AuditEvent::ReauthenticationFailed => "reauthentication_failed",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::DisplayNameChanged => "display_name_changed",
            AuditEvent::TokenCreated => "token_created",
            AuditEvent::TokenRevoked => "token_revoked",
            AuditEvent::Throttled => "throttled",
            AuditEvent::Forbidden => "forbidden",
            AuditEvent::DeviceLoggedOut => "device_logged_out",
            AuditEvent::OtherDevicesLoggedOut => "other_devices_logged_out",
            AuditEvent::OidcSignIn => "oidc_sign_in",
            AuditEvent::OidcRefused => "oidc_refused",
        }
    }
}

/// Records `event` in the log and the table. `detail` must hold no secret.
pub async fn record(
    db: &Db,
    event: AuditEvent,
    user_id: Option<i64>,
    client: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    tracing::info!(target: "audit", event = event.as_str(), user_id, client, detail);
    db.insert_audit(event.as_str(), user_id, client, detail)
        .await
}

/// An entry waiting for [`write_pending`].
#[derive(Debug)]
struct Pending {
    event: AuditEvent,
    user_id: Option<i64>,
    detail: String,
}

tokio::task_local! {
    /// The entries of the request being served.
    static PENDING: Rc<RefCell<Vec<Pending>>>;
}

/// Records `event` once the current request has its response, from a callback that cannot
/// wait on the database. Outside [`write_pending`] the entry only reaches the log.
pub fn later(event: AuditEvent, user_id: Option<i64>, detail: &str) {
    let pending = Pending {
        event,
        user_id,
        detail: detail.to_owned(),
    };
    if let Err(unscoped) = PENDING.try_with(|entries| entries.borrow_mut().push(pending)) {
        tracing::error!(target: "audit", event = event.as_str(), user_id, detail, %unscoped,
            "audit entry outside a request");
    }
}

/// Middleware: writes the entries [`later`] collected while the request was served. A failed
/// write fails the request (a 500), as it does in handlers: nothing goes unrecorded.
pub async fn write_pending(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let client = client_address(req.request());
    let demo = req.app_data::<web::Data<Demo>>().cloned();
    let entries = Rc::new(RefCell::new(Vec::new()));
    let res = PENDING.scope(entries.clone(), next.call(req)).await?;
    let entries = std::mem::take(&mut *entries.borrow_mut());
    if let Some(demo) = demo {
        for entry in entries {
            record(&demo.db, entry.event, entry.user_id, &client, &entry.detail)
                .await
                .map_err(AppError::from)?;
        }
    }
    Ok(res)
}
