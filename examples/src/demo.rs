//! The demo site on the embedded defaults (cookie sessions, in-memory users).
//!
//! `cargo run -p examples --bin demo`, then open http://127.0.0.1:8080 and log in as
//! `alice` / `wonderland` (`bob` / `builder` is disabled). `DEMO_ADDR` changes the address.

use actix_web::HttpServer;
use examples::{Keys, demo_app};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let address = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    // One set of keys for every worker: a login made on one worker is valid on all.
    let keys = Keys::generate();
    println!("demo: http://{address}  (log in as alice / wonderland)");
    HttpServer::new(move || demo_app!(keys))
        .bind(&address)?
        .run()
        .await
}
