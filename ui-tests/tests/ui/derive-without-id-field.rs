use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    user_id: u64,
    name: String,
}

fn main() {}
