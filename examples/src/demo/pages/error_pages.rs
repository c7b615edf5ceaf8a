//! The site's pages for answers made outside a page handler: login-runtime's refusals (it
//! marks them with [`login_runtime::Refusal`]) and login-oidc's (the demo's `error_page` marks
//! them with a [`Message`]), rendered in the site's layout by actix-web's `ErrorHandlers`
//! ([`error_pages`]). The answer keeps its status and headers (the cookies the inner layers set
//! on it: a remember cookie renewed or cleared), and JSON answers are left as they are.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{FromRequest, HttpResponse};
use askama::Template;
use login_runtime::Refusal;

use super::frame::{AppError, Ctx, ErrorPage};

/// What an error page says.
#[derive(Debug, Clone)]
pub struct Message {
    title: &'static str,
    message: String,
    /// With a link back to the login form.
    login_link: bool,
}

/// An empty answer with `status`, whose page [`error_pages`] renders in the site's layout:
/// for callbacks that cannot render a page themselves (login-oidc's `error_page`).
pub fn message_page(
    status: StatusCode,
    title: &'static str,
    message: &str,
    login_link: bool,
) -> HttpResponse {
    let mut res = HttpResponse::new(status);
    res.extensions_mut().insert(Message {
        title,
        message: message.to_owned(),
        login_link,
    });
    res
}

/// The most a form of the demo may send (the longest, sign up, is well under 2 kB).
pub const FORM_LIMIT: usize = 64 * 1024;

/// How forms are read: at most [`FORM_LIMIT`] bytes, and a form that cannot be read (too
/// large, not a form) answered with the site's error page rather than actix-web's plain text.
pub fn form_config() -> actix_web::web::FormConfig {
    actix_web::web::FormConfig::default()
        .limit(FORM_LIMIT)
        .error_handler(|error, _req| {
            let page = match &error {
                actix_web::error::UrlencodedError::Overflow { .. } => message_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too much to send",
                    "This form sent more than the site accepts (64 kB). Go back, shorten what \
                     you typed and send it again.",
                    false,
                ),
                _ => message_page(
                    StatusCode::BAD_REQUEST,
                    "This form could not be read",
                    "Go back, reload the page and send the form again.",
                    false,
                ),
            };
            actix_web::error::InternalError::from_response(error, page).into()
        })
}

/// The middleware that renders them. Outside `LoginManager` (it reads the user for the
/// navigation, and keeps the cookies the manager wrote), inside the flash messages and the
/// session.
pub fn error_pages<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(in_layout)
}

fn in_layout<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let Some(message) = what_to_show(&res) else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    Ok(ErrorHandlerResponse::Future(Box::pin(async move {
        let (req, head) = res.into_parts();
        let mut ctx = Ctx::extract(&req).await?;
        let page = ErrorPage {
            layout: ctx.layout_with_flashes(message.title),
            message: message.message,
            login_link: message.login_link,
        };
        let body = page.render().map_err(AppError::from)?;
        // The same head (status, every Set-Cookie), the site's page as the body.
        let mut res = head.set_body(BoxBody::new(body));
        let headers = res.headers_mut();
        let html = HeaderValue::from_static("text/html; charset=utf-8");
        headers.insert(header::CONTENT_TYPE, html);
        // It shows who is logged in: never cached.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(ServiceResponse::new(req, res).map_into_right_body())
    })))
}

/// The page for a refusal or a marked answer; `None` for everything else, JSON included.
fn what_to_show<B>(res: &ServiceResponse<B>) -> Option<Message> {
    let response = res.response();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if is_json {
        return None;
    }
    let extensions = response.extensions();
    if let Some(message) = extensions.get::<Message>() {
        return Some(message.clone());
    }
    let message = |title, text: &str, login_link| Message {
        title,
        message: text.to_owned(),
        login_link,
    };
    match extensions.get::<Refusal>()? {
        Refusal::Forbidden => Some(message(
            "Forbidden",
            "Your account may not open this page.",
            false,
        )),
        Refusal::NotFound => Some(message(
            "Page not found",
            "There is no page at this address.",
            false,
        )),
        _ => Some(message(
            "Please log in",
            "Please log in to open this page.",
            true,
        )),
    }
}
