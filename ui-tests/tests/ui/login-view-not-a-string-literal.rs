use actix_web::HttpResponse;
use login_runtime::login_required;

const LOGIN: &str = "/login";

#[login_required(login_view = LOGIN)]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
