//! `is_safe_next` never panics, and whatever it accepts is a single-slash path with no control
//! character or backslash that no amount of percent-decoding turns into another host. The URL
//! builders get the same input and must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_runtime::{is_safe_next, login_url, make_next_param};
use percent_encoding::percent_decode_str;

fuzz_target!(|data: &[u8]| {
    let target = String::from_utf8_lossy(data);
    if is_safe_next(&target) {
        assert!(target.len() <= 2048);
        assert!(target.starts_with('/'));
        assert!(!target.contains('\\'));
        assert!(!target.chars().any(char::is_control));
        let mut decoded = target.to_string();
        for _ in 0..16 {
            assert!(
                !decoded.starts_with("//"),
                "{target:?} decodes to {decoded:?}"
            );
            assert!(
                !decoded.starts_with("/\\"),
                "{target:?} decodes to {decoded:?}"
            );
            let next = percent_decode_str(&decoded)
                .decode_utf8_lossy()
                .into_owned();
            if next == decoded {
                break;
            }
            decoded = next;
        }
    }
    let (view, current) = target.split_once('\n').unwrap_or((&target, "/"));
    let _ = make_next_param(view, current);
    let _ = login_url(view, Some(current), "next");
    let _ = login_url(view, None, "next");
});
