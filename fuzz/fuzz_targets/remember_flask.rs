//! The Flask-Login remember cookie (`id|hex(HMAC-SHA512(secret, id))`), through both the free
//! function and the codec: no input panics, only the one cookie the key signed is accepted,
//! and the signed format never accepts it.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use login_runtime::SecretKey;
use login_runtime::remember::flask::{decode_cookie, encode_cookie};
use login_runtime::remember::{RememberCodec, RememberFormat};

#[path = "common.rs"]
mod common;

static KEY: LazyLock<Vec<u8>> = LazyLock::new(common::key_bytes);

static CODEC: LazyLock<RememberCodec> = LazyLock::new(|| {
    let key = SecretKey::try_from_bytes(&KEY).expect("fixed key is strong");
    RememberCodec::new(RememberFormat::FlaskLogin, key)
});

static SIGNED: LazyLock<RememberCodec> = LazyLock::new(|| {
    let key = SecretKey::try_from_bytes(&KEY).expect("fixed key is strong");
    RememberCodec::new(RememberFormat::Signed, key)
});

static VALID: LazyLock<String> = LazyLock::new(|| encode_cookie(&KEY, "42|x"));

fn check(cookie: &[u8]) {
    let Ok(cookie) = std::str::from_utf8(cookie) else {
        return;
    };
    let decoded = decode_cookie(&KEY, cookie);
    let token = CODEC.decode(cookie, common::now());
    assert_eq!(
        decoded.as_deref(),
        token.as_ref().map(|token| token.user_id.as_str()),
        "free function and codec disagree"
    );
    if decoded.is_some() {
        assert_eq!(
            cookie,
            VALID.as_str(),
            "accepted a cookie the key never signed"
        );
    }
    assert!(
        SIGNED.decode(cookie, common::now()).is_none(),
        "signed format accepted a Flask-format value"
    );
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&common::mutate(&VALID, data));
});
