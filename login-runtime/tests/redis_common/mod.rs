//! What the Redis tests share: a pool with timeouts, a key prefix per test (and the check
//! that the test left no key behind), and a small app with every route the tests drive.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{HttpResponse, web};
use deadpool_redis::redis;
use login_runtime::{
    AuthUser, Devices, Login, LoginManager, LoginOptions, MaybeUser, RedisDevices, RememberCookie,
    SecretKey, SessionProtection, UserLoader,
};

#[path = "../common/device_routes.rs"]
mod device_routes;

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A pool that fails fast when Redis is gone, as the README recommends.
pub fn pool(url: &str) -> deadpool_redis::Pool {
    let mut config = deadpool_redis::Config::from_url(url);
    config.pool = Some(deadpool_redis::PoolConfig {
        max_size: 64,
        timeouts: deadpool_redis::Timeouts {
            wait: Some(Duration::from_secs(2)),
            create: Some(Duration::from_secs(2)),
            recycle: Some(Duration::from_secs(2)),
        },
        ..deadpool_redis::PoolConfig::default()
    });
    config
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap()
}

/// The keys of one test: sessions under `{prefix}s:`, devices under `{prefix}d:`.
#[derive(Clone)]
pub struct Prefix(pub String);

impl Prefix {
    pub fn new(test: &str) -> Prefix {
        let nonce: u64 = rand::random();
        Prefix(format!(
            "login-runtime-test:{test}:{}:{nonce:x}:",
            std::process::id()
        ))
    }

    /// A guard that deletes this test's keys however the test ends.
    pub fn clean_up_on_drop(&self, url: &str) -> CleanUpOnDrop {
        CleanUpOnDrop {
            prefix: self.0.clone(),
            url: url.to_owned(),
        }
    }

    pub async fn session_store(&self, pool: deadpool_redis::Pool) -> RedisSessionStore {
        let prefix = format!("{}s:", self.0);
        RedisSessionStore::builder_pooled(pool)
            .cache_keygen(move |key| format!("{prefix}{key}"))
            .build()
            .await
            .unwrap()
    }

    pub fn devices(&self, pool: deadpool_redis::Pool) -> RedisDevices {
        RedisDevices::new(pool, format!("{}d:", self.0))
    }

    pub async fn keys(&self, url: &str) -> Vec<String> {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS")
            .arg(format!("{}*", self.0))
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    pub async fn device_keys(&self, url: &str) -> Vec<String> {
        let devices = format!("{}d:device:", self.0);
        let mut keys = self.keys(url).await;
        keys.retain(|key| key.starts_with(&devices));
        keys
    }

    /// Deletes this test's keys and checks that none is left.
    pub async fn clean_up(&self, url: &str) {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys = self.keys(url).await;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
        }
        assert_eq!(
            self.keys(url).await,
            Vec::<String>::new(),
            "keys left behind"
        );
    }
}

/// Deletes a test's keys when the test ends, also when it fails half-way.
pub struct CleanUpOnDrop {
    prefix: String,
    url: String,
}

impl Drop for CleanUpOnDrop {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _ = redis::cmd("DEL").arg(&keys).query::<()>(&mut conn);
        }
    }
}

/// Any id is a user; its name says which, so a response naming another user is seen.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
}

impl AuthUser for User {
    type Id = String;
    fn id(&self) -> String {
        self.id.clone()
    }
    fn session_auth_hash(&self) -> Option<&[u8]> {
        Some(b"the same password hash for everyone")
    }
}

#[derive(Clone, Default)]
pub struct Users;

impl UserLoader for Users {
    type User = User;
    type Id = String;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &String) -> Result<Option<User>, Self::Error> {
        Ok(Some(User { id: id.clone() }))
    }
}

pub fn secret() -> SecretKey {
    SecretKey::try_from("3e1d5c9a7b2f4e6d8c0a1b3d5f7e9c2a4b6d8f0e1c3a5b7d9f2e4c6a8b0d1f3e").unwrap()
}

pub fn session_key() -> Key {
    Key::from(&[42u8; 64])
}

pub fn manager(registry: RedisDevices) -> LoginManager<Users> {
    LoginManager::new(Users)
        .secret_key(secret())
        .session_protection(SessionProtection::Off)
        .remember_cookie(RememberCookie::default().name("remember").secure(false))
        .device_registry(registry)
}

pub fn sessions(store: RedisSessionStore) -> SessionMiddleware<RedisSessionStore> {
    SessionMiddleware::builder(store, session_key())
        .cookie_secure(false)
        .build()
}

/// Holds `/slow` requests: each says when it has its user, then waits to be let go.
#[derive(Clone, Default)]
pub struct Gate {
    pub started: Arc<AtomicUsize>,
    pub open: Arc<AtomicBool>,
}

impl Gate {
    pub async fn wait_started(&self, count: usize) {
        for _ in 0..1000 {
            if self.started.load(Ordering::SeqCst) >= count {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the slow request never started");
    }

    pub fn release(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    async fn wait_open(&self) {
        for _ in 0..1000 {
            if self.open.load(Ordering::SeqCst) {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn name(user: &MaybeUser<User>) -> String {
    user.get().map_or_else(
        || "Anonymous".to_owned(),
        |user| format!("user:{}", user.id),
    )
}

/// The routes every Redis test drives.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/login/{id}",
        web::get().to(
            |login: Login<User>, id: web::Path<String>, query: web::Query<Remember>| async move {
                let options = LoginOptions::new().remember(query.remember.unwrap_or(false));
                login.login_with(
                    &User {
                        id: id.into_inner(),
                    },
                    options,
                )?;
                Ok::<_, actix_web::Error>("logged in")
            },
        ),
    )
    .route(
        "/who",
        web::get().to(|user: MaybeUser<User>| async move { name(&user) }),
    )
    .route(
        "/slow",
        web::get().to(
            |user: MaybeUser<User>, session: Session, gate: web::Data<Gate>| async move {
                gate.started.fetch_add(1, Ordering::SeqCst);
                gate.wait_open().await;
                // The app writes to its session after the logout: the store saves it again.
                session.insert("visits", 1).unwrap();
                name(&user)
            },
        ),
    )
    .route(
        "/logout",
        web::get().to(|login: Login<User>| async move {
            login.logout()?;
            Ok::<_, actix_web::Error>("logged out")
        }),
    )
    .route(
        "/devices",
        web::get().to(|devices: Devices| async move {
            let list = devices.list().await?;
            let ids: Vec<String> = list.into_iter().map(|device| device.id).collect();
            Ok::<_, actix_web::Error>(ids.join(","))
        }),
    )
    .configure(device_routes::device_routes)
    .route(
        "/write",
        web::get().to(|session: Session| async move {
            session.insert("note", "x").unwrap();
            HttpResponse::Ok().body("written")
        }),
    );
}

#[derive(serde::Deserialize)]
pub struct Remember {
    remember: Option<bool>,
}
