//! Writes the guarded handler; the only place in the guards that calls `quote!`.
//!
//! The user's function becomes a nested `__login_handler`, unchanged but for its name. The
//! function actix-web sees keeps the name, docs, attributes (`#[get]` included), visibility
//! and generics, and takes `HttpRequest` + `web::Payload`, neither of which can fail or
//! reads the body. It awaits the guard first, and only then extracts the original
//! parameters the way actix-web's tuple extractor does (every extraction started in order,
//! polled in order, the first error wins), so a guard failure always wins over an extractor
//! error (401, not 400 for a malformed body). It answers with the response actix-web would
//! make of the handler's return value.
//!
//! What actix-web checks about a handler (each parameter an extractor, the return type a
//! responder) is checked once, inside the rewritten function, at the user's tokens, through
//! the runtime's diagnostic helper traits. It is never a where-clause on concrete types: rustc
//! would check such a bound again at every registration (three copies of one mistake under
//! `#[get]`, more under `#[routes]`) and add its `trivial_bounds` notes. Only types that name
//! the handler's own generic parameters get a where-clause, which the body needs.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericParam, Ident, LitStr, ReturnType, Token, Type, TypeParamBound,
    parse_quote_spanned,
};

use super::Kind;
use super::ast::Handler;
use super::attr::GuardArgs;
use crate::bounds::{add_bounds, names_a_parameter};
use crate::errors::Errors;
use crate::respan::{as_generated, generated_at};

/// The rewritten handler.
pub(crate) fn guarded(kind: Kind, args: &GuardArgs, handler: &Handler) -> TokenStream {
    let item = &handler.item;
    let (attrs, vis, sig, block) = (&item.attrs, &item.vis, &item.sig, &item.block);
    let ident = &sig.ident;
    let inner_ident = format_ident!("__login_handler");
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner_ident.clone();
    let private = quote!(::login_runtime::__private);

    let params: Vec<&Type> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(arg) => Some(&*arg.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let output: Option<&Type> = match &sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        // Rejected by validation.
        ReturnType::Default => None,
    };

    let mut generics = sig.generics.clone();
    for ty in params
        .iter()
        .filter(|ty| names_a_parameter(ty, &sig.generics))
    {
        let bounds: Punctuated<TypeParamBound, Token![+]> = parse_quote_spanned! {generated_at(ty.span())=>
            #private::actix_web::FromRequest
        };
        add_bounds(&mut generics, ty, bounds);
    }
    if let Some(ty) = output.filter(|ty| names_a_parameter(ty, &sig.generics)) {
        let bounds: Punctuated<TypeParamBound, Token![+]> = parse_quote_spanned! {generated_at(ty.span())=>
            #private::actix_web::Responder
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

    let spec = guard_spec(kind, args, ident);
    let bindings: Vec<Ident> = (0..params.len())
        .map(|i| format_ident!("__login_arg{i}"))
        .collect();
    let extract = extraction(&params, &bindings);
    // Spanned at the return type: a type that is not a responder is reported there.
    let respond = match output {
        // Named, so that the mistake is reported as the type's, at the type.
        Some(ty) if !has_impl_trait(ty) => {
            let span = generated_at(ty.span());
            let ty = as_generated(ty);
            quote_spanned! {span=>
                <#ty as #private::HandlerReturn>::into_response(__login_output, &__login_request)
            }
        }
        _ => quote! {
            #private::HandlerReturn::into_response(__login_output, &__login_request)
        },
    };
    let asyncness = &sig.asyncness;
    // The kind of user the guard admits: `user = ..`, else what its extractors ask for; each
    // extractor and permission must be of that kind (compile-time checks, at the mismatch).
    let extractor_users = kind_bearing_users(&params);
    let guard_user: Option<&Type> = args.user.as_ref().or(extractor_users.first().copied());
    // The anonymous-only guard refuses one kind of login; the handler may read another kind's.
    let same_kind_checks = guard_user
        .filter(|_| kind != Kind::Anonymous)
        .map(|guard_user| {
            let checks = extractor_users
                .iter()
                .filter(|user| args.user.is_some() || !std::ptr::eq(**user, guard_user))
                .map(|user| {
                    let span = generated_at(user.span());
                    let asked = as_generated(user);
                    quote_spanned! {span=>
                        #private::same_kind::<#asked, #guard_user>();
                    }
                });
            quote!(#(#checks)*)
        });
    let permission_user_checks = match (guard_user, &args.permission) {
        (Some(user), Some(rule)) => Some(rule.user_checks(user)),
        _ => None,
    };
    let check_binding = args
        .permission
        .as_ref()
        .map(super::permission::check_binding);
    // Login, then freshness, then the second factor, then permission: each its own statement,
    // all before extraction. The guard runs on the login of the kind of user it admits.
    let run = |name: &str| -> TokenStream {
        let plain = format_ident!("{name}");
        let of = format_ident!("{name}_of");
        let for_check = format_ident!("{name}_for_check");
        match (guard_user, &args.permission) {
            (Some(user), _) => quote! {
                #private::#of::<#user>(&__login_request, #spec).await?;
            },
            (None, Some(_)) => quote! {
                #private::#for_check(&__login_request, #spec, &__login_check).await?;
            },
            (None, None) => quote! {
                #private::#plain(&__login_request, #spec).await?;
            },
        }
    };
    let login_check = if kind == Kind::Anonymous {
        super::permission::anonymous_check(guard_user)
    } else {
        run("guard")
    };
    let second_factor_check = args.second_factor.then(|| run("second_factor"));
    let permission_check = args.permission.as_ref().map(super::permission::check);
    let key_value_hint = args.key_value_hint.as_ref().map(|view| {
        let note = format!(
            "`#[{} = ..]` is not an attribute form: write `#[{}(login_view = {})]`",
            kind.name(),
            kind.name(),
            view.to_token_stream()
        );
        // A deprecation warning at the literal is the one stable way a macro can warn.
        quote_spanned! {view.span()=>
            #[allow(non_camel_case_types)]
            #[deprecated(note = #note)]
            struct login_view;
            let _ = login_view;
        }
    });

    quote! {
        #(#attrs)*
        #vis #asyncness fn #ident <#params_generics> (
            __login_request: #private::actix_web::HttpRequest,
            __login_payload: #private::actix_web::web::Payload,
        ) -> ::core::result::Result<#private::actix_web::HttpResponse, #private::actix_web::Error>
        #where_clause
        {
            #[allow(clippy::unused_async)]
            #inner_sig #block
            #key_value_hint
            #same_kind_checks
            #permission_user_checks
            #check_binding

            #login_check
            #second_factor_check
            #permission_check
            #extract
            let __login_output = #inner_ident #turbofish (#(#bindings),*).await;
            ::core::result::Result::Ok(#respond)
        }
    }
}

/// The user types the handler's login extractors name (`CurrentUser<T>`, `MaybeUser<T>`,
/// `Login<T>`, `Permissions<T>`), in parameter order.
fn kind_bearing_users<'a>(params: &[&'a Type]) -> Vec<&'a Type> {
    const EXTRACTORS: [&str; 4] = ["CurrentUser", "MaybeUser", "Login", "Permissions"];
    params
        .iter()
        .filter_map(|ty| {
            let Type::Path(path) = ty else {
                return None;
            };
            let last = path.path.segments.last()?;
            if !EXTRACTORS.iter().any(|name| last.ident == name) {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let mut types = args.args.iter().filter_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => Some(ty),
                _ => None,
            });
            let user = types.next()?;
            types.next().is_none().then_some(user)
        })
        .collect()
}

/// The runtime's description of this guard.
fn guard_spec(kind: Kind, args: &GuardArgs, ident: &Ident) -> TokenStream {
    let fresh = kind == Kind::Fresh;
    let login_view = optional_str(args.login_view.as_ref());
    let refresh_view = optional_str(args.refresh_view.as_ref());
    let handler = LitStr::new(&ident.to_string(), ident.span());
    quote! {
        ::login_runtime::__private::GuardSpec {
            handler: #handler,
            fresh: #fresh,
            login_view: #login_view,
            refresh_view: #refresh_view,
        }
    }
}

/// Starts every extraction in order, each spanned at its parameter's type (a type that is
/// not an extractor is reported on that parameter), then awaits them together, in order,
/// as nested `try_join`s: what actix-web's tuple extractor does, without naming a tuple type
/// a mistake would be reported on as a whole.
fn extraction(params: &[&Type], bindings: &[Ident]) -> Option<TokenStream> {
    let private = quote!(::login_runtime::__private);
    let (last, rest) = bindings.split_last()?;
    let starts = params.iter().zip(bindings).map(|(ty, binding)| {
        let span = generated_at(ty.span());
        let ty = as_generated(ty);
        let extract = quote_spanned! {span=>
            <#ty as #private::HandlerParameter>::extract(&__login_request, &mut __login_payload)
        };
        quote! {
            let #binding = #extract;
        }
    });
    let mut joined = quote!(#last);
    let mut pattern = quote!(#last);
    for binding in rest.iter().rev() {
        joined = quote!(#private::futures_util::future::try_join(#binding, #joined));
        pattern = quote!((#binding, #pattern));
    }
    Some(quote! {
        let mut __login_payload = #private::actix_web::web::Payload::into_inner(__login_payload);
        #(#starts)*
        let #pattern = #joined.await?;
    })
}

/// Whether `ty` is or holds an `impl Trait`, which cannot be named in a path.
fn has_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            TokenTree::Ident(ident) => ident == "impl",
            TokenTree::Group(group) => walk(group.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

/// The user's item as it was, beside every error.
pub(crate) fn with_errors(item: TokenStream, errors: Errors) -> TokenStream {
    let compile_errors = errors.finish().err().map(syn::Error::into_compile_error);
    quote! {
        #item
        #compile_errors
    }
}

/// The item beside an error, made safe when it was an `unsafe fn` (the error says so): the
/// route attribute on it would otherwise add actix-web's own error about an unsafe handler.
pub(crate) fn defuse_unsafe(mut item: syn::ItemFn) -> syn::ItemFn {
    if matches!(item.sig.safety, syn::Safety::Unsafe(_)) {
        item.sig.safety = syn::Safety::Default;
        let block = &item.block;
        item.block = syn::parse_quote!({
            #[allow(unused_unsafe)]
            let __login_output = unsafe #block;
            __login_output
        });
    }
    item
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
            ) -> ::core::result::Result<::login_runtime::__private::actix_web::HttpResponse, ::login_runtime::__private::actix_web::Error>
            {
                #[allow(clippy::unused_async)]
                async fn __login_handler(path: web::Path<u32>, mut body: web::Json<Body>) -> impl Responder {
                    body.0.n += *path;
                    ""
                }

                ::login_runtime::__private::guard(
                    &__login_request,
                    ::login_runtime::__private::GuardSpec {
                        handler: "index",
                        fresh: true,
                        login_view: ::core::option::Option::Some("/in"),
                        refresh_view: ::core::option::Option::None,
                    }
                )
                .await?;
                let mut __login_payload = ::login_runtime::__private::actix_web::web::Payload::into_inner(__login_payload);
                let __login_arg0 = <web::Path<u32> as ::login_runtime::__private::HandlerParameter>::extract(&__login_request, &mut __login_payload);
                let __login_arg1 = <web::Json<Body> as ::login_runtime::__private::HandlerParameter>::extract(&__login_request, &mut __login_payload);
                let (__login_arg0, __login_arg1) =
                    ::login_runtime::__private::futures_util::future::try_join(__login_arg0, __login_arg1).await?;
                let __login_output = __login_handler(__login_arg0, __login_arg1).await;
                ::core::result::Result::Ok(
                    ::login_runtime::__private::HandlerReturn::into_response(__login_output, &__login_request)
                )
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
        assert!(!out.contains("extract"), "{out}");
        assert!(out.contains("fresh : false"), "{out}");
        assert!(
            out.contains("__login_output = __login_handler () . await"),
            "{out}"
        );
        // A named return type is checked as a response where it is written.
        assert!(
            out.contains("< HttpResponse as :: login_runtime :: __private :: HandlerReturn >"),
            "{out}"
        );
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
        let extractor = ":: login_runtime :: __private :: actix_web :: FromRequest";
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
    fn concrete_types_get_no_where_clause_and_generic_ones_do() {
        let out = expand(
            Kind::Login,
            quote!(),
            quote! { async fn index<T>(a: web::Query<u8>, b: web::Json<T>) -> T { todo!() } },
        );
        assert!(!out.contains("web :: Query < u8 > :"), "{out}");
        assert!(
            out.contains("index < T : :: login_runtime :: __private :: actix_web :: Responder >"),
            "{out}"
        );
        assert!(
            out.contains("where web :: Json < T > : :: login_runtime :: __private :: actix_web :: FromRequest {"),
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
