//! Spans for generated code that must be reported on user code.
//!
//! A bound the macros add about a user's type (an extractor parameter, the id field) must be
//! reported on that type when it does not hold, yet must never trip a lint in the user's
//! crate (clippy's `multiple_bound_locations`, say): lints skip macro output, and rustc tells
//! macro output apart by its syntax context, not its location. So these tokens take the
//! macro's context (`Span::call_site()`) at the user's location (`located_at`).

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// A span of macro output, shown where `user` is.
pub(crate) fn generated_at(user: Span) -> Span {
    Span::call_site().located_at(user)
}

/// `node`'s tokens as macro output, each still shown where it was written.
pub(crate) fn as_generated(node: &impl ToTokens) -> TokenStream {
    respan(node.to_token_stream())
}

/// `node`'s tokens, every one at `at` (a user's span: a mistake about `node` is then reported
/// where the mismatch is, not where `node` was written).
pub(crate) fn located(node: &impl ToTokens, at: Span) -> TokenStream {
    relocate(node.to_token_stream(), at)
}

fn relocate(tokens: TokenStream, at: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), relocate(group.stream(), at));
                inner.set_span(at);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(at);
            }
            tree
        })
        .collect()
}

fn respan(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner = Group::new(group.delimiter(), respan(group.stream()));
                inner.set_span(generated_at(group.span()));
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(generated_at(tree.span()));
            }
            tree
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::as_generated;

    #[test]
    fn keeps_the_tokens() {
        let ty: syn::Type = syn::parse_quote!(web::Json<Vec<(u8, [u8; 2])>>);
        assert_eq!(as_generated(&ty).to_string(), quote!(#ty).to_string());
    }
}
