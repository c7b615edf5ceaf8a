//! The statements, and the trait implementations that run them, written once for both
//! databases: `sql_stores!(Postgres)` and `sql_stores!(Sqlite)` expand them for each (sqlx's
//! generic executor bounds would say the same at three times the length).

/// Loads a live session's state.
pub(crate) const LOAD: &str = "SELECT state FROM login_sessions WHERE id = $1 AND expires_at > $2";
/// Saves a new session; a key that is already taken (never, with 381 random bits) saves
/// nothing, and the caller makes another.
pub(crate) const SAVE: &str = "INSERT INTO login_sessions (id, state, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO NOTHING";
/// Updates a live session, and only a live one: a session deleted or expired since it was
/// loaded is not written again.
pub(crate) const UPDATE: &str = "UPDATE login_sessions SET state = $2, expires_at = $3 \
     WHERE id = $1 AND expires_at > $4";
pub(crate) const UPDATE_TTL: &str =
    "UPDATE login_sessions SET expires_at = $2 WHERE id = $1 AND expires_at > $3";
pub(crate) const DELETE: &str = "DELETE FROM login_sessions WHERE id = $1";
pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM login_sessions WHERE id IN \
     (SELECT id FROM login_sessions WHERE expires_at <= $1 LIMIT $2)";

pub(crate) const RECORD_DEVICE: &str = "INSERT INTO login_devices \
     (id, user_id, last_seen, expires_at, device) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, last_seen = excluded.last_seen, \
     expires_at = excluded.expires_at, device = excluded.device";
pub(crate) const DEVICE: &str =
    "SELECT last_seen, device FROM login_devices WHERE id = $1 AND expires_at > $2";
pub(crate) const TOUCH_DEVICE: &str = "UPDATE login_devices SET last_seen = $2 WHERE id = $1";
pub(crate) const USER_DEVICES: &str = "SELECT last_seen, device FROM login_devices \
     WHERE user_id = $1 AND expires_at > $2 ORDER BY id";
pub(crate) const REVOKE_DEVICE: &str = "DELETE FROM login_devices WHERE id = $1 AND user_id = $2";
pub(crate) const REVOKE_ALL_DEVICES: &str = "DELETE FROM login_devices WHERE user_id = $1";
pub(crate) const REVOKE_OTHER_DEVICES: &str =
    "DELETE FROM login_devices WHERE user_id = $1 AND id <> $2";
pub(crate) const DELETE_EXPIRED_DEVICES: &str = "DELETE FROM login_devices WHERE id IN \
     (SELECT id FROM login_devices WHERE expires_at <= $1 LIMIT $2)";

pub(crate) const COUNT_FAILURES: &str =
    "SELECT failures, window_ends FROM login_throttle WHERE bucket = $1 AND window_ends > $2";
/// One statement: concurrent failures on several instances all count, and a closed window
/// starts again from one.
pub(crate) const ADD_FAILURE: &str = "INSERT INTO login_throttle (bucket, failures, window_ends) \
     VALUES ($1, 1, $2) ON CONFLICT (bucket) DO UPDATE SET \
     failures = CASE WHEN login_throttle.window_ends <= $3 THEN 1 \
                     ELSE login_throttle.failures + 1 END, \
     window_ends = CASE WHEN login_throttle.window_ends <= $3 THEN $2 \
                        ELSE login_throttle.window_ends END \
     RETURNING failures, window_ends";
pub(crate) const RESET_FAILURES: &str = "DELETE FROM login_throttle WHERE bucket = $1";
pub(crate) const DELETE_EXPIRED_WINDOWS: &str = "DELETE FROM login_throttle WHERE bucket IN \
     (SELECT bucket FROM login_throttle WHERE window_ends <= $1 LIMIT $2)";

/// A device row: its JSON, with `last_seen` from its own column. A row that does not parse
/// reads as gone, never as a login.
pub(crate) fn device_from_row(last_seen: i64, json: &str) -> Option<login_runtime::Device> {
    let mut device: login_runtime::Device = serde_json::from_str(json).ok()?;
    device.last_seen = super::from_millis(last_seen);
    Some(device)
}

macro_rules! sql_stores {
    ($db:ty) => {
        mod implementation {
            use std::collections::HashMap;
            use std::time::{Duration, SystemTime};

            use actix_session::storage::{
                LoadError, SaveError, SessionKey, SessionStore, UpdateError,
            };
            use actix_web::cookie::time;
            use login_runtime::throttle::{FailureCount, ThrottleStore};
            use login_runtime::{Device, DeviceError, DeviceRegistry};
            use sqlx::Row;

            use crate::StoreError;
            use crate::error::within;
            use crate::key::{new_session_key, storage_id};
            use crate::sql::stores as q;
            use crate::sql::{
                SqlDevices, SqlSessionStore, SqlThrottleStore, duration_ms, millis, now_ms,
                unavailable,
            };

            fn ttl_ms(ttl: &time::Duration) -> i64 {
                i64::try_from(ttl.whole_milliseconds().max(0)).unwrap_or(i64::MAX)
            }

            impl SqlSessionStore<$db> {
                /// Deletes at most [`clean_up_batch`](Self::clean_up_batch) expired sessions;
                /// returns how many. Writes run it by themselves at most once every
                /// [`clean_up_every`](Self::clean_up_every).
                pub async fn delete_expired(&self) -> Result<u64, StoreError> {
                    delete_expired_rows(
                        self.pool.clone(),
                        q::DELETE_EXPIRED_SESSIONS,
                        self.clean_up.batch,
                        self.timeout,
                    )
                    .await
                }

                fn clean_up_later(&self) {
                    let (pool, batch, timeout) =
                        (self.pool.clone(), self.clean_up.batch, self.timeout);
                    self.clean_up.maybe_run(move || {
                        delete_expired_rows(pool, q::DELETE_EXPIRED_SESSIONS, batch, timeout)
                    });
                }

                async fn write(
                    &self,
                    statement: &'static str,
                    key: &SessionKey,
                    state: String,
                    ttl: &time::Duration,
                    only_if_live: bool,
                ) -> Result<u64, StoreError> {
                    let now = now_ms();
                    let query = sqlx::query(statement)
                        .bind(storage_id(key))
                        .bind(state)
                        .bind(now.saturating_add(ttl_ms(ttl)));
                    let query = if only_if_live { query.bind(now) } else { query };
                    let done = within(self.timeout, async {
                        query.execute(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    Ok(done.rows_affected())
                }
            }

            /// Runs one of the `DELETE_EXPIRED_*` statements: at most `batch` expired rows go.
            async fn delete_expired_rows(
                pool: sqlx::Pool<$db>,
                statement: &'static str,
                batch: i64,
                timeout: Duration,
            ) -> Result<u64, StoreError> {
                within(timeout, async {
                    let done = sqlx::query(statement)
                        .bind(now_ms())
                        .bind(batch)
                        .execute(&pool)
                        .await
                        .map_err(unavailable)?;
                    Ok(done.rows_affected())
                })
                .await
            }

            impl SessionStore for SqlSessionStore<$db> {
                async fn load(
                    &self,
                    key: &SessionKey,
                ) -> Result<Option<HashMap<String, String>>, LoadError> {
                    let query = sqlx::query(q::LOAD).bind(storage_id(key)).bind(now_ms());
                    let row = within(self.timeout, async {
                        query.fetch_optional(&self.pool).await.map_err(unavailable)
                    })
                    .await
                    .map_err(|error| LoadError::Other(error.into()))?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let json: String = row
                        .try_get(0)
                        .map_err(|error| LoadError::Other(unavailable(error).into()))?;
                    serde_json::from_str(&json)
                        .map(Some)
                        .map_err(|error| LoadError::Deserialization(error.into()))
                }

                async fn save(
                    &self,
                    state: HashMap<String, String>,
                    ttl: &time::Duration,
                ) -> Result<SessionKey, SaveError> {
                    let json = serde_json::to_string(&state)
                        .map_err(|error| SaveError::Serialization(error.into()))?;
                    self.clean_up_later();
                    for _ in 0..3 {
                        let key = new_session_key();
                        let saved = self
                            .write(q::SAVE, &key, json.clone(), ttl, false)
                            .await
                            .map_err(|error| SaveError::Other(error.into()))?;
                        if saved == 1 {
                            return Ok(key);
                        }
                    }
                    Err(SaveError::Other(anyhow::anyhow!(
                        "three new session keys were all taken"
                    )))
                }

                async fn update(
                    &self,
                    key: SessionKey,
                    state: HashMap<String, String>,
                    ttl: &time::Duration,
                ) -> Result<SessionKey, UpdateError> {
                    let json = serde_json::to_string(&state)
                        .map_err(|error| UpdateError::Serialization(error.into()))?;
                    let updated = self
                        .write(q::UPDATE, &key, json, ttl, true)
                        .await
                        .map_err(|error| UpdateError::Other(error.into()))?;
                    if updated == 1 {
                        return Ok(key);
                    }
                    // Security: the session was deleted (a logout, perhaps on another instance)
                    // or expired after this request loaded it. Writing it again, under any key,
                    // would bring back the login the logout ended: nothing is stored, and the
                    // key handed back loads nothing.
                    Ok(new_session_key())
                }

                async fn update_ttl(
                    &self,
                    key: &SessionKey,
                    ttl: &time::Duration,
                ) -> Result<(), anyhow::Error> {
                    let now = now_ms();
                    let query = sqlx::query(q::UPDATE_TTL)
                        .bind(storage_id(key))
                        .bind(now.saturating_add(ttl_ms(ttl)))
                        .bind(now);
                    within(self.timeout, async {
                        query.execute(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    Ok(())
                }

                async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
                    let query = sqlx::query(q::DELETE).bind(storage_id(key));
                    within(self.timeout, async {
                        query.execute(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    Ok(())
                }
            }

            impl SqlDevices<$db> {
                /// Deletes at most `clean_up_batch` device entries past their entry TTL; returns
                /// how many. Recording a device runs it by itself at most once every
                /// `clean_up_every`.
                pub async fn delete_expired(&self) -> Result<u64, StoreError> {
                    delete_expired_rows(
                        self.pool.clone(),
                        q::DELETE_EXPIRED_DEVICES,
                        self.clean_up.batch,
                        self.timeout,
                    )
                    .await
                }

                async fn run<T, F>(&self, work: F) -> Result<T, DeviceError>
                where
                    F: Future<Output = Result<T, sqlx::Error>>,
                {
                    Ok(within(self.timeout, async { work.await.map_err(unavailable) }).await?)
                }
            }

            fn devices_from_rows(rows: Vec<<$db as sqlx::Database>::Row>) -> Vec<Device> {
                rows.iter()
                    .filter_map(|row| {
                        let last_seen: i64 = row.try_get(0).ok()?;
                        let json: String = row.try_get(1).ok()?;
                        q::device_from_row(last_seen, &json)
                    })
                    .collect()
            }

            impl DeviceRegistry for SqlDevices<$db> {
                async fn record(&self, device: &Device) -> Result<(), DeviceError> {
                    let json = serde_json::to_string(device)
                        .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
                    let (pool, batch, timeout) =
                        (self.pool.clone(), self.clean_up.batch, self.timeout);
                    self.clean_up.maybe_run(move || {
                        delete_expired_rows(pool, q::DELETE_EXPIRED_DEVICES, batch, timeout)
                    });
                    let query = sqlx::query(q::RECORD_DEVICE)
                        .bind(&device.id)
                        .bind(&device.user_id)
                        .bind(millis(device.last_seen))
                        .bind(now_ms().saturating_add(duration_ms(self.ttl)))
                        .bind(json);
                    self.run(query.execute(&self.pool)).await?;
                    Ok(())
                }

                async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
                    let query = sqlx::query(q::DEVICE).bind(device_id).bind(now_ms());
                    let row = self.run(query.fetch_optional(&self.pool)).await?;
                    Ok(row.and_then(|row| {
                        let last_seen: i64 = row.try_get(0).ok()?;
                        let json: String = row.try_get(1).ok()?;
                        q::device_from_row(last_seen, &json).filter(|device| device.id == device_id)
                    }))
                }

                async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
                    // An UPDATE of a row a revoke deleted changes nothing: the device stays gone.
                    let query = sqlx::query(q::TOUCH_DEVICE)
                        .bind(device_id)
                        .bind(millis(at));
                    self.run(query.execute(&self.pool)).await?;
                    Ok(())
                }

                async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
                    let query = sqlx::query(q::USER_DEVICES).bind(user_id).bind(now_ms());
                    let rows = self.run(query.fetch_all(&self.pool)).await?;
                    Ok(devices_from_rows(rows)
                        .into_iter()
                        .filter(|device| device.user_id == user_id)
                        .collect())
                }

                async fn revoke(
                    &self,
                    user_id: &str,
                    device_id: &str,
                ) -> Result<bool, DeviceError> {
                    let query = sqlx::query(q::REVOKE_DEVICE).bind(device_id).bind(user_id);
                    let done = self.run(query.execute(&self.pool)).await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn revoke_all(
                    &self,
                    user_id: &str,
                    except: Option<&str>,
                ) -> Result<usize, DeviceError> {
                    let done = match except {
                        Some(except) => {
                            let query = sqlx::query(q::REVOKE_OTHER_DEVICES)
                                .bind(user_id)
                                .bind(except);
                            self.run(query.execute(&self.pool)).await?
                        }
                        None => {
                            let query = sqlx::query(q::REVOKE_ALL_DEVICES).bind(user_id);
                            self.run(query.execute(&self.pool)).await?
                        }
                    };
                    Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
                }
            }

            impl SqlThrottleStore<$db> {
                /// Deletes at most `clean_up_batch` closed windows; returns how many. Adding a
                /// failure runs it by itself at most once every `clean_up_every`.
                pub async fn delete_expired(&self) -> Result<u64, StoreError> {
                    delete_expired_rows(
                        self.pool.clone(),
                        q::DELETE_EXPIRED_WINDOWS,
                        self.clean_up.batch,
                        self.timeout,
                    )
                    .await
                }
            }

            fn failure_count(failures: i64, window_ends: i64, now: i64) -> FailureCount {
                FailureCount {
                    failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
                    remaining: Duration::from_millis(
                        u64::try_from(window_ends.saturating_sub(now)).unwrap_or(0),
                    ),
                }
            }

            impl ThrottleStore for SqlThrottleStore<$db> {
                type Error = StoreError;

                async fn count(&self, key: &str) -> Result<Option<FailureCount>, StoreError> {
                    let now = now_ms();
                    let query = sqlx::query(q::COUNT_FAILURES).bind(key).bind(now);
                    let row = within(self.timeout, async {
                        query.fetch_optional(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    row.map(|row| {
                        let failures: i64 = row.try_get(0).map_err(unavailable)?;
                        let ends: i64 = row.try_get(1).map_err(unavailable)?;
                        Ok(failure_count(failures, ends, now))
                    })
                    .transpose()
                }

                async fn add_failure(
                    &self,
                    key: &str,
                    window: Duration,
                ) -> Result<FailureCount, StoreError> {
                    let (pool, batch, timeout) =
                        (self.pool.clone(), self.clean_up.batch, self.timeout);
                    self.clean_up.maybe_run(move || {
                        delete_expired_rows(pool, q::DELETE_EXPIRED_WINDOWS, batch, timeout)
                    });
                    let now = now_ms();
                    let query = sqlx::query(q::ADD_FAILURE)
                        .bind(key)
                        .bind(now.saturating_add(duration_ms(window).max(1)))
                        .bind(now);
                    let row = within(self.timeout, async {
                        query.fetch_one(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    let failures: i64 = row.try_get(0).map_err(unavailable)?;
                    let ends: i64 = row.try_get(1).map_err(unavailable)?;
                    Ok(failure_count(failures, ends, now))
                }

                async fn reset(&self, key: &str) -> Result<(), StoreError> {
                    let query = sqlx::query(q::RESET_FAILURES).bind(key);
                    within(self.timeout, async {
                        query.execute(&self.pool).await.map_err(unavailable)
                    })
                    .await?;
                    Ok(())
                }
            }
        }
    };
}
