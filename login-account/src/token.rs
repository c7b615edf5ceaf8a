//! The one token primitive every flow uses: a random secret mailed to the user, stored only as
//! a keyed hash, single use, with an expiry per purpose, and bound to its purpose and to the
//! account's current email address and session hash (the password hash), so it dies when
//! either changes.

use std::fmt;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use login_runtime::SecretKey;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Random bytes in a token: 256 bits, mailed as 64 hex digits.
const TOKEN_BYTES: usize = 32;

/// What a token may be used for. A token of one purpose is refused by every other flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Confirms that the account's email address is the user's.
    VerifyEmail,
    /// Sets a new password.
    ResetPassword,
    /// Confirms a new email address (the new address is the token's `data`).
    ChangeEmail,
    /// Reports a change of email address the user did not ask for (mailed to the old address).
    ReportEmailChange,
    /// Signs in without a password, in the browser that asked.
    SignIn,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 5] = [
        Purpose::VerifyEmail,
        Purpose::ResetPassword,
        Purpose::ChangeEmail,
        Purpose::ReportEmailChange,
        Purpose::SignIn,
    ];

    /// The stable name stored with the token (`verify_email`, `reset_password`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::ChangeEmail => "change_email",
            Purpose::ReportEmailChange => "report_email_change",
            Purpose::SignIn => "sign_in",
        }
    }

    /// The purpose named `name` ([`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Purpose> {
        Purpose::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == name)
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as the store keeps it: never the token itself, only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenRecord {
    /// The keyed hash of the token (64 hex digits): how the store finds it.
    pub hash: String,
    /// What it may be used for.
    pub purpose: Purpose,
    /// The account it was issued to (`AuthUser::id`, as text).
    pub user_id: String,
    /// The keyed hash of what the token is bound to: its purpose, the account, the account's
    /// email address and session hash when it was issued, and the flow's own binding (the new
    /// address of a change of email, the asking browser of a sign-in).
    pub binding: String,
    /// Data the flow needs back, never a secret: the new address of a change of email.
    pub data: Option<String>,
    /// The keyed hash of the short code mailed with a sign-in link.
    pub code_hash: Option<String>,
    /// When it was issued.
    pub created_at: SystemTime,
    /// When it stops working.
    pub expires_at: SystemTime,
    /// When it was used (a used token is kept until it expires, so a second use is told
    /// apart from a forged token).
    pub used_at: Option<SystemTime>,
}

impl TokenRecord {
    /// A record as a store reads it back (`data`, `code_hash` and `used_at` empty: set them
    /// from their columns too).
    pub fn new(
        hash: String,
        purpose: Purpose,
        user_id: String,
        binding: String,
        created_at: SystemTime,
        expires_at: SystemTime,
    ) -> TokenRecord {
        TokenRecord {
            hash,
            purpose,
            user_id,
            binding,
            data: None,
            code_hash: None,
            created_at,
            expires_at,
            used_at: None,
        }
    }
}

/// A new token: the secret for the mail, and the record for the store.
pub(crate) struct Issued {
    pub(crate) token: String,
    pub(crate) record: TokenRecord,
}

impl fmt::Debug for Issued {
    // The token is a secret: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused. Every refusal changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token this site issued (or not in the form of one).
    #[error("the token is unknown")]
    Unknown,
    /// Issued for another purpose (a verification link used as a reset link).
    #[error("the token was issued for another purpose")]
    WrongPurpose,
    /// Already used once.
    #[error("the token was already used")]
    Used,
    /// Past its expiry.
    #[error("the token has expired")]
    Expired,
    /// The account's email address or password (session hash) changed since it was issued,
    /// or the account is gone.
    #[error("the account changed since the token was issued")]
    Stale,
    /// A sign-in link opened in a browser other than the one that asked for it.
    #[error("the sign-in link was opened in another browser")]
    OtherBrowser,
}

impl TokenError {
    /// A stable, short code for events and JSON answers (`token_used`, `token_expired`, …).
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Unknown => "token_unknown",
            TokenError::WrongPurpose => "token_wrong_purpose",
            TokenError::Used => "token_used",
            TokenError::Expired => "token_expired",
            TokenError::Stale => "token_stale",
            TokenError::OtherBrowser => "other_browser",
        }
    }
}

/// What a token is bound to, besides its purpose: the account as it is now.
#[derive(Clone, Copy)]
pub(crate) struct Binding<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) email: &'a str,
    pub(crate) session_hash: &'a [u8],
    /// The flow's own binding: the new address, or the asking browser's nonce.
    pub(crate) extra: &'a [u8],
}

/// Domain separation: each keyed hash this crate computes starts with its own label, which
/// starts with 0xFF (never in UTF-8), so none can be taken for another, nor for a MAC
/// login-runtime computes with the same key.
const TOKEN_DOMAIN: &[u8] = b"\xfflogin-account/token/v1\x00";
const BINDING_DOMAIN: &[u8] = b"\xfflogin-account/binding/v1\x00";
const CODE_DOMAIN: &[u8] = b"\xfflogin-account/code/v1\x00";
const NONCE_DOMAIN: &[u8] = b"\xfflogin-account/nonce/v1\x00";

/// Keyed hashes (HMAC-SHA-256 with the app's secret key) of tokens, bindings and codes.
#[derive(Clone)]
pub(crate) struct Hasher {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher { .. }")
    }
}

impl Hasher {
    /// `None` only if HMAC refused the key, which it never does (it takes keys of any
    /// length; `SecretKey` already refused weak ones).
    pub(crate) fn new(key: &SecretKey) -> Option<Hasher> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).ok()?;
        Some(Hasher { mac })
    }

    fn digest(&self, domain: &[u8], parts: &[&[u8]]) -> String {
        let mut mac = self.mac.clone();
        mac.update(domain);
        for part in parts {
            // Length-prefixed, so no two lists of parts hash alike.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keyed hash a token is stored and found under.
    pub(crate) fn token_hash(&self, token: &str) -> String {
        self.digest(TOKEN_DOMAIN, &[token.as_bytes()])
    }

    pub(crate) fn binding(&self, purpose: Purpose, binding: Binding<'_>) -> String {
        let email = normalise_email(binding.email);
        self.digest(
            BINDING_DOMAIN,
            &[
                purpose.as_str().as_bytes(),
                binding.user_id.as_bytes(),
                email.as_bytes(),
                binding.session_hash,
                binding.extra,
            ],
        )
    }

    pub(crate) fn code_hash(&self, token_hash: &str, code: &str) -> String {
        self.digest(CODE_DOMAIN, &[token_hash.as_bytes(), code.as_bytes()])
    }

    /// What a browser's sign-in nonce contributes to a binding.
    pub(crate) fn nonce_hash(&self, nonce: &str) -> String {
        self.digest(NONCE_DOMAIN, &[nonce.as_bytes()])
    }

    /// A new token of `purpose` for the account `binding` describes, valid for `lifetime`.
    pub(crate) fn issue(
        &self,
        purpose: Purpose,
        binding: Binding<'_>,
        now: SystemTime,
        lifetime: Duration,
    ) -> Issued {
        let token = new_secret();
        let record = TokenRecord {
            hash: self.token_hash(&token),
            purpose,
            user_id: binding.user_id.to_owned(),
            binding: self.binding(purpose, binding),
            data: None,
            code_hash: None,
            created_at: now,
            expires_at: now.checked_add(lifetime).unwrap_or(now),
            used_at: None,
        };
        Issued { token, record }
    }

    /// Whether `record` may be used now for `purpose` by the account `binding` describes.
    #[cfg(test)]
    /// Checks purpose, use, expiry and binding; the binding in constant time.
    pub(crate) fn check(
        &self,
        record: &TokenRecord,
        purpose: Purpose,
        binding: Binding<'_>,
        now: SystemTime,
    ) -> Result<(), TokenError> {
        check_state(record, purpose, now)?;
        self.check_binding(record, binding)
    }

    /// Whether `record` is bound to the account `binding` describes, as it is now (whatever
    /// its use and expiry), in constant time.
    pub(crate) fn check_binding(
        &self,
        record: &TokenRecord,
        binding: Binding<'_>,
    ) -> Result<(), TokenError> {
        let expected = self.binding(record.purpose, binding);
        // Constant-time compare: the binding is a keyed hash, but nothing about it leaks.
        if bool::from(expected.as_bytes().ct_eq(record.binding.as_bytes())) {
            Ok(())
        } else {
            Err(TokenError::Stale)
        }
    }
}

/// Purpose, use and expiry of `record`, before anything about the account is known.
pub(crate) fn check_state(
    record: &TokenRecord,
    purpose: Purpose,
    now: SystemTime,
) -> Result<(), TokenError> {
    if record.purpose != purpose {
        return Err(TokenError::WrongPurpose);
    }
    if record.used_at.is_some() {
        return Err(TokenError::Used);
    }
    if now >= record.expires_at {
        return Err(TokenError::Expired);
    }
    Ok(())
}

/// Whether two keyed hashes are equal, in constant time.
pub(crate) fn hashes_equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// 256 random bits as 64 lowercase hex digits.
pub(crate) fn new_secret() -> String {
    hex::encode(rand::random::<[u8; TOKEN_BYTES]>())
}

/// Whether `text` has the form of a token (64 hex digits): anything else is refused before
/// any lookup.
pub(crate) fn looks_like_token(text: &str) -> bool {
    text.len() == 2 * TOKEN_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An address as tokens and throttles compare it: trimmed and lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn binding<'a>(email: &'a str, hash: &'a [u8]) -> Binding<'a> {
        Binding {
            user_id: "7",
            email,
            session_hash: hash,
            extra: b"",
        }
    }

    #[test]
    fn a_token_is_checked_against_purpose_use_expiry_and_binding() {
        let hasher = Hasher::new(&SecretKey::generate()).unwrap();
        let now = SystemTime::now();
        let issued = hasher.issue(
            Purpose::ResetPassword,
            binding("a@example.com", b"h1"),
            now,
            Duration::from_secs(60),
        );
        assert!(looks_like_token(&issued.token));
        assert_eq!(issued.record.hash, hasher.token_hash(&issued.token));
        assert!(!issued.record.hash.contains(&issued.token));
        let record = &issued.record;
        let ok = binding("A@Example.com ", b"h1");
        assert_eq!(
            hasher.check(record, Purpose::ResetPassword, ok, now),
            Ok(())
        );
        assert_eq!(
            hasher.check(record, Purpose::VerifyEmail, ok, now),
            Err(TokenError::WrongPurpose)
        );
        let later = now + Duration::from_secs(60);
        assert_eq!(
            hasher.check(record, Purpose::ResetPassword, ok, later),
            Err(TokenError::Expired)
        );
        let new_password = binding("a@example.com", b"h2");
        assert_eq!(
            hasher.check(record, Purpose::ResetPassword, new_password, now),
            Err(TokenError::Stale)
        );
        let new_email = binding("b@example.com", b"h1");
        assert_eq!(
            hasher.check(record, Purpose::ResetPassword, new_email, now),
            Err(TokenError::Stale)
        );
        let mut used = record.clone();
        used.used_at = Some(now);
        assert_eq!(
            hasher.check(&used, Purpose::ResetPassword, ok, now),
            Err(TokenError::Used)
        );
    }

    #[test]
    fn another_key_gives_other_hashes() {
        let (a, b) = (
            Hasher::new(&SecretKey::generate()).unwrap(),
            Hasher::new(&SecretKey::generate()).unwrap(),
        );
        assert_ne!(a.token_hash("t"), b.token_hash("t"));
        assert_ne!(a.token_hash("t"), a.code_hash("t", ""));
    }

    #[test]
    fn the_issued_token_is_not_in_its_debug_output() {
        let hasher = Hasher::new(&SecretKey::generate()).unwrap();
        let issued = hasher.issue(
            Purpose::SignIn,
            binding("a@example.com", b"h"),
            SystemTime::now(),
            Duration::from_secs(1),
        );
        assert!(!format!("{issued:?}").contains(&issued.token));
    }
}
