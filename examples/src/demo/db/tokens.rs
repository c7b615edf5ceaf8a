//! The account flows' tokens in the `account_tokens` table: login-account's [`TokenStore`],
//! on SQLite or PostgreSQL through the same queries. Only keyed hashes are stored; times are
//! Unix seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use login_account::{Purpose, TokenRecord, TokenStore};
use sqlx::Row;

use super::Db;

/// login-account's tokens in the demo's database. Clones share the pool.
#[derive(Debug, Clone)]
pub struct DbTokens(pub Db);

const COLUMNS: &str =
    "hash, purpose, user_id, binding, data, code_hash, created_at, expires_at, used_at";

fn secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
    })
}

fn time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<TokenRecord, sqlx::Error> {
    let purpose: String = row.try_get("purpose")?;
    let purpose = Purpose::from_name(&purpose)
        .ok_or_else(|| sqlx::Error::Protocol(format!("unknown token purpose {purpose:?}")))?;
    let mut record = TokenRecord::new(
        row.try_get("hash")?,
        purpose,
        row.try_get("user_id")?,
        row.try_get("binding")?,
        time(row.try_get("created_at")?),
        time(row.try_get("expires_at")?),
    );
    record.data = row.try_get("data")?;
    record.code_hash = row.try_get("code_hash")?;
    record.used_at = row.try_get::<Option<i64>, _>("used_at")?.map(time);
    Ok(record)
}

impl TokenStore for DbTokens {
    type Error = sqlx::Error;

    async fn insert(&self, record: &TokenRecord) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "INSERT INTO account_tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&record.hash)
        .bind(record.purpose.as_str())
        .bind(&record.user_id)
        .bind(&record.binding)
        .bind(&record.data)
        .bind(&record.code_hash)
        .bind(secs(record.created_at))
        .bind(secs(record.expires_at))
        .bind(record.used_at.map(secs))
        .execute(self.0.pool())
        .await?;
        Ok(())
    }

    async fn find(&self, hash: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM account_tokens WHERE hash = $1"
        ))
        .bind(hash)
        .fetch_optional(self.0.pool())
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    async fn consume(
        &self,
        hash: &str,
        at: SystemTime,
    ) -> Result<Option<TokenRecord>, sqlx::Error> {
        // One statement: of two concurrent uses, only one updates the row.
        let used = sqlx::query(&format!(
            "UPDATE account_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(secs(at))
        .bind(hash)
        .fetch_optional(self.0.pool())
        .await?;
        match used {
            Some(row) => {
                let mut before = record_from_row(&row)?;
                before.used_at = None;
                Ok(Some(before))
            }
            // Used before, or unknown.
            None => self.find(hash).await,
        }
    }

    async fn revoke(&self, user_id: &str, purpose: Purpose) -> Result<usize, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(self.0.pool())
        .await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<usize, sqlx::Error> {
        let done = sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1")
            .bind(secs(now))
            .execute(self.0.pool())
            .await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}
