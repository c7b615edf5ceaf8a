use actix_web::{HttpResponse, web};
use login_runtime::login_required;

struct Settings {
    theme: String,
}

#[login_required]
async fn save(path: web::Path<u32>, settings: Settings) -> HttpResponse {
    HttpResponse::Ok().body(format!("{path} {}", settings.theme))
}

fn main() {}
