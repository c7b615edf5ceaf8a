//! Form tokens (CSRF): every form a flow renders carries one as `csrf`, and every form posted
//! to a flow must bring it back. JSON bodies need none: a page on another site cannot send
//! `Content-Type: application/json` without the browser asking this site first (CORS), which
//! it does not allow.

use std::fmt;
use std::rc::Rc;

use actix_session::SessionExt;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

/// The session key of login-account's own form token.
const FORM_TOKEN_KEY: &str = "login_account.form_token";

type Issue = Rc<dyn Fn(&HttpRequest) -> String>;
type Check = Rc<dyn Fn(&HttpRequest, &str) -> bool>;

/// How form tokens are made and checked: the app's own, or one of login-account's in the
/// session.
#[derive(Clone)]
pub(crate) struct FormGuard {
    issue: Issue,
    check: Check,
}

impl fmt::Debug for FormGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FormGuard")
    }
}

impl Default for FormGuard {
    fn default() -> Self {
        FormGuard::new(session_token, session_token_ok)
    }
}

impl FormGuard {
    pub(crate) fn new(
        issue: impl Fn(&HttpRequest) -> String + 'static,
        check: impl Fn(&HttpRequest, &str) -> bool + 'static,
    ) -> FormGuard {
        FormGuard {
            issue: Rc::new(issue),
            check: Rc::new(check),
        }
    }

    pub(crate) fn issue(&self, req: &HttpRequest) -> String {
        (self.issue)(req)
    }

    pub(crate) fn check(&self, req: &HttpRequest, sent: &str) -> bool {
        (self.check)(req, sent)
    }
}

/// The session's form token, made on first use.
fn session_token(req: &HttpRequest) -> String {
    let session = req.get_session();
    if let Ok(Some(token)) = session.get::<String>(FORM_TOKEN_KEY) {
        return token;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    // A token that could not be stored is refused on submit, never accepted.
    let _ = session.insert(FORM_TOKEN_KEY, &token);
    token
}

/// Whether `sent` is the session's form token, in constant time.
fn session_token_ok(req: &HttpRequest, sent: &str) -> bool {
    req.get_session()
        .get::<String>(FORM_TOKEN_KEY)
        .ok()
        .flatten()
        .is_some_and(|token| bool::from(token.as_bytes().ct_eq(sent.as_bytes())))
}
