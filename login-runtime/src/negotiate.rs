//! Whether an unauthorized request wants JSON or a login page.
//!
//! Flask-Login always redirects. An API client or a script calling `fetch` does better with a
//! `401` and a JSON body than with a `302` to an HTML form, so the runtime asks
//! [`prefers_json`] first. The parser works on raw header bytes: an `Accept` header is
//! attacker-controlled, may be non-UTF-8, huge or nonsense, and none of that may panic or cost
//! more than one pass over it.

/// [`prefers_json`] for a request: its `Accept` and `X-Requested-With` headers. The rule the
/// runtime's own refusals use, for a crate or an app that answers HTML or JSON the same way.
///
/// ```
/// use actix_web::test::TestRequest;
/// use login_runtime::request_prefers_json;
///
/// let api = TestRequest::default().insert_header(("Accept", "application/json")).to_http_request();
/// assert!(request_prefers_json(&api));
/// assert!(!request_prefers_json(&TestRequest::default().to_http_request()));
/// ```
pub fn request_prefers_json(req: &actix_web::HttpRequest) -> bool {
    let headers = req.headers();
    let header = |name: &str| headers.get(name).map(|value| value.as_bytes());
    prefers_json(header("accept"), header("x-requested-with"))
}

/// Decides whether an unauthorized request should get a JSON `401` instead of a redirect to the
/// login view.
///
/// True when either
///
/// * `X-Requested-With` is `XMLHttpRequest` (ASCII case-insensitive, surrounding spaces and
///   tabs ignored), the header jQuery and many XHR helpers send; or
/// * `Accept` lists JSON (`application/json`, or any `+json` type such as
///   `application/problem+json`) among its best-ranked explicit types (highest `q`, wildcards
///   aside), and JSON ranks above `text/html`. `text/html` is ranked by the most specific range
///   that matches it (`text/html`, else `text/*`, else `*/*`); on equal `q` the more specific
///   range wins, so `application/json, */*` prefers JSON while `application/json, text/html`,
///   a tie, keeps the redirect a browser expects.
///
/// Media ranges that do not parse (no `/`, characters outside RFC 9110 tokens, a malformed or
/// quoted `q`) are skipped, and the rest still count. Browsers' own `Accept` headers
/// (`text/html,…,*/*;q=0.8`) and a bare `*/*` never prefer JSON. Absent headers are `None`.
///
/// ```
/// use login_runtime::prefers_json;
///
/// assert!(prefers_json(None, Some(b"XMLHttpRequest")));
/// assert!(prefers_json(Some(b"application/json"), None));
/// assert!(prefers_json(Some(b"application/json, text/plain, */*"), None));
/// assert!(!prefers_json(Some(b"text/html,application/xhtml+xml,*/*;q=0.8"), None));
/// assert!(!prefers_json(Some(b"text/html;q=0.9, application/json;q=0.5"), None));
/// assert!(!prefers_json(Some(b"*/*"), None));
/// assert!(!prefers_json(Some(&[0xff, 0xfe, b'/', 0x80]), None));
/// assert!(!prefers_json(None, None));
/// ```
#[must_use]
pub fn prefers_json(accept: Option<&[u8]>, x_requested_with: Option<&[u8]>) -> bool {
    x_requested_with.is_some_and(is_xml_http_request) || accept.is_some_and(accept_prefers_json)
}

fn is_xml_http_request(value: &[u8]) -> bool {
    trim_ows(value).eq_ignore_ascii_case(b"XMLHttpRequest")
}

/// A quality value in thousandths: `q=0.5` is 500, no `q` is 1000.
type Weight = u16;

/// How specifically a media range matches `text/html`, for ranking ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Specificity {
    Any,
    Type,
    Exact,
}

/// The best weights seen so far, one pass over the header.
#[derive(Debug, Default)]
struct Ranking {
    json: Option<Weight>,
    /// Best weight among explicit types that are neither JSON nor `text/html`.
    other_explicit: Option<Weight>,
    html_exact: Option<Weight>,
    text_any: Option<Weight>,
    any: Option<Weight>,
}

impl Ranking {
    fn record(&mut self, media_type: &[u8], subtype: &[u8], weight: Weight) {
        let slot = match (media_type, subtype) {
            (b"*", b"*") => &mut self.any,
            (b"text", b"*") => &mut self.text_any,
            (_, b"*") => return, // `application/*` etc.: matches neither side more than the other
            (b"text", b"html") => &mut self.html_exact,
            (b"application", b"json") => &mut self.json,
            (_, sub) if sub.len() > b"+json".len() && sub.ends_with(b"+json") => &mut self.json,
            _ => &mut self.other_explicit,
        };
        // Duplicated ranges: the best one counts.
        *slot = Some(slot.map_or(weight, |seen| seen.max(weight)));
    }

    fn html_rank(&self) -> Option<(Weight, Specificity)> {
        self.html_exact
            .map(|weight| (weight, Specificity::Exact))
            .or(self.text_any.map(|weight| (weight, Specificity::Type)))
            .or(self.any.map(|weight| (weight, Specificity::Any)))
    }

    fn prefers_json(&self) -> bool {
        let Some(json) = self.json.filter(|&weight| weight > 0) else {
            return false;
        };
        let best_ranked = self.other_explicit.is_none_or(|other| json >= other);
        let above_html = self
            .html_rank()
            .is_none_or(|html| (json, Specificity::Exact) > html);
        best_ranked && above_html
    }
}

fn accept_prefers_json(accept: &[u8]) -> bool {
    let mut ranking = Ranking::default();
    for range in split_outside_quotes(accept, b',') {
        if let Some((media_type, subtype, weight)) = parse_media_range(range) {
            ranking.record(&media_type, &subtype, weight);
        }
    }
    ranking.prefers_json()
}

/// `type/subtype` lowercased and the range's weight, or `None` for a malformed range.
fn parse_media_range(range: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Weight)> {
    let mut parts = split_outside_quotes(range, b';');
    let media = trim_ows(parts.next()?);
    let slash = media.iter().position(|&b| b == b'/')?;
    let (media_type, subtype) = (media.get(..slash)?, media.get(slash + 1..)?);
    // `*` only ever stands alone: `*/*` or `type/*`, never `*/json` or `application/*+json`.
    let bad_wildcard = |part: &[u8]| part.contains(&b'*') && part != b"*";
    if !is_token(media_type)
        || !is_token(subtype)
        || bad_wildcard(media_type)
        || bad_wildcard(subtype)
        || (media_type == b"*" && subtype != b"*")
    {
        return None;
    }
    let mut weight = 1000;
    for parameter in parts {
        let parameter = trim_ows(parameter);
        let Some(equals) = parameter.iter().position(|&b| b == b'=') else {
            continue;
        };
        let name = trim_ows(parameter.get(..equals)?);
        if name.eq_ignore_ascii_case(b"q") {
            weight = parse_weight(trim_ows(parameter.get(equals + 1..)?))?;
            // Parameters after `q` are accept-extensions; nothing here uses them.
            break;
        }
    }
    Some((
        media_type.to_ascii_lowercase(),
        subtype.to_ascii_lowercase(),
        weight,
    ))
}

/// RFC 9110 `qvalue`: `0` or `1`, then up to three decimals, never above `1.000`.
fn parse_weight(value: &[u8]) -> Option<Weight> {
    let (&whole, rest) = value.split_first()?;
    let decimals = match rest {
        [] => &[][..],
        [b'.', decimals @ ..] if decimals.len() <= 3 => decimals,
        _ => return None,
    };
    if !decimals.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for (index, &digit) in decimals.iter().enumerate() {
        let scale: Weight = match index {
            0 => 100,
            1 => 10,
            _ => 1,
        };
        thousandths += Weight::from(digit - b'0') * scale;
    }
    match whole {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// RFC 9110 `token` characters, at least one.
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// Splits on `separator` except inside a quoted string (where `\` escapes one byte), so
/// `text/html;title="a,b"` stays one range. An unterminated quote runs to the end.
fn split_outside_quotes(bytes: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut in_quotes = false;
    let mut escaped = false;
    bytes.split(move |&b| {
        if escaped {
            escaped = false;
        } else if in_quotes && b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == separator && !in_quotes {
            return true;
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_rfc_9110() {
        assert_eq!(parse_weight(b"1"), Some(1000));
        assert_eq!(parse_weight(b"1.000"), Some(1000));
        assert_eq!(parse_weight(b"0.5"), Some(500));
        assert_eq!(parse_weight(b"0.05"), Some(50));
        assert_eq!(parse_weight(b"0.123"), Some(123));
        assert_eq!(parse_weight(b"0"), Some(0));
        assert_eq!(parse_weight(b"0."), Some(0));
        for bad in [
            &b"1.001"[..],
            b"2",
            b".5",
            b"0.1234",
            b"",
            b"-0",
            b"0.a",
            b"\"0.5\"",
        ] {
            assert_eq!(parse_weight(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn quoted_commas_do_not_split_ranges() {
        let ranges: Vec<_> = split_outside_quotes(br#"a/b;t="x,\"y",c/d"#, b',').collect();
        assert_eq!(ranges, vec![&br#"a/b;t="x,\"y""#[..], b"c/d"]);
    }
}
