//! How a login was made, and guards that need a second factor: `LoginOptions::method`,
//! `Login::methods`, `confirm_with`, and `second_factor` on the guards, which sends a login
//! without one to the second-factor step (or enrolment), after the login and freshness checks
//! and before the permission.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::{App, get, web};
use login_runtime::testing::{TestClient, TestRequestLoginExt};
use login_runtime::{
    AfterFirstFactor, AuthMethod, AuthUser, FirstFactor, HasPermission, Login, LoginEvent,
    LoginManager, LoginOptions, Permission, RememberCookie, SecondStepGate, SecondStepHandler,
    UserLoader, fresh_login_required, login_required, permission_required,
};

#[derive(Clone, AuthUser)]
struct User {
    id: u32,
    admin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    Admin,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {
    fn has_permission(&self, _: &Perm) -> bool {
        self.admin
    }
}

/// User 1 has a second factor enrolled, user 2 none; user 3 is an admin with one.
struct Users;

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
        Ok(Some(User {
            id: *id,
            admin: *id == 3,
        }))
    }
    async fn has_second_factor(&self, user: &User) -> Result<bool, Self::Error> {
        Ok(user.id != 2)
    }
}

#[login_required(second_factor)]
#[get("/security")]
async fn security() -> &'static str {
    "security"
}

#[fresh_login_required(second_factor)]
#[get("/delete-account")]
async fn delete_account() -> &'static str {
    "deleted"
}

#[permission_required(Perm::Admin, second_factor)]
#[get("/admin")]
async fn admin() -> &'static str {
    "admin"
}

#[get("/methods")]
async fn methods(login: Login<User>) -> actix_web::Result<String> {
    let methods: Vec<String> = login.methods()?.iter().map(ToString::to_string).collect();
    Ok(methods.join(", "))
}

#[get("/login-password")]
async fn login_password(login: Login<User>) -> actix_web::Result<&'static str> {
    let options = LoginOptions::new()
        .remember(true)
        .method(AuthMethod::Password);
    login.login_with(
        &User {
            id: 1,
            admin: false,
        },
        options,
    )?;
    Ok("in")
}

#[get("/totp")]
async fn totp(login: Login<User>) -> actix_web::Result<&'static str> {
    login.confirm_with(AuthMethod::Totp)?;
    Ok("confirmed")
}

#[get("/logout")]
async fn logout(login: Login<User>) -> actix_web::Result<&'static str> {
    login.logout()?;
    Ok("out")
}

fn manager(events: Rc<RefCell<Vec<LoginEvent>>>) -> LoginManager<Users> {
    LoginManager::new(Users)
        .login_view("/login")
        .refresh_view("/reauthenticate")
        .second_factor_view("/two-factor")
        .second_factor_enrolment_view("/security/setup")
        .remember_cookie(RememberCookie::default().secure(false))
        .on_event(move |event| events.borrow_mut().push(event.clone()))
}

macro_rules! app {
    ($events:expr) => {
        test::init_service(
            App::new()
                .service(security)
                .service(delete_account)
                .service(admin)
                .service(methods)
                .service(login_password)
                .service(totp)
                .service(logout)
                .wrap(manager($events))
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                        .cookie_secure(false)
                        .build(),
                ),
        )
        .await
    };
}

fn location<B>(res: &actix_web::dev::ServiceResponse<B>) -> Option<&str> {
    res.headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
}

#[actix_web::test]
async fn a_password_login_is_sent_to_the_second_factor_step_and_one_with_a_code_gets_the_page() {
    let events = Rc::default();
    let app = app!(Rc::clone(&events));
    let user = User {
        id: 1,
        admin: false,
    };
    let req = TestRequest::get()
        .uri("/security")
        .login_as(&user)
        .method(AuthMethod::Password)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), Some("/two-factor?next=%2Fsecurity"));
    assert!(events.borrow().iter().any(|event| matches!(event,
        LoginEvent::NeedsSecondFactor { user_id, enrolled: true, .. } if user_id == "1")));

    let req = TestRequest::get()
        .uri("/security")
        .login_as(&user)
        .method(AuthMethod::Password)
        .method(AuthMethod::Totp)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "security");
    // A passkey alone is both factors.
    let req = TestRequest::get()
        .uri("/security")
        .login_as(&user)
        .method(AuthMethod::Passkey)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "security");
}

#[actix_web::test]
async fn an_account_without_a_second_factor_is_sent_to_enrolment_and_an_api_client_gets_json() {
    let app = app!(Rc::default());
    let without = User {
        id: 2,
        admin: false,
    };
    let req = TestRequest::get()
        .uri("/security")
        .login_as(&without)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(location(&res), Some("/security/setup?next=%2Fsecurity"));

    for (user, error) in [
        (
            User {
                id: 1,
                admin: false,
            },
            "second_factor_required",
        ),
        (without, "second_factor_enrolment_required"),
    ] {
        let req = TestRequest::get()
            .uri("/security")
            .insert_header((header::ACCEPT, "application/json"))
            .login_as(&user)
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["error"], error);
    }
}

#[actix_web::test]
async fn anonymous_goes_to_login_a_stale_login_to_reauthenticate_before_the_second_factor() {
    let app = app!(Rc::default());
    let res = test::call_service(&app, TestRequest::get().uri("/security").to_request()).await;
    assert_eq!(location(&res), Some("/login?next=%2Fsecurity"));
    let req = TestRequest::get()
        .uri("/delete-account")
        .login_as(&User {
            id: 1,
            admin: false,
        })
        .fresh(false)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(
        location(&res),
        Some("/reauthenticate?next=%2Fdelete-account")
    );
}

#[actix_web::test]
async fn the_second_factor_is_asked_before_the_permission() {
    let app = app!(Rc::default());
    // Not an admin, no second factor: sent to the step, not refused outright.
    let req = TestRequest::get()
        .uri("/admin")
        .login_as(&User {
            id: 1,
            admin: false,
        })
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::FOUND
    );
    let req = TestRequest::get()
        .uri("/admin")
        .login_as(&User {
            id: 1,
            admin: false,
        })
        .method(AuthMethod::Totp)
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::FORBIDDEN
    );
    let req = TestRequest::get()
        .uri("/admin")
        .login_as(&User { id: 3, admin: true })
        .method(AuthMethod::Totp)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "admin");
}

#[actix_web::test]
async fn the_login_records_its_methods_confirm_adds_one_and_a_remembered_login_has_none() {
    let client = TestClient::new(app!(Rc::default()));
    let body = |res| async { String::from_utf8(test::read_body(res).await.to_vec()).unwrap() };
    client
        .call(TestRequest::get().uri("/login-password"))
        .await
        .unwrap();
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "password entered");
    let res = client
        .call(TestRequest::get().uri("/security"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    client.call(TestRequest::get().uri("/totp")).await.unwrap();
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "password entered, one-time code entered");
    let res = client
        .call(TestRequest::get().uri("/security"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "security");

    // The session ends (the browser closed); the remember cookie restores the login, which
    // was made by no method in this session: the second factor is asked again.
    client.remove_cookie("id");
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "");
    let res = client
        .call(TestRequest::get().uri("/security"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);

    // Logout removes them with the login.
    client.call(TestRequest::get().uri("/totp")).await.unwrap();
    client
        .call(TestRequest::get().uri("/logout"))
        .await
        .unwrap();
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "");
}

#[actix_web::test]
async fn a_guard_without_second_factor_admits_a_password_login() {
    #[login_required]
    async fn plain() -> &'static str {
        "plain"
    }
    let app = test::init_service(
        App::new()
            .route("/plain", web::get().to(plain))
            .wrap(manager(Rc::default()))
            .wrap(SessionMiddleware::new(
                CookieSessionStore::default(),
                Key::from(&[3; 64]),
            )),
    )
    .await;
    let req = TestRequest::get()
        .uri("/plain")
        .login_as(&User {
            id: 1,
            admin: false,
        })
        .method(AuthMethod::Password)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, req).await, "plain");
}

// ---- The hand-off from a first factor: `Login::after_first_factor` ----

/// A first factor (a sign-in link, say) for the user `id` of the query.
#[get("/first-factor")]
async fn first_factor(
    login: Login<User>,
    query: web::Query<std::collections::HashMap<String, u32>>,
) -> actix_web::Result<String> {
    let user = User {
        id: query.get("id").copied().unwrap_or(2),
        admin: false,
    };
    let first = FirstFactor::new(AuthMethod::SignInLink)
        .remember(true)
        .next(Some("/after".to_owned()));
    Ok(match login.after_first_factor(&user, first).await? {
        AfterFirstFactor::LoggedIn => "logged in".to_owned(),
        AfterFirstFactor::SecondStep { url } => format!("second step at {url}"),
        other => format!("{other:?}"),
    })
}

/// A second step that keeps what it was handed and logs nobody in.
struct Pending(Rc<RefCell<Vec<(u32, FirstFactor)>>>);

impl SecondStepHandler<User> for Pending {
    fn after_first_factor<'a>(
        &'a self,
        _: &'a actix_web::HttpRequest,
        user: &'a User,
        first: FirstFactor,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<AfterFirstFactor, String>> {
        self.0.borrow_mut().push((user.id, first));
        Box::pin(async {
            Ok(AfterFirstFactor::SecondStep {
                url: "/two-factor".to_owned(),
            })
        })
    }
}

macro_rules! first_factor_app {
    ($gate:expr) => {{
        let mut app = App::new();
        if let Some(gate) = $gate {
            app = app.app_data(SecondStepGate::new(gate));
        }
        test::init_service(
            app.service(first_factor)
                .service(methods)
                .service(security)
                .wrap(manager(Rc::default()))
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                        .cookie_secure(false)
                        .build(),
                ),
        )
        .await
    }};
}

#[actix_web::test]
async fn a_first_factor_without_a_second_step_installed_logs_in_an_account_without_one() {
    let client = TestClient::new(first_factor_app!(None::<Pending>));
    let res = client
        .call(TestRequest::get().uri("/first-factor?id=2"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(client.cookie("remember_token").is_some(), "remembered");
    assert_eq!(
        test::read_body(res).await,
        "logged in".as_bytes(),
        "the account has no second factor"
    );
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(
        test::read_body(res).await,
        "signed in with a link sent by mail".as_bytes()
    );
}

#[actix_web::test]
async fn a_first_factor_without_a_second_step_installed_refuses_an_account_with_one() {
    let client = TestClient::new(first_factor_app!(None::<Pending>));
    let res = client
        .call(TestRequest::get().uri("/first-factor?id=1"))
        .await
        .unwrap();
    // Fails closed: a 500 that names the set-up mistake (in a debug build), nobody logged in.
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(client.cookie("remember_token").is_none());
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(body.contains("no second step is installed"), "{body}");
    let res = client
        .call(TestRequest::get().uri("/security"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), Some("/login?next=%2Fsecurity"));
}

#[actix_web::test]
async fn a_first_factor_goes_through_the_installed_second_step_and_logs_nobody_in() {
    let handed = Rc::new(RefCell::new(Vec::new()));
    let client = TestClient::new(first_factor_app!(Some(Pending(handed.clone()))));
    let res = client
        .call(TestRequest::get().uri("/first-factor?id=1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        test::read_body(res).await,
        "second step at /two-factor".as_bytes()
    );
    let (id, first) = handed.borrow()[0].clone();
    assert_eq!(id, 1);
    assert_eq!(first.method, AuthMethod::SignInLink);
    assert!(first.remember);
    assert_eq!(first.next.as_deref(), Some("/after"));
    // The gate logged nobody in: no cookie, no method.
    assert!(client.cookie("remember_token").is_none());
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(test::read_body(res).await, "".as_bytes());
}

#[test]
fn a_first_factors_next_is_kept_only_when_it_is_safe() {
    let first = FirstFactor::new(AuthMethod::Password).next(Some("//evil.example".to_owned()));
    assert_eq!(first.next, None);
    let first = FirstFactor::new(AuthMethod::Password).next(Some("/tokens?x=1".to_owned()));
    assert_eq!(first.next.as_deref(), Some("/tokens?x=1"));
}

#[get("/add-totp")]
async fn add_totp(login: Login<User>) -> actix_web::Result<String> {
    login.add_method(AuthMethod::Totp)?;
    Ok(format!("fresh {}", login.is_fresh()?))
}

#[actix_web::test]
async fn add_method_records_a_second_factor_and_leaves_freshness_as_it_was() {
    let client = TestClient::new(
        test::init_service(
            App::new()
                .service(login_password)
                .service(add_totp)
                .service(methods)
                .service(security)
                .wrap(manager(Rc::default()))
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                        .cookie_secure(false)
                        .build(),
                ),
        )
        .await,
    );
    let body = |res| async { String::from_utf8(test::read_body(res).await.to_vec()).unwrap() };
    client
        .call(TestRequest::get().uri("/login-password"))
        .await
        .unwrap();
    // A remembered login, restored: not fresh, no method.
    client.remove_cookie("id");
    let res = client
        .call(TestRequest::get().uri("/add-totp"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "fresh false", "still not fresh");
    let res = client
        .call(TestRequest::get().uri("/methods"))
        .await
        .unwrap();
    assert_eq!(body(res).await, "one-time code entered");
    let res = client
        .call(TestRequest::get().uri("/security"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the guard admits it now");
}
