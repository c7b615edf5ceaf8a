//! Remember-me cookie values: encoding, and verification that nobody forged, altered or
//! replayed them past their expiry.
//!
//! [`RememberCodec`] turns a user id into a cookie value and back. It knows two formats
//! ([`RememberFormat`]):
//!
//! - [`Signed`](RememberFormat::Signed), the default: an HMAC-SHA-512 over a versioned payload
//!   that carries the user id, an expiry the server checks, the duration the cookie was issued
//!   for, and the user's [session hash tag](crate::SecretKey::session_hash_tag). A stolen
//!   cookie stops working when it expires even if the client keeps sending it, and a password
//!   change (which changes the tag) ends every cookie issued before it.
//! - [`FlaskLogin`](RememberFormat::FlaskLogin), opt-in, for an app moving from Flask: exactly
//!   Flask-Login 0.6.3's `id|hex(HMAC-SHA512(secret, id))` (see [`flask`]), which never expires
//!   on the server and cannot be revoked.
//!
//! Both verify in constant time and support key rotation: the current key signs, older keys
//! listed with [`RememberCodec::with_previous_keys`] still verify, and a token they verified
//! says so ([`RememberToken::signed_with_previous_key`]) so the caller can re-sign it.
//!
//! This module is pure: it takes the time as an argument, reads no request and sets no
//! cookie. The cookie's name and attributes are the login manager's business.
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, SystemTime};
//!
//! use login_runtime::SecretKey;
//! use login_runtime::remember::{RememberCodec, RememberFormat};
//!
//! let key = SecretKey::generate();
//! let codec = RememberCodec::new(RememberFormat::Signed, key.clone());
//!
//! // At login with "remember me": bind the cookie to the user's password hash.
//! let tag = key.session_hash_tag(b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
//! let now = SystemTime::now();
//! let cookie = codec.encode("42", Some(&tag), Duration::from_secs(14 * 24 * 3600), now);
//!
//! // On a later request without a session.
//! let token = codec.decode(&cookie, now + Duration::from_secs(60)).ok_or("invalid cookie")?;
//! assert_eq!(token.user_id, "42");
//! assert!(token.hash_tag_matches(Some(&tag)));
//!
//! // After a password change the cookie no longer matches the user.
//! assert!(!token.hash_tag_matches(Some(&key.session_hash_tag(b"new hash"))));
//!
//! // After its expiry it is refused, although the client still sends it.
//! assert!(codec.decode(&cookie, now + Duration::from_secs(15 * 24 * 3600)).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime};

use hmac::Hmac;
use sha2::Sha512;
use subtle::ConstantTimeEq;

use crate::key::{DigestMemo, SecretKey};

pub mod flask;
mod signed;
#[cfg(test)]
mod tests;

/// Longest cookie value [`RememberCodec::decode`] looks at, in bytes: what browsers store for
/// a whole cookie (RFC 6265, section 6.1). Anything longer is refused before any MAC is
/// computed.
const MAX_COOKIE_LEN: usize = 4096;

/// The encoding of remember cookie values; see the [module docs](self).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RememberFormat {
    /// HMAC-SHA-512 over a versioned payload with the user id, a server-checked expiry, the
    /// issued duration and the session hash tag. The default.
    #[default]
    Signed,
    /// Flask-Login 0.6.3's `id|hex(HMAC-SHA512(secret, id))`, to share remember cookies with a
    /// Flask app during a migration. Carries no expiry and no session hash tag: such a cookie
    /// is valid for as long as the key is, whatever the user does.
    FlaskLogin,
}

/// Encodes and verifies remember cookie values.
///
/// Signed format: HMAC-SHA-512 over a versioned payload that carries the user id, an expiry
/// checked server-side, the issued duration, and the session hash tag; verified in constant
/// time. Key rotation: `current` signs, `previous` keys still verify.
///
/// `Debug` shows no key material (see [`SecretKey`]).
///
/// # Examples
///
/// Rotating keys: cookies signed with the old key keep working while it is listed.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use login_runtime::SecretKey;
/// use login_runtime::remember::{RememberCodec, RememberFormat};
///
/// let (old, new) = (SecretKey::generate(), SecretKey::generate());
/// let now = SystemTime::now();
/// let cookie = RememberCodec::new(RememberFormat::Signed, old.clone())
///     .encode("7", None, Duration::from_secs(3600), now);
///
/// let rotated = RememberCodec::new(RememberFormat::Signed, new.clone()).with_previous_keys([old]);
/// let token = rotated.decode(&cookie, now).ok_or("refused")?;
/// assert!(token.signed_with_previous_key); // re-sign it with `rotated.encode(..)`
///
/// let retired = RememberCodec::new(RememberFormat::Signed, new);
/// assert!(retired.decode(&cookie, now).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RememberCodec {
    format: RememberFormat,
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl RememberCodec {
    /// A codec that writes `format` and signs with `current`.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let codec = RememberCodec::new(RememberFormat::default(), SecretKey::generate());
    /// assert_eq!(codec.format(), RememberFormat::Signed);
    /// ```
    pub fn new(format: RememberFormat, current: SecretKey) -> Self {
        RememberCodec {
            format,
            current,
            previous: Vec::new(),
        }
    }

    /// Adds keys that still verify cookies but no longer sign them, tried in the given order
    /// after the current key. Remove a key from this list to reject every cookie it signed.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let codec = RememberCodec::new(RememberFormat::Signed, SecretKey::generate())
    ///     .with_previous_keys([SecretKey::generate(), SecretKey::generate()]);
    /// # let _ = codec;
    /// ```
    pub fn with_previous_keys(mut self, keys: impl IntoIterator<Item = SecretKey>) -> Self {
        self.previous.extend(keys);
        self
    }

    /// The format this codec writes and reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let codec = RememberCodec::new(RememberFormat::FlaskLogin, SecretKey::generate());
    /// assert_eq!(codec.format(), RememberFormat::FlaskLogin);
    /// ```
    pub fn format(&self) -> RememberFormat {
        self.format
    }

    /// The cookie value that remembers `user_id` for `duration` from `now`, signed with the
    /// current key.
    ///
    /// `hash_tag` is [`SecretKey::session_hash_tag`] of the user's session auth hash (`None`
    /// if the user has none). The signed format keeps whole seconds of `duration` (an expiry
    /// past the year 9999 is lowered to it) and is plain ASCII that needs no quoting in a
    /// `Set-Cookie` header. The FlaskLogin format ignores expiry and tag and returns exactly
    /// [`flask::encode_cookie`]`(current, user_id)`, which holds `user_id` verbatim.
    ///
    /// Keep ids well under 1 KiB: the signed format percent-encodes the id (up to three bytes
    /// per byte), and a value over 4096 bytes is one that [`decode`](Self::decode) and browsers
    /// refuse.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let key = SecretKey::generate();
    /// let flask = RememberCodec::new(RememberFormat::FlaskLogin, key.clone());
    /// let cookie = flask.encode("佐藤", None, Duration::from_secs(60), SystemTime::now());
    /// assert_eq!(cookie, login_runtime::remember::flask::encode_cookie(key.as_bytes(), "佐藤"));
    /// ```
    pub fn encode(
        &self,
        user_id: &str,
        hash_tag: Option<&str>,
        duration: Duration,
        now: SystemTime,
    ) -> String {
        match self.format {
            RememberFormat::Signed => {
                signed::encode(self.current.hmac_sha512(), user_id, hash_tag, duration, now)
            }
            RememberFormat::FlaskLogin => flask::encode_with(self.current.hmac_sha512(), user_id),
        }
    }

    /// The token in `cookie` if it is valid at `now`.
    ///
    /// `None` for anything else: a MAC that no listed key produced, a malformed or truncated
    /// value, a value of the other format, a signed cookie whose expiry is not after `now`, or
    /// a value longer than 4096 bytes. Never panics.
    ///
    /// A valid token still has to be checked against the user: load the user by
    /// [`RememberToken::user_id`] and compare tags with [`RememberToken::hash_tag_matches`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    ///
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let codec = RememberCodec::new(RememberFormat::Signed, SecretKey::generate());
    /// assert!(codec.decode("foo", SystemTime::now()).is_none());
    /// ```
    pub fn decode(&self, cookie: &str, now: SystemTime) -> Option<RememberToken> {
        // Bound the work an attacker can ask for before any MAC is computed.
        if cookie.len() > MAX_COOKIE_LEN {
            return None;
        }
        match self.format {
            RememberFormat::Signed => {
                let (payload, mac) = signed::split(cookie)?;
                let signed_with_previous_key =
                    self.verified_by(cookie, |key| signed::verify(key, payload, &mac))?;
                signed::parse(payload, now, signed_with_previous_key)
            }
            RememberFormat::FlaskLogin => {
                let (user_id, digest) = flask::split_cookie(cookie)?;
                let signed_with_previous_key =
                    self.verified_by(cookie, |key| flask::verify(key, user_id, &digest))?;
                Some(RememberToken {
                    user_id: user_id.to_owned(),
                    expires_at: None,
                    duration: None,
                    hash_tag: None,
                    signed_with_previous_key,
                })
            }
        }
    }

    /// `Some(false)` when the current key verifies `cookie`, `Some(true)` when only a previous
    /// key does, `None` when none does. `verifies` gets each key's prepared HMAC-SHA-512 state.
    fn verified_by(&self, cookie: &str, verifies: impl Fn(Hmac<Sha512>) -> bool) -> Option<bool> {
        let verified = |key: &SecretKey| memoised(key, cookie, || verifies(key.hmac_sha512()));
        if verified(&self.current) {
            return Some(false);
        }
        self.previous.iter().any(verified).then_some(true)
    }
}

thread_local! {
    /// Cookies verified on this worker thread, by key: a browser sends the same remember
    /// cookie request after request, and its MAC is the same each time.
    static VERIFIED: std::cell::RefCell<DigestMemo> =
        const { std::cell::RefCell::new(DigestMemo::new()) };
}

/// Whether `key` verifies `cookie`, from the memo (an exact match of the whole cookie under
/// the same key, compared in constant time, so the answer is the one `verify` gives) or from
/// `verify`.
fn memoised(key: &SecretKey, cookie: &str, verify: impl FnOnce() -> bool) -> bool {
    let mut verify = Some(verify);
    let mut compute = || {
        let mut answer = [0_u8; 32];
        answer[0] = verify.take().is_some_and(|verify| verify()).into();
        answer
    };
    let remembered = VERIFIED.try_with(|memo| match memo.try_borrow_mut() {
        Ok(mut memo) => Some(memo.get_or_compute(key.id(), cookie.as_bytes(), &mut compute)),
        Err(_) => None,
    });
    match remembered {
        Ok(Some(answer)) => answer[0] == 1,
        _ => compute()[0] == 1,
    }
}

/// What a valid remember cookie says, from [`RememberCodec::decode`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RememberToken {
    /// The remembered user's id, as given to [`RememberCodec::encode`].
    pub user_id: String,
    /// When the cookie stops being valid (whole seconds); `None` exactly for the FlaskLogin
    /// format, whose cookies never expire on the server.
    pub expires_at: Option<SystemTime>,
    /// The duration the cookie was issued for (whole seconds), to refresh it on each request
    /// for as long again; `None` for the FlaskLogin format.
    pub duration: Option<Duration>,
    /// The user's session hash tag when the cookie was issued; `None` for the FlaskLogin
    /// format, or for a user without a session hash.
    pub hash_tag: Option<String>,
    /// Verified by a previous key rather than the current one: re-sign the cookie with
    /// [`RememberCodec::encode`] so the old key can be retired.
    pub signed_with_previous_key: bool,
}

impl RememberToken {
    /// Whether this token is bound to the user's `current` session hash tag
    /// ([`SecretKey::session_hash_tag`] of their session auth hash, `None` if they have none),
    /// compared in constant time.
    ///
    /// A FlaskLogin-format token carries no tag and always matches: that format cannot be
    /// revoked by a password change (Flask-Login's own limitation).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// use login_runtime::SecretKey;
    /// use login_runtime::remember::{RememberCodec, RememberFormat};
    ///
    /// let key = SecretKey::generate();
    /// let codec = RememberCodec::new(RememberFormat::Signed, key.clone());
    /// let now = SystemTime::now();
    /// let cookie = codec.encode("1", None, Duration::from_secs(60), now);
    /// let token = codec.decode(&cookie, now).ok_or("refused")?;
    /// assert!(token.hash_tag_matches(None));
    /// assert!(!token.hash_tag_matches(Some(&key.session_hash_tag(b"now has a password"))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hash_tag_matches(&self, current: Option<&str>) -> bool {
        // Only the FlaskLogin format has no expiry; it has no tag to check either.
        if self.expires_at.is_none() {
            return true;
        }
        match (self.hash_tag.as_deref(), current) {
            (None, None) => true,
            // Constant-time compare: the tag is a MAC the client must not learn by timing.
            (Some(issued), Some(current)) => issued.as_bytes().ct_eq(current.as_bytes()).into(),
            (Some(_), None) | (None, Some(_)) => false,
        }
    }
}

/// The bytes spelled by `text` in lowercase hex, only when it is exactly `2 * N` lowercase hex
/// digits: one value, one spelling, as Flask-Login's string compare of hex digests requires.
fn decode_lowercase_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0_u8; N];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *byte = (digit(*high)? << 4) | digit(*low)?;
    }
    Some(bytes)
}
