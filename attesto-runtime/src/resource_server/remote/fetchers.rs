//! The HTTP clients of a remote guard and the rule for what it may fetch: `https`, or plain
//! `http` on a loopback host only.

use std::sync::OnceLock;
use std::time::Duration;

use url::Url;

use super::error::RemoteGuardError;
use crate::fetch::{FetchError, FetchPolicy, Fetcher};
use crate::model::loopback::is_loopback_host;

/// The limits of a fetch of the metadata or the JWKS: both are small documents, and a request
/// waiting on a refresh (unknown `kid`) waits at most this long.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest metadata or JWKS document read: a JWKS of a few dozen RSA keys fits many times.
pub(super) const FETCH_MAX_BYTES: usize = 256 * 1024;

/// `text` as a URL attesto may fetch a metadata document or a JWKS from: absolute, `https`, or
/// `http` on a loopback host only.
pub(super) fn fetchable_url(what: &'static str, text: &str) -> Result<Url, RemoteGuardError> {
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
pub(super) fn parse_root_certificates(pems: &[String]) -> Result<Vec<reqwest::Certificate>, RemoteGuardError> {
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

/// Where the JWKS is.
#[derive(Debug)]
pub(super) enum JwksSource {
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

/// The clients of the fetches: `https` anywhere, and plain `http` for the loopback URLs that
/// [`fetchable_url`] let through. Private addresses are allowed: the URLs are the operator's.
#[derive(Debug)]
pub(super) struct Fetchers {
    https: Fetcher,
    loopback_http: Fetcher,
}

impl Fetchers {
    pub(super) fn new(source: &JwksSource, extra_roots: Vec<reqwest::Certificate>) -> Result<Self, RemoteGuardError> {
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
    pub(super) fn client(&self, url: &Url) -> &Fetcher {
        if url.scheme() == "http" && is_loopback_host(url) { &self.loopback_http } else { &self.https }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
