//! Stores for [login-runtime] beyond one Redis: actix-session `SessionStore`s, login-runtime
//! `DeviceRegistry`s and `ThrottleStore`s on PostgreSQL and SQLite (sqlx), and on Redis
//! Cluster and Sentinel (deadpool-redis), with one conformance suite every store passes.
//!
//! Each backend is a feature, so an application compiles only what it uses:
//!
//! | feature | sessions | devices | failed-login counters |
//! |---|---|---|---|
//! | `postgres` | [`postgres::PgSessionStore`] | [`postgres::PgDevices`] | [`postgres::PgThrottleStore`] |
//! | `sqlite` | [`sqlite::SqliteSessionStore`] | [`sqlite::SqliteDevices`] | [`sqlite::SqliteThrottleStore`] |
//! | `redis-cluster`, `redis-sentinel`, `redis` | `redis::RedisSessions` | `redis::RedisDeviceRegistry` | `redis::RedisThrottleStore` |
//!
//! The Redis stores are generic over where their connections come from
//! (`redis::RedisConnector`): a Redis Cluster client (`redis-cluster`), a pool whose primary
//! Redis Sentinel names (`redis-sentinel`), or one Redis (`redis`).
//!
//! What every session store here promises, beyond actix-session's contract:
//!
//! - **The cookie's key is never stored**: the store keeps its SHA-256, so a copy of the
//!   database or of Redis logs nobody in.
//! - **Expiry is the server's**: a session past its time-to-live never loads.
//! - **A deleted session stays deleted**: a request that loaded a session before a logout
//!   (on any instance) deleted it, and writes it afterwards, stores nothing, so the login
//!   does not come back, with or without a device registry. actix-session's own
//!   `RedisSessionStore` saves such a write under a new key.
//! - **Bounded**: every operation has a timeout (2 s by default), so a store that is down
//!   answers a clean 5xx (sessions) or 503 (devices) at once.
//!
//! [`testing::session_store_conformance`] checks any `SessionStore` against these rules (and
//! actix-session's); login-runtime's `testing::device_registry_conformance` does the same for
//! device registries, and every store here passes both.
//!
//! [login-runtime]: login_runtime

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod key;
#[cfg(feature = "sql")]
#[macro_use]
mod sql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod testing;

pub use crate::error::StoreError;
#[cfg(feature = "sql")]
pub use crate::sql::{SCHEMA, SqlDevices, SqlSessionStore, SqlThrottleStore};
