//! Second factors (login-mfa) in the demo: the Security page (an authenticator app with its
//! QR code, recovery codes, passkeys), the login's second step, "Sign in with a passkey", and
//! trusted devices (entries of the demo's device registry, listed on the devices page).
//!
//! Passkeys need a domain: with `DEMO_PUBLIC_URL` on an IP address (the default
//! `http://127.0.0.1:8080`), the relying party is `localhost` and the demo is used at
//! `http://localhost:PORT`.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, web};
use askama::Template;
use login_account::{Mail, MailContent, Mailer};
use login_mfa::{
    ConfigError, Mfa, MfaConfig, MfaEvent, MfaPage, MfaPageContext, MfaPages, MfaUser, PasskeyInfo,
    SecondStep, TotpEnrolment,
};

use super::audit::{self, AuditEvent};
use super::auth::Users;
use super::csrf;
use super::db::{DbMfa, User};
use super::pages::{Ctx, Layout};
use super::{Demo, DeviceStore};

/// The demo's second factors.
pub type DemoMfa = Mfa<Users, DbMfa>;

impl MfaUser for User {
    fn account_name(&self) -> String {
        self.name.clone()
    }
}

/// The relying party and origin for `public_url`: its host, or `localhost` for an IP
/// address (WebAuthn refuses IP addresses).
pub fn config(public_url: &str, secure_cookies: bool) -> Result<MfaConfig, ConfigError> {
    let rest = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest);
    let scheme = public_url.split("://").next().unwrap_or("http");
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => (host, Some(port)),
        _ => (authority, None),
    };
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    let rp_id = if is_ip { "localhost" } else { host };
    let origin = match port {
        Some(port) => format!("{scheme}://{rp_id}:{port}"),
        None => format!("{scheme}://{rp_id}"),
    };
    MfaConfig::new(rp_id, &[&origin])?
        .site_name("login-runtime demo")
        .secure_cookies(secure_cookies)
        .after_login("/profile")
}

/// The second factors' routes (under `/mfa`), and the [`DemoMfa`] in the app data for the
/// login form, built for one worker from what `demo` shares.
pub fn routes(demo: &Demo) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
    let mfa = Mfa::new(
        demo.mfa.clone(),
        Users {
            db: demo.db.clone(),
        },
        DbMfa(demo.db.clone()),
        &demo.keys.login,
    )
    .map(|mfa| {
        let mfa = mfa
            .throttle_store(demo.throttle.counters())
            .pages(DemoMfaPages)
            .event_sink(MfaAudit)
            .on_event(tell_of_recovery_code(demo))
            .form_token(
                |req| csrf::token(&req.get_session()),
                |req, sent| csrf::token_ok(&req.get_session(), sent),
            );
        match &demo.devices {
            DeviceStore::Memory(devices) => mfa.device_registry(devices.clone()),
            DeviceStore::Redis(devices) => mfa.device_registry(devices.clone()),
            DeviceStore::Postgres(devices) => mfa.device_registry(devices.clone()),
            DeviceStore::Sqlite(devices) => mfa.device_registry(devices.clone()),
        }
    });
    move |cfg| match mfa {
        Ok(mfa) => {
            mfa.configure()(cfg);
            cfg.app_data(web::Data::new(mfa));
        }
        Err(error) => tracing::error!(%error, "the second factors could not start"),
    }
}

/// A used recovery code is told to the account by mail (the demo's mailer, login-account's),
/// sent after the response: the second step does not wait for the mail server.
fn tell_of_recovery_code(demo: &Demo) -> impl Fn(&MfaEvent) + 'static {
    let db = demo.db.clone();
    let mailer = demo.account.mailer.clone();
    move |event| {
        let MfaEvent::RecoveryCodeUsed { user_id, remaining } = event else {
            return;
        };
        let (Ok(id), remaining) = (user_id.parse::<i64>(), *remaining) else {
            return;
        };
        let (db, mailer) = (db.clone(), mailer.clone());
        actix_web::rt::spawn(async move {
            let Ok(Some(user)) = db.user(id).await else {
                return;
            };
            let Some(email) = user.email.filter(|email| !email.is_empty()) else {
                return;
            };
            let text = format!(
                "Hello {},\n\nA recovery code of your account was used to sign in. {remaining} \
                 unused codes are left.\n\nIf this was not you, change your password and make \
                 new recovery codes on the Security page.\n",
                user.display_name
            );
            let html = format!(
                "<p>{}</p>",
                login_mfa::escape(&text).replace("\n\n", "</p><p>")
            );
            let content = MailContent::new("A recovery code was used", text, html);
            if let Err(error) = mailer.send(&Mail::new(&email, content)).await {
                tracing::warn!(%error, "the recovery-code mail could not be sent");
            }
        });
    }
}

/// The steps in the audit trail, never with a code, a secret or a credential.
fn audit_event(event: &MfaEvent) -> Option<audit::Entry> {
    let id = |user_id: &str| user_id.parse().ok();
    match event {
        MfaEvent::SecondStepStarted { user_id } => {
            return audit::entry(AuditEvent::SecondFactor, id(user_id), "asked");
        }
        MfaEvent::SecondStepPassed { user_id, factor } => {
            return audit::entry(AuditEvent::Login, id(user_id), factor.as_str());
        }
        MfaEvent::TrustedDeviceUsed { user_id } => {
            return audit::entry(AuditEvent::Login, id(user_id), "trusted device");
        }
        MfaEvent::PasskeySignIn { user_id } => {
            return audit::entry(AuditEvent::Login, id(user_id), "passkey");
        }
        MfaEvent::Refused {
            user_id,
            reason,
            factor,
        } => {
            return audit::entry(
                AuditEvent::SecondFactorRefused,
                user_id.as_deref().and_then(id),
                &format!("{}: {reason}", factor.as_str()),
            );
        }
        MfaEvent::Throttled { user_id } => {
            return audit::entry(AuditEvent::Throttled, id(user_id), "second factor");
        }
        MfaEvent::RecoveryCodeUsed { user_id, remaining } => {
            return audit::entry(
                AuditEvent::SecondFactor,
                id(user_id),
                &format!("recovery code used; {remaining} left"),
            );
        }
        MfaEvent::TotpEnabled { user_id } => {
            return audit::entry(
                AuditEvent::SecondFactor,
                id(user_id),
                "authenticator app on",
            );
        }
        MfaEvent::TotpDisabled { user_id } => {
            return audit::entry(
                AuditEvent::SecondFactor,
                id(user_id),
                "authenticator app off",
            );
        }
        MfaEvent::RecoveryCodesGenerated { user_id, .. } => {
            return audit::entry(AuditEvent::SecondFactor, id(user_id), "new recovery codes");
        }
        MfaEvent::PasskeyAdded { user_id, .. } => {
            return audit::entry(AuditEvent::SecondFactor, id(user_id), "passkey added");
        }
        MfaEvent::PasskeyRemoved { user_id } => {
            return audit::entry(AuditEvent::SecondFactor, id(user_id), "passkey removed");
        }
        MfaEvent::DeviceTrusted { user_id } => {
            return audit::entry(AuditEvent::SecondFactor, id(user_id), "device trusted");
        }
        _ => {}
    }
    None
}

/// The sink that writes the second factors' entries in the audit trail, awaited by login-mfa
/// before its answer goes out.
#[derive(Debug, Clone, Copy)]
pub struct MfaAudit;

impl login_mfa::MfaEventSink for MfaAudit {
    async fn deliver(
        &self,
        event: &MfaEvent,
        req: &actix_web::HttpRequest,
    ) -> actix_web::Result<()> {
        audit::write(req, audit_event(event)).await
    }
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaView {
    layout: Layout,
    csrf: String,
    problem: Option<String>,
    second_step: Option<SecondStep>,
    security: bool,
    totp: bool,
    recovery_left: usize,
    passkeys: Vec<PasskeyInfo>,
    enrolment: Option<TotpEnrolment>,
    enrolling: bool,
    codes: Vec<String>,
    refused: Option<String>,
}

/// The second factors' pages in the demo's layout.
#[derive(Debug, Clone, Copy)]
pub struct DemoMfaPages;

impl MfaPages for DemoMfaPages {
    async fn render(
        &self,
        req: &HttpRequest,
        page: &MfaPage,
        context: &MfaPageContext,
    ) -> Result<String, actix_web::Error> {
        let mut ctx = Ctx::extract(req).await?;
        let mut view = MfaView {
            layout: ctx.layout_with_flashes(page.title()),
            csrf: context.form_token.clone(),
            problem: None,
            second_step: None,
            security: false,
            totp: false,
            recovery_left: 0,
            passkeys: Vec::new(),
            enrolment: None,
            enrolling: false,
            codes: Vec::new(),
            refused: None,
        };
        match page {
            MfaPage::SecondStep { step, problem } => {
                view.second_step = Some(step.clone());
                view.problem = problem.clone();
            }
            MfaPage::Security { overview, problem } => {
                view.security = true;
                view.totp = overview.totp;
                view.recovery_left = overview.recovery_codes;
                view.passkeys = overview.passkeys.clone();
                view.problem = problem.clone();
            }
            MfaPage::TotpEnrolment { enrolment, problem } => {
                view.enrolling = true;
                view.enrolment = enrolment.clone();
                view.problem = problem.clone();
            }
            MfaPage::RecoveryCodes { codes } => view.codes = codes.clone(),
            MfaPage::Refused { message } => view.refused = Some(message.clone()),
            _ => view.refused = Some("Not available.".to_owned()),
        }
        view.render()
            .map_err(|error| actix_web::error::ErrorInternalServerError(error.to_string()))
    }
}
