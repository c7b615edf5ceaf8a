//! Account lifecycle for [login-runtime](login_runtime): email verification, password reset,
//! change of email, sign-in by link or code, a password policy, and the mail they send.
//!
//! The app keeps its users; it tells login-account what it needs of them with
//! [`AccountUser`] (an address, whether it is confirmed) and [`AccountUsers`] (find by address
//! or id, confirm, set a password, set an address), and registers an [`Account`] inside its
//! `LoginManager` and `SessionMiddleware`. The routes ([`Account::service`]) answer HTML pages
//! (the app's own, through [`Pages`]) to browsers and JSON to clients that prefer it, with the
//! same rules and statuses.
//!
//! # One token primitive
//!
//! Every flow mails a token: 256 random bits, stored only as its keyed hash (HMAC-SHA-256 with
//! the app's `SecretKey`), single use (an atomic [`TokenStore::consume`]), with an expiry per
//! [`Purpose`] (a reset an hour, a verification three days, a sign-in 15 minutes), and bound
//! to its purpose and to the account's current email address and session hash (the password
//! hash), so that it dies when either changes. Bindings and codes are compared in constant
//! time. A `GET` of a link never uses the token up: mail scanners fetch links; the page it
//! shows has a button that posts. Mails are throttled per address (or account) and per
//! client with login-runtime's [`throttle`](login_runtime::throttle).
//!
//! # A tour
//!
//! ```
//! use std::cell::RefCell;
//! use std::collections::HashMap;
//! use std::rc::Rc;
//!
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, cookie::Key, test};
//! use login_account::testing::Outbox;
//! use login_account::{Account, AccountConfig, AccountUser, AccountUsers};
//! use login_runtime::{AuthUser, LoginManager, SecretKey, UserLoader};
//!
//! #[derive(Clone, AuthUser)]
//! struct User {
//!     id: u64,
//!     email: String,
//!     verified: bool,
//!     #[auth(session_hash)]
//!     password_hash: String,
//! }
//!
//! impl AccountUser for User {
//!     fn email(&self) -> &str { &self.email }
//!     fn email_verified(&self) -> bool { self.verified }
//! }
//!
//! #[derive(Clone, Default)]
//! struct Users(Rc<RefCell<HashMap<u64, User>>>);
//!
//! impl UserLoader for Users {
//!     type User = User;
//!     type Id = u64;
//!     type Error = std::convert::Infallible;
//!     async fn load_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
//!         Ok(self.0.borrow().get(id).cloned())
//!     }
//! }
//!
//! impl AccountUsers for Users {
//!     type User = User;
//!     type Error = std::convert::Infallible;
//!     async fn by_email(&self, email: &str) -> Result<Option<User>, Self::Error> {
//!         Ok(self.0.borrow().values().find(|u| u.email.eq_ignore_ascii_case(email)).cloned())
//!     }
//!     async fn by_id(&self, id: &u64) -> Result<Option<User>, Self::Error> {
//!         Ok(self.0.borrow().get(id).cloned())
//!     }
//!     async fn mark_verified(&self, user: &User) -> Result<(), Self::Error> {
//!         self.0.borrow_mut().entry(user.id).and_modify(|u| u.verified = true);
//!         Ok(())
//!     }
//!     async fn set_password(&self, user: &User, password: &str) -> Result<(), Self::Error> {
//!         let hash = format!("hash of {password}"); // argon2 in a real app
//!         self.0.borrow_mut().entry(user.id).and_modify(|u| u.password_hash = hash);
//!         Ok(())
//!     }
//!     async fn set_email(&self, user: &User, email: &str) -> Result<bool, Self::Error> {
//!         self.0.borrow_mut().entry(user.id).and_modify(|u| u.email = email.to_owned());
//!         Ok(true)
//!     }
//! }
//!
//! # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
//! let users = Users::default();
//! users.0.borrow_mut().insert(1, User {
//!     id: 1, email: "ada@example.com".into(), verified: true, password_hash: "h".into(),
//! });
//! let key = SecretKey::generate();
//! let outbox = Outbox::new();
//! // Links start with the configured public URL, never with the request's Host.
//! let config = AccountConfig::new("https://app.example").unwrap();
//! let account = Account::new(config, users.clone(), &key, outbox.clone()).unwrap();
//! let app = test::init_service(
//!     App::new()
//!         .configure(account.configure())
//!         .wrap(LoginManager::new(users.clone()).secret_key(key.clone()))
//!         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
//! )
//! .await;
//!
//! // A JSON client asks for a reset: the same answer for every address.
//! let ask = |email: &str| {
//!     test::TestRequest::post()
//!         .uri("/account/reset")
//!         .insert_header(("accept", "application/json"))
//!         .set_json(serde_json::json!({ "email": email }))
//!         .to_request()
//! };
//! let known = test::call_and_read_body(&app, ask("ada@example.com")).await;
//! let unknown = test::call_and_read_body(&app, ask("nobody@example.com")).await;
//! assert_eq!(known, unknown);
//!
//! // Ada got the link; the other address was told that it has no account.
//! let link = outbox.last_to("ada@example.com").unwrap().link("https://app.example/").unwrap();
//! assert!(link.starts_with("https://app.example/account/reset/confirm?token="));
//! assert!(outbox.last_to("nobody@example.com").unwrap().text.contains("no account"));
//!
//! // The new password, with the token from the link.
//! let token = link.split("token=").nth(1).unwrap();
//! let req = test::TestRequest::post()
//!     .uri("/account/reset/confirm")
//!     .insert_header(("accept", "application/json"))
//!     .set_json(serde_json::json!({
//!         "token": token, "password": "seven lazy otters juggle", "confirm": "seven lazy otters juggle",
//!     }))
//!     .to_request();
//! let res = test::call_service(&app, req).await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(users.0.borrow()[&1].password_hash, "hash of seven lazy otters juggle");
//! # }
//! ```
//!
//! # Where things are
//!
//! - The flows: [`Account`] (its builder, [`Account::configure`], [`Account::service`]),
//!   configured by [`AccountConfig`] ([`Verification`], [`Limits`], [`Purpose`] lifetimes).
//! - The app's users: [`AccountUser`], [`AccountUsers`].
//! - Tokens: [`TokenStore`], [`MemoryTokenStore`], [`TokenRecord`], [`TokenError`].
//! - Passwords: [`PasswordPolicy`], [`PolicyProblem`].
//! - Mail: [`Mailer`], [`SmtpMailer`], [`ConsoleMailer`], [`FileMailer`], [`Mail`],
//!   [`MailTemplates`], [`DefaultTemplates`], [`MailKind`].
//! - Pages: [`Pages`], [`Page`], [`PageContext`], [`DefaultPages`].
//! - What a handler asks: [`Verified`], [`Account::verification_state`],
//!   [`Account::may_log_in`], [`Account::send_verification`], [`Account::password_problems`].
//! - Events: [`AccountEvent`]. Errors: [`AccountError`], [`ConfigError`], [`MailError`].
//! - Tests: [`testing`] (an outbox, the store conformance suite), [`Clock::manual`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod account;
mod clock;
mod config;
mod error;
mod events;
mod flows;
mod form;
mod mail;
mod pages;
mod policy;
mod respond;
mod routes;
mod services;
mod store;
mod token;
mod users;
mod verified;

pub mod testing;

pub use crate::account::Account;
pub use crate::clock::{Clock, ManualClock};
pub use crate::config::{AccountConfig, ConfigError, Limits, Verification};
pub use crate::error::AccountError;
pub use crate::events::{AccountEvent, AccountEventSink, Flow, SignInMethod};
pub use crate::flows::email_problem;
pub use crate::mail::{
    ConsoleMailer, DefaultTemplates, FileMailer, Mail, MailContent, MailError, MailKind,
    MailTemplates, Mailer, SmtpMailer,
};
pub use crate::pages::{DefaultPages, FormField, Page, PageContext, PageForm, Pages, Problem};
pub use crate::policy::{PasswordPolicy, PolicyProblem};
pub use crate::store::{MemoryTokenStore, StoreError, TokenStore};
pub use crate::token::{Purpose, TokenError, TokenRecord, normalise_email};
pub use crate::users::{AccountUser, AccountUsers};
pub use crate::verified::{VerificationState, Verified, verification_state};
