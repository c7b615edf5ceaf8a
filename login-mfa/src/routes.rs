//! The routes, under the configured prefix ([`Mfa::configure`]). Each handler reads its body,
//! calls one step, and answers through [`respond`](crate::respond).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use login_runtime::{SecondStepGate, UserLoader};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use crate::error::MfaError;
use crate::mfa::{CeremonyKind, FirstStep, Mfa, MfaUser};
use crate::pages::MfaPage;
use crate::respond::{Reply, checked};
use crate::store::MfaStore;

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    trust: Option<String>,
}

#[derive(Deserialize)]
struct TrustJson {
    #[serde(default)]
    trust: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Empty {}

#[derive(Deserialize)]
struct Finish<C> {
    ceremony: String,
    credential: C,
    #[serde(default)]
    trust: bool,
}

fn second_step_again(problem: String) -> MfaPage {
    MfaPage::SecondStep {
        step: crate::mfa::SecondStep {
            totp: false,
            passkey: false,
            recovery_codes: 0,
            expires_in: 0,
            step_up: false,
        },
        problem: Some(problem),
    }
}

fn totp_again(problem: String) -> MfaPage {
    MfaPage::TotpEnrolment {
        enrolment: None,
        problem: Some(problem),
    }
}

impl<L, S> Mfa<L, S>
where
    L: UserLoader + Clone,
    L::User: MfaUser,
    S: MfaStore,
{
    /// Registers the routes (under the prefix, `/mfa` by default):
    ///
    /// | route | step |
    /// |---|---|
    /// | `GET verify` | the second step's page (JSON: what it offers) |
    /// | `POST verify/totp`, `verify/recovery` | `code` (and `trust`): completes the login |
    /// | `POST verify/passkey/options`, `verify/passkey` | a passkey as the second factor |
    /// | `POST passkey/options`, `passkey` | sign in with a passkey and no password |
    /// | `POST reauth/passkey/options`, `reauth/passkey` | make the login fresh with a passkey |
    /// | `GET security` | the user's factors |
    /// | `POST totp/setup`, `totp/enable`, `totp/disable` | TOTP enrolment |
    /// | `POST recovery/generate` | a new set of recovery codes |
    /// | `POST passkeys/options`, `passkeys` | register a passkey (`name`) |
    /// | `POST passkeys/{id}/rename`, `passkeys/{id}/delete` | rename, remove |
    ///
    /// Forms carry the form token as `csrf`; JSON bodies need none. The passkey routes take
    /// and answer JSON: `{"ceremony", "publicKey"}` out, `{"ceremony", "credential"}` in.
    ///
    /// It also installs this `Mfa` as the app's [`SecondStepGate`]: every first factor that
    /// logs in with `Login::after_first_factor` (login-account's sign-in links, login-oidc's
    /// callback) then goes through the second step. Configure it at the app's root.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let mfa = self.clone();
        move |cfg| {
            // Every first factor that goes through `Login::after_first_factor` (a sign-in
            // link, a provider's callback) finds this second step: configured at the app's
            // root, the data is the app's.
            cfg.app_data(SecondStepGate::new(mfa.clone()));
            let p = mfa.inner.config.prefix.clone();
            let m = mfa.clone();
            cfg.route(
                &format!("{p}/verify"),
                web::get().to(move |req: HttpRequest| {
                    let m = m.clone();
                    async move { m.answer(&req, m.verify_page(&req)).await }
                }),
            );
            macro_rules! post {
                ($path:expr, $method:ident) => {{
                    let m = mfa.clone();
                    cfg.route(
                        &format!("{p}{}", $path),
                        web::post().to(move |req: HttpRequest, body: web::Bytes| {
                            let m = m.clone();
                            async move { m.answer(&req, m.$method(&req, &body)).await }
                        }),
                    );
                }};
            }
            post!("/verify/totp", post_verify_totp);
            post!("/verify/recovery", post_verify_recovery);
            post!("/verify/passkey/options", post_second_factor_options);
            post!("/verify/passkey", post_second_factor_passkey);
            post!("/passkey/options", post_sign_in_options);
            post!("/passkey", post_sign_in_passkey);
            post!("/reauth/passkey/options", post_reauth_options);
            post!("/reauth/passkey", post_reauth_passkey);
            post!("/totp/setup", post_totp_setup);
            post!("/totp/enable", post_totp_enable);
            post!("/totp/disable", post_totp_disable);
            post!("/recovery/generate", post_recovery_generate);
            post!("/passkeys/options", post_register_options);
            post!("/passkeys", post_register_finish);
            let m = mfa.clone();
            cfg.route(
                &format!("{p}/security"),
                web::get().to(move |req: HttpRequest| {
                    let m = m.clone();
                    async move { m.answer(&req, m.security_page(&req)).await }
                }),
            );
            let m = mfa.clone();
            cfg.route(
                &format!("{p}/passkeys/{{id}}/rename"),
                web::post().to(
                    move |req: HttpRequest, id: web::Path<String>, body: web::Bytes| {
                        let m = m.clone();
                        async move { m.answer(&req, m.post_rename(&req, &id, &body)).await }
                    },
                ),
            );
            let m = mfa.clone();
            cfg.route(
                &format!("{p}/passkeys/{{id}}/delete"),
                web::post().to(
                    move |req: HttpRequest, id: web::Path<String>, body: web::Bytes| {
                        let m = m.clone();
                        async move { m.answer(&req, m.post_delete(&req, &id, &body)).await }
                    },
                ),
            );
        }
    }

    /// The answer to the first factor's request after [`after_first_factor`]: the second
    /// step (303 to its page for browsers, `{"status":"second_factor_required"}` with 200 for
    /// JSON), or on to `next` / `after_login`.
    ///
    /// [`after_first_factor`]: Self::after_first_factor
    pub async fn first_step_response(&self, req: &HttpRequest, step: FirstStep) -> HttpResponse {
        match step {
            FirstStep::SecondFactor => {
                if crate::respond::wants_json(req) {
                    let page = match self.second_step(req).await {
                        Ok(step) => MfaPage::SecondStep {
                            step,
                            problem: None,
                        },
                        Err(error) => return self.refusal(req, &error, None).await,
                    };
                    self.page(req, StatusCode::OK, &page).await
                } else {
                    self.respond(
                        req,
                        Ok(Reply::Done(
                            format!("{}/verify", self.inner.config.prefix),
                            None,
                        )),
                        None,
                    )
                    .await
                }
            }
            FirstStep::Inactive => self.refusal(req, &MfaError::Inactive, None).await,
            _ => {
                let target = match Self::login_handle(req).await {
                    Ok(login) => login.next_url(),
                    Err(_) => None,
                }
                .unwrap_or_else(|| self.inner.config.after_login.clone());
                self.respond(req, Ok(Reply::Done(target, None)), None).await
            }
        }
    }

    async fn current_user(&self, req: &HttpRequest) -> Result<L::User, MfaError> {
        let login = Self::login_handle(req).await?;
        let id = login.user_id().ok_or(MfaError::NotLoggedIn)?;
        self.load(&id).await?.ok_or(MfaError::NotLoggedIn)
    }

    /// For changes that weaken the account (turning a factor off, new recovery codes, removing
    /// a passkey): a fresh login.
    async fn fresh_user(
        &self,
        req: &HttpRequest,
    ) -> Result<Result<L::User, HttpResponse>, MfaError> {
        let user = self.current_user(req).await?;
        let login = Self::login_handle(req).await?;
        if !login
            .is_fresh()
            .map_err(|e| MfaError::Login(e.to_string()))?
        {
            return Ok(Err(HttpResponse::from_error(login.needs_refresh())));
        }
        Ok(Ok(user))
    }

    async fn verify_page(&self, req: &HttpRequest) -> HttpResponse {
        let outcome = self.second_step(req).await.map(|step| {
            Reply::Page(
                StatusCode::OK,
                MfaPage::SecondStep {
                    step,
                    problem: None,
                },
            )
        });
        self.respond(req, outcome, None).await
    }

    async fn post_verify_totp(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let form: CodeForm = self.read_trusting(req, body)?;
            let (target, cookie) = self
                .verify_totp(req, &form.code, checked(&form.trust))
                .await?;
            Ok(Reply::Done(target, cookie))
        }
        .await;
        self.respond(req, outcome, Some(second_step_again)).await
    }

    /// A code form, or JSON whose `trust` may be a boolean.
    fn read_trusting(&self, req: &HttpRequest, body: &[u8]) -> Result<CodeForm, MfaError> {
        let mut form: CodeForm = match self.read_body::<CodeForm>(req, body) {
            Ok(form) => form,
            Err(MfaError::BadRequest(_)) if serde_json::from_slice::<TrustJson>(body).is_ok() => {
                #[derive(Deserialize)]
                struct Code {
                    #[serde(default)]
                    code: String,
                }
                let code: Code = serde_json::from_slice(body)
                    .map_err(|e| MfaError::BadRequest(e.to_string()))?;
                let trust: TrustJson = serde_json::from_slice(body)
                    .map_err(|e| MfaError::BadRequest(e.to_string()))?;
                CodeForm {
                    code: code.code,
                    trust: trust.trust.map(|t| t.to_string()),
                }
            }
            Err(error) => return Err(error),
        };
        form.code = form.code.trim().to_owned();
        Ok(form)
    }

    async fn post_verify_recovery(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let form: CodeForm = self.read_trusting(req, body)?;
            let target = self.verify_recovery_code(req, &form.code).await?;
            Ok(Reply::Done(target, None))
        }
        .await;
        self.respond(req, outcome, Some(second_step_again)).await
    }

    async fn options(&self, req: &HttpRequest, body: &[u8], kind: CeremonyKind) -> HttpResponse {
        let outcome = async {
            if !body.is_empty() {
                let _: serde_json::Value =
                    serde_json::from_slice(body).map_err(|e| MfaError::BadRequest(e.to_string()))?;
            }
            let (ceremony, options) = self.start_assertion(req, kind).await?;
            Ok(Reply::Json(json!({ "ceremony": ceremony, "publicKey": options.public_key, "mediation": options.mediation })))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn finish(&self, req: &HttpRequest, body: &[u8], kind: CeremonyKind) -> HttpResponse {
        let outcome = async {
            let finish: Finish<PublicKeyCredential> =
                serde_json::from_slice(body).map_err(|e| MfaError::BadRequest(e.to_string()))?;
            let (target, cookie) = self
                .finish_assertion(
                    req,
                    kind,
                    &finish.ceremony,
                    &finish.credential,
                    finish.trust,
                )
                .await?;
            Ok(Reply::Done(target, cookie))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_second_factor_options(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.options(req, body, CeremonyKind::SecondFactor).await
    }
    async fn post_second_factor_passkey(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.finish(req, body, CeremonyKind::SecondFactor).await
    }
    async fn post_sign_in_options(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.options(req, body, CeremonyKind::SignIn).await
    }
    async fn post_sign_in_passkey(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.finish(req, body, CeremonyKind::SignIn).await
    }
    async fn post_reauth_options(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.options(req, body, CeremonyKind::Reauthenticate).await
    }
    async fn post_reauth_passkey(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        self.finish(req, body, CeremonyKind::Reauthenticate).await
    }

    async fn security_page(&self, req: &HttpRequest) -> HttpResponse {
        let outcome = async {
            let user = self.current_user(req).await?;
            let overview = self.overview(&login_id(&user)).await?;
            Ok(Reply::Page(
                StatusCode::OK,
                MfaPage::Security {
                    overview,
                    problem: None,
                },
            ))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_totp_setup(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let _: Empty = self.read_body(req, body)?;
            let user = self.current_user(req).await?;
            let enrolment = self.start_totp(&user).await?;
            Ok(Reply::Page(
                StatusCode::OK,
                MfaPage::TotpEnrolment {
                    enrolment: Some(enrolment),
                    problem: None,
                },
            ))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_totp_enable(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let form: CodeForm = self.read_body(req, body)?;
            let user = self.current_user(req).await?;
            self.confirm_totp(&login_id(&user), &form.code).await?;
            Ok(Reply::Done(self.inner.config.security_page.clone(), None))
        }
        .await;
        self.respond(req, outcome, Some(totp_again)).await
    }

    async fn post_totp_disable(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let _: Empty = self.read_body(req, body)?;
            let user = match self.fresh_user(req).await? {
                Ok(user) => user,
                Err(res) => return Ok(Err(res)),
            };
            self.disable_totp(&login_id(&user)).await?;
            Ok(Ok(Reply::Done(
                self.inner.config.security_page.clone(),
                None,
            )))
        }
        .await;
        self.respond_or(req, outcome).await
    }

    async fn respond_or(
        &self,
        req: &HttpRequest,
        outcome: Result<Result<Reply, HttpResponse>, MfaError>,
    ) -> HttpResponse {
        match outcome {
            Ok(Err(res)) => res,
            Ok(Ok(reply)) => self.respond(req, Ok(reply), None).await,
            Err(error) => self.respond(req, Err(error), None).await,
        }
    }

    async fn post_recovery_generate(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let _: Empty = self.read_body(req, body)?;
            let user = match self.fresh_user(req).await? {
                Ok(user) => user,
                Err(res) => return Ok(Err(res)),
            };
            let codes = self.generate_recovery_codes(&login_id(&user)).await?;
            Ok(Ok(Reply::Page(
                StatusCode::OK,
                MfaPage::RecoveryCodes { codes },
            )))
        }
        .await;
        self.respond_or(req, outcome).await
    }

    async fn post_register_options(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let form: NameForm = self.read_body(req, body)?;
            let user = self.current_user(req).await?;
            let (ceremony, options) = self.start_passkey_registration(&user, &form.name).await?;
            let mut public_key = serde_json::to_value(&options.public_key)
                .map_err(|e| MfaError::Internal(e.to_string()))?;
            // A discoverable credential, so that "Sign in with a passkey" needs no name
            // (WebAuthn level 2's `residentKey`, which browsers follow over the older flag).
            if let Some(selection) = public_key
                .get_mut("authenticatorSelection")
                .and_then(|s| s.as_object_mut())
            {
                selection.insert("residentKey".into(), json!("required"));
            }
            Ok(Reply::Json(
                json!({ "ceremony": ceremony, "publicKey": public_key }),
            ))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_register_finish(&self, req: &HttpRequest, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let finish: Finish<RegisterPublicKeyCredential> =
                serde_json::from_slice(body).map_err(|e| MfaError::BadRequest(e.to_string()))?;
            let user = self.current_user(req).await?;
            let passkey = self
                .finish_passkey_registration(&login_id(&user), &finish.ceremony, &finish.credential)
                .await?;
            Ok(Reply::Json(json!({ "status": "ok", "passkey": passkey, "location": self.inner.config.security_page })))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_rename(&self, req: &HttpRequest, id: &str, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let form: NameForm = self.read_body(req, body)?;
            let user = self.current_user(req).await?;
            self.rename_passkey(&login_id(&user), id, &form.name)
                .await?;
            Ok(Reply::Done(self.inner.config.security_page.clone(), None))
        }
        .await;
        self.respond(req, outcome, None).await
    }

    async fn post_delete(&self, req: &HttpRequest, id: &str, body: &[u8]) -> HttpResponse {
        let outcome = async {
            let _: Empty = self.read_body(req, body)?;
            let user = match self.fresh_user(req).await? {
                Ok(user) => user,
                Err(res) => return Ok(Err(res)),
            };
            self.remove_passkey(&login_id(&user), id).await?;
            Ok(Ok(Reply::Done(
                self.inner.config.security_page.clone(),
                None,
            )))
        }
        .await;
        self.respond_or(req, outcome).await
    }
}

fn login_id<U: login_runtime::AuthUser>(user: &U) -> String {
    user.id().to_string()
}
