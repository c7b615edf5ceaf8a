//! How a login was made: the authentication methods it used (a password, a one-time code, a
//! passkey, a provider's sign-in), recorded with the login and removed with it, like
//! OpenID Connect's `amr` claim.

use std::fmt;

/// One way a user proved who they are, recorded with the login it made
/// ([`LoginOptions::method`](crate::LoginOptions::method)) and read back with
/// [`Login::methods`](crate::Login::methods). A guard's `second_factor` argument admits a login
/// whose methods include a [second factor](Self::is_second_factor).
///
/// ```
/// use login_runtime::AuthMethod;
///
/// assert!(AuthMethod::Totp.is_second_factor());
/// assert!(!AuthMethod::Password.is_second_factor());
/// assert_eq!(AuthMethod::Provider("github".into()).to_string(), "signed in with github");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A password.
    Password,
    /// A time-based one-time code (TOTP, RFC 6238).
    Totp,
    /// A single-use recovery code.
    RecoveryCode,
    /// A passkey (WebAuthn) with user verification: something the user has, unlocked by
    /// something they know or are.
    Passkey,
    /// A sign-in link or code sent by mail.
    SignInLink,
    /// A sign-in at an identity provider (OpenID Connect, OAuth 2.0), named by the app.
    Provider(String),
}

impl AuthMethod {
    /// Whether this method is a second factor on top of a password or a link (a one-time
    /// code, a recovery code, a passkey). A passkey alone is both factors.
    pub fn is_second_factor(&self) -> bool {
        matches!(
            self,
            AuthMethod::Totp | AuthMethod::RecoveryCode | AuthMethod::Passkey
        )
    }

    /// The method's token in the session.
    fn token(&self) -> String {
        match self {
            AuthMethod::Password => "pwd".to_owned(),
            AuthMethod::Totp => "otp".to_owned(),
            AuthMethod::RecoveryCode => "rc".to_owned(),
            AuthMethod::Passkey => "pk".to_owned(),
            AuthMethod::SignInLink => "link".to_owned(),
            // A provider's name never holds the separator.
            AuthMethod::Provider(name) => format!("idp:{}", name.replace(SEPARATOR, "_")),
        }
    }

    fn from_token(token: &str) -> Option<AuthMethod> {
        Some(match token {
            "pwd" => AuthMethod::Password,
            "otp" => AuthMethod::Totp,
            "rc" => AuthMethod::RecoveryCode,
            "pk" => AuthMethod::Passkey,
            "link" => AuthMethod::SignInLink,
            _ => AuthMethod::Provider(token.strip_prefix("idp:")?.to_owned()),
        })
    }
}

impl fmt::Display for AuthMethod {
    /// How a profile page says it: "password entered", "signed in with github".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Password => f.write_str("password entered"),
            AuthMethod::Totp => f.write_str("one-time code entered"),
            AuthMethod::RecoveryCode => f.write_str("recovery code used"),
            AuthMethod::Passkey => f.write_str("passkey used"),
            AuthMethod::SignInLink => f.write_str("signed in with a link sent by mail"),
            AuthMethod::Provider(name) => write!(f, "signed in with {name}"),
        }
    }
}

const SEPARATOR: char = ' ';

/// The methods as the session keeps them: their tokens, space-separated, each once.
pub(crate) fn encode(methods: &[AuthMethod]) -> String {
    let mut tokens: Vec<String> = Vec::with_capacity(methods.len());
    for token in methods.iter().map(AuthMethod::token) {
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    tokens.join(&SEPARATOR.to_string())
}

/// The methods the session keeps; a token this version does not know is left out.
pub(crate) fn decode(text: &str) -> Vec<AuthMethod> {
    text.split(SEPARATOR)
        .filter_map(AuthMethod::from_token)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{AuthMethod, decode, encode};

    #[test]
    fn methods_round_trip_through_the_session_each_once() {
        let methods = [
            AuthMethod::Password,
            AuthMethod::Totp,
            AuthMethod::Password,
            AuthMethod::Provider("my idp".into()),
        ];
        let text = encode(&methods);
        assert_eq!(text, "pwd otp idp:my_idp");
        assert_eq!(
            decode(&text),
            [
                AuthMethod::Password,
                AuthMethod::Totp,
                AuthMethod::Provider("my_idp".into())
            ]
        );
        assert_eq!(
            decode("pwd future-method pk"),
            [AuthMethod::Password, AuthMethod::Passkey]
        );
        assert!(decode("").is_empty());
    }
}
