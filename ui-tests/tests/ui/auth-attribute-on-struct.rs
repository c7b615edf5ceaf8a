use login_runtime::AuthUser;

#[derive(AuthUser)]
#[auth(id)]
struct User {
    id: u64,
}

fn main() {}
