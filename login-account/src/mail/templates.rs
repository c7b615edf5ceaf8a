//! The words of every mail: [`MailKind`] says which mail and what goes in it, a
//! [`MailTemplates`] turns it into a subject, a text body and an HTML body. [`DefaultTemplates`]
//! are plain and in English; an app with its own look implements the trait with its template
//! engine (the demo uses askama).

use std::time::Duration;

use super::{MailError, escape_html};

/// Which mail a flow sends, with what it needs. Links are absolute, built on the configured
/// public URL (never on the request's `Host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailKind<'a> {
    /// Confirm the address of a new account.
    Verify {
        /// The confirmation link.
        link: &'a str,
        /// How long it works.
        valid_for: Duration,
    },
    /// Set a new password.
    Reset {
        /// The reset link.
        link: &'a str,
        /// How long it works.
        valid_for: Duration,
    },
    /// Someone asked for a password reset for this address, which has no account here.
    ResetUnknown,
    /// The account's password was changed (by a reset).
    PasswordChanged,
    /// Confirm the new address of a change of email (to the new address).
    ConfirmNewEmail {
        /// The confirmation link.
        link: &'a str,
        /// The address being confirmed.
        new_email: &'a str,
        /// How long it works.
        valid_for: Duration,
    },
    /// Someone asked to move an account to this address, which already has an account here
    /// (to the new address, instead of a confirmation).
    NewEmailTaken,
    /// A change of this account's address was asked for (to the old address), with a link to
    /// report it.
    EmailChangeRequested {
        /// The address asked for.
        new_email: &'a str,
        /// Where to report that it was not the account's owner.
        report_link: &'a str,
    },
    /// The account's address was changed (to the old address).
    EmailChanged {
        /// The new address.
        new_email: &'a str,
    },
    /// Sign in: a link and a code, for the browser that asked.
    SignIn {
        /// The sign-in link.
        link: &'a str,
        /// The code, to type into the browser that asked instead.
        code: &'a str,
        /// How long they work.
        valid_for: Duration,
    },
    /// Someone asked for a sign-in link for this address, which has no account here.
    SignInUnknown,
}

impl MailKind<'_> {
    /// A stable, short name (`reset`, `sign_in_unknown`, …), for template file names.
    pub fn name(&self) -> &'static str {
        match self {
            MailKind::Verify { .. } => "verify",
            MailKind::Reset { .. } => "reset",
            MailKind::ResetUnknown => "reset_unknown",
            MailKind::PasswordChanged => "password_changed",
            MailKind::ConfirmNewEmail { .. } => "confirm_new_email",
            MailKind::NewEmailTaken => "new_email_taken",
            MailKind::EmailChangeRequested { .. } => "email_change_requested",
            MailKind::EmailChanged { .. } => "email_changed",
            MailKind::SignIn { .. } => "sign_in",
            MailKind::SignInUnknown => "sign_in_unknown",
        }
    }
}

/// A rendered mail.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailContent {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl std::fmt::Debug for MailContent {
    // The bodies hold links and codes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailContent")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl MailContent {
    /// A mail of `subject`, `text` and `html`.
    pub fn new(
        subject: impl Into<String>,
        text: impl Into<String>,
        html: impl Into<String>,
    ) -> Self {
        MailContent {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }
}

/// Turns a [`MailKind`] into a mail. Implement it with the app's template engine; an error
/// makes the flow answer 503 like a mail server that is down.
pub trait MailTemplates: 'static {
    /// The subject, text and HTML of `mail`.
    fn render(&self, mail: &MailKind<'_>) -> Result<MailContent, MailError>;
}

/// Plain English mails, signed with the site's name.
#[derive(Debug, Clone)]
pub struct DefaultTemplates {
    site: String,
}

impl DefaultTemplates {
    /// Mails that name the site `site` ("Example").
    pub fn new(site: &str) -> Self {
        DefaultTemplates {
            site: site.to_owned(),
        }
    }
}

/// "1 hour", "3 days", "15 minutes".
pub(crate) fn words_for(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = if secs >= 86_400 && secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else {
        (secs.div_ceil(60).max(1), "minute")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// A paragraph with an optional link, in both forms.
struct Body {
    text: String,
    html: String,
}

impl Body {
    fn new() -> Body {
        Body {
            text: String::new(),
            html: String::new(),
        }
    }

    fn para(mut self, words: &str) -> Body {
        self.text.push_str(words);
        self.text.push_str("\n\n");
        self.html.push_str("<p>");
        self.html.push_str(&escape_html(words));
        self.html.push_str("</p>\n");
        self
    }

    fn link(mut self, label: &str, url: &str) -> Body {
        self.text.push_str(url);
        self.text.push_str("\n\n");
        self.html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            escape_html(url),
            escape_html(label)
        ));
        self
    }

    fn code(mut self, code: &str) -> Body {
        self.text.push_str(&format!("    {code}\n\n"));
        self.html.push_str(&format!(
            "<p style=\"font-size:1.4em;letter-spacing:.15em\"><strong>{}</strong></p>\n",
            escape_html(code)
        ));
        self
    }

    fn done(self, site: &str, subject: String) -> MailContent {
        let text = format!("{}-- {site}\n", self.text);
        let html = format!(
            "<!DOCTYPE html>\n<html><body>\n{}<p>— {}</p>\n</body></html>\n",
            self.html,
            escape_html(site)
        );
        MailContent::new(subject, text, html)
    }
}

impl MailTemplates for DefaultTemplates {
    fn render(&self, mail: &MailKind<'_>) -> Result<MailContent, MailError> {
        let site = &self.site;
        let ignore = "If you did not ask for this, you can ignore this mail.";
        let (subject, body) = match *mail {
            MailKind::Verify { link, valid_for } => (
                format!("Confirm your email address for {site}"),
                Body::new()
                    .para("Please confirm that this is your email address:")
                    .link("Confirm my address", link)
                    .para(&format!("The link works for {}.", words_for(valid_for)))
                    .para(ignore),
            ),
            MailKind::Reset { link, valid_for } => (
                format!("Reset your password for {site}"),
                Body::new()
                    .para("Someone (we hope you) asked to reset the password of your account. Choose a new one here:")
                    .link("Choose a new password", link)
                    .para(&format!("The link works for {} and only once.", words_for(valid_for)))
                    .para(ignore),
            ),
            MailKind::ResetUnknown => (
                format!("Password reset requested for {site}"),
                Body::new()
                    .para("Someone asked to reset the password of an account with this email address, but there is no account with this address.")
                    .para(ignore),
            ),
            MailKind::PasswordChanged => (
                format!("Your password for {site} was changed"),
                Body::new()
                    .para("The password of your account was just changed, and every other session of yours was logged out.")
                    .para("If this was not you, reset your password at once and contact us."),
            ),
            MailKind::ConfirmNewEmail {
                link,
                new_email,
                valid_for,
            } => (
                format!("Confirm your new email address for {site}"),
                Body::new()
                    .para(&format!("Please confirm that {new_email} is to be the address of your account:"))
                    .link("Confirm my new address", link)
                    .para(&format!("The link works for {}.", words_for(valid_for)))
                    .para(ignore),
            ),
            MailKind::NewEmailTaken => (
                format!("Change of email address requested for {site}"),
                Body::new()
                    .para("Someone asked to move their account to this email address, but this address already has an account here, so nothing was changed.")
                    .para(ignore),
            ),
            MailKind::EmailChangeRequested {
                new_email,
                report_link,
            } => (
                format!("Your email address for {site} is about to change"),
                Body::new()
                    .para(&format!("Someone logged in to your account asked to change its address to {new_email}. It changes once the new address is confirmed."))
                    .para("If this was not you, report it here: the change is cancelled.")
                    .link("This was not me", report_link),
            ),
            MailKind::EmailChanged { new_email } => (
                format!("Your email address for {site} was changed"),
                Body::new()
                    .para(&format!("The address of your account was changed to {new_email}. Mail about your account now goes there."))
                    .para("If this was not you, contact us at once."),
            ),
            MailKind::SignIn {
                link,
                code,
                valid_for,
            } => (
                format!("Sign in to {site}"),
                Body::new()
                    .para("Open this link in the browser where you asked to sign in:")
                    .link("Sign in", link)
                    .para("Or type this code there:")
                    .code(code)
                    .para(&format!("They work for {} and only once.", words_for(valid_for)))
                    .para(ignore),
            ),
            MailKind::SignInUnknown => (
                format!("Sign-in requested for {site}"),
                Body::new()
                    .para("Someone asked for a sign-in link for this email address, but there is no account with this address.")
                    .para(ignore),
            ),
        };
        Ok(body.done(site, subject))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn durations_are_in_words() {
        assert_eq!(words_for(Duration::from_secs(3600)), "1 hour");
        assert_eq!(words_for(Duration::from_secs(3 * 86_400)), "3 days");
        assert_eq!(words_for(Duration::from_secs(15 * 60)), "15 minutes");
        assert_eq!(words_for(Duration::from_secs(90)), "2 minutes");
    }

    #[test]
    fn links_are_in_both_bodies_and_escaped_in_html() {
        let mail = DefaultTemplates::new("Ex <ample>")
            .render(&MailKind::Reset {
                link: "https://app.example/account/reset/confirm?token=ab&x=\"",
                valid_for: Duration::from_secs(3600),
            })
            .unwrap();
        assert!(
            mail.text
                .contains("https://app.example/account/reset/confirm?token=ab&x=\"")
        );
        assert!(
            mail.html.contains(
                "href=\"https://app.example/account/reset/confirm?token=ab&amp;x=&quot;\""
            )
        );
        assert!(mail.html.contains("Ex &lt;ample&gt;"));
        assert!(mail.subject.contains("Reset your password"));
    }
}
