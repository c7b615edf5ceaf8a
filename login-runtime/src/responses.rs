//! Every answer that refuses a request, in one place: the unauthorized response (401, a
//! redirect to the login view, or the app's handler), needs-refresh, forbidden (403, or 404
//! when configured), the anonymous-only guard's redirect, and login-runtime's own errors.
//! Each is HTML (or a redirect) for browsers and JSON for clients that prefer it, decided the
//! same way ([`prefers_json`](crate::prefers_json)).
//!
//! Every built-in refusal carries a [`Refusal`] in its response's extensions, so an
//! application can render it in its own layout (see [`Refusal`]).

use std::sync::Arc;

use actix_web::error::InternalError;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use actix_web_flash_messages::{FlashMessage, storage::FlashMessageStore};

use crate::client::{ProxyTrust, scheme_and_host};
use crate::core::config::FlashText;
use crate::core::error::LoginError;
use crate::core::session::put;
use crate::core::state::RequestState;
use crate::events::LoginEvent;

/// What login-runtime refused, found in the extensions of every refusal response it makes
/// itself (not in those of the app's own handlers): render it in your site's layout with
/// actix-web's `ErrorHandlers`, keeping its status and headers (a cleared remember cookie, say)
/// and leaving JSON answers alone.
///
/// ```
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::body::{BoxBody, EitherBody};
/// use actix_web::dev::ServiceResponse;
/// use actix_web::http::header::{self, HeaderValue};
/// use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
/// use actix_web::{App, cookie::Key, test, web};
/// use login_runtime::{AuthUser, CurrentUser, LoginManager, Refusal, UserLoader};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// # struct Users;
/// # impl UserLoader for Users {
/// #     type User = User; type Id = u32; type Error = std::convert::Infallible;
/// #     async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> { Ok(None) }
/// # }
///
/// /// A refusal's page in the site's layout; everything else as it is.
/// fn in_layout<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
///     let refusal = res.response().extensions().get::<Refusal>().copied();
///     let is_json = res.headers().get(header::CONTENT_TYPE)
///         .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
///     let (Some(refusal), false) = (refusal, is_json) else {
///         return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
///     };
///     let title = match refusal {
///         Refusal::Forbidden => "You may not open this page",
///         _ => "Please log in",
///     };
///     // The same head (status, Set-Cookie), the site's page as the body.
///     let (req, res) = res.into_parts();
///     let mut res = res.set_body(BoxBody::new(format!("<main><h1>{title}</h1></main>")));
///     let html = HeaderValue::from_static("text/html; charset=utf-8");
///     res.headers_mut().insert(header::CONTENT_TYPE, html);
///     Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, res).map_into_right_body()))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new()
///         .route("/profile", web::get().to(|user: CurrentUser<User>| async move { "hi" }))
///         .wrap(LoginManager::new(Users))
///         // Outside the `LoginManager`, so it sees the cookies the manager wrote.
///         .wrap(ErrorHandlers::new().default_handler(in_layout))
///         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
/// )
/// .await;
/// let page = test::call_and_read_body(&app, test::TestRequest::get().uri("/profile").to_request()).await;
/// assert_eq!(page, "<main><h1>Please log in</h1></main>");
/// let api = test::TestRequest::get().uri("/profile").insert_header(("accept", "application/json"));
/// let json = test::call_and_read_body(&app, api.to_request()).await;
/// assert!(json.starts_with(b"{"), "JSON is left alone");
/// # });
/// ```
///
/// `ErrorHandlerResponse::Future` lets the page wait for what the layout needs (the user's
/// name, flashed messages) before it renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// An anonymous request to a guarded page (a 401; redirects carry no page).
    Unauthorized,
    /// A login that is not fresh on a page that needs a fresh one (a 401).
    NeedsRefresh,
    /// A login made without a second factor on a page that needs one (a 401).
    NeedsSecondFactor,
    /// A logged-in user without the permission (a 403).
    Forbidden,
    /// A logged-in user without the permission, answered as if there were no such page
    /// (`LoginManager::forbidden_as_not_found`).
    NotFound,
}

/// What refused: "`#[login_required]` on handler `x` guards", for a guarded login view's
/// error. This is what an extractor refuses with.
pub(crate) const BY_EXTRACTOR: &str =
    "a `CurrentUser` parameter (or `Login::unauthorized`) on the handler of";

/// The unauthorized response: the custom handler, a JSON 401 for API clients, a redirect to
/// the login view with `next`, or a plain 401. `by` names what refused, for the error a
/// guarded login view gets.
pub(crate) fn unauthorized(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
    by: &str,
) -> actix_web::Error {
    let refusals = &state.config().refusals;
    state.emit(LoginEvent::Unauthorized {
        path: req.path().to_owned(),
    });
    if let Some(handler) = &refusals.unauthorized_handler {
        return respond(handler(req));
    }
    if wants_json(req) {
        let message = refusals.login_message.as_ref();
        return respond(json_401(Refusal::Unauthorized, "unauthorized", message));
    }
    let view = view_override.or_else(|| refusals.login_view_for(req.path()));
    let message = refusals.login_message.as_ref();
    match view {
        Some(view) => redirect_to_view(req, state, view, message, by),
        None => respond(plain_401(Refusal::Unauthorized)),
    }
}

/// The needs-refresh response, shaped like [`unauthorized`] with the refresh view.
pub(crate) fn needs_refresh(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
    user_id: Option<String>,
    by: &str,
) -> actix_web::Error {
    let refusals = &state.config().refusals;
    state.emit(LoginEvent::NeedsRefresh {
        user_id,
        path: req.path().to_owned(),
    });
    if let Some(handler) = &refusals.needs_refresh_handler {
        return respond(handler(req));
    }
    let message = refusals.needs_refresh_message.as_ref();
    if wants_json(req) {
        return respond(json_401(Refusal::NeedsRefresh, "needs_refresh", message));
    }
    match view_override.or(refusals.refresh_view.as_deref()) {
        Some(view) => redirect_to_view(req, state, view, message, by),
        None => respond(plain_401(Refusal::NeedsRefresh)),
    }
}

/// The answer to a login made without a second factor where a guard needs one: a JSON 401
/// for API clients (`second_factor_required`, or `second_factor_enrolment_required` for an
/// account without one), a redirect with `next` to the second-factor view (or the enrolment
/// view), or a plain 401.
pub(crate) fn needs_second_factor(
    req: &HttpRequest,
    state: &RequestState,
    user_id: String,
    enrolled: bool,
    by: &str,
) -> actix_web::Error {
    let refusals = &state.config().refusals;
    state.emit(LoginEvent::NeedsSecondFactor {
        user_id,
        path: req.path().to_owned(),
        enrolled,
    });
    if wants_json(req) {
        let error = if enrolled {
            "second_factor_required"
        } else {
            "second_factor_enrolment_required"
        };
        let mut res = HttpResponse::Unauthorized().json(serde_json::json!({ "error": error }));
        res.extensions_mut().insert(Refusal::NeedsSecondFactor);
        return respond(res);
    }
    let view = if enrolled {
        refusals.second_factor_view.as_deref()
    } else {
        refusals
            .second_factor_enrolment_view
            .as_deref()
            .or(refusals.second_factor_view.as_deref())
    };
    match view {
        Some(view) => redirect_to_view(req, state, view, None, by),
        None => respond(plain_401(Refusal::NeedsSecondFactor)),
    }
}

/// The forbidden response: the custom handler, a 404 when configured, a JSON 403 for API
/// clients, or an HTML 403 page.
pub(crate) fn forbidden(
    req: &HttpRequest,
    state: &RequestState,
    user_id: String,
) -> actix_web::Error {
    let refusals = &state.config().refusals;
    state.emit(LoginEvent::Forbidden {
        user_id,
        path: req.path().to_owned(),
    });
    if let Some(handler) = &refusals.forbidden_handler {
        return respond(handler(req));
    }
    let json = wants_json(req);
    if refusals.forbidden_as_not_found {
        // The resource's existence is secret: answer as if there were none.
        let mut res = if json {
            HttpResponse::NotFound().json(serde_json::json!({ "error": "not_found" }))
        } else {
            html_page(
                HttpResponse::NotFound(),
                "404 Not Found",
                "There is no such page.",
            )
        };
        res.extensions_mut().insert(Refusal::NotFound);
        return respond(res);
    }
    let mut res = if json {
        HttpResponse::Forbidden().json(serde_json::json!({ "error": "forbidden" }))
    } else {
        html_page(
            HttpResponse::Forbidden(),
            "403 Forbidden",
            "You do not have permission to access this page.",
        )
    };
    res.extensions_mut().insert(Refusal::Forbidden);
    respond(res)
}

/// The anonymous-only guard's answer to a visitor who is logged in: a 303 to a safe `next`,
/// or the configured page (`/` by default).
pub(crate) fn already_logged_in(req: &HttpRequest, state: &RequestState) -> actix_web::Error {
    let next = actix_web::web::Query::<std::collections::HashMap<String, String>>::from_query(
        req.query_string(),
    )
    .ok()
    .and_then(|query| query.get("next").cloned())
    // Only a same-site path is followed: `next` is written by whoever made the link.
    .filter(|next| crate::next::is_safe_next(next));
    let target = next
        .or_else(|| state.config().refusals.anonymous_redirect.clone())
        .unwrap_or_else(|| "/".to_owned());
    respond(
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .finish(),
    )
}

/// `error` as the answer to `req`: JSON for clients that prefer it, otherwise the error's own
/// response (plain text, opaque but for a set-up mistake in a debug build).
pub(crate) fn failure(req: &HttpRequest, error: LoginError) -> actix_web::Error {
    if !wants_json(req) {
        return error.into();
    }
    error.report();
    let response = error.json_response();
    InternalError::from_response(error, response).into()
}

fn redirect_to_view(
    req: &HttpRequest,
    state: &RequestState,
    view: &str,
    message: Option<&FlashText>,
    by: &str,
) -> actix_web::Error {
    // A view that refuses its own visitors would redirect to itself forever: say so instead.
    let view_path = view.split(['?', '#']).next().unwrap_or_default();
    if view_path == req.path() {
        return LoginError::GuardedLoginView {
            guard: by.to_owned(),
            view: view_path.to_owned(),
        }
        .into();
    }
    let config = state.config();
    if let Some(message) = message {
        flash(req, message);
    }
    let current = current_url(req, &config.proxies);
    let location = if config.refusals.next_in_session {
        let next = crate::next::make_next_param(view, &current);
        match state
            .session(req)
            .and_then(|session| put(&session, &config.next_key, &next))
        {
            Ok(()) => view.to_owned(),
            Err(error) => return failure(req, error),
        }
    } else {
        crate::next::login_url_with_forced_host(
            view,
            Some(&current),
            "next",
            config.refusals.force_host.as_deref(),
        )
    };
    respond(
        HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish(),
    )
}

/// Flashes through actix-web-flash-messages when its middleware is installed; without it
/// there is nowhere to put a message, and `FlashMessage::send` would panic.
fn flash(req: &HttpRequest, message: &FlashText) {
    if req.extensions().contains::<Arc<dyn FlashMessageStore>>() {
        FlashMessage::new(message.text.clone(), message.level).send();
    }
}

/// The request's URL, for `next`. Scheme and host come from `Forwarded` / `X-Forwarded-*`
/// only when a proxy the app trusts wrote them; otherwise from the connection and `Host`.
fn current_url(req: &HttpRequest, proxies: &ProxyTrust) -> String {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let (scheme, host) = scheme_and_host(req, proxies);
    format!("{scheme}://{host}{path}")
}

/// Whether `req` prefers JSON (an API client, an XHR).
pub(crate) fn wants_json(req: &HttpRequest) -> bool {
    crate::negotiate::request_prefers_json(req)
}

fn json_401(refusal: Refusal, error: &str, message: Option<&FlashText>) -> HttpResponse {
    let mut res = HttpResponse::Unauthorized().json(serde_json::json!({
        "error": error,
        "message": message.map(|message| message.text.as_str()),
    }));
    res.extensions_mut().insert(refusal);
    res
}

fn plain_401(refusal: Refusal) -> HttpResponse {
    let mut res = HttpResponse::Unauthorized()
        .content_type("text/plain; charset=utf-8")
        .body("401 Unauthorized");
    res.extensions_mut().insert(refusal);
    res
}

fn html_page(mut builder: HttpResponseBuilder, title: &str, text: &str) -> HttpResponse {
    builder.content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ))
}

/// A refusal as the error a guard or extractor returns: actix renders it as `response`.
pub(crate) fn respond(response: HttpResponse) -> actix_web::Error {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("refused");
    let error = InternalError::from_response(reason, response);
    error.into()
}
