//! [`RedisDeviceRegistry`]: login-runtime's `DeviceRegistry` over any [`RedisConnector`].

use std::time::{Duration, SystemTime};

use deadpool_redis::redis;
use login_runtime::{Device, DeviceError, DeviceRegistry};

use super::{Confirm, DEFAULT_TIMEOUT, RedisConnector, delete_key, run};

/// Devices in Redis: on a cluster, on the primary Sentinel names, or on one Redis. See the
/// [module docs](super) for its keys. Every operation is bounded by
/// [`timeout`](Self::timeout): a Redis that is down answers 503 at once.
#[derive(Clone)]
pub struct RedisDeviceRegistry<C> {
    connector: C,
    prefix: String,
    ttl: Duration,
    timeout: Duration,
    confirm: Option<Confirm>,
}

impl<C> std::fmt::Debug for RedisDeviceRegistry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDeviceRegistry")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A stored device; anything that does not parse reads as gone (never as a login).
fn parse(json: Option<String>) -> Option<Device> {
    serde_json::from_str(&json?).ok()
}

fn to_json(device: &Device) -> Result<String, DeviceError> {
    serde_json::to_string(device).map_err(|error| DeviceError::Unavailable(error.to_string()))
}

impl<C: RedisConnector> RedisDeviceRegistry<C> {
    /// Devices under keys starting with `prefix` (e.g. `"myapp:devices:"`).
    pub fn new(connector: C, prefix: impl Into<String>) -> Self {
        RedisDeviceRegistry {
            connector,
            prefix: prefix.into(),
            ttl: Duration::from_secs(400 * 24 * 3600),
            timeout: DEFAULT_TIMEOUT,
            confirm: None,
        }
    }

    /// A revoke is done only once `replicas` replicas have it, waited for at most `within`
    /// (Redis `WAIT`); otherwise it fails with 503. Without it, a revoke (a logout) answered
    /// just before its primary dies can be lost when a replica takes over. Off by default.
    pub fn confirm_revokes(mut self, replicas: u32, within: Duration) -> Self {
        self.confirm = (replicas > 0).then_some(Confirm { replicas, within });
        self
    }

    /// How long a device entry lives without a logout (default 400 days; keep it at least
    /// the remember cookie's duration). Touching does not extend it.
    pub fn entry_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// How long one operation may take before the request fails with 503 (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn device_key(&self, id: &str) -> String {
        format!("{}d:{{{id}}}", self.prefix)
    }

    fn user_key(&self, user_id: &str) -> String {
        format!("{}u:{{{}}}", self.prefix, hex::encode(user_id))
    }

    fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs().max(1)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, DeviceError> {
        Ok(run(&self.connector, self.timeout, async |conn| {
            redis::cmd("GET").arg(key).query_async(conn).await
        })
        .await?)
    }

    async fn user_device_ids(&self, user_key: &str) -> Result<Vec<String>, DeviceError> {
        Ok(run(&self.connector, self.timeout, async |conn| {
            redis::cmd("SMEMBERS").arg(user_key).query_async(conn).await
        })
        .await?)
    }

    async fn forget(&self, user_key: &str, ids: &[&str]) -> Result<(), DeviceError> {
        if ids.is_empty() {
            return Ok(());
        }
        Ok(run(&self.connector, self.timeout, async |conn| {
            redis::cmd("SREM")
                .arg(user_key)
                .arg(ids)
                .query_async::<()>(conn)
                .await
        })
        .await?)
    }

    async fn delete(&self, device_id: &str) -> Result<bool, DeviceError> {
        let key = self.device_key(device_id);
        let deleted = delete_key(&self.connector, self.timeout, &key, self.confirm).await?;
        Ok(deleted > 0)
    }
}

impl<C: RedisConnector> DeviceRegistry for RedisDeviceRegistry<C> {
    async fn record(&self, device: &Device) -> Result<(), DeviceError> {
        let json = to_json(device)?;
        let (device_key, user_key, ttl) = (
            self.device_key(&device.id),
            self.user_key(&device.user_id),
            self.ttl_secs(),
        );
        // The device first: an index entry without its device reads as gone, never the
        // other way round.
        run(&self.connector, self.timeout, async |conn| {
            redis::cmd("SET")
                .arg(&device_key)
                .arg(&json)
                .arg("EX")
                .arg(ttl)
                .query_async::<()>(conn)
                .await
        })
        .await?;
        // The index's two commands are on one key, so one slot: one pipeline.
        Ok(run(&self.connector, self.timeout, async |conn| {
            redis::pipe()
                .sadd(&user_key, &device.id)
                .ignore()
                .expire(&user_key, i64::try_from(ttl).unwrap_or(i64::MAX))
                .ignore()
                .query_async::<()>(conn)
                .await
        })
        .await?)
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
        let json = self.get(&self.device_key(device_id)).await?;
        Ok(parse(json).filter(|device| device.id == device_id))
    }

    async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
        let Some(mut device) = self.device(device_id).await? else {
            return Ok(());
        };
        device.last_seen = at;
        let (key, json) = (self.device_key(device_id), to_json(&device)?);
        // XX: only while the device still exists, so a touch racing a revoke never brings
        // the device back. KEEPTTL: touching does not extend the entry.
        Ok(run(&self.connector, self.timeout, async |conn| {
            redis::cmd("SET")
                .arg(&key)
                .arg(&json)
                .arg("XX")
                .arg("KEEPTTL")
                .query_async::<()>(conn)
                .await
        })
        .await?)
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
        let user_key = self.user_key(user_id);
        let ids = self.user_device_ids(&user_key).await?;
        let mut devices = Vec::new();
        let mut gone = Vec::new();
        // One key per device, each in its own slot: read one by one (a user has few).
        for id in &ids {
            match self
                .device(id)
                .await?
                .filter(|device| device.user_id == user_id)
            {
                Some(device) => devices.push(device),
                None => gone.push(id.as_str()),
            }
        }
        self.forget(&user_key, &gone).await?;
        Ok(devices)
    }

    async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
        let owned = self
            .device(device_id)
            .await?
            .is_some_and(|device| device.user_id == user_id);
        // Security: the revoke is final once the device's key is gone; the index follows.
        let revoked = owned && self.delete(device_id).await?;
        self.forget(&self.user_key(user_id), &[device_id]).await?;
        Ok(revoked)
    }

    async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, DeviceError> {
        let user_key = self.user_key(user_id);
        let ids = self.user_device_ids(&user_key).await?;
        let doomed: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| Some(*id) != except)
            .collect();
        let mut revoked = 0;
        for id in &doomed {
            // Only the user's own: an index entry naming another user's device (which
            // nothing writes) revokes nothing.
            if self
                .device(id)
                .await?
                .is_some_and(|device| device.user_id == user_id)
                && self.delete(id).await?
            {
                revoked += 1;
            }
        }
        self.forget(&user_key, &doomed).await?;
        Ok(revoked)
    }
}
