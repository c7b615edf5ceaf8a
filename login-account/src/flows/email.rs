//! Change of email address: a fresh login asks for a new address; the new address confirms by
//! link before it replaces the old one; the old address is told at once, with a link to report
//! a change it did not ask for (which cancels it), and again once the change is made.

use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::{AuthUser, CurrentUser, Login};

use super::{EmailForm, TokenForm, TokenQuery, email_problem};
use crate::account::Account;
use crate::error::AccountError;
use crate::events::{AccountEvent, Flow};
use crate::mail::MailKind;
use crate::pages::{Page, Problem};
use crate::respond::Reply;
use crate::token::{Purpose, TokenError, TokenRecord, normalise_email};
use crate::users::{AccountUser, AccountUsers};

impl<S: AccountUsers> Account<S> {
    /// Mails the new address a confirmation link (or, when another account has it, a mail
    /// saying so: the page is the same, so the form tells nobody which addresses are taken),
    /// and tells the old address, with a link to report it.
    async fn request_change(
        &self,
        req: &HttpRequest,
        user: &S::User,
        email: &str,
    ) -> Result<Reply, AccountError> {
        let new_email = email.trim();
        let problem = email_problem(new_email).or_else(|| {
            (normalise_email(new_email) == normalise_email(user.email()))
                .then(|| Problem::new("email_unchanged", "This is your address already."))
        });
        if let Some(problem) = problem {
            return Reply::invalid(Page::EmailChangeForm {
                current_email: user.email().to_owned(),
                email: new_email.to_owned(),
                problems: vec![problem],
            });
        }
        let user_id = user.id().to_string();
        // Per account (by its current address, or its id when it has none) and per new address.
        let current = match normalise_email(user.email()) {
            none if none.is_empty() => format!("id:{user_id}"),
            address => address,
        };
        self.throttle(req, Flow::ChangeEmail, &format!("account:{current}"))
            .await?;
        self.throttle(
            req,
            Flow::ChangeEmail,
            &format!("address:{}", normalise_email(new_email)),
        )
        .await?;
        self.purge().await?;
        let taken = self
            .users_call(self.users.by_email(new_email))
            .await?
            .is_some();
        if taken {
            // The same work as for a free address: a token made, hashed and stored.
            self.store_decoy(Purpose::ChangeEmail, new_email).await?;
            self.send(Flow::ChangeEmail, new_email, &MailKind::NewEmailTaken)
                .await?;
        } else {
            // Bound to the new address too: the link confirms exactly the address it was sent to.
            let issued = self
                .issue(
                    Purpose::ChangeEmail,
                    user,
                    new_email.as_bytes(),
                    Some(new_email.to_owned()),
                )
                .await?;
            self.store(&issued.record).await?;
            let link = self.config.link("/email/confirm", &issued.token);
            let valid_for = self.config.lifetime_of(Purpose::ChangeEmail);
            let mail = MailKind::ConfirmNewEmail {
                link: &link,
                new_email,
                valid_for,
            };
            self.send(Flow::ChangeEmail, new_email, &mail).await?;
        }
        // The old address is told, with a way to report it; an account without one (made by
        // another sign-in) has nobody to tell.
        if !user.email().trim().is_empty() {
            let report = self
                .issue(Purpose::ReportEmailChange, user, b"", None)
                .await?;
            self.store(&report.record).await?;
            let report_link = self.config.link("/email/report", &report.token);
            let notice = MailKind::EmailChangeRequested {
                new_email,
                report_link: &report_link,
            };
            self.send(Flow::ChangeEmail, user.email(), &notice).await?;
        }
        self.emit(AccountEvent::EmailChangeRequested { user_id });
        Reply::ok(Page::EmailChangeSent {
            new_email: new_email.to_owned(),
        })
    }

    /// The change a confirmation link is for, if it still works: the token, the account, the
    /// new address.
    async fn pending_change(
        &self,
        token: &str,
    ) -> Result<(TokenRecord, S::User, String), AccountError> {
        let record = self.find(token).await?;
        let new_email = record.data.clone().ok_or(TokenError::Unknown)?;
        let user = self
            .usable(&record, Purpose::ChangeEmail, new_email.as_bytes())
            .await?;
        Ok((record, user, new_email))
    }

    async fn confirm_change(&self, token: &str) -> Result<Reply, AccountError> {
        let (record, user, new_email) = self.pending_change(token).await?;
        self.consume(&record).await?;
        if !self
            .users_call(self.users.set_email(&user, &new_email))
            .await?
        {
            return Err(AccountError::EmailTaken);
        }
        let user_id = user.id().to_string();
        // The old address learns where mail about the account goes now; a failure to tell it
        // is reported, the change stands.
        let notice = MailKind::EmailChanged {
            new_email: &new_email,
        };
        if !user.email().trim().is_empty()
            && let Err(error) = self.send(Flow::ChangeEmail, user.email(), &notice).await
        {
            self.report(Flow::ChangeEmail, &error);
        }
        self.emit(AccountEvent::EmailChanged { user_id });
        Reply::ok(Page::EmailChanged { new_email })
    }

    async fn report_change(&self, token: &str) -> Result<Reply, AccountError> {
        let record = self.find(token).await?;
        let user = self
            .usable(&record, Purpose::ReportEmailChange, b"")
            .await?;
        self.consume(&record).await?;
        let user_id = user.id().to_string();
        self.tokens.revoke(&user_id, Purpose::ChangeEmail).await?;
        self.emit(AccountEvent::EmailChangeReported { user_id });
        Reply::ok(Page::EmailChangeReported)
    }
}

/// A change of address needs a fresh login: a remembered one is sent to re-authenticate.
fn fresh(login: &Login<impl AuthUser>) -> Result<(), actix_web::Error> {
    match login.is_fresh() {
        Ok(true) => Ok(()),
        Ok(false) => Err(login.needs_refresh()),
        Err(error) => Err(error.into()),
    }
}

pub(crate) async fn form<S: AccountUsers>(
    req: HttpRequest,
    user: CurrentUser<S::User>,
    login: Login<S::User>,
    account: web::Data<Account<S>>,
) -> Result<HttpResponse, actix_web::Error> {
    fresh(&login)?;
    let page = Page::EmailChangeForm {
        current_email: user.email().to_owned(),
        email: String::new(),
        problems: Vec::new(),
    };
    Ok(account
        .respond(&req, Flow::ChangeEmail, Reply::ok(page))
        .await)
}

pub(crate) async fn request<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    user: CurrentUser<S::User>,
    login: Login<S::User>,
    account: web::Data<Account<S>>,
) -> Result<HttpResponse, actix_web::Error> {
    fresh(&login)?;
    Ok(account
        .posted(&req, &body, Flow::ChangeEmail, async |form: EmailForm| {
            account.request_change(&req, &user, &form.email).await
        })
        .await)
}

pub(crate) async fn link<S: AccountUsers>(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let outcome = match account.pending_change(&query.token).await {
        Ok((_, _, new_email)) => Reply::ok(Page::EmailChangeConfirm {
            token: query.token.clone(),
            new_email,
        }),
        Err(error) => Err(error),
    };
    account.respond(&req, Flow::ChangeEmail, outcome).await
}

pub(crate) async fn confirm<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::ChangeEmail, async |form: TokenForm| {
            account.confirm_change(&form.token).await
        })
        .await
}

pub(crate) async fn report_link<S: AccountUsers>(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let outcome = async {
        let record = account.find(&query.token).await?;
        account
            .usable(&record, Purpose::ReportEmailChange, b"")
            .await?;
        Reply::ok(Page::ReportConfirm {
            token: query.token.clone(),
        })
    }
    .await;
    account
        .respond(&req, Flow::ReportEmailChange, outcome)
        .await
}

pub(crate) async fn report<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(
            &req,
            &body,
            Flow::ReportEmailChange,
            async |form: TokenForm| account.report_change(&form.token).await,
        )
        .await
}
