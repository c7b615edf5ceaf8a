//! Where the demo keeps its failed-login counters: in its database by default, in Redis when
//! `REDIS_URL` is set, so that several instances share them. Both implement login-runtime's
//! [`ThrottleStore`]; the policy is login-runtime's [`Throttle`].

use std::time::Duration;

use deadpool_redis::Pool;
use login_runtime::throttle::{FailureCount, Throttle, ThrottleStore};

use super::db::Db;

/// Failures allowed per account and per client address in one window.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures per account.
    pub per_account: u32,
    /// Failures per client address (higher: several people may share one address).
    pub per_address: u32,
    /// The window.
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_account: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// What a counter store reports when it fails.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The database failed.
    #[error("login-failure counters: {0}")]
    Db(#[from] sqlx::Error),
    /// No Redis connection.
    #[error("login-failure counters: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    /// Redis failed.
    #[error("login-failure counters: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The counters, in the database or in Redis.
#[derive(Clone)]
pub enum Counters {
    /// The `login_failures` table.
    Db(Db),
    /// Redis keys `login-failures:<bucket>` that expire with their window.
    Redis(Pool),
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Counters::Db(_) => "Counters::Db",
            Counters::Redis(_) => "Counters::Redis",
        })
    }
}

fn to_count(failures: i64, remaining: Duration) -> FailureCount {
    FailureCount {
        failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
        remaining,
    }
}

fn redis_key(bucket: &str) -> String {
    format!("login-failures:{bucket}")
}

/// INCR, setting the expiry on the first failure of a window, in one atomic step.
const ADD_FAILURE: &str = r"
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {failures, redis.call('PTTL', KEYS[1])}
";

impl ThrottleStore for Counters {
    type Error = CounterError;

    async fn count(&self, key: &str) -> Result<Option<FailureCount>, CounterError> {
        match self {
            Counters::Db(db) => Ok(db
                .failures(key)
                .await?
                .map(|(failures, ends)| to_count(failures, Db::until(ends)))),
            Counters::Redis(pool) => {
                let mut conn = pool.get().await?;
                let (failures, ttl): (Option<i64>, i64) = redis::pipe()
                    .get(redis_key(key))
                    .pttl(redis_key(key))
                    .query_async(&mut conn)
                    .await?;
                Ok(failures
                    .filter(|_| ttl > 0)
                    .map(|failures| to_count(failures, Duration::from_millis(ttl.unsigned_abs()))))
            }
        }
    }

    async fn add_failure(&self, key: &str, window: Duration) -> Result<FailureCount, CounterError> {
        match self {
            Counters::Db(db) => {
                let (failures, ends) = db.add_failure(key, window).await?;
                Ok(to_count(failures, Db::until(ends)))
            }
            Counters::Redis(pool) => {
                let mut conn = pool.get().await?;
                let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
                let (failures, ttl): (i64, i64) = redis::Script::new(ADD_FAILURE)
                    .key(redis_key(key))
                    .arg(window_ms)
                    .invoke_async(&mut conn)
                    .await?;
                Ok(to_count(
                    failures,
                    Duration::from_millis(ttl.max(0).unsigned_abs()),
                ))
            }
        }
    }

    async fn reset(&self, key: &str) -> Result<(), CounterError> {
        match self {
            Counters::Db(db) => Ok(db.reset_failures(key).await?),
            Counters::Redis(pool) => {
                let mut conn = pool.get().await?;
                redis::cmd("DEL")
                    .arg(redis_key(key))
                    .query_async::<()>(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }
}

/// The two throttles a login passes: one per account, one per client address.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    account: Throttle<Counters>,
    address: Throttle<Counters>,
}

fn account_key(name: &str) -> String {
    format!("account:{}", name.to_lowercase())
}

fn address_key(client: &str) -> String {
    format!("address:{client}")
}

impl LoginThrottle {
    /// Throttles over `counters` with `limits`.
    pub fn new(counters: Counters, limits: Limits) -> Self {
        LoginThrottle {
            account: Throttle::new(counters.clone(), limits.per_account, limits.window),
            address: Throttle::new(counters, limits.per_address, limits.window),
        }
    }

    /// `Some(retry_after)` when this account or this address has used up its failures.
    pub async fn check(&self, name: &str, client: &str) -> Result<Option<Duration>, CounterError> {
        let account = self.account.check(&[&account_key(name)]).await?;
        let address = self.address.check(&[&address_key(client)]).await?;
        Ok(account.max(address))
    }

    /// Counts a failed attempt for the account and the address.
    pub async fn failed(&self, name: &str, client: &str) -> Result<(), CounterError> {
        self.account.failed(&[&account_key(name)]).await?;
        self.address.failed(&[&address_key(client)]).await
    }

    /// The counters, for other throttles over the same store (the account flows', whose keys
    /// are their own).
    pub fn counters(&self) -> Counters {
        self.account.store().clone()
    }

    /// A successful login resets the account's counter (not the address's).
    pub async fn succeeded(&self, name: &str) -> Result<(), CounterError> {
        self.account.succeeded(&account_key(name)).await
    }
}
