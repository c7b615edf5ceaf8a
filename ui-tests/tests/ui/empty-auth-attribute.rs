use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User {
    id: u64,
    #[auth()]
    enabled: bool,
}

fn main() {
    let _ = User { id: 1, enabled: true }.enabled;
}
