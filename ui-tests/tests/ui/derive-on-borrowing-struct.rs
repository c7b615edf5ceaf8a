use login_runtime::AuthUser;

#[derive(AuthUser)]
struct User<'a> {
    id: u64,
    name: &'a str,
}

fn main() {}
