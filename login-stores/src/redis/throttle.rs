//! [`RedisThrottleStore`]: failed-login counters over any [`RedisConnector`].

use std::sync::LazyLock;
use std::time::Duration;

use deadpool_redis::redis;
use login_runtime::throttle::{FailureCount, ThrottleStore};

use super::{DEFAULT_TIMEOUT, RedisConnector, px, run};
use crate::StoreError;

/// INCR, setting the expiry on the first failure of a window, in one atomic step.
static ADD_FAILURE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {failures, redis.call('PTTL', KEYS[1])}
",
    )
});

/// The count and the time left, read together.
static COUNT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new("return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}")
});

/// Failed-login counters in Redis, one key per counter that expires with its window: every
/// instance counts against the same windows.
#[derive(Clone)]
pub struct RedisThrottleStore<C> {
    connector: C,
    prefix: String,
    timeout: Duration,
}

impl<C> std::fmt::Debug for RedisThrottleStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<C: RedisConnector> RedisThrottleStore<C> {
    /// Counters under keys starting with `prefix` (e.g. `"myapp:failures:"`).
    pub fn new(connector: C, prefix: impl Into<String>) -> Self {
        RedisThrottleStore {
            connector,
            prefix: prefix.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long one operation may take before it fails (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn failure_count(failures: i64, ttl_ms: i64) -> FailureCount {
    FailureCount {
        failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
        remaining: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)),
    }
}

impl<C: RedisConnector> ThrottleStore for RedisThrottleStore<C> {
    type Error = StoreError;

    async fn count(&self, key: &str) -> Result<Option<FailureCount>, StoreError> {
        let redis_key = format!("{}{key}", self.prefix);
        let (failures, ttl): (Option<i64>, i64) =
            run(&self.connector, self.timeout, async |conn| {
                COUNT.key(&redis_key).invoke_async(conn).await
            })
            .await?;
        Ok(failures
            .filter(|_| ttl > 0)
            .map(|failures| failure_count(failures, ttl)))
    }

    async fn add_failure(&self, key: &str, window: Duration) -> Result<FailureCount, StoreError> {
        let redis_key = format!("{}{key}", self.prefix);
        let (failures, ttl): (i64, i64) = run(&self.connector, self.timeout, async |conn| {
            ADD_FAILURE
                .key(&redis_key)
                .arg(px(window))
                .invoke_async(conn)
                .await
        })
        .await?;
        Ok(failure_count(failures, ttl))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let redis_key = format!("{}{key}", self.prefix);
        run(&self.connector, self.timeout, async |conn| {
            redis::cmd("DEL")
                .arg(&redis_key)
                .query_async::<()>(conn)
                .await
        })
        .await
    }
}
