//! Flask-Login 0.6.3's remember cookie, byte for byte, for apps migrating from Flask.
//!
//! A Flask-Login remember cookie is `{id}|{hex(HMAC-SHA512(SECRET_KEY, id))}`. These functions
//! mirror `flask_login.utils.encode_cookie`, `decode_cookie` and `_secret_key`, so a Flask app
//! and a Rust app with the same key read each other's cookies. Prefer
//! [`RememberFormat::Signed`](super::RememberFormat::Signed) once the migration is over: this
//! format has no server-side expiry and survives password changes.
//!
//! Quoting is the cookie transport's business, not these functions': Werkzeug quotes a value
//! that holds characters a cookie cannot (non-ASCII, space, `;`, `,`, `"`, `\`) as `"…"` with
//! octal escapes, and unquotes it when reading; [`decode_cookie`] expects the unquoted value.
//! `LoginManager` quotes and unquotes the same way when it uses this format, so ids such as
//! `佐藤 x;y` travel between the two apps.
//!
//! Deliberate difference: Python's `hmac.compare_digest` raises `TypeError` on a digest with
//! non-ASCII characters (a 500 in Flask); [`decode_cookie`] returns `None`.
//!
//! # Examples
//!
//! ```
//! use login_runtime::remember::flask::{decode_cookie, encode_cookie};
//!
//! let cookie = encode_cookie(b"deterministic", "1");
//! assert_eq!(
//!     cookie,
//!     "1|0e9e6e9855fbe6df7906ec4737578a1d491b38d3fd5246c1561016e189d6516043286501ca43257c938e60aad77acec5ce916b94ca9d00c0bb6f9883ae4b82ae",
//! );
//! assert_eq!(decode_cookie(b"deterministic", &cookie).as_deref(), Some("1"));
//! assert_eq!(decode_cookie(b"deterministic", "Foo|BAD_BASH"), None);
//! ```

use hmac::{Hmac, Mac};
use sha2::Sha512;

/// Bytes in an HMAC-SHA-512 digest.
const DIGEST_LEN: usize = 64;

/// Mirrors Flask-Login 0.6.3 `encode_cookie`: `{id}|{hex(HMAC-SHA512(secret, id))}` (lowercase
/// hex of the MAC of the id's UTF-8 bytes).
///
/// `secret` is the key as bytes: Flask's `SECRET_KEY` if it is `bytes`, or
/// [`secret_key_bytes`] of it if it is a `str`. The id is copied verbatim, `|` and non-ASCII
/// included.
///
/// # Examples
///
/// ```
/// use login_runtime::remember::flask::encode_cookie;
///
/// let cookie = encode_cookie(b"dev", "a|b");
/// assert!(cookie.starts_with("a|b|"));
/// assert_eq!(cookie.len(), "a|b|".len() + 128);
/// ```
pub fn encode_cookie(secret: &[u8], user_id: &str) -> String {
    encode_with(crate::key::keyed_mac(secret), user_id)
}

/// [`encode_cookie`] with the HMAC state already keyed with the secret.
pub(super) fn encode_with(key: Hmac<Sha512>, user_id: &str) -> String {
    let digest = hex::encode(mac(key, user_id).finalize().into_bytes());
    let mut cookie = String::with_capacity(user_id.len() + 1 + digest.len());
    cookie.push_str(user_id);
    cookie.push('|');
    cookie.push_str(&digest);
    cookie
}

/// Mirrors Flask-Login 0.6.3 `decode_cookie`: the id in `cookie` if its digest is right.
///
/// The cookie is split on its last `|`, so the id may contain `|` and may be empty. The digest
/// must be exactly the 128 lowercase hex digits of HMAC-SHA-512(`secret`, id): uppercase hex,
/// other lengths and stray characters are refused, as Flask-Login's string compare refuses
/// them. The comparison is constant-time.
///
/// # Examples
///
/// ```
/// use login_runtime::remember::flask::{decode_cookie, encode_cookie};
///
/// let cookie = encode_cookie(b"dev", "");
/// assert_eq!(decode_cookie(b"dev", &cookie).as_deref(), Some(""));
/// assert_eq!(decode_cookie(b"dev", &cookie.to_uppercase()), None);
/// assert_eq!(decode_cookie(b"dev", "no bar"), None);
/// ```
pub fn decode_cookie(secret: &[u8], cookie: &str) -> Option<String> {
    let (user_id, digest) = split_cookie(cookie)?;
    verify(crate::key::keyed_mac(secret), user_id, &digest).then(|| user_id.to_owned())
}

/// Mirrors Flask-Login 0.6.3 `_secret_key` for a `str` key: its Latin-1 encoding, or `None`
/// for a key with a character above U+00FF (where Python raises `UnicodeEncodeError`).
///
/// A `bytes` key is used unchanged; pass it straight to [`encode_cookie`].
///
/// # Examples
///
/// ```
/// use login_runtime::remember::flask::secret_key_bytes;
///
/// assert_eq!(secret_key_bytes("\u{9e}\u{8f}\u{14}"), Some(vec![0x9e, 0x8f, 0x14]));
/// assert_eq!(secret_key_bytes("dev"), Some(b"dev".to_vec()));
/// assert_eq!(secret_key_bytes("佐藤"), None);
/// ```
pub fn secret_key_bytes(key: &str) -> Option<Vec<u8>> {
    key.chars().map(|c| u8::try_from(c).ok()).collect()
}

/// Splits `cookie` on its last `|` into the id and the digest bytes, if the digest is spelled
/// as Flask-Login spells it.
pub(super) fn split_cookie(cookie: &str) -> Option<(&str, [u8; DIGEST_LEN])> {
    let (user_id, digest) = cookie.rsplit_once('|')?;
    Some((user_id, super::decode_lowercase_hex(digest)?))
}

/// Whether `digest` is HMAC-SHA-512(secret, `user_id`), `key` being the HMAC state keyed with
/// the secret.
pub(super) fn verify(key: Hmac<Sha512>, user_id: &str, digest: &[u8; DIGEST_LEN]) -> bool {
    // Constant-time compare (`verify_slice` uses `subtle`).
    mac(key, user_id).verify_slice(digest).is_ok()
}

/// Werkzeug's `dump_cookie` quoting: a value made only of `[A-Za-z0-9_!#$%&'()*+-./:<=>?@[]^\`{|}~]`
/// goes as it is; any other is wrapped in `"…"`, with `"` and `\` backslash-escaped and each
/// byte below 0x20, `,`, `;` and each byte from 0x7f up written as a three-digit octal escape.
/// (Werkzeug leaves bytes 0x1a to 0x1f raw, which no valid header value may hold; we escape
/// them, and Werkzeug reads the escapes back as the same bytes.)
pub(crate) fn quote_cookie_value(value: &str) -> std::borrow::Cow<'_, str> {
    let plain =
        |byte: u8| byte.is_ascii_alphanumeric() || b"_!#$%&'()*+-./:<=>?@[]^`{|}~".contains(&byte);
    if value.bytes().all(plain) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut quoted = String::with_capacity(value.len() * 2 + 2);
    quoted.push('"');
    for byte in value.bytes() {
        match byte {
            b'"' => quoted.push_str("\\\""),
            b'\\' => quoted.push_str("\\\\"),
            0x00..=0x1f | b',' | b';' | 0x7f..=0xff => quoted.push_str(&format!("\\{byte:03o}")),
            _ => quoted.push(char::from(byte)),
        }
    }
    quoted.push('"');
    std::borrow::Cow::Owned(quoted)
}

/// The values of the cookies named `name` in one `Cookie` header, read as Werkzeug's
/// `parse_cookie` reads them (not as the `cookie` crate does, which drops the quotes and the
/// whitespace inside them): pairs split on `;`, name and value trimmed, and a value wrapped in
/// `"…"` unquoted with [`unquote_cookie_value`]; any other value is taken exactly as it
/// stands. `None` for a quoted value that does not unquote to UTF-8.
pub(crate) fn werkzeug_cookie_values<'h>(
    header: &'h str,
    name: &'h str,
) -> impl Iterator<Item = Option<std::borrow::Cow<'h, str>>> + 'h {
    header.split(';').filter_map(move |pair| {
        let (key, value) = pair.split_once('=')?;
        if key.trim() != name {
            return None;
        }
        let value = value.trim();
        Some(
            match value
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
            {
                Some(inner) => unquote_cookie_value(inner),
                None => Some(std::borrow::Cow::Borrowed(value)),
            },
        )
    })
}

/// Werkzeug's unquoting of the inside of a `"…"` cookie value: `\ooo` is a byte in octal,
/// `\x` is `x`. `None` when the bytes are not UTF-8 (Werkzeug would replace them, which no
/// valid cookie needs).
pub(crate) fn unquote_cookie_value(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !value.contains('\\') {
        return Some(std::borrow::Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            out.push(first);
            rest = tail;
            continue;
        }
        let octal = tail
            .get(..3)
            .filter(|digits| matches!(digits, [b'0'..=b'3', b'0'..=b'7', b'0'..=b'7']));
        match (octal, tail.split_first()) {
            (Some(digits), _) => {
                let byte = digits
                    .iter()
                    .fold(0u8, |acc, digit| acc * 8 + (digit - b'0'));
                out.push(byte);
                rest = tail.get(3..).unwrap_or_default();
            }
            (None, Some((&escaped, after))) => {
                out.push(escaped);
                rest = after;
            }
            // A lone trailing backslash stays.
            (None, None) => {
                out.push(first);
                rest = tail;
            }
        }
    }
    String::from_utf8(out).ok().map(std::borrow::Cow::Owned)
}

fn mac(mut key: Hmac<Sha512>, user_id: &str) -> Hmac<Sha512> {
    key.update(user_id.as_bytes());
    key
}
