//! The session's internal format across versions: a session written by an earlier version
//! (one key per field: `_user_id`, `_fresh`, `_id` — a 128-hex SHA-512 one before 0.1's compact
//! identifier — and `_auth_hash`) is still read correctly, session protection still tells the
//! same client from another one, and it is rewritten as the one compact `_l` entry on its next
//! change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpRequest, web};
use common::{Client, Events, Store};
use login_runtime::SessionProtection;
use sha2::{Digest, Sha512};

/// The identifier the previous version stored: hex SHA-512 of `address|agent`.
fn legacy_identifier(address: &str, agent: &str) -> String {
    hex::encode(Sha512::digest(format!("{address}|{agent}")))
}

async fn app(mode: SessionProtection) -> Client<impl common::TestApp> {
    let store = Store::flask();
    Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .configure(common::planting_routes)
                .route("/session-keys", web::get().to(session_keys))
                .route("/raw/{key}", web::get().to(raw_value))
                .wrap(common::manager(&store, &Events::default()).session_protection(mode))
                .wrap(common::session_middleware()),
        )
        .await,
    )
}

/// The session's keys, sorted.
async fn session_keys(req: HttpRequest) -> String {
    let session = req.get_session();
    let mut keys: Vec<String> = session.entries().keys().cloned().collect();
    keys.sort();
    keys.join(",")
}

/// A session value exactly as stored (JSON).
async fn raw_value(req: HttpRequest, key: web::Path<String>) -> String {
    req.get_session()
        .entries()
        .get(key.as_str())
        .cloned()
        .unwrap_or_default()
}

/// Plants a fresh login of Notch made by the previous version from this client.
async fn plant_previous_version_login(client: &Client<impl common::TestApp>, fresh: bool) {
    let identifier = legacy_identifier("127.0.0.1", &client.user_agent.borrow());
    assert_eq!(identifier.len(), 128);
    // Notch's session hash tag, in the format both versions write.
    let tag = common::secret().session_hash_tag(common::notch().password_hash.as_bytes());
    let planted = serde_json::json!([
        ["_user_id", "1"],
        ["_fresh", fresh],
        ["_id", identifier],
        ["_auth_hash", tag],
    ]);
    let seen = client
        .send(TestRequest::post().uri("/plant").set_json(planted))
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
}

#[actix_web::test]
async fn a_previous_version_session_keeps_its_login_and_freshness_from_the_same_client() {
    for mode in [SessionProtection::Basic, SessionProtection::Strong] {
        let client = app(mode).await;
        plant_previous_version_login(&client, true).await;
        assert_eq!(client.body("/username").await, "Notch", "{mode:?}");
        assert_eq!(client.body("/is-fresh").await, "True", "{mode:?}");
        // Rewritten in the new form on the way: still the same login afterwards.
        assert_eq!(client.body("/username").await, "Notch", "{mode:?}");
        assert_eq!(client.body("/is-fresh").await, "True", "{mode:?}");
        assert_eq!(client.get("/protected").await.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn a_previous_version_session_that_was_not_fresh_stays_not_fresh() {
    let client = app(SessionProtection::Basic).await;
    plant_previous_version_login(&client, false).await;
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
}

#[actix_web::test]
async fn a_previous_version_session_from_another_client_is_protected_as_before() {
    // Basic: another agent keeps the login, no longer fresh.
    let client = app(SessionProtection::Basic).await;
    plant_previous_version_login(&client, true).await;
    *client.user_agent.borrow_mut() = "another-agent/2.0".to_owned();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");

    // Strong: another address loses the login.
    let client = app(SessionProtection::Strong).await;
    plant_previous_version_login(&client, true).await;
    *client.peer.borrow_mut() = "10.1.2.3:40000".parse().unwrap();
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn a_new_login_is_protected_against_a_changed_agent_or_address() {
    let client = app(SessionProtection::Strong).await;
    client.get("/login-notch").await;
    assert_eq!(client.body("/username").await, "Notch");
    *client.user_agent.borrow_mut() = "another-agent/2.0".to_owned();
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::UNAUTHORIZED
    );

    let client = app(SessionProtection::Basic).await;
    client.get("/login-notch").await;
    assert_eq!(client.body("/is-fresh").await, "True");
    *client.peer.borrow_mut() = "[2001:db8::1]:40000".parse().unwrap();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
}

#[actix_web::test]
async fn a_session_written_by_the_current_release_logs_in_and_is_rewritten_compact_on_its_next_change()
 {
    let client = app(SessionProtection::Basic).await;
    // This client's identifier, as 0.1 computes it: log in once and read it back.
    client.get("/login-notch").await;
    assert_eq!(client.body("/session-keys").await, "_l");
    let entry = client.body("/raw/_l").await;
    let identifier = entry.get(3..19).unwrap().to_owned();
    let tag = common::secret().session_hash_tag(common::notch().password_hash.as_bytes());
    assert_eq!(entry, format!("\"1F{identifier}|{tag}||1\""));

    // The same login as 0.1 writes it: one key per field, `_fresh` only when fresh.
    client.clear_session();
    let planted = serde_json::json!([
        ["_user_id", "1"],
        ["_fresh", true],
        ["_id", identifier],
        ["_auth_hash", tag],
    ]);
    let seen = client
        .send(TestRequest::post().uri("/plant").set_json(planted))
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{seen:?}");
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "True");
    assert_eq!(client.get("/protected").await.status, StatusCode::OK);
    assert_eq!(
        client.body("/session-keys").await,
        "_auth_hash,_fresh,_id,_user_id",
        "a session that does not change is not rewritten"
    );

    // Its next change (basic protection: another agent makes it not fresh) writes it compact.
    *client.user_agent.borrow_mut() = "another-agent/2.0".to_owned();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/session-keys").await, "_l");
    assert_eq!(client.body("/is-fresh").await, "False");
    assert_eq!(client.body("/username").await, "Notch");
}
