//! [`SmtpMailer`]: mail through an SMTP server, on lettre's async transport.

use std::fmt;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Mail, MailError, Mailer};

/// How long one mail may take by default, connection and every command included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends mail through an SMTP server (lettre's async transport on tokio, TLS by rustls).
///
/// The URL is lettre's: `smtp://host:25` (plain, for a relay on the same host),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host` (TLS). Every
/// mail is one connection, bounded by the timeout (10 s by default) from connecting to the
/// last reply: a server that is down or hangs makes the flow answer 503, never wait.
///
/// ```
/// use std::time::Duration;
/// use login_account::SmtpMailer;
///
/// let mailer = SmtpMailer::new("smtp://127.0.0.1:2525", "Example <noreply@example.com>")?
///     .timeout(Duration::from_secs(5))?;
/// # let _ = mailer;
/// # Ok::<(), login_account::MailError>(())
/// ```
#[derive(Clone)]
pub struct SmtpMailer {
    url: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl fmt::Debug for SmtpMailer {
    // The URL may hold the server's password: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn transport(
    url: &str,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    // lettre's error text may quote the URL, password included: only say which part failed.
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| {
        MailError::Config("the SMTP URL is not valid (smtp://host:port, smtps://…)".into())
    })?;
    Ok(builder.timeout(Some(timeout)).build())
}

/// `from` as a mailbox (`Name <address>` or a bare address).
pub(crate) fn mailbox(from: &str) -> Result<Mailbox, MailError> {
    from.parse::<Mailbox>().map_err(|error| {
        MailError::Config(format!("the sender {from:?} is not an address: {error}"))
    })
}

/// `mail` from `from`, as a multipart/alternative message (text, then HTML).
pub(crate) fn message(from: &Mailbox, mail: &Mail) -> Result<Message, MailError> {
    let to = mail
        .to
        .parse::<Mailbox>()
        .map_err(|error| MailError::Message(format!("the recipient is not an address: {error}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|error| MailError::Message(error.to_string()))
}

impl SmtpMailer {
    /// A mailer for the server at `url`, sending from `from`. Nothing is connected yet.
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        Ok(SmtpMailer {
            url: url.to_owned(),
            transport: transport(url, DEFAULT_TIMEOUT)?,
            from: mailbox(from)?,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// How long one mail may take, from connecting to the server's last reply.
    pub fn timeout(mut self, timeout: Duration) -> Result<SmtpMailer, MailError> {
        self.transport = transport(&self.url, timeout)?;
        self.timeout = timeout;
        Ok(self)
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = message(&self.from, mail)?;
        // lettre bounds each command; this bounds the whole conversation.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) if error.is_timeout() => Err(MailError::Timeout(self.timeout)),
            Ok(Err(error)) => Err(MailError::Send(error.to_string())),
            Err(_elapsed) => Err(MailError::Timeout(self.timeout)),
        }
    }
}
