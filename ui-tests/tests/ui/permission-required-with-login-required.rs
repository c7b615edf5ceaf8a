use actix_web::{HttpResponse, get};
use login_runtime::{AuthUser, HasPermission, Permission, login_required, permission_required};

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

#[permission_required(Perm::Admin)]
#[get("/admin")]
#[login_required]
async fn admin() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = Perm::Admin;
}
