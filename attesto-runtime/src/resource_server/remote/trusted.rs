//! The enterprise identity providers whose Identity Assertion JWT Authorization Grants the token
//! endpoint accepts ([`TrustedIssuer`], given to
//! [`Builder::trusted_identity_issuer`](crate::Builder::trusted_identity_issuer)), and their keys:
//! the remote guard's JWKS cache, one per issuer.

use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use super::fetchers::{Fetchers, JwksSource, fetchable_url, parse_root_certificates};
use super::jwks_cache::{RemoteKeys, spawn_periodic_refresh};
use super::{
    DEFAULT_JWKS_MIN_REFRESH_INTERVAL, DEFAULT_JWKS_REFRESH_INTERVAL, MAX_JWKS_MIN_REFRESH_INTERVAL,
    MAX_JWKS_REFRESH_INTERVAL, MIN_INTERVAL, metadata_url,
};
use crate::error::ConfigError;
use crate::fetch::issuer_keys::{IssuerKeys, KeyLookup};
use crate::model::issuer::Issuer;
use crate::model::loopback::is_loopback_host;

/// An enterprise identity provider (IdP) whose Identity Assertion JWT Authorization Grants
/// (ID-JAG, `draft-ietf-oauth-identity-assertion-authz-grant`) this provider accepts at its token
/// endpoint, with the `urn:ietf:params:oauth:grant-type:jwt-bearer` grant (feature `fetch`).
///
/// ```
/// use attesto_runtime::TrustedIssuer;
///
/// let idp = TrustedIssuer::new("https://acme.idp.example");
/// # let _ = idp;
/// ```
///
/// Its keys come from its JWKS (RFC 7517 §5), found through its RFC 8414 metadata (at
/// `/.well-known/oauth-authorization-server` followed by the issuer's path, RFC 8414 §3.1; the
/// metadata must name this very issuer, §3.3) unless [`jwks_uri`](Self::jwks_uri) names it. The
/// JWKS is fetched on the first assertion, cached by `kid`, fetched again on an unknown `kid` (at
/// most once per [`jwks_min_refresh_interval`](Self::jwks_min_refresh_interval), concurrent
/// requests sharing one fetch) and every [`jwks_refresh_interval`](Self::jwks_refresh_interval),
/// so that a withdrawn key stops verifying. Fetches are `https` only, with the remote guard's
/// limits (5 s, 256 KiB); plain `http` on a loopback host only with
/// [`allow_loopback_for_development`](Self::allow_loopback_for_development).
#[derive(Debug, Clone)]
#[must_use]
pub struct TrustedIssuer {
    issuer: String,
    jwks_uri: Option<String>,
    jwks_refresh_interval: Duration,
    jwks_min_refresh_interval: Duration,
    allow_loopback_for_development: bool,
    root_certificates: Vec<String>,
}

impl TrustedIssuer {
    /// The identity provider whose issuer identifier is `issuer`, exactly as in its assertions'
    /// `iss` and its metadata's `issuer`.
    pub fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            jwks_uri: None,
            jwks_refresh_interval: DEFAULT_JWKS_REFRESH_INTERVAL,
            jwks_min_refresh_interval: DEFAULT_JWKS_MIN_REFRESH_INTERVAL,
            allow_loopback_for_development: false,
            root_certificates: Vec::new(),
        }
    }

    /// Takes the issuer's keys from the JWKS at `url` instead of discovering it through the
    /// issuer's metadata.
    pub fn jwks_uri(mut self, url: &str) -> Self {
        self.jwks_uri = Some(url.to_owned());
        self
    }

    /// Sets how often the JWKS is fetched again (default 10 minutes; from 1 second to 1 day).
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_refresh_interval = interval;
        self
    }

    /// Sets the least time between two fetches caused by assertions whose `kid` the cache does
    /// not know (default 30 seconds; from 1 second to 1 hour): assertions with made-up `kid`s
    /// cannot make this provider hammer the identity provider.
    pub fn jwks_min_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_min_refresh_interval = interval;
        self
    }

    /// Accepts an `http` issuer (and JWKS) on a loopback host: a development identity provider
    /// on the same machine. Off by default; never in production, where the keys that vouch for
    /// users must come over TLS.
    pub fn allow_loopback_for_development(mut self, allow: bool) -> Self {
        self.allow_loopback_for_development = allow;
        self
    }

    /// Trusts the CA certificate(s) of `pem` for the fetches of this issuer's metadata and JWKS,
    /// as [`RemoteGuard::root_certificate_pem`](crate::RemoteGuard::root_certificate_pem) does.
    pub fn root_certificate_pem(mut self, pem: &str) -> Self {
        self.root_certificates.push(pem.to_owned());
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// One trusted issuer, ready: its key cache, and its periodic refresh, started with the first
/// lookup (the builder may run outside a Tokio runtime; a lookup runs in one).
#[derive(Debug)]
struct Trusted {
    keys: Arc<RemoteKeys>,
    refresh_interval: Duration,
    refreshing: Once,
}

/// The trusted identity issuers of a provider, by issuer identifier.
#[derive(Debug)]
pub(crate) struct TrustedIssuers {
    issuers: Vec<Trusted>,
}

impl TrustedIssuers {
    /// Checks each issuer's settings and prepares its key cache; nothing is fetched yet.
    pub(crate) fn new(trusted: Vec<TrustedIssuer>) -> Result<Self, ConfigError> {
        let mut issuers: Vec<Trusted> = Vec::with_capacity(trusted.len());
        for issuer in trusted {
            let invalid = |reason: String| ConfigError::TrustedIdentityIssuer { issuer: issuer.issuer.clone(), reason };
            Issuer::parse(&issuer.issuer).map_err(|error| invalid(error.to_string()))?;
            if issuers.iter().any(|known| known.keys.issuer == issuer.issuer) {
                return Err(invalid("is given twice".to_owned()));
            }
            if issuer.jwks_refresh_interval < MIN_INTERVAL || issuer.jwks_refresh_interval > MAX_JWKS_REFRESH_INTERVAL {
                return Err(invalid("`jwks_refresh_interval` must be from 1 second to 1 day".to_owned()));
            }
            if issuer.jwks_min_refresh_interval < MIN_INTERVAL
                || issuer.jwks_min_refresh_interval > MAX_JWKS_MIN_REFRESH_INTERVAL
            {
                return Err(invalid("`jwks_min_refresh_interval` must be from 1 second to 1 hour".to_owned()));
            }
            let source = match &issuer.jwks_uri {
                Some(jwks_uri) => JwksSource::Configured(
                    fetchable_url("jwks_uri", jwks_uri).map_err(|error| invalid(error.to_string()))?,
                ),
                None => JwksSource::Discovered {
                    metadata_url: fetchable_url("issuer", &metadata_url(&issuer.issuer))
                        .map_err(|error| invalid(error.to_string()))?,
                    jwks_uri: OnceLock::new(),
                },
            };
            // `fetchable_url` lets plain http through on a loopback host; an identity provider's
            // keys vouch for users, so only a development setup may do without TLS.
            let url = match &source {
                JwksSource::Configured(url) | JwksSource::Discovered { metadata_url: url, .. } => url,
            };
            if url.scheme() == "http" && is_loopback_host(url) && !issuer.allow_loopback_for_development {
                return Err(invalid(
                    "must use https (http on a loopback host needs `allow_loopback_for_development`)".to_owned(),
                ));
            }
            let roots =
                parse_root_certificates(&issuer.root_certificates).map_err(|error| invalid(error.to_string()))?;
            let fetchers = Fetchers::new(&source, roots).map_err(|error| invalid(error.to_string()))?;
            let keys = RemoteKeys::new(issuer.issuer.clone(), fetchers, source, issuer.jwks_min_refresh_interval);
            issuers.push(Trusted {
                keys: Arc::new(keys),
                refresh_interval: issuer.jwks_refresh_interval,
                refreshing: Once::new(),
            });
        }
        Ok(Self { issuers })
    }

    fn find(&self, issuer: &str) -> Option<&Trusted> {
        self.issuers.iter().find(|trusted| trusted.keys.issuer == issuer)
    }
}

impl IssuerKeys for TrustedIssuers {
    fn is_trusted(&self, issuer: &str) -> bool {
        self.find(issuer).is_some()
    }

    fn key<'a>(&'a self, issuer: &'a str, kid: &'a str) -> KeyLookup<'a> {
        Box::pin(async move {
            let Some(trusted) = self.find(issuer) else {
                return Ok(None);
            };
            trusted.refreshing.call_once(|| spawn_periodic_refresh(&trusted.keys, trusted.refresh_interval));
            trusted.keys.key(kid).await
        })
    }
}
