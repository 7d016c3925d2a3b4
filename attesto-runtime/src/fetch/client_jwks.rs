//! The JWK Sets of `private_key_jwt` clients that publish them at a `jwks_uri` (RFC 7591 §2,
//! RFC 7523 §2.2), fetched through the hardened fetcher and cached (feature `fetch`).
//!
//! A `jwks_uri` is the client's choice, so it is fetched as a client ID metadata document is:
//! public addresses only (unless the development switch allows loopback), one deadline, a size
//! cap. A JWK Set is kept [`TTL`]; an assertion whose `kid` the cached set does not have makes
//! it fetched again, at most once per [`MIN_REFETCH_INTERVAL`] per URL (`DocumentCache::refetch`),
//! so that a client that rotated its key is served at once and a flood of made-up `kid`s costs
//! one fetch per interval.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::fetch::cache::DocumentCache;
use crate::fetch::{FetchError, FetchPolicy, Fetcher};
use crate::model::loopback::is_loopback_host;
use crate::protocol::client_assertion::{ClientKey, usable_keys};

/// How long a fetched JWK Set is used before it is fetched again.
pub(crate) const TTL: Duration = Duration::from_secs(5 * 60);

/// The shortest time between two fetches of one JWK Set for an unknown `kid`.
pub(crate) const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The deadline of one fetch.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The largest JWK Set read: eight RSA-4096 keys take about 6 KiB.
const MAX_BYTES: usize = 64 * 1024;

/// The most JWK Sets kept.
const MAX_CACHED: usize = 1000;

/// The most fetches at once: the bound on the outgoing connections clients can make attesto
/// hold.
const MAX_CONCURRENT_FETCHES: usize = 16;

/// What a client is told when the bound on concurrent fetches holds its fetch back too long.
const BUSY: &str = "too many client documents are being fetched at once: try again later";

/// The keys of a JWK Set, shared by the lookups that read it.
pub(crate) type Keys = Arc<Vec<ClientKey>>;

/// Whether a `jwks_uri` may be on a loopback host, over `http`: development only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum JwksUriLoopback {
    /// `https` on a public address only.
    #[default]
    Refused,
    /// Also loopback and private addresses, and `http` on a loopback host.
    AllowedForDevelopment,
}

/// The fetcher and cache of clients' JWK Sets.
#[derive(Debug)]
pub(crate) struct ClientJwks {
    fetcher: Fetcher,
    loopback: JwksUriLoopback,
    cache: DocumentCache<Keys, Cow<'static, str>>,
    fetches: tokio::sync::Semaphore,
}

impl ClientJwks {
    /// A fetcher under `loopback`'s policy, with an empty cache.
    pub(crate) fn new(loopback: JwksUriLoopback) -> Result<Self, FetchError> {
        let development = loopback == JwksUriLoopback::AllowedForDevelopment;
        let fetcher = Fetcher::new(FetchPolicy {
            timeout: TIMEOUT,
            max_bytes: MAX_BYTES,
            allow_private_addresses: development,
            // `checked_url` lets `http` through only for a loopback host.
            allow_http: development,
        })?;
        Ok(Self {
            fetcher,
            loopback,
            cache: DocumentCache::new(MAX_CACHED),
            fetches: tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES),
        })
    }

    /// The keys at `jwks_uri`, fetched again (once per [`MIN_REFETCH_INTERVAL`]) when none has
    /// the `kid` an assertion names; or what the client is told of why there are none.
    pub(crate) async fn keys(&self, jwks_uri: &str, kid: Option<&str>) -> Result<Keys, Cow<'static, str>> {
        let url = self.checked_url(jwks_uri)?;
        let keys = self.cache.get_or_fetch(jwks_uri, || self.fetch(&url)).await?;
        let knows_kid = kid.is_none_or(|kid| keys.iter().any(|key| key.kid() == Some(kid)));
        if knows_kid {
            return Ok(keys);
        }
        match self.cache.refetch(jwks_uri, MIN_REFETCH_INTERVAL, || self.fetch(&url)).await {
            Some(refetched) => refetched,
            None => Ok(keys),
        }
    }

    /// `jwks_uri` as a URL this server fetches: `https`, or under the development switch `http`
    /// on a loopback host.
    fn checked_url(&self, jwks_uri: &str) -> Result<Url, Cow<'static, str>> {
        let url = Url::parse(jwks_uri).map_err(|_| "the client's `jwks_uri` is not a URL")?;
        if self.fetches_from(&url) { Ok(url) } else { Err("the client's `jwks_uri` must use https".into()) }
    }

    /// Whether a client's URL is one this server fetches: `https`, or under the development
    /// switch `http` on a loopback host.
    fn fetches_from(&self, url: &Url) -> bool {
        match url.scheme() {
            "https" => true,
            "http" => self.loopback == JwksUriLoopback::AllowedForDevelopment && is_loopback_host(url),
            _ => false,
        }
    }

    /// The list of URIs at a registering client's `sector_identifier_uri` (OpenID Connect
    /// Registration §5: a JSON array of strings), fetched once, under the policy and the bound on
    /// concurrent fetches of the JWK Sets: the same kind of URL, named by the same strangers.
    /// Never cached: it is read at registration only. The error is what the client is told.
    pub(crate) async fn sector_uris(&self, url: &Url) -> Result<Vec<String>, Cow<'static, str>> {
        const NOT_FETCHED: &str = "the document at `sector_identifier_uri` could not be fetched";
        if !self.fetches_from(url) {
            return Err("`sector_identifier_uri` must use https".into());
        }
        let _permit =
            tokio::time::timeout(TIMEOUT / 2, self.fetches.acquire()).await.map_err(|_| BUSY)?.map_err(|_| BUSY)?;
        self.fetcher.get_json::<Vec<String>>(url).await.map_err(|error| {
            tracing::info!(%url, %error, "a client's sector identifier document could not be fetched");
            match error {
                FetchError::Json => "the document at `sector_identifier_uri` must be a JSON array of URIs".into(),
                _ => NOT_FETCHED.into(),
            }
        })
    }

    async fn fetch(&self, url: &Url) -> Result<(Keys, Duration), Cow<'static, str>> {
        const NOT_FETCHED: &str = "the client's `jwks_uri` could not be fetched";
        // The permit is held for the fetch; the semaphore is never closed.
        let _permit =
            tokio::time::timeout(TIMEOUT / 2, self.fetches.acquire()).await.map_err(|_| BUSY)?.map_err(|_| BUSY)?;
        // The client is told which step failed, never what the fetch learnt (addresses, status,
        // content): the logs have that.
        let document: serde_json::Value = self.fetcher.get_json(url).await.map_err(|error| {
            tracing::info!(%url, %error, "a client's JWK Set could not be fetched");
            NOT_FETCHED
        })?;
        let keys = usable_keys(&document);
        if keys.is_empty() {
            return Err("the JWK Set at the client's `jwks_uri` holds no usable public signature key".into());
        }
        Ok((Arc::new(keys), TTL))
    }
}
