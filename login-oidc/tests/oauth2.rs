//! Issue 21, OAuth 2.0 providers that are not OpenID Connect: sign-in with GitHub end to end,
//! against a local server speaking GitHub's OAuth and API shapes (tests/support/github.rs),
//! with the GitHub preset (`OidcConfig::github_enterprise`, GitHub's layout on one host), the
//! same linking rule (a verified address only) and the same refusals; and two providers in one
//! app, a button each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use login_oidc::{Matched, OidcConfig, OidcEvent};
use reqwest::StatusCode;
use serde_json::json;
use support::github::{FakeGitHub, GitHubKnobs};
use support::idp::Knobs;
use support::{AppOptions, CLIENT_ID, CLIENT_SECRET, TestApp, User, Visitor, param, with_param};

fn alice_local() -> User {
    User {
        id: 1,
        name: "Alice (local)".into(),
        email: "alice@example.org".into(),
        active: true,
        granted: Vec::new(),
    }
}

/// An app with sign-in with GitHub under `/github` (its OpenID Connect provider, at a port
/// nothing listens on, is never used).
fn github_app(options: AppOptions, knobs: GitHubKnobs) -> (TestApp, FakeGitHub) {
    let github = FakeGitHub::start(knobs);
    let (web, api) = (github.base.clone(), github.api());
    let options = options.provider("/github", move |base| {
        OidcConfig::github_enterprise(
            &web,
            &api,
            CLIENT_ID,
            CLIENT_SECRET,
            &format!("{base}/github/callback"),
        )
        .unwrap()
    });
    let (listener, _) = TestApp::bind();
    let unused = format!("http://127.0.0.1:{}", support::free_port());
    (TestApp::serve(listener, &unused, options), github)
}

async fn github_sign_in(app: &TestApp, visitor: &Visitor, query: &str) -> support::Answer {
    let start = visitor
        .get(&app.url(&format!("/github/start{query}")))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{start:?}");
    let authorize = start.location.unwrap();
    let callback = visitor.through_provider(app, &authorize, "-").await;
    visitor.get(&callback).await
}

async fn refused(
    app: &TestApp,
    visitor: &Visitor,
    answer: &support::Answer,
    status: u16,
    code: &str,
) {
    assert_eq!(answer.status.as_u16(), status, "{answer:?}");
    assert!(
        answer.body.contains("<h1>Sign-in failed</h1>"),
        "{}",
        answer.body
    );
    assert_eq!(app.refusals().last().copied(), Some(code), "{answer:?}");
    assert_eq!(visitor.whoami(app).await, "anonymous");
}

#[actix_web::test]
async fn signs_in_with_github_and_names_the_account_after_the_github_profile() {
    let (app, github) = github_app(AppOptions::default(), GitHubKnobs::default());
    let visitor = Visitor::new();
    let start = visitor.get(&app.url("/github/start?next=%2Fmembers")).await;
    let authorize = start.location.unwrap();
    assert!(authorize.starts_with(&format!("{}/login/oauth/authorize?", github.base)));
    assert_eq!(param(&authorize, "client_id").unwrap(), CLIENT_ID);
    assert_eq!(param(&authorize, "scope").unwrap(), "read:user user:email");
    assert_eq!(
        param(&authorize, "redirect_uri").unwrap(),
        app.url("/github/callback")
    );
    assert_eq!(param(&authorize, "code_challenge_method").unwrap(), "S256");
    assert!(param(&authorize, "state").unwrap().len() >= 16);
    assert!(param(&authorize, "nonce").is_none(), "no OpenID Connect");

    let callback = visitor.through_provider(&app, &authorize, "-").await;
    assert!(param(&callback, "iss").is_none());
    let answer = visitor.get(&callback).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/members").as_str())
    );
    let page = visitor.get(&app.url("/members")).await;
    assert_eq!(page.body, "Hello, Alice on GitHub! (fresh: true)");
    assert_eq!(
        visitor.get(&app.url("/how")).await.body,
        "signed in with github as 583231 (re-authenticated: false)"
    );
    // The identity is GitHub's numeric id, never the renamable login.
    let sign_ins = app.sign_ins();
    let [
        OidcEvent::SignedIn {
            issuer,
            subject,
            matched,
            ..
        },
    ] = &sign_ins[..]
    else {
        panic!("{sign_ins:?}")
    };
    assert_eq!(issuer, &github.base);
    assert_eq!(subject, "583231");
    assert_eq!(*matched, Matched::Created);
    let directory = app.directory.accounts.lock().unwrap();
    assert_eq!(directory.last().unwrap().email, "alice@example.org");
    // The API was asked as GitHub requires (bearer token, User-Agent), the token as JSON.
    assert_eq!(github.hits("/api/v3/user"), 1);
    assert_eq!(github.hits("/api/v3/user/emails"), 1);
    assert_eq!(
        github.state.lock().unwrap().last_accept.as_deref(),
        Some("application/json")
    );
}

#[actix_web::test]
async fn a_github_account_links_only_on_its_verified_primary_address() {
    let options = AppOptions {
        sign_up: false,
        accounts: vec![alice_local()],
        ..AppOptions::default()
    };
    let (app, github) = github_app(options, GitHubKnobs::default());
    let visitor = Visitor::new();
    let answer = github_sign_in(&app, &visitor, "").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice (local)");
    let matched: Vec<Matched> = app
        .sign_ins()
        .iter()
        .map(|event| match event {
            OidcEvent::SignedIn { matched, .. } => *matched,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(matched, [Matched::Linked]);

    // Another GitHub user shows Alice's address publicly on /user, and lists it unverified as
    // primary: not linked (and this app creates no accounts).
    github.set(|knobs| {
        knobs.user =
            json!({"login": "mallory", "id": 666, "name": "Mallory", "email": "alice@example.org"});
        knobs.emails = json!([{"email": "alice@example.org", "primary": true, "verified": false}]);
    });
    let mallory = Visitor::new();
    let answer = github_sign_in(&app, &mallory, "").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{answer:?}");
    assert_eq!(app.refusals(), ["no_account"]);
    assert_eq!(mallory.whoami(&app).await, "anonymous");
}

#[actix_web::test]
async fn github_sign_ins_are_refused_as_openid_connect_ones_are() {
    let (app, github) = github_app(AppOptions::default(), GitHubKnobs::default());

    // A replayed code: GitHub answers 200 with bad_verification_code.
    let visitor = Visitor::new();
    let start = visitor.get(&app.url("/github/start")).await;
    let callback = visitor
        .through_provider(&app, &start.location.unwrap(), "-")
        .await;
    let thief = visitor.clone_cookies(&app.base);
    assert_eq!(visitor.get(&callback).await.status, StatusCode::SEE_OTHER);
    let replay = thief.get(&callback).await;
    refused(&app, &thief, &replay, 400, "code_refused").await;
    let replay = Visitor::new().get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.refusals().last().copied(),
        Some("no_sign_in_in_progress")
    );

    // A forged or missing state.
    let visitor = Visitor::new();
    let start = visitor.get(&app.url("/github/start")).await;
    let callback = visitor
        .through_provider(&app, &start.location.unwrap(), "-")
        .await;
    let answer = visitor
        .get(&with_param(&callback, "state", Some("forged")))
        .await;
    refused(&app, &visitor, &answer, 400, "state_mismatch").await;

    // Cancelled at GitHub.
    github.set(|knobs| knobs.deny = Some("access_denied"));
    let visitor = Visitor::new();
    let answer = github_sign_in(&app, &visitor, "").await;
    refused(&app, &visitor, &answer, 403, "access_denied").await;

    // GitHub down.
    let (listener, _) = TestApp::bind();
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let dead_api = format!("{dead}/api/v3");
    let options = AppOptions::default().provider("/github", move |base| {
        OidcConfig::github_enterprise(
            &dead,
            &dead_api,
            CLIENT_ID,
            CLIENT_SECRET,
            &format!("{base}/github/callback"),
        )
        .unwrap()
    });
    let unused = format!("http://127.0.0.1:{}", support::free_port());
    let down = TestApp::serve(listener, &unused, options);
    let visitor = Visitor::new();
    let start = visitor.get(&down.url("/github/start")).await;
    assert_eq!(
        start.status,
        StatusCode::SEE_OTHER,
        "no discovery: the visitor is sent on"
    );
    // The visitor comes back with a code GitHub gave before it went down.
    let state = param(&start.location.unwrap(), "state").unwrap();
    let answer = visitor
        .get(&down.url(&format!("/github/callback?code=abc&state={state}")))
        .await;
    refused(&down, &visitor, &answer, 503, "provider_unavailable").await;
}

#[actix_web::test]
async fn wrong_github_client_credentials_get_the_misconfigured_page() {
    let github = FakeGitHub::start(GitHubKnobs::default());
    let (web, api) = (github.base.clone(), github.api());
    let options = AppOptions::default().provider("/github", move |base| {
        OidcConfig::github_enterprise(
            &web,
            &api,
            CLIENT_ID,
            "a-stale-secret",
            &format!("{base}/github/callback"),
        )
        .unwrap()
    });
    let (listener, _) = TestApp::bind();
    let unused = format!("http://127.0.0.1:{}", support::free_port());
    let app = TestApp::serve(listener, &unused, options);
    let visitor = Visitor::new();
    let answer = github_sign_in(&app, &visitor, "").await;
    refused(&app, &visitor, &answer, 500, "client_refused").await;
    assert!(answer.body.contains("misconfigured"), "{}", answer.body);
}

#[actix_web::test]
async fn a_github_login_cannot_be_re_authenticated_through_github() {
    // GitHub says nothing of when the visitor last entered a password.
    let (app, _github) = github_app(AppOptions::default(), GitHubKnobs::default());
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/github/start?reauth=1")).await;
    assert_eq!(answer.status.as_u16(), 500, "{answer:?}");
    assert_eq!(app.refusals(), ["reauthentication_unsupported"]);
}

#[actix_web::test]
async fn two_providers_in_one_app_each_with_a_button_and_its_own_sign_in() {
    let github = FakeGitHub::start(GitHubKnobs::default());
    let (web, api) = (github.base.clone(), github.api());
    let options = AppOptions::default().provider("/github", move |base| {
        OidcConfig::github_enterprise(
            &web,
            &api,
            CLIENT_ID,
            CLIENT_SECRET,
            &format!("{base}/github/callback"),
        )
        .unwrap()
    });
    let (app, idp) = TestApp::with_fake_idp(options, Knobs::default());

    let login = Visitor::new().get(&app.url("/login?next=%2Fmembers")).await;
    assert!(
        login.body.contains("action=\"/oidc/start\""),
        "{}",
        login.body
    );
    assert!(
        login.body.contains("action=\"/github/start\""),
        "{}",
        login.body
    );
    assert!(login.body.contains("Sign in with github"), "{}", login.body);

    // One browser starts with both; the sign-ins do not overwrite each other.
    let visitor = Visitor::new();
    let oidc_authorize = visitor.start(&app, "?next=%2Fmembers").await;
    let github_start = visitor
        .get(&app.url("/github/start?next=%2Fsettings"))
        .await;
    let github_callback = visitor
        .through_provider(&app, &github_start.location.unwrap(), "-")
        .await;
    let oidc_callback = visitor
        .through_provider(&app, &oidc_authorize, "alice")
        .await;

    // GitHub's answer at the OpenID Connect callback: another sign-in's state.
    let swapped = app.url(&format!(
        "/oidc/callback?{}",
        github_callback.split_once('?').unwrap().1
    ));
    let answer = visitor.get(&swapped).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert_eq!(app.refusals(), ["state_mismatch"]);

    // The GitHub sign-in, still in progress, completes.
    let answer = visitor.get(&github_callback).await;
    assert_eq!(
        answer.location.as_deref(),
        Some(app.url("/settings").as_str()),
        "{answer:?}"
    );
    assert_eq!(visitor.whoami(&app).await, "Alice on GitHub");
    assert!(
        visitor
            .get(&app.url("/how"))
            .await
            .body
            .starts_with("signed in with github")
    );

    // The OpenID Connect one was spent by the swapped callback: its own answer is refused.
    let answer = visitor.get(&oidc_callback).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.refusals().last().copied(),
        Some("no_sign_in_in_progress")
    );

    // Another browser signs in with the OpenID Connect provider: the same verified address,
    // so the account GitHub's sign-in created is linked to this identity too.
    let other = Visitor::new();
    other.sign_in(&app, "", "alice").await;
    assert_eq!(other.whoami(&app).await, "Alice on GitHub");
    let matched: Vec<Matched> = app
        .sign_ins()
        .iter()
        .map(|event| match event {
            OidcEvent::SignedIn { matched, .. } => *matched,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(matched, [Matched::Created, Matched::Linked]);
    assert!(
        other
            .get(&app.url("/how"))
            .await
            .body
            .starts_with("signed in with oidc as alice")
    );
    assert_eq!(idp.hits("/token"), 1);
}
