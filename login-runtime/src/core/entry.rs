//! The login as one compact session entry: `_l` (`_l.<realm>` for another kind of user than
//! the default), a string that holds whether the login is
//! fresh, the client's session-protection identifier, the user's session hash tag, how the
//! login was made, and the user's id, in that order:
//!
//! ```text
//! 1F<identifier: 16 base64url>|<tag: 32 hex, or empty>|<methods, space-separated>|<user id>
//! ```
//!
//! `1` is the format's version, `F` fresh (`-` not). One entry instead of one per field keeps
//! the session (and a cookie session's cookie) short and is one lookup per request. Sessions
//! written before it, with the fields as separate keys (`_user_id`, `_fresh`, `_id`,
//! `_auth_hash`, `_amr`), are still read, and rewritten in this form on their next change.

use std::borrow::Cow;

use actix_session::Session;

use crate::core::config::Config;
use crate::core::error::LoginError;
use crate::core::session::{
    AUTH_HASH, FRESH, IDENTIFIER, LEGACY_KEYS, METHODS, USER_ID, json_str, put, read, read_str,
};

const VERSION: char = '1';
const SEPARATOR: char = '|';

/// A login as the session holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginEntry {
    pub(crate) user_id: String,
    /// Made with credentials in this session.
    pub(crate) fresh: bool,
    /// The session-protection identifier of the client that logged in.
    pub(crate) identifier: String,
    /// The keyed tag of the user's session hash, if they have one.
    pub(crate) tag: Option<String>,
    /// How it was made: `AuthMethod` tokens, space-separated (empty: nothing recorded).
    pub(crate) methods: String,
}

impl LoginEntry {
    /// The entry's value in the session.
    fn encode(&self) -> String {
        let mut text = String::with_capacity(
            24 + self.identifier.len() + self.methods.len() + self.user_id.len(),
        );
        text.push(VERSION);
        text.push(if self.fresh { 'F' } else { '-' });
        text.push_str(&self.identifier);
        text.push(SEPARATOR);
        text.push_str(self.tag.as_deref().unwrap_or_default());
        text.push(SEPARATOR);
        text.push_str(&self.methods);
        text.push(SEPARATOR);
        text.push_str(&self.user_id);
        text
    }
}

/// The login's fields, borrowed from the session's value where it needs no unescaping.
#[derive(Debug)]
pub(crate) struct EntryRef<'a> {
    pub(crate) fresh: bool,
    pub(crate) identifier: &'a str,
    pub(crate) tag: Option<&'a str>,
    pub(crate) methods: &'a str,
    pub(crate) user_id: &'a str,
}

impl EntryRef<'_> {
    pub(crate) fn to_owned(&self) -> LoginEntry {
        LoginEntry {
            user_id: self.user_id.to_owned(),
            fresh: self.fresh,
            identifier: self.identifier.to_owned(),
            tag: self.tag.map(str::to_owned),
            methods: self.methods.to_owned(),
        }
    }
}

/// Splits an entry's value; `None` for anything this version did not write (it reads as no
/// login, never as someone's).
fn parse(text: &str) -> Option<EntryRef<'_>> {
    let mut chars = text.char_indices();
    if chars.next()?.1 != VERSION {
        return None;
    }
    let fresh = match chars.next()?.1 {
        'F' => true,
        '-' => false,
        _ => return None,
    };
    let rest = text.get(2..)?;
    let (identifier, rest) = rest.split_once(SEPARATOR)?;
    let (tag, rest) = rest.split_once(SEPARATOR)?;
    let (methods, user_id) = rest.split_once(SEPARATOR)?;
    if user_id.is_empty() {
        return None;
    }
    Some(EntryRef {
        fresh,
        identifier,
        tag: (!tag.is_empty()).then_some(tag),
        methods,
        user_id,
    })
}

/// Calls `f` with the session's login of `config`'s kind of user, if it holds one: the
/// compact entry, borrowed (one lookup, no copy for the usual value), or an older session's
/// separate keys.
pub(crate) fn with_entry<T>(
    session: &Session,
    config: &Config,
    f: impl FnOnce(&EntryRef<'_>) -> T,
) -> Option<T> {
    {
        let entries = session.entries();
        if let Some(raw) = entries.get(config.login_key.as_str()) {
            let text = json_str(raw)?;
            return match text {
                Cow::Borrowed(text) => parse(text).map(|entry| f(&entry)),
                Cow::Owned(text) => parse(&text).map(|entry| f(&entry)),
            };
        }
    }
    // Only the default kind of user had logins before the compact entry.
    if config.realm.is_some() {
        return None;
    }
    let legacy = legacy_entry(session)?;
    let entry = EntryRef {
        fresh: legacy.fresh,
        identifier: &legacy.identifier,
        tag: legacy.tag.as_deref(),
        methods: &legacy.methods,
        user_id: &legacy.user_id,
    };
    Some(f(&entry))
}

/// The session's login, copied.
pub(crate) fn read_entry(session: &Session, config: &Config) -> Option<LoginEntry> {
    with_entry(session, config, |entry| entry.to_owned())
}

/// The id of the session's login's user.
pub(crate) fn login_user_id(session: &Session, config: &Config) -> Option<String> {
    with_entry(session, config, |entry| entry.user_id.to_owned())
}

/// Writes `entry` as the session's login, in the compact form; an older session's separate
/// keys go.
pub(crate) fn write_entry(
    session: &Session,
    config: &Config,
    entry: &LoginEntry,
) -> Result<(), LoginError> {
    if config.realm.is_none() {
        for key in LEGACY_KEYS {
            if session.contains_key(key) {
                session.remove(key);
            }
        }
    }
    put(session, &config.login_key, entry.encode())
}

/// Changes the session's login with `change`, and writes it back if it changed.
pub(crate) fn update_entry(
    session: &Session,
    config: &Config,
    change: impl FnOnce(&mut LoginEntry),
) -> Result<(), LoginError> {
    let Some(mut entry) = read_entry(session, config) else {
        return Ok(());
    };
    let before = entry.clone();
    change(&mut entry);
    if entry == before {
        return Ok(());
    }
    write_entry(session, config, &entry)
}

/// A login written before the compact entry: one key per field.
fn legacy_entry(session: &Session) -> Option<LoginEntry> {
    let user_id = read_str(session, USER_ID)?;
    Some(LoginEntry {
        user_id,
        fresh: read::<bool>(session, FRESH) == Some(true),
        identifier: read_str(session, IDENTIFIER).unwrap_or_default(),
        tag: read_str(session, AUTH_HASH),
        methods: read_str(session, METHODS).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::{LoginEntry, parse};

    fn entry(user_id: &str, tag: Option<&str>, methods: &str) -> LoginEntry {
        LoginEntry {
            user_id: user_id.to_owned(),
            fresh: true,
            identifier: "AbCdEfGhIjKlMnOp".to_owned(),
            tag: tag.map(str::to_owned),
            methods: methods.to_owned(),
        }
    }

    #[test]
    fn an_entry_round_trips_whatever_its_user_id_holds() {
        for user_id in ["1", "alice@example.com", "a|b|c", "佐藤", "\"quoted\\\""] {
            for tag in [None, Some("0123456789abcdef0123456789abcdef")] {
                for methods in ["", "pwd otp", "idp:github"] {
                    let written = entry(user_id, tag, methods);
                    let text = written.encode();
                    assert_eq!(parse(&text).map(|e| e.to_owned()), Some(written), "{text}");
                }
            }
        }
        let stale = LoginEntry {
            fresh: false,
            ..entry("7", None, "")
        };
        assert_eq!(stale.encode(), "1-AbCdEfGhIjKlMnOp|||7");
    }

    #[test]
    fn what_this_version_did_not_write_is_no_login() {
        for text in [
            "",
            "1",
            "1F",
            "2FAbCdEfGhIjKlMnOp|||7",
            "1XAbCd|||7",
            "1FAbCd||7",
            "1FAbCd|||",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}
