//! Sign-in with OpenID Connect end to end, against panva/oidc-provider (the OpenID-certified
//! Node implementation) running on a free loopback port: examples/oidc-provider. Each test
//! starts its own provider and app; `.ci/run` installs the provider with `npm ci`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use login_oidc::{Matched, OidcEvent};
use reqwest::StatusCode;
use support::{AppOptions, TestApp, User, Visitor, param, refused, silent_port, with_param};

fn alice_local() -> User {
    User {
        id: 1,
        name: "Alice (local)".into(),
        email: "alice@example.org".into(),
        active: true,
        granted: Vec::new(),
    }
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn signs_in_through_the_provider_and_lands_on_the_login_required_page() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let visitor = Visitor::new();

    // Anonymous: the members' page sends the visitor to log in, with where it wanted to go.
    let answer = visitor.get(&app.url("/members")).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    assert_eq!(answer.location.unwrap(), app.url("/login?next=%2Fmembers"));

    // The button carries `next`; the provider is asked for a code with PKCE S256, a state and
    // a nonce, for our client and redirect URI.
    let authorize = visitor.start(&app, "?next=%2Fmembers").await;
    assert!(authorize.starts_with(&format!("{}/auth?", _provider.issuer)));
    assert_eq!(param(&authorize, "response_type").unwrap(), "code");
    assert_eq!(param(&authorize, "client_id").unwrap(), support::CLIENT_ID);
    assert_eq!(
        param(&authorize, "redirect_uri").unwrap(),
        app.url("/oidc/callback")
    );
    assert_eq!(param(&authorize, "code_challenge_method").unwrap(), "S256");
    assert!(param(&authorize, "code_challenge").unwrap().len() >= 43);
    assert!(param(&authorize, "state").unwrap().len() >= 16);
    assert!(param(&authorize, "nonce").unwrap().len() >= 16);
    assert!(
        param(&authorize, "next").is_none(),
        "next stays in the session"
    );
    assert_eq!(param(&authorize, "scope").unwrap(), "openid email profile");

    // Through the provider's login and consent pages; back with a code, the state, and iss.
    let callback = visitor.through_provider(&app, &authorize, "alice").await;
    assert!(callback.starts_with(&app.url("/oidc/callback?")));
    assert!(param(&callback, "code").is_some());
    assert_eq!(param(&callback, "iss").unwrap(), _provider.issuer);

    let answer = visitor.get(&callback).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/members").as_str())
    );
    assert!(
        !answer
            .set_cookies
            .iter()
            .any(|c| c.starts_with("remember_token=")),
        "not remembered unless asked: {:?}",
        answer.set_cookies
    );

    let (_, page) = visitor.follow(&app.url("/members")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body, "Hello, Alice Liddell! (fresh: true)");

    // A new account was created and linked; the app's audit callback saw it.
    let sign_ins = app.sign_ins();
    assert_eq!(sign_ins.len(), 1, "{sign_ins:?}");
    let OidcEvent::SignedIn {
        issuer,
        subject,
        matched,
        ..
    } = &sign_ins[0]
    else {
        unreachable!()
    };
    assert_eq!(issuer, &_provider.issuer);
    assert_eq!(subject, "alice");
    assert_eq!(*matched, Matched::Created);
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}

#[actix_web::test]
#[ignore = "needs Node, the oidc-provider npm package and Redis; run by .ci/run"]
async fn the_login_is_fresh_and_renews_the_session_id() {
    let options = AppOptions {
        redis: true,
        ..AppOptions::default()
    };
    let (app, _provider) = TestApp::with_provider(options, &[]).await;
    let visitor = Visitor::new();

    let authorize = visitor.start(&app, "?next=%2Fsettings&remember=1").await;
    let before = visitor
        .cookie(&app.base, "id")
        .expect("the sign-in in progress lives in a session");
    let callback = visitor.through_provider(&app, &authorize, "alice").await;
    let answer = visitor.get(&callback).await;
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/settings").as_str())
    );
    let after = visitor.cookie(&app.base, "id").unwrap();
    assert_ne!(before, after, "the session id is renewed at login");
    assert!(
        answer
            .set_cookies
            .iter()
            .any(|c| c.starts_with("remember_token=")),
        "remember=1 asked for a remember cookie: {:?}",
        answer.set_cookies
    );

    // Fresh: the #[fresh_login_required] page lets the visitor in.
    let settings = visitor.get(&app.url("/settings")).await;
    assert_eq!(settings.status, StatusCode::OK, "{settings:?}");
    assert_eq!(settings.body, "Settings of Alice Liddell");

    // The id from before the login is worth nothing (fixation).
    let url = reqwest::Url::parse(&app.base).unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("id={before}; Path=/"), &url);
    assert_eq!(Visitor::with_jar(jar).whoami(&app).await, "anonymous");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn next_is_followed_only_when_it_is_a_same_site_path() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let safe = [("/settings?tab=2", "/settings?tab=2")];
    let unsafe_targets = [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
    ];
    for (next, expected) in safe {
        let visitor = Visitor::new();
        let query = format!("?next={}", urlencode(next));
        let answer = visitor.sign_in(&app, &query, "alice").await;
        assert_eq!(
            answer.location.as_deref(),
            Some(app.url(expected).as_str()),
            "{next}"
        );
    }
    for next in unsafe_targets {
        let visitor = Visitor::new();
        let query = format!("?next={}", urlencode(next));
        let answer = visitor.sign_in(&app, &query, "alice").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(
            answer.location.as_deref(),
            Some(app.url("/").as_str()),
            "{next} is not followed"
        );
        assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_existing_account_is_linked_only_on_a_verified_email() {
    let bob_local = User {
        id: 2,
        name: "Bob (local)".into(),
        email: "bob@example.org".into(),
        active: true,
        granted: Vec::new(),
    };
    let options = AppOptions {
        sign_up: false,
        accounts: vec![alice_local(), bob_local],
        ..AppOptions::default()
    };
    let (app, _provider) = TestApp::with_provider(options, &[]).await;

    // Alice's address is verified at the provider: her local account is linked, then found.
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(visitor.whoami(&app).await, "Alice (local)");
    let again = Visitor::new();
    again.sign_in(&app, "", "alice").await;
    let matched: Vec<Matched> = app
        .sign_ins()
        .iter()
        .map(|event| match event {
            OidcEvent::SignedIn { matched, .. } => *matched,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(matched, [Matched::Linked, Matched::Found]);

    // Bob's is not: his local account with the same address is not handed over, and this app
    // creates no accounts, so the sign-in is refused.
    let bob = Visitor::new();
    let answer = bob.sign_in(&app, "", "bob").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
    assert!(
        answer
            .body
            .contains("There is no account for this identity")
    );
    assert_eq!(app.refusals(), ["no_account"]);
    assert_eq!(bob.whoami(&app).await, "anonymous");
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_inactive_account_is_refused() {
    let options = AppOptions {
        accounts: vec![User {
            active: false,
            ..alice_local()
        }],
        ..AppOptions::default()
    };
    let (app, _provider) = TestApp::with_provider(options, &[]).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 403, "inactive").await;
}

/// The provider is a first factor: an account with a second factor, in an app that installed
/// no second step (login-runtime's `SecondStepGate`), is refused, never signed in without it.
#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_account_with_a_second_factor_is_not_signed_in_by_the_provider_alone() {
    let options = AppOptions {
        accounts: vec![alice_local()],
        second_factor: vec![1],
        ..AppOptions::default()
    };
    let (app, _provider) = TestApp::with_provider(options, &[]).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 500, "no_second_step").await;
    assert!(answer.body.contains("misconfigured"), "{}", answer.body);
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn cancelling_at_the_provider_is_refused() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let visitor = Visitor::new();
    let authorize = visitor.start(&app, "?next=%2Fmembers").await;
    let callback = visitor.cancel_at_provider(&app, &authorize).await;
    assert_eq!(param(&callback, "error").unwrap(), "access_denied");
    let answer = visitor.get(&callback).await;
    refused(&app, &visitor, &answer, 403, "access_denied").await;
    assert!(answer.body.contains("You cancelled the sign-in"));
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_replayed_callback_is_refused() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;

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
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_wrong_or_missing_state_is_refused() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;

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
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_token_with_another_nonce_is_refused() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let visitor = Visitor::new();
    let authorize = visitor.start(&app, "").await;
    // The provider issues its token for a nonce this sign-in did not send.
    let tampered = with_param(
        &authorize,
        "nonce",
        Some("a-nonce-of-someone-elses-choosing"),
    );
    let callback = visitor.through_provider(&app, &tampered, "alice").await;
    let answer = visitor.get(&callback).await;
    refused(&app, &visitor, &answer, 400, "nonce_mismatch").await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_callback_naming_another_issuer_or_none_is_refused() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;

    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let mixed_up = with_param(&callback, "iss", Some("https://other-idp.example"));
    let answer = visitor.get(&mixed_up).await;
    refused(&app, &visitor, &answer, 400, "issuer_mismatch").await;

    // The provider advertises authorization_response_iss_parameter_supported: iss is required.
    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    let answer = visitor.get(&with_param(&callback, "iss", None)).await;
    refused(&app, &visitor, &answer, 400, "missing_issuer").await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_token_signed_by_an_unknown_key_is_refused_and_keys_are_refetched_at_most_once_per_interval()
 {
    // The provider publishes an unrelated key: its tokens name a key id the app cannot find.
    let (app, provider) =
        TestApp::with_provider(AppOptions::default(), &["--jwks", "impostor"]).await;
    for _ in 0..2 {
        let visitor = Visitor::new();
        let answer = visitor.sign_in(&app, "", "alice").await;
        refused(&app, &visitor, &answer, 502, "bad_signature").await;
    }
    // Discovery fetched the keys once; the first unknown key id fetched them once more; the
    // second, within the hour the app allows between re-fetches, did not.
    assert_eq!(provider.jwks_fetches().await, 2);
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_token_whose_signature_does_not_verify_is_refused() {
    // The published key has the signing key's id but is another key.
    let (app, _provider) =
        TestApp::with_provider(AppOptions::default(), &["--jwks", "impostor-same-kid"]).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "bad_signature").await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn rotated_provider_keys_are_fetched_again_and_the_sign_in_succeeds() {
    // At discovery the provider still publishes its retired key; by the first sign-in it
    // signs with (and publishes) a new one.
    let (app, provider) =
        TestApp::with_provider(AppOptions::default(), &["--jwks", "stale-then-real"]).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "?next=%2Fmembers", "alice").await;
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/members").as_str())
    );
    assert_eq!(
        visitor.get(&app.url("/members")).await.body,
        "Hello, Alice Liddell! (fresh: true)"
    );
    assert_eq!(provider.jwks_fetches().await, 2);
    assert!(app.refusals().is_empty());
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_expired_id_token_is_refused() {
    // The provider's clock is ten minutes behind and its ID tokens live one minute: every
    // token it issues has expired nine minutes ago by the app's clock.
    let (app, _provider) = TestApp::with_provider(
        AppOptions::default(),
        &["--clock-skew=-600", "--id-token-ttl=60"],
    )
    .await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    refused(&app, &visitor, &answer, 502, "token_expired").await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_provider_that_is_down_gives_a_clear_page() {
    // Down before the sign-in: nothing listens at the issuer.
    let (listener, _) = TestApp::bind();
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let app = TestApp::serve(listener, &dead, AppOptions::default());
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start?next=%2Fmembers")).await;
    refused(&app, &visitor, &answer, 503, "provider_unavailable").await;
    assert!(answer.body.contains("not answering right now"));

    // Down between the provider's pages and the code exchange.
    let (app, mut provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let visitor = Visitor::new();
    let callback = visitor.callback(&app, "", "alice").await;
    provider.stop();
    let answer = visitor.get(&callback).await;
    refused(&app, &visitor, &answer, 503, "provider_unavailable").await;
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_provider_that_does_not_answer_is_given_up_on_after_the_timeout() {
    // Accepts connections and never answers; the app gives up after its 1 s timeout.
    let (listener, _) = TestApp::bind();
    let silent = format!("http://127.0.0.1:{}", silent_port());
    let options = AppOptions {
        http_timeout: std::time::Duration::from_secs(1),
        ..AppOptions::default()
    };
    let app = TestApp::serve(listener, &silent, options);
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    refused(&app, &visitor, &answer, 503, "provider_unavailable").await;
}

// Issue 21 against oidc-provider -----------------------------------------------------------

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_provider_that_lists_only_client_secret_post_signs_in_with_the_default_settings() {
    // The discovery document lists only client_secret_post. (oidc-provider accepts either
    // form of the secret whatever it lists, so which one was sent is shown against the
    // in-process provider, interop.rs, which refuses the other.)
    let flags = ["--auth-method", "client_secret_post"];
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &flags).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");

    // A wrong secret is a misconfiguration, not tampering.
    let options = AppOptions::default().configure(|config| {
        login_oidc::OidcConfig::new(
            config.issuer_url(),
            support::CLIENT_ID,
            Some("a-stale-secret"),
            config.redirect_url(),
        )
        .unwrap()
    });
    let (app, _provider) = TestApp::with_provider(options, &flags).await;
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    let callback = visitor
        .through_provider(&app, &answer.location.unwrap(), "alice")
        .await;
    let answer = visitor.get(&callback).await;
    refused(&app, &visitor, &answer, 500, "client_refused").await;
    assert!(answer.body.contains("misconfigured"), "{}", answer.body);
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn profile_and_email_only_in_oidc_providers_userinfo_reach_the_account() {
    let options = AppOptions {
        sign_up: false,
        accounts: vec![alice_local()],
        ..AppOptions::default()
    };
    let (app, _provider) = TestApp::with_provider(options, &["--claims-in-userinfo"]).await;
    let visitor = Visitor::new();
    let answer = visitor.sign_in(&app, "", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(
        visitor.whoami(&app).await,
        "Alice (local)",
        "linked on UserInfo's address"
    );

    let (app, _provider) =
        TestApp::with_provider(AppOptions::default(), &["--claims-in-userinfo"]).await;
    let visitor = Visitor::new();
    visitor.sign_in(&app, "", "alice").await;
    assert_eq!(
        visitor.whoami(&app).await,
        "Alice Liddell",
        "named from UserInfo"
    );
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn a_remembered_login_is_made_fresh_by_signing_in_again_at_oidc_provider() {
    let (app, _provider) = TestApp::with_provider(AppOptions::default(), &[]).await;
    let first = Visitor::new();
    first.sign_in(&app, "?remember=1", "alice").await;
    // The session is gone, the remember cookie is not: remembered, not fresh.
    let remember = first.cookie(&app.base, "remember_token").unwrap();
    let url = reqwest::Url::parse(&app.base).unwrap();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("remember_token={remember}; Path=/"), &url);
    let visitor = Visitor::with_jar(jar);
    let answer = visitor.get(&app.url("/settings")).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{answer:?}");

    let authorize = visitor.start(&app, "?reauth=1&next=%2Fsettings").await;
    assert_eq!(param(&authorize, "prompt").as_deref(), Some("login"));
    let callback = visitor.through_provider(&app, &authorize, "alice").await;
    let answer = visitor.get(&callback).await;
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/settings").as_str()),
        "{answer:?}"
    );
    let settings = visitor.get(&app.url("/settings")).await;
    assert_eq!(settings.status, StatusCode::OK, "{settings:?}");
    assert_eq!(
        visitor.get(&app.url("/how")).await.body,
        "signed in with oidc as alice (re-authenticated: true)"
    );
}
