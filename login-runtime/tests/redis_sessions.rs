//! Server-side sessions on a real Redis (127.0.0.1:6379), two app instances sharing it:
//! logout racing requests in flight, remember cookies revoked at logout, devices listed and
//! revoked, two logins of one user at once. Each test has its own key prefix and leaves no
//! key behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod redis_common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use login_runtime::testing::TestClient;
use redis_common::{Gate, Prefix, REDIS_URL};

/// One app instance on the shared Redis, as a separate server would be.
async fn instance(
    prefix: &Prefix,
    gate: &Gate,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let pool = redis_common::pool(REDIS_URL);
    let store = prefix.session_store(pool.clone()).await;
    test::init_service(
        App::new()
            .app_data(web::Data::new(gate.clone()))
            .configure(redis_common::routes)
            .wrap(redis_common::manager(prefix.devices(pool)))
            .wrap(redis_common::sessions(store)),
    )
    .await
}

async fn body<B: MessageBody>(res: ServiceResponse<B>) -> String {
    String::from_utf8(test::read_body(res).await.to_vec()).unwrap()
}

async fn get<S, B>(client: &TestClient<S>, path: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = client
        .call(TestRequest::get().uri(path))
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"));
    assert!(res.status().is_success(), "{path}: {}", res.status());
    body(res).await
}

fn set_cookie<B>(res: &ServiceResponse<B>, name: &str) -> Option<String> {
    res.response()
        .cookies()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// Sends `/slow` to `instance` with `cookies`, runs `meanwhile` once the slow request has its
/// user, then lets the slow request finish (it writes to its session): both answers.
async fn while_slow_request_runs<S, B>(
    instance: &S,
    gate: &Gate,
    cookies: String,
    meanwhile: impl Future<Output = String>,
) -> (ServiceResponse<B>, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let slow = async {
        let req = TestRequest::get()
            .uri("/slow")
            .insert_header((header::COOKIE, cookies))
            .to_request();
        instance.call(req).await.unwrap()
    };
    let other = async {
        gate.wait_started(1).await;
        let said = meanwhile.await;
        gate.release();
        said
    };
    futures_util::future::join(slow, other).await
}

/// The race the issue reports: a request in flight during logout must not bring the login
/// back through the session it saves afterwards.
#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn a_request_in_flight_during_logout_does_not_bring_the_login_back() {
    let prefix = Prefix::new("logout-race");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let gate = Gate::default();
    let (first, second) = (
        instance(&prefix, &gate).await,
        instance(&prefix, &gate).await,
    );
    let browser = TestClient::new(first);
    assert_eq!(get(&browser, "/login/u1").await, "logged in");
    let k1 = browser.cookie("id").expect("a session after login");
    assert_eq!(get(&browser, "/who").await, "user:u1");

    // A slow request on the second instance, with the logged-in session K1, writes to the
    // session after the logout on the first instance has deleted K1 and set K2.
    let (slow, logout) =
        while_slow_request_runs(&second, &gate, format!("id={k1}"), get(&browser, "/logout")).await;
    assert_eq!(logout, "logged out");
    let k2 = browser.cookie("id").expect("a session after logout");
    assert_ne!(k1, k2);
    let k3 = set_cookie(&slow, "id").expect("the slow request saves its session under a new key");
    assert_ne!(k3, k1);
    assert_eq!(body(slow).await, "user:u1", "it started logged in");

    // The browser keeps the last cookie it received: K3. It must be logged out.
    browser.set_cookie("id", &k3);
    assert_eq!(get(&browser, "/who").await, "Anonymous", "logout holds");
    assert_eq!(get(&browser, "/who").await, "Anonymous");
    assert!(
        prefix.device_keys(REDIS_URL).await.is_empty(),
        "the device is revoked"
    );
    prefix.clean_up(REDIS_URL).await;
}

/// flask-login #480: a copy of the remember cookie taken before logout no longer logs in.
#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn logout_revokes_the_remember_cookie_on_every_instance() {
    let prefix = Prefix::new("remember-revoked");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let gate = Gate::default();
    let browser = TestClient::new(instance(&prefix, &gate).await);
    get(&browser, "/login/u2?remember=true").await;
    let remember = browser.cookie("remember").expect("a remember cookie");

    // The copy works before logout, on the other instance, without the session.
    let thief = TestClient::new(instance(&prefix, &gate).await);
    thief.set_cookie("remember", &remember);
    assert_eq!(get(&thief, "/who").await, "user:u2");
    thief.clear_cookies();

    get(&browser, "/logout").await;
    assert_eq!(
        browser.cookie("remember"),
        None,
        "the browser is told to drop it"
    );
    thief.set_cookie("remember", &remember);
    assert_eq!(
        get(&thief, "/who").await,
        "Anonymous",
        "the copy is revoked"
    );
    assert_eq!(thief.cookie("remember"), None, "and cleared");
    prefix.clean_up(REDIS_URL).await;
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn devices_are_listed_and_others_logged_out_without_a_password_change() {
    let prefix = Prefix::new("devices");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let gate = Gate::default();
    let laptop = TestClient::new(instance(&prefix, &gate).await);
    let phone = TestClient::new(instance(&prefix, &gate).await);
    let tablet = TestClient::new(instance(&prefix, &gate).await);
    get(&laptop, "/login/u3").await;
    get(&phone, "/login/u3?remember=true").await;
    get(&tablet, "/login/u3").await;
    let stranger = TestClient::new(instance(&prefix, &gate).await);
    get(&stranger, "/login/u4").await;

    let listed = get(&laptop, "/devices").await;
    let ids: Vec<&str> = listed.split(',').collect();
    assert_eq!(ids.len(), 3, "{listed}");
    let (laptop_id, phone_id, tablet_id) = (
        get(&laptop, "/device").await,
        get(&phone, "/device").await,
        get(&tablet, "/device").await,
    );
    for id in [&laptop_id, &phone_id, &tablet_id] {
        assert!(ids.contains(&id.as_str()), "{id} in {listed}");
    }
    assert_eq!(get(&stranger, "/devices").await.split(',').count(), 1);

    // Another user's device cannot be revoked.
    assert_eq!(
        get(&stranger, &format!("/revoke/{tablet_id}")).await,
        "false"
    );
    assert_eq!(get(&tablet, "/who").await, "user:u3");

    // Log out one device: the tablet, from the laptop.
    assert_eq!(get(&laptop, &format!("/revoke/{tablet_id}")).await, "true");
    assert_eq!(get(&tablet, "/who").await, "Anonymous");
    assert_eq!(get(&laptop, "/who").await, "user:u3");

    // Log out all others: the phone, session and remember cookie both.
    let phone_remember = phone.cookie("remember").unwrap();
    assert_eq!(get(&laptop, "/revoke-others").await, "1");
    assert_eq!(get(&phone, "/who").await, "Anonymous");
    phone.clear_cookies();
    phone.set_cookie("remember", &phone_remember);
    assert_eq!(get(&phone, "/who").await, "Anonymous");
    assert_eq!(get(&laptop, "/who").await, "user:u3");
    assert_eq!(get(&laptop, "/devices").await, laptop_id);

    // Log out everywhere, this device included.
    assert_eq!(get(&laptop, "/revoke-all").await, "1");
    assert_eq!(get(&laptop, "/who").await, "Anonymous");
    assert_eq!(
        get(&stranger, "/who").await,
        "user:u4",
        "other users keep their logins"
    );
    get(&stranger, "/logout").await;
    assert!(prefix.device_keys(REDIS_URL).await.is_empty());
    prefix.clean_up(REDIS_URL).await;
}

/// Two logins of the same user at the same moment on two instances: two devices, each
/// working, and logging out one leaves the other.
#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn two_logins_of_one_user_at_once_on_two_instances() {
    let prefix = Prefix::new("two-logins");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let gate = Gate::default();
    let a = TestClient::new(instance(&prefix, &gate).await);
    let b = TestClient::new(instance(&prefix, &gate).await);
    let (said_a, said_b) =
        futures_util::future::join(get(&a, "/login/u5"), get(&b, "/login/u5")).await;
    assert_eq!(
        (said_a.as_str(), said_b.as_str()),
        ("logged in", "logged in")
    );
    assert_ne!(a.cookie("id"), b.cookie("id"));
    assert_eq!(get(&a, "/who").await, "user:u5");
    assert_eq!(get(&b, "/who").await, "user:u5");
    assert_eq!(get(&a, "/devices").await.split(',').count(), 2);
    get(&a, "/logout").await;
    assert_eq!(get(&a, "/who").await, "Anonymous");
    assert_eq!(get(&b, "/who").await, "user:u5");
    get(&b, "/logout").await;
    assert!(prefix.device_keys(REDIS_URL).await.is_empty());
    prefix.clean_up(REDIS_URL).await;
}

/// A device revoked while one of its requests runs: that request answers as it started,
/// but the session it saves afterwards is logged out.
#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn a_device_revoked_while_its_request_runs_stays_revoked() {
    let prefix = Prefix::new("revoked-in-flight");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let gate = Gate::default();
    let (first, second) = (
        instance(&prefix, &gate).await,
        instance(&prefix, &gate).await,
    );
    let phone = TestClient::new(first);
    let laptop = TestClient::new(instance(&prefix, &gate).await);
    get(&phone, "/login/u6?remember=true").await;
    get(&laptop, "/login/u6").await;
    let session = phone.cookie("id").unwrap();
    let remember = phone.cookie("remember").unwrap();

    let cookies = format!("id={session}; remember={remember}");
    let (slow, revoked) =
        while_slow_request_runs(&second, &gate, cookies, get(&laptop, "/revoke-others")).await;
    assert_eq!(revoked, "1");
    if let Some(saved) = set_cookie(&slow, "id") {
        phone.set_cookie("id", &saved);
    }
    assert_eq!(body(slow).await, "user:u6");
    assert_eq!(get(&phone, "/who").await, "Anonymous");
    assert_eq!(phone.cookie("remember"), None);
    assert_eq!(get(&laptop, "/who").await, "user:u6");
    get(&laptop, "/logout").await;
    prefix.clean_up(REDIS_URL).await;
}

#[path = "common/device_scenarios.rs"]
mod device_scenarios;

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn redis_devices_pass_the_registry_conformance_suite() {
    let prefix = Prefix::new("conformance");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let pool = redis_common::pool(REDIS_URL);
    login_runtime::testing::device_registry_conformance(|| prefix.devices(pool.clone())).await;
    prefix.clean_up(REDIS_URL).await;
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn after_a_password_change_redis_devices_list_and_count_only_logins_still_valid() {
    let prefix = Prefix::new("password-change");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let devices = prefix.devices(redis_common::pool(REDIS_URL));
    device_scenarios::devices_of_logins_a_password_change_ended_are_not_listed_or_counted(
        devices, "u9",
    )
    .await;
    prefix.clean_up(REDIS_URL).await;
}
