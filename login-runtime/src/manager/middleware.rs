//! The middleware a `LoginManager` becomes: it puts the request's login state in place, lets
//! the handler run, then has the features make their writes, delivers the events to the
//! sinks, and writes the remember cookie.

use std::cell::Cell;
use std::fmt;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_session::SessionExt;
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;

use crate::core::backend::{Backend, LoaderBackend};
use crate::core::config::RememberCookie;
use crate::core::cookie;
use crate::core::error::LoginError;
use crate::core::ops::PlantedLogins;
use crate::core::scope::{ErrorPreference, swap_current};
use crate::core::state::RequestState;
use crate::manager::builder::LoginManager;
use crate::model::loader::UserLoader;
use crate::responses::failure;

impl<S, B, L> Transform<S, ServiceRequest> for LoginManager<L>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
    L: UserLoader,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = LoginMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        if self.config.key_was_generated {
            let message = "LoginManager has no secret key: using a random one, so remember cookies end with this process; set `LoginManager::secret_key`";
            tracing::warn!(target: "login_runtime", "{message}");
            crate::core::error::to_stderr_once(
                crate::core::error::NO_SECRET_KEY,
                &format!("login-runtime: {message}"),
            );
        }
        let mut config = self.config.clone();
        // Another kind of user than the default gets a remember cookie of its own.
        if let Some(realm) = &config.realm
            && config.remember.name == RememberCookie::default().name
        {
            config.remember.name = format!("{}_{realm}", config.remember.name);
        }
        let backend: Rc<dyn Backend> = Rc::new(LoaderBackend {
            loader: Rc::clone(&self.loader),
            config,
        });
        ready(Ok(LoginMiddleware {
            service: Rc::new(service),
            backend,
            session_seen: Cell::new(false),
        }))
    }
}

/// The middleware [`LoginManager`] installs; not used directly.
pub struct LoginMiddleware<S> {
    service: Rc<S>,
    backend: Rc<dyn Backend>,
    /// A `SessionMiddleware` was found around this middleware.
    session_seen: Cell<bool>,
}

impl<S> fmt::Debug for LoginMiddleware<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginMiddleware").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for LoginMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LoginFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Found out once per middleware: the middlewares outside this one are fixed when the
        // app is built, so a session middleware seen once wraps every later request too. Until
        // then (and for ever when there is none) each request is probed.
        let session_present = self.session_seen.get() || session_middleware_present(&req);
        self.session_seen.set(session_present);
        let state = Rc::new(RequestState::new(Rc::clone(&self.backend), session_present));
        state.install(&mut req.extensions_mut());
        // However the request ends, drop a load still pending: it holds the request, which
        // holds the state.
        let cleanup = StateCleanup(Rc::clone(&state));

        let planted = req
            .extensions_mut()
            .get_mut::<PlantedLogins>()
            .and_then(|planted| planted.take(self.backend.user_type_id()));
        if let Some(login) = planted
            && let Err(error) = state.plant_login(req.request(), &login)
        {
            return LoginFuture {
                phase: Phase::Failed {
                    error: Some(failure(req.request(), error)),
                },
                current: None,
                state,
                _cleanup: cleanup,
            };
        }
        // The state is current while the app serves it, so that login-runtime's errors that
        // actix renders without the request still answer JSON to a client that prefers it.
        let mut current: Option<Rc<dyn ErrorPreference>> = Some(state.clone());
        swap_current(&mut current);
        let future = self.service.call(req);
        swap_current(&mut current);
        LoginFuture {
            phase: Phase::Inner { future },
            current,
            state,
            _cleanup: cleanup,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future [`LoginMiddleware`] answers with; not used directly.
    pub struct LoginFuture<F, B> {
        #[pin]
        phase: Phase<F, B>,
        current: Option<Rc<dyn ErrorPreference>>,
        state: Rc<RequestState>,
        _cleanup: StateCleanup,
    }
}

pin_project_lite::pin_project! {
    #[project = PhaseProj]
    enum Phase<F, B> {
        // The app serves the request.
        Inner { #[pin] future: F },
        // The features' writes and the event sinks, which wait (only when configured).
        After { future: LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>> },
        // The request failed before the app saw it.
        Failed { error: Option<actix_web::Error> },
    }
}

impl<F, B> std::fmt::Debug for LoginFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginFuture").finish_non_exhaustive()
    }
}

impl<F, B> Future for LoginFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: 'static,
{
    type Output = Result<ServiceResponse<B>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.phase.as_mut().project() {
                PhaseProj::Inner { future } => {
                    swap_current(this.current);
                    let polled = future.poll(cx);
                    swap_current(this.current);
                    let mut res = match polled {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                        Poll::Ready(Ok(res)) => res,
                    };
                    let config = this.state.config();
                    if config.hooks.is_empty() && config.event_sinks.is_empty() {
                        // Nothing waits: the remember cookie, and done.
                        let action = this.state.cookie_for_response(res.request());
                        cookie::apply(&mut res, config, action);
                        return Poll::Ready(Ok(res));
                    }
                    let state = Rc::clone(this.state);
                    this.phase.set(Phase::After {
                        future: Box::pin(after(state, res)),
                    });
                }
                PhaseProj::After { future } => return future.as_mut().poll(cx),
                PhaseProj::Failed { error } => {
                    return Poll::Ready(Err(error
                        .take()
                        .unwrap_or_else(|| LoginError::NoLoginManager.into())));
                }
            }
        }
    }
}

/// After the app answered, with features or event sinks configured: their writes (a login's
/// new device, a logout's revokes) before the session is saved, so that if they fail the
/// request fails and nothing is half-done; the events; then the remember cookie.
async fn after<B>(
    state: Rc<RequestState>,
    mut res: ServiceResponse<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    for hook in &state.config().hooks {
        hook.before_response(res.request())
            .await
            .map_err(|error| failure(res.request(), error))?;
    }
    state.deliver_events(res.request()).await?;
    let action = state.cookie_for_response(res.request());
    cookie::apply(&mut res, state.config(), action);
    Ok(res)
}

struct StateCleanup(Rc<RequestState>);

impl Drop for StateCleanup {
    fn drop(&mut self) {
        self.0.forget_pending_load();
    }
}

/// Whether a `SessionMiddleware` wraps this request. actix-session offers no public test, so
/// this moves the request's extensions aside, makes a fresh session in the empty ones, and
/// puts the real extensions back: if a session middleware had installed its session, that one
/// replaces the fresh one, which is then no longer the request's (compared by address, no
/// JSON).
fn session_middleware_present(req: &ServiceRequest) -> bool {
    let saved = std::mem::take(&mut *req.extensions_mut());
    // Kept alive until the comparison, so its address cannot be reused.
    let probe = req.get_session();
    req.extensions_mut().extend(saved);
    let session = req.get_session();
    let only_the_probe = std::ptr::eq(&*probe.entries(), &*session.entries());
    !only_the_probe
}
