//! The flows, one module each; every handler parses, calls one step of its flow, and answers
//! through [`respond`](crate::respond).

pub(crate) mod email;
pub(crate) mod reset;
pub(crate) mod sign_in;
pub(crate) mod verify;

use serde::Deserialize;

use crate::pages::Problem;

/// `?token=…` of a link.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenQuery {
    #[serde(default)]
    pub(crate) token: String,
}

/// A form (or JSON body) with only a token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    pub(crate) token: String,
}

/// A form (or JSON body) with an address.
#[derive(Debug, Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    pub(crate) email: String,
}

/// Longest address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// What is wrong with `email` as an address, by its form alone (nothing is looked up, so the
/// answer is the same whether an account has it or not): for the app's sign-up form too.
///
/// ```
/// assert!(login_account::email_problem("ada@example.com").is_none());
/// assert_eq!(login_account::email_problem("ada@").unwrap().code, "email_invalid");
/// ```
pub fn email_problem(email: &str) -> Option<Problem> {
    let email = email.trim();
    let well_formed = email.len() <= MAX_EMAIL
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c));
    (!well_formed).then(|| {
        Problem::new(
            "email_invalid",
            "Type a whole email address, such as name@example.com.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::email_problem;

    #[test]
    fn addresses_are_checked_by_their_form() {
        for good in ["a@b.example", " Name.Last+tag@sub.example.org "] {
            assert!(email_problem(good).is_none(), "{good}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.example",
            "a b@c.example",
            "a@b.example>",
            "a@.example",
            "<a@b.example>",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
    }
}
