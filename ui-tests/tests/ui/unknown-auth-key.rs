use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth(primary_key)]
    id: u64,
}

fn main() {}
