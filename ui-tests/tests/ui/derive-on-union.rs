use login_runtime::AuthUser;

#[derive(AuthUser)]
union Account {
    id: u64,
    key: u32,
}

fn main() {}
