//! Why a sign-in was refused, and the one place a refusal becomes a response.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

/// Why a sign-in with OpenID Connect was refused. Every refusal logs nobody in, is reported
/// as an [`OidcEvent::Refused`](crate::OidcEvent::Refused), and answers a page saying what
/// the visitor can do ([`OidcError::page`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// The provider could not be reached, answered too slowly (the configured timeout), or
    /// answered with a server error. What the operator must fix instead is
    /// [`Misconfigured`](Self::Misconfigured).
    #[error("the identity provider is unavailable: {0}")]
    ProviderUnavailable(String),
    /// The visitor cancelled or refused at the provider (`error=access_denied`).
    #[error("the sign-in was cancelled at the identity provider")]
    AccessDenied,
    /// The provider answered the authorization request with another error.
    #[error("the identity provider refused the sign-in: {error}")]
    ProviderError {
        /// The OAuth error code (`invalid_request`, `login_required`, …).
        error: String,
    },
    /// The callback came without a sign-in started in this session: it was already used
    /// (a replay), the session is gone, or the visitor never started here.
    #[error("no sign-in is in progress in this session (replayed or stale callback)")]
    NoSignInInProgress,
    /// The sign-in took longer than the configured flow lifetime.
    #[error("the sign-in took too long")]
    SignInExpired,
    /// The callback carried no `state`.
    #[error("the callback carried no state")]
    MissingState,
    /// The callback's `state` is not the one this session sent (cross-site request forgery,
    /// or a callback meant for another browser).
    #[error("the callback's state does not match this session's")]
    StateMismatch,
    /// The callback's `iss` (RFC 9207) names another issuer (a mix-up attack).
    #[error("the callback's iss does not name the configured issuer")]
    IssuerMismatch,
    /// The provider promises `iss` on callbacks (RFC 9207), and this one had none.
    #[error("the callback carried no iss although the provider always sends it")]
    MissingIssuer,
    /// The callback carried neither a code nor an error.
    #[error("the callback carried no authorization code")]
    MissingCode,
    /// The callback's query string does not parse.
    #[error("the callback's query string is malformed")]
    MalformedCallback,
    /// The token endpoint refused the code (`invalid_grant`: already used, expired, or PKCE
    /// failed).
    #[error("the identity provider refused the authorization code: {error}")]
    CodeRefused {
        /// The OAuth error code (`invalid_grant`, …).
        error: String,
    },
    /// The token response carried no ID token.
    #[error("the identity provider returned no ID token")]
    NoIdToken,
    /// The ID token's `nonce` is not the one this sign-in sent (an injected token).
    #[error("the ID token's nonce does not match this sign-in's")]
    NonceMismatch,
    /// The ID token expired before it arrived.
    #[error("the ID token has expired")]
    TokenExpired,
    /// The ID token is not signed by any of the provider's keys (also after re-fetching
    /// them, within the configured rate).
    #[error("the ID token's signature does not verify against the provider's keys: {0}")]
    BadSignature(String),
    /// The ID token failed another check (`iss`, `aud`, `azp`, a disallowed algorithm, …).
    #[error("the ID token is invalid: {0}")]
    InvalidIdToken(String),
    /// The application found no account for this identity and creates none.
    #[error("no account for this identity, and the application creates none")]
    NoAccount,
    /// The account is inactive ([`AuthUser::is_active`](login_runtime::AuthUser::is_active)).
    #[error("the account is inactive")]
    Inactive,
    /// The application's [`OidcUsers`](crate::OidcUsers) store failed.
    #[error("the user store failed: {0}")]
    Users(String),
    /// The session could not be read or written, or the login could not be written into it.
    #[error("the session could not be written: {0}")]
    Session(String),
    /// The UserInfo answer is about another subject than the ID token (Core 5.3.2).
    #[error("the UserInfo answer names subject {found:?}, not the ID token's")]
    UserInfoSubjectMismatch {
        /// The subject UserInfo named.
        found: String,
    },
    /// A re-authentication came back without a recent `auth_time`: the provider did not make
    /// the visitor sign in again.
    #[error("the provider did not re-authenticate the visitor: {0}")]
    NotReauthenticated(String),
    /// A re-authentication came back as another account than the one logged in.
    #[error("the re-authentication signed in as another account than the one logged in")]
    ReauthenticatedAsSomeoneElse,
    /// The sign-in is set up wrong (this app's configuration or the provider's): the operator
    /// must fix it, and the visitor can do nothing about it.
    #[error("sign-in is misconfigured: {0}")]
    Misconfigured(Misconfiguration),
}

/// What is wrong with the set-up, for the operator (the log and the event); the visitor sees
/// only that sign-in is misconfigured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misconfiguration {
    /// The token endpoint refused this client (`invalid_client`, `unauthorized_client`, …):
    /// a wrong id or secret, or a client authentication method the registration does not
    /// allow ([`ClientAuth`](crate::ClientAuth)).
    #[error(
        "the token endpoint refused this client ({error}): check the client id, the secret and the client authentication method"
    )]
    ClientRefused {
        /// The OAuth error code.
        error: String,
    },
    /// The discovery document names another issuer than the configured one (write the issuer
    /// exactly as the document does, trailing slash included).
    #[error("the discovery document names the issuer {found:?}, not the configured {configured:?}")]
    IssuerMismatch {
        /// The configured issuer.
        configured: String,
        /// The document's `issuer`.
        found: String,
    },
    /// TLS with the provider failed: its certificate is not trusted (a private certificate
    /// authority: set `SSL_CERT_FILE`, or `OidcConfig::add_root_certificate_pem`) or names
    /// another host.
    #[error("TLS with the provider failed: {0}")]
    Tls(String),
    /// An answer that does not parse as what the endpoint must answer.
    #[error("the provider's {endpoint} answer does not parse: {detail}")]
    Unparsable {
        /// Which endpoint.
        endpoint: &'static str,
        /// What did not parse (never the value).
        detail: String,
    },
    /// An endpoint answered a status it must not (a redirect, 404: a wrong URL).
    #[error("the provider's {endpoint} answered HTTP {status}")]
    UnexpectedStatus {
        /// Which endpoint.
        endpoint: &'static str,
        /// The status.
        status: u16,
    },
    /// No client authentication method both sides support.
    #[error(
        "the provider supports none of this client's authentication methods (it lists {supported:?})"
    )]
    NoClientAuthMethod {
        /// What the provider lists.
        supported: Vec<String>,
    },
    /// A URL the provider gave (or that is needed) is missing or not `https`.
    #[error("{0}")]
    Endpoint(String),
    /// Re-authentication was asked of a plain OAuth 2.0 provider, which cannot say when the
    /// visitor last signed in.
    #[error(
        "re-authentication needs an OpenID Connect provider (auth_time); this one is plain OAuth 2.0"
    )]
    ReauthenticationUnsupported,
    /// The account has a second factor but the application installed no second step
    /// (login-runtime's `SecondStepGate`, which login-mfa's `Mfa::configure` installs): the
    /// provider alone must not log it in, and only the operator can add the step.
    #[error(
        "the account has a second factor and no second step is installed: configure login-mfa (`Mfa::configure`) or another `SecondStepGate`"
    )]
    NoSecondStep,
}

impl Misconfiguration {
    fn code(&self) -> &'static str {
        match self {
            Misconfiguration::ClientRefused { .. } => "client_refused",
            Misconfiguration::IssuerMismatch { .. } => "discovery_issuer_mismatch",
            Misconfiguration::Tls(_) => "tls_failed",
            Misconfiguration::Unparsable { .. } => "unparsable_answer",
            Misconfiguration::UnexpectedStatus { .. } => "unexpected_status",
            Misconfiguration::NoClientAuthMethod { .. } => "no_client_auth_method",
            Misconfiguration::Endpoint(_) => "bad_endpoint",
            Misconfiguration::ReauthenticationUnsupported => "reauthentication_unsupported",
            Misconfiguration::NoSecondStep => "no_second_step",
        }
    }
}

impl From<Misconfiguration> for OidcError {
    fn from(fault: Misconfiguration) -> Self {
        OidcError::Misconfigured(fault)
    }
}

impl OidcError {
    /// A stable, short code for audit logs and metrics (`state_mismatch`, `token_expired`, …).
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::ProviderUnavailable(_) => "provider_unavailable",
            OidcError::AccessDenied => "access_denied",
            OidcError::ProviderError { .. } => "provider_error",
            OidcError::NoSignInInProgress => "no_sign_in_in_progress",
            OidcError::SignInExpired => "sign_in_expired",
            OidcError::MissingState => "missing_state",
            OidcError::StateMismatch => "state_mismatch",
            OidcError::IssuerMismatch => "issuer_mismatch",
            OidcError::MissingIssuer => "missing_issuer",
            OidcError::MissingCode => "missing_code",
            OidcError::MalformedCallback => "malformed_callback",
            OidcError::CodeRefused { .. } => "code_refused",
            OidcError::NoIdToken => "no_id_token",
            OidcError::NonceMismatch => "nonce_mismatch",
            OidcError::TokenExpired => "token_expired",
            OidcError::BadSignature(_) => "bad_signature",
            OidcError::InvalidIdToken(_) => "invalid_id_token",
            OidcError::NoAccount => "no_account",
            OidcError::Inactive => "inactive",
            OidcError::Users(_) => "users_error",
            OidcError::Session(_) => "session_error",
            OidcError::UserInfoSubjectMismatch { .. } => "userinfo_subject_mismatch",
            OidcError::NotReauthenticated(_) => "not_reauthenticated",
            OidcError::ReauthenticatedAsSomeoneElse => "reauthenticated_as_someone_else",
            OidcError::Misconfigured(fault) => fault.code(),
        }
    }

    /// Whether the operator must fix something (the visitor cannot).
    pub fn is_misconfiguration(&self) -> bool {
        matches!(self, OidcError::Misconfigured(_))
    }

    /// The status a refusal answers with.
    pub fn status(&self) -> StatusCode {
        self.answer().0
    }

    /// What the visitor is told: what happened and what to do, never a detail an attacker
    /// could use (those go to the event and the log).
    pub fn message(&self) -> &'static str {
        self.answer().1
    }

    /// Status and message, decided together for each group of refusals.
    fn answer(&self) -> (StatusCode, &'static str) {
        match self {
            OidcError::ProviderUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The identity provider is not answering right now. Please try again in a few minutes.",
            ),
            OidcError::AccessDenied => (
                StatusCode::FORBIDDEN,
                "You cancelled the sign-in at the identity provider.",
            ),
            OidcError::ProviderError { .. } => (
                StatusCode::BAD_GATEWAY,
                "The identity provider could not sign you in. Please try again.",
            ),
            OidcError::NoSignInInProgress
            | OidcError::SignInExpired
            | OidcError::CodeRefused { .. } => (
                StatusCode::BAD_REQUEST,
                "This sign-in link has already been used or has expired. Please sign in again.",
            ),
            OidcError::MissingState
            | OidcError::StateMismatch
            | OidcError::IssuerMismatch
            | OidcError::MissingIssuer
            | OidcError::MissingCode
            | OidcError::MalformedCallback
            | OidcError::NonceMismatch => (
                StatusCode::BAD_REQUEST,
                "This sign-in response was not meant for this browser or was tampered with. Please sign in again.",
            ),
            OidcError::NoIdToken
            | OidcError::TokenExpired
            | OidcError::BadSignature(_)
            | OidcError::InvalidIdToken(_)
            | OidcError::UserInfoSubjectMismatch { .. } => (
                StatusCode::BAD_GATEWAY,
                "The identity provider's answer could not be verified. Please sign in again.",
            ),
            OidcError::NoAccount => (
                StatusCode::FORBIDDEN,
                "There is no account for this identity here.",
            ),
            OidcError::Inactive => (StatusCode::FORBIDDEN, "This account is disabled."),
            OidcError::Users(_) | OidcError::Session(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. Please try again later.",
            ),
            OidcError::NotReauthenticated(_) => (
                StatusCode::FORBIDDEN,
                "The identity provider did not ask you to sign in again, so this could not confirm it is you. Please try again.",
            ),
            OidcError::ReauthenticatedAsSomeoneElse => (
                StatusCode::FORBIDDEN,
                "You signed in at the identity provider as someone else. Nothing changed here: you are still signed in as before.",
            ),
            OidcError::Misconfigured(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in with this provider is misconfigured. The site's operators can see why; please use another way to sign in, or try again later.",
            ),
        }
    }

    /// The refusal page: the status, a short explanation, and a link to `login_page`. This is
    /// the only place an `OidcError` becomes a response (unless the app renders its own with
    /// [`Oidc::error_page`](crate::Oidc::error_page)).
    pub fn page(&self, login_page: &str) -> HttpResponse {
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\n\
             <body><h1>Sign-in failed</h1><p>{}</p><p><a href=\"{}\">Back to sign-in</a></p></body></html>\n",
            self.message(),
            escape_html(login_page),
        );
        HttpResponse::build(self.status())
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body)
    }
}

fn escape_html(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_says_what_happened_and_links_back() {
        let page = OidcError::AccessDenied.page("/login?x=\"<");
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        let body = actix_web::body::MessageBody::try_into_bytes(page.into_body())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        assert!(body.contains("You cancelled the sign-in"), "{body}");
        assert!(body.contains("href=\"/login?x=&quot;&lt;\""), "{body}");
    }

    #[test]
    fn internal_details_stay_out_of_the_page() {
        let error = OidcError::BadSignature("kid secret-kid".into());
        assert!(!error.message().contains("secret-kid"));
        assert_eq!(error.code(), "bad_signature");
    }
}
