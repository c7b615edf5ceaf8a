use actix_web::HttpResponse;
use login_runtime::login_required;

#[login_required(login_view = "//accounts.example.com/login")]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
