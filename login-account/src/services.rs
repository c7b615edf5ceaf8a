//! The app's stores behind boxes, so [`Account`](crate::Account) holds any of them: the
//! throttle store (shared by the throttles on mails and codes) and the device registry.

use std::rc::Rc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use login_runtime::DeviceRegistry;
use login_runtime::throttle::{FailureCount, Throttle, ThrottleStore};

use crate::config::AccountConfig;

/// A throttle store's failure, as text.
pub(crate) type ThrottleError = String;

/// [`ThrottleStore`] boxed: the throttles of every flow share one store of the app's choice.
pub(crate) trait DynThrottleStore {
    fn count<'a>(
        &'a self,
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<FailureCount>, ThrottleError>>;
    fn add_failure<'a>(
        &'a self,
        key: &'a str,
        window: Duration,
    ) -> LocalBoxFuture<'a, Result<FailureCount, ThrottleError>>;
    fn reset<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), ThrottleError>>;
}

impl<T: ThrottleStore> DynThrottleStore for T {
    fn count<'a>(
        &'a self,
        key: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<FailureCount>, ThrottleError>> {
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
    ) -> LocalBoxFuture<'a, Result<FailureCount, ThrottleError>> {
        Box::pin(async move {
            ThrottleStore::add_failure(self, key, window)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn reset<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), ThrottleError>> {
        Box::pin(async move {
            ThrottleStore::reset(self, key)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The app's throttle store, shared by the throttles.
#[derive(Clone)]
pub(crate) struct SharedThrottleStore(pub(crate) Rc<dyn DynThrottleStore>);

impl ThrottleStore for SharedThrottleStore {
    type Error = ThrottleError;

    async fn count(&self, key: &str) -> Result<Option<FailureCount>, ThrottleError> {
        self.0.count(key).await
    }

    async fn add_failure(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<FailureCount, ThrottleError> {
        self.0.add_failure(key, window).await
    }

    async fn reset(&self, key: &str) -> Result<(), ThrottleError> {
        self.0.reset(key).await
    }
}

/// The throttles: mails per address (or account), mails per client, tries per sign-in code.
#[derive(Clone)]
pub(crate) struct Throttles {
    pub(crate) per_address: Throttle<SharedThrottleStore>,
    pub(crate) per_client: Throttle<SharedThrottleStore>,
    pub(crate) per_code: Throttle<SharedThrottleStore>,
}

impl Throttles {
    pub(crate) fn new(store: SharedThrottleStore, config: &AccountConfig) -> Throttles {
        let limits = config.limits;
        Throttles {
            per_address: Throttle::new(store.clone(), limits.per_address, limits.window),
            per_client: Throttle::new(store.clone(), limits.per_client, limits.window),
            per_code: Throttle::new(store, limits.code_attempts, limits.window),
        }
    }
}

/// The device registry, boxed: a reset logs out every device of the account.
pub(crate) trait DynDevices {
    fn revoke_all<'a>(&'a self, user_id: &'a str) -> LocalBoxFuture<'a, Result<usize, String>>;
}

impl<R: DeviceRegistry> DynDevices for R {
    fn revoke_all<'a>(&'a self, user_id: &'a str) -> LocalBoxFuture<'a, Result<usize, String>> {
        Box::pin(async move {
            DeviceRegistry::revoke_all(self, user_id, None)
                .await
                .map_err(|error| error.to_string())
        })
    }
}
