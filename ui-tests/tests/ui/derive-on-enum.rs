use login_runtime::AuthUser;

#[derive(AuthUser)]
enum Account {
    Admin { id: u64 },
    Member { id: u64 },
}

fn main() {}
