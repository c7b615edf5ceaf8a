//! Hostile requests against the runtime: nobody gets in, nothing panics, nothing the app keeps
//! in the session is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderValue;
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use common::{Client, Events, Store, manager};
use login_runtime::{SecretKey, SessionProtection};
use proptest::prelude::*;

#[actix_web::test]
async fn huge_session_and_remember_cookies_are_anonymous() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let huge = "A".repeat(64 * 1024);
    client.set_cookie("id", &huge);
    client.set_cookie("remember", &huge);
    let seen = client.get("/username").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Anonymous");
}

#[actix_web::test]
async fn non_utf8_cookie_header_is_anonymous() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let bytes = HeaderValue::from_bytes(b"remember=\xff\xfe\xfd; id=\xc3\x28").unwrap();
    let seen = client
        .send_raw(
            TestRequest::get()
                .uri("/username")
                .insert_header(("cookie", bytes))
                .to_request(),
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Anonymous");
    let seen = client
        .send_raw(
            TestRequest::get()
                .uri("/protected")
                .insert_header(("cookie", HeaderValue::from_bytes(b"remember=\xff").unwrap()))
                .to_request(),
        )
        .await;
    assert_eq!(seen.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn non_utf8_user_agent_keeps_a_strongly_protected_login() {
    // Flask-Login L6: a non-ASCII User-Agent does not break the identifier.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).session_protection(SessionProtection::Strong)
    );
    let agent =
        || HeaderValue::from_bytes(b"Mozilla/5.0 \xe4\xb8\xad\xe6\x96\x87 \xff\xfe").unwrap();
    let with_agent = |path: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header(("user-agent", agent()))
    };
    // `send` would set the client's own agent; `send_raw` adds only the cookies.
    let send = |path: &'static str| {
        with_agent(path)
            .peer_addr("127.0.0.1:40000".parse().unwrap())
            .to_request()
    };
    assert_eq!(client.send_raw(send("/login-notch")).await.body, "True");
    assert_eq!(client.send_raw(send("/username")).await.body, "Notch");
    // Another agent is another client: strong protection drops the login.
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn duplicate_remember_cookies_use_the_valid_one_and_never_panic() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    let valid = client.cookie("remember").unwrap();
    client.clear_cookies();
    for header in [
        format!("remember=bogus; remember={valid}"),
        format!("remember={valid}; remember=bogus"),
    ] {
        // Only the cookies of this header: no session from the request before.
        client.clear_cookies();
        let req = TestRequest::get()
            .uri("/username")
            .insert_header(("cookie", header.clone()))
            .to_request();
        let seen = client.send_raw(req).await;
        assert_eq!(seen.status, StatusCode::OK, "{header}");
        assert_eq!(seen.body, "Notch", "{header}");
    }
    client.clear_cookies();
    let req = TestRequest::get()
        .uri("/username")
        .insert_header(("cookie", "remember=a; remember=b; remember="))
        .to_request();
    assert_eq!(client.send_raw(req).await.body, "Anonymous");
}

#[actix_web::test]
async fn tampered_session_cookie_is_anonymous() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch").await;
    let session = client.cookie("id").unwrap();
    let mut bytes = session.into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    client.set_cookie("id", &String::from_utf8(bytes).unwrap());
    let seen = client.get("/username").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Anonymous");
}

#[test]
fn weak_secret_key_is_refused_with_a_clear_message() {
    for weak in [
        "",
        "secret",
        "changeme",
        "deterministic",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "0123456789012345678901234567890123456789",
    ] {
        let error = SecretKey::try_from(weak).expect_err(weak);
        let message = error.to_string();
        assert!(
            message.contains("SecretKey::generate()"),
            "{weak}: {message}"
        );
    }
    assert!(SecretKey::try_from(common::secret().as_bytes()).is_ok());
}

fn block_on<F: Future>(future: F) -> F::Output {
    actix_web::rt::System::new().block_on(future)
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        prop::sample::select(vec!["1", "2", "3", "佐藤", "9000", ""])
            .prop_map(serde_json::Value::from),
        "[0-9a-f]{32}".prop_map(serde_json::Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever sits under the login keys, a login needs the user's session-hash tag, which
    /// only `login` (or a valid remember cookie) writes: random values never log anyone in,
    /// and nothing panics.
    #[test]
    fn planted_login_state_never_logs_anyone_in(
        user_id in json_value(),
        fresh in json_value(),
        identifier in json_value(),
        tag in json_value(),
        mode in prop::sample::select(vec![SessionProtection::Off, SessionProtection::Basic, SessionProtection::Strong]),
    ) {
        let (status, body) = block_on(async move {
            let store = Store::flask();
            let client = Client::new(test::init_service(
                App::new()
                    .configure(common::routes)
                    .configure(common::planting_routes)
                    .wrap(manager(&store, &Events::default()).session_protection(mode))
                    .wrap(common::session_middleware()),
            ).await);
            let planted = vec![
                ("_user_id".to_owned(), user_id),
                ("_fresh".to_owned(), fresh),
                ("_id".to_owned(), identifier),
                ("_auth_hash".to_owned(), tag),
            ];
            client.send(TestRequest::post().uri("/plant").set_json(planted)).await;
            let seen = client.get("/protected").await;
            (seen.status, seen.body)
        });
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", body);
    }

    /// The app's own session keys survive every login-state change: login (with and without
    /// remember-me), logout, confirmation, protection events, and restores from the cookie.
    #[test]
    fn app_session_keys_survive_login_state_changes(
        steps in prop::collection::vec(
            prop::sample::select(vec![
                "/login-notch", "/login-notch-remember", "/login-notch-unfresh", "/logout",
                "/confirm-login", "/username", "/protected", "/fresh-protected", "change-agent", "close-browser",
            ]),
            1..12,
        ),
        mode in prop::sample::select(vec![SessionProtection::Off, SessionProtection::Basic, SessionProtection::Strong]),
    ) {
        let kept = block_on(async move {
            let store = Store::flask();
            let client = flask_app!(manager(&store, &Events::default()).session_protection(mode));
            client.get("/set-foo").await;
            for step in steps {
                match step {
                    "change-agent" => *client.user_agent.borrow_mut() = format!("agent-{}", client.user_agent.borrow().len()),
                    // Closing the browser loses the session, app data included: start again.
                    "close-browser" => {
                        client.clear_session();
                        client.get("/set-foo").await;
                    }
                    path => {
                        let seen = client.get(path).await;
                        assert!(seen.status.as_u16() < 500, "{path}: {}", seen.status);
                    }
                }
            }
            client.body("/get-foo").await
        });
        prop_assert_eq!(kept, "bar");
    }
}

#[actix_web::test]
async fn remember_cookies_with_an_empty_or_unparsable_id_are_anonymous() {
    use common::NumericUsers;
    use login_runtime::remember::RememberCodec;
    use login_runtime::{LoginManager, RememberCookie, RememberFormat};
    use std::time::{Duration, SystemTime};

    let client = Client::new(
        test::init_service(
            App::new()
                .route("/who", web::get().to(common::numeric_who))
                .wrap(
                    LoginManager::new(NumericUsers)
                        .secret_key(common::secret())
                        .remember_cookie(RememberCookie::default().name("remember").secure(false)),
                )
                .wrap(common::session_middleware()),
        )
        .await,
    );
    let codec = RememberCodec::new(RememberFormat::Signed, common::secret());
    let signed = |id: &str| codec.encode(id, None, Duration::from_secs(60), SystemTime::now());
    // Validly signed, so only the id decides: a number logs in, anything else does not.
    client.set_cookie("remember", &signed("7"));
    assert_eq!(client.body("/who").await, "7");
    for id in ["", "seven", "-1", "99999999999999999999", " 7", "7\u{0}"] {
        client.clear_cookies();
        client.set_cookie("remember", &signed(id));
        let seen = client.get("/who").await;
        assert_eq!(seen.status, StatusCode::OK, "{id:?}");
        assert_eq!(seen.body, "Anonymous", "{id:?}");
    }
}

#[actix_web::test]
async fn remember_durations_past_any_cookie_date_neither_panic_nor_remove_the_cookie() {
    use login_runtime::{Login, LoginOptions, RememberCookie};
    use std::time::Duration;

    let store = Store::flask();
    let ten_thousand_years = Duration::from_secs(10_000 * 365 * 24 * 3600);
    let client = Client::new(
        test::init_service(
            App::new()
                .configure(common::routes)
                .route(
                    "/login-for-ages",
                    web::get().to(move |login: Login<common::User>| async move {
                        let options = LoginOptions::new()
                            .remember(true)
                            .duration(ten_thousand_years);
                        login.login_with(&common::notch(), options)?;
                        Ok::<_, actix_web::Error>("True")
                    }),
                )
                .wrap(
                    manager(&store, &Events::default()).remember_cookie(
                        RememberCookie::default()
                            .name("remember")
                            .secure(false)
                            .refresh_each_request(true),
                    ),
                )
                .wrap(common::session_middleware()),
        )
        .await,
    );
    let seen = client.get("/login-for-ages").await;
    assert_eq!(seen.status, StatusCode::OK);
    let cookie = seen.cookie("remember").expect("set, not removed");
    assert!(
        cookie
            .max_age()
            .is_some_and(|age| age > actix_web::cookie::time::Duration::ZERO)
    );
    assert_eq!(
        cookie.expires_datetime().map(|date| date.year()),
        Some(9999)
    );
    client.clear_session();
    assert_eq!(
        client.body("/username").await,
        "Notch",
        "refreshed without a panic"
    );
}
