use actix_web::{HttpResponse, get};
use login_runtime::anonymous_required;

#[get("/login")]
#[anonymous_required(second_factor)]
async fn login_page() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
