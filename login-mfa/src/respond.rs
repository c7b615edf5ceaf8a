//! The one place a step's outcome becomes a response (a page for browsers, JSON for clients
//! that prefer it, the same status for both) and a request's body is read (a form with its
//! token, or JSON).

use actix_session::SessionExt;
use actix_web::cookie::Cookie;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::error::MfaError;
use crate::mfa::{Mfa, MfaUser, seconds};
use crate::pages::{MfaPage, MfaPageContext};
use crate::store::MfaStore;
use login_runtime::UserLoader;

const FORM_TOKEN_KEY: &str = "login_mfa.form_token";

/// The session's form token, made on first use.
pub(crate) fn session_token(req: &HttpRequest) -> String {
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
pub(crate) fn session_token_ok(req: &HttpRequest, sent: &str) -> bool {
    req.get_session()
        .get::<String>(FORM_TOKEN_KEY)
        .ok()
        .flatten()
        .is_some_and(|token| bool::from(token.as_bytes().ct_eq(sent.as_bytes())))
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

/// What a step comes to.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A page (or its JSON), with its status.
    Page(StatusCode, MfaPage),
    /// Done: on to this path (303 for browsers, `{"status":"ok","location"}` for JSON), with
    /// a cookie to set.
    Done(String, Option<Cookie<'static>>),
    /// JSON only (the passkey ceremonies' options).
    Json(serde_json::Value),
}

/// A form field that is `true` when checked.
pub(crate) fn checked(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| matches!(v, "true" | "on" | "1" | "yes"))
}

impl<L, S> Mfa<L, S>
where
    L: UserLoader,
    L::User: MfaUser,
    S: MfaStore,
{
    /// The request's fields: JSON, or a form that must carry the form token.
    pub(crate) fn read_body<T: DeserializeOwned>(
        &self,
        req: &HttpRequest,
        body: &[u8],
    ) -> Result<T, MfaError> {
        if is_json_body(req) {
            return serde_json::from_slice(body).map_err(|e| MfaError::BadRequest(e.to_string()));
        }
        let text =
            std::str::from_utf8(body).map_err(|_| MfaError::BadRequest("not UTF-8".into()))?;
        let token = web::Query::<FormToken>::from_query(text)
            .map_err(|e| MfaError::BadRequest(e.to_string()))?;
        // Forms are checked before anything else is read: a forged post changes nothing.
        if !self.form_token_ok(req, &token.csrf) {
            return Err(MfaError::FormToken);
        }
        web::Query::<T>::from_query(text)
            .map(web::Query::into_inner)
            .map_err(|e| MfaError::BadRequest(e.to_string()))
    }

    pub(crate) fn context(&self, req: &HttpRequest) -> MfaPageContext {
        MfaPageContext {
            form_token: self.form_token_of(req),
            prefix: self.inner.config.prefix.clone(),
            login_page: self.inner.config.login_page.clone(),
        }
    }

    pub(crate) async fn page(
        &self,
        req: &HttpRequest,
        status: StatusCode,
        page: &MfaPage,
    ) -> HttpResponse {
        let mut res = if wants_json(req) {
            HttpResponse::build(status).json(page_json(page))
        } else {
            let context = self.context(req);
            match self.inner.pages.render(req, page, &context).await {
                Ok(html) => HttpResponse::build(status)
                    .content_type("text/html; charset=utf-8")
                    .body(html),
                Err(error) => error.error_response(),
            }
        };
        no_store(&mut res);
        res
    }

    /// The response for `outcome`; on a refusal, `again` is the page to show it on (the
    /// form, with what is wrong), when there is one.
    pub(crate) async fn respond(
        &self,
        req: &HttpRequest,
        outcome: Result<Reply, MfaError>,
        again: Option<fn(String) -> MfaPage>,
    ) -> HttpResponse {
        match outcome {
            Ok(Reply::Page(status, page)) => self.page(req, status, &page).await,
            Ok(Reply::Json(value)) => {
                let mut res = HttpResponse::Ok().json(value);
                no_store(&mut res);
                res
            }
            Ok(Reply::Done(target, cookie)) => {
                let mut res = if wants_json(req) {
                    HttpResponse::Ok().json(json!({ "status": "ok", "location": target }))
                } else {
                    HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, target))
                        .finish()
                };
                if let Some(cookie) = cookie {
                    let _ = res.add_cookie(&cookie);
                }
                no_store(&mut res);
                res
            }
            Err(error) => self.refusal(req, &error, again).await,
        }
    }

    pub(crate) async fn refusal(
        &self,
        req: &HttpRequest,
        error: &MfaError,
        again: Option<fn(String) -> MfaPage>,
    ) -> HttpResponse {
        if error.status().is_server_error() {
            // The detail is for the operator's log, never for the visitor.
            tracing::error!(target: "login_mfa", code = error.code(), %error, "second-factor step failed");
        }
        let mut res = if wants_json(req) {
            HttpResponse::build(error.status())
                .json(json!({ "error": error.code(), "message": error.message() }))
        } else if matches!(error, MfaError::NoPendingLogin) {
            // Expired or never started: back to the login form.
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, self.inner.config.login_page.clone()))
                .finish()
        } else {
            let page = match again {
                Some(again) if !error.status().is_server_error() => again(error.message()),
                _ => MfaPage::Refused {
                    message: error.message(),
                },
            };
            let page = self.refill(req, page).await;
            self.page(req, error.status(), &page).await
        };
        if let MfaError::Throttled { retry_after } = error
            && let Ok(value) = header::HeaderValue::from_str(&seconds(*retry_after).to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, value);
        }
        no_store(&mut res);
        res
    }

    /// A page shown again with a problem gets its content back (what the second step offers).
    async fn refill(&self, req: &HttpRequest, page: MfaPage) -> MfaPage {
        match page {
            MfaPage::SecondStep { problem, .. } => match self.second_step(req).await {
                Ok(step) => MfaPage::SecondStep { step, problem },
                Err(error) => MfaPage::Refused {
                    message: error.message(),
                },
            },
            other => other,
        }
    }
}

/// A page as JSON.
pub(crate) fn page_json(page: &MfaPage) -> serde_json::Value {
    match page {
        MfaPage::SecondStep { step, problem } => {
            json!({ "status": "second_factor_required", "second_step": step, "problem": problem })
        }
        MfaPage::Security { overview, problem } => {
            json!({ "status": "ok", "security": overview, "problem": problem })
        }
        MfaPage::TotpEnrolment { enrolment, problem } => {
            json!({ "status": "totp_enrolment", "enrolment": enrolment, "problem": problem })
        }
        MfaPage::RecoveryCodes { codes } => json!({ "status": "ok", "recovery_codes": codes }),
        MfaPage::Refused { message } => json!({ "error": "refused", "message": message }),
    }
}

/// Pages with codes and secrets are never cached, never sent on as a `Referer`.
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
