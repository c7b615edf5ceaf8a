// A loader whose `type User` is not a login user: one error, at `type User`, naming the
// derive; installing the loader with `LoginManager::new` adds none.
use actix_web::App;
use login_runtime::{LoginManager, UserLoader};

#[derive(Clone)]
struct Visitor {
    id: u32,
}

struct Visitors;

impl UserLoader for Visitors {
    type User = Visitor;
    type Id = u32;
    type Error = std::convert::Infallible;

    async fn load_user(&self, id: &u32) -> Result<Option<Visitor>, Self::Error> {
        Ok(Some(Visitor { id: *id }))
    }
}

fn main() {
    let _ = App::new().wrap(LoginManager::new(Visitors));
}
