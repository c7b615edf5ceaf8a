//! The stores in PostgreSQL (feature `postgres`): sessions, devices and failed-login counters,
//! so a deployment whose database is PostgreSQL has every server-side feature without Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use actix_session::SessionMiddleware;
//! use actix_web::cookie::Key;
//! use login_stores::postgres::{PgDevices, PgSessionStore, migrate};
//!
//! let pool = sqlx::postgres::PgPoolOptions::new()
//!     .acquire_timeout(std::time::Duration::from_secs(2))
//!     .connect("postgres://app@127.0.0.1/app")
//!     .await?;
//! migrate(&pool).await?;
//! let sessions = PgSessionStore::new(pool.clone());
//! let devices = PgDevices::new(pool.clone());
//! // In each worker:
//! let middleware = SessionMiddleware::new(sessions.clone(), Key::generate());
//! // LoginManager::new(users).device_registry(devices.clone()) ...
//! # let _ = (middleware, devices); Ok(()) }
//! ```

use sqlx::Postgres;

use crate::StoreError;
use crate::sql::{SCHEMA, SqlDevices, SqlSessionStore, SqlThrottleStore, unavailable};

/// Sessions in PostgreSQL: an actix-session `SessionStore`. See [`SqlSessionStore`].
pub type PgSessionStore = SqlSessionStore<Postgres>;
/// The device registry in PostgreSQL. See [`SqlDevices`].
pub type PgDevices = SqlDevices<Postgres>;
/// Failed-login counters in PostgreSQL. See [`SqlThrottleStore`].
pub type PgThrottleStore = SqlThrottleStore<Postgres>;

/// Any number the stores' migration holds its advisory lock under ("login" in ASCII).
const MIGRATION_LOCK: i64 = 0x006c_6f67_696e;

/// Creates the stores' tables and indexes if they are missing ([`SCHEMA`]), under an
/// advisory lock, so several instances starting at once do not race.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(unavailable)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    sqlx::raw_sql(SCHEMA)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

sql_stores!(sqlx::Postgres);
