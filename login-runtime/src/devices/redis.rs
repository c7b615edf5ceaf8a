//! `RedisDevices`: the registry in Redis, shared by every instance (feature `redis`).

use std::time::{Duration, SystemTime};

use deadpool_redis::redis::{self, AsyncCommands};

use crate::core::error::DeviceError;
use crate::devices::registry::{Device, DeviceRegistry};

/// Devices in Redis, shared by every instance of the app (feature `redis`). Takes a
/// `deadpool_redis` pool, the same kind `RedisSessionStore::new_pooled` takes; give it
/// wait/create/recycle timeouts, so a Redis that is down fails requests at once.
///
/// Keys: `{prefix}device:{id}` (the device, JSON) and `{prefix}user:{hex of user id}`
/// (the set of the user's device ids), both expiring after the entry TTL (default 400
/// days; keep it at least the remember cookie's duration).
#[derive(Clone)]
pub struct RedisDevices {
    pool: deadpool_redis::Pool,
    prefix: String,
    ttl: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDevices")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDevices {
    /// Devices in the Redis behind `pool`, under keys starting with `prefix` (e.g.
    /// `"myapp:devices:"`).
    pub fn new(pool: deadpool_redis::Pool, prefix: impl Into<String>) -> Self {
        RedisDevices {
            pool,
            prefix: prefix.into(),
            ttl: Duration::from_secs(400 * 24 * 3600),
            timeout: Duration::from_secs(2),
        }
    }

    /// How long a device entry lives without a login (default 400 days).
    pub fn entry_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// How long one registry operation may take before the request fails with 503
    /// (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn device_key(&self, id: &str) -> String {
        format!("{}device:{id}", self.prefix)
    }

    fn user_key(&self, user_id: &str) -> String {
        format!("{}user:{}", self.prefix, hex::encode(user_id))
    }

    /// Runs `op` on a pooled connection, within the timeout.
    async fn run<T, F>(&self, op: F) -> Result<T, DeviceError>
    where
        F: AsyncFnOnce(&mut deadpool_redis::Connection) -> redis::RedisResult<T>,
    {
        let work = async {
            let mut conn = self
                .pool
                .get()
                .await
                .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            op(&mut conn)
                .await
                .map_err(|error| DeviceError::Unavailable(error.to_string()))
        };
        actix_web::rt::time::timeout(self.timeout, work)
            .await
            .map_err(|_| DeviceError::Timeout(self.timeout))?
    }

    fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs().max(1)
    }
}

/// A stored device; anything that does not parse reads as gone (never as a login).
fn parse(json: Option<String>) -> Option<Device> {
    serde_json::from_str(&json?).ok()
}

impl DeviceRegistry for RedisDevices {
    async fn record(&self, device: &Device) -> Result<(), DeviceError> {
        let json = serde_json::to_string(device)
            .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
        let (device_key, user_key, ttl) = (
            self.device_key(&device.id),
            self.user_key(&device.user_id),
            self.ttl_secs(),
        );
        self.run(async |conn| {
            redis::pipe()
                .atomic()
                .set_ex(&device_key, &json, ttl)
                .ignore()
                .sadd(&user_key, &device.id)
                .ignore()
                .expire(&user_key, i64::try_from(ttl).unwrap_or(i64::MAX))
                .ignore()
                .query_async::<()>(conn)
                .await
        })
        .await
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
        let key = self.device_key(device_id);
        let json = self
            .run(async |conn| conn.get::<_, Option<String>>(&key).await)
            .await?;
        Ok(parse(json))
    }

    async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
        let key = self.device_key(device_id);
        let Some(mut device) = self.device(device_id).await? else {
            return Ok(());
        };
        device.last_seen = at;
        let json = serde_json::to_string(&device)
            .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
        // XX: only while the device still exists, so a touch racing a revoke never
        // brings the device back. KEEPTTL: touching does not extend the entry.
        self.run(async |conn| {
            redis::cmd("SET")
                .arg(&key)
                .arg(&json)
                .arg("XX")
                .arg("KEEPTTL")
                .query_async::<()>(conn)
                .await
        })
        .await
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
        let user_key = self.user_key(user_id);
        let ids: Vec<String> = self
            .run(async |conn| conn.smembers(&user_key).await)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.device_key(id)).collect();
        let values: Vec<Option<String>> = self
            .run(async |conn| redis::cmd("MGET").arg(&keys).query_async(conn).await)
            .await?;
        let mut devices = Vec::new();
        let mut gone = Vec::new();
        for (id, value) in ids.iter().zip(values) {
            match parse(value).filter(|device| device.user_id == user_id) {
                Some(device) => devices.push(device),
                None => gone.push(id.clone()),
            }
        }
        if !gone.is_empty() {
            self.run(async |conn| conn.srem::<_, _, ()>(&user_key, &gone).await)
                .await?;
        }
        Ok(devices)
    }

    async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
        let owned = self
            .device(device_id)
            .await?
            .is_some_and(|device| device.user_id == user_id);
        let (device_key, user_key) = (self.device_key(device_id), self.user_key(user_id));
        self.run(async |conn| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            if owned {
                pipe.del(&device_key).ignore();
            }
            pipe.srem(&user_key, device_id).ignore();
            pipe.query_async::<()>(conn).await
        })
        .await?;
        Ok(owned)
    }

    async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, DeviceError> {
        let user_key = self.user_key(user_id);
        let ids: Vec<String> = self
            .run(async |conn| conn.smembers(&user_key).await)
            .await?;
        let doomed: Vec<&String> = ids
            .iter()
            .filter(|id| Some(id.as_str()) != except)
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let keys: Vec<String> = doomed.iter().map(|id| self.device_key(id)).collect();
        let deleted: usize = self
            .run(async |conn| {
                let (deleted,): (usize,) = redis::pipe()
                    .atomic()
                    .del(&keys)
                    .srem(&user_key, &doomed)
                    .ignore()
                    .query_async(conn)
                    .await?;
                Ok(deleted)
            })
            .await?;
        Ok(deleted)
    }
}
