//! Authorization through the actix test service: `#[permission_required]`, `permission = …`
//! on the login guards, `RequirePermission` on a scope, the `Permissions` extractor and
//! `#[anonymous_required]`. What each answers anonymous visitors, logged-in users with and
//! without the permission, stale logins and API clients; that the loader's permission
//! lookup runs at most once per request; and that the check runs before the handler's
//! other extractors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::ServiceResponse;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, HttpResponse, get, post, web};
use login_runtime::testing::TestRequestLoginExt;
use login_runtime::{
    AuthUser, HasPermission, LoginEvent, LoginManager, Permission, PermissionSet, Permissions,
    RequirePermission, Rule, UserLoader, anonymous_required, authorize, fresh_login_required,
    login_required, permission_required,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perm {
    Read,
    Write,
    Admin,
    Audit,
}

#[derive(Debug, Clone, AuthUser)]
struct User {
    id: u32,
    /// Permissions kept with the user: answered without a lookup.
    perms: Vec<Perm>,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {
    fn has_permission(&self, permission: &Perm) -> bool {
        self.perms.contains(permission)
    }
}

/// alice holds `Read` herself; bob holds `Write`, `Admin` and `Audit` in the permission table
/// only; carol holds `Read` herself and `Write` in the table; dave holds `Audit` himself.
fn user(id: u32) -> User {
    let perms = match id {
        1 | 3 => vec![Perm::Read],
        4 => vec![Perm::Audit],
        _ => Vec::new(),
    };
    User { id, perms }
}

const ALICE: u32 = 1;
const BOB: u32 = 2;
const CAROL: u32 = 3;
const DAVE: u32 = 4;

/// Users 1 to 4; a permission table beside them, whose lookups are counted and can fail.
#[derive(Clone)]
struct Users {
    table: Rc<HashMap<u32, Vec<Perm>>>,
    lookups: Rc<Cell<u32>>,
    fail_lookups: Rc<Cell<bool>>,
}

impl Default for Users {
    fn default() -> Self {
        Users {
            table: Rc::new(HashMap::from([
                (BOB, vec![Perm::Write, Perm::Admin, Perm::Audit]),
                (CAROL, vec![Perm::Write]),
            ])),
            lookups: Rc::default(),
            fail_lookups: Rc::default(),
        }
    }
}

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = String;

    async fn load_user(&self, id: &u32) -> Result<Option<User>, Self::Error> {
        Ok((1..=4).contains(id).then(|| user(*id)))
    }

    async fn load_permissions(&self, user: &User) -> Result<PermissionSet<User>, Self::Error> {
        self.lookups.set(self.lookups.get() + 1);
        if self.fail_lookups.get() {
            return Err("permission table unavailable".to_owned());
        }
        Ok(self
            .table
            .get(&user.id)
            .into_iter()
            .flatten()
            .copied()
            .collect())
    }
}

/// The permissions of another kind of user than the one the `LoginManager` loads.
#[derive(Debug, PartialEq)]
enum Desk {
    Staff,
}

#[derive(Clone, AuthUser)]
struct Clerk {
    id: u32,
}

impl Permission for Desk {
    type User = Clerk;
}

impl HasPermission<Desk> for Clerk {
    fn has_permission(&self, _: &Desk) -> bool {
        true
    }
}

#[derive(serde::Deserialize)]
struct Item {
    name: String,
}

#[get("/read")]
#[permission_required(Perm::Read)]
async fn read() -> &'static str {
    "read"
}

#[permission_required(Perm::Admin)]
#[get("/admin")]
async fn admin() -> &'static str {
    "admin"
}

#[permission_required(any(Perm::Admin, Perm::Write))]
#[get("/any")]
async fn any_of() -> &'static str {
    "any"
}

#[permission_required(all(Perm::Read, Perm::Write))]
#[get("/all")]
async fn all_of() -> &'static str {
    "all"
}

#[login_required(permission = Perm::Read, login_view = "/sign-in")]
#[get("/login-read")]
async fn login_read() -> &'static str {
    "login read"
}

#[fresh_login_required(permission = Perm::Admin)]
#[get("/fresh-admin")]
async fn fresh_admin() -> &'static str {
    "fresh admin"
}

#[post("/items")]
#[permission_required(Perm::Write)]
async fn create_item(item: web::Json<Item>) -> HttpResponse {
    HttpResponse::Created().body(item.into_inner().name)
}

#[permission_required(Perm::Admin)]
async fn any_method() -> &'static str {
    "any method"
}

/// No attribute: inside `/audit`, the scope's check is its only one.
async fn audit_log() -> &'static str {
    "audit log"
}

/// Inside `/audit`, with its own attribute and the extractor: three askers, one lookup.
#[permission_required(Perm::Admin)]
#[get("/export")]
async fn audit_export(permissions: Permissions<User>) -> String {
    format!(
        "export for {}, write: {}",
        permissions.user().id,
        permissions.has(&Perm::Write)
    )
}

#[permission_required(Desk::Staff)]
#[get("/desk")]
async fn desk() -> &'static str {
    "desk"
}

/// The permission is chosen at run time.
#[get("/dynamic/{admin}")]
async fn dynamic(req: HttpRequest, as_admin: web::Path<bool>) -> actix_web::Result<&'static str> {
    let needed = if *as_admin { Perm::Admin } else { Perm::Read };
    authorize(&req, Rule::one(needed)).await?;
    Ok("dynamic")
}

#[get("/login")]
#[anonymous_required]
async fn login_page() -> &'static str {
    "login form"
}

fn manager(users: Users) -> LoginManager<Users> {
    LoginManager::new(users)
        .login_view("/login")
        .refresh_view("/reauthenticate")
        .anonymous_redirect("/home")
}

async fn app(
    manager: LoginManager<Users>,
) -> impl actix_web::dev::Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody>,
    Error = actix_web::Error,
> {
    test::init_service(
        App::new()
            .service(read)
            .service(admin)
            .service(any_of)
            .service(all_of)
            .service(login_read)
            .service(fresh_admin)
            .service(create_item)
            .service(login_page)
            .service(desk)
            .service(dynamic)
            .service(web::resource("/any-method").to(any_method))
            .service(
                web::scope("/audit")
                    .wrap(RequirePermission::new(Perm::Audit))
                    .route("/log", web::get().to(audit_log))
                    .service(audit_export),
            )
            .service(
                web::scope("/staff")
                    .wrap(RequirePermission::new(Rule::any([
                        Perm::Admin,
                        Perm::Audit,
                    ])))
                    .route("/room", web::get().to(audit_log)),
            )
            .wrap(manager)
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[7; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await
}

async fn send(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
    req: actix_http::Request,
) -> (StatusCode, Option<String>, String, String) {
    let res = test::call_service(app, req).await;
    let status = res.status();
    let header_value = |name| {
        res.headers()
            .get(name)
            .map(|value: &header::HeaderValue| value.to_str().unwrap().to_owned())
    };
    let location = header_value(header::LOCATION);
    let content_type = header_value(header::CONTENT_TYPE).unwrap_or_default();
    let body = test::read_body(res).await;
    (
        status,
        location,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn get_as(path: &str, id: u32) -> actix_http::Request {
    TestRequest::get()
        .uri(path)
        .login_as(&user(id))
        .to_request()
}

fn anonymous(path: &str) -> actix_http::Request {
    TestRequest::get().uri(path).to_request()
}

#[actix_web::test]
async fn anonymous_visitors_get_the_unauthorized_response() {
    let app = app(manager(Users::default())).await;
    let (status, location, ..) = send(&app, anonymous("/admin")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/login?next=%2Fadmin"));
    // The handler's own login view, as with `#[login_required]`.
    let (status, location, ..) = send(&app, anonymous("/login-read")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/sign-in?next=%2Flogin-read"));

    let req = TestRequest::get()
        .uri("/admin")
        .insert_header((header::ACCEPT, "application/json"))
        .to_request();
    let (status, _, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "unauthorized");
}

#[actix_web::test]
async fn a_logged_in_user_without_the_permission_gets_a_403_page_never_the_login_view() {
    let app = app(manager(Users::default())).await;
    let (status, location, content_type, body) = send(&app, get_as("/admin", ALICE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(location, None);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(body.contains("<h1>403 Forbidden</h1>"), "{body}");
}

#[actix_web::test]
async fn an_api_client_without_the_permission_gets_a_json_403() {
    let app = app(manager(Users::default())).await;
    for (name, value) in [
        (header::ACCEPT.as_str(), "application/json"),
        ("x-requested-with", "XMLHttpRequest"),
    ] {
        let req = TestRequest::get()
            .uri("/admin")
            .insert_header((name, value))
            .login_as(&user(ALICE))
            .to_request();
        let (status, _, content_type, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(content_type, "application/json");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({ "error": "forbidden" })
        );
    }
}

#[actix_web::test]
async fn a_user_with_the_permission_gets_the_page() {
    let users = Users::default();
    let app = app(manager(users.clone())).await;
    // Held by the user itself: no lookup at all.
    let (status, _, _, body) = send(&app, get_as("/read", ALICE)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "read"));
    let (status, _, _, body) = send(&app, get_as("/login-read", ALICE)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "login read"));
    assert_eq!(users.lookups.get(), 0);
    // Held through the loader's permission table.
    let (status, _, _, body) = send(&app, get_as("/admin", BOB)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "admin"));
    assert_eq!(users.lookups.get(), 1);
    // `login_required(permission = ..)` refuses a user without it like the others.
    let (status, ..) = send(&app, get_as("/login-read", BOB)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn any_needs_one_of_the_permissions_and_all_needs_every_one() {
    let app = app(manager(Users::default())).await;
    let cases = [
        ("/any", ALICE, StatusCode::FORBIDDEN), // Read only
        ("/any", BOB, StatusCode::OK),          // Admin and Write
        ("/any", CAROL, StatusCode::OK),        // Write
        ("/all", ALICE, StatusCode::FORBIDDEN), // Read, not Write
        ("/all", BOB, StatusCode::FORBIDDEN),   // Write, not Read
        ("/all", CAROL, StatusCode::OK),        // Read herself, Write from the table
    ];
    for (path, id, expected) in cases {
        let (status, ..) = send(&app, get_as(path, id)).await;
        assert_eq!(status, expected, "{path} as user {id}");
    }
}

#[actix_web::test]
async fn a_stale_login_is_asked_to_reauthenticate_before_its_permission_is_checked() {
    let app = app(manager(Users::default())).await;
    for id in [ALICE, BOB] {
        let req = TestRequest::get()
            .uri("/fresh-admin")
            .login_as(&user(id))
            .fresh(false)
            .to_request();
        let (status, location, ..) = send(&app, req).await;
        assert_eq!(status, StatusCode::FOUND, "user {id}");
        assert_eq!(
            location.as_deref(),
            Some("/reauthenticate?next=%2Ffresh-admin")
        );
    }
    let (status, ..) = send(&app, get_as("/fresh-admin", ALICE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _, body) = send(&app, get_as("/fresh-admin", BOB)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "fresh admin"));
}

#[actix_web::test]
async fn a_custom_forbidden_handler_replaces_the_403() {
    let app = app(manager(Users::default()).forbidden_handler(|req| {
        HttpResponse::Forbidden().body(format!("ask an admin about {}", req.path()))
    }))
    .await;
    let (status, _, _, body) = send(&app, get_as("/admin", ALICE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "ask an admin about /admin");
}

#[actix_web::test]
async fn forbidden_as_not_found_hides_the_resource() {
    let app = app(manager(Users::default()).forbidden_as_not_found(true)).await;
    let (status, _, content_type, body) = send(&app, get_as("/admin", ALICE)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(!body.contains("403"), "{body}");
    let req = TestRequest::get()
        .uri("/admin")
        .insert_header((header::ACCEPT, "application/json"))
        .login_as(&user(ALICE))
        .to_request();
    let (status, _, _, body) = send(&app, req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, r#"{"error":"not_found"}"#);
}

#[actix_web::test]
async fn a_failing_permission_lookup_is_a_500_not_a_deny() {
    let users = Users::default();
    users.fail_lookups.set(true);
    let app = app(manager(users.clone())).await;
    for path in ["/admin", "/audit/log", "/audit/export"] {
        let (status, _, _, body) = send(&app, get_as(path, BOB)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(!body.contains("permission table"), "detail leaked: {body}");
    }
    // A permission the user holds itself needs no lookup, so it still works.
    let (status, ..) = send(&app, get_as("/read", ALICE)).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_failing_permission_lookup_answers_a_json_client_in_json_as_the_401_and_403_do() {
    let users = Users::default();
    users.fail_lookups.set(true);
    let app = app(manager(users.clone())).await;
    for path in ["/admin", "/audit/log", "/audit/export"] {
        let req = TestRequest::get()
            .uri(path)
            .insert_header((header::ACCEPT, "application/json"))
            .login_as(&user(BOB))
            .to_request();
        let (status, _, content_type, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(content_type, "application/json", "{path}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "server_error", "{path}: {body}");
        assert!(!body.contains("permission table"), "detail leaked: {body}");
    }
}

#[actix_web::test]
async fn the_permission_lookup_runs_once_for_the_scope_the_attribute_and_the_extractor() {
    let users = Users::default();
    let app = app(manager(users.clone())).await;
    let (status, _, _, body) = send(&app, get_as("/audit/export", BOB)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "export for 2, write: true");
    assert_eq!(users.lookups.get(), 1);
    // Per request, not per process.
    send(&app, get_as("/audit/export", BOB)).await;
    assert_eq!(users.lookups.get(), 2);
}

#[actix_web::test]
async fn a_scope_checks_every_handler_in_it_and_a_handler_attribute_adds_its_own_rule() {
    let app = app(manager(Users::default())).await;
    let (status, location, ..) = send(&app, anonymous("/audit/log")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/login?next=%2Faudit%2Flog"));
    let cases = [
        ("/audit/log", ALICE, StatusCode::FORBIDDEN), // no Audit
        ("/audit/log", DAVE, StatusCode::OK),         // Audit
        ("/audit/export", DAVE, StatusCode::FORBIDDEN), // Audit, but the handler asks Admin
        ("/audit/export", BOB, StatusCode::OK),       // Audit and Admin
        ("/staff/room", DAVE, StatusCode::OK),        // any(Admin, Audit)
        ("/staff/room", CAROL, StatusCode::FORBIDDEN),
    ];
    for (path, id, expected) in cases {
        let (status, ..) = send(&app, get_as(path, id)).await;
        assert_eq!(status, expected, "{path} as user {id}");
    }
}

#[actix_web::test]
async fn a_malformed_body_from_a_user_without_the_permission_gets_403_not_400() {
    let app = app(manager(Users::default())).await;
    let post = |id: Option<u32>| {
        let req = TestRequest::post()
            .uri("/items")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{not json");
        match id {
            Some(id) => req.login_as(&user(id)).to_request(),
            None => req.to_request(),
        }
    };
    let (status, ..) = send(&app, post(Some(ALICE))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = send(&app, post(None)).await;
    assert_eq!(status, StatusCode::FOUND);
    // With the permission, the body is read, and is refused as actix refuses it.
    let (status, ..) = send(&app, post(Some(BOB))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let req = TestRequest::post()
        .uri("/items")
        .set_json(serde_json::json!({ "name": "pen" }))
        .login_as(&user(BOB))
        .to_request();
    let (status, _, _, body) = send(&app, req).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "pen"));
}

#[actix_web::test]
async fn options_requests_pass_the_permission_checks() {
    let app = app(manager(Users::default())).await;
    let req = TestRequest::default()
        .method(Method::OPTIONS)
        .uri("/any-method")
        .to_request();
    let (status, _, _, body) = send(&app, req).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "any method"));
    let (status, ..) = send(&app, get_as("/any-method", ALICE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_refusal_is_reported_as_a_forbidden_event() {
    let events = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&events);
    let app =
        app(manager(Users::default()).on_event(move |event| seen.borrow_mut().push(event.clone())))
            .await;
    send(&app, get_as("/admin", ALICE)).await;
    send(&app, get_as("/audit/log", ALICE)).await;
    let forbidden: Vec<LoginEvent> = events
        .borrow()
        .iter()
        .filter(|event| matches!(event, LoginEvent::Forbidden { .. }))
        .cloned()
        .collect();
    assert_eq!(
        forbidden,
        [
            LoginEvent::Forbidden {
                user_id: "1".into(),
                path: "/admin".into()
            },
            LoginEvent::Forbidden {
                user_id: "1".into(),
                path: "/audit/log".into()
            },
        ]
    );
}

#[actix_web::test]
async fn the_anonymous_only_guard_sends_logged_in_visitors_away() {
    let app = app(manager(Users::default())).await;
    let (status, _, _, body) = send(&app, anonymous("/login")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "login form"));
    let cases = [
        ("/login", "/home"),
        ("/login?next=%2Fread", "/read"),
        // `next` is followed only when it is a path on this site.
        ("/login?next=%2F%2Fevil.example%2F", "/home"),
        ("/login?next=https%3A%2F%2Fevil.example%2F", "/home"),
    ];
    for (path, target) in cases {
        let (status, location, ..) = send(&app, get_as(path, ALICE)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location.as_deref(), Some(target), "{path}");
    }
}

#[test]
fn rules_hold_as_any_and_all_say() {
    let set: PermissionSet<User> = [Perm::Read, Perm::Write].into_iter().collect();
    assert!(set.contains(&Perm::Write));
    assert!(!set.contains(&Perm::Admin));
    let rule = Rule::All(vec![
        Rule::one(Perm::Read),
        Rule::any([Perm::Admin, Perm::Audit]),
    ]);
    assert_eq!(
        rule,
        Rule::All(vec![
            Rule::One(Perm::Read),
            Rule::Any(vec![Rule::One(Perm::Admin), Rule::One(Perm::Audit)])
        ])
    );
}

#[actix_web::test]
async fn a_permission_of_another_user_type_is_a_500_not_a_deny() {
    let app = app(manager(Users::default())).await;
    let (status, ..) = send(&app, get_as("/desk", ALICE)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[actix_web::test]
async fn authorize_checks_a_rule_chosen_at_run_time() {
    let app = app(manager(Users::default())).await;
    let (status, _, _, body) = send(&app, get_as("/dynamic/false", ALICE)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "dynamic"));
    let (status, ..) = send(&app, get_as("/dynamic/true", ALICE)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = send(&app, anonymous("/dynamic/true")).await;
    assert_eq!(status, StatusCode::FOUND);
}
