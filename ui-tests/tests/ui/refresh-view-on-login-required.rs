use actix_web::HttpResponse;
use login_runtime::login_required;

#[login_required(refresh_view = "/reauthenticate")]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
