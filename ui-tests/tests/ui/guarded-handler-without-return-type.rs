use login_runtime::login_required;

#[login_required]
async fn logout_everywhere() {}

fn main() {}
