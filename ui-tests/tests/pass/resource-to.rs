//! Guarded handlers registered with `web::resource(..).to(..)` and `web::get().to(..)`,
//! returning `impl Responder`, `Result<_, E>` and `HttpResponse`.

use actix_web::{App, HttpRequest, HttpResponse, Responder, error, web};
use login_runtime::{fresh_login_required, login_required};

#[login_required]
async fn responder(req: HttpRequest) -> impl Responder {
    req.path().to_owned()
}

#[derive(Debug)]
struct AppError;

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("app error")
    }
}

impl error::ResponseError for AppError {}

#[fresh_login_required]
async fn fallible(path: web::Path<(u32, u32)>) -> Result<String, AppError> {
    let (a, b) = path.into_inner();
    if a > b {
        Err(AppError)
    } else {
        Ok(format!("{a}..{b}"))
    }
}

#[login_required]
async fn early_return(data: web::Data<u8>) -> HttpResponse {
    if **data == 0 {
        return HttpResponse::NoContent().finish();
    }
    HttpResponse::Ok().body(data.to_string())
}

#[login_required]
async fn bytes(
    (body, _req): (web::Bytes, HttpRequest),
    mut text: String,
) -> Result<impl Responder, error::Error> {
    text.push('!');
    Ok(format!("{} {text}", body.len()))
}

pub(crate) fn main() {
    let _app = App::new()
        .app_data(web::Data::new(1_u8))
        .service(web::resource("/responder").to(responder))
        .service(web::resource("/fallible/{a}/{b}").route(web::get().to(fallible)))
        .route("/early", web::get().to(early_return))
        .route("/bytes", web::post().to(bytes));
}
