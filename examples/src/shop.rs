//! Customers and staff in one app, each their own kind of user (login-runtime's realms): the
//! shop's customers log in at `/login` and see their orders; staff log in at `/staff-login`
//! and work in the staff area under `/staff`, a scope that only staff logins enter. Both can
//! be logged in at once in one browser, and logging out of one leaves the other.
//!
//! `cargo run -p examples --bin shop` serves it on http://127.0.0.1:8081 (`SHOP_ADDR`); the
//! accounts are `alice` / `customer password` and `sam` / `staff password`.

use std::collections::HashMap;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpResponse, get, post, web};
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, MaybeUser, RememberCookie, RequireLogin, SecretKey,
    UserLoader, anonymous_required, login_required,
};
use serde::Deserialize;

/// A customer of the shop: the default kind of user.
#[derive(Debug, Clone, AuthUser)]
pub struct Customer {
    #[auth(id)]
    pub name: String,
    #[auth(session_hash)]
    password_hash: String,
}

/// A member of staff: the other kind, with its own `LoginManager` (realm `staff`).
#[derive(Debug, Clone, AuthUser)]
pub struct Staff {
    #[auth(id)]
    pub name: String,
    #[auth(session_hash)]
    password_hash: String,
}

/// The accounts, made once at start-up (passwords hashed with argon2id).
#[derive(Debug, Clone)]
pub struct Accounts {
    customers: Arc<HashMap<String, Customer>>,
    staff: Arc<HashMap<String, Staff>>,
}

impl Accounts {
    /// `alice` (a customer) and `sam` (staff).
    pub fn new() -> Result<Accounts, argon2::password_hash::Error> {
        let hash = |password: &str| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        };
        let alice = Customer {
            name: "alice".into(),
            password_hash: hash("customer password")?,
        };
        let sam = Staff {
            name: "sam".into(),
            password_hash: hash("staff password")?,
        };
        Ok(Accounts {
            customers: Arc::new(HashMap::from([(alice.name.clone(), alice)])),
            staff: Arc::new(HashMap::from([(sam.name.clone(), sam)])),
        })
    }
}

/// Whether `password` is the one `hash` was made from, on the blocking pool (argon2 takes
/// tens of milliseconds).
async fn verify(hash: String, password: String) -> bool {
    web::block(move || {
        PasswordHash::new(&hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// The customers' loader.
#[derive(Debug)]
pub struct Customers(Accounts);

impl UserLoader for Customers {
    type User = Customer;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, name: &String) -> Result<Option<Customer>, Self::Error> {
        Ok(self.0.customers.get(name).cloned())
    }
}

/// The staff's loader.
#[derive(Debug)]
pub struct StaffMembers(Accounts);

impl UserLoader for StaffMembers {
    type User = Staff;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, name: &String) -> Result<Option<Staff>, Self::Error> {
        Ok(self.0.staff.get(name).cloned())
    }
}

#[derive(Deserialize)]
struct Credentials {
    name: String,
    password: String,
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><title>Shop</title><main>{body}</main>"
        ))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Who is logged in, of each kind.
#[get("/")]
async fn home(customer: MaybeUser<Customer>, staff: MaybeUser<Staff>) -> HttpResponse {
    let customer = customer
        .get()
        .map_or("nobody", |c| c.name.as_str())
        .to_owned();
    let staff = staff.get().map_or("nobody", |s| s.name.as_str()).to_owned();
    page(&format!(
        "<p>Customer: {customer}. Staff: {staff}.</p>\
         <p><a href=\"/orders\">Your orders</a> · <a href=\"/staff/desk\">Staff desk</a></p>"
    ))
}

#[get("/login")]
async fn login_form() -> HttpResponse {
    page(
        "<form method=post><input name=name><input name=password type=password><button>Log in</button></form>",
    )
}

#[post("/login")]
async fn login_submit(
    login: Login<Customer>,
    accounts: web::Data<Accounts>,
    form: web::Form<Credentials>,
) -> actix_web::Result<HttpResponse> {
    let Credentials { name, password } = form.into_inner();
    let customer = accounts.customers.get(&name).cloned();
    let hash = customer
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_default();
    match customer {
        Some(customer) if verify(hash, password).await => {
            login.login(&customer)?;
            Ok(login.redirect_to_next("/orders"))
        }
        _ => Ok(HttpResponse::Unauthorized().body("wrong name or password")),
    }
}

#[post("/logout")]
async fn logout(login: Login<Customer>) -> actix_web::Result<HttpResponse> {
    login.logout()?;
    Ok(see_other("/"))
}

/// Customers only: the default kind's guard, found from the extractor.
#[login_required]
#[get("/orders")]
async fn orders(customer: CurrentUser<Customer>) -> HttpResponse {
    page(&format!(
        "<h1>Orders of {}</h1><p>No orders yet.</p>",
        customer.name
    ))
}

/// The staff login page: for visitors not logged in as staff (a customer may be).
#[anonymous_required(user = Staff)]
#[get("/staff-login")]
async fn staff_login_form() -> HttpResponse {
    page(
        "<form method=post><input name=name><input name=password type=password><button>Staff log in</button></form>",
    )
}

#[post("/staff-login")]
async fn staff_login_submit(
    login: Login<Staff>,
    accounts: web::Data<Accounts>,
    form: web::Form<Credentials>,
) -> actix_web::Result<HttpResponse> {
    let Credentials { name, password } = form.into_inner();
    let staff = accounts.staff.get(&name).cloned();
    let hash = staff
        .as_ref()
        .map(|s| s.password_hash.clone())
        .unwrap_or_default();
    match staff {
        Some(staff) if verify(hash, password).await => {
            login.login(&staff)?;
            Ok(login.redirect_to_next("/staff/desk"))
        }
        _ => Ok(HttpResponse::Unauthorized().body("wrong name or password")),
    }
}

#[post("/staff-logout")]
async fn staff_logout(login: Login<Staff>) -> actix_web::Result<HttpResponse> {
    login.logout()?;
    Ok(see_other("/"))
}

/// In the staff area: the scope lets only staff logins in.
async fn desk(staff: CurrentUser<Staff>) -> HttpResponse {
    page(&format!("<h1>Staff desk</h1><p>Hello, {}.</p>", staff.name))
}

/// The shop as an actix `App`. The `wrap`s, innermost first: the staff's `LoginManager` (realm
/// `staff`: its own session entry, remember cookie and login view), the customers'
/// (the default kind), then the session middleware both keep their logins in.
pub fn app(
    accounts: &Accounts,
    secret: &SecretKey,
    session_key: &Key,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody + use<>>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let cookie = || RememberCookie::default().secure(false);
    App::new()
        .app_data(web::Data::new(accounts.clone()))
        .service(home)
        .service(login_form)
        .service(login_submit)
        .service(logout)
        .service(orders)
        .service(staff_login_form)
        .service(staff_login_submit)
        .service(staff_logout)
        .service(
            web::scope("/staff")
                .wrap(RequireLogin::<Staff>::new())
                .route("/desk", web::get().to(desk)),
        )
        .wrap(
            LoginManager::new(StaffMembers(accounts.clone()))
                .realm("staff")
                .login_view("/staff-login")
                .secret_key(secret.clone())
                .remember_cookie(cookie()),
        )
        .wrap(
            LoginManager::new(Customers(accounts.clone()))
                .login_view("/login")
                .secret_key(secret.clone())
                .remember_cookie(cookie()),
        )
        .wrap(
            SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                .cookie_secure(false)
                .build(),
        )
}
