//! [`Verified`]: the extractor that lets through only users whose address is confirmed (or
//! still within the grace period), by the configured [`Verification`].

use std::ops::Deref;
use std::rc::Rc;
use std::time::SystemTime;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use login_runtime::CurrentUser;

use crate::account::Account;
use crate::config::Verification;
use crate::error::AccountError;
use crate::users::{AccountUser, AccountUsers};

/// Where an account stands with its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerificationState {
    /// Confirmed.
    Verified,
    /// Not confirmed, but within the grace period for this long still.
    InGrace(std::time::Duration),
    /// Not confirmed: handlers taking [`Verified`] refuse it.
    Unverified,
}

impl VerificationState {
    /// Whether [`Verified`] lets the user through.
    pub fn allows(self) -> bool {
        !matches!(self, VerificationState::Unverified)
    }
}

/// Where `user` stands under `rule` at `now`.
pub fn verification_state<U: AccountUser>(
    user: &U,
    rule: Verification,
    now: SystemTime,
) -> VerificationState {
    if user.email_verified() {
        return VerificationState::Verified;
    }
    match rule {
        Verification::Grace(grace) => {
            let ends = user.created_at().checked_add(grace).unwrap_or(now);
            match ends.duration_since(now) {
                Ok(left) if !left.is_zero() => VerificationState::InGrace(left),
                _ => VerificationState::Unverified,
            }
        }
        _ => VerificationState::Unverified,
    }
}

/// The decision [`Verified`] needs, registered by [`Account::configure`] for the app's user
/// type: the rule, the clock, and the refusal page.
/// Answers `None` to let the user through, or the refusal.
type GateCheck<U> =
    Rc<dyn Fn(&HttpRequest, &U) -> LocalBoxFuture<'static, Option<actix_web::Error>>>;

pub(crate) struct VerifyGate<U> {
    pub(crate) check: GateCheck<U>,
}

impl<S: AccountUsers> Account<S> {
    pub(crate) fn gate(&self) -> VerifyGate<S::User> {
        let account = self.clone();
        VerifyGate {
            check: Rc::new(move |req: &HttpRequest, user: &S::User| {
                let state = verification_state(user, account.config.verification, account.now());
                if state.allows() {
                    return Box::pin(std::future::ready(None));
                }
                let (req, account) = (req.clone(), account.clone());
                Box::pin(async move {
                    let error = AccountError::NotVerified;
                    let res = account.refusal(&req, &error).await;
                    Some(InternalError::from_response("email not verified", res).into())
                })
            }),
        }
    }

    /// Where `user` stands with the address, under the configured rule (for a banner).
    pub fn verification_state(&self, user: &S::User) -> VerificationState {
        verification_state(user, self.config.verification, self.now())
    }
}

/// The logged-in user, whose address is confirmed (or still within
/// [`Verification::Grace`]). Put it on the handlers that need a confirmed address: anonymous
/// requests get login-runtime's unauthorized answer, unverified users a 403 page (or
/// `{"error":"email_not_verified"}`) saying to confirm the address.
///
/// Needs [`Account::configure`] (which registers what it checks with) in the app.
pub struct Verified<U>(CurrentUser<U>);

impl<U: AccountUser + std::fmt::Debug> std::fmt::Debug for Verified<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Verified").field(&*self.0).finish()
    }
}

impl<U> Deref for Verified<U> {
    type Target = U;
    fn deref(&self) -> &U {
        &self.0
    }
}

impl<U> Verified<U> {
    /// The user.
    pub fn into_inner(self) -> CurrentUser<U> {
        self.0
    }
}

impl<U: AccountUser> FromRequest for Verified<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = CurrentUser::<U>::extract(&req).await?;
            let Some(gate) = req.app_data::<web::Data<VerifyGate<U>>>() else {
                tracing::error!(target: "login_account", "`Verified` needs `Account::configure` in the app");
                return Err(actix_web::error::ErrorInternalServerError(
                    "`Verified` needs `Account::configure` in the app",
                ));
            };
            match (gate.check)(&req, &user).await {
                None => Ok(Verified(user)),
                Some(refusal) => Err(refusal),
            }
        })
    }
}
