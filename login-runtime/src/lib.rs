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
//! - In handlers: [`CurrentUser`], [`MaybeUser`], [`Login`], [`LoginOptions`].
//! - Guards: [`login_required`], [`fresh_login_required`], [`anonymous_required`].
//! - Permissions: [`Permission`], [`HasPermission`], [`permission_required`],
//!   [`RequirePermission`] for a scope, [`Permissions`], [`PermissionSet`], [`Rule`].
//! - Events: [`LoginEvent`]. Errors: [`LoginError`].
//! - Redirect safety: [`is_safe_next`], [`login_url`], [`make_next_param`].
//! - Remember-me cookies: [`remember`]. Tests: [`testing`].
//! - Several servers: [`DeviceRegistry`], [`MemoryDevices`], `RedisDevices` (feature
//!   `redis`), [`Devices`]; timeouts on [`LoginManager`].
//! - Throttling failed logins: [`throttle`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod authz;
mod config;
mod devices;
mod diagnostics;
mod error;
mod events;
mod extract;
mod guard;
mod key;
mod manager;
mod negotiate;
mod next;
pub mod remember;
mod state;
pub mod testing;
pub mod throttle;
mod user;

pub use authz::{
    HasPermission, Permission, PermissionSet, Permissions, RequirePermission,
    RequirePermissionMiddleware, Rule, authorize,
};
pub use config::{RememberCookie, SessionProtection};
#[cfg(feature = "redis")]
pub use devices::RedisDevices;
pub use devices::{Device, DeviceError, DeviceRegistry, Devices, MemoryDevices};
pub use error::LoginError;
pub use events::LoginEvent;
pub use extract::{CurrentUser, Login, LoginOptions, MaybeUser};
pub use key::{SecretKey, WeakKeyError};
pub use login_macros::{
    AuthUser, anonymous_required, fresh_login_required, login_required, permission_required,
};
pub use manager::{LoginManager, LoginMiddleware};
pub use negotiate::prefers_json;
pub use next::{is_safe_next, login_url, make_next_param};
pub use remember::RememberFormat;
pub use user::{AuthUser, UserLoader};

// Also here, outside the hidden module, only so that compile errors name them by this path.
#[doc(hidden)]
pub use diagnostics::{HandlerParameter, HandlerReturn, LoginId};

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

    pub use crate::Permission;
    pub use crate::authz::{Check, anonymous_only, authorize_check};
    pub use crate::diagnostics::{HandlerParameter, HandlerReturn, LoginId};
    pub use crate::guard::{GuardSpec, guard};
}
