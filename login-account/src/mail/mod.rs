//! Mail: what a flow sends ([`Mail`]), who sends it ([`Mailer`]: [`SmtpMailer`] on lettre,
//! [`ConsoleMailer`] and [`FileMailer`] for development, and `testing::Outbox` for tests), and
//! the words in it ([`MailTemplates`], with [`DefaultTemplates`]).

mod console;
mod smtp;
mod templates;

use std::fmt;
use std::future::Future;
use std::rc::Rc;

use futures_util::future::LocalBoxFuture;

pub use self::console::{ConsoleMailer, FileMailer};
pub use self::smtp::SmtpMailer;
pub use self::templates::{DefaultTemplates, MailContent, MailKind, MailTemplates};

/// One message: to one address, with a text and an HTML body. The sender is the mailer's.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl fmt::Debug for Mail {
    // The bodies carry links and codes: secrets, never printed by `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Mail {
    /// A message to `to` with `content`.
    pub fn new(to: &str, content: MailContent) -> Mail {
        Mail {
            to: to.to_owned(),
            subject: content.subject,
            text: content.text,
            html: content.html,
        }
    }

    /// The first link in the text body that starts with `prefix` (for tests and the console).
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let rest = &self.text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '"')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }
}

/// Why a mail was not sent. The flow answers 503 ("try again later") and reports a
/// `MailFailed` event; nobody is told more about the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The mailer's configuration (an SMTP URL, a sender address) is unusable.
    #[error("the mailer is misconfigured: {0}")]
    Config(String),
    /// The address or the message could not be made into a mail.
    #[error("the message could not be built: {0}")]
    Message(String),
    /// The server refused the mail or could not be reached.
    #[error("the mail server failed: {0}")]
    Send(String),
    /// The server took longer than the mailer's timeout.
    #[error("the mail server did not answer within {0:?}")]
    Timeout(std::time::Duration),
}

/// Sends mail. Implementations bound every network call with a timeout.
pub trait Mailer: 'static {
    /// Sends `mail`.
    fn send(&self, mail: &Mail) -> impl Future<Output = Result<(), MailError>>;
}

/// [`Mailer`] with a boxed future, so [`Account`](crate::Account) can hold any mailer.
pub(crate) trait DynMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> LocalBoxFuture<'a, Result<(), MailError>>;
}

impl<M: Mailer> DynMailer for M {
    fn send<'a>(&'a self, mail: &'a Mail) -> LocalBoxFuture<'a, Result<(), MailError>> {
        Box::pin(Mailer::send(self, mail))
    }
}

pub(crate) type SharedMailer = Rc<dyn DynMailer>;

/// Escapes text for HTML.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// "a minute", "15 minutes": how long to wait, in words.
pub(crate) fn words_for_wait(wait: std::time::Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    if minutes == 1 {
        "a minute".to_owned()
    } else {
        format!("{minutes} minutes")
    }
}
