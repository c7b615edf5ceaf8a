use actix_web::{HttpResponse, get};
use login_runtime::login_required;

#[login_required]
#[get("/")]
#[login_required(login_view = "/login")]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
