//! Procedural macros behind [`login-runtime`](https://docs.rs/login-runtime).
//!
//! Do not depend on this crate directly: `login_runtime` re-exports every macro here
//! (`login_runtime::{AuthUser, login_required, fresh_login_required, permission_required,
//! anonymous_required}`), and the code
//! they generate reaches the runtime and actix-web only through
//! `::login_runtime::__private`.
//!
//! Each macro below is a one-line shell; the work happens on
//! [`proc_macro2::TokenStream`] in `auth_user` and `guard`, one file per phase
//! (parse → validate → expand), so every phase is unit-tested under plain `cargo test`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod auth_user;
mod bounds;
mod display;
mod errors;
mod guard;
mod respan;

use proc_macro::TokenStream;

/// Derives `login_runtime::AuthUser` for a struct, the Rust side of Flask-Login's `UserMixin`.
///
/// ```
/// use login_runtime::AuthUser;
///
/// #[derive(Clone, AuthUser)]
/// struct User {
///     #[auth(id)]
///     user_id: u64,
///     #[auth(active)]
///     enabled: bool,
///     #[auth(session_hash)]
///     password_hash: String,
///     name: String,
/// }
///
/// let user = User { user_id: 7, enabled: false, password_hash: "$argon2id$…".into(), name: "Ada".into() };
/// assert_eq!(user.id(), 7);
/// assert!(!user.is_active());
/// assert_eq!(user.session_auth_hash(), Some("$argon2id$…".as_bytes()));
/// ```
///
/// Field attributes:
///
/// - `#[auth(id)]`: the user id, returned (cloned) by `AuthUser::id`; its type becomes
///   `AuthUser::Id` and must implement `Display`, `FromStr` and `Clone` (a compile error on
///   the field says which one is missing). Without a marked field, a field named `id` is the
///   id; tuple structs must mark one.
/// - `#[auth(active)]` (optional): a `bool` field returned by `AuthUser::is_active`; an
///   inactive user cannot log in and is logged out on the next request.
/// - `#[auth(session_hash)]` (optional): bytes that change when the credentials change (a
///   password hash, a security stamp). Any type that is `AsRef<[u8]>` (`String`, `Vec<u8>`,
///   `[u8; N]`, …) or an `Option` of one. Changing it ends every session and every
///   remember-me cookie of that user.
///
/// Generic structs work (each type parameter must be `'static`); structs that borrow (with
/// a lifetime parameter) are refused, because a login user is loaded per request and must
/// own its data.
#[proc_macro_derive(AuthUser, attributes(auth))]
pub fn derive_auth_user(input: TokenStream) -> TokenStream {
    auth_user::expand(input.into()).into()
}

/// Requires a logged-in user before an async actix-web handler runs, like Flask-Login's
/// `@login_required`.
///
/// ```
/// use actix_web::{App, HttpResponse, Responder, get, web};
/// use login_runtime::{AuthUser, CurrentUser, login_required};
///
/// #[derive(Clone, AuthUser)]
/// struct User {
///     id: u64,
///     name: String,
/// }
///
/// #[derive(serde::Deserialize)]
/// struct Filter {
///     q: String,
/// }
///
/// /// The settings page: members only.
/// #[get("/settings")]
/// #[login_required]
/// async fn settings(user: CurrentUser<User>, filter: web::Query<Filter>) -> impl Responder {
///     format!("{} searched {}", user.name, filter.q)
/// }
///
/// #[login_required(login_view = "/admin/login")]
/// async fn admin() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// let app = App::new().service(settings).route("/admin", web::get().to(admin));
/// # let _ = app;
/// ```
///
/// The guard runs, and finishes, before any extractor of the handler starts, so an
/// anonymous request with a malformed body gets the unauthorized response (a redirect to
/// the login view, or 401), not 400. `OPTIONS` requests pass unchecked. The handler is
/// rewritten, not replaced: its docs, other attributes (`#[get]` above or below, …),
/// visibility, generics, parameters and return type stay.
///
/// Arguments (all optional):
///
/// - `login_view = "/path"`: where anonymous visitors are sent, overriding the
///   `LoginManager`'s per-prefix and global login views for this handler. A path on this site
///   (a single leading `/`), or an absolute `https://` (or `http://`) URL of a login service:
///   the same two shapes `LoginManager::login_view` accepts. Do not guard the handler that
///   serves the login view: with the route attribute below the guard that is a compile
///   error, otherwise its first request answers a 500 naming the handler.
/// - `permission = Perm::Admin` (or `any(..)` / `all(..)`): also require a permission, as
///   [`macro@permission_required`] does.
///
/// What actix-web checks about a handler is checked once, where it is written: a parameter
/// that is not an extractor, a `CurrentUser<T>` of a `T` that is not a login user, a return
/// type that is not a responder (`()` included, as actix-web refuses it) are each one error on
/// that type, whether the route attribute is above, below, `#[route]`, `#[routes]` or absent.
#[proc_macro_attribute]
pub fn login_required(args: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Login, args.into(), item.into()).into()
}

/// Requires a fresh login (one made with credentials in this session, not restored from a
/// remember-me cookie) before an async actix-web handler runs, like Flask-Login's
/// `@fresh_login_required`.
///
/// ```
/// use actix_web::{App, HttpResponse, post};
/// use login_runtime::fresh_login_required;
///
/// #[post("/password")]
/// #[fresh_login_required(refresh_view = "/reauthenticate")]
/// async fn change_password() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// let app = App::new().service(change_password);
/// # let _ = app;
/// ```
///
/// Anonymous visitors get the unauthorized response, logged-in users whose login is not
/// fresh get the needs-refresh response. Everything else is as for [`macro@login_required`].
///
/// Arguments (all optional):
///
/// - `login_view = "/path"`: the login view for anonymous visitors, for this handler.
/// - `refresh_view = "/path"`: the re-authentication view for stale logins, for this handler.
/// - `permission = Perm::Admin` (or `any(..)` / `all(..)`): also require a permission,
///   checked after freshness: a stale login is asked to re-authenticate first.
///
/// Both take a path on this site or an absolute `http(s)` URL, as for
/// [`macro@login_required`].
#[proc_macro_attribute]
pub fn fresh_login_required(args: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Fresh, args.into(), item.into()).into()
}

/// Requires a logged-in user holding a permission before an async actix-web handler runs.
///
/// ```
/// use actix_web::{App, HttpResponse, get};
/// use login_runtime::{AuthUser, HasPermission, Permission, permission_required};
///
/// #[derive(Clone, AuthUser)]
/// struct User { id: u64, admin: bool }
///
/// #[derive(PartialEq)]
/// enum Perm { Admin, Audit, Export }
///
/// impl Permission for Perm {
///     type User = User;
/// }
/// impl HasPermission<Perm> for User {
///     fn has_permission(&self, permission: &Perm) -> bool {
///         self.admin || *permission == Perm::Audit
///     }
/// }
///
/// #[get("/admin")]
/// #[permission_required(Perm::Admin)]
/// async fn admin() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// #[permission_required(any(Perm::Admin, all(Perm::Audit, Perm::Export)), login_view = "/login")]
/// #[get("/reports")]
/// async fn reports() -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// let app = App::new().service(admin).service(reports);
/// # let _ = app;
/// ```
///
/// The argument is a value of the app's permission type (a type implementing
/// `login_runtime::Permission`), or `any(..)` / `all(..)` of such rules; a misspelt variant or
/// a value of another type is a compile error at the attribute. An anonymous visitor gets the
/// unauthorized response (as with [`macro@login_required`]); a logged-in user without the
/// permission gets 403 (an HTML page, or `{"error":"forbidden"}` for clients preferring
/// JSON), never a redirect to the login view. Like the login guards, the check finishes before
/// any extractor of the handler starts (403, not 400, for a malformed body).
///
/// Arguments after the rule (optional): `login_view = "/path"`. For a fresh login and a
/// permission, write `#[fresh_login_required(permission = ..)]`.
#[proc_macro_attribute]
pub fn permission_required(args: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Permission, args.into(), item.into()).into()
}

/// Admits only visitors who are not logged in, for login and sign-up pages (Flask-Login
/// #398). A logged-in visitor is redirected (303) to the request's `next` when it is a
/// same-site path, else to `LoginManager::anonymous_redirect` (default `/`).
///
/// ```
/// use actix_web::{HttpResponse, get};
/// use login_runtime::anonymous_required;
///
/// #[get("/login")]
/// #[anonymous_required]
/// async fn login_page() -> HttpResponse {
///     HttpResponse::Ok().body("<form>…</form>")
/// }
/// # let _ = actix_web::App::new().service(login_page);
/// ```
#[proc_macro_attribute]
pub fn anonymous_required(args: TokenStream, item: TokenStream) -> TokenStream {
    guard::expand(guard::Kind::Anonymous, args.into(), item.into()).into()
}
