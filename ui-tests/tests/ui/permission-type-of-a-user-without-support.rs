use actix_web::{HttpResponse, get};
use login_runtime::{AuthUser, Permission, permission_required};

#[derive(Clone, AuthUser)]
struct User {
    id: u64,
}

#[derive(PartialEq)]
enum Perm {
    Admin,
}

// `User` holds no permissions: `impl HasPermission<Perm> for User` is missing.
impl Permission for Perm {
    type User = User;
}

#[permission_required(Perm::Admin)]
async fn plain() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/above")]
#[permission_required(Perm::Admin)]
async fn above() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[permission_required(Perm::Admin)]
#[get("/below")]
async fn below() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
