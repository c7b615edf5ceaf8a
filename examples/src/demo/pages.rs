//! The HTML pages: home, sign up, log in, log out, profile, settings, re-authenticate, API
//! tokens, admin, and the 404 and 403 pages. Rendered with askama templates (compile-checked,
//! HTML auto-escaped) inside one layout with the navigation and the flashed messages; pages
//! asked for by synchronous callbacks (the permission guards' 403, login-oidc's refusals) go
//! through [`marked_page`] and [`render_marked_pages`].

use std::rc::Rc;
use std::time::Duration;

use actix_session::Session;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, get, post, web};
use actix_web_flash_messages::{FlashMessage, IncomingFlashMessages, Level};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use login_runtime::{
    CurrentUser, Login, LoginError, LoginOptions, MaybeUser, anonymous_required,
    fresh_login_required, login_required, permission_required,
};
use serde::Deserialize;

use super::audit::{self, AuditEvent};
use super::csrf::{self, CheckedForm};
use super::db::{self, User};
use super::passwords::PasswordError;
use super::throttle::CounterError;
use super::{Demo, Perm, token_hash};

/// What can go wrong while serving a page; each is a 500 whose detail goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Password hashing.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The failed-login counters.
    #[error(transparent)]
    Counters(#[from] CounterError),
    /// A template.
    #[error("template: {0}")]
    Render(#[from] askama::Error),
    /// login-runtime.
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        // The detail is for the operator's log, not for the visitor.
        tracing::error!(error = %self, "request failed");
        HttpResponse::InternalServerError()
            .content_type("text/html; charset=utf-8")
            .body(
                "<!doctype html><title>Something went wrong</title>\
                 <link rel=\"stylesheet\" href=\"/static/style.css\">\
                 <main><h1>Something went wrong</h1><p>Please try again in a moment.</p>\
                 <p><a href=\"/\">Home</a></p></main>",
            )
    }
}

pub(super) type PageResult = Result<HttpResponse, AppError>;

/// The logged-in user, as the navigation shows them.
#[derive(Debug)]
pub struct NavUser {
    pub(super) name: String,
    pub(super) display_name: String,
    pub(super) is_admin: bool,
}

/// One flashed message.
#[derive(Debug)]
pub struct Flash {
    pub(super) class: &'static str,
    pub(super) text: String,
}

/// What the layout around every page needs.
#[derive(Debug)]
pub struct Layout {
    pub(super) title: String,
    pub(super) user: Option<NavUser>,
    pub(super) csrf: String,
    pub(super) flashes: Vec<Flash>,
}

/// Everything a page handler needs about the request: the shared state, the user (if any),
/// the session and the flashed messages.
pub struct Ctx {
    req: HttpRequest,
    demo: web::Data<Demo>,
    user: Option<Rc<User>>,
    session: Session,
    flashes: Vec<Flash>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let demo = web::Data::<Demo>::extract(&req).await?;
            let user = MaybeUser::<User>::extract(&req).await?.into_inner();
            let session = Session::extract(&req).await?;
            let flashes = IncomingFlashMessages::extract(&req)
                .await?
                .iter()
                .map(|message| Flash {
                    class: match message.level() {
                        Level::Error => "error",
                        Level::Warning => "warning",
                        Level::Success => "success",
                        _ => "info",
                    },
                    text: message.content().to_owned(),
                })
                .collect();
            Ok(Ctx {
                req,
                demo,
                user,
                session,
                flashes,
            })
        })
    }
}

impl Ctx {
    /// The client's address (the socket's: proxy headers are not trusted).
    pub fn client(&self) -> String {
        audit::client_address(&self.req)
    }

    fn layout(&self, title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            user: self.user.as_deref().map(|user| NavUser {
                name: user.name.clone(),
                display_name: user.display_name.clone(),
                is_admin: user.is_admin,
            }),
            csrf: csrf::token(&self.session),
            flashes: Vec::new(),
        }
    }

    /// The layout, with the flashed messages (shown once, on this page).
    pub(super) fn layout_with_flashes(&mut self, title: &str) -> Layout {
        let mut layout = self.layout(title);
        layout.flashes = std::mem::take(&mut self.flashes);
        layout
    }

    pub(super) fn render(&self, status: StatusCode, page: &impl Template) -> PageResult {
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            // Pages show who is logged in (and a new token): never cache them.
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(page.render()?))
    }

    /// Records `event` for the current user.
    pub async fn audit(&self, event: AuditEvent, detail: &str) -> Result<(), sqlx::Error> {
        let user_id = self.user.as_deref().map(|user| user.id);
        audit::record(&self.demo.db, event, user_id, &self.client(), detail).await
    }

    fn error_page(&mut self, status: StatusCode, title: &str, message: &str) -> PageResult {
        let page = ErrorPage {
            layout: self.layout_with_flashes(title),
            message: message.to_owned(),
            login_link: false,
        };
        self.render(status, &page)
    }

    /// The 403 page.
    pub fn forbidden(mut self, message: &str) -> PageResult {
        self.error_page(StatusCode::FORBIDDEN, "Forbidden", message)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
    login_link: bool,
}

/// A page a synchronous callback asked for, to be rendered by [`render_marked_pages`] in the
/// site's layout (the callback cannot wait for the navigation's user and flashes).
#[derive(Debug, Clone)]
struct MarkedPage {
    title: &'static str,
    message: String,
    login_link: bool,
}

/// An empty response with `status`, marked for [`render_marked_pages`] to fill in with the
/// error page (`login_link`: with a link back to the login form).
pub fn marked_page(
    status: StatusCode,
    title: &'static str,
    message: &str,
    login_link: bool,
) -> HttpResponse {
    let mut res = HttpResponse::new(status);
    res.extensions_mut().insert(MarkedPage {
        title,
        message: message.to_owned(),
        login_link,
    });
    res
}

/// The demo's `LoginManager::forbidden_handler`: `{"error":"forbidden"}` for clients that
/// prefer JSON, the site's 403 page for browsers.
pub fn forbidden_handler(req: &HttpRequest) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).map(|value| value.as_bytes());
    if login_runtime::prefers_json(header("accept"), header("x-requested-with")) {
        return HttpResponse::Forbidden().json(serde_json::json!({"error": "forbidden"}));
    }
    marked_page(
        StatusCode::FORBIDDEN,
        "Forbidden",
        "Your account may not open this page.",
        false,
    )
}

/// Middleware (outside `LoginManager`): renders the pages [`marked_page`] asked for (the
/// permission guards' 403, login-oidc's refusals) in the site's layout.
pub async fn render_marked_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let Some(marked) = res.response().extensions().get::<MarkedPage>().cloned() else {
        return Ok(res.map_into_left_body());
    };
    let (req, marked_res) = res.into_parts();
    let mut ctx = Ctx::extract(&req).await?;
    let page = ErrorPage {
        layout: ctx.layout_with_flashes(marked.title),
        message: marked.message,
        login_link: marked.login_link,
    };
    let mut page = ctx
        .render(marked_res.status(), &page)
        .unwrap_or_else(|error| error.error_response());
    // Keep the cookies the inner layers set on the marked response (a remember cookie
    // renewed or cleared by `LoginManager`).
    for cookie in marked_res.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    Ok(ServiceResponse::new(req, page).map_into_right_body())
}

pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// 422 for a form shown again with what is wrong with it, 200 otherwise.
fn form_status(has_errors: bool) -> StatusCode {
    if has_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// `next` from a form, if it is safe to follow (a same-site relative path).
fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|next| login_runtime::is_safe_next(next))
        .map(str::to_owned)
}

/// A date for people (UTC).
fn date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A date and time for people (UTC).
pub(super) fn date_time(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(unix),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The routes of the pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(stylesheet)
        .service(home)
        .service(signup_form)
        .service(signup_submit)
        .service(login_form)
        .service(login_submit)
        .service(logout)
        .service(profile)
        .service(settings)
        .service(change_display_name)
        .service(change_password)
        .service(reauthenticate_form)
        .service(reauthenticate_submit)
        .service(tokens_page)
        .service(create_token)
        .service(revoke_token)
        .service(admin);
}

#[get("/static/style.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../static/style.css"))
}

/// The 404 page (JSON under `/api/`).
pub async fn not_found(mut ctx: Ctx) -> PageResult {
    if ctx.req.path().starts_with("/api/") {
        return Ok(HttpResponse::NotFound().json(serde_json::json!({"error": "not_found"})));
    }
    ctx.error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

#[get("/")]
async fn home(mut ctx: Ctx) -> PageResult {
    let page = HomePage {
        layout: ctx.layout_with_flashes("Home"),
    };
    ctx.render(StatusCode::OK, &page)
}

// ---- sign up ----

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    errors: Vec<String>,
    username: String,
    display_name: String,
}

/// Visitors only: a logged-in member is sent on (to a safe `next`, or their profile).
#[anonymous_required]
#[get("/signup")]
async fn signup_form(mut ctx: Ctx) -> PageResult {
    let page = SignupPage {
        layout: ctx.layout_with_flashes("Sign up"),
        errors: Vec::new(),
        username: String::new(),
        display_name: String::new(),
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
    password: String,
    #[serde(default)]
    confirm: String,
}

/// What is wrong with a new password, if anything.
fn password_problems(password: &str, confirm: &str, errors: &mut Vec<String>) {
    let length = password.chars().count();
    if length < 8 {
        errors.push("The password needs at least 8 characters.".to_owned());
    } else if length > 128 {
        errors.push("The password can have at most 128 characters.".to_owned());
    }
    if password != confirm {
        errors.push("The two passwords differ.".to_owned());
    }
}

fn display_name_problem(display_name: &str) -> Option<String> {
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
async fn signup_submit(
    mut ctx: Ctx,
    login: Login<User>,
    form: CheckedForm<SignupForm>,
) -> PageResult {
    let name = form.username.trim().to_lowercase();
    let display_name = match form.display_name.trim() {
        "" => name.clone(),
        given => given.to_owned(),
    };
    let mut errors = Vec::new();
    if !valid_name(&name) {
        errors.push(
            "The name needs 3 to 32 letters, digits, dots, dashes or underscores.".to_owned(),
        );
    }
    errors.extend(display_name_problem(&display_name));
    password_problems(&form.password, &form.confirm, &mut errors);
    let mut created = None;
    if errors.is_empty() {
        let hash = ctx.demo.passwords.hash(&form.password).await?;
        created = ctx
            .demo
            .db
            .create_user(&name, &display_name, &hash, false)
            .await?;
        if created.is_none() {
            errors.push("This name is taken; choose another.".to_owned());
        }
    }
    let Some(user) = (match created {
        Some(id) => ctx.demo.db.user(id).await?,
        None => None,
    }) else {
        let page = SignupPage {
            layout: ctx.layout_with_flashes("Sign up"),
            errors,
            username: form.username.clone(),
            display_name: form.display_name.clone(),
        };
        return ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    login.login(&user)?;
    // A new login, a new form token (the old one was seen before the login).
    csrf::rotate(&ctx.session);
    audit::record(
        &ctx.demo.db,
        AuditEvent::SignedUp,
        Some(user.id),
        &ctx.client(),
        "",
    )
    .await?;
    FlashMessage::success(format!(
        "Welcome, {}! Your account is ready.",
        user.display_name
    ))
    .send();
    Ok(see_other("/profile"))
}

// ---- log in, log out ----

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
async fn login_form(mut ctx: Ctx, query: web::Query<NextQuery>) -> PageResult {
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

/// The 429 answer to a throttled attempt, with `Retry-After`.
fn throttled(ctx: &mut Ctx, page: &impl Template, wait: Duration) -> PageResult {
    let mut res = ctx.render(StatusCode::TOO_MANY_REQUESTS, page)?;
    let seconds = wait.as_secs().max(1);
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(res)
}

#[post("/login")]
async fn login_submit(
    mut ctx: Ctx,
    login: Login<User>,
    form: CheckedForm<LoginForm>,
) -> PageResult {
    let name = form.username.trim().to_lowercase();
    let client = ctx.client();
    let next = safe_next(form.next.as_deref());
    let demo = ctx.demo.clone();
    // Throttled before anything is hashed: a flood of guesses costs no CPU.
    if let Some(wait) = demo.throttle.check(&name, &client).await? {
        let user_id = demo.db.user_by_name(&name).await?.map(|user| user.id);
        audit::record(&demo.db, AuditEvent::Throttled, user_id, &client, "login").await?;
        let page = LoginPage {
            layout: ctx.layout_with_flashes("Log in"),
            error: Some(format!(
                "Too many failed logins for this account or from this address. \
                 Try again in {}.",
                wait_words(wait)
            )),
            next,
            username: form.username.clone(),
            oidc: demo.oidc.is_some(),
        };
        return throttled(&mut ctx, &page, wait);
    }
    let user = demo.db.user_by_name(&name).await?;
    let user_id = user.as_ref().map(|user| user.id);
    let matches = demo
        .passwords
        .verify(
            &form.password,
            user.as_ref().map(|user| user.password_hash.as_str()),
        )
        .await?;
    // A disabled account gets the same answer as a wrong password: the page tells nobody
    // which names exist or which accounts are disabled. An account made by OpenID Connect
    // has no password hash (see `oidc`), so no password matches it either.
    let Some(user) = user.filter(|user| matches && user.enabled) else {
        demo.throttle.failed(&name, &client).await?;
        audit::record(&demo.db, AuditEvent::LoginFailed, user_id, &client, "").await?;
        let page = LoginPage {
            layout: ctx.layout_with_flashes("Log in"),
            error: Some("Wrong name or password.".to_owned()),
            next,
            username: form.username.clone(),
            oidc: demo.oidc.is_some(),
        };
        return ctx.render(StatusCode::OK, &page);
    };
    let remember = form.remember.as_deref() == Some("on");
    login.login_with(&user, LoginOptions::new().remember(remember))?;
    demo.throttle.succeeded(&name).await?;
    csrf::rotate(&ctx.session);
    let detail = if remember { "remember me" } else { "" };
    audit::record(&demo.db, AuditEvent::Login, Some(user.id), &client, detail).await?;
    FlashMessage::info(format!("Welcome back, {}.", user.display_name)).send();
    Ok(see_other(next.as_deref().unwrap_or("/")))
}

/// A form with no field but its token.
#[derive(Deserialize)]
pub(super) struct NoFields {}

#[post("/logout")]
async fn logout(ctx: Ctx, login: Login<User>, _token_checked: CheckedForm<NoFields>) -> PageResult {
    login.logout()?;
    csrf::rotate(&ctx.session);
    if ctx.user.is_some() {
        ctx.audit(AuditEvent::Logout, "").await?;
    }
    FlashMessage::info("You are logged out.").send();
    Ok(see_other("/"))
}

// ---- profile ----

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    user: NavUser,
    member_since: String,
    fresh: bool,
    remembered: bool,
}

/// Members only.
#[login_required]
#[get("/profile")]
async fn profile(mut ctx: Ctx, user: CurrentUser<User>, login: Login<User>) -> PageResult {
    let page = ProfilePage {
        layout: ctx.layout_with_flashes("Profile"),
        user: NavUser {
            name: user.name.clone(),
            display_name: user.display_name.clone(),
            is_admin: user.is_admin,
        },
        member_since: date(user.created_at),
        fresh: login.is_fresh()?,
        remembered: login.is_remembered(),
    };
    ctx.render(StatusCode::OK, &page)
}

// ---- settings ----

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    errors: Vec<String>,
    name: String,
    display_name: String,
}

fn settings_page(ctx: &mut Ctx, user: &User, errors: Vec<String>) -> PageResult {
    let status = form_status(!errors.is_empty());
    let page = SettingsPage {
        layout: ctx.layout_with_flashes("Settings"),
        errors,
        name: user.name.clone(),
        display_name: user.display_name.clone(),
    };
    ctx.render(status, &page)
}

/// Changing settings needs a fresh login: a remembered one must re-enter the password.
#[fresh_login_required]
#[get("/settings")]
async fn settings(mut ctx: Ctx, user: CurrentUser<User>) -> PageResult {
    settings_page(&mut ctx, &user, Vec::new())
}

#[derive(Deserialize)]
struct DisplayNameForm {
    #[serde(default)]
    display_name: String,
}

#[fresh_login_required]
#[post("/settings/display-name")]
async fn change_display_name(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    form: CheckedForm<DisplayNameForm>,
) -> PageResult {
    let display_name = form.display_name.trim();
    let mut errors = Vec::new();
    if display_name.is_empty() {
        errors.push("The display name cannot be empty.".to_owned());
    }
    errors.extend(display_name_problem(display_name));
    if !errors.is_empty() {
        return settings_page(&mut ctx, &user, errors);
    }
    ctx.demo.db.set_display_name(user.id, display_name).await?;
    ctx.audit(AuditEvent::DisplayNameChanged, "").await?;
    FlashMessage::success("Your display name is saved.").send();
    Ok(see_other("/settings"))
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
async fn change_password(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    login: Login<User>,
    form: CheckedForm<PasswordForm>,
) -> PageResult {
    let demo = ctx.demo.clone();
    let mut errors = Vec::new();
    if !demo
        .passwords
        .verify(&form.current, Some(&user.password_hash))
        .await?
    {
        errors.push("The current password is wrong.".to_owned());
    }
    password_problems(&form.password, &form.confirm, &mut errors);
    if !errors.is_empty() {
        return settings_page(&mut ctx, &user, errors);
    }
    let hash = demo.passwords.hash(&form.password).await?;
    demo.db.set_password_hash(user.id, &hash).await?;
    // The password hash is the session hash: every other session and remember cookie of this
    // user is now refused. This one logs in again with the new hash (and a new session id),
    // remembered if it was.
    let Some(updated) = demo.db.user(user.id).await? else {
        return Ok(see_other("/login"));
    };
    let remember = login.is_remembered();
    login.login_with(&updated, LoginOptions::new().remember(remember))?;
    csrf::rotate(&ctx.session);
    ctx.audit(AuditEvent::PasswordChanged, "").await?;
    FlashMessage::success(
        "Your password is changed. Every other session of yours has been logged out.",
    )
    .send();
    Ok(see_other("/settings"))
}

// ---- re-authenticate ----

#[derive(Template)]
#[template(path = "reauthenticate.html")]
struct ReauthenticatePage {
    layout: Layout,
    error: Option<String>,
    next: Option<String>,
    name: String,
}

#[login_required]
#[get("/reauthenticate")]
async fn reauthenticate_form(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    query: web::Query<NextQuery>,
) -> PageResult {
    let page = ReauthenticatePage {
        layout: ctx.layout_with_flashes("Confirm your password"),
        error: None,
        next: safe_next(query.next.as_deref()),
        name: user.name.clone(),
    };
    ctx.render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct ReauthenticateForm {
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[login_required]
#[post("/reauthenticate")]
async fn reauthenticate_submit(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    login: Login<User>,
    form: CheckedForm<ReauthenticateForm>,
) -> PageResult {
    let demo = ctx.demo.clone();
    let client = ctx.client();
    let next = safe_next(form.next.as_deref());
    let mut page = ReauthenticatePage {
        layout: ctx.layout("Confirm your password"),
        error: None,
        next: next.clone(),
        name: user.name.clone(),
    };
    // Guessing here is guessing a password too: the same throttle as the login form.
    if let Some(wait) = demo.throttle.check(&user.name, &client).await? {
        ctx.audit(AuditEvent::Throttled, "reauthenticate").await?;
        page.error = Some(format!(
            "Too many wrong passwords. Try again in {}.",
            wait_words(wait)
        ));
        return throttled(&mut ctx, &page, wait);
    }
    if !demo
        .passwords
        .verify(&form.password, Some(&user.password_hash))
        .await?
    {
        demo.throttle.failed(&user.name, &client).await?;
        ctx.audit(AuditEvent::ReauthenticationFailed, "").await?;
        page.error = Some("Wrong password.".to_owned());
        return ctx.render(StatusCode::OK, &page);
    }
    login.confirm()?;
    demo.throttle.succeeded(&user.name).await?;
    ctx.audit(AuditEvent::Reauthenticated, "").await?;
    FlashMessage::info("Password confirmed.").send();
    Ok(see_other(next.as_deref().unwrap_or("/")))
}

// ---- API tokens ----

/// A token as the list shows it.
#[derive(Debug)]
struct TokenRow {
    id: i64,
    label: String,
    created: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    new_token: Option<String>,
    error: Option<String>,
    origin: String,
    tokens: Vec<TokenRow>,
}

async fn tokens_page_for(
    ctx: &mut Ctx,
    user: &User,
    new_token: Option<String>,
    error: Option<String>,
) -> PageResult {
    let tokens = ctx
        .demo
        .db
        .tokens(user.id)
        .await?
        .into_iter()
        .map(|token| TokenRow {
            id: token.id,
            label: token.label,
            created: date_time(token.created_at),
            revoked: token.revoked_at.is_some(),
        })
        .collect();
    let info = ctx.req.connection_info().clone();
    let status = form_status(error.is_some());
    let page = TokensPage {
        layout: ctx.layout_with_flashes("API tokens"),
        new_token,
        error,
        origin: format!("{}://{}", info.scheme(), info.host()),
        tokens,
    };
    ctx.render(status, &page)
}

#[login_required]
#[get("/tokens")]
async fn tokens_page(mut ctx: Ctx, user: CurrentUser<User>) -> PageResult {
    tokens_page_for(&mut ctx, &user, None, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

#[login_required]
#[post("/tokens")]
async fn create_token(
    mut ctx: Ctx,
    user: CurrentUser<User>,
    form: CheckedForm<TokenForm>,
) -> PageResult {
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > 64 {
        let error = "A token needs a label of 1 to 64 characters.".to_owned();
        return tokens_page_for(&mut ctx, &user, None, Some(error)).await;
    }
    // 256 random bits; only their hash is stored, and the token is shown on this page once.
    let token = format!("demo_{}", hex::encode(rand::random::<[u8; 32]>()));
    let id = ctx
        .demo
        .db
        .create_token(user.id, label, &token_hash(&token))
        .await?;
    ctx.audit(AuditEvent::TokenCreated, &format!("token {id}"))
        .await?;
    tokens_page_for(&mut ctx, &user, Some(token), None).await
}

#[login_required]
#[post("/tokens/{id}/revoke")]
async fn revoke_token(
    ctx: Ctx,
    user: CurrentUser<User>,
    path: web::Path<i64>,
    _token_checked: CheckedForm<NoFields>,
) -> PageResult {
    let id = path.into_inner();
    if ctx.demo.db.revoke_token(user.id, id).await? {
        ctx.audit(AuditEvent::TokenRevoked, &format!("token {id}"))
            .await?;
        FlashMessage::success("The token is revoked.").send();
    } else {
        FlashMessage::warning("No such active token.").send();
    }
    Ok(see_other("/tokens"))
}

// ---- admin ----

#[derive(Debug)]
struct UserRow {
    id: i64,
    name: String,
    display_name: String,
    is_admin: bool,
    enabled: bool,
    since: String,
}

#[derive(Debug)]
struct AuditRow {
    when: String,
    event: String,
    user: String,
    client: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    users: Vec<UserRow>,
    audit: Vec<AuditRow>,
}

/// Admins only. A visitor is sent to the login form; a member without [`Perm::Admin`] gets
/// the 403 page ([`forbidden_handler`]) and an audit entry (`LoginEvent::Forbidden`), before
/// this handler or any of its extractors runs.
#[permission_required(Perm::Admin)]
#[get("/admin")]
async fn admin(mut ctx: Ctx) -> PageResult {
    let users = ctx
        .demo
        .db
        .users()
        .await?
        .into_iter()
        .map(|user| UserRow {
            since: date(user.created_at),
            id: user.id,
            name: user.name,
            display_name: user.display_name,
            is_admin: user.is_admin,
            enabled: user.enabled,
        })
        .collect();
    let audit = ctx
        .demo
        .db
        .recent_audit(50)
        .await?
        .into_iter()
        .map(|entry: db::AuditEntry| AuditRow {
            when: date_time(entry.at),
            event: entry.event,
            user: entry.user_id.map(|id| id.to_string()).unwrap_or_default(),
            client: entry.client,
            detail: entry.detail,
        })
        .collect();
    let page = AdminPage {
        layout: ctx.layout_with_flashes("Admin"),
        users,
        audit,
    };
    ctx.render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(951_782_400 + 3_661), "2000-02-29 01:01:01");
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("alice_1"));
        assert!(!valid_name("al"));
        assert!(!valid_name("Alice"));
        assert!(!valid_name("a b c"));
    }
}
