//! Rules that relate several options of a declaration to each other. Each rule is one function,
//! reports every violation it finds to `errors`, and points at the option to change.
//!
//! The rules on a single path literal (starts with `/`, no query…) are checked where the literal
//! is read, in `model::PathTemplate::parse`.

use std::collections::HashMap;

use darling::Error;
use darling::error::Accumulator;
use proc_macro2::Span;

use crate::model::{Declaration, Endpoint, Origin, Route};

/// Runs every rule.
pub(crate) fn declaration(decl: &Declaration, errors: &mut Accumulator) {
    userinfo_needs_openid(decl, errors);
    end_session_needs_openid(decl, errors);
    override_needs_endpoint(decl, errors);
    well_known_is_reserved(decl, errors);
    one_endpoint_per_path(decl, errors);
    client_configuration_paths_are_reserved(decl, errors);
    resource_is_not_an_endpoint(decl, errors);
}

/// `userinfo` is part of OpenID Connect: switching it on explicitly with `openid = false` is
/// a contradiction.
fn userinfo_needs_openid(decl: &Declaration, errors: &mut Accumulator) {
    let features = &decl.features;
    if let Some(userinfo) = features.userinfo.written_on().filter(|_| !features.openid.on) {
        errors.push(
            Error::custom("`userinfo` needs `openid`, which is off here; remove `openid = false`").with_span(&userinfo),
        );
    }
}

/// `end_session` is OpenID Connect RP-Initiated Logout, whose hint is an ID token: switching it
/// on with `openid = false` is a contradiction.
fn end_session_needs_openid(decl: &Declaration, errors: &mut Accumulator) {
    let features = &decl.features;
    if let Some(end_session) = features.end_session.written_on().filter(|_| !features.openid.on) {
        errors.push(
            Error::custom("`end_session` needs `openid`, which is off here; remove `openid = false`")
                .with_span(&end_session),
        );
    }
}

/// A path override is for a served endpoint: `par = false, par_path = "…"` is a mistake.
fn override_needs_endpoint(decl: &Declaration, errors: &mut Accumulator) {
    let features = &decl.features;
    for endpoint_decl in decl.endpoints.iter().filter(|decl| !decl.served) {
        let Some(key) = endpoint_decl.override_key else { continue };
        let why = match endpoint_decl.endpoint {
            Endpoint::Userinfo if !features.openid.on => "`openid = false` turns it off",
            Endpoint::Registration if features.registration.key.is_none() => {
                "registration is off by default; add `registration` to turn it on"
            }
            Endpoint::Userinfo => "`userinfo = false` turns it off",
            Endpoint::Revocation => "`revocation = false` turns it off",
            Endpoint::Introspection => "`introspection = false` turns it off",
            Endpoint::Par => "`par = false` turns it off",
            Endpoint::Registration => "`registration = false` turns it off",
            Endpoint::DeviceAuthorization | Endpoint::DeviceVerification
                if features.device_authorization.key.is_none() =>
            {
                "the device authorization grant is off by default; add `device_authorization` to turn it on"
            }
            Endpoint::DeviceAuthorization | Endpoint::DeviceVerification => {
                "`device_authorization = false` turns it off"
            }
            Endpoint::EndSession if features.end_session.key.is_none() => {
                "logout is off by default; add `end_session` to turn it on"
            }
            Endpoint::EndSession if !features.openid.on => "`openid = false` turns it off",
            Endpoint::EndSession => "`end_session = false` turns it off",
            // Always served; listed for exhaustiveness.
            Endpoint::Authorize | Endpoint::Token | Endpoint::Jwks => continue,
        };
        errors.push(
            Error::custom(format_args!(
                "`{}` sets the path of the {} endpoint, which is not served: {why}",
                key.name,
                endpoint_decl.endpoint.field(),
            ))
            .with_span(&key.span),
        );
    }
}

/// RFC 8615 reserves `/.well-known/` for the discovery documents attesto serves at the host
/// root: no endpoint goes under it.
fn well_known_is_reserved(decl: &Declaration, errors: &mut Accumulator) {
    const RFC_8615: &str = "`/.well-known` is reserved for the discovery documents (RFC 8615)";
    let prefix_is_reserved = decl.prefix.as_ref().filter(|prefix| is_well_known(&prefix.path));
    if let Some(prefix) = prefix_is_reserved {
        errors.push(
            Error::custom(format_args!("`prefix` must not be under `/.well-known`: {RFC_8615}"))
                .with_span(&prefix.span),
        );
    }
    for (endpoint, route) in decl.routes() {
        match route.origin {
            Origin::Override { literal, .. } if is_well_known(&route.path) => errors.push(
                Error::custom(format_args!("`{}` must not be under `/.well-known`: {RFC_8615}", endpoint.option()))
                    .with_span(&literal),
            ),
            // Defaults under a reserved prefix were reported on the prefix.
            _ => {}
        }
    }
    if let Some(resource) = decl.resource.as_ref().filter(|resource| is_well_known(&resource.path.path)) {
        errors.push(
            Error::custom(format_args!("`resource` must not be under `/.well-known`: {RFC_8615}"))
                .with_span(&resource.path.span),
        );
    }
}

/// Whether a path is `/.well-known` or under it.
fn is_well_known(path: &str) -> bool {
    path.strip_prefix("/.well-known").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Every served endpoint has a path of its own: the router cannot mount two on one path, and
/// discovery would advertise one URL for both. Reported on the later override.
fn one_endpoint_per_path(decl: &Declaration, errors: &mut Accumulator) {
    let mut first_on_path: HashMap<&str, Endpoint> = HashMap::new();
    for (endpoint, route) in in_blame_order(decl) {
        match first_on_path.get(route.path.as_str()) {
            Some(first) => errors.push(
                Error::custom(format_args!(
                    "the {} and {} endpoints both resolve to `{}`",
                    first.field(),
                    endpoint.field(),
                    route.path,
                ))
                .with_span(&blame(route)),
            ),
            None => {
                first_on_path.insert(&route.path, endpoint);
            }
        }
    }
}

/// The client configuration endpoint (RFC 7592) is `{registration}/{client_id}`: no other
/// endpoint sits one segment under the registration endpoint, where it would shadow a client id.
fn client_configuration_paths_are_reserved(decl: &Declaration, errors: &mut Accumulator) {
    let Some(registration) = decl.route(Endpoint::Registration) else { return };
    let base = format!("{}/", registration.path);
    let configuration = format!("`{base}{{client_id}}` (RFC 7592)");
    let mut shadowed_defaults = Vec::new();
    for (endpoint, route) in decl.routes() {
        let Some(rest) = route.path.strip_prefix(&base) else { continue };
        if rest.contains('/') {
            continue;
        }
        match route.origin {
            Origin::Override { literal, .. } => errors.push(
                Error::custom(format_args!(
                    "the {} endpoint at `{}` is taken by client configuration, {configuration}",
                    endpoint.field(),
                    route.path,
                ))
                .with_span(&literal),
            ),
            // The registration path was overridden onto the prefix: one error, on it.
            Origin::Prefix => shadowed_defaults.push(endpoint.field()),
        }
    }
    if !shadowed_defaults.is_empty() {
        errors.push(
            Error::custom(format_args!(
                "client configuration, {configuration}, takes the path of the {} endpoint{}",
                shadowed_defaults.join(", "),
                if shadowed_defaults.len() > 1 { "s" } else { "" },
            ))
            .with_span(&blame(registration)),
        );
    }
}

/// The protected resource is the host's route, guarded by access tokens: it cannot also be one of
/// attesto's endpoints (which take no access token, or take it differently), nor a client
/// configuration URL (RFC 7592) under the registration endpoint.
fn resource_is_not_an_endpoint(decl: &Declaration, errors: &mut Accumulator) {
    let Some(resource) = &decl.resource else { return };
    let path = resource.path.path.as_str();
    if let Some((endpoint, _)) = decl.routes().find(|(_, route)| route.path == path) {
        errors.push(
            Error::custom(format_args!(
                "`resource` is the path of the {} endpoint, `{path}`; the protected resource needs a path of its own",
                endpoint.field(),
            ))
            .with_span(&resource.path.span),
        );
        return;
    }
    let Some(registration) = decl.route(Endpoint::Registration) else { return };
    let configuration = path.strip_prefix(&format!("{}/", registration.path));
    if configuration.is_some_and(|rest| !rest.contains('/')) {
        errors.push(
            Error::custom(format_args!(
                "`resource` at `{path}` is taken by client configuration, `{}/{{client_id}}` (RFC 7592)",
                registration.path,
            ))
            .with_span(&resource.path.span),
        );
    }
}

/// The served routes, defaults first, then overrides in the order they were written: a clash is
/// reported on the second of the two.
fn in_blame_order(decl: &Declaration) -> Vec<(Endpoint, &Route)> {
    let mut routes: Vec<_> = decl.routes().collect();
    routes.sort_by_key(|(_, route)| match route.origin {
        Origin::Prefix => None,
        Origin::Override { key, .. } => Some(key.position),
    });
    routes
}

/// Where to report a problem with a route: its override literal, or the macro call when it is a
/// default (the other side of a clash with a default is always an override, so this is rare).
fn blame(route: &Route) -> Span {
    match route.origin {
        Origin::Override { literal, .. } => literal,
        Origin::Prefix => Span::call_site(),
    }
}

#[cfg(test)]
mod tests {
    use darling::ast::NestedMeta;

    use crate::args::Options;
    use crate::model::Declaration;

    /// The messages the whole pipeline reports for an option list, in order.
    fn messages(options: &str) -> Vec<String> {
        let tokens = options.parse().expect("valid tokens");
        let items = NestedMeta::parse_meta_list(tokens).expect("an option list");
        let mut errors = darling::Error::accumulator();
        let options = Options::read(&items, &mut errors);
        let decl = Declaration::new(syn::parse_quote!(Auth), &options, &mut errors);
        super::declaration(&decl, &mut errors);
        errors.into_inner().into_iter().flatten().map(|error| error.to_string()).collect()
    }

    /// The resolved path table of a valid option list.
    fn paths(options: &str) -> Vec<(&'static str, Option<String>)> {
        let tokens = options.parse().expect("valid tokens");
        let items = NestedMeta::parse_meta_list(tokens).expect("an option list");
        let mut errors = darling::Error::accumulator();
        let options = Options::read(&items, &mut errors);
        let decl = Declaration::new(syn::parse_quote!(Auth), &options, &mut errors);
        super::declaration(&decl, &mut errors);
        assert!(errors.into_inner().is_empty(), "{options:?} is valid");
        decl.endpoints
            .iter()
            .map(|endpoint| (endpoint.endpoint.field(), endpoint.route.as_ref().map(|r| r.path.clone())))
            .collect()
    }

    fn some(path: &str) -> Option<String> {
        Some(path.to_owned())
    }

    #[test]
    fn default_table() {
        assert_eq!(
            paths(""),
            [
                ("authorize", some("/oauth/authorize")),
                ("token", some("/oauth/token")),
                ("jwks", some("/oauth/jwks")),
                ("userinfo", some("/oauth/userinfo")),
                ("revocation", some("/oauth/revoke")),
                ("introspection", some("/oauth/introspect")),
                ("par", some("/oauth/par")),
                ("registration", None),
                ("device_authorization", None),
                ("device_verification", None),
                ("end_session", None),
            ]
        );
    }

    #[test]
    fn device_authorization_adds_two_endpoints() {
        let table = paths(r#"device_authorization, device_verification_path = "/activate""#);
        assert_eq!(table[8], ("device_authorization", some("/oauth/device_authorization")));
        assert_eq!(table[9], ("device_verification", some("/activate")));
    }

    #[test]
    fn end_session_adds_an_endpoint() {
        assert_eq!(paths("end_session")[10], ("end_session", some("/oauth/end_session")));
        assert_eq!(paths(r#"end_session, end_session_path = "/logout""#)[10], ("end_session", some("/logout")));
    }

    #[test]
    fn prefix_overrides_and_flags() {
        let table = paths(r#"prefix = "/", registration, par = false, openid = false, token_path = "/mcp/token""#);
        assert_eq!(table[0], ("authorize", some("/authorize")));
        assert_eq!(table[1], ("token", some("/mcp/token")));
        assert_eq!(table[3], ("userinfo", None));
        assert_eq!(table[6], ("par", None));
        assert_eq!(table[7], ("registration", some("/register")));
    }

    #[test]
    fn unknown_option_suggests_the_closest() {
        assert_eq!(messages(r#"prefx = "/x""#), ["unknown option `prefx`, did you mean `prefix`?"]);
        assert_eq!(messages("regstration"), ["unknown option `regstration`, did you mean `registration`?"]);
        assert!(messages("database")[0].starts_with("unknown option `database`; the options are"));
    }

    #[test]
    fn values_must_be_literals() {
        assert_eq!(
            messages("prefix = PREFIX, par = 1, token_path"),
            [
                "`prefix` must be a string literal, like `prefix = \"/oauth\"`",
                "`par` must be `true` or `false`, like `par = false`, or bare",
                "`token_path` needs a value, like `token_path = \"/token\"`",
            ]
        );
        assert_eq!(
            messages(r#"crate = "not a path""#),
            ["`crate` must be a path to the attesto crate, like `crate = \"attesto\"`"]
        );
    }

    #[test]
    fn duplicate_option() {
        assert_eq!(messages(r#"prefix = "/a", prefix = "/b""#), ["duplicate option `prefix`"]);
    }

    #[test]
    fn userinfo_needs_openid() {
        assert_eq!(
            messages("openid = false, userinfo"),
            ["`userinfo` needs `openid`, which is off here; remove `openid = false`"]
        );
        assert_eq!(messages("openid = false, userinfo = false"), Vec::<String>::new());
    }

    #[test]
    fn override_needs_endpoint() {
        assert_eq!(
            messages(r#"par = false, par_path = "/x", registration_path = "/r""#),
            [
                "`par_path` sets the path of the par endpoint, which is not served: `par = false` turns it off",
                "`registration_path` sets the path of the registration endpoint, which is not served: registration is off by default; add `registration` to turn it on",
            ]
        );
        assert_eq!(
            messages(r#"openid = false, userinfo_path = "/me""#),
            [
                "`userinfo_path` sets the path of the userinfo endpoint, which is not served: `openid = false` turns it off"
            ]
        );
    }

    #[test]
    fn one_endpoint_per_path() {
        assert_eq!(
            messages(r#"token_path = "/oauth/authorize""#),
            ["the authorize and token endpoints both resolve to `/oauth/authorize`"]
        );
        // Two overrides: reported on the later one.
        assert_eq!(
            messages(r#"jwks_path = "/keys", token_path = "/keys""#),
            ["the jwks and token endpoints both resolve to `/keys`"]
        );
        // With the root prefix, an override can land on a default.
        assert_eq!(
            messages(r#"prefix = "/", par_path = "/token""#),
            ["the token and par endpoints both resolve to `/token`"]
        );
    }

    #[test]
    fn well_known_is_reserved() {
        assert_eq!(
            messages(r#"prefix = "/.well-known/oauth""#),
            [
                "`prefix` must not be under `/.well-known`: `/.well-known` is reserved for the discovery documents (RFC 8615)"
            ]
        );
        assert_eq!(
            messages(r#"jwks_path = "/.well-known/jwks.json""#),
            [
                "`jwks_path` must not be under `/.well-known`: `/.well-known` is reserved for the discovery documents (RFC 8615)"
            ]
        );
        assert_eq!(messages(r#"jwks_path = "/.well-knownish/jwks""#), Vec::<String>::new());
    }

    #[test]
    fn client_configuration_is_reserved() {
        assert_eq!(
            messages(r#"registration, jwks_path = "/oauth/register/jwks""#),
            [
                "the jwks endpoint at `/oauth/register/jwks` is taken by client configuration, `/oauth/register/{client_id}` (RFC 7592)"
            ]
        );
        assert_eq!(
            messages(
                r#"registration, registration_path = "/oauth", openid = false, revocation = false, introspection = false, par = false"#
            ),
            [
                "client configuration, `/oauth/{client_id}` (RFC 7592), takes the path of the authorize, token, jwks endpoints"
            ]
        );
        assert_eq!(messages(r#"registration, jwks_path = "/oauth/register/a/jwks""#), Vec::<String>::new());
    }

    #[test]
    fn resource_rules() {
        assert_eq!(messages(r#"prefix = "/mcp/oauth", resource = "/mcp""#), Vec::<String>::new());
        assert_eq!(messages(r#"resource = "/""#), Vec::<String>::new());
        assert_eq!(
            messages(r#"resource = "/oauth/token""#),
            [
                "`resource` is the path of the token endpoint, `/oauth/token`; the protected resource needs a path of its own"
            ]
        );
        assert_eq!(
            messages(r#"resource = "/.well-known/mcp""#),
            [
                "`resource` must not be under `/.well-known`: `/.well-known` is reserved for the discovery documents (RFC 8615)"
            ]
        );
        assert_eq!(
            messages(r#"registration, resource = "/oauth/register/mcp""#),
            [
                "`resource` at `/oauth/register/mcp` is taken by client configuration, `/oauth/register/{client_id}` (RFC 7592)"
            ]
        );
        assert_eq!(messages(r#"resource = "/mcp/""#), ["`resource` must not end with `/`"]);
        assert_eq!(messages(r#"resource = "mcp""#), ["`resource` must start with `/`"]);
        assert_eq!(messages("resource = MCP"), ["`resource` must be a string literal, like `resource = \"/mcp\"`"]);
    }

    #[test]
    fn every_error_at_once() {
        assert_eq!(messages(r#"prefx = "/x", token_path = "token", par = false, par_path = "/p""#).len(), 3);
    }
}
