//! Change of email address.

use actix_web::http::StatusCode;
use login_account::AccountEvent;
use serde_json::json;

use crate::support::{Site, browser, path_of, token_of};

#[actix_web::test]
async fn changing_the_address_needs_a_fresh_login() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let member = browser(&site, 1).await;
    // A login restored from a remember cookie is not fresh.
    member.log_in(1, true).await;
    member.forget_session();
    assert_eq!(member.who().await.as_deref(), Some("user 1 fresh false"));
    let page = member.get("/account/email").await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.body);
    assert_eq!(
        page.header("location").as_deref(),
        Some("/reauthenticate?next=%2Faccount%2Femail")
    );
    let page = member
        .post_json("/account/email", json!({ "email": "ada@new.example" }))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(site.outbox.mails().is_empty());
    // Anonymous: the login view.
    let anonymous = browser(&site, 2).await;
    assert_eq!(
        anonymous.get("/account/email").await.status,
        StatusCode::FOUND
    );
}

#[actix_web::test]
async fn the_new_address_confirms_before_it_replaces_the_old_and_the_old_is_told() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    let page = member.get("/account/email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Your address is ada@example.com"),
        "{}",
        page.body
    );
    let page = member
        .post("/account/email", &[("email", "ada@new.example")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("We sent a confirmation link to ada@new.example")
    );
    // Nothing changed yet.
    assert_eq!(site.users.get(1).email, "ada@example.com");

    let notice = site.outbox.last_to("ada@example.com").unwrap();
    assert!(notice.text.contains("ada@new.example"), "{}", notice.text);
    let report_link = notice
        .link("https://app.example/account/email/report?token=")
        .unwrap();
    let confirm = site.link_to("ada@new.example");
    assert!(confirm.starts_with("https://app.example/account/email/confirm?token="));

    let other = browser(&site, 2).await;
    let page = other.get(&path_of(&confirm)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("make ada@new.example your account"),
        "{}",
        page.body
    );
    assert_eq!(site.users.get(1).email, "ada@example.com");
    let page = other
        .post("/account/email/confirm", &[("token", &token_of(&confirm))])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.users.get(1).email, "ada@new.example");
    let changed = site.outbox.last_to("ada@example.com").unwrap();
    assert!(
        changed.subject.contains("was changed"),
        "{}",
        changed.subject
    );
    assert!(site.events().contains(&AccountEvent::EmailChanged {
        user_id: "1".into()
    }));

    // The confirmation works once; the old address's report link died with the change.
    let page = other
        .post_json(
            "/account/email/confirm",
            json!({ "token": token_of(&confirm) }),
        )
        .await;
    assert_eq!(page.json()["error"], "token_used");
    let page = other
        .post_json(
            "/account/email/report",
            json!({ "token": token_of(&report_link) }),
        )
        .await;
    assert_eq!(page.json()["error"], "token_stale");
}

#[actix_web::test]
async fn the_old_address_can_report_a_change_it_did_not_ask_for() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    member
        .post_json("/account/email", json!({ "email": "mallory@evil.example" }))
        .await;
    let report = site
        .outbox
        .last_to("ada@example.com")
        .unwrap()
        .link("https://app.example/account/email/report?token=")
        .unwrap();
    let confirm = site.token_to("mallory@evil.example");

    let owner = browser(&site, 2).await;
    let page = owner.get(&path_of(&report)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = owner
        .post("/account/email/report", &[("token", &token_of(&report))])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("change of address is cancelled"),
        "{}",
        page.body
    );
    assert!(site.events().contains(&AccountEvent::EmailChangeReported {
        user_id: "1".into()
    }));

    let page = owner
        .post_json("/account/email/confirm", json!({ "token": confirm }))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(site.users.get(1).email, "ada@example.com");
}

#[actix_web::test]
async fn an_address_of_another_account_gets_the_same_answer_and_no_link() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    site.add(2, "bob@example.com", "bob password");
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    let taken = member
        .post_json("/account/email", json!({ "email": "bob@example.com" }))
        .await;
    let free = member
        .post_json("/account/email", json!({ "email": "ada@new.example" }))
        .await;
    assert_eq!(taken.status, free.status);
    assert_eq!(
        taken.json()["message"]
            .as_str()
            .unwrap()
            .replace("bob@example.com", "X"),
        free.json()["message"]
            .as_str()
            .unwrap()
            .replace("ada@new.example", "X")
    );
    let to_bob = site.outbox.last_to("bob@example.com").unwrap();
    assert!(
        to_bob.text.contains("already has an account"),
        "{}",
        to_bob.text
    );
    assert!(to_bob.link("https://app.example/").is_none());
    // Invalid or unchanged addresses are refused with a reason.
    for (email, code) in [
        ("not an address", "email_invalid"),
        ("ADA@example.com", "email_unchanged"),
    ] {
        let page = member
            .post_json("/account/email", json!({ "email": email }))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(page.json()["problems"][0]["code"], code);
    }
}

#[actix_web::test]
async fn a_confirmation_dies_when_the_password_changes() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    member
        .post_json("/account/email", json!({ "email": "ada@new.example" }))
        .await;
    let confirm = site.token_to("ada@new.example");
    site.users.update(1, |u| u.password_hash = "changed".into());
    let page = member
        .post_json("/account/email/confirm", json!({ "token": confirm }))
        .await;
    assert_eq!(page.json()["error"], "token_stale");
    assert_eq!(site.users.get(1).email, "ada@example.com");
}

#[actix_web::test]
async fn an_account_without_an_address_gets_one_by_confirming_it() {
    let site = Site::new();
    site.add(1, "", "old password");
    let member = browser(&site, 1).await;
    member.log_in(1, false).await;
    let page = member
        .post_json("/account/email", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let confirm = site.token_to("ada@example.com");
    let page = member
        .post_json("/account/email/confirm", json!({ "token": confirm }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(site.users.get(1).email, "ada@example.com");
    assert!(site.outbox.mails().iter().all(|mail| !mail.to.is_empty()));
}
