//! The stores in Redis (features `redis-cluster`, `redis-sentinel`, `redis`): sessions,
//! devices and failed-login counters, written once over a [`RedisConnector`], so the same
//! code runs on a Redis Cluster, on the primary that Redis Sentinel names, or on one Redis.
//!
//! | connections from | feature | connector |
//! |---|---|---|
//! | a Redis Cluster | `redis-cluster` | `redis::cluster_async::ClusterConnection` (multiplexed, with the timeouts of its `ClusterClient`), or `deadpool_redis::cluster::Pool` |
//! | the primary Sentinel names | `redis-sentinel` | `deadpool_redis::sentinel::Pool` |
//! | one Redis | `redis` | `deadpool_redis::Pool` |
//!
//! Keys (each store under its own prefix; a prefix must not contain `{`, which would put
//! every key in one cluster slot):
//!
//! - sessions: `{prefix}{sha256 of the session key}`, the state as JSON, expiring with the
//!   session (`PX`);
//! - devices: `{prefix}d:{<device id>}` (the device as JSON, expiring after the entry TTL)
//!   and `{prefix}u:{<hex of the user id>}` (the set of the user's device ids). The braces
//!   are Redis Cluster hash tags: each user's index is one key in one slot, and each device
//!   is found from its id alone, in one round trip, on every request. No operation needs two
//!   keys at once: a revoke is final when the device's key is gone, and the index is
//!   cleaned as it is read;
//! - counters: `{prefix}{key}`, one key per counter, changed by one script.
//!
//! A connection that failed is not given back to its pool: after a Sentinel failover, or a
//! cluster primary's death, the next connection goes to the new primary.

use std::time::Duration;

use deadpool_redis::redis::{self, RedisResult, aio::ConnectionLike};

use crate::StoreError;
use crate::error::within;

mod devices;
mod sessions;
mod throttle;

pub use self::devices::RedisDeviceRegistry;
pub use self::sessions::RedisSessions;
pub use self::throttle::RedisThrottleStore;

/// Where a Redis store gets its connections: a pool or a multiplexed client. Implemented
/// for the connectors in the [module docs](self); implement it for another pool the same way.
pub trait RedisConnector: Clone + 'static {
    /// A connection commands run on.
    type Connection: ConnectionLike + Send;

    /// A connection, or why there is none.
    fn connection(&self) -> impl Future<Output = Result<Self::Connection, StoreError>>;

    /// Called with a connection on which a command failed, instead of handing it back: a
    /// pool drops it, so that the next connection is made afresh (to the new primary after
    /// a failover).
    fn discard(connection: Self::Connection) {
        drop(connection);
    }

    /// `GETDEL key` then `WAIT replicas ms`, both on the node that holds `key`: the deleted
    /// value and how many replicas have the delete. A pipeline on one connection, unless a
    /// cluster client must be told to keep the two on one node.
    fn delete_and_wait(
        connection: &mut Self::Connection,
        key: &str,
        replicas: u32,
        ms: u64,
    ) -> impl Future<Output = RedisResult<(Option<Vec<u8>>, u32)>> {
        async move {
            delete_and_wait_pipeline(key, replicas, ms)
                .query_async(connection)
                .await
        }
    }
}

fn delete_and_wait_pipeline(key: &str, replicas: u32, ms: u64) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd("GETDEL")
        .arg(key)
        .cmd("WAIT")
        .arg(replicas)
        .arg(ms);
    pipe
}

/// The default time one store operation may take: a request then fails at once.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `op` on a connection of `connector`, within `timeout`; a connection on which it
/// failed is discarded.
pub(crate) async fn run<C, T>(
    connector: &C,
    timeout: Duration,
    op: impl AsyncFnOnce(&mut C::Connection) -> RedisResult<T>,
) -> Result<T, StoreError>
where
    C: RedisConnector,
{
    within(timeout, async {
        let mut connection = connector.connection().await?;
        match op(&mut connection).await {
            Ok(value) => Ok(value),
            Err(error) => {
                C::discard(connection);
                Err(StoreError::Unavailable(error.to_string()))
            }
        }
    })
    .await
}

/// How many replicas must have a delete before it counts as done (see
/// [`RedisSessions::confirm_deletes`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confirm {
    pub(crate) replicas: u32,
    pub(crate) within: Duration,
}

/// `GETDEL key`, then with `confirm` `WAIT replicas ms` on the same connection: how many keys
/// it deleted, or an error when fewer replicas than asked have the delete. (`GETDEL`, not
/// `DEL`: a cluster client sends a pipeline to the node of its first single-key command, and
/// `DEL` may name several keys.)
pub(crate) async fn delete_key<C: RedisConnector>(
    connector: &C,
    timeout: Duration,
    key: &str,
    confirm: Option<Confirm>,
) -> Result<usize, StoreError> {
    let Some(confirm) = confirm else {
        let value: Option<Vec<u8>> = run(connector, timeout, async |conn| {
            redis::cmd("GETDEL").arg(key).query_async(conn).await
        })
        .await?;
        return Ok(usize::from(value.is_some()));
    };
    // One pipeline, so WAIT runs on the connection (and, on a cluster, the node) that made
    // the delete, and counts the replicas that have it.
    let (deleted, replicas) = run(connector, timeout, async |conn| {
        C::delete_and_wait(conn, key, confirm.replicas, px(confirm.within)).await
    })
    .await?;
    if replicas < confirm.replicas {
        return Err(StoreError::Unavailable(format!(
            "the delete reached {replicas} of the {} replicas asked for",
            confirm.replicas
        )));
    }
    Ok(usize::from(deleted.is_some()))
}

/// Milliseconds for `PX`, at least one (Redis refuses zero).
pub(crate) fn px(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

macro_rules! pooled {
    ($pool:ty, $connection:ty, $feature:literal) => {
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        impl RedisConnector for $pool {
            type Connection = $connection;

            async fn connection(&self) -> Result<$connection, StoreError> {
                self.get()
                    .await
                    .map_err(|error| StoreError::Unavailable(error.to_string()))
            }

            fn discard(connection: $connection) {
                // Taken out of the pool and dropped: the pool makes a new one.
                drop(<$connection>::take(connection));
            }
        }
    };
}

pooled!(deadpool_redis::Pool, deadpool_redis::Connection, "redis");
#[cfg(feature = "redis-cluster")]
impl RedisConnector for deadpool_redis::cluster::Pool {
    type Connection = deadpool_redis::cluster::Connection;

    async fn connection(&self) -> Result<Self::Connection, StoreError> {
        self.get()
            .await
            .map_err(|error| StoreError::Unavailable(error.to_string()))
    }

    fn discard(connection: Self::Connection) {
        drop(deadpool_redis::cluster::Connection::take(connection));
    }

    async fn delete_and_wait(
        connection: &mut Self::Connection,
        key: &str,
        replicas: u32,
        ms: u64,
    ) -> RedisResult<(Option<Vec<u8>>, u32)> {
        cluster::delete_and_wait(connection, key, replicas, ms).await
    }
}
#[cfg(feature = "redis-sentinel")]
pooled!(
    deadpool_redis::sentinel::Pool,
    deadpool_redis::sentinel::Connection,
    "redis-sentinel"
);

/// A cluster connection is multiplexed and reconnects by itself: each operation uses a clone.
#[cfg(feature = "redis-cluster")]
impl RedisConnector for redis::cluster_async::ClusterConnection {
    type Connection = redis::cluster_async::ClusterConnection;

    async fn connection(&self) -> Result<Self::Connection, StoreError> {
        Ok(self.clone())
    }

    async fn delete_and_wait(
        connection: &mut Self::Connection,
        key: &str,
        replicas: u32,
        ms: u64,
    ) -> RedisResult<(Option<Vec<u8>>, u32)> {
        cluster::delete_and_wait(connection, key, replicas, ms).await
    }
}

#[cfg(feature = "redis-cluster")]
mod cluster {
    use deadpool_redis::redis::cluster_async::ClusterConnection;
    use deadpool_redis::redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
    use deadpool_redis::redis::{ErrorKind, FromRedisValue, RedisResult};

    /// The cluster slot of `key`: CRC16 (XMODEM) of its hash tag, or of the key, mod 16384.
    pub(super) fn slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let tagged = bytes.iter().position(|&b| b == b'{').and_then(|open| {
            let close = bytes[open + 1..].iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &bytes[open + 1..open + 1 + close])
        });
        let mut crc: u16 = 0;
        for &byte in tagged.unwrap_or(bytes) {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc % 16384
    }

    /// WAIT would otherwise go to every primary (the client's routing for it), and count
    /// the replicas of nodes that never saw the delete.
    pub(super) async fn delete_and_wait(
        connection: &mut ClusterConnection,
        key: &str,
        replicas: u32,
        ms: u64,
    ) -> RedisResult<(Option<Vec<u8>>, u32)> {
        let pipe = super::delete_and_wait_pipeline(key, replicas, ms);
        let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot(key), SlotAddr::Master));
        let values = match connection.route_pipeline(&pipe, 0, 2, route).await {
            // A failover moved the slot and the client's map of slots is stale (a routed
            // pipeline is not redirected by the client): once more, on the node that has the
            // slot now, so that WAIT counts the replicas of the node that made the delete.
            Err(error) if error.kind() == ErrorKind::Moved => {
                let Some((host, port)) = error
                    .redirect_node()
                    .and_then(|(address, _)| address.rsplit_once(':'))
                    .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                else {
                    return Err(error);
                };
                let node = SingleNodeRoutingInfo::ByAddress { host, port };
                connection.route_pipeline(&pipe, 0, 2, node).await?
            }
            other => other?,
        };
        let mut values = values.into_iter();
        let deleted = Option::<Vec<u8>>::from_redis_value(&values.next().unwrap_or(redis_nil()))?;
        let acked = u32::from_redis_value(&values.next().unwrap_or(redis_nil()))?;
        Ok((deleted, acked))
    }

    fn redis_nil() -> deadpool_redis::redis::Value {
        deadpool_redis::redis::Value::Nil
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn slots_are_redis_cluster_slots() {
            // The examples of the Redis Cluster specification, and `CLUSTER KEYSLOT`.
            assert_eq!(super::slot("123456789"), 0x31c3);
            assert_eq!(super::slot("{user1000}.following"), super::slot("user1000"));
            assert_eq!(super::slot("foo{}{bar}"), super::slot("foo{}{bar}"));
            assert_eq!(super::slot("foo"), 12182);
        }
    }
}
