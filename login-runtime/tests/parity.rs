//! Flask-Login 0.6.3's test suite (`tests/test_login.py`), item by item, as listed in
//! `shared/parity/FLASK_LOGIN_TESTS.md`. Each test is named after the Flask-Login test it
//! mirrors; where login-runtime deliberately differs, the test checks the new behaviour and
//! the README's "Differences from Flask-Login" says why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::App;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::{Client, Events, Store, manager};
use login_runtime::{LoginEvent, SessionProtection};

// ---- A. initialisation and method exemptions ----

#[actix_web::test]
async fn no_user_loader_raises_is_a_compile_error_not_a_runtime_one() {
    // Flask-Login raises at request time when no loader is registered; here `LoginManager::new`
    // takes the loader, so the mistake cannot be made. What remains observable: a guard used
    // without `LoginManager` is a clean 500 (see `guard_without_login_manager_is_a_500`).
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn options_call_exempt() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    for path in ["/protected", "/fresh-protected"] {
        let seen = client
            .send(
                TestRequest::default()
                    .method(actix_web::http::Method::OPTIONS)
                    .uri(path),
            )
            .await;
        assert_eq!(seen.status, StatusCode::OK, "{path}");
    }
    // P12: GET, HEAD and POST are not exempt.
    for method in [
        actix_web::http::Method::GET,
        actix_web::http::Method::HEAD,
        actix_web::http::Method::POST,
    ] {
        let seen = client
            .send(
                TestRequest::default()
                    .method(method.clone())
                    .uri("/protected"),
            )
            .await;
        assert_eq!(seen.status, StatusCode::UNAUTHORIZED, "{method}");
    }
}

#[actix_web::test]
async fn static_loads_without_accessing_session() {
    // A request that never asks for the user never loads it (Flask's static-file test).
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    let before = store.loads();
    assert_eq!(client.body("/").await, "Welcome!");
    assert_eq!(store.loads(), before);
}

// ---- B. login_user / logout_user / request_loader ----

#[actix_web::test]
async fn defaults_anonymous() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn login_user() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/login-notch").await, "True");
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "True");
}

#[actix_web::test]
async fn login_user_not_fresh() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/login-notch-unfresh").await, "True");
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
}

#[actix_web::test]
async fn login_user_emits_signal() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/login-notch").await;
    assert_eq!(
        events.all(),
        vec![LoginEvent::LoggedIn {
            user_id: "1".into()
        }]
    );
}

#[actix_web::test]
async fn login_inactive_user_returns_false() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let seen = client.get("/login-creeper").await;
    assert_eq!(seen.body, "False");
    // P10: no session data or cookies are written.
    assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn login_inactive_user_forced() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/login-creeper-forced").await, "True");
    // The login is in the session; like Flask-Login (P11), an inactive user found in a session
    // is not authenticated on later requests.
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn login_user_with_request() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/username?user_id=2").await, "Steve");
}

#[actix_web::test]
async fn login_invalid_user_with_request() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/username?user_id=9000").await, "Anonymous");
}

#[actix_web::test]
async fn logout_logs_out_current_user() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    client.get("/logout").await;
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn logout_emits_signal() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/login-notch").await;
    events.clear();
    client.get("/logout").await;
    assert_eq!(
        events.all(),
        vec![LoginEvent::LoggedOut {
            user_id: Some("1".into())
        }]
    );
}

#[actix_web::test]
async fn logout_without_current_user() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/logout").await;
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::LoggedOut { .. })),
        1
    );
}

// ---- C. unauthorized / login views / next ----

#[actix_web::test]
async fn unauthorized_fires_unauthorized_signal() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/secret").await;
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::Unauthorized { .. })),
        1
    );
}

#[actix_web::test]
async fn unauthorized_uses_authorized_handler() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).unauthorized_handler(|_| {
            actix_web::HttpResponse::Unauthorized().body("This is secret!")
        })
    );
    let seen = client.get("/secret").await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED);
    assert_eq!(seen.body, "This is secret!");
}

#[actix_web::test]
async fn unauthorized_aborts_with_401() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.get("/secret").await.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn unauthorized_redirects_to_login_view() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).login_view("/login"));
    let seen = client.get("/secret").await;
    assert_eq!(seen.status, StatusCode::FOUND);
    assert_eq!(seen.location(), "/login?next=%2Fsecret");
}

#[actix_web::test]
async fn unauthorized_redirect_keeps_query_in_next() {
    // P13: the path's query travels in `next`, encoded.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).login_view("/loginpage"));
    let seen = client.get("/protected?a=1&b=2").await;
    assert_eq!(
        seen.location(),
        "/loginpage?next=%2Fprotected%3Fa%3D1%26b%3D2"
    );
    // An existing query on the login view is kept (checklist 91).
    let client = flask_app!(manager(&store, &Events::default()).login_view("/login?affil=cgnu"));
    assert_eq!(
        client.get("/protected").await.location(),
        "/login?affil=cgnu&next=%2Fprotected"
    );
}

#[actix_web::test]
async fn unauthorized_with_next_in_session() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .next_in_session(true)
    );
    let seen = client.get("/secret").await;
    assert_eq!(seen.status, StatusCode::FOUND);
    assert_eq!(seen.location(), "/login");
    assert_eq!(client.body("/next").await, "/secret");
    // Popped: it is gone afterwards.
    assert_eq!(client.body("/next").await, "");
}

#[actix_web::test]
async fn unauthorized_with_next_in_strong_session() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .next_in_session(true)
            .session_protection(SessionProtection::Strong)
    );
    client.get("/secret").await;
    assert_eq!(client.body("/username").await, "Anonymous");
    assert_eq!(client.body("/next").await, "/secret");
}

#[actix_web::test]
async fn unauthorized_uses_blueprint_login_view() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/app_login")
            .scope_login_view("/first", Some("/first_login"))
            .scope_login_view("/second", Some("/second_login"))
    );
    assert_eq!(
        client.get("/protected").await.location(),
        "/app_login?next=%2Fprotected"
    );
    assert_eq!(
        client.get("/first/protected").await.location(),
        "/first_login?next=%2Ffirst%2Fprotected"
    );
    assert_eq!(
        client.get("/second/protected").await.location(),
        "/second_login?next=%2Fsecond%2Fprotected"
    );
}

#[actix_web::test]
async fn blueprint_login_view_none_answers_401() {
    // P17: a scope whose view is None answers 401 although the app has a login view.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/app_login")
            .scope_login_view("/first", None)
    );
    assert_eq!(
        client.get("/first/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(client.get("/protected").await.status, StatusCode::FOUND);
}

#[actix_web::test]
async fn set_login_view_without_blueprints() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).login_view("/app_login"));
    assert_eq!(
        client.get("/protected").await.location(),
        "/app_login?next=%2Fprotected"
    );
}

#[actix_web::test]
async fn unauthorized_json_client_gets_401_json() {
    // New: API clients get a JSON 401 rather than a redirect to an HTML form.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).login_view("/login"));
    let seen = client
        .send(
            TestRequest::get()
                .uri("/protected")
                .insert_header(("accept", "application/json")),
        )
        .await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["error"], "unauthorized");
    let seen = client
        .send(
            TestRequest::get()
                .uri("/protected")
                .insert_header(("x-requested-with", "XMLHttpRequest")),
        )
        .await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED);
    assert!(
        seen.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

// ---- D. persistence and freshness ----

#[actix_web::test]
async fn login_persists() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    assert_eq!(client.body("/username").await, "Notch");
}

#[actix_web::test]
async fn logout_persists() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    client.get("/logout").await;
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn incorrect_id_logs_out() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    *store.find_nobody.borrow_mut() = true;
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn stale_login_is_removed_from_the_session() {
    // Difference (P7): Flask-Login keeps `_user_id` when the loader finds nobody; we remove
    // the stale login (and nothing else), so it is not looked up on every request.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/set-foo").await;
    client.get("/login-notch").await;
    *store.find_nobody.borrow_mut() = true;
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(
        seen.cookie("id").is_some(),
        "the session is rewritten without the login"
    );
    *store.find_nobody.borrow_mut() = false;
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "the login is gone for good"
    );
    assert_eq!(
        client.body("/get-foo").await,
        "bar",
        "the app's own keys survive"
    );
}

#[actix_web::test]
async fn authentication_is_fresh() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    assert_eq!(client.body("/is-fresh").await, "True");
    assert_eq!(client.body("/is-remembered").await, "False");
}

// ---- E. needs_refresh / confirm_login ----

#[actix_web::test]
async fn needs_refresh_uses_handler() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .needs_refresh_handler(|_| actix_web::HttpResponse::Ok().body("Needs Refresh!"))
    );
    assert_eq!(client.body("/needs-refresh").await, "Needs Refresh!");
}

#[actix_web::test]
async fn needs_refresh_fires_needs_refresh_signal() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/needs-refresh").await;
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::NeedsRefresh { .. })),
        1
    );
}

#[actix_web::test]
async fn needs_refresh_aborts_401() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(
        client.get("/needs-refresh").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn redirects_to_refresh_view() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).refresh_view("/refresh-view"));
    let seen = client.get("/needs-refresh").await;
    assert_eq!(seen.status, StatusCode::FOUND);
    assert_eq!(seen.location(), "/refresh-view?next=%2Fneeds-refresh");
}

#[actix_web::test]
async fn refresh_with_next_in_session() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .refresh_view("/refresh-view")
            .next_in_session(true)
    );
    let seen = client.get("/needs-refresh").await;
    assert_eq!(seen.location(), "/refresh-view");
    assert_eq!(client.body("/next").await, "/needs-refresh");
}

#[actix_web::test]
async fn user_login_confirmed_signal_fired() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/confirm-login").await;
    assert_eq!(
        events.all(),
        vec![LoginEvent::LoginConfirmed { user_id: None }]
    );
}

#[actix_web::test]
async fn confirm_login_makes_an_unfresh_login_fresh() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-unfresh").await;
    assert_eq!(
        client.get("/fresh-protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    client.get("/confirm-login").await;
    assert_eq!(client.body("/is-fresh").await, "True");
    assert_eq!(client.body("/fresh-protected").await, "Access Granted");
}

// ---- F. session hygiene ----

#[actix_web::test]
async fn session_not_modified() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let seen = client.get("/empty_session").await;
    assert_eq!(seen.body, "modified=Unchanged");
    assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
    let seen = client.get("/username").await;
    assert!(
        seen.set_cookies.is_empty(),
        "an anonymous request writes no cookie: {:?}",
        seen.set_cookies
    );
}

#[actix_web::test]
async fn not_fresh_not_modified() {
    // L5: an already-unfresh session under basic protection is not rewritten.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).session_protection(SessionProtection::Basic)
    );
    client.get("/login-notch-unfresh").await;
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Notch");
    assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
}

// ---- G. session protection ----

async fn protected_client(
    mode: SessionProtection,
    store: &Store,
    events: &Events,
) -> Client<impl common::TestApp> {
    flask_app!(manager(store, events).session_protection(mode))
}

#[actix_web::test]
async fn session_protection_basic_passes_successive_requests() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Basic, &store, &events).await;
    client.get("/login-notch-remember").await;
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "True");
}

#[actix_web::test]
async fn session_protection_strong_passes_successive_requests() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Strong, &store, &events).await;
    client.get("/login-notch-remember").await;
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "True");
}

#[actix_web::test]
async fn session_protection_basic_marks_session_unfresh() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Basic, &store, &events).await;
    client.get("/login-notch").await;
    *client.user_agent.borrow_mut() = "different".into();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
}

#[actix_web::test]
async fn session_protection_basic_fires_signal() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Basic, &store, &events).await;
    client.get("/login-notch").await;
    *client.user_agent.borrow_mut() = "different".into();
    client.get("/username").await;
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::SessionProtected { dropped: false, .. })),
        1
    );
}

#[actix_web::test]
async fn session_protection_strong_deletes_session() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Strong, &store, &events).await;
    client.get("/set-foo").await;
    client.get("/login-notch-remember").await;
    *client.user_agent.borrow_mut() = "different".into();
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    let remember = seen.cookie("remember").expect("remember cookie cleared");
    assert_eq!(
        remember.max_age(),
        Some(actix_web::cookie::time::Duration::ZERO)
    );
    assert_eq!(client.body("/get-foo").await, "bar");
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn session_protection_strong_fires_signal_user_agent() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Strong, &store, &events).await;
    client.get("/login-notch").await;
    *client.user_agent.borrow_mut() = "different".into();
    client.get("/username").await;
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::SessionProtected { dropped: true, .. })),
        1
    );
}

#[actix_web::test]
async fn session_protection_strong_without_remember_cookie_still_clears_it() {
    // P3: a strong mismatch clears the remember cookie even when none was sent.
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Strong, &store, &events).await;
    client.get("/login-notch").await;
    *client.user_agent.borrow_mut() = "different".into();
    let seen = client.get("/username").await;
    assert!(seen.cookie("remember").is_some());
}

#[actix_web::test]
async fn session_protection_ignores_peer_port_and_untrusted_forwarded_for() {
    // Only the peer's address counts (never its port), and X-Forwarded-For is ignored unless
    // the app trusts proxy headers.
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Strong, &store, &events).await;
    client.get("/login-notch").await;
    *client.peer.borrow_mut() = "127.0.0.1:61000".parse().unwrap();
    assert_eq!(client.body("/username").await, "Notch");
    let seen = client
        .send(
            TestRequest::get()
                .uri("/username")
                .insert_header(("x-forwarded-for", "10.1.1.2")),
        )
        .await;
    assert_eq!(seen.body, "Notch");
    *client.peer.borrow_mut() = "127.0.0.2:61000".parse().unwrap();
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn login_persists_with_trusted_x_forwarded_for() {
    // 46, 47 and 73 (0.6.3 only), with proxy headers trusted on purpose.
    let (store, events) = (Store::flask(), Events::default());
    let client = flask_app!(
        manager(&store, &events)
            .session_protection(SessionProtection::Strong)
            .trust_proxy_headers(true)
    );
    let xff = |value: &'static str| TestRequest::get().insert_header(("x-forwarded-for", value));
    client.send(xff("10.1.1.1").uri("/login-notch")).await;
    assert_eq!(
        client.send(xff("10.1.1.1").uri("/username")).await.body,
        "Notch"
    );
    assert_eq!(
        client
            .send(xff("10.1.1.1, 10.1.1.2").uri("/username"))
            .await
            .body,
        "Notch"
    );
    assert_eq!(
        client.send(xff("10.1.1.2").uri("/username")).await.body,
        "Anonymous"
    );
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::SessionProtected { .. })),
        1
    );
}

#[actix_web::test]
async fn session_protection_skip_when_off_and_anonymous() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Off, &store, &events).await;
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(events.all().is_empty());
    assert!(seen.set_cookies.is_empty(), "the session stays empty");
}

#[actix_web::test]
async fn session_protection_skip_when_basic_and_anonymous() {
    let (store, events) = (Store::flask(), Events::default());
    let client = protected_client(SessionProtection::Basic, &store, &events).await;
    client.get("/set-foo").await;
    *client.user_agent.borrow_mut() = "different".into();
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(events.all().is_empty());
    // Difference (P4): an anonymous session with other data is not touched either.
    assert!(seen.set_cookies.is_empty(), "{:?}", seen.set_cookies);
}

// ---- H. lazy loading and guards ----

#[actix_web::test]
async fn requests_without_accessing_session() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    let before = store.loads();
    client.get("/").await;
    assert_eq!(store.loads(), before);
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(store.loads(), before + 1);
}

#[actix_web::test]
async fn login_required_decorator() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    client.get("/login-notch").await;
    let seen = client.get("/protected").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Access Granted");
}

#[actix_web::test]
async fn decorators_are_disabled() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).disable_guards(true));
    assert_eq!(client.body("/protected").await, "Access Granted");
    assert_eq!(client.body("/fresh-protected").await, "Access Granted");
    assert_eq!(
        client.body("/username").await,
        "Anonymous",
        "extractors still tell the truth"
    );
}

#[actix_web::test]
async fn fresh_login_required_decorator() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(
        client.get("/fresh-protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    client.get("/login-notch-remember").await;
    assert_eq!(client.body("/fresh-protected").await, "Access Granted");
    client.clear_session();
    assert_eq!(
        client.get("/fresh-protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    client.get("/confirm-login").await;
    assert_eq!(client.body("/fresh-protected").await, "Access Granted");
}

#[actix_web::test]
async fn fresh_login_required_refuses_request_loader_users() {
    // P18: a user found by the request loader is never fresh.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/protected?user_id=1").await, "Access Granted");
    assert_eq!(
        client.get("/fresh-protected?user_id=1").await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---- I. request loader ----

#[actix_web::test]
async fn login_via_request_uses_cookie_when_already_logged_in() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    assert_eq!(client.body("/username").await, "Notch");
    // The session wins over the request loader (Flask-Login's order).
    assert_eq!(client.body("/username?user_id=2").await, "Notch");
}

#[actix_web::test]
async fn user_loaded_from_request_fired() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    assert_eq!(client.body("/username?user_id=1").await, "Notch");
    assert_eq!(
        events.all(),
        vec![LoginEvent::LoadedFromRequest {
            user_id: "1".into()
        }]
    );
}

#[actix_web::test]
async fn login_user_with_request_does_not_modify_session() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let seen = client.get("/username?user_id=2").await;
    assert_eq!(seen.body, "Steve");
    assert!(seen.set_cookies.is_empty());
    assert_eq!(client.body("/username").await, "Anonymous");
}

// ---- O. the test helper (FlaskLoginClient) ----

mod test_helper {
    use super::*;
    use login_runtime::testing::TestRequestLoginExt;

    async fn app_with(mode: SessionProtection) -> Client<impl common::TestApp> {
        let store = Store::flask();
        Client::new(
            test::init_service(
                App::new()
                    .configure(common::routes)
                    .wrap(manager(&store, &Events::default()).session_protection(mode))
                    .wrap(common::session_middleware()),
            )
            .await,
        )
    }

    #[actix_web::test]
    async fn no_args_to_test_client() {
        let client = app_with(SessionProtection::Off).await;
        assert_eq!(
            client
                .send_raw(TestRequest::get().uri("/username").to_request())
                .await
                .body,
            "Anonymous"
        );
    }

    #[actix_web::test]
    async fn user_arg_to_test_client() {
        let client = app_with(SessionProtection::Off).await;
        let req = |path: &str| {
            TestRequest::get()
                .uri(path)
                .login_as(&common::notch())
                .to_request()
        };
        assert_eq!(client.send_raw(req("/username")).await.body, "Notch");
        assert_eq!(client.send_raw(req("/is-fresh")).await.body, "True");
    }

    #[actix_web::test]
    async fn fresh_login_arg_to_test_client() {
        let client = app_with(SessionProtection::Off).await;
        let req = |path: &str| {
            TestRequest::get()
                .uri(path)
                .login_as(&common::notch())
                .fresh(false)
                .to_request()
        };
        assert_eq!(client.send_raw(req("/username")).await.body, "Notch");
        assert_eq!(client.send_raw(req("/is-fresh")).await.body, "False");
    }

    #[actix_web::test]
    async fn session_protection_modes() {
        // Difference (114): the helper stores the identifier of the request it logs in, so
        // protection passes in every mode and freshness is as given.
        for mode in [
            SessionProtection::Off,
            SessionProtection::Basic,
            SessionProtection::Strong,
        ] {
            let client = app_with(mode).await;
            for fresh in [true, false] {
                let req = |path: &str| {
                    TestRequest::get()
                        .uri(path)
                        .login_as(&common::notch())
                        .fresh(fresh)
                        .to_request()
                };
                assert_eq!(
                    client.send_raw(req("/username")).await.body,
                    "Notch",
                    "{mode:?}"
                );
                let expected = if fresh { "True" } else { "False" };
                assert_eq!(
                    client.send_raw(req("/is-fresh")).await.body,
                    expected,
                    "{mode:?}"
                );
            }
        }
    }
}

// ---- I. LoginViaRequestTestCase: no session loader in use, the request loader decides ----

#[actix_web::test]
async fn login_via_request_defaults_anonymous_and_refuses_guarded_handlers() {
    // 84, 85, 87: with only the request loader, a guard answers 401 until `?user_id` names a user.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(
        client.get("/protected").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(client.body("/protected?user_id=2").await, "Access Granted");
    assert_eq!(
        client.get("/protected?user_id=9000").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn login_invalid_user_with_request_when_already_logged_in() {
    // 88: a session login wins over the request loader; logged out, an unknown id is 401.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    assert_eq!(client.body("/login-notch").await, "True");
    assert_eq!(
        client.body("/protected?user_id=9000").await,
        "Access Granted"
    );
    client.get("/logout").await;
    assert_eq!(
        client.get("/protected?user_id=9000").await.status,
        StatusCode::UNAUTHORIZED
    );
}

// ---- L. the AuthUser defaults (UserMixin) ----

#[test]
fn default_values() {
    use login_runtime::AuthUser;
    struct Minimal;
    impl AuthUser for Minimal {
        type Id = u8;
        fn id(&self) -> u8 {
            1
        }
    }
    assert!(Minimal.is_active());
    assert!(Minimal.is_authenticated());
    assert!(!Minimal.is_anonymous());
    assert_eq!(Minimal.session_auth_hash(), None);
}

#[test]
fn get_id_from_id_attribute() {
    use login_runtime::AuthUser;
    assert_eq!(common::notch().id().to_string(), "1");
    assert_eq!(common::germanjapanese().id().to_string(), "佐藤");
}

// ---- N. forced host ----

#[actix_web::test]
async fn unauthorized_uses_host_from_next_url() {
    // 107: without a forced host the redirect is relative, whatever Host the request names.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).login_view("/login"));
    let seen = client
        .send(
            TestRequest::get()
                .uri("/secret")
                .insert_header(("host", "foo.com")),
        )
        .await;
    assert_eq!(seen.location(), "/login?next=%2Fsecret");
}

#[actix_web::test]
async fn unauthorized_uses_host_from_config_when_available() {
    // 108 and 110: the forced host wins over the request's Host and X-Forwarded-Host.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .force_host("good.com")
    );
    let seen = client
        .send(
            TestRequest::get()
                .uri("/secret")
                .insert_header(("host", "bad.com"))
                .insert_header(("x-forwarded-host", "proxy.com")),
        )
        .await;
    assert_eq!(seen.location(), "//good.com/login?next=%2Fsecret");
}

#[actix_web::test]
async fn next_in_session_ignores_forced_host() {
    // P15: with `next` in the session the redirect is a plain path.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("/login")
            .force_host("good.com")
            .next_in_session(true)
    );
    assert_eq!(client.get("/secret").await.location(), "/login");
}

#[actix_web::test]
async fn absolute_login_view_gets_the_full_next_url() {
    // P13: a login service on another host gets the full URL in `next`.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).login_view("https://auth.example.com/login?x=1")
    );
    let seen = client
        .send(
            TestRequest::get()
                .uri("/protected?a=1&b=2")
                .insert_header(("host", "localhost")),
        )
        .await;
    assert_eq!(
        seen.location(),
        "https://auth.example.com/login?x=1&next=http%3A%2F%2Flocalhost%2Fprotected%3Fa%3D1%26b%3D2"
    );
}

#[actix_web::test]
async fn forced_host_replaces_the_host_of_an_absolute_login_view() {
    // P14: the host is replaced, the scheme kept.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view("https://auth.example.com/login")
            .force_host("good.com")
    );
    let seen = client
        .send(
            TestRequest::get()
                .uri("/secret")
                .insert_header(("host", "localhost")),
        )
        .await;
    assert_eq!(
        seen.location(),
        "https://good.com/login?next=http%3A%2F%2Flocalhost%2Fsecret"
    );
}

#[actix_web::test]
async fn forwarded_host_is_ignored_in_next_unless_trusted() {
    // 109: an X-Forwarded-Host a client wrote does not reach an absolute login view's `next`.
    let store = Store::flask();
    let view = "https://auth.example.com/login";
    let request = || {
        TestRequest::get()
            .uri("/secret")
            .insert_header(("host", "localhost"))
            .insert_header(("x-forwarded-host", "evil.example"))
    };
    let client = flask_app!(manager(&store, &Events::default()).login_view(view));
    assert_eq!(
        client.send(request()).await.location(),
        "https://auth.example.com/login?next=http%3A%2F%2Flocalhost%2Fsecret"
    );
    let client = flask_app!(
        manager(&store, &Events::default())
            .login_view(view)
            .trust_proxy_headers(true)
    );
    assert_eq!(
        client.send(request()).await.location(),
        "https://auth.example.com/login?next=http%3A%2F%2Fevil.example%2Fsecret"
    );
}
