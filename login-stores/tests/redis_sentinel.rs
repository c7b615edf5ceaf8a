//! The Redis stores on the primary that Redis Sentinel names (Debian's `redis-sentinel`: a
//! primary and a replica of the test's own, watched by three Sentinels on free loopback
//! ports): the conformance suites, and a failover during load.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "256"]

mod common;

use std::time::Duration;

use deadpool_redis::sentinel::{Config, Pool, SentinelServerType};
use login_runtime::testing::device_registry_conformance;
use login_stores::redis::{RedisDeviceRegistry, RedisSessions, RedisThrottleStore};
use login_stores::testing::{AfterDelete, session_store_conformance, throttle_store_conformance};

use common::app::{Kept, load};
use common::servers::{SERVICE, Sentinels};

/// A pool that fails fast while there is no primary.
fn pool(sentinels: &Sentinels) -> Pool {
    let mut config = Config::from_urls(
        sentinels.sentinel_urls(),
        SERVICE.to_owned(),
        SentinelServerType::Master,
    );
    config.pool = Some(deadpool_redis::PoolConfig {
        max_size: 32,
        timeouts: deadpool_redis::Timeouts {
            wait: Some(Duration::from_secs(1)),
            create: Some(Duration::from_secs(1)),
            recycle: Some(Duration::from_secs(1)),
        },
        ..deadpool_redis::PoolConfig::default()
    });
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
}

#[actix_web::test]
#[ignore = "needs redis-server with Sentinel; run by .ci/run"]
async fn sentinel_stores_pass_the_conformance_suites() {
    let sentinels = Sentinels::start();
    let pool = pool(&sentinels);
    let sessions = RedisSessions::new(pool.clone(), "test:session:");
    session_store_conformance(|| sessions.clone(), AfterDelete::StaysDeleted).await;
    let devices = RedisDeviceRegistry::new(pool.clone(), "test:devices:");
    device_registry_conformance(|| devices.clone()).await;
    let counters = RedisThrottleStore::new(pool, "test:failures:");
    throttle_store_conformance(|| counters.clone()).await;
}

#[actix_web::test]
#[ignore = "needs redis-server with Sentinel; run by .ci/run"]
async fn a_sentinel_failover_is_a_clean_5xx_until_the_replica_is_promoted() {
    let mut sentinels = Sentinels::start();
    let pool = pool(&sentinels);
    let timeout = Duration::from_secs(1);
    let sessions = RedisSessions::new(pool.clone(), "fault:session:")
        .timeout(timeout)
        .confirm_deletes(1, Duration::from_millis(200));
    let devices = RedisDeviceRegistry::new(pool, "fault:devices:")
        .timeout(timeout)
        .confirm_revokes(1, Duration::from_millis(200));
    let app = common::app::app(sessions, devices).await;

    let mut kept = Kept::log_in(&app, "sentinel", 30).await;
    sentinels.wait_replicated(Duration::from_secs(10));
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    let old = sentinels.primary();
    let old_port = sentinels.redis[old].port;
    let (tx, rx) = std::sync::mpsc::channel();
    let fault = async {
        actix_web::rt::time::sleep(Duration::from_secs(2)).await;
        let mut node = std::mem::replace(
            &mut sentinels.redis[old],
            common::servers::Node::placeholder(old_port),
        );
        let node = actix_web::rt::task::spawn_blocking(move || {
            node.kill();
            node
        })
        .await
        .unwrap();
        tx.send(node).unwrap();
    };
    let counts = load(&app, 24, Duration::from_secs(10), "sentinel", fault).await;
    sentinels.redis[old] = rx.recv().unwrap();
    println!("the primary killed during load: {counts:?}");

    let started = std::time::Instant::now();
    while sentinels.primary_port() == Some(old_port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Sentinel promoted no replica"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // Logins made before the failover work on the new primary, without a restart.
    let back = kept.all_back(&app, Duration::from_secs(30)).await;
    // The old primary comes back; Sentinel makes it the new primary's replica.
    sentinels.redis[old].start();
    sentinels.wait_replicated(Duration::from_secs(30));
    println!("kept logins back after {back:?}; the old primary is the replica now");

    assert_eq!(counts.wrong_user, 0, "responses naming another user");
    assert_eq!(counts.survived_logout, 0, "logins surviving their logout");
    assert_eq!(
        counts.other_errors, 0,
        "answers other than 200, 500 and 503"
    );
    assert!(counts.clean_errors > 0, "the failover was seen");
    assert!(counts.logouts > 0);
    assert!(
        counts.slowest < Duration::from_secs(5),
        "every answer within a bounded time: {:?}",
        counts.slowest
    );
    let counts = load(&app, 8, Duration::from_secs(2), "sentinel-after", async {}).await;
    assert_eq!(counts.clean_errors + counts.other_errors, 0, "{counts:?}");
    assert_eq!(counts.wrong_user + counts.survived_logout, 0);
}
