//! The application's secret key: what signs remember cookies and keys session hash tags.
//!
//! A [`SecretKey`] can only be made from material that is long and varied enough to resist
//! guessing ([`SecretKey::try_from_bytes`]); a weak key is refused with a [`WeakKeyError`]
//! whose message says how to make a good one. This is a start-up check: the app refuses to
//! run rather than sign cookies anyone could forge.

use std::fmt;

use hmac::Hmac;
use hmac::Mac;
use hmac::digest::KeyInit;
use rand::RngCore;
use sha2::{Sha256, Sha512};

use self::entropy::estimated_entropy_bits;

mod entropy;
mod memo;

pub(crate) use self::memo::DigestMemo;

/// Shortest accepted key, in bytes.
const MIN_KEY_LEN: usize = 32;

/// Least accepted entropy estimate, in bits (see [`SecretKey::try_from_bytes`]).
const MIN_ESTIMATED_BITS: f64 = 128.0;

/// Length of the keys [`SecretKey::generate`] makes, in bytes: 512 bits, as many as
/// HMAC-SHA-512's output, and within its 128-byte block, so the key is used without hashing.
const GENERATED_KEY_LEN: usize = 64;

/// Domain separation for [`SecretKey::session_hash_tag`]: the byte 0xFF never occurs in
/// UTF-8, so no other MAC this crate computes with the same key (the Flask-Login format MACs
/// a UTF-8 user id) can take this input.
const SESSION_HASH_TAG_DOMAIN: &[u8] = b"\xfflogin-runtime/session-hash-tag/v1\x00";

/// Bytes of the HMAC-SHA-256 output kept in a session hash tag (hex: twice as many chars).
const SESSION_HASH_TAG_BYTES: usize = 16;

/// A secret key of enough entropy to sign remember cookies and key session hash tags.
///
/// Made with [`SecretKey::generate`], or from configuration with
/// [`SecretKey::try_from_bytes`] / `TryFrom<&str>`, both of which refuse weak keys. Its
/// `Debug` output never shows the key material.
///
/// # Examples
///
/// ```
/// use login_runtime::SecretKey;
///
/// let key = SecretKey::generate();
/// assert_eq!(key.as_bytes().len(), 64);
/// assert!(!format!("{key:?}").contains(&format!("{:?}", &key.as_bytes()[..4])));
///
/// // What `openssl rand -hex 32` prints is a good key (its 64 ASCII bytes are used as-is).
/// let from_config =
///     SecretKey::try_from("4f1c0e5b9d2a7c3e8b6f0a1d5c9e2b7f3a8d6c0e1b5f9a2d7c4e8b0f3a6d1c5e")?;
/// # let _ = from_config;
///
/// // A guessable key is refused at start-up, with the fix in the message.
/// let weak = SecretKey::try_from("changeme").unwrap_err();
/// assert!(weak.to_string().contains("SecretKey::generate()"));
/// # Ok::<(), login_runtime::WeakKeyError>(())
/// ```
#[derive(Clone)]
pub struct SecretKey {
    bytes: Box<[u8]>,
    /// The key's MAC states, keyed once here rather than on every request.
    prepared: Box<Prepared>,
}

/// HMAC states already keyed with the secret (and, for the session hash tag, already fed its
/// domain prefix): a MAC is then a clone and the message's blocks, not two more blocks of key
/// schedule each time. They are derived from the key and as secret as it is; `Debug` never
/// shows them.
#[derive(Clone)]
struct Prepared {
    id: u64,
    sha512: Hmac<Sha512>,
    session_hash_tag: Hmac<Sha256>,
}

impl Prepared {
    fn new(key: &[u8]) -> Self {
        let mut session_hash_tag: Hmac<Sha256> = keyed_mac(key);
        session_hash_tag.update(SESSION_HASH_TAG_DOMAIN);
        Prepared {
            id: next_key_id(),
            sha512: keyed_mac(key),
            session_hash_tag,
        }
    }
}

impl SecretKey {
    /// Makes a key from raw bytes, refusing keys of too little entropy.
    ///
    /// A key is accepted when it is at least 32 bytes long and its estimated entropy is at
    /// least 128 bits. The estimate is deliberately simple and catches the usual accidents
    /// (a word, a repeated pattern, a run like `abcdef…`/`0123…`, few distinct symbols, a
    /// single character class such as only digits); it cannot recognise a guessable phrase,
    /// so generate keys rather than type them. It is the length of the key's shortest
    /// repeating unit (all of it for a non-repeating key) times the least of three per-byte
    /// figures, each taken over that unit:
    ///
    /// - the Shannon entropy of its byte frequencies, with the Miller–Madow correction for
    ///   small samples;
    /// - the same for the differences between successive bytes (catches runs);
    /// - `log2` of the size of the character classes it uses: digits (10), lowercase (26),
    ///   uppercase (26), other printable ASCII (33), any other byte (161).
    ///
    /// Keys from [`SecretKey::generate`], `openssl rand -hex 32`, `openssl rand -base64 32`
    /// or Python's `secrets.token_hex()` always pass.
    ///
    /// # Errors
    ///
    /// [`WeakKeyError`] when the key is shorter than 32 bytes or its estimate is below 128
    /// bits; its message says how to generate a good key.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    ///
    /// assert!(SecretKey::try_from_bytes(SecretKey::generate().as_bytes()).is_ok());
    /// assert!(SecretKey::try_from_bytes(&[7; 64]).is_err());
    /// assert!(SecretKey::try_from_bytes(b"0123456789abcdef0123456789abcdef").is_err());
    /// ```
    pub fn try_from_bytes(bytes: &[u8]) -> Result<SecretKey, WeakKeyError> {
        // Security default: refuse keys an attacker could guess or brute-force offline.
        if bytes.len() < MIN_KEY_LEN {
            return Err(WeakKeyError {
                reason: WeakKeyReason::TooShort { len: bytes.len() },
            });
        }
        let estimated_bits = estimated_entropy_bits(bytes);
        if estimated_bits < MIN_ESTIMATED_BITS {
            return Err(WeakKeyError {
                reason: WeakKeyReason::LowEntropy {
                    estimated_bits: estimated_bits.floor(),
                },
            });
        }
        Ok(SecretKey::from_material(bytes.into()))
    }

    fn from_material(bytes: Box<[u8]>) -> SecretKey {
        let prepared = Box::new(Prepared::new(&bytes));
        SecretKey { bytes, prepared }
    }

    /// Generates a key of 64 random bytes from `rand`'s thread-local generator (a CSPRNG
    /// seeded and periodically reseeded from the operating system).
    ///
    /// Keys live only as long as the process: share one key between instances and restarts
    /// (store it as hex, e.g. from `openssl rand -hex 32`) or every remember cookie becomes
    /// invalid when the process restarts.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    ///
    /// assert_ne!(SecretKey::generate().as_bytes(), SecretKey::generate().as_bytes());
    /// ```
    pub fn generate() -> SecretKey {
        let mut bytes = [0_u8; GENERATED_KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey::from_material(Box::new(bytes))
    }

    /// The key material, e.g. to hand it to `actix_web::cookie::Key::derive_from`.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    ///
    /// let key = SecretKey::generate();
    /// assert_eq!(SecretKey::try_from_bytes(key.as_bytes())?.as_bytes(), key.as_bytes());
    /// # Ok::<(), login_runtime::WeakKeyError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A process-unique number for this key's material (clones share it), for memos that must
    /// never answer for another key.
    pub(crate) fn id(&self) -> u64 {
        self.prepared.id
    }

    /// HMAC-SHA-512 keyed with this key, ready for the message (a clone of a prepared state).
    pub(crate) fn hmac_sha512(&self) -> Hmac<Sha512> {
        self.prepared.sha512.clone()
    }

    /// A keyed digest of a user's session auth hash (e.g. the password hash), stored in the
    /// session and in the signed remember cookie instead of the hash itself.
    ///
    /// It is the HMAC-SHA-256 of the domain-separated `session_hash` under this key, truncated
    /// to 128 bits, as 32 lowercase hex chars. It changes whenever `session_hash` changes, so
    /// comparing it with the stored tag ends every session and remember cookie issued before a
    /// password change, and it reveals nothing about `session_hash` to whoever reads the
    /// cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    ///
    /// let key = SecretKey::generate();
    /// let tag = key.session_hash_tag(b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    /// assert_eq!(tag.len(), 32);
    /// assert_eq!(tag, key.session_hash_tag(b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    /// assert_ne!(tag, key.session_hash_tag(b"a new password hash"));
    /// ```
    pub fn session_hash_tag(&self, session_hash: &[u8]) -> String {
        let hex = self.session_hash_tag_hex(session_hash);
        String::from_utf8_lossy(&hex).into_owned()
    }

    /// [`session_hash_tag`](Self::session_hash_tag) as lowercase hex bytes on the stack, for
    /// comparing with a stored tag without allocating.
    pub(crate) fn session_hash_tag_hex(
        &self,
        session_hash: &[u8],
    ) -> [u8; 2 * SESSION_HASH_TAG_BYTES] {
        let compute = || self.compute_session_hash_tag_hex(session_hash);
        TAG_MEMO
            .try_with(|memo| match memo.try_borrow_mut() {
                Ok(mut memo) => memo.get_or_compute(self.prepared.id, session_hash, compute),
                Err(_) => compute(),
            })
            .unwrap_or_else(|_| compute())
    }

    fn compute_session_hash_tag_hex(
        &self,
        session_hash: &[u8],
    ) -> [u8; 2 * SESSION_HASH_TAG_BYTES] {
        let mut mac = self.prepared.session_hash_tag.clone();
        mac.update(session_hash);
        let digest = mac.finalize().into_bytes();
        let mut tag = [0_u8; SESSION_HASH_TAG_BYTES];
        for (out, byte) in tag.iter_mut().zip(digest.iter()) {
            *out = *byte;
        }
        lower_hex(&tag)
    }
}

impl fmt::Debug for SecretKey {
    /// Shows the key's length only: key material must never reach logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl TryFrom<&[u8]> for SecretKey {
    type Error = WeakKeyError;

    /// Same as [`SecretKey::try_from_bytes`].
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        SecretKey::try_from_bytes(bytes)
    }
}

impl TryFrom<&str> for SecretKey {
    type Error = WeakKeyError;

    /// The key is the string's UTF-8 bytes, used as-is (a hex string is not decoded), as
    /// [`SecretKey::try_from_bytes`] checks them.
    ///
    /// Flask encodes a `str` `SECRET_KEY` as Latin-1, which differs from UTF-8 for characters
    /// from U+0080 to U+00FF: to share remember cookies with a Flask app whose key has such
    /// characters, build the key from
    /// [`remember::flask::secret_key_bytes`](crate::remember::flask::secret_key_bytes).
    fn try_from(key: &str) -> Result<Self, Self::Error> {
        SecretKey::try_from_bytes(key.as_bytes())
    }
}

/// A secret key refused for too little entropy; its `Display` says why and how to make a good
/// one.
///
/// # Examples
///
/// ```
/// use login_runtime::SecretKey;
///
/// let err = SecretKey::try_from("dev").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "secret key is too short: 3 bytes, at least 32 are needed; \
///      generate one with `SecretKey::generate()` or `openssl rand -hex 32`",
/// );
/// ```
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
#[error("{reason}; generate one with `SecretKey::generate()` or `openssl rand -hex 32`")]
pub struct WeakKeyError {
    reason: WeakKeyReason,
}

/// Why a key was refused. Holds no key material, so the error is safe to log.
#[derive(Debug, Clone, PartialEq)]
enum WeakKeyReason {
    TooShort { len: usize },
    LowEntropy { estimated_bits: f64 },
}

impl fmt::Display for WeakKeyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeakKeyReason::TooShort { len } => write!(
                f,
                "secret key is too short: {len} bytes, at least {MIN_KEY_LEN} are needed"
            ),
            WeakKeyReason::LowEntropy { estimated_bits } => write!(
                f,
                "secret key has too little entropy: about {estimated_bits} bits estimated, \
                 at least {MIN_ESTIMATED_BITS} are needed"
            ),
        }
    }
}

thread_local! {
    /// The memo of [`SecretKey::session_hash_tag_hex`], per worker thread.
    static TAG_MEMO: std::cell::RefCell<DigestMemo> = const { std::cell::RefCell::new(DigestMemo::new()) };
}

/// A process-unique number for each key made (clones keep it: same material), so a memo entry
/// can never answer for another key.
fn next_key_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// `bytes` as lowercase hex, on the stack.
pub(crate) fn lower_hex<const N: usize, const M: usize>(bytes: &[u8; N]) -> [u8; M] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0_u8; M];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes.iter()) {
        if let [high, low] = pair {
            let digit = |nibble: u8| DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
            *high = digit(byte >> 4);
            *low = digit(byte & 0x0f);
        }
    }
    out
}

/// A MAC keyed with `key`.
///
/// HMAC is defined for keys of every length (RFC 2104, section 2), and `hmac`'s
/// `new_from_slice` never fails; this is the one place that relies on it.
pub(crate) fn keyed_mac<M: KeyInit>(key: &[u8]) -> M {
    match M::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn refused(key: &[u8]) -> String {
        SecretKey::try_from_bytes(key)
            .expect_err("weak key accepted")
            .to_string()
    }

    #[test]
    fn short_keys_are_refused_with_the_fix_in_the_message() {
        for key in [&b""[..], b"dev", b"deterministic", &[0x9e; 31]] {
            let message = refused(key);
            assert!(message.starts_with("secret key is too short"), "{message}");
            assert!(
                message.contains(&format!("{} bytes", key.len())),
                "{message}"
            );
            assert!(
                message.ends_with(
                    "generate one with `SecretKey::generate()` or `openssl rand -hex 32`"
                ),
                "{message}"
            );
        }
    }

    #[test]
    fn low_entropy_keys_are_refused_with_the_fix_in_the_message() {
        let weak: &[&[u8]] = &[
            &[0; 64],
            &[0xab; 32],
            b"passwordpasswordpasswordpassword",
            b"0123456789abcdef0123456789abcdef",
            b"abcdefghijklmnopqrstuvwxyz0123456789",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            b"ababababababababababababababababXY",
            b"12345678901234567890123456789012",
            // One class only: 38 digits carry at most 126 bits, however random.
            b"83061172459983017244566103981273405617",
            b"supersecretkeysupersecretkey12345",
            // A varied unit, repeated: only the unit counts.
            b"Zq8#Lm2$Wx7!Pv4%Tn9&Zq8#Lm2$Wx7!Pv4%Tn9&Zq8#Lm2$Wx7!Pv4%Tn9&",
        ];
        for key in weak {
            let message = refused(key);
            assert!(
                message.starts_with("secret key has too little entropy"),
                "{}: {message}",
                String::from_utf8_lossy(key)
            );
            assert!(
                message.contains("bits estimated, at least 128 are needed"),
                "{message}"
            );
            assert!(message.contains("`openssl rand -hex 32`"), "{message}");
        }
    }

    #[test]
    fn generated_and_well_made_keys_are_accepted() {
        for _ in 0..2_000 {
            let key = SecretKey::generate();
            assert_eq!(key.as_bytes().len(), GENERATED_KEY_LEN);
            SecretKey::try_from_bytes(key.as_bytes()).unwrap();
            // 32 raw random bytes, and their hex form (what `openssl rand -hex 32` prints).
            let raw = &key.as_bytes()[..32];
            SecretKey::try_from_bytes(raw).unwrap();
            SecretKey::try_from(hex::encode(raw).as_str()).unwrap();
        }
        // The keys of the shared Flask-Login vectors that claim enough entropy.
        SecretKey::try_from("s3cr3t-key-with-enough-entropy-0123456789").unwrap();
        SecretKey::try_from("vPR\\mK)`]LbU[$dk%OL!~3Y5D{;.-O?ll#t1p()tP$I,JWy[):~0N$g%*qS7ZK+)")
            .unwrap();
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = SecretKey::try_from("Zq8#Lm2$Wx7!Pv4%Tn9&Hb3*Rc6(Yd1)").unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey { len: 32, .. }");
        assert_eq!(format!("{key:#?}").matches("Zq8").count(), 0);
    }

    #[test]
    fn session_hash_tag_is_keyed_stable_and_short() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        let tag = a.session_hash_tag(b"hash-1");
        assert_eq!(tag.len(), 32);
        assert!(
            tag.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(tag, a.session_hash_tag(b"hash-1"));
        assert_ne!(tag, a.session_hash_tag(b"hash-2"));
        assert_ne!(tag, b.session_hash_tag(b"hash-1"));
        assert!(!tag.contains(&hex::encode(b"hash-1")));
    }
}
