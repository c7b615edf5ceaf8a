//! actix-identity 0.9 on actix-session 0.11: the same routes as `bench-server`.
//!
//! `identity-peer --port P [--store cookie|redis] [--redis-url URL] [--lookup]`;
//! `ACTIX_WORKERS` sets the worker count (default 1).
//!
//! - `POST /login` logs user `42` in and sets the session cookie;
//! - `GET /protected` extracts `Identity` and answers its id, `42`, with 200, or 401 without
//!   a login (the extractor's own answer). With `--lookup` it does what an application on
//!   actix-identity must write itself to have its user: parse the id and look the user up in
//!   an in-memory map (the same map and user type as `bench-server`'s loader), answering 401
//!   for an id that does not parse or names nobody.

use actix_identity::{Identity, IdentityMiddleware};
use actix_session::SessionMiddleware;
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_web::cookie::Key;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, get, post};

#[post("/login")]
async fn login(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    Identity::login(&req.extensions(), "42".to_owned())
        .map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok().body("logged in"))
}

#[get("/protected")]
async fn protected(user: Identity) -> actix_web::Result<String> {
    user.id().map_err(actix_web::error::ErrorUnauthorized)
}

/// The user, as `bench-server` has it.
#[derive(Debug, Clone)]
struct User {
    id: u32,
    #[allow(dead_code)]
    session_hash: Option<&'static str>,
}

/// The users, as `bench-server`'s loader keeps them.
#[derive(Clone)]
struct Users(std::sync::Arc<std::collections::HashMap<u32, User>>);

#[get("/protected")]
async fn protected_with_lookup(
    identity: Identity,
    users: actix_web::web::Data<Users>,
) -> actix_web::Result<String> {
    let id = identity.id().map_err(actix_web::error::ErrorUnauthorized)?;
    let id: u32 = id
        .parse()
        .map_err(|_| actix_web::error::ErrorUnauthorized("no such user"))?;
    let user = users
        .0
        .get(&id)
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorUnauthorized("no such user"))?;
    Ok(user.id.to_string())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut port = 8089_u16;
    let mut redis_url = None;
    let mut lookup = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--lookup" {
            lookup = true;
            continue;
        }
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--port" => port = value.parse().map_err(std::io::Error::other)?,
            "--store" if value == "redis" => {
                redis_url.get_or_insert_with(|| "redis://127.0.0.1:6379".to_owned());
            }
            "--store" if value == "cookie" => {}
            "--redis-url" => redis_url = Some(value),
            _ => {
                return Err(std::io::Error::other(format!(
                    "unknown argument {arg} {value}"
                )));
            }
        }
    }
    let workers = std::env::var("ACTIX_WORKERS")
        .ok()
        .and_then(|workers| workers.parse().ok())
        .unwrap_or(1);
    // `BENCH_FIXED_KEYS=1`: a fixed key, so a cookie from one run works in the next.
    let key = if std::env::var_os("BENCH_FIXED_KEYS").is_some() {
        Key::derive_from(b"bench-only 5c1e0a9f3b7d2e8c4a6f1b0d9e3c7a5f2b8d4e6c0a1f9b3d")
    } else {
        Key::generate()
    };
    match redis_url {
        None => serve(port, workers, key, lookup, CookieSessionStore::default).await,
        Some(url) => {
            let store = RedisSessionStore::new(url)
                .await
                .map_err(|error| std::io::Error::other(error.to_string()))?;
            serve(port, workers, key, lookup, move || store.clone()).await
        }
    }
}

/// Serves the two routes on sessions in `store`.
async fn serve<St, F>(
    port: u16,
    workers: usize,
    key: Key,
    lookup: bool,
    store: F,
) -> std::io::Result<()>
where
    St: SessionStore + 'static,
    F: Fn() -> St + Clone + Send + 'static,
{
    let users = Users(std::sync::Arc::new(std::collections::HashMap::from([(
        42,
        User {
            id: 42,
            session_hash: None,
        },
    )])));
    HttpServer::new(move || {
        let app = App::new()
            .app_data(actix_web::web::Data::new(users.clone()))
            .service(login);
        let app = if lookup {
            app.service(protected_with_lookup)
        } else {
            app.service(protected)
        };
        app.wrap(IdentityMiddleware::default())
            .wrap(
                SessionMiddleware::builder(store(), key.clone())
                    .cookie_secure(false)
                    .build(),
            )
    })
    .workers(workers)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
