//! The small page framework every page uses: [`Ctx`] (what a handler needs about the
//! request), the [`Layout`] around every page and [`Ctx::render`], the error page (404,
//! 403), [`AppError`] (every failure, one 500 page), and small helpers.

use std::rc::Rc;

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use actix_web_flash_messages::{IncomingFlashMessages, Level};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use login_runtime::{LoginError, MaybeUser};
use serde::Deserialize;

use crate::demo::Demo;
use crate::demo::audit::{self, AuditEvent};
use crate::demo::csrf;
use crate::demo::db::User;
use crate::demo::passwords::PasswordError;
use crate::demo::throttle::CounterError;

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
    /// The second factors (login-mfa).
    #[error(transparent)]
    Mfa(#[from] login_mfa::MfaError),
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            // Too many password checks waiting (a login storm): come back shortly.
            AppError::Password(PasswordError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Password(PasswordError::Busy) = self {
            return HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "1"))
                .content_type("text/html; charset=utf-8")
                .body(
                    "<!doctype html><title>Busy</title>\
                     <link rel=\"stylesheet\" href=\"/static/style.css\">\
                     <main><h1>Busy</h1><p>Too many sign-ins at once: please try again in a \
                     moment.</p></main>",
                );
        }
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

pub(crate) type PageResult = Result<HttpResponse, AppError>;

/// The logged-in user, as the navigation shows them.
#[derive(Debug)]
pub struct NavUser {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) is_admin: bool,
    /// Whether the member has an address that is not confirmed yet (the layout's banner).
    pub(crate) unverified: bool,
}

/// One flashed message.
#[derive(Debug)]
pub struct Flash {
    pub(crate) class: &'static str,
    pub(crate) text: String,
}

/// What the layout around every page needs.
#[derive(Debug)]
pub struct Layout {
    pub(crate) title: String,
    pub(crate) user: Option<NavUser>,
    pub(crate) csrf: String,
    pub(crate) flashes: Vec<Flash>,
    /// The path of the page, so the navigation marks its link `aria-current="page"`.
    pub(crate) path: String,
}

impl Layout {
    /// Whether the navigation link to `href` is this page's.
    pub(crate) fn is_current(&self, href: &str) -> bool {
        self.path == href
    }
}

/// Everything a page handler needs about the request: the shared state, the user (if any),
/// the session and the flashed messages.
pub struct Ctx {
    pub(super) req: HttpRequest,
    pub(super) demo: web::Data<Demo>,
    pub(super) user: Option<Rc<User>>,
    pub(super) session: Session,
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
    /// The client's address, by login-runtime's rule (the socket's, or what a proxy of
    /// `DEMO_TRUSTED_PROXIES` forwarded).
    pub fn client(&self) -> String {
        audit::client_address(&self.req)
    }

    pub(super) fn layout(&self, title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            user: self.user.as_deref().map(|user| NavUser {
                name: user.name.clone(),
                display_name: user.display_name.clone(),
                is_admin: user.is_admin,
                unverified: user.email.is_some() && !user.email_verified,
            }),
            csrf: csrf::token(&self.session),
            flashes: Vec::new(),
            path: self.req.path().to_owned(),
        }
    }

    /// The layout, with the flashed messages (shown once, on this page).
    pub(crate) fn layout_with_flashes(&mut self, title: &str) -> Layout {
        let mut layout = self.layout(title);
        layout.flashes = std::mem::take(&mut self.flashes);
        layout
    }

    pub(crate) fn render(&self, status: StatusCode, page: &impl Template) -> PageResult {
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
pub(super) struct ErrorPage {
    pub(super) layout: Layout,
    pub(super) message: String,
    pub(super) login_link: bool,
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

pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `n` and the noun in the number it needs: "1 device", "3 devices".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// 422 for a form shown again with what is wrong with it, 200 otherwise.
pub(super) fn form_status(has_errors: bool) -> StatusCode {
    if has_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// `next` from a form, if it is safe to follow (a same-site relative path).
pub(super) fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|next| login_runtime::is_safe_next(next))
        .map(str::to_owned)
}

/// A date for people (UTC).
pub(super) fn date(unix: i64) -> String {
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
pub(crate) fn date_time(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(unix),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// A form with no field but its token.
#[derive(Deserialize)]
pub(crate) struct NoFields {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date_time(951_782_400 + 3_661), "2000-02-29 01:01:01");
    }
}

/// What is wrong with a submitted form: each message by its field (the template puts it
/// under the input, marks the input `aria-invalid` and points its `aria-describedby` at it),
/// and what belongs to no one field above the form.
#[derive(Debug, Default)]
pub(crate) struct FormErrors {
    fields: Vec<(&'static str, String)>,
    /// What is wrong with the form as a whole ("This name is taken", say).
    pub(crate) form: Vec<String>,
}

impl FormErrors {
    /// Notes `message` against the input named `field`.
    pub(crate) fn field(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.push((field, message.into()));
    }

    /// Notes `message` against the whole form.
    pub(crate) fn general(&mut self, message: impl Into<String>) {
        self.form.push(message.into());
    }

    /// Nothing is wrong.
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_empty()
    }

    /// Whether the input named `field` has a message (for `aria-invalid`).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(name, _)| *name == field)
    }

    /// The messages for the input named `field`, as one sentence after another.
    pub(crate) fn get(&self, field: &str) -> Option<String> {
        let messages: Vec<&str> = self
            .fields
            .iter()
            .filter(|(name, _)| *name == field)
            .map(|(_, message)| message.as_str())
            .collect();
        (!messages.is_empty()).then(|| messages.join(" "))
    }
}
