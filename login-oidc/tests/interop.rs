//! Issue 21's OpenID Connect findings, each against the in-process provider configured to show
//! it (tests/support/idp.rs): shapes real deployments have that a standard-conforming relying
//! party must handle, and faults it must name honestly. Plain `cargo test -p login-oidc`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use login_oidc::{Matched, OidcEvent};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use support::idp::{Edit, Knobs, now};
use support::{Answer, AppOptions, TestApp, User, Visitor, refused};

fn alice_local() -> User {
    User {
        id: 1,
        name: "Alice (local)".into(),
        email: "alice@example.org".into(),
        active: true,
        granted: Vec::new(),
    }
}

fn bob_local() -> User {
    User {
        id: 2,
        name: "Bob (local)".into(),
        email: "bob@example.org".into(),
        active: true,
        granted: Vec::new(),
    }
}

/// An app that links existing accounts on a verified address and creates none.
fn linking_app() -> AppOptions {
    AppOptions {
        sign_up: false,
        accounts: vec![alice_local(), bob_local()],
        ..AppOptions::default()
    }
}

fn edit(edit: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) -> Option<Edit> {
    Some(Arc::new(edit))
}

/// The misconfiguration page: a 500 saying so, never "tampered with" or "not answering".
async fn misconfigured(app: &TestApp, visitor: &Visitor, answer: &Answer, code: &str) {
    refused(app, visitor, answer, 500, code).await;
    assert!(
        answer
            .body
            .contains("Sign-in with this provider is misconfigured"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains("tampered"), "{}", answer.body);
    assert!(!answer.body.contains("not answering"), "{}", answer.body);
}

fn matched(app: &TestApp) -> Vec<Matched> {
    app.sign_ins()
        .iter()
        .map(|event| match event {
            OidcEvent::SignedIn { matched, .. } => *matched,
            _ => unreachable!(),
        })
        .collect()
}

// 2. client_secret_post ------------------------------------------------------------------------

#[actix_web::test]
async fn a_provider_that_only_offers_client_secret_post_gets_the_secret_in_the_body() {
    let knobs = Knobs {
        auth_methods_supported: Some(vec!["client_secret_post"]),
        accept_auth: vec!["client_secret_post"],
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.token_auth(), ["client_secret_post"]);
}

#[actix_web::test]
async fn a_provider_that_lists_no_methods_gets_client_secret_basic() {
    // No token_endpoint_auth_methods_supported: the default is client_secret_basic (Discovery 3).
    let knobs = Knobs {
        auth_methods_supported: None,
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.token_auth(), ["client_secret_basic"]);
}

// 3. UserInfo ----------------------------------------------------------------------------------

#[actix_web::test]
async fn claims_only_in_userinfo_reach_account_linking_and_the_new_account() {
    // The code-flow ID token carries `sub` only (Okta's default); profile and email come from
    // UserInfo (Core 5.4).
    let knobs = Knobs {
        id_token_claims: Some(vec![]),
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(linking_app(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    // The verified address from UserInfo linked Alice's existing account.
    assert_eq!(visitor.whoami(&app).await, "Alice (local)");
    assert_eq!(matched(&app), [Matched::Linked]);
    assert_eq!(idp.hits("/userinfo"), 1);

    // A new account is named after the profile's name, not after `sub`.
    let (app, _idp) = TestApp::with_fake_idp(
        AppOptions::default(),
        Knobs {
            id_token_claims: Some(vec![]),
            ..Knobs::default()
        },
    );
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
}

#[actix_web::test]
async fn userinfo_is_not_asked_when_the_id_token_has_the_claims() {
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.hits("/userinfo"), 0);
}

#[actix_web::test]
async fn a_userinfo_answer_about_another_subject_is_refused() {
    // Core 5.3.2: the UserInfo `sub` must be the ID token's, or the answer is not about them.
    let knobs = Knobs {
        id_token_claims: Some(vec![]),
        edit_userinfo: edit(|claims| {
            claims.insert("sub".into(), json!("mallory"));
        }),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(linking_app(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "userinfo_subject_mismatch").await;
}

// 4. email_verified as a string, updated_at as ISO 8601 ----------------------------------------

#[actix_web::test]
async fn email_verified_as_a_string_and_updated_at_as_iso_8601_are_accepted() {
    // Apple sends "email_verified": "true"; Auth0 sends updated_at as an ISO 8601 string.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            let verified = claims["email_verified"] == json!(true);
            claims.insert("email_verified".into(), json!(verified.to_string()));
            claims.insert("updated_at".into(), json!("2024-05-01T12:30:00.000Z"));
        }),
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(linking_app(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(
        visitor.whoami(&app).await,
        "Alice (local)",
        "\"true\" is verified"
    );

    // "false" is not verified: Bob's local account is not handed over.
    idp.set(|knobs| knobs.account = support::idp::bob());
    let bob = Visitor::new();
    let answer = bob.sign_in(&app, "", "bob").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
    assert_eq!(app.refusals(), ["no_account"]);
}

// 5. configuration faults are named ------------------------------------------------------------

#[actix_web::test]
async fn a_client_the_token_endpoint_refuses_gets_the_misconfigured_page() {
    // The registration requires client_secret_post although the provider lists both: the
    // token endpoint answers invalid_client. Not tampering, not an outage.
    let knobs = Knobs {
        accept_auth: vec!["client_secret_post"],
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    misconfigured(&app, &visitor, &answer, "client_refused").await;
    let events = app.events.lock().unwrap().clone();
    let reason = events
        .iter()
        .find_map(|event| match event {
            OidcEvent::Refused { error } => Some(error.to_string()),
            _ => None,
        })
        .unwrap();
    assert!(reason.contains("invalid_client"), "{reason}");
    assert!(!reason.contains(support::CLIENT_SECRET), "{reason}");
}

#[actix_web::test]
async fn a_discovery_document_for_another_issuer_gets_the_misconfigured_page() {
    let knobs = Knobs {
        discovery_issuer: Some("https://idp.example/".into()),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    misconfigured(&app, &visitor, &answer, "discovery_issuer_mismatch").await;
}

#[actix_web::test]
async fn answers_that_do_not_parse_get_the_misconfigured_page() {
    let knobs = Knobs {
        discovery_body: Some("<html>a login page</html>".into()),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    misconfigured(&app, &visitor, &answer, "unparsable_answer").await;

    let knobs = Knobs {
        token_body: Some("{\"access_token\": 42}".into()),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    misconfigured(&app, &visitor, &answer, "unparsable_answer").await;
}

// 6. azp ---------------------------------------------------------------------------------------

#[actix_web::test]
async fn an_id_token_whose_azp_names_another_client_is_refused() {
    // For us (aud), but obtained by another client (azp): Core 3.1.3.7 step 5.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            claims.insert("azp".into(), json!("another-client"));
        }),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "invalid_id_token").await;
}

#[actix_web::test]
async fn an_id_token_for_several_audiences_needs_azp_and_trusted_audiences() {
    // Step 4: several audiences and no azp.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            claims.insert("aud".into(), json!([support::CLIENT_ID, "account"]));
        }),
        ..Knobs::default()
    };
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "invalid_id_token").await;

    // Step 3: azp is us, but "account" is an audience this app does not trust.
    idp.set(|knobs| {
        knobs.edit_id_token = edit(|claims| {
            claims.insert("aud".into(), json!([support::CLIENT_ID, "account"]));
            claims.insert("azp".into(), json!(support::CLIENT_ID));
        })
    });
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "invalid_id_token").await;
}

// 7. leeway and iat ----------------------------------------------------------------------------

#[actix_web::test]
async fn an_id_token_issued_in_the_future_is_refused() {
    // A provider whose clock is ten minutes ahead: iat (and exp) in the future.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            claims.insert("iat".into(), json!(now() + 600));
            claims.insert("exp".into(), json!(now() + 900));
        }),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "invalid_id_token").await;
}

#[actix_web::test]
async fn clocks_a_few_seconds_apart_are_within_the_default_leeway() {
    // The provider's clock is 20 s behind ours (the token's exp passed 20 s ago by our clock)
    // or 20 s ahead (iat 20 s in our future): both within the default leeway.
    let (app, idp) = TestApp::with_fake_idp(
        AppOptions::default(),
        Knobs {
            edit_id_token: edit(|claims| {
                claims.insert("iat".into(), json!(now() - 80));
                claims.insert("exp".into(), json!(now() - 20));
            }),
            ..Knobs::default()
        },
    );
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");

    idp.set(|knobs| {
        knobs.edit_id_token = edit(|claims| {
            claims.insert("iat".into(), json!(now() + 20));
        })
    });
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}

// 9. re-authentication -------------------------------------------------------------------------

/// A visitor whose session is gone but whose remember cookie is not: remembered, not fresh.
fn remembered_only(visitor: &Visitor, app: &TestApp) -> Visitor {
    let remember = visitor.cookie(&app.base, "remember_token").unwrap();
    let url = reqwest::Url::parse(&app.base).unwrap();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("remember_token={remember}; Path=/"), &url);
    Visitor::with_jar(jar)
}

#[actix_web::test]
async fn a_remembered_login_is_made_fresh_by_signing_in_again_at_the_provider() {
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let first = Visitor::new();
    first.sign_in(&app, "?remember=1", "alice").await;
    let visitor = remembered_only(&first, &app);

    // Remembered, not fresh: the fresh-only page sends the visitor to re-authenticate.
    let answer = visitor.get(&app.url("/settings")).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{answer:?}");
    assert!(
        answer
            .location
            .as_deref()
            .unwrap()
            .starts_with(&app.url("/reauth")),
        "{answer:?}"
    );
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");

    // Through the provider, which is asked to make the visitor log in again.
    let answer = visitor
        .sign_in(&app, "?reauth=1&next=%2Fsettings", "alice")
        .await;
    assert_eq!(idp.authorize_param("prompt").as_deref(), Some("login"));
    assert_eq!(idp.authorize_param("max_age").as_deref(), Some("300"));
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/settings").as_str()),
        "{answer:?}"
    );
    let settings = visitor.get(&app.url("/settings")).await;
    assert_eq!(settings.status, StatusCode::OK, "{settings:?}");
    assert_eq!(settings.body, "Settings of Alice Liddell");
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
    // The app can say how the login was made, and that it was confirmed at the provider.
    assert_eq!(
        visitor.get(&app.url("/how")).await.body,
        "signed in with oidc as alice (re-authenticated: true)"
    );
    assert!(
        app.events
            .lock()
            .unwrap()
            .iter()
            .any(|event| matches!(event, OidcEvent::Reauthenticated { subject, .. } if subject == "alice")),
        "a Reauthenticated event"
    );
}

#[actix_web::test]
async fn a_re_authentication_the_provider_did_not_make_again_is_refused() {
    // The provider ignores prompt=login: its auth_time is an hour old (or missing).
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let first = Visitor::new();
    first.sign_in(&app, "?remember=1", "alice").await;
    let visitor = remembered_only(&first, &app);
    app.events.lock().unwrap().clear();
    idp.set(|knobs| {
        knobs.edit_id_token = edit(|claims| {
            claims.insert("auth_time".into(), json!(now() - 3600));
        })
    });
    let answer = visitor
        .sign_in(&app, "?reauth=1&next=%2Fsettings", "alice")
        .await;
    assert_eq!(answer.status.as_u16(), 403, "{answer:?}");
    assert_eq!(app.refusals(), ["not_reauthenticated"]);
    // Still remembered, still not fresh.
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    let answer = visitor.get(&app.url("/settings")).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{answer:?}");

    idp.set(|knobs| {
        knobs.edit_id_token = edit(|claims| {
            claims.remove("auth_time");
        })
    });
    let answer = visitor
        .sign_in(&app, "?reauth=1&next=%2Fsettings", "alice")
        .await;
    assert_eq!(answer.status.as_u16(), 403, "{answer:?}");
    assert_eq!(
        app.refusals(),
        ["not_reauthenticated", "not_reauthenticated"]
    );
}

#[actix_web::test]
async fn re_authenticating_as_someone_else_changes_nothing() {
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let first = Visitor::new();
    first.sign_in(&app, "?remember=1", "alice").await;
    let visitor = remembered_only(&first, &app);
    app.events.lock().unwrap().clear();
    idp.set(|knobs| knobs.account = support::idp::bob());
    let answer = visitor
        .sign_in(&app, "?reauth=1&next=%2Fsettings", "bob")
        .await;
    assert_eq!(answer.status.as_u16(), 403, "{answer:?}");
    assert_eq!(app.refusals(), ["reauthenticated_as_someone_else"]);
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    let answer = visitor.get(&app.url("/settings")).await;
    assert_eq!(
        answer.status,
        StatusCode::FOUND,
        "still not fresh: {answer:?}"
    );
}

#[actix_web::test]
async fn trusted_audiences_and_the_leeway_are_settings() {
    // Keycloak's audience mapper adds "account": trusted, the token signs in.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            claims.insert("aud".into(), json!([support::CLIENT_ID, "account"]));
            claims.insert("azp".into(), json!(support::CLIENT_ID));
        }),
        ..Knobs::default()
    };
    let options = AppOptions::default().configure(|config| config.trusted_audiences(["account"]));
    let (app, _idp) = TestApp::with_fake_idp(options, knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");

    // No leeway: a token whose exp passed 20 s ago is expired.
    let knobs = Knobs {
        edit_id_token: edit(|claims| {
            claims.insert("iat".into(), json!(now() - 80));
            claims.insert("exp".into(), json!(now() - 20));
        }),
        ..Knobs::default()
    };
    let options =
        AppOptions::default().configure(|config| config.leeway(std::time::Duration::ZERO));
    let (app, _idp) = TestApp::with_fake_idp(options, knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "token_expired").await;
}

#[actix_web::test]
async fn the_client_authentication_can_be_configured() {
    // The registration requires client_secret_post although the provider lists both.
    let knobs = Knobs {
        accept_auth: vec!["client_secret_post"],
        ..Knobs::default()
    };
    let options =
        AppOptions::default().configure(|config| config.client_auth(login_oidc::ClientAuth::Post));
    let (app, idp) = TestApp::with_fake_idp(options, knobs);
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.token_auth(), ["client_secret_post"]);
}

#[actix_web::test]
async fn a_public_client_sends_no_secret_and_uses_pkce() {
    let knobs = Knobs {
        accept_auth: vec!["none"],
        auth_methods_supported: Some(vec!["none"]),
        ..Knobs::default()
    };
    let (idp_app, idp) = {
        let idp = support::idp::FakeIdp::start(knobs);
        let (listener, base) = TestApp::bind();
        let config = login_oidc::OidcConfig::new(
            &idp.issuer,
            support::CLIENT_ID,
            None,
            &format!("{base}/oidc/callback"),
        )
        .unwrap();
        let options = AppOptions::default().configure(move |_| config.clone());
        (TestApp::serve(listener, &idp.issuer, options), idp)
    };
    let visitor = Visitor::new();
    visitor.sign_in(&idp_app, "", "alice").await;
    assert_eq!(visitor.whoami(&idp_app).await, "Alice Liddell");
    assert_eq!(idp.token_auth(), ["none"]);
}

// 8. endpoints by hand, metadata refreshed ------------------------------------------------------

#[actix_web::test]
async fn endpoints_configured_by_hand_need_no_discovery() {
    let idp = support::idp::FakeIdp::start(Knobs {
        id_token_claims: Some(vec![]),
        ..Knobs::default()
    });
    let issuer = idp.issuer.clone();
    let (listener, _) = TestApp::bind();
    let options = AppOptions::default().configure(move |config| {
        config.endpoints(
            login_oidc::Endpoints::new(&format!("{issuer}/authorize"), &format!("{issuer}/token"))
                .unwrap()
                .jwks(&format!("{issuer}/jwks"))
                .unwrap()
                .userinfo(&format!("{issuer}/userinfo"))
                .unwrap()
                .sends_iss(true),
        )
    });
    let app = TestApp::serve(listener, &idp.issuer, options);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.hits("/.well-known/openid-configuration"), 0);
    assert_eq!(idp.hits("/userinfo"), 1, "the configured UserInfo endpoint");

    // sends_iss(true): a callback without iss is refused.
    idp.set(|knobs| knobs.send_iss = false);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status.as_u16(), 400, "{answer:?}");
    assert_eq!(app.refusals(), ["missing_issuer"]);
}

#[actix_web::test]
async fn provider_metadata_is_discovered_again_after_the_refresh_interval() {
    let refreshing = AppOptions::default().configure(|config| {
        config.metadata_refresh_interval(std::time::Duration::from_millis(300))
    });
    let (app, idp) = TestApp::with_fake_idp(refreshing, Knobs::default());
    let (cached_app, cached_idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    for (app, idp) in [(&app, &idp), (&cached_app, &cached_idp)] {
        let visitor = Visitor::new();
        visitor.sign_in(app, "", "alice").await;
        assert_eq!(visitor.whoami(app).await, "Alice Liddell");
        // The provider moves its token endpoint (its discovery document says so).
        idp.set(|knobs| knobs.token_path = "/oauth2/token");
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(idp.hits("/.well-known/openid-configuration"), 2);
    assert_eq!(idp.hits("/oauth2/token"), 1);

    // With the default interval (an hour) the old endpoint is still used within it.
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&cached_app, "", "alice").await;
    assert_eq!(answer.status.as_u16(), 500, "{answer:?}");
    assert_eq!(cached_app.refusals(), ["unexpected_status"]);
    assert_eq!(cached_idp.hits("/.well-known/openid-configuration"), 1);
}

#[actix_web::test]
async fn a_provider_down_at_a_refresh_keeps_the_old_metadata() {
    let refreshing = AppOptions::default().configure(|config| {
        config.metadata_refresh_interval(std::time::Duration::from_millis(300))
    });
    let (app, idp) = TestApp::with_fake_idp(refreshing, Knobs::default());
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // Discovery now answers a server error; the rest of the provider works.
    idp.set(|knobs| knobs.discovery_status = Some(503));
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert_eq!(idp.hits("/.well-known/openid-configuration"), 2);
}

#[actix_web::test]
async fn a_signed_userinfo_answer_is_verified_against_the_providers_keys() {
    let (app, idp) = TestApp::with_fake_idp(
        linking_app(),
        Knobs {
            id_token_claims: Some(vec![]),
            ..Knobs::default()
        },
    );
    let signing = idp.state.lock().unwrap().signing.clone();
    idp.set(|knobs| knobs.userinfo_signed_by = Some(signing));
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice (local)");

    // Signed by a key the provider does not publish: refused, not linked.
    idp.set(|knobs| knobs.userinfo_signed_by = Some(support::idp::Key::new("signing-key")));
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status.as_u16(), 502, "{answer:?}");
    assert_eq!(app.refusals(), ["bad_signature"]);
    assert_eq!(visitor.whoami(&app).await, "anonymous");
}

#[actix_web::test]
async fn a_provider_that_lies_about_its_endpoints_or_answers_too_much_is_refused() {
    // A discovery document sending the code and secret to plain http elsewhere.
    let (app, idp) = TestApp::with_fake_idp(AppOptions::default(), Knobs::default());
    let document = json!({
        "issuer": idp.issuer, "authorization_endpoint": format!("{}/authorize", idp.issuer),
        "token_endpoint": "http://idp.example/token", "jwks_uri": format!("{}/jwks", idp.issuer),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    });
    idp.set(|knobs| knobs.discovery_body = Some(document.to_string()));
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    misconfigured(&app, &visitor, &answer, "bad_endpoint").await;

    // A token response of 2 MiB is not read whole.
    let knobs = Knobs {
        token_body: Some(format!("{{\"access_token\": \"{}\"}}", "a".repeat(2 << 20))),
        ..Knobs::default()
    };
    let (app, _idp) = TestApp::with_fake_idp(AppOptions::default(), knobs);
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    misconfigured(&app, &visitor, &answer, "unparsable_answer").await;
}
