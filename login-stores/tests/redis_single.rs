//! One Redis (the machine's, 127.0.0.1:6379): actix-session's own `RedisSessionStore` against
//! the conformance suite, and the one rule it does not keep, beside this crate's store on the
//! same server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use actix_session::storage::{RedisSessionStore, SessionStore};
use actix_web::cookie::time;
use login_stores::redis::RedisSessions;
use login_stores::testing::{AfterDelete, session_store_conformance};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn pool() -> deadpool_redis::Pool {
    deadpool_redis::Config::from_url(REDIS_URL)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
}

fn prefix(test: &str) -> String {
    format!("login-stores-test:{test}:{:x}:", rand::random::<u64>())
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn actix_sessions_redis_store_passes_the_suite_but_may_bring_a_deleted_session_back() {
    let prefix = prefix("actix");
    let store = RedisSessionStore::builder_pooled(pool())
        .cache_keygen(move |key| format!("{prefix}{key}"))
        .build()
        .await
        .unwrap();
    session_store_conformance(|| store.clone(), AfterDelete::MayComeBack).await;

    // The rule it does not keep: a write for a session deleted meanwhile saves it again.
    let login = HashMap::from([("_user_id".to_owned(), "\"7\"".to_owned())]);
    let ttl = time::Duration::minutes(5);
    let key = store.save(login.clone(), &ttl).await.unwrap();
    let copy = || key.as_ref().to_owned().try_into().unwrap();
    store.delete(&copy()).await.unwrap();
    let written = store.update(copy(), login.clone(), &ttl).await.unwrap();
    assert_eq!(store.load(&written).await.unwrap(), Some(login));
    store.delete(&written).await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn our_store_on_one_redis_keeps_a_deleted_session_deleted() {
    let store = RedisSessions::new(pool(), prefix("ours"));
    session_store_conformance(|| store.clone(), AfterDelete::StaysDeleted).await;
}
