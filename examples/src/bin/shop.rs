//! Customers and staff in one app: see `examples::shop`.

use actix_web::HttpServer;
use actix_web::cookie::Key;
use examples::shop::{Accounts, app};
use login_runtime::SecretKey;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("SHOP_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".to_owned());
    let accounts = Accounts::new().map_err(|error| std::io::Error::other(error.to_string()))?;
    // One process: keys made at start; a real site keeps them across restarts.
    let (secret, session_key) = (SecretKey::generate(), Key::generate());
    println!("shop: http://{addr} (alice / customer password, sam / staff password)");
    HttpServer::new(move || app(&accounts, &secret, &session_key))
        .bind(&addr)?
        .run()
        .await
}
