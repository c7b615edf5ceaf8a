//! Second factors in the demo (login-mfa): the admin page asks for one, TOTP enrolment from
//! the Security page with the QR code and the secret, the login's second step, recovery codes
//! (stored hashed, single use), and a trusted device that stops working once logged out. Run
//! on SQLite, PostgreSQL and Redis by the suite in `demo.rs`.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use login_mfa::{Totp, TotpAlgorithm};
use sqlx::Row;

use super::base32::base32_decode;
use super::{Browser, PASSWORD, Site, audited, browser, new_name};

pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Turns on an authenticator app for the logged-in browser from the Security page; the app
/// (the secret read from the page). The code that turned it on is used up: the next accepted
/// one is of the next step (within the one step of skew).
pub(super) async fn enrol_totp<S, B>(visitor: &Browser<S>) -> Totp
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let page = visitor.get("/mfa/security").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Set up an authenticator app"));
    let page = visitor.post("/mfa/totp/setup", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("src=\"data:image/svg+xml;base64,"));
    assert!(page.body.contains("alt=\"QR code"));
    let secret = page
        .body
        .split("<code id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the secret on the page")
        .to_owned();
    let totp = Totp::new(TotpAlgorithm::Sha1, base32_decode(&secret), 6);
    // A wrong code first: the form again, the field marked.
    let page = visitor
        .post("/mfa/totp/enable", &[("code", "000000")])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("aria-invalid=\"true\""), "{}", page.body);
    assert!(page.body.contains("role=\"alert\""));
    let page = visitor
        .post("/mfa/totp/enable", &[("code", &totp.code_at(now()))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/mfa/security");
    totp
}

/// Turns on an authenticator app for the logged-in `name`, logs out, and logs in again with
/// the password and a code.
pub(super) async fn log_in_with_totp<S, B>(visitor: &Browser<S>, name: &str, password: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let totp = enrol_totp(visitor).await;
    visitor.log_out().await;
    let page = visitor.log_in(name, password, false).await;
    assert_eq!(page.location, "/mfa/verify");
    visitor.get("/mfa/verify").await;
    let page = visitor
        .post("/mfa/verify/totp", &[("code", &totp.code_at(now() + 30))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

pub(super) async fn the_admin_page_asks_for_a_second_factor_and_a_totp_login_admits_it(
    site: &Site,
) {
    let password = site.demo.ensure_demo_account().await.unwrap().unwrap();
    let admin = browser(site, 1).await;
    assert_eq!(admin.log_in("demo", &password, false).await.location, "/");
    // No second factor yet: sent to enrol one.
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert!(
        page.location.starts_with("/mfa/security"),
        "{}",
        page.location
    );
    let totp = enrol_totp(&admin).await;
    // Stored encrypted: the row holds neither the secret nor its hex.
    let row = sqlx::query("SELECT sealed_secret FROM mfa_totp")
        .fetch_one(site.demo.db.pool())
        .await
        .unwrap();
    let sealed: String = row.try_get("sealed_secret").unwrap();
    assert!(!sealed.contains(&totp.secret_base32()));
    admin.log_out().await;

    // The password is not a login any more: the second step, and guarded pages answer as to
    // a visitor.
    let page = admin.log_in("demo", &password, false).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/mfa/verify");
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert!(
        page.location.starts_with("/login?next="),
        "{}",
        page.location
    );
    let page = admin.get("/mfa/verify").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<label for=\"totp-code\">"));
    let page = admin
        .post("/mfa/verify/totp", &[("code", &totp.code_at(now() + 30))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/profile");
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.location);
    assert!(page.body.contains("Demo Admin"));
    assert!(!audited(site, "second_factor").await.is_empty());

    // Recovery codes: shown once, stored as keyed hashes, each single use.
    admin.get("/mfa/security").await;
    let page = admin.post("/mfa/recovery/generate", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let codes: Vec<String> = page
        .body
        .split("<li><code>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10);
    let rows = sqlx::query("SELECT hash FROM mfa_recovery_codes")
        .fetch_all(site.demo.db.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    for row in rows {
        let hash: String = row.try_get("hash").unwrap();
        assert!(
            codes
                .iter()
                .all(|code| !hash.contains(&code.replace('-', "")))
        );
    }
    admin.log_out().await;
    admin.log_in("demo", &password, false).await;
    admin.get("/mfa/verify").await;
    let page = admin
        .post("/mfa/verify/recovery", &[("code", &codes[0])])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    admin.log_out().await;
    admin.log_in("demo", &password, false).await;
    admin.get("/mfa/verify").await;
    let page = admin
        .post("/mfa/verify/recovery", &[("code", &codes[0])])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNAUTHORIZED,
        "used once, refused after"
    );
    assert!(
        page.body.contains("That code is not right")
            || page.body.contains("that code is not right")
    );
}

pub(super) async fn a_trusted_device_stops_working_after_it_is_logged_out(site: &Site) {
    let name = new_name("trudy");
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    let totp = enrol_totp(&visitor).await;
    visitor.log_out().await;
    visitor.log_in(&name, PASSWORD, false).await;
    visitor.get("/mfa/verify").await;
    let page = visitor
        .post(
            "/mfa/verify/totp",
            &[("code", &totp.code_at(now() + 30)), ("trust", "on")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(
        page.set_cookies
            .iter()
            .any(|c| c.starts_with("mfa_trusted="))
    );
    visitor.log_out().await;

    // Trusted: the password logs in.
    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.location, "/", "{}", page.body);
    // The trusted device is on the devices page; log it out there.
    let page = visitor.get("/devices").await;
    let trusted = visitor.client.cookie("mfa_trusted").unwrap();
    let device_id = trusted.split('.').next().unwrap().to_owned();
    assert!(page.body.contains(&device_id), "{}", page.body);
    let page = visitor
        .post(&format!("/devices/{device_id}/logout"), &[])
        .await;
    assert!(
        page.status.is_redirection() || page.status.is_success(),
        "{}",
        page.status
    );
    visitor.log_out().await;

    // The cookie is still sent, but trusts no more.
    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.location, "/mfa/verify");
}

/// The form token is renewed when the second step completes the login, as at every login: a
/// token seen on the second step's page (or before it) is worth nothing once logged in.
pub(super) async fn the_form_token_seen_before_the_second_step_is_refused_after_it(site: &Site) {
    let name = new_name("xena");
    let visitor = browser(site, 1).await;
    visitor.sign_up(&name, PASSWORD).await;
    let totp = enrol_totp(&visitor).await;
    visitor.log_out().await;
    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert_eq!(page.location, "/mfa/verify");
    visitor.get("/mfa/verify").await;
    let seen_before = visitor.token();
    let page = visitor
        .post("/mfa/verify/totp", &[("code", &totp.code_at(now() + 30))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    // An old page's form, posted once logged in: refused, nothing made.
    let page = visitor
        .post_without_token("/tokens", &[("label", "old page"), ("csrf", &seen_before)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    // The page loaded now carries the new token, which works.
    let page = visitor.get("/tokens").await;
    assert_ne!(visitor.token(), seen_before, "{}", page.body);
    let page = visitor.post("/tokens", &[("label", "new page")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

/// A login made before the authenticator app was set up has no second factor: the admin page
/// sends it to the second step, whose code adds the factor to that login (no new login).
pub(super) async fn a_login_made_before_enrolment_steps_up_with_a_code_for_the_admin_page(
    site: &Site,
) {
    let password = site.demo.ensure_demo_account().await.unwrap().unwrap();
    let admin = browser(site, 1).await;
    admin.log_in("demo", &password, false).await;
    let totp = enrol_totp(&admin).await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/mfa/verify?next=%2Fadmin");
    let page = admin.get(&page.location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<label for=\"totp-code\">"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("This page needs your second factor"),
        "{}",
        page.body
    );
    assert_eq!(
        admin.get("/profile").await.status,
        StatusCode::OK,
        "still logged in"
    );
    let page = admin
        .post("/mfa/verify/totp", &[("code", &totp.code_at(now() + 30))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/admin");
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.location);
    assert!(page.body.contains("Demo Admin"));
}
