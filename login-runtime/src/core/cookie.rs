//! The remember cookie, read and written in one place: which token a request carries, what
//! the response must do with the cookie, and the `Set-Cookie` it becomes. The values are
//! encoded and verified by [`remember`](crate::remember).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use actix_web::HttpRequest;
use actix_web::cookie::Cookie;
use actix_web::cookie::time::OffsetDateTime;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;

use crate::core::config::Config;
use crate::remember::{RememberFormat, RememberToken};

/// What the response must do with the remember cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CookieAction {
    Keep,
    Set { value: String, max_age: Duration },
    Clear,
}

/// Separates a feature's binding (a device id) from the hash tag in a bound cookie's tag
/// field.
const BINDING_SEPARATOR: char = '!';

/// The tag field of a remember cookie: the user's hash tag, after the binding if there is one.
pub(crate) fn bound_tag<'a>(binding: Option<&str>, tag: Option<&'a str>) -> Option<Cow<'a, str>> {
    match binding {
        Some(binding) => Some(Cow::Owned(format!(
            "{binding}{BINDING_SEPARATOR}{}",
            tag.unwrap_or_default()
        ))),
        None => tag.map(Cow::Borrowed),
    }
}

/// A verified token's tag field split into a binding that `accepts` recognises and the user's
/// hash tag; `None` when the field carries no such binding (it is then left as it is, and a
/// bound tag never matches a user's).
pub(crate) fn split_binding(
    tag: Option<&str>,
    accepts: impl Fn(&str) -> bool,
) -> Option<(String, Option<String>)> {
    let (binding, tag) = tag?.split_once(BINDING_SEPARATOR)?;
    accepts(binding).then(|| {
        (
            binding.to_owned(),
            (!tag.is_empty()).then(|| tag.to_owned()),
        )
    })
}

/// Whether the request carries a remember cookie at all, valid or not.
pub(crate) fn has_remember_cookie(req: &HttpRequest, config: &Config) -> bool {
    req.cookies_raw().is_ok_and(|cookies| {
        cookies
            .iter()
            .any(|cookie| cookie.name() == config.remember.name)
    })
}

/// The first valid remember token the request carries. Cookie values are read exactly as
/// sent (not percent-decoded), because that is what was signed; in the FlaskLogin format they
/// are read from the `Cookie` headers the way Werkzeug reads them, quotes and all.
pub(crate) fn remember_token(
    req: &HttpRequest,
    config: &Config,
    now: SystemTime,
) -> Option<RememberToken> {
    let name = config.remember.name.as_str();
    if config.codec.format() == RememberFormat::FlaskLogin {
        return req
            .headers()
            .get_all(header::COOKIE)
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .flat_map(|value| crate::remember::flask::werkzeug_cookie_values(value, name))
            .find_map(|value| config.codec.decode(&value?, now));
    }
    let cookies = req.cookies_raw().ok()?;
    cookies
        .iter()
        .filter(|cookie| cookie.name() == name)
        .find_map(|cookie| config.codec.decode(cookie.value(), now))
}

/// A new remember cookie for `user_id`, issued `now` for `duration`.
pub(crate) fn issue(
    config: &Config,
    user_id: &str,
    tag: Option<&str>,
    duration: Duration,
    now: SystemTime,
) -> CookieAction {
    CookieAction::Set {
        value: config.codec.encode(user_id, tag, duration, now),
        max_age: duration,
    }
}

/// A remember cookie verified by a previous key, signed again with the current key and the
/// user's current hash tag (after its binding). It keeps its expiry, unless every request
/// refreshes it anyway.
pub(crate) fn resign(
    config: &Config,
    token: &RememberToken,
    tag: Option<&str>,
    now: SystemTime,
) -> CookieAction {
    let duration = token.duration.unwrap_or(config.remember.duration);
    let (issued, max_age) = match token.expires_at {
        Some(expires) if !config.remember.refresh_each_request => (
            expires.checked_sub(duration).unwrap_or(now),
            expires.duration_since(now).unwrap_or_default(),
        ),
        _ => (now, duration),
    };
    CookieAction::Set {
        value: config.codec.encode(&token.user_id, tag, duration, issued),
        max_age,
    }
}

/// The cookie the response carries when the request decided nothing: with
/// `refresh_each_request`, a valid cookie issued again for its whole duration (`tag` is its
/// tag field, binding included).
pub(crate) fn refreshed(
    config: &Config,
    token: Option<&RememberToken>,
    tag: Option<&str>,
    now: SystemTime,
) -> CookieAction {
    if !config.remember.refresh_each_request {
        return CookieAction::Keep;
    }
    let Some(token) = token else {
        return CookieAction::Keep;
    };
    if token.signed_with_previous_key && token.hash_tag.is_some() {
        // Its hash tag was made with a retired key and only the user's session hash can
        // make it again: a request that loads the user re-signs it. Re-signing the old tag
        // here would give a cookie that dies with the old key.
        return CookieAction::Keep;
    }
    let duration = token.duration.unwrap_or(config.remember.duration);
    issue(config, &token.user_id, tag, duration, now)
}

/// Writes `action` into the response as a `Set-Cookie` (nothing for [`CookieAction::Keep`]).
pub(crate) fn apply<B>(res: &mut ServiceResponse<B>, config: &Config, action: CookieAction) {
    let settings = &config.remember;
    let (value, max_age) = match action {
        CookieAction::Keep => return,
        // Flask-format values are quoted as Werkzeug quotes them, so a Flask app reads them.
        CookieAction::Set { value, max_age }
            if config.codec.format() == RememberFormat::FlaskLogin =>
        {
            (
                crate::remember::flask::quote_cookie_value(&value).into_owned(),
                Some(max_age),
            )
        }
        CookieAction::Set { value, max_age } => (value, Some(max_age)),
        CookieAction::Clear => (String::new(), None),
    };
    let mut cookie = Cookie::new(settings.name.clone(), value);
    cookie.set_path(settings.path.clone());
    if let Some(domain) = &settings.domain {
        cookie.set_domain(domain.clone());
    }
    cookie.set_secure(settings.secure);
    cookie.set_http_only(settings.http_only);
    cookie.set_same_site(settings.same_site);
    match max_age.and_then(cookie_lifetime) {
        Some(lifetime) => {
            cookie.set_max_age(lifetime);
            // Beyond what a cookie date can say, the latest one it can: never a panic.
            let expires = OffsetDateTime::now_utc()
                .checked_add(lifetime)
                .unwrap_or(latest_cookie_date());
            cookie.set_expires(expires);
        }
        None => cookie.make_removal(),
    }
    if let Err(error) = res.response_mut().add_cookie(&cookie) {
        tracing::error!(target: "login_runtime", %error, "could not set the remember cookie");
    }
}

/// 9999-12-31T23:59:59Z, the latest date every browser parses in `Expires`.
fn latest_cookie_date() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn cookie_lifetime(duration: Duration) -> Option<actix_web::cookie::time::Duration> {
    let seconds = i64::try_from(duration.as_secs()).ok()?;
    Some(actix_web::cookie::time::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::{bound_tag, split_binding};

    const DEVICE: &str = "0123456789abcdef0123456789abcdef";

    fn is_device(text: &str) -> bool {
        text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn a_bound_tag_gives_back_the_binding_and_the_users_tag() {
        for tag in [Some("5f2a"), None] {
            let bound = bound_tag(Some(DEVICE), tag).map(|tag| tag.into_owned());
            let split = split_binding(bound.as_deref(), is_device);
            assert_eq!(split, Some((DEVICE.to_owned(), tag.map(str::to_owned))));
        }
    }

    #[test]
    fn only_an_accepted_binding_is_taken_out_of_a_tag() {
        for tag in [
            "5f2a",
            "not-hex!5f2a",
            "0123!5f2a",
            "0123456789ABCDEF0123456789ABCDEF!x",
        ] {
            assert_eq!(split_binding(Some(tag), is_device), None, "{tag}");
        }
        assert_eq!(bound_tag(None, Some("5f2a")).as_deref(), Some("5f2a"));
    }
}
