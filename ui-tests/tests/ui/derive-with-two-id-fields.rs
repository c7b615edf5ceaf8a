use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    #[auth(id)]
    user_id: u64,
    #[auth(id)]
    email: String,
}

fn main() {}
