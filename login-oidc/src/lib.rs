//! Sign in with OpenID Connect for [login-runtime](login_runtime): Google, Microsoft,
//! Keycloak, Okta, Auth0, Apple, or any certified provider, and with plain OAuth 2.0 providers
//! such as GitHub ([`OidcConfig::github`]), ending in an ordinary login-runtime login; and JWT
//! access tokens from the same provider for an API ([`AccessTokens`]).
//!
//! Configure the provider with [`OidcConfig`], tell login-oidc which local user an identity is
//! with an [`OidcUsers`] implementation, and register the two routes of an [`Oidc`] inside the
//! app's `LoginManager`. A sign-in then is:
//!
//! 1. `GET /oidc/start?next=/members`: the provider's metadata is discovered (or configured by
//!    hand, [`Endpoints`]; fetched again after [`OidcConfig::metadata_refresh_interval`]),
//!    a `state`, a `nonce` and a PKCE (S256) verifier are kept in the session with the
//!    validated `next`, and the visitor is sent to the provider (`reauth=1`: with
//!    `prompt=login` and `max_age`, to make the current login fresh).
//! 2. `GET /oidc/callback?code=…&state=…&iss=…`: the sign-in leaves the session (single use);
//!    `state` is compared in constant time, `iss` (RFC 9207) checked, the code exchanged with
//!    the PKCE verifier and the client authentication the provider takes ([`ClientAuth`]),
//!    the ID token verified (signature against the provider's keys, fetched again,
//!    rate-limited, when it names an unknown key; an asymmetric algorithm the provider lists;
//!    `iss`, `aud` and trusted audiences, `azp`, `exp` and `iat` with a leeway, `nonce`),
//!    completed from UserInfo when it lacks the profile or the address (whose `sub` must
//!    match), the user found, linked or created by the app, and logged in with
//!    [`Login`](login_runtime::Login): fresh, session id renewed, remembered if the visitor
//!    asked. Then a redirect to `next`, only if it is a same-site path.
//!
//! Anything else is refused with a clear page and an [`OidcEvent::Refused`], and logs nobody
//! in: see [`OidcError`]; what the operator must fix (a refused client, TLS, an answer that
//! does not parse) is [`OidcError::Misconfigured`], shown to the visitor as such.
//!
//! ```no_run
//! use actix_session::{SessionMiddleware, storage::CookieSessionStore};
//! use actix_web::{App, HttpServer, cookie::Key};
//! use login_oidc::{Oidc, OidcConfig, OidcIdentity, OidcUsers};
//! use login_runtime::{AuthUser, LoginManager, UserLoader};
//!
//! #[derive(Clone, AuthUser)]
//! struct User { id: String }
//!
//! #[derive(Clone)]
//! struct Users;
//! impl UserLoader for Users {
//!     type User = User;
//!     type Id = String;
//!     type Error = std::convert::Infallible;
//!     async fn load_user(&self, id: &String) -> Result<Option<User>, Self::Error> {
//!         Ok(Some(User { id: id.clone() }))
//!     }
//! }
//! impl OidcUsers for Users {
//!     type User = User;
//!     type Error = std::convert::Infallible;
//!     async fn find(&self, who: &OidcIdentity) -> Result<Option<User>, Self::Error> {
//!         Ok(Some(User { id: format!("{}|{}", who.issuer, who.subject) }))
//!     }
//!     async fn link(&self, _: &User, _: &OidcIdentity) -> Result<(), Self::Error> { Ok(()) }
//!     async fn create(&self, _: &OidcIdentity) -> Result<Option<User>, Self::Error> { Ok(None) }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URL
//!     let oidc = OidcConfig::from_env()
//!         .expect("a complete OpenID Connect configuration")
//!         .map(|config| Oidc::new(config, Users).expect("an HTTP client"));
//!     let key = Key::generate();
//!     HttpServer::new(move || {
//!         let mut app = App::new();
//!         if let Some(oidc) = &oidc {
//!             app = app.service(oidc.service()); // /oidc/start, /oidc/callback
//!         }
//!         app.wrap(LoginManager::new(Users).login_view("/login"))
//!             .wrap(SessionMiddleware::new(CookieSessionStore::default(), key.clone()))
//!     })
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await
//! }
//! ```
//!
//! login-oidc is a crate of its own so that apps without OpenID Connect never compile an HTTP
//! client, TLS or JOSE. Every request to a provider is bounded by a timeout, follows no
//! redirects, and trusts the built-in web roots, the platform's (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`) and the ones configured ([`OidcConfig::add_root_certificate_pem`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod access_token;
mod config;
mod error;
mod events;
mod flow;
mod http;
mod jwt;
mod provider;
mod routes;
mod signed_in;
mod users;

pub use access_token::{AccessToken, AccessTokenError, AccessTokens, ScopePermission};
pub use config::{
    ClientAuth, ConfigError, ENV_CA_FILE, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_ISSUER_URL,
    ENV_REDIRECT_URL, Endpoints, OidcConfig, UserInfoMapping,
};
pub use error::{Misconfiguration, OidcError};
pub use events::{Matched, OidcEvent, OidcEventSink};
pub use provider::OidcProvider;
pub use routes::Oidc;
pub use signed_in::SignedInWith;
pub use users::{OidcIdentity, OidcUsers};
