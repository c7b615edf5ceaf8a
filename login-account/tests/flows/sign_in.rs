//! Sign-in by link or code.

use actix_web::http::StatusCode;
use login_account::{AccountEvent, Flow, Limits, SignInMethod};
use serde_json::json;

use crate::support::{Site, browser, path_of, token_of};

/// The code in the latest sign-in mail to `address` (`XXXX-XXXX`).
fn code_to(site: &Site, address: &str) -> String {
    let text = site.outbox.last_to(address).unwrap().text;
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 9 && line.as_bytes()[4] == b'-')
        .expect("a code in the mail");
    line.to_owned()
}

#[actix_web::test]
async fn a_sign_in_link_signs_in_the_browser_that_asked_fresh() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    let page = visitor.get("/account/sign-in").await;
    assert!(
        page.body.contains("Email me a sign-in link"),
        "{}",
        page.body
    );
    let page = visitor
        .post(
            "/account/sign-in",
            &[("email", "ada@example.com"), ("remember", "on")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Code from the mail"), "{}", page.body);
    assert_eq!(visitor.who().await, None);

    let link = site.link_to("ada@example.com");
    assert!(
        link.starts_with("https://app.example/account/sign-in/link?token="),
        "{link}"
    );
    let page = visitor.get(&path_of(&link)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(visitor.who().await, None, "a GET signs nobody in");
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.header("location").as_deref(), Some("/"));
    assert_eq!(visitor.who().await.as_deref(), Some("user 1 fresh true"));
    assert!(
        visitor.client.cookie("remember_token").is_some(),
        "remembered as asked"
    );
    assert!(site.events().contains(&AccountEvent::SignedIn {
        user_id: "1".into(),
        method: SignInMethod::Link
    }));

    // Single use.
    let again = browser(&site, 1).await;
    let page = again
        .post_json("/account/sign-in/link", json!({ "token": token_of(&link) }))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.json()["error"], "token_used");
}

#[actix_web::test]
async fn a_sign_in_link_opened_in_another_browser_signs_nobody_in_there() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    // An attacker asks for a link for Ada's address in their own browser...
    let attacker = browser(&site, 6).await;
    attacker
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let link = site.link_to("ada@example.com");
    // ...Ada opens it in hers: it asks her to go back to the browser that asked.
    let ada = browser(&site, 1).await;
    let page = ada.get(&path_of(&link)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        page.body.contains("browser where you asked"),
        "{}",
        page.body
    );
    let page = ada
        .post_json("/account/sign-in/link", json!({ "token": token_of(&link) }))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.json()["error"], "other_browser");
    assert_eq!(ada.who().await, None);
    // Nothing was used up, and nobody was signed in anywhere.
    assert!(site.tokens.records().iter().all(|r| r.used_at.is_none()));
    assert_eq!(attacker.who().await, None);
    assert!(
        !site
            .events()
            .iter()
            .any(|e| matches!(e, AccountEvent::SignedIn { .. }))
    );

    // A newer request in the same browser replaces the older one there.
    let visitor = browser(&site, 1).await;
    visitor
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let first = site.link_to("ada@example.com");
    visitor
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let second = site.link_to("ada@example.com");
    let page = visitor
        .post_json(
            "/account/sign-in/link",
            json!({ "token": token_of(&first) }),
        )
        .await;
    assert_eq!(page.json()["error"], "other_browser");
    let page = visitor
        .post_json(
            "/account/sign-in/link",
            json!({ "token": token_of(&second) }),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["status"], "signed_in");
}

#[actix_web::test]
async fn the_code_signs_in_only_where_it_was_asked_and_wrong_codes_run_out() {
    let site = Site::with(|config| {
        config.limits(Limits {
            code_attempts: 3,
            ..Limits::default()
        })
    });
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    visitor
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let code = code_to(&site, "ada@example.com");

    // The right code in another browser: no sign-in is pending there.
    let elsewhere = browser(&site, 2).await;
    let page = elsewhere
        .post_json("/account/sign-in/code", json!({ "code": code }))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.json()["error"], "no_sign_in_pending");

    // Typed as people type it: lower case, no dash.
    let typed = code.replace('-', "").to_lowercase();
    let page = visitor
        .post_json("/account/sign-in/code", json!({ "code": "0000-0000" }))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.json()["problems"][0]["code"], "code_wrong");
    let page = visitor
        .post_json("/account/sign-in/code", json!({ "code": typed }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(visitor.who().await.as_deref(), Some("user 1 fresh true"));
    assert!(site.events().contains(&AccountEvent::SignedIn {
        user_id: "1".into(),
        method: SignInMethod::Code
    }));

    // Three wrong codes end a sign-in: the right one no longer works.
    let guesser = browser(&site, 3).await;
    guesser
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let code = code_to(&site, "ada@example.com");
    for _ in 0..3 {
        let page = guesser
            .post_json("/account/sign-in/code", json!({ "code": "0000-0000" }))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let page = guesser
        .post_json("/account/sign-in/code", json!({ "code": code }))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(guesser.who().await, None);
}

#[actix_web::test]
async fn a_sign_in_request_answers_the_same_for_known_and_unknown_addresses() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let visitor = browser(&site, 1).await;
        visitor.get("/account/sign-in").await;
        let page = visitor.post("/account/sign-in", &[("email", email)]).await;
        let body = page
            .body
            .split("name=\"csrf\" value=\"")
            .next()
            .unwrap()
            .to_owned();
        answers.push((page.status, body));
        // A code typed for the unknown address is just wrong.
        let page = visitor
            .post_json("/account/sign-in/code", json!({ "code": "ABCD-EFGH" }))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
    }
    assert_eq!(answers[0], answers[1]);
    let unknown = site.outbox.last_to("nobody@example.com").unwrap();
    assert!(
        unknown
            .text
            .contains("there is no account with this address")
    );
    assert!(
        site.events()
            .contains(&AccountEvent::SignInRequested { user_id: None })
    );
    assert!(site.events().contains(&AccountEvent::Refused {
        flow: Flow::SignIn,
        reason: "code_wrong"
    }));
}

#[actix_web::test]
async fn a_sign_in_link_dies_when_the_password_changes() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    visitor
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let token = site.token_to("ada@example.com");
    site.users.update(1, |u| u.password_hash = "changed".into());
    let page = visitor
        .post_json("/account/sign-in/link", json!({ "token": token }))
        .await;
    assert_eq!(page.json()["error"], "token_stale");
    assert_eq!(visitor.who().await, None);
}

#[actix_web::test]
async fn a_sign_in_link_or_code_of_an_account_with_a_second_factor_leads_to_the_second_step() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    site.users.update(1, |user| user.second_factor = true);

    // The link, in a browser: on to the second step, nobody logged in, the link used up.
    let visitor = browser(&site, 1).await;
    visitor.get("/account/sign-in").await;
    visitor
        .post(
            "/account/sign-in",
            &[("email", "ada@example.com"), ("remember", "on")],
        )
        .await;
    let link = site.link_to("ada@example.com");
    visitor.get(&path_of(&link)).await;
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.header("location").as_deref(), Some("/two-factor"));
    assert_eq!(visitor.who().await, None, "a pending login is not a login");
    assert!(visitor.client.cookie("remember_token").is_none());
    assert!(site.events().contains(&AccountEvent::SecondFactorAsked {
        user_id: "1".into(),
        method: SignInMethod::Link
    }));
    assert!(
        !site
            .events()
            .iter()
            .any(|event| matches!(event, AccountEvent::SignedIn { .. })),
        "{:?}",
        site.events()
    );
    let page = visitor
        .post("/account/sign-in/link", &[("token", &token_of(&link))])
        .await;
    assert_ne!(page.status, StatusCode::SEE_OTHER, "single use");

    // The code, from an API client: JSON that says the second factor is next.
    let client = browser(&site, 2).await;
    client
        .post_json("/account/sign-in", json!({ "email": "ada@example.com" }))
        .await;
    let code = code_to(&site, "ada@example.com");
    let page = client
        .post_json("/account/sign-in/code", json!({ "code": code }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["status"], "second_factor_required");
    assert_eq!(page.json()["location"], "/two-factor");
    assert_eq!(client.who().await, None);
}
