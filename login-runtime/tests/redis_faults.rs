//! A Redis that really dies: the test starts its own `redis-server` on a free port (with an
//! append-only file, as a production Redis keeps its data), logs in, kills it with SIGKILL,
//! sees every request answer with a clean 5xx while it is gone, restarts it on the same port
//! and sees the same login come back without restarting the app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod redis_common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use login_runtime::testing::TestClient;
use redis_common::{Gate, Prefix};

/// A `redis-server` of this test's own.
struct OwnRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl OwnRedis {
    fn start() -> OwnRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let nonce: u64 = rand::random();
        let dir = std::env::temp_dir().join(format!("login-runtime-redis-{port}-{nonce:x}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = OwnRedis {
            port,
            dir,
            child: None,
        };
        redis.spawn();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers_ping() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(client) = deadpool_redis::redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return false;
        };
        deadpool_redis::redis::cmd("PING")
            .query::<String>(&mut conn)
            .is_ok_and(|pong| pong == "PONG")
    }

    /// SIGKILL: no shutdown, no goodbye to the clients.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one request answered, however it failed; a hang fails the test instead of blocking it.
struct Answered {
    status: StatusCode,
    retry_after: Option<String>,
    cookies: usize,
    body: String,
    elapsed: Duration,
}

async fn call<S, B>(browser: &TestClient<S>, path: &str) -> Answered
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let started = Instant::now();
    let res = actix_web::rt::time::timeout(
        Duration::from_secs(30),
        browser.call(TestRequest::get().uri(path)),
    )
    .await
    .unwrap_or_else(|_| panic!("{path} hung"));
    let elapsed = started.elapsed();
    let res = match res {
        Ok(res) => res.map_into_boxed_body(),
        Err(error) => ServiceResponse::new(
            TestRequest::default().to_http_request(),
            error.error_response(),
        ),
    };
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    Answered {
        status: res.status(),
        retry_after,
        cookies: res.response().cookies().count(),
        body: String::from_utf8(test::read_body(res).await.to_vec()).unwrap(),
        elapsed,
    }
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn redis_killed_is_a_clean_error_and_the_login_is_back_when_it_restarts() {
    let mut redis = OwnRedis::start();
    let prefix = Prefix::new("killed");
    let _clean_up = prefix.clean_up_on_drop(&redis.url());
    let pool = redis_common::pool(&redis.url());
    let store = prefix.session_store(pool.clone()).await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(Gate::default()))
            .configure(redis_common::routes)
            .wrap(redis_common::manager(prefix.devices(pool)))
            .wrap(redis_common::sessions(store)),
    )
    .await;
    let browser = TestClient::new(app);
    call(&browser, "/login/k1?remember=true").await;
    assert_eq!(call(&browser, "/who").await.body, "user:k1");
    let (session, remember) = (browser.cookie("id"), browser.cookie("remember"));

    // Killed mid-run: eight clients keep asking while Redis dies. Each is served as the
    // logged-in user until it gets a clean 5xx; none gets anything else or a cookie.
    let keep_asking = async || {
        let (mut served, mut failed) = (0, 0);
        for _ in 0..2000 {
            let answer = call(&browser, "/who").await;
            assert_eq!(answer.cookies, 0);
            match answer.status {
                StatusCode::OK => {
                    assert_eq!(answer.body, "user:k1");
                    served += 1;
                }
                StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE => {
                    failed += 1;
                    break;
                }
                other => panic!("while Redis died: {other}"),
            }
        }
        (served, failed)
    };
    let clients = futures_util::future::join_all((0..8).map(|_| keep_asking()));
    let killer = async {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        redis.kill();
    };
    let (answers, ()) = futures_util::future::join(clients, killer).await;
    let served: usize = answers.iter().map(|(served, _)| served).sum();
    let failed: usize = answers.iter().map(|(_, failed)| failed).sum();
    println!("Redis killed mid-run: {served} requests served before, then {failed} clean 5xx");
    assert_eq!(
        failed, 8,
        "every client saw the outage while it was running"
    );

    for path in ["/who", "/login/k2", "/logout", "/devices", "/who"] {
        let Answered {
            status,
            cookies,
            elapsed,
            ..
        } = call(&browser, path).await;
        println!("{path} with Redis killed: {status} after {elapsed:?}");
        assert!(
            status == StatusCode::INTERNAL_SERVER_ERROR
                || status == StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {status}"
        );
        assert_eq!(cookies, 0, "{path}: no cookie is touched");
    }
    assert_eq!(
        (browser.cookie("id"), browser.cookie("remember")),
        (session, remember)
    );

    redis.spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let seen = call(&browser, "/who").await;
        let status = seen.status;
        if status == StatusCode::OK {
            assert_eq!(
                seen.body, "user:k1",
                "the same login, kept through the crash"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after Redis came back"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    println!("recovered after {attempts} attempt(s), without a restart");
    assert_eq!(call(&browser, "/logout").await.status, StatusCode::OK);
    assert_eq!(call(&browser, "/who").await.body, "Anonymous");
    let login = call(&browser, "/login/k3").await;
    assert_eq!(login.status, StatusCode::OK, "new logins work again");
    assert_eq!(call(&browser, "/who").await.body, "user:k3");
    call(&browser, "/logout").await;
    assert!(prefix.device_keys(&redis.url()).await.is_empty());
    prefix.clean_up(&redis.url()).await;
}

/// Cookie sessions with the device registry in Redis: the registry dying is a 503 (with
/// `Retry-After`), never a login it cannot check, and the login is back with Redis.
#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn a_killed_registry_is_a_503_and_never_a_login_it_cannot_check() {
    use actix_session::SessionMiddleware;
    use actix_session::storage::CookieSessionStore;

    let mut redis = OwnRedis::start();
    let prefix = Prefix::new("registry-killed");
    let _clean_up = prefix.clean_up_on_drop(&redis.url());
    let pool = redis_common::pool(&redis.url());
    let app = test::init_service(
        App::new()
            .configure(redis_common::routes)
            .wrap(redis_common::manager(prefix.devices(pool)))
            .wrap(
                SessionMiddleware::builder(
                    CookieSessionStore::default(),
                    redis_common::session_key(),
                )
                .cookie_secure(false)
                .build(),
            ),
    )
    .await;
    let browser = TestClient::new(app);
    call(&browser, "/login/r1").await;
    assert_eq!(call(&browser, "/who").await.body, "user:r1");

    redis.kill();
    let seen = call(&browser, "/who").await;
    assert_eq!(seen.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.retry_after.as_deref(), Some("1"));
    assert_eq!(seen.cookies, 0);

    redis.spawn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while call(&browser, "/who").await.status != StatusCode::OK {
        assert!(Instant::now() < deadline, "the registry did not come back");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call(&browser, "/who").await.body, "user:r1");
    call(&browser, "/logout").await;
    assert!(prefix.device_keys(&redis.url()).await.is_empty());
    prefix.clean_up(&redis.url()).await;
}
