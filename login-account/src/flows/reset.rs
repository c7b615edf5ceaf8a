//! Password reset: ask by address (the same answer, status and work for an address with an
//! account and one without), open the mailed link (a `GET` never uses it up), choose a new
//! password that passes the policy; then every other session, device and remember cookie of
//! the account ends, and the account is told by mail.

use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::AuthUser;
use serde::Deserialize;

use super::{EmailForm, TokenQuery, email_problem};
use crate::account::Account;
use crate::error::AccountError;
use crate::events::{AccountEvent, Flow};
use crate::mail::MailKind;
use crate::pages::Page;
use crate::respond::Reply;
use crate::token::{Purpose, TokenRecord, normalise_email};
use crate::users::{AccountUser, AccountUsers};

#[derive(Debug, Deserialize)]
pub(crate) struct NewPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

impl<S: AccountUsers> Account<S> {
    /// Mails a reset link to the account with `email`, or, when no (active) account has it, a
    /// mail saying so: both answer the same page after the same steps (a lookup, a token made,
    /// a mail sent), so neither the page, the status nor the time tells which addresses have
    /// accounts.
    async fn request_reset(&self, req: &HttpRequest, email: &str) -> Result<Reply, AccountError> {
        if let Some(problem) = email_problem(email) {
            return Reply::invalid(Page::ResetRequest {
                email: email.trim().to_owned(),
                problems: vec![problem],
            });
        }
        let address = normalise_email(email);
        self.throttle(req, Flow::Reset, &format!("address:{address}"))
            .await?;
        self.purge().await?;
        let user = self.users_call(self.users.by_email(&address)).await?;
        let user = user.filter(AuthUser::is_active);
        let user_id = user.as_ref().map(|user| user.id().to_string());
        match &user {
            Some(user) => {
                let issued = self.issue(Purpose::ResetPassword, user, b"", None).await?;
                self.store(&issued.record).await?;
                let link = self.config.link("/reset/confirm", &issued.token);
                let valid_for = self.config.lifetime_of(Purpose::ResetPassword);
                self.send(
                    Flow::Reset,
                    user.email(),
                    &MailKind::Reset {
                        link: &link,
                        valid_for,
                    },
                )
                .await?;
            }
            None => {
                // The same work as for an account: a token made, hashed and stored.
                self.store_decoy(Purpose::ResetPassword, &address).await?;
                self.send(Flow::Reset, email.trim(), &MailKind::ResetUnknown)
                    .await?;
            }
        }
        self.emit(AccountEvent::ResetRequested { user_id });
        Reply::ok(Page::ResetMailSent)
    }

    /// The account a reset link is for, if the link still works.
    async fn reset_account(&self, token: &str) -> Result<(TokenRecord, S::User), AccountError> {
        let record = self.find(token).await?;
        let user = self.usable(&record, Purpose::ResetPassword, b"").await?;
        if !user.is_active() {
            return Err(AccountError::Inactive);
        }
        Ok((record, user))
    }

    /// Sets the new password: checks the policy before the token is used up (a refused
    /// password leaves the link working), then uses it, sets the password, confirms the address
    /// (the link proved it), ends the account's devices and tells the account.
    async fn reset_password(&self, form: &NewPasswordForm) -> Result<Reply, AccountError> {
        let (record, user) = self.reset_account(&form.token).await?;
        let problems =
            self.password_problems(&form.password, &form.confirm, &Self::words_of(&user));
        if !problems.is_empty() {
            return Reply::invalid(Page::ResetForm {
                token: form.token.clone(),
                problems,
            });
        }
        self.consume(&record).await?;
        self.users_call(self.users.set_password(&user, &form.password))
            .await?;
        // The new password hash is the new session hash: every session and remember cookie of
        // the account made before ends at its next request. The registry forgets its devices.
        let user_id = user.id().to_string();
        if !user.email_verified() {
            self.users_call(self.users.mark_verified(&user)).await?;
        }
        let devices_ended = self.end_devices(&user_id).await?;
        self.tokens.revoke(&user_id, Purpose::ResetPassword).await?;
        // The password is changed whatever happens to this mail: a failure is reported, not
        // answered.
        if let Err(error) = self
            .send(Flow::Reset, user.email(), &MailKind::PasswordChanged)
            .await
        {
            self.report(Flow::Reset, &error);
        }
        self.emit(AccountEvent::PasswordReset {
            user_id,
            devices_ended,
        });
        Reply::ok(Page::PasswordChanged)
    }
}

pub(crate) async fn request_form<S: AccountUsers>(
    req: HttpRequest,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let page = Page::ResetRequest {
        email: String::new(),
        problems: Vec::new(),
    };
    account.respond(&req, Flow::Reset, Reply::ok(page)).await
}

pub(crate) async fn request<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::Reset, async |form: EmailForm| {
            account.request_reset(&req, &form.email).await
        })
        .await
}

/// The link: a form for the new password, the token unused (mail scanners fetch links).
pub(crate) async fn link<S: AccountUsers>(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let outcome = match account.reset_account(&query.token).await {
        Ok(_) => Reply::ok(Page::ResetForm {
            token: query.token.clone(),
            problems: Vec::new(),
        }),
        Err(error) => Err(error),
    };
    account.respond(&req, Flow::Reset, outcome).await
}

pub(crate) async fn set_password<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::Reset, async |form: NewPasswordForm| {
            account.reset_password(&form).await
        })
        .await
}
