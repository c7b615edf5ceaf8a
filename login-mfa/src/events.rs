//! What happened, for the app's audit trail: every step of enrolment and of the second step.
//! No event carries a secret, a code, a credential or a ceremony id.

/// A second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Factor {
    /// A one-time code (TOTP).
    Totp,
    /// A recovery code.
    RecoveryCode,
    /// A passkey.
    Passkey,
}

impl Factor {
    /// `totp`, `recovery_code` or `passkey`.
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::RecoveryCode => "recovery_code",
            Factor::Passkey => "passkey",
        }
    }
}

/// One step of the second factors. `user_id` is the text of the user's id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaEvent {
    /// The first factor was right and the account has a second: the login waits for it.
    SecondStepStarted {
        /// The user.
        user_id: String,
    },
    /// The second step completed the login.
    SecondStepPassed {
        /// The user.
        user_id: String,
        /// With what.
        factor: Factor,
    },
    /// A trusted device skipped the second step.
    TrustedDeviceUsed {
        /// The user.
        user_id: String,
    },
    /// A device was trusted ("don't ask again").
    DeviceTrusted {
        /// The user.
        user_id: String,
    },
    /// A pending login was found expired and dropped.
    PendingExpired {
        /// The user.
        user_id: String,
    },
    /// A wrong code, assertion or passkey: nothing was accepted.
    Refused {
        /// The user, when known.
        user_id: Option<String>,
        /// What was tried.
        factor: Factor,
        /// Why, in a word (`wrong_code`, `replayed`, `no_user_verification`, …).
        reason: &'static str,
    },
    /// Too many wrong codes: refused without checking.
    Throttled {
        /// The user.
        user_id: String,
    },
    /// TOTP enrolment started (a secret waits for its first code).
    TotpEnrolmentStarted {
        /// The user.
        user_id: String,
    },
    /// TOTP was enabled by a correct code.
    TotpEnabled {
        /// The user.
        user_id: String,
    },
    /// TOTP was turned off.
    TotpDisabled {
        /// The user.
        user_id: String,
    },
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesGenerated {
        /// The user.
        user_id: String,
        /// How many.
        count: usize,
    },
    /// A recovery code was used: the app should tell the account (a mail).
    RecoveryCodeUsed {
        /// The user.
        user_id: String,
        /// How many are left.
        remaining: usize,
    },
    /// A passkey was registered.
    PasskeyAdded {
        /// The user.
        user_id: String,
        /// Its name.
        name: String,
    },
    /// A passkey was renamed.
    PasskeyRenamed {
        /// The user.
        user_id: String,
        /// The new name.
        name: String,
    },
    /// A passkey was removed.
    PasskeyRemoved {
        /// The user.
        user_id: String,
    },
    /// Signed in with a passkey alone (no password).
    PasskeySignIn {
        /// The user.
        user_id: String,
    },
    /// A login was made fresh with a passkey.
    PasskeyReauthenticated {
        /// The user.
        user_id: String,
    },
}

/// Where login-mfa's events go when the app must wait for them: an audit row in a database,
/// written before the answer goes out. Every route of [`Mfa::configure`](crate::Mfa::configure)
/// (and [`Mfa::after_first_factor`](crate::Mfa::after_first_factor)) awaits
/// [`deliver`](Self::deliver) for each event of its request; an error fails the request (a
/// 500), as login-runtime's `EventSink` does. Register one with
/// [`Mfa::event_sink`](crate::Mfa::event_sink); quick, synchronous callbacks use
/// [`Mfa::on_event`](crate::Mfa::on_event).
pub trait MfaEventSink: 'static {
    /// Delivers one event of the request `req`.
    fn deliver(
        &self,
        event: &MfaEvent,
        req: &actix_web::HttpRequest,
    ) -> impl std::future::Future<Output = Result<(), actix_web::Error>>;
}

/// [`MfaEventSink`] with a boxed future, so an [`Mfa`](crate::Mfa) can hold any.
pub(crate) trait ErasedSink {
    fn deliver<'a>(
        &'a self,
        event: &'a MfaEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>>;
}

impl<S: MfaEventSink> ErasedSink for S {
    fn deliver<'a>(
        &'a self,
        event: &'a MfaEvent,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<(), actix_web::Error>> {
        Box::pin(MfaEventSink::deliver(self, event, req))
    }
}

tokio::task_local! {
    /// The events of the request login-mfa is serving, kept for the sinks until it has its
    /// answer.
    pub(crate) static PENDING: std::cell::RefCell<Vec<MfaEvent>>;
}
