//! `prefers_json`: which unauthorized requests get a JSON 401 instead of a login redirect.

use login_runtime::prefers_json;
use proptest::prelude::*;

fn accept(header: &str) -> bool {
    prefers_json(Some(header.as_bytes()), None)
}

#[test]
fn xhr_header_means_json() {
    for value in [
        "XMLHttpRequest",
        "xmlhttprequest",
        "XMLHTTPREQUEST",
        " XMLHttpRequest\t",
    ] {
        assert!(prefers_json(None, Some(value.as_bytes())), "{value:?}");
        // Whatever the Accept header says.
        assert!(prefers_json(Some(b"text/html"), Some(value.as_bytes())));
    }
    for value in [
        &b""[..],
        b"XMLHttpRequest2",
        b"XMLHttp Request",
        b"fetch",
        b"\xffXMLHttpRequest",
        b"XMLHttpRequest\0",
    ] {
        assert!(!prefers_json(None, Some(value)), "{value:?}");
    }
}

#[test]
fn nothing_sent_means_redirect() {
    assert!(!prefers_json(None, None));
    assert!(!accept(""));
    assert!(!accept("   "));
    assert!(!accept(","));
}

#[test]
fn browsers_get_the_redirect() {
    for header in [
        // Chrome / Edge navigation
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        // Firefox navigation
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        // Safari navigation
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        // fetch() and curl defaults
        "*/*",
        // An image or a stylesheet request
        "image/avif,image/webp,*/*",
        "text/css,*/*;q=0.1",
    ] {
        assert!(!accept(header), "{header}");
    }
}

#[test]
fn api_clients_get_json() {
    for header in [
        "application/json",
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        "application/problem+json",
        "application/vnd.api+json",
        "application/ld+json;profile=\"https://www.w3.org/ns/activitystreams\"",
        // axios default
        "application/json, text/plain, */*",
        // JSON listed explicitly beats `*/*` at the same weight
        "*/*, application/json",
        "application/json, text/*",
        "application/json;q=1.0, text/html;q=0.9",
        "text/html;q=0.5, application/json",
        "text/html;q=0, application/json;q=0.1",
        "application/json, image/png",
    ] {
        assert!(accept(header), "{header}");
    }
}

#[test]
fn q_values_are_honoured() {
    assert!(!accept("application/json;q=0.5, text/html"));
    assert!(!accept("application/json;q=0.5, */*"));
    assert!(accept("application/json;q=0.5, */*;q=0.4"));
    assert!(!accept("application/json;q=0.5, text/*;q=0.6"));
    // A more specific range decides for text/html, even when a wildcard ranks higher.
    assert!(accept("application/json;q=0.5, text/html;q=0.1, */*"));
    // Not acceptable at all.
    assert!(!accept("application/json;q=0"));
    assert!(!accept("application/json;q=0.000"));
    // Duplicates: the best weight counts.
    assert!(accept(
        "application/json;q=0.1, application/json, text/html;q=0.5"
    ));
    // `Q` is case-insensitive; spaces around `=` tolerated.
    assert!(!accept("application/json;Q=0.2, text/html;q=0.3"));
    assert!(accept("application/json ; q = 0.9 , text/html ; q = 0.3"));
}

#[test]
fn json_must_be_among_the_best_ranked_types() {
    assert!(!accept("text/plain, application/json;q=0.9"));
    assert!(!accept("application/xml, application/json;q=0.5"));
    assert!(accept("text/plain, application/json"));
}

#[test]
fn ties_with_text_html_keep_the_redirect() {
    assert!(!accept("application/json, text/html"));
    assert!(!accept("text/html, application/json"));
    assert!(!accept("application/json;q=0.8, text/html;q=0.8"));
}

#[test]
fn malformed_ranges_are_skipped_and_the_rest_still_count() {
    for header in [
        "application/json, garbage",
        "garbage, application/json",
        "application/json, text/html;q=2",
        "application/json, text/html;q=abc",
        "application/json, text/html;q=.5",
        "application/json, text/html;q=\"0.9\"",
        "application/json, text/html;q=0.1234",
        "application/json, text/html;q=",
        "application/json, text/html;q=-1",
        "application/json, /html",
        "application/json, text/",
        "application/json, */html",
        "application/json, te xt/html",
        "application/json,,,;;;",
        ";q=1, application/json",
    ] {
        assert!(accept(header), "{header}");
    }
    for header in [
        "application/json;q=2",
        "application/json;q=x",
        "json",
        "application/ json",
        "application/json+",
        "application/+json",
        "application/*+json",
    ] {
        assert!(!accept(header), "{header}");
    }
}

#[test]
fn quoted_parameters_may_hold_commas_and_semicolons() {
    assert!(!accept("text/html;title=\"a, application/json\""));
    assert!(accept("application/json;note=\"x,y;q=0\", text/html;q=0.5"));
    // An unterminated quote swallows the rest of the header.
    assert!(!accept("application/json, text/plain;x=y, text/html"));
    assert!(accept(
        "application/json, text/plain;x=\"unterminated, text/html"
    ));
}

#[test]
fn non_utf8_and_binary_bytes_never_panic() {
    let cases: &[&[u8]] = &[
        b"\xff\xfe\xfd",
        b"application/json\xff",
        b"\x80/\x80",
        b"text/html;q=\xff, application/json",
        b"\0\0\0",
        b"\"\"\"\"",
        b"\\",
        b"application/json;q=0.5\x00",
    ];
    for &header in cases {
        let _ = prefers_json(Some(header), Some(header));
    }
    assert!(prefers_json(
        Some(b"text/html;q=\xff, application/json"),
        None
    ));
    assert!(!prefers_json(Some(b"application/json\xff"), None));
}

#[test]
fn a_huge_header_is_handled_in_one_pass() {
    let mut header = "text/html;q=0.1,".repeat(20_000);
    header.push_str("application/json");
    assert!(accept(&header));
    let many_quotes = "\"".repeat(100_000);
    assert!(!accept(&many_quotes));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn never_panics(accept in proptest::collection::vec(any::<u8>(), 0..256),
                    xhr in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32))) {
        let _ = prefers_json(Some(&accept), xhr.as_deref());
    }

    #[test]
    fn never_panics_on_header_shaped_input(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("application/json".to_owned()),
                Just("text/html".to_owned()),
                Just("*/*".to_owned()),
                Just("text/*".to_owned()),
                Just(";q=".to_owned()),
                Just(",".to_owned()),
                Just(";".to_owned()),
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                "[0-9.]{0,6}",
                "[ -~]{0,4}",
            ],
            0..24,
        )
    ) {
        let _ = accept(&parts.concat());
    }

    #[test]
    fn a_browser_header_with_json_appended_at_lower_q_stays_html(q in 0u16..800) {
        let header = format!(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8,application/json;q=0.{q:03}"
        );
        prop_assert!(!accept(&header));
    }

    #[test]
    fn order_of_ranges_does_not_matter(
        mut ranges in proptest::collection::vec(
            prop_oneof![
                Just("application/json"),
                Just("application/json;q=0.5"),
                Just("text/html"),
                Just("text/html;q=0.7"),
                Just("*/*;q=0.1"),
                Just("text/*;q=0.9"),
                Just("text/plain"),
                Just("image/png;q=0.2"),
            ],
            1..6,
        ),
        seed in any::<u64>(),
    ) {
        let forwards = accept(&ranges.join(","));
        ranges.reverse();
        let backwards = accept(&ranges.join(","));
        prop_assert_eq!(forwards, backwards);
        let rotate = usize::try_from(seed % 6).unwrap_or(0) % ranges.len();
        ranges.rotate_left(rotate);
        prop_assert_eq!(forwards, accept(&ranges.join(",")));
    }
}
