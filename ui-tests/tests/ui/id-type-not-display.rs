use login_runtime::AuthUser;

#[derive(Clone, Debug)]
struct AccountKey(u64);

impl std::str::FromStr for AccountKey {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(AccountKey)
    }
}

#[derive(AuthUser)]
struct User {
    #[auth(id)]
    key: AccountKey,
}

fn main() {}
