//! Accept / X-Requested-With detection on raw header bytes: never panics, and a genuine
//! `X-Requested-With: XMLHttpRequest` always wins.
#![no_main]

use libfuzzer_sys::fuzz_target;
use login_runtime::prefers_json;

fuzz_target!(|data: &[u8]| {
    // Accept, then (after the first NUL, if any) X-Requested-With.
    let (accept, xhr) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let _ = prefers_json(Some(accept), xhr);
    let _ = prefers_json(None, xhr);
    assert!(prefers_json(Some(accept), Some(b"XMLHttpRequest")));
});
