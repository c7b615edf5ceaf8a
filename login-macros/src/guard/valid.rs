//! What a guarded handler must look like: one guard, `async`, no `self`, a return type,
//! named extractor types, no more extractors than actix-web takes.

use syn::{Attribute, FnArg, LitStr, ReturnType, Type};

use super::Kind;
use super::ast::Handler;
use super::attr::GuardArgs;
use crate::errors::Errors;

/// actix-web implements `Handler` for up to 16 extractors.
const MAX_EXTRACTORS: usize = 16;

/// actix-web's route attributes, whose first argument is the path they serve.
const ROUTE_ATTRIBUTES: [&str; 10] = [
    "get", "post", "put", "delete", "patch", "head", "options", "trace", "connect", "route",
];

/// Checks `handler` under the guard `kind`; every independent mistake goes to `errors`.
pub(crate) fn validate(kind: Kind, args: &GuardArgs, handler: &Handler, errors: &mut Errors) {
    guarded_views(kind, args, &handler.item.attrs, errors);
    let this = kind.name();
    for (other, attr) in &handler.sibling_guards {
        let message = if *other == kind {
            format!("duplicate `#[{this}]` on this handler: remove this one")
        } else if let Some(message) = super::permission::sibling_message(kind, *other) {
            message
        } else {
            "`#[login_required]` and `#[fresh_login_required]` cannot both guard one \
             handler: keep only `#[fresh_login_required]`, which also requires a login"
                .to_owned()
        };
        errors.push(syn::Error::new_spanned(attr, message));
    }
    let sig = &handler.item.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!(
                "`#[{this}]` needs an `async fn` handler: write `async fn {}`",
                sig.ident
            ),
        ));
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            format!(
                "`#[{this}]` cannot guard an `unsafe fn`: actix-web calls handlers as safe \
                 functions; remove `unsafe` and put the unsafe code in an `unsafe {{ .. }}` block"
            ),
        ));
    }
    if let Some(receiver) = sig.receiver() {
        errors.push(syn::Error::new_spanned(
            receiver,
            format!(
                "`#[{this}]` cannot guard a method that takes `self`: actix-web handlers are \
                 free functions; pass shared state as `web::Data<T>` instead"
            ),
        ));
    }
    if matches!(sig.output, ReturnType::Default) {
        errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            format!(
                "guarded handler `{}` has no return type: add `-> impl Responder` \
                 (or the type it returns)",
                sig.ident
            ),
        ));
    }
    let typed = sig.inputs.iter().filter_map(|arg| match arg {
        FnArg::Typed(arg) => Some(arg),
        FnArg::Receiver(_) => None,
    });
    for (index, arg) in typed.enumerate() {
        if let Type::ImplTrait(ty) = &*arg.ty {
            errors.push(syn::Error::new_spanned(
                ty,
                format!(
                    "`#[{this}]` needs named extractor types: replace `impl Trait` with the type"
                ),
            ));
        }
        if index == MAX_EXTRACTORS {
            errors.push(syn::Error::new_spanned(
                arg,
                format!(
                    "an actix-web handler takes at most {MAX_EXTRACTORS} extractors: group \
                     the rest into a tuple or a custom extractor"
                ),
            ));
        }
    }
}

/// A guard on the handler that serves its own login (or refresh) view would redirect that
/// view to itself forever. Seen here when the route attribute is still on the function (the
/// guard written above it); the runtime catches the other shapes at the first request.
fn guarded_views(kind: Kind, args: &GuardArgs, attrs: &[Attribute], errors: &mut Errors) {
    let views = [args.login_view.as_ref(), args.refresh_view.as_ref()];
    for view in views.into_iter().flatten() {
        let value = view.value();
        let view_path = value.split(['?', '#']).next().unwrap_or_default();
        let served = attrs
            .iter()
            .filter_map(route_path)
            .any(|route| route.value() == view_path);
        if served {
            errors.push(syn::Error::new_spanned(
                view,
                format!(
                    "this handler serves `{view_path}` itself: `#[{}]` would send visitors \
                     from `{view_path}` to `{view_path}` forever; remove the guard from the \
                     login page's handler",
                    kind.name()
                ),
            ));
        }
    }
}

/// The path of an actix-web route attribute (`#[get("/login")]`, `#[route("/login", ..)]`).
fn route_path(attr: &Attribute) -> Option<LitStr> {
    let name = attr.path().segments.last()?.ident.to_string();
    if !ROUTE_ATTRIBUTES.contains(&name.as_str()) {
        return None;
    }
    let list = attr.meta.require_list().ok()?;
    let mut tokens = list.tokens.clone().into_iter();
    syn::parse2::<LitStr>(tokens.next()?.into()).ok()
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::validate;
    use crate::errors::Errors;
    use crate::guard::{Kind, ast::Handler, attr::GuardArgs};

    fn check(kind: Kind, item: TokenStream) -> Vec<String> {
        let handler = Handler::from_tokens(item).unwrap();
        let mut errors = Errors::default();
        validate(kind, &GuardArgs::default(), &handler, &mut errors);
        errors
            .finish()
            .err()
            .into_iter()
            .flatten()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_plain_async_handler_is_fine() {
        let errors = check(
            Kind::Login,
            quote! {
                pub async fn index<T: Send>(a: web::Path<u32>, b: web::Json<T>) -> impl Responder { "" }
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn every_independent_mistake_is_reported() {
        let errors = check(
            Kind::Fresh,
            quote! {
                #[fresh_login_required]
                #[login_required]
                fn index(&self, a: impl FromRequest) {}
            },
        );
        assert_eq!(
            errors,
            [
                "duplicate `#[fresh_login_required]` on this handler: remove this one",
                "`#[login_required]` and `#[fresh_login_required]` cannot both guard one handler: keep only `#[fresh_login_required]`, which also requires a login",
                "`#[fresh_login_required]` needs an `async fn` handler: write `async fn index`",
                "`#[fresh_login_required]` cannot guard a method that takes `self`: actix-web handlers are free functions; pass shared state as `web::Data<T>` instead",
                "guarded handler `index` has no return type: add `-> impl Responder` (or the type it returns)",
                "`#[fresh_login_required]` needs named extractor types: replace `impl Trait` with the type",
            ]
        );
    }

    #[test]
    fn seventeen_extractors_are_too_many() {
        let args = (0..17).map(|i| quote::format_ident!("a{i}"));
        let errors = check(
            Kind::Login,
            quote! { async fn index(#(#args: u8),*) -> u8 { 0 } },
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("an actix-web handler takes at most 16 extractors"));
    }
}
