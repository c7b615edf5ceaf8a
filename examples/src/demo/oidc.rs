//! "Sign in with OpenID Connect" (login-oidc), when `OIDC_ISSUER_URL`, `OIDC_CLIENT_ID`,
//! `OIDC_CLIENT_SECRET` and `OIDC_REDIRECT_URL` are set: the routes `/oidc/start` and
//! `/oidc/callback`, the demo's users as login-oidc sees them, audit entries for every
//! sign-in and refusal, and refusals on the demo's own error page.
//!
//! An identity at the provider is `(issuer, subject)`, kept in `oidc_links`. A first sign-in
//! creates a new member (a login name made from `preferred_username` or `sub`) who has no
//! password: the password form refuses them like a wrong password. Existing accounts are never
//! linked: the demo's members have no email address, and linking on anything less than an
//! address the provider verified and the app trusts would hand accounts to whoever registers
//! a matching name at the provider.

use actix_web::web;
use login_oidc::{Matched, Oidc, OidcEvent, OidcIdentity, OidcUsers};

use super::Demo;
use super::audit::{self, AuditEvent};
use super::auth::Users;
use super::db::User;
use super::pages::message_page;

/// The routes, when the demo is configured for OpenID Connect (nothing otherwise).
pub fn routes(demo: &Demo) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
    let oidc = demo.oidc.clone().map(|provider| {
        Oidc::with_provider(
            provider,
            Users {
                db: demo.db.clone(),
            },
        )
        .event_sink(OidcAudit)
        .error_page(|error| {
            message_page(
                error.status(),
                "Sign-in refused",
                error.message(),
                // Try again, or with the password.
                true,
            )
        })
    });
    move |cfg| {
        if let Some(oidc) = oidc {
            cfg.service(oidc.service());
        }
    }
}

/// Sign-ins and refusals go to the audit trail (with the error's code, never a token, code
/// or state); a start only to the log.
fn audit_event(event: &OidcEvent) -> Option<audit::Entry> {
    match event {
        OidcEvent::SignedIn {
            user_id, matched, ..
        } => {
            let how = match matched {
                Matched::Found => "existing account",
                Matched::Linked => "linked account",
                Matched::Created => "new account",
                _ => "account",
            };
            return audit::entry(AuditEvent::OidcSignIn, user_id.parse().ok(), how);
        }
        // The provider was the first factor; the second step's entries follow.
        OidcEvent::SecondFactorAsked { user_id, .. } => {
            return audit::entry(
                AuditEvent::OidcSignIn,
                user_id.parse().ok(),
                "second factor asked",
            );
        }
        OidcEvent::Refused { error } => {
            return audit::entry(AuditEvent::OidcRefused, None, error.code());
        }
        _ => {}
    }
    None
}

/// The sink that writes the sign-ins' entries in the audit trail, awaited by login-oidc
/// before its answer goes out.
#[derive(Debug, Clone, Copy)]
pub struct OidcAudit;

impl login_oidc::OidcEventSink for OidcAudit {
    async fn deliver(
        &self,
        event: &OidcEvent,
        req: &actix_web::HttpRequest,
    ) -> actix_web::Result<()> {
        audit::write(req, audit_event(event)).await
    }
}

/// The password hash of a member who signs in only with OpenID Connect: not a PHC string, so
/// no password matches it. Random, because it is also the session hash.
fn no_password() -> String {
    format!("!oidc-only:{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The login name a new member starts from: `preferred_username`, else the subject, cut to
/// the characters login names allow.
fn base_name(identity: &OidcIdentity) -> String {
    let wanted = identity
        .preferred_username
        .as_deref()
        .unwrap_or(&identity.subject);
    let mut name: String = wanted
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c))
        .take(24)
        .collect();
    if name.len() < 3 {
        name = format!("user{name}");
    }
    name
}

/// How many numbered names (`alice-2`, `alice-3`, …) are tried before a random one.
const NAME_TRIES: u32 = 5;

impl OidcUsers for Users {
    type User = User;
    type Error = sqlx::Error;

    async fn find(&self, identity: &OidcIdentity) -> Result<Option<User>, sqlx::Error> {
        self.db
            .user_by_oidc(&identity.issuer, &identity.subject)
            .await
    }

    // `linkable` keeps login-oidc's default (no account is ever linked): see the module docs.

    async fn link(&self, user: &User, identity: &OidcIdentity) -> Result<(), sqlx::Error> {
        self.db
            .link_oidc(user.id, &identity.issuer, &identity.subject)
            .await
            .map(drop)
    }

    async fn create(&self, identity: &OidcIdentity) -> Result<Option<User>, sqlx::Error> {
        let base = base_name(identity);
        let display_name: String = identity
            .name
            .clone()
            .unwrap_or_else(|| base.clone())
            .chars()
            .take(64)
            .collect();
        let numbered = (1..=NAME_TRIES).map(|n| match n {
            1 => base.clone(),
            n => format!("{base}-{n}"),
        });
        let random = format!("{base}-{}", hex::encode(rand::random::<[u8; 3]>()));
        for name in numbered.chain([random]) {
            let created = self
                .db
                .create_oidc_user(
                    &name,
                    &display_name,
                    &no_password(),
                    &identity.issuer,
                    &identity.subject,
                )
                .await?;
            if let Some(id) = created {
                return self.db.user(id).await;
            }
            // The name is taken, or a concurrent sign-in linked this identity first.
            if let Some(user) = self.find(identity).await? {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }
}
