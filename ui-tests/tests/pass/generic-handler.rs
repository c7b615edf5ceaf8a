//! A generic guarded handler, registered with concrete types.

use actix_web::{App, Responder, web};
use login_runtime::login_required;
use serde::de::DeserializeOwned;

#[derive(serde::Deserialize)]
struct Form {
    name: String,
}

impl std::fmt::Display for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[login_required]
async fn echo<T, const N: usize>(body: web::Json<T>) -> impl Responder
where
    T: DeserializeOwned + std::fmt::Display,
{
    format!("{N}: {}", body.into_inner())
}

#[login_required]
async fn extract_any<E: actix_web::FromRequest + std::fmt::Debug>(
    value: E,
    _: web::Data<()>,
) -> String {
    format!("{value:?}")
}

pub(crate) fn main() {
    let _app = App::new()
        .route("/echo", web::post().to(echo::<Form, 3>))
        .route(
            "/any",
            web::get().to(extract_any::<web::Query<Vec<(String, u8)>>>),
        );
}
