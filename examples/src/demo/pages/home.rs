//! The home page, and the stylesheet every page links.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get};
use askama::Template;

use super::frame::{Ctx, Layout, PageResult};

#[get("/static/style.css")]
pub(super) async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/style.css"))
}

/// The site's icon (a padlock), so browsers stop asking for a `/favicon.ico` that 404s.
#[get("/favicon.svg")]
pub(super) async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(include_str!("../../../static/favicon.svg"))
}

/// Browsers that ask for the old name get the icon's new one.
#[get("/favicon.ico")]
pub(super) async fn favicon_ico() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, "/favicon.svg"))
        .finish()
}

#[get("/static/passkey.js")]
pub(super) async fn passkey_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../static/passkey.js"))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

#[get("/")]
pub(super) async fn home(mut ctx: Ctx) -> PageResult {
    let page = HomePage {
        layout: ctx.layout_with_flashes("Home"),
    };
    ctx.render(StatusCode::OK, &page)
}
