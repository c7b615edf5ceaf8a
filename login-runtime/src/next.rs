//! The `next` parameter: where a login sends the user back to.
//!
//! Two halves, kept apart on purpose:
//!
//! * **Building** the login redirect ([`login_url`], [`make_next_param`]) reproduces
//!   Flask-Login 0.6.3 byte for byte (`urllib.parse.urlsplit`, `parse_qs(keep_blank_values=True)`,
//!   `urlencode(doseq=True)`), so a redirect `Location` matches what a Flask app sends.
//! * **Following** a `next` value is where Flask-Login leaves the user on their own. Here one
//!   function, [`is_safe_next`], decides it, and it only says yes to a same-site relative path.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The longest `next` target [`is_safe_next`] accepts, in bytes.
const MAX_NEXT_LEN: usize = 2048;

/// How many rounds of percent-decoding [`is_safe_next`] looks through (`%25252F` is three).
/// A path that still decodes further after this many rounds is refused.
const MAX_DECODE_ROUNDS: usize = 8;

/// Python's `urllib.parse.quote_plus` keeps `A-Z a-z 0-9 _ . - ~` and encodes everything else
/// (space is handled separately: it becomes `+`).
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .add(b' ');

/// Decides whether a `next` target may be followed after a login: only a same-site relative
/// path passes.
///
/// This is the single decision the login handle, the guards and the demo use; a refused target
/// falls back to the app's default page. Accepted: `/`, `/profile?tab=2`, and a query or fragment
/// that holds anything encoded, even a URL (`/search?u=https://x.example`, `/a?b=%2F%2Fc`).
///
/// Refused:
///
/// * empty, longer than 2048 bytes, or not starting with exactly one `/`:
///   any scheme (`javascript:`, `http:evil`, `data:`), scheme-relative `//evil`, `/\evil`,
///   `\\evil`, a bare host `evil.com`;
/// * control characters (C0, DEL, C1) and whitespace anywhere, raw backslashes anywhere, and
///   `<`, `>`, `"`, `` ` `` (never valid unencoded in a URL; filters that strip them turn
///   `/<>//evil` into `///evil`);
/// * in the path part (before `?`/`#`), at every level of percent-decoding (`%2F`, `%252F`, …):
///   an empty segment (`//`, so `/%2F%2Fevil`, `/https://evil`), a backslash (`/%5Cevil`),
///   a control character (`/%09/evil`, `/%00`), a first segment shaped like a scheme
///   (`/javascript:alert(1)`, `/%68ttp:…`), `%u`-style escapes, and bytes that are not UTF-8
///   (overlong `%C0%AF`);
/// * unicode look-alikes and invisibles anywhere: fullwidth and small forms (`／`, `＼`, `．`),
///   other slash and backslash look-alikes (`∕`, `⁄`, `⧸`, `∖`, `〱`), characters whose
///   compatibility form holds a `/` or `.` (`℀`), letters in disguise (`ⓔ`, `𝐞`), zero-width and
///   bidi controls, private use; a kana iteration or prolonged-sound mark (`ゝ`, `ー`) right after
///   the leading `/`, where no word starts with one.
///
/// Deliberately accepted, because after a single leading `/` every browser stays on the site:
/// `/.evil.com` (a path on this site; the trick needs `next` glued to a host without a slash),
/// `/@alice` and `/a@b`, `/evil.com`, IP-looking segments (`/127.0.0.1`), encoded dot segments
/// (`/%2e%2e/admin`), and non-ASCII letters (`/café`, `/メニュー`).
///
/// ```
/// use login_runtime::is_safe_next;
///
/// assert!(is_safe_next("/profile?tab=2"));
/// assert!(is_safe_next("/search?u=https://example.org/&p=%2F%2Fx"));
/// assert!(!is_safe_next("//evil.example"));
/// assert!(!is_safe_next("/\\evil.example"));
/// assert!(!is_safe_next("/%2F%2Fevil.example"));
/// assert!(!is_safe_next("javascript:alert(1)"));
/// assert!(!is_safe_next("/\u{FF0F}evil.example"));
/// ```
#[must_use]
pub fn is_safe_next(target: &str) -> bool {
    // Size first: everything below is linear, but nothing needs more than a URL's worth.
    if target.is_empty() || target.len() > MAX_NEXT_LEN {
        return false;
    }
    // Exactly one leading '/': refuses schemes, bare hosts, `//host` and `/\host` at once.
    let mut chars = target.chars();
    if chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\')) {
        return false;
    }
    // Browsers drop tabs and newlines and trim; refuse anything a parser might rewrite.
    if target.chars().any(|c| {
        c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`') || is_forbidden_anywhere(c)
    }) {
        return false;
    }
    let path_end = target.find(['?', '#']).unwrap_or(target.len());
    let path = target.get(..path_end).unwrap_or(target);
    // The query and fragment may hold anything encoded; the path must stay a plain
    // same-site path however many times something between here and the browser decodes it.
    path_survives_decoding(path)
}

/// True when `path` (starting with `/`) and each percent-decoded form of it are a plain
/// same-site path. See [`is_safe_next`] for the rules.
fn path_survives_decoding(path: &str) -> bool {
    let mut level = std::borrow::Cow::Borrowed(path);
    for _ in 0..MAX_DECODE_ROUNDS {
        if !is_plain_path(&level) {
            return false;
        }
        // Not UTF-8 once decoded: overlong forms such as `%C0%AF` (a `/` to a lax decoder).
        let Ok(decoded) = percent_decode_str(&level).decode_utf8() else {
            return false;
        };
        if decoded == level {
            return true;
        }
        level = std::borrow::Cow::Owned(decoded.into_owned());
    }
    false
}

/// One level of the path check: starts with a single `/`, no empty segment, no scheme-shaped
/// first segment, no backslash, control character, look-alike or `%u` escape.
fn is_plain_path(path: &str) -> bool {
    if !path.starts_with('/') || path.contains("//") {
        return false;
    }
    // `%u002F` is how IIS spelled an encoded slash; nothing else uses `%u`.
    if path.contains("%u") || path.contains("%U") {
        return false;
    }
    // Raw whitespace was refused already; a decoded space (`%20`) is an ordinary path byte.
    if path.chars().any(is_forbidden_anywhere) {
        return false;
    }
    let rest = path.get(1..).unwrap_or("");
    if rest.chars().next().is_some_and(is_word_initial_impossible) {
        return false;
    }
    let first_segment = rest.split('/').next().unwrap_or("");
    !looks_like_scheme(first_segment)
}

/// `scheme:` at the start of a segment (`javascript:alert(1)`).
fn looks_like_scheme(segment: &str) -> bool {
    segment
        .split_once(':')
        .is_some_and(|(scheme, _)| looks_like_scheme_name(scheme))
}

/// A scheme name as RFC 3986 spells it: a letter, then letters, digits, `+`, `-`, `.`.
fn looks_like_scheme_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Characters refused wherever they appear, raw or decoded: controls, backslash, unicode
/// look-alikes of URL delimiters, letters in disguise and invisible formatting characters.
fn is_forbidden_anywhere(c: char) -> bool {
    if c == '\\' || c.is_control() {
        return true;
    }
    if c.is_ascii() {
        return false;
    }
    if c.is_whitespace() {
        return true;
    }
    matches!(
        u32::from(c),
        // Fullwidth ASCII (／ ＼ ． ： ＠ ＡＢＣ): NFKC turns these into the real thing.
        0xFF01..=0xFF5E
        // Halfwidth CJK punctuation (｡ is a dot to IDNA).
        | 0xFF61..=0xFF64
        // Small form variants (﹒ ﹕ ﹖ ﹟ ﹨ ﹪ ﹫) and vertical forms (︓ ︔ ︕ ︖).
        | 0xFE50..=0xFE6B
        | 0xFE10..=0xFE19
        // Slash and backslash look-alikes: ⁄ ∕ ∖ ⧵ ⧸ ⧹ ╱ ╲ 〱 〳 〵, and the combining
        // solidus overlays that draw a slash over the previous character.
        | 0x2044
        | 0x2215
        | 0x2216
        | 0x29F5
        | 0x29F8
        | 0x29F9
        | 0x2571
        | 0x2572
        | 0x3031..=0x3035
        | 0x0337
        | 0x0338
        | 0x20E5
        // Ideographic full stop (。, a dot to IDNA) and one/two dot leaders, ellipsis.
        | 0x3002
        | 0x2024..=0x2026
        // Letterlike symbols whose compatibility form holds a slash (℀ ℁ ℅ ℆).
        | 0x2100
        | 0x2101
        | 0x2105
        | 0x2106
        // Enclosed alphanumerics (⒈ ⓔ ⓥ) and their supplement (🄀 🄰), regional indicators
        // (flags) excluded; mathematical alphanumerics (𝐞 𝕖): ASCII letters in disguise.
        | 0x2460..=0x24FF
        | 0x1_F100..=0x1_F1AD
        | 0x1_D400..=0x1_D7FF
        // Invisible or direction-changing: soft hyphen, combining grapheme joiner, Arabic
        // letter mark, Hangul fillers, Khmer inherent vowels, Mongolian selectors, zero-width
        // characters and bidi controls, word joiner and friends, variation selectors, BOM,
        // specials (incl. U+FFFD, a sign of a bad decode upstream), musical format characters
        // and tags.
        | 0x00AD
        | 0x034F
        | 0x061C
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF0..=0xFFFF
        | 0x1_BCA0..=0x1_BCA3
        | 0x1_D173..=0x1_D17A
        | 0xE_0000..=0xE_0FFF
        // Private use: no meaning anyone agrees on.
        | 0xE000..=0xF8FF
        | 0xF_0000..=0x10_FFFF
    )
}

/// Kana iteration and prolonged-sound marks (ゝ ゞ ヽ ヾ ー ｰ and the vertical 〱-〵): published
/// payloads put them right after the first `/` to pass for a second slash; no word starts with
/// one, while inside a word (`/メニュー`) they are ordinary letters.
fn is_word_initial_impossible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x309D | 0x309E | 0x30FD | 0x30FE | 0x30FC | 0xFF70 | 0x3031..=0x3035
    )
}

/// The five parts `urllib.parse.urlsplit` finds, borrowed from the input.
#[derive(Debug, Default, PartialEq, Eq)]
struct SplitUrl {
    scheme: String,
    netloc: String,
    path: String,
    query: String,
    fragment: String,
}

/// Python's `urllib.parse.urlsplit` (3.12), minus its `ValueError` on unbalanced IPv6
/// brackets: leading C0 controls and spaces are stripped, tabs and newlines removed, the scheme
/// lowercased.
fn urlsplit(url: &str) -> SplitUrl {
    let cleaned: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = cleaned.as_str();
    let mut scheme = String::new();
    if let Some((candidate, after)) = rest.split_once(':')
        && looks_like_scheme_name(candidate)
    {
        scheme = candidate.to_ascii_lowercase();
        rest = after;
    }
    let mut netloc = "";
    if let Some(after_slashes) = rest.strip_prefix("//") {
        let end = after_slashes
            .find(['/', '?', '#'])
            .unwrap_or(after_slashes.len());
        (netloc, rest) = after_slashes.split_at(end);
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    SplitUrl {
        scheme,
        netloc: netloc.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        fragment: fragment.to_owned(),
    }
}

/// Schemes Python's `urlunsplit` writes with `//` even when the host is empty.
const USES_NETLOC: &[&str] = &[
    "ftp",
    "http",
    "gopher",
    "nntp",
    "telnet",
    "imap",
    "wais",
    "file",
    "mms",
    "https",
    "shttp",
    "snews",
    "prospero",
    "rtsp",
    "rtsps",
    "rtspu",
    "rsync",
    "svn",
    "svn+ssh",
    "sftp",
    "nfs",
    "git",
    "git+ssh",
    "ws",
    "wss",
    "itms-services",
];

/// Python's `urllib.parse.urlunsplit` (3.11).
fn urlunsplit(parts: &SplitUrl) -> String {
    let mut url = String::new();
    if !parts.scheme.is_empty() {
        url.push_str(&parts.scheme);
        url.push(':');
    }
    let netloc_scheme =
        USES_NETLOC.contains(&parts.scheme.as_str()) && !parts.path.starts_with("//");
    if !parts.netloc.is_empty() || netloc_scheme {
        url.push_str("//");
        url.push_str(&parts.netloc);
        if !parts.path.is_empty() && !parts.path.starts_with('/') {
            url.push('/');
        }
    }
    url.push_str(&parts.path);
    if !parts.query.is_empty() {
        url.push('?');
        url.push_str(&parts.query);
    }
    if !parts.fragment.is_empty() {
        url.push('#');
        url.push_str(&parts.fragment);
    }
    url
}

/// Python's `urllib.parse.quote_plus`: UTF-8, `A-Z a-z 0-9 _ . - ~` kept, space as `+`.
fn quote_plus(value: &str) -> String {
    utf8_percent_encode(value, QUOTE_PLUS)
        .to_string()
        .replace("%20", "+")
}

/// Python's `urllib.parse.unquote_plus`: `+` is a space, bad UTF-8 becomes U+FFFD.
fn unquote_plus(value: &str) -> String {
    let spaced = value.replace('+', " ");
    String::from_utf8_lossy(&percent_decode_str(&spaced).collect::<Vec<u8>>()).into_owned()
}

/// Python's `parse_qs(query, keep_blank_values=True)`, keeping first-seen key order as the
/// `dict` it returns does.
fn parse_qs(query: &str) -> Vec<(String, Vec<String>)> {
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (unquote_plus(name), unquote_plus(value));
        match fields.iter_mut().find(|(known, _)| *known == name) {
            Some((_, values)) => values.push(value),
            None => fields.push((name, vec![value])),
        }
    }
    fields
}

/// Python's `urlencode(fields, doseq=True)`.
fn urlencode(fields: &[(String, Vec<String>)]) -> String {
    let mut pairs = Vec::new();
    for (name, values) in fields {
        for value in values {
            pairs.push(format!("{}={}", quote_plus(name), quote_plus(value)));
        }
    }
    pairs.join("&")
}

/// Flask-Login's `make_next_param(login_url, current_url)`: the current URL reduced to its
/// path and query when the login URL is relative, or absolute with the same scheme and host;
/// otherwise the current URL unchanged, so a login on another host can send the user back.
///
/// The fragment is dropped, as Flask-Login drops it (browsers never send it anyway).
///
/// ```
/// use login_runtime::make_next_param;
///
/// assert_eq!(make_next_param("/login", "http://localhost/profile?tab=2"), "/profile?tab=2");
/// assert_eq!(
///     make_next_param("https://localhost/login", "http://localhost/profile"),
///     "http://localhost/profile",
/// );
/// ```
#[must_use]
pub fn make_next_param(login_url: &str, current_url: &str) -> String {
    let login = urlsplit(login_url);
    let current = urlsplit(current_url);
    let same_scheme = login.scheme.is_empty() || login.scheme == current.scheme;
    let same_host = login.netloc.is_empty() || login.netloc == current.netloc;
    if same_scheme && same_host {
        urlunsplit(&SplitUrl {
            path: current.path,
            query: current.query,
            ..SplitUrl::default()
        })
    } else {
        current_url.to_owned()
    }
}

/// Flask-Login's `login_url(login_view, next_url, next_field)`: the login view with
/// `next_field=<next>` added to its query, `next` first reduced by [`make_next_param`].
///
/// Encoding is Flask-Login 0.6.3's (`urlencode(parse_qs(query, keep_blank_values=True),
/// doseq=True)`): the view's own query is kept in order (repeated keys grouped, a blank value
/// kept as `key=`), an existing `next_field` is replaced where it stood, values are
/// percent-encoded as Python's `quote_plus` does (`/` → `%2F`, `?` → `%3F`, `&` → `%26`,
/// `=` → `%3D`, space → `+`, only `A-Z a-z 0-9 _ . - ~` kept). With `next = None` the view comes
/// back unchanged. The login view is a URL or path, not a Flask endpoint name.
///
/// ```
/// use login_runtime::login_url;
///
/// assert_eq!(login_url("/login", Some("/protected"), "next"), "/login?next=%2Fprotected");
/// assert_eq!(
///     login_url("/login?affil=cgnu", Some("/protected"), "next"),
///     "/login?affil=cgnu&next=%2Fprotected",
/// );
/// assert_eq!(
///     login_url("https://auth.localhost/login", Some("http://localhost/protected"), "next"),
///     "https://auth.localhost/login?next=http%3A%2F%2Flocalhost%2Fprotected",
/// );
/// assert_eq!(login_url("/foo", None, "next"), "/foo");
/// ```
#[must_use]
pub fn login_url(login_view: &str, next: Option<&str>, next_field: &str) -> String {
    login_url_with_forced_host(login_view, next, next_field, None)
}

/// [`login_url`] with Flask-Login's `FORCE_HOST_FOR_REDIRECTS`: when `force_host` is set, it
/// replaces the host of the login URL (the scheme is kept), after `next` has been reduced against
/// the unforced view, exactly as Flask-Login orders it. A relative view then becomes
/// scheme-relative (`//host/login?...`), as in Flask-Login. Checklist P14; for the runtime's
/// `force_host` option.
#[must_use]
pub(crate) fn login_url_with_forced_host(
    login_view: &str,
    next: Option<&str>,
    next_field: &str,
    force_host: Option<&str>,
) -> String {
    let Some(next) = next else {
        return login_view.to_owned();
    };
    let mut parts = urlsplit(login_view);
    let mut fields = parse_qs(&parts.query);
    let next_value = vec![make_next_param(login_view, next)];
    match fields.iter_mut().find(|(name, _)| name == next_field) {
        Some((_, values)) => *values = next_value,
        None => fields.push((next_field.to_owned(), next_value)),
    }
    parts.query = urlencode(&fields);
    if let Some(host) = force_host.filter(|host| !host.is_empty()) {
        host.clone_into(&mut parts.netloc);
    }
    urlunsplit(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsplit_matches_python_on_the_shapes_login_views_take() {
        let parts = urlsplit("HTTPS://auth.example.com/login?x=1#top");
        assert_eq!(parts.scheme, "https");
        assert_eq!(parts.netloc, "auth.example.com");
        assert_eq!(parts.path, "/login");
        assert_eq!(parts.query, "x=1");
        assert_eq!(parts.fragment, "top");
        assert_eq!(urlsplit("/login").path, "/login");
        assert_eq!(urlsplit("//host/p").netloc, "host");
        assert_eq!(urlsplit("1http:x").scheme, "");
    }

    #[test]
    fn parse_qs_keeps_blank_values_and_groups_repeats() {
        assert_eq!(
            parse_qs("a=1&flag&&b=x+y&a=3"),
            vec![
                ("a".to_owned(), vec!["1".to_owned(), "3".to_owned()]),
                ("flag".to_owned(), vec![String::new()]),
                ("b".to_owned(), vec!["x y".to_owned()]),
            ]
        );
    }

    /// P14. `FORCE_HOST_FOR_REDIRECTS` replaces the host of an absolute login view, keeps its
    /// scheme, and `next` is still reduced against the unforced view.
    #[test]
    fn p14_force_host_replaces_host_and_keeps_scheme() {
        assert_eq!(
            login_url_with_forced_host(
                "https://auth.example.com/login?x=1",
                Some("http://localhost/prot"),
                "next",
                Some("forced.example"),
            ),
            "https://forced.example/login?x=1&next=http%3A%2F%2Flocalhost%2Fprot"
        );
        assert_eq!(
            login_url_with_forced_host(
                "http://localhost/login",
                Some("http://localhost/prot"),
                "next",
                Some("forced.example"),
            ),
            "http://forced.example/login?next=%2Fprot"
        );
        assert_eq!(
            login_url_with_forced_host("/login", None, "next", Some("forced.example")),
            "/login"
        );
    }

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(
            quote_plus("/a b?c=d&e~f_g.h-i"),
            "%2Fa+b%3Fc%3Dd%26e~f_g.h-i"
        );
        assert_eq!(quote_plus("é+%"), "%C3%A9%2B%25");
    }
}
