//! Writes the guarded handler; the only place in the guards that calls `quote!`.
//!
//! The user's function becomes a nested `__login_handler`, unchanged but for its name. The
//! function actix-web sees keeps the name, docs, attributes (`#[get]` included), visibility
//! and generics, and takes `HttpRequest` + `web::Payload`, neither of which can fail or
//! reads the body. It awaits the guard first, and only then extracts the original
//! parameters as one tuple, the way actix-web itself would, so a guard failure always wins
//! over an extractor error (401, not 400 for a malformed body).

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, LitStr, ReturnType, Token, TypeParamBound, parse_quote_spanned};

use super::Kind;
use super::ast::Handler;
use super::attr::GuardArgs;
use crate::bounds::add_bounds;
use crate::errors::Errors;
use crate::respan::generated_at;

/// The rewritten handler.
pub(crate) fn guarded(kind: Kind, args: &GuardArgs, handler: &Handler) -> TokenStream {
    let item = &handler.item;
    let (attrs, vis, sig, block) = (&item.attrs, &item.vis, &item.sig, &item.block);
    let ident = &sig.ident;
    let inner_ident = format_ident!("__login_handler");
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner_ident.clone();

    let params: Vec<&syn::Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let bindings: Vec<syn::Ident> = (0..params.len())
        .map(|i| format_ident!("__login_arg{i}"))
        .collect();

    // Each parameter must be an extractor. Stated per parameter and spanned at its type, a
    // type that is not one is reported on that parameter, and generic parameters get the
    // bound the tuple extraction needs.
    let mut generics = sig.generics.clone();
    for ty in &params {
        let span = generated_at(ty.span());
        let bounds: Punctuated<TypeParamBound, Token![+]> = parse_quote_spanned! {span=>
            ::login_runtime::__private::actix_web::FromRequest + 'static
        };
        add_bounds(&mut generics, ty, bounds);
    }
    let where_clause = &generics.where_clause;
    let params_generics = &generics.params;
    let turbofish_args: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(param) => Some(param.ident.to_token_stream()),
            GenericParam::Const(param) => Some(param.ident.to_token_stream()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let turbofish = (!turbofish_args.is_empty()).then(|| quote!(::<#(#turbofish_args),*>));

    let output = match &sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        // Rejected by validation; `()` keeps this function total.
        ReturnType::Default => quote!(()),
    };
    let private = quote!(::login_runtime::__private);
    let fresh = kind == Kind::Fresh;
    let login_view = optional_str(args.login_view.as_ref());
    let refresh_view = optional_str(args.refresh_view.as_ref());
    // The tuple is extracted by a helper generic over each element, its types inferred from
    // the call to the handler: the parameter types are named only in the handler's signature
    // and the bounds above, so a type error in one is reported there, once.
    let (extract_fn, extract) = if params.is_empty() {
        (None, None)
    } else {
        let tys: Vec<syn::Ident> = (0..params.len())
            .map(|i| format_ident!("__LoginArg{i}"))
            .collect();
        let extract_fn = quote! {
            async fn __login_extract<#(#tys: #private::actix_web::FromRequest + 'static),*>(
                request: &#private::actix_web::HttpRequest,
                payload: &mut #private::actix_web::dev::Payload,
            ) -> ::core::result::Result<(#(#tys,)*), #private::actix_web::Error> {
                ::core::result::Result::map_err(
                    <(#(#tys,)*) as #private::actix_web::FromRequest>::from_request(request, payload).await,
                    ::core::convert::Into::into,
                )
            }
        };
        let extract = quote! {
            let (#(#bindings,)*) = __login_extract(
                &__login_request,
                &mut #private::actix_web::web::Payload::into_inner(__login_payload),
            )
            .await?;
        };
        (Some(extract_fn), Some(extract))
    };
    let asyncness = &sig.asyncness;
    // Login, then freshness, then permission: each its own statement, all before extraction.
    let login_check = if kind == Kind::Anonymous {
        super::permission::anonymous_check()
    } else {
        quote! {
            #private::guard(
                &__login_request,
                #private::GuardSpec {
                    fresh: #fresh,
                    login_view: #login_view,
                    refresh_view: #refresh_view,
                },
            )
            .await?;
        }
    };
    let permission_check = args.permission.as_ref().map(super::permission::check);

    quote! {
        #(#attrs)*
        #vis #asyncness fn #ident <#params_generics> (
            __login_request: #private::actix_web::HttpRequest,
            __login_payload: #private::actix_web::web::Payload,
        ) -> ::core::result::Result<#output, #private::actix_web::Error>
        #where_clause
        {
            #[allow(clippy::unused_async)]
            #inner_sig #block
            #extract_fn

            #login_check
            #permission_check
            #extract
            ::core::result::Result::Ok(#inner_ident #turbofish (#(#bindings),*).await)
        }
    }
}

/// The user's item as it was, beside every error.
pub(crate) fn with_errors(item: TokenStream, errors: Errors) -> TokenStream {
    let compile_errors = errors.finish().err().map(syn::Error::into_compile_error);
    quote! {
        #item
        #compile_errors
    }
}

/// The item with every guard attribute left on it turned into `#[guard(__reported)]`.
pub(crate) fn mark_siblings_reported(mut item: syn::ItemFn) -> TokenStream {
    for attr in &mut item.attrs {
        if Kind::from_path(attr.path()).is_some() {
            let path = attr.path().clone();
            let reported = format_ident!("{}", super::attr::REPORTED);
            *attr = syn::parse_quote!(#[#path(#reported)]);
        }
    }
    item.into_token_stream()
}

fn optional_str(view: Option<&LitStr>) -> TokenStream {
    match view {
        Some(view) => quote!(::core::option::Option::Some(#view)),
        None => quote!(::core::option::Option::None),
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    use super::guarded;
    use crate::errors::Errors;
    use crate::guard::{Kind, ast::Handler, attr};

    fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        let mut errors = Errors::default();
        let args = attr::parse(kind, args, &mut errors);
        assert!(errors.is_empty());
        guarded(kind, &args, &Handler::from_tokens(item).unwrap()).to_string()
    }

    #[test]
    fn rewrites_a_handler_with_extractors() {
        let out = expand(
            Kind::Fresh,
            quote!(login_view = "/in"),
            quote! {
                /// Docs stay.
                #[get("/")]
                pub(crate) async fn index(path: web::Path<u32>, mut body: web::Json<Body>) -> impl Responder {
                    body.0.n += *path;
                    ""
                }
            },
        );
        let expected = quote! {
            #[doc = r" Docs stay."]
            #[get("/")]
            pub(crate) async fn index<>(
                __login_request: ::login_runtime::__private::actix_web::HttpRequest,
                __login_payload: ::login_runtime::__private::actix_web::web::Payload,
            ) -> ::core::result::Result<impl Responder, ::login_runtime::__private::actix_web::Error>
            where
                web::Path<u32>: ::login_runtime::__private::actix_web::FromRequest + 'static,
                web::Json<Body>: ::login_runtime::__private::actix_web::FromRequest + 'static
            {
                #[allow(clippy::unused_async)]
                async fn __login_handler(path: web::Path<u32>, mut body: web::Json<Body>) -> impl Responder {
                    body.0.n += *path;
                    ""
                }

                async fn __login_extract<
                    __LoginArg0: ::login_runtime::__private::actix_web::FromRequest + 'static,
                    __LoginArg1: ::login_runtime::__private::actix_web::FromRequest + 'static
                >(
                    request: &::login_runtime::__private::actix_web::HttpRequest,
                    payload: &mut ::login_runtime::__private::actix_web::dev::Payload,
                ) -> ::core::result::Result<(__LoginArg0, __LoginArg1,), ::login_runtime::__private::actix_web::Error> {
                    ::core::result::Result::map_err(
                        <(__LoginArg0, __LoginArg1,) as ::login_runtime::__private::actix_web::FromRequest>::from_request(request, payload).await,
                        ::core::convert::Into::into,
                    )
                }

                ::login_runtime::__private::guard(
                    &__login_request,
                    ::login_runtime::__private::GuardSpec {
                        fresh: true,
                        login_view: ::core::option::Option::Some("/in"),
                        refresh_view: ::core::option::Option::None,
                    },
                )
                .await?;
                let (__login_arg0, __login_arg1,) = __login_extract(
                    &__login_request,
                    &mut ::login_runtime::__private::actix_web::web::Payload::into_inner(__login_payload),
                )
                .await?;
                ::core::result::Result::Ok(__login_handler(__login_arg0, __login_arg1).await)
            }
        };
        assert_eq!(out, expected.to_string());
    }

    #[test]
    fn no_parameters_means_no_extraction() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index() -> HttpResponse { todo!() } },
        );
        assert!(!out.contains("__login_extract"), "{out}");
        assert!(out.contains("fresh : false"), "{out}");
        assert!(out.contains("Ok (__login_handler () . await)"), "{out}");
    }

    #[test]
    fn generic_handlers_keep_generics_and_call_with_turbofish() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index<'a, T: Serialize, const N: usize>(x: web::Json<T>) -> Result<String, E> where T: Send { todo!() } },
        );
        assert!(
            out.contains("fn index < 'a , T : Serialize , const N : usize > ("),
            "{out}"
        );
        assert!(
            out.contains("where T : Send , web :: Json < T > : :: login_runtime"),
            "{out}"
        );
        assert!(
            out.contains("__login_handler :: < T , N > (__login_arg0)"),
            "{out}"
        );
    }

    #[test]
    fn bare_type_parameters_are_bounded_where_the_user_bounds_them() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index<A: Debug, B, C>(a: A, b: B, c: C) -> String where C: Debug { todo!() } },
        );
        let extractor = ":: login_runtime :: __private :: actix_web :: FromRequest + 'static";
        assert!(
            out.contains(&format!(
                "< A : Debug + {extractor} , B : {extractor} , C >"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!("where C : Debug + {extractor}")),
            "{out}"
        );
    }

    #[test]
    fn reaches_actix_web_only_through_the_runtime() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index(r: HttpRequest) -> String { todo!() } },
        );
        assert_eq!(
            out.matches("actix_web").count(),
            out.matches(":: login_runtime :: __private :: actix_web")
                .count(),
            "{out}"
        );
        assert!(!out.contains(":: std ::"), "{out}");
    }
}
