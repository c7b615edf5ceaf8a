//! Session keys: made here for every store, and kept in the store only as a hash.

use actix_session::storage::SessionKey;
use rand::distr::{Alphanumeric, SampleString};
use sha2::{Digest, Sha256};

/// A new session key: 64 random alphanumeric characters (about 381 bits), as actix-session
/// makes them.
pub(crate) fn new_session_key() -> SessionKey {
    let key = Alphanumeric.sample_string(&mut rand::rng(), 64);
    // 64 characters are far below the 4064-byte limit, so this never fails; should it, a
    // key that does not parse is made again rather than unwrapped.
    match SessionKey::try_from(key) {
        Ok(key) => key,
        Err(_) => new_session_key(),
    }
}

/// What the store keeps in place of the session key: its SHA-256, in hex.
///
/// Security: a copy of the store (a backup, a replica, a leaked dump) holds no key that a
/// cookie could carry, so it logs nobody in. The key has 381 random bits: a fast hash is
/// enough, nobody can guess a key to match.
pub(crate) fn storage_id(key: &SessionKey) -> String {
    hex::encode(Sha256::digest(key.as_ref().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::{new_session_key, storage_id};

    #[test]
    fn keys_are_64_alphanumerics_and_stored_only_as_their_hash() {
        let key = new_session_key();
        assert_eq!(key.as_ref().len(), 64);
        assert!(key.as_ref().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_session_key(), key);
        let id = storage_id(&key);
        assert_eq!(id.len(), 64);
        assert!(!id.contains(key.as_ref()));
        assert_eq!(storage_id(&key), id, "the same key, the same id");
    }
}
