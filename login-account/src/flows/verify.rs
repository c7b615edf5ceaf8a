//! Email verification: the link mailed at sign-up (or again on request) confirms the account's
//! address. Opening it shows a button (a `GET` never uses the token up); confirming twice is
//! harmless: the second time says the address is confirmed already.

use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::{AuthUser, CurrentUser};

use super::{TokenForm, TokenQuery};
use crate::account::Account;
use crate::error::AccountError;
use crate::events::{AccountEvent, Flow};
use crate::pages::Page;
use crate::respond::Reply;
use crate::token::{Purpose, TokenError, TokenRecord};
use crate::users::{AccountUser, AccountUsers};

/// What a verification link is worth now.
enum Link<U> {
    /// Usable, for this account, whose address is not yet confirmed.
    Usable(TokenRecord, U),
    /// The account's address is confirmed already (by this link, used before, or otherwise).
    Done,
}

impl<S: AccountUsers> Account<S> {
    async fn verification_link(&self, token: &str) -> Result<Link<S::User>, AccountError> {
        let record = self.find(token).await?;
        match self.usable(&record, Purpose::VerifyEmail, b"").await {
            Ok(user) if user.email_verified() => Ok(Link::Done),
            Ok(user) => Ok(Link::Usable(record, user)),
            // Used before: harmless, if it confirmed the address the account still has.
            Err(AccountError::Token(TokenError::Used)) => {
                match self.bound_user(&record, b"").await {
                    Ok(user) if user.email_verified() => Ok(Link::Done),
                    _ => Err(TokenError::Used.into()),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn verify(&self, token: &str) -> Result<Reply, AccountError> {
        let Link::Usable(record, user) = self.verification_link(token).await? else {
            return Reply::ok(Page::AlreadyVerified);
        };
        match self.consume(&record).await {
            Ok(()) => {}
            // Another request used it meanwhile: that one confirmed the address.
            Err(AccountError::Token(TokenError::Used)) => return Reply::ok(Page::AlreadyVerified),
            Err(error) => return Err(error),
        }
        self.users_call(self.users.mark_verified(&user)).await?;
        self.emit(AccountEvent::Verified {
            user_id: user.id().to_string(),
        });
        Reply::ok(Page::Verified)
    }
}

pub(crate) async fn link<S: AccountUsers>(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let outcome = match account.verification_link(&query.token).await {
        Ok(Link::Usable(..)) => Reply::ok(Page::VerifyConfirm {
            token: query.token.clone(),
        }),
        Ok(Link::Done) => Reply::ok(Page::AlreadyVerified),
        Err(error) => Err(error),
    };
    account.respond(&req, Flow::Verify, outcome).await
}

pub(crate) async fn confirm<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::Verify, async |form: TokenForm| {
            account.verify(&form.token).await
        })
        .await
}

/// "Send the link again", for the logged-in member.
pub(crate) async fn resend<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    user: CurrentUser<S::User>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(
            &req,
            &body,
            Flow::Verify,
            async |_: serde::de::IgnoredAny| {
                if user.email_verified() {
                    return Reply::ok(Page::AlreadyVerified);
                }
                account.verification_mail(&req, &user).await?;
                account.emit(AccountEvent::VerificationSent {
                    user_id: user.id().to_string(),
                });
                Reply::ok(Page::VerificationSent)
            },
        )
        .await
}
