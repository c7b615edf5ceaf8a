//! Password hashing: argon2id with the `argon2` crate's defaults (OWASP's parameters: 19 MiB,
//! two passes, one lane), run off the async executor on the blocking pool, with at most one
//! hash per core at a time. Each hash holds 19 MiB; a flood of logins waits for a permit
//! instead of holding gigabytes.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

/// Why hashing failed (never because a password was wrong).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// argon2 refused its input.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task died.
    #[error("the password hashing task failed: {0}")]
    Task(#[from] actix_web::rt::task::JoinError),
    /// The semaphore was closed (never, in practice).
    #[error("the password hashing queue is closed")]
    Closed,
}

/// Hashes and verifies passwords, a bounded number at a time. Clones share the bound.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when a name is unknown, so an unknown name costs as long as a wrong
    /// password and the timing does not tell which names exist.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("available_permits", &self.permits.available_permits())
            .finish_non_exhaustive()
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

impl Passwords {
    /// One permit per core.
    pub fn new() -> Result<Self, PasswordError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Passwords {
            permits: Arc::new(Semaphore::new(cores)),
            dummy_hash: hash_now("not anyone's password")?.into(),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Closed)?;
        Ok(actix_web::rt::task::spawn_blocking(work).await?)
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
