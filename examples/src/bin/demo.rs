//! The demo site: `cargo run -p examples --bin demo`, then open http://127.0.0.1:8080.
//!
//! On first start it creates and migrates `demo.db` (SQLite; `DATABASE_URL=postgres://…` for
//! PostgreSQL), creates the account `demo` and prints its password. `REDIS_URL` moves
//! sessions and login-failure counters to Redis; `DEMO_ADDR` changes the address;
//! `DEMO_SECURE_COOKIES=1` marks the cookies `Secure` (behind HTTPS);
//! `DEMO_IDLE_TIMEOUT_SECS` and `DEMO_LOGIN_LIFETIME_SECS` end logins after inactivity or
//! after a fixed time. With `DATABASE_URL=postgres://…` and no `REDIS_URL`, sessions and
//! devices live in PostgreSQL (login-stores), so several instances share logins. Its signing
//! keys are made at the first start and kept in the database (`demo_keys`), so a restart keeps
//! every login. `DEMO_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16` names the load balancers whose
//! forwarding headers are believed. `/healthz` answers 200 while the database (and Redis)
//! answer; SIGTERM stops it gracefully. `RUST_LOG` chooses what is logged (INFO by default).
//! `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and `OIDC_REDIRECT_URL` add "Sign
//! in with OpenID Connect" to the login page (all or none).

use actix_web::HttpServer;
use examples::demo::{Config, DEMO_ACCOUNT, Demo, app};
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // RUST_LOG chooses what is logged (`warn`, `audit=info,warn`, `login_runtime=debug`, …);
    // INFO and above without it. A value it cannot read is said, and INFO is used.
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .unwrap_or_else(|error| {
                eprintln!("demo: RUST_LOG={directives:?} is not a filter ({error}); logging INFO");
                EnvFilter::new("info")
            }),
        _ => EnvFilter::new("info"),
    };
    tracing_subscriber::fmt().with_env_filter(filter).init();
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
    // made on one worker is valid on all, and each sees the same devices. The keys come from
    // the database, so other instances on it, and this one after a restart, accept it too.
    // SIGTERM (and SIGINT) stop it gracefully: no new connections, the requests in flight
    // finish (for up to DEMO_SHUTDOWN_SECS, 30 by default), then the workers stop.
    let shutdown = std::env::var("DEMO_SHUTDOWN_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(30);
    HttpServer::new(move || app(&demo))
        .shutdown_timeout(shutdown)
        .bind(&address)?
        .run()
        .await
}
