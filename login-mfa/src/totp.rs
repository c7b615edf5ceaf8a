//! RFC 6238 one-time codes on totp-rs: codes at a time, the step a code matches (with one
//! step of skew each way, compared in constant time), the `otpauth://` URL and its QR code.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use totp_rs::{Algorithm, TOTP};

use crate::secrets::same;

/// The hash a TOTP uses (RFC 6238 allows SHA-1, SHA-256 and SHA-512; authenticator apps
/// mostly know only SHA-1, the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TotpAlgorithm {
    /// HMAC-SHA-1.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    fn totp_rs(self) -> Algorithm {
        match self {
            TotpAlgorithm::Sha1 => Algorithm::SHA1,
            TotpAlgorithm::Sha256 => Algorithm::SHA256,
            TotpAlgorithm::Sha512 => Algorithm::SHA512,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }
}

/// A TOTP generator and checker for one secret: 30-second steps, `digits` digits.
///
/// ```
/// use login_mfa::{Totp, TotpAlgorithm};
///
/// // RFC 6238, appendix B: the SHA-1 seed at T = 59 s.
/// let totp = Totp::new(TotpAlgorithm::Sha1, b"12345678901234567890".to_vec(), 8);
/// assert_eq!(totp.code_at(59), "94287082");
/// assert_eq!(totp.matching_step("94287082", 59), Some(1));
/// ```
#[derive(Clone)]
pub struct Totp {
    inner: TOTP,
    algorithm: TotpAlgorithm,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Totp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.inner.digits)
            .finish_non_exhaustive()
    }
}

/// The length of a TOTP step, in seconds.
pub const STEP_SECONDS: u64 = 30;

impl Totp {
    /// A TOTP of `secret` (raw bytes, not base32).
    pub fn new(algorithm: TotpAlgorithm, secret: Vec<u8>, digits: usize) -> Totp {
        Totp {
            inner: TOTP::new_unchecked(algorithm.totp_rs(), digits, 1, STEP_SECONDS, secret),
            algorithm,
        }
    }

    /// The code at `unix_time` (seconds).
    pub fn code_at(&self, unix_time: u64) -> String {
        self.inner.generate(unix_time)
    }

    /// The step (`unix_time / 30`) whose code `code` is, looking at the step of `unix_time`
    /// and one on either side (clock skew); `None` for a wrong or malformed code. Each
    /// candidate is compared in constant time.
    pub fn matching_step(&self, code: &str, unix_time: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != self.inner.digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_time / STEP_SECONDS;
        let mut found = None;
        // All three are computed and compared, found or not.
        for step in [now.saturating_sub(1), now, now + 1] {
            if same(&self.code_at(step * STEP_SECONDS), code) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The secret in base32 without padding, as authenticator apps take it when typed.
    pub fn secret_base32(&self) -> String {
        self.inner.get_secret_base32()
    }

    /// The `otpauth://totp/…` URL authenticator apps read from the QR code.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> String {
        let label = format!("{issuer}:{account}");
        format!(
            "otpauth://totp/{}?secret={}&issuer={}&algorithm={}&digits={}&period={}",
            utf8_percent_encode(&label, NON_ALPHANUMERIC),
            self.secret_base32(),
            utf8_percent_encode(issuer, NON_ALPHANUMERIC),
            self.algorithm.name(),
            self.inner.digits,
            STEP_SECONDS,
        )
    }
}

/// `text` as a QR code in an SVG document (black modules on white, a four-module margin),
/// with `aria-label` for screen readers.
pub fn qr_svg(text: &str, label: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let border = 4;
    let dim = size + 2 * border;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {dim} {dim}\" width=\"{w}\" height=\"{w}\" role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>",
        w = dim * 6,
    ))
}
