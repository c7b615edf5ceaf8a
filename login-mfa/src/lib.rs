//! Second factors for [login-runtime](login_runtime): a two-step login, one-time codes
//! (TOTP, RFC 6238), recovery codes, passkeys (WebAuthn, on webauthn-rs) and trusted devices.
//!
//! The app's password handler (or its sign-in link, or its OpenID Connect callback) calls
//! [`Mfa::after_first_factor`] instead of logging in. For an account with a second factor,
//! that keeps a *pending login* in the session: not a login (login-runtime's guards and
//! extractors see an anonymous visitor), bound to this session, void after a few minutes.
//! Only the second factor completes the login, through login-runtime's `login_with`: fresh,
//! with the methods used recorded ([`AuthMethod`](login_runtime::AuthMethod)), so that
//! `#[login_required(second_factor)]` admits it; remember-me is applied only then.
//!
//! [`Mfa::configure`] also installs the `Mfa` as login-runtime's
//! [`SecondStepGate`](login_runtime::SecondStepGate), so a first factor that knows nothing of
//! login-mfa (login-account's sign-in links, login-oidc's callback, anything that logs in
//! with [`Login::after_first_factor`](login_runtime::Login::after_first_factor)) goes through
//! the same second step.
//!
//! - TOTP: enrolment shows a QR code and the secret and is enabled by a first correct code;
//!   a code is accepted once (the last used step is stored), with one step of skew; wrong
//!   codes are throttled per account; the secret is encrypted at rest (AES-256-GCM under an
//!   HKDF subkey of the app's key).
//! - Recovery codes: a set shown once, stored as keyed hashes, each single use; a new set
//!   voids the old; using one is an event ([`MfaEvent::RecoveryCodeUsed`]) the app turns into
//!   a mail.
//! - Passkeys: several per account with names, user verification required; sign in with one
//!   and no password (discoverable credentials), use one as the second factor, or make a
//!   login fresh with one. Ceremony state is kept in the [`MfaStore`] under a random id,
//!   never in a cookie.
//! - Trusted devices: "don't ask again on this device", a signed cookie naming an entry of
//!   login-runtime's device registry, so it stops working when that device is logged out,
//!   by "log out everywhere", and when the password changes.
//!
//! Every route answers HTML (the app's [`MfaPages`]) to browsers and JSON to clients that
//! prefer it, with the same statuses. Events ([`MfaEvent`]) never carry a secret or a code.
//!
//! # A tour
//!
//! ```
//! use std::cell::RefCell;
//! use std::collections::HashMap;
//! use std::rc::Rc;
//!
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, HttpRequest, HttpResponse, cookie::Key, test, web};
//! use login_mfa::{FirstStep, MemoryMfaStore, Mfa, MfaConfig, MfaUser, Totp, TotpAlgorithm};
//! use login_runtime::{AuthMethod, AuthUser, LoginManager, SecretKey, UserLoader};
//!
//! #[derive(Clone, AuthUser)]
//! struct User { id: u64 }
//! impl MfaUser for User {}
//!
//! #[derive(Clone, Default)]
//! struct Users;
//! impl UserLoader for Users {
//!     type User = User;
//!     type Id = u64;
//!     type Error = std::convert::Infallible;
//!     async fn load_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
//!         Ok(Some(User { id: *id }))
//!     }
//! }
//!
//! # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
//! let key = SecretKey::generate();
//! let config = MfaConfig::new("localhost", &["http://localhost:8080"]).unwrap();
//! let mfa = Mfa::new(config, Users, MemoryMfaStore::new(), &key).unwrap();
//!
//! // The app's password form, once the password is right:
//! async fn login(req: HttpRequest, mfa: web::Data<Mfa<Users>>) -> HttpResponse {
//!     let step = mfa.after_first_factor(&req, &User { id: 1 }, AuthMethod::Password, false).await.unwrap();
//!     mfa.first_step_response(&req, step).await
//! }
//! let app = test::init_service(
//!     App::new()
//!         .app_data(web::Data::new(mfa.clone()))
//!         .configure(mfa.configure())
//!         .route("/login", web::post().to(login))
//!         .wrap(LoginManager::new(Users).secret_key(key.clone()))
//!         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
//! )
//! .await;
//! // Without a second factor, the password logs in.
//! let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
//! assert_eq!(res.status(), 303);
//! assert_eq!(res.headers().get("location").unwrap(), "/");
//! # }
//! ```
//!
//! # Where things are
//!
//! - [`Mfa`] (its builder, [`Mfa::configure`], each step as a method), [`MfaConfig`].
//! - [`MfaUser`]: the one thing asked of the app's users.
//! - [`MfaStore`], [`MemoryMfaStore`], [`TotpRecord`], [`PasskeyRecord`].
//! - [`Totp`]: RFC 6238 codes; [`qr_svg`].
//! - [`MfaPages`], [`MfaPage`], [`DefaultPages`]; [`MfaEvent`]; [`MfaError`].
//! - [`webauthn`]: the webauthn-rs types the passkey routes take and answer.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod events;
mod mfa;
mod pages;
mod pending;
mod respond;
mod routes;
mod secrets;
mod services;
mod store;
mod totp;

pub use crate::config::{ConfigError, MfaConfig};
pub use crate::error::MfaError;
pub use crate::events::{Factor, MfaEvent, MfaEventSink};
pub use crate::mfa::{
    FirstStep, Mfa, MfaUser, PasskeyInfo, SecondStep, SecurityOverview, TotpEnrolment,
};
pub use crate::pages::{DefaultPages, MfaPage, MfaPageContext, MfaPages, escape};
pub use crate::store::{MemoryMfaStore, MfaStore, PasskeyRecord, StoreError, TotpRecord};
pub use crate::totp::{STEP_SECONDS, Totp, TotpAlgorithm, qr_svg};

/// The webauthn-rs types the passkey routes take and answer, re-exported so that tests and
/// apps use the same version.
pub mod webauthn {
    pub use webauthn_rs::prelude::{
        CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
        RequestChallengeResponse, Url,
    };
}
