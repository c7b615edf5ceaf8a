//! A strict user crate: no lint of rustc (nor, through `tests/clippy_pass.rs`, of
//! `clippy::pedantic`) fires on what the macros generate.
#![deny(
    warnings,
    missing_docs,
    unused,
    rust_2018_idioms,
    unused_qualifications,
    unreachable_pub
)]
#![deny(
    unused_results,
    trivial_casts,
    single_use_lifetimes,
    unused_lifetimes,
    let_underscore_drop
)]
#![warn(clippy::pedantic)]

use actix_web::{App, HttpResponse, Responder, get, web};
use login_runtime::{AuthUser, CurrentUser, fresh_login_required, login_required};

/// A user.
#[derive(Debug, Clone, AuthUser)]
pub struct User {
    /// Its id.
    pub id: u64,
    /// Whether it may log in.
    #[auth(active)]
    pub active: bool,
    /// Its password hash.
    #[auth(session_hash)]
    pub password_hash: String,
}

/// A documented public handler.
#[get("/")]
#[login_required]
pub async fn index(user: CurrentUser<User>) -> impl Responder {
    format!("{}", user.id)
}

/// Another one, returning a `Result`.
///
/// # Errors
///
/// Never, but it could.
#[fresh_login_required(refresh_view = "/again")]
#[get("/settings")]
pub async fn settings(path: web::Path<String>) -> Result<HttpResponse, actix_web::Error> {
    Ok(HttpResponse::Ok().body(path.into_inner()))
}

#[login_required]
async fn private() -> &'static str {
    "hi"
}

pub(crate) fn main() {
    let _app = App::new()
        .service(index)
        .service(settings)
        .route("/private", web::get().to(private));
}
