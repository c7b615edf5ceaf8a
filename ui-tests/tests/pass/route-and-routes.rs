//! Guards with `#[route]` and `#[routes]`, in both orders.

use actix_web::{App, HttpResponse, route, routes};
use login_runtime::{fresh_login_required, login_required};

#[login_required]
#[route("/one", method = "GET", method = "HEAD")]
async fn route_below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[route("/two", method = "GET")]
#[fresh_login_required]
async fn route_above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[login_required]
#[routes]
#[get("/three")]
#[post("/three")]
async fn routes_below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[routes]
#[get("/four")]
#[put("/four")]
#[login_required(login_view = "/login")]
async fn routes_above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

pub(crate) fn main() {
    let _app = App::new()
        .service(route_below)
        .service(route_above)
        .service(routes_below)
        .service(routes_above);
}
