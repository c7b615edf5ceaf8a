//! The signed remember cookie: no input panics, and nothing but the one cookie the key signed
//! is ever accepted, however the fuzzer edits it.
#![no_main]

use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use login_runtime::SecretKey;
use login_runtime::remember::{RememberCodec, RememberFormat};

#[path = "common.rs"]
mod common;

static CODEC: LazyLock<RememberCodec> = LazyLock::new(|| {
    let key = SecretKey::try_from_bytes(&common::key_bytes()).expect("fixed key is strong");
    RememberCodec::new(RememberFormat::Signed, key)
});

static VALID: LazyLock<String> =
    LazyLock::new(|| CODEC.encode("42", Some("tag"), Duration::from_secs(3600), common::now()));

fn check(cookie: &[u8]) {
    let Ok(cookie) = std::str::from_utf8(cookie) else {
        return;
    };
    if let Some(token) = CODEC.decode(cookie, common::now()) {
        assert_eq!(
            cookie,
            VALID.as_str(),
            "accepted a cookie the key never signed"
        );
        let _ = token.hash_tag_matches(Some("tag"));
        let _ = token.hash_tag_matches(None);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&common::mutate(&VALID, data));
});
