//! Fetching small JSON documents over HTTPS (feature `fetch`): the JWKS of a provider running
//! elsewhere, and client ID metadata documents; and the one kind of POST attesto sends, logout
//! tokens to the `backchannel_logout_uri` of relying parties (OpenID Connect Back-Channel Logout
//! 1.0, `backchannel.rs`), under the same policy.
//!
//! A document URL can come from a stranger (a client ID metadata document's URL is whatever a
//! client sends as `client_id`), so every fetch is bounded and confined, the defences against
//! server-side request forgery the security considerations of the client ID metadata document
//! draft ask for:
//! - **addresses**: the name is resolved by attesto, and unless the policy allows private
//!   addresses every resolved address must be public (no loopback, private, link-local —
//!   169.254.169.254 is the cloud metadata service —, unique-local, shared, documentation or
//!   unspecified address). The connection goes to the addresses checked, so a name that resolves
//!   differently a second time (DNS rebinding) gains nothing. An address written in the URL is
//!   checked the same way;
//! - **redirects**: at most three, to the same scheme, host and port only; none at all for a
//!   document whose identity is its URL (a client ID metadata document);
//! - **time**: one deadline for connecting, redirects and reading the body;
//! - **size**: the body is read up to a cap, whatever `Content-Length` says (a POST's response
//!   body is not kept at all: it is read up to the cap, then dropped);
//! - **scheme**: `https`, or `http` only when the policy allows it (development).

pub(crate) mod backchannel;
pub(crate) mod cache;
pub(crate) mod client_jwks;
pub(crate) mod client_metadata;
pub(crate) mod issuer_keys;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::model::address::is_public;

/// The limits of one kind of fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchPolicy {
    /// The deadline of the whole fetch: connection, redirects and body.
    pub(crate) timeout: Duration,
    /// The largest body read, in bytes.
    pub(crate) max_bytes: usize,
    /// Whether loopback and private addresses may be fetched (development, or a provider on an
    /// internal network whose URL the operator configured).
    pub(crate) allow_private_addresses: bool,
    /// Whether `http` URLs may be fetched (development only).
    pub(crate) allow_http: bool,
}

/// Why a fetch failed. The text is for logs and error descriptions; it names the URL's problem,
/// never the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    /// The URL is not one the policy lets attesto fetch.
    #[error("the URL is not fetchable: {0}")]
    Refused(&'static str),
    /// The host resolves to no address the policy allows, or does not resolve.
    #[error("the host does not resolve to an allowed address")]
    Address,
    /// The fetch took longer than the policy's deadline.
    #[error("the fetch timed out")]
    Timeout,
    /// The body is larger than the policy's cap.
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    /// The server answered with a status other than 200.
    #[error("the server answered {0}")]
    Status(u16),
    /// The body is not the JSON document expected.
    #[error("the document is not valid JSON of the expected shape")]
    Json,
    /// The connection or the HTTP exchange failed (including a refused redirect).
    #[error("the fetch failed: {0}")]
    Transport(String),
}

/// An HTTPS client that fetches under one [`FetchPolicy`].
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
}

impl Fetcher {
    /// A client for `policy`, which follows redirects within the origin of the URL asked for.
    pub(crate) fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        Self::build(policy, true, Vec::new())
    }

    /// As [`new`](Self::new), trusting the root certificates `extra_roots` in addition to the
    /// platform's (a provider whose certificate comes from a private CA). Fails if one of them
    /// cannot be loaded as a trust anchor.
    pub(crate) fn with_extra_roots(
        policy: FetchPolicy,
        extra_roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, FetchError> {
        Self::build(policy, true, extra_roots)
    }

    /// A client for `policy` that follows no redirect: a 3xx answer is [`FetchError::Status`].
    /// For documents whose identity is the very URL they are fetched from (a client ID metadata
    /// document's `client_id` must be the URL it was fetched at, draft-ietf-oauth-client-id-
    /// metadata-document-02 §4, and §5 forbids following redirects).
    pub(crate) fn without_redirects(policy: FetchPolicy) -> Result<Self, FetchError> {
        Self::build(policy, false, Vec::new())
    }

    fn build(
        policy: FetchPolicy,
        follow_redirects: bool,
        extra_roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, FetchError> {
        let same_origin_redirects = reqwest::redirect::Policy::custom(|attempt| {
            // Same scheme, host and port as the URL asked for, three hops at most: a document
            // may move within its server, never to another one.
            let first = attempt.previous().first();
            let same_origin = first.is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > 3 {
                attempt.error("too many redirects")
            } else if !same_origin {
                attempt.error("a redirect to another host")
            } else {
                attempt.follow()
            }
        });
        let redirect = if follow_redirects { same_origin_redirects } else { reqwest::redirect::Policy::none() };
        let client = reqwest::Client::builder()
            .redirect(redirect)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .no_proxy()
            .https_only(!policy.allow_http)
            // Merged into the platform verifier's roots, not instead of them: the platform's
            // trust (and its revocation checks) still applies to every other certificate.
            .tls_certs_merge(extra_roots)
            .dns_resolver(Arc::new(Resolver { allow_private: policy.allow_private_addresses }))
            .user_agent(concat!("attesto/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| FetchError::Transport(error.to_string()))?;
        Ok(Self { client, policy })
    }

    /// Checks `url` against the policy before anything is sent: scheme, no credentials, and an
    /// address written in the URL.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_http => {}
            "http" => return Err(FetchError::Refused("not https")),
            _ => return Err(FetchError::Refused("not an https URL")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Refused("the URL carries credentials"));
        }
        match url.host() {
            None => Err(FetchError::Refused("the URL has no host")),
            Some(url::Host::Domain(_)) => Ok(()),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), FetchError> {
        if self.policy.allow_private_addresses || is_public(ip) { Ok(()) } else { Err(FetchError::Address) }
    }

    /// Fetches `url` and reads its body as JSON of type `T`, under the policy.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url) -> Result<T, FetchError> {
        let body = self.get(url).await?;
        serde_json::from_slice(&body).map_err(|_| FetchError::Json)
    }

    /// Fetches `url` and returns its body, under the policy.
    pub(crate) async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        self.get_with_headers(url).await.map(|(_, body)| body)
    }

    /// Fetches `url` and returns the response headers (for `Cache-Control`, say) and the body,
    /// under the policy.
    pub(crate) async fn get_with_headers(&self, url: &Url) -> Result<(http::HeaderMap, Vec<u8>), FetchError> {
        self.check_url(url)?;
        // `reqwest`'s timeout covers the response head; this one covers the body too.
        match tokio::time::timeout(self.policy.timeout, self.get_unbounded_in_time(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        }
    }

    /// POSTs `body` as `application/x-www-form-urlencoded` to `url`, under the policy, and
    /// returns the response's status. The response body is read up to the policy's cap and
    /// dropped: only the status matters, and a slow or endless body cannot hold the connection.
    pub(crate) async fn post_form(&self, url: &Url, body: String) -> Result<u16, FetchError> {
        self.check_url(url)?;
        match tokio::time::timeout(self.policy.timeout, self.post_unbounded_in_time(url, body)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout),
        }
    }

    async fn post_unbounded_in_time(&self, url: &Url, body: String) -> Result<u16, FetchError> {
        let mut response = self
            .client
            .post(url.clone())
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|error| transport(&error))?;
        let status = response.status().as_u16();
        let mut read = 0;
        while read < self.policy.max_bytes
            && let Ok(Some(chunk)) = response.chunk().await
        {
            read += chunk.len();
        }
        Ok(status)
    }

    async fn get_unbounded_in_time(&self, url: &Url) -> Result<(http::HeaderMap, Vec<u8>), FetchError> {
        let max = self.policy.max_bytes;
        let mut response = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| transport(&error))?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|length| length > max as u64) {
            return Err(FetchError::TooLarge(max));
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| transport(&error))? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((headers, body))
    }
}

/// A reqwest error as a [`FetchError`]: a timeout as such, a refused address as such.
fn transport(error: &reqwest::Error) -> FetchError {
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    // The resolver's refusal travels as the source of a connect error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.downcast_ref::<AddressRefused>().is_some() {
            return FetchError::Address;
        }
        // rustls' `Error::InvalidCertificate` (its text is all that reaches here, rustls being
        // reqwest's); named so that an operator sees a CA to add or a host name to fix, not
        // a network problem. Its details are left out: the names in a certificate are the
        // server's text, and no server's text goes into these messages.
        if current.to_string().starts_with("invalid peer certificate") {
            return FetchError::Transport(
                "the server's TLS certificate was refused (not from a trusted CA, or not for this host)".to_owned(),
            );
        }
        source = current.source();
    }
    FetchError::Transport(error.without_url_text())
}

/// `reqwest::Error`'s text without the URL, which may be long or carry a client's input.
trait WithoutUrl {
    fn without_url_text(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_text(&self) -> String {
        if self.is_redirect() {
            "a redirect was refused".to_owned()
        } else if self.is_connect() {
            "could not connect".to_owned()
        } else if self.is_body() || self.is_decode() {
            "the body could not be read".to_owned()
        } else {
            "the HTTP exchange failed".to_owned()
        }
    }
}

/// The resolver's error when a name resolves to no allowed address.
#[derive(Debug, thiserror::Error)]
#[error("the host resolves to no allowed address")]
struct AddressRefused;

/// Resolves names with the system resolver and keeps only the addresses the policy allows; the
/// connection goes to the addresses returned, so the check is on what is connected to.
#[derive(Debug)]
struct Resolver {
    allow_private: bool,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| allow_private || is_public(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_anything_is_sent() {
        let strict = Fetcher::new(FetchPolicy {
            timeout: Duration::from_secs(1),
            max_bytes: 1024,
            allow_private_addresses: false,
            allow_http: false,
        })
        .expect("client");
        let check = |url: &str| strict.check_url(&Url::parse(url).expect("URL"));
        assert_eq!(check("https://client.example/metadata.json"), Ok(()));
        assert_eq!(check("http://client.example/metadata.json"), Err(FetchError::Refused("not https")));
        assert_eq!(check("ftp://client.example/m"), Err(FetchError::Refused("not an https URL")));
        assert_eq!(check("https://u:p@client.example/m"), Err(FetchError::Refused("the URL carries credentials")));
        assert_eq!(check("https://127.0.0.1/m"), Err(FetchError::Address));
        assert_eq!(check("https://[::1]/m"), Err(FetchError::Address));
        assert_eq!(check("https://169.254.169.254/latest/meta-data"), Err(FetchError::Address));
        assert_eq!(check("https://8.8.8.8/m"), Ok(()));
    }
}
