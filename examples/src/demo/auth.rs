//! login-runtime wired to the demo: the [`Users`] loader (sessions, remember cookies and API
//! tokens, which are made and hashed here), the [`Perm`] permissions, the [`login_manager`]
//! as the demo configures it, and which of its events go to the audit trail.

use actix_web::HttpRequest;
use actix_web_flash_messages::Level;
use login_runtime::{HasPermission, LoginManager, Permission, RememberCookie, UserLoader};
use sha2::{Digest, Sha256};

use super::db::{Db, User};
use super::{Demo, DeviceStore};
use super::{audit, csrf};

/// Loads users from the database: by id for sessions and remember cookies, by bearer token
/// for the API.
#[derive(Debug, Clone)]
pub struct Users {
    /// Also read by the OpenID Connect side of the loader (see `oidc`).
    pub(super) db: Db,
}

/// A new API token: `demo_` and 256 random bits in hex. Only its [`token_hash`] is stored;
/// the tokens page shows the token itself once.
pub fn new_api_token() -> String {
    format!("demo_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// The SHA-256 of an API token, as stored. Tokens are 256 random bits, so a fast hash is
/// enough: nobody can guess one to match.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl UserLoader for Users {
    type User = User;
    type Id = i64;
    type Error = sqlx::Error;

    async fn load_user(&self, id: &i64) -> Result<Option<User>, sqlx::Error> {
        self.db.user(*id).await
    }

    async fn load_user_from_request(&self, req: &HttpRequest) -> Result<Option<User>, sqlx::Error> {
        // Bearer tokens open the API only: a stolen token cannot drive the HTML forms.
        if !req.path().starts_with("/api/") {
            return Ok(None);
        }
        match bearer_token(req) {
            Some(token) => self.db.user_by_token_hash(&token_hash(token)).await,
            None => Ok(None),
        }
    }

    async fn has_second_factor(&self, user: &User) -> Result<bool, sqlx::Error> {
        use login_mfa::MfaStore;
        let store = super::db::DbMfa(self.db.clone());
        let id = user.id.to_string();
        let totp = store
            .totp(&id)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.0))?;
        let passkeys = store
            .passkeys(&id)
            .await
            .map_err(|e| sqlx::Error::Protocol(e.0))?;
        Ok(totp.is_some_and(|t| t.enabled) || !passkeys.is_empty())
    }
}

/// What a member may do beyond their own pages. A permission is a value of this type, never a
/// string: `#[permission_required(Perm::Admni)]` does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    /// Open the admin page.
    Admin,
}

impl Permission for Perm {
    type User = User;
}

impl HasPermission<Perm> for User {
    // Answered from the user as loaded: no query of its own.
    fn has_permission(&self, permission: &Perm) -> bool {
        match permission {
            Perm::Admin => self.is_admin,
        }
    }
}

/// The login manager as the demo configures it.
pub fn login_manager(demo: &Demo) -> LoginManager<Users> {
    let manager = LoginManager::new(Users {
        db: demo.db.clone(),
    })
    .login_view("/login")
    // The API never redirects to a login form: it answers 401 (as JSON, see `api`).
    .scope_login_view("/api", None)
    .refresh_view("/reauthenticate")
    // In the words of the page it leads to ("Confirm your password").
    .needs_refresh_message(
        Some("Please confirm your password to open this page."),
        Level::Info,
    )
    // A login without a second factor, on a page that needs one: the second step; an
    // account without any, to the Security page to enrol one.
    .second_factor_view("/mfa/verify")
    .second_factor_enrolment_view("/mfa/security")
    .secret_key(demo.keys.login.clone())
    .remember_cookie(RememberCookie::default().secure(demo.secure_cookies))
    // A member without the permission gets the built-in 403 (in the site's layout, see
    // `pages::error_pages`; JSON for the API), never the login form.
    // Where the login and sign-up pages send someone already logged in.
    .anonymous_redirect("/profile")
    // Refused permission checks go to the audit trail, written before the response.
    .event_sink(audit::AuditSink)
    // A new form token at every login and logout.
    .event_sink(csrf::RotateAtLogin);
    // Every login is a device the user can see and log out on the devices page; logout
    // revokes it, so a copy of its session or remember cookie no longer logs in.
    let mut manager = match &demo.devices {
        DeviceStore::Memory(devices) => manager.device_registry(devices.clone()),
        DeviceStore::Redis(devices) => manager.device_registry(devices.clone()),
        DeviceStore::Postgres(devices) => manager.device_registry(devices.clone()),
        DeviceStore::Sqlite(devices) => manager.device_registry(devices.clone()),
    };
    // Behind a load balancer: its forwarding headers, and only its, name the client.
    if let Some(proxies) = &demo.trusted_proxies {
        manager = manager.trusted_proxies(proxies.clone());
    }
    if let Some(timeout) = demo.idle_timeout {
        manager = manager.idle_timeout(timeout);
    }
    if let Some(lifetime) = demo.login_lifetime {
        manager = manager.login_lifetime(lifetime);
    }
    manager
}
