//! The HTML pages, rendered by the app ([`MfaPages`]) or by [`DefaultPages`].

use std::future::Future;

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use crate::mfa::{SecondStep, SecurityOverview, TotpEnrolment};

/// A page of the second factors.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MfaPage {
    /// The second step of a login: a code, a recovery code, or a passkey.
    SecondStep {
        /// What the account can give.
        step: SecondStep,
        /// What was wrong with the last try.
        problem: Option<String>,
    },
    /// The security page: the user's factors.
    Security {
        /// The factors.
        overview: SecurityOverview,
        /// What was wrong with the last change.
        problem: Option<String>,
    },
    /// TOTP enrolment: the QR code, the secret, the field for the first code.
    TotpEnrolment {
        /// The QR code and secret.
        enrolment: Option<TotpEnrolment>,
        /// What was wrong with the code.
        problem: Option<String>,
    },
    /// A new set of recovery codes, shown once.
    RecoveryCodes {
        /// The codes.
        codes: Vec<String>,
    },
    /// A refusal.
    Refused {
        /// Why.
        message: String,
    },
}

impl MfaPage {
    /// The page's title.
    pub fn title(&self) -> &'static str {
        match self {
            MfaPage::SecondStep { .. } => "Second step",
            MfaPage::Security { .. } => "Security",
            MfaPage::TotpEnrolment { .. } => "Set up an authenticator app",
            MfaPage::RecoveryCodes { .. } => "Recovery codes",
            MfaPage::Refused { .. } => "Not accepted",
        }
    }
}

/// What a page needs beyond its content: the form token and the routes' prefix.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MfaPageContext {
    /// The token every form must carry as `csrf`.
    pub form_token: String,
    /// The routes' prefix (`/mfa`).
    pub prefix: String,
    /// The login page.
    pub login_page: String,
}

/// Renders the pages in the app's layout.
pub trait MfaPages: 'static {
    /// The HTML of `page`.
    fn render(
        &self,
        req: &HttpRequest,
        page: &MfaPage,
        context: &MfaPageContext,
    ) -> impl Future<Output = Result<String, actix_web::Error>>;
}

pub(crate) trait DynPages {
    fn render<'a>(
        &'a self,
        req: &'a HttpRequest,
        page: &'a MfaPage,
        context: &'a MfaPageContext,
    ) -> LocalBoxFuture<'a, Result<String, actix_web::Error>>;
}

impl<P: MfaPages> DynPages for P {
    fn render<'a>(
        &'a self,
        req: &'a HttpRequest,
        page: &'a MfaPage,
        context: &'a MfaPageContext,
    ) -> LocalBoxFuture<'a, Result<String, actix_web::Error>> {
        Box::pin(MfaPages::render(self, req, page, context))
    }
}

/// Plain, accessible pages with no layout: for tests and a start.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPages;

/// `text` escaped for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn problem_html(problem: &Option<String>) -> String {
    problem
        .as_ref()
        .map(|p| format!("<p id=\"problem\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default()
}

fn code_form(action: &str, label: &str, token: &str, problem: bool, trust: bool) -> String {
    let invalid = if problem {
        " aria-invalid=\"true\" aria-describedby=\"problem\""
    } else {
        ""
    };
    let trust = if trust {
        "<label><input type=\"checkbox\" name=\"trust\" value=\"true\"> Don't ask again on this device</label>"
    } else {
        ""
    };
    format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\"><label for=\"code-{id}\">{label}</label> <input id=\"code-{id}\" name=\"code\" autocomplete=\"one-time-code\" required{invalid}> {trust}<button>Continue</button></form>",
        id = label.len(),
        token = escape(token),
    )
}

impl MfaPages for DefaultPages {
    async fn render(
        &self,
        _req: &HttpRequest,
        page: &MfaPage,
        context: &MfaPageContext,
    ) -> Result<String, actix_web::Error> {
        let p = &context.prefix;
        let token = &context.form_token;
        let body = match page {
            MfaPage::SecondStep { step, problem } => {
                let mut html = problem_html(problem);
                if step.totp {
                    html += &code_form(
                        &format!("{p}/verify/totp"),
                        "Code from your authenticator app",
                        token,
                        problem.is_some(),
                        true,
                    );
                }
                if step.recovery_codes > 0 {
                    html += &code_form(
                        &format!("{p}/verify/recovery"),
                        "A recovery code",
                        token,
                        false,
                        false,
                    );
                }
                if step.passkey {
                    html += "<button type=\"button\" data-mfa-passkey=\"second-factor\">Use a passkey</button>";
                }
                html
            }
            MfaPage::Security { overview, problem } => {
                let mut html = problem_html(problem);
                html += &format!(
                    "<p>Authenticator app: {}</p><p>Recovery codes left: {}</p><ul>",
                    if overview.totp { "on" } else { "off" },
                    overview.recovery_codes
                );
                for passkey in &overview.passkeys {
                    html += &format!("<li>{}</li>", escape(&passkey.name));
                }
                html + "</ul>"
            }
            MfaPage::TotpEnrolment { enrolment, problem } => {
                let mut html = problem_html(problem);
                if let Some(e) = enrolment {
                    html += &format!(
                        "<img src=\"{}\" alt=\"QR code to scan with an authenticator app\"><p>Or type the secret: <code id=\"totp-secret\">{}</code></p>",
                        escape(&e.qr_data_url),
                        escape(&e.secret)
                    );
                }
                html + &code_form(
                    &format!("{p}/totp/enable"),
                    "Code from your authenticator app",
                    token,
                    problem.is_some(),
                    false,
                )
            }
            MfaPage::RecoveryCodes { codes } => {
                let items: String = codes
                    .iter()
                    .map(|c| format!("<li><code>{}</code></li>", escape(c)))
                    .collect();
                format!(
                    "<p>Keep these codes somewhere safe: each works once, and they are shown only now.</p><ul id=\"recovery-codes\">{items}</ul>"
                )
            }
            MfaPage::Refused { message } => {
                format!("<p role=\"alert\">{}</p>", escape(message))
            }
        };
        Ok(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><main><h1>{}</h1>{body}</main></body></html>",
            page.title(),
            page.title()
        ))
    }
}
