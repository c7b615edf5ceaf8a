//! The audit trail: every login, failed login, logout, password change, token created or
//! revoked, throttled attempt and forbidden access, as a `tracing` event (target `audit`) and
//! a row of `audit_log`, with the user id, the client address and the time. Never a password,
//! a token or a cookie value: callers pass only ids and fixed words as `detail`.
//!
//! Handlers call [`record`]. login-runtime's events arrive through [`AuditSink`], login-oidc's
//! and login-account's through their event sinks (`oidc::OidcAudit`, `account::AccountAudit`,
//! which [`write()`] an [`Entry`]); each library awaits its sink before the response goes out.

use actix_web::{HttpRequest, web};

use login_runtime::{EventSink, LoginEvent};

use super::Demo;
use super::db::Db;
use super::pages::AppError;

/// The client's address as the audit trail keeps it: login-runtime's, by the rule session
/// protection and the devices use (the socket's, or behind `DEMO_TRUSTED_PROXIES` the
/// right-most hop of their `X-Forwarded-For` that is not one of them).
pub fn client_address(req: &HttpRequest) -> String {
    login_runtime::client_address(req).unwrap_or_else(|| "unknown".to_owned())
}

/// login-runtime's events that the audit trail records, delivered before the response goes
/// out: refused permission checks (the demo's own handlers record logins and logouts, with
/// more detail). A failed write fails the request, as it does in handlers.
#[derive(Debug, Clone, Copy)]
pub struct AuditSink;

impl EventSink for AuditSink {
    async fn deliver(&self, event: &LoginEvent, req: &HttpRequest) -> actix_web::Result<()> {
        let LoginEvent::Forbidden { user_id, path } = event else {
            return Ok(());
        };
        let Some(demo) = req.app_data::<web::Data<Demo>>() else {
            return Ok(());
        };
        let user_id = user_id.parse().ok();
        record(
            &demo.db,
            AuditEvent::Forbidden,
            user_id,
            &client_address(req),
            path,
        )
        .await
        .map_err(AppError::from)?;
        Ok(())
    }
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
    /// A link to confirm the email address was mailed.
    VerificationSent,
    /// An email address was confirmed.
    EmailVerified,
    /// A password reset was asked for (detail: "no account" when no account has the address).
    ResetRequested,
    /// A change of email address was asked for.
    EmailChangeRequested,
    /// The new email address was confirmed and replaced the old one.
    EmailChanged,
    /// The old address reported a change of email it did not ask for.
    EmailChangeReported,
    /// A sign-in link was asked for (detail: "no account" when no account has the address).
    SignInRequested,
    /// A step of an account flow was refused (detail: the flow and login-account's code).
    AccountRefused,
    /// A mail of an account flow could not be sent (detail: the flow).
    MailFailed,
    /// A step of the second factors (login-mfa): asked, enrolled, codes, passkeys.
    SecondFactor,
    /// A wrong code or a refused passkey.
    SecondFactorRefused,
}

impl AuditEvent {
    /// The name stored in the `event` column.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SignedUp => "signed_up",
            AuditEvent::Login => "login",
            AuditEvent::SecondFactor => "second_factor",
            AuditEvent::SecondFactorRefused => "second_factor_refused",
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
            AuditEvent::VerificationSent => "verification_sent",
            AuditEvent::EmailVerified => "email_verified",
            AuditEvent::ResetRequested => "reset_requested",
            AuditEvent::EmailChangeRequested => "email_change_requested",
            AuditEvent::EmailChanged => "email_changed",
            AuditEvent::EmailChangeReported => "email_change_reported",
            AuditEvent::SignInRequested => "sign_in_requested",
            AuditEvent::AccountRefused => "account_refused",
            AuditEvent::MailFailed => "mail_failed",
        }
    }

    /// What the admin page calls the event.
    pub fn label(self) -> &'static str {
        match self {
            AuditEvent::SignedUp => "Signed up",
            AuditEvent::Login => "Logged in",
            AuditEvent::LoginFailed => "Login failed",
            AuditEvent::Logout => "Logged out",
            AuditEvent::Reauthenticated => "Password confirmed",
            AuditEvent::ReauthenticationFailed => "Password confirmation failed",
            AuditEvent::PasswordChanged => "Password changed",
            AuditEvent::DisplayNameChanged => "Display name changed",
            AuditEvent::TokenCreated => "API token made",
            AuditEvent::TokenRevoked => "API token revoked",
            AuditEvent::Throttled => "Throttled",
            AuditEvent::Forbidden => "Refused (forbidden)",
            AuditEvent::DeviceLoggedOut => "Device logged out",
            AuditEvent::OtherDevicesLoggedOut => "Other devices logged out",
            AuditEvent::OidcSignIn => "Signed in with OpenID Connect",
            AuditEvent::OidcRefused => "OpenID Connect sign-in refused",
            AuditEvent::VerificationSent => "Confirmation link sent",
            AuditEvent::EmailVerified => "Email address confirmed",
            AuditEvent::ResetRequested => "Password reset asked for",
            AuditEvent::EmailChangeRequested => "Email change asked for",
            AuditEvent::EmailChanged => "Email address changed",
            AuditEvent::EmailChangeReported => "Email change reported",
            AuditEvent::SignInRequested => "Sign-in link asked for",
            AuditEvent::AccountRefused => "Account step refused",
            AuditEvent::MailFailed => "Mail not sent",
            AuditEvent::SecondFactor => "Second factor",
            AuditEvent::SecondFactorRefused => "Second factor refused",
        }
    }

    /// The event stored as `code` in the `event` column, if it is one of these.
    pub fn from_code(code: &str) -> Option<AuditEvent> {
        Some(match code {
            "signed_up" => AuditEvent::SignedUp,
            "login" => AuditEvent::Login,
            "login_failed" => AuditEvent::LoginFailed,
            "logout" => AuditEvent::Logout,
            "reauthenticated" => AuditEvent::Reauthenticated,
            "reauthentication_failed" => AuditEvent::ReauthenticationFailed,
            "password_changed" => AuditEvent::PasswordChanged,
            "display_name_changed" => AuditEvent::DisplayNameChanged,
            "token_created" => AuditEvent::TokenCreated,
            "token_revoked" => AuditEvent::TokenRevoked,
            "throttled" => AuditEvent::Throttled,
            "forbidden" => AuditEvent::Forbidden,
            "device_logged_out" => AuditEvent::DeviceLoggedOut,
            "other_devices_logged_out" => AuditEvent::OtherDevicesLoggedOut,
            "oidc_sign_in" => AuditEvent::OidcSignIn,
            "oidc_refused" => AuditEvent::OidcRefused,
            "verification_sent" => AuditEvent::VerificationSent,
            "email_verified" => AuditEvent::EmailVerified,
            "reset_requested" => AuditEvent::ResetRequested,
            "email_change_requested" => AuditEvent::EmailChangeRequested,
            "email_changed" => AuditEvent::EmailChanged,
            "email_change_reported" => AuditEvent::EmailChangeReported,
            "sign_in_requested" => AuditEvent::SignInRequested,
            "account_refused" => AuditEvent::AccountRefused,
            "mail_failed" => AuditEvent::MailFailed,
            "second_factor" => AuditEvent::SecondFactor,
            "second_factor_refused" => AuditEvent::SecondFactorRefused,
            _ => return None,
        })
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

/// An entry for the audit trail from a library's event (login-oidc's, login-account's), which
/// its event sink writes with [`write()`] before the response goes out.
#[derive(Debug)]
pub struct Entry {
    event: AuditEvent,
    user_id: Option<i64>,
    detail: String,
}

/// The entry recording `event` for `user_id`, with `detail` (never a secret).
pub fn entry(event: AuditEvent, user_id: Option<i64>, detail: &str) -> Option<Entry> {
    Some(Entry {
        event,
        user_id,
        detail: detail.to_owned(),
    })
}

/// Writes `entry` with the client address of its request `req`. A failed write fails the
/// request (a 500), as it does in handlers: nothing goes unrecorded.
pub async fn write(req: &HttpRequest, entry: Option<Entry>) -> actix_web::Result<()> {
    let (Some(entry), Some(demo)) = (entry, req.app_data::<web::Data<Demo>>()) else {
        return Ok(());
    };
    let client = client_address(req);
    record(&demo.db, entry.event, entry.user_id, &client, &entry.detail)
        .await
        .map_err(AppError::from)?;
    Ok(())
}
