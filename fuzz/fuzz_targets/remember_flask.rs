//! The Flask-Login remember cookie (`id|hex(HMAC-SHA512(secret, id))`), through both the free
//! function and the codec: no input panics, only the one cookie the key signed is accepted,
//! and the signed format never accepts it.
//!
//! Then the same input through the path a request takes: a `LoginManager` in FlaskLogin format
//! reading a `Cookie: remember=…` header, which unquotes Werkzeug-quoted values (`"…"` with
//! `\ooo` and `\c` escapes) before it verifies them. The cookie's id (`佐藤 x;y,"q\<TAB>|7`)
//! needs every kind of escape. Raw values, edits of the valid quoted cookie, quoted fuzzer
//! strings and quoted edits of the valid plain cookie: no request panics or fails, and nobody
//! but the signed id is ever logged in. Respellings of the valid cookie that Werkzeug reads as
//! the same value (any byte as `\ooo`, a letter or `|` as `\c`) log exactly that id in.
#![no_main]

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::LazyLock;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::dev::Service;
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, HeaderValue, SET_COOKIE};
use actix_web::rt::{System, SystemRunner};
use actix_web::test::{self, TestRequest};
use actix_web::{App, web};
use libfuzzer_sys::fuzz_target;
use login_runtime::remember::flask::{decode_cookie, encode_cookie};
use login_runtime::remember::{RememberCodec, RememberFormat};
use login_runtime::{
    AuthUser, Login, LoginManager, LoginOptions, MaybeUser, RememberCookie, SecretKey,
    SessionProtection, UserLoader,
};

#[path = "common.rs"]
mod common;

static KEY: LazyLock<Vec<u8>> = LazyLock::new(common::key_bytes);

static CODEC: LazyLock<RememberCodec> = LazyLock::new(|| {
    let key = SecretKey::try_from_bytes(&KEY).expect("fixed key is strong");
    RememberCodec::new(RememberFormat::FlaskLogin, key)
});

static SIGNED: LazyLock<RememberCodec> = LazyLock::new(|| {
    let key = SecretKey::try_from_bytes(&KEY).expect("fixed key is strong");
    RememberCodec::new(RememberFormat::Signed, key)
});

static VALID: LazyLock<String> = LazyLock::new(|| encode_cookie(&KEY, "42|x"));

fn check(cookie: &[u8]) {
    let Ok(cookie) = std::str::from_utf8(cookie) else {
        return;
    };
    let decoded = decode_cookie(&KEY, cookie);
    let token = CODEC.decode(cookie, common::now());
    assert_eq!(
        decoded.as_deref(),
        token.as_ref().map(|token| token.user_id.as_str()),
        "free function and codec disagree"
    );
    if decoded.is_some() {
        assert_eq!(
            cookie,
            VALID.as_str(),
            "accepted a cookie the key never signed"
        );
    }
    assert!(
        SIGNED.decode(cookie, common::now()).is_none(),
        "signed format accepted a Flask-format value"
    );
}

/// The id of the quoted cookie: non-ASCII, space, `;`, `,`, `"`, `\`, a control character and
/// `|`, so Werkzeug quotes it and escapes every class it escapes.
const QUOTED_ID: &str = "佐藤 x;y,\"q\\\t|7";

/// `QUOTED_ID`'s cookie before quoting.
static PLAIN: LazyLock<String> = LazyLock::new(|| encode_cookie(&KEY, QUOTED_ID));

/// `PLAIN` as Werkzeug's `dump_cookie` writes it (checked against what the runtime writes).
static QUOTED: LazyLock<String> = LazyLock::new(|| werkzeug_quote(&PLAIN));

/// Werkzeug's cookie quoting, written from its rules: a value of only
/// `[A-Za-z0-9_!#$%&'()*+-./:<=>?@[]^\`{|}~]` goes as it is; any other goes in `"…"` with `"`
/// and `\` backslash-escaped and bytes below 0x20, `,`, `;` and from 0x7f up as `\ooo`.
fn werkzeug_quote(value: &str) -> String {
    let plain =
        |byte: u8| byte.is_ascii_alphanumeric() || b"_!#$%&'()*+-./:<=>?@[]^`{|}~".contains(&byte);
    if value.bytes().all(plain) {
        return value.to_owned();
    }
    let mut quoted = String::from("\"");
    for byte in value.bytes() {
        quoted.push_str(&escape(byte));
    }
    quoted.push('"');
    quoted
}

/// One byte as Werkzeug writes it inside quotes.
fn escape(byte: u8) -> String {
    match byte {
        b'"' => "\\\"".to_owned(),
        b'\\' => "\\\\".to_owned(),
        0x00..=0x1f | b',' | b';' | 0x7f..=0xff => format!("\\{byte:03o}"),
        _ => char::from(byte).to_string(),
    }
}

/// `PLAIN`, quoted, each byte spelled as `choices` say: Werkzeug's way, `\ooo`, or (a letter
/// or `|`) `\c`. Werkzeug unquotes every such spelling to `PLAIN`.
fn respell(choices: &[u8]) -> String {
    let mut quoted = String::from("\"");
    for (at, byte) in PLAIN.bytes().enumerate() {
        let choice = choices.get(at % choices.len().max(1)).copied().unwrap_or(0) % 3;
        match choice {
            1 => quoted.push_str(&format!("\\{byte:03o}")),
            2 if byte.is_ascii_alphabetic() || byte == b'|' => {
                quoted.push('\\');
                quoted.push(char::from(byte));
            }
            _ => quoted.push_str(&escape(byte)),
        }
    }
    quoted.push('"');
    quoted
}

/// Anyone: every id loads a user, so whatever the runtime verifies shows in the response.
#[derive(Debug, Clone)]
struct User(String);

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.0.clone()
    }
}

struct Anyone;

impl UserLoader for Anyone {
    type User = User;
    type Id = String;
    type Error = String;
    async fn load_user(&self, id: &String) -> Result<Option<User>, String> {
        Ok(Some(User(id.clone())))
    }
}

/// What a request got back.
struct Seen {
    status: StatusCode,
    set_cookies: Vec<String>,
    body: Vec<u8>,
}

type Response = Pin<Box<dyn Future<Output = Seen>>>;
type Call = Rc<dyn Fn(actix_http::Request) -> Response>;

/// One app per thread (the runtime is not `Send`), built on first use and never dropped:
/// actix's own thread-locals are gone by the time a thread-local harness would drop at exit.
struct Harness {
    runner: SystemRunner,
    call: Call,
}

thread_local! {
    static HARNESS: OnceCell<&'static Harness> = const { OnceCell::new() };
}

async fn build() -> Call {
    let key = SecretKey::try_from_bytes(&KEY).expect("fixed key is strong");
    let manager = LoginManager::new(Anyone)
        .secret_key(key)
        .remember_format(RememberFormat::FlaskLogin)
        .session_protection(SessionProtection::Off)
        .remember_cookie(RememberCookie::default().name("remember").secure(false));
    let session = SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[7u8; 64]))
        .cookie_secure(false)
        .build();
    let app = test::init_service(
        App::new()
            .route(
                "/user-id",
                web::get().to(|user: MaybeUser<User>| async move {
                    user.get()
                        .map_or_else(|| "anonymous".to_owned(), |user| format!("id:{}", user.0))
                }),
            )
            .route(
                "/login-remember",
                web::get().to(|login: Login<User>| async move {
                    login
                        .login_with(
                            &User(QUOTED_ID.to_owned()),
                            LoginOptions::new().remember(true),
                        )
                        .map(|_| "ok")
                }),
            )
            .wrap(manager)
            .wrap(session),
    )
    .await;
    let app = Rc::new(app);
    Rc::new(move |req| {
        let app = Rc::clone(&app);
        Box::pin(async move {
            match app.call(req).await {
                Ok(res) => Seen {
                    status: res.status(),
                    set_cookies: res
                        .headers()
                        .get_all(SET_COOKIE)
                        .filter_map(|value| value.to_str().ok().map(str::to_owned))
                        .collect(),
                    body: test::read_body(res).await.to_vec(),
                },
                Err(error) => Seen {
                    status: error.as_response_error().status_code(),
                    set_cookies: Vec::new(),
                    body: Vec::new(),
                },
            }
        })
    })
}

fn harness() -> &'static Harness {
    HARNESS.with(|cell| {
        *cell.get_or_init(|| {
            let runner = System::new();
            let call = runner.block_on(build());
            let harness: &'static Harness = Box::leak(Box::new(Harness { runner, call }));
            self_check(harness);
            harness
        })
    })
}

/// Sends `value` as the remember cookie; `None` if it cannot be a header value at all.
fn send(harness: &Harness, value: &[u8]) -> Option<Seen> {
    let mut header = b"remember=".to_vec();
    header.extend_from_slice(value);
    let header = HeaderValue::from_bytes(&header).ok()?;
    let req = TestRequest::get()
        .uri("/user-id")
        .insert_header((COOKIE, header))
        .to_request();
    Some(harness.runner.block_on((harness.call)(req)))
}

/// The runtime writes `QUOTED` for `QUOTED_ID`, and reads it back as that id.
fn self_check(harness: &Harness) {
    let req = TestRequest::get().uri("/login-remember").to_request();
    let seen = harness.runner.block_on((harness.call)(req));
    assert_eq!(seen.status, StatusCode::OK);
    let written = seen
        .set_cookies
        .iter()
        .find_map(|cookie| cookie.strip_prefix("remember="))
        .and_then(|cookie| cookie.split(';').next())
        .expect("login with remember sets the remember cookie");
    assert_eq!(
        written,
        QUOTED.as_str(),
        "the runtime no longer quotes as Werkzeug does"
    );
    assert_eq!(
        accepted(harness, QUOTED.as_bytes()).as_deref(),
        Some(QUOTED_ID),
        "the runtime does not read its own quoted cookie"
    );
}

/// The id `value` logs in, if any; asserts the request itself went through.
fn accepted(harness: &Harness, value: &[u8]) -> Option<String> {
    let Seen { status, body, .. } = send(harness, value)?;
    assert_eq!(status, StatusCode::OK, "cookie value {value:?}");
    if body == b"anonymous" {
        return None;
    }
    let id = body
        .strip_prefix(b"id:")
        .unwrap_or_else(|| panic!("unexpected body {body:?}"));
    Some(String::from_utf8(id.to_vec()).expect("ids are UTF-8"))
}

fn check_request(harness: &Harness, value: &[u8]) {
    if let Some(id) = accepted(harness, value) {
        assert_eq!(
            id, QUOTED_ID,
            "cookie value {value:?} logged in an id the key never signed"
        );
    }
}

fn check_quoted(data: &[u8]) {
    let harness = harness();
    check_request(harness, data);
    check_request(harness, &common::mutate(&QUOTED, data));
    check_request(
        harness,
        werkzeug_quote(&String::from_utf8_lossy(data)).as_bytes(),
    );
    let edited = common::mutate(&PLAIN, data);
    check_request(
        harness,
        werkzeug_quote(&String::from_utf8_lossy(&edited)).as_bytes(),
    );
    let respelled = respell(data);
    assert_eq!(
        accepted(harness, respelled.as_bytes()).as_deref(),
        Some(QUOTED_ID),
        "refused {respelled:?}, a spelling of the valid cookie"
    );
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&common::mutate(&VALID, data));
    check_quoted(data);
});
