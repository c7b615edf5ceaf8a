//! Where tokens are kept: the [`TokenStore`] trait, [`MemoryTokenStore`] for tests and one
//! process, and the boxed form the flows hold.

use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::future::LocalBoxFuture;

use crate::token::{Purpose, TokenRecord};

/// Where tokens are kept. Only keyed hashes of tokens reach it ([`TokenRecord`]).
///
/// [`consume`](Self::consume) must be atomic: of two concurrent calls for one token, exactly
/// one sees it unused. `login_account::testing::token_store_conformance` checks a store
/// against every rule here; the in-memory store and the demo's SQL store pass it.
pub trait TokenStore: 'static {
    /// What a failed read or write reports (a database error). The flow answers 503.
    type Error: Display + Debug + 'static;

    /// Stores a new token.
    fn insert(&self, record: &TokenRecord) -> impl Future<Output = Result<(), Self::Error>>;

    /// The token stored under `hash`, used or not, without changing it (a `GET` of a link:
    /// mail scanners fetch links, and must not use them up).
    fn find(&self, hash: &str) -> impl Future<Output = Result<Option<TokenRecord>, Self::Error>>;

    /// Marks the token stored under `hash` used at `at`, if it is unused, in one atomic step;
    /// returns the token as it was before: `used_at: None` means this call used it, `Some`
    /// that it was already used (and nothing changed). `None` for an unknown hash.
    fn consume(
        &self,
        hash: &str,
        at: SystemTime,
    ) -> impl Future<Output = Result<Option<TokenRecord>, Self::Error>>;

    /// Removes the user's unused tokens of `purpose` (a new reset link replaces the old
    /// ones; a reported change of email cancels the pending one); returns how many.
    fn revoke(
        &self,
        user_id: &str,
        purpose: Purpose,
    ) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Removes every token that expired before `now`; returns how many.
    fn purge_expired(&self, now: SystemTime) -> impl Future<Output = Result<usize, Self::Error>>;
}

/// Tokens in this process's memory: for tests and single-process apps. Clones share the
/// tokens (give a clone to each worker).
#[derive(Debug, Clone, Default)]
pub struct MemoryTokenStore {
    tokens: Arc<Mutex<HashMap<String, TokenRecord>>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many tokens it holds (used ones too, until they expire).
    pub fn len(&self) -> usize {
        self.with(|tokens| tokens.len())
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every token it holds, for tests.
    pub fn records(&self) -> Vec<TokenRecord> {
        self.with(|tokens| tokens.values().cloned().collect())
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, TokenRecord>) -> T) -> T {
        // Each change is one map operation, so a poisoned lock still holds a consistent map.
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut tokens)
    }
}

impl TokenStore for MemoryTokenStore {
    type Error = std::convert::Infallible;

    async fn insert(&self, record: &TokenRecord) -> Result<(), Self::Error> {
        self.with(|tokens| tokens.insert(record.hash.clone(), record.clone()));
        Ok(())
    }

    async fn find(&self, hash: &str) -> Result<Option<TokenRecord>, Self::Error> {
        Ok(self.with(|tokens| tokens.get(hash).cloned()))
    }

    async fn consume(
        &self,
        hash: &str,
        at: SystemTime,
    ) -> Result<Option<TokenRecord>, Self::Error> {
        Ok(self.with(|tokens| {
            let record = tokens.get_mut(hash)?;
            let before = record.clone();
            if record.used_at.is_none() {
                record.used_at = Some(at);
            }
            Some(before)
        }))
    }

    async fn revoke(&self, user_id: &str, purpose: Purpose) -> Result<usize, Self::Error> {
        Ok(self.with(|tokens| {
            let before = tokens.len();
            tokens.retain(|_, record| {
                !(record.user_id == user_id
                    && record.purpose == purpose
                    && record.used_at.is_none())
            });
            before - tokens.len()
        }))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, Self::Error> {
        Ok(self.with(|tokens| {
            let before = tokens.len();
            tokens.retain(|_, record| record.expires_at > now);
            before - tokens.len()
        }))
    }
}

/// A store's failure, as the flows see it (its `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token store failed: {0}")]
pub struct StoreError(pub String);

/// [`TokenStore`] with boxed futures and one error type, so [`Account`](crate::Account) can
/// hold any store.
pub(crate) trait DynTokenStore {
    fn insert<'a>(&'a self, record: &'a TokenRecord) -> LocalBoxFuture<'a, Result<(), StoreError>>;
    fn find<'a>(
        &'a self,
        hash: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<TokenRecord>, StoreError>>;
    fn consume<'a>(
        &'a self,
        hash: &'a str,
        at: SystemTime,
    ) -> LocalBoxFuture<'a, Result<Option<TokenRecord>, StoreError>>;
    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        purpose: Purpose,
    ) -> LocalBoxFuture<'a, Result<usize, StoreError>>;
    fn purge_expired(&self, now: SystemTime) -> LocalBoxFuture<'_, Result<usize, StoreError>>;
}

fn store_error(error: impl Display) -> StoreError {
    StoreError(error.to_string())
}

impl<T: TokenStore> DynTokenStore for T {
    fn insert<'a>(&'a self, record: &'a TokenRecord) -> LocalBoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { TokenStore::insert(self, record).await.map_err(store_error) })
    }

    fn find<'a>(
        &'a self,
        hash: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        Box::pin(async move { TokenStore::find(self, hash).await.map_err(store_error) })
    }

    fn consume<'a>(
        &'a self,
        hash: &'a str,
        at: SystemTime,
    ) -> LocalBoxFuture<'a, Result<Option<TokenRecord>, StoreError>> {
        Box::pin(async move {
            TokenStore::consume(self, hash, at)
                .await
                .map_err(store_error)
        })
    }

    fn revoke<'a>(
        &'a self,
        user_id: &'a str,
        purpose: Purpose,
    ) -> LocalBoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            TokenStore::revoke(self, user_id, purpose)
                .await
                .map_err(store_error)
        })
    }

    fn purge_expired(&self, now: SystemTime) -> LocalBoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            TokenStore::purge_expired(self, now)
                .await
                .map_err(store_error)
        })
    }
}
