//! Sign-in by link or code: a visitor asks by address; the account is mailed a link and a
//! short code, both bound to the asking browser by a random nonce kept in its session. The
//! link opened in that browser (after a button: a `GET` never uses it), or the code typed
//! there, logs in, fresh. Opened anywhere else the link asks to go back to the asking browser:
//! nobody can be signed into a session they did not start (Flask-Security #845), and a link
//! that leaks is worth nothing without that session.

use actix_session::SessionExt;
use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::{AfterFirstFactor, AuthMethod, AuthUser, FirstFactor, Login};
use serde::{Deserialize, Serialize};

use super::{TokenForm, TokenQuery, email_problem};
use crate::account::Account;
use crate::error::AccountError;
use crate::events::{AccountEvent, Flow, SignInMethod};
use crate::mail::MailKind;
use crate::pages::{Page, Problem};
use crate::respond::Reply;
use crate::token::{Purpose, TokenError, TokenRecord, hashes_equal, new_secret, normalise_email};
use crate::users::{AccountUser, AccountUsers};

/// The session key of the sign-in this browser asked for.
const PENDING: &str = "login_account.sign_in";

/// The code's alphabet: Crockford's base 32 (no I, L, O, U), 32 symbols, so a random byte
/// modulo 32 is uniform.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code: 40 bits, shown as `XXXX-XXXX`.
const CODE_LEN: usize = 8;

/// The sign-in this browser asked for, in its session (encrypted with cookie sessions).
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    /// Random, never mailed: only this browser has it. The token's binding holds its keyed
    /// hash.
    nonce: String,
    /// The keyed hash of the mailed token (a hash of nothing, for an address without an
    /// account), where the code is checked.
    lookup: String,
    remember: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    remember: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    code: String,
}

fn new_code() -> String {
    let bytes: [u8; CODE_LEN] = rand::random();
    let symbols: String = bytes
        .iter()
        .map(|byte| char::from(CODE_ALPHABET[usize::from(byte % 32)]))
        .collect();
    format!("{}-{}", &symbols[..4], &symbols[4..])
}

/// A typed code as it was issued: upper case, without spaces or dashes, and the symbols people
/// mistake for others read as Crockford reads them.
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

fn pending(req: &HttpRequest) -> Option<Pending> {
    req.get_session().get::<Pending>(PENDING).ok().flatten()
}

fn truthy(value: Option<&str>) -> bool {
    matches!(value, Some("on" | "1" | "true" | "yes"))
}

impl<S: AccountUsers> Account<S> {
    /// Mails a link and a code to the account with `email` (or a mail saying there is none),
    /// and remembers in this browser's session that it asked: the same page, status and steps
    /// either way.
    async fn request_sign_in(
        &self,
        req: &HttpRequest,
        form: &SignInForm,
    ) -> Result<Reply, AccountError> {
        if let Some(problem) = email_problem(&form.email) {
            return Reply::invalid(Page::SignInRequest {
                email: form.email.trim().to_owned(),
                problems: vec![problem],
            });
        }
        let address = normalise_email(&form.email);
        self.throttle(req, Flow::SignIn, &format!("address:{address}"))
            .await?;
        self.purge().await?;
        let user = self.users_call(self.users.by_email(&address)).await?;
        let user = user.filter(AuthUser::is_active);
        let nonce = new_secret();
        let user_id = user.as_ref().map(|user| user.id().to_string());
        let lookup = match &user {
            Some(user) => {
                let nonce_hash = self.hasher.nonce_hash(&nonce);
                let mut issued = self
                    .issue(Purpose::SignIn, user, nonce_hash.as_bytes(), None)
                    .await?;
                let code = new_code();
                issued.record.code_hash = Some(
                    self.hasher
                        .code_hash(&issued.record.hash, &normalise_code(&code)),
                );
                self.store(&issued.record).await?;
                let link = self.config.link("/sign-in/link", &issued.token);
                let valid_for = self.config.lifetime_of(Purpose::SignIn);
                let mail = MailKind::SignIn {
                    link: &link,
                    code: &code,
                    valid_for,
                };
                self.send(Flow::SignIn, user.email(), &mail).await?;
                issued.record.hash
            }
            None => {
                // The same work as for an account: a token and a code made, hashed and stored.
                let lookup = self.hasher.token_hash(&new_secret());
                let _decoy_code = self.hasher.code_hash(&lookup, &normalise_code(&new_code()));
                self.store_decoy(Purpose::SignIn, &address).await?;
                self.send(Flow::SignIn, form.email.trim(), &MailKind::SignInUnknown)
                    .await?;
                lookup
            }
        };
        // A new request replaces this browser's earlier one: only the latest mail works here.
        let pending = Pending {
            nonce,
            lookup,
            remember: truthy(form.remember.as_deref()),
        };
        req.get_session()
            .insert(PENDING, &pending)
            .map_err(|error| AccountError::Session(error.to_string()))?;
        self.emit(AccountEvent::SignInRequested { user_id });
        Reply::ok(Page::SignInMailSent {
            problems: Vec::new(),
        })
    }

    /// The account a sign-in link is for, if it works in this browser.
    async fn link_account(
        &self,
        req: &HttpRequest,
        token: &str,
    ) -> Result<(TokenRecord, S::User, Pending), AccountError> {
        let record = self.find(token).await?;
        crate::token::check_state(&record, Purpose::SignIn, self.now())?;
        // Only the browser that asked has the nonce: anywhere else, the link asks to go back
        // there (and stays unused for it).
        let Some(pending) =
            pending(req).filter(|pending| hashes_equal(&pending.lookup, &record.hash))
        else {
            return Err(TokenError::OtherBrowser.into());
        };
        let nonce_hash = self.hasher.nonce_hash(&pending.nonce);
        let user = self
            .usable(&record, Purpose::SignIn, nonce_hash.as_bytes())
            .await?;
        Ok((record, user, pending))
    }

    /// Uses `record` up and logs `user` in, fresh.
    async fn complete(
        &self,
        req: &HttpRequest,
        login: &Login<S::User>,
        record: &TokenRecord,
        user: &S::User,
        pending: &Pending,
        method: SignInMethod,
    ) -> Result<Reply, AccountError> {
        self.consume(record).await?;
        req.get_session().remove(PENDING);
        // The link is a first factor: through the app's second step if the account has a
        // second factor (a pending login, never a login without it), else an ordinary
        // login-runtime login: fresh (the mail proved the address just now), session id
        // renewed, remembered if the visitor asked.
        let first = FirstFactor::new(AuthMethod::SignInLink).remember(pending.remember);
        let second_step = match login.after_first_factor(user, first).await {
            Ok(AfterFirstFactor::LoggedIn) => None,
            Ok(AfterFirstFactor::SecondStep { url }) => Some(url),
            Ok(_) => return Err(AccountError::Inactive),
            Err(error) => return Err(AccountError::Session(error.to_string())),
        };
        // Either way the mail proved the address.
        if !user.email_verified() {
            self.users_call(self.users.mark_verified(user)).await?;
        }
        if let Some(url) = second_step {
            self.emit(AccountEvent::SecondFactorAsked {
                user_id: user.id().to_string(),
                method,
            });
            return Ok(Reply::SecondStep(url));
        }
        self.emit(AccountEvent::SignedIn {
            user_id: user.id().to_string(),
            method,
        });
        Ok(Reply::SignedIn(self.config.after_sign_in.clone()))
    }

    async fn sign_in_with_code(
        &self,
        req: &HttpRequest,
        login: &Login<S::User>,
        code: &str,
    ) -> Result<Reply, AccountError> {
        let pending = pending(req).ok_or(AccountError::NoSignInPending)?;
        if self.code_throttled(&pending.lookup).await? {
            // Guessing is over for this sign-in: the visitor asks for a new mail.
            req.get_session().remove(PENDING);
            return Err(AccountError::NoSignInPending);
        }
        let record = self.tokens.find(&pending.lookup).await?;
        let code = normalise_code(code);
        let matches = record.as_ref().is_some_and(|record| {
            let expected = self.hasher.code_hash(&record.hash, &code);
            // Constant-time compare of the keyed hashes.
            record
                .code_hash
                .as_deref()
                .is_some_and(|stored| hashes_equal(stored, &expected))
        });
        let (Some(record), true) = (record, matches) else {
            self.code_failed(&pending.lookup).await?;
            self.emit(AccountEvent::Refused {
                flow: Flow::SignIn,
                reason: "code_wrong",
            });
            return Reply::invalid(Page::SignInMailSent {
                problems: vec![Problem::new(
                    "code_wrong",
                    "This code is not the one we sent. Check the latest mail and try again.",
                )],
            });
        };
        let nonce_hash = self.hasher.nonce_hash(&pending.nonce);
        let user = self
            .usable(&record, Purpose::SignIn, nonce_hash.as_bytes())
            .await?;
        self.complete(req, login, &record, &user, &pending, SignInMethod::Code)
            .await
    }
}

pub(crate) async fn request_form<S: AccountUsers>(
    req: HttpRequest,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let page = Page::SignInRequest {
        email: String::new(),
        problems: Vec::new(),
    };
    account.respond(&req, Flow::SignIn, Reply::ok(page)).await
}

pub(crate) async fn request<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::SignIn, async |form: SignInForm| {
            account.request_sign_in(&req, &form).await
        })
        .await
}

pub(crate) async fn link<S: AccountUsers>(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    let outcome = match account.link_account(&req, &query.token).await {
        Ok(_) => Reply::ok(Page::SignInConfirm {
            token: query.token.clone(),
        }),
        Err(error) => Err(error),
    };
    account.respond(&req, Flow::SignIn, outcome).await
}

pub(crate) async fn confirm_link<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    login: Login<S::User>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::SignIn, async |form: TokenForm| {
            let (record, user, pending) = account.link_account(&req, &form.token).await?;
            account
                .complete(&req, &login, &record, &user, &pending, SignInMethod::Link)
                .await
        })
        .await
}

pub(crate) async fn code<S: AccountUsers>(
    req: HttpRequest,
    body: web::Bytes,
    login: Login<S::User>,
    account: web::Data<Account<S>>,
) -> HttpResponse {
    account
        .posted(&req, &body, Flow::SignIn, async |form: CodeForm| {
            account.sign_in_with_code(&req, &login, &form.code).await
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_symbols_and_typed_forgivingly() {
        let code = new_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.replace('-', "")
                .bytes()
                .all(|b| CODE_ALPHABET.contains(&b))
        );
        assert_eq!(normalise_code(" ab0o-il1z "), "AB00111Z");
        assert_eq!(normalise_code(&code), code.replace('-', ""));
    }
}
