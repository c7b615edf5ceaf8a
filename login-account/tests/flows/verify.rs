//! Email verification, and what an unverified account may do.

use std::time::Duration;

use actix_web::http::StatusCode;
use login_account::{AccountEvent, Limits, Verification};
use serde_json::json;

use crate::support::{Site, browser, path_of, token_of};

/// A site with account 1 unverified and logged in on the returned browser's site; the
/// verification link mailed to it.
async fn unverified(site: &Site) -> String {
    site.add(1, "ada@example.com", "old password");
    site.users.update(1, |u| u.verified = false);
    let member = browser(site, 1).await;
    member.log_in(1, false).await;
    let page = member.post_json("/account/verify/resend", json!({})).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["status"], "verification_sent");
    site.link_to("ada@example.com")
}

#[actix_web::test]
async fn a_verification_link_confirms_the_address_after_a_press_and_twice_is_harmless() {
    let site = Site::new();
    let link = unverified(&site).await;
    assert!(
        link.starts_with("https://app.example/account/verify?token="),
        "{link}"
    );
    let visitor = browser(&site, 2).await;
    // Opening it (a mail scanner, or the user) changes nothing: it shows a button.
    let page = visitor.get(&path_of(&link)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Confirm my address"), "{}", page.body);
    assert!(!site.users.get(1).verified);

    let token = token_of(&link);
    let page = visitor.post("/account/verify", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("your email address is confirmed"),
        "{}",
        page.body
    );
    assert!(site.users.get(1).verified);
    assert!(site.events().contains(&AccountEvent::Verified {
        user_id: "1".into()
    }));

    // Again, by link or by button: "confirmed already", never an error.
    let page = visitor.get(&path_of(&link)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("confirmed already"), "{}", page.body);
    let page = visitor.post("/account/verify", &[("token", &token)]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("confirmed already"), "{}", page.body);
    let page = visitor
        .post_json("/account/verify", json!({ "token": token }))
        .await;
    assert_eq!(page.json()["status"], "already_verified");
    let verified = site
        .events()
        .iter()
        .filter(|e| matches!(e, AccountEvent::Verified { .. }))
        .count();
    assert_eq!(verified, 1);
}

#[actix_web::test]
async fn a_verification_link_for_an_old_address_does_not_confirm_the_new_one() {
    let site = Site::new();
    let link = unverified(&site).await;
    site.users.update(1, |u| u.email = "ada@new.example".into());
    let visitor = browser(&site, 2).await;
    let page = visitor
        .post_json("/account/verify", json!({ "token": token_of(&link) }))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.json()["error"], "token_stale");
    assert!(!site.users.get(1).verified);
}

#[actix_web::test]
async fn resending_needs_a_login_and_is_throttled() {
    let site = Site::with(|config| {
        config.limits(Limits {
            per_address: 2,
            ..Limits::default()
        })
    });
    unverified(&site).await;
    let anonymous = browser(&site, 3).await;
    let page = anonymous
        .post_json("/account/verify/resend", json!({}))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    assert_eq!(
        member
            .post_json("/account/verify/resend", json!({}))
            .await
            .status,
        StatusCode::OK
    );
    let page = member.post_json("/account/verify/resend", json!({})).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.header("retry-after").is_some());
    assert_eq!(site.outbox.to("ada@example.com").len(), 2);
}

#[actix_web::test]
async fn the_verified_extractor_follows_the_configured_rule() {
    let week = Duration::from_secs(7 * 86_400);
    for (rule, allowed_now, allowed_later) in [
        (Verification::NamedActions, false, false),
        (Verification::Required, false, false),
        (Verification::Grace(week), true, false),
    ] {
        let site = Site::with(|config| config.verification(rule));
        site.add(1, "ada@example.com", "old password");
        site.users.update(1, |u| u.verified = false);
        let member = browser(&site, 1).await;
        member.log_in(1, false).await;
        let status = |allowed| {
            if allowed {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            }
        };
        let page = member.get("/verified-only").await;
        assert_eq!(page.status, status(allowed_now), "{rule:?}");
        if !allowed_now {
            assert!(
                page.body.contains("confirm your email address"),
                "{}",
                page.body
            );
            assert_eq!(
                member.get_json("/verified-only").await.json()["error"],
                "email_not_verified"
            );
        }
        site.advance(week);
        assert_eq!(
            member.get("/verified-only").await.status,
            status(allowed_later),
            "{rule:?}"
        );
        // Once verified, always through.
        site.users.update(1, |u| u.verified = true);
        assert_eq!(
            member.get("/verified-only").await.status,
            StatusCode::OK,
            "{rule:?}"
        );
        assert!(site.account().may_log_in(&site.users.get(1)));
        site.users.update(1, |u| u.verified = false);
        assert_eq!(
            site.account().may_log_in(&site.users.get(1)),
            rule != Verification::Required,
            "{rule:?}"
        );
    }
    // Anonymous visitors get login-runtime's answer, not the verification page.
    let site = Site::new();
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/verified-only").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/login?next=%2Fverified-only")
    );
}
