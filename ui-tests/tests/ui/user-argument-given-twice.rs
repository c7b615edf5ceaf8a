use actix_web::{HttpResponse, get};
use login_runtime::{AuthUser, login_required};

#[derive(AuthUser)]
struct Staff {
    id: u32,
}

#[login_required(user = Staff, user = Staff)]
#[get("/staff")]
async fn staff_page() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
