//! Writes the `AuthUser` impl; the only place in the derive that calls `quote!`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    DeriveInput, GenericArgument, Generics, PathArguments, Type, parse_quote, parse_quote_spanned,
};

use super::ast::Input;
use super::valid::Roles;
use crate::bounds::{add_bounds, names_a_parameter};
use crate::errors::Errors;
use crate::respan::generated_at;

/// The impl for a valid input.
pub(crate) fn auth_user_impl(input: &Input<'_>, roles: &Roles<'_, '_>) -> TokenStream {
    let id_ty = &roles.id.original.ty;
    let id_ty_at_field = crate::respan::as_generated(id_ty);
    let id = &roles.id.member;
    let mut generics = bounded_generics(&input.original.generics, id_ty);
    let is_active = roles.active.map(|field| {
        let member = &field.member;
        quote! {
            #[inline]
            fn is_active(&self) -> ::core::primitive::bool {
                self.#member
            }
        }
    });
    let session_auth_hash = roles.session_hash.map(|field| {
        let member = &field.member;
        let (bytes_ty, body) = match option_inner(&field.original.ty) {
            Some(inner) => (inner, quote! {
                ::core::option::Option::map(
                    ::core::option::Option::as_ref(&self.#member),
                    <#inner as ::core::convert::AsRef<[::core::primitive::u8]>>::as_ref,
                )
            }),
            None => (&field.original.ty, quote_spanned! {generated_at(field.original.ty.span())=>
                ::core::option::Option::Some(::core::convert::AsRef::<[::core::primitive::u8]>::as_ref(&self.#member))
            }),
        };
        // A generic field type needs the bound; a concrete one is checked by the body,
        // which is spanned at the field's type so a type that is not bytes is reported there.
        if names_a_parameter(bytes_ty, &input.original.generics) {
            let bytes_bound = parse_quote_spanned! {generated_at(bytes_ty.span())=>
                ::core::convert::AsRef<[::core::primitive::u8]>
            };
            add_bounds(&mut generics, bytes_ty, bytes_bound);
        }
        quote! {
            #[inline]
            fn session_auth_hash(&self) -> ::core::option::Option<&[::core::primitive::u8]> {
                #body
            }
        }
    });
    let ident = &input.original.ident;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::login_runtime::AuthUser for #ident #ty_generics #where_clause {
            type Id = #id_ty_at_field;

            #[inline]
            fn id(&self) -> <Self as ::login_runtime::AuthUser>::Id {
                ::core::clone::Clone::clone(&self.#id)
            }

            #is_active
            #session_auth_hash
        }
    }
}

/// Every `compile_error!` plus a stub impl (when the type can have one), so code using the
/// type as a login user does not add a cascade of "not a login user" errors.
pub(crate) fn with_errors(node: &DeriveInput, id_ty: Option<&Type>, errors: Errors) -> TokenStream {
    let compile_errors = errors.finish().err().map(syn::Error::into_compile_error);
    // A borrowing struct cannot implement a `'static` trait: no stub there.
    let stub = node.generics.lifetimes().next().is_none().then(|| {
        let fallback: Type = parse_quote!(::core::primitive::u64);
        let id_ty = id_ty.unwrap_or(&fallback);
        let generics = bounded_generics(&node.generics, id_ty);
        let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
        let ident = &node.ident;
        quote! {
            #[automatically_derived]
            impl #impl_generics ::login_runtime::AuthUser for #ident #ty_generics #where_clause {
                type Id = #id_ty;

                fn id(&self) -> <Self as ::login_runtime::AuthUser>::Id {
                    ::core::unreachable!()
                }
            }
        }
    });
    quote! {
        #compile_errors
        #stub
    }
}

/// The struct's generics plus what the impl needs: every type parameter `'static` (the trait
/// requires it) and an id type that displays, parses and clones. The id bound is spanned at
/// the id field's type, so a missing `Display` or `FromStr` is reported on that field.
fn bounded_generics(generics: &Generics, id_ty: &Type) -> Generics {
    let mut generics = generics.clone();
    let type_params: Vec<Type> = generics
        .type_params()
        .map(|param| {
            let ident = &param.ident;
            parse_quote!(#ident)
        })
        .collect();
    for param in &type_params {
        add_bounds(&mut generics, param, parse_quote!('static));
    }
    // A concrete id type is checked against `AuthUser::Id`'s own bound at `type Id = ..`.
    if names_a_parameter(id_ty, &generics) {
        let id_bounds = parse_quote_spanned! {generated_at(id_ty.span())=>
            ::login_runtime::__private::LoginId
        };
        add_bounds(&mut generics, id_ty, id_bounds);
    }
    generics
}

/// `T` in `Option<T>` (also `core::option::Option<T>`), as written.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if path.qself.is_some() || last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(GenericArgument::Type(inner)) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::{DeriveInput, parse_quote};

    use super::auth_user_impl;
    use crate::auth_user::{ast::Input, valid::validate};
    use crate::errors::Errors;

    fn expand(node: &DeriveInput) -> String {
        let mut errors = Errors::default();
        let input = Input::from_syn(node, &mut errors).unwrap();
        let roles = validate(&input, &mut errors).unwrap();
        assert!(errors.is_empty());
        auth_user_impl(&input, &roles).to_string()
    }

    #[test]
    fn named_struct_with_every_role() {
        let node = parse_quote! {
            struct User {
                #[auth(id)] user_id: u64,
                #[auth(active)] enabled: bool,
                #[auth(session_hash)] password_hash: String,
            }
        };
        let expected = quote! {
            #[automatically_derived]
            impl ::login_runtime::AuthUser for User
            {
                type Id = u64;

                #[inline]
                fn id(&self) -> <Self as ::login_runtime::AuthUser>::Id {
                    ::core::clone::Clone::clone(&self.user_id)
                }

                #[inline]
                fn is_active(&self) -> ::core::primitive::bool {
                    self.enabled
                }

                #[inline]
                fn session_auth_hash(&self) -> ::core::option::Option<&[::core::primitive::u8]> {
                    ::core::option::Option::Some(::core::convert::AsRef::<[::core::primitive::u8]>::as_ref(&self.password_hash))
                }
            }
        };
        assert_eq!(expand(&node), expected.to_string());
    }

    #[test]
    fn tuple_struct_uses_the_index() {
        let out = expand(&parse_quote! { struct User(String, #[auth(id)] u32); });
        assert!(out.contains("type Id = u32"), "{out}");
        assert!(out.contains("clone (& self . 1)"), "{out}");
        assert!(!out.contains("is_active"), "{out}");
    }

    #[test]
    fn optional_session_hash_maps_over_the_option() {
        let out = expand(
            &parse_quote! { struct User { id: u64, #[auth(session_hash)] stamp: Option<Vec<u8>> } },
        );
        // A concrete type: checked where it is used, never a where-clause.
        assert!(!out.contains("where"), "{out}");
        assert!(out.contains(":: core :: option :: Option :: map"), "{out}");
    }

    #[test]
    fn generic_struct_bounds_params_static() {
        let out = expand(&parse_quote! { struct User<I: Clone> { id: I } });
        // Inline, where the user bounds `I`: no second bound location for lints to flag.
        assert!(
            out.contains("impl < I : Clone + 'static + :: login_runtime :: __private :: LoginId >"),
            "{out}"
        );
        assert!(
            out.contains("> :: login_runtime :: AuthUser for User < I > {"),
            "{out}"
        );
    }

    #[test]
    fn names_only_the_runtime_and_core() {
        let out = expand(&parse_quote! { struct User { id: u64, #[auth(active)] a: bool } });
        assert!(
            !out.contains(":: std ::") && !out.contains("actix_web"),
            "{out}"
        );
    }
}
