//! The HTML pages: home, sign up, log in, log out, profile, settings, re-authenticate, API
//! tokens, admin, and the 404 and 403 pages. Rendered with askama templates (compile-checked,
//! HTML auto-escaped) inside one layout with the navigation and the flashed messages; the
//! answers made outside a page handler (login-runtime's refusals, login-oidc's) are rendered
//! in the same layout by [`error_pages`].
//!
//! - `frame`: the small framework every page uses: [`Ctx`], [`Layout`], rendering, the error
//!   pages, [`AppError`], and helpers; `error_pages`: refusals in the site's layout.
//! - `home`: the home page and the stylesheet; `signup`: sign up; `account`: the profile and
//!   the settings; `tokens`: API tokens; `admin`: the admin page.
//! - `session`: log in, log out, re-authenticate; `sign_in`: the password step that the login
//!   and re-authenticate forms share (throttle, password, login, audit).

mod account;
mod admin;
mod error_pages;
mod frame;
mod home;
mod session;
mod sign_in;
mod signup;
mod tokens;

use actix_web::{guard, web};

pub use self::error_pages::{FORM_LIMIT, Message, error_pages, form_config, message_page};
pub use self::frame::{AppError, Ctx, Flash, Layout, NavUser, count, not_found};
pub(crate) use self::frame::{NoFields, PageResult, date_time, see_other};

/// Addresses that only a form posts to, and where opening one (a reload of the page a form
/// answered there, a bookmark) leads instead: a browser never shows an address that 404s.
/// Opening one does nothing else.
const FORM_ADDRESSES: [(&str, &str); 6] = [
    ("/logout", "/"),
    ("/settings/display-name", "/settings"),
    ("/settings/password", "/settings"),
    ("/tokens/{id}/revoke", "/tokens"),
    ("/devices/{id}/logout", "/devices"),
    ("/devices/log-out-others", "/devices"),
];

/// The routes of the pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for (address, page) in FORM_ADDRESSES {
        // Guarded at the resource, so a POST passes on to the form's own route.
        cfg.service(
            web::resource(address)
                .guard(guard::Get())
                .to(move || async move { see_other(page) }),
        );
    }
    cfg.service(home::stylesheet)
        .service(home::favicon)
        .service(home::favicon_ico)
        .service(home::passkey_script)
        .service(home::home)
        .service(signup::signup_form)
        .service(signup::signup_submit)
        .service(session::login_form)
        .service(session::login_submit)
        .service(session::logout)
        .service(account::profile)
        .service(account::settings)
        .service(account::change_display_name)
        .service(account::change_password)
        .service(session::reauthenticate_form)
        .service(session::reauthenticate_submit)
        .service(tokens::tokens_page)
        .service(tokens::create_token)
        .service(tokens::revoke_token)
        .service(admin::admin);
}
