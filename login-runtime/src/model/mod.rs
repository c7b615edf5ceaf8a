//! The model: who a user is ([`user`]), how to find one ([`loader`]), and the permission
//! vocabulary ([`permission`]). Imports only leaves.

pub(crate) mod loader;
pub(crate) mod permission;
pub(crate) mod user;
