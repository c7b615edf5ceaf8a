use actix_web::HttpResponse;
use login_runtime::{fresh_login_required, login_required};

#[login_required]
#[fresh_login_required]
async fn settings() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
