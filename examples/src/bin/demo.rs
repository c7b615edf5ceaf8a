//! The demo site: `cargo run -p examples --bin demo`, then open http://127.0.0.1:8080.
//!
//! On first start it creates and migrates `demo.db` (SQLite; `DATABASE_URL=postgres://…` for
//! PostgreSQL), creates the account `demo` and prints its password. `REDIS_URL` moves
//! sessions and login-failure counters to Redis; `DEMO_ADDR` changes the address;
//! `DEMO_SECURE_COOKIES=1` marks the cookies `Secure` (behind HTTPS);
//! `DEMO_IDLE_TIMEOUT_SECS` and `DEMO_LOGIN_LIFETIME_SECS` end logins after inactivity or
//! after a fixed time. `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and
//! `OIDC_REDIRECT_URL` add "Sign in with OpenID Connect" to the login page (all or none).

use actix_web::HttpServer;
use examples::demo::{Config, DEMO_ACCOUNT, Demo};
use examples::demo_app;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let address = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let config =
        Config::from_env().map_err(|error| std::io::Error::other(format!("demo: {error}")))?;
    let demo = Demo::start(&config)
        .await
        .map_err(|error| std::io::Error::other(format!("demo: {error}")))?;
    let account = demo
        .ensure_demo_account()
        .await
        .map_err(|error| std::io::Error::other(format!("demo: {error}")))?;
    println!("demo: http://{address}  (database {})", config.database_url);
    if let Some(oidc) = &config.oidc {
        println!(
            "demo: \"Sign in with OpenID Connect\" with {}",
            oidc.issuer_url()
        );
    }
    match account {
        Some(password) => println!(
            "demo: created the admin account {DEMO_ACCOUNT:?} with password {password:?} \
             (shown once; delete the database to start over)"
        ),
        None => println!(
            "demo: log in as {DEMO_ACCOUNT:?} with the password printed at its first start, \
             or sign up"
        ),
    }
    // One Demo (database pool, keys, throttle, device registry) for every worker: a login
    // made on one worker is valid on all, and each sees the same devices.
    HttpServer::new(move || demo_app!(demo))
        .bind(&address)?
        .run()
        .await
}
