//! Mailers for development: [`ConsoleMailer`] prints each mail, [`FileMailer`] writes each as
//! an `.eml` file. With either, an app runs with no mail server, and its links are at hand.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::Mailbox;

use super::smtp::{mailbox, message};
use super::{Mail, MailError, Mailer};

/// Prints every mail (recipient, subject, text body) on standard output, for development:
/// the links in it are secrets, so never use it in production.
#[derive(Debug, Clone, Default)]
pub struct ConsoleMailer {
    _private: (),
}

impl ConsoleMailer {
    /// A mailer that prints to standard output.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Mailer for ConsoleMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "---- mail to {} ----\nSubject: {}\n\n{}\n---- end of mail ----",
            mail.to,
            mail.subject,
            mail.text.trim_end()
        )
        .and_then(|()| out.flush())
        .map_err(|error| MailError::Send(format!("standard output: {error}")))
    }
}

/// Writes every mail as an RFC 5322 message (`.eml`, openable by any mail program) into a
/// directory, for development and tests.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// Writes into `dir` (created if missing), from `from`.
    pub fn new(dir: impl AsRef<Path>, from: &str) -> Result<FileMailer, MailError> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir)
            .map_err(|error| MailError::Config(format!("{}: {error}", dir.display())))?;
        Ok(FileMailer {
            dir,
            from: mailbox(from)?,
        })
    }
}

impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let bytes = message(&self.from, mail)?.formatted();
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let name = format!("{millis}-{}.eml", hex::encode(rand::random::<[u8; 4]>()));
        let path = self.dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|error| MailError::Send(format!("{}: {error}", path.display())))
    }
}
