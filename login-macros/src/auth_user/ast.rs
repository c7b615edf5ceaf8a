//! The typed model of a `#[derive(AuthUser)]` input; keeps the original nodes for spans.

use syn::{Data, DeriveInput, Fields, Member};

use super::attr::{self, FieldAttrs};
use crate::errors::Errors;

/// A struct with fields, the only shape a login user can have.
pub(crate) struct Input<'a> {
    /// The whole input, for its name and generics.
    pub(crate) original: &'a DeriveInput,
    /// Every field, in declaration order.
    pub(crate) fields: Vec<Field<'a>>,
}

/// One field and what its `#[auth(..)]` attributes say about it.
pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    /// `self.<member>`: a name, or an index in a tuple struct.
    pub(crate) member: Member,
    pub(crate) attrs: FieldAttrs,
}

impl Field<'_> {
    /// The field as users write it, for messages: `user_id` or `0`.
    pub(crate) fn display_name(&self) -> String {
        match &self.member {
            Member::Named(ident) => ident.to_string(),
            Member::Unnamed(index) => index.index.to_string(),
        }
    }
}

impl<'a> Input<'a> {
    /// Reads a derive input. Shapes that cannot be a user (enum, union, unit struct) stop
    /// here with `Err`; attribute mistakes go to `errors` and parsing goes on.
    pub(crate) fn from_syn(node: &'a DeriveInput, errors: &mut Errors) -> syn::Result<Self> {
        attr::reject_container_attrs(&node.attrs, errors);
        let data = match &node.data {
            Data::Struct(data) => data,
            Data::Enum(data) => {
                return Err(syn::Error::new(
                    data.enum_token.span,
                    "cannot derive `AuthUser` for an enum: use a struct with an id field",
                ));
            }
            Data::Union(data) => {
                return Err(syn::Error::new(
                    data.union_token.span,
                    "cannot derive `AuthUser` for a union: use a struct with an id field",
                ));
            }
        };
        if matches!(data.fields, Fields::Unit) {
            return Err(syn::Error::new(
                node.ident.span(),
                "cannot derive `AuthUser` for a unit struct: a user needs an id field, \
                 and anonymous visitors need no user type",
            ));
        }
        let fields = data
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| Field {
                original: field,
                member: field.ident.clone().map_or_else(
                    || {
                        Member::Unnamed(syn::Index {
                            index: u32::try_from(index).unwrap_or(u32::MAX),
                            span: syn::spanned::Spanned::span(&field.ty),
                        })
                    },
                    Member::Named,
                ),
                attrs: attr::field_attrs(&field.attrs, errors),
            })
            .collect();
        Ok(Self {
            original: node,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use syn::{DeriveInput, parse_quote};

    use super::Input;
    use crate::errors::Errors;

    fn parse(node: &DeriveInput) -> (syn::Result<Input<'_>>, Errors) {
        let mut errors = Errors::default();
        (Input::from_syn(node, &mut errors), errors)
    }

    #[test]
    fn named_and_tuple_fields_get_members() {
        let named: DeriveInput = parse_quote! { struct U { id: u64, #[auth(active)] on: bool } };
        let (input, errors) = parse(&named);
        let input = input.unwrap();
        assert!(errors.is_empty());
        assert_eq!(input.fields[1].display_name(), "on");
        assert!(input.fields[1].attrs.active.is_some());

        let tuple: DeriveInput = parse_quote! { struct U(String, #[auth(id)] u64); };
        let (input, _) = parse(&tuple);
        let input = input.unwrap();
        assert_eq!(input.fields[1].display_name(), "1");
        assert!(input.fields[1].attrs.id.is_some());
    }

    #[test]
    fn enums_unions_and_unit_structs_stop_early() {
        for node in [
            parse_quote! { enum U { A } },
            parse_quote! { union U { a: u64 } },
            parse_quote! { struct U; },
        ] {
            let node: DeriveInput = node;
            let (input, _) = parse(&node);
            let message = input.err().unwrap().to_string();
            assert!(
                message.starts_with("cannot derive `AuthUser` for a"),
                "{message}"
            );
        }
    }
}
