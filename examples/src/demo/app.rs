//! The app assembled: the session and flash-message middleware, the routes, and [`app`], the
//! `App` with every layer in its place.

use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use actix_web_flash_messages::FlashMessagesFramework;

use super::auth::login_manager;
use super::sessions::{SessionBackend, SessionFlashStore};
use super::{Demo, account, api, csrf, devices, health, mfa, oidc, pages};

/// The whole demo as an actix `App`, from a [`Demo`]: `bin/demo.rs` serves it, the tests
/// drive it. Every worker builds one from a clone of the same `Demo`.
///
/// The `wrap`s, innermost first (actix runs the last one added first on the way in):
///
/// 1. [`csrf::refuse_cross_site`]: refuses a cross-site POST before any handler runs. It sits
///    inside everything else because its 403 page is a page of the site: it reads the user
///    (`LoginManager`), the flashed messages and the session, and its audit row names the user.
/// 2. [`login_manager`]: the login state, the guards' answers, the remember cookie. Inside the
///    session middleware, which keeps the login (login-runtime requires this order).
/// 3. [`pages::error_pages`] (actix-web's `ErrorHandlers`): renders in the site's layout the
///    answers made outside a page handler, login-runtime's refusals (the permission guards'
///    403) and login-oidc's. Outside `LoginManager`, so the page keeps the status and every
///    cookie the inner layers set on the answer (a remember cookie renewed or cleared).
/// 4. [`flash_messages`]: the flashed messages, kept in the session. Outside everything that
///    reads or sends one (every page, the 403 and marked pages), inside the session.
/// 5. [`session_middleware`]: outermost, because every layer inside reads the session.
///
/// The `App` holds clones, never a borrow of `demo` (the `use<>`), so `HttpServer::new(move
/// || app(&demo))` can build one per worker.
pub fn app(
    demo: &Demo,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    App::new()
        .app_data(web::Data::new(demo.clone()))
        .app_data(pages::form_config())
        .configure(routes)
        .configure(oidc::routes(demo))
        .configure(account::routes(demo))
        .configure(mfa::routes(demo))
        .default_service(web::to(pages::not_found))
        .wrap(from_fn(csrf::refuse_cross_site))
        .wrap(login_manager(demo))
        .wrap(pages::error_pages())
        .wrap(flash_messages())
        .wrap(session_middleware(demo))
}

/// The session middleware: cookie sessions, or Redis with `REDIS_URL`. Its `Secure` flag is
/// the remember cookie's, and the flash messages ride in the session, so the three agree.
pub fn session_middleware(demo: &Demo) -> SessionMiddleware<SessionBackend> {
    SessionMiddleware::builder(demo.sessions.clone(), demo.keys.session.clone())
        .cookie_secure(demo.secure_cookies)
        // Lax, not Strict: the provider's redirect back to /oidc/callback is a cross-site
        // navigation that must carry the session holding the sign-in's state and nonce.
        .cookie_same_site(SameSite::Lax)
        .build()
}

/// Flash messages, kept in the session (installed inside [`session_middleware`]).
pub fn flash_messages() -> FlashMessagesFramework {
    FlashMessagesFramework::builder(SessionFlashStore).build()
}

/// The demo's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz);
    pages::routes(cfg);
    devices::routes(cfg);
    cfg.service(
        web::scope("/api")
            .wrap(from_fn(api::speaks_json))
            .configure(api::routes),
    );
}
