//! The typed model of a guarded handler.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Item, ItemFn};

use super::Kind;

/// An `fn` item under a guard attribute.
pub(crate) struct Handler {
    /// The function as written (the guard being expanded is already gone from it).
    pub(crate) item: ItemFn,
    /// Further `#[login_required]` / `#[fresh_login_required]` on the same function (also
    /// still in `item`): always a mistake, reported at each attribute.
    pub(crate) sibling_guards: Vec<(Kind, Attribute)>,
}

impl Handler {
    /// Reads the item a guard is on; anything but a function stops here.
    pub(crate) fn from_tokens(tokens: TokenStream) -> syn::Result<Self> {
        let item = match syn::parse2::<Item>(tokens)? {
            Item::Fn(item) => item,
            other => {
                return Err(syn::Error::new_spanned(
                    item_head(&other),
                    "a login guard can only be put on an `async fn` handler",
                ));
            }
        };
        let sibling_guards = item
            .attrs
            .iter()
            .filter_map(|attr| Kind::from_path(attr.path()).map(|kind| (kind, attr.clone())))
            .collect();
        Ok(Self {
            item,
            sibling_guards,
        })
    }
}

/// The tokens that name an item (`struct Foo`, `impl Foo`, `mod foo`), where the caret goes.
fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Struct(item) => {
            let (token, ident) = (&item.struct_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Enum(item) => {
            let (token, ident) = (&item.enum_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Union(item) => {
            let (token, ident) = (&item.union_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Const(item) => {
            let (token, ident) = (&item.const_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Static(item) => {
            let (token, ident) = (&item.static_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Mod(item) => {
            let (token, ident) = (&item.mod_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Trait(item) => {
            let (token, ident) = (&item.trait_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Type(item) => {
            let (token, ident) = (&item.type_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Impl(item) => {
            let (token, ty) = (&item.impl_token, &item.self_ty);
            quote!(#token #ty)
        }
        other => quote!(#other),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::Handler;
    use crate::guard::Kind;

    #[test]
    fn finds_sibling_guards_among_other_attributes() {
        let handler = Handler::from_tokens(quote! {
            /// Docs.
            #[get("/")]
            #[login_runtime::login_required]
            #[fresh_login_required(login_view = "/x")]
            async fn index() -> String { String::new() }
        })
        .unwrap();
        let kinds: Vec<Kind> = handler
            .sibling_guards
            .iter()
            .map(|(kind, _)| *kind)
            .collect();
        assert_eq!(kinds, [Kind::Login, Kind::Fresh]);
        assert_eq!(handler.item.attrs.len(), 4);
    }

    #[test]
    fn methods_with_self_parse_as_fns() {
        let handler =
            Handler::from_tokens(quote! { async fn index(&self) -> String { String::new() } });
        assert!(handler.unwrap().item.sig.receiver().is_some());
    }

    #[test]
    fn other_items_are_refused_at_their_head() {
        let error = Handler::from_tokens(quote! { struct Index { a: u8 } })
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "a login guard can only be put on an `async fn` handler"
        );
    }
}
