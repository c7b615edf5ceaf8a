//! The guard's arguments (`login_view = "/…"`, `refresh_view = "/…"`, `permission = …`,
//! and `#[permission_required]`'s rule), parsed into [`GuardArgs`].

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Lit, LitStr, Path, Token};

use super::Kind;
use super::permission::Rule;
use crate::errors::Errors;

/// `login_view = "/path"`: where anonymous visitors go, for this handler.
pub(crate) const LOGIN_VIEW: &str = "login_view";
/// `refresh_view = "/path"`: where stale logins go, for this handler.
pub(crate) const REFRESH_VIEW: &str = "refresh_view";
/// `permission = Perm::Admin` (or `any(..)` / `all(..)`): a permission the login guards also
/// require.
pub(crate) const PERMISSION: &str = "permission";
/// `user = Staff`: the kind of user the guard admits (the user type of a `LoginManager` with
/// a realm); by default the one its extractors name, or the default kind.
pub(crate) const USER: &str = "user";
/// `second_factor`: the login must have been made with a second factor too.
pub(crate) const SECOND_FACTOR: &str = "second_factor";
/// Hidden: set on a guard by another guard on the same function that already reported the
/// errors, so this one passes the item through instead of reporting them again.
pub(crate) const REPORTED: &str = "__reported";

/// The checked arguments of one guard.
#[derive(Default)]
pub(crate) struct GuardArgs {
    pub(crate) login_view: Option<LitStr>,
    pub(crate) refresh_view: Option<LitStr>,
    /// The permission rule, checked after the login (and freshness) check.
    pub(crate) permission: Option<Rule>,
    /// `second_factor`, checked after freshness and before the permission.
    pub(crate) second_factor: bool,
    /// `user = Type`.
    pub(crate) user: Option<syn::Type>,
    /// See [`REPORTED`].
    pub(crate) already_reported: bool,
    /// `#[guard = "/login"]`, which rustc refuses itself: the view, for the warning that
    /// names the fix.
    pub(crate) key_value_hint: Option<LitStr>,
}

/// Arguments as written, each with its key for spans; checked together in [`Self::build`].
#[derive(Default)]
struct RawArgs {
    login_view: Option<(Path, LitStr)>,
    refresh_view: Option<(Path, LitStr)>,
    permission: Option<(Path, Rule)>,
    second_factor: Option<Path>,
    user: Option<syn::Type>,
    /// `#[permission_required]`'s rule, written first and without a key.
    positional_rule: Option<Rule>,
    already_reported: bool,
}

/// Parses a guard's arguments; every mistake goes to `errors`, what is valid is kept.
pub(crate) fn parse(kind: Kind, args: TokenStream, errors: &mut Errors) -> GuardArgs {
    if let Some(view) = bare_view(kind, &args) {
        if written_as_key_value() {
            // `#[login_required = "/login"]`: rustc has refused the form already ("key-value
            // macro attributes are not supported"). A second error would repeat it without
            // adding anything, so the fix comes as a warning and the guard goes on with the
            // view the user meant.
            return GuardArgs {
                login_view: Some(view.clone()),
                key_value_hint: Some(view),
                ..GuardArgs::default()
            };
        }
        // `#[login_required("/login")]`: the view without its key.
        errors.push(syn::Error::new_spanned(
            &view,
            format!(
                "name the argument: write `#[{}(login_view = {})]`",
                kind.name(),
                view.to_token_stream()
            ),
        ));
        return GuardArgs::default();
    }
    let mut raw = RawArgs::default();
    let args = if kind == Kind::Permission {
        let (rule, rest) = errors
            .take(split_positional_rule.parse2(args))
            .unwrap_or_default();
        raw.positional_rule = rule.and_then(|rule| errors.take(Rule::from_expr(&rule)));
        rest
    } else {
        args
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(REPORTED) {
            raw.already_reported = true;
            return Ok(());
        }
        if meta.path.is_ident(USER) {
            if !meta.input.peek(Token![=]) {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    "`user` needs a value: write `user = YourUserType`",
                ));
            }
            let value = meta.value()?;
            if value.peek(syn::LitStr) {
                let lit: LitStr = value.parse()?;
                errors.push(syn::Error::new_spanned(
                    &lit,
                    format!(
                        "`user` is a type, not a string: write `user = {}`",
                        lit.value()
                    ),
                ));
                return Ok(());
            }
            let ty: syn::Type = value.parse()?;
            if raw.user.is_some() {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    "duplicate `user` argument: remove this one",
                ));
            } else {
                raw.user = Some(ty);
            }
            return Ok(());
        }
        if meta.path.is_ident(SECOND_FACTOR) {
            if meta.input.peek(Token![=]) {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    format!(
                        "`second_factor` takes no value: write `#[{}(second_factor)]`",
                        kind.name()
                    ),
                ));
                meta.value()?.parse::<Expr>()?;
            } else if raw.second_factor.is_some() {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    "duplicate `second_factor` argument: remove this one",
                ));
            } else {
                raw.second_factor = Some(meta.path);
            }
            return Ok(());
        }
        let key = [LOGIN_VIEW, REFRESH_VIEW, PERMISSION]
            .into_iter()
            .find(|key| meta.path.is_ident(key));
        let Some(key) = key else {
            let message = if kind == Kind::Permission && meta.path.get_ident().is_none() {
                "`#[permission_required]` takes one permission: combine several with \
                 `all(..)` or `any(..)`"
                    .to_owned()
            } else {
                format!(
                    "unknown `{}` argument `{}`; {}",
                    kind.name(),
                    crate::display::path_name(&meta.path),
                    expected(kind)
                )
            };
            errors.push(syn::Error::new_spanned(&meta.path, message));
            // Skip the value so the arguments after it are still checked.
            if meta.input.peek(Token![=]) {
                meta.value()?.parse::<Expr>()?;
            } else if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                meta.input.parse::<TokenTree>()?;
            }
            return Ok(());
        };
        if key == PERMISSION {
            if !meta.input.peek(Token![=]) {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    "`permission` needs a value: write `permission = YourPermission::Variant`",
                ));
            }
            let value: Expr = meta.value()?.parse()?;
            let Some(rule) = errors.take(Rule::from_expr(&value)) else {
                return Ok(());
            };
            if raw.permission.is_some() {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    "duplicate `permission` argument: require several permissions with \
                     `permission = all(..)` or `permission = any(..)`",
                ));
            } else {
                raw.permission = Some((meta.path, rule));
            }
            return Ok(());
        }
        if !meta.input.peek(Token![=]) {
            return Err(syn::Error::new_spanned(
                &meta.path,
                format!(
                    "`{key}` needs a value: write `{key} = \"/{}\"`",
                    example(key)
                ),
            ));
        }
        let value: Expr = meta.value()?.parse()?;
        let Some(view) = errors.take(view_path(key, &value)) else {
            return Ok(());
        };
        let slot = if key == LOGIN_VIEW {
            &mut raw.login_view
        } else {
            &mut raw.refresh_view
        };
        if slot.is_some() {
            errors.push(syn::Error::new_spanned(
                &meta.path,
                format!("duplicate `{key}` argument: remove this one"),
            ));
        } else {
            *slot = Some((meta.path, view));
        }
        Ok(())
    });
    let result = parser.parse2(args);
    errors.take(result);
    raw.build(kind, errors)
}

impl RawArgs {
    /// Cross-argument rules.
    fn build(self, kind: Kind, errors: &mut Errors) -> GuardArgs {
        let refresh_view = match (kind, self.refresh_view) {
            (Kind::Login, Some((path, _))) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    "`refresh_view` has no effect on `#[login_required]`, which accepts logins \
                     that are not fresh: use `#[fresh_login_required(refresh_view = \"/…\")]`",
                ));
                None
            }
            (Kind::Permission | Kind::Anonymous, Some((path, _))) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    format!(
                        "`refresh_view` has no effect on `#[{}]`: use \
                         `#[fresh_login_required(refresh_view = \"/…\", permission = …)]`",
                        kind.name()
                    ),
                ));
                None
            }
            (_, refresh_view) => refresh_view.map(|(_, view)| view),
        };
        let login_view = match (kind, self.login_view) {
            (Kind::Anonymous, Some((path, _))) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    "`login_view` has no effect on `#[anonymous_required]`, which admits \
                     anonymous visitors: set where logged-in ones go with \
                     `LoginManager::anonymous_redirect`",
                ));
                None
            }
            (_, login_view) => login_view.map(|(_, view)| view),
        };
        let permission = match (kind, self.permission) {
            (Kind::Permission, Some((path, _))) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    "write the permission itself as the argument: \
                     `#[permission_required(YourPermission::Variant)]`",
                ));
                None
            }
            (Kind::Anonymous, Some((path, _))) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    "`permission` has no effect on `#[anonymous_required]`, which admits only \
                     visitors who are not logged in",
                ));
                None
            }
            (_, permission) => permission.map(|(_, rule)| rule),
        };
        let second_factor = match (kind, self.second_factor) {
            (Kind::Anonymous, Some(path)) => {
                errors.push(syn::Error::new_spanned(
                    path,
                    "`second_factor` has no effect on `#[anonymous_required]`, which admits only \
                     visitors who are not logged in",
                ));
                false
            }
            (_, second_factor) => second_factor.is_some(),
        };
        let permission = if kind == Kind::Permission {
            if self.positional_rule.is_none() && !self.already_reported && errors.is_empty() {
                errors.push(syn::Error::new(
                    proc_macro2::Span::call_site(),
                    "`#[permission_required]` needs a permission: write \
                     `#[permission_required(YourPermission::Variant)]`",
                ));
            }
            self.positional_rule
        } else {
            permission
        };
        GuardArgs {
            login_view,
            refresh_view,
            permission,
            second_factor,
            user: self.user,
            already_reported: self.already_reported,
            key_value_hint: None,
        }
    }
}

/// `#[permission_required]`'s leading rule, and the `key = value` arguments after it. A
/// leading `key = value` (no rule) or `__reported` is left to the key parser.
fn split_positional_rule(input: ParseStream<'_>) -> syn::Result<(Option<Expr>, TokenStream)> {
    let is_reported = input
        .fork()
        .parse::<syn::Ident>()
        .is_ok_and(|ident| ident == REPORTED);
    if input.is_empty() || is_reported {
        return Ok((None, input.parse()?));
    }
    let fork = input.fork();
    if let Ok(Expr::Assign(_)) = fork.parse::<Expr>() {
        return Ok((None, input.parse()?));
    }
    let rule: Expr = input.parse()?;
    if input.is_empty() {
        return Ok((Some(rule), TokenStream::new()));
    }
    input.parse::<Token![,]>()?;
    Ok((Some(rule), input.parse()?))
}

/// Whether the attribute was written `#[guard = "…"]`: rustc passes its value on as the
/// arguments, exactly like `#[guard("…")]`, so only the source text tells them apart.
fn written_as_key_value() -> bool {
    proc_macro2::Span::call_site()
        .source_text()
        .is_some_and(|attr| {
            attr.split('"')
                .next()
                .is_some_and(|head| head.contains('='))
        })
}

/// A lone string literal as the whole argument list of a login guard (whose arguments all
/// have keys; `#[permission_required]`'s first one is its rule).
fn bare_view(kind: Kind, args: &TokenStream) -> Option<LitStr> {
    matches!(kind, Kind::Login | Kind::Fresh)
        .then(|| syn::parse2::<LitStr>(args.clone()).ok())
        .flatten()
}

/// A view must be a string literal naming a path on this site, or an absolute `http(s)` URL
/// of a login service (as `LoginManager::login_view` accepts).
fn view_path(key: &str, value: &Expr) -> syn::Result<LitStr> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            format!(
                "`{key}` must be a string literal: write `{key} = \"/{}\"`",
                example(key)
            ),
        ));
    };
    if is_site_path(&lit.value()) || is_service_url(&lit.value()) {
        return Ok(lit.clone());
    }
    Err(syn::Error::new_spanned(
        lit,
        format!(
            "`{key}` must be a path on this site starting with a single `/`, like `\"/{}\"`, \
             or an absolute `https://` URL of a login service",
            example(key)
        ),
    ))
}

/// `/login`, never `//host/login`, which a browser reads as another site.
fn is_site_path(view: &str) -> bool {
    view.starts_with('/') && !view.starts_with("//") && !view.starts_with("/\\")
}

/// `https://accounts.example.com/login`: a scheme of the web, a host, no whitespace.
fn is_service_url(view: &str) -> bool {
    let rest = view
        .strip_prefix("https://")
        .or_else(|| view.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !view.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn example(key: &str) -> &'static str {
    if key == LOGIN_VIEW {
        "login"
    } else {
        "reauthenticate"
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Login => "expected `login_view`, `permission`, `second_factor` or `user`",
        Kind::Fresh => {
            "expected `login_view`, `refresh_view`, `permission`, `second_factor` or `user`"
        }
        Kind::Permission => "expected a permission, then `login_view`, `second_factor` or `user`",
        Kind::Anonymous => {
            "it takes only `user` (set where logged-in visitors go with \
             `LoginManager::anonymous_redirect`)"
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::{GuardArgs, parse};
    use crate::errors::Errors;
    use crate::guard::Kind;

    fn run(kind: Kind, args: TokenStream) -> (GuardArgs, Vec<String>) {
        let mut errors = Errors::default();
        let parsed = parse(kind, args, &mut errors);
        let messages = errors
            .finish()
            .err()
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect();
        (parsed, messages)
    }

    #[test]
    fn empty_and_full_arguments() {
        let (args, errors) = run(Kind::Login, quote!());
        assert!(errors.is_empty() && args.login_view.is_none() && args.refresh_view.is_none());
        let (args, errors) = run(
            Kind::Fresh,
            quote!(login_view = "/in", refresh_view = "/again"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.login_view.unwrap().value(), "/in");
        assert_eq!(args.refresh_view.unwrap().value(), "/again");
    }

    #[test]
    fn independent_mistakes_are_all_reported() {
        let (args, errors) = run(
            Kind::Fresh,
            quote!(
                next = 1,
                login_view = login,
                refresh_view = "again",
                login_view = "/a",
                login_view = "/b"
            ),
        );
        assert_eq!(
            errors,
            [
                "unknown `fresh_login_required` argument `next`; expected `login_view`, `refresh_view`, `permission`, `second_factor` or `user`",
                "`login_view` must be a string literal: write `login_view = \"/login\"`",
                "`refresh_view` must be a path on this site starting with a single `/`, like `\"/reauthenticate\"`, or an absolute `https://` URL of a login service",
                "duplicate `login_view` argument: remove this one",
            ]
        );
        assert_eq!(args.login_view.unwrap().value(), "/a");
    }

    #[test]
    fn permissions_as_argument_and_as_rule() {
        let (args, errors) = run(
            Kind::Fresh,
            quote!(permission = any(Perm::A, Perm::B), refresh_view = "/again"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.permission.is_some() && args.refresh_view.is_some());
        let (args, errors) = run(
            Kind::Permission,
            quote!(all(Perm::A, Perm::B), login_view = "/in"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.permission.is_some());
        assert_eq!(args.login_view.unwrap().value(), "/in");
    }

    #[test]
    fn permission_mistakes_are_reported_at_their_tokens() {
        let (_, errors) = run(
            Kind::Login,
            quote!(permission = Perm::A, permission = Perm::B),
        );
        assert_eq!(
            errors,
            [
                "duplicate `permission` argument: require several permissions with \
              `permission = all(..)` or `permission = any(..)`"
            ]
        );
        let (_, errors) = run(Kind::Permission, quote!(Perm::A, Perm::B));
        assert_eq!(
            errors,
            [
                "`#[permission_required]` takes one permission: combine several with `all(..)` or `any(..)`"
            ]
        );
        let (_, errors) = run(Kind::Permission, quote!());
        assert!(errors[0].starts_with("`#[permission_required]` needs a permission"));
        let (_, errors) = run(Kind::Permission, quote!(permission = Perm::A));
        assert!(
            errors[0].starts_with("write the permission itself"),
            "{errors:?}"
        );
        let (_, errors) = run(Kind::Anonymous, quote!(login_view = "/in"));
        assert!(errors[0].starts_with("`login_view` has no effect on `#[anonymous_required]`"));
        let (args, errors) = run(Kind::Permission, quote!(__reported));
        assert!(errors.is_empty() && args.already_reported);
    }

    #[test]
    fn login_service_urls_are_accepted_and_other_schemes_refused() {
        let (args, errors) = run(
            Kind::Login,
            quote!(login_view = "https://accounts.example.com/login"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(args.login_view.is_some());
        for view in [
            "javascript:alert(1)",
            "https:///login",
            "ftp://x/login",
            "login",
        ] {
            let (_, errors) = run(Kind::Login, quote!(login_view = #view));
            assert_eq!(errors.len(), 1, "{view}");
        }
    }

    #[test]
    fn second_factor_is_a_flag_given_once_on_the_login_guards() {
        for kind in [Kind::Login, Kind::Fresh] {
            let (args, errors) = run(kind, quote!(second_factor, login_view = "/in"));
            assert!(errors.is_empty() && args.second_factor, "{errors:?}");
        }
        let (args, errors) = run(Kind::Permission, quote!(Perm::A, second_factor));
        assert!(errors.is_empty() && args.second_factor, "{errors:?}");
        let (_, errors) = run(Kind::Login, quote!(second_factor = true));
        assert_eq!(
            errors,
            ["`second_factor` takes no value: write `#[login_required(second_factor)]`"]
        );
        let (_, errors) = run(Kind::Login, quote!(second_factor, second_factor));
        assert_eq!(
            errors,
            ["duplicate `second_factor` argument: remove this one"]
        );
        let (_, errors) = run(Kind::Anonymous, quote!(second_factor));
        assert!(errors[0].starts_with("`second_factor` has no effect on `#[anonymous_required]`"));
    }

    #[test]
    fn a_bare_view_names_its_key() {
        let (_, errors) = run(Kind::Login, quote!("/login"));
        assert_eq!(
            errors,
            ["name the argument: write `#[login_required(login_view = \"/login\")]`"]
        );
    }

    #[test]
    fn protocol_relative_views_are_refused() {
        let (_, errors) = run(Kind::Login, quote!(login_view = "//evil.example/login"));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn missing_value_and_refresh_view_on_login_required() {
        let (_, errors) = run(Kind::Login, quote!(login_view));
        assert_eq!(
            errors,
            ["`login_view` needs a value: write `login_view = \"/login\"`"]
        );
        let (args, errors) = run(Kind::Login, quote!(refresh_view = "/again"));
        assert!(args.refresh_view.is_none());
        assert!(errors[0].starts_with("`refresh_view` has no effect on `#[login_required]`"));
    }
}
