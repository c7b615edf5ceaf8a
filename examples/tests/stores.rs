//! The demo's stores: `/healthz`, and `DATABASE_URL=postgres://…` alone (no `REDIS_URL`)
//! keeping sessions and devices in PostgreSQL (ignored, run by `.ci/run`: a fresh database
//! on the machine's server, dropped afterwards).
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

#[actix_web::test]
async fn healthz_answers_ok_while_the_database_answers() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(&Config::sqlite(&dir.path().join("demo.db")))
        .await
        .unwrap();
    let service = test::init_service(app(&demo)).await;
    let res = test::call_service(&service, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&body_of(res).await).unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");

    demo.db.close().await;
    let res = test::call_service(&service, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_str(&body_of(res).await).unwrap();
    assert_eq!(body["database"], "failing");
}

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

async fn admin(sql: &str) {
    let pool = sqlx::PgPool::connect(ADMIN_URL).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[actix_web::test]
#[ignore = "needs PostgreSQL; run by .ci/run"]
async fn database_url_alone_keeps_sessions_and_devices_in_postgres() {
    let name = format!("demo_stores_{}", hex::encode(rand::random::<[u8; 6]>()));
    admin(&format!("CREATE DATABASE {name}")).await;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let result = std::panic::AssertUnwindSafe(async {
        let demo = Demo::start(&Config::database(&url)).await.unwrap();
        let rows = sqlx::PgPool::connect(&url).await.unwrap();
        let count = async |table: &str| -> i64 {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&rows)
                .await
                .unwrap()
        };
        let browser = TestClient::new(test::init_service(app(&demo)).await);
        let form = body_of(
            browser
                .call(TestRequest::get().uri("/signup"))
                .await
                .unwrap(),
        )
        .await;
        let res = browser
            .call(TestRequest::post().uri("/signup").set_form([
                ("username", "pgalice"),
                ("display_name", "Alice"),
                ("email", "pgalice@example.com"),
                ("password", "correct horse battery"),
                ("confirm", "correct horse battery"),
                ("csrf", &csrf(&form)),
            ]))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let session = browser.cookie("id").expect("a session cookie");
        assert!(
            session.len() < 200,
            "the cookie holds a key, not the session"
        );
        assert_eq!(
            count("login_devices").await,
            1,
            "the login is a device in PostgreSQL"
        );
        assert!(
            count("login_sessions").await >= 1,
            "the session is a row in PostgreSQL"
        );
        let held: Vec<String> = sqlx::query_scalar("SELECT state FROM login_sessions")
            .fetch_all(&rows)
            .await
            .unwrap();
        assert!(held.iter().all(|state| !state.contains(&session)));
        let profile = browser
            .call(TestRequest::get().uri("/profile"))
            .await
            .unwrap();
        assert_eq!(profile.status(), StatusCode::OK);

        // Logout: the row and the device go, and a copy of the cookie logs nobody in.
        let home = body_of(browser.call(TestRequest::get().uri("/")).await.unwrap()).await;
        let res = browser
            .call(
                TestRequest::post()
                    .uri("/logout")
                    .set_form([("csrf", csrf(&home))]),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(count("login_devices").await, 0);
        browser.clear_cookies();
        browser.set_cookie("id", &session);
        let res = browser
            .call(TestRequest::get().uri("/profile"))
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::FOUND,
            "the logged-out session is gone"
        );
        rows.close().await;
        demo.db.close().await;
    });
    let outcome = futures_util::FutureExt::catch_unwind(result).await;
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
