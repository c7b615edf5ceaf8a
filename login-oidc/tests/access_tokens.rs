//! Issue 21, JWT access tokens for APIs: an API route guarded by a typed permission
//! (`#[permission_required(Api::ReadReports)]`), its caller loaded from a bearer JWT by the
//! app's `load_user_from_request` through `AccessTokens`, scopes mapped to `Api` values.
//! Against the in-process provider (plain `cargo test`), and against the access tokens
//! oidc-provider issues as JWTs with its resource indicators feature (run by `.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use login_oidc::{AccessTokenError, AccessTokens, OidcConfig, OidcProvider};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::idp::{FakeIdp, Key, Knobs, now};
use support::{AppOptions, TestApp};

const API: &str = "https://api.example";

fn api_app() -> (TestApp, FakeIdp) {
    let options = AppOptions {
        api_audience: Some(API.to_owned()),
        ..AppOptions::default()
    };
    TestApp::with_fake_idp(options, Knobs::default())
}

/// `GET` (or `POST`) the API as a client that prefers JSON, with `token` as the bearer.
async fn call(app: &TestApp, method: &str, token: Option<&str>) -> (StatusCode, String) {
    let client = reqwest::Client::new();
    let url = app.url("/api/reports");
    let mut request = match method {
        "POST" => client.post(url),
        _ => client.get(url),
    }
    .header("Accept", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn claims(issuer: &str, extra: Value) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": issuer, "sub": "alice", "aud": API, "client_id": support::CLIENT_ID,
        "iat": now, "exp": now + 300, "scope": "reports:read", "jti": "one",
    });
    for (name, value) in extra.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn refusals(app: &TestApp) -> Vec<&'static str> {
    app.directory.api_refusals.lock().unwrap().clone()
}

#[actix_web::test]
async fn a_valid_token_reaches_the_api_with_the_permissions_its_scopes_grant() {
    let (app, idp) = api_app();
    let token = idp.sign("at+jwt", &claims(&idp.issuer, json!({})));
    assert_eq!(
        call(&app, "GET", Some(&token)).await,
        (StatusCode::OK, "reports for api:alice".to_owned())
    );
    // reports:read does not grant writing: 403, never a login redirect.
    let (status, _) = call(&app, "POST", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let both = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"scope": "reports:read reports:write"})),
    );
    assert_eq!(call(&app, "POST", Some(&both)).await.0, StatusCode::OK);
    // `scp` as a list (Entra ID, Okta) works as `scope` does.
    let listed = idp.sign(
        "at+jwt",
        &claims(
            &idp.issuer,
            json!({"scope": null, "scp": ["reports:write"]}),
        ),
    );
    assert_eq!(call(&app, "POST", Some(&listed)).await.0, StatusCode::OK);
    assert_eq!(
        call(&app, "GET", Some(&listed)).await.0,
        StatusCode::FORBIDDEN
    );
    // No token: the unauthorized answer.
    assert_eq!(call(&app, "GET", None).await.0, StatusCode::UNAUTHORIZED);
    assert!(refusals(&app).is_empty(), "{:?}", refusals(&app));
}

#[actix_web::test]
async fn a_token_for_another_audience_or_issuer_is_refused() {
    let (app, idp) = api_app();
    let other_api = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"aud": "https://other-api.example"})),
    );
    assert_eq!(
        call(&app, "GET", Some(&other_api)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let other_issuer = idp.sign("at+jwt", &claims("https://other-idp.example", json!({})));
    assert_eq!(
        call(&app, "GET", Some(&other_issuer)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refusals(&app), ["invalid", "invalid"]);
}

#[actix_web::test]
async fn an_expired_token_is_refused_beyond_the_leeway() {
    let (app, idp) = api_app();
    let expired = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"iat": now() - 900, "exp": now() - 600})),
    );
    assert_eq!(
        call(&app, "GET", Some(&expired)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let just = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"iat": now() - 320, "exp": now() - 20})),
    );
    assert_eq!(call(&app, "GET", Some(&just)).await.0, StatusCode::OK);
    let no_exp = idp.sign("at+jwt", &claims(&idp.issuer, json!({"exp": null})));
    assert_eq!(
        call(&app, "GET", Some(&no_exp)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let future = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"iat": now() + 600, "exp": now() + 900})),
    );
    assert_eq!(
        call(&app, "GET", Some(&future)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refusals(&app), ["expired", "invalid", "invalid"]);
}

#[actix_web::test]
async fn a_token_signed_by_an_unknown_key_is_refused_and_keys_are_refetched_at_most_once() {
    let (app, idp) = api_app();
    let forged_claims = claims(&idp.issuer, json!({"scope": "reports:read reports:write"}));
    let unknown = Key::new("attackers-key").sign("at+jwt", &forged_claims);
    for _ in 0..3 {
        assert_eq!(
            call(&app, "GET", Some(&unknown)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // The provider's own key id, another key: the signature does not verify.
    let same_kid = Key::new("signing-key").sign("at+jwt", &forged_claims);
    assert_eq!(
        call(&app, "GET", Some(&same_kid)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refusals(&app),
        ["unknown_key", "unknown_key", "unknown_key", "bad_signature"]
    );
    // Discovery's fetch, and one re-fetch for the unknown key id within the interval.
    assert_eq!(idp.hits("/jwks"), 2);
}

#[actix_web::test]
async fn an_id_token_or_an_unsigned_token_is_not_an_access_token() {
    let (app, idp) = api_app();
    // Typed JWT (an ID token, say), even for the API's audience.
    let id_token = idp.sign("JWT", &claims(&idp.issuer, json!({})));
    assert_eq!(
        call(&app, "GET", Some(&id_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // alg none.
    let unsigned = {
        use base64::Engine;
        let b64 = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "at+jwt"})),
            b64(&claims(&idp.issuer, json!({})))
        )
    };
    assert_eq!(
        call(&app, "GET", Some(&unsigned)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "GET", Some("not-a-jwt")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refusals(&app),
        ["wrong_type", "algorithm_not_allowed", "malformed"]
    );
}

#[actix_web::test]
async fn the_validator_says_why_and_answers_rfc_6750() {
    let idp = FakeIdp::start(Knobs::default());
    let config =
        OidcConfig::new(&idp.issuer, support::CLIENT_ID, None, "http://127.0.0.1/cb").unwrap();
    let tokens = AccessTokens::new(OidcProvider::new(config).unwrap(), API)
        .algorithms(["ES256"])
        .unwrap()
        .leeway(Duration::ZERO);
    let token = idp.sign(
        "at+jwt",
        &claims(&idp.issuer, json!({"scope": "reports:read a:b"})),
    );
    let verified = tokens.validate(&token).await.unwrap();
    assert_eq!(verified.subject(), Some("alice"));
    assert_eq!(verified.client_id(), Some(support::CLIENT_ID));
    assert_eq!(verified.scopes(), ["reports:read", "a:b"]);
    assert_eq!(
        verified.permissions(|scope| (scope == "a:b").then_some(7)),
        [7]
    );
    let set = verified.permission_set(support::Api::from_scope_fn);
    assert!(set.contains(&support::Api::ReadReports));
    assert!(!set.contains(&support::Api::WriteReports));

    let expired = idp.sign("at+jwt", &claims(&idp.issuer, json!({"exp": now() - 5})));
    let error = tokens.validate(&expired).await.unwrap_err();
    assert_eq!(error, AccessTokenError::Expired);
    let response = error.response();
    assert_eq!(response.status(), actix_web::http::StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer error=\"invalid_token\""
    );
    // Only ES256 allowed here: an RS256 header is refused before any key is looked at.
    assert!(
        AccessTokens::new(
            OidcProvider::new(
                OidcConfig::new(&idp.issuer, "x", None, "http://127.0.0.1/cb").unwrap()
            )
            .unwrap(),
            API
        )
        .algorithms(["HS256"])
        .is_err()
    );
}

// Against oidc-provider's JWT access tokens (resource indicators) ----------------------------

async fn node_api_app(flags: &[&str]) -> (TestApp, support::Provider) {
    let options = AppOptions {
        api_audience: Some(API.to_owned()),
        ..AppOptions::default()
    };
    TestApp::with_provider(options, flags).await
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn oidc_providers_jwt_access_tokens_reach_the_api_and_one_for_another_audience_does_not() {
    let (app, provider) = node_api_app(&[]).await;
    let token = provider.client_credentials(API, "reports:read").await;
    assert_eq!(
        call(&app, "GET", Some(&token)).await,
        (
            StatusCode::OK,
            format!("reports for api:{}", support::CLIENT_ID)
        )
    );
    assert_eq!(
        call(&app, "POST", Some(&token)).await.0,
        StatusCode::FORBIDDEN
    );
    let writer = provider
        .client_credentials(API, "reports:read reports:write")
        .await;
    assert_eq!(call(&app, "POST", Some(&writer)).await.0, StatusCode::OK);

    let other = provider
        .client_credentials("https://other-api.example", "other:read")
        .await;
    assert_eq!(
        call(&app, "GET", Some(&other)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refusals(&app), ["invalid"]);
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_expired_oidc_provider_access_token_is_refused() {
    // The provider's clock is ten minutes behind: its five-minute tokens expired 5 min ago.
    let (app, provider) = node_api_app(&["--clock-skew=-600"]).await;
    let token = provider.client_credentials(API, "reports:read").await;
    assert_eq!(
        call(&app, "GET", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refusals(&app), ["expired"]);
}

#[actix_web::test]
#[ignore = "needs Node and the oidc-provider npm package; run by .ci/run"]
async fn an_oidc_provider_access_token_signed_by_an_unknown_key_is_refused() {
    // The provider publishes an unrelated key: its tokens name a key the app cannot find.
    let (app, provider) = node_api_app(&["--jwks", "impostor"]).await;
    let token = provider.client_credentials(API, "reports:read").await;
    assert_eq!(
        call(&app, "GET", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, "GET", Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refusals(&app), ["unknown_key", "unknown_key"]);
    assert_eq!(
        provider.jwks_fetches().await,
        2,
        "one re-fetch within the interval"
    );
}
