//! An OpenID Connect provider inside the test process: an actix server on a free loopback port
//! serving discovery, an authorization endpoint that signs the configured account in at once,
//! a token endpoint (client authentication, single-use codes, PKCE S256), JWKS and UserInfo.
//! ID tokens are signed with an ES256 key the test makes (p256, which openidconnect already
//! uses to verify them). Every answer can be bent through [`Knobs`] to show one fault a real
//! provider has: no Node, no network, plain `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::Digest;
use tokio_rustls::rustls;

use super::{CLIENT_ID, CLIENT_SECRET};

/// An ES256 signing key with its key id.
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    signing: SigningKey,
}

impl Key {
    pub fn new(kid: &str) -> Key {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(signing) = SigningKey::from_slice(&bytes) {
                return Key {
                    kid: kid.to_owned(),
                    signing,
                };
            }
        }
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Value {
        let point = VerifyingKey::from(&self.signing).to_encoded_point(false);
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        })
    }

    /// A compact JWS of `claims` (header `typ` as given), signed ES256 under this key's id.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "kid": self.kid, "typ": typ});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// What `/jwks` publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jwks {
    /// The signing key.
    Real,
    /// An unrelated key under another kid: tokens name a key the client cannot find.
    Impostor,
    /// An unrelated key under the signing key's kid: the signature does not verify.
    ImpostorSameKid,
    /// First a retired key only (the client's keys before a rotation), then the real one.
    StaleThenReal,
}

pub type Edit = Arc<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// How the provider behaves; tests change these between requests.
#[derive(Clone)]
pub struct Knobs {
    /// The claims of the account the next authorization signs in (`sub` included).
    pub account: Map<String, Value>,
    /// Which of the account's claims go into the ID token (all when `None`); the others are
    /// only served by UserInfo.
    pub id_token_claims: Option<Vec<&'static str>>,
    /// Changes the ID token's claims just before signing (`iss`, `aud`, `exp`, `nonce`, …).
    pub edit_id_token: Option<Edit>,
    /// Changes the UserInfo answer.
    pub edit_userinfo: Option<Edit>,
    /// Whether discovery lists a UserInfo endpoint.
    pub userinfo: bool,
    /// UserInfo answers a signed JWT (`application/jwt`) with this key, not JSON.
    pub userinfo_signed_by: Option<Key>,
    /// `token_endpoint_auth_methods_supported` in discovery (left out when `None`).
    pub auth_methods_supported: Option<Vec<&'static str>>,
    /// The client authentication methods the token endpoint accepts.
    pub accept_auth: Vec<&'static str>,
    /// Whether the callback carries `iss`, and whether discovery promises it (RFC 9207).
    pub send_iss: bool,
    pub advertise_iss: bool,
    /// `iss` in the callback instead of the issuer.
    pub callback_iss: Option<String>,
    /// `issuer` in the discovery document instead of the real one.
    pub discovery_issuer: Option<String>,
    pub jwks: Jwks,
    /// Sign ID tokens with this key instead of the published signing key.
    pub sign_with: Option<Key>,
    /// `error=…` instead of a code on the callback (`access_denied`: the visitor cancelled).
    pub deny: Option<&'static str>,
    /// Leave the ID token out of the token response.
    pub no_id_token: bool,
    /// A token endpoint under another path (to show that metadata is discovered again).
    pub token_path: &'static str,
    /// The whole body of discovery replaced (an answer that is not JSON, …).
    pub discovery_body: Option<String>,
    /// Discovery answers this status (and nothing else).
    pub discovery_status: Option<u16>,
    /// The whole body of the token response replaced.
    pub token_body: Option<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            account: alice(),
            id_token_claims: None,
            edit_id_token: None,
            edit_userinfo: None,
            userinfo: true,
            userinfo_signed_by: None,
            auth_methods_supported: Some(vec!["client_secret_basic", "client_secret_post"]),
            accept_auth: vec!["client_secret_basic", "client_secret_post"],
            send_iss: true,
            advertise_iss: true,
            callback_iss: None,
            discovery_issuer: None,
            jwks: Jwks::Real,
            sign_with: None,
            deny: None,
            no_id_token: false,
            token_path: "/token",
            discovery_body: None,
            discovery_status: None,
            token_body: None,
        }
    }
}

/// Alice: a verified address, a name.
pub fn alice() -> Map<String, Value> {
    account(json!({
        "sub": "alice", "email": "alice@example.org", "email_verified": true,
        "name": "Alice Liddell", "preferred_username": "alice",
    }))
}

/// Bob: an address the provider did not verify.
pub fn bob() -> Map<String, Value> {
    account(json!({
        "sub": "bob", "email": "bob@example.org", "email_verified": false, "name": "Bob",
    }))
}

pub fn account(claims: Value) -> Map<String, Value> {
    match claims {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// A code the authorization endpoint handed out.
struct Grant {
    account: Map<String, Value>,
    nonce: Option<String>,
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

/// The provider's state: knobs, keys, codes and tokens, and what it was asked.
pub struct IdpState {
    pub knobs: Knobs,
    pub signing: Key,
    impostor: Key,
    impostor_same_kid: Key,
    retired: Key,
    grants: HashMap<String, Grant>,
    tokens: HashMap<String, Map<String, Value>>,
    /// How often each path was requested.
    pub hits: HashMap<String, u64>,
    /// The last authorization request's query parameters.
    pub last_authorize: HashMap<String, String>,
    /// How the client authenticated at the token endpoint, each time.
    pub token_auth: Vec<&'static str>,
}

/// The running provider; stops with the test process.
pub struct FakeIdp {
    pub issuer: String,
    pub state: Arc<Mutex<IdpState>>,
}

impl FakeIdp {
    /// A provider on plain http (loopback).
    pub fn start(knobs: Knobs) -> FakeIdp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        Self::serve(knobs, listener, format!("http://127.0.0.1:{port}"))
    }

    /// A provider on https at `https://localhost:{port}`, with `tls` (a certificate for
    /// `localhost`) in front of its plain server.
    pub fn start_tls(knobs: Knobs, tls: Arc<rustls::ServerConfig>) -> FakeIdp {
        let backend = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend_port = backend.local_addr().unwrap().port();
        let front = tls_front(backend_port, tls);
        Self::serve(knobs, backend, format!("https://localhost:{front}"))
    }

    fn serve(knobs: Knobs, listener: TcpListener, issuer: String) -> FakeIdp {
        let state = Arc::new(Mutex::new(IdpState {
            knobs,
            signing: Key::new("signing-key"),
            impostor: Key::new("impostor-key"),
            impostor_same_kid: Key::new("signing-key"),
            retired: Key::new("retired-key"),
            grants: HashMap::new(),
            tokens: HashMap::new(),
            hits: HashMap::new(),
            last_authorize: HashMap::new(),
            token_auth: Vec::new(),
        }));
        let data = web::Data::new(Shared {
            issuer: issuer.clone(),
            state: state.clone(),
        });
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(dispatch))
                })
                .workers(1);
                server.listen(listener).unwrap().run().await
            })
        });
        FakeIdp { issuer, state }
    }

    /// Changes the knobs.
    pub fn set(&self, change: impl FnOnce(&mut Knobs)) {
        change(&mut self.state.lock().unwrap().knobs);
    }

    /// How often `path` was requested.
    pub fn hits(&self, path: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// A query parameter of the last authorization request.
    pub fn authorize_param(&self, name: &str) -> Option<String> {
        self.state.lock().unwrap().last_authorize.get(name).cloned()
    }

    /// How the client authenticated at the token endpoint, each time.
    pub fn token_auth(&self) -> Vec<&'static str> {
        self.state.lock().unwrap().token_auth.clone()
    }

    /// A token signed with the provider's signing key (an access token, say).
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        self.state.lock().unwrap().signing.sign(typ, claims)
    }
}

/// A TLS terminator on a free loopback port forwarding to `backend_port`; its port.
fn tls_front(backend_port: u16, tls: Arc<rustls::ServerConfig>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            // Bounded: the few connections a test makes.
            for _ in 0..256 {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                actix_web::rt::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    if let Ok(mut backend) =
                        tokio::net::TcpStream::connect(("127.0.0.1", backend_port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
                    }
                });
            }
        })
    });
    port
}

/// A private certificate authority and a server certificate for `localhost` it signed: the
/// CA's PEM (what a client must trust) and the server's TLS configuration.
pub fn private_ca() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "login-oidc test private CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![server.der().clone()], key)
    .unwrap();
    (ca.pem(), Arc::new(config))
}

struct Shared {
    issuer: String,
    state: Arc<Mutex<IdpState>>,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

fn json_answer(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(body.to_string())
}

async fn dispatch(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let mut state = shared.state.lock().unwrap();
    *state.hits.entry(path.clone()).or_default() += 1;
    let token_path = state.knobs.token_path;
    match path.as_str() {
        "/.well-known/openid-configuration" => discovery(&shared.issuer, &state),
        "/authorize" => authorize(&shared.issuer, &mut state, query(&req)),
        "/jwks" => jwks(&state),
        "/userinfo" => userinfo(&shared.issuer, &req, &state),
        p if p == token_path => token(&shared.issuer, &mut state, &req, &body),
        _ => HttpResponse::NotFound().finish(),
    }
}

fn discovery(issuer: &str, state: &IdpState) -> HttpResponse {
    if let Some(status) = state.knobs.discovery_status {
        return json_answer(status, &json!({}));
    }
    if let Some(body) = &state.knobs.discovery_body {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(body.clone());
    }
    let knobs = &state.knobs;
    let mut document = json!({
        "issuer": knobs.discovery_issuer.clone().unwrap_or_else(|| issuer.to_owned()),
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}{}", knobs.token_path),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "authorization_response_iss_parameter_supported": knobs.advertise_iss,
    });
    if knobs.userinfo {
        document["userinfo_endpoint"] = json!(format!("{issuer}/userinfo"));
    }
    if let Some(methods) = &knobs.auth_methods_supported {
        document["token_endpoint_auth_methods_supported"] = json!(methods);
    }
    json_answer(200, &document)
}

fn authorize(issuer: &str, state: &mut IdpState, params: HashMap<String, String>) -> HttpResponse {
    state.last_authorize = params.clone();
    let Some(redirect_uri) = params.get("redirect_uri").cloned() else {
        return HttpResponse::BadRequest().body("no redirect_uri");
    };
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    {
        let mut pairs = back.query_pairs_mut();
        if let Some(error) = state.knobs.deny {
            pairs.append_pair("error", error);
        } else {
            let code = random_token();
            state.grants.insert(
                code.clone(),
                Grant {
                    account: state.knobs.account.clone(),
                    nonce: params.get("nonce").cloned(),
                    redirect_uri: redirect_uri.clone(),
                    challenge: params.get("code_challenge").cloned(),
                    used: false,
                },
            );
            pairs.append_pair("code", &code);
        }
        if let Some(value) = params.get("state") {
            pairs.append_pair("state", value);
        }
        if state.knobs.send_iss {
            let iss = state
                .knobs
                .callback_iss
                .clone()
                .unwrap_or_else(|| issuer.to_owned());
            pairs.append_pair("iss", &iss);
        }
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back.to_string()))
        .finish()
}

fn jwks(state: &IdpState) -> HttpResponse {
    let fetches = state.hits.get("/jwks").copied().unwrap_or(0);
    let keys = match state.knobs.jwks {
        Jwks::Real => vec![state.signing.jwk()],
        Jwks::Impostor => vec![state.impostor.jwk()],
        Jwks::ImpostorSameKid => vec![state.impostor_same_kid.jwk()],
        Jwks::StaleThenReal if fetches <= 1 => vec![state.retired.jwk()],
        Jwks::StaleThenReal => vec![state.signing.jwk()],
    };
    json_answer(200, &json!({ "keys": keys }))
}

/// Client authentication as RFC 6749 2.3.1 has it: Basic with form-encoded id and secret, or
/// both in the body, or (a public client) the id alone.
fn client_auth(
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Option<(&'static str, String, Option<String>)> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |text: &str| {
            url::form_urlencoded::parse(format!("x={text}").as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        };
        return Some(("client_secret_basic", unescape(id), Some(unescape(secret))));
    }
    let id = form.get("client_id")?.clone();
    match form.get("client_secret") {
        Some(secret) => Some(("client_secret_post", id, Some(secret.clone()))),
        None => Some(("none", id, None)),
    }
}

fn token(issuer: &str, state: &mut IdpState, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let invalid_client = json_answer(401, &json!({"error": "invalid_client"}));
    let Some((method, id, secret)) = client_auth(req, &form) else {
        return invalid_client;
    };
    state.token_auth.push(method);
    if !state.knobs.accept_auth.contains(&method) || id != CLIENT_ID {
        return invalid_client;
    }
    if method != "none" && secret.as_deref() != Some(CLIENT_SECRET) {
        return invalid_client;
    }
    if let Some(body) = &state.knobs.token_body {
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(body.clone());
    }
    let invalid_grant = json_answer(400, &json!({"error": "invalid_grant"}));
    let Some(code) = form.get("code") else {
        return invalid_grant;
    };
    let Some(grant) = state.grants.get_mut(code) else {
        return invalid_grant;
    };
    // A code works once.
    if grant.used || form.get("redirect_uri") != Some(&grant.redirect_uri) {
        grant.used = true;
        return invalid_grant;
    }
    grant.used = true;
    // PKCE S256: the verifier must hash to the challenge sent with the authorization request.
    let verified = match (&grant.challenge, form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            &URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == challenge
        }
        _ => false,
    };
    if !verified {
        return invalid_grant;
    }
    let account = grant.account.clone();
    let nonce = grant.nonce.clone();
    let access_token = random_token();
    state.tokens.insert(access_token.clone(), account.clone());

    let now = now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 300));
    claims.insert("auth_time".into(), json!(now));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    for (name, value) in &account {
        let wanted = match &state.knobs.id_token_claims {
            None => true,
            Some(names) => name == "sub" || names.contains(&name.as_str()),
        };
        if wanted {
            claims.insert(name.clone(), value.clone());
        }
    }
    if let Some(edit) = &state.knobs.edit_id_token {
        edit(&mut claims);
    }
    let key = state
        .knobs
        .sign_with
        .clone()
        .unwrap_or(state.signing.clone());
    let id_token = key.sign("JWT", &Value::Object(claims));
    let mut response = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 300,
        "scope": "openid email profile",
    });
    if !state.knobs.no_id_token {
        response["id_token"] = json!(id_token);
    }
    json_answer(200, &response)
}

fn userinfo(issuer: &str, req: &HttpRequest, state: &IdpState) -> HttpResponse {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(account) = token.and_then(|token| state.tokens.get(token)) else {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""))
            .finish();
    };
    let mut claims = account.clone();
    if let Some(edit) = &state.knobs.edit_userinfo {
        edit(&mut claims);
    }
    if let Some(key) = &state.knobs.userinfo_signed_by {
        claims.insert("iss".into(), json!(issuer));
        claims.insert("aud".into(), json!(CLIENT_ID));
        return HttpResponse::Ok()
            .content_type("application/jwt")
            .body(key.sign("JWT", &Value::Object(claims)));
    }
    json_answer(200, &Value::Object(claims))
}
