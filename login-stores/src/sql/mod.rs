//! What the PostgreSQL and SQLite stores share: the three store types, generic over the sqlx
//! database, their settings, the bounded clean-up of expired rows, and the one set of
//! statements both databases run (`$N` placeholders, `BIGINT` milliseconds, `TEXT`, `ON
//! CONFLICT`, `RETURNING`).
//!
//! The tables (made by `migrate`, or by an application's own migrations from [`SCHEMA`]):
//!
//! - `login_sessions(id, state, expires_at)`: `id` is the SHA-256 of the session key, never
//!   the key; `state` the session as JSON; `expires_at` in milliseconds since the Unix epoch.
//! - `login_devices(id, user_id, last_seen, expires_at, device)`: `device` is login-runtime's
//!   `Device` as JSON, `last_seen` kept beside it so a touch writes one column.
//! - `login_throttle(bucket, failures, window_ends)`: one fixed window per key.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Database, Pool};

#[macro_use]
pub(crate) mod stores;

/// The tables every SQL store uses, as `CREATE … IF NOT EXISTS` statements that PostgreSQL
/// and SQLite both accept: for an application that runs its own migrations instead of
/// `migrate`.
pub const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS login_sessions (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_sessions_expires_at ON login_sessions (expires_at);
CREATE TABLE IF NOT EXISTS login_devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    device TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_devices_user_id ON login_devices (user_id);
CREATE INDEX IF NOT EXISTS login_devices_expires_at ON login_devices (expires_at);
CREATE TABLE IF NOT EXISTS login_throttle (
    bucket TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_ends BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_throttle_window_ends ON login_throttle (window_ends);
";

/// How long one store operation may take by default before it fails (a 5xx or 503 for the
/// request, never a wait).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How often, at most, a store deletes expired rows by itself.
const DEFAULT_CLEAN_UP_EVERY: Duration = Duration::from_secs(60);
/// How many expired rows one clean-up deletes at most, so it never holds locks for long.
const DEFAULT_CLEAN_UP_BATCH: i64 = 1000;
/// How long a device entry lives without a login (as `RedisDevices`).
const DEFAULT_DEVICE_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// Now, in milliseconds since the Unix epoch: how every table here keeps time.
pub(crate) fn now_ms() -> i64 {
    millis(SystemTime::now())
}

pub(crate) fn millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
        .unwrap_or(UNIX_EPOCH)
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// When a store last cleaned up, shared by its clones, so that a busy site runs one bounded
/// `DELETE` per interval and handle, not one per request.
pub(crate) struct CleanUp {
    pub(crate) every: Duration,
    pub(crate) batch: i64,
    next_at: AtomicI64,
}

impl CleanUp {
    fn new() -> Arc<CleanUp> {
        Arc::new(CleanUp {
            every: DEFAULT_CLEAN_UP_EVERY,
            batch: DEFAULT_CLEAN_UP_BATCH,
            next_at: AtomicI64::new(0),
        })
    }

    /// Whether a clean-up is due now; claims it, so only one caller runs it.
    pub(crate) fn claim(&self, now: i64) -> bool {
        let next = self.next_at.load(Ordering::Relaxed);
        now >= next
            && self
                .next_at
                .compare_exchange(
                    next,
                    now.saturating_add(duration_ms(self.every)),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Runs `work` in the background when a clean-up is due: the request that triggered it
    /// does not wait for it, and its failure is only logged (the next one tries again).
    pub(crate) fn maybe_run<F>(&self, work: impl FnOnce() -> F)
    where
        F: Future<Output = Result<u64, crate::StoreError>> + Send + 'static,
    {
        if !self.claim(now_ms()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let work = work();
        runtime.spawn(async move {
            match work.await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "deleted expired rows"),
                Err(error) => tracing::warn!(%error, "deleting expired rows failed"),
            }
        });
    }
}

/// Sessions in a SQL database: an actix-session `SessionStore`
/// ([`PgSessionStore`](crate::postgres::PgSessionStore),
/// [`SqliteSessionStore`](crate::sqlite::SqliteSessionStore)).
///
/// - The cookie carries a random key; the table keeps only its SHA-256.
/// - Expiry is the server's: a session past its time-to-live never loads, whatever the
///   client sends, and expired rows are deleted in bounded batches (at most
///   [`clean_up_batch`](Self::clean_up_batch) rows, at most once every
///   [`clean_up_every`](Self::clean_up_every), after a write) or by
///   [`delete_expired`](Self::delete_expired).
/// - A write for a session that was deleted (a logout on another instance) or has expired
///   since the request loaded it stores nothing: the session stays deleted.
/// - Every operation is bounded by [`timeout`](Self::timeout).
pub struct SqlSessionStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) timeout: Duration,
    pub(crate) clean_up: Arc<CleanUp>,
}

/// The device registry in a SQL database: login-runtime's `DeviceRegistry`
/// ([`PgDevices`](crate::postgres::PgDevices), [`SqliteDevices`](crate::sqlite::SqliteDevices)).
/// A revoke deletes the row, so it is final: a touch in flight updates nothing.
pub struct SqlDevices<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) timeout: Duration,
    pub(crate) ttl: Duration,
    pub(crate) clean_up: Arc<CleanUp>,
}

/// Failed-login counters in a SQL database: login-runtime's `ThrottleStore`
/// ([`PgThrottleStore`](crate::postgres::PgThrottleStore),
/// [`SqliteThrottleStore`](crate::sqlite::SqliteThrottleStore)). One statement per failure,
/// so concurrent failures on several instances all count.
pub struct SqlThrottleStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
    pub(crate) timeout: Duration,
    pub(crate) clean_up: Arc<CleanUp>,
    pub(crate) db: PhantomData<DB>,
}

impl<DB: Database> Clone for SqlSessionStore<DB> {
    fn clone(&self) -> Self {
        SqlSessionStore {
            pool: self.pool.clone(),
            timeout: self.timeout,
            clean_up: Arc::clone(&self.clean_up),
        }
    }
}

impl<DB: Database> Clone for SqlDevices<DB> {
    fn clone(&self) -> Self {
        SqlDevices {
            pool: self.pool.clone(),
            timeout: self.timeout,
            ttl: self.ttl,
            clean_up: Arc::clone(&self.clean_up),
        }
    }
}

impl<DB: Database> Clone for SqlThrottleStore<DB> {
    fn clone(&self) -> Self {
        SqlThrottleStore {
            pool: self.pool.clone(),
            timeout: self.timeout,
            clean_up: Arc::clone(&self.clean_up),
            db: PhantomData,
        }
    }
}

impl<DB: Database> fmt::Debug for SqlSessionStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSessionStore")
            .field("database", &DB::NAME)
            .field("timeout", &self.timeout)
            .field("clean_up_every", &self.clean_up.every)
            .finish_non_exhaustive()
    }
}

impl<DB: Database> fmt::Debug for SqlDevices<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlDevices")
            .field("database", &DB::NAME)
            .field("timeout", &self.timeout)
            .field("entry_ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<DB: Database> fmt::Debug for SqlThrottleStore<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlThrottleStore")
            .field("database", &DB::NAME)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A clean-up setting that every store with a clean-up shares.
fn with_clean_up(clean_up: &Arc<CleanUp>, change: impl FnOnce(&mut CleanUp)) -> Arc<CleanUp> {
    let mut copy = CleanUp {
        every: clean_up.every,
        batch: clean_up.batch,
        next_at: AtomicI64::new(clean_up.next_at.load(Ordering::Relaxed)),
    };
    change(&mut copy);
    Arc::new(copy)
}

macro_rules! common_settings {
    ($store:ident) => {
        impl<DB: Database> $store<DB> {
            /// How long one operation may take before it fails (default 2 s): the request
            /// then answers 5xx (sessions) or 503 (devices) at once instead of waiting. Give
            /// the pool an `acquire_timeout` no longer than this.
            pub fn timeout(mut self, timeout: Duration) -> Self {
                self.timeout = timeout;
                self
            }

            /// How often, at most, expired rows are deleted after a write (default every
            /// minute); `Duration::MAX` turns it off, for a site that calls
            /// `delete_expired` on its own schedule.
            pub fn clean_up_every(mut self, every: Duration) -> Self {
                self.clean_up = with_clean_up(&self.clean_up, |c| c.every = every);
                self
            }

            /// How many expired rows one clean-up deletes at most (default 1000), so it never
            /// holds the table for long.
            pub fn clean_up_batch(mut self, rows: u32) -> Self {
                self.clean_up = with_clean_up(&self.clean_up, |c| c.batch = i64::from(rows.max(1)));
                self
            }
        }
    };
}

common_settings!(SqlSessionStore);
common_settings!(SqlDevices);
common_settings!(SqlThrottleStore);

impl<DB: Database> SqlSessionStore<DB> {
    /// Sessions in the `login_sessions` table of the database behind `pool` (made by
    /// `migrate`).
    pub fn new(pool: Pool<DB>) -> Self {
        SqlSessionStore {
            pool,
            timeout: DEFAULT_TIMEOUT,
            clean_up: CleanUp::new(),
        }
    }
}

impl<DB: Database> SqlDevices<DB> {
    /// Devices in the `login_devices` table of the database behind `pool` (made by
    /// `migrate`).
    pub fn new(pool: Pool<DB>) -> Self {
        SqlDevices {
            pool,
            timeout: DEFAULT_TIMEOUT,
            ttl: DEFAULT_DEVICE_TTL,
            clean_up: CleanUp::new(),
        }
    }

    /// How long a device entry lives without a logout (default 400 days; keep it at least
    /// the remember cookie's duration). Touching does not extend it.
    pub fn entry_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }
}

impl<DB: Database> SqlThrottleStore<DB> {
    /// Counters in the `login_throttle` table of the database behind `pool` (made by
    /// `migrate`).
    pub fn new(pool: Pool<DB>) -> Self {
        SqlThrottleStore {
            pool,
            timeout: DEFAULT_TIMEOUT,
            clean_up: CleanUp::new(),
            db: PhantomData,
        }
    }
}

pub(crate) fn unavailable(error: sqlx::Error) -> crate::StoreError {
    crate::StoreError::Unavailable(error.to_string())
}
