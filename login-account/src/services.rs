//! The app's stores as [`Account`](crate::Account) holds them, whichever the app chose: the
//! throttles on mails and codes (sharing one login-runtime `SharedThrottleStore`) and the
//! device registry behind a box.

use futures_util::future::LocalBoxFuture;
use login_runtime::DeviceRegistry;
use login_runtime::throttle::{SharedThrottleStore, Throttle};

use crate::config::AccountConfig;

/// A throttle store's failure, as text.
pub(crate) type ThrottleError = String;

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
