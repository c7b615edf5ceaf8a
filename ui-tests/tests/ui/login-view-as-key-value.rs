// rustc itself refuses `#[attr = value]` on an attribute macro ("key-value macro attributes
// are not supported") before the guard runs: that is the one error, and the guard names the
// fix in a warning at the literal (a second error would only repeat rustc's).
use actix_web::HttpResponse;
use login_runtime::login_required;

#[login_required = "/login"]
async fn index() -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
