//! Sign up: a visitor makes an account (name, display name, email address, password), is
//! logged in, and is mailed a link to confirm the address. The rules for names and passwords
//! are here (passwords: login-account's policy); the settings page uses them too.

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use login_runtime::{Login, anonymous_required};
use serde::Deserialize;

use super::frame::{AppError, Ctx, FormErrors, Layout, PageResult, see_other};
use crate::demo::account::DemoAccount;
use crate::demo::audit::{self, AuditEvent};
use crate::demo::csrf::CheckedForm;
use crate::demo::db::User;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    errors: FormErrors,
    username: String,
    display_name: String,
    email: String,
    /// What the password policy asks, shown under the field.
    policy: String,
}

/// Visitors only: a logged-in member is sent on (to a safe `next`, or their profile).
#[anonymous_required]
#[get("/signup")]
pub(super) async fn signup_form(mut ctx: Ctx, account: web::Data<DemoAccount>) -> PageResult {
    let page = SignupPage {
        layout: ctx.layout_with_flashes("Sign up"),
        errors: FormErrors::default(),
        username: String::new(),
        display_name: String::new(),
        email: String::new(),
        policy: account.policy().to_string(),
    };
    ctx.render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// What is wrong with a new password of an account with these `personal_words` (name, display
/// name, address), by login-account's policy: too short, common or breached, guessable, or
/// containing the account's name; and whether the repetition differs.
pub(super) fn password_problems(
    account: &DemoAccount,
    password: &str,
    confirm: &str,
    personal_words: &[&str],
    errors: &mut FormErrors,
) {
    for problem in account.password_problems(password, confirm, personal_words) {
        // The repetition's problem is the second input's; every other is the password's.
        let field = if problem.code == "mismatch" {
            "confirm"
        } else {
            "password"
        };
        errors.field(field, problem.message);
    }
}

pub(super) fn display_name_problem(display_name: &str) -> Option<String> {
    (display_name.chars().count() > 64)
        .then(|| "The display name can have at most 64 characters.".to_owned())
}

fn valid_name(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

#[post("/signup")]
pub(super) async fn signup_submit(
    mut ctx: Ctx,
    login: Login<User>,
    account: web::Data<DemoAccount>,
    form: CheckedForm<SignupForm>,
) -> PageResult {
    match sign_up(&ctx, &login, &account, &form).await? {
        Ok(user) => {
            FlashMessage::success(format!(
                "Welcome, {}! Your account is ready. We sent a link to confirm your email address.",
                user.display_name
            ))
            .send();
            Ok(see_other("/profile"))
        }
        Err(errors) => {
            let page = SignupPage {
                layout: ctx.layout_with_flashes("Sign up"),
                errors,
                username: form.username.clone(),
                display_name: form.display_name.clone(),
                email: form.email.clone(),
                policy: account.policy().to_string(),
            };
            ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Makes the account `form` asks for and logs the new member in: the member, or what is
/// wrong with the form.
async fn sign_up(
    ctx: &Ctx,
    login: &Login<User>,
    account: &DemoAccount,
    form: &SignupForm,
) -> Result<Result<User, FormErrors>, AppError> {
    let name = form.username.trim().to_lowercase();
    let email = form.email.trim().to_lowercase();
    let display_name = match form.display_name.trim() {
        "" => name.clone(),
        given => given.to_owned(),
    };
    let mut errors = FormErrors::default();
    if !valid_name(&name) {
        errors.field(
            "username",
            "The name needs 3 to 32 letters, digits, dots, dashes or underscores.",
        );
    }
    if let Some(problem) = display_name_problem(&display_name) {
        errors.field("display_name", problem);
    }
    if let Some(problem) = login_account::email_problem(&email) {
        errors.field("email", problem.message);
    }
    let words = [name.as_str(), display_name.as_str(), email.as_str()];
    password_problems(account, &form.password, &form.confirm, &words, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hash = ctx.demo.passwords.hash(&form.password).await?;
    let db = &ctx.demo.db;
    let Some(id) = db
        .create_user(&name, &display_name, &email, &hash, false)
        .await?
    else {
        let taken = if db.user_by_name(&name).await?.is_some() {
            "This name is taken; choose another."
        } else {
            "This email address already has an account: log in, or reset its password."
        };
        let mut errors = FormErrors::default();
        errors.general(taken);
        return Ok(Err(errors));
    };
    let Some(user) = db.user(id).await? else {
        // Gone as soon as made (never, in practice): the form again.
        return Ok(Err(FormErrors::default()));
    };
    // A new login, a new form token (`csrf::RotateAtLogin`): the old one was seen before it.
    login.login(&user)?;
    audit::record(db, AuditEvent::SignedUp, Some(user.id), &ctx.client(), "").await?;
    // The account is made whatever happens to this mail: the banner offers to send it again.
    if account.send_verification(&ctx.req, &user).await.is_err() {
        FlashMessage::warning(
            "We could not send the mail to confirm your address. Send it again with the button above.",
        )
        .send();
    }
    Ok(Ok(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("alice_1"));
        assert!(!valid_name("al"));
        assert!(!valid_name("Alice"));
        assert!(!valid_name("a b c"));
    }
}
