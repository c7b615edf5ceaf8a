use login_runtime::login_required;

#[login_required]
struct Index {
    page: u32,
}

fn main() {}
