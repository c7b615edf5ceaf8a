//! The account flows (login-account) in the demo: "Forgot your password?", the verification
//! link mailed at sign-up (and the banner to send it again), change of email in the settings,
//! "Email me a sign-in link", and the password policy of sign-up and password change.
//!
//! - [`AccountSettings`]: the public URL links are built on (`DEMO_PUBLIC_URL`, never the
//!   request's `Host`) and where mail goes: the console by default, SMTP with `SMTP_URL`, an
//!   in-memory [`Outbox`] in tests.
//! - [`AccountDb`]: the demo's users as login-account sees them (passwords hashed with the
//!   demo's argon2id); the tokens live in the `account_tokens` table ([`DbTokens`]).
//! - [`routes`]: the flows' routes under `/account`, rendered in the demo's layout
//!   ([`DemoPages`], `templates/account.html`), their events in the audit trail.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, web};
use askama::Template;
use login_account::testing::Outbox;
use login_account::{
    Account, AccountConfig, AccountEvent, AccountUser, AccountUsers, ConsoleMailer, Mail,
    MailError, Mailer, Page, PageContext, PageForm, Pages, SignInMethod, SmtpMailer, Verification,
};

use super::audit::{self, AuditEvent};
use super::csrf;
use super::db::{Db, DbTokens, User};
use super::pages::{Ctx, Layout};
use super::passwords::Passwords;
use super::{Demo, DeviceStore};

/// How long a new member may do everything before their address must be confirmed for the
/// actions that need it (creating API tokens).
pub const VERIFICATION_GRACE: Duration = Duration::from_secs(7 * 86_400);

/// Where the demo's mail goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Printed on standard output (the default: the demo needs no mail server).
    Console,
    /// Sent through the SMTP server at this URL (`SMTP_URL`).
    Smtp(String),
    /// Kept in memory, for tests to read.
    Outbox(Outbox),
}

/// The account flows' settings.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// `DEMO_PUBLIC_URL`: what links in mails start with (`http://` and `DEMO_ADDR` by default).
    pub public_url: String,
    /// `SMTP_URL`: where mail goes ([`MailTransport::Console`] without it).
    pub mail: MailTransport,
    /// `MAIL_FROM`: the sender of every mail.
    pub from: String,
}

impl AccountSettings {
    /// Reads `DEMO_PUBLIC_URL`, `DEMO_ADDR`, `SMTP_URL` and `MAIL_FROM`.
    pub fn from_env() -> AccountSettings {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let address = var("DEMO_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        AccountSettings {
            public_url: var("DEMO_PUBLIC_URL").unwrap_or_else(|| format!("http://{address}")),
            mail: var("SMTP_URL").map_or(MailTransport::Console, MailTransport::Smtp),
            from: var("MAIL_FROM")
                .unwrap_or_else(|| "login-runtime demo <demo@localhost>".to_owned()),
        }
    }

    /// Links to `http://127.0.0.1:8080`, mail kept in a new [`Outbox`].
    pub fn for_tests() -> AccountSettings {
        AccountSettings {
            public_url: "http://127.0.0.1:8080".to_owned(),
            mail: MailTransport::Outbox(Outbox::new()),
            from: "login-runtime demo <demo@localhost>".to_owned(),
        }
    }
}

/// The demo's mailer, one of three.
#[derive(Debug, Clone)]
pub enum DemoMailer {
    /// Standard output.
    Console(ConsoleMailer),
    /// An SMTP server (boxed: the transport is large, the others are not).
    Smtp(Box<SmtpMailer>),
    /// Memory.
    Outbox(Outbox),
}

impl Mailer for DemoMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            DemoMailer::Console(mailer) => mailer.send(mail).await,
            DemoMailer::Smtp(mailer) => mailer.send(mail).await,
            DemoMailer::Outbox(mailer) => mailer.send(mail).await,
        }
    }
}

/// What the workers share to build their [`DemoAccount`]: the checked configuration and the
/// mailer.
#[derive(Debug, Clone)]
pub struct AccountSetup {
    /// The flows' configuration.
    pub config: AccountConfig,
    /// The mailer.
    pub mailer: DemoMailer,
}

impl AccountSetup {
    /// Checks `settings` (the public URL, the SMTP URL and the sender) at start-up.
    pub fn new(settings: &AccountSettings) -> Result<AccountSetup, login_account::ConfigError> {
        let config = AccountConfig::new(&settings.public_url)?
            .site_name("login-runtime demo")
            .verification(Verification::Grace(VERIFICATION_GRACE))
            .after_sign_in("/profile")?
            .login_page("/login")?;
        let mailer = match &settings.mail {
            MailTransport::Console => DemoMailer::Console(ConsoleMailer::new()),
            MailTransport::Smtp(url) => {
                DemoMailer::Smtp(Box::new(SmtpMailer::new(url, &settings.from)?))
            }
            MailTransport::Outbox(outbox) => DemoMailer::Outbox(outbox.clone()),
        };
        Ok(AccountSetup { config, mailer })
    }

    /// The outbox, when mail is kept in memory (tests).
    pub fn outbox(&self) -> Option<&Outbox> {
        match &self.mailer {
            DemoMailer::Outbox(outbox) => Some(outbox),
            _ => None,
        }
    }
}

impl AccountUser for User {
    fn email(&self) -> &str {
        // Members made by OpenID Connect have no address: no mail ever reaches them.
        self.email.as_deref().unwrap_or_default()
    }

    fn email_verified(&self) -> bool {
        self.email_verified
    }

    fn created_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.created_at).unwrap_or(0))
    }

    fn personal_words(&self) -> Vec<&str> {
        vec![&self.name, &self.display_name]
    }
}

/// The demo's users as the account flows see them.
#[derive(Debug, Clone)]
pub struct AccountDb {
    db: Db,
    passwords: Passwords,
}

/// Why a change of a user failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountDbError {
    /// The database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Hashing the new password.
    #[error(transparent)]
    Password(#[from] super::passwords::PasswordError),
}

impl AccountUsers for AccountDb {
    type User = User;
    type Error = AccountDbError;

    async fn by_email(&self, email: &str) -> Result<Option<User>, AccountDbError> {
        Ok(self.db.user_by_email(email).await?)
    }

    async fn by_id(&self, id: &i64) -> Result<Option<User>, AccountDbError> {
        Ok(self.db.user(*id).await?)
    }

    async fn mark_verified(&self, user: &User) -> Result<(), AccountDbError> {
        Ok(self.db.mark_email_verified(user.id).await?)
    }

    async fn set_password(&self, user: &User, password: &str) -> Result<(), AccountDbError> {
        // The new hash is the new session hash: every session and remember cookie made before
        // ends at its next request.
        let hash = self.passwords.hash(password).await?;
        Ok(self.db.set_password_hash(user.id, &hash).await?)
    }

    async fn set_email(&self, user: &User, email: &str) -> Result<bool, AccountDbError> {
        Ok(self.db.set_email(user.id, email).await?)
    }
}

/// The demo's account flows.
pub type DemoAccount = Account<AccountDb>;

/// The flows' routes (under `/account`) and the `DemoAccount` for the sign-up and settings
/// pages, built for one worker from what `demo` shares.
pub fn routes(demo: &Demo) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
    let users = AccountDb {
        db: demo.db.clone(),
        passwords: demo.passwords.clone(),
    };
    let setup = &demo.account;
    let account = Account::new(
        setup.config.clone(),
        users,
        &demo.keys.login,
        setup.mailer.clone(),
    )
    .map(|account| {
        let account = account
            .token_store(DbTokens(demo.db.clone()))
            .throttle_store(demo.throttle.counters())
            .pages(DemoPages)
            .event_sink(AccountAudit)
            // The demo's own form tokens, so every form of a page carries the same one.
            .form_token(
                |req| csrf::token(&req.get_session()),
                |req, sent| csrf::token_ok(&req.get_session(), sent),
            );
        match &demo.devices {
            DeviceStore::Memory(devices) => account.device_registry(devices.clone()),
            DeviceStore::Redis(devices) => account.device_registry(devices.clone()),
            DeviceStore::Postgres(devices) => account.device_registry(devices.clone()),
            DeviceStore::Sqlite(devices) => account.device_registry(devices.clone()),
        }
    });
    move |cfg| match account {
        Ok(account) => account.configure()(cfg),
        // The key was accepted by login-runtime already: HMAC takes any key.
        Err(error) => tracing::error!(%error, "the account flows could not start"),
    }
}

/// The flows' events in the audit trail, never with a token, a code or a password.
fn audit_event(event: &AccountEvent) -> Option<audit::Entry> {
    let id = |user_id: &str| user_id.parse().ok();
    match event {
        AccountEvent::VerificationSent { user_id } => {
            return audit::entry(AuditEvent::VerificationSent, id(user_id), "");
        }
        AccountEvent::Verified { user_id } => {
            return audit::entry(AuditEvent::EmailVerified, id(user_id), "");
        }
        AccountEvent::ResetRequested { user_id } => {
            return audit::entry(
                AuditEvent::ResetRequested,
                user_id.as_deref().and_then(id),
                if user_id.is_some() { "" } else { "no account" },
            );
        }
        AccountEvent::PasswordReset {
            user_id,
            devices_ended,
        } => {
            return audit::entry(
                AuditEvent::PasswordChanged,
                id(user_id),
                &format!(
                    "reset; {} logged out",
                    crate::demo::pages::count(*devices_ended, "device", "devices")
                ),
            );
        }
        AccountEvent::EmailChangeRequested { user_id } => {
            return audit::entry(AuditEvent::EmailChangeRequested, id(user_id), "");
        }
        AccountEvent::EmailChanged { user_id } => {
            return audit::entry(AuditEvent::EmailChanged, id(user_id), "");
        }
        AccountEvent::EmailChangeReported { user_id } => {
            return audit::entry(AuditEvent::EmailChangeReported, id(user_id), "");
        }
        AccountEvent::SignInRequested { user_id } => {
            return audit::entry(
                AuditEvent::SignInRequested,
                user_id.as_deref().and_then(id),
                if user_id.is_some() { "" } else { "no account" },
            );
        }
        AccountEvent::SignedIn { user_id, method } => {
            return audit::entry(AuditEvent::Login, id(user_id), sign_in_detail(*method));
        }
        // The link was the first factor; the second step's entries follow.
        AccountEvent::SecondFactorAsked { user_id, method } => {
            let detail = format!("{}; second factor asked", sign_in_detail(*method));
            return audit::entry(AuditEvent::Login, id(user_id), &detail);
        }
        AccountEvent::Throttled { flow } => {
            return audit::entry(AuditEvent::Throttled, None, flow.as_str());
        }
        AccountEvent::Refused { flow, reason } => {
            return audit::entry(
                AuditEvent::AccountRefused,
                None,
                &format!("{}: {reason}", flow.as_str()),
            );
        }
        AccountEvent::MailFailed { flow, .. } => {
            return audit::entry(AuditEvent::MailFailed, None, flow.as_str());
        }
        _ => {}
    }
    None
}

/// The sink that writes the account flows' entries in the audit trail, awaited by
/// login-account before its answer goes out.
#[derive(Debug, Clone, Copy)]
pub struct AccountAudit;

impl login_account::AccountEventSink for AccountAudit {
    async fn deliver(
        &self,
        event: &AccountEvent,
        req: &actix_web::HttpRequest,
    ) -> actix_web::Result<()> {
        audit::write(req, audit_event(event)).await
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    message: String,
    problems: Vec<String>,
    form: Option<PageForm>,
    csrf: String,
    login_link: bool,
    refused: bool,
}

/// The flows' pages in the demo's layout (navigation, flashed messages).
#[derive(Debug, Clone, Copy)]
pub struct DemoPages;

impl Pages for DemoPages {
    async fn render(
        &self,
        req: &HttpRequest,
        page: &Page,
        context: &PageContext,
    ) -> Result<String, actix_web::Error> {
        let mut ctx = Ctx::extract(req).await?;
        let view = AccountPage {
            layout: ctx.layout_with_flashes(page.title()),
            message: page.message(),
            problems: page.problems().iter().map(|p| p.message.clone()).collect(),
            form: page.form(&context.prefix),
            csrf: context.form_token.clone(),
            login_link: page.links_to_login(),
            refused: matches!(page, Page::Refused { .. }),
        };
        view.render()
            .map_err(|error| actix_web::error::ErrorInternalServerError(error.to_string()))
    }
}

/// How a sign-in without a password was made, as the audit trail says it.
fn sign_in_detail(method: SignInMethod) -> &'static str {
    match method {
        SignInMethod::Code => "sign-in code",
        _ => "sign-in link",
    }
}
