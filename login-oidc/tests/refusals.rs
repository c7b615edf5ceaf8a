//! Every refusal of a sign-in, against the in-process provider (tests/support/idp.rs): plain
//! `cargo test -p login-oidc`, no Node. Each test bends one answer of the provider (or of the
//! visitor) and checks what the visitor sees (status, page), that nobody is logged in, and the
//! event the app heard. The same refusals are also shown against oidc-provider in e2e.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use login_oidc::{Matched, OidcEvent};
use reqwest::StatusCode;
use serde_json::json;
use support::idp::{Jwks, Key, Knobs};
use support::{AppOptions, TestApp, Visitor, param, refused, with_param};

fn edit_id_token(
    edit: impl Fn(&mut serde_json::Map<String, serde_json::Value>) + Send + Sync + 'static,
) -> Knobs {
    Knobs {
        edit_id_token: Some(Arc::new(edit)),
        ..Knobs::default()
    }
}

#[actix_web::test]
async fn signs_in_through_the_in_process_provider() {
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let visitor = Visitor::new();
    let authorize = visitor.start(&app, "?next=%2Fmembers").await;
    assert!(authorize.starts_with(&format!("{}/authorize?", idp.issuer)));
    assert_eq!(param(&authorize, "code_challenge_method").unwrap(), "S256");
    let answer = visitor.sign_in(&app, "?next=%2Fmembers", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/members").as_str())
    );
    assert_eq!(
        visitor.get(&app.url("/members")).await.body,
        "Hello, Alice Liddell! (fresh: true)"
    );
    let sign_ins = app.sign_ins();
    assert!(
        matches!(&sign_ins[..], [OidcEvent::SignedIn { subject, matched: Matched::Created, .. }] if subject == "alice"),
        "{sign_ins:?}"
    );
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}

#[actix_web::test]
async fn a_replayed_callback_is_refused() {
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());

    // Someone who copied the callback URL and the session cookie before the visitor used them.
    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let thief = visitor.clone_cookies(&app.base);
    let answer = visitor.get(&callback).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    app.events.lock().unwrap().clear();

    // The code was used: the provider refuses it, and nobody is logged in.
    let replay = thief.get(&callback).await;
    refused(&app, &thief, &replay, 400, "code_refused").await;

    // Without the session the callback belongs to, it is not even tried.
    let stranger = Visitor::new();
    let replay = stranger.get(&callback).await;
    refused(&app, &stranger, &replay, 400, "no_sign_in_in_progress").await;

    // The visitor's own replay: the sign-in left the session when it was used.
    let replay = visitor.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.refusals().last().copied(),
        Some("no_sign_in_in_progress")
    );
}

#[actix_web::test]
async fn a_wrong_or_missing_state_is_refused() {
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());

    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let forged = with_param(&callback, "state", Some("forged-state-value"));
    let answer = visitor.get(&forged).await;
    refused(&app, &visitor, &answer, 400, "state_mismatch").await;
    // The real callback after a forged one: the sign-in was spent by the first attempt.
    let answer = visitor.get(&callback).await;
    refused(&app, &visitor, &answer, 400, "no_sign_in_in_progress").await;

    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let answer = visitor.get(&with_param(&callback, "state", None)).await;
    refused(&app, &visitor, &answer, 400, "missing_state").await;

    // Another visitor's callback in this visitor's browser (login CSRF): states differ.
    let victim = Visitor::new();
    victim.start(&app, "").await;
    let attacker = Visitor::new();
    let attackers_callback = attacker.callback(&app, "", "alice").await;
    let answer = victim.get(&attackers_callback).await;
    refused(&app, &victim, &answer, 400, "state_mismatch").await;
}

#[actix_web::test]
async fn a_callback_naming_another_issuer_or_none_is_refused() {
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());

    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let mixed_up = with_param(&callback, "iss", Some("https://other-idp.example"));
    let answer = visitor.get(&mixed_up).await;
    refused(&app, &visitor, &answer, 400, "issuer_mismatch").await;

    // The provider advertises authorization_response_iss_parameter_supported: iss is required.
    idp.set(|knobs| knobs.send_iss = false);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 400, "missing_issuer").await;
}

#[actix_web::test]
async fn an_id_token_from_another_issuer_is_refused() {
    let knobs = edit_id_token(|claims| {
        claims.insert("iss".into(), json!("https://other-idp.example"));
    });
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "invalid_id_token").await;
}

#[actix_web::test]
async fn a_token_with_another_nonce_or_none_is_refused() {
    let knobs = edit_id_token(|claims| {
        claims.insert("nonce".into(), json!("a-nonce-of-someone-elses-choosing"));
    });
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 400, "nonce_mismatch").await;

    idp.set(|knobs| {
        knobs.edit_id_token = Some(Arc::new(|claims| {
            claims.remove("nonce");
        }))
    });
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 400, "nonce_mismatch").await;
}

#[actix_web::test]
async fn an_expired_id_token_is_refused() {
    // Issued eleven minutes ago, expired ten minutes ago.
    let knobs = edit_id_token(|claims| {
        let now = support::idp::now();
        claims.insert("iat".into(), json!(now - 660));
        claims.insert("exp".into(), json!(now - 600));
    });
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "token_expired").await;
}

#[actix_web::test]
async fn rotated_provider_keys_are_fetched_again_and_the_sign_in_succeeds() {
    // At discovery the provider still publishes its retired key; by the first sign-in it signs
    // with (and publishes) a new one.
    let knobs = Knobs {
        jwks: Jwks::StaleThenReal,
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "?next=%2Fmembers", "alice").await;
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/members").as_str()),
        "{answer:?}"
    );
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.hits("/jwks"), 2);
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}

#[actix_web::test]
async fn a_token_signed_by_an_unknown_key_is_refused_and_keys_are_refetched_at_most_once_per_interval()
 {
    // The provider publishes an unrelated key: its tokens name a key id the app cannot find.
    let knobs = Knobs {
        jwks: Jwks::Impostor,
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    for _ in 0..2 {
        let visitor = Visitor::new();
        let answer = visitor.sign_in(&app, "", "alice").await;
        refused(&app, &visitor, &answer, 502, "bad_signature").await;
    }
    // Discovery fetched the keys once; the first unknown key id fetched them once more; the
    // second, within the hour the app allows between re-fetches, did not.
    assert_eq!(idp.hits("/jwks"), 2);
}

#[actix_web::test]
async fn a_token_signed_by_a_key_the_provider_does_not_publish_is_refused() {
    // Signed under the provider's key id, with a key that is not the published one.
    let knobs = Knobs {
        sign_with: Some(Key::new("signing-key")),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "bad_signature").await;
}

#[actix_web::test]
async fn cancelling_at_the_provider_is_refused() {
    let knobs = Knobs {
        deny: Some("access_denied"),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 403, "access_denied").await;
    assert!(answer.body.contains("You cancelled the sign-in"));
}

#[actix_web::test]
async fn a_token_response_without_an_id_token_is_refused() {
    let knobs = Knobs {
        no_id_token: true,
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "no_id_token").await;
}

#[actix_web::test]
async fn a_provider_that_is_down_or_silent_gives_a_clear_page_within_the_timeout() {
    // Nothing listens at the issuer.
    let (listener, _) = TestApp::bind();
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let app = TestApp::serve(listener, &dead, AppOptions::default());
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    refused(&app, &visitor, &answer, 503, "provider_unavailable").await;
    assert!(answer.body.contains("not answering right now"));

    // Accepts connections and never answers: given up on after the 1 s timeout.
    let (listener, _) = TestApp::bind();
    let silent = format!("http://127.0.0.1:{}", support::silent_port());
    let options = AppOptions {
        http_timeout: std::time::Duration::from_secs(1),
        ..AppOptions::default()
    };
    let app = TestApp::serve(listener, &silent, options);
    let visitor = Visitor::new();
    let started = std::time::Instant::now();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    refused(&app, &visitor, &answer, 503, "provider_unavailable").await;

    // Down between the provider's pages and the code exchange: the token endpoint moved away.
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    idp.set(|knobs| knobs.token_path = "/gone");
    let answer = visitor.get(&callback).await;
    assert_eq!(
        answer.status.as_u16(),
        500,
        "a 404 where the token endpoint was: {answer:?}"
    );
    assert_eq!(app.refusals(), ["unexpected_status"]);
}

#[actix_web::test]
async fn the_event_sink_has_each_event_before_the_answer_goes_out() {
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "?next=%2Fmembers", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    // The callback's answer came after its sink had the sign-in (the sink takes 5 ms).
    let sunk = app.sunk.lock().unwrap().clone();
    assert!(
        matches!(&sunk[..], [
            (OidcEvent::Started, start),
            (OidcEvent::SignedIn { subject, .. }, callback),
        ] if start == "/oidc/start" && callback == "/oidc/callback" && subject == "alice"),
        "{sunk:?}"
    );
    // A refusal reaches it too, before its page.
    let answer = visitor
        .get(&app.url("/oidc/callback?state=forged&code=x"))
        .await;
    assert_ne!(answer.status, StatusCode::SEE_OTHER);
    let sunk = app.sunk.lock().unwrap().clone();
    assert!(
        matches!(sunk.last(), Some((OidcEvent::Refused { .. }, path)) if path == "/oidc/callback"),
        "{sunk:?}"
    );
}

#[actix_web::test]
async fn a_failing_event_sink_fails_the_request() {
    let options = AppOptions {
        failing_sink: true,
        ..AppOptions::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(options, Knobs::default());
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start?next=%2Fmembers")).await;
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{answer:?}"
    );
    assert!(answer.location.is_none(), "not sent on to the provider");
    assert_eq!(app.sunk.lock().unwrap().len(), 1);
}
