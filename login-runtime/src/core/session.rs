//! The login's keys in the actix-session `Session`, and reading and writing them.
//!
//! Everything else in the session belongs to the application and is never touched.

use std::borrow::Cow;

use actix_session::Session;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::config::Config;
use crate::core::error::LoginError;

/// Before the compact entry: the logged-in user's id.
pub(crate) const USER_ID: &str = "_user_id";
/// Before the compact entry: `true` when the login was made with credentials in this session.
pub(crate) const FRESH: &str = "_fresh";
/// Before the compact entry: the session-protection identifier of the client that logged in.
pub(crate) const IDENTIFIER: &str = "_id";
/// Before the compact entry: the keyed tag of the user's session hash at login.
pub(crate) const AUTH_HASH: &str = "_auth_hash";
/// Before the compact entry: how the login was made.
pub(crate) const METHODS: &str = "_amr";

/// The keys of a login written before the compact entry (the default kind of user only).
pub(crate) const LEGACY_KEYS: [&str; 5] = [USER_ID, FRESH, IDENTIFIER, AUTH_HASH, METHODS];

/// Reads one of our keys; a value of the wrong shape (tampered, or written by something
/// else) reads as absent rather than failing the request.
pub(crate) fn read<T: DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    session.get::<T>(key).ok().flatten()
}

/// [`read`] for a string, without the JSON parser for the usual value (no escapes).
pub(crate) fn read_str(session: &Session, key: &str) -> Option<String> {
    session
        .entries()
        .get(key)
        .and_then(|raw| json_str(raw))
        .map(Cow::into_owned)
}

/// The string a session value (JSON) holds, or `None` if it holds something else. A string
/// without escapes is borrowed as it stands; anything else goes through `serde_json`, so the
/// answer is always the one `serde_json` gives.
pub(crate) fn json_str(raw: &str) -> Option<Cow<'_, str>> {
    let plain = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| inner.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    match plain {
        Some(inner) => Some(Cow::Borrowed(inner)),
        None => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
    }
}

/// Writes one of our keys.
pub(crate) fn put<T: Serialize>(session: &Session, key: &str, value: T) -> Result<(), LoginError> {
    session
        .insert(key, value)
        .map_err(|error| LoginError::Session(error.to_string()))
}

/// Removes the login from the session: its entry (and an older session's keys), and every
/// configured feature's keys, of this manager's kind of user only.
pub(crate) fn remove_login_keys(session: &Session, config: &Config) {
    let mut remove = |key: &str| {
        if session.contains_key(key) {
            session.remove(key);
        }
    };
    remove(&config.login_key);
    if config.realm.is_none() {
        LEGACY_KEYS.into_iter().for_each(&mut remove);
    }
    for key in config.hooks.iter().flat_map(|hook| hook.session_keys()) {
        remove(&config.session_key(key));
    }
}
