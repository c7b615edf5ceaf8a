//! The keys derived from the application's key, the encryption of TOTP secrets at rest, the
//! keyed hash of recovery codes, and the signed trusted-device cookie's MAC.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use login_runtime::SecretKey;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Subkeys of the app's key, one per use, so that no two uses share a key (HKDF-SHA-256).
#[derive(Clone)]
pub(crate) struct Keys {
    totp: [u8; 32],
    recovery: [u8; 32],
    trust: [u8; 32],
    user_handle: [u8; 32],
    pub(crate) app: SecretKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn derive(key: &SecretKey, info: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"login-mfa"), key.as_bytes());
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit of 255 * 32: this cannot fail.
    let _ = hk.expand(info.as_bytes(), &mut out);
    out
}

impl Keys {
    pub(crate) fn new(key: &SecretKey) -> Keys {
        Keys {
            totp: derive(key, "totp secret encryption v1"),
            recovery: derive(key, "recovery code hash v1"),
            trust: derive(key, "trusted device cookie v1"),
            user_handle: derive(key, "webauthn user handle v1"),
            app: key.clone(),
        }
    }

    /// Encrypts a TOTP secret for `user_id` (AES-256-GCM, a random nonce, the user id as
    /// associated data so a ciphertext moved to another account does not decrypt). Returns
    /// `hex(nonce || ciphertext)`.
    pub(crate) fn seal_totp(&self, user_id: &str, secret: &[u8]) -> String {
        let cipher = Aes256Gcm::new((&self.totp).into());
        let nonce: [u8; 12] = rand::random();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: user_id.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        hex::encode(out)
    }

    /// The secret [`seal_totp`](Self::seal_totp) sealed, or `None` if it was not sealed for
    /// this user under this key.
    pub(crate) fn open_totp(&self, user_id: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        Aes256Gcm::new((&self.totp).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: user_id.as_bytes(),
                },
            )
            .ok()
    }

    /// The stored form of a recovery code: HMAC-SHA-256 under the recovery subkey of the user
    /// id and the normalised code, hex. The code itself is never stored.
    pub(crate) fn hash_recovery_code(&self, user_id: &str, code: &str) -> String {
        let mut mac = mac(&self.recovery);
        mac.update(user_id.as_bytes());
        mac.update(&[0]);
        mac.update(normalise_code(code).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The MAC of a trusted-device cookie's payload.
    pub(crate) fn trust_mac(&self, payload: &str) -> String {
        let mut mac = mac(&self.trust);
        mac.update(payload.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `tag` is the MAC of `payload`, compared in constant time.
    pub(crate) fn trust_mac_matches(&self, payload: &str, tag: &str) -> bool {
        // Constant time: a forged cookie learns nothing from how long the refusal took.
        bool::from(self.trust_mac(payload).as_bytes().ct_eq(tag.as_bytes()))
    }

    /// The WebAuthn user handle of `user_id`: 16 bytes of a keyed hash, stable and opaque, so
    /// nothing has to be stored for it and it reveals nothing of the id.
    pub(crate) fn user_handle(&self, user_id: &str) -> webauthn_rs::prelude::Uuid {
        let mut mac = mac(&self.user_handle);
        mac.update(user_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        webauthn_rs::prelude::Uuid::from_bytes(bytes)
    }
}

fn mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts every key length"),
    }
}

/// A recovery code as typed: case, spaces and dashes do not matter.
pub(crate) fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Constant-time equality of two strings.
pub(crate) fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_totp_secret_opens_only_for_its_user_and_key() {
        let keys = Keys::new(&SecretKey::generate());
        let sealed = keys.seal_totp("1", b"12345678901234567890");
        assert!(!sealed.contains(&hex::encode(b"12345678901234567890")));
        assert_eq!(
            keys.open_totp("1", &sealed).as_deref(),
            Some(&b"12345678901234567890"[..])
        );
        assert_eq!(keys.open_totp("2", &sealed), None);
        assert_eq!(
            Keys::new(&SecretKey::generate()).open_totp("1", &sealed),
            None
        );
        assert_eq!(keys.open_totp("1", "zz"), None);
    }

    #[test]
    fn recovery_hashes_ignore_case_and_dashes_but_not_the_user() {
        let keys = Keys::new(&SecretKey::generate());
        let hash = keys.hash_recovery_code("1", "abcd-efgh-jk");
        assert_eq!(hash, keys.hash_recovery_code("1", " ABCD EFGH JK "));
        assert_ne!(hash, keys.hash_recovery_code("2", "abcd-efgh-jk"));
        assert!(!hash.contains("abcd"));
    }
}
