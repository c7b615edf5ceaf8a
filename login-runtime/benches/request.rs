//! One request through actix-web's test service, with and without login-runtime.
//!
//! `cargo bench -p login-runtime --bench request` (add `-- --quick` for a fast pass).
//!
//! Every case sends the same `TestRequest`; read them against `request/bare` (the same handler
//! with neither sessions nor `LoginManager`) and `request/session_only` (sessions, no
//! `LoginManager`), measured in the same run:
//!
//! - `current_user/protection_off`, `current_user/protection_basic`: a full `CurrentUser`
//!   extraction from a cookie session; their difference is the session-protection identifier
//!   check;
//! - `guard_then_current_user`: `#[login_required]` and then `CurrentUser`, the second asking
//!   for a user already cached (the difference to `current_user/protection_basic`);
//! - `current_user/session_hash`: the same with a user whose session hash is checked;
//! - `remember_cookie_only`: the login restored from the remember cookie on every request.

use std::convert::Infallible;
use std::hint::black_box;

use actix_session::SessionMiddleware;
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::Key;
use actix_web::test::{self, TestRequest};
use actix_web::{App, HttpResponse, web};
use criterion::{Criterion, criterion_group, criterion_main};
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, LoginOptions, RememberCookie, SecretKey,
    SessionProtection, UserLoader, login_required,
};

#[derive(Clone)]
struct User {
    id: u32,
    hash: Option<&'static str>,
}

impl AuthUser for User {
    type Id = u32;
    fn id(&self) -> u32 {
        self.id
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        self.hash.map(str::as_bytes)
    }
}

#[derive(Clone, Copy)]
struct Users {
    hash: Option<&'static str>,
}

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<User>, Infallible> {
        Ok((*id == 42).then_some(User {
            id: 42,
            hash: self.hash,
        }))
    }
}

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

async fn current_user(user: CurrentUser<User>) -> String {
    user.id.to_string()
}

#[login_required]
async fn guarded(user: CurrentUser<User>) -> String {
    user.id.to_string()
}

async fn bare() -> &'static str {
    "42"
}

fn sessions() -> SessionMiddleware<CookieSessionStore> {
    SessionMiddleware::builder(CookieSessionStore::default(), Key::from(&[7; 64]))
        .cookie_secure(false)
        .build()
}

fn request(c: &mut Criterion) {
    let runner = actix_web::rt::System::new();
    let secret = SecretKey::generate();
    let manager = |protection, hash| {
        LoginManager::new(Users { hash })
            .session_protection(protection)
            .secret_key(secret.clone())
            .remember_cookie(RememberCookie::default().secure(false))
    };
    let get = |path: &str, cookie: Option<&str>| {
        let req = TestRequest::get()
            .uri(path)
            .insert_header(("user-agent", "bench/1"))
            .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()));
        match cookie {
            Some(cookie) => req.insert_header(("cookie", cookie.to_owned())),
            None => req,
        }
        .to_request()
    };

    let mut group = c.benchmark_group("request");
    for (name, protection, hash, remember) in [
        (
            "current_user/protection_off",
            SessionProtection::Off,
            None,
            false,
        ),
        (
            "current_user/protection_basic",
            SessionProtection::Basic,
            None,
            false,
        ),
        (
            "current_user/session_hash",
            SessionProtection::Basic,
            Some(HASH),
            false,
        ),
        ("remember_cookie_only", SessionProtection::Basic, None, true),
    ] {
        let app = runner.block_on(test::init_service(
            App::new()
                .route(
                    "/login",
                    web::post().to(move |login: Login<User>| async move {
                        let user = User { id: 42, hash };
                        login.login_with(&user, LoginOptions::new().remember(remember))?;
                        Ok::<_, actix_web::Error>(HttpResponse::Ok().finish())
                    }),
                )
                .route("/user", web::get().to(current_user))
                .route("/guarded", web::get().to(guarded))
                .wrap(manager(protection, hash))
                .wrap(sessions()),
        ));
        let login = runner.block_on(test::call_service(
            &app,
            TestRequest::post()
                .uri("/login")
                .insert_header(("user-agent", "bench/1"))
                .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()))
                .to_request(),
        ));
        let wanted = if remember { "remember_token" } else { "id" };
        let cookie = login
            .response()
            .cookies()
            .find(|cookie| cookie.name() == wanted)
            .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
            .unwrap_or_default();
        group.bench_function(name, |b| {
            b.iter(|| {
                let res = runner.block_on(test::call_service(&app, get("/user", Some(&cookie))));
                black_box(res.status())
            });
        });
        if name == "current_user/protection_basic" {
            group.bench_function("guard_then_current_user", |b| {
                b.iter(|| {
                    let res =
                        runner.block_on(test::call_service(&app, get("/guarded", Some(&cookie))));
                    black_box(res.status())
                });
            });
        }
    }

    let bare_app = runner.block_on(test::init_service(
        App::new().route("/user", web::get().to(bare)),
    ));
    group.bench_function("bare", |b| {
        b.iter(|| black_box(runner.block_on(test::call_service(&bare_app, get("/user", None)))));
    });
    let session_app = runner.block_on(test::init_service(
        App::new()
            .route("/user", web::get().to(bare))
            .wrap(sessions()),
    ));
    group.bench_function("session_only", |b| {
        b.iter(|| black_box(runner.block_on(test::call_service(&session_app, get("/user", None)))));
    });
    group.finish();
}

criterion_group!(benches, request);
criterion_main!(benches);
