//! Adding bounds to a user's generics without tripping lints in the user's crate.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    GenericParam, Generics, Token, Type, TypeParamBound, WherePredicate, parse_quote_spanned,
};

/// Whether `ty` names one of the type or const parameters of `generics`. A bound on a type
/// that names none is global: rustc checks it at every use of the item and annotates a
/// failure with its `trivial_bounds` notes, so the macros state such bounds only on types
/// that name a parameter and check the others where they are used, once.
pub(crate) fn names_a_parameter(ty: &Type, generics: &Generics) -> bool {
    fn walk(tokens: TokenStream, names: &[&syn::Ident]) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => names.contains(&&ident),
            TokenTree::Group(group) => walk(group.stream(), names),
            _ => false,
        })
    }
    let names: Vec<&syn::Ident> = generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(param) => Some(&param.ident),
            GenericParam::Const(param) => Some(&param.ident),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    !names.is_empty() && walk(ty.to_token_stream(), &names)
}

use crate::respan::{as_generated, generated_at};

/// Adds `bounds` on `ty` where the user already bounds it (a where-clause predicate, or a
/// type parameter's inline bounds), else as a new predicate: one type bounded in two places
/// would trip clippy's `multiple_bound_locations` or `type_repetition_in_bounds` in the
/// user's crate.
pub(crate) fn add_bounds(
    generics: &mut Generics,
    ty: &Type,
    bounds: Punctuated<TypeParamBound, Token![+]>,
) {
    let written = ty.to_token_stream().to_string();
    let same_type = |other: &Type| other.to_token_stream().to_string() == written;
    if let Some(clause) = &mut generics.where_clause {
        let existing = clause
            .predicates
            .iter_mut()
            .find_map(|predicate| match predicate {
                WherePredicate::Type(predicate) if same_type(&predicate.bounded_ty) => {
                    Some(predicate)
                }
                _ => None,
            });
        if let Some(predicate) = existing {
            predicate.bounds.extend(bounds);
            return;
        }
    }
    let param = match ty {
        Type::Path(path) if path.qself.is_none() => path.path.get_ident().and_then(|ident| {
            generics
                .type_params_mut()
                .find(|param| param.ident == *ident)
        }),
        _ => None,
    };
    if let Some(param) = param {
        param.bounds.extend(bounds);
    } else {
        let generated_ty = as_generated(ty);
        let span = generated_at(ty.span());
        let predicate: WherePredicate = parse_quote_spanned!(span=> #generated_ty: #bounds);
        generics.make_where_clause().predicates.push(predicate);
    }
}
