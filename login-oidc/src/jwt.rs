//! Signed JWTs (compact JWS), for ID tokens, signed UserInfo answers and access tokens: decode,
//! verify the signature against the provider's keys (openidconnect's JWK types do the
//! cryptography), and check the registered claims with a leeway. Claims are read leniently
//! where real providers differ (a date as a float, `aud` as a string or a list, a boolean as a
//! string), strictly where security needs it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The longest token read; real ones are a few kilobytes.
const MAX_TOKEN: usize = 16 * 1024;

/// The asymmetric algorithms accepted by default. Never `none`, never a MAC (an HMAC "signed"
/// with a public key is the classic forgery).
pub(crate) const DEFAULT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    /// Not three base64url segments with a JSON header and payload.
    Malformed(&'static str),
    /// An algorithm outside the allow-list (`none`, `HS256`, …), or `crit` extensions.
    Algorithm(String),
    /// No published key has the token's key id (the provider may have rotated its keys).
    NoMatchingKey,
    /// A key matched, and the signature does not verify with it.
    BadSignature(String),
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed(what) => write!(f, "malformed JWT: {what}"),
            JwtError::Algorithm(alg) => write!(f, "algorithm not allowed: {alg}"),
            JwtError::NoMatchingKey => f.write_str("no published key matches the token's key id"),
            JwtError::BadSignature(why) => write!(f, "the signature does not verify: {why}"),
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

/// A decoded, not yet verified, JWS.
pub(crate) struct Jws {
    alg: String,
    kid: Option<String>,
    /// The header's `typ`, lowercased (`jwt`, `at+jwt`, …).
    pub(crate) typ: Option<String>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

pub(crate) fn decode(token: &str) -> Result<Jws, JwtError> {
    if token.len() > MAX_TOKEN {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_text), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed(
            "not three segments (an encrypted token?)",
        ));
    };
    let segment = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('='));
    let header_bytes =
        segment(header_text).map_err(|_| JwtError::Malformed("header not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| JwtError::Malformed("header not JSON"))?;
    if header.crit.is_some() {
        // RFC 7515 4.1.11: extensions we do not understand must not be ignored.
        return Err(JwtError::Algorithm("crit extensions".to_owned()));
    }
    Ok(Jws {
        alg: header.alg,
        kid: header.kid,
        typ: header.typ.map(|typ| typ.to_ascii_lowercase()),
        signing_input: format!("{header_text}.{payload}").into_bytes(),
        signature: segment(signature)
            .map_err(|_| JwtError::Malformed("signature not base64url"))?,
        payload: segment(payload).map_err(|_| JwtError::Malformed("payload not base64url"))?,
    })
}

impl Jws {
    /// Verifies the signature with one of `keys`: the algorithm must be in `allowed`, the key
    /// must carry the token's key id (any key of a compatible type when the token names none).
    pub(crate) fn verify(
        &self,
        keys: &[CoreJsonWebKey],
        allowed: &[String],
    ) -> Result<(), JwtError> {
        if !allowed.iter().any(|alg| alg == &self.alg) || !DEFAULT_ALGORITHMS.contains(&&*self.alg)
        {
            return Err(JwtError::Algorithm(self.alg.clone()));
        }
        let alg: CoreJwsSigningAlgorithm = serde_json::from_value(Value::String(self.alg.clone()))
            .map_err(|_| JwtError::Algorithm(self.alg.clone()))?;
        let candidates: Vec<&CoreJsonWebKey> = keys
            .iter()
            .filter(|key| match (&self.kid, key.key_id()) {
                (Some(kid), Some(key_id)) => **key_id == *kid,
                (Some(_), None) => false,
                (None, _) => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(JwtError::NoMatchingKey);
        }
        let mut last = String::new();
        for key in candidates {
            // Checks the key's use, type and algorithm against `alg` before verifying.
            match key.verify_signature(&alg, &self.signing_input, &self.signature) {
                Ok(()) => return Ok(()),
                Err(error) => last = error.to_string(),
            }
        }
        Err(JwtError::BadSignature(last))
    }

    /// The payload as a JSON object (only after [`verify`](Self::verify)).
    pub(crate) fn claims(&self) -> Result<Map<String, Value>, JwtError> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| JwtError::Malformed("payload not a JSON object"))
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// A NumericDate: an integer or a float (some providers write `1700000000.5`).
pub(crate) fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    match claims.get(name)? {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|value| value.is_finite())
                .map(|value| value.floor() as i64)
        }),
        _ => None,
    }
}

/// A string claim.
pub(crate) fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A boolean claim, also written as a string (`"true"`: Apple's `email_verified`).
pub(crate) fn boolean(claims: &Map<String, Value>, name: &str) -> Option<bool> {
    match claims.get(name)? {
        Value::Bool(value) => Some(*value),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// A time claim as seconds since the epoch, also written as ISO 8601 (`updated_at` at Auth0).
pub(crate) fn time(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    match claims.get(name)? {
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.timestamp()),
        _ => numeric_date(claims, name),
    }
}

/// The `aud` claim: one string or a list.
pub(crate) fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// What the registered claims must say.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    /// The audience that must be listed (our client id, or the API's identifier).
    pub(crate) audience: &'a str,
    /// Other audiences that may be listed beside it (`None`: any others may).
    pub(crate) trusted_audiences: Option<&'a [String]>,
    pub(crate) leeway: Duration,
}

/// Why the registered claims were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClaimsError {
    Expired,
    Invalid(String),
}

/// Checks `iss` (exact), `aud`, `exp` (required), `nbf` and `iat` (not in the future), each
/// time with the leeway for clocks that differ.
pub(crate) fn check_registered(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<(), ClaimsError> {
    let invalid = |why: String| Err(ClaimsError::Invalid(why));
    let now = now();
    let leeway = expected.leeway.as_secs() as i64;
    match string(claims, "iss") {
        Some(iss) if iss == expected.issuer => {}
        Some(iss) => {
            return invalid(format!(
                "iss {iss:?} is not the issuer {:?}",
                expected.issuer
            ));
        }
        None => return invalid("no iss".to_owned()),
    }
    let audiences = audiences(claims);
    if !audiences.iter().any(|aud| aud == expected.audience) {
        return invalid(format!(
            "aud {audiences:?} does not list {:?}",
            expected.audience
        ));
    }
    if let Some(trusted) = expected.trusted_audiences
        && let Some(other) = audiences
            .iter()
            .find(|aud| *aud != expected.audience && !trusted.contains(aud))
    {
        return invalid(format!(
            "aud lists {other:?}, an audience this app does not trust"
        ));
    }
    match numeric_date(claims, "exp") {
        Some(exp) if exp + leeway <= now => return Err(ClaimsError::Expired),
        Some(_) => {}
        None => return invalid("no exp".to_owned()),
    }
    if let Some(nbf) = numeric_date(claims, "nbf")
        && nbf - leeway > now
    {
        return invalid(format!("not valid before {nbf} (now {now})"));
    }
    // A token "issued" in the future comes from a clock that is off, or was minted to be
    // replayed later.
    if let Some(iat) = numeric_date(claims, "iat")
        && iat - leeway > now
    {
        return invalid(format!("issued in the future (iat {iat}, now {now})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn lenient_claims_read_what_real_providers_send() {
        let claims = map(json!({
            "a": "true", "b": "FALSE", "c": true, "d": "yes",
            "t": "2024-05-01T12:30:00.000Z", "n": 1714566600, "f": 1714566600.75,
        }));
        assert_eq!(boolean(&claims, "a"), Some(true));
        assert_eq!(boolean(&claims, "b"), Some(false));
        assert_eq!(boolean(&claims, "c"), Some(true));
        assert_eq!(boolean(&claims, "d"), None);
        assert_eq!(time(&claims, "t"), Some(1714566600));
        assert_eq!(time(&claims, "n"), Some(1714566600));
        assert_eq!(numeric_date(&claims, "f"), Some(1714566600));
    }

    #[test]
    fn tokens_that_are_not_three_segments_or_name_none_are_refused() {
        assert!(matches!(decode("a.b"), Err(JwtError::Malformed(_))));
        assert!(matches!(decode("a.b.c.d.e"), Err(JwtError::Malformed(_))));
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let payload = URL_SAFE_NO_PAD.encode("{}");
        let jws = decode(&format!("{header}.{payload}.")).unwrap();
        assert_eq!(
            jws.verify(&[], &["none".to_owned()]).unwrap_err(),
            JwtError::Algorithm("none".to_owned())
        );
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        let jws = decode(&format!("{header}.{payload}.c2ln")).unwrap();
        assert!(matches!(
            jws.verify(&[], &["HS256".to_owned()]),
            Err(JwtError::Algorithm(_))
        ));
    }
}
