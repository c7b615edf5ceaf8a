//! A fresh PostgreSQL database for one test, on the machine's server (127.0.0.1:5432, trust
//! authentication), dropped when the test ends, however it ends.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct FreshDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl FreshDb {
    /// A new database on the server behind `admin_url` (a database URL it can connect to).
    pub async fn create_on(admin_url: &str) -> FreshDb {
        let name = format!("login_stores_{}", hex::encode(rand::random::<[u8; 6]>()));
        let admin = PgPool::connect(admin_url).await.expect(
            "PostgreSQL on 127.0.0.1:5432 (user postgres, database test); .ci/run starts it",
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let base = admin_url.rsplit_once('/').unwrap().0;
        FreshDb {
            url: format!("{base}/{name}"),
            name,
            admin_url: admin_url.to_owned(),
        }
    }

    pub async fn create() -> FreshDb {
        FreshDb::create_on(ADMIN_URL).await
    }

    /// A pool on it with the tables made, failing fast when the server is gone.
    pub async fn pool(&self) -> PgPool {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(2))
            .connect(&self.url)
            .await
            .unwrap();
        login_stores::postgres::migrate(&pool).await.unwrap();
        pool
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A thread of its own: the test's runtime may be gone or busy.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(admin) = PgPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(2))
                    .connect(&admin_url)
                    .await
                else {
                    return;
                };
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            });
        })
        .join();
    }
}

/// A PostgreSQL server of the test's own (`initdb` and `pg_ctl` as the `postgres` user, in a
/// temporary directory, on a free loopback port), to restart during a test without
/// disturbing the machine's; stopped when the test ends.
pub struct OwnPostgres {
    pub port: u16,
    dir: tempfile::TempDir,
}

const BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str, args: &[&str]) -> std::process::ExitStatus {
    std::process::Command::new("runuser")
        .args(["-u", "postgres", "--", &format!("{BIN}/{program}")])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("runuser and PostgreSQL 15 are installed (.ci/run installs them)")
}

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        assert!(
            std::process::Command::new("chown")
                .args(["postgres:postgres", &path])
                .status()
                .unwrap()
                .success()
        );
        let data = format!("{path}/data");
        let init = as_postgres(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(init.success(), "initdb failed");
        let port = super::servers::free_port();
        let server = OwnPostgres { port, dir };
        server.pg_ctl_start();
        server
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir.path().display())
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = format!("{}/log", self.dir.path().display());
        let started = as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        assert!(started.success(), "pg_ctl start failed");
    }

    /// Stops it the way a crash would (`-m immediate`: no checkpoint, clients cut off).
    pub fn crash(&self) {
        as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    pub fn start_again(&self) {
        self.pg_ctl_start();
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}
