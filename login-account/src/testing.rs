//! For tests: an [`Outbox`] that keeps the mails a test sent, a clock that moves when told
//! ([`Clock::manual`](crate::Clock::manual)), and [`token_store_conformance`], the rules every
//! [`TokenStore`] must pass.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::mail::{Mail, MailError, Mailer};
use crate::store::TokenStore;
use crate::token::{Purpose, TokenRecord};

/// A mailer that keeps every mail instead of sending it. Clones share the mails.
///
/// ```
/// use login_account::testing::Outbox;
///
/// let outbox = Outbox::new();
/// assert!(outbox.mails().is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    mails: Arc<Mutex<Vec<Mail>>>,
    failing: Arc<Mutex<bool>>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every mail sent so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The mails sent to `address`, oldest first.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|mail| mail.to.eq_ignore_ascii_case(address))
            .collect()
    }

    /// The latest mail to `address`.
    pub fn last_to(&self, address: &str) -> Option<Mail> {
        self.to(address).pop()
    }

    /// Forgets every mail.
    pub fn clear(&self) {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// While `failing`, every send fails as a mail server that is down does.
    pub fn set_failing(&self, failing: bool) {
        *self.failing.lock().unwrap_or_else(|p| p.into_inner()) = failing;
    }
}

impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if *self.failing.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(MailError::Send("the test outbox is set to fail".into()));
        }
        self.mails
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(mail.clone());
        Ok(())
    }
}

/// Where a conformance check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token store conformance: {0}")]
pub struct ConformanceError(pub String);

fn record(hash: &str, user_id: &str, purpose: Purpose, expires_in: Duration) -> TokenRecord {
    let now = SystemTime::now();
    TokenRecord {
        hash: hash.to_owned(),
        purpose,
        user_id: user_id.to_owned(),
        binding: "b".repeat(64),
        data: Some("new@example.com".to_owned()),
        code_hash: Some("c".repeat(64)),
        // Whole seconds: stores that keep seconds give back what they were given.
        created_at: round(now),
        expires_at: round(now + expires_in),
        used_at: None,
    }
}

fn round(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn ensure(ok: bool, what: &str) -> Result<(), ConformanceError> {
    if ok {
        Ok(())
    } else {
        Err(ConformanceError(what.to_owned()))
    }
}

/// Runs the rules every [`TokenStore`] must pass against stores made by `new_store` (each
/// call a store that shares nothing with the others, or a fresh one over the same backend):
/// a token is found as stored, a consume is atomic and final, revoke and purge remove what
/// they say and nothing else.
///
/// ```
/// # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
/// use login_account::MemoryTokenStore;
/// login_account::testing::token_store_conformance(MemoryTokenStore::new).await.unwrap();
/// # }
/// ```
pub async fn token_store_conformance<T: TokenStore>(
    new_store: impl Fn() -> T,
) -> Result<(), ConformanceError> {
    let fail = |error: T::Error| ConformanceError(error.to_string());
    let hour = Duration::from_secs(3600);
    let unique = hex::encode(rand::random::<[u8; 8]>());
    let hash = |n: u8| format!("{unique}{n:0>48}");
    // User ids of this run only, for stores over a shared backend.
    let (one, two, three) = (
        format!("{unique}-1"),
        format!("{unique}-2"),
        format!("{unique}-3"),
    );

    let store = new_store();
    let first = record(&hash(1), &one, Purpose::ResetPassword, hour);
    store.insert(&first).await.map_err(fail)?;
    let found = store.find(&first.hash).await.map_err(fail)?;
    ensure(
        found.as_ref() == Some(&first),
        "find returns the record as inserted",
    )?;
    ensure(
        store.find(&hash(99)).await.map_err(fail)?.is_none(),
        "find of an unknown hash is None",
    )?;

    // Two concurrent consumes: exactly one sees the token unused.
    let at = round(SystemTime::now());
    let (a, b) = futures_util::future::join(
        store.consume(&first.hash, at),
        store.consume(&first.hash, at),
    )
    .await;
    let (a, b) = (a.map_err(fail)?, b.map_err(fail)?);
    let unused = [&a, &b]
        .iter()
        .filter(|before| before.as_ref().is_some_and(|r| r.used_at.is_none()))
        .count();
    ensure(
        unused == 1,
        "of two consumes, exactly one sees the token unused",
    )?;
    let after = store.find(&first.hash).await.map_err(fail)?;
    ensure(
        after.as_ref().and_then(|r| r.used_at) == Some(at),
        "a consumed token is kept, with its use time",
    )?;
    let again = store.consume(&first.hash, at + hour).await.map_err(fail)?;
    ensure(
        again.and_then(|r| r.used_at) == Some(at),
        "a second consume changes nothing and reports the first use",
    )?;
    ensure(
        store.consume(&hash(98), at).await.map_err(fail)?.is_none(),
        "consume of an unknown hash is None",
    )?;

    // Revoke: only the user's unused tokens of that purpose.
    let other = new_store();
    let keep_used = first.clone();
    let pending = record(&hash(2), &one, Purpose::ResetPassword, hour);
    let other_purpose = record(&hash(3), &one, Purpose::SignIn, hour);
    let other_user = record(&hash(4), &two, Purpose::ResetPassword, hour);
    for record in [&pending, &other_purpose, &other_user] {
        other.insert(record).await.map_err(fail)?;
    }
    let revoked = other
        .revoke(&one, Purpose::ResetPassword)
        .await
        .map_err(fail)?;
    ensure(
        revoked == 1,
        "revoke removes the user's unused tokens of the purpose only",
    )?;
    ensure(
        other.find(&pending.hash).await.map_err(fail)?.is_none(),
        "a revoked token is gone",
    )?;
    ensure(
        other
            .find(&other_purpose.hash)
            .await
            .map_err(fail)?
            .is_some()
            && other.find(&other_user.hash).await.map_err(fail)?.is_some(),
        "revoke leaves other purposes and other users alone",
    )?;
    let revoked = store
        .revoke(&one, Purpose::ResetPassword)
        .await
        .map_err(fail)?;
    ensure(
        revoked == 0 && store.find(&keep_used.hash).await.map_err(fail)?.is_some(),
        "revoke leaves used tokens (they tell a second use from a forgery)",
    )?;

    // Purge: only what expired.
    let purged_store = new_store();
    let expired = record(&hash(5), &three, Purpose::VerifyEmail, Duration::ZERO);
    let alive = record(&hash(6), &three, Purpose::VerifyEmail, hour);
    purged_store.insert(&expired).await.map_err(fail)?;
    purged_store.insert(&alive).await.map_err(fail)?;
    let purged = purged_store
        .purge_expired(expired.expires_at + Duration::from_secs(1))
        .await
        .map_err(fail)?;
    ensure(purged >= 1, "purge removes expired tokens")?;
    ensure(
        purged_store
            .find(&expired.hash)
            .await
            .map_err(fail)?
            .is_none()
            && purged_store
                .find(&alive.hash)
                .await
                .map_err(fail)?
                .is_some(),
        "purge keeps tokens that have not expired",
    )?;
    Ok(())
}

/// A delivered message as a person reads it: quoted-printable undone (soft line breaks
/// joined, `=XX` decoded), for tests that read what a real SMTP server received. Text that is
/// not quoted-printable comes back unchanged but for a lone `=` at a line's end.
///
/// ```
/// use login_account::testing::decode_quoted_printable;
///
/// let raw = "https://app.example/reset?token=3D0123=\r\nabcd and =E2=80=94 done";
/// assert_eq!(decode_quoted_printable(raw), "https://app.example/reset?token=0123abcd and — done");
/// ```
pub fn decode_quoted_printable(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte != b'=' {
            out.push(byte);
            i += 1;
            continue;
        }
        let rest = bytes.get(i + 1..).unwrap_or_default();
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(decoded) = rest
            .get(..2)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(decoded);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
