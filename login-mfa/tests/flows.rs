//! The second factors end to end, through the routes as a browser or a JSON client uses them:
//! the RFC 6238 vectors, TOTP enrolment and sign-in (no replay, throttled), recovery codes,
//! the pending login (not a login, expires), passkeys with webauthn-authenticator-rs's soft
//! passkey, trusted devices, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::{SessionMiddleware, storage::CookieSessionStore};
use actix_web::cookie::Key;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use login_mfa::webauthn::{CreationChallengeResponse, RequestChallengeResponse, Url};
use login_mfa::{MemoryMfaStore, Mfa, MfaConfig, MfaEvent, MfaUser, Totp, TotpAlgorithm};
use login_runtime::testing::TestClient;
use login_runtime::{
    AfterFirstFactor, AuthMethod, AuthUser, Devices, FirstFactor, Login, LoginManager,
    MemoryDevices, SecretKey, UserLoader, login_required,
};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "http://localhost:8080";

#[derive(Clone, Debug, AuthUser)]
struct User {
    id: u64,
    #[auth(session_hash)]
    password_hash: String,
}

impl MfaUser for User {
    fn account_name(&self) -> String {
        format!("user{}", self.id)
    }
}

#[derive(Clone, Default)]
struct Users(Rc<RefCell<HashMap<u64, User>>>);

impl UserLoader for Users {
    type User = User;
    type Id = u64;
    type Error = std::convert::Infallible;
    async fn load_user(&self, id: &u64) -> Result<Option<User>, Self::Error> {
        Ok(self.0.borrow().get(id).cloned())
    }
}

type TestMfa = Mfa<Users, MemoryMfaStore>;

#[login_required]
async fn private() -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().body("private"))
}

#[login_required(second_factor)]
async fn admin(login: Login<User>) -> actix_web::Result<HttpResponse> {
    let methods = login.methods()?;
    Ok(HttpResponse::Ok().body(format!("admin {methods:?}")))
}

/// The app's password form: any password is right for an existing user (`?user=1`).
async fn password_login(
    req: HttpRequest,
    mfa: web::Data<TestMfa>,
    users: web::Data<Users>,
) -> HttpResponse {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string()).unwrap();
    let id: u64 = query["user"].parse().unwrap();
    let remember = query.contains_key("remember");
    let user = users.0.borrow().get(&id).cloned().unwrap();
    let step = mfa
        .after_first_factor(&req, &user, AuthMethod::Password, remember)
        .await
        .unwrap();
    mfa.first_step_response(&req, step).await
}

/// Another first factor (a sign-in link, a provider's callback) that knows nothing of
/// login-mfa: it goes through login-runtime's `Login::after_first_factor` (`?user=1`).
async fn link_login(req: HttpRequest, login: Login<User>, users: web::Data<Users>) -> HttpResponse {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string()).unwrap();
    let id: u64 = query["user"].parse().unwrap();
    let user = users.0.borrow().get(&id).cloned().unwrap();
    let first = FirstFactor::new(AuthMethod::SignInLink)
        .remember(true)
        .next(Some("/private".to_owned()));
    match login.after_first_factor(&user, first).await.unwrap() {
        AfterFirstFactor::SecondStep { url } => HttpResponse::SeeOther()
            .insert_header(("location", url))
            .finish(),
        other => HttpResponse::Ok().body(format!("{other:?}")),
    }
}

async fn logout(login: Login<User>) -> actix_web::Result<HttpResponse> {
    login.logout()?;
    Ok(HttpResponse::Ok().finish())
}

async fn revoke_device(devices: Devices, id: web::Path<String>) -> actix_web::Result<HttpResponse> {
    Ok(HttpResponse::Ok().body(devices.revoke(&id).await?.to_string()))
}

async fn device_ids(devices: Devices) -> actix_web::Result<HttpResponse> {
    let ids: Vec<String> = devices.list().await?.into_iter().map(|d| d.id).collect();
    Ok(HttpResponse::Ok().json(ids))
}

struct Harness {
    users: Users,
    store: MemoryMfaStore,
    clock: Rc<Cell<SystemTime>>,
    events: Rc<RefCell<Vec<MfaEvent>>>,
    key: SecretKey,
    devices: MemoryDevices,
}

impl Harness {
    fn new() -> Harness {
        let users = Users::default();
        for id in [1, 2] {
            users.0.borrow_mut().insert(
                id,
                User {
                    id,
                    password_hash: format!("hash{id}"),
                },
            );
        }
        Harness {
            users,
            store: MemoryMfaStore::new(),
            // A fixed time in the middle of a 30-second step.
            clock: Rc::new(Cell::new(UNIX_EPOCH + Duration::from_secs(1_800_000_015))),
            events: Rc::default(),
            key: SecretKey::generate(),
            devices: MemoryDevices::new(),
        }
    }

    fn mfa(&self) -> TestMfa {
        let clock = Rc::clone(&self.clock);
        let events = Rc::clone(&self.events);
        let config = MfaConfig::new("localhost", &[ORIGIN])
            .unwrap()
            .secure_cookies(false)
            .code_attempts(3, Duration::from_secs(900));
        Mfa::new(config, self.users.clone(), self.store.clone(), &self.key)
            .unwrap()
            .clock(move || clock.get())
            .on_event(move |event| events.borrow_mut().push(event.clone()))
            .device_registry(self.devices.clone())
    }

    async fn client(
        &self,
    ) -> TestClient<
        impl actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
        >,
    > {
        let mfa = self.mfa();
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(mfa.clone()))
                .app_data(web::Data::new(self.users.clone()))
                .configure(mfa.configure())
                .route("/login", web::post().to(password_login))
                .route("/link-login", web::post().to(link_login))
                .route("/logout", web::post().to(logout))
                .route("/private", web::get().to(private))
                .route("/admin", web::get().to(admin))
                .route("/devices", web::get().to(device_ids))
                .route("/devices/{id}/revoke", web::post().to(revoke_device))
                .wrap(
                    LoginManager::new(self.users.clone())
                        .secret_key(self.key.clone())
                        .login_view("/login")
                        .second_factor_view("/mfa/verify")
                        .device_registry(self.devices.clone())
                        .remember_cookie(login_runtime::RememberCookie::default().secure(false)),
                )
                .wrap(
                    SessionMiddleware::builder(CookieSessionStore::default(), Key::generate())
                        .cookie_secure(false)
                        .build(),
                ),
        )
        .await;
        TestClient::new(app)
    }

    fn now(&self) -> u64 {
        self.clock
            .get()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn advance(&self, seconds: u64) {
        self.clock
            .set(self.clock.get() + Duration::from_secs(seconds));
    }
}

fn json_post(uri: &str, body: Value) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("accept", "application/json"))
        .set_json(body)
}

fn json_get(uri: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(uri)
        .insert_header(("accept", "application/json"))
}

macro_rules! call {
    ($client:expr, $req:expr) => {{
        let res = $client.call($req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        let text = String::from_utf8_lossy(&body).into_owned();
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, headers, text, value)
    }};
}

/// The secret in a TOTP enrolment's base32.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// Logs user `id` in with the password, enrols TOTP through the routes, and returns the
/// authenticator (the secret as the app would have read it from the QR code).
async fn enrol_totp<C>(h: &Harness, client: &C, id: u64) -> Totp
where
    C: Caller,
{
    let (status, ..) = client
        .go(json_post(&format!("/login?user={id}"), json!({})))
        .await;
    assert_eq!(status, 200);
    let (status, _, _, setup) = client.go(json_post("/mfa/totp/setup", json!({}))).await;
    assert_eq!(status, 200, "{setup}");
    let enrolment = &setup["enrolment"];
    assert!(enrolment["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        enrolment["qr_data_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert!(
        enrolment["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/localhost%3Auser")
    );
    let totp = Totp::new(
        TotpAlgorithm::Sha1,
        base32_decode(enrolment["secret"].as_str().unwrap()),
        6,
    );
    // Not enabled before a correct code: the next password login still just logs in.
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/totp/enable",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // The code used to enable is used up: the next one is of the next step.
    h.advance(30);
    let (status, ..) = client.go(test::TestRequest::post().uri("/logout")).await;
    assert_eq!(status, 200);
    totp
}

/// A TestClient of any service, as the helpers above take it.
trait Caller {
    async fn go(
        &self,
        req: test::TestRequest,
    ) -> (u16, actix_web::http::header::HeaderMap, String, Value);
}

impl<S, B> Caller for TestClient<S>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    async fn go(
        &self,
        req: test::TestRequest,
    ) -> (u16, actix_web::http::header::HeaderMap, String, Value) {
        call!(self, req)
    }
}

// ----- TOTP -----

#[actix_web::test]
async fn totp_matches_the_rfc_6238_test_vectors_for_sha1_sha256_and_sha512() {
    // RFC 6238, appendix B: 8 digits, the ASCII seeds repeated to the hash's length.
    let seeds = [
        (TotpAlgorithm::Sha1, b"12345678901234567890".to_vec()),
        (
            TotpAlgorithm::Sha256,
            b"12345678901234567890123456789012".to_vec(),
        ),
        (
            TotpAlgorithm::Sha512,
            b"1234567890123456789012345678901234567890123456789012345678901234".to_vec(),
        ),
    ];
    let vectors: [(u64, [&str; 3]); 6] = [
        (59, ["94287082", "46119246", "90693936"]),
        (1_111_111_109, ["07081804", "68084774", "25091201"]),
        (1_111_111_111, ["14050471", "67062674", "99943326"]),
        (1_234_567_890, ["89005924", "91819424", "93441116"]),
        (2_000_000_000, ["69279037", "90698825", "38618901"]),
        (20_000_000_000, ["65353130", "77737706", "47863826"]),
    ];
    for (time, codes) in vectors {
        for ((algorithm, seed), expected) in seeds.iter().zip(codes) {
            let totp = Totp::new(*algorithm, seed.clone(), 8);
            assert_eq!(totp.code_at(time), expected, "{algorithm:?} at T = {time}");
            assert_eq!(totp.matching_step(expected, time), Some(time / 30));
        }
    }
}

#[actix_web::test]
async fn a_code_of_the_next_or_previous_step_matches_but_not_two_steps_away() {
    let totp = Totp::new(TotpAlgorithm::Sha1, b"12345678901234567890".to_vec(), 6);
    let t = 1_800_000_015;
    assert_eq!(
        totp.matching_step(&totp.code_at(t - 30), t),
        Some(t / 30 - 1)
    );
    assert_eq!(
        totp.matching_step(&totp.code_at(t + 30), t),
        Some(t / 30 + 1)
    );
    assert_eq!(totp.matching_step(&totp.code_at(t - 60), t), None);
    assert_eq!(totp.matching_step(&totp.code_at(t + 60), t), None);
    assert_eq!(totp.matching_step("12345", t), None);
    assert_eq!(totp.matching_step("abcdef", t), None);
}

#[actix_web::test]
async fn totp_sign_in_completes_the_login_and_the_same_code_is_refused_twice() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;

    // The password now leads to the second step, not a login.
    let (status, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "second_factor_required");
    assert_eq!(body["second_step"]["totp"], true);
    let code = totp.code_at(h.now());
    let (status, _, _, body) = client
        .go(json_post("/mfa/verify/totp", json!({ "code": code })))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    let (status, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(status, 200);
    assert_eq!(text, "admin [Password, Totp]");

    // Log out, sign in again within the same 30 seconds: the same code is refused.
    client.go(test::TestRequest::post().uri("/logout")).await;
    client.go(json_post("/login?user=1", json!({}))).await;
    let (status, _, _, body) = client
        .go(json_post("/mfa/verify/totp", json!({ "code": code })))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "wrong_code");
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401, "still not logged in");
    assert!(h.events.borrow().iter().any(|e| matches!(
        e,
        MfaEvent::Refused {
            reason: "replayed",
            ..
        }
    )));
}

#[actix_web::test]
async fn wrong_totp_codes_are_throttled_per_account_with_retry_after() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client.go(json_post("/login?user=1", json!({}))).await;
    for _ in 0..3 {
        let (status, _, _, body) = client
            .go(json_post("/mfa/verify/totp", json!({ "code": "000000" })))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    // Now even the right code is refused without being checked.
    let (status, headers, _, body) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "throttled");
    assert!(headers.contains_key("retry-after"));
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn the_totp_secret_is_stored_encrypted_and_enabled_only_after_a_correct_code() {
    use login_mfa::MfaStore;
    let h = Harness::new();
    let client = h.client().await;
    client.go(json_post("/login?user=1", json!({}))).await;
    let (_, _, _, setup) = client.go(json_post("/mfa/totp/setup", json!({}))).await;
    let secret = setup["enrolment"]["secret"].as_str().unwrap().to_owned();
    let raw = base32_decode(&secret);
    let record = h.store.totp("1").await.unwrap().unwrap();
    assert!(!record.enabled);
    assert!(!record.sealed_secret.contains(&hex::encode(&raw)));
    assert!(!record.sealed_secret.to_uppercase().contains(&secret));
    // A wrong code does not enable it.
    let (status, ..) = client
        .go(json_post("/mfa/totp/enable", json!({ "code": "123456" })))
        .await;
    assert_eq!(status, 401);
    assert!(!h.store.totp("1").await.unwrap().unwrap().enabled);
    client.go(test::TestRequest::post().uri("/logout")).await;
    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(
        body["status"], "ok",
        "no second step before enrolment is confirmed"
    );
}

// ----- the pending login -----

#[actix_web::test]
async fn the_pending_login_is_not_a_login_and_expires() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    // A browser: the password answers 303 to the second step.
    let (status, headers, ..) = client
        .go(test::TestRequest::post().uri("/login?user=1"))
        .await;
    assert_eq!(status, 303);
    assert_eq!(headers.get("location").unwrap(), "/mfa/verify");
    // Guarded pages answer as for an anonymous visitor: the login view, 401 for JSON.
    let (status, headers, ..) = client.go(test::TestRequest::get().uri("/private")).await;
    assert_eq!(status, 302);
    assert!(
        headers
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("/login?next=")
    );
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);
    let (status, _, page, _) = client.go(test::TestRequest::get().uri("/mfa/verify")).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"code\""));
    // Five minutes later it is gone: a right code is refused, the browser goes back to login.
    h.advance(5 * 60 + 1);
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "no_pending_login");
    let (status, headers, ..) = client.go(test::TestRequest::get().uri("/mfa/verify")).await;
    assert_eq!(status, 303);
    assert_eq!(headers.get("location").unwrap(), "/login");
    assert!(
        h.events
            .borrow()
            .iter()
            .any(|e| matches!(e, MfaEvent::PendingExpired { .. }))
    );
}

#[actix_web::test]
async fn remember_me_is_applied_only_after_the_second_step() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client.remove_cookie("remember_token");
    let (_, headers, ..) = client
        .go(json_post("/login?user=1&remember=1", json!({})))
        .await;
    assert!(
        headers
            .get_all("set-cookie")
            .all(|c| !c.to_str().unwrap().starts_with("remember_token="))
    );
    let (status, headers, ..) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get_all("set-cookie")
            .any(|c| c.to_str().unwrap().starts_with("remember_token="))
    );
}

// ----- recovery codes -----

#[actix_web::test]
async fn recovery_codes_are_stored_hashed_single_use_and_voided_by_a_new_set() {
    let h = Harness::new();
    let client = h.client().await;
    enrol_totp(&h, &client, 1).await;
    // Log in (TOTP) to generate codes.
    client.go(json_post("/login?user=1", json!({}))).await;
    let record = {
        use login_mfa::MfaStore;
        h.store.totp("1").await.unwrap().unwrap()
    };
    assert!(record.enabled);
    h.events.borrow_mut().clear();
    // Use the generator directly, as the security page does (through a fresh login).
    let mfa = h.mfa();
    let codes = mfa.generate_recovery_codes("1").await.unwrap();
    assert_eq!(codes.len(), 10);
    let rows = h.store.recovery_rows("1");
    assert_eq!(rows.len(), 10);
    for (hash, used) in &rows {
        assert!(!used);
        assert!(
            codes
                .iter()
                .all(|code| !hash.contains(&code.replace('-', "")) && hash != code)
        );
    }
    // One code completes the pending login.
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/recovery",
            json!({ "code": codes[0] }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(text, "admin [Password, RecoveryCode]");
    assert!(
        h.events
            .borrow()
            .iter()
            .any(|e| matches!(e, MfaEvent::RecoveryCodeUsed { remaining: 9, .. }))
    );
    // Used once: refused the second time.
    client.go(test::TestRequest::post().uri("/logout")).await;
    client.go(json_post("/login?user=1", json!({}))).await;
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/recovery",
            json!({ "code": codes[0] }),
        ))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "wrong_code");
    // A new set voids the old one.
    let new_codes = mfa.generate_recovery_codes("1").await.unwrap();
    let (status, ..) = client
        .go(json_post(
            "/mfa/verify/recovery",
            json!({ "code": codes[1] }),
        ))
        .await;
    assert_eq!(status, 401);
    let (status, ..) = client
        .go(json_post(
            "/mfa/verify/recovery",
            json!({ "code": new_codes[0].to_uppercase() }),
        ))
        .await;
    assert_eq!(status, 200);
    // No event carries a code.
    let events = format!("{:?}", h.events.borrow());
    assert!(
        codes
            .iter()
            .chain(&new_codes)
            .all(|code| !events.contains(code.as_str()))
    );
}

#[actix_web::test]
async fn regenerating_recovery_codes_needs_a_fresh_login() {
    let h = Harness::new();
    let client = h.client().await;
    client
        .go(json_post("/login?user=1&remember=1", json!({})))
        .await;
    let (status, _, _, body) = client
        .go(json_post("/mfa/recovery/generate", json!({})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);
    // A login restored from the remember cookie is not fresh.
    client.remove_cookie("id");
    let (status, ..) = client
        .go(json_post("/mfa/recovery/generate", json!({})))
        .await;
    assert_eq!(status, 401);
}

// ----- passkeys -----

/// Registers a passkey named `name` for the logged-in client with `authenticator`; the
/// credential id (base64url) as the browser would report it.
async fn register_passkey(
    client: &impl Caller,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> String {
    let (status, _, _, options) = client
        .go(json_post("/mfa/passkeys/options", json!({ "name": name })))
        .await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let ccr: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": options["publicKey"] })).unwrap();
    let credential = authenticator
        .do_registration(Url::parse(ORIGIN).unwrap(), ccr)
        .unwrap();
    let credential = serde_json::to_value(&credential).unwrap();
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/passkeys",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["passkey"]["name"], name);
    credential["id"].as_str().unwrap().to_owned()
}

/// An assertion for the ceremony `options` with `authenticator`: the soft passkey keeps no
/// resident keys, so the test names the credential, as a browser's discoverable prompt would.
fn assert_with(
    authenticator: &mut SoftPasskey,
    options: &Value,
    credential_id: &str,
    origin: &str,
    user_verification: bool,
) -> Value {
    let mut public_key = options["publicKey"].clone();
    public_key["allowCredentials"] = json!([{ "type": "public-key", "id": credential_id }]);
    if !user_verification {
        public_key["userVerification"] = json!("discouraged");
    }
    let rcr: RequestChallengeResponse =
        serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
    let assertion = authenticator
        .do_authentication(Url::parse(origin).unwrap(), rcr)
        .unwrap();
    serde_json::to_value(&assertion).unwrap()
}

#[actix_web::test]
async fn a_passkey_registers_and_signs_in_without_a_password() {
    let h = Harness::new();
    let client = h.client().await;
    let mut authenticator = SoftPasskey::new(true);
    client.go(json_post("/login?user=1", json!({}))).await;
    let id = register_passkey(&client, &mut authenticator, "Laptop").await;
    let (_, _, _, security) = client.go(json_get("/mfa/security")).await;
    assert_eq!(security["security"]["passkeys"][0]["name"], "Laptop");
    client.go(test::TestRequest::post().uri("/logout")).await;

    let (status, _, _, options) = client
        .go(json_post("/mfa/passkey/options", json!({})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        json!([]),
        "discoverable: no names asked"
    );
    let assertion = assert_with(&mut authenticator, &options, &id, ORIGIN, true);
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(status, 200, "a passkey alone satisfies second_factor");
    assert_eq!(text, "admin [Passkey]");

    // The same assertion again: its ceremony is used up.
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "no_ceremony");
    // Replayed into a new ceremony: the challenge is not its own.
    client.go(test::TestRequest::post().uri("/logout")).await;
    let (_, _, _, fresh) = client
        .go(json_post("/mfa/passkey/options", json!({})))
        .await;
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/passkey",
            json!({ "ceremony": fresh["ceremony"], "credential": assertion }),
        ))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "passkey_refused");
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn a_passkey_is_the_second_factor_after_a_password() {
    let h = Harness::new();
    let client = h.client().await;
    let mut authenticator = SoftPasskey::new(true);
    client.go(json_post("/login?user=1", json!({}))).await;
    let id = register_passkey(&client, &mut authenticator, "Phone").await;
    client.go(test::TestRequest::post().uri("/logout")).await;

    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(body["status"], "second_factor_required");
    assert_eq!(body["second_step"]["passkey"], true);
    let (status, _, _, options) = client
        .go(json_post("/mfa/verify/passkey/options", json!({})))
        .await;
    assert_eq!(status, 200, "{options}");
    let assertion = assert_with(&mut authenticator, &options, &id, ORIGIN, true);
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(text, "admin [Password, Passkey]");
}

#[actix_web::test]
async fn a_passkey_is_refused_without_user_verification_from_another_origin_and_once_removed() {
    let h = Harness::new();
    let client = h.client().await;
    let mut authenticator = SoftPasskey::new(true);
    client.go(json_post("/login?user=1", json!({}))).await;
    let id = register_passkey(&client, &mut authenticator, "Key").await;
    client.go(test::TestRequest::post().uri("/logout")).await;

    let sign_in = async |assertion: Value, ceremony: &Value| {
        client
            .go(json_post(
                "/mfa/passkey",
                json!({ "ceremony": ceremony, "credential": assertion }),
            ))
            .await
    };
    // Without user verification.
    let (_, _, _, options) = client
        .go(json_post("/mfa/passkey/options", json!({})))
        .await;
    let assertion = assert_with(&mut authenticator, &options, &id, ORIGIN, false);
    let (status, _, _, body) = sign_in(assertion, &options["ceremony"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passkey_refused"))
    );
    // From another origin (a port the relying party does not list).
    let (_, _, _, options) = client
        .go(json_post("/mfa/passkey/options", json!({})))
        .await;
    let assertion = assert_with(
        &mut authenticator,
        &options,
        &id,
        "http://localhost:9999",
        true,
    );
    let (status, _, _, body) = sign_in(assertion, &options["ceremony"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passkey_refused"))
    );
    let reasons: Vec<&str> = h
        .events
        .borrow()
        .iter()
        .filter_map(|e| match e {
            MfaEvent::Refused { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["no_user_verification", "wrong_origin"]);
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);

    // Removed (as the security page does), it signs in no more, even in a ceremony started
    // before.
    let (_, _, _, options) = client
        .go(json_post("/mfa/passkey/options", json!({})))
        .await;
    let assertion = assert_with(&mut authenticator, &options, &id, ORIGIN, true);
    let stored = {
        use login_mfa::MfaStore;
        h.store.passkeys("1").await.unwrap()
    };
    h.mfa().remove_passkey("1", &stored[0].id).await.unwrap();
    client.go(test::TestRequest::post().uri("/logout")).await;
    let (status, _, _, body) = sign_in(assertion, &options["ceremony"]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passkey_refused"))
    );
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);
}

#[actix_web::test]
async fn a_passkey_registered_without_user_verification_is_refused() {
    let h = Harness::new();
    let client = h.client().await;
    client.go(json_post("/login?user=1", json!({}))).await;
    let (_, _, _, options) = client
        .go(json_post("/mfa/passkeys/options", json!({ "name": "Key" })))
        .await;
    let mut public_key = options["publicKey"].clone();
    public_key["authenticatorSelection"]["userVerification"] = json!("discouraged");
    let ccr: CreationChallengeResponse =
        serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
    let credential = SoftPasskey::new(false)
        .do_registration(Url::parse(ORIGIN).unwrap(), ccr)
        .unwrap();
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/passkeys",
            json!({ "ceremony": options["ceremony"], "credential": credential }),
        ))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("passkey_refused"))
    );
    let (_, _, _, security) = client.go(json_get("/mfa/security")).await;
    assert_eq!(security["security"]["passkeys"], json!([]));
}

#[actix_web::test]
async fn passkeys_are_renamed_and_a_passkey_reauthentication_makes_the_login_fresh() {
    let h = Harness::new();
    let client = h.client().await;
    let mut authenticator = SoftPasskey::new(true);
    client
        .go(json_post("/login?user=1&remember=1", json!({})))
        .await;
    let id = register_passkey(&client, &mut authenticator, "Old name").await;
    let (_, _, _, security) = client.go(json_get("/mfa/security")).await;
    let stored_id = security["security"]["passkeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, ..) = client
        .go(json_post(
            &format!("/mfa/passkeys/{stored_id}/rename"),
            json!({ "name": "New name" }),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, _, _, body) = client
        .go(json_post(
            &format!("/mfa/passkeys/{stored_id}/rename"),
            json!({ "name": "" }),
        ))
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_name")));
    let (_, _, _, security) = client.go(json_get("/mfa/security")).await;
    assert_eq!(security["security"]["passkeys"][0]["name"], "New name");

    // Restored from the remember cookie: not fresh; a passkey makes it fresh.
    client.remove_cookie("id");
    let (status, ..) = client
        .go(json_post("/mfa/recovery/generate", json!({})))
        .await;
    assert_eq!(status, 401);
    let (status, _, _, options) = client
        .go(json_post("/mfa/reauth/passkey/options", json!({})))
        .await;
    assert_eq!(status, 200, "{options}");
    let assertion = assert_with(&mut authenticator, &options, &id, ORIGIN, true);
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/reauth/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, ..) = client
        .go(json_post("/mfa/recovery/generate", json!({})))
        .await;
    assert_eq!(status, 200);
}

// ----- trusted devices -----

#[actix_web::test]
async fn a_trusted_device_skips_the_second_step_until_its_device_is_logged_out() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client.go(json_post("/login?user=1", json!({}))).await;
    let (status, headers, ..) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()), "trust": true }),
        ))
        .await;
    assert_eq!(status, 200);
    let cookie = headers
        .get_all("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("mfa_trusted="))
        .expect("a trusted-device cookie");
    assert!(cookie.contains("HttpOnly"));
    client.go(test::TestRequest::post().uri("/logout")).await;

    // Trusted: the password logs in.
    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(body["status"], "ok");
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 200);
    // A forged cookie is not trusted (another client, same device id, wrong MAC).
    let value = client.cookie("mfa_trusted").unwrap();

    // The trusted device is one of the user's devices: log it out from the list.
    let (_, _, _, ids) = client.go(json_get("/devices")).await;
    let ids: Vec<String> = serde_json::from_value(ids).unwrap();
    let trusted_id = value.split('.').next().unwrap();
    assert!(ids.iter().any(|id| id == trusted_id));
    let (status, _, text, _) = client
        .go(test::TestRequest::post().uri(&format!("/devices/{trusted_id}/revoke")))
        .await;
    assert_eq!((status, text.as_str()), (200, "true"));
    client.go(test::TestRequest::post().uri("/logout")).await;

    // The cookie is still there, but it is no longer trusted: the second step again.
    assert!(client.cookie("mfa_trusted").is_some());
    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(body["status"], "second_factor_required");
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401);

    // A tampered cookie is not trusted either.
    let forged = format!("{}0", value);
    client.set_cookie("mfa_trusted", &forged);
    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(body["status"], "second_factor_required");
}

#[actix_web::test]
async fn a_trusted_device_stops_working_when_the_password_changes() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client.go(json_post("/login?user=1", json!({}))).await;
    client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()), "trust": true }),
        ))
        .await;
    client.go(test::TestRequest::post().uri("/logout")).await;
    h.users.0.borrow_mut().get_mut(&1).unwrap().password_hash = "a new hash".into();
    let (_, _, _, body) = client.go(json_post("/login?user=1", json!({}))).await;
    assert_eq!(body["status"], "second_factor_required");
}

// ----- bad input -----

#[actix_web::test]
async fn garbage_bodies_and_forged_values_get_clear_errors_never_a_panic() {
    let h = Harness::new();
    let client = h.client().await;
    let mut authenticator = SoftPasskey::new(true);
    client.go(json_post("/login?user=1", json!({}))).await;
    register_passkey(&client, &mut authenticator, "Key").await;
    let garbage = |uri: &str| {
        test::TestRequest::post()
            .uri(uri)
            .insert_header(("accept", "application/json"))
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
    };
    for uri in [
        "/mfa/verify/totp",
        "/mfa/passkey",
        "/mfa/passkeys",
        "/mfa/passkeys/options",
        "/mfa/verify/passkey",
    ] {
        let (status, _, _, body) = client.go(garbage(uri)).await;
        assert_eq!(status, 400, "{uri}: {body}");
        assert_eq!(body["error"], "bad_request", "{uri}");
    }
    // A made-up ceremony and credential.
    let (status, _, _, body) = client
        .go(json_post("/mfa/passkey", json!({
            "ceremony": "nope",
            "credential": { "id": "AAAA", "rawId": "AAAA", "type": "public-key",
                "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA" },
                "extensions": {} }
        })))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("no_ceremony")),
        "{body}"
    );
    // A form without its token changes nothing.
    let (status, ..) = client
        .go(test::TestRequest::post()
            .uri("/mfa/totp/setup")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload("csrf=forged"))
        .await;
    assert_eq!(status, 403);
    // No pending login and no login: the second step refuses.
    client.go(test::TestRequest::post().uri("/logout")).await;
    let (status, _, _, body) = client
        .go(json_post("/mfa/verify/recovery", json!({ "code": "x" })))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("no_pending_login"))
    );
}

#[actix_web::test]
async fn another_first_factor_goes_through_the_second_step_that_configure_installed() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client.go(test::TestRequest::post().uri("/logout")).await;

    // Through `Login::after_first_factor`: a pending login, not a login, not remembered.
    let (status, headers, _, _) = client
        .go(test::TestRequest::post().uri("/link-login?user=1"))
        .await;
    assert_eq!(status, 303);
    assert_eq!(headers.get("location").unwrap(), "/mfa/verify");
    assert!(client.cookie("remember_token").is_none());
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 401, "a pending login is not a login");

    // The code completes it, with both methods, remembered, on to the link's `next`.
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now() + 30) }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/private", "{body}");
    let (_, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(text, "admin [SignInLink, Totp]");
    assert!(client.cookie("remember_token").is_some());

    // An account without a second factor is simply logged in.
    client.go(test::TestRequest::post().uri("/logout")).await;
    let (status, _, text, _) = client
        .go(test::TestRequest::post().uri("/link-login?user=2"))
        .await;
    assert_eq!((status, text.as_str()), (200, "LoggedIn"));
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn a_remembered_login_sent_to_the_second_step_gains_the_factor_and_stays_not_fresh() {
    let h = Harness::new();
    let client = h.client().await;
    let totp = enrol_totp(&h, &client, 1).await;
    client
        .go(json_post("/login?user=1&remember=1", json!({})))
        .await;
    let (status, ..) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 200);
    h.advance(30);

    // The browser closes: the remember cookie restores the login, made by no method in this
    // session, which a page that needs a second factor sends to the second step.
    client.remove_cookie("id");
    let (status, headers, ..) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!(status, 302);
    assert_eq!(
        headers.get("location").unwrap(),
        "/mfa/verify?next=%2Fadmin"
    );
    let (status, _, _, body) = client.go(json_get("/mfa/verify?next=%2Fadmin")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["second_step"]["totp"], true, "{body}");
    // Still logged in meanwhile: the step-up is not a logout.
    let (status, ..) = client.go(json_get("/private")).await;
    assert_eq!(status, 200);

    // A wrong code changes nothing; the right one adds the factor to this login.
    let (status, ..) = client
        .go(json_post("/mfa/verify/totp", json!({ "code": "000000" })))
        .await;
    assert_eq!(status, 401);
    let (status, _, _, body) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now()) }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], "/admin", "{body}");
    let (status, _, text, _) = client.go(test::TestRequest::get().uri("/admin")).await;
    assert_eq!((status, text.as_str()), (200, "admin [Totp]"));
    assert!(h.events.borrow().iter().any(|e| matches!(
        e,
        MfaEvent::SecondStepPassed {
            factor: login_mfa::Factor::Totp,
            ..
        }
    )));

    // Once given, nothing waits: the login has its second factor.
    let (status, ..) = client
        .go(json_post(
            "/mfa/verify/totp",
            json!({ "code": totp.code_at(h.now() + 30) }),
        ))
        .await;
    assert_eq!(status, 401, "nothing waits once the factor is given");
}

#[actix_web::test]
async fn an_account_without_a_second_factor_has_no_step_up() {
    let h = Harness::new();
    let client = h.client().await;
    client.go(json_post("/login?user=2", json!({}))).await;
    let (status, _, _, body) = client.go(json_get("/mfa/verify")).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "no_pending_login");
}
