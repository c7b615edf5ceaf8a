//! One conformance suite for every actix-session [`SessionStore`], as
//! [`device_registry_conformance`] is for device registries: a store is correct when it
//! passes. actix-session's own `acceptance_test_suite` is not public; this one checks the
//! same ground and what login-runtime relies on besides.
//!
//! [`device_registry_conformance`]: login_runtime::testing::device_registry_conformance

use std::collections::HashMap;
use std::time::Duration;

use actix_session::storage::{SessionKey, SessionStore};
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::{Key, time};
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};

/// What a store does with a write for a session that was deleted (or expired) after the
/// request that writes it loaded it: the one rule in which stores differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterDelete {
    /// The session stays deleted: the write stores nothing, and the key it returns loads
    /// nothing. Every store of this crate promises it, so a request that was in flight
    /// when its session was logged out never brings the login back.
    StaysDeleted,
    /// The write may store the state again under a new key (actix-session's
    /// `RedisSessionStore`, which falls back to a save). The suite does not check it.
    MayComeBack,
}

/// Runs the suite against a store: `store()` is called for each handle the suite needs, and
/// every handle must see the same sessions, as every instance of an app would (clones of one
/// store, or stores on one server under one prefix). Panics on the first rule the store
/// breaks, naming it. Keys are made afresh on each run, so a shared server can run it any
/// number of times. It sleeps about six seconds in all, to see time-to-live expire on the
/// server.
///
/// ```no_run
/// # #[cfg(feature = "sqlite")]
/// # async fn sqlite() {
/// use login_stores::sqlite::{SqliteSessionStore, migrate};
/// use login_stores::testing::{AfterDelete, session_store_conformance};
///
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// migrate(&pool).await.unwrap();
/// let store = SqliteSessionStore::new(pool);
/// session_store_conformance(|| store.clone(), AfterDelete::StaysDeleted).await;
/// # }
/// ```
pub async fn session_store_conformance<S, F>(store: F, after_delete: AfterDelete)
where
    S: SessionStore + 'static,
    F: Fn() -> S,
{
    let (one, other) = (store(), store());
    round_trip(&one, &other).await;
    updates(&one, &other).await;
    deletes(&one, &other).await;
    if after_delete == AfterDelete::StaysDeleted {
        stays_deleted(&one, &other).await;
    }
    concurrent(&one, &other).await;
    expiry(&one, &other, after_delete).await;
    through_the_middleware(store(), after_delete).await;
}

fn state(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn minutes(n: i64) -> time::Duration {
    time::Duration::minutes(n)
}

fn unknown_key() -> SessionKey {
    let random = hex::encode(rand::random::<[u8; 32]>());
    expect_ok(SessionKey::try_from(random), "a session key")
}

fn copy(key: &SessionKey) -> SessionKey {
    expect_ok(
        SessionKey::try_from(key.as_ref().to_owned()),
        "a session key",
    )
}

async fn round_trip<S: SessionStore>(one: &S, other: &S) {
    // What login-runtime keeps in a session, and values a store must not mangle.
    let login = state(&[
        ("_user_id", "\"42\""),
        ("_fresh", "true"),
        ("_device", "\"5f2a9c0e5f2a9c0e5f2a9c0e5f2a9c0e\""),
        ("unicode", "\"grüße, 世界, \\u0000\""),
        ("quotes", "\"it's \\\"quoted\\\"; DROP TABLE x; --\""),
    ]);
    let key = expect_ok(one.save(login.clone(), &minutes(10)).await, "save");
    assert_eq!(
        expect_ok(other.load(&key).await, "load"),
        Some(login.clone()),
        "a saved session loads back unchanged, from any instance"
    );
    assert_eq!(
        expect_ok(other.load(&unknown_key()).await, "load"),
        None,
        "an unknown key loads nothing"
    );
    let big = state(&[("big", &"x".repeat(64 * 1024))]);
    let big_key = expect_ok(one.save(big.clone(), &minutes(10)).await, "save");
    assert_eq!(
        expect_ok(other.load(&big_key).await, "load"),
        Some(big),
        "a 64 KiB value round-trips"
    );
    let empty_key = expect_ok(one.save(HashMap::new(), &minutes(10)).await, "save");
    assert_eq!(
        expect_ok(other.load(&empty_key).await, "load"),
        Some(HashMap::new()),
        "an empty session round-trips"
    );
    let mut keys: Vec<String> = Vec::new();
    for _ in 0..32 {
        let key = expect_ok(one.save(login.clone(), &minutes(10)).await, "save");
        keys.push(key.as_ref().to_owned());
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 32, "every save makes a new key");
    assert!(
        keys.iter().all(|key| key.len() >= 32),
        "keys are long enough not to be guessed"
    );
    for key in keys.into_iter().chain([
        key.as_ref().to_owned(),
        big_key.as_ref().to_owned(),
        empty_key.as_ref().to_owned(),
    ]) {
        let key = expect_ok(SessionKey::try_from(key), "a session key");
        expect_ok(one.delete(&key).await, "delete");
    }
}

async fn updates<S: SessionStore>(one: &S, other: &S) {
    let key = expect_ok(one.save(state(&[("a", "1")]), &minutes(10)).await, "save");
    let updated = expect_ok(
        other
            .update(copy(&key), state(&[("a", "2"), ("b", "3")]), &minutes(10))
            .await,
        "update",
    );
    assert_eq!(
        expect_ok(one.load(&updated).await, "load"),
        Some(state(&[("a", "2"), ("b", "3")])),
        "an update replaces the whole state"
    );
    if updated != key {
        assert_eq!(
            expect_ok(one.load(&key).await, "load"),
            None,
            "an update that moves the session leaves nothing under the old key"
        );
    }
    expect_ok(one.update_ttl(&updated, &minutes(20)).await, "update_ttl");
    assert_eq!(
        expect_ok(other.load(&updated).await, "load"),
        Some(state(&[("a", "2"), ("b", "3")])),
        "update_ttl keeps the state"
    );
    expect_ok(
        one.update_ttl(&unknown_key(), &minutes(20)).await,
        "update_ttl of an unknown key",
    );
    expect_ok(one.delete(&updated).await, "delete");
}

async fn deletes<S: SessionStore>(one: &S, other: &S) {
    let key = expect_ok(one.save(state(&[("a", "1")]), &minutes(10)).await, "save");
    let kept = expect_ok(one.save(state(&[("b", "2")]), &minutes(10)).await, "save");
    expect_ok(other.delete(&key).await, "delete");
    assert_eq!(
        expect_ok(one.load(&key).await, "load"),
        None,
        "a deleted session is gone, on every instance"
    );
    assert_eq!(
        expect_ok(one.load(&kept).await, "load"),
        Some(state(&[("b", "2")])),
        "and only that one"
    );
    expect_ok(other.delete(&key).await, "deleting twice is no error");
    expect_ok(
        other.delete(&unknown_key()).await,
        "deleting an unknown key is no error",
    );
    expect_ok(one.delete(&kept).await, "delete");
}

async fn stays_deleted<S: SessionStore>(one: &S, other: &S) {
    // A request loaded the session, a logout on another instance deleted it, and the
    // request, still holding the login, writes it back.
    let login = state(&[("_user_id", "\"7\"")]);
    let key = expect_ok(one.save(login.clone(), &minutes(10)).await, "save");
    expect_ok(other.delete(&key).await, "delete");
    let written = expect_ok(
        one.update(copy(&key), login.clone(), &minutes(10)).await,
        "update of a deleted session",
    );
    assert_eq!(
        expect_ok(other.load(&written).await, "load"),
        None,
        "a write for a deleted session does not bring it back, under any key"
    );
    assert_eq!(
        expect_ok(other.load(&key).await, "load"),
        None,
        "nor under its old one"
    );
    expect_ok(
        one.update_ttl(&key, &minutes(10)).await,
        "update_ttl of a deleted session",
    );
    assert_eq!(
        expect_ok(other.load(&key).await, "load"),
        None,
        "extending a deleted session does not bring it back"
    );
}

async fn concurrent<S: SessionStore>(one: &S, other: &S) {
    // 32 sessions written at once through two handles: each keeps its own state.
    let saves = (0..32).map(|i| {
        let store = if i % 2 == 0 { one } else { other };
        async move {
            let mine = state(&[("n", &i.to_string())]);
            let key = expect_ok(store.save(mine.clone(), &minutes(10)).await, "save");
            (key, mine)
        }
    });
    let saved = futures_util::future::join_all(saves).await;
    let updates = saved.iter().enumerate().map(|(i, (key, _))| {
        let store = if i % 2 == 0 { other } else { one };
        async move {
            let mine = state(&[("n", &i.to_string()), ("updated", "yes")]);
            let key = expect_ok(
                store.update(copy(key), mine.clone(), &minutes(10)).await,
                "update",
            );
            (key, mine)
        }
    });
    let updated = futures_util::future::join_all(updates).await;
    for (key, mine) in &updated {
        assert_eq!(
            expect_ok(one.load(key).await, "load").as_ref(),
            Some(mine),
            "concurrent writes to different sessions never mix"
        );
    }
    // 16 writes to one session at once: it ends as one of them, whole.
    let key = expect_ok(
        one.save(state(&[("w", "start")]), &minutes(10)).await,
        "save",
    );
    let writes = (0..16).map(|i| {
        let store = if i % 2 == 0 { one } else { other };
        let key = &key;
        async move {
            let write = state(&[("w", &i.to_string()), ("check", &format!("{i}-{i}"))]);
            expect_ok(store.update(copy(key), write, &minutes(10)).await, "update")
        }
    });
    let keys = futures_util::future::join_all(writes).await;
    for written in &keys {
        let loaded = expect_ok(one.load(written).await, "load")
            .unwrap_or_else(|| panic!("concurrent updates of one session keep it"));
        let w = loaded.get("w").cloned().unwrap_or_default();
        assert_eq!(
            loaded.get("check"),
            Some(&format!("{w}-{w}")),
            "concurrent updates of one session leave one write whole, not a mix"
        );
    }
    for (key, _) in updated {
        expect_ok(one.delete(&key).await, "delete");
    }
    for key in keys {
        expect_ok(one.delete(&key).await, "delete");
    }
}

async fn expiry<S: SessionStore>(one: &S, other: &S, after_delete: AfterDelete) {
    let second = time::Duration::seconds(1);
    let short = expect_ok(one.save(state(&[("a", "1")]), &second).await, "save");
    let extended = expect_ok(one.save(state(&[("b", "2")]), &second).await, "save");
    let rewritten = expect_ok(one.save(state(&[("c", "3")]), &second).await, "save");
    let lapsing = expect_ok(one.save(state(&[("d", "4")]), &second).await, "save");
    let long = expect_ok(one.save(state(&[("e", "5")]), &minutes(10)).await, "save");
    expect_ok(
        other
            .update_ttl(&extended, &time::Duration::seconds(5))
            .await,
        "update_ttl",
    );
    let rewritten = expect_ok(
        other
            .update(rewritten, state(&[("c", "4")]), &time::Duration::seconds(5))
            .await,
        "update",
    );
    sleep(Duration::from_millis(2300)).await;
    assert_eq!(
        expect_ok(other.load(&short).await, "load"),
        None,
        "a session is gone once its time-to-live has passed, whatever the client still holds"
    );
    assert_eq!(
        expect_ok(other.load(&extended).await, "load"),
        Some(state(&[("b", "2")])),
        "update_ttl extends the time-to-live"
    );
    assert_eq!(
        expect_ok(other.load(&rewritten).await, "load"),
        Some(state(&[("c", "4")])),
        "an update sets the time-to-live it is given"
    );
    assert_eq!(
        expect_ok(other.load(&long).await, "load"),
        Some(state(&[("e", "5")])),
        "a session within its time-to-live stays"
    );
    if after_delete == AfterDelete::StaysDeleted {
        let written = expect_ok(
            one.update(copy(&lapsing), state(&[("d", "5")]), &minutes(10))
                .await,
            "update of an expired session",
        );
        assert_eq!(
            expect_ok(other.load(&written).await, "load"),
            None,
            "a write for an expired session does not bring it back"
        );
    }
    sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        expect_ok(other.load(&extended).await, "load"),
        None,
        "an extended session expires at its new time"
    );
    for key in [short, extended, rewritten, lapsing, long] {
        expect_ok(one.delete(&key).await, "delete");
    }
}

/// The store under actix-session's own middleware, as login-runtime uses it: a new session
/// is saved, a change updates it, a renewal (login-runtime renews on login and logout) moves
/// it to a new key and the old cookie no longer loads it, a purge deletes it.
async fn through_the_middleware<S: SessionStore + 'static>(store: S, after_delete: AfterDelete) {
    let gate = Gate::default();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(gate.clone()))
            .route(
                "/late",
                web::get().to(|session: Session, gate: web::Data<Gate>| async move {
                    // Loaded before the gate opens, written after.
                    let _: Option<String> = session.get("value")?;
                    gate.enter_and_wait().await;
                    session.insert("value", "late")?;
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                }),
            )
            .route(
                "/set/{value}",
                web::get().to(|session: Session, value: web::Path<String>| async move {
                    session.insert("value", value.into_inner())?;
                    Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                }),
            )
            .route(
                "/get",
                web::get().to(|session: Session| async move {
                    let value: Option<String> = session.get("value")?;
                    Ok::<_, actix_web::Error>(value.unwrap_or_else(|| "none".to_owned()))
                }),
            )
            .route(
                "/renew",
                web::get().to(|session: Session| async move {
                    session.renew();
                    HttpResponse::Ok().finish()
                }),
            )
            .route(
                "/purge",
                web::get().to(|session: Session| async move {
                    session.purge();
                    HttpResponse::Ok().finish()
                }),
            )
            .wrap(
                SessionMiddleware::builder(store, Key::from(&[7u8; 64]))
                    .cookie_secure(false)
                    .build(),
            ),
    )
    .await;
    let call = async |path: &str, cookie: Option<&actix_web::cookie::Cookie<'static>>| {
        let mut req = TestRequest::get().uri(path);
        if let Some(cookie) = cookie {
            req = req.cookie(cookie.clone());
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let cookie = res
            .response()
            .cookies()
            .find(|cookie| cookie.name() == "id")
            .map(|cookie| cookie.into_owned());
        let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
        (cookie, body)
    };
    let (cookie, _) = call("/set/first", None).await;
    let first =
        cookie.unwrap_or_else(|| panic!("a session with state sets its cookie through the store"));
    assert_eq!(
        call("/get", Some(&first)).await.1,
        "first",
        "and loads back"
    );
    let (changed, _) = call("/set/second", Some(&first)).await;
    let current = changed.unwrap_or_else(|| first.clone());
    assert_eq!(call("/get", Some(&current)).await.1, "second");
    let (renewed, _) = call("/renew", Some(&current)).await;
    let mut renewed = renewed.unwrap_or_else(|| panic!("a renewal sets a new cookie"));
    assert_ne!(
        renewed.value(),
        current.value(),
        "a renewal changes the key"
    );
    assert_eq!(
        call("/get", Some(&renewed)).await.1,
        "second",
        "the renewed session keeps its state"
    );
    assert_eq!(
        call("/get", Some(&current)).await.1,
        "none",
        "the key from before the renewal loads nothing"
    );
    if after_delete == AfterDelete::StaysDeleted {
        // A request that loaded the session before the renewal writes to it afterwards.
        let late = async {
            let res = test::call_service(
                &app,
                TestRequest::get()
                    .uri("/late")
                    .cookie(renewed.clone())
                    .to_request(),
            )
            .await;
            res.response()
                .cookies()
                .find(|cookie| cookie.name() == "id")
                .map(|cookie| cookie.into_owned())
        };
        let renew_meanwhile = async {
            gate.wait_started().await;
            let (again, _) = call("/renew", Some(&renewed)).await;
            gate.release();
            again
        };
        let (late, again) = futures_util::future::join(late, renew_meanwhile).await;
        let again = again.unwrap_or_else(|| panic!("a renewal sets a new cookie"));
        assert_eq!(
            call("/get", Some(&again)).await.1,
            "second",
            "the session renewed meanwhile keeps its state"
        );
        let late = late.unwrap_or_else(|| panic!("the late write answers with a cookie"));
        assert_eq!(
            call("/get", Some(&late)).await.1,
            "none",
            "a write for a session renewed away meanwhile brings nothing back"
        );
        assert_eq!(
            call("/get", Some(&renewed)).await.1,
            "none",
            "nor under its old key"
        );
        renewed = again;
    }
    let (purged, _) = call("/purge", Some(&renewed)).await;
    assert!(
        purged.is_some_and(|cookie| cookie.value().is_empty()),
        "a purge removes the cookie"
    );
    assert_eq!(
        call("/get", Some(&renewed)).await.1,
        "none",
        "a purged session is gone from the store"
    );
}

/// Holds a request between loading its session and writing it.
#[derive(Clone, Default)]
struct Gate(std::sync::Arc<(std::sync::atomic::AtomicBool, std::sync::atomic::AtomicBool)>);

impl Gate {
    async fn enter_and_wait(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        for _ in 0..1000 {
            if self.0.1.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            sleep(Duration::from_millis(5)).await;
        }
    }

    async fn wait_started(&self) {
        for _ in 0..1000 {
            if self.0.0.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            sleep(Duration::from_millis(5)).await;
        }
        panic!("the late request never started");
    }

    fn release(&self) {
        self.0.1.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn sleep(duration: Duration) {
    actix_web::rt::time::sleep(duration).await;
}

fn expect_ok<T, E: std::fmt::Display>(result: Result<T, E>, operation: &str) -> T {
    result.unwrap_or_else(|error| panic!("{operation} failed: {error}"))
}

/// Runs the rules every login-runtime `ThrottleStore` must keep against `store` (handles from
/// `store()` must share their counters): a failure counts in its window, concurrent failures
/// all count, a reset forgets only its key, and a closed window counts again from one. Keys
/// are made afresh on each run. It sleeps about a second.
pub async fn throttle_store_conformance<T, F>(store: F)
where
    T: login_runtime::throttle::ThrottleStore,
    F: Fn() -> T,
{
    let run = hex::encode(rand::random::<[u8; 8]>());
    let (one, other) = (store(), store());
    let window = Duration::from_secs(60);
    let account = format!("account:{run}");
    let address = format!("address:{run}");
    assert_eq!(
        expect_ok(one.count(&account).await, "count"),
        None,
        "a key without failures has no window"
    );
    let first = expect_ok(one.add_failure(&account, window).await, "add_failure");
    assert_eq!(first.failures, 1, "the first failure opens a window at one");
    assert!(
        first.remaining <= window && first.remaining > window - Duration::from_secs(5),
        "the window is the one asked for: {:?}",
        first.remaining
    );
    let adds = (0..20).map(|i| {
        let store = if i % 2 == 0 { &one } else { &other };
        let account = &account;
        async move { expect_ok(store.add_failure(account, window).await, "add_failure") }
    });
    futures_util::future::join_all(adds).await;
    let counted = expect_ok(other.count(&account).await, "count")
        .unwrap_or_else(|| panic!("the window is open"));
    assert_eq!(
        counted.failures, 21,
        "concurrent failures on several instances all count"
    );
    assert!(
        counted.remaining <= first.remaining,
        "failures do not extend the window"
    );
    expect_ok(one.add_failure(&address, window).await, "add_failure");
    expect_ok(other.reset(&account).await, "reset");
    assert_eq!(
        expect_ok(one.count(&account).await, "count"),
        None,
        "a reset forgets the key's failures"
    );
    assert_eq!(
        expect_ok(one.count(&address).await, "count").map(|count| count.failures),
        Some(1),
        "and only that key's"
    );
    let short = format!("short:{run}");
    expect_ok(
        one.add_failure(&short, Duration::from_millis(300)).await,
        "add_failure",
    );
    sleep(Duration::from_millis(700)).await;
    assert_eq!(
        expect_ok(other.count(&short).await, "count"),
        None,
        "a closed window counts nothing"
    );
    let again = expect_ok(one.add_failure(&short, window).await, "add_failure");
    assert_eq!(again.failures, 1, "and the next failure starts from one");
    expect_ok(one.reset(&short).await, "reset");
    expect_ok(one.reset(&address).await, "reset");
}
