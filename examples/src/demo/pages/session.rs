//! The session: log in, log out, and re-authenticate (the password again, to make a
//! remembered login fresh).

use login_mfa::FirstStep;
use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, post, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use login_runtime::{CurrentUser, Login, anonymous_required, login_required};
use serde::Deserialize;

use super::frame::{AppError, Ctx, Layout, PageResult, safe_next, see_other};
use super::sign_in::{self, Purpose, Refused};
use crate::demo::audit::AuditEvent;
use crate::demo::csrf::{self, CheckedForm};
use crate::demo::db::User;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    next: Option<String>,
    username: String,
    /// Whether to show "Sign in with OpenID Connect".
    oidc: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Visitors only, as the sign-up page.
#[anonymous_required]
#[get("/login")]
pub(super) async fn login_form(mut ctx: Ctx, query: web::Query<NextQuery>) -> PageResult {
    let page = LoginPage {
        layout: ctx.layout_with_flashes("Log in"),
        error: None,
        next: safe_next(query.next.as_deref()),
        username: String::new(),
        oidc: ctx.demo.oidc.is_some(),
    };
    ctx.render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

/// "Try again in 15 minutes."
fn wait_words(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    if minutes == 1 {
        "a minute".to_owned()
    } else {
        format!("{minutes} minutes")
    }
}

/// A password form shown again after `refused`: 429 with `Retry-After` when throttled, 200
/// after a wrong password.
fn render_refused(ctx: &mut Ctx, page: &impl Template, refused: Refused) -> PageResult {
    let Refused::Throttled(wait) = refused else {
        return ctx.render(StatusCode::OK, page);
    };
    let mut res = ctx.render(StatusCode::TOO_MANY_REQUESTS, page)?;
    let seconds = wait.as_secs().max(1);
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(res)
}

#[post("/login")]
pub(super) async fn login_submit(
    mut ctx: Ctx,
    login: Login<User>,
    form: CheckedForm<LoginForm>,
) -> PageResult {
    let name = form.username.trim().to_lowercase();
    let remember = form.remember.as_deref() == Some("on");
    let next = safe_next(form.next.as_deref());
    let purpose = Purpose::LogIn {
        name: &name,
        remember,
    };
    match sign_in::attempt(&ctx, &login, purpose, &form.password).await? {
        Ok((_, FirstStep::SecondFactor)) => Ok(see_other("/mfa/verify")),
        Ok((user, _)) => {
            FlashMessage::info(format!("Welcome back, {}.", user.display_name)).send();
            Ok(see_other(next.as_deref().unwrap_or("/")))
        }
        Err(refused) => {
            let error = match refused {
                Refused::Throttled(wait) => format!(
                    "Too many failed logins for this account or from this address. \
                     Try again in {}.",
                    wait_words(wait)
                ),
                Refused::WrongPassword => "Wrong name or password.".to_owned(),
            };
            let page = LoginPage {
                layout: ctx.layout_with_flashes("Log in"),
                error: Some(error),
                next,
                username: form.username.clone(),
                oidc: ctx.demo.oidc.is_some(),
            };
            render_refused(&mut ctx, &page, refused)
        }
    }
}

/// Logs out. A visitor who is already logged out (the same form sent from a second tab, or
/// after the login expired) simply lands logged out: there is nothing to forge, so the form
/// token, which the first logout replaced, is not asked for.
#[post("/logout")]
pub(super) async fn logout(
    ctx: Ctx,
    login: Login<User>,
    form: web::Form<csrf::TokenField>,
) -> actix_web::Result<HttpResponse> {
    if ctx.user.is_none() {
        FlashMessage::info("You are logged out.").send();
        return Ok(see_other("/"));
    }
    if !csrf::token_ok(&ctx.session, &form.csrf) {
        return Err(csrf::refuse(&ctx.req).await);
    }
    // A new form token too (`csrf::RotateAtLogin`).
    login.logout()?;
    ctx.audit(AuditEvent::Logout, "")
        .await
        .map_err(AppError::from)?;
    FlashMessage::info("You are logged out.").send();
    Ok(see_other("/"))
}

// ---- re-authenticate ----

#[derive(Template)]
#[template(path = "reauthenticate.html")]
struct ReauthenticatePage {
    layout: Layout,
    error: Option<String>,
    next: Option<String>,
    name: String,
    /// "Confirm with OpenID Connect" (`/oidc/start?reauth=1`) besides the password.
    with_provider: bool,
}

#[login_required]
#[get("/reauthenticate")]
pub(super) async fn reauthenticate_form(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    query: web::Query<NextQuery>,
) -> PageResult {
    let with_provider = reauthenticates_with_provider(&ctx, &user).await?;
    let page = ReauthenticatePage {
        layout: ctx.layout_with_flashes("Confirm your password"),
        error: None,
        next: safe_next(query.next.as_deref()),
        name: user.name.clone(),
        with_provider,
    };
    ctx.render(StatusCode::OK, &page)
}

/// Whether the re-authenticate page offers the provider: OpenID Connect is configured, can
/// re-authenticate, and the member signs in with it (an account it made has no password to
/// enter).
async fn reauthenticates_with_provider(ctx: &Ctx, user: &User) -> Result<bool, AppError> {
    let Some(provider) = &ctx.demo.oidc else {
        return Ok(false);
    };
    Ok(provider.config().is_openid_connect() && ctx.demo.db.has_oidc_link(user.id).await?)
}

#[derive(Deserialize)]
struct ReauthenticateForm {
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[login_required]
#[post("/reauthenticate")]
pub(super) async fn reauthenticate_submit(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    login: Login<User>,
    form: CheckedForm<ReauthenticateForm>,
) -> PageResult {
    let next = safe_next(form.next.as_deref());
    let purpose = Purpose::Reauthenticate { user: &user };
    match sign_in::attempt(&ctx, &login, purpose, &form.password).await? {
        Ok(_) => {
            FlashMessage::success("Password confirmed.").send();
            Ok(see_other(next.as_deref().unwrap_or("/")))
        }
        Err(refused) => {
            let error = match refused {
                Refused::Throttled(wait) => format!(
                    "Too many wrong passwords. Try again in {}.",
                    wait_words(wait)
                ),
                Refused::WrongPassword => "Wrong password.".to_owned(),
            };
            let with_provider = reauthenticates_with_provider(&ctx, &user).await?;
            let page = ReauthenticatePage {
                layout: ctx.layout("Confirm your password"),
                error: Some(error),
                next,
                name: user.name.clone(),
                with_provider,
            };
            render_refused(&mut ctx, &page, refused)
        }
    }
}
