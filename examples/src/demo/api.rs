//! The JSON API under `/api/`: bearer tokens (made on the API tokens page) through
//! [`UserLoader::load_user_from_request`](login_runtime::UserLoader::load_user_from_request).
//! Every answer is JSON, a missing or revoked token a JSON 401, never a redirect.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use login_runtime::{CurrentUser, Refusal, login_required};
use serde_json::json;

use super::Demo;
use super::db::User;
use super::pages::AppError;

/// `Accept: application/json`, which the API scope sets on every request it serves.
const JSON: header::HeaderValue = header::HeaderValue::from_static("application/json");

/// Middleware of the API scope: it answers only JSON, so its requests say they accept only
/// JSON, and login-runtime's guards answer them with a JSON 401 (the scope also has no login
/// view, `scope_login_view("/api", None)`, so nothing ever redirects to a form).
///
/// A 401 of the API speaks of bearer tokens, as RFC 6750 asks: a `WWW-Authenticate: Bearer`
/// challenge (with `error="invalid_token"` when a token was sent and refused), and a message
/// about the token instead of the pages' "Please log in".
pub async fn speaks_json(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    req.headers_mut().insert(header::ACCEPT, JSON);
    let sent_token = req.headers().contains_key(header::AUTHORIZATION);
    let res = next.call(req).await?;
    // login-runtime's "log in first" refusal only; any other 401 keeps its own answer.
    let unauthorized = res.response().extensions().get::<Refusal>() == Some(&Refusal::Unauthorized);
    if res.status() != StatusCode::UNAUTHORIZED || !unauthorized {
        return Ok(res.map_into_left_body());
    }
    let (challenge, message) = if sent_token {
        (
            r#"Bearer realm="api", error="invalid_token""#,
            "The bearer token is unknown or revoked.",
        )
    } else {
        (
            r#"Bearer realm="api""#,
            "This API needs a bearer token: Authorization: Bearer <token>, made on the API \
             tokens page.",
        )
    };
    let (req, mut res) = res.into_parts();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(challenge),
    );
    res.headers_mut().insert(header::CONTENT_TYPE, JSON);
    let body = json!({ "error": "unauthorized", "message": message }).to_string();
    let res = res.set_body(body).map_into_boxed_body();
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

/// The API's routes. Resources rather than method routes, so that a method a path does not
/// answer (`POST /api/me`) is a 405 with `Allow`, not a 404.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/me")
            .get(me)
            .default_service(web::to(get_only)),
    )
    .service(
        web::resource("/tokens")
            .get(my_tokens)
            .default_service(web::to(get_only)),
    );
}

/// 405 for a method an API path does not answer, with the `Allow` that RFC 9110 asks for.
async fn get_only() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET"))
        .json(json!({
            "error": "method_not_allowed",
            "message": "This path answers GET only.",
        }))
}

/// Who the token belongs to.
#[login_required]
async fn me(user: CurrentUser<User>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
    }))
}

/// The caller's tokens (never their values).
#[login_required]
async fn my_tokens(
    user: CurrentUser<User>,
    demo: web::Data<Demo>,
) -> Result<HttpResponse, AppError> {
    let tokens: Vec<_> = demo
        .db
        .tokens(user.id)
        .await?
        .into_iter()
        .map(|token| {
            json!({
                "id": token.id,
                "label": token.label,
                "created_at": token.created_at,
                "revoked": token.revoked_at.is_some(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "tokens": tokens })))
}
