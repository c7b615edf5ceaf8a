//! The member's own pages: the profile, and the settings (display name, password), which
//! need a fresh login.

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use login_runtime::{CurrentUser, Login, LoginOptions, fresh_login_required, login_required};
use serde::Deserialize;

use super::frame::{
    AppError, Ctx, FormErrors, Layout, NavUser, PageResult, date, form_status, see_other,
};
use super::signup::{display_name_problem, password_problems};
use crate::demo::account::DemoAccount;
use crate::demo::audit::AuditEvent;
use crate::demo::csrf::CheckedForm;
use crate::demo::db::User;

// ---- profile ----

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    user: NavUser,
    member_since: String,
    fresh: bool,
    remembered: bool,
    /// The provider this login was made with (login-oidc, "OpenID Connect at {issuer}"), if
    /// not a password.
    signed_in_with: Option<String>,
}

/// Members only.
#[login_required]
#[get("/profile")]
pub(super) async fn profile(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    login: Login<User>,
) -> PageResult {
    let page = ProfilePage {
        layout: ctx.layout_with_flashes("Profile"),
        user: NavUser {
            name: user.name.clone(),
            display_name: user.display_name.clone(),
            is_admin: user.is_admin,
            unverified: false,
        },
        member_since: date(user.created_at),
        fresh: login.is_fresh()?,
        remembered: login.is_remembered(),
        signed_in_with: login_oidc::SignedInWith::of(&ctx.session, &login)
            .map(|record| format!("OpenID Connect at {}", record.issuer)),
    };
    ctx.render(StatusCode::OK, &page)
}

// ---- settings ----

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    errors: FormErrors,
    name: String,
    display_name: String,
    email: String,
    email_verified: bool,
    /// What the password policy asks.
    policy: String,
}

fn settings_page(ctx: &mut Ctx, user: &User, errors: FormErrors) -> PageResult {
    let status = form_status(!errors.is_empty());
    let page = SettingsPage {
        layout: ctx.layout_with_flashes("Settings"),
        errors,
        name: user.name.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone().unwrap_or_else(|| "none".to_owned()),
        email_verified: user.email_verified,
        policy: login_account::PasswordPolicy::default().to_string(),
    };
    ctx.render(status, &page)
}

/// Changing settings needs a fresh login: a remembered one must re-enter the password.
#[fresh_login_required]
#[get("/settings")]
pub(super) async fn settings(mut ctx: Ctx, user: CurrentUser<User>) -> PageResult {
    settings_page(&mut ctx, &user, FormErrors::default())
}

#[derive(Deserialize)]
struct DisplayNameForm {
    #[serde(default)]
    display_name: String,
}

#[fresh_login_required]
#[post("/settings/display-name")]
pub(super) async fn change_display_name(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    form: CheckedForm<DisplayNameForm>,
) -> PageResult {
    match save_display_name(&ctx, &user, &form.display_name).await? {
        Ok(()) => {
            FlashMessage::success("Your display name is saved.").send();
            Ok(see_other("/settings"))
        }
        Err(errors) => settings_page(&mut ctx, &user, errors),
    }
}

/// Saves `display_name` (trimmed) for `user`, or says what is wrong with it.
async fn save_display_name(
    ctx: &Ctx,
    user: &User,
    display_name: &str,
) -> Result<Result<(), FormErrors>, AppError> {
    let display_name = display_name.trim();
    let mut errors = FormErrors::default();
    if display_name.is_empty() {
        errors.field("display_name", "The display name cannot be empty.");
    }
    if let Some(problem) = display_name_problem(display_name) {
        errors.field("display_name", problem);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    ctx.demo.db.set_display_name(user.id, display_name).await?;
    ctx.audit(AuditEvent::DisplayNameChanged, "").await?;
    Ok(Ok(()))
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[fresh_login_required]
#[post("/settings/password")]
pub(super) async fn change_password(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    login: Login<User>,
    account: web::Data<DemoAccount>,
    form: CheckedForm<PasswordForm>,
) -> PageResult {
    match save_new_password(&ctx, &user, &login, &account, &form).await? {
        PasswordChange::Saved => {
            FlashMessage::success(
                "Your password is changed. Every other session of yours has been logged out.",
            )
            .send();
            Ok(see_other("/settings"))
        }
        PasswordChange::Refused(errors) => settings_page(&mut ctx, &user, errors),
        PasswordChange::AccountGone => Ok(see_other("/login")),
    }
}

/// What came of a password change.
enum PasswordChange {
    /// Saved, and this session logged in again with it.
    Saved,
    /// Not saved: what is wrong with the form.
    Refused(FormErrors),
    /// The account went away meanwhile: nobody to log in again.
    AccountGone,
}

/// Checks the current password and the new one, saves the new one, and logs this session in
/// again with it.
async fn save_new_password(
    ctx: &Ctx,
    user: &User,
    login: &Login<User>,
    account: &DemoAccount,
    form: &PasswordForm,
) -> Result<PasswordChange, AppError> {
    let demo = &ctx.demo;
    let mut errors = FormErrors::default();
    if !demo
        .passwords
        .verify(&form.current, Some(&user.password_hash))
        .await?
    {
        errors.field("current", "The current password is wrong.");
    }
    let words = [
        user.name.as_str(),
        user.display_name.as_str(),
        user.email.as_deref().unwrap_or_default(),
    ];
    password_problems(account, &form.password, &form.confirm, &words, &mut errors);
    if !errors.is_empty() {
        return Ok(PasswordChange::Refused(errors));
    }
    let hash = demo.passwords.hash(&form.password).await?;
    demo.db.set_password_hash(user.id, &hash).await?;
    // The password hash is the session hash: every other session and remember cookie of this
    // user is now refused. This one logs in again with the new hash (and a new session id),
    // remembered if it was.
    let Some(updated) = demo.db.user(user.id).await? else {
        return Ok(PasswordChange::AccountGone);
    };
    let remember = login.is_remembered();
    // A new login: a new form token too (`csrf::RotateAtLogin`).
    login.login_with(&updated, LoginOptions::new().remember(remember))?;
    ctx.audit(AuditEvent::PasswordChanged, "").await?;
    Ok(PasswordChange::Saved)
}
