//! Cross-site request forgery: every form carries the session's token, checked in constant
//! time on each POST and renewed at login and logout; and a POST that the browser says came
//! from another site (`Sec-Fetch-Site`, `Origin`) is refused before any handler runs.

use actix_session::Session;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::Demo;
use super::audit::AuditEvent;
use super::pages::{AppError, Ctx};

/// The session key of the CSRF token. login-runtime leaves it alone, like every key of the
/// app's own.
const CSRF_KEY: &str = "csrf_token";

/// The session's CSRF token, made on first use. Every form carries it and every POST checks
/// it: a page on another site can make a browser post here, but cannot read the token.
pub fn token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF_KEY) {
        return token;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    // A form whose token could not be stored is refused on submit, never accepted.
    let _ = session.insert(CSRF_KEY, &token);
    token
}

/// Whether `sent` is the session's token, compared in constant time.
pub fn token_ok(session: &Session, sent: &str) -> bool {
    session
        .get::<String>(CSRF_KEY)
        .ok()
        .flatten()
        .is_some_and(|token| token.as_bytes().ct_eq(sent.as_bytes()).into())
}

/// A form whose `csrf` field held this session's token: the only way the demo's handlers
/// read a form, so none can forget the check. A missing or wrong token is answered with the
/// 403 page (and an audit entry) before the handler runs.
#[derive(Debug)]
pub struct CheckedForm<T>(pub T);

impl<T> std::ops::Deref for CheckedForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[derive(Deserialize)]
struct WithToken<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for CheckedForm<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<WithToken<T>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let form = form.await?.into_inner();
            let session = Session::extract(&req).await?;
            if token_ok(&session, &form.csrf) {
                return Ok(CheckedForm(form.fields));
            }
            Err(refuse(&req).await)
        })
    }
}

/// The 403 page for a form without this session's token, and its audit entry.
pub async fn refuse(req: &HttpRequest) -> actix_web::Error {
    let answer = async {
        let ctx = Ctx::extract(req).await?;
        ctx.audit(AuditEvent::Forbidden, "missing or wrong form token")
            .await
            .map_err(AppError::from)?;
        let page = ctx.forbidden(
            "This form has expired or did not come from this site. \
             Go back, reload the page and try again.",
        )?;
        Ok::<_, actix_web::Error>(page)
    };
    match answer.await {
        Ok(page) => InternalError::from_response("form token refused", page).into(),
        Err(error) => error,
    }
}

/// The `csrf` field of a form, unchecked: for the one form whose check depends on who sends
/// it (logging out when already logged out changes nothing, so needs no token).
#[derive(Debug, Deserialize)]
pub struct TokenField {
    /// The token the form carried.
    #[serde(default)]
    pub csrf: String,
}

/// A new token after a login or a logout: one seen before it is worth nothing after.
pub fn rotate(session: &Session) {
    session.remove(CSRF_KEY);
}

/// Renews the form token at every login and logout, however it was made: the password form,
/// sign-up, a password change, a sign-in link, a provider's callback, the second step, a
/// passkey. A login-runtime event sink, so no route of the demo or of a crate can forget it.
#[derive(Debug, Clone, Copy)]
pub struct RotateAtLogin;

impl login_runtime::EventSink for RotateAtLogin {
    async fn deliver(
        &self,
        event: &login_runtime::LoginEvent,
        req: &HttpRequest,
    ) -> actix_web::Result<()> {
        use actix_session::SessionExt;
        use login_runtime::LoginEvent;
        if matches!(
            event,
            LoginEvent::LoggedIn { .. } | LoginEvent::LoggedOut { .. }
        ) {
            rotate(&req.get_session());
        }
        Ok(())
    }
}

/// Whether the browser says this state-changing request comes from another site.
fn is_cross_site(req: &ServiceRequest) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    // Browsers send Sec-Fetch-Site on every request; only our own pages (and a typed URL,
    // "none") may post.
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    // Older browsers: the Origin of a cross-site POST is the other site's (or "null").
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        return origin.as_bytes() != own_origin(req).as_bytes();
    }
    // Neither header (a non-browser client): the form token still decides.
    false
}

/// This site's origin as the browser sees it. Behind a proxy of `DEMO_TRUSTED_PROXIES`, its
/// `X-Forwarded-Proto` / `X-Forwarded-Host` (HTTPS at the load balancer); from anyone else the
/// connection's own scheme and `Host`, so a client cannot pick the origin it is checked against.
fn own_origin(req: &ServiceRequest) -> String {
    let trusted = req
        .app_data::<web::Data<Demo>>()
        .and_then(|demo| demo.trusted_proxies.clone())
        .zip(req.peer_addr())
        .is_some_and(|(proxies, peer)| proxies.contains(peer.ip()));
    if trusted {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_else(|| config.host());
    format!("{scheme}://{host}")
}

/// Middleware: refuses cross-site POSTs with the 403 page, and records them.
pub async fn refuse_cross_site(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !is_cross_site(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let (http, payload) = req.parts_mut();
    let ctx = Ctx::from_request(http, payload).await?;
    ctx.audit(AuditEvent::Forbidden, "cross-site post")
        .await
        .map_err(AppError::from)?;
    let page = ctx.forbidden("This form was sent from another site, so it was refused.")?;
    Ok(req.into_response(page).map_into_right_body())
}
