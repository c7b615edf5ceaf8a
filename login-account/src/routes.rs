//! Where the flows are: [`Account::service`] and [`Account::configure`].

use actix_web::dev::{HttpServiceFactory, Service as _};
use actix_web::web;

use crate::account::Account;
use crate::flows::{email, reset, sign_in, verify};
use crate::users::AccountUsers;

impl<S: AccountUsers> Account<S> {
    /// The routes under the configured prefix (`/account` by default):
    ///
    /// | route | what |
    /// |---|---|
    /// | `GET /reset`, `POST /reset` (`email`) | "Forgot your password?" |
    /// | `GET /reset/confirm?token=`, `POST /reset/confirm` (`token`, `password`, `confirm`) | the mailed link, the new password |
    /// | `GET /verify?token=`, `POST /verify` (`token`) | confirm the address |
    /// | `POST /verify/resend` | mail the link again (logged in) |
    /// | `GET /email`, `POST /email` (`email`) | change the address (fresh login) |
    /// | `GET /email/confirm?token=`, `POST /email/confirm` (`token`) | the new address confirms |
    /// | `GET /email/report?token=`, `POST /email/report` (`token`) | the old address reports it |
    /// | `GET /sign-in`, `POST /sign-in` (`email`, `remember`) | "Email me a sign-in link" |
    /// | `GET /sign-in/link?token=`, `POST /sign-in/link` (`token`) | the mailed link, in the asking browser |
    /// | `POST /sign-in/code` (`code`) | the mailed code, in the asking browser |
    ///
    /// Forms post with the form token as `csrf`; JSON bodies (`Content-Type:
    /// application/json`) need none. Every route answers JSON to clients that prefer it.
    pub fn service(&self) -> impl HttpServiceFactory + 'static {
        let account = self.clone();
        web::scope(&self.config.prefix)
            // Every route's events reach the event sinks before its answer goes out.
            .wrap_fn(move |req, routes| {
                let account = account.clone();
                let answer = routes.call(req);
                async move {
                    let (answer, events) = account.collecting(answer).await;
                    let answer = answer?;
                    // A sink that failed fails the request: its 500 replaces the answer.
                    match account.deliver(&events, answer.request()).await {
                        Ok(()) => Ok(answer),
                        Err(error) => Ok(answer.error_response(error)),
                    }
                }
            })
            .app_data(web::Data::new(self.clone()))
            .route("/reset", web::get().to(reset::request_form::<S>))
            .route("/reset", web::post().to(reset::request::<S>))
            .route("/reset/confirm", web::get().to(reset::link::<S>))
            .route("/reset/confirm", web::post().to(reset::set_password::<S>))
            .route("/verify", web::get().to(verify::link::<S>))
            .route("/verify", web::post().to(verify::confirm::<S>))
            .route("/verify/resend", web::post().to(verify::resend::<S>))
            .route("/email", web::get().to(email::form::<S>))
            .route("/email", web::post().to(email::request::<S>))
            .route("/email/confirm", web::get().to(email::link::<S>))
            .route("/email/confirm", web::post().to(email::confirm::<S>))
            .route("/email/report", web::get().to(email::report_link::<S>))
            .route("/email/report", web::post().to(email::report::<S>))
            .route("/sign-in", web::get().to(sign_in::request_form::<S>))
            .route("/sign-in", web::post().to(sign_in::request::<S>))
            .route("/sign-in/link", web::get().to(sign_in::link::<S>))
            .route("/sign-in/link", web::post().to(sign_in::confirm_link::<S>))
            .route("/sign-in/code", web::post().to(sign_in::code::<S>))
    }

    /// Registers the routes ([`service`](Self::service)), and, for the whole app, the
    /// `Account` itself (as `web::Data<Account<S>>`, for the app's sign-up to call
    /// [`send_verification`](Self::send_verification)) and what the
    /// [`Verified`](crate::Verified) extractor checks with:
    /// `App::new().configure(account.configure())`.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let account = self.clone();
        move |cfg| {
            cfg.app_data(web::Data::new(account.gate()))
                .app_data(web::Data::new(account.clone()))
                .service(account.service());
        }
    }
}
