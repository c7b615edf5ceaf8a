//! The password policy, after NIST SP 800-63B (§3.1.1.2): a minimum length and a generous
//! maximum (passphrases welcome), no composition rules, and a refusal of passwords that are
//! common, breached or guessable, or that contain the account's own name or address.
//!
//! Guessability is estimated offline by [zxcvbn](https://docs.rs/zxcvbn) (Dropbox's
//! estimator): its dictionaries hold 30,000 common passwords from breach corpora, names and
//! surnames, English words and TV and film vocabulary, and it recognises keyboard patterns,
//! repeats, sequences, dates and l33t substitutions.

use std::fmt;

use serde::Serialize;

/// Why a password was refused, in words for the user ([`Display`](fmt::Display)) and as a
/// stable [`code`](Self::code) for JSON clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PolicyProblem {
    /// Fewer characters than the minimum.
    #[error("The password needs at least {min} characters.")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters than the maximum.
    #[error("The password can have at most {max} characters.")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// The password contains the account's name or email address (or the part before `@`).
    #[error("The password must not contain your name or email address.")]
    ContainsAccountName,
    /// The estimator guesses it too fast: common, breached, a dictionary word, a pattern.
    #[error("{}", guessable_message(.warning.as_deref(), .suggestions))]
    Guessable {
        /// What the estimator recognised ("This is a top-100 common password."), if it said.
        warning: Option<String>,
        /// How to do better, as the estimator suggests.
        suggestions: Vec<String>,
    },
    /// The two passwords typed differ.
    #[error("The two passwords differ.")]
    Mismatch,
}

fn guessable_message(warning: Option<&str>, suggestions: &[String]) -> String {
    let mut message = String::from("This password is too easy to guess");
    match warning {
        Some(warning) => {
            message.push_str(": ");
            message.push_str(warning.trim_end_matches('.'));
            message.push('.');
        }
        None => message.push('.'),
    }
    if let Some(first) = suggestions.first() {
        message.push(' ');
        message.push_str(first);
    }
    message
}

impl PolicyProblem {
    /// A stable, short code (`too_short`, `guessable`, …).
    pub fn code(&self) -> &'static str {
        match self {
            PolicyProblem::TooShort { .. } => "too_short",
            PolicyProblem::TooLong { .. } => "too_long",
            PolicyProblem::ContainsAccountName => "contains_account_name",
            PolicyProblem::Guessable { .. } => "guessable",
            PolicyProblem::Mismatch => "mismatch",
        }
    }
}

/// The rules a new password must pass.
///
/// ```
/// use login_account::{PasswordPolicy, PolicyProblem};
///
/// let policy = PasswordPolicy::default();
/// assert!(policy.check("correct horse battery staple uphill", &["alice"]).is_ok());
/// assert_eq!(policy.check("short", &[]).unwrap_err()[0], PolicyProblem::TooShort { min: 8 });
/// assert!(matches!(policy.check("password1", &[]).unwrap_err()[0], PolicyProblem::Guessable { .. }));
/// assert_eq!(
///     policy.check("alice-in-wonderland-1865", &["alice@example.com"]).unwrap_err()[0],
///     PolicyProblem::ContainsAccountName
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
    min_score: u8,
}

impl Default for PasswordPolicy {
    /// At least 8 characters (NIST's minimum), at most 256 (NIST asks for at least 64), and a
    /// zxcvbn score of 3 ("safely unguessable: moderate protection from an offline
    /// slow-hash scenario", more than 10^8 guesses).
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 256,
            min_score: 3,
        }
    }
}

/// Shorter parts of an account's name are not worth refusing: a three-letter name would rule
/// out every word that contains it.
const MIN_NAME_PART: usize = 4;

impl PasswordPolicy {
    /// The minimum length in characters (at least 8 is NIST's rule; less is refused as 8).
    pub fn min_length(mut self, min: usize) -> Self {
        self.min_length = min.max(8);
        self
    }

    /// The maximum length in characters (at least 64, as NIST requires allowing).
    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = max.max(64);
        self
    }

    /// The least zxcvbn score accepted, 0 to 4 (higher is refused as 4).
    pub fn min_score(mut self, score: u8) -> Self {
        self.min_score = score.min(4);
        self
    }

    /// Every problem with `password` for an account whose name, email address and other
    /// personal words are `account_words`; `Ok` when there is none.
    pub fn check(&self, password: &str, account_words: &[&str]) -> Result<(), Vec<PolicyProblem>> {
        let mut problems = Vec::new();
        let length = password.chars().count();
        if length < self.min_length {
            problems.push(PolicyProblem::TooShort {
                min: self.min_length,
            });
        } else if length > self.max_length {
            problems.push(PolicyProblem::TooLong {
                max: self.max_length,
            });
        }
        if contains_account_word(password, account_words) {
            problems.push(PolicyProblem::ContainsAccountName);
        }
        // The estimator reads the first 100 characters only (its guard against slow input); a
        // longer passphrase is judged by them, which is conservative.
        if problems.is_empty() && !self.strong_enough(password, account_words) {
            problems.push(self.guessable(password, account_words));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// [`check`](Self::check), and that `confirm` repeats `password`.
    pub fn check_new(
        &self,
        password: &str,
        confirm: &str,
        account_words: &[&str],
    ) -> Result<(), Vec<PolicyProblem>> {
        let mut problems = self
            .check(password, account_words)
            .err()
            .unwrap_or_default();
        if password != confirm {
            problems.push(PolicyProblem::Mismatch);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl PasswordPolicy {
    /// Whether the estimator scores `password` at least the minimum. It fails closed: an
    /// estimate that cannot be made (a blank password, a clock before 1970) is not enough.
    fn strong_enough(&self, password: &str, account_words: &[&str]) -> bool {
        zxcvbn::zxcvbn(password, account_words)
            .is_ok_and(|entropy| entropy.score() >= self.min_score)
    }

    /// The refusal of a guessable `password`, with what the estimator recognised.
    fn guessable(&self, password: &str, account_words: &[&str]) -> PolicyProblem {
        let entropy = zxcvbn::zxcvbn(password, account_words).ok();
        let feedback = entropy
            .as_ref()
            .and_then(|entropy| entropy.feedback().as_ref());
        PolicyProblem::Guessable {
            warning: feedback
                .and_then(|feedback| feedback.warning())
                .map(|warning| warning.to_string()),
            suggestions: feedback
                .map(|feedback| {
                    feedback
                        .suggestions()
                        .iter()
                        .map(ToString::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Whether `password` contains one of the account's words: a name, an address, or the part of
/// an address before `@` (case-insensitive).
fn contains_account_word(password: &str, account_words: &[&str]) -> bool {
    let password = password.to_lowercase();
    account_words
        .iter()
        .flat_map(|word| {
            let word = word.trim().to_lowercase();
            let local = word.split_once('@').map(|(local, _)| local.to_owned());
            [Some(word), local]
        })
        .flatten()
        .filter(|part| part.chars().count() >= MIN_NAME_PART)
        .any(|part| password.contains(&part))
}

impl fmt::Display for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {} characters; not a common or easily guessed password, and not your name or email address",
            self.min_length, self.max_length
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn long_passphrases_pass_and_common_passwords_are_refused_with_the_reason() {
        let policy = PasswordPolicy::default();
        let long = "the quiet badger ate seventeen lemons at dawn ".repeat(5);
        assert!(policy.check(long.trim(), &[]).is_ok());
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou1",
            "Passw0rd!",
        ] {
            let problems = policy.check(common, &[]).unwrap_err();
            assert!(
                matches!(problems[0], PolicyProblem::Guessable { .. }),
                "{common}: {problems:?}"
            );
            assert!(
                problems[0]
                    .to_string()
                    .starts_with("This password is too easy")
            );
        }
        let problems = policy.check("password", &[]).unwrap_err();
        assert!(
            problems[0].to_string().contains("common"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("äöüß", &[]).unwrap_err(),
            [PolicyProblem::TooShort { min: 8 }]
        );
        let too_long = "x".repeat(257);
        assert_eq!(
            policy.check(&too_long, &[]).unwrap_err(),
            [PolicyProblem::TooLong { max: 256 }]
        );
        assert_eq!(PasswordPolicy::default().min_length(4).min_length, 8);
    }

    #[test]
    fn the_account_name_and_address_are_refused_in_any_case() {
        let policy = PasswordPolicy::default();
        let words = ["margaret", "meg.tanaka@example.com"];
        for password in [
            "Margaret-loves-kites-99",
            "xx MEG.TANAKA yy zz qq",
            "kites meg.tanaka@example.com",
        ] {
            assert_eq!(
                policy.check(password, &words).unwrap_err(),
                [PolicyProblem::ContainsAccountName],
                "{password}"
            );
        }
    }

    #[test]
    fn a_mismatch_is_a_problem_of_its_own() {
        let policy = PasswordPolicy::default();
        let problems = policy
            .check_new("violet tractor quantum", "violet tractor quantun", &[])
            .unwrap_err();
        assert_eq!(problems, [PolicyProblem::Mismatch]);
    }
}
