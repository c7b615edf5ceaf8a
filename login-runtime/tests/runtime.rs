//! The runtime's own promises beyond Flask-Login's suite: one load per request, guards before
//! body extraction, clean 500s for set-up mistakes and loader failures, flash messages,
//! tracing, and session-id renewal against a real session store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, HttpResponse, get, post, web};
use actix_web_flash_messages::{
    FlashMessagesFramework, IncomingFlashMessages, storage::CookieMessageStore,
};
use common::{Client, Events, NumericUser, NumericUsers, Store, User, manager, notch};
use login_runtime::{CurrentUser, FlashLevel, Login, LoginOptions, MaybeUser, login_required};

/// What login-runtime logs, captured by one global subscriber for this test binary (tests run
/// in parallel, so each test looks for text only it produces).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();

impl Logs {
    fn capture() -> Logs {
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let writer = logs.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
            logs
        })
        .clone()
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[login_required]
#[get("/dashboard")]
async fn dashboard(user: CurrentUser<User>, again: MaybeUser<User>) -> String {
    format!(
        "{} {}",
        user.name,
        again.get().map_or("?", |u| u.name.as_str())
    )
}

#[derive(serde::Deserialize)]
struct Item {
    #[allow(dead_code)]
    name: String,
}

#[login_required]
#[post("/items")]
async fn create_item(item: web::Json<Item>) -> HttpResponse {
    let _ = item;
    HttpResponse::Created().finish()
}

macro_rules! app {
    ($manager:expr $(, $service:expr)*) => {
        Client::new(
            test::init_service(
                App::new()
                    .configure(common::routes)
                    $(.service($service))*
                    .wrap($manager)
                    .wrap(common::session_middleware()),
            )
            .await,
        )
    };
}

#[actix_web::test]
async fn loader_runs_once_per_request_for_a_guard_and_two_extractors() {
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()), dashboard);
    client.get("/login-notch").await;
    let before = store.loads();
    let seen = client.get("/dashboard").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Notch Notch");
    assert_eq!(
        store.loads(),
        before + 1,
        "guard, CurrentUser and MaybeUser share one load"
    );
}

#[actix_web::test]
async fn anonymous_post_with_malformed_json_gets_unauthorized_not_400() {
    let store = Store::flask();
    let client = app!(
        manager(&store, &Events::default()).login_view("/login"),
        create_item
    );
    let bad_json = || {
        TestRequest::post()
            .uri("/items")
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
    };
    let seen = client.send(bad_json()).await;
    assert_eq!(seen.status, StatusCode::FOUND);
    assert_eq!(seen.location(), "/login?next=%2Fitems");
    // Once logged in, the body is checked as actix checks it.
    client.get("/login-notch").await;
    assert_eq!(
        client.send(bad_json()).await.status,
        StatusCode::BAD_REQUEST
    );
    let good = TestRequest::post()
        .uri("/items")
        .set_json(serde_json::json!({"name": "x"}));
    assert_eq!(client.send(good).await.status, StatusCode::CREATED);
}

#[actix_web::test]
async fn login_manager_without_session_middleware_is_a_500_naming_it() {
    let logs = Logs::capture();
    let store = Store::flask();
    let client = Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .service(dashboard)
                .wrap(manager(&store, &Events::default())),
        )
        .await,
    );
    for path in ["/login-notch", "/username", "/dashboard", "/protected"] {
        let seen = client.get(path).await;
        assert_eq!(seen.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        // Named in a debug build's body, for the developer; only in the log in release.
        assert_eq!(
            seen.body
                .contains("wrap `LoginManager` inside `SessionMiddleware`"),
            cfg!(debug_assertions),
            "{}",
            seen.body
        );
    }
    assert!(
        logs.text()
            .contains("wrap `LoginManager` inside `SessionMiddleware`"),
        "{}",
        logs.text()
    );
}

#[actix_web::test]
async fn session_middleware_inside_login_manager_is_a_500_naming_the_order() {
    let logs = Logs::capture();
    let store = Store::flask();
    // Wrong order: actix applies the last `wrap` first, so LoginManager runs outside the session.
    let client = Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .wrap(common::session_middleware())
                .wrap(manager(&store, &Events::default())),
        )
        .await,
    );
    assert_eq!(
        client.get("/login-notch").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        client.body("/").await,
        "Welcome!",
        "routes that never ask for the user still work"
    );
    assert!(
        logs.text()
            .contains("wrap `LoginManager` inside `SessionMiddleware`")
    );
}

#[actix_web::test]
async fn guard_without_login_manager_is_a_500_naming_it() {
    let logs = Logs::capture();
    let client = Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .service(dashboard)
                .wrap(common::session_middleware()),
        )
        .await,
    );
    for path in ["/dashboard", "/protected", "/username", "/login-notch"] {
        assert_eq!(
            client.get(path).await.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{path}"
        );
    }
    assert!(
        logs.text().contains(".wrap(LoginManager::new(loader))"),
        "{}",
        logs.text()
    );
}

#[actix_web::test]
async fn loader_error_is_a_clean_500_and_the_session_is_untouched() {
    let logs = Logs::capture();
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()));
    client.get("/set-foo").await;
    client.get("/login-notch").await;
    *store.fail.borrow_mut() = true;
    for path in ["/username", "/protected"] {
        let seen = client.get(path).await;
        assert_eq!(seen.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(
            seen.set_cookies.is_empty(),
            "nothing is written: {:?}",
            seen.set_cookies
        );
    }
    assert!(
        logs.text()
            .contains("the user loader failed: database is down"),
        "{}",
        logs.text()
    );
    *store.fail.borrow_mut() = false;
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/get-foo").await, "bar");
}

#[actix_web::test]
async fn malformed_or_empty_id_in_the_session_is_anonymous() {
    let client = Client::new(
        test::init_service(
            App::new()
                .route(
                    "/plant/{value}",
                    web::get().to(|req: HttpRequest, value: web::Path<String>| async move {
                        let value = value.into_inner();
                        let value = if value == "empty" {
                            String::new()
                        } else {
                            value
                        };
                        req.get_session().insert("_user_id", value).unwrap();
                        req.get_session().insert("_fresh", true).unwrap();
                        ""
                    }),
                )
                .route(
                    "/plant-number",
                    web::get().to(|req: HttpRequest| async move {
                        // Not even a string: a value of the wrong JSON type.
                        req.get_session().insert("_user_id", 42).unwrap();
                        ""
                    }),
                )
                .route("/who", web::get().to(common::numeric_who))
                .wrap(
                    login_runtime::LoginManager::new(NumericUsers)
                        .session_protection(login_runtime::SessionProtection::Off),
                )
                .wrap(common::session_middleware()),
        )
        .await,
    );
    client.get("/plant/7").await;
    assert_eq!(client.body("/who").await, "7");
    for planted in [
        "/plant/not-a-number",
        "/plant/empty",
        "/plant/99999999999999999999",
        "/plant-number",
    ] {
        client.get(planted).await;
        let seen = client.get("/who").await;
        assert_eq!(seen.status, StatusCode::OK, "{planted}");
        assert_eq!(seen.body, "Anonymous", "{planted}");
    }
}

#[actix_web::test]
async fn extractor_for_another_user_type_is_a_500_naming_both() {
    let logs = Logs::capture();
    let store = Store::flask();
    let client = Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .route(
                    "/numeric",
                    web::get().to(|user: MaybeUser<NumericUser>| async move {
                        user.is_anonymous().to_string()
                    }),
                )
                .wrap(manager(&store, &Events::default()))
                .wrap(common::session_middleware()),
        )
        .await,
    );
    client.get("/login-notch").await;
    assert_eq!(
        client.get("/numeric").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(logs.text().contains("NumericUser"), "{}", logs.text());
}

#[actix_web::test]
async fn remember_me_with_invalid_custom_duration_returns_500_response() {
    // Flask-Login 40: an unusable duration is a 500, not a crash and not a cookie.
    let store = Store::flask();
    let client = Client::new(
        test::init_service(
            App::new()
                .route(
                    "/login-forever",
                    web::get().to(|login: Login<User>| async move {
                        login.login_with(
                            &notch(),
                            LoginOptions::new()
                                .remember(true)
                                .duration(std::time::Duration::MAX),
                        )?;
                        Ok::<_, actix_web::Error>("True")
                    }),
                )
                .wrap(manager(&store, &Events::default()))
                .wrap(common::session_middleware()),
        )
        .await,
    );
    let seen = client.get("/login-forever").await;
    assert_eq!(seen.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(seen.cookie("remember").is_none());
}

fn flash_framework() -> FlashMessagesFramework {
    FlashMessagesFramework::builder(CookieMessageStore::builder(common::session_key()).build())
        .build()
}

async fn login_page(messages: IncomingFlashMessages) -> String {
    messages
        .iter()
        .map(|m| format!("{:?}:{}", m.level(), m.content()))
        .collect::<Vec<_>>()
        .join("|")
}

macro_rules! flash_app {
    ($manager:expr) => {
        Client::new(
            test::init_service(
                App::new()
                    .configure(common::routes)
                    .route("/login", web::get().to(login_page))
                    .route("/refresh", web::get().to(login_page))
                    .wrap($manager)
                    .wrap(common::session_middleware())
                    .wrap(flash_framework()),
            )
            .await,
        )
    };
}

#[actix_web::test]
async fn unauthorized_flashes_message_with_login_view() {
    let store = Store::flask();
    let client = flash_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .login_message(Some("Log in!"), FlashLevel::Warning)
    );
    assert_eq!(client.get("/protected").await.status, StatusCode::FOUND);
    assert_eq!(client.body("/login").await, "warning:Log in!");
    assert_eq!(
        client.body("/login").await,
        "",
        "a flashed message is shown once"
    );
}

#[actix_web::test]
async fn needs_refresh_fires_flash_when_redirect_to_refresh_view() {
    let store = Store::flask();
    let client = flash_app!(
        manager(&store, &Events::default())
            .refresh_view("/refresh")
            .needs_refresh_message(Some("Refresh"), FlashLevel::Info)
    );
    client.get("/login-notch-unfresh").await;
    let seen = client.get("/fresh-protected").await;
    assert_eq!(seen.location(), "/refresh?next=%2Ffresh-protected");
    assert_eq!(client.body("/refresh").await, "info:Refresh");
}

#[actix_web::test]
async fn no_login_message_flashes_nothing() {
    // P16: `None` (or "") flashes nothing.
    let store = Store::flask();
    let client = flash_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .login_message(None, FlashLevel::Info)
    );
    client.get("/protected").await;
    assert_eq!(client.body("/login").await, "");
    let client = flash_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .login_message(Some(""), FlashLevel::Info)
    );
    client.get("/protected").await;
    assert_eq!(client.body("/login").await, "");
}

#[actix_web::test]
async fn default_login_message_is_flashed() {
    let store = Store::flask();
    let client = flash_app!(manager(&store, &Events::default()).login_view("/login"));
    client.get("/protected").await;
    assert_eq!(
        client.body("/login").await,
        "info:Please log in to access this page."
    );
}

#[actix_web::test]
async fn login_view_without_flash_framework_does_not_panic() {
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()).login_view("/login"));
    let seen = client.get("/protected").await;
    assert_eq!(seen.status, StatusCode::FOUND);
}

#[actix_web::test]
async fn events_are_traced_with_the_user_id_and_no_secret() {
    let logs = Logs::capture();
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()));
    // The only test in this binary that logs in 佐藤.
    client.get("/login-germanjapanese-remember").await;
    let remember = client.cookie("remember").unwrap();
    client.get("/logout").await;
    let text = logs.text();
    assert!(text.contains("event=\"logged_in\" user_id=佐藤"), "{text}");
    assert!(
        text.contains("event=\"logged_out\" user_id=Some(\"佐藤\")"),
        "{text}"
    );
    assert!(
        !text.contains(&remember),
        "the remember cookie never reaches the log"
    );
    assert!(
        !text.contains("hash-of-Müller"),
        "the session hash never reaches the log"
    );
}

#[actix_web::test]
async fn login_without_remember_clears_an_earlier_remember_cookie() {
    // New: a remember cookie of an earlier login must not outlive a new login.
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    let seen = client.get("/login-notch").await;
    let cookie = seen.cookie("remember").expect("cleared");
    assert_eq!(
        cookie.max_age(),
        Some(actix_web::cookie::time::Duration::ZERO)
    );
}

#[actix_web::test]
async fn query_next_is_validated() {
    let store = Store::flask();
    let client = app!(manager(&store, &Events::default()));
    assert_eq!(
        client.body("/next?next=%2Fprofile%3Ftab%3D2").await,
        "/profile?tab=2"
    );
    for hostile in [
        "%2F%2Fevil.com",
        "https%3A%2F%2Fevil.com",
        "%2F%5Cevil.com",
        "javascript%3Aalert(1)",
    ] {
        assert_eq!(
            client.body(&format!("/next?next={hostile}")).await,
            "",
            "{hostile}"
        );
    }
}

mod redis {
    //! Session-id renewal is only observable with a server-side store.
    use super::*;
    use actix_session::SessionMiddleware;
    use actix_session::storage::RedisSessionStore;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    async fn redis_client(store: &Store) -> Client<impl common::TestApp> {
        let redis = RedisSessionStore::new("redis://127.0.0.1:6379")
            .await
            .expect("Redis on 127.0.0.1:6379");
        client_on(store, redis).await
    }

    async fn client_on(store: &Store, redis: RedisSessionStore) -> Client<impl common::TestApp> {
        Client::new(
            test::init_service(
                App::new()
                    .configure(common::routes)
                    .wrap(manager(store, &Events::default()))
                    .wrap(
                        SessionMiddleware::builder(redis, common::session_key())
                            .cookie_secure(false)
                            .build(),
                    ),
            )
            .await,
        )
    }

    #[actix_web::test]
    #[ignore = "needs Redis on 127.0.0.1:6379; run by .ci/run"]
    async fn session_id_is_renewed_on_login_and_logout() {
        let store = Store::flask();
        let client = redis_client(&store).await;
        client.get("/set-foo").await;
        let planted = client.cookie("id").expect("a session before login");
        client.get("/login-notch").await;
        let logged_in = client.cookie("id").expect("a session after login");
        assert_ne!(planted, logged_in, "login renews the session id (fixation)");
        assert_eq!(
            client.body("/get-foo").await,
            "bar",
            "the app's data moves to the new id"
        );

        // The pre-login id is worth nothing to whoever planted it.
        let attacker = redis_client(&store).await;
        attacker.set_cookie("id", &planted);
        assert_eq!(attacker.body("/username").await, "Anonymous");

        client.get("/logout").await;
        let logged_out = client.cookie("id").expect("a session after logout");
        assert_ne!(logged_in, logged_out, "logout renews the session id");
        // Replaying the logged-in id after logout gets nobody.
        let replay = redis_client(&store).await;
        replay.set_cookie("id", &logged_in);
        assert_eq!(replay.body("/username").await, "Anonymous");
        assert_eq!(client.body("/get-foo").await, "bar");
    }

    #[actix_web::test]
    #[ignore = "needs Redis on 127.0.0.1:6379; run by .ci/run"]
    async fn logins_are_shared_by_two_app_instances_on_one_redis() {
        let store = Store::flask();
        let first = redis_client(&store).await;
        let second = redis_client(&store).await;
        first.get("/login-notch").await;
        second.set_cookie("id", &first.cookie("id").unwrap());
        *second.user_agent.borrow_mut() = first.user_agent.borrow().clone();
        assert_eq!(second.body("/username").await, "Notch");
    }

    /// A TCP relay in front of Redis that the test cuts, as if Redis went down, and restores.
    struct Relay {
        port: u16,
        down: Arc<AtomicBool>,
        live: Arc<Mutex<Vec<TcpStream>>>,
    }

    impl Relay {
        fn start() -> Relay {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let down = Arc::new(AtomicBool::new(false));
            let live = Arc::new(Mutex::new(Vec::new()));
            let (down_, live_) = (Arc::clone(&down), Arc::clone(&live));
            std::thread::spawn(move || {
                for client in listener.incoming().flatten() {
                    if down_.load(Ordering::SeqCst) {
                        continue; // dropped: the connection is refused at once
                    }
                    let Ok(redis) = TcpStream::connect("127.0.0.1:6379") else {
                        continue;
                    };
                    let mut live = live_.lock().unwrap();
                    for (mut from, mut to) in [
                        (client.try_clone().unwrap(), redis.try_clone().unwrap()),
                        (redis.try_clone().unwrap(), client.try_clone().unwrap()),
                    ] {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(Shutdown::Both);
                        });
                    }
                    live.extend([client, redis]);
                }
            });
            Relay { port, down, live }
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }

        /// Redis goes down: every open connection is cut and new ones are refused.
        fn cut(&self) {
            self.down.store(true, Ordering::SeqCst);
            for stream in self.live.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }

        fn restore(&self) {
            self.down.store(false, Ordering::SeqCst);
        }
    }

    #[actix_web::test]
    #[ignore = "needs Redis on 127.0.0.1:6379; run by .ci/run"]
    async fn redis_going_down_is_a_clean_error_and_the_login_survives_it() {
        let relay = Relay::start();
        let store = Store::flask();
        // A pool whose connections fail fast, as SECURITY.md recommends: `RedisSessionStore::new`
        // waits for its reconnection backoff (minutes) before a request can fail.
        let mut config = deadpool_redis::Config::from_url(relay.url());
        config.pool = Some(deadpool_redis::PoolConfig {
            timeouts: deadpool_redis::Timeouts {
                wait: Some(Duration::from_secs(2)),
                create: Some(Duration::from_secs(2)),
                recycle: Some(Duration::from_secs(2)),
            },
            ..deadpool_redis::PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(deadpool_redis::Runtime::Tokio1))
            .unwrap();
        let redis = RedisSessionStore::new_pooled(pool).await.unwrap();
        let client = client_on(&store, redis).await;
        client.get("/set-foo").await;
        client.get("/login-notch").await;
        assert_eq!(client.body("/username").await, "Notch");
        let session = client.cookie("id").expect("a session");

        relay.cut();
        for path in ["/username", "/protected", "/logout"] {
            let seen = client.get(path).await;
            assert_eq!(
                seen.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{path} while Redis is down"
            );
            assert!(
                seen.set_cookies.is_empty(),
                "{path}: no cookie is touched while the store cannot be read: {:?}",
                seen.set_cookies
            );
        }
        assert_eq!(client.cookie("id"), Some(session));

        // Redis is back: the same session, still logged in, the app's data intact.
        relay.restore();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let seen = client.get("/username").await;
            if seen.status == StatusCode::OK {
                assert_eq!(seen.body, "Notch");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still {} after Redis came back",
                seen.status
            );
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(client.body("/get-foo").await, "bar");
    }
}
