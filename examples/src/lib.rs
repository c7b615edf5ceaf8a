//! The demo site: a small app with a login form, remember-me, a members' page, and a
//! settings page that needs a fresh login. Every form carries a CSRF token, as SECURITY.md
//! asks of an app. `src/demo.rs` serves it; `tests/demo.rs` drives it through
//! `actix_web::test` exactly as a browser would.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use actix_session::{Session, SessionMiddleware, storage::CookieSessionStore};
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use actix_web_flash_messages::{
    FlashMessage, FlashMessagesFramework, IncomingFlashMessages, storage::CookieMessageStore,
};
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, LoginOptions, MaybeUser, RememberCookie, SecretKey,
    UserLoader, fresh_login_required, login_required,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A member of the demo site.
#[derive(Debug, Clone, AuthUser)]
pub struct Member {
    /// The login name, which is also the id.
    pub id: String,
    /// Shown on pages.
    pub display_name: String,
    /// Salted SHA-256 of the password. Demo only: use argon2 or bcrypt in a real app.
    #[auth(session_hash)]
    pub password_hash: String,
    /// Disabled members cannot log in.
    #[auth(active)]
    pub enabled: bool,
}

fn hash_password(id: &str, password: &str) -> String {
    hex::encode(Sha256::digest(format!("demo-salt:{id}:{password}")))
}

impl Member {
    fn new(id: &str, display_name: &str, password: &str, enabled: bool) -> Self {
        Member {
            id: id.to_owned(),
            display_name: display_name.to_owned(),
            password_hash: hash_password(id, password),
            enabled,
        }
    }

    fn password_matches(&self, password: &str) -> bool {
        hash_password(&self.id, password)
            .as_bytes()
            .ct_eq(self.password_hash.as_bytes())
            .into()
    }
}

/// The demo's members, in memory.
#[derive(Debug, Clone)]
pub struct Members(Rc<HashMap<String, Member>>);

impl Members {
    /// alice / wonderland, bob / builder (disabled).
    pub fn demo() -> Self {
        let all = [
            Member::new("alice", "Alice", "wonderland", true),
            Member::new("bob", "Bob", "builder", false),
        ];
        Members(Rc::new(
            all.into_iter().map(|m| (m.id.clone(), m)).collect(),
        ))
    }
}

impl UserLoader for Members {
    type User = Member;
    type Error = std::convert::Infallible;

    async fn load_user(&self, id: &String) -> Result<Option<Member>, Self::Error> {
        Ok(self.0.get(id).cloned())
    }
}

/// Keys the demo signs with. A real deployment reads both from its configuration.
#[derive(Clone)]
pub struct Keys {
    /// Signs remember-me cookies.
    pub login: SecretKey,
    /// Signs and encrypts the session cookie.
    pub session: Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

impl Keys {
    /// Fresh random keys: logins end when the process does.
    pub fn generate() -> Self {
        Keys {
            login: SecretKey::generate(),
            session: Key::generate(),
        }
    }
}

/// The login manager as the demo configures it.
pub fn login_manager(keys: &Keys) -> LoginManager<Members> {
    LoginManager::new(Members::demo())
        .login_view("/login")
        .refresh_view("/reauthenticate")
        .secret_key(keys.login.clone())
        // Plain HTTP on localhost: a production site keeps the Secure default.
        .remember_cookie(RememberCookie::default().secure(false))
}

/// The session middleware as the demo configures it.
pub fn session_middleware(keys: &Keys) -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), keys.session.clone())
        .cookie_secure(false)
        .build()
}

/// Flash messages (the login view shows "Please log in").
pub fn flash_messages(keys: &Keys) -> FlashMessagesFramework {
    let store = CookieMessageStore::builder(keys.session.clone()).build();
    FlashMessagesFramework::builder(store).build()
}

/// The demo's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(home)
        .service(login_form)
        .service(login_submit)
        .service(logout)
        .service(members_page)
        .service(settings)
        .service(reauthenticate_form)
        .service(reauthenticate_submit);
}

/// Builds the whole demo app; `demo.rs` and the tests share it.
#[macro_export]
macro_rules! demo_app {
    ($keys:expr) => {
        actix_web::App::new()
            .configure($crate::routes)
            .wrap($crate::login_manager(&$keys))
            .wrap($crate::session_middleware(&$keys))
            .wrap($crate::flash_messages(&$keys))
    };
}

fn page(title: &str, messages: &IncomingFlashMessages, body: &str) -> HttpResponse {
    let mut flashes = String::new();
    for message in messages.iter() {
        let _ = write!(
            flashes,
            "<p class=\"flash\">{}</p>",
            escape(message.content())
        );
    }
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><title>{title}</title><h1>{title}</h1>{flashes}{body}\
         <nav><a href=\"/\">Home</a> <a href=\"/members\">Members</a> <a href=\"/settings\">Settings</a></nav>"
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The session key of the CSRF token. login-runtime leaves it alone, like every key of the
/// app's own.
const CSRF_KEY: &str = "csrf_token";

/// The session's CSRF token, made on first use. Every form carries it and every POST checks
/// it: a page on another site can make a browser post here, but cannot read the token.
fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return token;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    // The cookie session store holds a string without fail; a form without a stored token is
    // refused on submit, never accepted.
    let _ = session.insert(CSRF_KEY, &token);
    token
}

fn csrf_field(session: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        csrf_token(session)
    )
}

/// Whether `sent` is the session's token, compared in constant time.
fn csrf_ok(session: &Session, sent: &str) -> bool {
    session
        .get::<String>(CSRF_KEY)
        .ok()
        .flatten()
        .is_some_and(|token| token.as_bytes().ct_eq(sent.as_bytes()).into())
}

/// A new token after a login or a logout: one seen before it is worth nothing after.
fn rotate_csrf_token(session: &Session) {
    session.remove(CSRF_KEY);
}

/// The answer to a POST without this session's token.
fn csrf_refused() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/html; charset=utf-8")
        .body(
            "<!doctype html><title>Form expired</title><h1>Form expired</h1>\
             <p>This form has expired or did not come from this site. \
             Go back, reload the page and try again.</p>",
        )
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[get("/")]
async fn home(
    user: MaybeUser<Member>,
    session: Session,
    messages: IncomingFlashMessages,
) -> HttpResponse {
    let body = match user.get() {
        Some(member) => format!(
            "<p>Hello, {}.</p><form method=\"post\" action=\"/logout\">{}<button>Log out</button></form>",
            escape(&member.display_name),
            csrf_field(&session)
        ),
        None => "<p>Hello, stranger. <a href=\"/login\">Log in</a></p>".to_owned(),
    };
    page("Home", &messages, &body)
}

fn login_form_html(session: &Session, action: &str, next: Option<&str>, remember: bool) -> String {
    let next = next
        .map(|next| {
            format!(
                "<input type=\"hidden\" name=\"next\" value=\"{}\">",
                escape(next)
            )
        })
        .unwrap_or_default();
    let remember = if remember {
        "<label><input type=\"checkbox\" name=\"remember\" value=\"on\"> Remember me</label>"
    } else {
        ""
    };
    let csrf = csrf_field(session);
    format!(
        "<form method=\"post\" action=\"{action}\">{csrf}{next}\
         <label>Name <input name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         {remember}<button>Log in</button></form>"
    )
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[get("/login")]
async fn login_form(
    query: web::Query<NextQuery>,
    session: Session,
    messages: IncomingFlashMessages,
) -> HttpResponse {
    page(
        "Log in",
        &messages,
        &login_form_html(&session, "/login", query.next.as_deref(), true),
    )
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    csrf: String,
    username: String,
    password: String,
    remember: Option<String>,
    next: Option<String>,
}

fn check_credentials(store: &Members, form: &Credentials) -> Option<Member> {
    store
        .0
        .get(&form.username)
        .filter(|member| member.password_matches(&form.password))
        .cloned()
}

#[post("/login")]
async fn login_submit(
    login: Login<Member>,
    session: Session,
    form: web::Form<Credentials>,
) -> actix_web::Result<HttpResponse> {
    if !csrf_ok(&session, &form.csrf) {
        return Ok(csrf_refused());
    }
    let Some(member) = check_credentials(&Members::demo(), &form) else {
        FlashMessage::error("Wrong name or password.").send();
        return Ok(see_other("/login"));
    };
    let options = LoginOptions::new().remember(form.remember.as_deref() == Some("on"));
    if !login.login_with(&member, options)? {
        FlashMessage::error("This account is disabled.").send();
        return Ok(see_other("/login"));
    }
    rotate_csrf_token(&session);
    FlashMessage::info(format!("Welcome back, {}.", member.display_name)).send();
    // The form echoes `next`; only a safe, same-site path is followed.
    let next = form
        .next
        .as_deref()
        .filter(|next| login_runtime::is_safe_next(next));
    Ok(see_other(next.unwrap_or("/")))
}

/// A form whose only field is the CSRF token.
#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

#[post("/logout")]
async fn logout(
    login: Login<Member>,
    session: Session,
    form: web::Form<CsrfOnly>,
) -> actix_web::Result<HttpResponse> {
    if !csrf_ok(&session, &form.csrf) {
        return Ok(csrf_refused());
    }
    login.logout()?;
    rotate_csrf_token(&session);
    FlashMessage::info("You are logged out.").send();
    Ok(see_other("/"))
}

/// Members only.
#[login_required]
#[get("/members")]
async fn members_page(
    member: CurrentUser<Member>,
    messages: IncomingFlashMessages,
) -> HttpResponse {
    page(
        "Members",
        &messages,
        &format!(
            "<p>Only members see this, {}.</p>",
            escape(&member.display_name)
        ),
    )
}

/// Changing settings needs a fresh login: a remembered login must re-enter the password.
#[fresh_login_required]
#[get("/settings")]
async fn settings(member: CurrentUser<Member>, messages: IncomingFlashMessages) -> HttpResponse {
    page(
        "Settings",
        &messages,
        &format!("<p>Settings for {}.</p>", escape(&member.id)),
    )
}

#[login_required]
#[get("/reauthenticate")]
async fn reauthenticate_form(
    query: web::Query<NextQuery>,
    session: Session,
    messages: IncomingFlashMessages,
) -> HttpResponse {
    page(
        "Confirm your password",
        &messages,
        &login_form_html(&session, "/reauthenticate", query.next.as_deref(), false),
    )
}

#[derive(Deserialize)]
struct Reauthentication {
    #[serde(default)]
    csrf: String,
    password: String,
    next: Option<String>,
}

#[login_required]
#[post("/reauthenticate")]
async fn reauthenticate_submit(
    member: CurrentUser<Member>,
    login: Login<Member>,
    session: Session,
    form: web::Form<Reauthentication>,
) -> actix_web::Result<HttpResponse> {
    if !csrf_ok(&session, &form.csrf) {
        return Ok(csrf_refused());
    }
    if !member.password_matches(&form.password) {
        FlashMessage::error("Wrong password.").send();
        return Ok(see_other("/reauthenticate"));
    }
    login.confirm()?;
    let next = form
        .next
        .as_deref()
        .filter(|next| login_runtime::is_safe_next(next));
    Ok(see_other(next.unwrap_or("/")))
}
