//! `/healthz` for a load balancer (the database and, with `REDIS_URL`, Redis answer, each
//! within a second), the PostgreSQL session and device stores that `DATABASE_URL` alone
//! gives, and the SQLite device registry of the default database.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use login_stores::postgres::{PgDevices, PgSessionStore, migrate};
use login_stores::sqlite::SqliteDevices;
use serde_json::json;

use super::{Demo, StartError};

/// How long each check may take before the instance counts as unhealthy.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Sessions and devices in the PostgreSQL database at `url`: their own pool, with their
/// tables made if missing (under an advisory lock, so instances starting together do not
/// race).
pub async fn postgres_stores(url: &str) -> Result<(PgSessionStore, PgDevices), StartError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        // A database that is down fails requests at once (a 5xx or 503), not after a wait.
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await?;
    migrate(&pool).await?;
    Ok((PgSessionStore::new(pool.clone()), PgDevices::new(pool)))
}

/// The device registry in the SQLite file at `url` (its own pool, its tables made if
/// missing): the devices, like the users, outlive a restart.
pub async fn sqlite_devices(url: &str) -> Result<SqliteDevices, StartError> {
    let options = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()?
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(options)
        .await?;
    login_stores::sqlite::migrate(&pool).await?;
    Ok(SqliteDevices::new(pool))
}

async fn check<E: std::fmt::Display>(work: impl Future<Output = Result<(), E>>) -> &'static str {
    match actix_web::rt::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check failed");
            "failing"
        }
        Err(_) => "timeout",
    }
}

/// 200 `{"status":"ok",…}` when every store this instance uses answers, else 503 naming the
/// one that does not (never the error itself, which is logged).
#[get("/healthz")]
pub async fn healthz(demo: web::Data<Demo>) -> HttpResponse {
    let database = check(async {
        sqlx::query("SELECT 1")
            .execute(demo.db.pool())
            .await
            .map(|_| ())
    })
    .await;
    let redis = match &demo.redis {
        Some(pool) => Some(
            check(async {
                let mut conn = pool.get().await.map_err(|error| error.to_string())?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
            .await,
        ),
        None => None,
    };
    let healthy = database == "ok" && redis.is_none_or(|redis| redis == "ok");
    let body = json!({
        "status": if healthy { "ok" } else { "failing" },
        "database": database,
        "redis": redis,
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
