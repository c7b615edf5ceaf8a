//! Open redirects: `is_safe_next` against published payload lists, and the `next` URL
//! building Flask-Login's tests pin down (checklist section J and P13; P14 is a unit test in
//! `src/next.rs`, its function being crate-private).
//!
//! The hostile corpus is written from the public open-redirect payload lists (the
//! "Payloads All The Things" open-redirect intruder lists, the Host/Split unicode normalisation
//! talk, OWASP's cheat sheet), with the target host renamed `evil.example` and the allowed host
//! `trusted.example`.

use login_runtime::{is_safe_next, login_url};

/// `is_safe_next`'s documented size limit, in bytes.
const MAX_NEXT_LEN: usize = 2048;
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

/// Scheme-relative and extra-slash forms: `//host` is another site to every browser.
const SCHEME_RELATIVE: &[&str] = &[
    "//evil.example",
    "//evil.example/",
    "//evil.example//",
    "//evil.example/path?param=value",
    "//evil.example#",
    "///evil.example",
    "///evil.example/",
    "///evil.example//",
    "////evil.example",
    "////evil.example/",
    "/////evil.example",
    "//////evil.example",
    "//evil.example/%2f..",
    "///evil.example/%2f..",
    "////evil.example/%2f%2e%2e",
    "////evil.example/%2f%2e%2e/",
    "//evil.example/%2e%2e%2f",
    "///evil.example/%2e%2e",
    "//trusted.example@evil.example",
    "///trusted.example@evil.example/",
    "////trusted.example@evil.example/%2f..",
    "//evil.example:443",
    "//evil.example?x=1",
    "//evil.example\\@trusted.example",
    "//evil%00.example",
    "//evil%E3%80%82example",
    "//javascript:alert(1)",
    "//https://evil.example//",
    "//https:///evil.example/%2e%2e",
    "//trusted.example@https:///evil.example/%2e%2e",
];

/// Backslashes: browsers read `\` as `/` in special URLs, so `/\host` is `//host`.
const BACKSLASH: &[&str] = &[
    "\\evil.example",
    "\\\\evil.example",
    "\\/\\/evil.example/",
    "/\\evil.example",
    "/\\evil.example/",
    "/\\/evil.example/",
    "/\\/\\/evil.example/",
    "/\\\\evil.example",
    "//\\evil.example",
    "///\\evil.example",
    "//\\/\\evil.example/",
    "///\\;@evil.example",
    "////\\;@evil.example",
    "/%5cevil.example",
    "/%5Cevil.example",
    "/%5ctrusted.example@evil.example",
    "//%5cevil.example",
    "///%5cevil.example",
    "////%5cevil.example",
    "/%5c%5cevil.example",
    "/%5cjavascript:alert(1)",
    "/%5cjavascript:alert(1);",
    "/profile\\..\\..\\evil",
    "/?url=/\\/evil.example&next=/\\/evil.example",
    "/redirect?url=/\\/evil.example",
];

/// Tabs, newlines, NUL and other controls: browsers drop tab/CR/LF anywhere, so `/\t/host` is
/// `//host`; a CR LF in a `Location` splits the response.
const CONTROL: &[&str] = &[
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "\n//evil.example",
    " //evil.example",
    " /profile",
    "\u{0}/profile",
    "\u{c}/profile",
    "/profile\u{0}",
    "/profile\u{7f}",
    "/profile\u{85}",
    "/profile\u{9b}",
    "/x\r\nSet-Cookie: session=attacker",
    "/%09/evil.example",
    "/%09/trusted.example@evil.example",
    "//%09/evil.example",
    "///%09/evil.example",
    "////%09/evil.example",
    "/%09/javascript:alert(1)",
    "/%09/javascript:alert(1);",
    "/%0d/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "/%00/evil.example",
    "/profile%00",
    "/%7f/evil.example",
    "/%c2%85/evil.example",
    "/x%0d%0aSet-Cookie:%20session=attacker",
    "java%0d%0ascript%0d%0a:alert(0)",
    "ja\nva\tscript\r:alert(1)",
];

/// Percent-encoded, double-encoded, `%u` and overlong-UTF-8 spellings of `/`, `\` and schemes
/// in the path: safe in a browser, but one decode away from a scheme-relative URL.
const ENCODED: &[&str] = &[
    "/%2f%2fevil.example",
    "/%2F%2Fevil.example",
    "/%2fevil.example",
    "/%2F/evil.example",
    "/%2f%5c%2fevil.example",
    "/%2f%5c%2f%67%6f%6f%67%6c%65%2e%63%6f%6d/",
    "/%252f%252fevil.example",
    "/%25252f%25252fevil.example",
    "/%2525252f%2525252fevil.example",
    "/%255cevil.example",
    "/%25%35%63evil.example",
    "/%68%74%74%70%3a%2f%2fevil.example",
    "/%6a%61%76%61%73%63%72%69%70%74%3aalert(1)",
    "/%u002f%u002fevil.example",
    "/%U002F%U002Fevil.example",
    "/%c0%af%c0%afevil.example",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/%e0%80%af/evil.example",
    "/evil.example/%2f%2e%2e",
    "/evil.example/%2f..",
    "/%2e%2e%2f%2fevil.example",
    "/a/%2F%2Fevil.example",
];

/// Any scheme, including the ones that run script.
const SCHEMES: &[&str] = &[
    "javascript:alert(1)",
    "javascript:alert(1);",
    "JavaScript:alert(1)",
    "javascript://trusted.example/%0aalert(1)",
    "javascript://trusted.example?%a0alert%281%29",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://evil.example",
    "mailto:victim@evil.example",
    "http://evil.example",
    "https://evil.example",
    "Https://evil.example",
    "HTTP://EVIL.EXAMPLE/",
    "https://evil.example/%2f..",
    "https://evil.example/%2e%2e%2f",
    "http:evil.example",
    "https:evil.example",
    "http:/evil.example",
    "https:/\\evil.example",
    "http:\\\\evil.example",
    "https:///evil.example",
    "https:///evil.example/%2f%2e%2e",
    "https://%09/evil.example",
    "https://%5cevil.example",
    "http://%65%76%69%6c.example",
    "%68%74%74%70%3a%2f%2fevil.example",
    "/javascript:alert(1)",
    "/javascript:alert(1);",
    "/https://evil.example",
    "/https://evil.example/",
    "/https://evil.example/%2f..",
    "/https://trusted.example@evil.example/%2f..",
    "/https:evil.example",
    "/http:/evil.example",
    "/http://evil.example",
    "/https:/%5cevil.example/",
    "/https://%09/evil.example",
    "/https://%5cevil.example",
    "/https:///evil.example/%2e%2e",
    "/http://%65%76%69%6c.example",
    "/data:text/html,<b>x</b>",
];

/// `user@host` tricks and bare hosts: a browser goes to whatever follows the `@`.
const USERINFO_AND_HOSTS: &[&str] = &[
    "https://trusted.example@evil.example",
    "https://trusted.example@evil.example/%2f..",
    "http://trusted.example:80@evil.example",
    "@evil.example",
    "trusted.example@evil.example",
    "trusted.example%40evil.example",
    "http://trusted.example%40evil.example",
    "https://:@evil.example\\@trusted.example",
    "http://evil.example:80#@trusted.example/",
    "http://evil.example:80?@trusted.example/",
    "https://trusted.example/https://evil.example/",
    "evil.example",
    "evil.example/",
    "evil.example/path?param=value",
    "trusted.example.evil.example",
    "trusted.example?evil.example",
    "trusted.example%23evil.example",
    ".evil.example",
    "./evil.example",
    "..//evil.example",
    "profile",
    "?next=//evil.example",
    "#//evil.example",
];

/// IP address spellings a lax host parser accepts.
const IP_TRICKS: &[&str] = &[
    "http://0xd8.0x3a.0xd6.0xce",
    "http://0xd83ad6ce",
    "http://3627734734",
    "http://472.314.470.462",
    "http://0330.072.0326.0316",
    "http://00330.00072.0000326.00000316",
    "http://[::216.58.214.206]",
    "http://[::ffff:216.58.214.206]",
    "http://0xd8.072.54990",
    "http://0xd8.3856078",
    "http://trusted.example@0xd8.0x3a.0xd6.0xce",
    "http://XY>.7d8T\\205pZM@0xd8.0x3a.0xd6.0xce",
    "http:0xd8.0x3a.0xd6.0xce",
    "http:3627734734",
    "http:[::ffff:216.58.214.206]",
    "http:trusted.example@00330.0x3a.54990",
    "//[::1]",
    "//[::ffff:127.0.0.1]/",
    "//0x7f.1",
    "//2130706433",
    "//127.1",
    "//0177.0.0.1",
];

/// Unicode look-alikes of `/`, `\`, `.` and letters, invisibles and bidi controls.
const UNICODE: &[&str] = &[
    "〱evil.example",
    "〵evil.example",
    "ゝevil.example",
    "ーevil.example",
    "ｰevil.example",
    "/〱evil.example",
    "/〵evil.example",
    "/ゝevil.example",
    "/ーevil.example",
    "/ｰevil.example",
    "／／evil.example",
    "/／evil.example",
    "/／/evil.example",
    "/＼evil.example",
    "＼＼evil.example",
    "/∕evil.example",
    "/⁄evil.example",
    "/⧸evil.example",
    "/∖evil.example",
    "/﹨evil.example",
    "/a/b\u{0338}/evil.example",
    "/evil。example",
    "/evil．example",
    "/evil.c℀.example",
    "https://evil.c℀.example",
    "/ⓔⓥⓘⓛ.ⓒⓞⓜ",
    "http://ⓔⓥⓘⓛ.ⓒⓞⓜ",
    "/𝐞𝐯𝐢𝐥.example",
    "/%EF%BC%8F%EF%BC%8Fevil.example",
    "/%E2%88%95evil.example",
    "/%E3%80%B1evil.example",
    "/\u{200B}/evil.example",
    "/\u{202E}elpmaxe.live//",
    "/\u{FEFF}/evil.example",
    "\u{FEFF}//evil.example",
    "/\u{00A0}/evil.example",
    "/\u{3000}/evil.example",
    "/\u{2028}/evil.example",
    "/%C2%A0/evil.example",
    "/%E2%80%8B/evil.example",
    "/%E2%80%AE/evil.example",
    "/profile\u{E000}",
];

/// Injection shapes from the same lists: quotes and angle brackets, escaped-script spellings.
const INJECTION: &[&str] = &[
    "\";alert(0);//",
    "<>javascript:alert(1);",
    "<>//evil.example",
    "/<>//evil.example",
    "/<script>alert(1)</script>",
    "/\"onmouseover=\"alert(1)",
    "/`whoami`",
    "\\x6A\\x61\\x76\\x61\\x73\\x63\\x72\\x69\\x70\\x74\\x3aalert(1)",
    "\\u006A\\u0061\\u0076\\u0061\\u0073\\u0063\\u0072\\u0069\\u0070\\u0074\\u003aalert(1)",
    "\\j\\av\\a\\s\\cr\\i\\pt\\:\\a\\l\\ert\\(1\\)",
    "\\152\\141\\166\\141\\163\\143\\162\\151\\160\\164\\072alert(1)",
    "/evil.example//",
    "/x//evil.example",
    "",
];

fn hostile() -> impl Iterator<Item = &'static str> {
    [
        SCHEME_RELATIVE,
        BACKSLASH,
        CONTROL,
        ENCODED,
        SCHEMES,
        USERINFO_AND_HOSTS,
        IP_TRICKS,
        UNICODE,
        INJECTION,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// Same-site paths that must keep working, including queries that hold URLs or an encoded
/// `//`, and the deliberate decisions documented on `is_safe_next`.
const SAFE: &[&str] = &[
    "/",
    "/profile",
    "/profile?tab=2",
    "/profile?tab=2&sort=name",
    "/profile#section",
    "/a/b/c",
    "/a/b/c/",
    "/a/b?c=d#e",
    "/index.html",
    "/search?q=rust+lang",
    "/search?q=a%20b",
    "/search?u=https://x.example/path",
    "/search?u=https%3A%2F%2Fx.example",
    "/a?b=%2F%2Fc",
    "/a?next=//evil.example",
    "/a?next=%2F%2Fevil.example",
    "/a?redirect=%5Cevil.example",
    "/a?x=%0A&y=%09",
    "/a#//evil.example",
    "/api/v1/items?id=1&id=2",
    "/my%20file.pdf",
    "/caf%C3%A9",
    "/café",
    "/メニュー",
    "/%E3%83%A1%E3%83%8B%E3%83%A5%E3%83%BC",
    "/.well-known/security.txt",
    // A path on this site: the `.evil` trick needs `next` glued to a host without a slash.
    "/.evil.example",
    // Mastodon-style handles; userinfo needs `//` before it to mean anything.
    "/@alice",
    "/users/@me",
    "/a@b",
    // A path segment that happens to look like a host or an address stays on this site.
    "/evil.example",
    "/127.0.0.1",
    // Dot segments resolve within this site.
    "/../admin",
    "/%2e%2e/admin",
    "/wiki/Special:Search",
    "/12:30",
    "/a;b=c",
    "/a,b",
    "/~user/",
    "/%7Euser",
    "/a-b_c.d~e",
    "/a+b",
    "/p?",
    "/p#",
    "/?",
];

#[test]
fn hostile_corpus_is_refused() {
    let refused_wrongly: Vec<_> = hostile().filter(|target| is_safe_next(target)).collect();
    assert!(
        refused_wrongly.is_empty(),
        "accepted hostile targets: {refused_wrongly:#?}"
    );
}

#[test]
fn hostile_corpus_is_broad() {
    assert!(hostile().count() >= 150, "{}", hostile().count());
}

#[test]
fn safe_corpus_is_accepted() {
    let refused: Vec<_> = SAFE.iter().filter(|target| !is_safe_next(target)).collect();
    assert!(refused.is_empty(), "refused safe targets: {refused:#?}");
    assert!(SAFE.len() >= 30);
}

#[test]
fn length_limit_is_2048_bytes() {
    let longest = format!("/{}", "a".repeat(2047));
    assert_eq!(longest.len(), MAX_NEXT_LEN);
    assert!(is_safe_next(&longest));
    assert!(!is_safe_next(&format!("{longest}a")));
    assert!(!is_safe_next(&format!("/?q={}", "%2F".repeat(4000))));
}

#[test]
fn decoding_depth_is_bounded() {
    // `/%2561` is `/%61` is `/a`: harmless at every level, but past the decode budget the
    // path is refused rather than guessed at.
    let layered = |depth: usize| format!("/%{}61", "25".repeat(depth));
    assert!(is_safe_next(&layered(4)));
    assert!(!is_safe_next(&layered(12)));
}

// ---- Flask-Login checklist, section J and P13/P14 -------------------------------------

/// 90. `test_make_next_param`.
#[test]
fn make_next_param() {
    assert_eq!(
        login_runtime::make_next_param("/login", "http://localhost/profile"),
        "/profile"
    );
    assert_eq!(
        login_runtime::make_next_param("https://localhost/login", "http://localhost/profile"),
        "http://localhost/profile"
    );
    assert_eq!(
        login_runtime::make_next_param(
            "http://accounts.localhost/login",
            "http://localhost/profile"
        ),
        "http://localhost/profile"
    );
}

#[test]
fn make_next_param_keeps_query_and_drops_fragment() {
    assert_eq!(
        login_runtime::make_next_param("/login", "http://localhost/p?a=1&b=2#frag"),
        "/p?a=1&b=2"
    );
    assert_eq!(
        login_runtime::make_next_param("http://localhost/login", "http://localhost/p?a=1"),
        "/p?a=1"
    );
    // Same host, scheme compared case-insensitively (urlsplit lowercases it).
    assert_eq!(
        login_runtime::make_next_param("HTTP://localhost/login", "http://localhost/p"),
        "/p"
    );
    // An empty query is dropped with its `?`, as urlunsplit does.
    assert_eq!(
        login_runtime::make_next_param("/login", "http://localhost/p?"),
        "/p"
    );
    // Already relative: nothing to reduce.
    assert_eq!(login_runtime::make_next_param("/login", "/p?x=1"), "/p?x=1");
}

/// 91. `test_login_url_generation`.
#[test]
fn login_url_generation() {
    let protected = "http://localhost/protected";
    assert_eq!(
        login_url("/login", Some(protected), "n"),
        "/login?n=%2Fprotected"
    );
    assert_eq!(
        login_url("/login", Some(protected), "next"),
        "/login?next=%2Fprotected"
    );
    assert_eq!(
        login_url("https://auth.localhost/login", Some(protected), "next"),
        "https://auth.localhost/login?next=http%3A%2F%2Flocalhost%2Fprotected"
    );
    assert_eq!(
        login_url("/login?affil=cgnu", Some(protected), "next"),
        "/login?affil=cgnu&next=%2Fprotected"
    );
}

/// 93. `test_login_url_no_next_url`.
#[test]
fn login_url_no_next_url() {
    assert_eq!(login_url("/foo", None, "next"), "/foo");
    assert_eq!(
        login_url("https://auth.example/login?x=1", None, "next"),
        "https://auth.example/login?x=1"
    );
}

/// P13. Redirect shapes for the protected view `/prot?a=1&b=2`.
#[test]
fn p13_redirect_shapes() {
    let current = "http://localhost/prot?a=1&b=2";
    assert_eq!(
        login_url("/loginpage", Some(current), "next"),
        "/loginpage?next=%2Fprot%3Fa%3D1%26b%3D2"
    );
    assert_eq!(
        login_url("https://auth.example.com/login?x=1", Some(current), "next"),
        "https://auth.example.com/login?x=1&next=http%3A%2F%2Flocalhost%2Fprot%3Fa%3D1%26b%3D2"
    );
    assert_eq!(
        login_url("http://localhost/login", Some(current), "next"),
        "http://localhost/login?next=%2Fprot%3Fa%3D1%26b%3D2"
    );
}

#[test]
fn login_url_encodes_like_python_urlencode() {
    assert_eq!(
        login_url("/login", Some("/a b/é?x=1&y=~_.-"), "next"),
        "/login?next=%2Fa+b%2F%C3%A9%3Fx%3D1%26y%3D~_.-"
    );
    assert_eq!(
        login_url("/login", Some("/p"), "next field"),
        "/login?next+field=%2Fp"
    );
}

#[test]
fn login_url_rewrites_the_views_query_as_parse_qs_and_urlencode_do() {
    // An existing `next` is replaced where it stood.
    assert_eq!(
        login_url("/login?next=%2Fold&x=1", Some("/new"), "next"),
        "/login?next=%2Fnew&x=1"
    );
    // Repeated keys are grouped at their first position; blank values stay as `key=`;
    // empty pairs vanish; `+` and `%20` both come back as `+`.
    assert_eq!(
        login_url("/login?a=1&flag&&b=x%20y&a=2", Some("/p"), "next"),
        "/login?a=1&a=2&flag=&b=x+y&next=%2Fp"
    );
    // The fragment stays at the end.
    assert_eq!(
        login_url("/login?x=1#top", Some("/p"), "next"),
        "/login?x=1&next=%2Fp#top"
    );
    // Bad UTF-8 in the view's query becomes U+FFFD, as Python's unquote does.
    assert_eq!(
        login_url("/login?x=%FF", Some("/p"), "next"),
        "/login?x=%EF%BF%BD&next=%2Fp"
    );
}

#[test]
fn login_urls_next_decodes_back_to_a_safe_target() {
    let location = login_url("/login", Some("http://localhost/prot?a=1&b=2"), "next");
    let next = next_from(&location);
    assert_eq!(next, "/prot?a=1&b=2");
    assert!(is_safe_next(&next));
}

/// The `next` value a login form would read from `location`'s query.
fn next_from(location: &str) -> String {
    let query = location.split_once('?').map_or("", |(_, query)| query);
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("next="))
        .unwrap_or_default()
        .replace('+', " ");
    percent_decode_str(&value).decode_utf8_lossy().into_owned()
}

/// `value` percent-decoded until it stops changing (bounded), lossy.
fn fully_decoded(value: &str) -> String {
    let mut current = value.to_owned();
    for _ in 0..16 {
        let next = percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn url_ish() -> impl Strategy<Value = String> {
    // Heavy on the characters that matter, so the interesting cases come up often.
    proptest::collection::vec(
        prop_oneof![
            Just("/".to_owned()),
            Just("\\".to_owned()),
            Just("%".to_owned()),
            Just("%2F".to_owned()),
            Just("%2f".to_owned()),
            Just("%5C".to_owned()),
            Just("%25".to_owned()),
            Just("%09".to_owned()),
            Just("?".to_owned()),
            Just("#".to_owned()),
            Just(":".to_owned()),
            Just("@".to_owned()),
            Just(".".to_owned()),
            Just("\t".to_owned()),
            Just("／".to_owned()),
            "[a-z0-9]{1,4}",
            any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

fn safe_path() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec("[A-Za-z0-9._~-]{1,8}", 0..5),
        proptest::option::of("[A-Za-z0-9._~=&%/?:@!$'()*+,;-]{0,16}"),
    )
        .prop_map(|(segments, query)| {
            let mut path = format!("/{}", segments.join("/"));
            if let Some(query) = query {
                path.push('?');
                path.push_str(&query);
            }
            path
        })
        // `/..` style first segments and `%`-escapes in the path are covered by the corpus.
        .prop_filter("plain path", |path| {
            !path.split('?').next().unwrap_or("").contains('%')
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn is_safe_next_never_panics(target in any::<String>()) {
        let _ = is_safe_next(&target);
    }

    #[test]
    fn accepted_targets_are_single_slash_and_clean(target in url_ish()) {
        if is_safe_next(&target) {
            prop_assert!(target.starts_with('/'));
            prop_assert!(!target.starts_with("//"));
            prop_assert!(!target.contains('\\'));
            prop_assert!(!target.chars().any(char::is_control));
            prop_assert!(target.len() <= MAX_NEXT_LEN);
        }
    }

    #[test]
    fn accepted_targets_never_decode_to_another_host(target in url_ish()) {
        if is_safe_next(&target) {
            let once = percent_decode_str(&target).decode_utf8_lossy().into_owned();
            for decoded in [once, fully_decoded(&target)] {
                prop_assert!(!decoded.starts_with("//"), "{target} -> {decoded}");
                prop_assert!(!decoded.starts_with("/\\"), "{target} -> {decoded}");
            }
        }
    }

    #[test]
    fn plain_paths_are_accepted(path in safe_path()) {
        prop_assert!(is_safe_next(&path), "{path}");
    }

    #[test]
    fn a_second_leading_slash_or_backslash_is_refused(path in safe_path(), lead in "[/\\\\]") {
        let doubled = format!("{lead}{path}");
        prop_assert!(!is_safe_next(&doubled), "{doubled}");
    }

    #[test]
    fn a_control_character_anywhere_is_refused(
        path in safe_path(),
        control in prop_oneof![0u32..0x20, 0x7fu32..0xa0],
        at in any::<proptest::sample::Index>(),
    ) {
        let control = char::from_u32(control).unwrap_or('\0');
        let boundaries: Vec<usize> = (0..=path.len()).filter(|&i| path.is_char_boundary(i)).collect();
        let split = *at.get(&boundaries);
        let (head, tail) = path.split_at(split);
        let mutated = format!("{head}{control}{tail}");
        prop_assert!(!is_safe_next(&mutated), "{mutated:?}");
    }

    #[test]
    fn url_building_never_panics(view in url_ish(), next in url_ish(), field in "[a-z_ ]{0,6}") {
        let _ = login_runtime::make_next_param(&view, &next);
        let _ = login_url(&view, Some(&next), &field);
    }

    #[test]
    fn login_url_carries_next_losslessly(path in safe_path()) {
        let location = login_url("/login", Some(&format!("http://localhost{path}")), "next");
        // urlsplit drops an empty query together with its `?`.
        let expected = match path.split_once('?') {
            Some((bare, "")) => bare.to_owned(),
            _ => path.clone(),
        };
        prop_assert_eq!(next_from(&location), expected);
    }
}
