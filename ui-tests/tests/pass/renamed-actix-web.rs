//! A crate that names actix-web differently, and where the name `actix_web` means something
//! else: the expansions reach actix-web only through `login_runtime`.

extern crate actix_web as web_framework;

/// Not actix-web: a generated path like `actix_web::HttpRequest` would fail to resolve.
#[allow(dead_code)]
mod actix_web {}

use login_runtime::{AuthUser, CurrentUser, login_required};
use web_framework::{App, HttpResponse, web};

#[derive(AuthUser)]
struct User {
    id: u64,
}

#[login_required(login_view = "/login")]
async fn profile(
    user: CurrentUser<User>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {}", user.id(), query.len()))
}

pub(crate) fn main() {
    let _app = App::new().route("/profile", web::get().to(profile));
}
