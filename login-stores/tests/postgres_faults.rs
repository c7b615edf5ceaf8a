//! PostgreSQL restarted during load: the test starts a server of its own (so the machine's
//! is not disturbed), keeps sessions and devices in it, stops it the way a crash would while
//! browsers log in, browse and log out, and starts it again.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![recursion_limit = "256"]

mod common;

use std::time::Duration;

use login_stores::postgres::{PgDevices, PgSessionStore};

use common::app::{Kept, load};
use common::postgres::{FreshDb, OwnPostgres};

#[actix_web::test]
#[ignore = "needs PostgreSQL 15 (initdb, pg_ctl); run by .ci/run"]
async fn a_postgres_restart_is_a_clean_5xx_and_the_same_logins_work_afterwards() {
    let server = OwnPostgres::start();
    let db = FreshDb::create_on(&server.admin_url()).await;
    let pool = db.pool().await;
    let timeout = Duration::from_secs(1);
    let app = common::app::app(
        PgSessionStore::new(pool.clone()).timeout(timeout),
        PgDevices::new(pool).timeout(timeout),
    )
    .await;
    let mut kept = Kept::log_in(&app, "postgres", 30).await;

    let fault = async {
        actix_web::rt::time::sleep(Duration::from_secs(2)).await;
        let server = &server;
        std::thread::scope(|scope| {
            scope.spawn(|| server.crash());
        });
        actix_web::rt::time::sleep(Duration::from_secs(2)).await;
        std::thread::scope(|scope| {
            scope.spawn(|| server.start_again());
        });
    };
    let counts = load(&app, 24, Duration::from_secs(10), "postgres", fault).await;
    println!("PostgreSQL restarted during load: {counts:?}");
    let back = kept.all_back(&app, Duration::from_secs(30)).await;
    println!("kept logins back after {back:?}, without restarting the app");

    assert_eq!(counts.wrong_user, 0, "responses naming another user");
    assert_eq!(counts.survived_logout, 0, "logins surviving their logout");
    assert_eq!(counts.lost_logins, 0, "a committed login is not lost");
    assert_eq!(
        counts.other_errors, 0,
        "answers other than 200, 500 and 503"
    );
    assert!(counts.clean_errors > 0, "the restart was seen");
    assert!(counts.logouts > 0);
    assert!(
        counts.slowest < Duration::from_secs(5),
        "every answer within a bounded time: {:?}",
        counts.slowest
    );
    let counts = load(&app, 8, Duration::from_secs(2), "postgres-after", async {}).await;
    assert_eq!(counts.clean_errors + counts.other_errors, 0, "{counts:?}");
    drop(app);
    drop(db);
}
