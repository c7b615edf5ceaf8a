//! The one sign-in step behind the login form and the re-authenticate form: the throttle, then
//! the password (argon2id, on the blocking pool), then the login (a new one, or the current
//! one made fresh), the throttle's bookkeeping and the audit trail. The pages only say what
//! came of it.
//!
//! Guessing on the re-authenticate form is guessing a password too, so both forms count
//! against the same throttle.

use std::time::Duration;

use actix_web::web;
use login_mfa::FirstStep;
use login_runtime::{AuthMethod, Login};

use super::frame::{AppError, Ctx};
use crate::demo::audit::{self, AuditEvent};
use crate::demo::db::User;
use crate::demo::mfa::DemoMfa;

/// What a password is entered for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Purpose<'a> {
    /// The login form: a visitor names an account (trimmed and lower-cased), and asks to be
    /// remembered or not.
    LogIn { name: &'a str, remember: bool },
    /// The re-authenticate form: the member logged in as `user` enters their password again,
    /// so that the login is fresh.
    Reauthenticate { user: &'a User },
}

/// Why a password was not accepted: nobody was logged in, no login was made fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Too many failures for this account or from this address; no password was checked. Try
    /// again after this long.
    Throttled(Duration),
    /// A wrong password, an unknown name or a disabled account: one answer for all three.
    WrongPassword,
}

impl Purpose<'_> {
    /// The audit detail of an attempt the throttle refused.
    fn throttled_detail(self) -> &'static str {
        match self {
            Purpose::LogIn { .. } => "login",
            Purpose::Reauthenticate { .. } => "reauthenticate",
        }
    }

    /// The audit event of a wrong password.
    fn failed_event(self) -> AuditEvent {
        match self {
            Purpose::LogIn { .. } => AuditEvent::LoginFailed,
            Purpose::Reauthenticate { .. } => AuditEvent::ReauthenticationFailed,
        }
    }
}

/// Checks `password` for `purpose` and, when it is right, logs in (or makes the login fresh):
/// the user, or why not. Every outcome is audited; every wrong password counts against the
/// account and the client address, and a right one starts the account's count over.
pub(super) async fn attempt(
    ctx: &Ctx,
    login: &Login<User>,
    purpose: Purpose<'_>,
    password: &str,
) -> Result<Result<(User, FirstStep), Refused>, AppError> {
    let demo = &ctx.demo;
    let client = ctx.client();
    let (name, user) = match purpose {
        Purpose::LogIn { name, .. } => (name, demo.db.user_by_name(name).await?),
        Purpose::Reauthenticate { user } => (user.name.as_str(), Some(user.clone())),
    };
    let user_id = user.as_ref().map(|user| user.id);
    // Throttled before anything is hashed: a flood of guesses costs no CPU.
    if let Some(wait) = demo.throttle.check(name, &client).await? {
        let detail = purpose.throttled_detail();
        audit::record(&demo.db, AuditEvent::Throttled, user_id, &client, detail).await?;
        return Ok(Err(Refused::Throttled(wait)));
    }
    let stored_hash = user.as_ref().map(|user| user.password_hash.as_str());
    let matches = demo.passwords.verify(password, stored_hash).await?;
    // A disabled account gets the same answer as a wrong password: the page tells nobody
    // which names exist or which accounts are disabled. An account made by OpenID Connect
    // has no password hash (see `oidc`), so no password matches it either.
    let detail = match &user {
        // The name tried, for the admin page: bounded, and with control characters and
        // quotes escaped (the page escapes HTML itself).
        None => format!("unknown name \"{}\"", tried_name(name)),
        Some(user) if !user.enabled => "account disabled".to_owned(),
        Some(_) => "wrong password".to_owned(),
    };
    let Some(user) = user.filter(|user| matches && user.enabled) else {
        demo.throttle.failed(name, &client).await?;
        audit::record(&demo.db, purpose.failed_event(), user_id, &client, &detail).await?;
        return Ok(Err(Refused::WrongPassword));
    };
    let (event, detail, step) = match purpose {
        Purpose::LogIn { remember, .. } => {
            // The password is the first factor: an account with a second one waits for it
            // (a pending login, not a login), the others are logged in.
            let mfa = ctx.req.app_data::<web::Data<DemoMfa>>().ok_or_else(|| {
                AppError::from(login_mfa::MfaError::Internal(
                    "the second factors are not configured".to_owned(),
                ))
            })?;
            // A password login: the profile must not say "signed in with" an earlier
            // OpenID Connect login of this session.
            login_oidc::SignedInWith::forget(&ctx.session);
            let step = mfa
                .after_first_factor(&ctx.req, &user, AuthMethod::Password, remember)
                .await?;
            let detail = match (step, remember) {
                (FirstStep::SecondFactor, _) => "password; second factor asked",
                (_, true) => "remember me",
                _ => "",
            };
            (AuditEvent::Login, detail, step)
        }
        Purpose::Reauthenticate { .. } => {
            login.confirm()?;
            (AuditEvent::Reauthenticated, "", FirstStep::LoggedIn)
        }
    };
    demo.throttle.succeeded(name).await?;
    audit::record(&demo.db, event, Some(user.id), &client, detail).await?;
    Ok(Ok((user, step)))
}

/// At most this many characters of a name that matched no account go into the audit trail.
const TRIED_NAME_CHARS: usize = 40;

/// `name` as the audit trail keeps it: its first [`TRIED_NAME_CHARS`] characters, escaped
/// (`\n`, `\"`, `\u{…}`), and `…` when it was longer.
fn tried_name(name: &str) -> String {
    let mut kept: String = name
        .chars()
        .take(TRIED_NAME_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if name.chars().count() > TRIED_NAME_CHARS {
        kept.push('…');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::tried_name;

    #[test]
    fn a_tried_name_is_kept_bounded_and_escaped() {
        assert_eq!(tried_name("mallory"), "mallory");
        assert_eq!(tried_name("a\"b\nc"), "a\\\"b\\nc");
        let long = "x".repeat(500);
        assert_eq!(tried_name(&long), format!("{}…", "x".repeat(40)));
    }
}
