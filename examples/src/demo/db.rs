//! The demo's database: users, their OpenID Connect links, API tokens, audit entries,
//! login-failure counters, the account flows' tokens (`tokens`) and the signing keys, through sqlx's `Any` driver, so one code path serves SQLite and
//! PostgreSQL. Queries use the query functions (no database needed at build time), `$N`
//! placeholders and only integer, text and bytes columns, which both databases accept alike.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use login_runtime::AuthUser;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

/// SQLite's and PostgreSQL's migrations, embedded in the binary. They differ only in how
/// ids are generated.
mod mfa;
mod tokens;

pub use self::mfa::DbMfa;
pub use self::tokens::DbTokens;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names a database the demo does not support.
    #[error("DATABASE_URL must start with sqlite: or postgres:, not {0:?}")]
    UnsupportedUrl(String),
    /// Connecting failed.
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("could not migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pool of connections to the demo's database. Clones share the pool.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
}

/// A member of the demo site, as the database holds it.
#[derive(Clone, AuthUser)]
pub struct User {
    /// The row id, which is also the login id.
    pub id: i64,
    /// The login name (unique, lower case).
    pub name: String,
    /// Shown on pages.
    pub display_name: String,
    /// The email address (lower case); `None` for accounts made without one (OpenID Connect).
    pub email: Option<String>,
    /// Whether the address is confirmed (by its link, a reset or a sign-in link).
    pub email_verified: bool,
    /// The argon2id PHC string. It is the session hash: changing the password ends every other
    /// session and every remember cookie of this user.
    #[auth(session_hash)]
    pub password_hash: String,
    /// May open the admin page.
    pub is_admin: bool,
    /// Disabled members cannot log in, and their sessions end.
    #[auth(active)]
    pub enabled: bool,
    /// When the account was made (Unix seconds).
    pub created_at: i64,
}

impl std::fmt::Debug for User {
    // Never print the password hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("is_admin", &self.is_admin)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// An API token as listed (its hash never leaves the database layer).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// The row id.
    pub id: i64,
    /// What the user called it.
    pub label: String,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

/// One line of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When (Unix seconds).
    pub at: i64,
    /// What happened (`login`, `login_failed`, ...).
    pub event: String,
    /// Who, when known.
    pub user_id: Option<i64>,
    /// The client's address.
    pub client: String,
    /// More about it; never a secret.
    pub detail: String,
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

const USER_COLUMNS: &str =
    "id, name, display_name, email, email_verified, password_hash, is_admin, enabled, created_at";

/// The statement that links `(issuer, subject)` to `user_id`.
fn insert_link<'q>(
    issuer: &'q str,
    subject: &'q str,
    user_id: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO oidc_links (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(now())
}

/// [`USER_COLUMNS`] of the table aliased `u`, for joins.
fn prefixed_user_columns() -> String {
    USER_COLUMNS
        .split(", ")
        .map(|column| format!("u.{column} AS {column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl Db {
    /// Opens (SQLite: creating the file if needed) and migrates the database at `url`.
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        install_default_drivers();
        let (url, migrations) = if url.starts_with("sqlite:") {
            // Create the file on first start.
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (url, &SQLITE_MIGRATIONS)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (url.to_owned(), &POSTGRES_MIGRATIONS)
        } else {
            return Err(OpenError::UnsupportedUrl(url.to_owned()));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url)
            .await
            .map_err(OpenError::Connect)?;
        migrations.run(&pool).await?;
        Ok(Db { pool })
    }

    /// The pool, for queries of the app's own.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The signing keys kept with the data (hex text: the remember-cookie key, the session
    /// key): `candidate` is stored if no instance stored keys before, then whatever is stored is
    /// read back, so instances starting together on a new database all end up with the first
    /// one's keys.
    pub async fn keys_or_insert(
        &self,
        candidate: (&str, &str),
    ) -> Result<(String, String), sqlx::Error> {
        sqlx::query(
            "INSERT INTO demo_keys (id, login_key, session_key, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate.0)
        .bind(candidate.1)
        .bind(now())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT login_key, session_key FROM demo_keys WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("login_key")?, row.try_get("session_key")?))
    }

    /// Adds a user with `email` (lower-cased), not yet confirmed; `Ok(None)` when the name or
    /// the address is taken.
    pub async fn create_user(
        &self,
        name: &str,
        display_name: &str,
        email: &str,
        password_hash: &str,
        is_admin: bool,
    ) -> Result<Option<i64>, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO users (name, display_name, email, password_hash, is_admin, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
        )
        .bind(name)
        .bind(display_name)
        .bind(email.trim().to_lowercase())
        .bind(password_hash)
        .bind(i64::from(is_admin))
        .bind(now())
        .fetch_one(&self.pool)
        .await;
        match inserted {
            Ok(row) => Ok(Some(row.try_get("id")?)),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The user with this id.
    pub async fn user(&self, id: i64) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user with this login name.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user with this email address (compared in lower case).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Marks a user's address confirmed.
    pub async fn mark_email_verified(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET email_verified = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces a user's address with `email`, confirmed; `false` when another user has it.
    pub async fn set_email(&self, id: i64, email: &str) -> Result<bool, sqlx::Error> {
        let updated = sqlx::query("UPDATE users SET email = $1, email_verified = 1 WHERE id = $2")
            .bind(email.trim().to_lowercase())
            .bind(id)
            .execute(&self.pool)
            .await;
        match updated {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Every user, oldest first.
    pub async fn users(&self) -> Result<Vec<User>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces a user's password hash (and so its session hash).
    pub async fn set_password_hash(&self, id: i64, hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Renames a user for display.
    pub async fn set_display_name(&self, id: i64, display_name: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(display_name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Enables or disables an account.
    pub async fn set_enabled(&self, id: i64, enabled: bool) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET enabled = $1 WHERE id = $2")
            .bind(i64::from(enabled))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user an OpenID Connect identity is linked to.
    pub async fn user_by_oidc(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM users u JOIN oidc_links l ON l.user_id = u.id \
             WHERE l.issuer = $1 AND l.subject = $2",
            prefixed_user_columns()
        );
        let row = sqlx::query(&sql)
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Whether `user_id` signs in with an OpenID Connect identity.
    pub async fn has_oidc_link(&self, user_id: i64) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 FROM oidc_links WHERE user_id = $1 LIMIT 1")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Links an OpenID Connect identity to a user; `false` if it was linked already.
    pub async fn link_oidc(
        &self,
        user_id: i64,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, sqlx::Error> {
        let inserted = insert_link(issuer, subject, user_id)
            .execute(&self.pool)
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Adds a member who signs in with OpenID Connect, linked to `(issuer, subject)`, in one
    /// transaction; `Ok(None)` when the name is taken (or the identity got linked meanwhile).
    pub async fn create_oidc_user(
        &self,
        name: &str,
        display_name: &str,
        password_hash: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, display_name, password_hash, is_admin, enabled, created_at) \
             VALUES ($1, $2, $3, 0, 1, $4) RETURNING id",
        )
        .bind(name)
        .bind(display_name)
        .bind(password_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get("id")?,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Ok(None),
            Err(error) => return Err(error),
        };
        let linked = insert_link(issuer, subject, id).execute(&mut *tx).await;
        match linked {
            Ok(_) => {
                tx.commit().await?;
                Ok(Some(id))
            }
            // Another sign-in of the same identity won the race: no second account.
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Stores a new API token's hash; returns its id.
    pub async fn create_token(
        &self,
        user_id: i64,
        label: &str,
        token_hash: &str,
    ) -> Result<i64, sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, label, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(label)
        .bind(token_hash)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        row.try_get("id")
    }

    /// A user's tokens, newest first.
    pub async fn tokens(&self, user_id: i64) -> Result<Vec<ApiToken>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, label, created_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiToken {
                    id: row.try_get("id")?,
                    label: row.try_get("label")?,
                    created_at: row.try_get("created_at")?,
                    revoked_at: row.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes one of `user_id`'s tokens; `false` when it has no such live token.
    pub async fn revoke_token(&self, user_id: i64, token_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(token_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The owner of the live token with this hash.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM users u JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            prefixed_user_columns()
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Appends to the audit trail.
    pub async fn insert_audit(
        &self,
        event: &str,
        user_id: Option<i64>,
        client: &str,
        detail: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, event, user_id, client, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(now())
        .bind(event)
        .bind(user_id)
        .bind(client)
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest `limit` audit entries, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT at, event, user_id, client, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: row.try_get("at")?,
                    event: row.try_get("event")?,
                    user_id: row.try_get("user_id")?,
                    client: row.try_get("client")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// The failures counted for `bucket` in its open window, and the window's end (Unix ms).
    pub(crate) async fn failures(&self, bucket: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT failures, window_ends FROM login_failures WHERE bucket = $1 AND window_ends > $2",
        )
        .bind(bucket)
        .bind(now_millis())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((row.try_get("failures")?, row.try_get("window_ends")?)))
            .transpose()
    }

    /// Counts one failure for `bucket`, opening a window of `window` if none is open; the new
    /// count and the window's end (Unix ms). One statement, so concurrent failures all count.
    pub(crate) async fn add_failure(
        &self,
        bucket: &str,
        window: Duration,
    ) -> Result<(i64, i64), sqlx::Error> {
        let now = now_millis();
        let ends = now.saturating_add(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        let row = sqlx::query(
            "INSERT INTO login_failures (bucket, failures, window_ends) VALUES ($1, 1, $2) \
             ON CONFLICT (bucket) DO UPDATE SET \
               failures = CASE WHEN login_failures.window_ends <= $3 THEN 1 \
                               ELSE login_failures.failures + 1 END, \
               window_ends = CASE WHEN login_failures.window_ends <= $3 THEN $2 \
                                  ELSE login_failures.window_ends END \
             RETURNING failures, window_ends",
        )
        .bind(bucket)
        .bind(ends)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("failures")?, row.try_get("window_ends")?))
    }

    /// Forgets `bucket`'s failures.
    pub(crate) async fn reset_failures(&self, bucket: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE bucket = $1")
            .bind(bucket)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Milliseconds from now until `ends` (Unix ms), never negative.
    pub(crate) fn until(ends: i64) -> Duration {
        Duration::from_millis(u64::try_from(ends.saturating_sub(now_millis())).unwrap_or(0))
    }
}
