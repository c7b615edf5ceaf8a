//! [`MemoryDevices`]: the registry in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::core::error::DeviceError;
use crate::devices::registry::{Device, DeviceRegistry};

/// Devices in this process's memory: for tests, and for an app that runs as one process
/// (its workers share it: give each worker's `LoginManager` a clone, and clones share the
/// same devices). An entry stays until it is revoked (logout, a revoke, a timeout); nothing
/// else expires it, so a busy site wants `RedisDevices` with its entry TTL.
#[derive(Debug, Clone, Default)]
pub struct MemoryDevices {
    devices: Arc<Mutex<HashMap<String, Device>>>,
}

impl MemoryDevices {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Device>) -> T) -> T {
        // A panic elsewhere while holding the lock leaves the map usable: every change is
        // one insert or remove.
        let mut devices = self.devices.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut devices)
    }
}

impl DeviceRegistry for MemoryDevices {
    async fn record(&self, device: &Device) -> Result<(), DeviceError> {
        self.with(|devices| devices.insert(device.id.clone(), device.clone()));
        Ok(())
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
        Ok(self.with(|devices| devices.get(device_id).cloned()))
    }

    async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
        self.with(|devices| {
            if let Some(device) = devices.get_mut(device_id) {
                device.last_seen = at;
            }
        });
        Ok(())
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
        Ok(self.with(|devices| {
            devices
                .values()
                .filter(|device| device.user_id == user_id)
                .cloned()
                .collect()
        }))
    }

    async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
        Ok(self.with(|devices| {
            let owned = devices
                .get(device_id)
                .is_some_and(|device| device.user_id == user_id);
            if owned {
                devices.remove(device_id);
            }
            owned
        }))
    }

    async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, DeviceError> {
        Ok(self.with(|devices| {
            let before = devices.len();
            devices.retain(|id, device| device.user_id != user_id || Some(id.as_str()) == except);
            before - devices.len()
        }))
    }
}
