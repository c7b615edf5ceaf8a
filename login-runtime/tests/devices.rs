//! Devices and timeouts without Redis: the in-memory registry on cookie sessions, a registry
//! that fails, idle timeouts and absolute lifetimes for sessions and remember cookies, and
//! the proof that without any of it nothing more is written than before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/device_routes.rs"]
mod device_routes;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, web};
use common::{Client, Events, Store};
use login_runtime::testing::TestRequestLoginExt;
use login_runtime::{Device, DeviceError, DeviceRegistry, Devices, LoginManager, MemoryDevices};

macro_rules! app {
    ($manager:expr) => {
        Client::new(
            test::init_service(
                App::new()
                    .configure(common::routes)
                    .configure(device_routes)
                    .wrap($manager)
                    .wrap(common::session_middleware()),
            )
            .await,
        )
    };
}

fn device_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/devices",
        web::get().to(|devices: Devices| async move {
            let list = devices.list().await?;
            let shown: Vec<String> = list
                .iter()
                .map(|device| {
                    format!(
                        "{} {} {}",
                        device.user_id,
                        device.address.as_deref().unwrap_or("-"),
                        device.user_agent.as_deref().unwrap_or("-")
                    )
                })
                .collect();
            Ok::<_, actix_web::Error>(shown.join("\n"))
        }),
    )
    .configure(device_routes::device_routes)
    // The login-runtime keys the session holds, to see what is (not) written.
    .route(
        "/session-keys",
        web::get().to(|req: HttpRequest| async move {
            let session = req.get_session();
            let mut keys: Vec<String> = session.entries().keys().cloned().collect();
            keys.sort();
            keys.join(",")
        }),
    );
}

fn manager(store: &Store) -> LoginManager<Store> {
    common::manager(store, &Events::default())
}

#[actix_web::test]
async fn with_a_registry_a_replayed_cookie_session_is_logged_out_after_logout() {
    let store = Store::flask();
    let client = app!(manager(&store).device_registry(MemoryDevices::new()));
    client.get("/login-notch").await;
    let logged_in = client.cookie("id").unwrap();
    assert_eq!(client.body("/username").await, "Notch");
    client.get("/logout").await;
    // Cookie sessions can be replayed: the old value still says "Notch" inside. The device
    // it names is revoked, so it is anonymous now.
    client.set_cookie("id", &logged_in);
    assert_eq!(client.body("/username").await, "Anonymous");
    assert_eq!(
        client.body("/session-keys").await,
        "",
        "its login keys are removed"
    );
}

#[actix_web::test]
async fn without_a_registry_the_same_replay_still_logs_in_as_before() {
    let store = Store::flask();
    let client = app!(manager(&store));
    client.get("/login-notch").await;
    let logged_in = client.cookie("id").unwrap();
    client.get("/logout").await;
    client.set_cookie("id", &logged_in);
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "cookie sessions: unchanged"
    );
}

#[actix_web::test]
async fn devices_list_the_client_and_log_out_others_and_everywhere() {
    let store = Store::flask();
    let registry = MemoryDevices::new();
    let apps = || manager(&store).device_registry(registry.clone());
    let laptop = app!(apps());
    let phone = app!(apps());
    *phone.user_agent.borrow_mut() = "phone-browser/2.0".to_owned();
    *phone.peer.borrow_mut() = "192.0.2.7:4444".parse().unwrap();
    laptop.get("/login-notch").await;
    phone.get("/login-notch-remember").await;

    let listed = laptop.body("/devices").await;
    let mut lines: Vec<&str> = listed.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "1 127.0.0.1 test-agent/1.0",
            "1 192.0.2.7 phone-browser/2.0"
        ]
    );

    assert_eq!(laptop.body("/revoke-others").await, "1");
    assert_eq!(phone.body("/username").await, "Anonymous");
    assert_eq!(
        phone.cookie("remember"),
        None,
        "its remember cookie is cleared"
    );
    assert_eq!(laptop.body("/username").await, "Notch");

    assert_eq!(laptop.body("/revoke-all").await, "1");
    assert_eq!(laptop.body("/username").await, "Anonymous");
    assert!(registry.devices("1").await.unwrap().is_empty());
}

#[actix_web::test]
async fn a_remember_cookie_copied_before_logout_no_longer_logs_in() {
    let store = Store::flask();
    let client = app!(manager(&store).device_registry(MemoryDevices::new()));
    client.get("/login-notch-remember").await;
    let remember = client.cookie("remember").unwrap();
    client.clear_session();
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "the cookie restores the login"
    );
    client.get("/logout").await;
    client.clear_cookies();
    client.set_cookie("remember", &remember);
    assert_eq!(client.body("/username").await, "Anonymous");
    assert_eq!(client.cookie("remember"), None);
}

#[actix_web::test]
async fn a_remember_cookie_made_without_the_registry_is_refused_with_it() {
    let store = Store::flask();
    let before = app!(manager(&store));
    before.get("/login-notch-remember").await;
    let remember = before.cookie("remember").unwrap();
    let after = app!(manager(&store).device_registry(MemoryDevices::new()));
    after.set_cookie("remember", &remember);
    assert_eq!(
        after.body("/username").await,
        "Anonymous",
        "it names no device"
    );
}

#[actix_web::test]
async fn the_test_helper_logs_in_with_a_registry_too() {
    let store = Store::flask();
    let client = app!(manager(&store).device_registry(MemoryDevices::new()));
    let req = TestRequest::get()
        .uri("/username")
        .login_as(&common::notch())
        .to_request();
    assert_eq!(client.send_raw(req).await.body, "Notch");
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "its device was recorded"
    );
}

/// A registry that can be switched off, as a store that goes down would be.
#[derive(Clone, Default)]
struct Flaky {
    devices: MemoryDevices,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn up(&self) -> Result<(), DeviceError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(DeviceError::Unavailable(
                "switched off by the test".to_owned(),
            ));
        }
        Ok(())
    }
}

impl DeviceRegistry for Flaky {
    async fn record(&self, device: &Device) -> Result<(), DeviceError> {
        self.up()?;
        self.devices.record(device).await
    }
    async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
        self.up()?;
        self.devices.device(device_id).await
    }
    async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
        self.up()?;
        self.devices.touch(device_id, at).await
    }
    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
        self.up()?;
        self.devices.devices(user_id).await
    }
    async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
        self.up()?;
        self.devices.revoke(user_id, device_id).await
    }
    async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, DeviceError> {
        self.up()?;
        self.devices.revoke_all(user_id, except).await
    }
}

#[actix_web::test]
async fn a_registry_that_is_down_is_a_503_that_changes_nothing() {
    let store = Store::flask();
    let registry = Flaky::default();
    let client = app!(manager(&store).device_registry(registry.clone()));
    client.get("/login-notch-remember").await;
    let session = client.cookie("id").unwrap();

    registry.down.store(true, Ordering::SeqCst);
    for path in ["/username", "/logout", "/login-notch", "/devices"] {
        let seen = client.get(path).await;
        assert_eq!(seen.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(
            seen.set_cookies.is_empty(),
            "{path}: {:?}",
            seen.set_cookies
        );
    }
    // Anonymous pages do not ask the registry.
    let fresh = app!(manager(&store).device_registry(registry.clone()));
    assert_eq!(fresh.get("/username").await.status, StatusCode::OK);

    registry.down.store(false, Ordering::SeqCst);
    assert_eq!(client.cookie("id"), Some(session), "no session lost");
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "back without a restart"
    );
}

#[actix_web::test]
async fn an_idle_login_ends_and_an_active_one_does_not() {
    let store = Store::flask();
    let client = app!(manager(&store).idle_timeout(Duration::from_millis(800)));
    client.get("/login-notch").await;
    for _ in 0..4 {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(client.body("/username").await, "Notch", "active: kept");
    }
    actix_web::rt::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(client.body("/username").await, "Anonymous", "idle: ended");
    assert_eq!(client.body("/session-keys").await, "");
}

#[actix_web::test]
async fn a_login_ends_at_its_lifetime_however_active() {
    let store = Store::flask();
    let registry = MemoryDevices::new();
    let client = app!(
        manager(&store)
            .device_registry(registry.clone())
            .login_lifetime(Duration::from_millis(1000))
    );
    client.get("/login-notch-remember").await;
    let remember = client.cookie("remember").unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(client.body("/username").await, "Notch");
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "past its lifetime"
    );
    assert_eq!(client.cookie("remember"), None);
    client.set_cookie("remember", &remember);
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "its remember cookie too"
    );
    assert!(
        registry.devices("1").await.unwrap().is_empty(),
        "its device is revoked"
    );
}

#[actix_web::test]
async fn without_a_registry_a_remember_cookie_is_held_to_the_timeouts_from_its_issue() {
    let store = Store::flask();
    let client = app!(manager(&store).login_lifetime(Duration::from_secs(2)));
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "within its lifetime"
    );
    let remember = client.cookie("remember").unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
    client.clear_cookies();
    client.set_cookie("remember", &remember);
    assert_eq!(client.body("/username").await, "Anonymous", "past it");
    assert_eq!(client.cookie("remember"), None);
}

#[actix_web::test]
async fn a_remember_cookie_whose_device_idled_out_is_refused() {
    let store = Store::flask();
    let client = app!(
        manager(&store)
            .device_registry(MemoryDevices::new())
            .idle_timeout(Duration::from_millis(600))
    );
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Notch");
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn without_a_registry_or_timeouts_nothing_more_is_stored_or_written() {
    let store = Store::flask();
    let client = app!(manager(&store));
    client.get("/login-notch-remember").await;
    assert_eq!(client.body("/session-keys").await, "_l");
    for _ in 0..3 {
        let seen = client.get("/username").await;
        assert_eq!(seen.body, "Notch");
        assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
    }
}

#[actix_web::test]
async fn with_a_registry_and_timeouts_a_request_writes_its_session_only_now_and_then() {
    let store = Store::flask();
    let client = app!(
        manager(&store)
            .device_registry(MemoryDevices::new())
            .idle_timeout(Duration::from_secs(3600))
    );
    client.get("/login-notch").await;
    assert_eq!(
        client.body("/session-keys").await,
        "_device,_l,_login_at,_seen"
    );
    for _ in 0..3 {
        let seen = client.get("/username").await;
        assert_eq!(seen.body, "Notch");
        assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
    }
}

#[actix_web::test]
async fn a_refreshed_or_re_signed_remember_cookie_keeps_its_device() {
    use login_runtime::{RememberCookie, SecretKey};
    let store = Store::flask();
    let registry = MemoryDevices::new();
    let refreshing = || {
        manager(&store)
            .device_registry(registry.clone())
            .remember_cookie(
                RememberCookie::default()
                    .name("remember")
                    .secure(false)
                    .refresh_each_request(true),
            )
    };
    let client = app!(refreshing());
    client.get("/login-notch-remember").await;
    let first = client.cookie("remember").unwrap();
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    // A page that loads nobody still refreshes the cookie: it must stay on its device.
    client.get("/").await;
    assert_ne!(client.cookie("remember").unwrap(), first, "refreshed");
    client.clear_session();
    assert_eq!(client.body("/username").await, "Notch");

    // The key rotates: the cookie is re-signed with the new key, still on its device.
    let new_key = SecretKey::generate();
    let rotated = app!(
        manager(&store)
            .device_registry(registry.clone())
            .secret_key(new_key.clone())
            .previous_secret_keys([common::secret()])
    );
    rotated.set_cookie("remember", &client.cookie("remember").unwrap());
    assert_eq!(rotated.body("/username").await, "Notch");
    let resigned = rotated.cookie("remember").unwrap();
    let retired = app!(
        manager(&store)
            .device_registry(registry.clone())
            .secret_key(new_key)
    );
    retired.set_cookie("remember", &resigned);
    assert_eq!(
        retired.body("/username").await,
        "Notch",
        "valid under the new key alone"
    );
    assert_eq!(
        registry.devices("1").await.unwrap().len(),
        1,
        "one device throughout"
    );
    retired.get("/logout").await;
    client.clear_session();
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "every copy is revoked"
    );
}

#[actix_web::test]
async fn the_devices_extractor_without_a_registry_is_a_500_naming_the_fix() {
    let store = Store::flask();
    let client = app!(manager(&store));
    client.get("/login-notch").await;
    let seen = client.get("/devices").await;
    assert_eq!(seen.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        login_runtime::LoginError::NoDeviceRegistry.to_string(),
        "no device registry is configured: set one with `LoginManager::device_registry(..)` to use `Devices`"
    );
}

#[actix_web::test]
async fn a_new_login_in_the_same_browser_ends_the_device_it_replaces() {
    let store = Store::flask();
    let registry = MemoryDevices::new();
    let client = app!(manager(&store).device_registry(registry.clone()));
    client.get("/login-notch").await;
    let first = client.cookie("id").unwrap();
    client.get("/login-notch").await;
    assert_eq!(registry.devices("1").await.unwrap().len(), 1);
    assert_eq!(client.body("/username").await, "Notch");
    client.set_cookie("id", &first);
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "the replaced login is over"
    );
}

#[path = "common/device_scenarios.rs"]
mod device_scenarios;

#[actix_web::test]
async fn memory_devices_pass_the_registry_conformance_suite() {
    let devices = MemoryDevices::new();
    login_runtime::testing::device_registry_conformance(|| devices.clone()).await;
}

#[actix_web::test]
async fn after_a_password_change_memory_devices_list_and_count_only_logins_still_valid() {
    device_scenarios::devices_of_logins_a_password_change_ended_are_not_listed_or_counted(
        MemoryDevices::new(),
        "7",
    )
    .await;
}
