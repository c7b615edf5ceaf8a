use actix_web::{FromRequest, HttpResponse};
use login_runtime::login_required;

#[login_required]
async fn index(_value: impl FromRequest) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
