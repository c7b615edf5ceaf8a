//! The server `bench/run.sh` measures (see BENCHMARKS.md): one user, `42`, in memory.
//!
//! ```text
//! cargo run --release -p examples --bin bench-server -- --port P [--store cookie|redis]
//!     [--redis-url URL] [--protection off|basic|strong] [--session-hash] [--bare | --no-manager]
//! ```
//!
//! - `POST /login` logs user `42` in (`?remember=1` with remember-me) and sets the session
//!   cookie;
//! - `GET /protected` is `#[login_required]`, extracts `CurrentUser`, answers `42` with 200,
//!   or 401 without a login (no login view);
//! - `GET /open` has no guard and no extractor.
//!
//! Sessions: actix-session's private `CookieSessionStore` with its defaults (`Secure` off for
//! plain HTTP), or `RedisSessionStore` with `--store redis`. `ACTIX_WORKERS` sets the worker
//! count (default 1). `--bare` serves `/protected` and `/open` answering `42` with neither
//! sessions nor `LoginManager` (the floor); `--no-manager` keeps the session middleware and
//! the same routes but drops `LoginManager` (the reference for `/open`).

use std::convert::Infallible;

use actix_session::SessionMiddleware;
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_web::cookie::Key;
use actix_web::{App, HttpResponse, HttpServer, get, post, web};
use login_runtime::{
    AuthUser, CurrentUser, Login, LoginManager, LoginOptions, RememberCookie, SecretKey,
    SessionProtection, UserLoader, login_required,
};
use serde::Deserialize;

/// The one user. Its session hash is only reported with `--session-hash`.
#[derive(Debug, Clone)]
struct User {
    id: u32,
    session_hash: Option<&'static str>,
}

impl AuthUser for User {
    type Id = u32;
    fn id(&self) -> u32 {
        self.id
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        self.session_hash.map(str::as_bytes)
    }
}

/// The in-memory loader: user `42` exists, nobody else.
struct Users {
    session_hash: bool,
}

impl Users {
    fn user(&self) -> User {
        User {
            id: 42,
            session_hash: self
                .session_hash
                .then_some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
        }
    }
}

impl UserLoader for Users {
    type User = User;
    type Id = u32;
    type Error = Infallible;
    async fn load_user(&self, id: &u32) -> Result<Option<User>, Infallible> {
        Ok((*id == 42).then(|| self.user()))
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    remember: Option<u8>,
}

#[post("/login")]
async fn login(
    login: Login<User>,
    query: web::Query<LoginQuery>,
    users: web::Data<SessionHash>,
) -> actix_web::Result<HttpResponse> {
    let user = Users {
        session_hash: users.0,
    }
    .user();
    let options = LoginOptions::new().remember(query.remember == Some(1));
    login.login_with(&user, options)?;
    Ok(HttpResponse::Ok().body("logged in"))
}

#[login_required]
#[get("/protected")]
async fn protected(user: CurrentUser<User>) -> String {
    user.id.to_string()
}

#[get("/open")]
async fn open() -> &'static str {
    "42"
}

#[get("/protected")]
async fn bare_protected() -> &'static str {
    "42"
}

/// Whether the user has a session hash, for the login handler.
#[derive(Clone, Copy)]
struct SessionHash(bool);

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Login,
    Bare,
    NoManager,
}

struct Args {
    port: u16,
    redis_url: Option<String>,
    protection: SessionProtection,
    session_hash: bool,
    mode: Mode,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8088,
        redis_url: None,
        protection: SessionProtection::Basic,
        session_hash: false,
        mode: Mode::Login,
    };
    let mut store = "cookie".to_owned();
    let mut redis_url = "redis://127.0.0.1:6379".to_owned();
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => args.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--store" => store = value()?,
            "--redis-url" => redis_url = value()?,
            "--protection" => {
                args.protection = match value()?.as_str() {
                    "off" => SessionProtection::Off,
                    "basic" => SessionProtection::Basic,
                    "strong" => SessionProtection::Strong,
                    other => return Err(format!("--protection: unknown mode {other}")),
                }
            }
            "--session-hash" => args.session_hash = true,
            "--bare" => args.mode = Mode::Bare,
            "--no-manager" => args.mode = Mode::NoManager,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    match store.as_str() {
        "cookie" => {}
        "redis" => args.redis_url = Some(redis_url),
        other => return Err(format!("--store: unknown store {other}")),
    }
    Ok(args)
}

/// Random keys, or with `BENCH_FIXED_KEYS=1` fixed ones (benchmarks only: a cookie from one
/// run then works in the next, so two runs can send byte-identical requests).
fn keys() -> std::io::Result<(Key, SecretKey)> {
    if std::env::var_os("BENCH_FIXED_KEYS").is_some() {
        let secret =
            SecretKey::try_from("bench-only 5c1e0a9f3b7d2e8c4a6f1b0d9e3c7a5f2b8d4e6c0a1f9b3d")
                .map_err(std::io::Error::other)?;
        return Ok((Key::derive_from(secret.as_bytes()), secret));
    }
    Ok((Key::generate(), SecretKey::generate()))
}

/// Runs an `HttpServer` whose app the block builds, on 127.0.0.1 with the worker count.
macro_rules! serve {
    ($port:expr, $workers:expr, $app:expr) => {
        HttpServer::new($app)
            .workers($workers)
            .bind(("127.0.0.1", $port))?
            .run()
            .await
    };
}

/// The manager, built in each worker (it is not `Send`).
fn manager(
    protection: SessionProtection,
    session_hash: bool,
    secret: &SecretKey,
) -> LoginManager<Users> {
    LoginManager::new(Users { session_hash })
        .session_protection(protection)
        .secret_key(secret.clone())
        .remember_cookie(RememberCookie::default().secure(false))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = parse_args().map_err(std::io::Error::other)?;
    let workers = std::env::var("ACTIX_WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .unwrap_or(1);
    // One key of each kind for every worker: a login made on one worker is valid on all.
    let (session_key, secret) = keys()?;
    let settings = Settings {
        port: args.port,
        workers,
        session_key,
        secret,
        protection: args.protection,
        session_hash: args.session_hash,
    };
    match (args.mode, args.redis_url) {
        (Mode::Bare, _) => serve!(settings.port, settings.workers, || App::new()
            .service(bare_protected)
            .service(open)),
        (mode, None) => run(settings, mode, CookieSessionStore::default).await,
        (mode, Some(url)) => {
            let store = RedisSessionStore::new(url)
                .await
                .map_err(|error| std::io::Error::other(error.to_string()))?;
            run(settings, mode, move || store.clone()).await
        }
    }
}

/// What every worker's app is built from.
#[derive(Clone)]
struct Settings {
    port: u16,
    workers: usize,
    session_key: Key,
    secret: SecretKey,
    protection: SessionProtection,
    session_hash: bool,
}

/// Serves the login app, or with [`Mode::NoManager`] the same routes without `LoginManager`
/// (never calling the two that need it, so routing costs the same), on sessions in `store`.
async fn run<St, F>(settings: Settings, mode: Mode, store: F) -> std::io::Result<()>
where
    St: SessionStore + 'static,
    F: Fn() -> St + Clone + Send + 'static,
{
    let settings_for_manager = settings.clone();
    let Settings { port, workers, .. } = settings.clone();
    let sessions = move || {
        SessionMiddleware::builder(store(), settings.session_key.clone())
            .cookie_secure(false)
            .build()
    };
    if mode == Mode::NoManager {
        return serve!(port, workers, move || App::new()
            .service(login)
            .service(protected)
            .service(open)
            .wrap(sessions()));
    }
    let Settings {
        secret,
        protection,
        session_hash,
        ..
    } = settings_for_manager;
    serve!(port, workers, move || App::new()
        .app_data(web::Data::new(SessionHash(session_hash)))
        .service(login)
        .service(protected)
        .service(open)
        .wrap(manager(protection, session_hash, &secret))
        .wrap(sessions()))
}
