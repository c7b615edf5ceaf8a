//! Trusted proxies: the client's address is the right-most hop a trusted proxy recorded, the
//! same for `client_address`, session protection and the device registry; a proxy's scheme and
//! host are believed for login URLs; a client that connects directly and forges the headers
//! changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, web};
use login_runtime::testing::TestClient;
use login_runtime::{
    AuthUser, Devices, Login, LoginManager, MaybeUser, MemoryDevices, SessionProtection,
    TrustedProxies, UserLoader, client_address, login_required,
};

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

#[login_required]
async fn secret() -> &'static str {
    "secret"
}

const PROXY: &str = "10.0.0.2:40000";

fn request(path: &str, peer: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .peer_addr(peer.parse::<SocketAddr>().unwrap())
        .insert_header((header::USER_AGENT, "browser/1"))
}

macro_rules! app {
    ($devices:expr) => {
        TestClient::new(
            test::init_service(
                App::new()
                    .route(
                        "/address",
                        web::get().to(|req: HttpRequest| async move {
                            client_address(&req).unwrap_or_default()
                        }),
                    )
                    .route(
                        "/login",
                        web::get().to(|login: Login<User>| async move {
                            login.login(&User { id: 1 }).map(|_| "in")
                        }),
                    )
                    .route(
                        "/who",
                        web::get().to(|user: MaybeUser<User>| async move {
                            user.get()
                                .map_or("nobody".to_owned(), |user| user.id.to_string())
                        }),
                    )
                    .route(
                        "/devices",
                        web::get().to(|devices: Devices| async move {
                            let list = devices.list().await?;
                            let addresses: Vec<String> =
                                list.into_iter().filter_map(|d| d.address).collect();
                            Ok::<_, actix_web::Error>(addresses.join(","))
                        }),
                    )
                    .route("/secret", web::get().to(secret))
                    .wrap(
                        LoginManager::new(Users)
                            .trusted_proxies(TrustedProxies::parse(["10.0.0.0/8"]).unwrap())
                            .session_protection(SessionProtection::Strong)
                            .login_view("https://login.example/sign-in")
                            .device_registry($devices),
                    )
                    .wrap(
                        SessionMiddleware::builder(
                            CookieSessionStore::default(),
                            Key::from(&[9; 64]),
                        )
                        .cookie_secure(false)
                        .build(),
                    ),
            )
            .await,
        )
    };
}

async fn body<S, B>(client: &TestClient<S>, req: TestRequest) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = client.call(req).await.unwrap();
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop_everywhere() {
    let client = app!(MemoryDevices::new());
    let via_proxy = |path: &str| {
        // The client wrote a hop of its own; the proxy appended the address it saw.
        request(path, PROXY).insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.7"))
    };
    assert_eq!(body(&client, via_proxy("/address")).await, "203.0.113.7");
    body(&client, via_proxy("/login")).await;
    assert_eq!(
        body(&client, via_proxy("/devices")).await,
        "203.0.113.7",
        "the device's address"
    );
    // Strong protection: the same client through the same proxy keeps the login...
    assert_eq!(body(&client, via_proxy("/who")).await, "1");
    // ...whichever hop it prepends, since only the proxy's hop counts.
    let other_prefix =
        request("/who", PROXY).insert_header(("x-forwarded-for", "1.2.3.4, 203.0.113.7"));
    assert_eq!(body(&client, other_prefix).await, "1");
    // Another client behind the proxy with the stolen session cookie loses the login.
    let thief = request("/who", PROXY).insert_header(("x-forwarded-for", "198.51.100.66"));
    assert_eq!(body(&client, thief).await, "nobody");
}

#[actix_web::test]
async fn a_client_that_connects_directly_and_forges_proxy_headers_gets_no_effect() {
    let client = app!(MemoryDevices::new());
    let forged = |path: &str| {
        request(path, "198.51.100.4:5000")
            .insert_header(("x-forwarded-for", "203.0.113.7"))
            .insert_header(("x-forwarded-proto", "https"))
            .insert_header(("x-forwarded-host", "bank.example"))
            .insert_header((header::HOST, "shop.example"))
    };
    assert_eq!(body(&client, forged("/address")).await, "198.51.100.4");
    let res = client.call(forged("/secret")).await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        location, "https://login.example/sign-in?next=http%3A%2F%2Fshop.example%2Fsecret",
        "neither the forged scheme nor the forged host"
    );
}

#[actix_web::test]
async fn a_trusted_proxys_scheme_and_host_make_the_login_url() {
    let client = app!(MemoryDevices::new());
    let req = request("/secret", PROXY)
        .insert_header(("x-forwarded-for", "203.0.113.7"))
        .insert_header(("x-forwarded-proto", "https"))
        .insert_header(("x-forwarded-host", "shop.example"))
        .insert_header((header::HOST, "10.0.0.3:8080"));
    let res = client.call(req).await.unwrap();
    let location = res
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(
        location,
        "https://login.example/sign-in?next=https%3A%2F%2Fshop.example%2Fsecret"
    );
}
