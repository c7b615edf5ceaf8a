//! A TOTP secret's bytes from its base32 form, as an authenticator app reads it: for the demo's
//! tests that compute codes (`demo/mfa.rs`, `browser.rs`), each including this file with
//! `#[path]`.

/// A TOTP's secret from its base32 form, as an authenticator app reads it.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut count, mut out) = (0u64, 0, Vec::new());
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}
