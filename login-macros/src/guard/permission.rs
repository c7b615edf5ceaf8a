//! Permissions in the guards: the rule of `#[permission_required(..)]` and of
//! `permission = ..` on `#[login_required]` / `#[fresh_login_required]` (parsed here), the
//! statement that checks it (written here, run after the login guard), and the
//! anonymous-only guard's statement.
//!
//! A rule is a Rust expression (`Perm::Admin`), or `any(..)` / `all(..)` of rules. Leaves
//! are re-emitted with the user's own tokens, so a misspelt variant is rustc's own error at
//! the attribute, and a value of a type that is not a permission type is reported on it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, ExprLit, Lit};

use super::Kind;

/// A permission rule as written.
pub(crate) enum Rule {
    /// One permission: the user's expression.
    One(Expr),
    /// `any(..)` / `all(..)`, with the span of the call for generated code.
    Any(Span, Vec<Rule>),
    All(Span, Vec<Rule>),
}

const ANY: &str = "any";
const ALL: &str = "all";

impl Rule {
    /// Reads a rule from the expression an attribute was given.
    pub(crate) fn from_expr(expr: &Expr) -> syn::Result<Self> {
        if let Some((combinator, call)) = combinator(expr) {
            if call.args.is_empty() {
                return Err(syn::Error::new_spanned(
                    call,
                    format!(
                        "`{combinator}()` needs at least one permission: write \
                         `{combinator}(YourPermission::A, YourPermission::B)`"
                    ),
                ));
            }
            let mut errors: Option<syn::Error> = None;
            let mut rules = Vec::new();
            for arg in &call.args {
                match Self::from_expr(arg) {
                    Ok(rule) => rules.push(rule),
                    Err(error) => match &mut errors {
                        Some(first) => first.combine(error),
                        None => errors = Some(error),
                    },
                }
            }
            if let Some(errors) = errors {
                return Err(errors);
            }
            let span = call.span();
            return Ok(if combinator == ANY {
                Rule::Any(span, rules)
            } else {
                Rule::All(span, rules)
            });
        }
        if let Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) = expr
        {
            return Err(syn::Error::new_spanned(
                lit,
                format!(
                    "a permission is a value of your permission type, not a string: write its \
                     variant, like `Perm::{}`, where `Perm` implements `login_runtime::Permission`",
                    variant_name(&lit.value())
                ),
            ));
        }
        Ok(Rule::One(expr.clone()))
    }

    /// The expression building this rule as the runtime's type-erased check.
    pub(crate) fn to_tokens(&self) -> TokenStream {
        let private = quote!(::login_runtime::__private);
        match self {
            // Through the trait's own method, at the user's span: a value of a type that is
            // not a permission type is one error, on the value, naming the trait.
            Rule::One(expr) => {
                quote_spanned! {expr.span()=> #private::Permission::__check(#expr) }
            }
            Rule::Any(span, rules) | Rule::All(span, rules) => {
                let combinator = if matches!(self, Rule::Any(..)) {
                    quote_spanned!(*span=> any)
                } else {
                    quote_spanned!(*span=> all)
                };
                let rules = rules.iter().map(Rule::to_tokens);
                quote_spanned! {*span=> #private::Check::#combinator([#(#rules),*]) }
            }
        }
    }
}

impl Rule {
    /// The permission expressions of the rule, in order.
    fn leaves(&self) -> Vec<&Expr> {
        match self {
            Rule::One(expr) => vec![expr],
            Rule::Any(_, rules) | Rule::All(_, rules) => {
                rules.iter().flat_map(Rule::leaves).collect()
            }
        }
    }

    /// Compile-time checks that every permission of the rule is one of `user`, the kind of
    /// user the guard admits: a closure that is never called, so nothing runs twice, with the
    /// mistake reported at the permission.
    pub(crate) fn user_checks(&self, user: &syn::Type) -> TokenStream {
        let private = quote!(::login_runtime::__private);
        let checks = self.leaves().into_iter().map(|leaf| {
            let span = leaf.span();
            let user = crate::respan::located(user, span);
            quote_spanned! {span=>
                let _ = || #private::permission_holder(&#leaf).admitted_by::<#user>();
            }
        });
        quote!(#(#checks)*)
    }
}

/// `any(..)` or `all(..)`: a call of a bare `any` / `all`.
fn combinator(expr: &Expr) -> Option<(&'static str, &ExprCall)> {
    let Expr::Call(call) = expr else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let ident = path.path.get_ident()?;
    [ANY, ALL]
        .into_iter()
        .find(|name| ident == name)
        .map(|name| (name, call))
}

/// `"read-reports"` → `ReadReports`, for the hint in the string-literal error.
fn variant_name(text: &str) -> String {
    let name: String = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        "Admin".to_owned()
    }
}

/// The check of `rule`, a statement after the login guard's.
pub(crate) fn check(rule: &Rule) -> TokenStream {
    let _ = rule;
    quote! {
        ::login_runtime::__private::authorize_check(&__login_request, __login_check).await?;
    }
}

/// The rule as the runtime's check, bound before the guards run (the login guard finds the
/// kind of user from it when nothing else names it).
pub(crate) fn check_binding(rule: &Rule) -> TokenStream {
    let rule = rule.to_tokens();
    quote! {
        let __login_check = #rule;
    }
}

/// The anonymous-only guard's statement, in place of the login guard's.
pub(crate) fn anonymous_check(user: Option<&syn::Type>) -> TokenStream {
    match user {
        Some(user) => quote! {
            ::login_runtime::__private::anonymous_only_of::<#user>(&__login_request).await?;
        },
        None => quote! {
            ::login_runtime::__private::anonymous_only(&__login_request).await?;
        },
    }
}

/// The message for two different guards on one handler, when one of them is new here.
pub(crate) fn sibling_message(this: Kind, other: Kind) -> Option<String> {
    let (this_name, other_name) = (this.name(), other.name());
    if this == Kind::Anonymous || other == Kind::Anonymous {
        return Some(format!(
            "`#[anonymous_required]` admits only visitors who are not logged in, \
             `#[{}]` only logged-in ones: keep one of them",
            if this == Kind::Anonymous {
                other_name
            } else {
                this_name
            }
        ));
    }
    if this == Kind::Permission || other == Kind::Permission {
        let login = if this == Kind::Permission {
            other_name
        } else {
            this_name
        };
        return Some(format!(
            "`#[permission_required]` already requires a login: write \
             `#[{login}(permission = …)]` instead of both"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{Rule, variant_name};

    fn rule(expr: proc_macro2::TokenStream) -> syn::Result<Rule> {
        Rule::from_expr(&syn::parse2(expr).unwrap())
    }

    #[test]
    fn nested_rules_build_nested_values() {
        let out = rule(quote!(any(Perm::A, all(Perm::B, Perm::C))))
            .unwrap()
            .to_tokens()
            .to_string();
        let check = ":: login_runtime :: __private :: Check";
        let one = ":: login_runtime :: __private :: Permission :: __check";
        assert_eq!(
            out,
            format!(
                "{check} :: any ([{one} (Perm :: A) , {check} :: all ([{one} (Perm :: B) , \
                 {one} (Perm :: C)])])"
            )
        );
    }

    #[test]
    fn empty_combinators_and_strings_are_refused() {
        let error = rule(quote!(any())).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("`any()` needs at least one permission")
        );
        let errors: Vec<String> = rule(quote!(all("admin", Perm::A, "read reports")))
            .err()
            .unwrap()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("like `Perm::Admin`"), "{errors:?}");
        assert!(errors[1].contains("like `Perm::ReadReports`"), "{errors:?}");
    }

    #[test]
    fn two_guards_on_one_handler_say_which_to_keep() {
        use super::{Kind, sibling_message};
        let message = sibling_message(Kind::Permission, Kind::Fresh).unwrap();
        assert!(
            message.contains("`#[fresh_login_required(permission = …)]`"),
            "{message}"
        );
        let message = sibling_message(Kind::Login, Kind::Anonymous).unwrap();
        assert!(
            message.contains("`#[login_required]` only logged-in ones"),
            "{message}"
        );
        assert!(sibling_message(Kind::Login, Kind::Fresh).is_none());
    }

    #[test]
    fn other_expressions_are_leaves() {
        assert!(matches!(rule(quote!(Perm::Admin)), Ok(Rule::One(_))));
        assert!(matches!(rule(quote!(perms::any(1))), Ok(Rule::One(_))));
        assert_eq!(variant_name("9"), "Admin");
    }
}
