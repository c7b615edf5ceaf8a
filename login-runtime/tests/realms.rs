//! Two kinds of user in one app: customers (the default kind) and staff (a `LoginManager`
//! with a realm), each with its own loader, session entry, remember cookie, login view and
//! device registry. Both logged in at once in one cookie jar; each guard refuses the other's
//! login with its own answer; logging out of one, or revoking its device, leaves the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::{App, get, web};
use login_runtime::testing::{TestClient, TestLogin};
use login_runtime::{
    AuthUser, CurrentUser, DeviceRegistry, HasPermission, Login, LoginManager, LoginOptions,
    MaybeUser, MemoryDevices, Permission, RememberCookie, RequirePermission, UserLoader,
    anonymous_required, login_required, permission_required,
};

#[derive(Debug, Clone, AuthUser)]
struct Customer {
    id: u32,
}

#[derive(Debug, Clone, AuthUser)]
struct Staff {
    #[auth(id)]
    login: String,
    admin: bool,
}

struct Customers;

impl UserLoader for Customers {
    type User = Customer;
    type Id = u32;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<Customer>, Self::Error> {
        Ok(Some(Customer { id: *id }))
    }
}

struct StaffMembers;

impl UserLoader for StaffMembers {
    type User = Staff;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, login: &String) -> Result<Option<Staff>, Self::Error> {
        Ok(Some(Staff {
            login: login.clone(),
            admin: login == "boss",
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StaffPerm {
    Refunds,
}

impl Permission for StaffPerm {
    type User = Staff;
}

impl HasPermission<StaffPerm> for Staff {
    fn has_permission(&self, _: &StaffPerm) -> bool {
        self.admin
    }
}

#[login_required]
#[get("/orders")]
async fn orders(customer: CurrentUser<Customer>) -> String {
    format!("orders of {}", customer.id)
}

#[login_required]
#[get("/staff/desk")]
async fn desk(staff: CurrentUser<Staff>) -> String {
    format!("desk of {}", staff.login)
}

#[login_required(user = Staff)]
#[get("/staff/board")]
async fn board() -> &'static str {
    "board"
}

#[permission_required(StaffPerm::Refunds)]
#[get("/staff/refunds")]
async fn refunds() -> &'static str {
    "refunds"
}

#[anonymous_required(user = Staff)]
#[get("/staff/login")]
async fn staff_login_page() -> &'static str {
    "staff login form"
}

#[get("/who")]
async fn who(customer: MaybeUser<Customer>, staff: MaybeUser<Staff>) -> String {
    let customer = customer.get().map_or("-".to_owned(), |c| c.id.to_string());
    let staff = staff.get().map_or("-".to_owned(), |s| s.login.clone());
    format!("customer {customer}, staff {staff}")
}

#[get("/customer/in")]
async fn customer_in(login: Login<Customer>) -> actix_web::Result<&'static str> {
    login.login_with(&Customer { id: 7 }, LoginOptions::new().remember(true))?;
    Ok("in")
}

#[get("/customer/out")]
async fn customer_out(login: Login<Customer>) -> actix_web::Result<&'static str> {
    login.logout()?;
    Ok("out")
}

#[get("/staff/in/{login}")]
async fn staff_in(login: Login<Staff>, name: web::Path<String>) -> actix_web::Result<&'static str> {
    let staff = Staff {
        login: name.into_inner(),
        admin: false,
    };
    login.login_with(&staff, LoginOptions::new().remember(true))?;
    Ok("in")
}

#[get("/staff/out")]
async fn staff_out(login: Login<Staff>) -> actix_web::Result<&'static str> {
    login.logout()?;
    Ok("out")
}

struct Registries {
    customers: MemoryDevices,
    staff: MemoryDevices,
}

macro_rules! app {
    ($registries:expr) => {{
        let registries: &Registries = &$registries;
        test::init_service(
            App::new()
                .service(orders)
                .service(desk)
                .service(board)
                .service(refunds)
                .service(staff_login_page)
                .service(who)
                .service(customer_in)
                .service(customer_out)
                .service(staff_in)
                .service(staff_out)
                .service(
                    web::scope("/staff-admin")
                        .wrap(RequirePermission::new(StaffPerm::Refunds))
                        .route("/report", web::get().to(|| async { "report" })),
                )
                .wrap(
                    LoginManager::new(StaffMembers)
                        .realm("staff")
                        .login_view("/staff/login")
                        .remember_cookie(RememberCookie::default().secure(false))
                        .device_registry(registries.staff.clone()),
                )
                .wrap(
                    LoginManager::new(Customers)
                        .login_view("/login")
                        .remember_cookie(RememberCookie::default().secure(false))
                        .device_registry(registries.customers.clone()),
                )
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[4; 64]))
                        .cookie_secure(false)
                        .build(),
                ),
        )
        .await
    }};
}

fn registries() -> Registries {
    Registries {
        customers: MemoryDevices::new(),
        staff: MemoryDevices::new(),
    }
}

async fn body<S, B>(client: &TestClient<S>, path: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = client.call(TestRequest::get().uri(path)).await.unwrap();
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

async fn location<S, B>(client: &TestClient<S>, path: &str) -> (StatusCode, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = client.call(TestRequest::get().uri(path)).await.unwrap();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status(), location)
}

#[actix_web::test]
async fn both_kinds_are_logged_in_at_once_in_one_cookie_jar_and_logging_out_of_one_keeps_the_other()
{
    let registries = registries();
    let client = TestClient::new(app!(registries));
    body(&client, "/customer/in").await;
    body(&client, "/staff/in/ann").await;
    assert_eq!(body(&client, "/who").await, "customer 7, staff ann");
    assert_eq!(body(&client, "/orders").await, "orders of 7");
    assert_eq!(body(&client, "/staff/desk").await, "desk of ann");
    // Each kind has its own remember cookie.
    assert!(client.cookie("remember_token").is_some());
    assert!(client.cookie("remember_token_staff").is_some());

    body(&client, "/staff/out").await;
    assert_eq!(body(&client, "/who").await, "customer 7, staff -");
    assert_eq!(body(&client, "/orders").await, "orders of 7");
    assert!(client.cookie("remember_token_staff").is_none());
    assert!(client.cookie("remember_token").is_some());

    body(&client, "/staff/in/ann").await;
    body(&client, "/customer/out").await;
    assert_eq!(body(&client, "/who").await, "customer -, staff ann");
}

#[actix_web::test]
async fn each_guard_refuses_the_other_kinds_login_with_its_own_login_view() {
    let registries = registries();
    let customer = TestClient::new(app!(registries));
    body(&customer, "/customer/in").await;
    assert_eq!(
        location(&customer, "/staff/desk").await,
        (
            StatusCode::FOUND,
            "/staff/login?next=%2Fstaff%2Fdesk".to_owned()
        )
    );
    assert_eq!(
        location(&customer, "/staff/board").await,
        (
            StatusCode::FOUND,
            "/staff/login?next=%2Fstaff%2Fboard".to_owned()
        )
    );
    assert_eq!(
        location(&customer, "/staff/refunds").await,
        (
            StatusCode::FOUND,
            "/staff/login?next=%2Fstaff%2Frefunds".to_owned()
        )
    );
    // A customer is not logged in as staff: the staff login page is open to them.
    assert_eq!(body(&customer, "/staff/login").await, "staff login form");

    let staff = TestClient::new(app!(registries));
    body(&staff, "/staff/in/ann").await;
    assert_eq!(
        location(&staff, "/orders").await,
        (StatusCode::FOUND, "/login?next=%2Forders".to_owned())
    );
    // Logged in as staff: the staff login page sends them on.
    assert_eq!(
        location(&staff, "/staff/login").await.0,
        StatusCode::SEE_OTHER
    );
    // A staff member without the permission: 403, never the customers' login page.
    assert_eq!(
        location(&staff, "/staff/refunds").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        location(&staff, "/staff-admin/report").await.0,
        StatusCode::FORBIDDEN
    );
    let boss = TestClient::new(app!(registries));
    body(&boss, "/staff/in/boss").await;
    assert_eq!(body(&boss, "/staff/refunds").await, "refunds");
    assert_eq!(body(&boss, "/staff-admin/report").await, "report");
}

#[actix_web::test]
async fn the_remember_cookies_of_both_kinds_restore_their_logins() {
    let registries = registries();
    let client = TestClient::new(app!(registries));
    body(&client, "/customer/in").await;
    body(&client, "/staff/in/ann").await;
    // The browser closes: the session cookie goes, the remember cookies stay.
    client.remove_cookie("id");
    assert_eq!(body(&client, "/who").await, "customer 7, staff ann");
    assert_eq!(body(&client, "/staff/desk").await, "desk of ann");
}

#[actix_web::test]
async fn a_device_revoked_for_one_kind_leaves_the_other() {
    let registries = registries();
    let client = TestClient::new(app!(registries));
    body(&client, "/customer/in").await;
    body(&client, "/staff/in/ann").await;
    assert_eq!(registries.staff.devices("ann").await.unwrap().len(), 1);
    assert_eq!(registries.customers.devices("7").await.unwrap().len(), 1);
    // Every device of the staff member is logged out, from elsewhere.
    registries.staff.revoke_all("ann", None).await.unwrap();
    assert_eq!(body(&client, "/who").await, "customer 7, staff -");
    assert_eq!(registries.customers.devices("7").await.unwrap().len(), 1);
    // The staff remember cookie was bound to that device: it no longer logs in either.
    client.remove_cookie("id");
    assert_eq!(body(&client, "/who").await, "customer 7, staff -");
}

#[actix_web::test]
async fn the_test_helper_logs_in_each_kind_on_its_own() {
    let registries = registries();
    let app = app!(registries);
    let req = TestRequest::get().uri("/who").to_request();
    TestLogin::new(&Customer { id: 3 }).attach(&req);
    TestLogin::new(&Staff {
        login: "bob".into(),
        admin: false,
    })
    .attach(&req);
    let body = test::call_and_read_body(&app, req).await;
    assert_eq!(body, "customer 3, staff bob");

    let req = TestRequest::get().uri("/staff/desk").to_request();
    TestLogin::new(&Customer { id: 3 }).attach(&req);
    let res = test::call_service(&app, req).await;
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "a customer's login is no staff login"
    );
}
