//! `#[derive(AuthUser)]`: parse ([`ast`], [`attr`]) → validate ([`valid`]) → expand ([`expand`]).

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro2::TokenStream;

use crate::errors::Errors;

/// Expands `#[derive(AuthUser)]` on `input` (the struct's tokens).
///
/// On error it emits every `compile_error!` found plus a stub impl, so uses of the type as a
/// login user elsewhere do not add a cascade of trait errors.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let node: syn::DeriveInput = match syn::parse2(input) {
        Ok(node) => node,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let parsed = match ast::Input::from_syn(&node, &mut errors) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.push(error);
            return expand::with_errors(&node, None, errors);
        }
    };
    let roles = valid::validate(&parsed, &mut errors);
    match roles {
        Some(roles) if errors.is_empty() => expand::auth_user_impl(&parsed, &roles),
        roles => expand::with_errors(&node, roles.as_ref().map(|r| &r.id.original.ty), errors),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    #[test]
    fn valid_input_expands_to_one_impl_without_errors() {
        let out = expand(quote! { struct User { id: u64 } }).to_string();
        assert!(
            out.contains("impl :: login_runtime :: AuthUser for User"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn invalid_input_emits_errors_and_a_stub_impl() {
        let out =
            expand(quote! { struct User { #[auth(id)] a: u64, #[auth(id)] b: u64 } }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("impl :: login_runtime :: AuthUser for User"),
            "{out}"
        );
    }

    #[test]
    fn enum_emits_error_and_stub() {
        let out = expand(quote! { enum Role { Admin } }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("type Id = :: core :: primitive :: u64"),
            "{out}"
        );
    }
}
