//! [`RedisSessions`]: an actix-session `SessionStore` over any [`RedisConnector`].

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time;
use deadpool_redis::redis;

use super::{Confirm, DEFAULT_TIMEOUT, RedisConnector, delete_key, px, run};
use crate::key::{new_session_key, storage_id};

/// Sessions in Redis: on a cluster, on the primary Sentinel names, or on one Redis.
///
/// Unlike actix-session's `RedisSessionStore`: the key is stored only as its SHA-256, and a
/// write for a session that was deleted or expired after the request loaded it stores nothing
/// (`SET … XX`, with no fallback to a new key), so a logout on one instance is not undone by
/// a request in flight on another. Every operation is bounded by [`timeout`](Self::timeout).
///
/// ```no_run
/// # #[cfg(feature = "redis-cluster")]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use deadpool_redis::redis::cluster::ClusterClientBuilder;
/// use login_stores::redis::RedisSessions;
///
/// let client = ClusterClientBuilder::new(vec!["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
///     .connection_timeout(Duration::from_secs(1))
///     .response_timeout(Duration::from_secs(1))
///     .build()?;
/// let sessions = RedisSessions::new(client.get_async_connection().await?, "myapp:session:");
/// # let _ = sessions; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessions<C> {
    connector: C,
    prefix: String,
    timeout: Duration,
    confirm: Option<Confirm>,
}

impl<C> std::fmt::Debug for RedisSessions<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessions")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<C: RedisConnector> RedisSessions<C> {
    /// Sessions under keys starting with `prefix` (e.g. `"myapp:session:"`), on the Redis
    /// behind `connector`.
    pub fn new(connector: C, prefix: impl Into<String>) -> Self {
        RedisSessions {
            connector,
            prefix: prefix.into(),
            timeout: DEFAULT_TIMEOUT,
            confirm: None,
        }
    }

    /// A delete (a logout, a renewal) is done only once `replicas` replicas have it, waited
    /// for at most `within` (Redis `WAIT`); otherwise it fails, and so does the request.
    /// Redis replicates asynchronously: without this, a logout answered just before its
    /// primary dies can be lost when a replica takes over, and the ended session would load
    /// again. Off by default.
    pub fn confirm_deletes(mut self, replicas: u32, within: Duration) -> Self {
        self.confirm = (replicas > 0).then_some(Confirm { replicas, within });
        self
    }

    /// How long one operation may take before the request fails with a 5xx (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn redis_key(&self, key: &SessionKey) -> String {
        format!("{}{}", self.prefix, storage_id(key))
    }

    /// `SET key state (NX|XX) PX ttl`: whether it was written.
    async fn set(
        &self,
        key: &SessionKey,
        state: &str,
        condition: &str,
        ttl: &time::Duration,
    ) -> Result<bool, crate::StoreError> {
        let redis_key = self.redis_key(key);
        let ttl = Duration::try_from(*ttl).unwrap_or(Duration::ZERO);
        let written: Option<String> = run(&self.connector, self.timeout, async |conn| {
            redis::cmd("SET")
                .arg(&redis_key)
                .arg(state)
                .arg(condition)
                .arg("PX")
                .arg(px(ttl))
                .query_async(conn)
                .await
        })
        .await?;
        Ok(written.is_some())
    }
}

impl<C: RedisConnector> SessionStore for RedisSessions<C> {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let redis_key = self.redis_key(key);
        let json: Option<String> = run(&self.connector, self.timeout, async |conn| {
            redis::cmd("GET").arg(&redis_key).query_async(conn).await
        })
        .await
        .map_err(|error| LoadError::Other(error.into()))?;
        json.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|error| LoadError::Deserialization(error.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &time::Duration,
    ) -> Result<SessionKey, SaveError> {
        let json = serde_json::to_string(&state)
            .map_err(|error| SaveError::Serialization(error.into()))?;
        for _ in 0..3 {
            let key = new_session_key();
            let saved = self
                .set(&key, &json, "NX", ttl)
                .await
                .map_err(|error| SaveError::Other(error.into()))?;
            if saved {
                return Ok(key);
            }
        }
        Err(SaveError::Other(anyhow::anyhow!(
            "three new session keys were all taken"
        )))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &time::Duration,
    ) -> Result<SessionKey, UpdateError> {
        let json = serde_json::to_string(&state)
            .map_err(|error| UpdateError::Serialization(error.into()))?;
        let updated = self
            .set(&key, &json, "XX", ttl)
            .await
            .map_err(|error| UpdateError::Other(error.into()))?;
        if updated {
            return Ok(key);
        }
        // Security: the session was deleted (a logout, perhaps on another instance) or
        // expired after this request loaded it. Saving it under a new key, as actix-session's
        // store does, would bring back the login the logout ended: nothing is stored, and the
        // key handed back loads nothing.
        Ok(new_session_key())
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &time::Duration) -> anyhow::Result<()> {
        let redis_key = self.redis_key(key);
        let ttl = Duration::try_from(*ttl).unwrap_or(Duration::ZERO);
        run(&self.connector, self.timeout, async |conn| {
            redis::cmd("PEXPIRE")
                .arg(&redis_key)
                .arg(px(ttl))
                .query_async::<()>(conn)
                .await
        })
        .await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let redis_key = self.redis_key(key);
        delete_key(&self.connector, self.timeout, &redis_key, self.confirm).await?;
        Ok(())
    }
}
