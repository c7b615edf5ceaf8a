#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn key(seed: u8) -> SecretKey {
    // Distinct, deterministic keys of enough entropy.
    use sha2::Digest;
    SecretKey::try_from_bytes(&sha2::Sha512::digest([seed])).unwrap()
}

fn signed() -> RememberCodec {
    RememberCodec::new(RememberFormat::Signed, key(1))
}

fn flask_login() -> RememberCodec {
    RememberCodec::new(RememberFormat::FlaskLogin, key(1))
}

#[test]
fn signed_round_trip_carries_id_expiry_duration_and_tag() {
    let tag = key(1).session_hash_tag(b"pbkdf2:sha256:600000$salt$hash");
    let cookie = signed().encode("42", Some(&tag), 7 * HOUR, t0());
    assert!(cookie.starts_with("v1.42."), "{cookie}");
    assert!(!cookie.contains("pbkdf2"), "{cookie}");
    let token = signed().decode(&cookie, t0()).unwrap();
    assert_eq!(
        token,
        RememberToken {
            user_id: "42".to_owned(),
            expires_at: Some(t0() + 7 * HOUR),
            duration: Some(7 * HOUR),
            hash_tag: Some(tag.clone()),
            signed_with_previous_key: false,
        }
    );
    assert!(token.hash_tag_matches(Some(&tag)));
}

#[test]
fn signed_round_trips_any_id_and_is_a_plain_cookie_value() {
    for user_id in [
        "",
        "0",
        "佐藤",
        "佐藤 x;y",
        "a|b",
        "a.b.c",
        "~",
        "%41",
        "v1.1.2.3.~",
        "\"quoted\\\"",
        "tab\tnewline\nnul\0",
    ] {
        for tag in [None, Some(""), Some("~"), Some("a.b%")] {
            let cookie = signed().encode(user_id, tag, HOUR, t0());
            // RFC 6265 cookie-octets only: no quoting needed in Set-Cookie.
            assert!(
                cookie.bytes().all(
                    |b| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
                ),
                "{cookie}"
            );
            let token = signed().decode(&cookie, t0()).unwrap();
            assert_eq!(token.user_id, user_id);
            assert_eq!(token.hash_tag.as_deref(), tag);
        }
    }
}

#[test]
fn expired_cookie_is_refused_although_the_client_still_sends_it() {
    let cookie = signed().encode("42", None, HOUR, t0());
    assert!(
        signed()
            .decode(&cookie, t0() + HOUR - Duration::from_secs(1))
            .is_some()
    );
    assert!(signed().decode(&cookie, t0() + HOUR).is_none());
    assert!(signed().decode(&cookie, t0() + 5000 * 24 * HOUR).is_none());
    // Sub-second parts are dropped, never rounded up.
    let cookie = signed().encode("42", None, Duration::from_millis(1999), t0());
    let token = signed().decode(&cookie, t0()).unwrap();
    assert_eq!(token.duration, Some(Duration::from_secs(1)));
    assert!(
        signed()
            .decode(&cookie, t0() + Duration::from_secs(1))
            .is_none()
    );
}

#[test]
fn extreme_times_neither_panic_nor_extend_validity() {
    let cookie = signed().encode("42", None, Duration::MAX, SystemTime::UNIX_EPOCH);
    let token = signed().decode(&cookie, t0()).unwrap();
    assert_eq!(token.duration, Some(Duration::from_secs(u64::MAX)));
    assert_eq!(
        token.expires_at,
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799))
    );
    let before_epoch = SystemTime::UNIX_EPOCH - Duration::from_secs(1_000);
    let cookie = signed().encode("42", None, HOUR, before_epoch);
    let token = signed().decode(&cookie, before_epoch).unwrap();
    assert_eq!(token.expires_at, Some(SystemTime::UNIX_EPOCH + HOUR));
    assert!(signed().decode(&cookie, t0()).is_none());
    let zero = signed().encode("42", None, Duration::ZERO, t0());
    assert!(signed().decode(&zero, t0()).is_none());
}

/// Every way of changing one byte: each position replaced by every other ASCII byte, each
/// byte deleted, a byte inserted at each position, every truncation.
fn single_byte_changes(cookie: &str) -> impl Iterator<Item = String> + '_ {
    let bytes = cookie.as_bytes();
    let replaced = (0..bytes.len()).flat_map(move |i| {
        (0_u8..0x80).filter(move |&b| b != bytes[i]).map(move |b| {
            let mut v = bytes.to_vec();
            v[i] = b;
            v
        })
    });
    let deleted = (0..bytes.len()).map(move |i| {
        let mut v = bytes.to_vec();
        v.remove(i);
        v
    });
    let inserted = (0..=bytes.len()).flat_map(move |i| {
        [b'0', b'a', b'.', b'|', b'%'].into_iter().map(move |b| {
            let mut v = bytes.to_vec();
            v.insert(i, b);
            v
        })
    });
    let truncated = (0..bytes.len()).map(move |n| bytes[..n].to_vec());
    replaced
        .chain(deleted)
        .chain(inserted)
        .chain(truncated)
        .filter_map(|v| String::from_utf8(v).ok())
        .filter(move |changed| changed != cookie)
}

#[test]
fn changing_any_single_byte_of_a_signed_cookie_is_refused() {
    let codec = signed();
    let tag = key(1).session_hash_tag(b"hash");
    for cookie in [
        codec.encode("42", Some(&tag), HOUR, t0()),
        codec.encode("佐藤 x;y", None, HOUR, t0()),
    ] {
        let mut tried = 0;
        for changed in single_byte_changes(&cookie) {
            tried += 1;
            assert_eq!(codec.decode(&changed, t0()), None, "accepted {changed:?}");
        }
        assert!(tried > 127 * cookie.len(), "{tried}");
    }
}

#[test]
fn changing_any_single_byte_of_a_flask_login_cookie_is_refused() {
    let codec = flask_login();
    for cookie in [
        codec.encode("42", None, HOUR, t0()),
        codec.encode("a|b", None, HOUR, t0()),
    ] {
        assert!(codec.decode(&cookie, t0()).is_some());
        for changed in single_byte_changes(&cookie) {
            assert_eq!(codec.decode(&changed, t0()), None, "accepted {changed:?}");
        }
    }
}

#[test]
fn cookie_signed_with_a_rotated_out_key_is_accepted_while_listed_then_refused() {
    for format in [RememberFormat::Signed, RememberFormat::FlaskLogin] {
        let old = RememberCodec::new(format, key(1));
        let cookie = old.encode("42", None, HOUR, t0());

        let rotated = RememberCodec::new(format, key(2)).with_previous_keys([key(3), key(1)]);
        let token = rotated.decode(&cookie, t0()).unwrap();
        assert_eq!(token.user_id, "42");
        assert!(token.signed_with_previous_key, "{format:?}");

        // Re-signed with the current key, it no longer needs the old one.
        let resigned = rotated.encode(&token.user_id, None, HOUR, t0());
        let retired = RememberCodec::new(format, key(2));
        assert!(
            !retired
                .decode(&resigned, t0())
                .unwrap()
                .signed_with_previous_key
        );
        assert_eq!(retired.decode(&cookie, t0()), None, "{format:?}");
        assert_eq!(
            RememberCodec::new(format, key(2))
                .with_previous_keys([key(3)])
                .decode(&cookie, t0()),
            None
        );
    }
}

#[test]
fn session_hash_tag_mismatch_is_detected() {
    let k = key(1);
    let before = k.session_hash_tag(b"old password hash");
    let after = k.session_hash_tag(b"new password hash");
    let cookie = signed().encode("42", Some(&before), HOUR, t0());
    let token = signed().decode(&cookie, t0()).unwrap();
    assert!(token.hash_tag_matches(Some(&before)));
    assert!(!token.hash_tag_matches(Some(&after)));
    assert!(!token.hash_tag_matches(None));
    let untagged = signed()
        .decode(&signed().encode("42", None, HOUR, t0()), t0())
        .unwrap();
    assert!(untagged.hash_tag_matches(None));
    assert!(!untagged.hash_tag_matches(Some(&before)));
    // The FlaskLogin format carries no tag: documented as its limitation.
    let flask = flask_login().decode(&flask_login().encode("42", Some(&before), HOUR, t0()), t0());
    assert!(flask.unwrap().hash_tag_matches(Some(&after)));
}

#[test]
fn oversized_cookies_are_refused_at_the_limit() {
    for codec in [signed(), flask_login()] {
        let fixed = codec.encode("", None, HOUR, t0()).len();
        let fits = codec.encode(&"x".repeat(MAX_COOKIE_LEN - fixed), None, HOUR, t0());
        assert_eq!(fits.len(), MAX_COOKIE_LEN);
        assert!(codec.decode(&fits, t0()).is_some());
        let over = codec.encode(&"x".repeat(MAX_COOKIE_LEN - fixed + 1), None, HOUR, t0());
        assert_eq!(codec.decode(&over, t0()), None);
        assert_eq!(codec.decode(&"a".repeat(64 * 1024), t0()), None);
    }
}

#[test]
fn one_format_never_accepts_the_other() {
    let signed_cookie = signed().encode("42", None, HOUR, t0());
    let flask_cookie = flask_login().encode("42", None, HOUR, t0());
    assert_eq!(flask_login().decode(&signed_cookie, t0()), None);
    assert_eq!(signed().decode(&flask_cookie, t0()), None);

    // A FlaskLogin MAC over an attacker-chosen id that spells a signed payload cannot be
    // replayed as a signed cookie for "admin" (domain separation).
    let forged_payload = "v1.admin.99999999999.1.~";
    let flask_mac = flask::encode_cookie(key(1).as_bytes(), forged_payload);
    let (_, mac) = flask_mac.rsplit_once('|').unwrap();
    assert_eq!(
        signed().decode(&format!("{forged_payload}.{mac}"), t0()),
        None
    );
}

#[test]
fn flask_login_codec_is_exactly_flask_login() {
    let codec = flask_login();
    let cookie = codec.encode("佐藤", Some("tag"), HOUR, t0());
    assert_eq!(cookie, flask::encode_cookie(key(1).as_bytes(), "佐藤"));
    assert_eq!(
        codec.decode(&cookie, t0() + 100_000 * 24 * HOUR),
        Some(RememberToken {
            user_id: "佐藤".to_owned(),
            expires_at: None,
            duration: None,
            hash_tag: None,
            signed_with_previous_key: false,
        })
    );
}

#[test]
fn codec_debug_shows_no_key_material() {
    let k = SecretKey::try_from("Zq8#Lm2$Wx7!Pv4%Tn9&Hb3*Rc6(Yd1)").unwrap();
    let debug = format!(
        "{:?}",
        RememberCodec::new(RememberFormat::Signed, k.clone()).with_previous_keys([k])
    );
    assert!(!debug.contains("Zq8"), "{debug}");
    assert!(!debug.contains("90, 113"), "{debug}");
}

#[test]
fn lowercase_hex_is_the_only_spelling() {
    assert_eq!(decode_lowercase_hex::<2>("0aff"), Some([0x0a, 0xff]));
    assert_eq!(decode_lowercase_hex::<2>("0AFF"), None);
    assert_eq!(decode_lowercase_hex::<2>("0af"), None);
    assert_eq!(decode_lowercase_hex::<2>("0aff0"), None);
    assert_eq!(decode_lowercase_hex::<2>("0ag0"), None);
    assert_eq!(decode_lowercase_hex::<2>("+aff"), None);
}

#[test]
fn werkzeug_quoting_round_trips_and_leaves_plain_values_alone() {
    use super::flask::{quote_cookie_value, unquote_cookie_value};
    assert_eq!(quote_cookie_value("1|abc"), "1|abc");
    assert_eq!(quote_cookie_value("a b"), "\"a b\"");
    assert_eq!(quote_cookie_value("x;y,z"), "\"x\\073y\\054z\"");
    assert_eq!(quote_cookie_value("q\"\\"), "\"q\\\"\\\\\"");
    assert_eq!(quote_cookie_value("é"), "\"\\303\\251\"");
    for value in [
        "",
        "1",
        "佐藤 x;y",
        "tab\there",
        "\"quoted\"",
        "back\\slash",
        "\u{7f}\u{1}",
        "…|…",
    ] {
        let quoted = quote_cookie_value(value);
        let inner = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .unwrap_or(&quoted);
        assert_eq!(
            unquote_cookie_value(inner).as_deref(),
            Some(value),
            "{value:?} as {quoted}"
        );
    }
    // Invalid UTF-8 after unescaping is refused, a lone backslash kept.
    assert_eq!(unquote_cookie_value("\\377"), None);
    assert_eq!(unquote_cookie_value("a\\").as_deref(), Some("a\\"));
}

#[test]
fn cookie_headers_are_read_as_werkzeug_reads_them() {
    use super::flask::werkzeug_cookie_values;
    let values = |header: &'static str| -> Vec<Option<String>> {
        werkzeug_cookie_values(header, "remember")
            .map(|value| value.map(std::borrow::Cow::into_owned))
            .collect()
    };
    let some = |value: &str| vec![Some(value.to_owned())];
    assert_eq!(values("remember=1|ab"), some("1|ab"));
    assert_eq!(values("id=x; remember = 1|ab ;other=y"), some("1|ab"));
    // Quoted: unquoted, and the whitespace inside the quotes kept.
    assert_eq!(values(r#"remember="  7|ab""#), some("  7|ab"));
    assert_eq!(
        values(r#"remember="\344\275\220 x\073y|ab""#),
        some("佐 x;y|ab")
    );
    // Escapes outside quotes are not escapes; a lone quote is not a quoted value.
    assert_eq!(values(r"remember=\061|ab"), some(r"\061|ab"));
    assert_eq!(values(r#"remember=""#), some("\""));
    assert_eq!(values(r#"remember="""#), some(""));
    // Every cookie of that name, in order; other names and pairs without `=` are skipped.
    assert_eq!(
        values("remember=a; remembered=b; remember; remember=c"),
        vec![Some("a".to_owned()), Some("c".to_owned())]
    );
    // A quoted value that is not UTF-8 once unquoted.
    assert_eq!(values(r#"remember="\377""#), vec![None]);
}
