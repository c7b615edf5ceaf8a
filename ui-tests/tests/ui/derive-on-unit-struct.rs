use login_runtime::AuthUser;

#[derive(AuthUser)]
struct Guest;

fn main() {}
