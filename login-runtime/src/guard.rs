//! What `#[login_required]` and `#[fresh_login_required]` run, and the unauthorized and
//! needs-refresh responses they (and `CurrentUser`) answer with.

use std::sync::Arc;

use actix_web::error::InternalError;
use actix_web::http::{Method, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use actix_web_flash_messages::{FlashMessage, storage::FlashMessageStore};

use crate::config::FlashText;
use crate::error::LoginError;
use crate::events::LoginEvent;
use crate::state::{NEXT, RequestState, Source, put};

/// Which guard a handler carries, and its per-handler view overrides. Built by the macros.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct GuardSpec {
    /// The guarded handler's name, for the error a guarded login view gets.
    pub handler: &'static str,
    /// `#[fresh_login_required]`: a login that is not fresh is refused too.
    pub fresh: bool,
    /// The handler's own `login_view`, winning over scope and global views.
    pub login_view: Option<&'static str>,
    /// The handler's own `refresh_view`.
    pub refresh_view: Option<&'static str>,
}

/// Runs a guard for this request: `Ok(())` lets the handler run; the error renders as the
/// unauthorized or needs-refresh response, or a 500 when login-runtime is not installed.
#[doc(hidden)]
pub fn guard(
    req: &actix_web::HttpRequest,
    spec: GuardSpec,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { check(&req, spec).await }
}

async fn check(req: &HttpRequest, spec: GuardSpec) -> Result<(), actix_web::Error> {
    let state = RequestState::of(req)?;
    // CORS preflights carry no credentials: never refuse them (Flask-Login's EXEMPT_METHODS).
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let Some(current) = state.current(req).await? else {
        return Err(refuse(
            req,
            &state,
            Refusal::Unauthorized,
            spec.login_view,
            Some(&spec),
        ));
    };
    if spec.fresh && !(current.source == Source::Session && state.is_fresh(req)?) {
        let refusal = Refusal::NeedsRefresh(Some(current.id));
        return Err(refuse(req, &state, refusal, spec.refresh_view, Some(&spec)));
    }
    Ok(())
}

/// Which refusal a guard or extractor answers with.
enum Refusal {
    Unauthorized,
    /// With the id of the stale login.
    NeedsRefresh(Option<String>),
}

fn refuse(
    req: &HttpRequest,
    state: &RequestState,
    refusal: Refusal,
    view_override: Option<&str>,
    guard: Option<&GuardSpec>,
) -> actix_web::Error {
    let by = guard.map_or_else(
        || "a `CurrentUser` parameter (or `Login::unauthorized`) on the handler of".to_owned(),
        |spec| {
            let name = if spec.fresh {
                "fresh_login_required"
            } else {
                "login_required"
            };
            format!("`#[{name}]` on handler `{}` guards", spec.handler)
        },
    );
    match refusal {
        Refusal::Unauthorized => unauthorized_by(req, state, view_override, &by),
        Refusal::NeedsRefresh(user_id) => needs_refresh_by(req, state, view_override, user_id, &by),
    }
}

/// The unauthorized response: the custom handler, a JSON 401 for API clients, a redirect to
/// the login view with `next`, or a plain 401.
pub(crate) fn unauthorized(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
) -> actix_web::Error {
    refuse(req, state, Refusal::Unauthorized, view_override, None)
}

fn unauthorized_by(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
    by: &str,
) -> actix_web::Error {
    let config = state.config();
    config.emit(LoginEvent::Unauthorized {
        path: req.path().to_owned(),
    });
    if let Some(handler) = &config.unauthorized_handler {
        return respond(handler(req));
    }
    if wants_json(req) {
        return respond(json_401("unauthorized", config.login_message.as_ref()));
    }
    let view = view_override.or_else(|| config.login_view_for(req.path()));
    match view {
        Some(view) => redirect_to_view(req, state, view, config.login_message.as_ref(), by),
        None => respond(plain_401()),
    }
}

/// The needs-refresh response, shaped like [`unauthorized`] with the refresh view.
pub(crate) fn needs_refresh(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
    user_id: Option<String>,
) -> actix_web::Error {
    refuse(
        req,
        state,
        Refusal::NeedsRefresh(user_id),
        view_override,
        None,
    )
}

fn needs_refresh_by(
    req: &HttpRequest,
    state: &RequestState,
    view_override: Option<&str>,
    user_id: Option<String>,
    by: &str,
) -> actix_web::Error {
    let config = state.config();
    config.emit(LoginEvent::NeedsRefresh {
        user_id,
        path: req.path().to_owned(),
    });
    if let Some(handler) = &config.needs_refresh_handler {
        return respond(handler(req));
    }
    if wants_json(req) {
        return respond(json_401(
            "needs_refresh",
            config.needs_refresh_message.as_ref(),
        ));
    }
    match view_override.or(config.refresh_view.as_deref()) {
        Some(view) => redirect_to_view(req, state, view, config.needs_refresh_message.as_ref(), by),
        None => respond(plain_401()),
    }
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
    let current = current_url(req, config.trust_proxy_headers);
    let location = if config.next_in_session {
        let next = crate::next::make_next_param(view, &current);
        match state
            .session(req)
            .and_then(|session| put(&session, NEXT, &next))
        {
            Ok(()) => view.to_owned(),
            Err(error) => return error.into(),
        }
    } else {
        crate::next::login_url_with_forced_host(
            view,
            Some(&current),
            "next",
            config.force_host.as_deref(),
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
/// only when the app trusts proxy headers; otherwise from the connection and `Host`.
fn current_url(req: &HttpRequest, trust_proxy_headers: bool) -> String {
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    if trust_proxy_headers {
        let info = req.connection_info();
        return format!("{}://{}{}", info.scheme(), info.host(), path);
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_else(|| config.host());
    format!("{scheme}://{host}{path}")
}

pub(crate) fn wants_json(req: &HttpRequest) -> bool {
    let headers = req.headers();
    crate::negotiate::prefers_json(
        headers.get(header::ACCEPT).map(|value| value.as_bytes()),
        headers
            .get("x-requested-with")
            .map(|value| value.as_bytes()),
    )
}

fn json_401(error: &str, message: Option<&FlashText>) -> HttpResponse {
    HttpResponse::Unauthorized().json(serde_json::json!({
        "error": error,
        "message": message.map(|message| message.text.as_str()),
    }))
}

fn plain_401() -> HttpResponse {
    HttpResponse::Unauthorized()
        .content_type("text/plain; charset=utf-8")
        .body("401 Unauthorized")
}

pub(crate) fn respond(response: HttpResponse) -> actix_web::Error {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("refused");
    let error = InternalError::from_response(reason, response);
    error.into()
}
