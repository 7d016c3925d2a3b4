//! Building a provider: [`Attesto::builder`] → [`Builder`] → [`Attesto`]. The top of the crate:
//! it assembles everything below, and nothing inside the crate imports it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::dpop::nonce::NonceKey;
use crate::error::ConfigError;
#[cfg(feature = "fetch")]
use crate::fetch::backchannel::{DeliveryPolicy, Notifier};
#[cfg(feature = "fetch")]
use crate::fetch::client_jwks::{ClientJwks, JwksUriLoopback};
#[cfg(feature = "fetch")]
use crate::fetch::client_metadata::{self, ClientMetadataDocuments};
use crate::host::provider::Provider;
use crate::keys::{Key, KeySet};
use crate::model::client::{GrantType, SecretHash};
use crate::model::issuer::Issuer;
use crate::model::loopback::is_loopback_host;
use crate::model::profile::{FAPI2_ALGORITHMS, Profile};
use crate::model::resource::{Resource, declared_resource_url, normalize_resource};
use crate::protocol::client_assertion::ClientAssertionAudience;
use crate::protocol::client_metadata::BackchannelPolicy;
use crate::protocol::discovery::{self, AuthorizationServerMetadata, MetadataSource, WellKnownForms};
use crate::protocol::dpop_proof;
use crate::protocol::pairwise::PairwiseKey;
use crate::protocol::resource_metadata::{self, ProtectedResourceMetadata};
use crate::protocol::sealed::SealingKey;
#[cfg(feature = "fetch")]
use crate::resource_server::remote::{TrustedIssuer, TrustedIssuers};
use crate::settings::{AllowedOrigins, DeviceSettings, DpopSettings, Settings, parse_origin};
use crate::state::{Attesto, Documents, Parts};
use crate::store::guesses::{self, GuessLimiter};
use crate::store::memory::MemoryStore;
use crate::store::revoked::{self, RevokedTokens};
use crate::store::{DynStore, Store};

/// Configures a provider. Get one from [`Attesto::builder`].
#[must_use]
pub struct Builder<P> {
    provider: P,
    issuer: Option<Issuer>,
    signing_key: Option<Key>,
    verification_keys: Vec<Key>,
    access_token_ttl: Duration,
    refresh_token_ttl: Duration,
    resources: Vec<Resource>,
    default_audience: Option<String>,
    scopes_supported: Vec<String>,
    service_documentation: Option<String>,
    store: Option<Arc<dyn DynStore>>,
    cors_origins: AllowedOrigins,
    require_pushed_authorization_requests: bool,
    require_signed_request_objects: bool,
    require_dpop_nonce: bool,
    dpop_nonce_secret: Option<[u8; 32]>,
    browser_state_secret: Option<[u8; 32]>,
    dpop_proof_max_age: Duration,
    dpop_proof_max_skew: Duration,
    revocation_refresh_interval: Duration,
    protected_resources: Vec<ProtectedResource>,
    #[cfg(feature = "fetch")]
    client_metadata_documents: Option<ClientMetadataDocuments>,
    #[cfg(feature = "fetch")]
    trusted_identity_issuers: Vec<TrustedIssuer>,
    device_code_ttl: Duration,
    device_poll_interval: Duration,
    user_code_attempts: (u32, u32),
    client_assertion_audience: ClientAssertionAudience,
    #[cfg(feature = "fetch")]
    jwks_uri_loopback: JwksUriLoopback,
    #[cfg(feature = "fetch")]
    backchannel_delivery: DeliveryPolicy,
    profile: Profile,
    well_known_forms: WellKnownForms,
    acr_values_supported: Vec<String>,
    pairwise_subject_secret: Option<[u8; 32]>,
}

/// A resource declared with [`Builder::protected_resource`]: its RFC 9728 document is served.
#[derive(Debug, Clone)]
struct ProtectedResource {
    resource: String,
    url: url::Url,
    scopes_supported: Vec<String>,
}

/// The default DPoP nonce secret: random, drawn once per process, so that providers rebuilt in one
/// process (a configuration reload, say) keep accepting the nonces they handed out.
fn process_nonce_secret() -> &'static [u8; 32] {
    static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    SECRET.get_or_init(rand::random)
}

/// The default secret of the state sealed into browsers' hands (see
/// [`Builder::browser_state_secret`]): random, drawn once per process, like the DPoP nonce secret.
fn process_browser_state_secret() -> &'static [u8; 32] {
    static SECRET: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    SECRET.get_or_init(rand::random)
}

/// Scopes of the provider itself, never of a protected resource, so never in a resource's RFC 9728
/// `scopes_supported`: OpenID Connect's `openid` (an ID token, userinfo) and `offline_access` (a
/// refresh token, OIDC Core §11). A client that asked a resource for them would get nothing more
/// from the resource.
const PROVIDER_ONLY_SCOPES: [&str; 2] = ["openid", "offline_access"];

/// The longest `iat` window a DPoP proof may be given, either way: RFC 9449 §11.1 speaks of
/// seconds or minutes, and every proof seen is remembered for the window's length.
const MAX_DPOP_WINDOW: Duration = Duration::from_secs(10 * 60);

impl<P: Provider> Builder<P> {
    /// Sets the issuer identifier (RFC 8414 §2), e.g. `https://auth.example.com`.
    pub fn issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        self.issuer = Some(Issuer::parse(issuer)?);
        Ok(self)
    }

    /// Sets the key that signs tokens.
    pub fn signing_key(mut self, key: Key) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Adds a key that still verifies (a retired signing key during rotation); it is published
    /// in the JWKS.
    pub fn verification_key(mut self, key: Key) -> Self {
        self.verification_keys.push(key);
        self
    }

    /// Sets the access-token lifetime (default 15 minutes; at most 24 hours).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Sets the lifetime of a refresh-token family (default 30 days, at most 365 days). Each
    /// refresh rotates the token but does not extend the family: after this the user signs in again.
    pub fn refresh_token_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_token_ttl = ttl;
        self
    }

    /// Sets where attesto keeps its state (pending requests, codes, refresh families, revoked
    /// tokens, DPoP proofs seen). The default is a [`MemoryStore`]: fine for one instance, lost on
    /// restart. `SqliteStore` (feature `sqlite`) keeps it in a file; `PostgresStore` (feature
    /// `postgres`) shares it between instances.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Adds a resource indicator (RFC 8707) clients may ask tokens for, e.g. the URL of an MCP
    /// server. A request for a resource not added here is refused with `invalid_target`.
    pub fn resource(mut self, resource: &str) -> Result<Self, ConfigError> {
        let normalized = normalize_resource(resource)
            .map_err(|reason| ConfigError::Resource { resource: resource.to_owned(), reason })?;
        if !self.resources.iter().any(|r| r.normalized == normalized) {
            self.resources.push(Resource { audience: resource.to_owned(), normalized });
        }
        Ok(self)
    }

    /// Declares a protected resource served next to the provider, e.g. an MCP server at
    /// `https://mcp.example.com/mcp`: it becomes a resource clients may ask tokens for (as
    /// [`resource`](Self::resource)), and the router serves its RFC 9728 protected-resource
    /// metadata at `/.well-known/oauth-protected-resource` followed by the resource's path
    /// (RFC 9728 §3.1), and at the bare well-known path too for the first resource declared.
    /// Protect its routes with [`Attesto::guard`] for the same URL.
    ///
    /// The document lists `scopes_supported` without `openid` and `offline_access`: those are the
    /// provider's scopes (an ID token, a refresh token), never a resource's. The resource of the
    /// declaration (`resource = "/mcp"`) lists the provider's
    /// [`scopes_supported`](Self::scopes_supported) the same way.
    pub fn protected_resource<I: IntoIterator<Item = S>, S: Into<String>>(
        self,
        resource: &str,
        scopes_supported: I,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::Resource { resource: resource.to_owned(), reason };
        let url = url::Url::parse(resource).map_err(|_| invalid("not an absolute URI"))?;
        // RFC 9728 §2: the resource identifier has no query or fragment.
        if url.host_str().is_none() || url.query().is_some() || resource.contains(['?', '#']) {
            return Err(invalid("must be an absolute URL with a host, without query or fragment"));
        }
        let mut builder = self.resource(resource)?;
        builder.protected_resources.push(ProtectedResource {
            resource: resource.to_owned(),
            url,
            scopes_supported: scopes_supported
                .into_iter()
                .map(Into::into)
                .filter(|scope: &String| !PROVIDER_ONLY_SCOPES.contains(&scope.as_str()))
                .collect(),
        });
        Ok(builder)
    }

    /// Sets the audience of tokens requested without `resource` (default: the issuer).
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
        self
    }

    /// Turns on pairwise subject identifiers (OpenID Connect Core §8.1): clients set up with
    /// [`Client::with_pairwise_subjects`](crate::Client::with_pairwise_subjects), or registered
    /// with `subject_type` `pairwise`, see each user under a `sub` of their sector, computed from
    /// the user's own identifier with this secret; discovery lists `pairwise` in
    /// `subject_types_supported`. Without it, registration refuses `pairwise`, and issuing to a
    /// host's pairwise client fails with `server_error`.
    ///
    /// **Keep it for good, and share it between instances**: the identifiers are derived from it,
    /// so a new secret gives every user of a pairwise client a new `sub`, which the client takes
    /// for a new user. Keep it secret too: whoever knows it can tell which user a pairwise `sub`
    /// stands for, by trying the users' identifiers.
    pub fn pairwise_subject_secret(mut self, secret: [u8; 32]) -> Self {
        self.pairwise_subject_secret = Some(secret);
        self
    }

    /// Sets `acr_values_supported` for the OpenID Connect discovery document (OpenID Connect
    /// Discovery §3): the authentication context classes the host's sign-in can satisfy, which a
    /// client may ask for with `acr_values` ([`LoginRequest::acr_values`](crate::LoginRequest::acr_values))
    /// and a resource may require ([`Guard::require_acr`](crate::Guard::require_acr)). Advertised
    /// only: the host's [`PrincipalStore`](crate::PrincipalStore) says which class a sign-in
    /// reached ([`AuthenticatedPrincipal::with_acr`](crate::AuthenticatedPrincipal::with_acr)).
    /// [`build`](Self::build) refuses an empty value or one with whitespace, which `acr_values`
    /// (a space-separated list) could not name.
    pub fn acr_values_supported<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
        self.acr_values_supported = values.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `scopes_supported` for the discovery documents (RFC 8414 §2, recommended). It is
    /// advertised only; what a client gets is the [`ScopePolicy`](crate::ScopePolicy)'s decision.
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Requires pushed authorization requests (RFC 9126): the authorization endpoint then accepts
    /// only a `request_uri` obtained from the PAR endpoint, and refuses a request sent by value
    /// with `invalid_request` (RFC 9126 §4); discovery says `require_pushed_authorization_requests:
    /// true` (RFC 9126 §5). Off by default.
    ///
    /// With it, every authorization request was sent by an authenticated client over a direct
    /// connection, so the browser cannot alter it. [`build`](Self::build) fails with
    /// [`ConfigError::ParRequiredWithoutPar`] if the provider is declared with `par = false`.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.require_pushed_authorization_requests = required;
        self
    }

    /// Requires signed request objects (RFC 9101) from every client: an authorization request,
    /// at the authorization endpoint or the PAR endpoint, must then carry its parameters in a
    /// `request` JWT signed by a key of the client, and one without is refused with
    /// `invalid_request`; discovery says `require_signed_request_object: true` (RFC 9101 §10.5).
    /// Off by default, when only the clients registered with `require_signed_request_object`
    /// must. A request by reference to a pushed one was checked when it was pushed.
    ///
    /// Every client then needs keys ([`Client::jwks`](crate::Client::jwks) or
    /// [`Client::jwks_uri`](crate::Client::jwks_uri)); a client without is refused at every
    /// authorization request.
    pub fn require_signed_request_objects(mut self, required: bool) -> Self {
        self.require_signed_request_objects = required;
        self
    }

    /// Requires server nonces in DPoP proofs (RFC 9449 §8, §9). Off by default.
    ///
    /// With it, a DPoP proof without a nonce, or with one that is stale or was not issued here, is
    /// refused with `use_dpop_nonce` and a fresh nonce in the `DPoP-Nonce` header: `400` at the
    /// token and PAR endpoints, `401` with a `WWW-Authenticate: DPoP error="use_dpop_nonce"`
    /// challenge at userinfo. The client retries with a new proof that carries the nonce. Every
    /// response to a request with a DPoP proof carries a fresh `DPoP-Nonce` for the next one.
    ///
    /// A nonce proves that a proof was made recently by the server's clock rather than the
    /// client's, so that a proof pre-generated by an attacker who briefly held the key is useless
    /// later. Nonces are stateless: a nonce is the current five-minute window and an HMAC of it
    /// under [`dpop_nonce_secret`](Self::dpop_nonce_secret), and one from the current or the
    /// previous window is accepted, so it stays valid between five and ten minutes and any
    /// instance that shares the secret verifies it without shared storage.
    pub fn require_dpop_nonce(mut self, required: bool) -> Self {
        self.require_dpop_nonce = required;
        self
    }

    /// Sets the secret that DPoP nonces are made and verified with (an HMAC-SHA256 key, see
    /// [`require_dpop_nonce`](Self::require_dpop_nonce)). The default is a random secret drawn
    /// once per process (shared by every provider the process builds), so nonces stop being
    /// accepted when the process restarts: the client gets a `use_dpop_nonce` and retries once.
    ///
    /// **Instances behind one load balancer must share it**: a nonce issued by one instance is
    /// otherwise refused by the others, and a client whose requests alternate between instances
    /// never gets through. Keep it secret: whoever knows it can make the nonces of future windows
    /// and so pre-generate proofs.
    pub fn dpop_nonce_secret(mut self, secret: [u8; 32]) -> Self {
        self.dpop_nonce_secret = Some(secret);
        self
    }

    /// Sets the secret of the state attesto seals into a browser's hands instead of storing it:
    /// the login resume handle, which carries an authorization request through the host's login
    /// page (encrypted and authenticated with AES-256-GCM-SIV under a key derived from this
    /// secret), so that an authorization request costs no storage until the user has signed in.
    /// The default is a random secret drawn once per process: a user who signs in across a
    /// restart starts the authorization again from the application.
    ///
    /// **Instances behind one load balancer must share it**: a handle sealed by one instance does
    /// not open on another. Keep it secret: whoever knows it can read the pending requests'
    /// parameters (`state`, `nonce`, `login_hint`) and forge handles, though a forged handle still
    /// needs the browser's cookie and the host's sign-in.
    pub fn browser_state_secret(mut self, secret: [u8; 32]) -> Self {
        self.browser_state_secret = Some(secret);
        self
    }

    /// Sets how old a DPoP proof's `iat` may be (default [`dpop_proof::DEFAULT_MAX_AGE`], 60 s; from 1
    /// second to 10 minutes). Every proof accepted is remembered for about this long to refuse
    /// its replay (RFC 9449 §11.1).
    pub fn dpop_proof_max_age(mut self, max_age: Duration) -> Self {
        self.dpop_proof_max_age = max_age;
        self
    }

    /// Sets how far in the future a DPoP proof's `iat` may be, the tolerated clock skew of clients
    /// (default [`dpop_proof::DEFAULT_MAX_SKEW`], 60 s; at most 10 minutes).
    pub fn dpop_proof_max_skew(mut self, max_skew: Duration) -> Self {
        self.dpop_proof_max_skew = max_skew;
        self
    }

    /// Sets how often this instance reads the access tokens revoked by others from the store
    /// (default 5 seconds; from zero to one hour): the bound on how long a token revoked at one
    /// instance may still be accepted by another.
    ///
    /// Revoked access tokens (RFC 7009) are checked in process, so that userinfo and introspection
    /// cost no store round trip per request. Each instance keeps the revoked `jti`s (and revoked
    /// grants, whose every access token is refused) it knows and
    /// reads the store's list ([`Store::revoked_access_tokens`]) again once its copy is older
    /// than this interval: lazily, on the first check after the interval, one read at a time
    /// (checks that arrive meanwhile wait for that read). So:
    ///
    /// - a token revoked at this instance is refused here at once;
    /// - a token revoked at another instance sharing the store (`PostgresStore`) is refused here
    ///   at most this long after the revocation was stored;
    /// - after a restart on a persistent store (`SqliteStore`, `PostgresStore`), the first check
    ///   reads the list, so tokens revoked before the restart stay refused;
    /// - when the store cannot be read and the copy is older than this, the check answers `503
    ///   temporarily_unavailable` rather than accept a token that may have been revoked.
    ///
    /// Zero reads the list for every check (checks arriving together still share one read).
    pub fn revocation_refresh_interval(mut self, interval: Duration) -> Self {
        self.revocation_refresh_interval = interval;
        self
    }

    /// Accepts `https` URLs as client ids: OAuth Client ID Metadata Documents, the way MCP
    /// clients (MCP 2025-11-25) identify themselves without registering (feature `fetch`; off by
    /// default). A client id that the host's [`ClientStore`](crate::ClientStore) and the
    /// registered clients do not know, and that is an `https` URL, is fetched and checked (its
    /// `client_id` must be that URL; public clients only, with the redirect URIs it lists), cached
    /// for its `Cache-Control: max-age` within bounds, and served as a public [`Client`](crate::Client); discovery
    /// says `client_id_metadata_document_supported: true`. See [`ClientMetadataDocuments`] for the
    /// rules and the limits of the fetch.
    ///
    /// ```
    /// # fn configure<P: attesto_runtime::Provider>(builder: attesto_runtime::Builder<P>) -> attesto_runtime::Builder<P> {
    /// let builder = builder
    ///     .scopes_supported(["mcp:tools"])
    ///     .client_metadata_documents(attesto_runtime::ClientMetadataDocuments::new());
    /// # builder
    /// # }
    /// ```
    #[cfg(feature = "fetch")]
    pub fn client_metadata_documents(mut self, documents: ClientMetadataDocuments) -> Self {
        self.client_metadata_documents = Some(documents);
        self
    }

    /// Trusts an enterprise identity provider's Identity Assertion JWT Authorization Grants
    /// (ID-JAG, `draft-ietf-oauth-identity-assertion-authz-grant`): the token endpoint then
    /// serves the `urn:ietf:params:oauth:grant-type:jwt-bearer` grant (RFC 7523) and discovery
    /// lists it. Repeatable, one call per identity provider (feature `fetch`).
    ///
    /// An assertion is accepted from a confidential client allowed the grant
    /// ([`GrantType::JwtBearer`](crate::GrantType::JwtBearer)) when its `typ` is
    /// `oauth-id-jag+jwt`, it is signed (ES256, PS256, RS256 or EdDSA) with a key of a trusted
    /// issuer's JWKS, its `aud` is this provider's issuer, its `client_id` the authenticating
    /// client, it has not expired (with 30 s of skew), was not issued in the future and lives at
    /// most an hour, its `jti` was never presented before (kept in the [`Store`] until the
    /// assertion expires), its `resource` is a resource this provider knows, the scopes asked
    /// are in its `scope`, and the host's
    /// [`IdentityAssertionPolicy`](crate::IdentityAssertionPolicy) maps its subject to a user.
    /// [`build`](Self::build) fails without that impl. The access token is for the mapped user,
    /// audience-restricted to the assertion's `resource`, DPoP-bound with a proof; no refresh
    /// token is issued (the identity provider decides again for every new token).
    ///
    /// ```
    /// # fn configure<P: attesto_runtime::Provider>(builder: attesto_runtime::Builder<P>) -> attesto_runtime::Builder<P> {
    /// let builder = builder.trusted_identity_issuer(attesto_runtime::TrustedIssuer::new("https://acme.idp.example"));
    /// # builder
    /// # }
    /// ```
    #[cfg(feature = "fetch")]
    pub fn trusted_identity_issuer(mut self, issuer: TrustedIssuer) -> Self {
        self.trusted_identity_issuers.push(issuer);
        self
    }

    /// Which `aud` a `private_key_jwt` client assertion may name (RFC 7523 §3): the issuer
    /// identifier or the token endpoint URL by default; [`ClientAssertionAudience::IssuerOnly`]
    /// for the issuer identifier alone, as FAPI 2.0 asks.
    ///
    /// ```
    /// # fn configure<P: attesto_runtime::Provider>(builder: attesto_runtime::Builder<P>) -> attesto_runtime::Builder<P> {
    /// let builder = builder.client_assertion_audience(attesto_runtime::ClientAssertionAudience::IssuerOnly);
    /// # builder
    /// # }
    /// ```
    pub fn client_assertion_audience(mut self, audience: ClientAssertionAudience) -> Self {
        self.client_assertion_audience = audience;
        self
    }

    /// Runs the provider in the [FAPI 2.0 Security Profile] (final): the profile's shall-clauses
    /// for authorization servers, each listed in `SECURITY.md` with where it is enforced. It
    /// turns on, and the discovery documents say so:
    ///
    /// - pushed authorization requests only (RFC 9126; [`build`](Self::build) fails if the
    ///   declaration has `par = false`), each with a `redirect_uri`, PKCE with `S256` (always
    ///   required by attesto);
    /// - confidential clients only, authenticated with `private_key_jwt` at every endpoint: a
    ///   public client or one with a secret gets `invalid_client`, and registration accepts only
    ///   `private_key_jwt` clients;
    /// - sender-constrained access tokens: every token request needs a DPoP proof (RFC 9449), and
    ///   codes are bound to the proof key given at the PAR endpoint (§10);
    /// - ES256, PS256 and EdDSA only, for the provider's keys ([`build`](Self::build) fails with
    ///   any other), client assertions, request objects and DPoP proofs;
    /// - client assertions whose `aud` is the issuer identifier alone
    ///   ([`ClientAssertionAudience::IssuerOnly`]);
    /// - refresh tokens that are not rotated: a refresh answers with a new access token and the
    ///   client keeps its refresh token, which stays bound to the client's credentials (Security
    ///   Profile §5.3.2.1 clause 9).
    ///
    /// What attesto always does already holds too: authorization codes live 60 seconds and are
    /// single use, `iss` is in every authorization response (RFC 9207), redirect URIs match
    /// exactly and errors for an unverified one are shown, never redirected. The profile wins
    /// over the builder's own settings for the same things. TLS (§5.2) is the host's server's.
    ///
    /// [FAPI 2.0 Security Profile]: https://openid.net/specs/fapi-security-profile-2_0-final.html
    pub fn fapi2_security_profile(mut self) -> Self {
        if !self.profile.is_message_signing() {
            self.profile = Profile::Fapi2Security;
        }
        self
    }

    /// Runs the provider in the FAPI 2.0 Security Profile with [FAPI 2.0 Message Signing]: all of
    /// [`fapi2_security_profile`](Self::fapi2_security_profile), and
    ///
    /// - every authorization request is a signed request object (JAR, RFC 9101) pushed to the PAR
    ///   endpoint (`require_signed_request_object: true`);
    /// - every authorization response is signed (JARM): a request must ask for `response_mode`
    ///   `jwt`, `query.jwt` or `form_post.jwt`, and discovery lists only those;
    /// - introspection answers with a signed JWT (RFC 9701) to a caller that asks for one with
    ///   `Accept: application/token-introspection+jwt`.
    ///
    /// [FAPI 2.0 Message Signing]: https://openid.net/specs/fapi-message-signing-2_0-final.html
    pub fn fapi2_message_signing(mut self) -> Self {
        self.profile = Profile::Fapi2MessageSigning;
        self
    }

    /// Lets the `jwks_uri` of a `private_key_jwt` client be fetched from loopback and private
    /// addresses, and over `http` from a loopback host, so that a client under development serves
    /// its keys from `http://127.0.0.1:…` (feature `fetch`). Off by default; a warning is logged
    /// when a provider is built with it. **Never in production**: any client that registers could
    /// then make the server send requests to the services of its own network.
    #[cfg(feature = "fetch")]
    pub fn allow_loopback_jwks_uri_for_development(mut self, allow: bool) -> Self {
        self.jwks_uri_loopback = if allow { JwksUriLoopback::AllowedForDevelopment } else { JwksUriLoopback::Refused };
        self
    }

    /// Lets registered `backchannel_logout_uri`s (OpenID Connect Back-Channel Logout 1.0) be
    /// `http` URLs and point at loopback and private addresses, and lets logout tokens be sent
    /// there, so that a relying party under development receives them at `http://127.0.0.1:…`
    /// (feature `fetch`). Off by default; a warning is logged when a provider is built with it.
    /// **Never in production**: any client that registers could then make the server POST to the
    /// services of its own network.
    #[cfg(feature = "fetch")]
    pub fn allow_loopback_backchannel_logout_for_development(mut self, allow: bool) -> Self {
        self.backchannel_delivery.allow_development = allow;
        self
    }

    /// Bounds the in-process queue of logout tokens (OpenID Connect Back-Channel Logout 1.0,
    /// feature `fetch`): at most `capacity` waiting (default 1 000) and `concurrency` being sent
    /// at once (default 8); each at least 1. A logout that finds the queue full does not send its
    /// tokens: the event sink hears
    /// [`BackchannelLogoutOutcome::Dropped`](crate::BackchannelLogoutOutcome::Dropped). Queued
    /// tokens are lost if the process stops.
    #[cfg(feature = "fetch")]
    pub fn backchannel_logout_queue(mut self, capacity: usize, concurrency: usize) -> Self {
        self.backchannel_delivery.queue_capacity = capacity.max(1);
        self.backchannel_delivery.concurrency = concurrency.max(1);
        self
    }

    /// How a logout token that could not be delivered is retried (feature `fetch`): `attempts` in
    /// all (default 3, at least 1), the second `first_backoff` after the first (default 1 s), each
    /// later wait four times the one before. Only a 5xx, a 429, a timeout or a connection failure
    /// is retried (Back-Channel Logout 1.0 §2.8).
    #[cfg(feature = "fetch")]
    pub fn backchannel_logout_retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.backchannel_delivery.attempts = attempts.max(1);
        self.backchannel_delivery.first_backoff = first_backoff;
        self
    }

    /// Which well-known forms of the discovery documents the router serves (default
    /// [`WellKnownForms::All`]). [`WellKnownForms::IssuerPathOnly`] serves only the forms that
    /// carry the issuer's path (RFC 8414 §3.1 `/.well-known/oauth-authorization-server/mcp/oauth`,
    /// and with OpenID `/.well-known/openid-configuration/mcp/oauth` and
    /// `/mcp/oauth/.well-known/openid-configuration`), and leaves the host-root documents (and the
    /// bare `/.well-known/oauth-protected-resource`) to another provider on the same host: the one
    /// attesto replaces, during the overlap of a migration (`guides/migrating.md`).
    /// [`build`](Self::build) refuses it for an issuer without a path
    /// ([`ConfigError::WellKnownNeedsIssuerPath`]).
    ///
    /// ```
    /// # fn configure<P: attesto_runtime::Provider>(
    /// #     builder: attesto_runtime::Builder<P>,
    /// # ) -> Result<attesto_runtime::Builder<P>, attesto_runtime::ConfigError> {
    /// use attesto_runtime::discovery::WellKnownForms;
    ///
    /// // The old provider keeps `/.well-known/oauth-authorization-server` on this host.
    /// let builder = builder.issuer("https://auth.example.com/mcp/oauth")?.well_known_forms(WellKnownForms::IssuerPathOnly);
    /// # Ok(builder)
    /// # }
    /// ```
    pub fn well_known_forms(mut self, forms: WellKnownForms) -> Self {
        self.well_known_forms = forms;
        self
    }

    /// Sets `service_documentation` for the discovery documents.
    pub fn service_documentation(mut self, url: impl Into<String>) -> Self {
        self.service_documentation = Some(url.into());
        self
    }

    /// Restricts the origins whose scripts may call the API endpoints (token, userinfo,
    /// revocation, introspection, registration and client configuration) cross-origin. Each
    /// entry is an origin, `scheme://host[:port]` without a path, else [`ConfigError::CorsOrigin`];
    /// an empty list turns CORS off for these endpoints.
    ///
    /// ```
    /// # fn configure<P: attesto_runtime::Provider>(
    /// #     builder: attesto_runtime::Builder<P>,
    /// # ) -> Result<attesto_runtime::Builder<P>, attesto_runtime::ConfigError> {
    /// let builder = builder.cors_allowed_origins(["https://app.example", "http://localhost:5173"])?;
    /// # Ok(builder)
    /// # }
    /// ```
    ///
    /// A listed origin is echoed in `Access-Control-Allow-Origin`, with `Vary: Origin`; other
    /// origins get no CORS allowance. The discovery documents and the JWKS are public and always
    /// answer `Access-Control-Allow-Origin: *`; the authorization endpoint never answers CORS
    /// (browsers navigate to it).
    ///
    /// By default any origin may call them, with `Access-Control-Allow-Origin: *` and never
    /// `Access-Control-Allow-Credentials`. That is safe because these endpoints authenticate only
    /// through credentials the caller puts in the request itself (an `Authorization` header, a
    /// form field, a DPoP proof), never through cookies. A script can read a `*` answer only to
    /// a request sent without the browser's cookies or HTTP authentication entries (Fetch, "CORS
    /// protocol and credentials"), so a script on another origin learns nothing that its own
    /// server could not fetch directly. Set a list when something else acts as a credential, for
    /// instance when the server is reachable only from a private network a visitor's browser is on.
    pub fn cors_allowed_origins<I, S>(mut self, origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Vec::new();
        for origin in origins {
            let origin = origin.as_ref();
            let parsed =
                parse_origin(origin).map_err(|reason| ConfigError::CorsOrigin { origin: origin.to_owned(), reason })?;
            if !list.contains(&parsed) {
                list.push(parsed);
            }
        }
        self.cors_origins = AllowedOrigins::List(list);
        Ok(self)
    }

    /// Sets how long a device code and its user code live (RFC 8628 §3.2 `expires_in`; default
    /// 10 minutes, between 1 second and 1 day): the time the user has to enter the code and
    /// decide. Only used with `device_authorization`.
    pub fn device_code_ttl(mut self, ttl: Duration) -> Self {
        self.device_code_ttl = ttl;
        self
    }

    /// Sets the least time a device waits between two polls of the token endpoint (RFC 8628 §3.2
    /// `interval`; default 5 seconds, between 1 second and 1 minute, in whole seconds). A device
    /// that polls sooner is told `slow_down`, and its interval grows by 5 seconds. Only used with
    /// `device_authorization`.
    pub fn device_poll_interval(mut self, interval: Duration) -> Self {
        self.device_poll_interval = interval;
        self
    }

    /// Sets how many wrong user codes the device verification page takes a minute, overall
    /// (default 100) and from one client address (default 10, when the server provides axum's
    /// `ConnectInfo`), before it answers `429 Too Many Requests` without looking codes up for the
    /// rest of the minute (RFC 8628 §5.1). Each is at least 1. Only used with
    /// `device_authorization`.
    pub fn user_code_attempts(mut self, per_minute: u32, per_client_ip_per_minute: u32) -> Self {
        self.user_code_attempts = (per_minute.max(1), per_client_ip_per_minute.max(1));
        self
    }

    /// The settings the FAPI 2.0 profiles fix.
    fn apply_fapi2(&mut self) -> Result<(), ConfigError> {
        // Security Profile §5.3.2.2 clause 3: pushed authorization requests only.
        if P::PATHS.par.is_none() {
            return Err(ConfigError::Fapi2 {
                reason: "needs the PAR endpoint, which the provider declaration turns off (`par = false`)".to_owned(),
            });
        }
        // §5.3.2.1 clause 13: JWTs dated more than 60 seconds ahead are refused.
        if self.dpop_proof_max_skew > Duration::from_secs(60) {
            return Err(ConfigError::Fapi2 {
                reason: "refuses DPoP proofs dated more than 60 seconds ahead: `dpop_proof_max_skew` must be at most 60 seconds"
                    .to_owned(),
            });
        }
        self.require_pushed_authorization_requests = true;
        // §5.3.2.1 clause 8: only the issuer identifier as a client assertion's `aud`.
        self.client_assertion_audience = ClientAssertionAudience::IssuerOnly;
        if self.profile.is_message_signing() {
            // Message Signing §5.3: signed request objects, always.
            self.require_signed_request_objects = true;
        }
        Ok(())
    }

    /// Checks the settings, prepares the documents, and builds the provider.
    pub fn build(mut self) -> Result<Attesto<P>, ConfigError> {
        let issuer = self.issuer.take().ok_or(ConfigError::MissingIssuer)?;
        if self.well_known_forms == WellKnownForms::IssuerPathOnly && issuer.path().is_empty() {
            return Err(ConfigError::WellKnownNeedsIssuerPath { issuer: issuer.to_string() });
        }
        if let Some(subject) = P::FEATURES.dev_sign_in {
            check_dev_sign_in(subject, &issuer)?;
        }
        // The declaration's resource (`resource = "/mcp"`) is on the issuer's origin. It is
        // declared first, so that it also has the bare well-known path, whatever resources the
        // builder added; its metadata lists the provider's `scopes_supported`.
        let resource_url = P::PATHS.resource.map(|path| declared_resource_url(&issuer, path));
        if let Some(url) = &resource_url {
            let added = std::mem::take(&mut self.protected_resources);
            let scopes = self.scopes_supported.clone();
            self = self.protected_resource(url, scopes)?;
            self.protected_resources.extend(added);
        }
        if self.profile.is_fapi2() {
            self.apply_fapi2()?;
        }
        let signing_key = self.signing_key.ok_or(ConfigError::MissingSigningKey)?;
        let mut keys = KeySet::new(signing_key)?;
        for key in self.verification_keys {
            keys = keys.with_verification_key(key);
        }
        if self.access_token_ttl < Duration::from_secs(1) || self.access_token_ttl > Duration::from_secs(86_400) {
            return Err(ConfigError::Lifetime {
                what: "access_token_ttl",
                reason: "must be between 1 second and 24 hours",
            });
        }
        if self.refresh_token_ttl < Duration::from_secs(60)
            || self.refresh_token_ttl > Duration::from_secs(365 * 86_400)
        {
            return Err(ConfigError::Lifetime {
                what: "refresh_token_ttl",
                reason: "must be between 1 minute and 365 days",
            });
        }
        if self.profile.is_fapi2() {
            check_fapi2_keys(&keys)?;
        }
        if let Some(value) =
            self.acr_values_supported.iter().find(|value| value.is_empty() || value.contains(char::is_whitespace))
        {
            return Err(ConfigError::AcrValue { value: value.clone() });
        }
        if self.require_pushed_authorization_requests && P::PATHS.par.is_none() {
            return Err(ConfigError::ParRequiredWithoutPar);
        }
        if self.dpop_proof_max_age < Duration::from_secs(1) || self.dpop_proof_max_age > MAX_DPOP_WINDOW {
            return Err(ConfigError::Lifetime {
                what: "dpop_proof_max_age",
                reason: "must be between 1 second and 10 minutes",
            });
        }
        if self.dpop_proof_max_skew > MAX_DPOP_WINDOW {
            return Err(ConfigError::Lifetime { what: "dpop_proof_max_skew", reason: "must be at most 10 minutes" });
        }
        if self.device_code_ttl < Duration::from_secs(1) || self.device_code_ttl > Duration::from_secs(86_400) {
            return Err(ConfigError::Lifetime {
                what: "device_code_ttl",
                reason: "must be between 1 second and 24 hours",
            });
        }
        // RFC 8628 §3.2: `interval` is in whole seconds.
        if self.device_poll_interval < Duration::from_secs(1)
            || self.device_poll_interval > Duration::from_secs(60)
            || self.device_poll_interval.subsec_nanos() != 0
        {
            return Err(ConfigError::Lifetime {
                what: "device_poll_interval",
                reason: "must be whole seconds, between 1 second and 1 minute",
            });
        }
        if self.revocation_refresh_interval > revoked::MAX_REFRESH_INTERVAL {
            return Err(ConfigError::Lifetime {
                what: "revocation_refresh_interval",
                reason: "must be at most 1 hour",
            });
        }
        #[cfg(feature = "fetch")]
        let client_metadata = match self.client_metadata_documents {
            Some(documents) => {
                documents.check().map_err(|reason| ConfigError::ClientMetadataDocuments { reason })?;
                if documents.allow_loopback_for_development {
                    tracing::warn!(
                        "client ID metadata documents may be fetched from loopback and private addresses, and over http from a loopback host: for development only, never in production"
                    );
                }
                let supported =
                    self.scopes_supported.iter().filter_map(|s| crate::model::scope::Scope::parse(s).ok()).collect();
                let resolver = client_metadata::Resolver::new(documents, supported).map_err(|_| {
                    ConfigError::ClientMetadataDocuments { reason: "the HTTPS client could not be built" }
                })?;
                Some(resolver)
            }
            None => None,
        };
        #[cfg(feature = "fetch")]
        let identity_issuers = if self.trusted_identity_issuers.is_empty() {
            None
        } else {
            if self.provider.identity_assertion_policy().is_none() {
                let issuer = self.trusted_identity_issuers.first().map(|i| i.issuer().to_owned()).unwrap_or_default();
                return Err(ConfigError::TrustedIdentityIssuer {
                    issuer,
                    reason: "the host does not implement `IdentityAssertionPolicy`, which maps an assertion's subject to a user".to_owned(),
                });
            }
            // The draft's security considerations (cross-domain use): an identity provider must not
            // issue access tokens for the identity assertions it issued itself.
            if let Some(own) = self.trusted_identity_issuers.iter().find(|trusted| trusted.issuer() == issuer.as_str())
            {
                return Err(ConfigError::TrustedIdentityIssuer {
                    issuer: own.issuer().to_owned(),
                    reason: "is this provider's own issuer".to_owned(),
                });
            }
            let issuers: Arc<dyn crate::fetch::issuer_keys::IssuerKeys> =
                Arc::new(TrustedIssuers::new(std::mem::take(&mut self.trusted_identity_issuers))?);
            Some(issuers)
        };
        #[cfg(feature = "fetch")]
        let client_jwks = {
            if self.jwks_uri_loopback == JwksUriLoopback::AllowedForDevelopment {
                tracing::warn!(
                    "client `jwks_uri`s may be fetched from loopback and private addresses, and over http from a loopback host: for development only, never in production"
                );
            }
            ClientJwks::new(self.jwks_uri_loopback)
                .map_err(|_| ConfigError::ClientJwksFetcher { reason: "the HTTPS client could not be built" })?
        };
        #[cfg(feature = "fetch")]
        let backchannel = {
            if self.backchannel_delivery.allow_development {
                tracing::warn!(
                    "back-channel logout URIs may be http and point at loopback and private addresses: for development only, never in production"
                );
            }
            Notifier::new(self.backchannel_delivery)
                .map_err(|_| ConfigError::BackchannelLogoutSender { reason: "the HTTP client could not be built" })?
        };
        // Logout tokens are sent when sessions end at the end-session endpoint, and with an HTTP
        // client to send them.
        let backchannel_logout_supported =
            cfg!(feature = "fetch") && P::PATHS.end_session_endpoint(&P::FEATURES).is_some();
        #[cfg(feature = "fetch")]
        let backchannel_policy = match (backchannel_logout_supported, self.backchannel_delivery.allow_development) {
            (false, _) => BackchannelPolicy::Unsupported,
            (true, false) => BackchannelPolicy::Public,
            (true, true) => BackchannelPolicy::AllowedForDevelopment,
        };
        #[cfg(not(feature = "fetch"))]
        let backchannel_policy = BackchannelPolicy::Unsupported;
        #[cfg(feature = "fetch")]
        let client_id_metadata_document_supported = client_metadata.is_some();
        #[cfg(not(feature = "fetch"))]
        let client_id_metadata_document_supported = false;
        let default_audience = vec![self.default_audience.unwrap_or_else(|| issuer.as_str().to_owned())];
        let settings = Settings {
            issuer,
            access_token_ttl: self.access_token_ttl,
            refresh_token_ttl: self.refresh_token_ttl,
            resources: self.resources,
            default_audience,
            scopes_supported: self.scopes_supported,
            service_documentation: self.service_documentation,
            resource_url,
            cors_origins: self.cors_origins,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            require_signed_request_objects: self.require_signed_request_objects,
            dpop: DpopSettings {
                require_nonce: self.require_dpop_nonce,
                nonce_key: NonceKey::new(self.dpop_nonce_secret.as_ref().unwrap_or_else(|| process_nonce_secret())),
                max_age: self.dpop_proof_max_age,
                max_skew: self.dpop_proof_max_skew,
                profile: self.profile,
            },
            client_id_metadata_document_supported,
            device: DeviceSettings { code_ttl: self.device_code_ttl, interval: self.device_poll_interval },
            client_assertion_audience: self.client_assertion_audience,
            profile: self.profile,
            well_known_forms: self.well_known_forms,
            pairwise: self.pairwise_subject_secret.as_ref().map(PairwiseKey::new),
            backchannel_policy,
        };
        // A grant is listed only when it is served: token exchange with the host's policy,
        // identity assertions with a trusted issuer.
        let mut extra_grant_types = Vec::new();
        if self.provider.token_exchange_policy().is_some() {
            extra_grant_types.push(GrantType::TokenExchange.as_str());
        }
        #[cfg(feature = "fetch")]
        if identity_issuers.is_some() {
            extra_grant_types.push(GrantType::JwtBearer.as_str());
        }
        let signing_algorithms: Vec<&'static str> = keys.algorithms().into_iter().map(|alg| alg.as_str()).collect();
        let metadata = discovery::authorization_server_metadata(&MetadataSource {
            issuer: &settings.issuer,
            paths: &P::PATHS,
            features: &P::FEATURES,
            scopes_supported: &settings.scopes_supported,
            service_documentation: settings.service_documentation.as_deref(),
            require_pushed_authorization_requests: settings.require_pushed_authorization_requests,
            require_signed_request_objects: settings.require_signed_request_objects,
            client_id_metadata_document_supported: settings.client_id_metadata_document_supported,
            signing_algorithms: &signing_algorithms,
            extra_grant_types: &extra_grant_types,
            response_signing_algorithm: keys.signing_key().algorithm().as_str(),
            profile: settings.profile,
            acr_values_supported: &self.acr_values_supported,
            pairwise_subjects: settings.pairwise.is_some(),
            backchannel_logout_supported,
        });
        let mut documents = prepare_documents::<P>(&metadata, &keys);
        let dpop_algorithms = &metadata.dpop_signing_alg_values_supported;
        for resource in &self.protected_resources {
            let document = to_json(&ProtectedResourceMetadata {
                resource: &resource.resource,
                authorization_servers: [settings.issuer.as_str()],
                scopes_supported: &resource.scopes_supported,
                // RFC 9728 §2: tokens in the `Authorization` header only (RFC 6750 §2.1).
                bearer_methods_supported: ["header"],
                dpop_signing_alg_values_supported: dpop_algorithms,
            });
            let mut paths = vec![resource_metadata::metadata_path(&resource.url)];
            // The bare well-known path, for clients that look there first; the first resource
            // declared has it, unless the host root is left to another provider.
            if settings.well_known_forms == WellKnownForms::All {
                paths.push(resource_metadata::PRM_WELL_KNOWN.to_owned());
            }
            for path in paths {
                if !documents.protected_resources.iter().any(|(mounted, _)| *mounted == path) {
                    documents.protected_resources.push((path, document.clone()));
                }
            }
        }
        // A decoy for unknown client ids, so that they cost what a wrong secret costs.
        let decoy_secret: [u8; 32] = rand::random();
        let decoy_hash = SecretHash::from_bytes(decoy_secret);
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let browser_state_secret = self.browser_state_secret.as_ref().unwrap_or_else(|| process_browser_state_secret());
        let login_key = SealingKey::derive(browser_state_secret, "attesto login resume v1");
        Ok(Attesto::new(Parts {
            provider: self.provider,
            settings,
            keys,
            metadata,
            documents,
            decoy_hash,
            store,
            revoked: RevokedTokens::new(self.revocation_refresh_interval),
            login_key,
            #[cfg(feature = "fetch")]
            client_metadata,
            #[cfg(feature = "fetch")]
            identity_issuers,
            user_code_guesses: GuessLimiter::new(self.user_code_attempts.0, self.user_code_attempts.1),
            #[cfg(feature = "fetch")]
            client_jwks,
            #[cfg(feature = "fetch")]
            backchannel,
        }))
    }
}

impl<P: Provider> Attesto<P> {
    /// Starts configuring a provider for the host value `provider`.
    pub fn builder(provider: P) -> Builder<P> {
        Builder {
            provider,
            issuer: None,
            signing_key: None,
            verification_keys: Vec::new(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            resources: Vec::new(),
            default_audience: None,
            scopes_supported: Vec::new(),
            service_documentation: None,
            store: None,
            cors_origins: AllowedOrigins::Any,
            require_pushed_authorization_requests: false,
            require_signed_request_objects: false,
            require_dpop_nonce: false,
            dpop_nonce_secret: None,
            browser_state_secret: None,
            dpop_proof_max_age: dpop_proof::DEFAULT_MAX_AGE,
            dpop_proof_max_skew: dpop_proof::DEFAULT_MAX_SKEW,
            revocation_refresh_interval: revoked::DEFAULT_REFRESH_INTERVAL,
            protected_resources: Vec::new(),
            #[cfg(feature = "fetch")]
            client_metadata_documents: None,
            #[cfg(feature = "fetch")]
            trusted_identity_issuers: Vec::new(),
            device_code_ttl: Duration::from_secs(10 * 60),
            device_poll_interval: Duration::from_secs(5),
            user_code_attempts: (guesses::DEFAULT_PER_WINDOW, guesses::DEFAULT_PER_ADDRESS),
            client_assertion_audience: ClientAssertionAudience::default(),
            #[cfg(feature = "fetch")]
            jwks_uri_loopback: JwksUriLoopback::Refused,
            #[cfg(feature = "fetch")]
            backchannel_delivery: DeliveryPolicy::default(),
            profile: Profile::OAuth21,
            well_known_forms: WellKnownForms::All,
            acr_values_supported: Vec::new(),
            pairwise_subject_secret: None,
        }
    }
}

/// Serialises the discovery documents and the JWKS once, to be served as bytes.
fn prepare_documents<P: Provider>(metadata: &AuthorizationServerMetadata, keys: &KeySet) -> Documents {
    Documents {
        authorization_server: to_json(&metadata.oauth()),
        openid_configuration: P::FEATURES.openid.then(|| to_json(metadata)),
        jwks: to_json(&keys.jwks()),
        protected_resources: Vec::new(),
    }
}

/// Serialises a document; these have string keys only, so serialisation cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// `dev_sign_in` signs every visitor in: refused unless the issuer is on a loopback host, where
/// only this machine reaches it, and announced where a developer looks, on standard error as well
/// as in the log (a development program may have no `tracing` subscriber).
fn check_dev_sign_in(subject: &'static str, issuer: &Issuer) -> Result<(), ConfigError> {
    let loopback = url::Url::parse(issuer.as_str()).is_ok_and(|url| is_loopback_host(&url));
    if !loopback {
        return Err(ConfigError::DevSignInOffLoopback { subject, issuer: issuer.to_string() });
    }
    let warning = format!(
        "attesto: DEVELOPMENT SIGN-IN: every authorization request to {issuer} is signed in as `{subject}` and approved without a page (`dev_sign_in`); never deploy this"
    );
    tracing::warn!(target: "attesto::dev_sign_in", "{warning}");
    eprintln!("{warning}");
    Ok(())
}

/// FAPI 2.0 Security Profile §5.4.1 clauses 2 and 3: PS256, ES256 and Ed25519 only. The
/// provider's keys sign its tokens and responses, and a key kept for verification is still
/// offered to clients in the JWK Set, so every key must be one of these.
fn check_fapi2_keys(keys: &KeySet) -> Result<(), ConfigError> {
    match keys.algorithms().into_iter().find(|alg| !FAPI2_ALGORITHMS.iter().any(|ok| ok.as_str() == alg.as_str())) {
        Some(alg) => {
            Err(ConfigError::Fapi2 { reason: format!("allows ES256, PS256 and EdDSA keys only, not {}", alg.as_str()) })
        }
        None => Ok(()),
    }
}
