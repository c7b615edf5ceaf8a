//! Password reset.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use login_account::{AccountEvent, Flow, Limits, Purpose};
use login_runtime::DeviceRegistry;
use serde_json::json;

use crate::support::{Site, browser, hash, path_of, token_of};

const NEW: &str = "seven lazy otters juggle";

#[actix_web::test]
async fn a_reset_link_sets_a_new_password_and_tells_the_account() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;

    let page = visitor.get("/account/reset").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Forgot your password?"), "{}", page.body);
    let page = visitor
        .post("/account/reset", &[("email", "Ada@Example.com ")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("If an account has this address"),
        "{}",
        page.body
    );

    let link = site.link_to("ada@example.com");
    assert!(
        link.starts_with("https://app.example/account/reset/confirm?token="),
        "{link}"
    );
    let page = visitor.get(&path_of(&link)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Choose a new password"));
    // The token is in the URL: the page is never cached nor sent on as a Referer.
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        page.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );

    let token = token_of(&link);
    let form = [
        ("token", token.as_str()),
        ("password", NEW),
        ("confirm", NEW),
    ];
    let page = visitor.post("/account/reset/confirm", &form).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Your password is changed."),
        "{}",
        page.body
    );
    assert_eq!(site.users.get(1).password_hash, hash(NEW));

    let notice = site.outbox.last_to("ada@example.com").unwrap();
    assert!(notice.subject.contains("was changed"), "{}", notice.subject);
    assert!(site.events().contains(&AccountEvent::PasswordReset {
        user_id: "1".into(),
        devices_ended: 0
    }));
}

#[actix_web::test]
async fn a_reset_request_answers_the_same_for_known_and_unknown_addresses() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    for json in [false, true] {
        let mut answers = Vec::new();
        for email in ["ada@example.com", "nobody@example.com"] {
            let visitor = browser(&site, 1).await;
            let page = if json {
                visitor
                    .post_json("/account/reset", json!({ "email": email }))
                    .await
            } else {
                visitor.get("/account/reset").await;
                visitor.post("/account/reset", &[("email", email)]).await
            };
            let mut headers: Vec<_> = page
                .headers
                .iter()
                .filter(|(name, _)| *name != "set-cookie")
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
                .collect();
            headers.sort();
            // The form token differs per browser; everything else must not.
            let body = page
                .body
                .split("name=\"csrf\" value=\"")
                .next()
                .unwrap()
                .to_owned();
            answers.push((page.status, headers, body));
            // The same work: a token made and stored for either (for nobody, expired at once,
            // so the next request's purge removes it).
            let owner = if email.starts_with("ada") { "1" } else { "" };
            assert!(
                site.tokens.records().iter().any(|r| r.user_id == owner),
                "{email}: {:?}",
                site.tokens.records()
            );
        }
        assert_eq!(answers[0], answers[1], "json: {json}");
        assert_eq!(answers[0].0, StatusCode::OK);
    }
    // Both addresses got a mail: a link for the account, a notice for the other.
    assert_eq!(site.outbox.to("ada@example.com").len(), 2);
    let unknown = site.outbox.to("nobody@example.com");
    assert_eq!(unknown.len(), 2);
    assert!(
        unknown[0]
            .text
            .contains("there is no account with this address")
    );
    assert!(unknown[0].link("https://app.example/").is_none());
    assert!(
        site.events()
            .contains(&AccountEvent::ResetRequested { user_id: None })
    );
}

#[actix_web::test]
async fn opening_a_reset_link_leaves_it_usable() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    visitor
        .post_json("/account/reset", json!({ "email": "ada@example.com" }))
        .await;
    let link = path_of(&site.link_to("ada@example.com"));
    // A mail scanner and the user each fetch the link, more than once.
    for _ in 0..3 {
        let scanner = browser(&site, 9).await;
        assert_eq!(scanner.get(&link).await.status, StatusCode::OK);
        assert_eq!(visitor.get_json(&link).await.status, StatusCode::OK);
    }
    assert!(site.tokens.records().iter().all(|r| r.used_at.is_none()));
    let token = token_of(&link);
    let page = visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": token, "password": NEW, "confirm": NEW }),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.json()["status"], "password_changed");
}

/// Asks for a reset for account 1 and returns its token.
async fn reset_token(site: &Site) -> String {
    let visitor = browser(site, 1).await;
    let page = visitor
        .post_json("/account/reset", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    site.token_to("ada@example.com")
}

/// Posts a new password with `token`; the JSON answer.
async fn use_reset(site: &Site, token: &str) -> (StatusCode, serde_json::Value) {
    let visitor = browser(site, 2).await;
    let page = visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": token, "password": NEW, "confirm": NEW }),
        )
        .await;
    (page.status, page.json())
}

#[actix_web::test]
async fn a_used_reset_link_is_refused_the_second_time() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let token = reset_token(&site).await;
    assert_eq!(use_reset(&site, &token).await.0, StatusCode::OK);
    site.users
        .update(1, |u| u.password_hash = hash("changed again"));
    let (status, body) = use_reset(&site, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "token_used");
    assert_eq!(site.users.get(1).password_hash, hash("changed again"));
    // In a browser, the page says what to do.
    let visitor = browser(&site, 3).await;
    let page = visitor
        .get(&format!("/account/reset/confirm?token={token}"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("already been used"), "{}", page.body);
}

#[actix_web::test]
async fn an_expired_reset_link_is_refused() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let token = reset_token(&site).await;
    site.advance(Duration::from_secs(3600));
    let (status, body) = use_reset(&site, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "token_expired");
    assert_eq!(site.users.get(1).password_hash, hash("old password"));
    assert!(site.events().contains(&AccountEvent::Refused {
        flow: Flow::Reset,
        reason: "token_expired"
    }));
}

#[actix_web::test]
async fn a_token_of_another_purpose_is_refused_as_a_reset_link() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    site.users.update(1, |u| u.verified = false);
    let visitor = browser(&site, 1).await;
    visitor.log_in(1, false).await;
    let page = visitor.post_json("/account/verify/resend", json!({})).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let verification = site.token_to("ada@example.com");
    let (status, body) = use_reset(&site, &verification).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "token_wrong_purpose");
    assert_eq!(site.users.get(1).password_hash, hash("old password"));
}

#[actix_web::test]
async fn a_reset_link_dies_when_the_password_or_the_email_changes() {
    for change in ["password", "email"] {
        let site = Site::new();
        site.add(1, "ada@example.com", "old password");
        let token = reset_token(&site).await;
        site.users.update(1, |u| match change {
            "password" => u.password_hash = hash("changed by the user"),
            _ => u.email = "ada@new.example".into(),
        });
        let (status, body) = use_reset(&site, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}");
        assert_eq!(body["error"], "token_stale", "{change}");
        assert_ne!(site.users.get(1).password_hash, hash(NEW));
    }
}

#[actix_web::test]
async fn a_forged_or_malformed_token_is_refused() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let real = reset_token(&site).await;
    let mut forged = real.clone().into_bytes();
    forged[0] = if forged[0] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    for token in [
        forged.as_str(),
        "",
        "zz",
        &"0".repeat(64),
        &format!("{real}00"),
        "../../etc",
    ] {
        let (status, body) = use_reset(&site, token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{token}");
        assert_eq!(body["error"], "token_unknown", "{token}");
    }
    assert_eq!(use_reset(&site, &real).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn a_weak_new_password_is_refused_with_the_reason_and_the_link_still_works() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let token = reset_token(&site).await;
    let visitor = browser(&site, 1).await;
    visitor
        .get(&format!("/account/reset/confirm?token={token}"))
        .await;
    for (password, reason) in [
        ("short", "at least 8 characters"),
        ("password123", "too easy to guess"),
        (
            "user1 is my password forever",
            "must not contain your name or email",
        ),
        (
            "ada@example.com rules the world",
            "must not contain your name or email",
        ),
    ] {
        let form = [
            ("token", token.as_str()),
            ("password", password),
            ("confirm", password),
        ];
        let page = visitor.post("/account/reset/confirm", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert!(page.body.contains(reason), "{password}: {}", page.body);
    }
    let page = visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": token, "password": "qwertyuiop", "confirm": "qwertyuiop" }),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.json()["problems"][0]["code"], "guessable");
    let form = [
        ("token", token.as_str()),
        ("password", NEW),
        ("confirm", "typo"),
    ];
    let page = visitor.post("/account/reset/confirm", &form).await;
    assert!(
        page.body.contains("The two passwords differ."),
        "{}",
        page.body
    );
    assert_eq!(site.users.get(1).password_hash, hash("old password"));
    assert_eq!(use_reset(&site, &token).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn a_reset_ends_every_other_session_device_and_remember_cookie() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let laptop = browser(&site, 1).await;
    laptop.log_in(1, true).await;
    let phone = browser(&site, 2).await;
    phone.log_in(1, false).await;
    assert!(laptop.who().await.is_some() && phone.who().await.is_some());
    assert_eq!(site.devices.devices("1").await.unwrap().len(), 2);
    let remember = laptop
        .client
        .cookie("remember_token")
        .expect("a remember cookie");

    let token = reset_token(&site).await;
    assert_eq!(use_reset(&site, &token).await.0, StatusCode::OK);

    assert_eq!(phone.who().await, None);
    assert_eq!(laptop.who().await, None);
    // The remember cookie is refused too, wherever it is sent from.
    let copy = browser(&site, 3).await;
    copy.client.set_cookie("remember_token", &remember);
    assert_eq!(copy.who().await, None);
    assert!(site.devices.devices("1").await.unwrap().is_empty());
    assert!(site.events().contains(&AccountEvent::PasswordReset {
        user_id: "1".into(),
        devices_ended: 2
    }));
}

#[actix_web::test]
async fn links_use_the_configured_url_whatever_the_host_header() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let visitor = browser(&site, 1).await;
    visitor.get("/account/reset").await;
    let form = [("email", "ada@example.com")];
    let token = visitor.client_token();
    let req = TestRequest::post()
        .uri("/account/reset")
        .insert_header(("host", "evil.example"))
        .insert_header(("x-forwarded-host", "evil.example"))
        .insert_header(("forwarded", "host=evil.example;proto=https"))
        .set_form([form[0], ("csrf", token.as_str())]);
    let page = visitor.send(req).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mail = site.outbox.last_to("ada@example.com").unwrap();
    assert!(!mail.text.contains("evil") && !mail.html.contains("evil"));
    assert!(
        mail.link("https://app.example/account/reset/confirm?token=")
            .is_some()
    );
}

#[actix_web::test]
async fn reset_mails_are_throttled_per_address_and_per_client() {
    let site = Site::with(|config| {
        config.limits(Limits {
            per_address: 2,
            per_client: 3,
            ..Limits::default()
        })
    });
    site.add(1, "ada@example.com", "old password");
    let ask = async |peer: u8, email: &str| {
        let visitor = browser(&site, peer).await;
        visitor
            .post_json("/account/reset", json!({ "email": email }))
            .await
    };
    // Per address, known or unknown alike: two mails, then 429 with Retry-After.
    for email in ["ada@example.com", "nobody@example.com"] {
        for peer in [1, 2] {
            assert_eq!(ask(peer, email).await.status, StatusCode::OK);
        }
        let page = ask(3, email).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{email}");
        assert_eq!(page.json()["error"], "throttled");
        let retry: u64 = page.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry), "{retry}");
    }
    assert_eq!(site.outbox.to("ada@example.com").len(), 2);
    assert_eq!(site.outbox.to("nobody@example.com").len(), 2);
    // Per client: a third address from one client is refused once the client had three.
    assert_eq!(ask(7, "a@example.com").await.status, StatusCode::OK);
    assert_eq!(ask(7, "b@example.com").await.status, StatusCode::OK);
    assert_eq!(ask(7, "c@example.com").await.status, StatusCode::OK);
    assert_eq!(
        ask(7, "d@example.com").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(site.outbox.to("d@example.com").is_empty());
    assert!(
        site.events()
            .contains(&AccountEvent::Throttled { flow: Flow::Reset })
    );
}

#[actix_web::test]
async fn a_mail_server_that_is_down_gets_a_clear_503_for_every_address() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    site.outbox.set_failing(true);
    for email in ["ada@example.com", "nobody@example.com"] {
        let visitor = browser(&site, 1).await;
        let page = visitor
            .post_json("/account/reset", json!({ "email": email }))
            .await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{email}");
        assert_eq!(page.json()["error"], "mail_unavailable");
        visitor.get("/account/reset").await;
        let page = visitor.post("/account/reset", &[("email", email)]).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            page.body.contains("could not send the mail"),
            "{}",
            page.body
        );
    }
    assert!(site.events().iter().any(|event| matches!(
        event,
        AccountEvent::MailFailed {
            flow: Flow::Reset,
            ..
        }
    )));
}

#[actix_web::test]
async fn a_form_without_its_token_changes_nothing() {
    let site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let token = reset_token(&site).await;
    let visitor = browser(&site, 1).await;
    let form = [
        ("token", token.as_str()),
        ("password", NEW),
        ("confirm", NEW),
    ];
    let page = visitor
        .post_without_token("/account/reset/confirm", &form)
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("did not come from this site"),
        "{}",
        page.body
    );
    let page = visitor
        .post_without_token(
            "/account/reset",
            &[("email", "ada@example.com"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(site.users.get(1).password_hash, hash("old password"));
    assert_eq!(site.outbox.to("ada@example.com").len(), 1);
    assert!(
        site.tokens
            .records()
            .iter()
            .all(|r| r.purpose == Purpose::ResetPassword && r.used_at.is_none())
    );
}

#[actix_web::test]
async fn two_uses_of_one_link_at_once_change_the_password_once() {
    let mut site = Site::new();
    site.add(1, "ada@example.com", "old password");
    let token = reset_token(&site).await;
    site.race = Some(std::rc::Rc::new(tokio::sync::Barrier::new(2)));
    let (first, second) = (browser(&site, 1).await, browser(&site, 2).await);
    let body =
        |password: &str| json!({ "token": token, "password": password, "confirm": password });
    let (a, b) = futures_util::future::join(
        first.post_json("/account/reset/confirm", body("seven lazy otters juggle")),
        second.post_json("/account/reset/confirm", body("nine brave lemurs whistle")),
    )
    .await;
    let (a, b) = (a.status, b.status);
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    let resets = site
        .events()
        .iter()
        .filter(|e| matches!(e, AccountEvent::PasswordReset { .. }))
        .count();
    assert_eq!(resets, 1);
}

#[actix_web::test]
async fn a_token_store_that_is_down_answers_503_and_changes_nothing() {
    let mut site = Site::new();
    site.add(1, "ada@example.com", "old password");
    site.store_down = true;
    let visitor = browser(&site, 1).await;
    for email in ["ada@example.com", "nobody@example.com"] {
        let page = visitor
            .post_json("/account/reset", json!({ "email": email }))
            .await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{email}");
        assert_eq!(page.json()["error"], "unavailable");
    }
    let token = "ab".repeat(32);
    let page = visitor
        .post_json(
            "/account/reset/confirm",
            json!({ "token": token, "password": NEW, "confirm": NEW }),
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(site.outbox.mails().is_empty());
    assert_eq!(site.users.get(1).password_hash, hash("old password"));
}
