//! The test helpers of features and core: logging a user into `actix_web::test` requests, and
//! a client that keeps cookies. Public as [`testing`](crate::testing).

use std::cell::RefCell;
use std::collections::BTreeMap;

use actix_http::header::{COOKIE, HeaderValue, SET_COOKIE};
use actix_http::{HttpMessage, Request};
use actix_web::body::MessageBody;
use actix_web::cookie::Cookie;
use actix_web::cookie::time::{Duration, OffsetDateTime};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::TestRequest;

use crate::core::methods::AuthMethod;
use crate::core::ops::{PlantedLogin, PlantedLogins};
use crate::model::user::AuthUser;

/// A login to write into the session of one test request.
#[derive(Clone)]
pub struct TestLogin {
    login: PlantedLogin,
}

impl std::fmt::Debug for TestLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestLogin")
            .field("user_id", &self.login.user_id)
            .field("fresh", &self.login.fresh)
            .field("session_auth_hash", &self.login.session_hash.is_some())
            .finish()
    }
}

impl TestLogin {
    /// A fresh login of `user`.
    pub fn new<U: AuthUser>(user: &U) -> Self {
        TestLogin {
            login: PlantedLogin {
                user_type: std::any::TypeId::of::<U>(),
                user_id: user.id().to_string(),
                fresh: true,
                session_hash: user.session_auth_hash().map(<[u8]>::to_vec),
                methods: Vec::new(),
            },
        }
    }

    /// Whether the login counts as fresh (default `true`).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.login.fresh = fresh;
        self
    }

    /// Records that the login was made with `method` (e.g. [`AuthMethod::Totp`], for a
    /// handler whose guard needs a second factor).
    pub fn method(mut self, method: AuthMethod) -> Self {
        self.login.methods.push(method);
        self
    }

    /// Attaches this login to a request built by hand.
    pub fn attach(self, request: &Request) {
        let mut extensions = request.extensions_mut();
        match extensions.get_mut::<PlantedLogins>() {
            Some(planted) => planted.0.push(self.login),
            None => {
                extensions.insert(PlantedLogins(vec![self.login]));
            }
        }
    }
}

/// A [`TestRequest`] that will arrive logged in.
pub struct LoggedInTestRequest {
    request: TestRequest,
    login: TestLogin,
}

impl std::fmt::Debug for LoggedInTestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedInTestRequest")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl LoggedInTestRequest {
    /// Whether the login counts as fresh (default `true`).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.login = self.login.fresh(fresh);
        self
    }

    /// Records that the login was made with `method`; see [`TestLogin::method`].
    pub fn method(mut self, method: AuthMethod) -> Self {
        self.login = self.login.method(method);
        self
    }

    /// The request, for `actix_web::test::call_service`.
    pub fn to_request(self) -> Request {
        let request = self.request.to_request();
        self.login.attach(&request);
        request
    }
}

/// Adds [`login_as`](TestRequestLoginExt::login_as) to [`TestRequest`].
pub trait TestRequestLoginExt {
    /// This request, logged in as `user`.
    fn login_as<U: AuthUser>(self, user: &U) -> LoggedInTestRequest;
}

impl TestRequestLoginExt for TestRequest {
    fn login_as<U: AuthUser>(self, user: &U) -> LoggedInTestRequest {
        LoggedInTestRequest {
            request: self,
            login: TestLogin::new(user),
        }
    }
}

/// A client for an `actix_web::test` service that keeps cookies like a browser (Flask's test
/// client does too): each request carries the cookies earlier responses set, byte for byte as
/// they were set, and a `Set-Cookie` that expires a cookie removes it.
///
/// It keeps one value per cookie name and ignores `Path`, `Domain` and `Secure`: it is for
/// testing one app, not for browsing.
///
/// ```
/// use actix_session::{SessionMiddleware, storage::CookieSessionStore};
/// use actix_web::{App, cookie::Key, test, web};
/// use login_runtime::testing::TestClient;
/// use login_runtime::{AuthUser, Login, LoginManager, MaybeUser, UserLoader};
/// # #[derive(Clone)] struct User { id: u32 }
/// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
/// # struct Users;
/// # impl UserLoader for Users {
/// #     type User = User; type Id = u32; type Error = std::convert::Infallible;
/// #     async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> { Ok(Some(User { id: *id })) }
/// # }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new()
///         .route("/login", web::post().to(|login: Login<User>| async move {
///             login.login(&User { id: 7 }).map(|_| "in")
///         }))
///         .route("/me", web::get().to(|user: MaybeUser<User>| async move {
///             user.get().map_or("nobody".to_owned(), |user| user.id.to_string())
///         }))
///         .wrap(LoginManager::new(Users))
///         .wrap(SessionMiddleware::new(CookieSessionStore::default(), Key::generate())),
/// )
/// .await;
/// let client = TestClient::new(app);
/// client.call(test::TestRequest::post().uri("/login")).await?;
/// let res = client.call(test::TestRequest::get().uri("/me")).await?;
/// assert_eq!(test::read_body(res).await, "7");
/// # Ok::<(), actix_web::Error>(())
/// # }).unwrap();
/// ```
pub struct TestClient<S> {
    service: S,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl<S> std::fmt::Debug for TestClient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.cookies.borrow().keys().cloned().collect();
        f.debug_struct("TestClient")
            .field("cookies", &names)
            .finish_non_exhaustive()
    }
}

impl<S, B> TestClient<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// A client with no cookies yet, for a service from `actix_web::test::init_service`.
    pub fn new(service: S) -> Self {
        TestClient {
            service,
            cookies: RefCell::new(BTreeMap::new()),
        }
    }

    /// Sends `req` with the kept cookies and keeps the cookies the response sets.
    pub async fn call(&self, req: TestRequest) -> Result<ServiceResponse<B>, actix_web::Error> {
        self.call_request(req.to_request()).await
    }

    /// [`call`](Self::call) for a request already built, e.g. by
    /// [`LoggedInTestRequest::to_request`].
    pub async fn call_request(
        &self,
        mut req: Request,
    ) -> Result<ServiceResponse<B>, actix_web::Error> {
        let header = self
            .cookies
            .borrow()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        // Not `TestRequest::cookie`, which would percent-encode the values.
        if let Ok(value) = HeaderValue::from_str(&header)
            && !header.is_empty()
        {
            req.headers_mut().append(COOKIE, value);
        }
        let res = self.service.call(req).await?;
        self.keep(&res);
        Ok(res)
    }

    fn keep(&self, res: &ServiceResponse<B>) {
        let mut cookies = self.cookies.borrow_mut();
        for value in res.headers().get_all(SET_COOKIE) {
            let Some(cookie) = value
                .to_str()
                .ok()
                .and_then(|value| Cookie::parse(value).ok())
            else {
                continue;
            };
            let expired = cookie.max_age().is_some_and(|age| age <= Duration::ZERO)
                || cookie
                    .expires_datetime()
                    .is_some_and(|at| at <= OffsetDateTime::now_utc());
            if expired {
                cookies.remove(cookie.name());
            } else {
                // Kept as a browser keeps it: exactly as set, quotes included (the `cookie`
                // crate's `value()` drops them, and Werkzeug-quoted values need them).
                let raw = value
                    .to_str()
                    .ok()
                    .and_then(|set| set.split(';').next()?.split_once('='))
                    .map_or(cookie.value(), |(_, raw)| raw.trim());
                cookies.insert(cookie.name().to_owned(), raw.to_owned());
            }
        }
    }

    /// The value kept for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.borrow().get(name).cloned()
    }

    /// Keeps `value` for cookie `name`, as if a response had set it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .borrow_mut()
            .insert(name.to_owned(), value.to_owned());
    }

    /// Forgets cookie `name`; e.g. the session cookie, as closing the browser would.
    pub fn remove_cookie(&self, name: &str) {
        self.cookies.borrow_mut().remove(name);
    }

    /// Forgets every cookie.
    pub fn clear_cookies(&self) {
        self.cookies.borrow_mut().clear();
    }

    /// The service, to send a request without the kept cookies.
    pub fn service(&self) -> &S {
        &self.service
    }
}
