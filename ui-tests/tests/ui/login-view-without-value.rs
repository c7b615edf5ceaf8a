use actix_web::HttpResponse;
use login_runtime::login_required;

#[login_required(login_view)]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
