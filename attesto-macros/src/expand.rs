//! The generated code, one function per artifact. It is data and trait glue only: the path table
//! and feature flags as consts, the `Provider` impl that hands them and the host's trait impls to
//! the runtime. Routing, discovery and URL building are runtime functions that read those consts.
//!
//! Paths are absolute (`::core::…`, `<crate>::__private::…`); trait-bound checks are spanned on
//! the user's tokens so that rustc reports them where the user can fix them.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Declaration, Endpoint};

/// Everything a valid declaration generates.
pub(crate) fn declaration(decl: &Declaration) -> TokenStream {
    let consts = inherent_consts(decl);
    let provider = provider_impl(decl);
    let dev_sign_in = dev_sign_in_impls(decl);
    quote! {
        #consts
        #provider
        #dev_sign_in
    }
}

/// The errors of an invalid declaration, next to the code of `fallback` (the declaration with
/// default options), so that the type is still a provider and one mistake gives one error.
pub(crate) fn with_errors(fallback: &Declaration, errors: syn::Error) -> TokenStream {
    let errors = errors.into_compile_error();
    let fallback = declaration(fallback);
    quote! {
        #errors
        #fallback
    }
}

/// `impl Host { pub const PATHS; pub const FEATURES; }`: the table as compile-time constants the
/// host can read (`Auth::PATHS.token`).
fn inherent_consts(decl: &Declaration) -> TokenStream {
    let ty = &decl.ty;
    let private = private(decl);
    let paths = paths_value(decl);
    let features = features_value(decl);
    quote! {
        impl #ty {
            /// The endpoint paths of this provider, resolved at compile time from its attesto
            /// declaration: the routes the router mounts and the URLs discovery advertises.
            pub const PATHS: #private::Paths = #paths;
            /// The feature flags of this provider, from its attesto declaration.
            pub const FEATURES: #private::Features = #features;
        }
    }
}

/// The `Paths` literal: one field per endpoint, `None` for an endpoint that is not served.
fn paths_value(decl: &Declaration) -> TokenStream {
    let private = private(decl);
    let fields = Endpoint::ALL.into_iter().map(|endpoint| {
        let field = syn::Ident::new(endpoint.field(), Span::call_site());
        let path = decl.route(endpoint).map(|route| route.path.as_str());
        let value = match (endpoint.is_optional(), path) {
            (false, Some(path)) => quote!(#path),
            (true, Some(path)) => quote!(::core::option::Option::Some(#path)),
            (true, None) => quote!(::core::option::Option::None),
            // A required endpoint always has a route in a valid declaration (and in a
            // fallback); keep the generated code well-formed regardless.
            (false, None) => quote!(""),
        };
        quote!(#field: #value)
    });
    let (resource, resource_metadata) = match &decl.resource {
        Some(resource) => {
            let path = resource.path.path.as_str();
            let metadata = resource.metadata_path();
            (quote!(::core::option::Option::Some(#path)), quote!(::core::option::Option::Some(#metadata)))
        }
        None => (quote!(::core::option::Option::None), quote!(::core::option::Option::None)),
    };
    quote!(#private::Paths { #(#fields,)* resource: #resource, resource_metadata: #resource_metadata })
}

/// The `Features` literal.
fn features_value(decl: &Declaration) -> TokenStream {
    let private = private(decl);
    let features = &decl.features;
    let openid = features.openid.on;
    let userinfo = features.userinfo_served();
    let revocation = features.revocation.on;
    let introspection = features.introspection.on;
    let par = features.par.on;
    let registration = features.registration.on;
    let device_authorization = features.device_authorization.on;
    let end_session = features.end_session_served();
    let dev_sign_in = match &decl.dev_sign_in {
        Some(dev) => {
            let subject = dev.subject.as_str();
            quote!(::core::option::Option::Some(#subject))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        #private::Features {
            openid: #openid,
            userinfo: #userinfo,
            revocation: #revocation,
            introspection: #introspection,
            par: #par,
            registration: #registration,
            device_authorization: #device_authorization,
            end_session: #end_session,
            dev_sign_in: #dev_sign_in,
        }
    }
}

/// `impl Provider for Host`. The header is spanned on the host type, so that a missing
/// `ClientStore`, `PrincipalStore` or `Clone` impl is reported on the type's name. The optional
/// traits go through the runtime's autoref dispatch: the host's impl when there is one, else the
/// default.
fn provider_impl(decl: &Declaration) -> TokenStream {
    let ty = &decl.ty;
    let private = private(decl);
    let host_span = host_span(decl);
    let provider = quote_spanned!(host_span=> #private::Provider);
    let registration_store = registration_store_fn(decl);
    let session_store = session_store_fn(decl);
    quote! {
        #[automatically_derived]
        impl #provider for #ty {
            const PATHS: #private::Paths = <#ty>::PATHS;
            const FEATURES: #private::Features = <#ty>::FEATURES;

            fn scope_policy(&self) -> impl #private::ScopePolicy + '_ {
                #[allow(unused_imports)]
                use #private::{ScopeViaDefault as _, ScopeViaHost as _};
                (&&#private::Dispatch(self)).__attesto_scope_policy()
            }

            fn consent_policy(&self) -> impl #private::ConsentPolicy + '_ {
                #[allow(unused_imports)]
                use #private::{ConsentViaDefault as _, ConsentViaHost as _};
                (&&#private::Dispatch(self)).__attesto_consent_policy()
            }

            fn event_sink(&self) -> impl #private::EventSink + '_ {
                #[allow(unused_imports)]
                use #private::{EventsViaDefault as _, EventsViaHost as _};
                (&&#private::Dispatch(self)).__attesto_event_sink()
            }

            fn token_exchange_policy(&self) -> ::core::option::Option<impl #private::TokenExchangePolicy + '_> {
                #[allow(unused_imports)]
                use #private::{ExchangeViaDefault as _, ExchangeViaHost as _};
                (&&#private::Dispatch(self)).__attesto_token_exchange_policy()
            }

            fn identity_assertion_policy(
                &self,
            ) -> ::core::option::Option<impl #private::IdentityAssertionPolicy + '_> {
                #[allow(unused_imports)]
                use #private::{AssertionViaDefault as _, AssertionViaHost as _};
                (&&#private::Dispatch(self)).__attesto_identity_assertion_policy()
            }

            fn legacy_tokens(&self) -> ::core::option::Option<impl #private::LegacyTokens + '_> {
                #[allow(unused_imports)]
                use #private::{LegacyViaDefault as _, LegacyViaHost as _};
                (&&#private::Dispatch(self)).__attesto_legacy_tokens()
            }

            #registration_store

            #session_store
        }
    }
}

/// `Provider::registration_store`: the host itself with `registration` on, else `None`.
///
/// With the flag on, this method is the compile-time assertion that the host implements
/// `RegistrationStore`: it is spanned on the `registration` flag, so a missing impl is reported
/// there, once. (A separate const assertion would report the same
/// missing impl a second time, since this method needs it anyway.)
fn registration_store_fn(decl: &Declaration) -> TokenStream {
    let private = private(decl);
    let signature = quote! {
        fn registration_store(&self) -> ::core::option::Option<impl #private::RegistrationStore + '_>
    };
    match (decl.features.registration.written_on(), &decl.registration_field) {
        // `registration = "field"`: the field's type stores them; a missing impl is reported on
        // the literal that names the field.
        (Some(_), Some(field)) => {
            respanned(quote!(#signature { ::core::option::Option::Some(&self.#field) }), field.span())
        }
        (Some(flag), None) => respanned(quote!(#signature { ::core::option::Option::Some(self) }), flag),
        (None, _) => quote!(#signature { ::core::option::Option::None::<#private::NoRegistration> }),
    }
}

/// `Provider::session_store`: the host itself with `end_session` on, else `None`.
///
/// As for `registration`, this method is the compile-time assertion that the host implements
/// `SessionStore`, spanned on the `end_session` flag: logging out must end the host's session,
/// so the endpoint is not served without an impl that can.
fn session_store_fn(decl: &Declaration) -> TokenStream {
    let private = private(decl);
    let signature = quote! {
        fn session_store(&self) -> ::core::option::Option<impl #private::SessionStore + '_>
    };
    match decl.features.end_session.written_on().filter(|_| decl.features.end_session_served()) {
        Some(flag) => respanned(quote!(#signature { ::core::option::Option::Some(self) }), flag),
        None => quote!(#signature { ::core::option::Option::None::<#private::NoSessions> }),
    }
}

/// `dev_sign_in = "subject"`: `PrincipalStore` and `ConsentPolicy` for the host, signing
/// everyone in as the subject and approving every request. Spanned on the literal, so that a host
/// that also implements either trait is told where the second impl comes from.
fn dev_sign_in_impls(decl: &Declaration) -> TokenStream {
    let Some(dev) = &decl.dev_sign_in else { return TokenStream::new() };
    let ty = &decl.ty;
    let private = private(decl);
    let subject = dev.subject.as_str();
    // The whole impls are spanned on the literal: a conflicting impl of the host's is reported
    // there.
    quote_spanned! {dev.span=>
        #[automatically_derived]
        impl #private::PrincipalStore for #ty {
            fn authenticate(
                &self,
                request: &#private::LoginRequest<'_>,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#private::LoginOutcome, #private::HostError>,
            > + ::core::marker::Send {
                #private::dev_authenticate(#subject, request)
            }
        }

        #[automatically_derived]
        impl #private::ConsentPolicy for #ty {
            fn consent(
                &self,
                _request: &#private::ConsentRequest<'_>,
                _principal: &#private::AuthenticatedPrincipal,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#private::ConsentDecision, #private::HostError>,
            > + ::core::marker::Send {
                #private::dev_consent()
            }
        }
    }
}

/// `<crate>::__private`.
fn private(decl: &Declaration) -> TokenStream {
    let krate = &decl.krate;
    quote!(#krate::__private)
}

/// The span of the host type's name (the last segment of its path).
fn host_span(decl: &Declaration) -> Span {
    decl.ty.segments.last().map_or_else(Span::call_site, |segment| segment.ident.span())
}

/// `tokens` with every token spanned at `span`, for code whose errors must point at one token
/// of the user's (interpolated tokens keep their own spans in `quote_spanned!`).
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned_group = Group::new(group.delimiter(), respanned(group.stream(), span));
                respanned_group.set_span(span);
                token = TokenTree::Group(respanned_group);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
