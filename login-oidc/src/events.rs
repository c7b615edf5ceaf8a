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
/// [`Oidc::on_event`](crate::Oidc::on_event), to the sinks of
/// [`Oidc::event_sink`](crate::Oidc::event_sink), and always emitted as a `tracing` event
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
    /// A verified identity whose account has a second factor: nobody is logged in yet, the
    /// visitor was sent on to the app's second step (login-runtime's
    /// [`SecondStepGate`](login_runtime::SecondStepGate)).
    SecondFactorAsked {
        /// The issuer.
        issuer: String,
        /// The subject at the issuer.
        subject: String,
        /// The local user's id.
        user_id: String,
        /// How the local user was found.
        matched: Matched,
    },
    /// The logged-in user re-authenticated at the provider: the login is fresh again.
    Reauthenticated {
        /// The issuer.
        issuer: String,
        /// The subject at the issuer.
        subject: String,
        /// The local user's id.
        user_id: String,
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
            OidcEvent::SecondFactorAsked {
                issuer,
                subject,
                user_id,
                matched,
            } => {
                tracing::info!(target: "login_oidc", event = "second_factor_asked", %issuer, %subject, %user_id, ?matched);
            }
            OidcEvent::Reauthenticated {
                issuer,
                subject,
                user_id,
            } => {
                tracing::info!(target: "login_oidc", event = "reauthenticated", %issuer, %subject, %user_id);
            }
            // What the operator must fix is an error in the log, not a visitor's bad luck.
            OidcEvent::Refused { error } if error.is_misconfiguration() => {
                tracing::error!(target: "login_oidc", event = "refused", code = error.code(), %error);
            }
            OidcEvent::Refused { error } => {
                tracing::warn!(target: "login_oidc", event = "refused", code = error.code(), %error);
            }
        }
    }
}

/// Where login-oidc's events go when the app must wait for them: an audit row in a database,
/// written before the answer goes out. The `/oidc/*` handler awaits
/// [`deliver`](Self::deliver) for each event of its request; an error fails the request (a
/// 500), as login-runtime's `EventSink` does, so nothing goes unrecorded. Register one with
/// [`Oidc::event_sink`](crate::Oidc::event_sink); quick, synchronous callbacks use
/// [`Oidc::on_event`](crate::Oidc::on_event).
///
/// ```
/// use actix_web::HttpRequest;
/// use login_oidc::{OidcEvent, OidcEventSink};
///
/// struct Audit;
///
/// impl OidcEventSink for Audit {
///     async fn deliver(&self, event: &OidcEvent, req: &HttpRequest) -> actix_web::Result<()> {
///         if let OidcEvent::SignedIn { user_id, .. } = event {
///             // INSERT INTO audit_log … (user_id, req.peer_addr(), now)
///             let _ = (user_id, req.peer_addr());
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait OidcEventSink: Send + Sync + 'static {
    /// Delivers one event of the request `req`.
    fn deliver(
        &self,
        event: &OidcEvent,
        req: &actix_web::HttpRequest,
    ) -> impl std::future::Future<Output = Result<(), actix_web::Error>>;
}

/// [`OidcEventSink`] with a boxed future, so an [`Oidc`](crate::Oidc) can hold any sink.
pub(crate) trait ErasedSink: Send + Sync {
    fn deliver<'a>(
        &'a self,
        event: &'a OidcEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>>;
}

impl<S: OidcEventSink> ErasedSink for S {
    fn deliver<'a>(
        &'a self,
        event: &'a OidcEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>> {
        Box::pin(OidcEventSink::deliver(self, event, req))
    }
}
