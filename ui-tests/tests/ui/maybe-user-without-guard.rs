// No guard: actix-web's own check of the extractor reports it, with `AuthUser`'s note.
use actix_web::{App, get};
use login_runtime::MaybeUser;

struct Visitor;

#[get("/")]
async fn home(user: MaybeUser<Visitor>) -> &'static str {
    if user.is_anonymous() { "hello, stranger" } else { "hello" }
}

fn main() {
    let _ = App::new().service(home);
}
