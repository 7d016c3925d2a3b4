//! Clients and the [`ClientStore`] host trait: how attesto reads the client table the host
//! already has.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::keys::Algorithm;
use crate::model::scope::Scopes;

/// A client identifier (RFC 6749 §2.2).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a client identifier.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ClientId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

impl From<String> for ClientId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

/// The SHA-256 digest of a client secret (or of any other high-entropy credential attesto hands
/// to the host), compared in constant time.
///
/// SHA-256 is the right hash for attesto's own secrets, which are 256-bit random values: there is
/// nothing to brute-force. A host whose table holds slow password hashes (bcrypt, argon2) of
/// human-chosen secrets overrides [`ClientStore::verify_client_secret`](crate::ClientStore::verify_client_secret) instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// The hash of a secret.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// A hash from its 32 raw bytes, as stored.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes, to store.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `secret` hashes to this value; constant time in the compared digests.
    pub fn verify(&self, secret: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        candidate.ct_eq(&self.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2, `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenEndpointAuthMethod {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// No authentication: a public client (RFC 6749 §2.1), which must use PKCE.
    None,
    /// A JWT signed with one of the client's private keys (RFC 7523 §2.2, OpenID Connect Core
    /// §9): the client's public keys are its [`jwks`](Client::jwks) or at its
    /// [`jwks_uri`](Client::jwks_uri).
    PrivateKeyJwt,
}

impl TokenEndpointAuthMethod {
    /// The wire value (RFC 7591 §2).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// The wire value of the device authorization grant (RFC 8628 §3.4).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The algorithms a client may sign its `private_key_jwt` assertions with (RFC 7518 §3, RFC
/// 8037): asymmetric ones only, never `none` nor HMAC (see `SECURITY.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ClientSigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl ClientSigningAlgorithm {
    /// Every algorithm accepted, in the order discovery lists them.
    pub const ALL: [Self; 5] = [Self::ES256, Self::ES384, Self::EdDSA, Self::PS256, Self::RS256];

    /// The JOSE `alg` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
            Self::PS256 => "PS256",
            Self::RS256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` value; `None` for any other, `none` and HMAC included.
    pub fn parse(alg: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|candidate| candidate.as_str() == alg)
    }
}

/// A grant type (RFC 6749 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1): a client exchanges an
    /// access token this provider issued for one naming it as the actor, for another audience.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1), for Identity Assertion JWT
    /// Authorization Grants (ID-JAG) from a trusted enterprise identity provider.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4): a device without a browser
    /// polls while its user approves on another device.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

impl GrantType {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            Self::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            Self::DeviceCode => DEVICE_CODE_GRANT,
        }
    }

    /// Parses a wire value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            "urn:ietf:params:oauth:grant-type:token-exchange" => Some(Self::TokenExchange),
            "urn:ietf:params:oauth:grant-type:jwt-bearer" => Some(Self::JwtBearer),
            DEVICE_CODE_GRANT => Some(Self::DeviceCode),
            _ => None,
        }
    }

    /// Whether the grant is only for a client that authenticates: client credentials (RFC 6749
    /// §4.4), token exchange (a confidential client acts for the subject of a token it was given)
    /// and the identity assertion grant (its draft's security considerations: confidential clients only).
    pub const fn needs_client_authentication(self) -> bool {
        matches!(self, Self::ClientCredentials | Self::TokenExchange | Self::JwtBearer)
    }
}

/// A client as attesto sees it: what the host's [`ClientStore`](crate::ClientStore) reads from its own table.
///
/// Build one with [`Client::confidential`] or [`Client::public`] and the `with_*` methods.
///
/// ```
/// use attesto_runtime::{Client, GrantType, Scopes, SecretHash};
///
/// let client = Client::confidential("billing-service", SecretHash::of("s3cret"))
///     .with_name("Billing")
///     .with_grant_types([GrantType::ClientCredentials])
///     .with_scopes(Scopes::parse("invoices:read invoices:write").unwrap());
/// assert!(!client.is_public);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Client {
    /// The client identifier.
    pub client_id: ClientId,
    /// A human-readable name, shown on the consent page.
    pub client_name: Option<String>,
    /// The registered redirect URIs, matched exactly (RFC 9700 §2.1).
    pub redirect_uris: Vec<String>,
    /// Where the end-session endpoint may send the browser after logout (OpenID Connect
    /// RP-Initiated Logout 1.0 §3.1, `post_logout_redirect_uris`), matched exactly: any other
    /// `post_logout_redirect_uri` is refused, so logout is never an open redirector.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (RFC 6749 §2.1) has no secret and authenticates with `none`.
    pub is_public: bool,
    /// The grant types this client may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes this client may be granted.
    pub scopes: Scopes,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The hash of the client's secret, for the default [`ClientStore::verify_client_secret`](crate::ClientStore::verify_client_secret).
    pub secret_hash: Option<SecretHash>,
    /// The client's JSON Web Key Set (RFC 7591 §2, `jwks`), if it has one: the public keys of a
    /// [`PrivateKeyJwt`](TokenEndpointAuthMethod::PrivateKeyJwt) client, given inline.
    pub jwks: Option<serde_json::Value>,
    /// The URL of the client's JSON Web Key Set (RFC 7591 §2, `jwks_uri`), fetched over `https`
    /// (feature `fetch`): the other way for a [`PrivateKeyJwt`](TokenEndpointAuthMethod::PrivateKeyJwt)
    /// client to give its public keys. A client has `jwks` or `jwks_uri`, not both.
    pub jwks_uri: Option<String>,
    /// The one algorithm the client signs its assertions with (RFC 7591 §2,
    /// `token_endpoint_auth_signing_alg`), when it registered one; any of
    /// [`ClientSigningAlgorithm::ALL`] otherwise.
    pub token_endpoint_auth_signing_alg: Option<ClientSigningAlgorithm>,
    /// Whether the client must use DPoP (RFC 9449 §5.2, `dpop_bound_access_tokens`): its token
    /// requests without a DPoP proof are refused with `invalid_dpop_proof`, so that none of its
    /// access tokens is a bearer token. Off by default.
    pub dpop_bound_access_tokens: bool,
    /// The algorithm the client's JWT authorization responses are signed with (JARM §3,
    /// `authorization_signed_response_alg`); `None` means the provider's signing key decides.
    /// Only read when a request asks for a JWT response mode (`response_mode=jwt` …): the
    /// algorithm alone does not turn JARM on.
    pub authorization_signed_response_alg: Option<Algorithm>,
    /// The algorithm the JWT introspection responses sent to this client are signed with
    /// (RFC 9701 §6, `introspection_signed_response_alg`); `None` means the provider's signing
    /// key decides. Only read when the client asks for `application/token-introspection+jwt`.
    pub introspection_signed_response_alg: Option<Algorithm>,
    /// The algorithm the client's userinfo responses are signed with (OpenID Connect
    /// Registration §2, `userinfo_signed_response_alg`): with one, userinfo answers a signed JWT
    /// (`application/jwt`, OIDC Core §5.3.2) rather than JSON. `None`, the default, is JSON.
    pub userinfo_signed_response_alg: Option<Algorithm>,
    /// The one algorithm the client's request objects may be signed with (RFC 9101 §10.5,
    /// `request_object_signing_alg`), when it registered one; any of
    /// [`ClientSigningAlgorithm::ALL`] otherwise. Request objects are verified with the client's
    /// [`jwks`](Self::jwks) or [`jwks_uri`](Self::jwks_uri).
    pub request_object_signing_alg: Option<ClientSigningAlgorithm>,
    /// Whether every authorization request of the client must come as a signed request object
    /// (RFC 9101 §10.5, `require_signed_request_object`): plain parameters are then refused with
    /// `invalid_request`. Off by default.
    pub require_signed_request_object: bool,
    /// The sector identifier of a client of the `pairwise` subject type (OpenID Connect Core
    /// §8.1): a host, the one its ID tokens' and userinfo's `sub` is computed for (see
    /// [`with_pairwise_subjects`](Self::with_pairwise_subjects)). `None`, the default, is the
    /// `public` subject type: the user's own identifier.
    pub sector_identifier: Option<String>,
    /// Where the client is sent a logout token when a user's session it received tokens in ends
    /// (OpenID Connect Back-Channel Logout 1.0 §2.2, `backchannel_logout_uri`): an absolute
    /// `https` URL, without fragment, POSTed to through attesto's fetcher (feature `fetch`).
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs the `sid` claim in its logout tokens (Back-Channel Logout 1.0
    /// §2.2, `backchannel_logout_session_required`). attesto puts `sid` in every logout token of
    /// a session that has one; a session without one is then still notified, by `sub`.
    pub backchannel_logout_session_required: bool,
    /// The host vouches for this client's redirect URIs (see [`with_trusted`](Self::with_trusted)).
    /// Only read for a client that is not from the host's [`ClientStore`](crate::ClientStore): those are always
    /// trusted.
    pub trusted: bool,
    /// Where attesto found the client; set by the lookup, whatever the host's value says.
    pub(crate) source: ClientSource,
}

/// Where a [`PrivateKeyJwt`](TokenEndpointAuthMethod::PrivateKeyJwt) client's public keys are.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientKeys {
    /// A JSON Web Key Set (RFC 7517 §5) given inline: `{"keys": [...]}`, public keys only, each
    /// with a `kid`.
    Jwks(serde_json::Value),
    /// The `https` URL of the client's JSON Web Key Set, fetched and cached (feature `fetch`).
    JwksUri(String),
}

/// Where a client was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ClientSource {
    /// The host's own table ([`ClientStore`]): the host vouches for it.
    #[default]
    Host,
    /// Registered by anyone through dynamic registration (RFC 7591), or described by a client ID
    /// metadata document anyone may publish.
    SelfAsserted,
}

impl Client {
    /// A confidential client authenticating with `client_secret_basic`, allowed the
    /// `authorization_code`, `refresh_token` and `client_credentials` grants.
    pub fn confidential(client_id: impl Into<ClientId>, secret_hash: SecretHash) -> Self {
        Self {
            client_id: client_id.into(),
            client_name: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            is_public: false,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials],
            scopes: Scopes::default(),
            token_endpoint_auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            secret_hash: Some(secret_hash),
            jwks: None,
            jwks_uri: None,
            token_endpoint_auth_signing_alg: None,
            dpop_bound_access_tokens: false,
            authorization_signed_response_alg: None,
            introspection_signed_response_alg: None,
            userinfo_signed_response_alg: None,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            sector_identifier: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            trusted: false,
            source: ClientSource::Host,
        }
    }

    /// A public client (auth method `none`), allowed `authorization_code` and `refresh_token`.
    pub fn public(client_id: impl Into<ClientId>) -> Self {
        Self {
            client_id: client_id.into(),
            client_name: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            is_public: true,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: Scopes::default(),
            token_endpoint_auth_method: TokenEndpointAuthMethod::None,
            secret_hash: None,
            jwks: None,
            jwks_uri: None,
            token_endpoint_auth_signing_alg: None,
            dpop_bound_access_tokens: false,
            authorization_signed_response_alg: None,
            introspection_signed_response_alg: None,
            userinfo_signed_response_alg: None,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            sector_identifier: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            trusted: false,
            source: ClientSource::Host,
        }
    }

    /// A confidential client authenticating with `private_key_jwt` (RFC 7523 §2.2): it signs a
    /// JWT with a private key whose public part is in `keys`, and has no secret. Allowed the
    /// `authorization_code`, `refresh_token` and `client_credentials` grants.
    ///
    /// ```
    /// use attesto_runtime::{Client, ClientKeys, TokenEndpointAuthMethod};
    ///
    /// let client = Client::private_key_jwt("billing-service", ClientKeys::JwksUri("https://billing.example/jwks".into()));
    /// assert_eq!(client.token_endpoint_auth_method, TokenEndpointAuthMethod::PrivateKeyJwt);
    /// assert!(!client.is_public && client.secret_hash.is_none());
    /// ```
    pub fn private_key_jwt(client_id: impl Into<ClientId>, keys: ClientKeys) -> Self {
        let mut client = Self {
            secret_hash: None,
            token_endpoint_auth_method: TokenEndpointAuthMethod::PrivateKeyJwt,
            ..Self::confidential(client_id, SecretHash([0; 32]))
        };
        match keys {
            ClientKeys::Jwks(jwks) => client.jwks = Some(jwks),
            ClientKeys::JwksUri(uri) => client.jwks_uri = Some(uri),
        }
        client
    }

    /// Sets the one algorithm the client's assertions may be signed with
    /// ([`token_endpoint_auth_signing_alg`](Self::token_endpoint_auth_signing_alg)).
    #[must_use]
    pub fn with_token_endpoint_auth_signing_alg(mut self, alg: ClientSigningAlgorithm) -> Self {
        self.token_endpoint_auth_signing_alg = Some(alg);
        self
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Sets the registered redirect URIs.
    #[must_use]
    pub fn with_redirect_uris<I: IntoIterator<Item = S>, S: Into<String>>(mut self, uris: I) -> Self {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the URIs the browser may be sent to after logout
    /// ([`post_logout_redirect_uris`](Self::post_logout_redirect_uris)).
    #[must_use]
    pub fn with_post_logout_redirect_uris<I: IntoIterator<Item = S>, S: Into<String>>(mut self, uris: I) -> Self {
        self.post_logout_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the allowed grant types.
    #[must_use]
    pub fn with_grant_types(mut self, grant_types: impl IntoIterator<Item = GrantType>) -> Self {
        self.grant_types = grant_types.into_iter().collect();
        self
    }

    /// Sets the scopes the client may be granted.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets the token endpoint authentication method.
    #[must_use]
    pub fn with_auth_method(mut self, method: TokenEndpointAuthMethod) -> Self {
        self.token_endpoint_auth_method = method;
        self
    }

    /// Requires the client to use DPoP, or not (RFC 9449 §5.2): see
    /// [`dpop_bound_access_tokens`](Self::dpop_bound_access_tokens).
    ///
    /// ```
    /// use attesto_runtime::Client;
    ///
    /// let client = Client::public("mcp-inspector").with_dpop_bound_access_tokens(true);
    /// assert!(client.dpop_bound_access_tokens);
    /// ```
    #[must_use]
    pub fn with_dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens = required;
        self
    }

    /// Sets the algorithm of the client's JWT authorization responses (JARM §3,
    /// `authorization_signed_response_alg`). A request of this client that asks for a JWT
    /// response mode is refused, on a page, while the provider's signing key has another
    /// algorithm.
    ///
    /// ```
    /// use attesto_runtime::{Algorithm, Client};
    ///
    /// let client = Client::public("bank-app").with_authorization_signed_response_alg(Algorithm::PS256);
    /// assert_eq!(client.authorization_signed_response_alg, Some(Algorithm::PS256));
    /// ```
    #[must_use]
    pub fn with_authorization_signed_response_alg(mut self, alg: Algorithm) -> Self {
        self.authorization_signed_response_alg = Some(alg);
        self
    }

    /// Sets the algorithm of the client's signed userinfo responses (OpenID Connect Registration
    /// §2, `userinfo_signed_response_alg`): userinfo then answers this client with a JWT signed
    /// by the provider (`iss`, `aud` the client, the claims), `application/jwt`. The provider's
    /// signing key must have this algorithm, or userinfo answers `server_error`.
    ///
    /// ```
    /// use attesto_runtime::{Algorithm, Client};
    ///
    /// let client = Client::public("app").with_userinfo_signed_response_alg(Algorithm::ES256);
    /// assert_eq!(client.userinfo_signed_response_alg, Some(Algorithm::ES256));
    /// ```
    #[must_use]
    pub fn with_userinfo_signed_response_alg(mut self, alg: Algorithm) -> Self {
        self.userinfo_signed_response_alg = Some(alg);
        self
    }

    /// Sets the algorithm of the JWT introspection responses sent to this client (RFC 9701 §6,
    /// `introspection_signed_response_alg`). A request for a JWT response is answered
    /// `server_error` while the provider's signing key has another algorithm.
    #[must_use]
    pub fn with_introspection_signed_response_alg(mut self, alg: Algorithm) -> Self {
        self.introspection_signed_response_alg = Some(alg);
        self
    }

    /// Sets the one algorithm the client's request objects may be signed with (RFC 9101 §10.5,
    /// [`request_object_signing_alg`](Self::request_object_signing_alg)).
    #[must_use]
    pub fn with_request_object_signing_alg(mut self, alg: ClientSigningAlgorithm) -> Self {
        self.request_object_signing_alg = Some(alg);
        self
    }

    /// Requires the client's authorization requests to come as signed request objects, or not
    /// (RFC 9101 §10.5): see [`require_signed_request_object`](Self::require_signed_request_object).
    ///
    /// ```
    /// use attesto_runtime::{Client, ClientKeys};
    ///
    /// let client = Client::private_key_jwt("bank-app", ClientKeys::JwksUri("https://bank.example/jwks".into()))
    ///     .with_require_signed_request_object(true);
    /// assert!(client.require_signed_request_object);
    /// ```
    #[must_use]
    pub fn with_require_signed_request_object(mut self, required: bool) -> Self {
        self.require_signed_request_object = required;
        self
    }

    /// Marks a dynamically registered client (or one a host serves through its
    /// [`RegistrationStore`](crate::RegistrationStore)) as vouched for, or not.
    ///
    /// Before the user has signed in, attesto sends errors back to a redirect URI automatically
    /// only when it trusts that URI: a client from the host's [`ClientStore`](crate::ClientStore), a loopback
    /// redirect URI (a native app on the user's own device), or a client marked trusted. For any
    /// other, anyone could register `https://evil.example/cb` and use this server's origin to
    /// bounce people there (RFC 9700 §4.11.2), so the user is shown a page naming the destination
    /// and decides. Clients of the host's table are always trusted; this flag is for the
    /// registered clients a host has reviewed.
    #[must_use]
    pub fn with_trusted(mut self, trusted: bool) -> Self {
        self.trusted = trusted;
        self
    }

    /// Gives the client pairwise subject identifiers (OpenID Connect Core §8.1, subject type
    /// `pairwise`) for `sector_identifier`, a host: the `sub` of its ID tokens, of its userinfo
    /// answers and of its logout tokens is then one that only clients of the same sector share,
    /// derived from the user's own identifier with the provider's
    /// [`pairwise_subject_secret`](crate::Builder::pairwise_subject_secret), which issuing then
    /// requires. Access tokens keep the user's own identifier: they are read by the host's
    /// resource servers, which look the user up by it.
    #[must_use]
    pub fn with_pairwise_subjects(mut self, sector_identifier: impl Into<String>) -> Self {
        self.sector_identifier = Some(sector_identifier.into());
        self
    }

    /// Sets where the client is sent logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.2,
    /// `backchannel_logout_uri`): an absolute `https` URL without fragment. A host's client is
    /// taken as given (the host vouches for it); a registration is checked.
    ///
    /// ```
    /// use attesto_runtime::Client;
    ///
    /// let client = Client::public("app").with_backchannel_logout_uri("https://app.example/backchannel-logout");
    /// assert_eq!(client.backchannel_logout_uri.as_deref(), Some("https://app.example/backchannel-logout"));
    /// ```
    #[must_use]
    pub fn with_backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uri = Some(uri.into());
        self
    }

    /// Sets whether the client needs `sid` in its logout tokens (Back-Channel Logout 1.0 §2.2,
    /// `backchannel_logout_session_required`).
    #[must_use]
    pub fn with_backchannel_logout_session_required(mut self, required: bool) -> Self {
        self.backchannel_logout_session_required = required;
        self
    }

    /// Whether the client may use a grant type.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// What a page calls the client when it names where the browser would go: its own name
    /// (untrusted text, escaped by the page), or its id when it has none.
    pub(crate) fn label(&self) -> &str {
        self.client_name.as_deref().filter(|name| !name.trim().is_empty()).unwrap_or(self.client_id.as_str())
    }

    /// Whether an error may be redirected to `redirect_uri` (one of this client's) before the user
    /// signed in: see [`with_trusted`](Self::with_trusted).
    pub(crate) fn redirects_automatically_to(&self, redirect_uri: &str) -> bool {
        // A loopback `http` URI reaches an app on the user's own device (RFC 8252 §7.3), not a
        // site. A private-use scheme opens whatever app claims it, so it does not count.
        self.source == ClientSource::Host
            || self.trusted
            || crate::model::loopback::LoopbackRedirect::parse(redirect_uri).is_some()
    }
}
