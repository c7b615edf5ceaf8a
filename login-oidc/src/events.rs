//! What happened to a sign-in, for the app's audit log.

use crate::OidcError;

/// How the signed-in user was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Matched {
    /// Already linked to the identity ([`OidcUsers::find`](crate::OidcUsers::find)).
    Found,
    /// An existing account, linked now ([`OidcUsers::linkable`](crate::OidcUsers::linkable)).
    Linked,
    /// A new account ([`OidcUsers::create`](crate::OidcUsers::create)).
    Created,
}

/// One sign-in's outcome. Delivered to the callbacks registered with
/// [`Oidc::on_event`](crate::Oidc::on_event) and always emitted as a `tracing` event
/// (target `login_oidc`), never with a token, code, state or nonce in it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OidcEvent {
    /// A visitor was sent to the provider.
    Started,
    /// A verified identity was logged in.
    SignedIn {
        /// The issuer.
        issuer: String,
        /// The subject at the issuer.
        subject: String,
        /// The local user's id.
        user_id: String,
        /// How the local user was found.
        matched: Matched,
    },
    /// A sign-in was refused; nobody was logged in.
    Refused {
        /// Why.
        error: OidcError,
    },
}

impl OidcEvent {
    pub(crate) fn trace(&self) {
        match self {
            OidcEvent::Started => {
                tracing::debug!(target: "login_oidc", event = "started");
            }
            OidcEvent::SignedIn {
                issuer,
                subject,
                user_id,
                matched,
            } => {
                tracing::info!(target: "login_oidc", event = "signed_in", %issuer, %subject, %user_id, ?matched);
            }
            OidcEvent::Refused { error } => {
                tracing::warn!(target: "login_oidc", event = "refused", code = error.code(), %error);
            }
        }
    }
}
