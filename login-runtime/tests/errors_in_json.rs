//! login-runtime's errors answer a client that prefers JSON in JSON, also when a handler
//! passes on what a `Login` method returned (actix renders that error without the request),
//! and in plain text to a browser; the state of one request never decides another's answer.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use login_runtime::{AuthUser, Login, LoginManager, LoginOptions, UserLoader};

#[derive(Clone, AuthUser)]
struct User {
    id: u32,
}

struct Users;

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
        Ok(Some(User { id: *id }))
    }
}

/// A remember-me duration no cookie date can hold: `Login::login_with` refuses it.
async fn bad_login(login: Login<User>) -> actix_web::Result<&'static str> {
    let options = LoginOptions::new()
        .remember(true)
        .duration(Duration::from_secs(u64::MAX));
    login.login_with(&User { id: 1 }, options)?;
    Ok("in")
}

#[actix_web::test]
async fn an_error_a_handler_passes_on_is_json_for_json_clients_and_text_for_browsers() {
    let app = test::init_service(
        App::new()
            .route("/login", web::get().to(bad_login))
            .wrap(LoginManager::new(Users))
            .wrap(SessionMiddleware::new(
                CookieSessionStore::default(),
                Key::from(&[8; 64]),
            )),
    )
    .await;
    let req = TestRequest::get()
        .uri("/login")
        .insert_header((header::ACCEPT, "application/json"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body["error"], "server_error");

    let req = TestRequest::get()
        .uri("/login")
        .insert_header((header::ACCEPT, "text/html"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
}
