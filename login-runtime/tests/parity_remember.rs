//! Remember-me, against Flask-Login's suite (items 34-51, 62, 67-68, 105-106 and the P-items
//! about the cookie) and the promises Flask-Login does not make: expiry, revocation by
//! password change, key rotation, and the Flask-Login-compatible format for migrations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use actix_web::cookie::time::{Duration as CookieDuration, OffsetDateTime};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use common::{Events, Store, manager, secret};
use login_runtime::remember::{RememberCodec, flask};
use login_runtime::{LoginEvent, RememberCookie, RememberFormat, SecretKey, SessionProtection};

fn assert_expires_in(cookie: &actix_web::cookie::Cookie<'_>, expected: Duration) {
    let expires = cookie.expires_datetime().expect("an expiry");
    let wanted = OffsetDateTime::now_utc() + CookieDuration::seconds(expected.as_secs() as i64);
    assert!(
        (expires - wanted).abs() <= CookieDuration::seconds(10),
        "expires {expires}, wanted {wanted}"
    );
    assert_eq!(
        cookie.max_age(),
        Some(CookieDuration::seconds(expected.as_secs() as i64))
    );
}

/// The test manager's remember cookie, refreshed on each request.
fn refreshing() -> RememberCookie {
    RememberCookie::default()
        .name("remember")
        .refresh_each_request(true)
        .secure(false)
}

fn is_removal(cookie: Option<&actix_web::cookie::Cookie<'_>>) -> bool {
    cookie.is_some_and(|cookie| cookie.max_age() == Some(CookieDuration::ZERO))
}

#[actix_web::test]
async fn remember_me() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
    assert_eq!(client.body("/is-remembered").await, "True");
}

#[actix_web::test]
async fn remember_me_custom_duration() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let seen = client.get("/login-notch-remember-custom").await;
    assert_expires_in(
        seen.cookie("remember").unwrap(),
        Duration::from_secs(7 * 3600),
    );
    client.clear_session();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/is-fresh").await, "False");
    assert_eq!(client.body("/is-remembered").await, "True");
}

#[actix_web::test]
async fn remember_me_uses_custom_cookie_parameters() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).remember_cookie(
            RememberCookie::default()
                .name("myname")
                .duration(Duration::from_secs(2 * 24 * 3600))
                .path("/mypath")
                .domain("localhost.local")
                .secure(false)
        )
    );
    let seen = client.get("/login-notch-remember").await;
    let cookie = seen.cookie("myname").expect("the custom name");
    assert_eq!(cookie.domain(), Some("localhost.local"));
    assert_eq!(cookie.path(), Some("/mypath"));
    assert_expires_in(cookie, Duration::from_secs(2 * 24 * 3600));
}

#[actix_web::test]
async fn remember_me_custom_duration_uses_custom_cookie() {
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).remember_cookie(
            RememberCookie::default()
                .name("remember")
                .duration(Duration::from_secs(172_800))
                .secure(false)
        )
    );
    let seen = client.get("/login-notch-remember-custom").await;
    assert_expires_in(
        seen.cookie("remember").unwrap(),
        Duration::from_secs(7 * 3600),
    );
}

#[actix_web::test]
async fn remember_me_accepts_duration_as_configured() {
    // 38: the configured duration applies when the login names none.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).remember_cookie(
            RememberCookie::default()
                .name("remember")
                .duration(Duration::from_secs(172_800))
                .secure(false)
        )
    );
    let seen = client.get("/login-notch-remember").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_expires_in(
        seen.cookie("remember").unwrap(),
        Duration::from_secs(172_800),
    );
}

#[actix_web::test]
async fn remember_cookie_defaults_are_safe() {
    // Difference: Secure, HttpOnly and SameSite=Lax unless the app says otherwise.
    let store = Store::flask();
    let client = flask_app!(login_runtime::LoginManager::new(store.clone()).secret_key(secret()));
    let seen = client.get("/login-notch-remember").await;
    let cookie = seen.cookie("remember_token").expect("default name");
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    assert_eq!(cookie.path(), Some("/"));
    assert_expires_in(cookie, Duration::from_secs(365 * 24 * 3600));
}

#[actix_web::test]
async fn remember_me_no_refresh_every_request() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Notch");
    assert!(
        seen.cookie("remember").is_none(),
        "the cookie is not rewritten"
    );
    assert!(client.get("/username").await.cookie("remember").is_none());
}

#[actix_web::test]
async fn remember_me_refresh_each_request() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).remember_cookie(refreshing()));
    let first = client
        .get("/login-notch-remember-custom")
        .await
        .cookie("remember")
        .unwrap()
        .clone();
    std::thread::sleep(Duration::from_millis(1100));
    // P24: refreshed even when the handler never asks for the user.
    let seen = client.get("/").await;
    let refreshed = seen.cookie("remember").expect("refreshed");
    assert!(refreshed.expires_datetime().unwrap() > first.expires_datetime().unwrap());
    assert_ne!(refreshed.value(), first.value());
    // The per-login duration is kept on refresh.
    assert_expires_in(refreshed, Duration::from_secs(7 * 3600));
    // After logout nothing is refreshed.
    client.get("/logout").await;
    assert!(client.get("/").await.cookie("remember").is_none());
}

#[actix_web::test]
async fn refresh_each_request_only_for_remembered_logins() {
    // Difference (P23, Flask-Login #424/#824): a login without remember-me gets no cookie.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).remember_cookie(refreshing()));
    assert!(
        client
            .get("/login-notch")
            .await
            .cookie("remember")
            .is_none()
    );
    assert!(client.get("/username").await.cookie("remember").is_none());
}

#[actix_web::test]
async fn remember_me_is_unfresh() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(client.body("/is-fresh").await, "False");
    assert_eq!(client.body("/is-remembered").await, "True");
}

#[actix_web::test]
async fn user_loaded_from_cookie_fired() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events));
    client.get("/login-notch-remember").await;
    client.clear_session();
    events.clear();
    client.get("/username").await;
    client.get("/username").await;
    assert_eq!(
        events.all(),
        vec![LoginEvent::LoadedFromCookie {
            user_id: "1".into()
        }]
    );
}

#[actix_web::test]
async fn logout_stays_logged_out_with_remember_me() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    let seen = client.get("/logout").await;
    assert!(is_removal(seen.cookie("remember")));
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn logout_stays_logged_out_with_remember_me_custom_duration() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember-custom").await;
    client.get("/logout").await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Anonymous");
}

#[actix_web::test]
async fn confirm_login() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(client.body("/is-fresh").await, "False");
    assert_eq!(client.body("/is-remembered").await, "True");
    client.get("/confirm-login").await;
    assert_eq!(client.body("/is-fresh").await, "True");
    assert_eq!(client.body("/is-remembered").await, "True");
}

#[actix_web::test]
async fn invalid_remember_cookie() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    client.set_cookie("remember", "foo");
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(
        is_removal(seen.cookie("remember")),
        "an invalid cookie is cleared"
    );
}

#[actix_web::test]
async fn invalid_remember_cookie_does_not_block_request_loader() {
    // Difference (P8; Flask-Login PR #901).
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.set_cookie("remember", "foo");
    assert_eq!(client.body("/username?user_id=2").await, "Steve");
}

#[actix_web::test]
async fn valid_cookie_for_a_missing_user_writes_no_session() {
    // Difference (P9): nothing of a login nobody holds is written into the session.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    client.clear_session();
    store.users.borrow_mut().remove("1");
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(
        seen.cookie("id").is_none(),
        "no session is written: {:?}",
        seen.set_cookies
    );
    assert!(is_removal(seen.cookie("remember")));
}

#[actix_web::test]
async fn session_protection_basic_skips_when_remember_me() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events).session_protection(SessionProtection::Basic));
    client.get("/login-notch-remember").await;
    client.clear_session();
    *client.user_agent.borrow_mut() = "another browser".into();
    events.clear();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::SessionProtected { .. })),
        0
    );
}

#[actix_web::test]
async fn session_protection_strong_skips_when_remember_me() {
    let store = Store::flask();
    let events = Events::default();
    let client = flask_app!(manager(&store, &events).session_protection(SessionProtection::Strong));
    client.get("/login-notch-remember").await;
    client.clear_session();
    events.clear();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(
        events.count(|e| matches!(e, LoginEvent::SessionProtected { .. })),
        0
    );
}

#[actix_web::test]
async fn strong_protection_keeps_a_login_restored_from_remember_me() {
    // Difference (P1; Flask-Login #248/#685): the restored session stores its identifier, so
    // the next request is still logged in.
    let store = Store::flask();
    let client = flask_app!(
        manager(&store, &Events::default()).session_protection(SessionProtection::Strong)
    );
    client.get("/login-notch-remember").await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/username").await, "Notch");
    assert_eq!(client.body("/username").await, "Notch");
}

#[actix_web::test]
async fn remember_me_username() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-germanjapanese-remember").await;
    client.clear_session();
    assert_eq!(client.body("/username").await, "Müller");
}

#[actix_web::test]
async fn remember_me_user_id() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-germanjapanese-remember").await;
    client.clear_session();
    assert_eq!(client.body("/user-id").await, "佐藤");
}

#[actix_web::test]
async fn expired_cookie_is_refused_although_the_client_sends_it() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    let codec = RememberCodec::new(RememberFormat::Signed, secret());
    let tag = secret().session_hash_tag(b"hash-of-Notch");
    let issued = SystemTime::now() - Duration::from_secs(3600);
    let expired = codec.encode("1", Some(&tag), Duration::from_secs(60), issued);
    let fresh = codec.encode("1", Some(&tag), Duration::from_secs(60), SystemTime::now());
    client.set_cookie("remember", &expired);
    let seen = client.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(is_removal(seen.cookie("remember")));
    // The same cookie, still in date, works: the expiry is what refused it.
    client.set_cookie("remember", &fresh);
    assert_eq!(client.body("/username").await, "Notch");
}

#[actix_web::test]
async fn any_changed_byte_gets_the_cookie_refused() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.get("/login-notch-remember").await;
    let valid = client.cookie("remember").unwrap();
    for index in (0..valid.len()).step_by(7) {
        let mut bytes = valid.clone().into_bytes();
        bytes[index] = if bytes[index] == b'0' { b'1' } else { b'0' };
        let Ok(tampered) = String::from_utf8(bytes) else {
            continue;
        };
        client.clear_cookies();
        client.set_cookie("remember", &tampered);
        assert_eq!(client.body("/username").await, "Anonymous", "byte {index}");
    }
}

#[actix_web::test]
async fn password_change_logs_out_a_remembered_second_client() {
    let store = Store::flask();
    let laptop = flask_app!(manager(&store, &Events::default()));
    let phone = flask_app!(manager(&store, &Events::default()));
    laptop.get("/login-notch-remember").await;
    phone.get("/login-notch-remember").await;
    let phone_remember = phone.cookie("remember").unwrap();
    assert_eq!(phone.body("/username").await, "Notch");

    // The password changes (on the laptop, say).
    store.set_password("1", "a-new-hash");

    // The phone's session ends at its next request, and so does its remember cookie.
    let seen = phone.get("/username").await;
    assert_eq!(seen.body, "Anonymous");
    assert!(is_removal(seen.cookie("remember")));
    phone.clear_session();
    phone.set_cookie("remember", &phone_remember);
    let seen = phone.get("/username").await;
    assert_eq!(
        seen.body, "Anonymous",
        "the old remember cookie is refused too"
    );
    assert!(is_removal(seen.cookie("remember")));
}

#[actix_web::test]
async fn cookie_signed_with_a_rotated_out_key_is_accepted_while_listed_and_re_signed() {
    let store = Store::flask();
    let old_key = SecretKey::generate();
    let new_key = SecretKey::generate();
    let before = flask_app!(manager(&store, &Events::default()).secret_key(old_key.clone()));
    before.get("/login-notch-remember").await;
    let old_cookie = before.cookie("remember").unwrap();

    let rotated = flask_app!(
        manager(&store, &Events::default())
            .secret_key(new_key.clone())
            .previous_secret_keys([old_key.clone()])
    );
    rotated.set_cookie("remember", &old_cookie);
    let seen = rotated.get("/username").await;
    assert_eq!(seen.body, "Notch");
    let resigned = seen
        .cookie("remember")
        .expect("re-signed with the current key");
    assert_ne!(resigned.value(), old_cookie);
    let current_only = RememberCodec::new(RememberFormat::Signed, new_key.clone());
    let token = current_only
        .decode(resigned.value(), SystemTime::now())
        .expect("verifies with the new key");
    assert!(!token.signed_with_previous_key);
    // Same expiry as the original cookie.
    let original = RememberCodec::new(RememberFormat::Signed, old_key)
        .decode(&old_cookie, SystemTime::now())
        .unwrap();
    assert_eq!(token.expires_at, original.expires_at);

    // Once the old key is dropped, its cookies are refused.
    let dropped = flask_app!(manager(&store, &Events::default()).secret_key(new_key));
    dropped.set_cookie("remember", &old_cookie);
    assert_eq!(dropped.body("/username").await, "Anonymous");
}

/// A client that logged in with remember-me under an old key, on an app where that key has
/// just been rotated out (`remember` configures the new app's cookie). Returns the client
/// (session and remember cookie kept, as a browser keeps them), the old key, the new key and
/// the old key's cookie.
async fn rotated_after_login(
    store: &Store,
    remember: RememberCookie,
) -> (
    common::Client<impl common::TestApp>,
    SecretKey,
    SecretKey,
    String,
) {
    let (old_key, new_key) = (SecretKey::generate(), SecretKey::generate());
    let before = flask_app!(manager(store, &Events::default()).secret_key(old_key.clone()));
    before.get("/login-notch-remember").await;
    let old_cookie = before.cookie("remember").unwrap();
    let rotated = flask_app!(
        manager(store, &Events::default())
            .secret_key(new_key.clone())
            .previous_secret_keys([old_key.clone()])
            .remember_cookie(remember)
    );
    rotated.set_cookie("id", &before.cookie("id").unwrap());
    rotated.set_cookie("remember", &old_cookie);
    (rotated, old_key, new_key, old_cookie)
}

#[actix_web::test]
async fn a_logged_in_clients_old_key_cookie_is_re_signed_and_outlives_the_old_key() {
    // The re-signing on use is not only for restores: a client that still has its session
    // also gets its remember cookie moved to the current key, so retiring the old key later
    // does not log it out once the session ends.
    let store = Store::flask();
    let (rotated, old_key, new_key, old_cookie) = rotated_after_login(
        &store,
        RememberCookie::default().name("remember").secure(false),
    )
    .await;
    let seen = rotated.get("/username").await;
    assert_eq!(seen.body, "Notch");
    let resigned = seen
        .cookie("remember")
        .expect("re-signed with the current key");
    let token = RememberCodec::new(RememberFormat::Signed, new_key.clone())
        .decode(resigned.value(), SystemTime::now())
        .expect("verifies with the new key alone");
    let original = RememberCodec::new(RememberFormat::Signed, old_key)
        .decode(&old_cookie, SystemTime::now())
        .unwrap();
    assert_eq!(token.expires_at, original.expires_at, "same expiry");
    // Re-signed once: the next request leaves it alone.
    assert!(rotated.get("/username").await.cookie("remember").is_none());

    // The old key retired, the browser closed: the re-signed cookie still logs Notch in.
    let retired = flask_app!(manager(&store, &Events::default()).secret_key(new_key));
    retired.set_cookie("remember", resigned.value());
    assert_eq!(retired.body("/username").await, "Notch");
}

#[actix_web::test]
async fn refresh_each_request_after_a_key_rotation_re_tags_the_cookie_with_the_current_key() {
    let store = Store::flask();
    let (rotated, _, new_key, _) = rotated_after_login(&store, refreshing()).await;
    // A page that never loads the user cannot re-make the user's hash tag: it leaves the
    // cookie as it is rather than re-signing a tag the current key cannot vouch for.
    assert!(rotated.get("/").await.cookie("remember").is_none());
    let seen = rotated.get("/username").await;
    assert_eq!(seen.body, "Notch");
    let refreshed = seen
        .cookie("remember")
        .expect("refreshed")
        .value()
        .to_owned();
    assert!(
        RememberCodec::new(RememberFormat::Signed, new_key.clone())
            .decode(&refreshed, SystemTime::now())
            .is_some()
    );
    // From now on every request refreshes it, with the current key's tag.
    let again = rotated.get("/").await;
    let refreshed = again
        .cookie("remember")
        .expect("refreshed")
        .value()
        .to_owned();

    let retired = flask_app!(
        manager(&store, &Events::default())
            .secret_key(new_key)
            .remember_cookie(refreshing())
    );
    retired.set_cookie("remember", &refreshed);
    assert_eq!(retired.body("/username").await, "Notch");
}

#[actix_web::test]
async fn a_stale_cookie_is_not_revived_by_a_refresh() {
    // The password changed: a refresh re-signs the cookie, but never with the new hash tag.
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()).remember_cookie(refreshing()));
    client.get("/login-notch-remember").await;
    let stale = client.cookie("remember").unwrap();
    store.set_password("1", "new-hash");
    // The session's request ends the login and clears the cookie.
    assert!(is_removal(client.get("/username").await.cookie("remember")));
    // A client holding the stale cookie and no session is refused however often it refreshes.
    let other = flask_app!(manager(&store, &Events::default()).remember_cookie(refreshing()));
    other.set_cookie("remember", &stale);
    let seen = other.get("/").await;
    if let Some(refreshed) = seen.cookie("remember").filter(|c| !c.value().is_empty()) {
        other.set_cookie("remember", refreshed.value());
    }
    assert_eq!(other.body("/username").await, "Anonymous");
}

mod flask_format {
    use super::*;

    pub(super) const FLASK_SECRET: &str =
        "3b7f2a9c1e8d4f6a0b5c7e9d2f4a6c8e1b3d5f7a9c0e2f4b6d8a1c3e5f7b9d0a";

    /// The test manager with the Flask app's key, in the FlaskLogin format.
    pub(super) fn flask_manager(store: &Store) -> login_runtime::LoginManager<Store> {
        manager(store, &Events::default())
            .secret_key(SecretKey::try_from(FLASK_SECRET).unwrap())
            .remember_format(RememberFormat::FlaskLogin)
    }

    #[actix_web::test]
    async fn a_cookie_written_by_flask_login_restores_the_login() {
        let store = Store::flask();
        let client = flask_app!(flask_manager(&store));
        // What Flask-Login's `encode_cookie("1")` writes with this SECRET_KEY.
        client.set_cookie(
            "remember",
            &flask::encode_cookie(FLASK_SECRET.as_bytes(), "1"),
        );
        assert_eq!(client.body("/username").await, "Notch");
        assert_eq!(client.body("/is-fresh").await, "False");
    }

    #[actix_web::test]
    async fn the_cookie_we_write_is_the_one_flask_login_writes() {
        let store = Store::flask();
        let client = flask_app!(flask_manager(&store));
        let seen = client.get("/login-notch-remember").await;
        let cookie = seen.cookie("remember").unwrap();
        assert_eq!(
            cookie.value(),
            flask::encode_cookie(FLASK_SECRET.as_bytes(), "1")
        );
        assert_eq!(
            flask::decode_cookie(FLASK_SECRET.as_bytes(), cookie.value()).as_deref(),
            Some("1")
        );
    }

    #[actix_web::test]
    async fn a_tampered_flask_cookie_is_refused() {
        let store = Store::flask();
        let client = flask_app!(flask_manager(&store));
        let forged = flask::encode_cookie(b"some other secret key of the same length......", "1");
        client.set_cookie("remember", &forged);
        assert_eq!(client.body("/username").await, "Anonymous");
        client.set_cookie(
            "remember",
            &flask::encode_cookie(FLASK_SECRET.as_bytes(), "1").replace("1|", "2|"),
        );
        assert_eq!(client.body("/username").await, "Anonymous");
    }

    #[actix_web::test]
    async fn a_signed_cookie_is_not_accepted_in_flask_mode_nor_the_reverse() {
        let store = Store::flask();
        let key = SecretKey::try_from(FLASK_SECRET).unwrap();
        let signed = RememberCodec::new(RememberFormat::Signed, key.clone()).encode(
            "1",
            None,
            Duration::from_secs(60),
            SystemTime::now(),
        );
        let client = flask_app!(flask_manager(&store));
        client.set_cookie("remember", &signed);
        assert_eq!(client.body("/username").await, "Anonymous");
        let client = flask_app!(manager(&store, &Events::default()).secret_key(key));
        client.set_cookie(
            "remember",
            &flask::encode_cookie(FLASK_SECRET.as_bytes(), "1"),
        );
        assert_eq!(client.body("/username").await, "Anonymous");
    }
}

#[actix_web::test]
async fn oversized_and_duplicate_remember_cookies_are_anonymous() {
    let store = Store::flask();
    let client = flask_app!(manager(&store, &Events::default()));
    client.set_cookie("remember", &"a".repeat(64 * 1024));
    let seen = client.get("/username").await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body, "Anonymous");
    // Two cookies of the same name: neither panics nor logs anyone in when one is bogus.
    client.get("/login-notch-remember").await;
    let valid = client.cookie("remember").unwrap();
    client.clear_cookies();
    let req = TestRequest::get()
        .uri("/username")
        .insert_header(("cookie", format!("remember=bogus; remember={valid}")))
        .to_request();
    let seen = client.send_raw(req).await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[actix_web::test]
async fn workers_without_a_configured_key_share_one() {
    // actix builds the app once per worker: without `secret_key`, every worker of the process
    // must still accept what another signed (and the session-hash tags must agree).
    let store = Store::flask();
    let unkeyed = || {
        login_runtime::LoginManager::new(store.clone())
            .remember_cookie(RememberCookie::default().name("remember").secure(false))
    };
    let first = flask_app!(unkeyed());
    let second = flask_app!(unkeyed());
    first.get("/login-notch-remember").await;
    second.set_cookie("remember", &first.cookie("remember").unwrap());
    assert_eq!(second.body("/username").await, "Notch");
    second.set_cookie("id", &first.cookie("id").unwrap());
    assert_eq!(second.body("/username").await, "Notch");
}

mod werkzeug_quoting {
    //! P29: Werkzeug quotes non-ASCII, space, `;` and `,` in cookie values with octal escapes;
    //! a Flask-format login with such an id still travels between the two apps.
    use super::flask_format::{FLASK_SECRET, flask_manager};
    use super::*;

    /// What Werkzeug's `dump_cookie` writes for `value`, spelled out by hand for these ids.
    fn werkzeug_quoted(id: &str, digest: &str) -> String {
        let escaped: String = id
            .bytes()
            .map(|byte| match byte {
                b' ' => " ".to_owned(),
                b';' | b',' | 0x7f..=0xff => format!("\\{byte:03o}"),
                other => char::from(other).to_string(),
            })
            .collect();
        format!("\"{escaped}|{digest}\"")
    }

    #[actix_web::test]
    async fn an_id_with_leading_spaces_round_trips_quoted() {
        // The `cookie` crate trims the whitespace inside quotes; Werkzeug does not, and
        // neither do we.
        use actix_web::{App, web};
        use login_runtime::{Login, LoginOptions};

        let store = Store::flask();
        let spaced = common::user("Spaced", "  7", true);
        store
            .users
            .borrow_mut()
            .insert(spaced.id.clone(), spaced.clone());
        let client = common::Client::new(
            actix_web::test::init_service(
                App::new()
                    .configure(common::routes)
                    .route(
                        "/login-spaced-remember",
                        web::get().to(move |login: Login<common::User>| {
                            let spaced = spaced.clone();
                            async move {
                                login
                                    .login_with(&spaced, LoginOptions::new().remember(true))
                                    .map(|done| done.to_string())
                            }
                        }),
                    )
                    .wrap(flask_manager(&store))
                    .wrap(common::session_middleware()),
            )
            .await,
        );
        assert_eq!(client.body("/login-spaced-remember").await, "true");
        let written = client.cookie("remember").expect("a remember cookie");
        let plain = flask::encode_cookie(FLASK_SECRET.as_bytes(), "  7");
        assert_eq!(written, format!("\"{plain}\""));
        client.clear_session();
        assert_eq!(client.body("/user-id").await, "  7");

        // And the cookie a Flask app wrote for that id logs in here.
        let flask_side = flask_app!(flask_manager(&store));
        flask_side.set_cookie("remember", &format!("\"{plain}\""));
        assert_eq!(flask_side.body("/user-id").await, "  7");
    }

    #[actix_web::test]
    async fn escapes_outside_quotes_are_taken_literally_as_werkzeug_takes_them() {
        let store = Store::flask();
        let client = flask_app!(flask_manager(&store));
        let plain = flask::encode_cookie(FLASK_SECRET.as_bytes(), "1");
        // `\061` is `1` only inside quotes; Werkzeug reads `\061|…` unquoted as it stands.
        let respelled = plain.replacen('1', "\\061", 1);
        client.set_cookie("remember", &format!("\"{respelled}\""));
        assert_eq!(client.body("/user-id").await, "1");
        client.clear_cookies();
        client.set_cookie("remember", &respelled);
        assert_eq!(client.body("/user-id").await, "", "anonymous");
    }

    #[actix_web::test]
    async fn flask_quoted_cookie_with_non_ascii_and_separators_round_trips() {
        let store = Store::flask();
        let odd = common::user("Odd", "佐藤 x;y", true);
        store.users.borrow_mut().insert(odd.id.clone(), odd);
        let client = flask_app!(flask_manager(&store));
        let plain = flask::encode_cookie(FLASK_SECRET.as_bytes(), "佐藤 x;y");
        let digest = plain.rsplit('|').next().unwrap();
        let quoted = werkzeug_quoted("佐藤 x;y", digest);
        assert!(
            quoted.starts_with("\"\\344\\275\\220\\350\\227\\244 x\\073y|"),
            "{quoted}"
        );
        client.set_cookie("remember", &quoted);
        assert_eq!(client.body("/user-id").await, "佐藤 x;y");
    }

    #[actix_web::test]
    async fn we_write_non_ascii_ids_quoted_as_werkzeug_does() {
        let store = Store::flask();
        let client = flask_app!(flask_manager(&store));
        client.get("/login-germanjapanese-remember").await;
        let written = client.cookie("remember").unwrap();
        let plain = flask::encode_cookie(FLASK_SECRET.as_bytes(), "佐藤");
        let digest = plain.rsplit('|').next().unwrap();
        // Kept with its quotes, as a browser keeps it.
        assert_eq!(written, werkzeug_quoted("佐藤", digest));
        client.clear_session();
        assert_eq!(client.body("/username").await, "Müller");
    }
}
