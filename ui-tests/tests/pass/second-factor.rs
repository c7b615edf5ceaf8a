//! `second_factor` on every login guard, alone and with the other arguments, with `#[get]`
//! above and below.
use actix_web::{App, HttpResponse, get};
use login_runtime::{
    AuthUser, HasPermission, Permission, fresh_login_required, login_required, permission_required,
};

#[derive(Debug, Clone, AuthUser)]
pub struct User {
    id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    Admin,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {}

#[login_required(second_factor)]
#[get("/a")]
async fn a() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/b")]
#[fresh_login_required(second_factor, refresh_view = "/again", login_view = "/in")]
async fn b() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[permission_required(Perm::Admin, second_factor)]
#[get("/c")]
async fn c() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[login_required(permission = Perm::Admin, second_factor)]
#[get("/d")]
async fn d() -> HttpResponse {
    HttpResponse::Ok().finish()
}

pub fn main() {
    let _ = App::new().service(a).service(b).service(c).service(d);
}
