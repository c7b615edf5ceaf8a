//! Issue 21, finding 1: a provider behind a private certificate authority (self-hosted
//! Keycloak, an in-house provider). The in-process provider is served over TLS with a
//! certificate for `localhost` signed by a CA this test makes (rcgen); the app trusts the
//! platform's roots plus configured ones, and a certificate it cannot trust is reported as the
//! misconfiguration it is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use support::idp::{FakeIdp, Knobs, private_ca};
use support::{AppOptions, TestApp, Visitor};

/// Set in the child process of [`the_platforms_roots_from_ssl_cert_file_are_trusted`]: the
/// issuer to sign in with.
const CHILD_ISSUER: &str = "LOGIN_OIDC_TEST_TLS_ISSUER";
const CHILD_CA: &str = "LOGIN_OIDC_TEST_TLS_CA";

#[actix_web::test]
async fn a_provider_behind_a_private_ca_signs_in_with_the_ca_configured() {
    let (ca, tls) = private_ca();
    let idp = FakeIdp::start_tls(Knobs::default(), tls);
    assert!(idp.issuer.starts_with("https://localhost:"));
    let (listener, _) = TestApp::bind();
    let pem = ca.clone();
    let options = AppOptions::default()
        .configure(move |config| config.add_root_certificate_pem(pem.as_bytes()).unwrap());
    let app = TestApp::serve(listener, &idp.issuer, options);
    let visitor = Visitor::trusting(&ca);
    let answer = visitor.sign_in(&app, "?next=%2Fmembers", "alice").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
    assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
    assert!(app.refusals().is_empty(), "{:?}", app.refusals());
}

#[actix_web::test]
async fn a_certificate_the_app_cannot_trust_is_reported_as_a_misconfiguration() {
    let (_, tls) = private_ca();
    let idp = FakeIdp::start_tls(Knobs::default(), tls);
    let (listener, _) = TestApp::bind();
    let app = TestApp::serve(listener, &idp.issuer, AppOptions::default());
    let visitor = Visitor::new();
    let answer = visitor.get(&app.url("/oidc/start")).await;
    assert_eq!(
        answer.status.as_u16(),
        500,
        "{answer:?} {:?}",
        app.events.lock().unwrap()
    );
    assert!(
        answer
            .body
            .contains("Sign-in with this provider is misconfigured"),
        "{}",
        answer.body
    );
    assert_eq!(app.refusals(), ["tls_failed"]);
    // The operator's reason names the certificate problem.
    let reason = app.events.lock().unwrap()[0].clone();
    let login_oidc::OidcEvent::Refused { error } = reason else {
        unreachable!()
    };
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
    assert_eq!(idp.hits("/.well-known/openid-configuration"), 0);
}

#[test]
fn a_root_certificate_that_is_not_pem_is_a_configuration_error() {
    let config =
        login_oidc::OidcConfig::new("https://idp.example", "app", None, "https://app.example/cb")
            .unwrap();
    let error = config
        .add_root_certificate_pem(b"not a certificate")
        .unwrap_err();
    assert!(
        matches!(error, login_oidc::ConfigError::RootCertificate(_)),
        "{error}"
    );
}

/// Runs twice: as the parent it starts the provider over TLS, writes the CA to a file and runs
/// itself again with `SSL_CERT_FILE` naming it (and nothing configured in the app); as that
/// child it signs in. The platform's roots, as rustls-native-certs reads them, are trusted.
#[actix_web::test]
async fn the_platforms_roots_from_ssl_cert_file_are_trusted() {
    if let (Ok(issuer), Ok(ca)) = (std::env::var(CHILD_ISSUER), std::env::var(CHILD_CA)) {
        let (listener, _) = TestApp::bind();
        let app = TestApp::serve(listener, &issuer, AppOptions::default());
        let visitor = Visitor::trusting(&std::fs::read_to_string(ca).unwrap());
        let answer = visitor.sign_in(&app, "", "alice").await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
        assert_eq!(visitor.whoami(&app).await, "Alice Liddell");
        return;
    }
    let (ca, tls) = private_ca();
    let idp = FakeIdp::start_tls(Knobs::default(), tls);
    let file = std::env::temp_dir().join(format!("login-oidc-test-ca-{}.pem", std::process::id()));
    std::fs::write(&file, &ca).unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_platforms_roots_from_ssl_cert_file_are_trusted",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("SSL_CERT_FILE", &file)
        .env_remove("SSL_CERT_DIR")
        .env(CHILD_ISSUER, &idp.issuer)
        .env(CHILD_CA, &file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let output = String::from_utf8_lossy(&child.stdout).into_owned()
        + &String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success(),
        "the child sign-in failed:\n{output}"
    );
    assert!(output.contains("1 passed"), "{output}");
    assert_eq!(
        idp.hits("/token"),
        1,
        "the child signed in through the provider"
    );
}
