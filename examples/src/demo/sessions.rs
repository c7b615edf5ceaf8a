//! Where sessions live (a cookie, or Redis when `REDIS_URL` is set), and flash messages kept in
//! the session, so they travel in the session cookie and share its `Secure` setting.

use actix_session::SessionExt;
use actix_session::storage::{
    CookieSessionStore, LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore,
    UpdateError,
};
use actix_web::HttpRequest;
use actix_web::cookie::time::Duration;
use actix_web::dev::ResponseHead;
use actix_web_flash_messages::FlashMessage;
use actix_web_flash_messages::storage::{self, FlashMessageStore};
use login_stores::postgres::PgSessionStore;
use std::collections::HashMap;

/// Cookie sessions (the default), Redis sessions, or PostgreSQL sessions (several servers,
/// server-side logout).
#[derive(Clone)]
pub enum SessionBackend {
    /// The session is the cookie (encrypted and signed).
    Cookie,
    /// The cookie holds a key to the session in Redis.
    Redis(RedisSessionStore),
    /// The cookie holds a key to the session in PostgreSQL (`DATABASE_URL=postgres://…`
    /// without `REDIS_URL`).
    Postgres(PgSessionStore),
}

impl std::fmt::Debug for SessionBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionBackend::Cookie => "SessionBackend::Cookie",
            SessionBackend::Redis(_) => "SessionBackend::Redis",
            SessionBackend::Postgres(_) => "SessionBackend::Postgres",
        })
    }
}

type State = HashMap<String, String>;

impl SessionStore for SessionBackend {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            SessionBackend::Cookie => CookieSessionStore::default().load(key).await,
            SessionBackend::Redis(store) => store.load(key).await,
            SessionBackend::Postgres(store) => store.load(key).await,
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        match self {
            SessionBackend::Cookie => CookieSessionStore::default().save(state, ttl).await,
            SessionBackend::Redis(store) => store.save(state, ttl).await,
            SessionBackend::Postgres(store) => store.save(state, ttl).await,
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            SessionBackend::Cookie => CookieSessionStore::default().update(key, state, ttl).await,
            SessionBackend::Redis(store) => store.update(key, state, ttl).await,
            SessionBackend::Postgres(store) => store.update(key, state, ttl).await,
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        match self {
            SessionBackend::Cookie => CookieSessionStore::default().update_ttl(key, ttl).await,
            SessionBackend::Redis(store) => store.update_ttl(key, ttl).await,
            SessionBackend::Postgres(store) => store.update_ttl(key, ttl).await,
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        match self {
            SessionBackend::Cookie => CookieSessionStore::default().delete(key).await,
            SessionBackend::Redis(store) => store.delete(key).await,
            SessionBackend::Postgres(store) => store.delete(key).await,
        }
    }
}

/// The session key of the pending flash messages.
const FLASH_KEY: &str = "_flash";

/// Flash messages in the session (actix-web-flash-messages' own session store targets an
/// older actix-session).
#[derive(Debug, Clone, Copy)]
pub struct SessionFlashStore;

impl FlashMessageStore for SessionFlashStore {
    fn load(&self, request: &HttpRequest) -> Result<Vec<FlashMessage>, storage::LoadError> {
        request
            .get_session()
            .get::<Vec<FlashMessage>>(FLASH_KEY)
            .map(Option::unwrap_or_default)
            .map_err(|error| storage::LoadError::GenericError(anyhow::anyhow!("{error}")))
    }

    fn store(
        &self,
        messages: &[FlashMessage],
        request: HttpRequest,
        _response: &mut ResponseHead,
    ) -> Result<(), storage::StoreError> {
        let session = request.get_session();
        if messages.is_empty() {
            session.remove(FLASH_KEY);
            return Ok(());
        }
        session
            .insert(FLASH_KEY, messages)
            .map_err(|error| storage::StoreError::GenericError(anyhow::anyhow!("{error}")))
    }
}
