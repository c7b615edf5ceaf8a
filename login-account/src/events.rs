//! What happened in a flow, for the app's audit log: [`AccountEvent`], never with a token, a
//! code, a password or a link in it.

/// Which flow an event or a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flow {
    /// Email verification.
    Verify,
    /// Password reset.
    Reset,
    /// Change of email address.
    ChangeEmail,
    /// A change of email address reported by the old address.
    ReportEmailChange,
    /// Sign-in by link or code.
    SignIn,
}

impl Flow {
    /// A stable name (`reset`, `sign_in`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Verify => "verify",
            Flow::Reset => "reset",
            Flow::ChangeEmail => "change_email",
            Flow::ReportEmailChange => "report_email_change",
            Flow::SignIn => "sign_in",
        }
    }
}

/// How a passwordless sign-in was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInMethod {
    /// The link in the mail, opened in the browser that asked.
    Link,
    /// The code in the mail, typed into the browser that asked.
    Code,
}

/// One step of a flow. Delivered to the callbacks registered with
/// [`Account::on_event`](crate::Account::on_event) and always emitted as a `tracing` event
/// (target `login_account`). User ids are `AuthUser::id` as text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountEvent {
    /// A verification link was mailed.
    VerificationSent {
        /// The account.
        user_id: String,
    },
    /// An account's address was confirmed.
    Verified {
        /// The account.
        user_id: String,
    },
    /// A password reset was asked for; a mail went to the address either way.
    ResetRequested {
        /// The account, or `None` when no account has the address (the visitor is not told).
        user_id: Option<String>,
    },
    /// A password was reset: every other session and device of the account ended, and the
    /// account was told by mail.
    PasswordReset {
        /// The account.
        user_id: String,
        /// How many devices were logged out in the registry (0 without one).
        devices_ended: usize,
    },
    /// A change of address was asked for; the new address was mailed a link, the old one told.
    EmailChangeRequested {
        /// The account.
        user_id: String,
    },
    /// The new address was confirmed and replaced the old one.
    EmailChanged {
        /// The account.
        user_id: String,
    },
    /// The old address reported a change of address it did not ask for; the pending change
    /// was cancelled.
    EmailChangeReported {
        /// The account.
        user_id: String,
    },
    /// A sign-in link and code were asked for; a mail went to the address either way.
    SignInRequested {
        /// The account, or `None` when no account has the address.
        user_id: Option<String>,
    },
    /// A user signed in without a password (a fresh login).
    SignedIn {
        /// The account.
        user_id: String,
        /// With the link or the code.
        method: SignInMethod,
    },
    /// The link or code was right, and the account has a second factor: nobody is logged in
    /// yet, the visitor was sent on to the app's second step (login-runtime's
    /// [`SecondStepGate`](login_runtime::SecondStepGate)).
    SecondFactorAsked {
        /// The account.
        user_id: String,
        /// With the link or the code.
        method: SignInMethod,
    },
    /// A mail was not sent, or a code not checked, because the limit for this account,
    /// address or client was reached.
    Throttled {
        /// The flow.
        flow: Flow,
    },
    /// A step was refused (an invalid, used, expired or stale token, a wrong code); nothing
    /// changed.
    Refused {
        /// The flow.
        flow: Flow,
        /// Why, as a stable code (`token_expired`, `code_wrong`, …).
        reason: &'static str,
    },
    /// A mail could not be sent (the server is down or slow); the visitor was asked to try
    /// again later.
    MailFailed {
        /// The flow.
        flow: Flow,
        /// The mailer's error (never the mail's content).
        error: String,
    },
}

impl AccountEvent {
    pub(crate) fn trace(&self) {
        match self {
            AccountEvent::Throttled { flow } => {
                tracing::warn!(target: "login_account", event = "throttled", flow = flow.as_str());
            }
            AccountEvent::Refused { flow, reason } => {
                tracing::info!(target: "login_account", event = "refused", flow = flow.as_str(), reason);
            }
            AccountEvent::MailFailed { flow, error } => {
                tracing::error!(target: "login_account", event = "mail_failed", flow = flow.as_str(), %error);
            }
            other => {
                tracing::info!(target: "login_account", event = ?other);
            }
        }
    }
}

/// Where login-account's events go when the app must wait for them: an audit row in a
/// database, written before the answer goes out. Every route of
/// [`Account::service`](crate::Account::service) (and
/// [`Account::send_verification`](crate::Account::send_verification)) awaits
/// [`deliver`](Self::deliver) for each event of its request once it has its answer; an error
/// fails the request (a 500), as login-runtime's `EventSink` does, so nothing goes unrecorded.
/// Register one with [`Account::event_sink`](crate::Account::event_sink); quick, synchronous
/// callbacks use [`Account::on_event`](crate::Account::on_event).
///
/// ```
/// use actix_web::HttpRequest;
/// use login_account::{AccountEvent, AccountEventSink};
///
/// struct Audit;
///
/// impl AccountEventSink for Audit {
///     async fn deliver(&self, event: &AccountEvent, req: &HttpRequest) -> actix_web::Result<()> {
///         if let AccountEvent::PasswordReset { user_id, .. } = event {
///             // INSERT INTO audit_log … (user_id, req.peer_addr(), now)
///             let _ = (user_id, req.peer_addr());
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait AccountEventSink: 'static {
    /// Delivers one event of the request `req`.
    fn deliver(
        &self,
        event: &AccountEvent,
        req: &actix_web::HttpRequest,
    ) -> impl std::future::Future<Output = Result<(), actix_web::Error>>;
}

/// [`AccountEventSink`] with a boxed future, so an [`Account`](crate::Account) can hold any.
pub(crate) trait ErasedSink {
    fn deliver<'a>(
        &'a self,
        event: &'a AccountEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>>;
}

impl<S: AccountEventSink> ErasedSink for S {
    fn deliver<'a>(
        &'a self,
        event: &'a AccountEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>> {
        Box::pin(AccountEventSink::deliver(self, event, req))
    }
}

tokio::task_local! {
    /// The events of the request login-account is serving, kept for the sinks until it has
    /// its answer ([`Account::delivering`](crate::Account)).
    pub(crate) static PENDING: std::cell::RefCell<Vec<AccountEvent>>;
}
