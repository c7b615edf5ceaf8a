use login_runtime::AuthUser;

#[derive(Clone)]
struct AccountKey(u64);

impl std::fmt::Display for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(AuthUser)]
struct User {
    #[auth(id)]
    key: AccountKey,
}

fn main() {}
