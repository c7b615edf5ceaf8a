//! Throttling failed logins: count failures per key (an account, a client address) in a
//! fixed window, and refuse further attempts once a key has used up its allowance.
//!
//! login-runtime checks no passwords, so it cannot see a failed login; the application's
//! login handler asks [`Throttle::check`] *before* it hashes anything, reports
//! [`Throttle::failed`] after a wrong password and [`Throttle::succeeded`] after a right one.
//! The counters live behind [`ThrottleStore`]: [`MemoryThrottleStore`] for tests and a single
//! process; a database or Redis store when several servers must share them.
//!
//! ```
//! use std::time::Duration;
//! use login_runtime::throttle::{MemoryThrottleStore, Throttle};
//!
//! # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
//! let throttle = Throttle::new(MemoryThrottleStore::default(), 3, Duration::from_secs(60));
//! let keys = ["account:alice", "address:192.0.2.1"];
//! for _ in 0..3 {
//!     assert!(throttle.check(&keys).await.unwrap().is_none());
//!     throttle.failed(&keys).await.unwrap();
//! }
//! // The fourth attempt is refused, with how long to wait.
//! let retry_after = throttle.check(&keys).await.unwrap().unwrap();
//! assert!(retry_after <= Duration::from_secs(60));
//! # }
//! ```

use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::LocalBoxFuture;

/// The failures counted for one key in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures since the window opened.
    pub failures: u32,
    /// Time left until the window closes and the count starts again.
    pub remaining: Duration,
}

/// Where the counters live. Each key has one fixed window, opened by its first failure.
pub trait ThrottleStore: 'static {
    /// What a failed read or write reports (a database or Redis error).
    type Error: Display + Debug + 'static;

    /// The count in the key's open window; `None` when no window is open.
    fn count(&self, key: &str) -> impl Future<Output = Result<Option<FailureCount>, Self::Error>>;

    /// Adds one failure to the key's window, opening a window of `window` if none is open,
    /// and returns the new count.
    fn add_failure(
        &self,
        key: &str,
        window: Duration,
    ) -> impl Future<Output = Result<FailureCount, Self::Error>>;

    /// Forgets the key's failures.
    fn reset(&self, key: &str) -> impl Future<Output = Result<(), Self::Error>>;
}

/// Counters in this process's memory: for tests and single-process apps. Clones share the
/// counters. Closed windows are dropped as new failures are added, so it holds at most the
/// keys that failed within one window.
#[derive(Debug, Clone, Default)]
pub struct MemoryThrottleStore {
    windows: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl MemoryThrottleStore {
    fn with_windows<T>(&self, f: impl FnOnce(&mut HashMap<String, (u32, Instant)>) -> T) -> T {
        // A panic while holding the lock leaves the counters consistent (each update is one
        // insert), so a poisoned lock is still safe to use.
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut windows)
    }
}

impl ThrottleStore for MemoryThrottleStore {
    type Error = std::convert::Infallible;

    async fn count(&self, key: &str) -> Result<Option<FailureCount>, Self::Error> {
        let now = Instant::now();
        Ok(self.with_windows(|windows| {
            windows
                .get(key)
                .filter(|(_, ends)| *ends > now)
                .map(|(failures, ends)| FailureCount {
                    failures: *failures,
                    remaining: *ends - now,
                })
        }))
    }

    async fn add_failure(&self, key: &str, window: Duration) -> Result<FailureCount, Self::Error> {
        let now = Instant::now();
        Ok(self.with_windows(|windows| {
            windows.retain(|_, (_, ends)| *ends > now);
            let (failures, ends) = windows.entry(key.to_owned()).or_insert((0, now + window));
            *failures = failures.saturating_add(1);
            FailureCount {
                failures: *failures,
                remaining: *ends - now,
            }
        }))
    }

    async fn reset(&self, key: &str) -> Result<(), Self::Error> {
        self.with_windows(|windows| windows.remove(key));
        Ok(())
    }
}

/// Any [`ThrottleStore`] behind one type, for a crate or an app that holds the store the
/// application chose without naming it (login-account's and login-mfa's throttles). Clones
/// share the store; its errors come as text.
///
/// ```
/// use std::time::Duration;
/// use login_runtime::throttle::{MemoryThrottleStore, SharedThrottleStore, Throttle};
///
/// # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
/// let store = SharedThrottleStore::new(MemoryThrottleStore::default());
/// let per_address = Throttle::new(store.clone(), 3, Duration::from_secs(60));
/// let per_client = Throttle::new(store, 10, Duration::from_secs(60));
/// per_address.failed(&["address:alice@example.com"]).await.unwrap();
/// assert!(per_client.check(&["client:192.0.2.1"]).await.unwrap().is_none());
/// # }
/// ```
#[derive(Clone)]
pub struct SharedThrottleStore(std::rc::Rc<dyn DynThrottleStore>);

impl SharedThrottleStore {
    /// Holds `store`.
    pub fn new(store: impl ThrottleStore) -> Self {
        SharedThrottleStore(std::rc::Rc::new(store))
    }
}

impl Debug for SharedThrottleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedThrottleStore")
    }
}

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

/// [`ThrottleStore`] with boxed futures, so [`SharedThrottleStore`] can hold any store.
trait DynThrottleStore {
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
                .map_err(|error| error.to_string())
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
                .map_err(|error| error.to_string())
        })
    }

    fn reset<'a>(&'a self, key: &'a str) -> LocalBoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            ThrottleStore::reset(self, key)
                .await
                .map_err(|error| error.to_string())
        })
    }
}

/// The policy: at most `limit` failures per key in a `window`.
#[derive(Debug, Clone)]
pub struct Throttle<S> {
    store: S,
    limit: u32,
    window: Duration,
}

impl<S: ThrottleStore> Throttle<S> {
    /// Allows `limit` failures per key in each `window`; the next attempt is refused until the
    /// window closes. A `limit` of 0 is taken as 1.
    pub fn new(store: S, limit: u32, window: Duration) -> Self {
        Throttle {
            store,
            limit: limit.max(1),
            window,
        }
    }

    /// The store holding the counters.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// `Some(retry_after)` when any of `keys` has used up its failures: refuse the attempt
    /// without checking the password. `None` lets it through.
    pub async fn check(&self, keys: &[&str]) -> Result<Option<Duration>, S::Error> {
        let mut retry_after = None;
        for key in keys {
            if let Some(count) = self.store.count(key).await?
                && count.failures >= self.limit
            {
                // The longest wait among the exhausted keys: the attempt is refused until all
                // of them have room again.
                retry_after = retry_after.max(Some(count.remaining));
            }
        }
        Ok(retry_after)
    }

    /// Counts a failed attempt against every one of `keys`.
    pub async fn failed(&self, keys: &[&str]) -> Result<(), S::Error> {
        for key in keys {
            self.store.add_failure(key, self.window).await?;
        }
        Ok(())
    }

    /// A successful login: forgets the failures counted against `key` (the account; a client
    /// address keeps its count, so one good login does not unlock guessing at others).
    pub async fn succeeded(&self, key: &str) -> Result<(), S::Error> {
        self.store.reset(key).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn throttle(limit: u32) -> Throttle<MemoryThrottleStore> {
        Throttle::new(
            MemoryThrottleStore::default(),
            limit,
            Duration::from_secs(60),
        )
    }

    #[actix_web::test]
    async fn refuses_after_the_limit_and_success_resets_only_its_key() {
        let throttle = throttle(2);
        let keys = ["account:a", "address:x"];
        throttle.failed(&keys).await.unwrap();
        assert_eq!(throttle.check(&keys).await.unwrap(), None);
        throttle.failed(&keys).await.unwrap();
        assert!(throttle.check(&keys).await.unwrap().is_some());
        assert!(throttle.check(&["account:a"]).await.unwrap().is_some());
        assert!(throttle.check(&["account:b"]).await.unwrap().is_none());

        throttle.succeeded("account:a").await.unwrap();
        assert!(throttle.check(&["account:a"]).await.unwrap().is_none());
        // The address keeps its count.
        assert!(throttle.check(&keys).await.unwrap().is_some());
    }

    #[actix_web::test]
    async fn a_closed_window_counts_again_from_zero() {
        let throttle = Throttle::new(MemoryThrottleStore::default(), 1, Duration::ZERO);
        throttle.failed(&["k"]).await.unwrap();
        assert_eq!(throttle.check(&["k"]).await.unwrap(), None);
    }
}
