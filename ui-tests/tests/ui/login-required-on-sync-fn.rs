use actix_web::HttpResponse;
use login_runtime::login_required;

#[login_required]
fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
