//! The demo's signing keys live in its database: a login and a remember cookie made before a
//! restart still log in after it (SQLite here; PostgreSQL ignored, run by `.ci/run`), and
//! instances starting together on a new database agree on one set of keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use examples::demo::{Config, Demo, app};
use login_runtime::testing::TestClient;

async fn body_of<B: actix_web::body::MessageBody>(
    res: actix_web::dev::ServiceResponse<B>,
) -> String {
    String::from_utf8_lossy(&test::read_body(res).await).into_owned()
}

fn csrf(body: &str) -> String {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with its token")
        .to_owned()
}

const PASSWORD: &str = "correct horse battery";

/// Signs `name` up, logs out, and logs in again with "remember me": the session cookie and
/// the remember cookie of that login.
async fn log_in_remembered(demo: &Demo, name: &str) -> (String, String) {
    let browser = TestClient::new(test::init_service(app(demo)).await);
    let get =
        async |path: &str| body_of(browser.call(TestRequest::get().uri(path)).await.unwrap()).await;
    let form = get("/signup").await;
    let res = browser
        .call(TestRequest::post().uri("/signup").set_form([
            ("username", name),
            ("display_name", "Kept Across Restarts"),
            ("email", &format!("{name}@example.com")),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
            ("csrf", &csrf(&form)),
        ]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed up");
    let home = get("/").await;
    browser
        .call(
            TestRequest::post()
                .uri("/logout")
                .set_form([("csrf", csrf(&home))]),
        )
        .await
        .unwrap();
    let form = get("/login").await;
    let res = browser
        .call(TestRequest::post().uri("/login").set_form([
            ("username", name),
            ("password", PASSWORD),
            ("remember", "on"),
            ("csrf", &csrf(&form)),
        ]))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "logged in");
    (
        browser.cookie("id").expect("a session cookie"),
        browser.cookie("remember_token").expect("a remember cookie"),
    )
}

/// `GET /profile` with only `cookie` set: its status and body.
async fn profile_with(demo: &Demo, cookie: (&str, &str)) -> (StatusCode, String) {
    let browser = TestClient::new(test::init_service(app(demo)).await);
    browser.set_cookie(cookie.0, cookie.1);
    let res = browser
        .call(TestRequest::get().uri("/profile"))
        .await
        .unwrap();
    let status = res.status();
    (status, body_of(res).await)
}

/// Starts the demo on `url`, logs in, restarts it on the same database, and checks both
/// cookies of that login on the new process.
async fn a_login_survives_a_restart(url: &str) {
    let demo = Demo::start(&Config::database(url)).await.unwrap();
    let (session, remember) = log_in_remembered(&demo, "keptuser").await;
    let (status, _) = profile_with(&demo, ("id", &session)).await;
    assert_eq!(status, StatusCode::OK, "logged in before the restart");
    demo.db.close().await;
    drop(demo);

    let restarted = Demo::start(&Config::database(url)).await.unwrap();
    let (status, body) = profile_with(&restarted, ("id", &session)).await;
    assert_eq!(status, StatusCode::OK, "the session cookie still logs in");
    assert!(body.contains("keptuser"), "{body}");
    let (status, body) = profile_with(&restarted, ("remember_token", &remember)).await;
    assert_eq!(status, StatusCode::OK, "the remember cookie still logs in");
    assert!(
        body.contains("not fresh (restored from remember-me)"),
        "{body}"
    );
    restarted.db.close().await;
}

/// Several first starts at once on the database at `url` (no keys stored yet): every instance
/// signs with the same keys, so a cookie of one logs in on the others.
async fn racing_first_starts_agree_on_the_keys(url: &str) {
    let starts = (0..4).map(|_| async { Demo::start(&Config::database(url)).await.unwrap() });
    let demos = futures_util::future::join_all(starts).await;
    let (session, _) = log_in_remembered(&demos[0], "raceuser").await;
    for (i, demo) in demos.iter().enumerate() {
        assert_eq!(
            demo.keys.to_hex(),
            demos[0].keys.to_hex(),
            "instance {i} has the first one's keys"
        );
        let (status, _) = profile_with(demo, ("id", &session)).await;
        assert_eq!(status, StatusCode::OK, "instance {i} accepts the login");
    }
    for demo in demos {
        demo.db.close().await;
    }
}

#[actix_web::test]
async fn sqlite_a_login_and_a_remember_cookie_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    a_login_survives_a_restart(&url).await;
}

/// SQLite's migrations take no lock (one process per file is the norm): the file is migrated
/// first and its keys row removed, so the starts race only to store the keys.
#[actix_web::test]
async fn sqlite_racing_first_starts_agree_on_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let migrated = Demo::start(&Config::database(&url)).await.unwrap();
    sqlx::query("DELETE FROM demo_keys")
        .execute(migrated.db.pool())
        .await
        .unwrap();
    migrated.db.close().await;
    racing_first_starts_agree_on_the_keys(&url).await;
}

#[actix_web::test]
async fn deleting_the_keys_row_logs_everyone_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let demo = Demo::start(&Config::database(&url)).await.unwrap();
    let (session, remember) = log_in_remembered(&demo, "gonekeys").await;
    sqlx::query("DELETE FROM demo_keys")
        .execute(demo.db.pool())
        .await
        .unwrap();
    demo.db.close().await;
    drop(demo);
    let restarted = Demo::start(&Config::database(&url)).await.unwrap();
    let (status, _) = profile_with(&restarted, ("id", &session)).await;
    assert_eq!(
        status,
        StatusCode::FOUND,
        "new keys: the session cookie is void"
    );
    let (status, _) = profile_with(&restarted, ("remember_token", &remember)).await;
    assert_eq!(
        status,
        StatusCode::FOUND,
        "new keys: the remember cookie is void"
    );
    restarted.db.close().await;
}

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn admin(sql: &str) {
    let pool = sqlx::PgPool::connect(ADMIN_URL).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

/// Runs `test` on a new database of the machine's PostgreSQL, dropped afterwards.
async fn on_new_postgres_database<F: Future<Output = ()>>(test: impl FnOnce(String) -> F) {
    let name = format!("demo_keys_{}", hex::encode(rand::random::<[u8; 6]>()));
    admin(&format!("CREATE DATABASE {name}")).await;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let outcome =
        futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(test(url))).await;
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_a_login_and_a_remember_cookie_survive_a_restart() {
    on_new_postgres_database(async |url| a_login_survives_a_restart(&url).await).await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn postgres_racing_first_starts_agree_on_the_keys() {
    on_new_postgres_database(async |url| racing_first_starts_agree_on_the_keys(&url).await).await;
}
