//! What the application configures: the public URL links are built on, the routes' prefix,
//! the lifetime of each purpose's tokens, the limits on mail, the password policy and what an
//! unverified account may do.

use std::time::Duration;

use crate::policy::PasswordPolicy;
use crate::token::Purpose;

/// A setting that cannot work, found when the configuration is built (never at request time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The public URL is not `http(s)://host[:port][/path]`.
    #[error(
        "the public URL must be http:// or https:// followed by a host, without a query or fragment, not {0:?}"
    )]
    PublicUrl(String),
    /// A path setting is not a same-site path such as `/account`.
    #[error("{name} must be a path starting with `/`, not {value:?}")]
    Path {
        /// Which setting.
        name: &'static str,
        /// What was given.
        value: String,
    },
    /// The secret key could not key the hash (never, in practice).
    #[error("the secret key could not key HMAC-SHA-256")]
    Key,
    /// The mailer could not be built.
    #[error(transparent)]
    Mail(#[from] crate::MailError),
}

/// What an account whose address is not confirmed may do. The app enforces it with the
/// [`Verified`](crate::Verified) extractor on the handlers that need a confirmed address, and
/// asks [`Account::may_log_in`](crate::Account::may_log_in) in its password login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// Nothing until the address is confirmed: the password login refuses the account (signing
    /// in by link, or resetting the password, confirms the address on the way), and
    /// `Verified` refuses it.
    Required,
    /// Everything for this long after the account was made
    /// ([`AccountUser::created_at`](crate::AccountUser::created_at)), then as `Required` for
    /// the handlers that take `Verified` (logging in still works, to resend the link).
    Grace(Duration),
    /// Everything but the handlers that take `Verified` (the named actions).
    NamedActions,
}

/// How many mails may go out, and codes be tried, before the throttle refuses more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Mails to one address (or one account) per window.
    pub per_address: u32,
    /// Mails asked for by one client (IP address) per window, whatever the addresses.
    pub per_client: u32,
    /// The window of both.
    pub window: Duration,
    /// Wrong codes for one sign-in before it is void.
    pub code_attempts: u32,
}

impl Default for Limits {
    /// Five mails per address and twenty per client in an hour; five tries of a code.
    fn default() -> Self {
        Limits {
            per_address: 5,
            per_client: 20,
            window: Duration::from_secs(3600),
            code_attempts: 5,
        }
    }
}

/// How the flows are configured. Built with [`AccountConfig::new`], then adjusted:
///
/// ```
/// use std::time::Duration;
/// use login_account::{AccountConfig, Purpose, Verification};
///
/// let config = AccountConfig::new("https://app.example")?
///     .prefix("/account")?
///     .site_name("Example")
///     .lifetime(Purpose::ResetPassword, Duration::from_secs(30 * 60))
///     .verification(Verification::Grace(Duration::from_secs(7 * 86_400)));
/// assert_eq!(config.link("/reset/confirm", "abc"), "https://app.example/account/reset/confirm?token=abc");
/// # Ok::<(), login_account::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub(crate) public_url: String,
    pub(crate) prefix: String,
    pub(crate) site_name: String,
    lifetimes: [Duration; Purpose::ALL.len()],
    pub(crate) limits: Limits,
    pub(crate) policy: PasswordPolicy,
    pub(crate) verification: Verification,
    pub(crate) after_sign_in: String,
    pub(crate) login_page: String,
}

fn is_path(path: &str) -> bool {
    path.starts_with('/') && login_runtime::is_safe_next(path)
}

impl AccountConfig {
    /// Flows whose links start with `public_url` (`https://app.example`, or with a path if
    /// the app is served under one). Links never take the host from a request: a forged
    /// `Host` header cannot send a reset link to another site.
    ///
    /// Defaults: routes under `/account`; links valid for an hour (reset), three days
    /// (verification), a day (change of email), a week (the report of one) and 15 minutes
    /// (sign-in); [`Limits::default`]; [`PasswordPolicy::default`];
    /// [`Verification::NamedActions`]; sign-ins land on `/`; pages link to `/login`.
    pub fn new(public_url: &str) -> Result<AccountConfig, ConfigError> {
        let url = public_url.trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| ConfigError::PublicUrl(public_url.to_owned()))?;
        let host = rest.split('/').next().unwrap_or_default();
        let bad = |c: char| c.is_whitespace() || c.is_control() || "?#@\\".contains(c);
        if host.is_empty() || rest.contains(bad) {
            return Err(ConfigError::PublicUrl(public_url.to_owned()));
        }
        Ok(AccountConfig {
            public_url: url.to_owned(),
            prefix: "/account".to_owned(),
            site_name: host.to_owned(),
            lifetimes: Purpose::ALL.map(default_lifetime),
            limits: Limits::default(),
            policy: PasswordPolicy::default(),
            verification: Verification::NamedActions,
            after_sign_in: "/".to_owned(),
            login_page: "/login".to_owned(),
        })
    }

    /// Where the routes are (`/account` by default).
    pub fn prefix(mut self, prefix: &str) -> Result<AccountConfig, ConfigError> {
        let prefix = prefix.trim_end_matches('/');
        if !is_path(prefix) {
            return Err(ConfigError::Path {
                name: "prefix",
                value: prefix.to_owned(),
            });
        }
        self.prefix = prefix.to_owned();
        Ok(self)
    }

    /// The site's name in mails and pages (the public URL's host by default).
    pub fn site_name(mut self, name: &str) -> AccountConfig {
        self.site_name = name.to_owned();
        self
    }

    /// How long tokens of `purpose` work.
    pub fn lifetime(mut self, purpose: Purpose, lifetime: Duration) -> AccountConfig {
        self.lifetimes[purpose_index(purpose)] = lifetime;
        self
    }

    /// The limits on mails and codes.
    pub fn limits(mut self, limits: Limits) -> AccountConfig {
        self.limits = limits;
        self
    }

    /// The password policy of resets (and of the app's own forms, through
    /// [`Account::policy`](crate::Account::policy)).
    pub fn policy(mut self, policy: PasswordPolicy) -> AccountConfig {
        self.policy = policy;
        self
    }

    /// What an unverified account may do.
    pub fn verification(mut self, verification: Verification) -> AccountConfig {
        self.verification = verification;
        self
    }

    /// Where a sign-in by link or code lands (`/` by default): a same-site path.
    pub fn after_sign_in(mut self, path: &str) -> Result<AccountConfig, ConfigError> {
        if !is_path(path) {
            return Err(ConfigError::Path {
                name: "after_sign_in",
                value: path.to_owned(),
            });
        }
        self.after_sign_in = path.to_owned();
        Ok(self)
    }

    /// The app's login page, linked from the pages after a reset (`/login` by default).
    pub fn login_page(mut self, path: &str) -> Result<AccountConfig, ConfigError> {
        if !is_path(path) {
            return Err(ConfigError::Path {
                name: "login_page",
                value: path.to_owned(),
            });
        }
        self.login_page = path.to_owned();
        Ok(self)
    }

    /// How long tokens of `purpose` work.
    pub fn lifetime_of(&self, purpose: Purpose) -> Duration {
        self.lifetimes[purpose_index(purpose)]
    }

    /// The absolute link to the route `route` (under the prefix) carrying `token`.
    pub fn link(&self, route: &str, token: &str) -> String {
        // The token is hex: nothing to escape.
        format!("{}{}{route}?token={token}", self.public_url, self.prefix)
    }

    /// The path of the route `route` under the prefix (`/account/reset`).
    pub fn path(&self, route: &str) -> String {
        format!("{}{route}", self.prefix)
    }
}

fn purpose_index(purpose: Purpose) -> usize {
    Purpose::ALL
        .iter()
        .position(|p| *p == purpose)
        .unwrap_or_default()
}

fn default_lifetime(purpose: Purpose) -> Duration {
    let hours = |n: u64| Duration::from_secs(n * 3600);
    match purpose {
        Purpose::ResetPassword => hours(1),
        Purpose::VerifyEmail => hours(72),
        Purpose::ChangeEmail => hours(24),
        Purpose::ReportEmailChange => hours(7 * 24),
        Purpose::SignIn => Duration::from_secs(15 * 60),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn public_urls_are_checked() {
        for good in [
            "https://app.example",
            "http://127.0.0.1:8080/",
            "https://x.example/app",
        ] {
            assert!(AccountConfig::new(good).is_ok(), "{good}");
        }
        for bad in [
            "app.example",
            "ftp://x",
            "https://",
            "https://a b",
            "https://x?y",
            "https://u@x",
        ] {
            assert!(AccountConfig::new(bad).is_err(), "{bad}");
        }
        let config = AccountConfig::new("https://x.example/app/").unwrap();
        assert_eq!(
            config.link("/verify", "ff"),
            "https://x.example/app/account/verify?token=ff"
        );
        assert!(config.clone().prefix("//evil").is_err());
        assert!(config.after_sign_in("https://evil.example").is_err());
    }

    #[test]
    fn every_purpose_has_its_lifetime() {
        let config = AccountConfig::new("https://app.example").unwrap();
        assert_eq!(
            config.lifetime_of(Purpose::ResetPassword),
            Duration::from_secs(3600)
        );
        assert_eq!(
            config.lifetime_of(Purpose::SignIn),
            Duration::from_secs(900)
        );
        let config = config.lifetime(Purpose::SignIn, Duration::from_secs(60));
        assert_eq!(config.lifetime_of(Purpose::SignIn), Duration::from_secs(60));
        assert_eq!(
            config.lifetime_of(Purpose::VerifyEmail),
            Duration::from_secs(72 * 3600)
        );
    }
}
