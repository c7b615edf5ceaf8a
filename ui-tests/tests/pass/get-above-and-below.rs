//! Guards above and below `#[get]` / `#[post]`, with docs, other attributes and extra
//! extractors, `CurrentUser` among them.

use actix_web::{App, HttpResponse, Responder, get, post, web};
use login_runtime::{AuthUser, CurrentUser, fresh_login_required, login_required};
use serde::Deserialize;

#[derive(Clone, AuthUser)]
struct User {
    id: u32,
    name: String,
}

#[derive(Deserialize)]
struct Comment {
    text: String,
}

/// Guard above the route.
#[login_required]
#[get("/above/{n}")]
#[allow(clippy::unused_async)]
async fn above(n: web::Path<u32>, user: CurrentUser<User>) -> impl Responder {
    format!("{} #{n}", user.name)
}

/// Guard below the route.
#[get("/below")]
#[login_required(login_view = "/members/login")]
pub async fn below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Fresh guard above a `POST` with a JSON body.
#[fresh_login_required(login_view = "/login", refresh_view = "/reauthenticate")]
#[post("/comments")]
async fn comment(
    body: web::Json<Comment>,
    mut query: web::Query<Vec<(String, String)>>,
) -> Result<String, actix_web::Error> {
    query.0.clear();
    Ok(body.into_inner().text)
}

/// Fully qualified guard below a `POST`.
#[post("/qualified")]
#[login_runtime::fresh_login_required]
pub(crate) async fn qualified(user: CurrentUser<User>) -> String {
    user.id().to_string()
}

pub(crate) fn main() {
    let _app = App::new()
        .service(above)
        .service(below)
        .service(comment)
        .service(qualified);
}
