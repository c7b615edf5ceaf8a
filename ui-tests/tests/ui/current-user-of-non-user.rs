use actix_web::HttpResponse;
use login_runtime::{CurrentUser, login_required};

struct Visitor;

#[login_required]
async fn profile(_user: CurrentUser<Visitor>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {
    let _ = Visitor;
}
