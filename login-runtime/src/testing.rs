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

use actix_http::{HttpMessage, Request};
use actix_web::test::TestRequest;

use crate::user::AuthUser;

/// A login to write into the session of one test request.
#[derive(Debug, Clone)]
pub struct TestLogin {
    pub(crate) user_id: String,
    pub(crate) fresh: bool,
    pub(crate) session_auth_hash: Option<Vec<u8>>,
}

impl TestLogin {
    /// A fresh login of `user`.
    pub fn new<U: AuthUser>(user: &U) -> Self {
        TestLogin {
            user_id: user.id().to_string(),
            fresh: true,
            session_auth_hash: user.session_auth_hash().map(<[u8]>::to_vec),
        }
    }

    /// Whether the login counts as fresh (default `true`).
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// Attaches this login to a request built by hand.
    pub fn attach(self, request: &Request) {
        request.extensions_mut().insert(self);
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
