use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    id: u64,
    #[auth(active = true)]
    enabled: bool,
}

fn main() {}
