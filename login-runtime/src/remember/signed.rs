//! The signed remember cookie format ([`RememberFormat::Signed`](super::RememberFormat::Signed)).
//!
//! ```text
//! v1.{user id}.{expires}.{duration}.{tag}.{mac}
//! ```
//!
//! - `user id` and `tag`: percent-encoded UTF-8 (every byte but ASCII letters, digits, `-` and
//!   `_`), so neither can contain the `.` separator; `tag` is `~` for "no session hash";
//! - `expires`: Unix time in seconds, checked against the server's clock;
//! - `duration`: the issued duration in seconds;
//! - `mac`: 128 lowercase hex digits of HMAC-SHA-512(key, [`DOMAIN`] ‖ everything before the
//!   last `.`).
//!
//! The MAC covers the exact text, so any other spelling of the same fields is refused too.
//! The value is ASCII made of cookie-octets only (RFC 6265), so it needs no quoting.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha512;

use super::RememberToken;

/// First field: the payload layout. A new layout gets a new version and a new [`DOMAIN`].
const VERSION: &str = "v1";

/// Domain separation, MACed before the payload. The byte 0xFF never occurs in UTF-8, so no
/// FlaskLogin-format cookie under the same key (a MAC of a UTF-8 id) can be turned into a
/// signed one, whatever id an attacker registers.
const DOMAIN: &[u8] = b"\xfflogin-runtime/remember-cookie/v1\x00";

/// Separates the fields; encoded inside them.
const SEPARATOR: char = '.';

/// The tag field of a user without a session hash; `~` is encoded inside a tag.
const NO_TAG: &str = "~";

/// What is percent-encoded in the id and tag fields.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_');

/// 9999-12-31T23:59:59Z: the latest expiry written, representable as a `SystemTime` and in a
/// cookie's `Expires` everywhere.
const MAX_EXPIRES: u64 = 253_402_300_799;

/// Bytes in an HMAC-SHA-512 tag.
const MAC_LEN: usize = 64;

/// The signed cookie for `user_id`, valid for `duration` from `now`.
pub(super) fn encode(
    key: Hmac<Sha512>,
    user_id: &str,
    hash_tag: Option<&str>,
    duration: Duration,
    now: SystemTime,
) -> String {
    // A clock before 1970 counts as 1970: the cookie then expires early, never late.
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    let duration = duration.as_secs();
    let expires = now.saturating_add(duration).min(MAX_EXPIRES);
    let user_id = utf8_percent_encode(user_id, ENCODED);
    let mut cookie = match hash_tag {
        Some(tag) => format!(
            "{VERSION}.{user_id}.{expires}.{duration}.{}",
            utf8_percent_encode(tag, ENCODED)
        ),
        None => format!("{VERSION}.{user_id}.{expires}.{duration}.{NO_TAG}"),
    };
    let mac = hex::encode(mac(key, &cookie).finalize().into_bytes());
    cookie.push(SEPARATOR);
    cookie.push_str(&mac);
    cookie
}

/// Splits `cookie` into the MACed payload and the MAC, if the MAC is spelled as written.
pub(super) fn split(cookie: &str) -> Option<(&str, [u8; MAC_LEN])> {
    let (payload, mac) = cookie.rsplit_once(SEPARATOR)?;
    Some((payload, super::decode_lowercase_hex(mac)?))
}

/// Whether `mac` is the MAC of `payload` under `key`.
pub(super) fn verify(key: Hmac<Sha512>, payload: &str, mac: &[u8; MAC_LEN]) -> bool {
    // Constant-time compare (`verify_slice` uses `subtle`).
    self::mac(key, payload).verify_slice(mac).is_ok()
}

/// The token in an authentic `payload`, if it has not expired at `now`.
///
/// Only ever called on a payload whose MAC verified, i.e. one [`encode`] wrote; the checks
/// here guard against a future layout change, not against attackers.
pub(super) fn parse(
    payload: &str,
    now: SystemTime,
    signed_with_previous_key: bool,
) -> Option<RememberToken> {
    let mut fields = payload.split(SEPARATOR);
    let (Some(VERSION), Some(user_id), Some(expires), Some(duration), Some(tag), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return None;
    };
    let expires_at =
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(expires.parse().ok()?))?;
    // The expiry is enforced here, whatever the client's cookie jar does.
    if now >= expires_at {
        return None;
    }
    Some(RememberToken {
        user_id: percent_decode_str(user_id).decode_utf8().ok()?.into_owned(),
        expires_at: Some(expires_at),
        duration: Some(Duration::from_secs(duration.parse().ok()?)),
        hash_tag: match tag {
            NO_TAG => None,
            tag => Some(percent_decode_str(tag).decode_utf8().ok()?.into_owned()),
        },
        signed_with_previous_key,
    })
}

/// `key` is the HMAC state already keyed with the secret ([`SecretKey::hmac_sha512`]).
///
/// [`SecretKey::hmac_sha512`]: crate::SecretKey
fn mac(mut key: Hmac<Sha512>, payload: &str) -> Hmac<Sha512> {
    key.update(DOMAIN);
    key.update(payload.as_bytes());
    key
}
