//! Set-up mistakes that only show at run time name themselves: a debug build's 500 body says
//! what is wrong and what to wrap or change (these tests run in debug builds; the release
//! body is checked by `error.rs`'s unit tests), and a guarded login view answers a 500 naming
//! its handler instead of redirecting to itself forever.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, get, web};
use login_runtime::testing::TestRequestLoginExt;
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, MaybeUser, UserLoader, login_required,
};

#[derive(Debug, Clone, AuthUser)]
struct User {
    id: u32,
}

#[derive(Debug, Clone, AuthUser)]
struct Admin {
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

#[login_required]
#[get("/members")]
async fn members() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[get("/admin")]
async fn admin(admin: CurrentUser<Admin>) -> String {
    admin.id.to_string()
}

/// Logs in an `Admin` through a `LoginManager` whose loader loads `User`s.
#[get("/admin-login")]
async fn admin_login(login: Login<Admin>) -> actix_web::Result<&'static str> {
    login.login(&Admin { id: 7 })?;
    Ok("logged in")
}

#[get("/who")]
async fn who(user: MaybeUser<User>) -> String {
    user.get()
        .map_or("nobody".to_owned(), |user| user.id.to_string())
}

/// The login page, guarded by mistake; the guard below `#[get]` cannot see the route.
#[get("/login")]
#[login_required(login_view = "/login")]
async fn login_page() -> HttpResponse {
    HttpResponse::Ok().body("the login form")
}

/// Guarded by mistake, relying on the manager's global login view.
#[login_required]
#[get("/signin")]
async fn signin_page() -> HttpResponse {
    HttpResponse::Ok().body("the login form")
}

fn session() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[5; 64]))
        .cookie_secure(false)
        .build()
}

async fn body_of(res: actix_web::dev::ServiceResponse) -> (StatusCode, Option<String>, String) {
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    (status, location, body)
}

/// Set in the child process of [`without_a_subscriber_a_setup_mistake_goes_to_stderr_once`].
const CHILD: &str = "LOGIN_RUNTIME_SETUP_MISTAKES_CHILD";

#[test]
fn without_a_subscriber_a_setup_mistake_goes_to_stderr_once() {
    // Its own process: libtest captures `eprintln!` in tests, and "once per process" needs
    // a process where nothing was reported yet.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "three_requests_without_login_manager",
            "--nocapture",
        ])
        .args(["--include-ignored", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(child.status.success(), "{child:?}");
    let stderr = String::from_utf8(child.stderr).unwrap();
    let reports = stderr
        .lines()
        .filter(|line| {
            line.starts_with("login-runtime set-up mistake: login-runtime is not installed")
        })
        .count();
    assert_eq!(reports, 1, "{stderr}");
}

#[actix_web::test]
#[ignore = "run in its own process by without_a_subscriber_a_setup_mistake_goes_to_stderr_once"]
async fn three_requests_without_login_manager() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let app = test::init_service(App::new().service(members)).await;
    for _ in 0..3 {
        let res = test::call_service(&app, TestRequest::get().uri("/members").to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}

#[actix_web::test]
async fn a_guard_without_login_manager_names_login_manager_in_a_debug_body() {
    let app = test::init_service(App::new().service(members)).await;
    let res = test::call_service(&app, TestRequest::get().uri("/members").to_request()).await;
    let (status, _, body) = body_of(res).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("`.wrap(LoginManager::new(loader))`"),
        "{body}"
    );
    assert!(body.contains("debug builds only"), "{body}");
}

#[actix_web::test]
async fn login_manager_without_session_middleware_names_session_middleware() {
    let app = test::init_service(App::new().service(members).wrap(LoginManager::new(Users))).await;
    let res = test::call_service(&app, TestRequest::get().uri("/members").to_request()).await;
    let (status, _, body) = body_of(res).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("wrap `LoginManager` inside `SessionMiddleware`"),
        "{body}"
    );
}

#[actix_web::test]
async fn a_wrong_user_type_names_both_types() {
    let app = test::init_service(
        App::new()
            .service(admin)
            .wrap(LoginManager::new(Users))
            .wrap(session()),
    )
    .await;
    let req = TestRequest::get()
        .uri("/admin")
        .login_as(&User { id: 1 })
        .to_request();
    let (status, _, body) = body_of(test::call_service(&app, req).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("Admin` was requested"), "{body}");
    assert!(body.contains("loads `setup_mistakes::User`"), "{body}");
}

#[actix_web::test]
async fn a_login_handle_of_another_user_type_names_both_types_and_logs_nobody_in() {
    let app = test::init_service(
        App::new()
            .service(admin_login)
            .service(who)
            .wrap(LoginManager::new(Users))
            .wrap(session()),
    )
    .await;
    let res = test::call_service(&app, TestRequest::get().uri("/admin-login").to_request()).await;
    let session_cookie = res
        .response()
        .cookies()
        .find(|cookie| cookie.name() == "id")
        .map(|cookie| cookie.into_owned());
    let (status, _, body) = body_of(res).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("Admin` was requested"), "{body}");
    assert!(body.contains("loads `setup_mistakes::User`"), "{body}");
    // Had it written the login, the loader would read the admin's id as one of its users.
    let mut req = TestRequest::get().uri("/who");
    if let Some(cookie) = session_cookie {
        req = req.cookie(cookie);
    }
    let (_, _, body) = body_of(test::call_service(&app, req.to_request()).await).await;
    assert_eq!(body, "nobody");
}

#[actix_web::test]
async fn a_guarded_login_view_answers_500_naming_its_handler_instead_of_looping() {
    let app = test::init_service(
        App::new()
            .service(login_page)
            .service(signin_page)
            .service(members)
            .wrap(LoginManager::new(Users).login_view("/signin"))
            .wrap(session()),
    )
    .await;
    for (uri, handler) in [("/login", "login_page"), ("/signin", "signin_page")] {
        let res = test::call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        let (status, location, body) = body_of(res).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}: {body}");
        assert_eq!(location, None, "{uri} must not redirect");
        assert!(
            body.contains(&format!(
                "`#[login_required]` on handler `{handler}` guards the login view `{uri}` itself"
            )),
            "{body}"
        );
    }
    // Another guarded page still redirects to the (guarded) login view, once: that view
    // answers the 500 above, never a second redirect.
    let res = test::call_service(&app, TestRequest::get().uri("/members").to_request()).await;
    let (status, location, _) = body_of(res).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/signin?next=%2Fmembers"));
    // A logged-in visitor gets the page.
    let req = TestRequest::get()
        .uri("/signin")
        .login_as(&User { id: 1 })
        .to_request();
    let (status, _, body) = body_of(test::call_service(&app, req).await).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "the login form"));
}

#[actix_web::test]
async fn a_login_view_taking_current_user_is_named_too() {
    async fn page(user: CurrentUser<User>) -> String {
        user.id.to_string()
    }
    let app = test::init_service(
        App::new()
            .route("/login", web::get().to(page))
            .wrap(LoginManager::new(Users).login_view("/login"))
            .wrap(session()),
    )
    .await;
    let res = test::call_service(&app, TestRequest::get().uri("/login").to_request()).await;
    let (status, location, body) = body_of(res).await;
    assert_eq!(
        (status, location),
        (StatusCode::INTERNAL_SERVER_ERROR, None)
    );
    assert!(body.contains("a `CurrentUser` parameter"), "{body}");
}
