//! The core: the login state of one request and everything it needs, importing no feature.
//!
//! - [`config`]: what a `LoginManager` was configured with; [`error`]: what can go wrong.
//! - [`session`]: the login's keys in the session; [`entry`]: the login as one compact
//!   entry; [`record`]: a new login as it is written.
//! - [`backend`]: the `UserLoader` with its user type erased.
//! - [`methods`]: how a login was made (password, one-time code, passkey, provider).
//! - [`state`]: the per-request state; [`resolve`]: session → remember cookie → request
//!   loader; [`protection`]: session protection; [`ops`]: login, logout, confirm.
//! - [`cookie`]: the remember cookie, read and written in one place.
//! - [`hooks`]: the plug boundary through which features take part in every request;
//!   [`events`]: event sinks that may wait; [`scope`]: the request being served, for the
//!   error responses actix asks for without it.

pub(crate) mod backend;
pub(crate) mod config;
pub(crate) mod cookie;
pub(crate) mod entry;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod hooks;
pub(crate) mod methods;
pub(crate) mod ops;
pub(crate) mod protection;
pub(crate) mod record;
pub(crate) mod resolve;
pub(crate) mod scope;
pub(crate) mod session;
pub(crate) mod state;
