//! What the flows show: a [`Page`] (which page, with what), rendered to HTML by the app's
//! [`Pages`] (or [`DefaultPages`]), or to JSON by the crate itself for clients that prefer it.
//! The status of every answer is the flow's, whoever renders the body.

use std::future::Future;
use std::rc::Rc;

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::{Value, json};

use crate::mail::escape_html;

/// One thing wrong with what the visitor typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable code (`too_short`, `guessable`, `email_invalid`, `code_wrong`, …).
    pub code: &'static str,
    /// What to tell the visitor.
    pub message: String,
}

impl Problem {
    /// A problem with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
        }
    }
}

/// A page of a flow. Forms post the fields named in each variant's doc, plus the form token
/// as `csrf` ([`PageContext::form_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Page {
    /// "Forgot your password?": a form posting `email` to `{prefix}/reset`.
    ResetRequest {
        /// What was typed.
        email: String,
        /// What is wrong with it.
        problems: Vec<Problem>,
    },
    /// "Check your mail": the same page whether an account has the address or not.
    ResetMailSent,
    /// A form posting `token`, `password` and `confirm` to `{prefix}/reset/confirm`.
    ResetForm {
        /// The token from the link (a hidden field).
        token: String,
        /// What is wrong with the new password.
        problems: Vec<Problem>,
    },
    /// The password is changed; every other session ended. Links to the login page.
    PasswordChanged,
    /// A button posting `token` to `{prefix}/verify` (a `GET` never uses a token up).
    VerifyConfirm {
        /// The token from the link.
        token: String,
    },
    /// The address is confirmed.
    Verified,
    /// The address was confirmed already: nothing to do.
    AlreadyVerified,
    /// A new verification link was mailed.
    VerificationSent,
    /// A form posting `email` to `{prefix}/email` (a fresh login is needed).
    EmailChangeForm {
        /// The account's current address.
        current_email: String,
        /// What was typed.
        email: String,
        /// What is wrong with it.
        problems: Vec<Problem>,
    },
    /// A link went to the new address; the old one was told.
    EmailChangeSent {
        /// The address asked for.
        new_email: String,
    },
    /// A button posting `token` to `{prefix}/email/confirm`.
    EmailChangeConfirm {
        /// The token from the link.
        token: String,
        /// The new address.
        new_email: String,
    },
    /// The new address replaced the old one.
    EmailChanged {
        /// The new address.
        new_email: String,
    },
    /// A button posting `token` to `{prefix}/email/report`.
    ReportConfirm {
        /// The token from the link.
        token: String,
    },
    /// The reported change is cancelled.
    EmailChangeReported,
    /// "Email me a sign-in link": a form posting `email` (and `remember`) to
    /// `{prefix}/sign-in`.
    SignInRequest {
        /// What was typed.
        email: String,
        /// What is wrong with it.
        problems: Vec<Problem>,
    },
    /// "Check your mail", the same whether an account has the address or not, with a form
    /// posting `code` to `{prefix}/sign-in/code`.
    SignInMailSent {
        /// What is wrong with the code typed.
        problems: Vec<Problem>,
    },
    /// A button posting `token` to `{prefix}/sign-in/link`, in the browser that asked.
    SignInConfirm {
        /// The token from the link.
        token: String,
    },
    /// A refusal: what happened and what to do.
    Refused {
        /// The error's stable code ([`AccountError::code`](crate::AccountError::code)).
        code: &'static str,
        /// What to tell the visitor.
        message: String,
    },
}

impl Page {
    /// A stable name of the page (`reset_mail_sent`, `refused`, …): the `status` of its JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Page::ResetRequest { .. } => "reset_request",
            Page::ResetMailSent => "reset_mail_sent",
            Page::ResetForm { .. } => "reset_form",
            Page::PasswordChanged => "password_changed",
            Page::VerifyConfirm { .. } => "verify_confirm",
            Page::Verified => "verified",
            Page::AlreadyVerified => "already_verified",
            Page::VerificationSent => "verification_sent",
            Page::EmailChangeForm { .. } => "email_change_form",
            Page::EmailChangeSent { .. } => "email_change_sent",
            Page::EmailChangeConfirm { .. } => "email_change_confirm",
            Page::EmailChanged { .. } => "email_changed",
            Page::ReportConfirm { .. } => "report_confirm",
            Page::EmailChangeReported => "email_change_reported",
            Page::SignInRequest { .. } => "sign_in_request",
            Page::SignInMailSent { .. } => "sign_in_mail_sent",
            Page::SignInConfirm { .. } => "sign_in_confirm",
            Page::Refused { .. } => "refused",
        }
    }

    /// The page's title.
    pub fn title(&self) -> &'static str {
        match self {
            Page::ResetRequest { .. } => "Forgot your password?",
            Page::ResetMailSent | Page::VerificationSent | Page::EmailChangeSent { .. } => {
                "Check your mail"
            }
            Page::SignInMailSent { .. } => "Check your mail",
            Page::ResetForm { .. } => "Choose a new password",
            Page::PasswordChanged => "Password changed",
            Page::VerifyConfirm { .. } => "Confirm your email address",
            Page::Verified | Page::AlreadyVerified => "Email address confirmed",
            Page::EmailChangeForm { .. } => "Change your email address",
            Page::EmailChangeConfirm { .. } => "Confirm your new email address",
            Page::EmailChanged { .. } => "Email address changed",
            Page::ReportConfirm { .. } => "Report a change of email address",
            Page::EmailChangeReported => "Change cancelled",
            Page::SignInRequest { .. } => "Email me a sign-in link",
            Page::SignInConfirm { .. } => "Sign in",
            Page::Refused { code, .. } if *code == "other_browser" => {
                "Open the link where you asked"
            }
            Page::Refused { .. } => "That did not work",
        }
    }

    /// The page's explanation, one paragraph.
    pub fn message(&self) -> String {
        match self {
            Page::ResetRequest { .. } => "Type the email address of your account: we will mail you a link to choose a new password.".into(),
            Page::ResetMailSent => "If an account has this address, we sent it a link to choose a new password. It works for a limited time and only once. Nothing arrived? Check your spam folder, or ask again in a few minutes.".into(),
            Page::ResetForm { .. } => "Choose a new password for your account: a long passphrase is best. Every other session of yours will be logged out.".into(),
            Page::PasswordChanged => "Your password is changed. Every other session and device of yours has been logged out. Log in with the new password.".into(),
            Page::VerifyConfirm { .. } => "Press the button to confirm that this address is yours.".into(),
            Page::Verified => "Thank you: your email address is confirmed.".into(),
            Page::AlreadyVerified => "Your email address was confirmed already: there is nothing more to do.".into(),
            Page::VerificationSent => "We sent a new confirmation link to your email address.".into(),
            Page::EmailChangeForm { current_email, .. } => format!("Your address is {current_email}. Type the new one: we will mail it a link to confirm, and tell the old one."),
            Page::EmailChangeSent { new_email } => format!("We sent a confirmation link to {new_email}. Your address changes once you open it. Your current address was told about the change."),
            Page::EmailChangeConfirm { new_email, .. } => format!("Press the button to make {new_email} your account's address."),
            Page::EmailChanged { new_email } => format!("Your account's address is now {new_email}."),
            Page::ReportConfirm { .. } => "Press the button to cancel the change of address that you did not ask for. Then change your password: someone may know it.".into(),
            Page::EmailChangeReported => "The change of address is cancelled. Please change your password now: whoever asked for the change could log in to your account.".into(),
            Page::SignInRequest { .. } => "Type the email address of your account: we will mail you a link and a code to sign in without your password, in this browser.".into(),
            Page::SignInMailSent { .. } => "If an account has this address, we sent it a sign-in link and a code. Open the link in this browser, or type the code here.".into(),
            Page::SignInConfirm { .. } => "Press the button to sign in.".into(),
            Page::Refused { message, .. } => message.clone(),
        }
    }

    /// What is wrong with what was typed, if the page shows a form again.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Page::ResetRequest { problems, .. }
            | Page::ResetForm { problems, .. }
            | Page::EmailChangeForm { problems, .. }
            | Page::SignInRequest { problems, .. }
            | Page::SignInMailSent { problems } => problems,
            _ => &[],
        }
    }

    /// The JSON answer for clients that prefer it: `{"status": code, …}`, or
    /// `{"error": code, "message": …, "problems": […]}` for a refusal or a form with problems.
    /// Tokens are never echoed.
    pub fn json(&self) -> Value {
        if let Page::Refused { code, message } = self {
            return json!({ "error": code, "message": message });
        }
        if !self.problems().is_empty() {
            return json!({
                "error": "invalid",
                "page": self.code(),
                "message": self.problems().first().map(|p| p.message.clone()),
                "problems": self.problems(),
            });
        }
        let mut body = json!({ "status": self.code(), "message": self.message() });
        let new_email = match self {
            Page::EmailChangeSent { new_email }
            | Page::EmailChangeConfirm { new_email, .. }
            | Page::EmailChanged { new_email } => Some(new_email),
            _ => None,
        };
        if let (Some(email), Some(map)) = (new_email, body.as_object_mut()) {
            map.insert("new_email".into(), Value::from(email.clone()));
        }
        body
    }
}

/// What a renderer needs besides the page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageContext {
    /// The form token every form posts as `csrf`.
    pub form_token: String,
    /// The routes' prefix (`/account`): forms post to `{prefix}/reset` and so on.
    pub prefix: String,
    /// The app's login page.
    pub login_page: String,
    /// The site's name.
    pub site_name: String,
}

/// Renders the flows' pages in the app's own layout. The flow decides the status (the same
/// for an account that exists and one that does not); the renderer only makes the HTML.
pub trait Pages: 'static {
    /// The HTML of `page`.
    fn render(
        &self,
        req: &HttpRequest,
        page: &Page,
        context: &PageContext,
    ) -> impl Future<Output = Result<String, actix_web::Error>>;
}

/// [`Pages`] boxed, so [`Account`](crate::Account) can hold any renderer.
pub(crate) trait DynPages {
    fn render<'a>(
        &'a self,
        req: &'a HttpRequest,
        page: &'a Page,
        context: &'a PageContext,
    ) -> LocalBoxFuture<'a, Result<String, actix_web::Error>>;
}

impl<P: Pages> DynPages for P {
    fn render<'a>(
        &'a self,
        req: &'a HttpRequest,
        page: &'a Page,
        context: &'a PageContext,
    ) -> LocalBoxFuture<'a, Result<String, actix_web::Error>> {
        Box::pin(Pages::render(self, req, page, context))
    }
}

pub(crate) type SharedPages = Rc<dyn DynPages>;

/// Plain pages of their own (no layout): enough to try the flows and for tests. An app renders
/// its own with [`Account::pages`](crate::Account::pages).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPages;

impl Pages for DefaultPages {
    async fn render(
        &self,
        _req: &HttpRequest,
        page: &Page,
        context: &PageContext,
    ) -> Result<String, actix_web::Error> {
        Ok(default_html(page, context))
    }
}

/// A field of a page's form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormField {
    /// Its label.
    pub label: &'static str,
    /// The name it posts as.
    pub name: &'static str,
    /// The input's type: `email`, `password`, `text` or `checkbox` (which posts `on`).
    pub kind: &'static str,
    /// What it holds already.
    pub value: String,
    /// Its `autocomplete` hint (`email`, `new-password`, `one-time-code`, …).
    pub autocomplete: &'static str,
}

/// The form a page shows: where it posts, its hidden and visible fields, its button. Add the
/// form token as a hidden `csrf` field ([`PageContext::form_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageForm {
    /// Where it posts (`{prefix}/reset`, …).
    pub action: String,
    /// Hidden fields: name and value (the token of a link).
    pub hidden: Vec<(&'static str, String)>,
    /// The fields the visitor fills in.
    pub fields: Vec<FormField>,
    /// The button's words.
    pub button: &'static str,
}

impl PageForm {
    fn html(&self, form_token: &str) -> String {
        let mut html = format!(
            "<form method=\"post\" action=\"{}\">\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n",
            escape_html(&self.action),
            escape_html(form_token)
        );
        for (name, value) in &self.hidden {
            html.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                escape_html(value)
            ));
        }
        for field in &self.fields {
            if field.kind == "checkbox" {
                html.push_str(&format!(
                    "<label><input type=\"checkbox\" name=\"{}\" value=\"on\"> {}</label>\n",
                    field.name,
                    escape_html(field.label)
                ));
            } else {
                html.push_str(&format!(
                    "<label>{} <input name=\"{}\" type=\"{}\" value=\"{}\" autocomplete=\"{}\" required></label>\n",
                    escape_html(field.label),
                    field.name,
                    field.kind,
                    escape_html(&field.value),
                    field.autocomplete
                ));
            }
        }
        html.push_str(&format!(
            "<button>{}</button>\n</form>\n",
            escape_html(self.button)
        ));
        html
    }
}

fn field(
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    value: &str,
    autocomplete: &'static str,
) -> FormField {
    FormField {
        label,
        name,
        kind,
        value: value.to_owned(),
        autocomplete,
    }
}

impl Page {
    /// The form this page shows, if any, posting under `prefix`.
    pub fn form(&self, prefix: &str) -> Option<PageForm> {
        let form = |route: &str, hidden: Vec<(&'static str, String)>, fields, button| PageForm {
            action: format!("{prefix}{route}"),
            hidden,
            fields,
            button,
        };
        let token = |token: &String| vec![("token", token.clone())];
        Some(match self {
            Page::ResetRequest { email, .. } => form(
                "/reset",
                vec![],
                vec![field("Email address", "email", "email", email, "email")],
                "Email me a link",
            ),
            Page::ResetForm { token: t, .. } => form(
                "/reset/confirm",
                token(t),
                vec![
                    field("New password", "password", "password", "", "new-password"),
                    field(
                        "Repeat the new password",
                        "confirm",
                        "password",
                        "",
                        "new-password",
                    ),
                ],
                "Change my password",
            ),
            Page::VerifyConfirm { token: t } => {
                form("/verify", token(t), vec![], "Confirm my address")
            }
            Page::EmailChangeForm { email, .. } => form(
                "/email",
                vec![],
                vec![field("New email address", "email", "email", email, "email")],
                "Change my address",
            ),
            Page::EmailChangeConfirm { token: t, .. } => {
                form("/email/confirm", token(t), vec![], "Confirm my new address")
            }
            Page::ReportConfirm { token: t } => form(
                "/email/report",
                token(t),
                vec![],
                "This was not me: cancel the change",
            ),
            Page::SignInRequest { email, .. } => form(
                "/sign-in",
                vec![],
                vec![
                    field("Email address", "email", "email", email, "email"),
                    field("Remember me", "remember", "checkbox", "", "off"),
                ],
                "Email me a sign-in link",
            ),
            Page::SignInMailSent { .. } => form(
                "/sign-in/code",
                vec![],
                vec![field(
                    "Code from the mail",
                    "code",
                    "text",
                    "",
                    "one-time-code",
                )],
                "Sign in",
            ),
            Page::SignInConfirm { token: t } => form("/sign-in/link", token(t), vec![], "Sign in"),
            _ => return None,
        })
    }

    /// Whether the page should link to the login page (after a reset, on a refusal).
    pub fn links_to_login(&self) -> bool {
        matches!(self, Page::PasswordChanged | Page::Refused { .. })
    }
}

fn default_html(page: &Page, context: &PageContext) -> String {
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape_html(page.title()),
        escape_html(&page.message())
    );
    for problem in page.problems() {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            escape_html(&problem.message)
        ));
    }
    if let Some(form) = page.form(&context.prefix) {
        body.push_str(&form.html(&context.form_token));
    }
    if page.links_to_login() {
        body.push_str(&format!(
            "<p><a href=\"{}\">Log in</a></p>\n",
            escape_html(&context.login_page)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · {}</title></head>\n<body>\n{body}</body></html>\n",
        escape_html(page.title()),
        escape_html(&context.site_name)
    )
}
