//! The FlaskLogin remember format against Flask-Login 0.6.3 itself: the shared vectors made
//! with the real `encode_cookie`/`decode_cookie`, and the parity checklist's cookie items
//! (`../shared/parity/FLASK_LOGIN_TESTS.md`, K 94-98, P21, P29).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use login_runtime::SecretKey;
use login_runtime::remember::flask::{decode_cookie, encode_cookie, secret_key_bytes};
use login_runtime::remember::{RememberCodec, RememberFormat};
use serde::Deserialize;

/// `SECRET_KEY = "deterministic"` and the digest Flask-Login's `test_cookie_encoding` expects.
const DETERMINISTIC_1: &str = "1|0e9e6e9855fbe6df7906ec4737578a1d491b38d3fd5246c1561016e189d6516043286501ca43257c938e60aad77acec5ce916b94ca9d00c0bb6f9883ae4b82ae";

#[derive(Deserialize)]
struct Vectors {
    generator: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    secret_key: String,
    user_id: Option<String>,
    cookie: String,
    valid: bool,
}

/// The vectors made with the real Flask-Login 0.6.3 (`shared/vectors/` of the project),
/// copied unchanged into `tests/vectors/` so that any checkout runs this suite.
fn vectors() -> Vectors {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/flask_login_remember_cookies.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "cannot read the Flask-Login remember cookie vectors at {}: {err}",
            path.display()
        )
    });
    let vectors: Vectors = serde_json::from_str(&text).unwrap();
    assert!(vectors.generator.contains("0.6.3"), "{}", vectors.generator);
    assert!(vectors.cases.len() >= 100, "{} cases", vectors.cases.len());
    vectors
}

/// Flask encodes a `str` `SECRET_KEY` as Latin-1.
fn flask_secret(case: &Case) -> Vec<u8> {
    secret_key_bytes(&case.secret_key).expect("a Latin-1 secret key")
}

#[test]
fn every_valid_vector_decodes_to_its_id_and_is_encoded_byte_for_byte() {
    let vectors = vectors();
    let mut valid = 0;
    for case in vectors.cases.iter().filter(|case| case.valid) {
        let secret = flask_secret(case);
        let user_id = case.user_id.as_deref().expect("a valid case has its id");
        assert_eq!(
            decode_cookie(&secret, &case.cookie).as_deref(),
            Some(user_id),
            "{:?}",
            case.cookie
        );
        assert_eq!(encode_cookie(&secret, user_id), case.cookie);
        valid += 1;
    }
    assert!(valid >= 30, "{valid} valid cases");
}

#[test]
fn every_invalid_vector_is_refused() {
    let vectors = vectors();
    let mut invalid = 0;
    for case in vectors.cases.iter().filter(|case| !case.valid) {
        assert_eq!(
            decode_cookie(&flask_secret(case), &case.cookie),
            None,
            "{:?}",
            case.cookie
        );
        invalid += 1;
    }
    assert!(invalid >= 100, "{invalid} invalid cases");
}

#[test]
fn vectors_cover_non_ascii_ids_and_ids_containing_a_bar() {
    let vectors = vectors();
    let valid_ids = || {
        vectors
            .cases
            .iter()
            .filter(|case| case.valid)
            .filter_map(|case| case.user_id.as_deref())
    };
    assert!(valid_ids().any(|id| !id.is_ascii()));
    assert!(valid_ids().any(|id| id.contains('|')));
}

#[test]
fn the_flask_login_codec_reads_and_writes_every_vector_whose_key_is_strong() {
    let now = SystemTime::now();
    let mut checked = 0;
    for case in vectors().cases {
        // `SecretKey` refuses weak keys such as "dev": only the strong ones apply.
        let Ok(key) = SecretKey::try_from_bytes(&flask_secret(&case)) else {
            continue;
        };
        let codec = RememberCodec::new(RememberFormat::FlaskLogin, key);
        let token = codec.decode(&case.cookie, now);
        assert_eq!(token.is_some(), case.valid, "{:?}", case.cookie);
        if let (Some(token), Some(user_id)) = (token, case.user_id.as_deref()) {
            assert_eq!(token.user_id, user_id);
            assert_eq!(token.expires_at, None);
            assert_eq!(
                codec.encode(user_id, None, Duration::from_secs(60), now),
                case.cookie
            );
        }
        checked += 1;
    }
    assert!(checked >= 100, "{checked} cases");
}

/// K 94 `test_cookie_encoding`.
#[test]
fn parity_94_cookie_encoding() {
    let secret = secret_key_bytes("deterministic").unwrap();
    assert_eq!(encode_cookie(&secret, "1"), DETERMINISTIC_1);
    assert_eq!(
        decode_cookie(&secret, DETERMINISTIC_1).as_deref(),
        Some("1")
    );
    assert_eq!(decode_cookie(&secret, "Foo|BAD_BASH"), None);
    assert_eq!(decode_cookie(&secret, "no bar"), None);
}

/// K 95 `test_cookie_encoding_with_key`: the key passed explicitly is the one used, whatever
/// else the app is configured with.
#[test]
fn parity_95_cookie_encoding_with_key() {
    let app_secret = secret_key_bytes("not-used").unwrap();
    let key = secret_key_bytes("deterministic").unwrap();
    assert_eq!(encode_cookie(&key, "1"), DETERMINISTIC_1);
    assert_eq!(decode_cookie(&key, DETERMINISTIC_1).as_deref(), Some("1"));
    assert_eq!(decode_cookie(&key, "Foo|BAD_BASH"), None);
    assert_eq!(decode_cookie(&key, "no bar"), None);
    assert_ne!(encode_cookie(&app_secret, "1"), DETERMINISTIC_1);
    assert_eq!(decode_cookie(&app_secret, DETERMINISTIC_1), None);
}

/// K 96 `test_bytes`: a bytes key is used unchanged, even bytes that are not UTF-8.
#[test]
fn parity_96_bytes_key_is_used_unchanged() {
    let key = b"\x9e\x8f\x14 not utf-8 \xff";
    let cookie = encode_cookie(key, "1");
    assert_eq!(decode_cookie(key, &cookie).as_deref(), Some("1"));
    assert_eq!(decode_cookie(b"\x9e\x8f\x14 not utf-8 \xfe", &cookie), None);
}

/// K 97 `test_native`: a str key is encoded as Latin-1.
#[test]
fn parity_97_str_key_is_latin1() {
    assert_eq!(
        secret_key_bytes("\u{9e}\u{8f}\u{14}"),
        Some(b"\x9e\x8f\x14".to_vec())
    );
    let latin1 = secret_key_bytes("clé").unwrap();
    assert_eq!(latin1, b"cl\xe9");
    assert_ne!(latin1, "clé".as_bytes());
    // Python's `"佐藤".encode("latin1")` raises.
    assert_eq!(secret_key_bytes("佐藤"), None);
}

/// K 98 `test_default`: an explicit key works without any app.
#[test]
fn parity_98_explicit_key_needs_no_app() {
    let key = secret_key_bytes("deterministic").unwrap();
    assert_eq!(
        decode_cookie(&key, &encode_cookie(&key, "1")).as_deref(),
        Some("1")
    );
}

/// P21: `decode_cookie` accepts `|` inside the payload and an empty payload, and rejects
/// uppercase hex.
#[test]
fn parity_p21_bar_in_payload_empty_payload_and_uppercase_hex() {
    let key = b"deterministic";
    let with_bars = encode_cookie(key, "a|b||c");
    assert_eq!(decode_cookie(key, &with_bars).as_deref(), Some("a|b||c"));
    let empty = encode_cookie(key, "");
    assert!(empty.starts_with('|'));
    assert_eq!(decode_cookie(key, &empty).as_deref(), Some(""));
    let (id, digest) = DETERMINISTIC_1.split_once('|').unwrap();
    assert_eq!(
        decode_cookie(key, &format!("{id}|{}", digest.to_uppercase())),
        None
    );
    // One uppercase digit is enough.
    let one_upper = DETERMINISTIC_1.replacen('e', "E", 1);
    assert_eq!(decode_cookie(key, &one_upper), None);
}

/// P29: the id `佐藤 x;y` round-trips (Werkzeug's quoting of the value is the transport's).
#[test]
fn parity_p29_non_ascii_id_with_separators_round_trips() {
    let key = b"deterministic";
    let cookie = encode_cookie(key, "佐藤 x;y");
    assert!(cookie.starts_with("佐藤 x;y|"));
    assert_eq!(decode_cookie(key, &cookie).as_deref(), Some("佐藤 x;y"));
}

/// Deliberate difference: Flask-Login raises `TypeError` (a 500) comparing a digest with
/// non-ASCII characters; this refuses it.
#[test]
fn non_ascii_digest_is_refused_not_an_error() {
    let key = b"deterministic";
    let (id, digest) = DETERMINISTIC_1.split_once('|').unwrap();
    let with_non_ascii = format!("{id}|é{}", &digest[2..]);
    assert_eq!(decode_cookie(key, &with_non_ascii), None);
    assert_eq!(decode_cookie(key, &format!("{DETERMINISTIC_1}é")), None);
}
