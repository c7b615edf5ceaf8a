//! The login as the session records it.

use actix_session::Session;
use actix_web::HttpRequest;

use crate::core::config::Config;
use crate::core::entry::{LoginEntry, write_entry};
use crate::core::error::LoginError;
use crate::core::hooks::LoginStamp;
use crate::core::methods::{AuthMethod, encode};
use crate::core::protection::identifier;
use crate::core::session::put;

/// A login to write into the session.
pub(crate) struct LoginRecord<'a> {
    pub(crate) user_id: &'a str,
    /// Made with credentials in this session.
    pub(crate) fresh: bool,
    /// The keyed tag of the user's session hash, if they have one.
    pub(crate) tag: Option<&'a str>,
    /// How it was made.
    pub(crate) methods: &'a [AuthMethod],
}

/// Writes a login into the session: the user's id, whether it is fresh, the client's
/// identifier for session protection, the user's session hash tag if they have one, how it was
/// made, and what the configured features stamped it with.
pub(crate) fn write_login(
    session: &Session,
    req: &HttpRequest,
    config: &Config,
    login: &LoginRecord<'_>,
    stamps: &[LoginStamp],
) -> Result<(), LoginError> {
    let LoginRecord {
        user_id,
        fresh,
        tag,
        methods,
    } = *login;
    let entry = LoginEntry {
        user_id: user_id.to_owned(),
        fresh,
        identifier: identifier(req, &config.proxies).as_str().to_owned(),
        tag: tag.map(str::to_owned),
        methods: encode(methods),
    };
    write_entry(session, config, &entry)?;
    for (key, value) in stamps.iter().flat_map(|stamp| &stamp.entries) {
        put(session, &config.session_key(key), value)?;
    }
    Ok(())
}
