//! The account flows in the demo (login-account): a reset from the login page to the new
//! password, the same answer for every address, verification with the banner and resend,
//! change of email in the settings, the sign-in link, the password policy on the demo's own
//! forms, and the tokens table. Run on SQLite, PostgreSQL and Redis by the suite in `demo.rs`.

use actix_web::http::StatusCode;
use login_account::testing::Outbox;

use super::{PASSWORD, Site, audited, browser, new_name};

/// Where the demo links to in tests (`AccountSettings::for_tests`).
const PUBLIC_URL: &str = "http://127.0.0.1:8080";

fn outbox(site: &Site) -> &Outbox {
    site.demo
        .account
        .outbox()
        .expect("tests keep mail in an outbox")
}

/// The link in the latest mail to `address`, as a path of the demo.
fn link_to(site: &Site, address: &str) -> String {
    let mail = outbox(site)
        .last_to(address)
        .expect("a mail to the address");
    let link = mail.link(PUBLIC_URL).expect("a link in the mail");
    link.strip_prefix(PUBLIC_URL).unwrap().to_owned()
}

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_owned()
}

/// The page's body before its first form token (tokens differ per browser).
fn before_token(body: &str) -> &str {
    body.split("name=\"csrf\" value=\"").next().unwrap()
}

pub(super) async fn forgot_password_walks_from_the_mail_to_the_new_password(site: &Site) {
    let name = new_name("ruth");
    let email = format!("{name}@example.com");
    let new_password = "marmalade kettle on the moon";
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let laptop = browser(site, 2).await;
    laptop.log_in(&name, PASSWORD, true).await;
    assert_eq!(laptop.get("/profile").await.status, StatusCode::OK);

    let visitor = browser(site, 3).await;
    let page = visitor.get("/login").await;
    assert!(
        page.body
            .contains("href=\"/account/reset\">Forgot your password?"),
        "{}",
        page.body
    );
    let page = visitor.get("/account/reset").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<h1>Forgot your password?</h1>"),
        "{}",
        page.body
    );
    // A forged Host does not reach the link.
    let page = visitor
        .post_with(
            "/account/reset",
            &[("email", &email)],
            ("host", "evil.example"),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("If an account has this address"),
        "{}",
        page.body
    );
    let link = link_to(site, &email);
    assert!(link.starts_with("/account/reset/confirm?token="), "{link}");
    assert!(!outbox(site).last_to(&email).unwrap().text.contains("evil"));

    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Choose a new password"));
    let token = token_of(&link);
    let page = visitor
        .post(
            "/account/reset/confirm",
            &[
                ("token", &token),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Your password is changed."),
        "{}",
        page.body
    );
    let told = outbox(site).last_to(&email).unwrap();
    assert!(told.subject.contains("was changed"), "{}", told.subject);

    // The other browser is logged out: its session, then its remember cookie.
    assert_eq!(laptop.get("/profile").await.status, StatusCode::FOUND);
    laptop.close_browser();
    assert_eq!(laptop.get("/profile").await.status, StatusCode::FOUND);
    // The old password no longer works, the new one does; the link works once.
    let page = visitor.log_in(&name, PASSWORD, false).await;
    assert!(page.body.contains("Wrong name or password."));
    assert_eq!(
        visitor.log_in(&name, new_password, false).await.location,
        "/"
    );
    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("already been used"), "{}", page.body);

    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    let resets: Vec<_> = audited(site, "password_changed")
        .await
        .into_iter()
        .filter(|(id, _)| *id == Some(user.id))
        .collect();
    // The sign-up's browser and the laptop.
    assert_eq!(
        resets,
        [(Some(user.id), "reset; 2 devices logged out".to_owned())]
    );
    assert!(
        audited(site, "reset_requested")
            .await
            .contains(&(Some(user.id), String::new()))
    );
    // The table holds the token's keyed hash, never the token.
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT hash, used_at FROM account_tokens WHERE purpose = 'reset_password'")
            .fetch_all(site.demo.db.pool())
            .await
            .unwrap();
    assert!(
        rows.iter()
            .all(|(hash, _)| hash != &token && hash.len() == 64)
    );
    assert!(rows.iter().any(|(_, used)| used.is_some()));
}

pub(super) async fn reset_answers_alike_for_known_and_unknown_addresses(site: &Site) {
    let name = new_name("sam");
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let known = format!("{name}@example.com");
    let unknown = format!("{}@example.com", new_name("nobody"));
    let mut answers = Vec::new();
    for email in [&known, &unknown] {
        let visitor = browser(site, 2).await;
        visitor.get("/account/reset").await;
        let page = visitor.post("/account/reset", &[("email", email)]).await;
        answers.push((
            page.status,
            page.content_type,
            before_token(&page.body).to_owned(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert!(link_to(site, &known).starts_with("/account/reset/confirm?token="));
    let notice = outbox(site).last_to(&unknown).unwrap();
    assert!(
        notice
            .text
            .contains("there is no account with this address"),
        "{}",
        notice.text
    );
    assert!(
        audited(site, "reset_requested")
            .await
            .contains(&(None, "no account".to_owned()))
    );
}

pub(super) async fn sign_up_mails_a_verification_link_and_the_banner_resends_it(site: &Site) {
    let name = new_name("tess");
    let email = format!("{name}@example.com");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    let page = member.get("/profile").await;
    assert!(
        page.body
            .contains("We sent a link to confirm your email address."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Please confirm your email address"),
        "{}",
        page.body
    );
    let first = link_to(site, &email);
    assert!(first.starts_with("/account/verify?token="), "{first}");

    let page = member.post("/account/verify/resend", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("We sent a new confirmation link"),
        "{}",
        page.body
    );
    assert_eq!(outbox(site).to(&email).len(), 2);
    let link = link_to(site, &email);
    // Opening the link (a mail scanner) confirms nothing; the button does.
    let page = member.get(&link).await;
    assert!(page.body.contains("Confirm my address"), "{}", page.body);
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    assert!(!user.email_verified);
    let page = member
        .post("/account/verify", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("your email address is confirmed"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Please confirm your email address"),
        "the banner is gone"
    );
    assert!(
        site.demo
            .db
            .user(user.id)
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    // The first link, still unused, now only says there is nothing to do.
    let page = member
        .post("/account/verify", &[("token", &token_of(&first))])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("confirmed already"), "{}", page.body);
    assert_eq!(
        audited(site, "email_verified").await,
        [(Some(user.id), String::new())]
    );
}

pub(super) async fn email_change_in_settings_confirms_by_link_and_tells_the_old_address(
    site: &Site,
) {
    let name = new_name("uma");
    let old = format!("{name}@example.com");
    let new = format!("{name}@new.example");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    let page = member.get("/settings").await;
    assert!(
        page.body
            .contains(&format!("Your address is <strong>{old}</strong>")),
        "{}",
        page.body
    );
    let page = member.post("/account/email", &[("email", &new)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("We sent a confirmation link to {new}")),
        "{}",
        page.body
    );
    let notice = outbox(site).last_to(&old).unwrap();
    assert!(
        notice.text.contains(&new) && notice.text.contains("report it"),
        "{}",
        notice.text
    );
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some(old.as_str()));

    let link = link_to(site, &new);
    let page = member.get(&link).await;
    assert!(
        page.body.contains("Confirm my new address"),
        "{}",
        page.body
    );
    let page = member
        .post("/account/email/confirm", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let user = site.demo.db.user(user.id).await.unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some(new.as_str()));
    assert!(user.email_verified, "the link confirmed the new address");
    assert!(
        outbox(site)
            .last_to(&old)
            .unwrap()
            .subject
            .contains("was changed")
    );
    assert_eq!(
        audited(site, "email_changed").await,
        [(Some(user.id), String::new())]
    );
    // A stale login must re-authenticate first.
    member.close_browser();
    let other = browser(site, 2).await;
    other.log_in(&name, PASSWORD, true).await;
    other.close_browser();
    let page = other.get("/account/email").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/reauthenticate?next=%2Faccount%2Femail");
}

pub(super) async fn a_sign_in_link_from_the_login_page_logs_in_only_where_it_was_asked(
    site: &Site,
) {
    let name = new_name("vera");
    let email = format!("{name}@example.com");
    browser(site, 1).await.sign_up(&name, PASSWORD).await;
    let visitor = browser(site, 2).await;
    let page = visitor.get("/login").await;
    assert!(
        page.body
            .contains("href=\"/account/sign-in\">Email me a sign-in link"),
        "{}",
        page.body
    );
    visitor.get("/account/sign-in").await;
    let page = visitor.post("/account/sign-in", &[("email", &email)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Code from the mail"), "{}", page.body);
    let link = link_to(site, &email);

    let elsewhere = browser(site, 3).await;
    let page = elsewhere.get(&link).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("browser where you asked"),
        "{}",
        page.body
    );
    assert_eq!(elsewhere.get("/profile").await.status, StatusCode::FOUND);

    visitor.get(&link).await;
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/profile");
    let page = visitor.get("/profile").await;
    assert!(
        page.body.contains("fresh (password entered"),
        "{}",
        page.body
    );
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    assert!(
        audited(site, "login")
            .await
            .contains(&(Some(user.id), "sign-in link".to_owned()))
    );
}

/// A sign-in link is a first factor like a password: for an account with an authenticator
/// app it leads to the second step, and nobody is logged in until the code is given.
pub(super) async fn a_sign_in_link_for_an_account_with_an_authenticator_app_asks_for_its_code(
    site: &Site,
) {
    let name = new_name("wilma");
    let email = format!("{name}@example.com");
    let owner = browser(site, 1).await;
    owner.sign_up(&name, PASSWORD).await;
    let totp = super::mfa::enrol_totp(&owner).await;

    let visitor = browser(site, 2).await;
    visitor.get("/account/sign-in").await;
    let page = visitor.post("/account/sign-in", &[("email", &email)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let link = link_to(site, &email);
    visitor.get(&link).await;
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/mfa/verify");
    // Not logged in: the pending login is not a login.
    assert_eq!(visitor.get("/profile").await.status, StatusCode::FOUND);
    assert!(visitor.get("/").await.body.contains("Hello, stranger."));
    // The link was used up by the first step: it cannot start another.
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let page = visitor.get("/mfa/verify").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = visitor
        .post(
            "/mfa/verify/totp",
            &[("code", &totp.code_at(super::mfa::now() + 30))],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/profile");
    let page = visitor.get("/profile").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&name), "{}", page.body);
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    let logins = audited(site, "login").await;
    assert!(
        logins.contains(&(
            Some(user.id),
            "sign-in link; second factor asked".to_owned()
        )),
        "{logins:?}"
    );
    assert!(
        !logins.contains(&(Some(user.id), "sign-in link".to_owned())),
        "no login before the second step: {logins:?}"
    );
}

pub(super) async fn the_password_policy_speaks_on_sign_up_and_password_change(site: &Site) {
    let visitor = browser(site, 1).await;
    let name = new_name("wade");
    for (password, reason) in [
        ("password123", "too easy to guess"),
        (
            &*format!("{name} forever and ever"),
            "must not contain your name or email",
        ),
    ] {
        let page = visitor.sign_up(&name, password).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert!(page.body.contains(reason), "{password}: {}", page.body);
    }
    let page = visitor.get("/signup").await;
    assert!(
        page.body
            .contains("not a common or easily guessed password"),
        "{}",
        page.body
    );
    visitor.sign_up(&name, PASSWORD).await;
    let page = visitor.change_password(PASSWORD, "qwertyuiop").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("too easy to guess"), "{}", page.body);
}

pub(super) async fn account_tokens_in_the_database_pass_the_store_rules(site: &Site) {
    let db = site.demo.db.clone();
    login_account::testing::token_store_conformance(|| examples::demo::db::DbTokens(db.clone()))
        .await
        .unwrap();
}

/// Not a timed assertion: it checks that both answers are the same, and prints how long each
/// took (median and 90th percentile of alternating runs) for the report; the work is the same
/// by construction (a lookup, a token made and stored, a mail).
#[actix_web::test]
#[ignore = "a measurement (prints timings); run by .ci/run, or with --ignored --nocapture"]
async fn reset_request_time_for_known_and_unknown_addresses_is_measured() {
    use std::time::{Duration, Instant};
    const ROUNDS: u8 = 40;
    let site = Site::sqlite().await;
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut bodies: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        // A new account and a new unknown address each round: no address is throttled.
        let name = new_name("zoe");
        let known = format!("{name}@example.com");
        site.demo
            .db
            .create_user(&name, &name, &known, "not a hash", false)
            .await
            .unwrap();
        let unknown = format!("{}@example.com", new_name("nobody"));
        // Alternate which goes first, so neither always runs on a warmer cache.
        let order = if round % 2 == 0 {
            [(0, &known), (1, &unknown)]
        } else {
            [(1, &unknown), (0, &known)]
        };
        for (which, email) in order {
            let visitor = browser(
                &site,
                round.wrapping_mul(2).wrapping_add(u8::from(which == 1)),
            )
            .await;
            visitor.get("/account/reset").await;
            let started = Instant::now();
            let page = visitor.post("/account/reset", &[("email", email)]).await;
            times[which].push(started.elapsed());
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            bodies.push(before_token(&page.body).to_owned());
        }
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "every answer is the same"
    );
    let stats = |times: &mut Vec<Duration>| {
        times.sort();
        (times[times.len() / 2], times[times.len() * 9 / 10])
    };
    let (known_median, known_p90) = stats(&mut times[0]);
    let (unknown_median, unknown_p90) = stats(&mut times[1]);
    println!(
        "reset request, SQLite, {ROUNDS} runs each: known address median {known_median:?} \
         p90 {known_p90:?}; unknown address median {unknown_median:?} p90 {unknown_p90:?}"
    );
    site.finish().await;
}
