use actix_web::HttpResponse;
use login_runtime::fresh_login_required;

#[fresh_login_required(login_url = "/login")]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
