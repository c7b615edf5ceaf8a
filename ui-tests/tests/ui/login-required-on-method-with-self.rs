use actix_web::HttpResponse;
use login_runtime::login_required;

struct Pages;

impl Pages {
    #[login_required]
    async fn index(&self) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
}

fn main() {}
