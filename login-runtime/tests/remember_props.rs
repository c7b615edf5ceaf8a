//! Hostile remember cookies (issue 5): whatever a client sends, decoding never panics and
//! never yields a user unless the value is exactly one the server issued.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use login_runtime::SecretKey;
use login_runtime::remember::flask::decode_cookie;
use login_runtime::remember::{RememberCodec, RememberFormat};
use proptest::prelude::*;
use proptest::sample::Index;

const KEY: &str = "Zq8#Lm2$Wx7!Pv4%Tn9&Hb3*Rc6(Yd1)";
const OLD_KEY: &str = "kR4!vB9@pW2#sN7$hT5%mC3^gX8&zL6*";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn codec(format: RememberFormat) -> RememberCodec {
    RememberCodec::new(format, SecretKey::try_from(KEY).unwrap())
        .with_previous_keys([SecretKey::try_from(OLD_KEY).unwrap()])
}

fn codecs() -> [RememberCodec; 2] {
    [
        codec(RememberFormat::Signed),
        codec(RememberFormat::FlaskLogin),
    ]
}

/// One change to `cookie`, at a char boundary so the result is still a `&str`.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
    Truncate(Index),
    Append(char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<char>()).prop_map(|(at, c)| Mutation::Replace(at, c)),
        (any::<Index>(), "[0-9a-f.|~%-]")
            .prop_map(|(at, c)| { Mutation::Replace(at, c.chars().next().unwrap()) }),
        (any::<Index>(), any::<char>()).prop_map(|(at, c)| Mutation::Insert(at, c)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
        any::<char>().prop_map(Mutation::Append),
    ]
}

fn apply(cookie: &str, mutation: &Mutation) -> String {
    let mut chars: Vec<char> = cookie.chars().collect();
    let len = chars.len();
    match *mutation {
        Mutation::Replace(at, c) => chars[at.index(len)] = c,
        Mutation::Insert(at, c) => chars.insert(at.index(len + 1), c),
        Mutation::Delete(at) => {
            chars.remove(at.index(len));
        }
        Mutation::Truncate(at) => chars.truncate(at.index(len)),
        Mutation::Append(c) => chars.push(c),
    }
    chars.into_iter().collect()
}

fn refused_everywhere(cookie: &str) -> Result<(), TestCaseError> {
    for codec in codecs() {
        prop_assert_eq!(codec.decode(cookie, now()), None, "{:?}", codec.format());
    }
    for key in [KEY, OLD_KEY] {
        prop_assert_eq!(decode_cookie(key.as_bytes(), cookie), None);
    }
    Ok(())
}

proptest! {
    // Modest by default so the suite stays fast; raise with e.g. PROPTEST_CASES=100000.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic_and_never_decode(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        refused_everywhere(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_strings_never_panic_and_never_decode(cookie in "\\PC{0,300}") {
        refused_everywhere(&cookie)?;
    }

    #[test]
    fn cookie_shaped_strings_with_a_guessed_mac_never_decode(
        user_id in "[a-zA-Z0-9%_-]{0,20}",
        expires in any::<u64>(),
        duration in any::<u64>(),
        tag in "~|[0-9a-f]{32}",
        mac in "[0-9a-f]{128}",
    ) {
        refused_everywhere(&format!("v1.{user_id}.{expires}.{duration}.{tag}.{mac}"))?;
        refused_everywhere(&format!("{user_id}|{mac}"))?;
    }

    #[test]
    fn single_mutations_of_valid_cookies_are_never_accepted(
        user_id in "\\PC{0,24}",
        tag in proptest::option::of("[0-9a-f]{32}"),
        duration in 1_u64..(10 * 365 * 24 * 3600),
        with_old_key in any::<bool>(),
        mutation in mutation(),
    ) {
        for format in [RememberFormat::Signed, RememberFormat::FlaskLogin] {
            let issuer = if with_old_key {
                RememberCodec::new(format, SecretKey::try_from(OLD_KEY).unwrap())
            } else {
                codec(format)
            };
            let cookie = issuer.encode(&user_id, tag.as_deref(), Duration::from_secs(duration), now());
            let token = codec(format).decode(&cookie, now());
            prop_assert_eq!(token.map(|token| token.user_id), Some(user_id.clone()));

            let mutated = apply(&cookie, &mutation);
            prop_assume!(mutated != cookie);
            prop_assert_eq!(codec(format).decode(&mutated, now()), None, "{:?}", mutated);
        }
    }
}

proptest! {
    // Each case hashes kilobytes: a few suffice for a length check.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn oversized_values_never_decode_even_when_validly_signed(
        len in 4097_usize..6_000,
        fill in any::<char>(),
    ) {
        let user_id: String = std::iter::repeat_n(fill, len / fill.len_utf8()).collect();
        for codec in codecs() {
            let cookie = codec.encode(&user_id, None, Duration::from_secs(60), now());
            prop_assert!(cookie.len() > 4096);
            prop_assert_eq!(codec.decode(&cookie, now()), None, "{:?}", codec.format());
        }
    }
}
