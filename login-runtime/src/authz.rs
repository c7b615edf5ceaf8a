//! Authorization: the app's own permission types, the check the guards run after the login
//! (and freshness) check, the per-request cache of permissions loaded by
//! [`UserLoader::load_permissions`], the 403 (or opt-in 404) response, the scope middleware
//! [`RequirePermission`], the [`Permissions`] extractor, and the anonymous-only guard.
//!
//! Permissions are values of the app's own type, never strings, so a misspelt or wrong-typed
//! permission is a compile error. A permission type names the user type that holds it
//! ([`Permission::User`]); the guard is generic over the permission and finds the user type
//! through it, and the user answers with [`HasPermission`].

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};

use crate::config::ResponseHandler;
use crate::error::LoginError;
use crate::events::LoginEvent;
use crate::guard::{respond, unauthorized, wants_json};
use crate::state::{Current, RequestState};
use crate::user::{AuthUser, UserLoader};

/// A permission type: the app's own type (usually a `Copy` enum), naming the user type whose
/// permissions its values are.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// enum Perm { ReadReports, Admin }
///
/// #[derive(Clone, AuthUser)]
/// struct User { id: u32, is_admin: bool }
///
/// impl Permission for Perm {
///     type User = User;
/// }
///
/// impl HasPermission<Perm> for User {
///     fn has_permission(&self, permission: &Perm) -> bool {
///         match permission {
///             Perm::ReadReports => true,
///             Perm::Admin => self.is_admin,
///         }
///     }
/// }
/// # let _ = User { id: 1, is_admin: false };
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission type",
    label = "not a permission type",
    note = "permissions are the app's own type, usually an enum: `impl login_runtime::Permission for {Self} {{ type User = YourUser; }}` and `impl login_runtime::HasPermission<{Self}> for YourUser`"
)]
pub trait Permission: Sized + PartialEq + 'static {
    /// The login user type that holds permissions of this type.
    type User: HasPermission<Self>;

    /// What the guard attributes build a permission into. Through this trait's own method,
    /// a value of a type that is not a permission type is one error, on the value.
    #[doc(hidden)]
    fn __check(self) -> Check {
        Check::one(self)
    }
}

/// How a user answers whether it holds a permission, from the user as loaded (permissions
/// kept with the user cost no extra query). The default answers `false`, leaving everything
/// to [`UserLoader::load_permissions`], for permissions kept elsewhere.
#[diagnostic::on_unimplemented(
    message = "`{P}` is not a permission type of `{Self}`",
    label = "`{Self}` does not implement `HasPermission<{P}>`",
    note = "implement `login_runtime::HasPermission<{P}>` for `{Self}` (an empty impl leaves the answer to `UserLoader::load_permissions`)"
)]
pub trait HasPermission<P>: AuthUser {
    /// Whether this user holds `permission`.
    fn has_permission(&self, permission: &P) -> bool {
        let _ = permission;
        false
    }
}

/// Permissions of a user `U` that [`UserLoader::load_permissions`] found outside the user
/// (another table, a policy service). Holds values of any of `U`'s permission types.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission, PermissionSet};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// #[derive(Debug, PartialEq)]
/// enum Perm { Edit, Publish }
/// impl Permission for Perm { type User = User; }
/// impl HasPermission<Perm> for User {}
///
/// let set: PermissionSet<User> = [Perm::Edit].into_iter().collect();
/// assert!(set.contains(&Perm::Edit));
/// assert!(!set.contains(&Perm::Publish));
/// ```
pub struct PermissionSet<U> {
    /// `TypeId` of a permission type → `Vec` of its values.
    by_type: HashMap<TypeId, Box<dyn Any>>,
    user: PhantomData<fn() -> U>,
}

impl<U: AuthUser> PermissionSet<U> {
    /// No permissions.
    pub fn new() -> Self {
        PermissionSet {
            by_type: HashMap::new(),
            user: PhantomData,
        }
    }

    /// Adds `permission`.
    pub fn insert<P: Permission<User = U>>(&mut self, permission: P) {
        let values = self
            .by_type
            .entry(TypeId::of::<P>())
            .or_insert_with(|| Box::new(Vec::<P>::new()));
        if let Some(values) = values.downcast_mut::<Vec<P>>()
            && !values.contains(&permission)
        {
            values.push(permission);
        }
    }

    /// Whether `permission` is in the set.
    pub fn contains<P: Permission<User = U>>(&self, permission: &P) -> bool {
        self.by_type
            .get(&TypeId::of::<P>())
            .and_then(|values| values.downcast_ref::<Vec<P>>())
            .is_some_and(|values| values.contains(permission))
    }

    /// Whether the set holds no permission.
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

impl<U: AuthUser> Default for PermissionSet<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U> fmt::Debug for PermissionSet<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionSet")
            .field("user", &type_name::<U>())
            .field("types", &self.by_type.len())
            .finish()
    }
}

impl<U: AuthUser, P: Permission<User = U>> Extend<P> for PermissionSet<U> {
    fn extend<I: IntoIterator<Item = P>>(&mut self, permissions: I) {
        for permission in permissions {
            self.insert(permission);
        }
    }
}

impl<U: AuthUser, P: Permission<User = U>> FromIterator<P> for PermissionSet<U> {
    fn from_iter<I: IntoIterator<Item = P>>(permissions: I) -> Self {
        let mut set = PermissionSet::new();
        set.extend(permissions);
        set
    }
}

/// Which permissions a guard asks for: one, any of several, or all of several (nested as
/// deep as needed). The attributes build it from `Perm::A`, `any(..)` and `all(..)`;
/// [`RequirePermission`] takes one directly.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule<P> {
    /// This permission.
    One(P),
    /// At least one of these rules.
    Any(Vec<Rule<P>>),
    /// Every one of these rules.
    All(Vec<Rule<P>>),
}

impl<P: Permission> Rule<P> {
    /// Requires `permission`.
    pub fn one(permission: P) -> Self {
        Rule::One(permission)
    }

    /// Requires at least one of `rules`; an empty list is never satisfied.
    pub fn any(rules: impl IntoIterator<Item = impl Into<Rule<P>>>) -> Self {
        Rule::Any(rules.into_iter().map(Into::into).collect())
    }

    /// Requires every one of `rules`; an empty list is never satisfied either, so that a
    /// rule built from an empty list fails closed.
    pub fn all(rules: impl IntoIterator<Item = impl Into<Rule<P>>>) -> Self {
        Rule::All(rules.into_iter().map(Into::into).collect())
    }

    fn holds(&self, held: &mut impl FnMut(&P) -> bool) -> bool {
        match self {
            Rule::One(permission) => held(permission),
            Rule::Any(rules) => rules.iter().any(|rule| rule.holds(held)),
            // Fail closed: `all()` of nothing grants nothing.
            Rule::All(rules) => !rules.is_empty() && rules.iter().all(|rule| rule.holds(held)),
        }
    }
}

impl<P: Permission> From<P> for Rule<P> {
    fn from(permission: P) -> Self {
        Rule::One(permission)
    }
}

/// What a `LoginManager` knows about authorization.
#[derive(Clone, Default)]
pub(crate) struct AuthzConfig {
    /// Loads a user's permissions through the `UserLoader`, type-erased.
    pub(crate) permission_loader: Option<PermissionLoader>,
    pub(crate) forbidden_handler: Option<ResponseHandler>,
    /// Answer 404 instead of 403, for resources whose existence is secret.
    pub(crate) forbidden_as_not_found: bool,
    /// Where the anonymous-only guard sends a logged-in visitor without a safe `next`.
    pub(crate) anonymous_redirect: Option<String>,
}

impl fmt::Debug for AuthzConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthzConfig")
            .field("forbidden_handler", &self.forbidden_handler.is_some())
            .field("forbidden_as_not_found", &self.forbidden_as_not_found)
            .field("anonymous_redirect", &self.anonymous_redirect)
            .finish_non_exhaustive()
    }
}

/// A user's loaded [`PermissionSet`], type-erased.
type LoadedPermissions = Rc<dyn Any>;
pub(crate) type PermissionLoader =
    Rc<dyn Fn(Rc<dyn Any>) -> LocalBoxFuture<'static, Result<LoadedPermissions, LoginError>>>;

/// The erased `load_permissions` of `loader`, for guards that do not know its type.
pub(crate) fn permission_loader<L: UserLoader>(loader: Rc<L>) -> PermissionLoader {
    Rc::new(move |user: Rc<dyn Any>| {
        let loader = Rc::clone(&loader);
        async move {
            let user = user
                .downcast::<L::User>()
                .map_err(|_| LoginError::UserTypeMismatch {
                    requested: type_name::<L::User>(),
                    loaded: "another type",
                })?;
            let permissions = loader
                .load_permissions(&user)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(Rc::new(permissions) as LoadedPermissions)
        }
        .boxed_local()
    })
}

/// This request's loaded permissions: one lookup however many guards and extractors ask.
/// Kept in the request's extensions; it holds the loader and the user, never the request.
#[derive(Clone)]
struct PermissionCache(Shared<LocalBoxFuture<'static, Result<LoadedPermissions, Rc<LoginError>>>>);

async fn loaded_permissions(
    req: &HttpRequest,
    state: &RequestState,
    user: &Rc<dyn Any>,
) -> Result<Option<LoadedPermissions>, LoginError> {
    let cached = req.extensions().get::<PermissionCache>().cloned();
    let cache = match cached {
        Some(cache) => cache,
        None => {
            let Some(loader) = state.config().authz.permission_loader.clone() else {
                return Ok(None);
            };
            let user = Rc::clone(user);
            let future = async move { loader(user).await.map_err(Rc::new) };
            let cache = PermissionCache(future.boxed_local().shared());
            req.extensions_mut().insert(cache.clone());
            cache
        }
    };
    let loaded = cache.0.await.map_err(|error| (*error).clone())?;
    Ok(Some(loaded))
}

/// The logged-in user, type-erased, and its id; or the response for an anonymous request.
async fn logged_in_user(
    req: &HttpRequest,
    state: &Rc<RequestState>,
) -> Result<(Rc<dyn Any>, String), actix_web::Error> {
    let Some(Current { user, id, .. }) = state.current(req).await? else {
        return Err(unauthorized(req, state, None));
    };
    match user {
        Some(user) => Ok((user, id)),
        // `None` only right after `login()` in this request: nothing to check permissions on.
        None => Err(forbidden(req, state, id)),
    }
}

fn type_mismatch(state: &RequestState, requested: &'static str) -> LoginError {
    LoginError::UserTypeMismatch {
        requested,
        loaded: state.backend.user_type_name(),
    }
}

/// A permission rule with its permission types erased: what the guards run. The attributes
/// build it leaf by leaf (so `any(..)` may mix permission types of one user), the public API
/// from a [`Rule`].
#[doc(hidden)]
pub struct Check(Node);

enum Node {
    One(Box<dyn Leaf>),
    Any(Vec<Check>),
    All(Vec<Check>),
}

trait Leaf {
    /// Whether `user` holds this permission, itself or in `loaded`; `Err` with the type the
    /// permission needs when `user` is another type.
    fn held(&self, user: &dyn Any, loaded: Option<&dyn Any>) -> Result<bool, &'static str>;
}

struct Typed<P>(P);

impl<P: Permission> Leaf for Typed<P> {
    fn held(&self, user: &dyn Any, loaded: Option<&dyn Any>) -> Result<bool, &'static str> {
        let user = user
            .downcast_ref::<P::User>()
            .ok_or(type_name::<P::User>())?;
        Ok(user.has_permission(&self.0)
            || loaded
                .and_then(|loaded| loaded.downcast_ref::<PermissionSet<P::User>>())
                .is_some_and(|set| set.contains(&self.0)))
    }
}

impl Check {
    /// One permission.
    pub fn one<P: Permission>(permission: P) -> Self {
        Check(Node::One(Box::new(Typed(permission))))
    }

    /// At least one of `checks`.
    pub fn any<const N: usize>(checks: [Check; N]) -> Self {
        Check(Node::Any(checks.into()))
    }

    /// Every one of `checks`.
    pub fn all<const N: usize>(checks: [Check; N]) -> Self {
        Check(Node::All(checks.into()))
    }

    fn holds(&self, user: &dyn Any, loaded: Option<&dyn Any>) -> Result<bool, &'static str> {
        match &self.0 {
            Node::One(leaf) => leaf.held(user, loaded),
            Node::Any(checks) => {
                for check in checks {
                    if check.holds(user, loaded)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            // Fail closed: `all` of nothing grants nothing.
            Node::All(checks) if checks.is_empty() => Ok(false),
            Node::All(checks) => {
                for check in checks {
                    if !check.holds(user, loaded)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

impl<P: Permission> From<Rule<P>> for Check {
    fn from(rule: Rule<P>) -> Self {
        match rule {
            Rule::One(permission) => Check::one(permission),
            Rule::Any(rules) => Check(Node::Any(rules.into_iter().map(Check::from).collect())),
            Rule::All(rules) => Check(Node::All(rules.into_iter().map(Check::from).collect())),
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Node::One(_) => f.write_str("Check::One"),
            Node::Any(checks) => f.debug_tuple("Check::Any").field(checks).finish(),
            Node::All(checks) => f.debug_tuple("Check::All").field(checks).finish(),
        }
    }
}

/// The check `#[permission_required]` runs, for handlers that decide at run time which
/// permission a request needs: `Ok(())` when the logged-in user satisfies `rule`; otherwise
/// an error that renders as the unauthorized response for an anonymous request, 403 (or the
/// configured forbidden response) for a logged-in user without the permission, or 500 when
/// a lookup failed. `OPTIONS` requests pass.
///
/// ```
/// # use login_runtime::{AuthUser, HasPermission, Permission};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// # #[derive(PartialEq)] enum Perm { Edit, Publish }
/// # impl Permission for Perm { type User = User; }
/// # impl HasPermission<Perm> for User {}
/// use actix_web::{HttpRequest, web};
/// use login_runtime::{Rule, authorize};
///
/// async fn save(req: HttpRequest, publish: web::Query<bool>) -> actix_web::Result<&'static str> {
///     let needed = if *publish { Perm::Publish } else { Perm::Edit };
///     authorize(&req, Rule::one(needed)).await?;
///     Ok("saved")
/// }
/// # let _ = web::post().to(save);
/// ```
pub fn authorize<P: Permission>(
    req: &HttpRequest,
    rule: Rule<P>,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    authorize_check(req, Check::from(rule))
}

/// [`authorize`] for a rule the attributes built.
#[doc(hidden)]
pub fn authorize_check(
    req: &HttpRequest,
    check: Check,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move { run_check(&req, &check).await }
}

async fn run_check(req: &HttpRequest, check: &Check) -> Result<(), actix_web::Error> {
    let state = RequestState::of(req)?;
    // CORS preflights carry no credentials: never refuse them, as the login guards do not.
    if req.method() == Method::OPTIONS || state.config().guards_disabled {
        return Ok(());
    }
    let (user, id) = logged_in_user(req, &state).await?;
    let mismatch = |requested| type_mismatch(&state, requested);
    // What the user answers from itself first: a rule it satisfies costs no lookup.
    if check.holds(&*user, None).map_err(mismatch)? {
        return Ok(());
    }
    let loaded = loaded_permissions(req, &state, &user).await?;
    let granted = check.holds(&*user, loaded.as_deref()).map_err(mismatch)?;
    if granted {
        Ok(())
    } else {
        // Logged in without the permission: 403, never the login view (no redirect loop).
        Err(forbidden(req, &state, id))
    }
}

/// The forbidden response: the custom handler, a 404 when configured, a JSON 403 for API
/// clients, or an HTML 403 page.
pub(crate) fn forbidden(
    req: &HttpRequest,
    state: &RequestState,
    user_id: String,
) -> actix_web::Error {
    let config = state.config();
    config.emit(LoginEvent::Forbidden {
        user_id,
        path: req.path().to_owned(),
    });
    let authz = &config.authz;
    if let Some(handler) = &authz.forbidden_handler {
        return respond(handler(req));
    }
    let json = wants_json(req);
    if authz.forbidden_as_not_found {
        // The resource's existence is secret: answer as if there were none.
        return respond(if json {
            HttpResponse::NotFound().json(serde_json::json!({ "error": "not_found" }))
        } else {
            html_page(
                HttpResponse::NotFound(),
                "404 Not Found",
                "There is no such page.",
            )
        });
    }
    if json {
        return respond(
            HttpResponse::Forbidden().json(serde_json::json!({ "error": "forbidden" })),
        );
    }
    respond(html_page(
        HttpResponse::Forbidden(),
        "403 Forbidden",
        "You do not have permission to access this page.",
    ))
}

fn html_page(mut builder: actix_web::HttpResponseBuilder, title: &str, text: &str) -> HttpResponse {
    builder.content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>\n"
    ))
}

/// Runs the anonymous-only guard: `Ok(())` for a visitor who is not logged in; a logged-in
/// visitor is sent to a safe `next`, or the configured page (`/` by default).
#[doc(hidden)]
pub fn anonymous_only(
    req: &HttpRequest,
) -> impl Future<Output = Result<(), actix_web::Error>> + 'static {
    let req = req.clone();
    async move {
        let state = RequestState::of(&req)?;
        if req.method() == Method::OPTIONS || state.config().guards_disabled {
            return Ok(());
        }
        if state.current(&req).await?.is_none() {
            return Ok(());
        }
        let next = actix_web::web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|query| query.get(crate::state::NEXT).cloned())
            // Only a same-site path is followed: `next` is written by whoever made the link.
            .filter(|next| crate::next::is_safe_next(next));
        let target = next
            .or_else(|| state.config().authz.anonymous_redirect.clone())
            .unwrap_or_else(|| "/".to_owned());
        Err(respond(
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish(),
        ))
    }
}

/// The logged-in user's permissions, for handlers that decide more than a guard can (which
/// links to show, say). Refuses anonymous requests with the unauthorized response; the
/// permissions from [`UserLoader::load_permissions`] are loaded once per request, shared with
/// the guards.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission, Permissions};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// #[derive(PartialEq)]
/// enum Perm { Admin }
/// impl Permission for Perm { type User = User; }
/// impl HasPermission<Perm> for User {}
///
/// async fn menu(permissions: Permissions<User>) -> &'static str {
///     if permissions.has(&Perm::Admin) { "home | admin" } else { "home" }
/// }
/// # let _ = actix_web::web::get().to(menu);
/// ```
pub struct Permissions<U: AuthUser> {
    user: Rc<U>,
    loaded: Option<Rc<PermissionSet<U>>>,
}

impl<U: AuthUser> Permissions<U> {
    /// Whether the user holds `permission`, from the user itself or the loaded set.
    pub fn has<P>(&self, permission: &P) -> bool
    where
        P: Permission<User = U>,
        U: HasPermission<P>,
    {
        self.user.has_permission(permission)
            || self
                .loaded
                .as_ref()
                .is_some_and(|set| set.contains(permission))
    }

    /// Whether the user satisfies `rule`.
    pub fn satisfies<P>(&self, rule: &Rule<P>) -> bool
    where
        P: Permission<User = U>,
        U: HasPermission<P>,
    {
        rule.holds(&mut |permission| self.has(permission))
    }

    /// The logged-in user.
    pub fn user(&self) -> &U {
        &self.user
    }
}

impl<U: AuthUser> fmt::Debug for Permissions<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permissions")
            .field("user", &type_name::<U>())
            .field("loaded", &self.loaded)
            .finish()
    }
}

impl<U: AuthUser> FromRequest for Permissions<U> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of(&req)?;
            let (user, _) = logged_in_user(&req, &state).await?;
            let loaded = loaded_permissions(&req, &state, &user).await?;
            let user = user
                .downcast::<U>()
                .map_err(|_| type_mismatch(&state, type_name::<U>()))?;
            let loaded = loaded.and_then(|loaded| loaded.downcast::<PermissionSet<U>>().ok());
            Ok(Permissions { user, loaded })
        })
    }
}

/// The same checks as `#[permission_required]`, for every handler of a `web::scope`:
/// anonymous requests get the unauthorized response, logged-in users without the
/// permission 403. Install it inside the app's `LoginManager`:
///
/// ```
/// # use login_runtime::{AuthUser, HasPermission, Permission};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// # #[derive(PartialEq)] enum Perm { Admin }
/// # impl Permission for Perm { type User = User; }
/// # impl HasPermission<Perm> for User {}
/// use actix_web::{HttpResponse, web};
/// use login_runtime::RequirePermission;
///
/// let admin = web::scope("/admin")
///     .wrap(RequirePermission::new(Perm::Admin))
///     .route("/users", web::get().to(HttpResponse::Ok));
/// # let _ = admin;
/// ```
///
/// It runs before actix routes the request inside the scope, so it cannot see the handler:
/// a handler's own attribute is checked after it, and can only ask for more. Put a handler
/// that needs a different rule outside the scope.
#[derive(Clone, Debug)]
pub struct RequirePermission {
    check: Rc<Check>,
}

impl RequirePermission {
    /// Requires `rule` (a permission, or a [`Rule`]) for every request of the scope.
    pub fn new<P: Permission>(rule: impl Into<Rule<P>>) -> Self {
        RequirePermission {
            check: Rc::new(Check::from(rule.into())),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequirePermission
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequirePermissionMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequirePermissionMiddleware {
            service: Rc::new(service),
            check: Rc::clone(&self.check),
        }))
    }
}

/// The middleware [`RequirePermission`] installs; not used directly.
pub struct RequirePermissionMiddleware<S> {
    service: Rc<S>,
    check: Rc<Check>,
}

impl<S> fmt::Debug for RequirePermissionMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequirePermissionMiddleware")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequirePermissionMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let check = Rc::clone(&self.check);
        async move {
            // The check holds no clone of the request once it is done: routing inside the
            // scope needs the request to itself.
            let verdict = run_check(req.request(), &check).await;
            match verdict {
                Ok(()) => Ok(service.call(req).await?.map_into_left_body()),
                // A response, not an `Err`: `LoginManager` still writes this request's
                // cookie changes (a cleared remember cookie, say).
                Err(error) => Ok(req.error_response(error).map_into_right_body()),
            }
        }
        .boxed_local()
    }
}
