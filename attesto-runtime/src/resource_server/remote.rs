//! The resource-server guard for a resource deployed apart from the provider (feature `fetch`):
//! the same token check as [`Attesto::guard`](crate::Attesto::guard) (`guard::authenticate`),
//! with the provider's keys fetched from its JWKS (RFC 7517 §5) and cached, instead of read in
//! process. What the guard does and cannot do is documented on [`RemoteGuard`], for the users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use axum::response::Response;
use http::{HeaderMap, Method};
use serde_json::Value;
use url::Url;

use crate::dpop::{self, check::DpopFailure, nonce::NonceKey};
use crate::error::ConfigError;
use crate::error::HostError;
use crate::fetch::{FetchError, FetchPolicy, Fetcher};
use crate::keys::Key;
use crate::model::issuer::Issuer;
use crate::model::loopback::is_loopback_host;
use crate::protocol::dpop_proof::{self, VerifiedProof};
use crate::protocol::jwt;
use crate::resource_server::guard::{self, Authenticated, BoxFuture, Check, Guard, Refusal, TokenAuthority};
use crate::settings::DpopSettings;
use crate::store::revoked::{self, RevokedTokens};
use crate::store::{DynStore, Store};
use crate::store::memory::MemoryStore;

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

/// The limits of a fetch of the metadata or the JWKS: both are small documents, and a request
/// waiting on a refresh (unknown `kid`) waits at most this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest metadata or JWKS document read: a JWKS of a few dozen RSA keys fits many times.
const FETCH_MAX_BYTES: usize = 256 * 1024;

/// Why a [`RemoteGuard`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteGuardError {
    /// The issuer or the resource is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A URL to fetch from is not valid or not allowed.
    #[error("invalid {what} `{url}`: {reason}")]
    Url {
        /// Which URL.
        what: &'static str,
        /// The URL given or found.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A refresh interval is out of range.
    #[error("`{what}` {reason}")]
    Interval {
        /// Which setting.
        what: &'static str,
        /// The range allowed.
        reason: &'static str,
    },
    /// The authorization server metadata could not be fetched or is not usable.
    #[error("the authorization server metadata at `{url}` could not be used: {reason}")]
    Metadata {
        /// The metadata URL (RFC 8414 §3.1).
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The metadata names another issuer than the one configured (RFC 8414 §3.3).
    #[error("the authorization server metadata at `{url}` is that of the issuer `{found}`, not `{expected}`")]
    IssuerMismatch {
        /// The metadata URL.
        url: String,
        /// The issuer configured.
        expected: String,
        /// The issuer the metadata names.
        found: String,
    },
    /// The JWKS could not be fetched or holds no usable key.
    #[error("the JWKS at `{url}` could not be used: {reason}")]
    Jwks {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A PEM text given to [`RemoteGuard::root_certificate_pem`] is not one or more CA
    /// certificates.
    #[error("the root certificate given to `root_certificate_pem` is not usable: {reason}")]
    RootCertificate {
        /// What is wrong with it.
        reason: &'static str,
    },
}

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
/// one configured (RFC 8414 §3.3), or takes its URL from [`jwks_uri`](Self::jwks_uri). It
/// fetches the JWKS when built and keeps its keys in memory:
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
    tolerate_unreachable_provider: bool,
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
            .field("tolerate_unreachable_provider", &self.tolerate_unreachable_provider)
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
            tolerate_unreachable_provider: false,
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

    /// Builds the guard even when the provider cannot be reached (default `false`: `build`
    /// fails). Until its keys have been fetched, the guard accepts no token and answers
    /// `503 temporarily_unavailable`, trying again on a request at most every
    /// [`jwks_min_refresh_interval`](Self::jwks_min_refresh_interval) and periodically. For a
    /// resource server that may start before its provider. A problem found in the fetched
    /// documents (metadata of another issuer, a JWKS without a usable key) is then logged as a
    /// warning at each attempt, and the guard stays at 503.
    pub fn tolerate_unreachable_provider(mut self, tolerate: bool) -> Self {
        self.tolerate_unreachable_provider = tolerate;
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

    /// Checks the configuration, fetches the provider's metadata (unless
    /// [`jwks_uri`](Self::jwks_uri) is set) and its JWKS, and starts the periodic refresh.
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
        let keys = Arc::new(RemoteKeys {
            issuer: self.issuer.clone(),
            fetchers,
            source,
            min_refresh_interval: self.jwks_min_refresh_interval,
            keys: RwLock::new(None),
            log: Mutex::default(),
            one_fetch: tokio::sync::Mutex::new(()),
        });
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
        };
        let authority = RemoteAuthority { keys: Arc::clone(&keys), revocations, store, dpop };
        // The resource is checked before anything is fetched.
        let guard = Guard::with_check(Arc::new(authority), &self.resource)?;
        let fetched = keys.fetch().await;
        match fetched {
            Ok(fetched) => keys.install(fetched),
            Err(error) if self.tolerate_unreachable_provider => {
                tracing::warn!(
                    %error,
                    "the provider's keys could not be fetched; the resource answers 503 until they can be"
                );
            }
            Err(error) => return Err(error),
        }
        keys.finished_fetch();
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

/// `text` as a URL attesto may fetch a metadata document or a JWKS from: absolute, `https`, or
/// `http` on a loopback host only.
fn fetchable_url(what: &'static str, text: &str) -> Result<Url, RemoteGuardError> {
    let invalid = |reason| RemoteGuardError::Url { what, url: text.to_owned(), reason };
    let url = Url::parse(text).map_err(|_| invalid("not an absolute URL"))?;
    if url.host().is_none() {
        return Err(invalid("has no host"));
    }
    match url.scheme() {
        "https" => Ok(url),
        // Tokens' keys over plain http can be swapped by anyone on the path: only on the
        // loopback interface, where there is no path.
        "http" if is_loopback_host(&url) => Ok(url),
        "http" => Err(invalid("must use https (http is accepted only on a loopback host)")),
        _ => Err(invalid("must use https")),
    }
}

/// The certificates of the PEM texts given to [`RemoteGuard::root_certificate_pem`]; a text
/// without any certificate is refused rather than ignored, so that a wrong file is not a silent
/// no-op that shows only as a failed fetch.
fn parse_root_certificates(pems: &[String]) -> Result<Vec<reqwest::Certificate>, RemoteGuardError> {
    let mut roots = Vec::new();
    for pem in pems {
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|_| RemoteGuardError::RootCertificate { reason: "a PEM certificate block is not valid base64" })?;
        if certificates.is_empty() {
            return Err(RemoteGuardError::RootCertificate {
                reason: "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            });
        }
        roots.extend(certificates);
    }
    Ok(roots)
}

/// The clients of the fetches: `https` anywhere, and plain `http` for the loopback URLs that
/// [`fetchable_url`] let through. Private addresses are allowed: the URLs are the operator's.
#[derive(Debug)]
struct Fetchers {
    https: Fetcher,
    loopback_http: Fetcher,
}

impl Fetchers {
    fn new(source: &JwksSource, extra_roots: Vec<reqwest::Certificate>) -> Result<Self, RemoteGuardError> {
        let policy = |allow_http| FetchPolicy {
            timeout: FETCH_TIMEOUT,
            max_bytes: FETCH_MAX_BYTES,
            allow_private_addresses: true,
            allow_http,
        };
        // Making a client fails only when the TLS backend cannot start: reported against the
        // first URL it was to fetch.
        let no_client = |error: FetchError| {
            let reason = format!("no HTTP client could be made: {error}");
            match source {
                JwksSource::Configured(url) => RemoteGuardError::Jwks { url: url.to_string(), reason },
                JwksSource::Discovered { metadata_url, .. } => {
                    RemoteGuardError::Metadata { url: metadata_url.to_string(), reason }
                }
            }
        };
        let loopback_http = Fetcher::new(policy(true)).map_err(no_client)?;
        // The extra roots are for TLS: the plain-http client has no use for them.
        let has_extra_roots = !extra_roots.is_empty();
        let https = match Fetcher::with_extra_roots(policy(false), extra_roots) {
            Ok(https) => https,
            // A client without them was just made: a certificate is what failed (its DER is
            // not a certificate the verifier can take as a trust anchor).
            Err(_) if has_extra_roots => {
                return Err(RemoteGuardError::RootCertificate {
                    reason: "a certificate cannot be loaded as a trust anchor",
                });
            }
            Err(error) => return Err(no_client(error)),
        };
        Ok(Self { https, loopback_http })
    }

    /// The client for `url`, one that [`fetchable_url`] accepted.
    fn client(&self, url: &Url) -> &Fetcher {
        if url.scheme() == "http" && is_loopback_host(url) { &self.loopback_http } else { &self.https }
    }
}

/// Where the JWKS is.
#[derive(Debug)]
enum JwksSource {
    /// At the URL the operator configured.
    Configured(Url),
    /// At the `jwks_uri` of the provider's RFC 8414 metadata, found once.
    Discovered {
        /// The metadata URL (RFC 8414 §3.1).
        metadata_url: Url,
        /// The JWKS URL, once the metadata was read.
        jwks_uri: OnceLock<Url>,
    },
}

/// The verification keys of the JWKS, by `kid`.
type KeyMap = HashMap<String, Key>;

/// The provider's keys, fetched from its JWKS and refreshed.
#[derive(Debug)]
struct RemoteKeys {
    /// The issuer, as configured: the metadata must name it.
    issuer: String,
    fetchers: Fetchers,
    source: JwksSource,
    min_refresh_interval: Duration,
    /// The keys of the last JWKS fetched and usable; `None` before the first.
    keys: RwLock<Option<Arc<KeyMap>>>,
    log: Mutex<FetchLog>,
    /// Held by the one task fetching the JWKS: requests that need a fetch wait for it and use
    /// what it fetched, instead of starting their own.
    one_fetch: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct FetchLog {
    /// When the last fetch, successful or not, finished.
    finished: Option<Instant>,
    /// When the last fetch caused by an unknown `kid` started.
    unknown_kid: Option<Instant>,
}

impl RemoteKeys {
    fn log(&self) -> MutexGuard<'_, FetchLog> {
        // A poisoned lock means a panic while holding it; the two instants are still valid.
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> Option<Arc<KeyMap>> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the keys with those of a JWKS just fetched: a key it no longer has stops
    /// verifying now.
    fn install(&self, keys: KeyMap) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(keys));
    }

    fn finished_fetch(&self) {
        self.log().finished = Some(Instant::now());
    }

    /// The key whose `kid` is `kid`, fetching the JWKS again if the cache does not know it and
    /// no such fetch happened in the last minimum interval. An error when no key was ever
    /// fetched: no token can be checked.
    async fn key(&self, kid: &str) -> Result<Option<Key>, HostError> {
        let arrived = Instant::now();
        if let Some(keys) = self.snapshot()
            && let Some(key) = keys.get(kid)
        {
            return Ok(Some(key.clone()));
        }
        self.refresh_for_unknown_kid(arrived).await;
        match self.snapshot() {
            Some(keys) => Ok(keys.get(kid).cloned()),
            None => Err(HostError::msg("the provider's keys could not be fetched yet")),
        }
    }

    /// Whether a fetch for an unknown `kid` started less than the minimum interval before `at`.
    fn cooling_down(&self, log: &FetchLog, at: Instant) -> bool {
        log.unknown_kid.is_some_and(|started| at.saturating_duration_since(started) < self.min_refresh_interval)
    }

    async fn refresh_for_unknown_kid(&self, arrived: Instant) {
        // Waits for a fetch under way, whose result may be just what this request needs.
        let _one_fetch = self.one_fetch.lock().await;
        {
            let mut log = self.log();
            // A fetch that finished after this request arrived saw what there is to see: its
            // result is this request's too. Within the minimum interval of the last fetch for an
            // unknown `kid`, the `kid` is unknown, full stop.
            if log.finished.is_some_and(|finished| finished >= arrived) || self.cooling_down(&log, arrived) {
                return;
            }
            log.unknown_kid = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(keys) => self.install(keys),
            Err(error) => tracing::warn!(%error, "the JWKS could not be fetched again for an unknown `kid`"),
        }
        self.finished_fetch();
    }

    /// The periodic refresh: a failure keeps the keys there are.
    async fn refresh_periodically(&self) {
        let _one_fetch = self.one_fetch.lock().await;
        match self.fetch().await {
            Ok(keys) => self.install(keys),
            Err(error) => {
                tracing::warn!(%error, "the periodic JWKS refresh failed; the keys fetched before are kept");
            }
        }
        self.finished_fetch();
    }

    /// Fetches the JWKS, discovering its URL first if it is not known yet.
    async fn fetch(&self) -> Result<KeyMap, RemoteGuardError> {
        let jwks_uri = match &self.source {
            JwksSource::Configured(url) => url.clone(),
            JwksSource::Discovered { metadata_url, jwks_uri } => match jwks_uri.get() {
                Some(url) => url.clone(),
                None => {
                    let url = self.discover(metadata_url).await?;
                    // Fetches are one at a time, so this is the first discovery; keep it.
                    let _ = jwks_uri.set(url.clone());
                    url
                }
            },
        };
        let jwks_error = |reason: String| RemoteGuardError::Jwks { url: jwks_uri.to_string(), reason };
        let body =
            self.fetchers.client(&jwks_uri).get(&jwks_uri).await.map_err(|error| jwks_error(error.to_string()))?;
        parse_jwks(&body).map_err(|reason| jwks_error(reason.to_owned()))
    }

    /// The JWKS URL of the provider's RFC 8414 metadata, after checking that the metadata is the
    /// configured issuer's (RFC 8414 §3.3: otherwise another server's keys would be trusted).
    async fn discover(&self, metadata_url: &Url) -> Result<Url, RemoteGuardError> {
        #[derive(serde::Deserialize)]
        struct Metadata {
            issuer: String,
            #[serde(default)]
            jwks_uri: Option<String>,
        }
        let url = metadata_url.to_string();
        let metadata: Metadata = self
            .fetchers
            .client(metadata_url)
            .get_json(metadata_url)
            .await
            .map_err(|error| RemoteGuardError::Metadata { url: url.clone(), reason: error.to_string() })?;
        if metadata.issuer != self.issuer {
            return Err(RemoteGuardError::IssuerMismatch {
                url,
                expected: self.issuer.clone(),
                found: metadata.issuer,
            });
        }
        let jwks_uri = metadata
            .jwks_uri
            .ok_or_else(|| RemoteGuardError::Metadata { url, reason: "it has no `jwks_uri`".to_owned() })?;
        fetchable_url("jwks_uri of the authorization server metadata", &jwks_uri)
    }
}

/// Fetches the JWKS every `period` for as long as the guard lives.
fn spawn_periodic_refresh(keys: &Arc<RemoteKeys>, period: Duration) {
    let keys: Weak<RemoteKeys> = Arc::downgrade(keys);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // The guard and every clone of it are gone: nothing to refresh for.
            let Some(keys) = keys.upgrade() else {
                return;
            };
            keys.refresh_periodically().await;
        }
    });
}

/// The usable verification keys of a JWKS document (RFC 7517 §5), by `kid`. A key that cannot
/// verify this provider's tokens is skipped, not fatal (a JWKS may hold encryption keys, or keys
/// of algorithms attesto does not verify); a JWKS with no usable key at all is an error.
fn parse_jwks(body: &[u8]) -> Result<KeyMap, &'static str> {
    #[derive(serde::Deserialize)]
    struct Jwks {
        keys: Vec<Value>,
    }
    let jwks: Jwks =
        serde_json::from_slice(body).map_err(|_| "the document is not a JWKS (a JSON object with a `keys` array)")?;
    let mut keys = KeyMap::new();
    for jwk in &jwks.keys {
        match usable_key(jwk) {
            // The first key of a `kid` wins: a JWKS should not repeat one (RFC 7517 §4.5).
            Ok((kid, key)) => {
                keys.entry(kid).or_insert(key);
            }
            Err(reason) => tracing::debug!(reason, "a key of the JWKS is skipped"),
        }
    }
    if keys.is_empty() {
        return Err("it holds no usable signature verification key");
    }
    Ok(keys)
}

/// One JWK as a verification key, with its `kid`, or why it is skipped.
fn usable_key(jwk: &Value) -> Result<(String, Key), &'static str> {
    let Value::Object(members) = jwk else {
        return Err("not a JSON object");
    };
    // Tokens name their key by `kid` (RFC 7515 §4.1.4): a key without one is never chosen.
    let kid = members.get("kid").and_then(Value::as_str).ok_or("no `kid`")?;
    if members.contains_key("d") {
        // A private key in a public document is the provider's mistake, and a serious one.
        tracing::warn!(kid, "the provider's JWKS publishes a private key; it is not used");
        return Err("a private key");
    }
    // RFC 7517 §4.2, §4.3: a key for encryption, or not for verifying, is not for tokens.
    match members.get("use") {
        None => {}
        Some(Value::String(usage)) if usage == "sig" => {}
        Some(_) => return Err("`use` is not `sig`"),
    }
    if let Some(ops) = members.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("`key_ops` has no `verify`");
        }
    }
    let key = Key::from_jwk(&jwk.to_string()).map_err(|_| "a key type or algorithm attesto does not verify")?;
    Ok((kid.to_owned(), key))
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
            // By `jti` and by grant: the provider lists both in the shared store (`revoked.rs`).
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
        Box::pin(guard::authenticate(self, method, headers, audience, htu, jwt::EXPIRY_SKEW))
    }

    fn add_fresh_dpop_nonce(&self, request: &HeaderMap, response: &mut Response) {
        dpop::check::add_fresh_nonce(&self.dpop, request, response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

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

    #[test]
    fn plain_http_is_fetched_only_from_a_loopback_host() {
        for url in
            ["https://auth.example.com/jwks", "http://127.0.0.1:8080/jwks", "http://[::1]/jwks", "http://localhost/j"]
        {
            assert!(fetchable_url("jwks_uri", url).is_ok(), "{url}");
        }
        let reason = |url: &str| match fetchable_url("jwks_uri", url) {
            Err(RemoteGuardError::Url { reason, .. }) => reason,
            other => panic!("{url}: {other:?}"),
        };
        assert_eq!(reason("http://auth.example.com/jwks"), "must use https (http is accepted only on a loopback host)");
        assert_eq!(reason("http://10.0.0.1/jwks"), "must use https (http is accepted only on a loopback host)");
        assert_eq!(reason("ftp://auth.example.com/jwks"), "must use https");
        assert_eq!(reason("/jwks"), "not an absolute URL");
    }

    fn public_jwk(alg: Algorithm) -> Value {
        Value::Object(Key::generate(alg).expect("key").public_jwk())
    }

    #[test]
    fn keys_that_cannot_verify_tokens_are_skipped() {
        let good = public_jwk(Algorithm::ES256);
        let mut no_kid = public_jwk(Algorithm::ES256);
        no_kid.as_object_mut().expect("object").remove("kid");
        let mut encryption = public_jwk(Algorithm::ES256);
        encryption["use"] = "enc".into();
        let mut wrap_only = public_jwk(Algorithm::ES256);
        wrap_only["key_ops"] = serde_json::json!(["wrapKey"]);
        let mut es384 = public_jwk(Algorithm::ES256);
        es384["alg"] = "ES384".into();
        let private = {
            let key = Key::generate(Algorithm::EdDSA).expect("key");
            let mut jwk = Value::Object(key.public_jwk());
            jwk["d"] = "AAAA".into();
            jwk
        };
        let symmetric = serde_json::json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" });
        let mut duplicate = public_jwk(Algorithm::EdDSA);
        duplicate["kid"] = good["kid"].clone();
        let jwks = serde_json::json!({
            "keys": [good, no_kid, encryption, wrap_only, es384, private, symmetric, duplicate, "not a key"]
        });
        let keys = parse_jwks(jwks.to_string().as_bytes()).expect("one usable key");
        assert_eq!(keys.len(), 1);
        let kid = good["kid"].as_str().expect("kid");
        assert_eq!(keys[kid].algorithm(), Algorithm::ES256, "the first key of a `kid` wins");
    }

    #[test]
    fn a_jwks_without_a_usable_key_is_an_error() {
        let only_encryption = {
            let mut jwk = public_jwk(Algorithm::ES256);
            jwk["use"] = "enc".into();
            serde_json::json!({ "keys": [jwk] })
        };
        assert_eq!(
            parse_jwks(only_encryption.to_string().as_bytes()).err(),
            Some("it holds no usable signature verification key")
        );
        assert_eq!(
            parse_jwks(b"{\"keys\": {}}").err(),
            Some("the document is not a JWKS (a JSON object with a `keys` array)")
        );
        assert_eq!(parse_jwks(b"<html>").err(), Some("the document is not a JWKS (a JSON object with a `keys` array)"));
    }
}
