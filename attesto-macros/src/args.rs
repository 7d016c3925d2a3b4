//! The declaration as written: the host type and the options of `#[attesto::provider(...)]` or
//! `attesto_routes! { Type, ... }`, read into one receiver, [`Options`].
//!
//! Both entry points end up here, so they accept exactly the same options. This stage only reads:
//! it checks the *shape* of each option (a known key, given once, with a string or bool literal)
//! and keeps the spans that later stages point their errors at. What the values mean is
//! `model`'s business.
//!
//! [`Options::read`] walks darling's `NestedMeta` list with darling's error accumulator instead of
//! deriving `FromMeta`: a derived receiver reports an unknown or duplicated key on the whole
//! `key = value` item in darling's own wording ("Unknown field: …"), while attesto points at the
//! key itself in its own style, and keeps every option it could read when another one is wrong.

use darling::ast::NestedMeta;
use darling::error::Accumulator;
use darling::{Error, Result};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitStr, Meta, Token};

/// A provider declaration as written: the host type and its option list.
pub(crate) struct Input {
    /// The host type, as a path (`Auth`, `crate::auth::Auth`, `Auth<Pg>`).
    pub(crate) ty: syn::Path,
    /// The option list, or the syntax error that stopped it from being read.
    pub(crate) options: syn::Result<Vec<NestedMeta>>,
}

impl Input {
    /// Reads `#[attesto::provider(args)]` applied to `item`; fails only when there is no host type
    /// to generate code for.
    pub(crate) fn from_attribute(args: TokenStream, item: TokenStream) -> syn::Result<Self> {
        Ok(Self { ty: host_type_of(item)?, options: NestedMeta::parse_meta_list(args) })
    }

    /// Reads the input of `attesto_routes! { Type, options… }`; fails only when there is no host
    /// type to generate code for.
    pub(crate) fn from_routes(input: TokenStream) -> syn::Result<Self> {
        let RoutesInput { ty, options } = syn::parse2(input)?;
        Ok(Self { ty, options: NestedMeta::parse_meta_list(options) })
    }
}

/// The type `#[attesto::provider]` is applied to: a struct or an enum without generic parameters.
fn host_type_of(item: TokenStream) -> syn::Result<syn::Path> {
    let (ident, generics) = match syn::parse2::<syn::Item>(item)? {
        syn::Item::Struct(item) => (item.ident, item.generics),
        syn::Item::Enum(item) => (item.ident, item.generics),
        other => {
            return Err(syn::Error::new_spanned(other, "`#[attesto::provider]` must be placed on a struct or an enum"));
        }
    };
    if !generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            generics,
            "`#[attesto::provider]` does not take a generic type; declare a concrete one with \
             `attesto::attesto_routes! { Host<Concrete>, … }`",
        ));
    }
    Ok(ident.into())
}

/// `Type` then, after a comma, the option tokens (read by [`Options`]).
struct RoutesInput {
    ty: syn::Path,
    options: TokenStream,
}

/// How `attesto_routes!` is written, for error messages.
const ROUTES_USAGE: &str = "`attesto_routes! { Auth, prefix = \"/oauth\" }`";

impl Parse for RoutesInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format_args!("expected the provider type first, like {ROUTES_USAGE}"),
            ));
        }
        let ty: syn::Type = input.parse().map_err(|error| {
            syn::Error::new(error.span(), format_args!("expected the provider type first, like {ROUTES_USAGE}"))
        })?;
        let ty = match ty {
            syn::Type::Path(syn::TypePath { qself: None, path, .. }) => path,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format_args!("expected the provider type by name, like {ROUTES_USAGE}"),
                ));
            }
        };
        let is_option = ty.get_ident().is_some_and(|ident| KEYS.contains(&ident.to_string().as_str()));
        if input.peek(Token![=]) || is_option {
            // `attesto_routes! { prefix = "/x" }`, `attesto_routes! { registration }`: an option
            // where the type should be.
            return Err(syn::Error::new_spanned(
                ty,
                format_args!("expected the provider type before the options, like {ROUTES_USAGE}"),
            ));
        }
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        Ok(Self { ty, options: input.parse()? })
    }
}

/// Where an option was written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// The option's name.
    pub(crate) name: &'static str,
    /// The span of the key token.
    pub(crate) span: Span,
    /// The option's position in the list, to tell which of two options came later.
    pub(crate) position: usize,
}

/// An option's value and where its key was written.
#[derive(Debug, Clone)]
pub(crate) struct Arg<T> {
    /// The key.
    pub(crate) key: Key,
    /// The value.
    pub(crate) value: T,
}

/// The options of a declaration, one field per key; `None` when the key was not written.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// `crate = "path"`: the path to the `attesto` crate.
    pub(crate) krate: Option<Arg<LitStr>>,
    /// `prefix = "/…"`.
    pub(crate) prefix: Option<Arg<LitStr>>,
    /// `openid`.
    pub(crate) openid: Option<Arg<bool>>,
    /// `userinfo`.
    pub(crate) userinfo: Option<Arg<bool>>,
    /// `revocation`.
    pub(crate) revocation: Option<Arg<bool>>,
    /// `introspection`.
    pub(crate) introspection: Option<Arg<bool>>,
    /// `par`.
    pub(crate) par: Option<Arg<bool>>,
    /// `registration`, bare, `= true`/`= false`, or `= "field"`.
    pub(crate) registration: Option<Arg<bool>>,
    /// `device_authorization`.
    pub(crate) device_authorization: Option<Arg<bool>>,
    /// `end_session`: OpenID Connect RP-Initiated Logout.
    pub(crate) end_session: Option<Arg<bool>>,
    /// `registration = "field"`: the host's field that stores the registrations.
    pub(crate) registration_field: Option<LitStr>,
    /// `authorize_path = "/…"`.
    pub(crate) authorize_path: Option<Arg<LitStr>>,
    /// `token_path = "/…"`.
    pub(crate) token_path: Option<Arg<LitStr>>,
    /// `jwks_path = "/…"`.
    pub(crate) jwks_path: Option<Arg<LitStr>>,
    /// `userinfo_path = "/…"`.
    pub(crate) userinfo_path: Option<Arg<LitStr>>,
    /// `revocation_path = "/…"`.
    pub(crate) revocation_path: Option<Arg<LitStr>>,
    /// `introspection_path = "/…"`.
    pub(crate) introspection_path: Option<Arg<LitStr>>,
    /// `par_path = "/…"`.
    pub(crate) par_path: Option<Arg<LitStr>>,
    /// `registration_path = "/…"`.
    pub(crate) registration_path: Option<Arg<LitStr>>,
    /// `device_path = "/…"`: the device authorization endpoint.
    pub(crate) device_path: Option<Arg<LitStr>>,
    /// `device_verification_path = "/…"`: the page where the user enters a device's code.
    pub(crate) device_verification_path: Option<Arg<LitStr>>,
    /// `end_session_path = "/…"`: the end-session (logout) endpoint.
    pub(crate) end_session_path: Option<Arg<LitStr>>,
    /// `resource = "/…"`: the path of the protected resource the host serves.
    pub(crate) resource: Option<Arg<LitStr>>,
    /// `dev_sign_in = "subject"`: sign everyone in as this subject (development only).
    pub(crate) dev_sign_in: Option<Arg<LitStr>>,
}

/// Every option, in the order the documentation lists them.
const KEYS: &[&str] = &[
    "prefix",
    "crate",
    "openid",
    "userinfo",
    "revocation",
    "introspection",
    "par",
    "registration",
    "device_authorization",
    "end_session",
    "authorize_path",
    "token_path",
    "jwks_path",
    "userinfo_path",
    "revocation_path",
    "introspection_path",
    "par_path",
    "registration_path",
    "device_path",
    "device_verification_path",
    "end_session_path",
    "resource",
    "dev_sign_in",
];

impl Options {
    /// Reads an option list; every malformed option is reported to `errors` and left out.
    pub(crate) fn read(items: &[NestedMeta], errors: &mut Accumulator) -> Self {
        let mut options = Self::default();
        let mut seen = Vec::new();
        for (position, item) in items.iter().enumerate() {
            let Some(key) = errors.handle(key_of(item, position)) else { continue };
            if seen.contains(&key.name) {
                // Reported on the later key, the one to delete.
                errors.push(Error::custom(format_args!("duplicate option `{}`", key.name)).with_span(&key.span));
                continue;
            }
            seen.push(key.name);
            errors.handle(options.set(key, item));
        }
        options
    }

    /// Records the value of one option.
    fn set(&mut self, key: Key, item: &NestedMeta) -> Result<()> {
        match key.name {
            "crate" => store(&mut self.krate, key, string(key, item, "attesto")),
            "prefix" => store(&mut self.prefix, key, string(key, item, "/oauth")),
            "openid" => store(&mut self.openid, key, flag(key, item)),
            "userinfo" => store(&mut self.userinfo, key, flag(key, item)),
            "revocation" => store(&mut self.revocation, key, flag(key, item)),
            "introspection" => store(&mut self.introspection, key, flag(key, item)),
            "par" => store(&mut self.par, key, flag(key, item)),
            "registration" => {
                let (on, field) = flag_or_field(key, item)?;
                self.registration_field = field;
                store(&mut self.registration, key, Ok(on))
            }
            "device_authorization" => store(&mut self.device_authorization, key, flag(key, item)),
            "end_session" => store(&mut self.end_session, key, flag(key, item)),
            "authorize_path" => store(&mut self.authorize_path, key, string(key, item, "/authorize")),
            "token_path" => store(&mut self.token_path, key, string(key, item, "/token")),
            "jwks_path" => store(&mut self.jwks_path, key, string(key, item, "/jwks")),
            "userinfo_path" => store(&mut self.userinfo_path, key, string(key, item, "/userinfo")),
            "revocation_path" => store(&mut self.revocation_path, key, string(key, item, "/revoke")),
            "introspection_path" => store(&mut self.introspection_path, key, string(key, item, "/introspect")),
            "par_path" => store(&mut self.par_path, key, string(key, item, "/par")),
            "registration_path" => store(&mut self.registration_path, key, string(key, item, "/register")),
            "device_path" => store(&mut self.device_path, key, string(key, item, "/device_authorization")),
            "device_verification_path" => store(&mut self.device_verification_path, key, string(key, item, "/device")),
            "end_session_path" => store(&mut self.end_session_path, key, string(key, item, "/logout")),
            "resource" => store(&mut self.resource, key, string(key, item, "/mcp")),
            "dev_sign_in" => store(&mut self.dev_sign_in, key, string(key, item, "demo-user")),
            // `key_of` only returns names from `KEYS`.
            other => Err(Error::custom(format_args!("unknown option `{other}`")).with_span(&key.span)),
        }
    }
}

/// Stores a well-formed value.
fn store<T>(slot: &mut Option<Arg<T>>, key: Key, value: Result<T>) -> Result<()> {
    *slot = Some(Arg { key, value: value? });
    Ok(())
}

/// The key of one option; an unknown key is reported with the closest known one.
fn key_of(item: &NestedMeta, position: usize) -> Result<Key> {
    let path = match item {
        NestedMeta::Meta(meta) => meta.path(),
        NestedMeta::NameValueInvalidExpr(meta) => &meta.path,
        NestedMeta::Lit(lit) => {
            return Err(Error::custom(
                "expected an option like `prefix = \"/oauth\"` or `registration`, found a literal",
            )
            .with_span(lit));
        }
    };
    let written = match path.get_ident() {
        Some(ident) => ident.to_string(),
        None => path.to_token_stream().to_string().replace(' ', ""),
    };
    match KEYS.iter().find(|known| **known == written) {
        Some(name) => Ok(Key { name, span: path.span(), position }),
        None => Err(unknown_option(&written).with_span(path)),
    }
}

/// "unknown option" with the closest known option, using the metric darling's `suggestions`
/// feature uses.
fn unknown_option(written: &str) -> Error {
    let closest = KEYS
        .iter()
        .map(|known| (strsim::jaro_winkler(written, known), *known))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match closest {
        Some((_, known)) => Error::custom(format_args!("unknown option `{written}`, did you mean `{known}`?")),
        None => Error::custom(format_args!(
            "unknown option `{written}`; the options are `prefix`, `crate`, the feature flags \
             `openid`, `userinfo`, `revocation`, `introspection`, `par`, `registration`, \
             `device_authorization`, `end_session`, the path overrides `<endpoint>_path`, `resource` and `dev_sign_in`"
        )),
    }
}

/// The string literal of `key = "…"`; `example` shows a valid value in the message.
fn string(key: Key, item: &NestedMeta, example: &str) -> Result<LitStr> {
    let name = key.name;
    let usage = format!("`{name} = \"{example}\"`");
    match item {
        NestedMeta::Meta(Meta::NameValue(meta)) => match unwrap_groups(&meta.value) {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) => Ok(lit.clone()),
            value => {
                Err(Error::custom(format_args!("`{name}` must be a string literal, like {usage}")).with_span(value))
            }
        },
        NestedMeta::NameValueInvalidExpr(meta) => {
            Err(Error::custom(format_args!("`{name}` must be a string literal, like {usage}")).with_span(&meta.value))
        }
        NestedMeta::Meta(meta) => {
            Err(Error::custom(format_args!("`{name}` needs a value, like {usage}")).with_span(meta))
        }
        NestedMeta::Lit(lit) => Err(Error::custom("expected an option").with_span(lit)),
    }
}

/// A feature flag: bare (`par`, on) or `par = true` / `par = false`.
fn flag(key: Key, item: &NestedMeta) -> Result<bool> {
    let name = key.name;
    let message = || format!("`{name}` must be `true` or `false`, like `{name} = false`, or bare");
    match item {
        NestedMeta::Meta(Meta::Path(_)) => Ok(true),
        NestedMeta::Meta(Meta::NameValue(meta)) => match unwrap_groups(&meta.value) {
            Expr::Lit(syn::ExprLit { lit: Lit::Bool(value), .. }) => Ok(value.value),
            value => Err(Error::custom(message()).with_span(value)),
        },
        NestedMeta::NameValueInvalidExpr(meta) => Err(Error::custom(message()).with_span(&meta.value)),
        NestedMeta::Meta(meta @ Meta::List(_)) => Err(Error::custom(message()).with_span(meta)),
        NestedMeta::Lit(lit) => Err(Error::custom("expected an option").with_span(lit)),
    }
}

/// `registration`: a feature flag, or `registration = "field"`, which turns it on and names the
/// host's field that stores the registrations (a type implementing `RegistrationStore`, such as
/// `MemoryRegistrations`), so that the host need not implement the trait itself.
fn flag_or_field(key: Key, item: &NestedMeta) -> Result<(bool, Option<LitStr>)> {
    if let NestedMeta::Meta(Meta::NameValue(meta)) = item
        && let Expr::Lit(syn::ExprLit { lit: Lit::Str(lit), .. }) = unwrap_groups(&meta.value)
    {
        return Ok((true, Some(lit.clone())));
    }
    flag(key, item).map(|on| (on, None)).map_err(|_| {
        let span = match item {
            NestedMeta::Meta(Meta::NameValue(meta)) => meta.value.span(),
            NestedMeta::NameValueInvalidExpr(meta) => meta.value.span(),
            NestedMeta::Meta(meta) => meta.span(),
            NestedMeta::Lit(lit) => lit.span(),
        };
        Error::custom(
            "`registration` must be bare, `true` or `false`, or name the field that stores the registrations, like `registration = \"registrations\"`",
        )
        .with_span(&span)
    })
}

/// Looks through the invisible groups a `macro_rules!` macro wraps around a forwarded fragment.
fn unwrap_groups(mut expr: &Expr) -> &Expr {
    while let Expr::Group(group) = expr {
        expr = &group.expr;
    }
    expr
}
