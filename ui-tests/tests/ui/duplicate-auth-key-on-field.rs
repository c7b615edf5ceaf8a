use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth(id, id)]
    key: u64,
}

fn main() {}
