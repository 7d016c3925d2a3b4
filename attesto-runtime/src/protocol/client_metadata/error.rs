//! What is wrong with client metadata, as a typed error, and how each source words it.

use crate::error::{ErrorCode, OAuthError};
use crate::model::scope::InvalidScope;
use crate::protocol::client_assertion::JwksError;
use crate::protocol::redirect_uri::invalid_redirect_uri;

/// The longest string member (or array item) of registered metadata: ample for a redirect URI or
/// a scope list, and a bound on what one registration makes the host store.
pub(crate) const MAX_MEMBER_BYTES: usize = 2048;
/// The most items of an array member of registered metadata (`redirect_uris`, `contacts`, …).
pub(crate) const MAX_MEMBER_ITEMS: usize = 16;

/// What is wrong with client metadata, and in which member.
///
/// `Display` is the description registration answers with (`invalid_client_metadata`, RFC 7591
/// §3.2.2), or for the faults only a document can have, the document's; a document refusal words
/// some of the others its own way (`document_reason`, with the `fetch` feature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MetadataError {
    /// A member that must be a string is not one.
    #[error("`{0}` must be a string")]
    NotString(&'static str),
    /// A string member of a registration is longer than [`MAX_MEMBER_BYTES`].
    #[error("`{0}` is longer than {max} bytes", max = MAX_MEMBER_BYTES)]
    TooLong(&'static str),
    /// A member that must be an array of strings is not one, or holds something else.
    #[error("`{0}` must be an array of strings")]
    NotStrings(&'static str),
    /// An array member of a registration has more than [`MAX_MEMBER_ITEMS`] items.
    #[error("`{0}` has more than {max} items", max = MAX_MEMBER_ITEMS)]
    TooManyItems(&'static str),
    /// An item of an array member of a registration is longer than [`MAX_MEMBER_BYTES`].
    #[error("an item of `{0}` is longer than {max} bytes", max = MAX_MEMBER_BYTES)]
    ItemTooLong(&'static str),
    /// A document has no `client_id` (draft §4.1).
    #[error("the document has no `client_id`")]
    MissingClientId,
    /// A document's `client_id` is not the URL it was fetched from (draft §4.1).
    #[error("the document's `client_id` is not the URL it was fetched from")]
    ClientIdNotDocumentUrl,
    /// A document contains `client_secret` or `client_secret_expires_at` (draft §4.1).
    #[error("the document must not contain `{0}`: a client ID metadata document cannot establish a shared secret")]
    SecretMember(&'static str),
    /// A document's `token_endpoint_auth_method` relies on a shared secret (draft §4.1).
    #[error(
        "`token_endpoint_auth_method` `{0}` relies on a shared secret, which a client ID metadata document cannot establish"
    )]
    SharedSecretAuthMethod(String),
    /// `token_endpoint_auth_method` is a method attesto does not support for this source.
    #[error(
        "this `token_endpoint_auth_method` is not supported: use client_secret_basic, client_secret_post, private_key_jwt or none"
    )]
    UnsupportedAuthMethod(String),
    /// `client_secret_jwt`, refused: see `SECURITY.md`.
    #[error(
        "`client_secret_jwt` is not supported: it needs the client secret in clear on the server, which stores only its hash; use private_key_jwt"
    )]
    ClientSecretJwt,
    /// A `private_key_jwt` client with both `jwks` and `jwks_uri` (RFC 7591 §2: MUST NOT).
    #[error("`jwks` and `jwks_uri` must not both be present (RFC 7591 §2)")]
    JwksAndJwksUri,
    /// A `private_key_jwt` client without keys.
    #[error("`private_key_jwt` needs the client's public keys: send `jwks` or `jwks_uri`")]
    NoKeys,
    /// A `jwks` that is not a usable set of public keys.
    #[error("{0}")]
    Jwks(JwksError),
    /// A `jwks_uri` on a server built without the feature `fetch`, which cannot fetch it.
    #[error("this server does not fetch a `jwks_uri`: send the client's public keys as `jwks`")]
    JwksUriNotFetched,
    /// A `jwks_uri` that is not an `https` URL.
    #[error("`jwks_uri` must be an https URL without credentials or fragment")]
    JwksUri,
    /// A `token_endpoint_auth_signing_alg` that is not accepted.
    #[error("`token_endpoint_auth_signing_alg` must be one of ES256, ES384, EdDSA, PS256 or RS256")]
    UnsupportedSigningAlg(String),
    /// No key of `jwks` fits `token_endpoint_auth_signing_alg`.
    #[error("no key of `jwks` can verify the `token_endpoint_auth_signing_alg`")]
    NoKeyForSigningAlg,
    /// A document's `jwks` is not a JWK Set (RFC 7517 §5).
    #[error("`jwks` must be a JWK Set (RFC 7517 §5)")]
    JwksNotASet,
    /// A document's `jwks` holds private key material (-02 §4.1).
    #[error("the document's `jwks` contains private key material")]
    PrivateKeyInJwks,
    /// `grant_types` is an empty list.
    #[error("`grant_types` must not be empty")]
    EmptyGrantTypes,
    /// A grant type this source may not use.
    #[error(
        "a grant type in `grant_types` is not supported: use authorization_code, refresh_token or client_credentials"
    )]
    UnsupportedGrantType(String),
    /// A response type other than `code`.
    #[error("a response type in `response_types` is not supported: only `code` is")]
    UnsupportedResponseType(String),
    /// A registration's `authorization_code` grant without the `code` response type, or the
    /// other way round (RFC 7591 §2.1).
    #[error(
        "`grant_types` and `response_types` are inconsistent: `authorization_code` goes with `code` (RFC 7591 §2.1)"
    )]
    InconsistentTypes,
    /// `client_credentials` for a public client (RFC 6749 §4.4).
    #[error("client_credentials needs a confidential client; `none` registers a public one")]
    PublicClientCredentials,
    /// Token exchange or the identity assertion grant for a public client (RFC 8693 §2.1 and the
    /// identity assertion draft's security considerations: confidential clients only).
    #[error("`{0}` needs a confidential client; `none` registers a public one")]
    PublicGrant(&'static str),
    /// An `application_type` other than `web` and `native`.
    #[error("this `application_type` is not supported: use web or native")]
    UnsupportedApplicationType(String),
    /// A redirect URI that `check_redirect_uri` refuses: its `invalid_redirect_uri` error, which
    /// says why.
    #[error("{}", .0.description())]
    RedirectUri(OAuthError),
    /// A `post_logout_redirect_uris` item that `check_redirect_uri` refuses, with its reason
    /// (RP-Initiated Logout 1.0 §3.1). Not `invalid_redirect_uri`, which RFC 7591 §3.2.2 keeps
    /// for `redirect_uris`.
    #[error("`post_logout_redirect_uris`: {0}")]
    PostLogoutRedirectUri(String),
    /// A `subject_type` other than `public` and `pairwise` (OpenID Connect Core §8).
    #[error("this `subject_type` is not supported: use public or pairwise")]
    UnsupportedSubjectType,
    /// A `sector_identifier_uri` without `subject_type` `pairwise`.
    #[error("`sector_identifier_uri` goes with `subject_type` `pairwise`")]
    SectorIdentifierWithoutPairwise,
    /// A `sector_identifier_uri` that is not an `https` URL (Registration §2).
    #[error("`sector_identifier_uri` must be an https URL without credentials or fragment")]
    SectorIdentifierUri,
    /// No redirect URI where one is required.
    #[error("`redirect_uris` is required for the authorization_code grant")]
    MissingRedirectUris,
    /// `scope` is not a scope list (RFC 6749 §3.3).
    #[error("`scope`: {0} (RFC 6749 §3.3)")]
    InvalidScope(InvalidScope),
    /// A member that must be a boolean is not one: `dpop_bound_access_tokens` (RFC 9449 §5.2).
    #[error("`{0}` must be a boolean (RFC 9449 §5.2)")]
    NotBoolean(&'static str),
    /// A signed-response algorithm member (JARM §3, RFC 9701 §6) that is not the algorithm of
    /// the provider's signing key (the second field).
    #[error("`{0}` must be {1}, the algorithm this server signs with")]
    UnsupportedResponseSigningAlg(&'static str, &'static str),
    /// A response encryption member (JARM §3, RFC 9701 §6): responses are signed, not encrypted.
    #[error("`{0}` is not supported: this server signs responses and does not encrypt them")]
    EncryptionNotSupported(&'static str),
    /// A `request_object_signing_alg` that is not accepted (RFC 9101 §10.5): asymmetric
    /// algorithms only.
    #[error("`request_object_signing_alg` must be one of ES256, ES384, EdDSA, PS256 or RS256")]
    UnsupportedRequestObjectSigningAlg(String),
    /// `require_signed_request_object` is not a boolean (RFC 9101 §10.5).
    #[error("`require_signed_request_object` must be a boolean (RFC 9101 §10.5)")]
    RequireSignedRequestObjectNotBoolean,
    /// Request object metadata for a client without keys to verify its objects with.
    #[error(
        "`request_object_signing_alg` and `require_signed_request_object` need the client's public keys: register `private_key_jwt` with `jwks` or `jwks_uri`"
    )]
    RequestObjectWithoutKeys,
    /// No key of `jwks` fits `request_object_signing_alg`.
    #[error("no key of `jwks` can verify the `request_object_signing_alg`")]
    NoKeyForRequestObjectAlg,
    /// A `backchannel_logout_uri` this server will not POST to (OpenID Connect Back-Channel
    /// Logout 1.0 §2.2): why.
    #[error("`backchannel_logout_uri` {0}")]
    BackchannelLogoutUri(&'static str),
    /// `backchannel_logout_session_required` is not a boolean.
    #[error(
        "`backchannel_logout_session_required` must be a boolean (OpenID Connect Back-Channel Logout 1.0 section 2.2)"
    )]
    BackchannelLogoutSessionRequiredNotBoolean,
    /// An informational URL member that is not an absolute `http` or `https` URL.
    #[error("`{0}` must be an absolute http or https URL")]
    NotWebUrl(&'static str),
}

impl MetadataError {
    /// Why a document was refused, for the logs and the `client_metadata_document_refused`
    /// event: where a document's fault is also a registration's, in the document's own words,
    /// which quote the offending value (without control characters, at most 64 characters).
    #[cfg(feature = "fetch")]
    pub(crate) fn document_reason(&self) -> String {
        let quoted = |value: &str| value.chars().filter(|c| !c.is_control()).take(64).collect::<String>();
        match self {
            Self::UnsupportedAuthMethod(method) => format!(
                "`token_endpoint_auth_method` `{}` is not supported: use `none` or `private_key_jwt`",
                quoted(method)
            ),
            Self::UnsupportedGrantType(grant) => format!(
                "grant type `{}` is not available to a client ID metadata document client: use authorization_code and refresh_token",
                quoted(grant)
            ),
            Self::UnsupportedResponseType(response_type) => {
                format!("response type `{}` is not supported: only `code` is", quoted(response_type))
            }
            Self::UnsupportedApplicationType(application_type) => {
                format!("`application_type` `{}` is not supported: use web or native", quoted(application_type))
            }
            Self::MissingRedirectUris => "the document has no `redirect_uris`".to_owned(),
            Self::InvalidScope(error) => format!("`scope`: {error}"),
            Self::NotBoolean(name) => format!("`{name}` must be a boolean"),
            other => other.to_string(),
        }
    }
}

/// Registration's answer to faulty metadata (RFC 7591 §3.2.2): `invalid_redirect_uri` for a
/// redirect URI, `invalid_client_metadata` for anything else.
impl From<MetadataError> for OAuthError {
    fn from(error: MetadataError) -> Self {
        match error {
            MetadataError::RedirectUri(error) => error,
            MetadataError::MissingRedirectUris => invalid_redirect_uri(error.to_string()),
            other => Self::new(ErrorCode::InvalidClientMetadata, other.to_string()),
        }
    }
}
