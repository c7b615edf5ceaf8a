//! Where second factors are kept: the [`MfaStore`] trait, and [`MemoryMfaStore`] for tests
//! and one process.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// A user's TOTP, as stored: the secret only encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TotpRecord {
    /// The user.
    pub user_id: String,
    /// `hex(nonce || AES-256-GCM(secret))` under a subkey of the app's key.
    pub sealed_secret: String,
    /// Whether a correct code confirmed the enrolment (until then the secret only waits).
    pub enabled: bool,
    /// The last step (`unix time / 30`) whose code was accepted: no code of it or of an
    /// earlier step is accepted again.
    pub last_step: Option<u64>,
}

impl TotpRecord {
    /// A record of `user_id` with this sealed secret.
    pub fn new(user_id: impl Into<String>, sealed_secret: impl Into<String>) -> TotpRecord {
        TotpRecord {
            user_id: user_id.into(),
            sealed_secret: sealed_secret.into(),
            enabled: false,
            last_step: None,
        }
    }
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PasskeyRecord {
    /// The credential id, lowercase hex.
    pub id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The name the user gave it.
    pub name: String,
    /// webauthn-rs's `Passkey` (public key, counter), JSON.
    pub passkey: String,
    /// When it was registered.
    pub created: SystemTime,
    /// When it last signed in.
    pub last_used: Option<SystemTime>,
}

impl PasskeyRecord {
    /// A record as registered `now`.
    pub fn new(
        id: impl Into<String>,
        user_id: impl Into<String>,
        name: impl Into<String>,
        passkey: impl Into<String>,
        now: SystemTime,
    ) -> PasskeyRecord {
        PasskeyRecord {
            id: id.into(),
            user_id: user_id.into(),
            name: name.into(),
            passkey: passkey.into(),
            created: now,
            last_used: None,
        }
    }
}

/// What a store failed with: its own error, as text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the second-factor store failed: {0}")]
pub struct StoreError(pub String);

/// Where TOTP secrets, recovery-code hashes, passkeys and the state of WebAuthn ceremonies
/// are kept. User ids are the text of `AuthUser::id`.
///
/// The three operations that decide whether a code is used ([`advance_totp_step`],
/// [`use_recovery_code`], [`take_ceremony`]) must be atomic: of two requests racing with the
/// same code, only one may succeed.
///
/// [`advance_totp_step`]: Self::advance_totp_step
/// [`use_recovery_code`]: Self::use_recovery_code
/// [`take_ceremony`]: Self::take_ceremony
pub trait MfaStore: 'static {
    /// The user's TOTP, enabled or waiting for its first code.
    fn totp(&self, user_id: &str) -> impl Future<Output = Result<Option<TotpRecord>, StoreError>>;
    /// Stores (replaces) the user's TOTP.
    fn put_totp(&self, record: &TotpRecord) -> impl Future<Output = Result<(), StoreError>>;
    /// Removes the user's TOTP.
    fn delete_totp(&self, user_id: &str) -> impl Future<Output = Result<(), StoreError>>;
    /// Records `step` as the user's last used step if it is later than the stored one (or
    /// none is stored); `false` if it is not (the code was already used: a replay).
    fn advance_totp_step(
        &self,
        user_id: &str,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>>;

    /// Replaces the user's recovery codes (their hashes) with these: the old set is void.
    fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
    ) -> impl Future<Output = Result<(), StoreError>>;
    /// Uses the user's unused code with this hash: `false` if there is none (wrong or used).
    fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>>;
    /// How many of the user's recovery codes are unused.
    fn recovery_codes_left(&self, user_id: &str)
    -> impl Future<Output = Result<usize, StoreError>>;

    /// The user's passkeys, oldest first.
    fn passkeys(
        &self,
        user_id: &str,
    ) -> impl Future<Output = Result<Vec<PasskeyRecord>, StoreError>>;
    /// The passkey with this credential id, whoever's it is.
    fn passkey(
        &self,
        credential_id: &str,
    ) -> impl Future<Output = Result<Option<PasskeyRecord>, StoreError>>;
    /// Adds a passkey; `false` if its credential id is already registered (to anyone).
    fn add_passkey(&self, record: &PasskeyRecord)
    -> impl Future<Output = Result<bool, StoreError>>;
    /// Replaces a passkey's name, state and last use; `false` if the user has no such passkey.
    fn update_passkey(
        &self,
        record: &PasskeyRecord,
    ) -> impl Future<Output = Result<bool, StoreError>>;
    /// Removes one of the user's passkeys; `false` if the user has no such passkey.
    fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>>;

    /// Keeps the state of a WebAuthn ceremony under a random id until `expires`.
    fn put_ceremony(
        &self,
        id: &str,
        state: &str,
        expires: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>>;
    /// Takes (removes and returns) a ceremony's state, `None` if it is unknown, already taken
    /// or expired at `now`.
    fn take_ceremony(
        &self,
        id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<String>, StoreError>>;
}

#[derive(Debug, Default)]
struct Memory {
    totp: HashMap<String, TotpRecord>,
    /// user -> (hash, used)
    recovery: HashMap<String, Vec<(String, bool)>>,
    passkeys: Vec<PasskeyRecord>,
    ceremonies: HashMap<String, (String, SystemTime)>,
}

/// An [`MfaStore`] in memory, shared by its clones (and threads): for tests and one process.
#[derive(Debug, Clone, Default)]
pub struct MemoryMfaStore {
    inner: Arc<Mutex<Memory>>,
}

impl MemoryMfaStore {
    /// An empty store.
    pub fn new() -> MemoryMfaStore {
        MemoryMfaStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stored recovery-code hashes of a user and whether each is used (for tests that
    /// check what is kept).
    pub fn recovery_rows(&self, user_id: &str) -> Vec<(String, bool)> {
        self.lock()
            .recovery
            .get(user_id)
            .cloned()
            .unwrap_or_default()
    }
}

impl MfaStore for MemoryMfaStore {
    async fn totp(&self, user_id: &str) -> Result<Option<TotpRecord>, StoreError> {
        Ok(self.lock().totp.get(user_id).cloned())
    }
    async fn put_totp(&self, record: &TotpRecord) -> Result<(), StoreError> {
        self.lock()
            .totp
            .insert(record.user_id.clone(), record.clone());
        Ok(())
    }
    async fn delete_totp(&self, user_id: &str) -> Result<(), StoreError> {
        self.lock().totp.remove(user_id);
        Ok(())
    }
    async fn advance_totp_step(&self, user_id: &str, step: u64) -> Result<bool, StoreError> {
        let mut memory = self.lock();
        let Some(record) = memory.totp.get_mut(user_id) else {
            return Ok(false);
        };
        if record.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        record.last_step = Some(step);
        Ok(true)
    }
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        self.lock().recovery.insert(
            user_id.to_owned(),
            hashes.iter().map(|h| (h.clone(), false)).collect(),
        );
        Ok(())
    }
    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> Result<bool, StoreError> {
        let mut memory = self.lock();
        let Some(codes) = memory.recovery.get_mut(user_id) else {
            return Ok(false);
        };
        match codes.iter_mut().find(|(h, used)| !*used && h == hash) {
            Some(code) => {
                code.1 = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn recovery_codes_left(&self, user_id: &str) -> Result<usize, StoreError> {
        Ok(self
            .lock()
            .recovery
            .get(user_id)
            .map_or(0, |codes| codes.iter().filter(|(_, used)| !used).count()))
    }
    async fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .filter(|p| p.user_id == user_id)
            .cloned()
            .collect())
    }
    async fn passkey(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(self
            .lock()
            .passkeys
            .iter()
            .find(|p| p.id == credential_id)
            .cloned())
    }
    async fn add_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let mut memory = self.lock();
        if memory.passkeys.iter().any(|p| p.id == record.id) {
            return Ok(false);
        }
        memory.passkeys.push(record.clone());
        Ok(true)
    }
    async fn update_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let mut memory = self.lock();
        match memory
            .passkeys
            .iter_mut()
            .find(|p| p.id == record.id && p.user_id == record.user_id)
        {
            Some(found) => {
                *found = record.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn remove_passkey(&self, user_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let mut memory = self.lock();
        let before = memory.passkeys.len();
        memory
            .passkeys
            .retain(|p| !(p.id == credential_id && p.user_id == user_id));
        Ok(memory.passkeys.len() != before)
    }
    async fn put_ceremony(
        &self,
        id: &str,
        state: &str,
        expires: SystemTime,
    ) -> Result<(), StoreError> {
        let mut memory = self.lock();
        let now = SystemTime::now();
        // Old ceremonies go on every new one: the map stays as small as the live ones.
        memory.ceremonies.retain(|_, (_, until)| *until > now);
        memory
            .ceremonies
            .insert(id.to_owned(), (state.to_owned(), expires));
        Ok(())
    }
    async fn take_ceremony(&self, id: &str, now: SystemTime) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .ceremonies
            .remove(id)
            .filter(|(_, until)| *until > now)
            .map(|(state, _)| state))
    }
}
