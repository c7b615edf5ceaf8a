//! Session protection (Flask-Login's `SESSION_PROTECTION`): the client identifier stored at
//! login, and what a request from a different client does to the login.

use std::cell::RefCell;
use std::net::IpAddr;

use actix_session::Session;
use actix_web::HttpRequest;
use actix_web::http::header;
use sha2::{Digest, Sha512};

use crate::client::{ClientAddress, ProxyTrust};
use crate::core::config::SessionProtection;
use crate::core::cookie::CookieAction;
use crate::core::entry::{read_entry, update_entry, with_entry};
use crate::core::error::LoginError;
use crate::core::session::remove_login_keys;
use crate::core::state::RequestState;
use crate::events::LoginEvent;
use crate::key::DigestMemo;

/// What resolving a request needs of the session's login, read once with protection: the
/// user's id and the session hash tag (copied to the stack when it has the usual length).
pub(crate) struct Snapshot {
    pub(crate) user_id: String,
    pub(crate) tag: Tag,
}

/// A session hash tag as read from the session.
pub(crate) enum Tag {
    None,
    /// The usual 32 hex characters.
    Hex([u8; 32]),
    /// Anything else the session holds (then it matches no user's tag).
    Other(String),
}

impl Tag {
    fn of(tag: Option<&str>) -> Tag {
        match tag {
            None => Tag::None,
            Some(tag) => match <[u8; 32]>::try_from(tag.as_bytes()) {
                Ok(hex) => Tag::Hex(hex),
                Err(_) => Tag::Other(tag.to_owned()),
            },
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Tag::None => None,
            Tag::Hex(hex) => std::str::from_utf8(hex).ok(),
            Tag::Other(text) => Some(text),
        }
    }
}

impl RequestState {
    /// Session protection, then the session's login as a [`Snapshot`]: for the usual request
    /// (the same client, protection already or never to run) one read of the session.
    pub(crate) fn protect_and_read(
        &self,
        req: &HttpRequest,
        session: &Session,
    ) -> Result<Option<Snapshot>, LoginError> {
        let config = self.config();
        let checking = !self.protected.get() && config.protection != SessionProtection::Off;
        let expected = checking.then(|| identifier(req, &config.proxies));
        let read = with_entry(session, config, |entry| {
            let same = expected
                .as_ref()
                .is_none_or(|expected| entry.identifier.as_bytes() == expected.as_bytes());
            let snapshot = same.then(|| Snapshot {
                user_id: entry.user_id.to_owned(),
                tag: Tag::of(entry.tag),
            });
            (same, snapshot)
        });
        match read {
            None => {
                self.protected.set(true);
                Ok(None)
            }
            Some((true, snapshot)) => {
                self.protected.set(true);
                Ok(snapshot)
            }
            // Another client: the whole of protection, then what is left of the login.
            Some((false, _)) => {
                self.protect(req)?;
                Ok(with_entry(session, config, |entry| Snapshot {
                    user_id: entry.user_id.to_owned(),
                    tag: Tag::of(entry.tag),
                }))
            }
        }
    }

    /// Session protection, run at most once per request and only for a session that holds a
    /// login (an anonymous session is never touched).
    pub(crate) fn protect(&self, req: &HttpRequest) -> Result<(), LoginError> {
        if self.protected.replace(true) {
            return Ok(());
        }
        let config = self.config();
        let mode = config.protection;
        if mode == SessionProtection::Off {
            return Ok(());
        }
        let session = self.session(req)?;
        let expected = identifier(req, &config.proxies);
        // The usual request: the same client as at login, in a compact entry.
        let Some((same, compact)) = with_entry(&session, config, |entry| {
            (
                entry.identifier.as_bytes() == expected.as_bytes(),
                entry.identifier.len() == expected.as_bytes().len(),
            )
        }) else {
            // An anonymous session is never touched.
            return Ok(());
        };
        if same {
            return Ok(());
        }
        let Some(entry) = read_entry(&session, config) else {
            return Ok(());
        };
        // A session written before identifiers were compact holds the 128-hex SHA-512 one:
        // the same client is recognised by it, and its identifier rewritten in the new form.
        if !compact
            && entry.identifier.len() == 128
            && entry.identifier == legacy_identifier(req, &config.proxies)
        {
            return update_entry(&session, config, |entry| {
                entry.identifier = expected.as_str().to_owned();
            });
        }
        let user_id = Some(entry.user_id);
        match mode {
            SessionProtection::Strong => {
                // A different client: drop the login (never the app's own keys) and its
                // remember cookie, so a stolen session cookie is worth nothing.
                remove_login_keys(&session, config);
                self.set_cookie_action(CookieAction::Clear);
                self.emit(LoginEvent::SessionProtected {
                    user_id,
                    dropped: true,
                });
            }
            _ => {
                // A different client keeps the login, but no longer fresh: sensitive pages
                // ask for the password again.
                update_entry(&session, config, |entry| entry.fresh = false)?;
                self.emit(LoginEvent::SessionProtected {
                    user_id,
                    dropped: false,
                });
            }
        }
        Ok(())
    }
}

/// Domain separation for [`identifier`], hashed first.
const IDENTIFIER_DOMAIN: &[u8] = b"login-runtime/session-identifier/v2\x00";

/// Bytes of the SHA-512 kept in the identifier: 96 bits, as base64url 16 characters.
const IDENTIFIER_BYTES: usize = 12;

/// The session-protection identifier of a client: 16 base64url characters.
pub(crate) struct Identifier([u8; IDENTIFIER_BYTES / 3 * 4]);

impl Identifier {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn as_str(&self) -> &str {
        // Always base64url characters, ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The client's identifier for session protection: SHA-512 of its address and User-Agent
/// (as Flask-Login's `_create_identifier`), truncated to 96 bits. The session stores this
/// digest, never the address or the agent. The address is the socket's, unless the app opted
/// in to trusting proxy headers. Each part is written unambiguously (a kind byte, lengths),
/// so no two clients share an input.
pub(crate) fn identifier(req: &HttpRequest, proxies: &ProxyTrust) -> Identifier {
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map_or(&b""[..], |agent| agent.as_bytes());
    if proxies.reads_headers() {
        // The address as text, as it has always been hashed behind a proxy.
        let address = ClientAddress::of(req, proxies)
            .to_text()
            .unwrap_or_default();
        return hash_identifier(
            b's',
            &[&(address.len() as u64).to_le_bytes(), address.as_bytes()],
            agent,
        );
    }
    // The socket's address: the same client on a keep-alive connection asks for the same
    // identifier request after request, so the answer is memoised per worker thread.
    let (kind, octets) = match ClientAddress::of(req, &ProxyTrust::Nobody) {
        ClientAddress::Ip(IpAddr::V4(ip)) => (4, ip.to_ipv6_mapped().octets()),
        ClientAddress::Ip(IpAddr::V6(ip)) => (6, ip.octets()),
        _ => (0, [0; 16]),
    };
    let address: &[u8] = match kind {
        4 => octets.get(12..).unwrap_or_default(),
        6 => &octets,
        _ => &[],
    };
    let mut input = [0_u8; 1 + 16 + MEMOISED_AGENT_LEN];
    let memo_key = (agent.len() <= MEMOISED_AGENT_LEN).then(|| {
        let parts = std::iter::once(kind)
            .chain(address.iter().copied())
            .chain(agent.iter().copied());
        let mut len = 0;
        for (slot, byte) in input.iter_mut().zip(parts) {
            *slot = byte;
            len += 1;
        }
        input.get(..len).unwrap_or_default()
    });
    let compute = || hash_identifier(kind, &[address], agent).0;
    let identifier = match memo_key {
        Some(key) => IDENTIFIER_MEMO
            .try_with(|memo| match memo.try_borrow_mut() {
                Ok(mut memo) => memo.get_or_compute(0, key, || widen(compute())),
                Err(_) => widen(compute()),
            })
            .unwrap_or_else(|_| widen(compute())),
        None => widen(compute()),
    };
    let mut narrow = [0_u8; IDENTIFIER_BYTES / 3 * 4];
    for (out, byte) in narrow.iter_mut().zip(identifier.iter()) {
        *out = *byte;
    }
    Identifier(narrow)
}

/// Longest User-Agent whose identifier is memoised (longer ones are hashed every time).
const MEMOISED_AGENT_LEN: usize = 495;

thread_local! {
    /// The memo of [`identifier`], per worker thread.
    static IDENTIFIER_MEMO: RefCell<DigestMemo> = const { RefCell::new(DigestMemo::new()) };
}

/// An identifier in the memo's 32-byte slot.
fn widen(identifier: [u8; IDENTIFIER_BYTES / 3 * 4]) -> [u8; 32] {
    let mut wide = [0_u8; 32];
    for (out, byte) in wide.iter_mut().zip(identifier.iter()) {
        *out = *byte;
    }
    wide
}

/// SHA-512 of the domain, the address kind, the address parts and the agent, truncated.
fn hash_identifier(kind: u8, address: &[&[u8]], agent: &[u8]) -> Identifier {
    let mut hasher = Sha512::new();
    hasher.update(IDENTIFIER_DOMAIN);
    hasher.update([kind]);
    for part in address {
        hasher.update(part);
    }
    // The agent's bytes as sent, last: nothing follows them.
    hasher.update(agent);
    let digest = hasher.finalize();
    let mut truncated = [0_u8; IDENTIFIER_BYTES];
    for (out, byte) in truncated.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    Identifier(base64url(&truncated))
}

/// Unpadded base64url of a multiple of three bytes.
fn base64url<const N: usize, const M: usize>(bytes: &[u8; N]) -> [u8; M] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = [0_u8; M];
    for (chars, group) in out.chunks_exact_mut(4).zip(bytes.chunks_exact(3)) {
        let [a, b, c] = [0, 1, 2].map(|i| u32::from(group.get(i).copied().unwrap_or(0)));
        let bits = (a << 16) | (b << 8) | c;
        for (i, char) in chars.iter_mut().enumerate() {
            let sextet = (bits >> (18 - 6 * i)) & 0x3f;
            *char = ALPHABET.get(sextet as usize).copied().unwrap_or(b'A');
        }
    }
    out
}

/// The identifier sessions stored before 0.1's compact one: hex SHA-512 of `address|agent`.
/// Only computed for a session that holds one.
fn legacy_identifier(req: &HttpRequest, proxies: &ProxyTrust) -> String {
    let address = ClientAddress::of(req, proxies).to_text();
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let mut hasher = Sha512::new();
    hasher.update(address.unwrap_or_default().as_bytes());
    hasher.update(b"|");
    hasher.update(agent.unwrap_or_default().as_bytes());
    hex::encode(hasher.finalize())
}
