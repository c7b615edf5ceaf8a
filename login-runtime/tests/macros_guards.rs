//! `#[login_required]` and `#[fresh_login_required]` through the actix test service: what
//! each guard answers, in which order it runs against the handler's extractors, and that the
//! rewritten handlers behave as the originals did once the guard lets them through.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::future::{Ready, ready};
use std::rc::Rc;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::{Payload, ServiceResponse};
use actix_web::error::{ErrorImATeapot, InternalError};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::{
    App, FromRequest, HttpRequest, HttpResponse, Responder, get, post, route, routes, web,
};
use login_runtime::testing::TestRequestLoginExt;
use login_runtime::{
    AuthUser, CurrentUser, LoginManager, UserLoader, fresh_login_required, login_required,
};

#[derive(Debug, Clone, AuthUser)]
struct User {
    id: u32,
    name: String,
    #[auth(active)]
    active: bool,
    #[auth(session_hash)]
    password_hash: String,
}

fn alice() -> User {
    User {
        id: 1,
        name: "alice".into(),
        active: true,
        password_hash: "hash".into(),
    }
}

/// Finds alice, counting the loads.
#[derive(Clone, Default)]
struct Users(Rc<Cell<u32>>);

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = std::convert::Infallible;

    async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
        self.0.set(self.0.get() + 1);
        Ok((*id == 1).then(alice))
    }
}

#[derive(serde::Deserialize)]
struct Item {
    name: String,
}

/// Counts how many times actix-web started extracting it: the guard must run first.
#[derive(Clone, Default)]
struct Starts(Rc<Cell<u32>>);

struct Counted;

impl FromRequest for Counted {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let starts = req.app_data::<Starts>().expect("Starts in app data");
        starts.0.set(starts.0.get() + 1);
        ready(Ok(Counted))
    }
}

/// Guard above the route.
#[login_required]
#[get("/above/{n}")]
async fn above(n: web::Path<u32>, user: CurrentUser<User>) -> impl Responder {
    format!("{} {}", user.name, n.into_inner())
}

/// Guard below the route.
#[get("/below")]
#[login_required]
async fn below(query: web::Query<Vec<(String, String)>>) -> HttpResponse {
    HttpResponse::Ok().body(format!("below {}", query.len()))
}

#[fresh_login_required]
#[post("/password")]
async fn change_password(user: CurrentUser<User>) -> String {
    format!("changed for {}", user.name)
}

#[fresh_login_required(refresh_view = "/confirm", login_view = "/sign-in")]
#[get("/delete")]
async fn delete_account() -> &'static str {
    "deleted"
}

#[login_required]
#[post("/items")]
async fn create_item(item: web::Json<Item>, _counted: Counted) -> HttpResponse {
    HttpResponse::Created().body(item.into_inner().name)
}

#[login_required]
async fn any_method(req: HttpRequest) -> String {
    req.method().to_string()
}

#[login_required]
#[get("/admin/stats")]
async fn admin_stats() -> &'static str {
    "stats"
}

#[login_required(login_view = "/admin/special-login")]
#[get("/admin/special")]
async fn admin_special() -> &'static str {
    "special"
}

#[login_required]
#[route("/route", method = "GET", method = "PUT")]
async fn with_route(req: HttpRequest) -> String {
    req.method().to_string()
}

#[routes]
#[get("/routes")]
#[post("/routes")]
#[fresh_login_required]
async fn with_routes() -> &'static str {
    "routes"
}

#[login_required]
async fn fails(fail: web::Path<bool>) -> Result<&'static str, actix_web::Error> {
    if fail.into_inner() {
        Err(ErrorImATeapot("short and stout"))
    } else {
        Ok("fine")
    }
}

#[login_required]
async fn generic<T: serde::de::DeserializeOwned + std::fmt::Debug + 'static>(
    body: web::Json<T>,
) -> String {
    format!("{:?}", body.into_inner())
}

fn manager() -> LoginManager<Users> {
    LoginManager::new(Users::default())
}

/// The app under test, with `manager` installed inside a cookie session.
async fn app(
    manager: LoginManager<Users>,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .app_data(Starts::default())
            .service(above)
            .service(below)
            .service(change_password)
            .service(delete_account)
            .service(create_item)
            .service(web::resource("/any").to(any_method))
            .service(admin_stats)
            .service(admin_special)
            .service(with_route)
            .service(with_routes)
            .route("/fails/{fail}", web::get().to(fails))
            .route("/generic", web::post().to(generic::<Vec<u8>>))
            .wrap(manager)
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await
}

async fn call(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    req: actix_http::Request,
) -> (StatusCode, String, String) {
    let res = test::call_service(app, req).await;
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = test::read_body(res).await;
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
}

#[actix_web::test]
async fn anonymous_gets_the_login_view_or_401() {
    let with_view = app(manager().login_view("/login")).await;
    let (status, location, _) = call(&with_view, get("/above/3?x=1").to_request()).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location, "/login?next=%2Fabove%2F3%3Fx%3D1");

    let without_view = app(manager()).await;
    let (status, location, _) = call(&without_view, get("/below").to_request()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(location, "");

    let json = get("/below")
        .insert_header(("accept", "application/json"))
        .to_request();
    let (status, _, body) = call(&with_view, json).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.starts_with('{'), "{body}");
}

#[actix_web::test]
async fn logged_in_runs_the_handler_with_its_extractors_in_both_attribute_orders() {
    let app = app(manager().login_view("/login")).await;
    let (status, _, body) = call(&app, get("/above/7").login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice 7"));
    let (status, _, body) = call(&app, get("/below?a=1&b=2").login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "below 2"));
}

#[actix_web::test]
async fn the_guard_and_current_user_share_one_load() {
    let users = Users::default();
    let app = app(LoginManager::new(users.clone())).await;
    let (status, _, _) = call(&app, get("/above/1").login_as(&alice()).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        users.0.get(),
        1,
        "guard and `CurrentUser` load the user once"
    );
}

#[actix_web::test]
async fn fresh_guard_refuses_a_stale_login_but_login_required_accepts_it() {
    let app = app(manager().login_view("/login").refresh_view("/reauth")).await;
    let stale = |req: TestRequest| req.login_as(&alice()).fresh(false).to_request();

    let (status, location, _) = call(&app, stale(TestRequest::post().uri("/password"))).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location, "/reauth?next=%2Fpassword");

    let fresh = TestRequest::post()
        .uri("/password")
        .login_as(&alice())
        .to_request();
    let (status, _, body) = call(&app, fresh).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "changed for alice")
    );

    let (status, _, body) = call(&app, stale(get("/above/1"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "alice 1"));

    // Anonymous on a fresh guard: the login view, not the refresh view.
    let (status, location, _) = call(&app, TestRequest::post().uri("/password").to_request()).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::FOUND, "/login?next=%2Fpassword")
    );
}

#[actix_web::test]
async fn handler_views_win_over_global_views() {
    let app = app(manager().login_view("/login").refresh_view("/reauth")).await;
    let (status, location, _) = call(&app, get("/delete").to_request()).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::FOUND, "/sign-in?next=%2Fdelete")
    );
    let stale = get("/delete").login_as(&alice()).fresh(false).to_request();
    let (status, location, _) = call(&app, stale).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::FOUND, "/confirm?next=%2Fdelete")
    );
    let (status, _, body) = call(&app, get("/delete").login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "deleted"));
}

#[actix_web::test]
async fn handler_login_view_wins_over_prefix_and_global_views() {
    let app = app(manager()
        .login_view("/login")
        .scope_login_view("/admin", Some("/admin/login")))
    .await;
    let (_, location, _) = call(&app, get("/admin/special").to_request()).await;
    assert_eq!(location, "/admin/special-login?next=%2Fadmin%2Fspecial");
    let (_, location, _) = call(&app, get("/admin/stats").to_request()).await;
    assert_eq!(location, "/admin/login?next=%2Fadmin%2Fstats");
    let (_, location, _) = call(&app, get("/below").to_request()).await;
    assert_eq!(location, "/login?next=%2Fbelow");
}

#[actix_web::test]
async fn options_requests_pass_the_guard() {
    let app = app(manager().login_view("/login")).await;
    let options = TestRequest::default()
        .method(Method::OPTIONS)
        .uri("/any")
        .to_request();
    let (status, _, body) = call(&app, options).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "OPTIONS"));
    let (status, _, _) = call(&app, get("/any").to_request()).await;
    assert_eq!(status, StatusCode::FOUND);
}

#[actix_web::test]
async fn anonymous_malformed_json_gets_401_before_any_extractor_starts() {
    let starts = Starts::default();
    let app = test::init_service(
        App::new()
            .app_data(starts.clone())
            .service(create_item)
            .wrap(manager())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await;
    let bad_json = || {
        TestRequest::post()
            .uri("/items")
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
    };
    let (status, _, _) = call(&app, bad_json().to_request()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        starts.0.get(),
        0,
        "no extractor may start before the guard lets the request in"
    );

    let (status, _, _) = call(&app, bad_json().login_as(&alice()).to_request()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(starts.0.get(), 1);

    let good = TestRequest::post()
        .uri("/items")
        .set_json(serde_json::json!({"name": "pen"}));
    let (status, _, body) = call(&app, good.login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "pen"));
}

#[actix_web::test]
async fn extraction_errors_match_plain_actix_including_custom_json_config() {
    let app = test::init_service(
        App::new()
            .app_data(Starts::default())
            .app_data(web::JsonConfig::default().error_handler(|error, _| {
                InternalError::from_response(
                    error,
                    HttpResponse::UnprocessableEntity().body("custom"),
                )
                .into()
            }))
            .service(create_item)
            .route("/fails/{fail}", web::get().to(fails))
            .wrap(manager())
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[3; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await;
    let bad_json = TestRequest::post()
        .uri("/items")
        .insert_header(("content-type", "application/json"))
        .set_payload("[]");
    let (status, _, body) = call(&app, bad_json.login_as(&alice()).to_request()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "custom")
    );

    // A path segment that does not parse: 404, as actix answers for `web::Path<bool>`.
    let (status, _, _) = call(&app, get("/fails/maybe").login_as(&alice()).to_request()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn handler_errors_and_results_pass_through() {
    let app = app(manager()).await;
    let (status, _, body) = call(&app, get("/fails/true").login_as(&alice()).to_request()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::IM_A_TEAPOT, "short and stout")
    );
    let (status, _, body) = call(&app, get("/fails/false").login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "fine"));
}

#[actix_web::test]
async fn route_routes_and_generic_handlers_are_guarded() {
    let app = app(manager()).await;
    let put = TestRequest::put().uri("/route");
    assert_eq!(
        call(&app, put.to_request()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let put = TestRequest::put()
        .uri("/route")
        .login_as(&alice())
        .to_request();
    assert_eq!(call(&app, put).await.2, "PUT");

    let stale = TestRequest::post()
        .uri("/routes")
        .login_as(&alice())
        .fresh(false)
        .to_request();
    assert_eq!(call(&app, stale).await.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) = call(&app, get("/routes").login_as(&alice()).to_request()).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "routes"));

    let body = TestRequest::post().uri("/generic").set_json([1, 2]);
    assert_eq!(
        call(&app, body.to_request()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let body = TestRequest::post()
        .uri("/generic")
        .set_json([1, 2])
        .login_as(&alice())
        .to_request();
    assert_eq!(call(&app, body).await.2, "[1, 2]");
}

#[actix_web::test]
async fn a_guard_without_login_manager_is_a_clean_500() {
    let app = test::init_service(App::new().service(below)).await;
    let (status, _, _) = call(&app, get("/below").to_request()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}
