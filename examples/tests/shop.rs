//! The shop example: customers and staff logged in at once in one browser, each kept out of
//! the other's pages with its own login page, logging out of one leaving the other.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use actix_web::cookie::Key;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use examples::shop::{Accounts, app};
use login_runtime::SecretKey;
use login_runtime::testing::TestClient;

fn form(path: &str, name: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .set_form([("name", name), ("password", password)])
}

#[actix_web::test]
async fn a_customer_and_a_member_of_staff_use_one_browser_each_kept_to_their_own_pages() {
    let accounts = Accounts::new().unwrap();
    let client = TestClient::new(
        test::init_service(app(&accounts, &SecretKey::generate(), &Key::generate())).await,
    );
    let get = |path: &'static str| TestRequest::get().uri(path);
    let body = |res| async { String::from_utf8(test::read_body(res).await.to_vec()).unwrap() };

    // Anonymous: each area sends the visitor to its own login page.
    let res = client.call(get("/orders")).await.unwrap();
    assert_eq!(
        res.headers().get(header::LOCATION).unwrap(),
        "/login?next=%2Forders"
    );
    let res = client.call(get("/staff/desk")).await.unwrap();
    assert_eq!(
        res.headers().get(header::LOCATION).unwrap(),
        "/staff-login?next=%2Fstaff%2Fdesk"
    );

    // A customer's login does not open the staff area.
    let res = client.call(form("/login", "alice", "wrong")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client
        .call(form("/login", "alice", "customer password"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        body(client.call(get("/orders")).await.unwrap())
            .await
            .contains("Orders of alice")
    );
    let res = client.call(get("/staff/desk")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    // Staff's password is not a customer's, nor the other way round.
    let res = client
        .call(form("/staff-login", "alice", "customer password"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // The same browser logs in as staff too: both at once.
    let res = client
        .call(form("/staff-login", "sam", "staff password"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        body(client.call(get("/staff/desk")).await.unwrap())
            .await
            .contains("Hello, sam")
    );
    assert!(
        body(client.call(get("/")).await.unwrap())
            .await
            .contains("Customer: alice. Staff: sam.")
    );
    // Logged in as staff, the staff login page sends them on.
    let res = client.call(get("/staff-login")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Logging out of one keeps the other.
    client
        .call(TestRequest::post().uri("/staff-logout"))
        .await
        .unwrap();
    assert!(
        body(client.call(get("/")).await.unwrap())
            .await
            .contains("Customer: alice. Staff: nobody.")
    );
    assert!(
        body(client.call(get("/orders")).await.unwrap())
            .await
            .contains("Orders of alice")
    );
    client
        .call(form("/staff-login", "sam", "staff password"))
        .await
        .unwrap();
    client
        .call(TestRequest::post().uri("/logout"))
        .await
        .unwrap();
    assert!(
        body(client.call(get("/")).await.unwrap())
            .await
            .contains("Customer: nobody. Staff: sam.")
    );
}
