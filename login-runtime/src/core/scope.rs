//! What the request being served prefers, for what must answer it without being handed it:
//! [`LoginError`](crate::LoginError)'s response, which actix asks for without the request (a
//! handler passed on what a `Login` or `Devices` method returned), answers JSON to a client
//! that prefers it, as every refusal does.
//!
//! The `LoginManager`'s middleware makes its request's state current while it polls the inner
//! service (a pointer, nothing computed), and puts back whatever was current before, so nested
//! managers, and other requests served on the same worker thread between polls, each see
//! their own. The methods that hand an error to the app note, on that error path only, what
//! the request prefers.

use std::cell::RefCell;
use std::rc::Rc;

/// What an error's response asks of the request being served.
pub(crate) trait ErrorPreference {
    /// Whether the request prefers JSON, if a method noted it.
    fn prefers_json(&self) -> Option<bool>;
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn ErrorPreference>>> = const { RefCell::new(None) };
}

/// Swaps what is current with `slot`: called around each poll of the app's future, it makes
/// the request's state current during the poll and puts back what was current before.
pub(crate) fn swap_current(slot: &mut Option<Rc<dyn ErrorPreference>>) {
    // A thread being torn down has nothing current: nothing to swap.
    let _ = CURRENT.try_with(|current| {
        if let Ok(mut current) = current.try_borrow_mut() {
            std::mem::swap(&mut *current, slot);
        }
    });
}

/// Whether the request being served prefers JSON; `false` when nobody noted it, or outside a
/// `LoginManager`.
pub(crate) fn prefers_json() -> bool {
    CURRENT
        .try_with(|current| {
            current.try_borrow().is_ok_and(|current| {
                current
                    .as_ref()
                    .and_then(|current| current.prefers_json())
                    .unwrap_or(false)
            })
        })
        .unwrap_or(false)
}
