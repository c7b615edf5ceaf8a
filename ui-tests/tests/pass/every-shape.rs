//! One guarded handler with several extractors, `CurrentUser` among them, in every stacking
//! shape with a route attribute; a login service's absolute URL as the login view; the
//! handler returns a `Result<(), E>`, which actix answers with 204, guarded or not.

use actix_web::{App, HttpResponse, get, post, route, routes, web};
use login_runtime::{AuthUser, CurrentUser, MaybeUser, fresh_login_required, login_required};

#[derive(Clone, AuthUser)]
struct User {
    id: u64,
}

#[login_required(login_view = "https://accounts.example.com/login")]
async fn plain(user: CurrentUser<User>, q: web::Query<Vec<(String, String)>>) -> String {
    format!("{} {}", user.id, q.len())
}

#[login_required]
#[get("/get-below-guard/{n}")]
async fn get_below_guard(n: web::Path<u32>, user: MaybeUser<User>) -> String {
    format!("{n} {}", user.is_anonymous())
}

#[post("/post-above-guard")]
#[fresh_login_required]
async fn post_above_guard(
    user: CurrentUser<User>,
    body: web::Json<Vec<u8>>,
) -> Result<(), actix_web::Error> {
    let _ = (user.id, body.len());
    Ok(())
}

#[login_required]
#[route("/route", method = "GET", method = "HEAD")]
async fn route_shape(user: CurrentUser<User>) -> HttpResponse {
    HttpResponse::Ok().body(user.id.to_string())
}

#[login_required]
#[routes]
#[get("/routes")]
#[post("/routes")]
#[put("/routes")]
async fn routes_shape(user: CurrentUser<User>, body: String) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {body}", user.id))
}

pub(crate) fn main() {
    let _app = App::new()
        .route("/plain", web::get().to(plain))
        .service(get_below_guard)
        .service(post_above_guard)
        .service(route_shape)
        .service(routes_shape);
}
