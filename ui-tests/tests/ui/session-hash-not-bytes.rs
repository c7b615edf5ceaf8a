use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    id: u64,
    #[auth(session_hash)]
    password_version: u32,
}

fn main() {}
