// No guard: actix-web's own check of the extractor reports it, with `AuthUser`'s note.
use actix_web::{App, HttpResponse, post};
use login_runtime::Login;

struct Visitor;

#[post("/logout")]
async fn logout(login: Login<Visitor>) -> actix_web::Result<HttpResponse> {
    login.logout()?;
    Ok(login.redirect_to_next("/"))
}

fn main() {
    let _ = App::new().service(logout);
}
