//! The sign-in itself, apart from actix: start (a redirect to the provider, with the sign-in
//! kept in the session), callback (every check, the code exchange, the verified identity,
//! completed from UserInfo), and the local user (find, link or create) logged in through
//! login-runtime, or a re-authentication that makes the current login fresh.

use actix_session::Session;
use login_runtime::{
    AfterFirstFactor, AuthMethod, AuthUser, FirstFactor, Login, LoginError, is_safe_next,
};
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::config::Kind;
use crate::error::Misconfiguration;
use crate::jwt::{self, now};
use crate::provider::OidcProvider;
use crate::{Matched, OidcConfig, OidcError, OidcIdentity, OidcUsers, SignedInWith};

/// A sign-in in progress, kept in the session between `/start` and `/callback`. Secrets stay
/// server-side or in the encrypted cookie session: never in a URL but the provider's.
#[derive(serde::Serialize, serde::Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    pkce_verifier: String,
    next: Option<String>,
    remember: bool,
    started_at: i64,
    /// A re-authentication, asked with `prompt=login` and `max_age`.
    #[serde(default)]
    reauth: bool,
    /// The user logged in when the re-authentication started.
    #[serde(default)]
    reauth_user: Option<String>,
}

/// The session key of a provider's sign-in in progress: one per provider, so that sign-ins
/// with two providers do not overwrite each other, and a callback of one provider can never
/// complete a sign-in started with another.
fn flow_key(config: &OidcConfig) -> String {
    format!("login_oidc.flow.{}", config.name)
}

/// What `/start` was asked for.
#[derive(Debug, Default)]
pub(crate) struct StartRequest {
    /// Where to land afterwards (checked here and again on the way back).
    pub(crate) next: Option<String>,
    /// Whether the visitor asked to be remembered.
    pub(crate) remember: bool,
    /// A re-authentication of the current login (`reauth=1`).
    pub(crate) reauth: bool,
}

/// The provider's answer on `/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// A signed-in (or re-authenticated) visitor: who, how they were matched, where they go now.
#[derive(Debug)]
pub(crate) struct SignedIn {
    pub(crate) identity: OidcIdentity,
    pub(crate) user_id: String,
    pub(crate) matched: Matched,
    pub(crate) target: String,
    /// The current login was made fresh, not a new one made.
    pub(crate) reauthenticated: bool,
    /// Nobody is logged in yet: the account's second factor is asked next (at `target`).
    pub(crate) second_step: bool,
}

/// Keeps a new sign-in in the session; the provider's authorization URL to send the visitor to.
pub(crate) async fn start<U>(
    provider: &OidcProvider,
    session: &Session,
    login: &Login<U>,
    request: StartRequest,
) -> Result<String, OidcError> {
    let config = provider.config();
    // `next` is checked here, kept in the session (never sent to the provider), and checked
    // again on the way back.
    let next = request.next.filter(|next| is_safe_next(next));
    if request.reauth && !config.is_openid_connect() {
        return Err(Misconfiguration::ReauthenticationUnsupported.into());
    }
    let metadata = provider.metadata().await?;
    // PKCE with S256 on every sign-in, confidential client or not.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random();
    let nonce = Nonce::new_random();
    let mut url = metadata.authorization_endpoint.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &config.client_id)
            .append_pair("redirect_uri", &config.redirect_url);
        let scopes: Vec<&str> = match config.kind {
            Kind::OpenIdConnect => std::iter::once("openid")
                .chain(
                    config
                        .scopes
                        .iter()
                        .map(String::as_str)
                        .filter(|scope| *scope != "openid"),
                )
                .collect(),
            Kind::OAuth2(_) => config.scopes.iter().map(String::as_str).collect(),
        };
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
        query.append_pair("state", state.secret());
        if config.is_openid_connect() {
            query.append_pair("nonce", nonce.secret());
        }
        query
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        if request.reauth {
            // Core 3.1.2.1: the provider must ask for the credentials again, and answer the
            // time it did (`auth_time`), which the callback checks.
            query
                .append_pair("prompt", "login")
                .append_pair("max_age", &config.reauth_max_age.as_secs().to_string());
        }
    }
    let flow = Flow {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next,
        remember: request.remember,
        started_at: now(),
        reauth: request.reauth,
        reauth_user: request.reauth.then(|| login.user_id()).flatten(),
    };
    session
        .insert(flow_key(config), flow)
        .map_err(|error| OidcError::Session(error.to_string()))?;
    Ok(url.to_string())
}

/// Checks the callback, exchanges the code, verifies the identity, finds the local user and
/// logs them in (or, for a re-authentication, makes their login fresh). `callback` is the
/// parsed query (or why it did not parse).
pub(crate) async fn callback<S: OidcUsers>(
    provider: &OidcProvider,
    users: &S,
    session: &Session,
    login: &Login<S::User>,
    callback: Result<Callback, OidcError>,
) -> Result<SignedIn, OidcError> {
    let config = provider.config();
    // Single use: the sign-in in progress leaves the session before anything is checked,
    // so a callback can never be replayed against it, whatever happens below.
    let flow = match session.remove_as::<Flow>(&flow_key(config)) {
        Some(Ok(flow)) => flow,
        Some(Err(_)) | None => return Err(OidcError::NoSignInInProgress),
    };
    let callback = callback?;
    if now().saturating_sub(flow.started_at) > config.flow_lifetime.as_secs() as i64 {
        return Err(OidcError::SignInExpired);
    }
    let state = callback.state.ok_or(OidcError::MissingState)?;
    // Constant-time compare: `state` ties the callback to the browser that started it
    // (no login CSRF, no callback meant for someone else).
    if !bool::from(state.as_bytes().ct_eq(flow.state.as_bytes())) {
        return Err(OidcError::StateMismatch);
    }
    let metadata = provider.metadata().await?;
    // RFC 9207: the response names its issuer; another one is a mix-up attack, and none at
    // all from a provider that promises it is as suspicious.
    match &callback.iss {
        Some(iss) if iss != &config.issuer_url => return Err(OidcError::IssuerMismatch),
        None if metadata.sends_iss => return Err(OidcError::MissingIssuer),
        _ => {}
    }
    if let Some(error) = callback.error {
        return Err(match error.as_str() {
            "access_denied" => OidcError::AccessDenied,
            _ => OidcError::ProviderError { error },
        });
    }
    let code = callback.code.ok_or(OidcError::MissingCode)?;
    let tokens = provider
        .exchange(&metadata, &code, &flow.pkce_verifier)
        .await?;

    let (identity, auth_time) = match &config.kind {
        Kind::OpenIdConnect => {
            let id_token = tokens.id_token.as_deref().ok_or(OidcError::NoIdToken)?;
            let verified = provider
                .verify_id_token(&metadata, id_token, &flow.nonce)
                .await?;
            let mut identity = identity(config, verified.subject, &verified.claims);
            // Core 5.4: in the code flow, profile and email claims may come only from
            // UserInfo (Okta's default). Asked only when they are missing.
            if lacks_requested_claims(config, &identity)
                && let Some(endpoint) = &metadata.userinfo_endpoint
            {
                let info = provider
                    .userinfo(&metadata, endpoint, &tokens.access_token, &identity.subject)
                    .await?;
                complete(&mut identity, &info);
            }
            (identity, jwt::numeric_date(&verified.claims, "auth_time"))
        }
        Kind::OAuth2(mapping) => (
            provider
                .oauth2_identity(mapping, &tokens.access_token)
                .await?,
            None,
        ),
    };
    if flow.reauth {
        // The provider must have authenticated the visitor just now, not handed back an
        // old session: `auth_time` within `max_age` (and the leeway).
        let max_age = (config.reauth_max_age + config.leeway).as_secs() as i64;
        match auth_time {
            Some(at) if now().saturating_sub(at) <= max_age => {}
            Some(at) => {
                return Err(OidcError::NotReauthenticated(format!(
                    "auth_time is {}s old",
                    now().saturating_sub(at)
                )));
            }
            None => {
                return Err(OidcError::NotReauthenticated(
                    "no auth_time in the ID token".to_owned(),
                ));
            }
        }
    }

    // `next` was checked at the start; checked again, in case the session was tampered with.
    let next = flow.next.filter(|next| is_safe_next(next));
    let mut second_step = None;
    let (user, matched) = local_user(users, &identity).await?;
    let user_id = user.id().to_string();
    let logged_in = login.user_id();
    let reauthenticated = match &flow.reauth_user {
        Some(before) if logged_in.as_ref() == Some(before) => {
            if &user_id != before {
                return Err(OidcError::ReauthenticatedAsSomeoneElse);
            }
            // The same user proved it is them again: the login is fresh, as after a password
            // was re-entered (`confirm_login`).
            login
                .confirm()
                .map_err(|error| OidcError::Session(error.to_string()))?;
            true
        }
        _ => {
            // The provider is a first factor: through the app's second step if the account
            // has a second factor (a pending login, never a login without it), else an
            // ordinary login-runtime login: fresh, session id renewed (fixation), remember-me
            // only when the visitor asked for it.
            let first = FirstFactor::new(AuthMethod::Provider(config.name.clone()))
                .remember(flow.remember)
                .next(next.clone());
            match login.after_first_factor(&user, first).await {
                Ok(AfterFirstFactor::LoggedIn) => {}
                Ok(AfterFirstFactor::SecondStep { url }) => second_step = Some(url),
                Ok(_) => return Err(OidcError::Inactive),
                // A set-up fault, not the visitor's session: the operator is told what to add.
                Err(LoginError::NoSecondStep) => {
                    return Err(Misconfiguration::NoSecondStep.into());
                }
                Err(error) => return Err(OidcError::Session(error.to_string())),
            }
            false
        }
    };
    let previous = SignedInWith::read(session).filter(|record| record.user_id == user_id);
    let record = SignedInWith {
        provider: config.name.clone(),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        user_id: user_id.clone(),
        signed_in_at: match (&previous, reauthenticated) {
            (Some(previous), true) => previous.signed_in_at,
            _ => now(),
        },
        authenticated_at: auth_time,
        reauthenticated_at: reauthenticated.then(now),
    };
    record.record(session).map_err(OidcError::Session)?;
    let target = next.unwrap_or_else(|| config.after_login.clone());
    Ok(SignedIn {
        identity,
        user_id,
        matched,
        target: second_step.clone().unwrap_or(target),
        reauthenticated,
        second_step: second_step.is_some(),
    })
}

/// Find, link (only when the app says so), or create.
async fn local_user<S: OidcUsers>(
    users: &S,
    identity: &OidcIdentity,
) -> Result<(S::User, Matched), OidcError> {
    let users_error = |error: S::Error| OidcError::Users(error.to_string());
    if let Some(user) = users.find(identity).await.map_err(users_error)? {
        return Ok((user, Matched::Found));
    }
    if let Some(user) = users.linkable(identity).await.map_err(users_error)? {
        users.link(&user, identity).await.map_err(users_error)?;
        return Ok((user, Matched::Linked));
    }
    match users.create(identity).await.map_err(users_error)? {
        Some(user) => Ok((user, Matched::Created)),
        None => Err(OidcError::NoAccount),
    }
}

/// The identity in verified ID-token claims, read leniently (`email_verified` as `"true"`,
/// `updated_at` as ISO 8601).
fn identity(config: &OidcConfig, subject: String, claims: &Map<String, Value>) -> OidcIdentity {
    OidcIdentity {
        // Verified equal to the configured issuer.
        issuer: config.issuer_url.clone(),
        subject,
        email: jwt::string(claims, "email"),
        email_verified: jwt::string(claims, "email").is_some()
            && jwt::boolean(claims, "email_verified").unwrap_or(false),
        name: jwt::string(claims, "name"),
        preferred_username: jwt::string(claims, "preferred_username"),
        updated_at: jwt::time(claims, "updated_at"),
    }
}

/// Whether a scope asked for brought none of its claims.
fn lacks_requested_claims(config: &OidcConfig, identity: &OidcIdentity) -> bool {
    let asked = |scope: &str| config.scopes.iter().any(|asked| asked == scope);
    (asked("email") && identity.email.is_none())
        || (asked("profile") && identity.name.is_none() && identity.preferred_username.is_none())
}

/// Fills what the ID token left out from UserInfo (whose `sub` was checked). The address and
/// whether it is verified come together, from one source.
fn complete(identity: &mut OidcIdentity, info: &Map<String, Value>) {
    if identity.email.is_none()
        && let Some(email) = jwt::string(info, "email")
    {
        identity.email = Some(email);
        identity.email_verified = jwt::boolean(info, "email_verified").unwrap_or(false);
    }
    if identity.name.is_none() {
        identity.name = jwt::string(info, "name");
    }
    if identity.preferred_username.is_none() {
        identity.preferred_username = jwt::string(info, "preferred_username");
    }
    if identity.updated_at.is_none() {
        identity.updated_at = jwt::time(info, "updated_at");
    }
}
