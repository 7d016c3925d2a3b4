//! The declaration as attesto understands it: which endpoints exist, which features are on, and
//! the one path each endpoint resolves to. No raw attributes past this point.
//!
//! [`Declaration::new`] interprets [`Options`]: it checks each path literal on its own
//! ([`PathTemplate::parse`]) and resolves every endpoint's path. Rules that relate several options
//! to each other live in `check`.

use darling::error::Accumulator;
use darling::{Error, Result};
use proc_macro2::Span;
use syn::LitStr;

use crate::args::{Arg, Key, Options};

/// An endpoint of the path table (`attesto::Paths` has one field per variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// Authorization endpoint (RFC 6749 §3.1).
    Authorize,
    /// Token endpoint (RFC 6749 §3.2).
    Token,
    /// JSON Web Key Set (RFC 7517 §5).
    Jwks,
    /// OpenID Connect userinfo.
    Userinfo,
    /// Token revocation (RFC 7009).
    Revocation,
    /// Token introspection (RFC 7662).
    Introspection,
    /// Pushed authorization requests (RFC 9126).
    Par,
    /// Dynamic client registration (RFC 7591).
    Registration,
    /// Device authorization endpoint (RFC 8628 §3.1).
    DeviceAuthorization,
    /// The page where the user enters a device's user code (RFC 8628 §3.3).
    DeviceVerification,
    /// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2).
    EndSession,
}

impl Endpoint {
    /// Every endpoint, in the order of `attesto::Paths`.
    pub(crate) const ALL: [Self; 11] = [
        Self::Authorize,
        Self::Token,
        Self::Jwks,
        Self::Userinfo,
        Self::Revocation,
        Self::Introspection,
        Self::Par,
        Self::Registration,
        Self::DeviceAuthorization,
        Self::DeviceVerification,
        Self::EndSession,
    ];

    /// The endpoint's field in `attesto::Paths`, also its name in messages.
    pub(crate) const fn field(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Token => "token",
            Self::Jwks => "jwks",
            Self::Userinfo => "userinfo",
            Self::Revocation => "revocation",
            Self::Introspection => "introspection",
            Self::Par => "par",
            Self::Registration => "registration",
            Self::DeviceAuthorization => "device_authorization",
            Self::DeviceVerification => "device_verification",
            Self::EndSession => "end_session",
        }
    }

    /// The option that overrides the endpoint's path.
    pub(crate) const fn option(self) -> &'static str {
        match self {
            Self::Authorize => "authorize_path",
            Self::Token => "token_path",
            Self::Jwks => "jwks_path",
            Self::Userinfo => "userinfo_path",
            Self::Revocation => "revocation_path",
            Self::Introspection => "introspection_path",
            Self::Par => "par_path",
            Self::Registration => "registration_path",
            Self::DeviceAuthorization => "device_path",
            Self::DeviceVerification => "device_verification_path",
            Self::EndSession => "end_session_path",
        }
    }

    /// The path under the prefix when there is no override.
    pub(crate) const fn default_tail(self) -> &'static str {
        match self {
            Self::Authorize => "/authorize",
            Self::Token => "/token",
            Self::Jwks => "/jwks",
            Self::Userinfo => "/userinfo",
            Self::Revocation => "/revoke",
            Self::Introspection => "/introspect",
            Self::Par => "/par",
            Self::Registration => "/register",
            Self::DeviceAuthorization => "/device_authorization",
            Self::DeviceVerification => "/device",
            Self::EndSession => "/end_session",
        }
    }

    /// Whether the endpoint can be switched off (its `Paths` field is an `Option`).
    pub(crate) const fn is_optional(self) -> bool {
        !matches!(self, Self::Authorize | Self::Token | Self::Jwks)
    }

    /// The override written for this endpoint, if any.
    fn override_in(self, options: &Options) -> Option<&Arg<LitStr>> {
        match self {
            Self::Authorize => options.authorize_path.as_ref(),
            Self::Token => options.token_path.as_ref(),
            Self::Jwks => options.jwks_path.as_ref(),
            Self::Userinfo => options.userinfo_path.as_ref(),
            Self::Revocation => options.revocation_path.as_ref(),
            Self::Introspection => options.introspection_path.as_ref(),
            Self::Par => options.par_path.as_ref(),
            Self::Registration => options.registration_path.as_ref(),
            Self::DeviceAuthorization => options.device_path.as_ref(),
            Self::DeviceVerification => options.device_verification_path.as_ref(),
            Self::EndSession => options.end_session_path.as_ref(),
        }
    }
}

/// A feature flag's value and, when the user wrote it, the span of its key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag {
    /// Whether the flag is on, as written or by default.
    pub(crate) on: bool,
    /// The flag's key, when it was written.
    pub(crate) key: Option<Span>,
}

impl Flag {
    /// The flag as written, or its default.
    fn new(arg: Option<&Arg<bool>>, default: bool) -> Self {
        match arg {
            Some(arg) => Self { on: arg.value, key: Some(arg.key.span) },
            None => Self { on: default, key: None },
        }
    }

    /// Whether the user switched the flag on explicitly (`flag` or `flag = true`).
    pub(crate) fn written_on(self) -> Option<Span> {
        self.key.filter(|_| self.on)
    }
}

/// The feature flags, as written or by default.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Features {
    /// `openid`, on by default.
    pub(crate) openid: Flag,
    /// `userinfo`, on by default; it only takes effect with `openid`.
    pub(crate) userinfo: Flag,
    /// `revocation`, on by default.
    pub(crate) revocation: Flag,
    /// `introspection`, on by default.
    pub(crate) introspection: Flag,
    /// `par`, on by default.
    pub(crate) par: Flag,
    /// `registration`, off by default.
    pub(crate) registration: Flag,
    /// `device_authorization`, off by default.
    pub(crate) device_authorization: Flag,
    /// `end_session`, off by default; it only takes effect with `openid`.
    pub(crate) end_session: Flag,
}

impl Features {
    fn new(options: &Options) -> Self {
        Self {
            openid: Flag::new(options.openid.as_ref(), true),
            userinfo: Flag::new(options.userinfo.as_ref(), true),
            revocation: Flag::new(options.revocation.as_ref(), true),
            introspection: Flag::new(options.introspection.as_ref(), true),
            par: Flag::new(options.par.as_ref(), true),
            registration: Flag::new(options.registration.as_ref(), false),
            device_authorization: Flag::new(options.device_authorization.as_ref(), false),
            end_session: Flag::new(options.end_session.as_ref(), false),
        }
    }

    /// Whether the userinfo endpoint is served: it is part of OpenID Connect, so it needs `openid`.
    pub(crate) fn userinfo_served(&self) -> bool {
        self.openid.on && self.userinfo.on
    }

    /// Whether the end-session endpoint is served: RP-Initiated Logout is part of OpenID
    /// Connect (its `id_token_hint` is an ID token), so it needs `openid`.
    pub(crate) fn end_session_served(&self) -> bool {
        self.openid.on && self.end_session.on
    }

    /// Whether an endpoint is served.
    pub(crate) fn serves(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::Authorize | Endpoint::Token | Endpoint::Jwks => true,
            Endpoint::Userinfo => self.userinfo_served(),
            Endpoint::Revocation => self.revocation.on,
            Endpoint::Introspection => self.introspection.on,
            Endpoint::Par => self.par.on,
            Endpoint::Registration => self.registration.on,
            Endpoint::DeviceAuthorization | Endpoint::DeviceVerification => self.device_authorization.on,
            Endpoint::EndSession => self.end_session_served(),
        }
    }
}

/// An absolute path on the host, as written in a string literal and checked on its own: the
/// prefix or an endpoint override.
#[derive(Debug, Clone)]
pub(crate) struct PathTemplate {
    /// The path, starting with `/`.
    pub(crate) path: String,
    /// The literal it was read from.
    pub(crate) span: Span,
}

/// What a path literal is for: the prefix may be `/` itself, an endpoint path may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRole {
    /// `prefix = "…"`.
    Prefix,
    /// `<endpoint>_path = "…"`.
    Endpoint,
    /// `resource = "…"`: may be the host root `/`, like the prefix.
    Resource,
}

impl PathTemplate {
    /// Checks the literal given to `option` (rules that need no other option); the error is
    /// spanned on the literal.
    pub(crate) fn parse(option: &str, lit: &LitStr, role: PathRole) -> Result<Self> {
        let path = lit.value();
        match path_error(option, &path, role) {
            Some(message) => Err(Error::custom(message).with_span(lit)),
            None => Ok(Self { path, span: lit.span() }),
        }
    }

    /// The path of `tail` under this prefix; the host root `/` adds nothing, so tails never
    /// join with `//`.
    pub(crate) fn join(&self, tail: &str) -> String {
        if self.path == "/" { tail.to_owned() } else { format!("{}{tail}", self.path) }
    }
}

/// The characters an endpoint path may contain: RFC 3986 unreserved characters, `/` and
/// percent-encoded bytes. Anything else is either not a plain path character or means something
/// to axum's router (`{param}`, `{*rest}`).
const ALLOWED: &str = "`A-Z`, `a-z`, `0-9`, `-`, `.`, `_`, `~`, `/` and `%`";

/// Why a path literal cannot be an endpoint path, if it cannot; the first rule broken wins, so
/// one literal gets one message.
fn path_error(option: &str, path: &str, role: PathRole) -> Option<String> {
    let segments = || path.split('/').skip(1);
    // Paths are absolute on the host: they are routes and the path part of advertised URLs.
    if !path.starts_with('/') {
        return Some(format!("`{option}` must start with `/`"));
    }
    // A route matches the path alone; a query would never match, and is the client's to send.
    if path.contains('?') {
        return Some(format!("`{option}` must not contain a query (`?`)"));
    }
    // RFC 3986 §3.5: the fragment never reaches the server.
    if path.contains('#') {
        return Some(format!("`{option}` must not contain a fragment (`#`)"));
    }
    // RFC 3986 §5.2.4: clients remove dot segments before sending, so the route would be dead.
    if segments().any(|segment| segment == "..") {
        return Some(format!("`{option}` must not contain a `..` segment"));
    }
    if segments().any(|segment| segment == ".") {
        return Some(format!("`{option}` must not contain a `.` segment"));
    }
    if path.chars().any(char::is_whitespace) {
        return Some(format!("`{option}` must not contain whitespace"));
    }
    // The host root is a valid prefix; anything else names a resource, not a directory.
    if path.ends_with('/') && !(role != PathRole::Endpoint && path == "/") {
        return Some(format!("`{option}` must not end with `/`"));
    }
    if path.contains("//") {
        return Some(format!("`{option}` must not contain an empty segment (`//`)"));
    }
    if let Some(bad) = path.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._~/%".contains(*c))) {
        return Some(format!("`{option}` may only contain {ALLOWED}, found `{}`", bad.escape_default()));
    }
    if !percent_escapes_are_complete(path) {
        return Some(format!("`{option}` has a `%` that does not start a percent-encoded byte like `%7E`"));
    }
    None
}

/// Whether every `%` is followed by two hex digits (RFC 3986 §2.1).
fn percent_escapes_are_complete(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'%')
        .all(|(at, _)| bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

/// Where an endpoint's path comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin {
    /// The default tail under the prefix.
    Prefix,
    /// An `<endpoint>_path` override: its key and its literal.
    Override {
        /// The override's key.
        key: Key,
        /// The override's literal.
        literal: Span,
    },
}

/// An endpoint's resolved path.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The absolute path the endpoint is mounted at and advertised with.
    pub(crate) path: String,
    /// Where the path comes from.
    pub(crate) origin: Origin,
}

/// One endpoint of a declaration.
#[derive(Debug, Clone)]
pub(crate) struct EndpointDecl {
    /// Which endpoint.
    pub(crate) endpoint: Endpoint,
    /// Whether it is served.
    pub(crate) served: bool,
    /// The key of its `<endpoint>_path` override, when one was written.
    pub(crate) override_key: Option<Key>,
    /// Its path: `None` when it is not served, or when its path literal (or the prefix) is
    /// invalid, which was reported already.
    pub(crate) route: Option<Route>,
}

/// A provider declaration: the host type, the crate path, the features and one path per served
/// endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Declaration {
    /// The host type.
    pub(crate) ty: syn::Path,
    /// The path of the `attesto` crate in generated code (`::attesto` unless `crate = "…"`).
    pub(crate) krate: syn::Path,
    /// `prefix = "…"` as written and valid.
    pub(crate) prefix: Option<PathTemplate>,
    /// The feature flags.
    pub(crate) features: Features,
    /// Every endpoint, in the order of [`Endpoint::ALL`].
    pub(crate) endpoints: Vec<EndpointDecl>,
    /// `resource = "…"` as written and valid.
    pub(crate) resource: Option<ResourceDecl>,
    /// `registration = "field"`: the host's field that stores the registrations, its tokens
    /// spanned on the literal.
    pub(crate) registration_field: Option<syn::Member>,
    /// `dev_sign_in = "subject"` as written and valid.
    pub(crate) dev_sign_in: Option<DevSignIn>,
}

/// `dev_sign_in = "subject"`: every authorization request is signed in as `subject` and approved.
#[derive(Debug, Clone)]
pub(crate) struct DevSignIn {
    /// The subject.
    pub(crate) subject: String,
    /// The literal, where errors about the generated impls point.
    pub(crate) span: Span,
}

/// The longest `dev_sign_in` subject: the length of a `sub` the runtime accepts from a host.
const MAX_SUBJECT_LEN: usize = 255;

impl DevSignIn {
    fn parse(lit: &LitStr) -> Result<Self> {
        let subject = lit.value();
        let problem = if subject.is_empty() {
            Some("must not be empty")
        } else if subject.len() > MAX_SUBJECT_LEN {
            Some("must be at most 255 bytes")
        } else if subject.chars().any(char::is_control) {
            Some("must not contain control characters")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::custom(format_args!(
                "`dev_sign_in` is the subject every sign-in gets, like `dev_sign_in = \"demo-user\"`; it {problem}"
            ))
            .with_span(lit)),
            None => Ok(Self { subject, span: lit.span() }),
        }
    }
}

/// Reads `registration = "field"` as a field of the host (a name, or an index of a tuple struct).
fn registration_field(lit: &LitStr) -> Result<syn::Member> {
    lit.parse::<syn::Member>().map_err(|_| {
        Error::custom(format_args!(
            "`registration` names the host's field that stores the registrations, like `registration = \"registrations\"`; `{}` is not a field name",
            lit.value()
        ))
        .with_span(lit)
    })
}

/// The protected resource a declaration names (`resource = "/mcp"`): the host serves it, attesto
/// serves its RFC 9728 metadata and issues tokens for it.
#[derive(Debug, Clone)]
pub(crate) struct ResourceDecl {
    /// The resource's path on the host.
    pub(crate) path: PathTemplate,
}

impl ResourceDecl {
    /// Where its RFC 9728 document is served: the well-known path, followed by the resource's
    /// path unless the resource is the host root (RFC 9728 §3.1).
    pub(crate) fn metadata_path(&self) -> String {
        match self.path.path.as_str() {
            "/" => PROTECTED_RESOURCE_METADATA.to_owned(),
            path => format!("{PROTECTED_RESOURCE_METADATA}{path}"),
        }
    }
}

/// The well-known path of protected-resource metadata (RFC 9728 §3).
const PROTECTED_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";

/// The prefix when none is given.
const DEFAULT_PREFIX: &str = "/oauth";

impl Declaration {
    /// Interprets the options; a path literal that breaks a rule is reported to `errors` and its
    /// endpoint is left without a route.
    pub(crate) fn new(ty: syn::Path, options: &Options, errors: &mut Accumulator) -> Self {
        let krate =
            options.krate.as_ref().and_then(|arg| errors.handle(crate_path(&arg.value))).unwrap_or_else(default_crate);
        let features = Features::new(options);

        // `None` when the prefix was written but is invalid: the default paths are then unknown.
        let written_prefix = options
            .prefix
            .as_ref()
            .map(|arg| errors.handle(PathTemplate::parse("prefix", &arg.value, PathRole::Prefix)));
        let prefix = match &written_prefix {
            Some(written) => written.clone(),
            None => Some(PathTemplate { path: DEFAULT_PREFIX.to_owned(), span: Span::call_site() }),
        };

        let endpoints = Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let served = features.serves(endpoint);
                let written = endpoint.override_in(options);
                let route = match written {
                    // An override of an endpoint that is off is `check`'s to report; its
                    // literal is not worth a second error.
                    _ if !served => None,
                    Some(arg) => errors
                        .handle(PathTemplate::parse(endpoint.option(), &arg.value, PathRole::Endpoint))
                        .map(|template| Route {
                            path: template.path,
                            origin: Origin::Override { key: arg.key, literal: template.span },
                        }),
                    None => prefix
                        .as_ref()
                        .map(|prefix| Route { path: prefix.join(endpoint.default_tail()), origin: Origin::Prefix }),
                };
                EndpointDecl { endpoint, served, override_key: written.map(|arg| arg.key), route }
            })
            .collect();

        let resource = options.resource.as_ref().and_then(|arg| {
            errors
                .handle(PathTemplate::parse("resource", &arg.value, PathRole::Resource))
                .map(|path| ResourceDecl { path })
        });

        let registration_field =
            options.registration_field.as_ref().and_then(|lit| errors.handle(registration_field(lit)));
        // An invalid subject is reported, and the impls are still generated (the program does not
        // compile either way), so that the error is not followed by "does not implement
        // `PrincipalStore`".
        let dev_sign_in = options.dev_sign_in.as_ref().map(|arg| {
            errors
                .handle(DevSignIn::parse(&arg.value))
                .unwrap_or_else(|| DevSignIn { subject: String::new(), span: arg.value.span() })
        });

        Self {
            ty,
            krate,
            prefix: written_prefix.flatten(),
            features,
            endpoints,
            resource,
            registration_field,
            dev_sign_in,
        }
    }

    /// The declaration with every option at its default but the crate path: what is generated
    /// next to the errors of an invalid declaration, so that one mistake does not also make the
    /// type "not a provider" wherever it is used.
    pub(crate) fn fallback(&self) -> Self {
        let mut errors = Error::accumulator();
        let fallback = Self::new(self.ty.clone(), &Options::default(), &mut errors);
        // The default options are valid; nothing to report.
        drop(errors.into_inner());
        // The options that implement host traits are kept (when valid), so that an error elsewhere
        // does not add "does not implement `PrincipalStore`" to it.
        Self { krate: self.krate.clone(), dev_sign_in: self.dev_sign_in.clone(), ..fallback }
    }

    /// The route of a served endpoint whose path is valid.
    pub(crate) fn route(&self, endpoint: Endpoint) -> Option<&Route> {
        self.endpoints.iter().find(|decl| decl.endpoint == endpoint)?.route.as_ref()
    }

    /// The served endpoints whose path is valid, with their routes.
    pub(crate) fn routes(&self) -> impl Iterator<Item = (Endpoint, &Route)> {
        self.endpoints.iter().filter_map(|decl| Some((decl.endpoint, decl.route.as_ref()?)))
    }
}

/// `::attesto`.
fn default_crate() -> syn::Path {
    syn::parse_quote!(::attesto)
}

/// Reads `crate = "…"` as a path; its tokens are spanned on the literal, so a path that does not
/// resolve is reported there.
fn crate_path(lit: &LitStr) -> Result<syn::Path> {
    lit.parse_with(syn::Path::parse_mod_style).map_err(|_| {
        Error::custom("`crate` must be a path to the attesto crate, like `crate = \"attesto\"`").with_span(lit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(option: &str, path: &str) -> Option<String> {
        path_error(option, path, PathRole::Endpoint)
    }

    #[test]
    fn accepts_plain_paths() {
        for path in ["/token", "/mcp/oauth/token", "/a-b_c.d~e", "/%7Euser/token", "/v1.0/token"] {
            assert_eq!(error("token_path", path), None, "{path}");
        }
        assert_eq!(path_error("prefix", "/", PathRole::Prefix), None);
    }

    #[test]
    fn names_the_first_rule_broken() {
        let cases = [
            ("token", "`token_path` must start with `/`"),
            ("", "`token_path` must start with `/`"),
            ("/token?x=1", "`token_path` must not contain a query (`?`)"),
            ("/token#top", "`token_path` must not contain a fragment (`#`)"),
            ("/a/../token", "`token_path` must not contain a `..` segment"),
            ("/a/./token", "`token_path` must not contain a `.` segment"),
            ("/to ken", "`token_path` must not contain whitespace"),
            ("/token/", "`token_path` must not end with `/`"),
            ("/", "`token_path` must not end with `/`"),
            ("/a//token", "`token_path` must not contain an empty segment (`//`)"),
            ("/{id}", "`token_path` may only contain `A-Z`, `a-z`, `0-9`, `-`, `.`, `_`, `~`, `/` and `%`, found `{`"),
            ("/tok%2", "`token_path` has a `%` that does not start a percent-encoded byte like `%7E`"),
            ("/tok%zz", "`token_path` has a `%` that does not start a percent-encoded byte like `%7E`"),
        ];
        for (path, message) in cases {
            assert_eq!(error("token_path", path).as_deref(), Some(message), "{path}");
        }
        assert_eq!(
            path_error("prefix", "/oauth/", PathRole::Prefix).as_deref(),
            Some("`prefix` must not end with `/`")
        );
    }

    #[test]
    fn root_prefix_joins_without_double_slash() {
        let root = PathTemplate { path: "/".to_owned(), span: Span::call_site() };
        assert_eq!(root.join("/token"), "/token");
        let prefix = PathTemplate { path: "/mcp/oauth".to_owned(), span: Span::call_site() };
        assert_eq!(prefix.join("/token"), "/mcp/oauth/token");
    }
}
