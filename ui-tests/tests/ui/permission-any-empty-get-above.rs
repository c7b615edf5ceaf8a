use actix_web::{HttpResponse, get};
use login_runtime::{AuthUser, HasPermission, Permission, permission_required};

#[derive(Clone, AuthUser)]
struct User {
    id: u64,
}

#[derive(PartialEq)]
enum Perm {
    Admin,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {}

#[get("/admin")]
#[permission_required(any())]
async fn admin() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = Perm::Admin;
}
