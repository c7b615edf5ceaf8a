//! What time it is, for every expiry and grace period: [`Clock`], the system's or a test's.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// What time it is, for every expiry and grace period: the system's, or a test's.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock(Arc::new(SystemTime::now))
    }

    /// A clock that reads `now`.
    pub fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now))
    }

    /// A clock that stands still until [`ManualClock::advance`] moves it, for tests of
    /// expiry.
    pub fn manual() -> (Clock, ManualClock) {
        let now = Arc::new(Mutex::new(SystemTime::now()));
        let read = now.clone();
        let clock = Clock::from_fn(move || *read.lock().unwrap_or_else(|p| p.into_inner()));
        (clock, ManualClock { now })
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

/// The handle that moves a [`Clock::manual`].
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// Moves the clock `by` forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.checked_add(by).unwrap_or(*now);
    }
}
