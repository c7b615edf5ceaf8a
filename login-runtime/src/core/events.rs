//! Event sinks that may wait: the asynchronous side of [`LoginEvent`] delivery.
//!
//! Callbacks registered with `LoginManager::on_event` run at once, inside the request, and
//! cannot wait on anything. An [`EventSink`] gets the same events after the handler and before
//! the response goes out, and is awaited: the place to write an audit row. Events are kept for
//! it only when a sink is configured.

use std::future::Future;

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use crate::events::LoginEvent;

/// Receives every [`LoginEvent`] of a request, in the order they happened, after the handler
/// ran and before the response (and so the session) goes out; installed with
/// [`LoginManager::event_sink`](crate::LoginManager::event_sink). An error fails the request
/// with that error, so nothing it must record goes unrecorded.
///
/// ```
/// use actix_web::HttpRequest;
/// use login_runtime::{EventSink, LoginEvent};
///
/// struct Audit;
///
/// impl EventSink for Audit {
///     async fn deliver(&self, event: &LoginEvent, req: &HttpRequest) -> actix_web::Result<()> {
///         if let LoginEvent::Forbidden { user_id, path } = event {
///             // e.g. insert a row, with the client address from `req`.
///             let _ = (user_id, path, req.peer_addr());
///         }
///         Ok(())
///     }
/// }
/// # let _ = Audit;
/// ```
pub trait EventSink: 'static {
    /// Delivers one event of the request `req`.
    fn deliver(
        &self,
        event: &LoginEvent,
        req: &HttpRequest,
    ) -> impl Future<Output = Result<(), actix_web::Error>>;
}

/// [`EventSink`] with a boxed future, so the configuration can hold any sink.
pub(crate) trait ErasedSink {
    fn deliver<'a>(
        &'a self,
        event: &'a LoginEvent,
        req: &'a HttpRequest,
    ) -> LocalBoxFuture<'a, Result<(), actix_web::Error>>;
}

impl<S: EventSink> ErasedSink for S {
    fn deliver<'a>(
        &'a self,
        event: &'a LoginEvent,
        req: &'a HttpRequest,
    ) -> LocalBoxFuture<'a, Result<(), actix_web::Error>> {
        Box::pin(EventSink::deliver(self, event, req))
    }
}
