//! The stores in SQLite (feature `sqlite`): sessions, devices and failed-login counters in
//! the application's own database file, for one server (or one machine) with server-side
//! logout and no Redis.
//!
//! ```
//! # actix_web::rt::System::new().block_on(async {
//! use login_stores::sqlite::{SqliteSessionStore, migrate};
//!
//! let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
//! migrate(&pool).await.unwrap();
//! let sessions = SqliteSessionStore::new(pool);
//! # let _ = sessions; });
//! ```

use sqlx::Sqlite;

use crate::StoreError;
use crate::sql::{SCHEMA, SqlDevices, SqlSessionStore, SqlThrottleStore, unavailable};

/// Sessions in SQLite: an actix-session `SessionStore`. See [`SqlSessionStore`].
pub type SqliteSessionStore = SqlSessionStore<Sqlite>;
/// The device registry in SQLite. See [`SqlDevices`].
pub type SqliteDevices = SqlDevices<Sqlite>;
/// Failed-login counters in SQLite. See [`SqlThrottleStore`].
pub type SqliteThrottleStore = SqlThrottleStore<Sqlite>;

/// Creates the stores' tables and indexes if they are missing ([`SCHEMA`]).
pub async fn migrate(pool: &sqlx::SqlitePool) -> Result<(), StoreError> {
    sqlx::raw_sql(SCHEMA)
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(unavailable)
}

sql_stores!(sqlx::Sqlite);
