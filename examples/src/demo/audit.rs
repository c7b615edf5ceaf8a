//! The audit trail: every login, failed login, logout, password change, token created or
//! revoked, throttled attempt and forbidden access, as a `tracing` event (target `audit`) and
//! a row of `audit_log`, with the user id, the client address and the time. Never a password,
//! a token or a cookie value: callers pass only ids and fixed words as `detail`.

use super::db::Db;

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
