//! A server inside the test process that speaks GitHub's OAuth and API shapes, as GitHub
//! Enterprise Server lays them out on one host: `/login/oauth/authorize`,
//! `/login/oauth/access_token` (errors as a 200 with `error`, form-encoded unless JSON is
//! asked for), `/api/v3/user` and `/api/v3/user/emails` (a bearer token and a User-Agent
//! required). No OpenID Connect: no discovery, no ID token, no `iss`.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;

use super::{CLIENT_ID, CLIENT_SECRET};

/// How the server behaves.
#[derive(Clone)]
pub struct GitHubKnobs {
    /// `GET /user`.
    pub user: Value,
    /// `GET /user/emails`.
    pub emails: Value,
    /// `error=…` on the callback instead of a code.
    pub deny: Option<&'static str>,
}

impl Default for GitHubKnobs {
    fn default() -> Self {
        GitHubKnobs {
            user: json!({
                "login": "alice-gh", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                "name": "Alice on GitHub", "email": null, "type": "User",
            }),
            emails: json!([
                {"email": "alice@example.org", "primary": true, "verified": true, "visibility": "private"},
                {"email": "old@example.org", "primary": false, "verified": false, "visibility": null},
            ]),
            deny: None,
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

pub struct GitHubState {
    pub knobs: GitHubKnobs,
    grants: HashMap<String, Grant>,
    tokens: Vec<String>,
    pub hits: HashMap<String, u64>,
    /// The last token request's Accept header.
    pub last_accept: Option<String>,
}

/// The running server; `base` is its web root, `base/api/v3` its API.
pub struct FakeGitHub {
    pub base: String,
    pub state: Arc<Mutex<GitHubState>>,
}

impl FakeGitHub {
    pub fn start(knobs: GitHubKnobs) -> FakeGitHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(GitHubState {
            knobs,
            grants: HashMap::new(),
            tokens: Vec::new(),
            hits: HashMap::new(),
            last_accept: None,
        }));
        let data = web::Data::new(state.clone());
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(dispatch))
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run()
                .await
            })
        });
        FakeGitHub { base, state }
    }

    pub fn api(&self) -> String {
        format!("{}/api/v3", self.base)
    }

    pub fn set(&self, change: impl FnOnce(&mut GitHubKnobs)) {
        change(&mut self.state.lock().unwrap().knobs);
    }

    pub fn hits(&self, path: &str) -> u64 {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<GitHubState>>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    *state.hits.entry(req.path().to_owned()).or_default() += 1;
    match req.path() {
        "/login/oauth/authorize" => authorize(&mut state, &req),
        "/login/oauth/access_token" => access_token(&mut state, &req, &body),
        "/api/v3/user" => api(&state, &req, |knobs| knobs.user.clone()),
        "/api/v3/user/emails" => api(&state, &req, |knobs| knobs.emails.clone()),
        _ => HttpResponse::NotFound().json(json!({"message": "Not Found"})),
    }
}

fn authorize(state: &mut GitHubState, req: &HttpRequest) -> HttpResponse {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return HttpResponse::NotFound().body("unknown client");
    }
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    {
        let mut pairs = back.query_pairs_mut();
        if let Some(error) = state.knobs.deny {
            pairs.append_pair("error", error).append_pair(
                "error_description",
                "The user has denied your application access.",
            );
        } else {
            let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 10]>());
            state.grants.insert(
                code.clone(),
                Grant {
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
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, back.to_string()))
        .finish()
}

/// GitHub answers token errors with 200 and an `error` field; JSON only when asked for.
fn access_token(state: &mut GitHubState, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    state.last_accept = accept.clone();
    let json_wanted = accept.is_some_and(|accept| accept.contains("application/json"));
    let answer = |fields: Value| {
        if json_wanted {
            HttpResponse::Ok().json(fields)
        } else {
            let form: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    fields
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())),
                )
                .finish();
            HttpResponse::Ok()
                .content_type("application/x-www-form-urlencoded")
                .body(form)
        }
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return answer(json!({"error": "incorrect_client_credentials",
            "error_description": "The client_id and/or client_secret passed are incorrect."}));
    }
    let bad_code = json!({"error": "bad_verification_code",
        "error_description": "The code passed is incorrect or expired."});
    let Some(grant) = form.get("code").and_then(|code| state.grants.get_mut(code)) else {
        return answer(bad_code);
    };
    if grant.used || form.get("redirect_uri") != Some(&grant.redirect_uri) {
        grant.used = true;
        return answer(bad_code);
    }
    grant.used = true;
    if let Some(challenge) = &grant.challenge {
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        if &URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) != challenge {
            return answer(bad_code);
        }
    }
    let token = format!("gho_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>()));
    state.tokens.push(token.clone());
    answer(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
}

fn api(
    state: &GitHubState,
    req: &HttpRequest,
    answer: impl Fn(&GitHubKnobs) -> Value,
) -> HttpResponse {
    // "Request forbidden by administrative rules. Please make sure your request has a
    // User-Agent header."
    if req.headers().get(header::USER_AGENT).is_none() {
        return HttpResponse::Forbidden().body("Request forbidden by administrative rules.");
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("token "))
        });
    if !token.is_some_and(|token| state.tokens.iter().any(|known| known == token)) {
        return HttpResponse::Unauthorized().json(json!({"message": "Bad credentials"}));
    }
    HttpResponse::Ok().json(answer(&state.knobs))
}
