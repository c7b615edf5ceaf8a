//! The PostgreSQL and SQLite stores against the conformance suites (sessions, devices,
//! failed-login counters), and what is particular to them: only a hash of the session key in
//! the table, expiry on the server, and a bounded clean-up of expired rows. SQLite runs in a
//! temporary file; PostgreSQL on the machine's server, in a fresh database per test (ignored,
//! run by `.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::SessionStore;
use actix_web::cookie::time;
use login_runtime::testing::device_registry_conformance;
use login_stores::postgres::{PgDevices, PgSessionStore, PgThrottleStore};
use login_stores::sqlite::{SqliteDevices, SqliteSessionStore, SqliteThrottleStore};
use login_stores::testing::{AfterDelete, session_store_conformance, throttle_store_conformance};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use common::postgres::FreshDb;

async fn sqlite() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("stores.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    login_stores::sqlite::migrate(&pool).await.unwrap();
    (dir, pool)
}

#[actix_web::test]
async fn sqlite_sessions_pass_the_conformance_suite() {
    let (_dir, pool) = sqlite().await;
    let store = SqliteSessionStore::new(pool);
    session_store_conformance(|| store.clone(), AfterDelete::StaysDeleted).await;
}

#[actix_web::test]
async fn sqlite_devices_pass_the_conformance_suite() {
    let (_dir, pool) = sqlite().await;
    let devices = SqliteDevices::new(pool);
    device_registry_conformance(|| devices.clone()).await;
}

#[actix_web::test]
async fn sqlite_counters_pass_the_conformance_suite() {
    let (_dir, pool) = sqlite().await;
    let counters = SqliteThrottleStore::new(pool);
    throttle_store_conformance(|| counters.clone()).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_sessions_pass_the_conformance_suite() {
    let db = FreshDb::create().await;
    let store = PgSessionStore::new(db.pool().await);
    session_store_conformance(|| store.clone(), AfterDelete::StaysDeleted).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_devices_pass_the_conformance_suite() {
    let db = FreshDb::create().await;
    let devices = PgDevices::new(db.pool().await);
    device_registry_conformance(|| devices.clone()).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_counters_pass_the_conformance_suite() {
    let db = FreshDb::create().await;
    let counters = PgThrottleStore::new(db.pool().await);
    throttle_store_conformance(|| counters.clone()).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn several_instances_migrating_at_once_do_not_race() {
    let db = FreshDb::create().await;
    let pools = futures_util::future::join_all((0..4).map(|_| async {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&db.url)
            .await
            .unwrap()
    }))
    .await;
    let results =
        futures_util::future::join_all(pools.iter().map(login_stores::postgres::migrate)).await;
    for result in results {
        result.unwrap();
    }
}

fn login() -> HashMap<String, String> {
    HashMap::from([("_user_id".to_owned(), "\"42\"".to_owned())])
}

#[actix_web::test]
async fn the_table_holds_a_hash_of_the_session_key_never_the_key() {
    let (_dir, pool) = sqlite().await;
    let store = SqliteSessionStore::new(pool.clone());
    let key = store
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM login_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_ne!(ids[0], key.as_ref());
    assert!(!ids[0].contains(key.as_ref()));
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM login_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!states[0].contains(key.as_ref()));
}

/// Expired rows go in batches of at most `clean_up_batch`, by themselves after a write (at
/// most once per `clean_up_every`), and live rows stay.
async fn expired_rows_are_deleted_in_bounded_batches<DB>(
    store: login_stores::SqlSessionStore<DB>,
    count: impl AsyncFn() -> i64,
    delete_expired: impl AsyncFn(&login_stores::SqlSessionStore<DB>) -> u64,
) where
    DB: sqlx::Database,
    login_stores::SqlSessionStore<DB>: SessionStore + Clone,
{
    // Rows written by a handle whose clean-up is off.
    let writer = store.clone().clean_up_every(Duration::MAX);
    let second = time::Duration::seconds(1);
    for _ in 0..25 {
        writer.save(login(), &second).await.unwrap();
    }
    let live = writer
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(count().await, 26);
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count().await, 26, "expired rows stay until a clean-up");

    let store = store
        .clean_up_batch(10)
        .clean_up_every(Duration::from_secs(3600));
    // The first write of this handle is due a clean-up: it deletes one batch, in the
    // background, and the next one waits for the interval.
    store
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count().await != 27 - 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "no clean-up ran: {}",
            count().await
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    store
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count().await, 18, "one clean-up per interval");

    assert_eq!(delete_expired(&store).await, 10);
    assert_eq!(delete_expired(&store).await, 5);
    assert_eq!(delete_expired(&store).await, 0);
    assert_eq!(count().await, 3, "live sessions stay");
    assert!(store.load(&live).await.unwrap().is_some());
}

#[actix_web::test]
async fn sqlite_deletes_expired_sessions_in_bounded_batches() {
    let (_dir, pool) = sqlite().await;
    let count = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM login_sessions")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    expired_rows_are_deleted_in_bounded_batches(
        SqliteSessionStore::new(pool.clone()),
        count,
        async |store: &SqliteSessionStore| store.delete_expired().await.unwrap(),
    )
    .await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_deletes_expired_sessions_in_bounded_batches() {
    let db = FreshDb::create().await;
    let pool = db.pool().await;
    let count = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM login_sessions")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    expired_rows_are_deleted_in_bounded_batches(
        PgSessionStore::new(pool.clone()),
        count,
        async |store: &PgSessionStore| store.delete_expired().await.unwrap(),
    )
    .await;
}

#[actix_web::test]
async fn a_row_that_does_not_parse_is_a_load_error_and_a_device_that_does_not_parse_is_gone() {
    use login_runtime::DeviceRegistry;
    let (_dir, pool) = sqlite().await;
    let store = SqliteSessionStore::new(pool.clone());
    let key = store
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    sqlx::query("UPDATE login_sessions SET state = 'not json'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        store.load(&key).await,
        Err(actix_session::storage::LoadError::Deserialization(_))
    ));
    let devices = SqliteDevices::new(pool.clone());
    let device = login_runtime::Device::new("7", std::time::SystemTime::now());
    devices.record(&device).await.unwrap();
    sqlx::query("UPDATE login_devices SET device = '{\"id\": 1}'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(devices.device(&device.id).await.unwrap(), None);
    assert!(devices.devices("7").await.unwrap().is_empty());
}

#[actix_web::test]
async fn a_store_that_is_gone_fails_within_its_timeout() {
    use login_runtime::DeviceRegistry;
    let (_dir, pool) = sqlite().await;
    let store = SqliteSessionStore::new(pool.clone()).timeout(Duration::from_millis(500));
    let devices = SqliteDevices::new(pool.clone()).timeout(Duration::from_millis(500));
    let key = store
        .save(login(), &time::Duration::minutes(5))
        .await
        .unwrap();
    pool.close().await;
    let started = std::time::Instant::now();
    assert!(store.load(&key).await.is_err());
    assert!(devices.device("x").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
}
