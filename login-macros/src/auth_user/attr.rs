//! `#[auth(..)]` field attributes, parsed into [`FieldAttrs`].

use syn::{Attribute, Meta, Path, Token};

use crate::errors::Errors;

/// The helper attribute's name.
pub(crate) const AUTH: &str = "auth";
/// `#[auth(id)]`: the user id.
pub(crate) const ID: &str = "id";
/// `#[auth(active)]`: the `bool` behind `is_active`.
pub(crate) const ACTIVE: &str = "active";
/// `#[auth(session_hash)]`: bytes that change with the credentials.
pub(crate) const SESSION_HASH: &str = "session_hash";

const EXPECTED: &str = "expected one of `id`, `active`, `session_hash`";

/// What the `#[auth(..)]` attributes of one field say; each key keeps its path for spans.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) id: Option<Path>,
    pub(crate) active: Option<Path>,
    pub(crate) session_hash: Option<Path>,
}

/// Reads every `#[auth(..)]` on a field; mistakes go to `errors`, the rest is kept.
pub(crate) fn field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut found = FieldAttrs::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(AUTH)) {
        if !matches!(attr.meta, Meta::List(_)) {
            errors.push(syn::Error::new_spanned(
                attr,
                "expected `#[auth(id)]`, `#[auth(active)]` or `#[auth(session_hash)]`",
            ));
            continue;
        }
        let mut keys = 0_usize;
        let result = attr.parse_nested_meta(|meta| {
            keys += 1;
            let Some(key) = KEYS.iter().find(|key| meta.path.is_ident(key)) else {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    format!(
                        "unknown `auth` key `{}`; {EXPECTED}",
                        crate::display::path_name(&meta.path)
                    ),
                ));
            };
            if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                return Err(meta.error(format!("`{key}` takes no value: write `#[auth({key})]`")));
            }
            let slot = match *key {
                ID => &mut found.id,
                ACTIVE => &mut found.active,
                _ => &mut found.session_hash,
            };
            if slot.is_some() {
                errors.push(syn::Error::new_spanned(
                    &meta.path,
                    format!("duplicate `#[auth({key})]` on this field: remove this one"),
                ));
            } else {
                *slot = Some(meta.path);
            }
            Ok(())
        });
        if errors.take(result).is_some() && keys == 0 {
            errors.push(syn::Error::new_spanned(
                attr,
                "empty `#[auth()]` does nothing: write `#[auth(id)]`, `#[auth(active)]` or \
                 `#[auth(session_hash)]`, or remove it",
            ));
        }
    }
    found
}

const KEYS: [&str; 3] = [ID, ACTIVE, SESSION_HASH];

/// `#[auth(..)]` on the struct itself is a mistake: every key names a field.
pub(crate) fn reject_container_attrs(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(AUTH)) {
        errors.push(syn::Error::new_spanned(
            attr,
            "`#[auth(..)]` goes on a field, not on the struct: \
             mark the id field with `#[auth(id)]`",
        ));
    }
}

#[cfg(test)]
mod tests {
    use syn::{Attribute, parse_quote};

    use super::{FieldAttrs, field_attrs, reject_container_attrs};
    use crate::errors::Errors;

    fn parse(attrs: &[Attribute]) -> (FieldAttrs, Option<String>) {
        let mut errors = Errors::default();
        let found = field_attrs(attrs, &mut errors);
        (found, errors.finish().err().map(|error| error.to_string()))
    }

    #[test]
    fn reads_every_key_across_attributes() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[auth(id, active)]),
            parse_quote!(#[auth(session_hash)]),
        ];
        let (found, error) = parse(&attrs);
        assert_eq!(error, None);
        assert!(found.id.is_some() && found.active.is_some() && found.session_hash.is_some());
    }

    #[test]
    fn ignores_other_attributes() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[serde(rename = "x")]),
            parse_quote!(#[doc = "x"]),
        ];
        let (found, error) = parse(&attrs);
        assert_eq!(error, None);
        assert!(found.id.is_none());
    }

    #[test]
    fn unknown_key_lists_the_accepted_ones() {
        let (_, error) = parse(&[parse_quote!(#[auth(primary_key)])]);
        assert_eq!(
            error.unwrap(),
            "unknown `auth` key `primary_key`; expected one of `id`, `active`, `session_hash`"
        );
    }

    #[test]
    fn value_and_duplicate_and_bare_forms_are_errors() {
        let (_, error) = parse(&[parse_quote!(#[auth(id = true)])]);
        assert_eq!(error.unwrap(), "`id` takes no value: write `#[auth(id)]`");
        let (found, error) = parse(&[parse_quote!(#[auth(active, active)])]);
        assert!(found.active.is_some());
        assert_eq!(
            error.unwrap(),
            "duplicate `#[auth(active)]` on this field: remove this one"
        );
        let (_, error) = parse(&[parse_quote!(#[auth])]);
        assert!(error.unwrap().starts_with("expected `#[auth(id)]`"));
    }

    #[test]
    fn empty_attribute_is_an_error() {
        let (_, error) = parse(&[parse_quote!(#[auth()])]);
        assert!(error.unwrap().starts_with("empty `#[auth()]` does nothing"));
    }

    #[test]
    fn container_attribute_is_an_error() {
        let mut errors = Errors::default();
        reject_container_attrs(&[parse_quote!(#[auth(id)])], &mut errors);
        assert!(
            errors
                .finish()
                .unwrap_err()
                .to_string()
                .starts_with("`#[auth(..)]` goes on a field")
        );
    }
}
