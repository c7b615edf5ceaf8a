//! The app's throttle store and device registry behind boxes, so [`Mfa`](crate::Mfa) holds
//! any of them.

use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use login_runtime::throttle::{FailureCount, ThrottleStore};
use login_runtime::{Device, DeviceRegistry};
use std::rc::Rc;

pub(crate) trait DynThrottleStore {
    fn count<'a>(
        &'a self,
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<FailureCount>, String>>;
    fn add_failure<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> LocalBoxFuture<'a, Result<FailureCount, String>>;
    fn reset<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), String>>;
}

impl<T: ThrottleStore> DynThrottleStore for T {
    fn count<'a>(
        &'a self,
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<FailureCount>, String>> {
        Box::pin(async move {
            ThrottleStore::count(self, key)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn add_failure<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> LocalBoxFuture<'a, Result<FailureCount, String>> {
        Box::pin(async move {
            ThrottleStore::add_failure(self, key, window)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn reset<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            ThrottleStore::reset(self, key)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The app's throttle store, as login-runtime's [`Throttle`](login_runtime::throttle::Throttle) takes it.
#[derive(Clone)]
pub(crate) struct SharedThrottleStore(pub(crate) Rc<dyn DynThrottleStore>);

impl ThrottleStore for SharedThrottleStore {
    type Error = String;
    async fn count(&self, key: &str) -> Result<Option<FailureCount>, String> {
        self.0.count(key).await
    }
    async fn add_failure(&self, key: &str, window: Duration) -> Result<FailureCount, String> {
        self.0.add_failure(key, window).await
    }
    async fn reset(&self, key: &str) -> Result<(), String> {
        self.0.reset(key).await
    }
}

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
