//! Authorization server metadata (RFC 8414) and OpenID Provider metadata (OpenID Connect
//! Discovery 1.0 §3), built from the path table once at start-up (served by
//! `endpoints/discovery.rs` as prepared bytes).

use serde::Serialize;

use crate::model::declaration::{Features, Paths};
use crate::model::issuer::Issuer;
use crate::model::profile::Profile;

/// `/.well-known/oauth-authorization-server` (RFC 8414 §3).
pub const OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
pub const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// Which well-known forms of its discovery documents a provider serves; set with
/// [`Builder::well_known_forms`](crate::Builder::well_known_forms).
///
/// An issuer with a path (`https://host/mcp/oauth`) has three kinds of form (RFC 8414 §3 and
/// §3.1, OpenID Connect Discovery 1.0 §4):
///
/// | form | example | served with |
/// |---|---|---|
/// | host root | `/.well-known/oauth-authorization-server`, `/.well-known/openid-configuration` | [`All`](Self::All) only |
/// | path-inserted (RFC 8414 §3.1) | `/.well-known/oauth-authorization-server/mcp/oauth`, `/.well-known/openid-configuration/mcp/oauth` | both |
/// | path-appended (OpenID Connect Discovery §4) | `/mcp/oauth/.well-known/openid-configuration` | both |
///
/// A host-root document can describe only one authorization server per host; RFC 8414 §3.1
/// inserts the issuer's path so that several can live on one host. [`IssuerPathOnly`](Self::IssuerPathOnly)
/// leaves the host root to another provider on the same host (the one being replaced, during
/// the overlap of a migration), and serves only the forms that carry attesto's own issuer path:
/// the appended OpenID form is under attesto's own path, so it stays. The bare RFC 9728
/// `/.well-known/oauth-protected-resource`, served for the first protected resource by default,
/// is a host-root document as well and is left too; each resource's own form
/// (`/.well-known/oauth-protected-resource/{path}`) is still served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WellKnownForms {
    /// Every form: the host root, and for an issuer with a path the inserted and appended forms
    /// (the default).
    #[default]
    All,
    /// Only the forms that carry the issuer's path; the host root is left to another provider.
    /// [`Builder::build`](crate::Builder::build) refuses it for an issuer without a path
    /// ([`ConfigError::WellKnownNeedsIssuerPath`](crate::ConfigError::WellKnownNeedsIssuerPath)).
    IssuerPathOnly,
}

/// Which document a well-known path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentKind {
    /// RFC 8414 authorization server metadata.
    OAuth,
    /// The OpenID Connect Discovery configuration.
    OpenId,
}

/// The well-known paths of the discovery documents for an issuer path (`""` or `/tenant`), in
/// the order a client tries them: the host-root forms (unless `forms` leaves them to another
/// provider), and for an issuer with a path the RFC 8414 §3.1 inserted form and, for OpenID,
/// the inserted form (which MCP clients try) and the OpenID Connect Discovery §4 appended form.
pub(crate) fn well_known_paths(issuer_path: &str, openid: bool, forms: WellKnownForms) -> Vec<(String, DocumentKind)> {
    let host_root = forms == WellKnownForms::All || issuer_path.is_empty();
    let mut paths = Vec::new();
    if host_root {
        paths.push((OAUTH_AUTHORIZATION_SERVER.to_owned(), DocumentKind::OAuth));
    }
    if !issuer_path.is_empty() {
        paths.push((format!("{OAUTH_AUTHORIZATION_SERVER}{issuer_path}"), DocumentKind::OAuth));
    }
    if openid {
        if host_root {
            paths.push((OPENID_CONFIGURATION.to_owned(), DocumentKind::OpenId));
        }
        if !issuer_path.is_empty() {
            paths.push((format!("{OPENID_CONFIGURATION}{issuer_path}"), DocumentKind::OpenId));
            paths.push((format!("{issuer_path}{OPENID_CONFIGURATION}"), DocumentKind::OpenId));
        }
    }
    paths
}

/// The metadata of this authorization server.
///
/// Every value is true of the running provider: an endpoint appears only when it is mounted, a
/// grant type only when the token endpoint accepts it, algorithms come from the key set. The
/// OpenID members (the last group) appear only in `/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// `issuer` (REQUIRED).
    pub issuer: String,
    /// `authorization_endpoint`; absent while no grant that uses it is served (RFC 8414 §2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `jwks_uri`.
    pub jwks_uri: String,
    /// `registration_endpoint`, with dynamic registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// `scopes_supported` (RECOMMENDED), when configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `response_types_supported` (REQUIRED): `["code"]`.
    pub response_types_supported: Vec<&'static str>,
    /// `response_modes_supported`: `query` and `form_post`, and the JWT modes of JARM §2.3
    /// (`jwt`, `query.jwt`, `form_post.jwt`).
    pub response_modes_supported: Vec<&'static str>,
    /// `authorization_signing_alg_values_supported` (JARM §4): the algorithm of the signing key,
    /// the one JWT authorization responses are signed with.
    pub authorization_signing_alg_values_supported: Vec<&'static str>,
    /// `grant_types_supported`: always given, since the RFC 8414 default (`authorization_code`,
    /// `implicit`) would be untrue. The device code grant (RFC 8628 §4) is listed with the
    /// `device_authorization` flag, token exchange (RFC 8693) with the host's
    /// `TokenExchangePolicy`, the `jwt-bearer` grant of identity assertions with a trusted
    /// identity issuer. The identity assertion draft defines no metadata for the authorization
    /// server that accepts them (its `identity_chaining_requested_token_types_supported` is the
    /// identity provider's), so none is given.
    pub grant_types_supported: Vec<&'static str>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `token_endpoint_auth_signing_alg_values_supported` (RFC 8414 §2): the algorithms of
    /// `private_key_jwt` assertions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// `service_documentation`, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
    /// `revocation_endpoint` (RFC 7009), when served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// `revocation_endpoint_auth_methods_supported` (RFC 8414 §2), with revocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `revocation_endpoint_auth_signing_alg_values_supported` (RFC 8414 §2), with revocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// `introspection_endpoint` (RFC 7662), when served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// `introspection_endpoint_auth_methods_supported` (RFC 8414 §2), with introspection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `introspection_signing_alg_values_supported` (RFC 9701 §7), with introspection: the
    /// algorithm of the signing key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub introspection_signing_alg_values_supported: Vec<&'static str>,
    /// `introspection_endpoint_auth_signing_alg_values_supported` (RFC 8414 §2), with
    /// introspection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5), when served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5), given only when `true`: omitted
    /// means `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_pushed_authorization_requests: bool,
    /// `code_challenge_methods_supported`: `["S256"]`, the only method accepted.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3): `true`.
    pub authorization_response_iss_parameter_supported: bool,
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1): the algorithms a DPoP proof may use,
    /// [`dpop::SUPPORTED_ALGORITHMS`](crate::protocol::dpop_proof::SUPPORTED_ALGORITHMS).
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// `device_authorization_endpoint` (RFC 8628 §4), with the device authorization grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// `client_id_metadata_document_supported` (draft-ietf-oauth-client-id-metadata-document §5):
    /// `https` URLs are accepted as client ids. Given only when `true` (with
    /// `Builder::client_metadata_documents`, feature `fetch`): omitted means `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_id_metadata_document_supported: bool,
    /// `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0 §2.1), with `end_session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// `backchannel_logout_supported` (OpenID Connect Back-Channel Logout 1.0 §2.1): `true` when
    /// logout tokens are sent, with `end_session` and the feature `fetch`; omitted otherwise
    /// (meaning `false`). OpenID only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_logout_supported: bool,
    /// `backchannel_logout_session_supported` (Back-Channel Logout 1.0 §2.1): logout tokens carry
    /// `sid` when the session has one, and ID tokens then carry it too. Given with
    /// `backchannel_logout_supported`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub backchannel_logout_session_supported: bool,
    /// `userinfo_endpoint` (OpenID), when served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// `subject_types_supported` (OpenID, REQUIRED there).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_types_supported: Vec<&'static str>,
    /// `id_token_signing_alg_values_supported` (OpenID, REQUIRED there): the key set's algorithms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    /// `userinfo_signing_alg_values_supported` (OpenID Discovery §3): the signing key's
    /// algorithm, for clients that register `userinfo_signed_response_alg`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub userinfo_signing_alg_values_supported: Vec<&'static str>,
    /// `acr_values_supported` (OpenID Discovery §3): the host's sign-in classes, as the builder
    /// was given them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acr_values_supported: Vec<String>,
    /// `claims_supported` (OpenID, RECOMMENDED): the claims of the ID token attesto sets (`sid`
    /// with the `end_session` feature, whose hosts name their sessions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_supported: Vec<&'static str>,
    /// `claims_parameter_supported` (OpenID Connect Discovery §3): `true`, the `claims` request
    /// parameter (OIDC Core §5.5) is accepted and reaches the host's claim builders. OpenID only
    /// (its default, `false`, would be untrue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_parameter_supported: Option<bool>,
    /// `request_parameter_supported` (OpenID Connect Discovery §3): `true`, request objects
    /// (RFC 9101) are accepted by value at the authorization and PAR endpoints. Given in both
    /// documents: RFC 9101 is OAuth, and the OpenID default (`false`) would be untrue.
    pub request_parameter_supported: bool,
    /// `request_object_signing_alg_values_supported` (RFC 8414 §2): the algorithms a request
    /// object may be signed with; never `none`, never an HMAC.
    pub request_object_signing_alg_values_supported: Vec<&'static str>,
    /// `require_signed_request_object` (RFC 9101 §10.5), given only when `true`: omitted means
    /// `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub require_signed_request_object: bool,
    /// `request_uri_parameter_supported` (OpenID): `false`, even with PAR; the OpenID default is
    /// `true`, so it must be said. The member is about OIDC Core §6.2, a request object the server
    /// fetches from the client's `https` URL, which attesto does not do; the `request_uri` values
    /// of the PAR endpoint are advertised by `pushed_authorization_request_endpoint` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
}

impl AuthorizationServerMetadata {
    /// The RFC 8414 document: these metadata without the OpenID-only members.
    pub fn oauth(&self) -> Self {
        Self {
            userinfo_endpoint: None,
            subject_types_supported: Vec::new(),
            id_token_signing_alg_values_supported: Vec::new(),
            userinfo_signing_alg_values_supported: Vec::new(),
            backchannel_logout_supported: false,
            backchannel_logout_session_supported: false,
            acr_values_supported: Vec::new(),
            claims_supported: Vec::new(),
            claims_parameter_supported: None,
            request_uri_parameter_supported: None,
            ..self.clone()
        }
    }
}

/// What the metadata is made of: the declaration (path table and feature flags) and the settings
/// the builder checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetadataSource<'a> {
    pub(crate) issuer: &'a Issuer,
    pub(crate) paths: &'a Paths,
    pub(crate) features: &'a Features,
    pub(crate) scopes_supported: &'a [String],
    pub(crate) service_documentation: Option<&'a str>,
    pub(crate) require_pushed_authorization_requests: bool,
    pub(crate) require_signed_request_objects: bool,
    pub(crate) client_id_metadata_document_supported: bool,
    /// The algorithms of the signing and verification keys, for ID tokens.
    pub(crate) signing_algorithms: &'a [&'static str],
    /// The grants served beyond the three every provider serves (token exchange, identity
    /// assertions), each listed only when the host enabled it.
    pub(crate) extra_grant_types: &'a [&'static str],
    /// The algorithm of the signing key, the only one signed responses (JARM, RFC 9701) use.
    pub(crate) response_signing_algorithm: &'static str,
    /// The profile (FAPI 2.0), which narrows client authentication, algorithms and response
    /// modes.
    pub(crate) profile: Profile,
    /// The host's authentication context classes, for `acr_values_supported`.
    pub(crate) acr_values_supported: &'a [String],
    /// Whether pairwise subject identifiers are configured (OIDC Core §8.1), for
    /// `subject_types_supported`.
    pub(crate) pairwise_subjects: bool,
    /// Whether logout tokens are sent (OpenID Connect Back-Channel Logout 1.0): `end_session`
    /// on, and the feature `fetch`.
    pub(crate) backchannel_logout_supported: bool,
}

/// Builds the metadata from the path table and feature flags: an endpoint is listed exactly when
/// the router mounts it.
pub(crate) fn authorization_server_metadata(source: &MetadataSource<'_>) -> AuthorizationServerMetadata {
    let issuer = source.issuer;
    let paths = source.paths;
    let openid = source.features.openid;
    let device = paths.device_endpoints(source.features);
    let mut grant_types_supported = vec!["authorization_code", "refresh_token", "client_credentials"];
    if device.is_some() {
        // RFC 8628 §4: the grant type in `grant_types_supported`, beside the endpoint.
        grant_types_supported.push(crate::model::client::GrantType::DeviceCode.as_str());
    }
    // `private_key_jwt` is always usable: a client's keys can be given inline (`jwks`); a
    // `jwks_uri` needs the feature `fetch`, and registration says so when it is missing.
    let profile = source.profile;
    let assertion_algs: Vec<&'static str> = profile.client_algorithms().iter().map(|alg| alg.as_str()).collect();
    // Under FAPI 2.0, `private_key_jwt` alone (Security Profile §5.3.2.1 clause 6, §5.3.3).
    let auth_methods = |methods: &[&'static str]| -> Vec<&'static str> {
        if profile.is_fapi2() { vec!["private_key_jwt"] } else { methods.to_vec() }
    };
    // FAPI 2.0 Message Signing: signed authorization responses only.
    let response_modes = if profile.is_message_signing() {
        vec!["jwt", "query.jwt", "form_post.jwt"]
    } else {
        vec!["query", "form_post", "jwt", "query.jwt", "form_post.jwt"]
    };
    AuthorizationServerMetadata {
        issuer: issuer.as_str().to_owned(),
        authorization_endpoint: Some(issuer.url_of(paths.authorize)),
        token_endpoint: issuer.url_of(paths.token),
        jwks_uri: issuer.url_of(paths.jwks),
        registration_endpoint: paths.registration_endpoint(source.features).map(|path| issuer.url_of(path)),
        scopes_supported: source.scopes_supported.to_vec(),
        response_types_supported: vec!["code"],
        response_modes_supported: response_modes,
        authorization_signing_alg_values_supported: vec![source.response_signing_algorithm],
        grant_types_supported: grant_types_supported
            .into_iter()
            .chain(source.extra_grant_types.iter().copied())
            .collect(),
        token_endpoint_auth_methods_supported: auth_methods(&[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ]),
        token_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
        service_documentation: source.service_documentation.map(str::to_owned),
        revocation_endpoint: paths.revocation.map(|path| issuer.url_of(path)),
        revocation_endpoint_auth_methods_supported: if paths.revocation.is_some() {
            auth_methods(&["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
        } else {
            Vec::new()
        },
        revocation_endpoint_auth_signing_alg_values_supported: if paths.revocation.is_some() {
            assertion_algs.clone()
        } else {
            Vec::new()
        },
        introspection_endpoint: paths.introspection.map(|path| issuer.url_of(path)),
        // RFC 7662 §2.1: introspection callers authenticate; a public client cannot.
        introspection_endpoint_auth_methods_supported: if paths.introspection.is_some() {
            auth_methods(&["client_secret_basic", "client_secret_post", "private_key_jwt"])
        } else {
            Vec::new()
        },
        introspection_endpoint_auth_signing_alg_values_supported: if paths.introspection.is_some() {
            assertion_algs.clone()
        } else {
            Vec::new()
        },
        introspection_signing_alg_values_supported: if paths.introspection.is_some() {
            vec![source.response_signing_algorithm]
        } else {
            Vec::new()
        },
        pushed_authorization_request_endpoint: paths.par.map(|path| issuer.url_of(path)),
        require_pushed_authorization_requests: source.require_pushed_authorization_requests,
        code_challenge_methods_supported: vec!["S256"],
        authorization_response_iss_parameter_supported: true,
        dpop_signing_alg_values_supported: crate::protocol::dpop_proof::SUPPORTED_ALGORITHMS
            .iter()
            .copied()
            .filter(|alg| profile.allows_proof_algorithm(alg))
            .collect(),
        device_authorization_endpoint: device.map(|(path, _)| issuer.url_of(path)),
        client_id_metadata_document_supported: source.client_id_metadata_document_supported,
        end_session_endpoint: paths.end_session_endpoint(source.features).map(|path| issuer.url_of(path)),
        backchannel_logout_supported: openid && source.backchannel_logout_supported,
        backchannel_logout_session_supported: openid && source.backchannel_logout_supported,
        userinfo_endpoint: paths.userinfo_endpoint(source.features).map(|path| issuer.url_of(path)),
        subject_types_supported: match (openid, source.pairwise_subjects) {
            (false, _) => Vec::new(),
            (true, false) => vec!["public"],
            (true, true) => vec!["public", "pairwise"],
        },
        id_token_signing_alg_values_supported: if openid { source.signing_algorithms.to_vec() } else { Vec::new() },
        acr_values_supported: if openid { source.acr_values_supported.to_vec() } else { Vec::new() },
        userinfo_signing_alg_values_supported: if openid {
            vec![source.response_signing_algorithm]
        } else {
            Vec::new()
        },
        claims_supported: if openid {
            let mut claims = vec!["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash"];
            // `sid` is in an ID token when the host names its session, which a host with
            // logout (`SessionStore`) does for the end-session endpoint to name it back.
            if source.features.end_session {
                claims.push("sid");
            }
            claims
        } else {
            Vec::new()
        },
        claims_parameter_supported: openid.then_some(true),
        request_parameter_supported: true,
        request_object_signing_alg_values_supported: assertion_algs.clone(),
        require_signed_request_object: source.require_signed_request_objects,
        // Not `true` with PAR on: to an OpenID client, `true` says it may pass a request object by
        // reference at an `https` URL of its own (OIDC Core §6.2; OIDC Discovery §3), which would
        // be refused. PAR clients look for `pushed_authorization_request_endpoint` (RFC 9126 §5).
        request_uri_parameter_supported: openid.then_some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(issuer_path: &str, openid: bool, forms: WellKnownForms) -> Vec<String> {
        well_known_paths(issuer_path, openid, forms).into_iter().map(|(path, _)| path).collect()
    }

    #[test]
    fn an_issuer_with_a_path_has_every_form_by_default() {
        assert_eq!(
            paths("/mcp/oauth", true, WellKnownForms::All),
            [
                "/.well-known/oauth-authorization-server",
                "/.well-known/oauth-authorization-server/mcp/oauth",
                "/.well-known/openid-configuration",
                "/.well-known/openid-configuration/mcp/oauth",
                "/mcp/oauth/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn issuer_path_only_leaves_the_host_root() {
        assert_eq!(
            paths("/mcp/oauth", true, WellKnownForms::IssuerPathOnly),
            [
                "/.well-known/oauth-authorization-server/mcp/oauth",
                "/.well-known/openid-configuration/mcp/oauth",
                "/mcp/oauth/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            paths("/mcp/oauth", false, WellKnownForms::IssuerPathOnly),
            ["/.well-known/oauth-authorization-server/mcp/oauth"]
        );
    }

    #[test]
    fn an_issuer_without_a_path_has_the_host_root_only() {
        assert_eq!(
            paths("", true, WellKnownForms::All),
            ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
        );
    }
}
