//! RFC 7591 §2 client metadata, read into a [client](crate::Client): one parser for dynamic
//! registration and for client ID metadata documents.
//!
//! Both read the members of RFC 7591 §2 with the same types and judge redirect URIs by the same
//! rules (`check_redirect_uri`); what differs is the [`Source`] of the metadata, a parameter of
//! [`ClientMetadata::parse`]:
//!
//! - **Registration** (RFC 7591 §3.1, and the update of RFC 7592 §2.2, which sends the whole
//!   metadata again). The client may be confidential: `client_secret_basic` (the default),
//!   `client_secret_post`, `private_key_jwt` with its `jwks` or `jwks_uri` (`client_secret_jwt`
//!   is refused), or `none`, and `client_credentials` when it authenticates. Its grant and
//!   response types must agree (RFC 7591 §2.1); redirect URIs are required for the
//!   `authorization_code` grant, and a repeated one is kept once. The informational members a
//!   consent page or an administrator may show are kept as given once checked; string members
//!   and arrays are bounded, since the host stores them.
//! - **A client ID metadata document** (draft-ietf-oauth-client-id-metadata-document §4.1, feature
//!   `fetch`; -00 unless marked -02). Its `client_id` is the URL it was fetched from; it shares no
//!   secret, so no `client_secret`, `client_secret_expires_at` or shared-secret authentication
//!   method: the client is public (`none`, also without the member), or authenticates by its keys
//!   (`private_key_jwt` with `jwks` or `jwks_uri`, read as registration reads them); `jwks` holds
//!   public keys only (-02 §4.1). Grant types `authorization_code` and `refresh_token`; redirect URIs are
//!   always required and kept as listed. The members are not bounded one by one: the document
//!   is, as a whole, by the fetch. Its scopes are capped by what the server advertises
//!   (`ClientMetadata::into_document_client`).
//!
//! Each source reports the first fault in the order it has always checked them (a document: its
//! own rules of §4.1 first). What is not about reading the metadata stays with the callers:
//! for registration the scope policy, the host's approval of `client_credentials`, the
//! identity checks of an update (RFC 7592 §2.2: `client_id`, `client_secret`) and the size of the
//! stored record (`endpoints/registration.rs`); for documents the client id URL, the fetch, the
//! JSON parsing and the cache (`fetch/client_metadata.rs`).
//!
//! A fault is a [`MetadataError`]: what is wrong, and in which member. Registration answers it as
//! an OAuth error (`From<MetadataError> for OAuthError`, RFC 7591 §3.2.2); a document refusal
//! reports it in its own words (`MetadataError::document_reason`).

use serde_json::{Map, Value};

#[cfg(feature = "fetch")]
use crate::model::client::Client;
use crate::model::client::{ClientKeys, ClientSigningAlgorithm, GrantType, TokenEndpointAuthMethod};
use crate::model::profile::Profile;
use crate::model::scope::Scopes;
use crate::protocol::client_assertion::check_jwks;
use crate::protocol::redirect_uri::{RedirectUriRules, check_redirect_uri};

mod backchannel;
mod error;
mod signed_responses;
#[cfg(test)]
mod tests;

pub(crate) use backchannel::{BackchannelLogout, BackchannelPolicy};
pub(crate) use error::{MAX_MEMBER_BYTES, MAX_MEMBER_ITEMS, MetadataError};
pub(crate) use signed_responses::SignedResponses;

/// Where client metadata comes from, which decides the rules it is read under (see the module
/// documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A registration request (RFC 7591 §3.1) or an update of a registration (RFC 7592 §2.2).
    Registration,
    /// A client ID metadata document (draft §4.1).
    #[cfg(feature = "fetch")]
    MetadataDocument {
        /// The URL the document was fetched from: its client id, which its `client_id` must
        /// equal. Owned: a borrowed one would give `Source` a lifetime that the build without
        /// `fetch` leaves unused.
        url: String,
    },
}

impl Source {
    /// The URL a document was fetched from; `None` for registration.
    fn document_url(&self) -> Option<&str> {
        match self {
            Self::Registration => None,
            #[cfg(feature = "fetch")]
            Self::MetadataDocument { url } => Some(url),
        }
    }

    /// Whether the metadata is a registration's, for the steps where a document's rules differ
    /// (each says how).
    fn is_registration(&self) -> bool {
        matches!(self, Self::Registration)
    }
}

/// `application_type` (OpenID Connect Dynamic Client Registration 1.0 §2): how redirect URIs
/// are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApplicationType {
    /// `web`, the default.
    Web,
    /// `native`: may also use a private-use URI scheme (RFC 8252 §7.1).
    Native,
}

impl ApplicationType {
    /// The wire value.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
        }
    }
}

/// Members attesto keeps as given once they have the right type: what a consent page or an
/// administrator may show (RFC 7591 §2). URLs among them must be web URLs, so that none becomes
/// a `javascript:` link. Read for registration only: a document's client keeps none of them.
const INFORMATIONAL: &[(&str, Kind)] = &[
    ("client_uri", Kind::WebUrl),
    ("logo_uri", Kind::WebUrl),
    ("tos_uri", Kind::WebUrl),
    ("policy_uri", Kind::WebUrl),
    ("contacts", Kind::Strings),
    ("software_id", Kind::String),
    ("software_version", Kind::String),
];

/// The type of an informational member.
#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Strings,
    WebUrl,
}

/// Client metadata that passed the checks of its [`Source`], with the defaults of RFC 7591 §2
/// filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClientMetadata {
    /// `redirect_uris`, each checked (`check_redirect_uri`); for registration, without repeats.
    pub(crate) redirect_uris: Vec<String>,
    /// `grant_types`, without repeats; `authorization_code` when absent.
    pub(crate) grant_types: Vec<GrantType>,
    /// `response_types`, without repeats; `code` when absent and the grants include
    /// `authorization_code`, none otherwise.
    pub(crate) response_types: Vec<&'static str>,
    /// `token_endpoint_auth_method`; `none` or `private_key_jwt` for a document.
    pub(crate) auth_method: TokenEndpointAuthMethod,
    /// `application_type`.
    pub(crate) application_type: ApplicationType,
    /// `scope`, as sent; `None` when absent.
    pub(crate) scope: Option<Scopes>,
    /// `client_name`.
    pub(crate) client_name: Option<String>,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2); `false` when absent.
    pub(crate) dpop_bound_access_tokens: bool,
    /// For `private_key_jwt`: the client's public keys, `jwks` or `jwks_uri` (RFC 7591 §2), and
    /// `token_endpoint_auth_signing_alg`. `None` for any other method.
    pub(crate) keys: Option<(ClientKeys, Option<ClientSigningAlgorithm>)>,
    /// `request_object_signing_alg` (RFC 9101 §10.5); `None` when absent, and for a document.
    pub(crate) request_object_signing_alg: Option<ClientSigningAlgorithm>,
    /// `require_signed_request_object` (RFC 9101 §10.5); `false` when absent, and for a
    /// document.
    pub(crate) require_signed_request_object: bool,
    /// `post_logout_redirect_uris` (OpenID Connect RP-Initiated Logout 1.0 §3.1), each checked
    /// as a redirect URI of the client's kind, without repeats; empty when absent, and for a
    /// document.
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// `subject_type` `pairwise` (OpenID Connect Registration §2, Core §8); `false` for `public`
    /// (the default), and for a document.
    pub(crate) pairwise: bool,
    /// `sector_identifier_uri` (Registration §2, §5), checked as a `jwks_uri` is (`https`, or
    /// `http` on a loopback host for development); `None` when absent, and for a document. Its
    /// document is fetched and checked by the registration endpoint.
    pub(crate) sector_identifier_uri: Option<String>,
    /// The [`INFORMATIONAL`] members sent, checked; empty for a document.
    pub(crate) informational: Map<String, Value>,
}

impl ClientMetadata {
    /// The refusal of metadata the provider's profile does not allow: under FAPI 2.0,
    /// `private_key_jwt` clients only (Security Profile §5.3.2.1 clauses 3 and 6) signing with
    /// ES256, PS256 or EdDSA (§5.4.1).
    pub(crate) fn check_profile(&self, profile: Profile) -> Result<(), &'static str> {
        if !profile.allows_auth_method(self.auth_method) {
            return Err(
                "this server follows the FAPI 2.0 Security Profile: register `token_endpoint_auth_method` `private_key_jwt`, with `jwks` or `jwks_uri`",
            );
        }
        let signing = self.keys.as_ref().and_then(|(_, alg)| *alg);
        if signing.into_iter().chain(self.request_object_signing_alg).any(|alg| !profile.allows_algorithm(alg)) {
            return Err(
                "this server follows the FAPI 2.0 Security Profile: `token_endpoint_auth_signing_alg` and `request_object_signing_alg` must be ES256, PS256 or EdDSA",
            );
        }
        Ok(())
    }

    /// Checks the metadata members attesto understands, under the rules of `source`; the others
    /// are ignored (RFC 7591 §2: the server MUST ignore what it does not understand). `null`
    /// counts as absent (RFC 7592 §2.2 lets a client send null for a value it drops).
    pub(crate) fn parse(raw: &Map<String, Value>, source: &Source) -> Result<Self, MetadataError> {
        let auth_method = match source.document_url() {
            None => registration_auth_method(raw)?,
            Some(url) => check_document(raw, url, source)?,
        };
        let grant_types = match strings(raw, "grant_types", source)? {
            // RFC 7591 §2: the default is `authorization_code`.
            None => vec![GrantType::AuthorizationCode],
            Some(values) if values.is_empty() => return Err(MetadataError::EmptyGrantTypes),
            Some(values) => {
                let mut grants = Vec::with_capacity(values.len());
                for value in values {
                    // A document's client is public, and client credentials, token exchange and
                    // identity assertions are for a client that can authenticate (RFC 6749 §4.4).
                    let grant = GrantType::parse(value)
                        .filter(|grant| source.is_registration() || !grant.needs_client_authentication())
                        .ok_or_else(|| MetadataError::UnsupportedGrantType(value.to_owned()))?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                grants
            }
        };
        let code_grant = grant_types.contains(&GrantType::AuthorizationCode);
        let response_types = match strings(raw, "response_types", source)? {
            // RFC 7591 §2 defaults to `code`, which goes with the default grant; for a client
            // that registers other grants only, the default follows them (RFC 7591 §2.1), rather
            // than making it spell out an empty list.
            None if code_grant => vec!["code"],
            None => Vec::new(),
            Some(values) => {
                let mut types = Vec::with_capacity(values.len());
                for value in values {
                    if value != "code" {
                        return Err(MetadataError::UnsupportedResponseType(value.to_owned()));
                    }
                    if !types.contains(&"code") {
                        types.push("code");
                    }
                }
                types
            }
        };
        // RFC 7591 §2.1: `authorization_code` goes with the `code` response type, both ways. A
        // document's two lists are each checked, not against each other.
        if source.is_registration() && code_grant != response_types.contains(&"code") {
            return Err(MetadataError::InconsistentTypes);
        }
        // RFC 6749 §4.4: client credentials are for a client that can authenticate. (A document
        // cannot ask for them at all.)
        if auth_method == TokenEndpointAuthMethod::None && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(MetadataError::PublicClientCredentials);
        }
        // The same for token exchange and identity assertions: a public client proves nothing
        // by naming itself, and these grants hand out tokens on the strength of who asks.
        if auth_method == TokenEndpointAuthMethod::None
            && let Some(grant) = grant_types.iter().find(|grant| grant.needs_client_authentication())
        {
            return Err(MetadataError::PublicGrant(grant.as_str()));
        }
        let application_type = match string(raw, "application_type", source)? {
            None | Some("web") => ApplicationType::Web,
            Some("native") => ApplicationType::Native,
            Some(other) => return Err(MetadataError::UnsupportedApplicationType(other.to_owned())),
        };
        // A document's client is public, so `web` allows loopback `http` as a public client's
        // registration does.
        let rules = match (application_type, auth_method) {
            (ApplicationType::Native, _) => RedirectUriRules::Native,
            (ApplicationType::Web, TokenEndpointAuthMethod::None) => RedirectUriRules::PublicWeb,
            (ApplicationType::Web, _) => RedirectUriRules::Web,
        };
        let uris = strings(raw, "redirect_uris", source)?.unwrap_or_default();
        for uri in &uris {
            check_redirect_uri(uri, rules).map_err(MetadataError::RedirectUri)?;
        }
        // A registration keeps each URI once. A document's list is its client's as written:
        // with two equal entries, an authorization request must name its `redirect_uri`.
        let mut redirect_uris: Vec<String> = Vec::with_capacity(uris.len());
        for uri in uris {
            if !source.is_registration() || !redirect_uris.iter().any(|u| u == uri) {
                redirect_uris.push(uri.to_owned());
            }
        }
        // RFC 6749 §3.1.2.2 and OAuth 2.1: redirect URIs are registered, then matched exactly; a
        // document lists its own whatever its grants (draft §4.5).
        let required = !source.is_registration() || code_grant;
        if required && redirect_uris.is_empty() {
            return Err(MetadataError::MissingRedirectUris);
        }
        let scope =
            string(raw, "scope", source)?.map(Scopes::parse).transpose().map_err(MetadataError::InvalidScope)?;
        let client_name = string(raw, "client_name", source).map(|name| name.map(str::to_owned));
        // RFC 9449 §5.2: a boolean; omitted means false.
        let dpop_bound_access_tokens = match member(raw, "dpop_bound_access_tokens") {
            None => Ok(false),
            Some(Value::Bool(required)) => Ok(*required),
            Some(_) => Err(MetadataError::NotBoolean("dpop_bound_access_tokens")),
        };
        // Each source's order, when both are wrong: a registration's name first, a document's
        // DPoP flag.
        let (client_name, dpop_bound_access_tokens) = if source.is_registration() {
            (client_name?, dpop_bound_access_tokens?)
        } else {
            let dpop_bound_access_tokens = dpop_bound_access_tokens?;
            (client_name?, dpop_bound_access_tokens)
        };
        let keys =
            if auth_method == TokenEndpointAuthMethod::PrivateKeyJwt { Some(client_keys(raw, source)?) } else { None };
        let (request_object_signing_alg, require_signed_request_object) =
            if source.is_registration() { request_objects(raw, keys.as_ref())? } else { (None, false) };
        let post_logout_redirect_uris =
            if source.is_registration() { post_logout_redirect_uris(raw, rules)? } else { Vec::new() };
        let (pairwise, sector_identifier_uri) =
            if source.is_registration() { subject_type(raw)? } else { (false, None) };
        let informational = if source.is_registration() { informational(raw, source)? } else { Map::new() };
        Ok(Self {
            redirect_uris,
            grant_types,
            response_types,
            auth_method,
            application_type,
            scope,
            client_name,
            dpop_bound_access_tokens,
            keys,
            request_object_signing_alg,
            require_signed_request_object,
            post_logout_redirect_uris,
            pairwise,
            sector_identifier_uri,
            informational,
        })
    }

    /// Whether the client authenticates with a secret, which registration issues.
    pub(crate) fn issues_secret(&self) -> bool {
        matches!(
            self.auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        )
    }

    /// `none`: a public client (RFC 6749 §2.1), which gets no secret.
    pub(crate) fn is_public(&self) -> bool {
        self.auth_method == TokenEndpointAuthMethod::None
    }

    /// The public client a document fetched from `url` describes: its `scope` as far as
    /// `scopes_supported` lists it, or all of `scopes_supported` without one, so that a document
    /// cannot grant itself a scope the server does not advertise.
    #[cfg(feature = "fetch")]
    pub(crate) fn into_document_client(self, url: &str, scopes_supported: &Scopes) -> Client {
        let scopes = match self.scope {
            Some(scope) => scope.intersection(scopes_supported),
            None => scopes_supported.clone(),
        };
        // A document with keys is a confidential client that authenticates by them (draft -00
        // §6.2); any other is public.
        let client = match self.keys {
            Some((keys, alg)) => {
                let client = Client::private_key_jwt(url, keys);
                match alg {
                    Some(alg) => client.with_token_endpoint_auth_signing_alg(alg),
                    None => client,
                }
            }
            None => Client::public(url),
        };
        let mut client = client
            .with_redirect_uris(self.redirect_uris)
            .with_grant_types(self.grant_types)
            .with_scopes(scopes)
            .with_dpop_bound_access_tokens(self.dpop_bound_access_tokens);
        client.client_name = self.client_name;
        client
    }
}

/// The request object members of a registration (RFC 9101 §10.5): `request_object_signing_alg`
/// (asymmetric only, and one an inline key can verify) and `require_signed_request_object`. A
/// client that sets either must have registered keys (`keys`) to verify its objects with.
fn request_objects(
    raw: &Map<String, Value>,
    keys: Option<&(ClientKeys, Option<ClientSigningAlgorithm>)>,
) -> Result<(Option<ClientSigningAlgorithm>, bool), MetadataError> {
    let alg = match string(raw, "request_object_signing_alg", &Source::Registration)? {
        None => None,
        Some(alg) => Some(
            ClientSigningAlgorithm::parse(alg)
                .ok_or_else(|| MetadataError::UnsupportedRequestObjectSigningAlg(alg.to_owned()))?,
        ),
    };
    let required = match member(raw, "require_signed_request_object") {
        None => false,
        Some(Value::Bool(required)) => *required,
        Some(_) => return Err(MetadataError::RequireSignedRequestObjectNotBoolean),
    };
    if alg.is_none() && !required {
        return Ok((None, false));
    }
    let Some((keys, _)) = keys else { return Err(MetadataError::RequestObjectWithoutKeys) };
    if let (Some(alg), ClientKeys::Jwks(jwks)) = (alg, keys)
        && !check_jwks(jwks).is_ok_and(|keys| keys.iter().any(|key| key.verifies_with(alg)))
    {
        return Err(MetadataError::NoKeyForRequestObjectAlg);
    }
    Ok((alg, required))
}

/// The `post_logout_redirect_uris` of a registration (RP-Initiated Logout 1.0 §3.1): checked
/// by the rules of the client's redirect URIs (`https`; loopback `http` for a public or native
/// client; a private-use scheme for a native one), since the browser is sent to them the same
/// way, and kept once each. Whether the browser is sent there without asking is decided at
/// logout (`protocol/logout.rs`): a self-registered URI is one no one vouches for.
fn post_logout_redirect_uris(raw: &Map<String, Value>, rules: RedirectUriRules) -> Result<Vec<String>, MetadataError> {
    let uris = strings(raw, "post_logout_redirect_uris", &Source::Registration)?.unwrap_or_default();
    let mut checked: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        check_redirect_uri(uri, rules)
            .map_err(|error| MetadataError::PostLogoutRedirectUri(error.description().to_owned()))?;
        if !checked.iter().any(|u| u == uri) {
            checked.push(uri.to_owned());
        }
    }
    Ok(checked)
}

/// `subject_type` and `sector_identifier_uri` of a registration (OpenID Connect Registration
/// §2): whether the client gets pairwise subject identifiers, and the URL of the list of URIs
/// that names its sector. A `sector_identifier_uri` goes with `pairwise` only: for `public` it
/// would name nothing.
fn subject_type(raw: &Map<String, Value>) -> Result<(bool, Option<String>), MetadataError> {
    let pairwise = match string(raw, "subject_type", &Source::Registration)? {
        None | Some("public") => false,
        Some("pairwise") => true,
        Some(_) => return Err(MetadataError::UnsupportedSubjectType),
    };
    let uri = string(raw, "sector_identifier_uri", &Source::Registration)?;
    match uri {
        None => Ok((pairwise, None)),
        Some(_) if !pairwise => Err(MetadataError::SectorIdentifierWithoutPairwise),
        Some(uri) => {
            check_jwks_uri(uri).map_err(|_| MetadataError::SectorIdentifierUri)?;
            Ok((true, Some(uri.to_owned())))
        }
    }
}

/// `token_endpoint_auth_method` of a registration.
fn registration_auth_method(raw: &Map<String, Value>) -> Result<TokenEndpointAuthMethod, MetadataError> {
    match string(raw, "token_endpoint_auth_method", &Source::Registration)? {
        // RFC 7591 §2: the default is `client_secret_basic`.
        None | Some("client_secret_basic") => Ok(TokenEndpointAuthMethod::ClientSecretBasic),
        Some("client_secret_post") => Ok(TokenEndpointAuthMethod::ClientSecretPost),
        Some("none") => Ok(TokenEndpointAuthMethod::None),
        Some("private_key_jwt") => Ok(TokenEndpointAuthMethod::PrivateKeyJwt),
        Some("client_secret_jwt") => Err(MetadataError::ClientSecretJwt),
        Some(other) => Err(MetadataError::UnsupportedAuthMethod(other.to_owned())),
    }
}

/// The keys of a `private_key_jwt` client (RFC 7591 §2): exactly one of `jwks` (checked: public
/// signature keys, each with its own `kid`, at most eight) and `jwks_uri` (`https`, or `http` on
/// a loopback host, which is fetched only under the development switch), and the
/// `token_endpoint_auth_signing_alg` if given, which an inline key must be able to verify.
fn client_keys(
    raw: &Map<String, Value>,
    source: &Source,
) -> Result<(ClientKeys, Option<ClientSigningAlgorithm>), MetadataError> {
    let alg = match string(raw, "token_endpoint_auth_signing_alg", source)? {
        None => None,
        Some(alg) => Some(
            ClientSigningAlgorithm::parse(alg).ok_or_else(|| MetadataError::UnsupportedSigningAlg(alg.to_owned()))?,
        ),
    };
    let keys = match (member(raw, "jwks"), string(raw, "jwks_uri", source)?) {
        (Some(_), Some(_)) => return Err(MetadataError::JwksAndJwksUri),
        (None, None) => return Err(MetadataError::NoKeys),
        (Some(jwks), None) => {
            let keys = check_jwks(jwks).map_err(MetadataError::Jwks)?;
            if let Some(alg) = alg
                && !keys.iter().any(|key| key.verifies_with(alg))
            {
                return Err(MetadataError::NoKeyForSigningAlg);
            }
            ClientKeys::Jwks(jwks.clone())
        }
        (None, Some(uri)) => {
            check_jwks_uri(uri)?;
            // Discovery lists `private_key_jwt` for inline keys; a set only a fetch can read is
            // refused now rather than at every token request.
            if cfg!(not(feature = "fetch")) {
                return Err(MetadataError::JwksUriNotFetched);
            }
            ClientKeys::JwksUri(uri.to_owned())
        }
    };
    Ok((keys, alg))
}

/// A `jwks_uri`: an absolute `https` URL (or `http` on a loopback host, for development),
/// without credentials or fragment.
fn check_jwks_uri(uri: &str) -> Result<(), MetadataError> {
    let url = url::Url::parse(uri).map_err(|_| MetadataError::JwksUri)?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => crate::model::loopback::is_loopback_host(&url),
        _ => false,
    };
    if !scheme_ok
        || url.host().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(MetadataError::JwksUri);
    }
    Ok(())
}

/// The rules only a document has (draft §4.1), checked before the members it shares with
/// registration: it names itself, establishes no shared secret, so its client is public or
/// authenticates by its keys, and publishes public keys only. `url` is the one `source` names.
/// Returns the document's authentication method.
fn check_document(
    raw: &Map<String, Value>,
    url: &str,
    source: &Source,
) -> Result<TokenEndpointAuthMethod, MetadataError> {
    // §4.1: simple string comparison (RFC 3986 §6.2.1).
    match string(raw, "client_id", source)? {
        None => return Err(MetadataError::MissingClientId),
        Some(id) if id != url => return Err(MetadataError::ClientIdNotDocumentUrl),
        Some(_) => {}
    }
    // §4.1: there is no way to share a secret with a client known by a document. Present at all,
    // even `null`, is refused.
    for secret in ["client_secret", "client_secret_expires_at"] {
        if raw.contains_key(secret) {
            return Err(MetadataError::SecretMember(secret));
        }
    }
    let method = match string(raw, "token_endpoint_auth_method", source)? {
        // Absent: RFC 7591's default, `client_secret_basic`, is forbidden here (§4.1), so the
        // document describes a public client.
        None | Some("none") => TokenEndpointAuthMethod::None,
        // §6.2: a client that publishes keys authenticates by them (its `jwks` or `jwks_uri`,
        // read with registration's rules).
        Some("private_key_jwt") => TokenEndpointAuthMethod::PrivateKeyJwt,
        Some(method @ ("client_secret_basic" | "client_secret_post" | "client_secret_jwt")) => {
            return Err(MetadataError::SharedSecretAuthMethod(method.to_owned()));
        }
        Some(other) => return Err(MetadataError::UnsupportedAuthMethod(other.to_owned())),
    };
    // -02 §4.1: public keys only. attesto does not use them, but a document that publishes a
    // private key has leaked it.
    if let Some(jwks) = member(raw, "jwks") {
        let keys = jwks.get("keys").and_then(Value::as_array).ok_or(MetadataError::JwksNotASet)?;
        let private = ["d", "p", "q", "dp", "dq", "qi", "k"];
        if keys.iter().any(|key| private.iter().any(|member| key.get(member).is_some())) {
            return Err(MetadataError::PrivateKeyInJwks);
        }
    }
    Ok(method)
}

/// The [`INFORMATIONAL`] members of a registration.
fn informational(raw: &Map<String, Value>, source: &Source) -> Result<Map<String, Value>, MetadataError> {
    let mut informational = Map::new();
    for &(name, kind) in INFORMATIONAL {
        let value = match kind {
            Kind::String => string(raw, name, source)?.map(Value::from),
            Kind::Strings => strings(raw, name, source)?.map(Value::from),
            Kind::WebUrl => match string(raw, name, source)? {
                Some(url) if web_url(url) => Some(Value::from(url)),
                Some(_) => return Err(MetadataError::NotWebUrl(name)),
                None => None,
            },
        };
        if let Some(value) = value {
            informational.insert(name.to_owned(), value);
        }
    }
    Ok(informational)
}

/// Whether a URL of the informational members is an absolute `http` or `https` URL.
fn web_url(value: &str) -> bool {
    !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(value).is_ok_and(|url| matches!(url.scheme(), "http" | "https"))
}

/// A member; `null` counts as absent.
fn member<'a>(raw: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    raw.get(name).filter(|value| !value.is_null())
}

/// A string member, read under the rules of `source`: a registration's is at most
/// [`MAX_MEMBER_BYTES`] long. Also read by the update of a registration for the members only it
/// checks (RFC 7592 §2.2: `client_id`, `client_secret`).
pub(crate) fn string<'a>(
    raw: &'a Map<String, Value>,
    name: &'static str,
    source: &Source,
) -> Result<Option<&'a str>, MetadataError> {
    match member(raw, name) {
        None => Ok(None),
        Some(Value::String(value)) if source.is_registration() && value.len() > MAX_MEMBER_BYTES => {
            Err(MetadataError::TooLong(name))
        }
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(MetadataError::NotString(name)),
    }
}

/// A member that is an array of strings: for a registration, of at most [`MAX_MEMBER_ITEMS`]
/// items of at most [`MAX_MEMBER_BYTES`] each.
fn strings<'a>(
    raw: &'a Map<String, Value>,
    name: &'static str,
    source: &Source,
) -> Result<Option<Vec<&'a str>>, MetadataError> {
    let bounded = source.is_registration();
    match member(raw, name) {
        None => Ok(None),
        Some(Value::Array(values)) if bounded && values.len() > MAX_MEMBER_ITEMS => {
            Err(MetadataError::TooManyItems(name))
        }
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| match v.as_str() {
                Some(item) if bounded && item.len() > MAX_MEMBER_BYTES => Err(MetadataError::ItemTooLong(name)),
                Some(item) => Ok(item),
                None => Err(MetadataError::NotStrings(name)),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(MetadataError::NotStrings(name)),
    }
}
