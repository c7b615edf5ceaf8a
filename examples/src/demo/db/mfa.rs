//! The second factors in the `mfa_*` tables: login-mfa's [`MfaStore`], on SQLite or
//! PostgreSQL through the same queries. TOTP secrets only encrypted, recovery codes only as
//! keyed hashes; times are Unix seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use login_mfa::{MfaStore, PasskeyRecord, StoreError, TotpRecord};
use sqlx::Row;

use super::Db;

/// login-mfa's store in the demo's database. Clones share the pool.
#[derive(Debug, Clone)]
pub struct DbMfa(pub Db);

fn secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
    })
}

fn time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn failed(error: sqlx::Error) -> StoreError {
    StoreError(error.to_string())
}

fn passkey_from_row(row: &sqlx::any::AnyRow) -> Result<PasskeyRecord, sqlx::Error> {
    let mut record = PasskeyRecord::new(
        row.try_get::<String, _>("id")?,
        row.try_get::<String, _>("user_id")?,
        row.try_get::<String, _>("name")?,
        row.try_get::<String, _>("passkey")?,
        time(row.try_get("created_at")?),
    );
    record.last_used = row.try_get::<Option<i64>, _>("last_used")?.map(time);
    Ok(record)
}

const PASSKEY_COLUMNS: &str = "id, user_id, name, passkey, created_at, last_used";

impl MfaStore for DbMfa {
    async fn totp(&self, user_id: &str) -> Result<Option<TotpRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, sealed_secret, enabled, last_step FROM mfa_totp WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.0.pool())
        .await
        .map_err(failed)?;
        let Some(row) = row else { return Ok(None) };
        let read = || -> Result<TotpRecord, sqlx::Error> {
            let mut record = TotpRecord::new(
                row.try_get::<String, _>("user_id")?,
                row.try_get::<String, _>("sealed_secret")?,
            );
            record.enabled = row.try_get::<i64, _>("enabled")? != 0;
            record.last_step = row
                .try_get::<Option<i64>, _>("last_step")?
                .and_then(|step| u64::try_from(step).ok());
            Ok(record)
        };
        read().map(Some).map_err(failed)
    }

    async fn put_totp(&self, record: &TotpRecord) -> Result<(), StoreError> {
        let last = record.last_step.and_then(|step| i64::try_from(step).ok());
        sqlx::query(
            "INSERT INTO mfa_totp (user_id, sealed_secret, enabled, last_step) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
             enabled = excluded.enabled, last_step = excluded.last_step",
        )
        .bind(&record.user_id)
        .bind(&record.sealed_secret)
        .bind(i64::from(record.enabled))
        .bind(last)
        .execute(self.0.pool())
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn delete_totp(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
            .bind(user_id)
            .execute(self.0.pool())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn advance_totp_step(&self, user_id: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError("step out of range".into()))?;
        // One statement: of two requests with the same code, only one moves the step.
        let done = sqlx::query(
            "UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(self.0.pool())
        .await
        .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.0.pool().begin().await.map_err(failed)?;
        sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        for hash in hashes {
            sqlx::query("INSERT INTO mfa_recovery_codes (user_id, hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        }
        tx.commit().await.map_err(failed)
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(hash)
        .bind(secs(SystemTime::now()))
        .execute(self.0.pool())
        .await
        .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    async fn recovery_codes_left(&self, user_id: &str) -> Result<usize, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.0.pool())
        .await
        .map_err(failed)?;
        let n: i64 = row.try_get("n").map_err(failed)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM mfa_passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(self.0.pool())
        .await
        .map_err(failed)?;
        rows.iter()
            .map(passkey_from_row)
            .collect::<Result<_, _>>()
            .map_err(failed)
    }

    async fn passkey(&self, credential_id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PASSKEY_COLUMNS} FROM mfa_passkeys WHERE id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(self.0.pool())
        .await
        .map_err(failed)?;
        row.as_ref()
            .map(passkey_from_row)
            .transpose()
            .map_err(failed)
    }

    async fn add_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(&format!(
            "INSERT INTO mfa_passkeys ({PASSKEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING"
        ))
        .bind(&record.id)
        .bind(&record.user_id)
        .bind(&record.name)
        .bind(&record.passkey)
        .bind(secs(record.created))
        .bind(record.last_used.map(secs))
        .execute(self.0.pool())
        .await
        .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    async fn update_passkey(&self, record: &PasskeyRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mfa_passkeys SET name = $3, passkey = $4, last_used = $5 WHERE id = $1 AND user_id = $2",
        )
        .bind(&record.id)
        .bind(&record.user_id)
        .bind(&record.name)
        .bind(&record.passkey)
        .bind(record.last_used.map(secs))
        .execute(self.0.pool())
        .await
        .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_passkey(&self, user_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM mfa_passkeys WHERE id = $1 AND user_id = $2")
            .bind(credential_id)
            .bind(user_id)
            .execute(self.0.pool())
            .await
            .map_err(failed)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_ceremony(
        &self,
        id: &str,
        state: &str,
        expires: SystemTime,
    ) -> Result<(), StoreError> {
        // Old ceremonies go on every new one: the table holds only the live ones.
        sqlx::query("DELETE FROM mfa_ceremonies WHERE expires_at <= $1")
            .bind(secs(SystemTime::now()))
            .execute(self.0.pool())
            .await
            .map_err(failed)?;
        sqlx::query("INSERT INTO mfa_ceremonies (id, state, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(state)
            .bind(secs(expires))
            .execute(self.0.pool())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn take_ceremony(&self, id: &str, now: SystemTime) -> Result<Option<String>, StoreError> {
        // DELETE … RETURNING: the ceremony is taken once, by one request.
        let row =
            sqlx::query("DELETE FROM mfa_ceremonies WHERE id = $1 RETURNING state, expires_at")
                .bind(id)
                .fetch_optional(self.0.pool())
                .await
                .map_err(failed)?;
        let Some(row) = row else { return Ok(None) };
        let expires: i64 = row.try_get("expires_at").map_err(failed)?;
        if expires <= secs(now) {
            return Ok(None);
        }
        row.try_get("state").map(Some).map_err(failed)
    }
}
