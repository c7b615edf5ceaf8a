//! The app's device registry behind a box, so [`Mfa`](crate::Mfa) holds any of them (its
//! throttle store is login-runtime's `SharedThrottleStore`).

use futures_util::future::LocalBoxFuture;
use login_runtime::{Device, DeviceRegistry};

/// The device registry, boxed: a trusted device is an entry of it.
pub(crate) trait DynDevices {
    fn record<'a>(&'a self, device: &'a Device) -> LocalBoxFuture<'a, Result<(), String>>;
    fn device<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<Option<Device>, String>>;
}

impl<R: DeviceRegistry> DynDevices for R {
    fn record<'a>(&'a self, device: &'a Device) -> LocalBoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            DeviceRegistry::record(self, device)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn device<'a>(&'a self, id: &'a str) -> LocalBoxFuture<'a, Result<Option<Device>, String>> {
        Box::pin(async move {
            DeviceRegistry::device(self, id)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
