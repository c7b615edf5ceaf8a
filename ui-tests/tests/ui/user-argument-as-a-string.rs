use actix_web::{HttpResponse, get};
use login_runtime::login_required;

#[login_required(user = "Staff")]
#[get("/staff")]
async fn staff_page() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
