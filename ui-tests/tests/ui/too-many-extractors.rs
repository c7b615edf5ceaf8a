use actix_web::{HttpRequest, HttpResponse};
use login_runtime::login_required;

#[login_required]
async fn index(
    _a: HttpRequest, _b: HttpRequest, _c: HttpRequest, _d: HttpRequest,
    _e: HttpRequest, _f: HttpRequest, _g: HttpRequest, _h: HttpRequest,
    _i: HttpRequest, _j: HttpRequest, _k: HttpRequest, _l: HttpRequest,
    _m: HttpRequest, _n: HttpRequest, _o: HttpRequest, _p: HttpRequest,
    _q: HttpRequest,
) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn main() {}
