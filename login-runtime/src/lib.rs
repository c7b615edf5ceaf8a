//! Flask-Login for actix-web.
//!
//! Derive [`AuthUser`] on your user, implement [`UserLoader`], wrap the app in a
//! [`LoginManager`] (inside actix-session's `SessionMiddleware`), and guard handlers with
//! [`login_required`] or [`fresh_login_required`]. Log users in and out with the [`Login`]
//! handle; read the user with [`CurrentUser`] or [`MaybeUser`].
//!
//! # A tour
//!
//! ```
//! use std::collections::HashMap;
//!
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, HttpResponse, cookie::Key, get, post, test, web};
//! use login_runtime::{
//!     AuthUser, CurrentUser, Login, LoginManager, LoginOptions, UserLoader, login_required,
//! };
//!
//! #[derive(Clone, AuthUser)]
//! struct User {
//!     id: u32,
//!     name: String,
//!     #[auth(active)]
//!     enabled: bool,
//! }
//!
//! struct Users(HashMap<u32, User>);
//!
//! impl UserLoader for Users {
//!     type User = User;
//!     type Id = u32;
//!     type Error = std::convert::Infallible;
//!
//!     async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
//!         Ok(self.0.get(id).cloned())
//!     }
//! }
//!
//! #[post("/login")]
//! async fn login(login: Login<User>) -> actix_web::Result<HttpResponse> {
//!     // ... check the password first ...
//!     let user = User { id: 1, name: "notch".into(), enabled: true };
//!     login.login_with(&user, LoginOptions::new().remember(true))?;
//!     Ok(login.redirect_to_next("/"))
//! }
//!
//! #[login_required]
//! #[get("/secret")]
//! async fn secret(user: CurrentUser<User>) -> String {
//!     format!("Hello, {}", user.name)
//! }
//!
//! # #[actix_web::main(system = "actix_web::rt::System")] async fn main() {
//! let users = || {
//!     let notch = User { id: 1, name: "notch".into(), enabled: true };
//!     Users(HashMap::from([(1, notch)]))
//! };
//! let app = test::init_service(
//!     App::new()
//!         .service(login)
//!         .service(secret)
//!         .wrap(LoginManager::new(users()).login_view("/login"))
//!         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
//! )
//! .await;
//!
//! // Anonymous: sent to the login view, with where it wanted to go.
//! let res = test::call_service(&app, test::TestRequest::get().uri("/secret").to_request()).await;
//! assert_eq!(res.status(), 302);
//! assert_eq!(res.headers().get("location").unwrap(), "/login?next=%2Fsecret");
//!
//! // Logged in: the session cookie carries the login.
//! let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
//! let session = res.response().cookies().find(|c| c.name() == "id").unwrap().into_owned();
//! let req = test::TestRequest::get().uri("/secret").cookie(session).to_request();
//! let body = test::call_and_read_body(&app, req).await;
//! assert_eq!(body, "Hello, notch");
//! # }
//! ```
//!
//! # Where things are
//!
//! - Users and loading: [`AuthUser`], [`UserLoader`].
//! - Configuration: [`LoginManager`], [`RememberCookie`], [`SessionProtection`], [`SecretKey`].
//! - In handlers: [`CurrentUser`], [`MaybeUser`], [`Login`], [`LoginOptions`],
//!   [`client_address`].
//! - Guards: [`login_required`], [`fresh_login_required`], [`anonymous_required`].
//! - Permissions: [`Permission`], [`HasPermission`], [`permission_required`],
//!   [`RequirePermission`] for a scope, [`Permissions`], [`PermissionSet`], [`Rule`].
//! - Events: [`LoginEvent`], [`EventSink`]. Errors: [`LoginError`]. Refusals in the app's own
//!   layout: [`Refusal`].
//! - Redirect safety: [`is_safe_next`], [`login_url`], [`make_next_param`].
//! - Remember-me cookies: [`remember`]. Tests: [`testing`].
//! - Several servers: [`DeviceRegistry`], [`MemoryDevices`], `RedisDevices` (feature
//!   `redis`), [`Devices`]; timeouts on [`LoginManager`].
//! - Throttling failed logins: [`throttle`].
//!
//! # How the crate is built
//!
//! Each module is in one layer, and imports only from the layers below it; within the leaves,
//! the model and the core, files import each other without a cycle. The test
//! `tests/architecture.rs` (`the_layers_hold`) reads this directory and fails when a rule
//! is broken.
//!
//! | layer | modules | may import |
//! |---|---|---|
//! | leaves | `next`, `negotiate`, `key`, `remember`, `events`, `diagnostics`, `throttle`, `client` | other leaves |
//! | model | `model` (users, loaders, the permission vocabulary) | leaves |
//! | core | `core` (the per-request state, loading, protection, login/logout, the remember cookie, the hooks) | leaves, model |
//! | responses | `responses` (every refusal, HTML or JSON) | leaves, model, core |
//! | features | `guard`, `extract`, `authz`, `devices`, `test_helpers` | the layers below, never another feature |
//! | top | `manager` (the builder and its middleware), this file | everything |
//!
//! The core imports no feature: a feature that must take part in every login and request
//! (the device registry, the timeouts) does so through the core's hooks
//! (`core::hooks::LoginHook`), and with none configured nothing of it runs.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Leaves.
mod client;
mod diagnostics;
mod events;
mod key;
mod negotiate;
mod next;
pub mod remember;
pub mod throttle;
// The model.
mod model;
// The core.
mod core;
// The responses.
mod responses;
// Features.
mod authz;
mod devices;
mod extract;
mod guard;
mod test_helpers;
// The top.
mod manager;

pub use crate::authz::{Permissions, RequirePermission, RequirePermissionMiddleware, authorize};
pub use crate::client::{InvalidProxy, TrustedProxies};
pub use crate::core::config::{RememberCookie, SessionProtection};
pub use crate::core::error::{DeviceError, LoginError};
pub use crate::core::events::EventSink;
pub use crate::core::methods::AuthMethod;
pub use crate::core::ops::LoginOptions;
#[cfg(feature = "redis")]
pub use crate::devices::RedisDevices;
pub use crate::devices::{Device, DeviceRegistry, Devices, MemoryDevices};
pub use crate::events::LoginEvent;
pub use crate::extract::{
    AfterFirstFactor, CurrentUser, FirstFactor, Login, MaybeUser, SecondStepGate,
    SecondStepHandler, client_address,
};
pub use crate::guard::{RequireLogin, RequireLoginMiddleware};
pub use crate::key::{SecretKey, WeakKeyError};
pub use crate::manager::{LoginManager, LoginMiddleware};
pub use crate::model::loader::UserLoader;
pub use crate::model::permission::{HasPermission, Permission, PermissionSet, Rule};
pub use crate::model::user::AuthUser;
pub use crate::negotiate::{prefers_json, request_prefers_json};
pub use crate::next::{is_safe_next, login_url, make_next_param};
pub use crate::remember::RememberFormat;
pub use crate::responses::Refusal;
pub use login_macros::{
    AuthUser, anonymous_required, fresh_login_required, login_required, permission_required,
};

// Also here, outside the hidden module, only so that compile errors name them by this path.
#[doc(hidden)]
pub use crate::diagnostics::{HandlerParameter, HandlerReturn, LoginId, SameKindAs, same_kind};
#[doc(hidden)]
pub use crate::model::permission::{AdmitsHolder, PermissionHolder, permission_holder};

// Test helpers, gathered from the core and the features that have them.
pub mod testing {
    //! Logging users into `actix_web::test` requests without a login form (Flask-Login's
    //! `FlaskLoginClient`).
    //!
    //! ```
    //! use actix_web::test::TestRequest;
    //! use login_runtime::AuthUser;
    //! use login_runtime::testing::TestRequestLoginExt;
    //! # struct User { id: u32 }
    //! # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
    //!
    //! let user = User { id: 1 };
    //! let request = TestRequest::get().uri("/profile").login_as(&user).fresh(false).to_request();
    //! # let _ = request;
    //! ```
    //!
    //! The [`LoginManager`](crate::LoginManager) writes the login into the session when the
    //! request arrives, exactly as an earlier login from the same client would have: with the
    //! client's session-protection identifier, so protection passes (unlike `FlaskLoginClient`).
    //! Only code in the same process can attach a [`TestLogin`]: clients cannot.
    //!
    //! To follow a user across requests (log in through the real form, then visit pages), use
    //! [`TestClient`], which keeps cookies like a browser.

    //! To check a store of your own against the same rules as the built-in ones, run
    //! [`device_registry_conformance`] on it.

    pub use crate::devices::conformance::device_registry_conformance;
    pub use crate::test_helpers::{
        LoggedInTestRequest, TestClient, TestLogin, TestRequestLoginExt,
    };
}

/// Flash message levels for [`LoginManager::login_message`].
pub use actix_web_flash_messages::Level as FlashLevel;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

/// What the macros expand to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use ::actix_web;
    pub use ::core;
    pub use ::futures_util;

    pub use crate::authz::authorize_check;
    pub use crate::diagnostics::{HandlerParameter, HandlerReturn, LoginId, same_kind};
    pub use crate::guard::{
        GuardSpec, anonymous_only, anonymous_only_of, guard, guard_for_check, guard_of,
        second_factor, second_factor_for_check, second_factor_of,
    };
    pub use crate::model::permission::{Check, Permission, permission_holder};
}
