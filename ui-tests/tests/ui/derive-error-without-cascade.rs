// A broken derive still emits a stub impl: the one error is the derive's, not a
// "not a login user" at every use of the type.
use actix_web::HttpResponse;
use login_runtime::{AuthUser, CurrentUser, login_required};

#[derive(AuthUser)]
struct User {
    #[auth(id)]
    user_id: u64,
    #[auth(id)]
    email: String,
}

#[login_required]
async fn profile(user: CurrentUser<User>) -> HttpResponse {
    HttpResponse::Ok().body(format!("{} {}", user.id() + 1, user.email))
}

fn main() {
    let _ = actix_web::web::get().to(profile);
}
