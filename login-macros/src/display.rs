//! Code as users write it, for error messages.

/// A path as written, for messages: `foo` or `foo::bar`.
pub(crate) fn path_name(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Tokens as a user would write them: `Vec<u8>` rather than `Vec < u8 >`.
pub(crate) fn tokens_to_string(tokens: &impl quote::ToTokens) -> String {
    let spaced = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let prev = out.chars().last();
        let glue_after = matches!(prev, Some('<' | '&' | ':' | '(' | '['));
        let glue_before = matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']' | ';'));
        if c == ' ' && (glue_after || glue_before) {
            continue;
        }
        out.push(c);
    }
    out
}
