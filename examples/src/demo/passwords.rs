//! Password hashing: argon2id with the `argon2` crate's defaults (OWASP's parameters: 19 MiB,
//! two passes, one lane), off the async executor on threads of its own, one per core, at the
//! operating system's lowest priority: a flood of logins takes only the time the pages leave
//! free, and never starves them. Each hash holds 19 MiB while it runs; at most 64 hashes per
//! core wait, and a login beyond that is refused at once as busy (the site answers 503), so a
//! flood neither holds memory nor queues for minutes.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::oneshot;

/// Why hashing failed (never because a password was wrong).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused its input.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The hashing threads are gone (a hash panicked, or the process is ending).
    #[error("the password hashing threads are gone")]
    Closed,
    /// Too many hashes are waiting: try again shortly.
    #[error("too many password checks are waiting")]
    Busy,
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on the hashing threads. Clones share them.
#[derive(Clone)]
pub struct Passwords {
    jobs: SyncSender<Job>,
    /// Verified against when a name is unknown, so an unknown name costs as long as a wrong
    /// password and the timing does not tell which names exist.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|error| PasswordError::Hash(error.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| PasswordError::Hash(error.to_string()))
}

fn verify_now(password: &str, hash: &str) -> bool {
    // A hash that does not parse matches no password.
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The longest queue of waiting hashes, per hashing thread.
const WAITING_PER_THREAD: usize = 64;

/// A hashing thread: at the lowest priority, it runs jobs until the last sender is gone.
fn hashing_thread(jobs: Arc<Mutex<Receiver<Job>>>) {
    // Below every request-serving thread: where the system refuses, it runs at the normal
    // priority, still bounded by the queue.
    if let Err(error) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::warn!(?error, "password hashing runs at the normal priority");
    }
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            jobs.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

impl Passwords {
    /// One hashing thread per core.
    pub fn new() -> Result<Self, PasswordError> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, receiver) = sync_channel::<Job>(threads * WAITING_PER_THREAD);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || hashing_thread(receiver))
                .map_err(|error| PasswordError::Hash(error.to_string()))?;
        }
        Ok(Passwords {
            jobs,
            dummy_hash: hash_now("not anyone's password")?.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The waiting request may be gone; its answer then goes nowhere.
            let _ = done.send(work());
        });
        self.jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => PasswordError::Busy,
            TrySendError::Disconnected(_) => PasswordError::Closed,
        })?;
        result.await.map_err(|_| PasswordError::Closed)
    }

    /// The PHC string of a new argon2id hash of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (an unknown name), spends the same
    /// time and answers `false`.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, PasswordError> {
        let password = password.to_owned();
        let (hash, known) = match hash {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        let matches = self.run(move || verify_now(&password, &hash)).await?;
        Ok(known && matches)
    }
}
