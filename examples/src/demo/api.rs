//! The JSON API under `/api/`: bearer tokens (made on the API tokens page) through
//! [`UserLoader::load_user_from_request`](login_runtime::UserLoader::load_user_from_request).
//! Every answer is JSON, a missing or revoked token a JSON 401, never a redirect.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, get, web};
use login_runtime::{CurrentUser, login_required};
use serde_json::json;

use super::db::User;
use super::pages::AppError;
use super::{Demo, JSON};

/// Middleware of the API scope: it answers only JSON, so its requests say they accept only
/// JSON, and login-runtime's guards answer them with a JSON 401 (the scope also has no login
/// view, `scope_login_view("/api", None)`, so nothing ever redirects to a form).
pub async fn speaks_json(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    req.headers_mut().insert(header::ACCEPT, JSON);
    next.call(req).await
}

/// The API's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(me).service(my_tokens);
}

/// Who the token belongs to.
#[login_required]
#[get("/me")]
async fn me(user: CurrentUser<User>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
    }))
}

/// The caller's tokens (never their values).
#[login_required]
#[get("/tokens")]
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
