//! The resource-server guard for a resource deployed apart from the provider (feature `fetch`):
//! the same token check as [`Attesto::guard`](crate::Attesto::guard) (`token_check::authenticate`),
//! with the provider's keys fetched from its JWKS (RFC 7517 §5) and cached, instead of read in
//! process. What the guard does and cannot do is documented on [`RemoteGuard`], for the users.

mod error;
mod fetchers;
mod jwks_cache;
mod trusted;

pub use error::RemoteGuardError;
pub use trusted::TrustedIssuer;
pub(crate) use trusted::TrustedIssuers;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::response::Response;
use http::{HeaderMap, Method};
use url::Url;

use crate::dpop::{self, check::DpopFailure, nonce::NonceKey};
use crate::error::HostError;
use crate::keys::Key;
use crate::model::issuer::Issuer;
use crate::protocol::dpop_proof::{self, VerifiedProof};
use crate::protocol::jwt;
use crate::resource_server::guard::{BoxFuture, Check, Guard};
use crate::resource_server::token_check::{self, Authenticated, Refusal, TokenAuthority};
use crate::settings::DpopSettings;
use crate::store::memory::MemoryStore;
use crate::store::revoked::{self, RevokedTokens};
use crate::store::{DynStore, Store};
use fetchers::{Fetchers, JwksSource, fetchable_url, parse_root_certificates};
use jwks_cache::{RemoteKeys, spawn_periodic_refresh};

/// The RFC 8414 §3 well-known suffix of the authorization server metadata.
const METADATA_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// The default [`RemoteGuard::jwks_refresh_interval`]: ten minutes.
pub const DEFAULT_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// The default [`RemoteGuard::jwks_min_refresh_interval`]: thirty seconds.
pub const DEFAULT_JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The shortest refresh interval accepted, periodic or on an unknown `kid`: below it, the guard
/// would fetch the JWKS about as often as it is asked.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest periodic refresh interval accepted: past it, a withdrawn key would verify for
/// longer than any sensible key rotation overlap.
const MAX_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest interval between refreshes on an unknown `kid` accepted: past it, tokens signed
/// with a freshly rotated key would be refused for longer than the rotation is worth.
const MAX_JWKS_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Builds a [`Guard`] for a resource server that runs without the provider in its process: the
/// same token check as [`Attesto::guard`](crate::Attesto::guard), with the provider's keys fetched
/// from its JWKS (RFC 7517 §5) over HTTPS and cached.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use attesto_runtime::{Authenticated, RemoteGuard};
/// use axum::routing::get;
///
/// let guard = RemoteGuard::new("https://auth.example.com", "https://mcp.example.com/mcp")
///     .build()
///     .await?
///     .require_scopes(["mcp:tools"]);
/// async fn tools(who: Authenticated) -> String {
///     who.subject
/// }
/// let app: axum::Router = axum::Router::new().route("/mcp", get(tools)).with_state(guard);
/// # Ok(()) }
/// ```
///
/// The guard finds the JWKS through the provider's RFC 8414 metadata, whose `issuer` must be the
/// one configured (RFC 8414 §3.3), or takes its URL from [`jwks_uri`](Self::jwks_uri). Nothing is
/// fetched when it is built, so that a resource server starts while its provider is down or not
/// started yet: the first request with a token discovers the provider and fetches the JWKS, and
/// keeps its keys in memory:
/// - until the keys have been fetched, a request with a token is answered `503
///   temporarily_unavailable` (the token cannot be verified, and a `401` would tell the client to
///   throw away a token that may be good); a failed attempt is tried again by a later request at
///   most once per [`jwks_min_refresh_interval`](Self::jwks_min_refresh_interval), and
///   concurrent requests share one attempt. A problem in the fetched documents (metadata of
///   another issuer, a JWKS without a usable key) is logged as a warning at each attempt. Set
///   [`fetch_keys_at_build`](Self::fetch_keys_at_build) to fetch in `build` and fail it instead;
/// - a token whose `kid` the cache does not know makes it fetch the JWKS again (the provider has
///   rotated its key), at most once per
///   [`jwks_min_refresh_interval`](Self::jwks_min_refresh_interval), so that a flood of tokens
///   with made-up `kid`s cannot make the resource hammer the provider; concurrent requests share
///   one fetch;
/// - the JWKS is fetched again every [`jwks_refresh_interval`](Self::jwks_refresh_interval), so
///   that a key the provider withdrew stops verifying; a failed fetch (or a JWKS with no usable
///   key) keeps the keys the guard has — the provider may be briefly away, its tokens are still
///   good — and logs a warning.
///
/// The provider's certificate is verified against the platform's trust store, plus the CAs given
/// to [`root_certificate_pem`](Self::root_certificate_pem) (a provider behind a private CA).
///
/// Keys without a `kid`, private keys, keys whose `use` is not `sig` or whose `key_ops` lack
/// `verify`, and keys of a type or algorithm attesto does not verify are skipped.
///
/// The rest is the in-process guard's check, the same code: `typ`, `iss`, `aud` = this resource
/// (RFC 8707, no token passthrough), expiry with a small skew, required scopes, DPoP binding
/// (proof, `ath`, replay, nonce), revoked `jti`s without a store round trip per request, and the
/// same 401/403 answers with `resource_metadata` in every challenge (RFC 9728 §5.1). Two things
/// differ, because the provider's state is not in this process:
/// - revocations (RFC 7009) are seen only through a [`Store`] shared with the provider
///   ([`store`](Self::store), e.g. the `PostgresStore` the provider's instances share), read at
///   most every [`revocation_refresh_interval`](Self::revocation_refresh_interval). **Without
///   one, a revoked token is accepted until it expires**: its lifetime is the only bound;
/// - the provider's client table is not visible, so a token whose client was deleted keeps
///   working until it expires (the in-process guard refuses it at once).
#[must_use]
pub struct RemoteGuard {
    issuer: String,
    resource: String,
    jwks_uri: Option<String>,
    store: Option<Arc<dyn DynStore>>,
    revocation_refresh_interval: Duration,
    jwks_refresh_interval: Duration,
    jwks_min_refresh_interval: Duration,
    dpop_nonce_secret: Option<[u8; 32]>,
    fetch_keys_at_build: bool,
    /// The PEM texts of [`root_certificate_pem`](Self::root_certificate_pem), parsed by `build`.
    root_certificates: Vec<String>,
}

impl std::fmt::Debug for RemoteGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteGuard")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("jwks_uri", &self.jwks_uri)
            .field("store", &self.store.is_some())
            .field("revocation_refresh_interval", &self.revocation_refresh_interval)
            .field("jwks_refresh_interval", &self.jwks_refresh_interval)
            .field("jwks_min_refresh_interval", &self.jwks_min_refresh_interval)
            .field("require_dpop_nonce", &self.dpop_nonce_secret.is_some())
            .field("fetch_keys_at_build", &self.fetch_keys_at_build)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

impl RemoteGuard {
    /// A guard for the resource at `resource` (an absolute URL, the `aud` its tokens carry,
    /// RFC 8707) accepting the tokens of the provider whose issuer identifier is `issuer`
    /// (exactly as in their `iss`). Its JWKS is found through its RFC 8414 metadata, unless
    /// [`jwks_uri`](Self::jwks_uri) names it.
    pub fn new(issuer: &str, resource: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            resource: resource.to_owned(),
            jwks_uri: None,
            store: None,
            revocation_refresh_interval: revoked::DEFAULT_REFRESH_INTERVAL,
            jwks_refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
            jwks_min_refresh_interval: DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
            dpop_nonce_secret: None,
            fetch_keys_at_build: false,
            root_certificates: Vec::new(),
        }
    }

    /// Takes the provider's keys from the JWKS at `url` instead of discovering its URL from the
    /// provider's metadata.
    ///
    /// Like the issuer, it must be `https`, or `http` on a loopback host (development). Private
    /// addresses are allowed: these URLs are the operator's, and a provider on an internal
    /// network is normal.
    pub fn jwks_uri(mut self, url: &str) -> Self {
        self.jwks_uri = Some(url.to_owned());
        self
    }

    /// Shares `store` with the provider: revoked access tokens are read from it (at most every
    /// [`revocation_refresh_interval`](Self::revocation_refresh_interval), never per request),
    /// and the `jti`s of accepted DPoP proofs are recorded in it, so that a proof is accepted
    /// once across every instance of the resource sharing it (RFC 9449 §11.1).
    ///
    /// Without a store, DPoP proofs are remembered in memory (per instance), and revocations
    /// are not seen at all: a revoked token is accepted until it expires.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Sets how often the revoked access tokens are read from the [`store`](Self::store)
    /// (default 5 seconds; from zero to one hour): a token revoked at the provider is refused
    /// here at most this long after.
    pub fn revocation_refresh_interval(mut self, interval: Duration) -> Self {
        self.revocation_refresh_interval = interval;
        self
    }

    /// Sets how often the JWKS is fetched again (default 10 minutes; from 1 second to 1 day):
    /// a key the provider withdrew stops verifying here at most this long after.
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_refresh_interval = interval;
        self
    }

    /// Sets the least time between two fetches of the JWKS caused by tokens whose `kid` the
    /// cache does not know (default 30 seconds; from 1 second to 1 hour). The first such token
    /// causes a fetch at once, so that a key rotation is picked up with the first token signed
    /// by the new key; later ones within this interval are refused without a fetch.
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refresh_interval = interval;
        self
    }

    /// Requires a server nonce in DPoP proofs (RFC 9449 §9), made and verified with `secret`:
    /// give every instance of the resource the same secret (and, to let clients reuse one nonce
    /// for both, the provider's
    /// [`dpop_nonce_secret`](crate::Builder::dpop_nonce_secret)). A proof without a current
    /// nonce is refused with `use_dpop_nonce` and a fresh nonce in `DPoP-Nonce`.
    pub fn require_dpop_nonce(mut self, secret: [u8; 32]) -> Self {
        self.dpop_nonce_secret = Some(secret);
        self
    }

    /// Fetches the provider's metadata (unless [`jwks_uri`](Self::jwks_uri) is set) and its JWKS
    /// in [`build`](Self::build), which then fails when they cannot be fetched or used (default
    /// `false`: nothing is fetched before the first request, see [`RemoteGuard`]). For a
    /// deployment that would rather not start than start unable to verify a token, and to find a
    /// wrong issuer or JWKS URL at start-up rather than in the logs.
    pub fn fetch_keys_at_build(mut self, fetch: bool) -> Self {
        self.fetch_keys_at_build = fetch;
        self
    }

    /// Trusts the CA certificate(s) of `pem` (one or more `-----BEGIN CERTIFICATE-----` blocks)
    /// for this guard's fetches of the metadata and the JWKS, in addition to the platform's
    /// trust store: for a provider whose certificate comes from a private CA. May be called more
    /// than once; every CA given is trusted. The host name is still checked against the
    /// certificate, and the other roots still apply.
    ///
    /// A text that is not PEM certificates fails [`build`](Self::build) with
    /// [`RemoteGuardError::RootCertificate`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use attesto_runtime::RemoteGuard;
    ///
    /// let ca = std::fs::read_to_string("/etc/attesto/internal-ca.pem")?;
    /// let guard = RemoteGuard::new("https://auth.internal.example", "https://mcp.example.com/mcp")
    ///     .root_certificate_pem(&ca)
    ///     .build()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn root_certificate_pem(mut self, pem: &str) -> Self {
        self.root_certificates.push(pem.to_owned());
        self
    }

    /// Checks the configuration and starts the periodic refresh; the provider's metadata (unless
    /// [`jwks_uri`](Self::jwks_uri) is set) and its JWKS are fetched at the first request that
    /// needs them, or here with [`fetch_keys_at_build`](Self::fetch_keys_at_build).
    ///
    /// Must run in a Tokio runtime (as axum does): the periodic refresh is a task of it, which
    /// ends when the last clone of the guard is dropped.
    pub async fn build(self) -> Result<Guard, RemoteGuardError> {
        // Validated as a provider validates its own issuer, kept verbatim: RFC 8414 §3.3 and RFC
        // 9068 §4 compare issuers as exact strings.
        Issuer::parse(&self.issuer)?;
        check_interval(
            "revocation_refresh_interval",
            self.revocation_refresh_interval,
            Duration::ZERO,
            revoked::MAX_REFRESH_INTERVAL,
            "must be at most 1 hour",
        )?;
        check_interval(
            "jwks_refresh_interval",
            self.jwks_refresh_interval,
            MIN_INTERVAL,
            MAX_JWKS_REFRESH_INTERVAL,
            "must be from 1 second to 1 day",
        )?;
        check_interval(
            "jwks_min_refresh_interval",
            self.jwks_min_refresh_interval,
            MIN_INTERVAL,
            MAX_JWKS_MIN_REFRESH_INTERVAL,
            "must be from 1 second to 1 hour",
        )?;
        let source = match &self.jwks_uri {
            Some(jwks_uri) => JwksSource::Configured(fetchable_url("jwks_uri", jwks_uri)?),
            None => JwksSource::Discovered {
                metadata_url: fetchable_url("issuer", &metadata_url(&self.issuer))?,
                jwks_uri: OnceLock::new(),
            },
        };
        let roots = parse_root_certificates(&self.root_certificates)?;
        let fetchers = Fetchers::new(&source, roots)?;
        let keys = Arc::new(RemoteKeys::new(self.issuer.clone(), fetchers, source, self.jwks_min_refresh_interval));
        let (revocations, store): (_, Arc<dyn DynStore>) = match self.store {
            Some(store) => (Some(RevokedTokens::new(self.revocation_refresh_interval)), store),
            None => (None, Arc::new(MemoryStore::new())),
        };
        let dpop = DpopSettings {
            require_nonce: self.dpop_nonce_secret.is_some(),
            // Without nonces required, the key is never used; a random one keeps the type simple.
            nonce_key: NonceKey::new(&self.dpop_nonce_secret.unwrap_or_else(rand::random)),
            max_age: dpop_proof::DEFAULT_MAX_AGE,
            max_skew: dpop_proof::DEFAULT_MAX_SKEW,
            // The provider's profile is not known here; its tokens were issued under it.
            profile: crate::model::profile::Profile::default(),
        };
        let authority = RemoteAuthority { keys: Arc::clone(&keys), revocations, store, dpop };
        // The resource is checked before anything is fetched.
        let guard = Guard::with_check(Arc::new(authority), &self.resource)?;
        // Otherwise discovery is lazy: the first request that needs a key finds no key cached
        // and fetches (`RemoteKeys::key`), sharing the attempt with the requests beside it.
        if self.fetch_keys_at_build {
            keys.install(keys.fetch().await?);
            keys.finished_fetch();
        }
        spawn_periodic_refresh(&keys, self.jwks_refresh_interval);
        Ok(guard)
    }
}

fn check_interval(
    what: &'static str,
    interval: Duration,
    min: Duration,
    max: Duration,
    reason: &'static str,
) -> Result<(), RemoteGuardError> {
    if interval < min || interval > max {
        return Err(RemoteGuardError::Interval { what, reason });
    }
    Ok(())
}

/// The URL of the RFC 8414 metadata of `issuer`: the well-known suffix inserted between the host
/// and the issuer's path, without the path's terminating `/` (RFC 8414 §3.1).
fn metadata_url(issuer: &str) -> String {
    match Url::parse(issuer) {
        Ok(url) => {
            let path = url.path().trim_end_matches('/');
            format!("{}{METADATA_WELL_KNOWN}{path}", url.origin().ascii_serialization())
        }
        // `Issuer::parse` accepted it already; keep the text for the error message otherwise.
        Err(_) => issuer.to_owned(),
    }
}

/// The token check of a remote guard: keys from the JWKS cache, revocations from the shared
/// store if there is one, DPoP proofs remembered in it (or in memory).
struct RemoteAuthority {
    keys: Arc<RemoteKeys>,
    /// The revoked `jti`s read from `store`; `None` without a store shared with the provider.
    revocations: Option<RevokedTokens>,
    /// The replay memory of DPoP proofs, and the revocations' source.
    store: Arc<dyn DynStore>,
    dpop: DpopSettings,
}

impl TokenAuthority for RemoteAuthority {
    fn expected_issuer(&self) -> &str {
        &self.keys.issuer
    }

    async fn verification_key(&self, kid: &str) -> Result<Option<Key>, HostError> {
        self.keys.key(kid).await
    }

    async fn is_token_revoked(&self, token: &jwt::AccessTokenView, now: SystemTime) -> Result<bool, HostError> {
        match &self.revocations {
            // By `jti` and by grant: the provider lists both in the shared store (`store/revoked.rs`).
            Some(revocations) => revocations.is_revoked(&*self.store, &token.jti, token.grant_id.as_deref(), now).await,
            // Without the provider's store, revocations cannot be seen (see the module docs).
            None => Ok(false),
        }
    }

    async fn client_exists(&self, _client_id: &str) -> Result<bool, HostError> {
        // The provider's client table is not visible from here: a token outlives its deleted
        // client by at most its lifetime (see the module docs).
        Ok(true)
    }

    async fn check_dpop_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        htu: &str,
        access_token: &str,
    ) -> Result<Option<VerifiedProof>, DpopFailure> {
        let result = dpop::check::check_proof(&self.dpop, &*self.store, headers, method, htu, Some(access_token)).await;
        // No provider here, so no `EventSink`: the replay is logged where the provider's
        // default sink logs its `dpop_proof_replayed` events.
        if let Err(DpopFailure::Replayed { jkt, jti }) = &result {
            tracing::warn!(target: "attesto::events", jkt, jti, method, uri = htu, "DPoP proof replay refused");
        }
        result
    }
}

impl Check for RemoteAuthority {
    fn check<'a>(
        &'a self,
        method: &'a Method,
        headers: &'a HeaderMap,
        audience: &'a str,
        htu: &'a str,
    ) -> BoxFuture<'a, Result<Authenticated, Refusal>> {
        Box::pin(token_check::authenticate(
            self,
            method,
            headers,
            audience,
            htu,
            jwt::EXPIRY_SKEW,
            token_check::LegacyAccess::NotOffered,
        ))
    }

    fn add_fresh_dpop_nonce(&self, request: &HeaderMap, response: &mut Response) {
        dpop::check::add_fresh_nonce(&self.dpop, request, response);
    }

    fn issuer(&self) -> &str {
        &self.keys.issuer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_inserts_the_well_known_suffix_before_the_issuer_path() {
        // RFC 8414 §3.1.
        assert_eq!(
            metadata_url("https://auth.example.com"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            metadata_url("https://auth.example.com/"),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            metadata_url("https://auth.example.com:8443/tenant/one"),
            "https://auth.example.com:8443/.well-known/oauth-authorization-server/tenant/one"
        );
    }
}
