//! `#[login_required]` / `#[fresh_login_required]` / `#[permission_required]` /
//! `#[anonymous_required]`: parse ([`attr`], [`ast`]) → validate ([`valid`]) → expand
//! ([`expand`]); the permission rule and its check are in [`permission`].

mod ast;
mod attr;
mod expand;
mod permission;
mod valid;

use proc_macro2::TokenStream;
use syn::Path;

use crate::errors::Errors;

/// Which guard an attribute is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[login_required]`: any logged-in user.
    Login,
    /// `#[fresh_login_required]`: a user who logged in with credentials in this session.
    Fresh,
    /// `#[permission_required(..)]`: a logged-in user holding a permission.
    Permission,
    /// `#[anonymous_required]`: a visitor who is not logged in (login and sign-up pages).
    Anonymous,
}

impl Kind {
    /// The attribute's name.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Login => "login_required",
            Self::Fresh => "fresh_login_required",
            Self::Permission => "permission_required",
            Self::Anonymous => "anonymous_required",
        }
    }

    /// The guard an attribute path names (`login_required`, `login_runtime::login_required`).
    pub(crate) fn from_path(path: &Path) -> Option<Self> {
        let last = path.segments.last()?;
        [Self::Login, Self::Fresh, Self::Permission, Self::Anonymous]
            .into_iter()
            .find(|kind| last.ident == kind.name())
    }
}

/// Expands a guard attribute with its `args` on `item`.
///
/// On error it emits every `compile_error!` beside the user's item, so there is no cascade;
/// any other guard on the item is told that the errors are reported (see
/// [`attr::REPORTED`]), so it neither reports them again nor leaves its import unused.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = attr::parse(kind, args, &mut errors);
    if args.already_reported {
        return item;
    }
    let handler = match ast::Handler::from_tokens(item.clone()) {
        Ok(handler) => handler,
        Err(error) => {
            errors.push(error);
            return expand::with_errors(item, errors);
        }
    };
    valid::validate(kind, &args, &handler, &mut errors);
    if errors.is_empty() {
        expand::guarded(kind, &args, &handler)
    } else {
        let item = expand::defuse_unsafe(handler.item);
        expand::with_errors(expand::mark_siblings_reported(item), errors)
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{Kind, expand};

    #[test]
    fn valid_handler_is_rewritten() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index() -> &'static str { "hi" } },
        );
        assert!(
            out.to_string()
                .contains(":: login_runtime :: __private :: guard"),
            "{out}"
        );
        assert!(!out.to_string().contains("compile_error"), "{out}");
    }

    #[test]
    fn errors_keep_the_item_and_silence_sibling_guards() {
        let item = quote! {
            #[fresh_login_required]
            fn index() -> &'static str { "hi" }
        };
        let out = expand(Kind::Login, quote!(login_view = "x"), item).to_string();
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(
            out.contains("fn index () -> & 'static str { \"hi\" }"),
            "{out}"
        );
        assert!(
            out.contains("# [fresh_login_required (__reported)]"),
            "{out}"
        );
        let passed = expand(Kind::Fresh, quote!(__reported), quote! { fn index() {} });
        assert_eq!(passed.to_string(), "fn index () { }");
    }

    #[test]
    fn permission_is_checked_after_the_login_guard_and_before_extraction() {
        let out = expand(
            Kind::Fresh,
            quote!(permission = Perm::A),
            quote! { async fn index(body: web::Json<u8>) -> u8 { *body } },
        )
        .to_string();
        // With no user type named, the login guard runs for the permission's kind of user.
        let guard = out
            .find(":: login_runtime :: __private :: guard_for_check (")
            .unwrap();
        let permission = out.find("__private :: authorize_check (").unwrap();
        let extract = out.find(":: HandlerParameter > :: extract (").unwrap();
        assert!(guard < permission && permission < extract, "{out}");
        assert!(out.contains("fresh : true"), "{out}");
    }

    #[test]
    fn the_guard_admits_the_kind_of_user_its_extractors_or_its_user_argument_name() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index(user: CurrentUser<Staff>, login: Login<Staff>) -> u8 { 1 } },
        )
        .to_string();
        assert!(out.contains("guard_of :: < Staff >"), "{out}");
        assert_eq!(
            out.matches("same_kind :: < Staff , Staff >").count(),
            1,
            "{out}"
        );
        let out = expand(
            Kind::Login,
            quote!(user = Staff, permission = Perm::A),
            quote! { async fn index(user: CurrentUser<Customer>) -> u8 { 1 } },
        )
        .to_string();
        assert!(out.contains("same_kind :: < Customer , Staff >"), "{out}");
        assert!(out.contains("admitted_by :: < Staff >"), "{out}");
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index() -> u8 { 1 } },
        )
        .to_string();
        assert!(
            out.contains(":: login_runtime :: __private :: guard ("),
            "{out}"
        );
    }

    #[test]
    fn anonymous_required_replaces_the_login_guard() {
        let out = expand(
            Kind::Anonymous,
            quote!(),
            quote! { async fn login() -> &'static str { "form" } },
        )
        .to_string();
        assert!(out.contains("__private :: anonymous_only ("), "{out}");
        assert!(!out.contains("__private :: guard ("), "{out}");
    }

    #[test]
    fn non_fn_items_are_kept() {
        let out = expand(Kind::Fresh, quote!(), quote! { struct Index; }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct Index ;"), "{out}");
    }

    #[test]
    fn kind_from_path_matches_the_last_segment() {
        assert_eq!(
            Kind::from_path(&syn::parse_quote!(login_runtime::fresh_login_required)),
            Some(Kind::Fresh)
        );
        assert_eq!(
            Kind::from_path(&syn::parse_quote!(login_required)),
            Some(Kind::Login)
        );
        assert_eq!(Kind::from_path(&syn::parse_quote!(get)), None);
    }
}
