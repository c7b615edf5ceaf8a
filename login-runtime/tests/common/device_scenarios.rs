//! Device scenarios every registry must pass, run against the memory registry (`devices.rs`)
//! and Redis (`redis_sessions.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use login_runtime::testing::TestClient;
use login_runtime::{
    AuthUser, DeviceRegistry, Devices, Login, LoginManager, LoginOptions, MaybeUser,
    RememberCookie, SecretKey, UserLoader,
};

/// Users whose password hash the test changes.
#[derive(Clone, Default)]
struct Accounts(Rc<RefCell<HashMap<String, String>>>);

#[derive(Clone)]
struct Account {
    id: String,
    password_hash: String,
}

impl AuthUser for Account {
    type Id = String;
    fn id(&self) -> String {
        self.id.clone()
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        Some(self.password_hash.as_bytes())
    }
}

impl Accounts {
    fn set_password_hash(&self, id: &str, hash: &str) {
        self.0.borrow_mut().insert(id.to_owned(), hash.to_owned());
    }
    fn get(&self, id: &str) -> Option<Account> {
        self.0.borrow().get(id).map(|hash| Account {
            id: id.to_owned(),
            password_hash: hash.clone(),
        })
    }
}

impl UserLoader for Accounts {
    type User = Account;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &String) -> Result<Option<Account>, Self::Error> {
        Ok(self.get(id))
    }
}

fn routes(accounts: Accounts) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.route(
            "/login/{id}",
            web::get().to(
                move |login: Login<Account>,
                      id: web::Path<String>,
                      query: web::Query<HashMap<String, String>>| {
                    let account = accounts.get(&id);
                    async move {
                        let account = account
                            .ok_or_else(|| actix_web::error::ErrorNotFound("no such account"))?;
                        let remember = query.contains_key("remember");
                        login.login_with(&account, LoginOptions::new().remember(remember))?;
                        Ok::<_, actix_web::Error>("in")
                    }
                },
            ),
        )
        .route(
            "/whoami",
            web::get().to(|user: MaybeUser<Account>| async move {
                user.get()
                    .map_or("anonymous".to_owned(), |user| user.id.clone())
            }),
        )
        .route(
            "/devices",
            web::get().to(|devices: Devices| async move {
                let ids: Vec<String> = devices
                    .list()
                    .await?
                    .into_iter()
                    .map(|device| device.id)
                    .collect();
                Ok::<_, actix_web::Error>(ids.join(","))
            }),
        )
        .route(
            "/device",
            web::get().to(|devices: Devices| async move { devices.current().unwrap_or_default() }),
        )
        .route(
            "/revoke/{id}",
            web::get().to(|devices: Devices, id: web::Path<String>| async move {
                Ok::<_, actix_web::Error>(devices.revoke(&id).await?.to_string())
            }),
        )
        .route(
            "/revoke-others",
            web::get().to(|devices: Devices| async move {
                Ok::<_, actix_web::Error>(devices.revoke_others().await?.to_string())
            }),
        );
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
    let res = client
        .call(TestRequest::get().uri(path))
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    assert!(res.status().is_success(), "{path}: {}", res.status());
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap_or_default()
}

/// After a password change, the browsers it logged out are neither listed nor counted, and
/// "log out" on one of them does not report a success: only the logins that can still be
/// valid are devices. `user_id` must be unique to the run (a shared Redis).
pub async fn devices_of_logins_a_password_change_ended_are_not_listed_or_counted<R>(
    registry: R,
    user_id: &str,
) where
    R: DeviceRegistry + Clone,
{
    let accounts = Accounts::default();
    accounts.set_password_hash(user_id, "argon2-hash-before");
    let secret = SecretKey::generate();
    let session_key = Key::generate();
    let app = || {
        App::new()
            .configure(routes(accounts.clone()))
            .wrap(
                LoginManager::new(accounts.clone())
                    .secret_key(secret.clone())
                    .remember_cookie(RememberCookie::default().secure(false))
                    .device_registry(registry.clone()),
            )
            .wrap(
                SessionMiddleware::builder(CookieSessionStore::default(), session_key.clone())
                    .cookie_secure(false)
                    .build(),
            )
    };
    let laptop = TestClient::new(test::init_service(app()).await);
    let phone = TestClient::new(test::init_service(app()).await);
    let tablet = TestClient::new(test::init_service(app()).await);
    let login = format!("/login/{user_id}");
    body(&laptop, &login).await;
    body(&phone, &format!("{login}?remember")).await;
    body(&tablet, &login).await;
    let phone_device = body(&phone, "/device").await;
    assert_eq!(phone_device.len(), 32, "the phone has a device");
    assert_eq!(body(&laptop, "/devices").await.split(',').count(), 3);

    // The password changes; the page that changed it logs this browser in again.
    accounts.set_password_hash(user_id, "argon2-hash-after");
    body(&laptop, &login).await;
    let laptop_device = body(&laptop, "/device").await;

    assert_eq!(
        body(&laptop, "/devices").await,
        laptop_device,
        "only the login that can still be valid is listed"
    );
    assert_eq!(
        body(&laptop, "/revoke-others").await,
        "0",
        "no other device is counted as logged out"
    );
    assert_eq!(
        body(&laptop, &format!("/revoke/{phone_device}")).await,
        "false",
        "logging out a browser the password change logged out is no success"
    );
    assert_eq!(body(&phone, "/whoami").await, "anonymous");
    assert_eq!(body(&tablet, "/whoami").await, "anonymous");
    assert_eq!(body(&laptop, "/whoami").await, user_id);
    let kept: Vec<String> = registry
        .devices(user_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|device| device.id)
        .collect();
    assert_eq!(
        kept,
        [laptop_device],
        "the dead entries are gone from the registry"
    );
    registry.revoke_all(user_id, None).await.unwrap_or_default();
}
