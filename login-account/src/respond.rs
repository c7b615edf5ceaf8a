//! The one place a flow's outcome becomes a response: a page rendered by the app's [`Pages`]
//! for browsers, JSON for clients that prefer it, the same status for both; and the one place
//! a request's body is read (a form with its token, or JSON).
//!
//! [`Pages`]: crate::Pages

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::account::Account;
use crate::error::AccountError;
use crate::events::Flow;
use crate::form::FormGuard;
use crate::pages::{Page, PageContext};
use crate::users::AccountUsers;

/// What a step of a flow comes to.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A page, with its status.
    Page(StatusCode, Page),
    /// Signed in: on to this path.
    SignedIn(String),
    /// The first factor was right, and the account's second factor is asked next: on to the
    /// second step's page (nobody is logged in yet).
    SecondStep(String),
}

impl Reply {
    pub(crate) fn ok(page: Page) -> Result<Reply, AccountError> {
        Ok(Reply::Page(StatusCode::OK, page))
    }

    /// A form shown again with what is wrong with it.
    pub(crate) fn invalid(page: Page) -> Result<Reply, AccountError> {
        Ok(Reply::Page(StatusCode::UNPROCESSABLE_ENTITY, page))
    }
}

/// Whether the client prefers JSON (login-runtime's rule, as its own refusals use).
pub(crate) use login_runtime::request_prefers_json as wants_json;

fn is_json_body(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase())
        .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"))
}

#[derive(Deserialize)]
struct FormToken {
    #[serde(default)]
    csrf: String,
}

/// The request's fields: JSON, or a form that must carry the form token.
pub(crate) fn read_body<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    form: &FormGuard,
) -> Result<T, AccountError> {
    if is_json_body(req) {
        return serde_json::from_slice(body)
            .map_err(|error| AccountError::BadRequest(error.to_string()));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| AccountError::BadRequest("not UTF-8".into()))?;
    let token = web::Query::<FormToken>::from_query(text)
        .map_err(|error| AccountError::BadRequest(error.to_string()))?;
    // Forms are checked before anything else is read: a forged post changes nothing.
    if !form.check(req, &token.csrf) {
        return Err(AccountError::FormToken);
    }
    web::Query::<T>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|error| AccountError::BadRequest(error.to_string()))
}

impl<S: AccountUsers> Account<S> {
    pub(crate) fn page_context(&self, req: &HttpRequest) -> PageContext {
        PageContext {
            form_token: self.form.issue(req),
            prefix: self.config.prefix.clone(),
            login_page: self.config.login_page.clone(),
            site_name: self.config.site_name.clone(),
        }
    }

    /// The response to a posted form (or JSON body): `step` on its fields, or the refusal of a
    /// body that does not parse or lacks its form token.
    pub(crate) async fn posted<T: DeserializeOwned>(
        &self,
        req: &HttpRequest,
        body: &[u8],
        flow: Flow,
        step: impl AsyncFnOnce(T) -> Result<Reply, AccountError>,
    ) -> HttpResponse {
        let outcome = match read_body::<T>(req, body, &self.form) {
            Ok(fields) => step(fields).await,
            Err(error) => Err(error),
        };
        self.respond(req, flow, outcome).await
    }

    /// The response for `outcome`; a refusal is also reported as an event.
    pub(crate) async fn respond(
        &self,
        req: &HttpRequest,
        flow: Flow,
        outcome: Result<Reply, AccountError>,
    ) -> HttpResponse {
        match outcome {
            Ok(Reply::Page(status, page)) => self.page(req, status, &page).await,
            Ok(Reply::SignedIn(target)) => signed_in(req, "signed_in", &target),
            Ok(Reply::SecondStep(target)) => signed_in(req, "second_factor_required", &target),
            Err(error) => {
                self.report(flow, &error);
                self.refusal(req, &error).await
            }
        }
    }

    /// The page (or JSON) for a refusal, with `Retry-After` when throttled.
    pub(crate) async fn refusal(&self, req: &HttpRequest, error: &AccountError) -> HttpResponse {
        if error.status().is_server_error() {
            // The detail is for the operator's log, never for the visitor.
            tracing::error!(target: "login_account", code = error.code(), %error, "account flow failed");
        }
        let page = Page::Refused {
            code: error.code(),
            message: error.message(),
        };
        let mut res = self.page(req, error.status(), &page).await;
        if let AccountError::Throttled { retry_after } = error {
            let seconds = retry_after.as_secs().max(1);
            if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        res
    }

    pub(crate) async fn page(
        &self,
        req: &HttpRequest,
        status: StatusCode,
        page: &Page,
    ) -> HttpResponse {
        let mut res = if wants_json(req) {
            HttpResponse::build(status).json(page.json())
        } else {
            let context = self.page_context(req);
            match self.pages.render(req, page, &context).await {
                Ok(html) => HttpResponse::build(status)
                    .content_type("text/html; charset=utf-8")
                    .body(html),
                Err(error) => error.error_response(),
            }
        };
        no_store(&mut res);
        res
    }
}

/// Pages of the flows carry tokens in their URL and forms: never cached, never sent on as a
/// `Referer` to another site.
pub(crate) fn no_store(res: &mut HttpResponse) {
    let headers = res.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
}

/// On to `target` after a sign-in: a 303 for browsers, `{"status", "location"}` for JSON.
fn signed_in(req: &HttpRequest, status: &str, target: &str) -> HttpResponse {
    let mut res = if wants_json(req) {
        HttpResponse::Ok().json(json!({ "status": status, "location": target }))
    } else {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .finish()
    };
    no_store(&mut res);
    res
}
