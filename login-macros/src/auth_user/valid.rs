//! Rules that span several fields: one id, at most one `active` and `session_hash`, a
//! `bool` behind `active`, no borrowed data.

use syn::{GenericParam, Member, Path, Type};

use super::ast::{Field, Input};
use crate::errors::Errors;

/// Which field plays which part in the generated impl.
pub(crate) struct Roles<'i, 'a> {
    pub(crate) id: &'i Field<'a>,
    pub(crate) active: Option<&'i Field<'a>>,
    pub(crate) session_hash: Option<&'i Field<'a>>,
}

/// Checks `input`; every independent mistake goes to `errors`. Returns the roles whenever
/// an id field could be chosen, so a stub impl can still name the id type.
pub(crate) fn validate<'i, 'a>(input: &'i Input<'a>, errors: &mut Errors) -> Option<Roles<'i, 'a>> {
    reject_lifetimes(input, errors);
    let active = single(input, errors, "active", |field| field.attrs.active.as_ref());
    if let Some(field) = active
        && !is_bool(&field.original.ty)
    {
        errors.push(syn::Error::new_spanned(
            &field.original.ty,
            format!(
                "`#[auth(active)]` field must have type `bool`, found `{}`",
                crate::display::tokens_to_string(&field.original.ty)
            ),
        ));
    }
    let session_hash = single(input, errors, "session_hash", |field| {
        field.attrs.session_hash.as_ref()
    });
    let id = single(input, errors, "id", |field| field.attrs.id.as_ref()).or_else(|| {
        let by_name = input
            .fields
            .iter()
            .find(|field| matches!(&field.member, Member::Named(name) if name == "id"));
        if by_name.is_none() {
            let ident = &input.original.ident;
            let hint = if matches!(
                input.fields.first().map(|f| &f.member),
                Some(Member::Named(_))
            ) {
                "mark one with `#[auth(id)]` or name it `id`"
            } else {
                "mark one with `#[auth(id)]`"
            };
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{ident}` has no id field: {hint}"),
            ));
        }
        by_name
    })?;
    Some(Roles {
        id,
        active,
        session_hash,
    })
}

/// The one field carrying `key`, reporting every extra one at its key.
fn single<'i, 'a>(
    input: &'i Input<'a>,
    errors: &mut Errors,
    key: &str,
    marker: impl Fn(&'i Field<'a>) -> Option<&'i Path>,
) -> Option<&'i Field<'a>> {
    let mut marked = input
        .fields
        .iter()
        .filter_map(|field| marker(field).map(|path| (field, path)));
    let (first, _) = marked.next()?;
    for (_, path) in marked {
        errors.push(syn::Error::new_spanned(
            path,
            format!(
                "duplicate `#[auth({key})]`: field `{}` already has it; keep only one",
                first.display_name()
            ),
        ));
    }
    Some(first)
}

/// A login user is stored in request extensions and must be `'static`.
fn reject_lifetimes(input: &Input<'_>, errors: &mut Errors) {
    for param in &input.original.generics.params {
        if let GenericParam::Lifetime(param) = param {
            errors.push(syn::Error::new_spanned(
                &param.lifetime,
                format!(
                    "cannot derive `AuthUser` for a struct that borrows: a login user must be \
                     `'static`; replace `{}` borrows with owned data (e.g. `String` for `&str`)",
                    param.lifetime
                ),
            ));
        }
    }
}

/// `bool`, `core::primitive::bool` or `std::primitive::bool`, as written.
fn is_bool(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let plain = path.path.segments.iter().all(|s| s.arguments.is_none());
    plain
        && match segments.as_slice() {
            [bool] => bool == "bool",
            [krate, primitive, bool] => {
                (krate == "core" || krate == "std") && primitive == "primitive" && bool == "bool"
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use syn::{DeriveInput, parse_quote};

    use super::{is_bool, validate};
    use crate::auth_user::ast::Input;
    use crate::display::tokens_to_string;
    use crate::errors::Errors;

    fn check(node: &DeriveInput) -> (Option<String>, Option<String>) {
        let mut errors = Errors::default();
        let input = Input::from_syn(node, &mut errors).unwrap();
        let id = validate(&input, &mut errors).map(|roles| roles.id.display_name());
        (id, errors.finish().err().map(|e| e.to_string()))
    }

    #[test]
    fn marked_id_wins_over_field_named_id() {
        let node = parse_quote! { struct U { id: String, #[auth(id)] uid: u64 } };
        assert_eq!(check(&node), (Some("uid".into()), None));
        let node = parse_quote! { struct U { name: String, id: u64 } };
        assert_eq!(check(&node), (Some("id".into()), None));
    }

    #[test]
    fn missing_and_duplicate_ids_are_errors() {
        let node = parse_quote! { struct U { name: String } };
        assert_eq!(
            check(&node).1.unwrap(),
            "`U` has no id field: mark one with `#[auth(id)]` or name it `id`"
        );
        let node = parse_quote! { struct U(u64); };
        assert_eq!(
            check(&node).1.unwrap(),
            "`U` has no id field: mark one with `#[auth(id)]`"
        );
        let node = parse_quote! { struct U { #[auth(id)] a: u64, #[auth(id)] b: u64 } };
        let (id, error) = check(&node);
        assert_eq!(id.as_deref(), Some("a"));
        assert_eq!(
            error.unwrap(),
            "duplicate `#[auth(id)]`: field `a` already has it; keep only one"
        );
    }

    #[test]
    fn active_must_be_bool() {
        let node = parse_quote! { struct U { id: u64, #[auth(active)] on: Option<u8> } };
        assert_eq!(
            check(&node).1.unwrap(),
            "`#[auth(active)]` field must have type `bool`, found `Option<u8>`"
        );
        let node =
            parse_quote! { struct U { id: u64, #[auth(active)] on: ::core::primitive::bool } };
        assert_eq!(check(&node).1, None);
    }

    #[test]
    fn lifetimes_are_refused_and_other_errors_still_reported() {
        let node = parse_quote! { struct U<'a> { name: &'a str } };
        let mut errors = Errors::default();
        let input = Input::from_syn(&node, &mut errors).unwrap();
        assert!(validate(&input, &mut errors).is_none());
        let all: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].starts_with("cannot derive `AuthUser` for a struct that borrows"));
    }

    #[test]
    fn recognises_bool_spellings_only() {
        for ty in [parse_quote!(bool), parse_quote!(std::primitive::bool)] {
            assert!(is_bool(&ty));
        }
        for ty in [
            parse_quote!(u8),
            parse_quote!(Bool),
            parse_quote!(&bool),
            parse_quote!(my::bool),
        ] {
            assert!(!is_bool(&ty));
        }
    }

    #[test]
    fn prints_types_compactly() {
        let ty: syn::Type = parse_quote!(::std::collections::HashMap<String, Vec<&'static [u8]>>);
        assert_eq!(
            tokens_to_string(&ty),
            "::std::collections::HashMap<String, Vec<&'static [u8]>>"
        );
    }
}
