//! Building a provider: [`Attesto::builder`] → [`Builder`] → [`Attesto`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::model::client::{Client, ClientId, ClientSource, SecretHash};
#[cfg(feature = "fetch")]
use crate::fetch::client_metadata::{self, ClientMetadataDocuments};
use crate::endpoints::cors::{self, AllowedOrigins};
use crate::protocol::discovery::{self, AuthorizationServerMetadata};
use crate::protocol::dpop_proof;
use crate::dpop::check::{DpopSettings, NonceKey};
use crate::error::HostError;
use crate::error::{ErrorCode, OAuthError};
#[cfg(feature = "fetch")]
use crate::host::events::{ClientMetadataDocumentRefused, EventSink};
use crate::resource_server::guard;
use crate::keys::{Key, KeyError, KeySet};
use crate::host::provider::Provider;
use crate::host::registrations::RegistrationStore;
use crate::store::revoked::{self, RevokedTokens};
use crate::protocol::sealed::SealingKey;
use crate::store::{DynStore, MemoryStore, Store};

/// Why a provider could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an acceptable issuer identifier (RFC 8414 §2).
    #[error("invalid issuer `{issuer}`: {reason}")]
    Issuer {
        /// The value given.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A resource indicator is not an absolute URI without fragment (RFC 8707 §2).
    #[error("invalid resource `{resource}`: {reason}")]
    Resource {
        /// The value given.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No issuer was set.
    #[error("no issuer: call `.issuer(\"https://…\")` on the builder")]
    MissingIssuer,
    /// Pushed authorization requests are required, and the provider is declared without the PAR
    /// endpoint.
    #[error(
        "`require_pushed_authorization_requests(true)` needs the PAR endpoint, which the provider declaration turns off (`par = false`)"
    )]
    ParRequiredWithoutPar,
    /// [`Attesto::resource_guard`] on a provider whose declaration names no resource.
    #[error(
        "the provider declaration names no protected resource: add `resource = \"/…\"` to it, or use `Attesto::guard(url)`"
    )]
    NoDeclaredResource,
    /// No signing key was set.
    #[error(
        "no signing key: call `.signing_key(Key::from_pem(…)?)`, or `Key::generate_for_development()` in development"
    )]
    MissingSigningKey,
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A lifetime out of range.
    #[error("invalid {what}: {reason}")]
    Lifetime {
        /// Which setting.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allowed CORS origin is not an origin, `scheme://host[:port]` (HTML, "Origin").
    #[error("invalid CORS origin `{origin}`: {reason}")]
    CorsOrigin {
        /// The value given.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client ID metadata document settings are out of range, or their HTTPS client could
    /// not be built (feature `fetch`).
    #[error("invalid client ID metadata document settings: {reason}")]
    ClientMetadataDocuments {
        /// What is wrong.
        reason: &'static str,
    },
}

/// An issuer identifier (RFC 8414 §2): `https` (or `http` on a loopback host, for development),
/// no query, no fragment, no user info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The issuer as it appears in `iss`: origin and path, without a trailing slash.
    url: String,
    /// `scheme://host[:port]`, to which endpoint paths are appended.
    origin: String,
    /// The path component, empty or `/…` without a trailing slash.
    path: String,
}

impl Issuer {
    /// Parses and normalises an issuer (lower-case scheme and host, default port dropped, no
    /// trailing slash).
    pub fn parse(issuer: &str) -> Result<Self, ConfigError> {
        let error = |reason| ConfigError::Issuer { issuer: issuer.to_owned(), reason };
        let url = url::Url::parse(issuer).map_err(|_| error("not an absolute URL"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(error("no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(error("must use https (http is accepted only on a loopback host)")),
            _ => return Err(error("must use https")),
        }
        if url.query().is_some() || issuer.contains('?') {
            return Err(error("must not have a query"));
        }
        if url.fragment().is_some() || issuer.contains('#') {
            return Err(error("must not have a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(error("must not have user info"));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        // The path becomes part of well-known routes (RFC 8414 §3.1), so keep it to plain segments.
        let plain = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b));
        if !plain || path.contains("//") || path.split('/').any(|s| s == "." || s == "..") {
            return Err(error("the path may hold only letters, digits, `-`, `.`, `_`, `~`, `%` and single `/`"));
        }
        let origin = url.origin().ascii_serialization();
        Ok(Self { url: format!("{origin}{path}"), origin, path })
    }

    /// The issuer identifier, as in the `iss` claim.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The path component: empty, or `/…` without a trailing slash.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The absolute URL of a path on the issuer's host.
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// A resource indicator the provider issues tokens for (RFC 8707).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    /// As configured: what goes into `aud`.
    pub(crate) audience: String,
    /// Normalised, to compare requests against.
    pub(crate) normalized: String,
}

/// Parses an RFC 8707 §2 resource indicator: an absolute URI without a fragment. Returns its
/// normalised form (`url::Url` serialisation: lower-case scheme and host, default port dropped).
pub(crate) fn normalize_resource(value: &str) -> Result<String, &'static str> {
    let url = url::Url::parse(value).map_err(|_| "not an absolute URI")?;
    if url.fragment().is_some() || value.contains('#') {
        return Err("must not have a fragment");
    }
    Ok(url.into())
}

/// The URL of a declared resource path on the issuer's origin: `https://h/mcp`, or the origin
/// itself for the host root (the form RFC 9728 §3.1 and the MCP specification use).
fn declared_resource_url(issuer: &Issuer, path: &str) -> String {
    match path {
        "/" => issuer.origin().to_owned(),
        path => format!("{}{path}", issuer.origin()),
    }
}

/// The audiences of a token: the resources asked for (RFC 8707 §2), each one the provider knows,
/// or the default audience when none was asked for.
pub(crate) fn audiences<'s, 'v>(
    settings: &'s Settings,
    requested: impl Iterator<Item = &'v str>,
) -> Result<Cow<'s, [String]>, OAuthError> {
    let mut audience: Vec<String> = Vec::new();
    for value in requested {
        let normalized = normalize_resource(value)
            .map_err(|reason| OAuthError::new(ErrorCode::InvalidTarget, format!("`resource` {reason}")))?;
        let resource = settings.resources.iter().find(|r| r.normalized == normalized).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidTarget, "the requested resource is unknown to this server")
        })?;
        if !audience.contains(&resource.audience) {
            audience.push(resource.audience.clone());
        }
    }
    if audience.is_empty() {
        return Ok(Cow::Borrowed(&settings.default_audience));
    }
    Ok(Cow::Owned(audience))
}

/// The settings of a provider, set through the [`Builder`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) issuer: Issuer,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_token_ttl: Duration,
    pub(crate) resources: Vec<Resource>,
    pub(crate) default_audience: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) service_documentation: Option<String>,
    /// The URL of the declaration's protected resource (`resource = "/mcp"`), on the issuer's
    /// origin.
    pub(crate) resource_url: Option<String>,
    pub(crate) cors_origins: AllowedOrigins,
    /// RFC 9126 §5 `require_pushed_authorization_requests`.
    pub(crate) require_pushed_authorization_requests: bool,
    /// DPoP proofs: their `iat` window and server nonces (RFC 9449).
    pub(crate) dpop: DpopSettings,
    /// Whether `https` URLs are accepted as client ids (client ID metadata documents).
    pub(crate) client_id_metadata_document_supported: bool,
}

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
    require_dpop_nonce: bool,
    dpop_nonce_secret: Option<[u8; 32]>,
    browser_state_secret: Option<[u8; 32]>,
    dpop_proof_max_age: Duration,
    dpop_proof_max_skew: Duration,
    revocation_refresh_interval: Duration,
    protected_resources: Vec<ProtectedResource>,
    #[cfg(feature = "fetch")]
    client_metadata_documents: Option<ClientMetadataDocuments>,
}

/// A resource declared with [`Builder::protected_resource`]: its RFC 9728 document is served.
#[derive(Debug, Clone)]
struct ProtectedResource {
    resource: String,
    url: url::Url,
    scopes_supported: Vec<String>,
}

/// The RFC 9728 §2 metadata of a protected resource, as served.
#[derive(serde::Serialize)]
struct ProtectedResourceMetadata<'a> {
    resource: &'a str,
    authorization_servers: [&'a str; 1],
    scopes_supported: &'a [String],
    bearer_methods_supported: [&'static str; 1],
    dpop_signing_alg_values_supported: &'static [&'static str],
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
            scopes_supported: scopes_supported.into_iter().map(Into::into).collect(),
        });
        Ok(builder)
    }

    /// Sets the audience of tokens requested without `resource` (default: the issuer).
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
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
    /// for its `Cache-Control: max-age` within bounds, and served as a public [`Client`]; discovery
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
            let parsed = cors::parse_origin(origin)
                .map_err(|reason| ConfigError::CorsOrigin { origin: origin.to_owned(), reason })?;
            if !list.contains(&parsed) {
                list.push(parsed);
            }
        }
        self.cors_origins = AllowedOrigins::List(list);
        Ok(self)
    }

    /// Checks the settings, prepares the documents, and builds the provider.
    pub fn build(mut self) -> Result<Attesto<P>, ConfigError> {
        let issuer = self.issuer.take().ok_or(ConfigError::MissingIssuer)?;
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
            dpop: DpopSettings {
                require_nonce: self.require_dpop_nonce,
                nonce_key: NonceKey::new(self.dpop_nonce_secret.as_ref().unwrap_or_else(|| process_nonce_secret())),
                max_age: self.dpop_proof_max_age,
                max_skew: self.dpop_proof_max_skew,
            },
            client_id_metadata_document_supported,
        };
        let metadata = discovery::authorization_server_metadata::<P>(&settings, &keys);
        let mut documents = Documents::prepare::<P>(&metadata, &keys);
        for resource in &self.protected_resources {
            let document = to_json(&ProtectedResourceMetadata {
                resource: &resource.resource,
                authorization_servers: [settings.issuer.as_str()],
                scopes_supported: &resource.scopes_supported,
                // RFC 9728 §2: tokens in the `Authorization` header only (RFC 6750 §2.1).
                bearer_methods_supported: ["header"],
                dpop_signing_alg_values_supported: dpop_proof::SUPPORTED_ALGORITHMS,
            });
            let mut paths = vec![guard::metadata_path(&resource.url)];
            // The bare well-known path, for clients that look there first; the first resource
            // declared has it.
            paths.push(guard::PRM_WELL_KNOWN.to_owned());
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
        Ok(Attesto(Arc::new(Inner {
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
        })))
    }
}

/// Discovery documents and the JWKS, serialised once at start-up and served as bytes.
#[derive(Debug)]
pub(crate) struct Documents {
    pub(crate) authorization_server: Bytes,
    pub(crate) openid_configuration: Option<Bytes>,
    pub(crate) jwks: Bytes,
    /// The RFC 9728 documents of the protected resources, by the path they are served at.
    pub(crate) protected_resources: Vec<(String, Bytes)>,
}

impl Documents {
    fn prepare<P: Provider>(metadata: &AuthorizationServerMetadata, keys: &KeySet) -> Self {
        Self {
            authorization_server: to_json(&metadata.oauth()),
            openid_configuration: P::FEATURES.openid.then(|| to_json(metadata)),
            jwks: to_json(&keys.jwks()),
            protected_resources: Vec::new(),
        }
    }
}

/// Serialises a document; these have string keys only, so serialisation cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

pub(crate) struct Inner<P> {
    pub(crate) provider: P,
    pub(crate) settings: Settings,
    pub(crate) keys: KeySet,
    pub(crate) metadata: AuthorizationServerMetadata,
    pub(crate) documents: Documents,
    pub(crate) decoy_hash: SecretHash,
    pub(crate) store: Arc<dyn DynStore>,
    /// Revoked access-token ids, kept in process so that checking a token costs no store round
    /// trip, and refreshed from the store (RFC 7009 §2; see `revoked.rs`).
    pub(crate) revoked: RevokedTokens,
    /// The key of the login resume handles (see `authorize.rs`, `sealed.rs`).
    pub(crate) login_key: SealingKey,
    /// Client ID metadata documents, when accepted: their fetcher and cache.
    #[cfg(feature = "fetch")]
    pub(crate) client_metadata: Option<client_metadata::Resolver>,
}

/// A built provider: mount [`Attesto::router`] into the host's axum app.
///
/// Cloning is cheap (shared state).
///
/// ```no_run
/// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) {
/// let app = axum::Router::new().merge(auth.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
/// axum::serve(listener, app).await.unwrap();
/// # }
/// ```
pub struct Attesto<P>(pub(crate) Arc<Inner<P>>);

impl<P> Clone for Attesto<P> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<P> fmt::Debug for Attesto<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attesto").field("issuer", &self.0.settings.issuer.as_str()).finish_non_exhaustive()
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
            require_dpop_nonce: false,
            dpop_nonce_secret: None,
            browser_state_secret: None,
            dpop_proof_max_age: dpop_proof::DEFAULT_MAX_AGE,
            dpop_proof_max_skew: dpop_proof::DEFAULT_MAX_SKEW,
            revocation_refresh_interval: revoked::DEFAULT_REFRESH_INTERVAL,
            protected_resources: Vec::new(),
            #[cfg(feature = "fetch")]
            client_metadata_documents: None,
        }
    }

    /// The host value.
    pub fn provider(&self) -> &P {
        &self.0.provider
    }

    /// The issuer.
    pub fn issuer(&self) -> &Issuer {
        &self.0.settings.issuer
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.0.keys
    }

    /// The authorization server metadata, as served by discovery.
    pub fn metadata(&self) -> &AuthorizationServerMetadata {
        &self.0.metadata
    }
}

/// A client found by [`Attesto::find_client`], and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct FoundClient {
    pub(crate) client: Client,
    /// Not from the host's table: registered dynamically (RFC 7591), whose secret is attesto's
    /// SHA-256 hash, or read from a client ID metadata document, which has no secret. Either way
    /// a secret is verified by attesto, not by the host's `ClientStore::verify_client_secret`.
    pub(crate) registered: bool,
}

/// Why a client id names no client ([`Attesto::lookup_client`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoClient {
    /// Neither the host's table nor the registered clients know it.
    Unknown,
    /// It is a client ID metadata document URL, and the document could not be fetched or is
    /// invalid: the reason.
    #[cfg_attr(not(feature = "fetch"), allow(dead_code))]
    MetadataDocument(Cow<'static, str>),
}

impl NoClient {
    /// The `invalid_client` error that reports it.
    pub(crate) fn error(&self) -> OAuthError {
        match self {
            Self::Unknown => OAuthError::new(ErrorCode::InvalidClient, "unknown client"),
            Self::MetadataDocument(reason) => OAuthError::new(ErrorCode::InvalidClient, reason.clone()),
        }
    }
}

impl FoundClient {
    /// A stand-in for an unknown client id, with a random secret hash, so that an unknown client
    /// costs the same secret verification as a known one with a wrong secret: the host's, as it
    /// was before registration existed.
    pub(crate) fn decoy(client_id: &str, hash: &SecretHash) -> Self {
        Self { client: Client::confidential(client_id, *hash), registered: false }
    }
}

impl<P: Provider> Attesto<P> {
    /// Revokes an access token by its `jti`, the token expiring at `expires_at`: in the store (for
    /// the other instances and restarts), then in this process's copy that every token check
    /// reads. Listed until `expires_at` plus [`guard::EXPIRY_SKEW`]: a guard accepts a token that
    /// long past its `exp`, so a revocation dropped at `exp` would let it through again.
    pub(crate) async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        let until = expires_at + Duration::from_secs(guard::EXPIRY_SKEW);
        self.0.store.revoke_access_token(jti, until).await?;
        self.0.revoked.insert(jti, until);
        Ok(())
    }

    /// Revokes the refresh family `family_id` and every access token issued under it, the grant
    /// (RFC 7009 §2.1; RFC 9700 §4.14.2 and §4.5.3.1): no refresh token of the family works again
    /// (the family is kept revoked until `family_until`), and neither does any access token whose
    /// `grant_id` names it (see `revoked.rs`).
    ///
    /// The grant is listed until now plus the access-token lifetime (plus the guards' skew, see
    /// [`revoke_access_token`](Self::revoke_access_token)): the latest expiry of a token of the
    /// grant, since none is issued once the family is revoked (a refresh that rotated just before
    /// mints its token a moment after, and the skew covers that moment). The grant goes first:
    /// should the family's revocation then fail, the client can revoke again with a refresh token
    /// that still works, while after the reverse failure no token would be left to revoke with.
    pub(crate) async fn revoke_refresh_family(
        &self,
        family_id: &str,
        family_until: SystemTime,
    ) -> Result<(), HostError> {
        let grant = revoked::grant_key(&revoked::grant_id(family_id));
        self.revoke_access_token(&grant, SystemTime::now() + self.0.settings.access_token_ttl).await?;
        self.0.store.revoke_refresh_family(family_id, family_until).await
    }

    /// Whether an access token was revoked, by its `jti` or by its grant (`grant_id`), here or (up
    /// to one [`revocation_refresh_interval`](Builder::revocation_refresh_interval) ago) at any
    /// instance sharing the store. A store round trip at most once per interval, never per
    /// request.
    pub(crate) async fn is_access_token_revoked(
        &self,
        token: &crate::protocol::jwt::AccessTokenView,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.0.revoked.is_revoked(&*self.0.store, &token.jti, token.grant_id.as_deref(), now).await
    }

    /// Looks a client up (see [`lookup_client`](Self::lookup_client)); `None` whatever the reason
    /// it is not found.
    pub(crate) async fn find_client(&self, client_id: &str) -> Result<Option<FoundClient>, HostError> {
        Ok(self.lookup_client(client_id).await?.ok())
    }

    /// Looks a client up: the host's own table first ([`ClientStore`]), then, with registration
    /// on, the dynamically registered clients ([`RegistrationStore`]), then, with client ID
    /// metadata documents on, the document at a URL client id. A document that cannot be used
    /// makes the client unknown, with the reason, never a host error: the host is not at fault.
    pub(crate) async fn lookup_client(&self, client_id: &str) -> Result<Result<FoundClient, NoClient>, HostError> {
        let provider = &self.0.provider;
        if let Some(mut client) = provider.load_client(client_id).await? {
            client.source = ClientSource::Host;
            return Ok(Ok(FoundClient { client, registered: false }));
        }
        if let Some(store) = provider.registration_store()
            && let Some(registration) = store.load_registration(&ClientId::new(client_id)).await?
        {
            let mut client = registration.client;
            client.source = ClientSource::SelfAsserted;
            return Ok(Ok(FoundClient { client, registered: true }));
        }
        #[cfg(feature = "fetch")]
        if let Some(documents) = &self.0.client_metadata
            && client_metadata::is_document_url(client_id)
        {
            return Ok(match documents.resolve(client_id).await {
                Ok(mut client) => {
                    client.source = ClientSource::SelfAsserted;
                    Ok(FoundClient { client, registered: true })
                }
                Err(refusal) => {
                    provider.event_sink().client_metadata_document_refused(&ClientMetadataDocumentRefused {
                        client_id,
                        reason: &refusal.detail,
                    });
                    Err(NoClient::MetadataDocument(refusal.public))
                }
            });
        }
        Ok(Err(NoClient::Unknown))
    }

    /// Verifies a presented secret: the host verifies its own clients' secrets, attesto the
    /// secrets it issued at registration (their SHA-256, compared in constant time).
    pub(crate) async fn verify_client_secret(&self, found: &FoundClient, secret: &str) -> Result<bool, HostError> {
        if found.registered {
            return Ok(found.client.secret_hash.as_ref().is_some_and(|hash| hash.verify(secret)));
        }
        self.0.provider.verify_client_secret(&found.client, secret).await
    }
}
