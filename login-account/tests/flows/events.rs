//! What leaves the flows besides the pages: events without secrets, stores that keep only
//! hashes, and the store rules.

use actix_web::http::StatusCode;
use login_account::MemoryTokenStore;
use serde_json::json;

use crate::support::{Site, browser};

#[actix_web::test]
async fn no_event_token_record_or_log_holds_a_token_a_code_or_a_password() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    visitor
        .post_json("/account/reset", json!({ "email": "ada@example.com" }))
        .await;
    let reset = site.token_to("ada@example.com");
    let password = "seven lazy otters juggle";
    let page = visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": reset, "password": password, "confirm": password }),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    visitor
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let sign_in = site.token_to("ada@example.com");
    let mail = site.outbox.last_to("ada@example.com").unwrap();
    let code = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 9 && l.as_bytes()[4] == b'-')
        .unwrap()
        .to_owned();

    let events = format!("{:?}", site.events());
    let records = format!("{:?}", site.tokens.records());
    for secret in [
        reset.as_str(),
        sign_in.as_str(),
        password,
        &code,
        &code.replace('-', ""),
    ] {
        assert!(
            !events.contains(secret),
            "an event holds {secret}: {events}"
        );
        assert!(!records.contains(secret), "the store holds {secret}");
    }
    // `Mail`'s Debug output leaves its bodies out.
    assert!(!format!("{mail:?}").contains(&sign_in));
}

#[actix_web::test]
async fn the_memory_store_passes_the_conformance_suite() {
    login_account::testing::token_store_conformance(MemoryTokenStore::new)
        .await
        .unwrap();
}

#[actix_web::test]
async fn the_event_sink_has_every_event_of_a_route_before_its_answer() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    let page = visitor
        .post_json("/account/reset", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let reset = site.token_to("ada@example.com");
    let password = "seven lazy otters juggle";
    visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": reset, "password": password, "confirm": password }),
        )
        .await;
    // The sink got what the callbacks got, each with its request, before each answer.
    let sunk = site.sunk.borrow().clone();
    let events: Vec<_> = sunk.iter().map(|(event, _)| event.clone()).collect();
    assert_eq!(events, site.events());
    let paths: Vec<&str> = sunk.iter().map(|(_, path)| path.as_str()).collect();
    assert_eq!(
        paths,
        ["/account/reset", "/account/reset/confirm"],
        "{sunk:?}"
    );
}

#[actix_web::test]
async fn a_failing_event_sink_fails_the_request() {
    let mut site = Site::new();
    site.sink_fails = true;
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    let page = visitor
        .post_json("/account/reset", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    assert_eq!(site.sunk.borrow().len(), 1);
}
