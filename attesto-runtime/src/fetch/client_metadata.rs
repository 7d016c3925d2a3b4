//! OAuth Client ID Metadata Documents (feature `fetch`): an `https` URL used as `client_id` names
//! a JSON document of client metadata that attesto fetches, checks, caches and turns into a
//! public [`Client`], so that a client identifies itself without registering. This is the way the
//! MCP authorization specification (2025-11-25, "Client ID Metadata Documents") asks MCP clients
//! to identify themselves to servers they have never met; the rules are those of
//! draft-ietf-oauth-client-id-metadata-document. Off until
//! [`Builder::client_metadata_documents`](crate::Builder::client_metadata_documents).
//!
//! The rules are on [`ClientMetadataDocuments`]; section numbers are those of -00, the one MCP
//! cites, unless marked -02.

use std::time::Duration;

use http::HeaderMap;
use serde_json::{Map, Value};
use url::Url;

use crate::fetch::cache::DocumentCache;
use crate::fetch::{FetchError, FetchPolicy, Fetcher};
use crate::model::client::Client;
use crate::model::loopback::is_loopback_host;
use crate::model::scope::Scopes;
use crate::protocol::client_metadata::{ClientMetadata, Source};

/// The longest client id URL attesto fetches: far above any real one, and a bound on what a
/// request can make attesto cache or print.
const MAX_URL_BYTES: usize = 2048;

/// Client ID metadata documents: how they are fetched and cached. Give it to
/// [`Builder::client_metadata_documents`](crate::Builder::client_metadata_documents) to accept
/// `https` URLs as client ids (draft-ietf-oauth-client-id-metadata-document, as the MCP
/// 2025-11-25 authorization specification adopts it; MCP cites -00, and where a later draft is
/// stricter attesto follows the stricter rule).
///
/// What attesto does with them, and why:
///
/// - **Which client ids.** The host's table ([`ClientStore`](crate::ClientStore)) and the
///   registered clients are asked first, so a host that pre-registers a URL (-02 §7.2) keeps its
///   own record; registered client ids are random base64url values, never URLs (-02 §7.1). A
///   client id that neither knows and that starts with `https:` (or `http:`) is a document URL.
/// - **The URL (§3).** `https`, a path, no `.` or `..` segment, no fragment, no user or password,
///   at most 2048 bytes, and written in the form a URL parser gives back (lower-case scheme and
///   host, no default port): the document's `client_id` is compared with it as a plain string
///   (RFC 3986 §6.2.1), so there must be one spelling. A query is accepted (§3: SHOULD NOT, not
///   MUST NOT). A refused URL is never fetched.
/// - **The fetch (§6.5, §6.6).** Through the hardened fetcher: the host must resolve to public
///   addresses only (no loopback, private or link-local address, and the connection goes to the
///   addresses checked), one deadline for the whole exchange (5 s by default), at most 5 KiB read
///   whatever `Content-Length` says, status 200 only. **No redirect is followed**, not even within
///   the host: -02 §5 forbids it, and a document must be served at the URL it names (-02 §4).
/// - **The document (§4.1).** A JSON object whose `client_id` equals the URL; no `client_secret`
///   or `client_secret_expires_at`, and no shared-secret `token_endpoint_auth_method`. attesto
///   serves these clients as public clients (`none`, the default when the member is absent), or,
///   with `private_key_jwt` (§6.2) and a `jwks` or `jwks_uri`, as confidential clients that
///   authenticate with a JWT signed by their key (RFC 7523); a `jwks` holding private key
///   material is refused (-02 §4.1). Grant types `authorization_code`
///   (the default) and `refresh_token` only; response type `code`.
/// - **Redirect URIs (§4.5).** Required, and checked as dynamic registration checks them (`https`,
///   `http` on a loopback host, a private-use scheme for `application_type` `native`); a request's
///   redirect URI is then matched as for any public client: byte for byte, with the RFC 8252 §7.3
///   port exception for loopback IP literals, which RFC 9700 §4.1.3 keeps within exact matching.
/// - **Scopes.** The document's `scope`, as far as the builder's `scopes_supported` lists it, or
///   all of `scopes_supported` without one: a document cannot grant itself a scope the server
///   does not advertise (as with registration). The [`ScopePolicy`](crate::ScopePolicy) still
///   decides each request.
/// - **Caching (§4.4).** A good document is kept for its `Cache-Control: max-age`, clamped to
///   bounds (1 minute to 24 hours by default; 5 minutes without `max-age`; `no-store` and
///   `no-cache` get the lower bound), in a cache of at most 1000 documents. Failures are **not**
///   cached (§4.4: the server MUST NOT cache error responses or invalid documents), so a client
///   that fixes its document is served at once; concurrent lookups of one URL share one fetch,
///   so a burst of requests for one client id costs one fetch.
/// - **Load.** At most 16 documents are fetched at once (a flood of made-up URLs on slow hosts
///   cannot hold an unbounded number of outgoing connections); a lookup waits for a free slot
///   at most half the fetch deadline, then the client is refused as busy.
/// - **Errors.** A document that cannot be fetched or is invalid makes the client id unknown,
///   never a `503`: `invalid_client` with a description that names the reason, shown on the error
///   page at the authorization endpoint (never redirected: the redirect URI is unverified, §4.3)
///   and answered at the token endpoint.
/// - **Consent (§6.4).** The client's name is self-asserted, so the consent page shows the URL's
///   host next to it.
/// - **Development.** [`ClientMetadataDocuments::allow_loopback_for_development`] lets documents
///   be fetched from loopback and private addresses, and over `http` from a loopback host, so that
///   a client under development can serve its document from `http://127.0.0.1:…`. Never in
///   production (-02 §8.6): any client could make the server fetch from its own network.
///
/// ```
/// use std::time::Duration;
/// use attesto_runtime::ClientMetadataDocuments;
///
/// let documents = ClientMetadataDocuments::new()
///     .timeout(Duration::from_secs(3))
///     .cache_ttl_bounds(Duration::from_secs(300), Duration::from_secs(3600));
/// # let _ = documents;
/// ```
#[derive(Debug, Clone)]
pub struct ClientMetadataDocuments {
    pub(crate) timeout: Duration,
    pub(crate) max_document_bytes: usize,
    pub(crate) default_cache_ttl: Duration,
    pub(crate) min_cache_ttl: Duration,
    pub(crate) max_cache_ttl: Duration,
    pub(crate) max_cached_documents: usize,
    pub(crate) max_concurrent_fetches: usize,
    pub(crate) allow_loopback_for_development: bool,
}

impl Default for ClientMetadataDocuments {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientMetadataDocuments {
    /// The defaults: a 5-second deadline, documents of at most 5 KiB (the draft's recommendation,
    /// §6.6), cached for their `max-age` within 1 minute and 24 hours (5 minutes without one),
    /// at most 1000 cached, public addresses only.
    pub fn new() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_document_bytes: 5 * 1024,
            default_cache_ttl: Duration::from_secs(5 * 60),
            min_cache_ttl: Duration::from_secs(60),
            max_cache_ttl: Duration::from_secs(24 * 3600),
            max_cached_documents: 1000,
            max_concurrent_fetches: 16,
            allow_loopback_for_development: false,
        }
    }

    /// Sets the deadline of one fetch, connection and body included (default 5 s; from 100 ms
    /// to 60 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the largest document read, in bytes (default 5 KiB; from 256 bytes to 1 MiB). A
    /// larger one is refused, whether it says so in `Content-Length` or not.
    #[must_use]
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = bytes;
        self
    }

    /// Sets how long a document served without `Cache-Control: max-age` is kept (default 5
    /// minutes; within the bounds).
    #[must_use]
    pub fn default_cache_ttl(mut self, ttl: Duration) -> Self {
        self.default_cache_ttl = ttl;
        self
    }

    /// Sets the bounds within which a document's `max-age` is honoured (default 1 minute and 24
    /// hours; the lower bound at least 1 second, the upper at most 7 days). The lower bound keeps
    /// a client from making attesto fetch on every request; the upper one lets a changed
    /// document (a redirect URI removed) take effect.
    #[must_use]
    pub fn cache_ttl_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_cache_ttl = min;
        self.max_cache_ttl = max;
        self
    }

    /// Sets how many documents are kept at most (default 1000); the one closest to expiry makes
    /// room for a new one.
    #[must_use]
    pub fn max_cached_documents(mut self, documents: usize) -> Self {
        self.max_cached_documents = documents;
        self
    }

    /// Sets how many documents may be fetched at once (default 16; from 1 to 1024). A lookup
    /// that finds every slot taken waits for one at most half the fetch
    /// [`timeout`](Self::timeout), then the client is refused as busy: the bound on the outgoing
    /// connections that client ids naming slow hosts can hold. (Half: a slot held by a fetch that
    /// runs into its deadline is not waited for in full.)
    #[must_use]
    pub fn max_concurrent_fetches(mut self, fetches: usize) -> Self {
        self.max_concurrent_fetches = fetches;
        self
    }

    /// Lets documents be fetched from loopback and private addresses, and over `http` from a
    /// loopback host (`127.0.0.1`, `[::1]`, `localhost`), for a client under development that
    /// serves its document locally. Off by default; a warning is logged when a provider is built
    /// with it. **Never in production**: any client could then make the server send requests to
    /// the services of its own network (draft §6.5, -02 §8.6).
    #[must_use]
    pub fn allow_loopback_for_development(mut self, allow: bool) -> Self {
        self.allow_loopback_for_development = allow;
        self
    }

    /// Checks the settings; the reason names the one out of range.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        if self.timeout < Duration::from_millis(100) || self.timeout > Duration::from_secs(60) {
            return Err("`timeout` must be between 100 milliseconds and 60 seconds");
        }
        if !(256..=1024 * 1024).contains(&self.max_document_bytes) {
            return Err("`max_document_bytes` must be between 256 bytes and 1 MiB");
        }
        if self.min_cache_ttl < Duration::from_secs(1) || self.max_cache_ttl > Duration::from_secs(7 * 86_400) {
            return Err("the cache TTL bounds must be at least 1 second and at most 7 days");
        }
        if self.min_cache_ttl > self.max_cache_ttl {
            return Err("the lower cache TTL bound is above the upper one");
        }
        if self.default_cache_ttl < self.min_cache_ttl || self.default_cache_ttl > self.max_cache_ttl {
            return Err("`default_cache_ttl` must be within the cache TTL bounds");
        }
        if self.max_cached_documents == 0 {
            return Err("`max_cached_documents` must be at least 1");
        }
        if !(1..=1024).contains(&self.max_concurrent_fetches) {
            return Err("`max_concurrent_fetches` must be between 1 and 1024");
        }
        Ok(())
    }
}

/// Whether `client_id` is to be read as a client ID metadata document URL: it starts with an
/// `https:` (or `http:`) scheme, in any case. Such an id that is not a valid document URL is
/// refused with the reason, rather than reported as merely unknown.
pub(crate) fn is_document_url(client_id: &str) -> bool {
    let starts = |prefix: &str| client_id.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    starts("https:") || starts("http:")
}

/// Why a client ID metadata document could not be used.
///
/// The caller is anonymous (anyone may send any URL as a `client_id`), so what it is told says
/// which step failed and nothing the server learnt on the way: no resolved addresses, no
/// refusal of a private address (which would map the internal network), no remote status code
/// or document content. The detail goes to the logs.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// What the `error_description` says.
    pub(crate) public: std::borrow::Cow<'static, str>,
    /// What the logs and the `client_metadata_document_refused` event say.
    pub(crate) detail: String,
}

impl Refusal {
    fn new(public: impl Into<std::borrow::Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self { public: public.into(), detail: detail.into() }
    }
}

/// What the caller is told of a document that could not be fetched, whatever the reason.
const NOT_FETCHED: &str = "the client ID metadata document could not be fetched";
/// What the caller is told of a document that was fetched and refused.
const NOT_ACCEPTED: &str = "the client ID metadata document is not acceptable to this server";

/// Resolves document URLs into clients: the fetcher, the cache, and the provider's advertised
/// scopes.
#[derive(Debug)]
pub(crate) struct Resolver {
    settings: ClientMetadataDocuments,
    fetcher: Fetcher,
    scopes_supported: Scopes,
    /// Good documents by URL, and fetches in flight. A failed fetch leaves no entry (§4.4).
    cache: DocumentCache<Client, Refusal>,
    /// One permit per fetch that may run at once.
    fetches: tokio::sync::Semaphore,
}

impl Resolver {
    /// A resolver for checked `settings`; `scopes_supported` caps the scopes of its clients.
    pub(crate) fn new(settings: ClientMetadataDocuments, scopes_supported: Scopes) -> Result<Self, FetchError> {
        let development = settings.allow_loopback_for_development;
        let fetcher = Fetcher::without_redirects(FetchPolicy {
            timeout: settings.timeout,
            max_bytes: settings.max_document_bytes,
            allow_private_addresses: development,
            // `client_id_url` lets `http` through only for a loopback host.
            allow_http: development,
        })?;
        let fetches = tokio::sync::Semaphore::new(settings.max_concurrent_fetches);
        let cache = DocumentCache::new(settings.max_cached_documents);
        Ok(Self { settings, fetcher, scopes_supported, cache, fetches })
    }

    /// The client whose document is at `client_id`, from the cache or fetched; or why there is
    /// none, for the `error_description`.
    pub(crate) async fn resolve(&self, client_id: &str) -> Result<Client, Refusal> {
        // The URL's own faults are the caller's to know: they concern only what it sent.
        let loopback = if self.settings.allow_loopback_for_development {
            Loopback::AllowedForDevelopment
        } else {
            Loopback::Refused
        };
        let url = client_id_url(client_id, loopback).map_err(|reason| {
            let public = format!("the `client_id` URL {reason}");
            Refusal::new(public.clone(), public)
        })?;
        self.cache.get_or_fetch(client_id, || self.fetch(&url)).await
    }

    /// Whether a good document was read for `client_id` and is still in the cache, expired or
    /// not. The resource guard asks this rather than [`resolve`](Self::resolve): checking that a
    /// token's client still exists must not fetch a document on a resource's request path (where
    /// a slow or unreachable document host would stall every request), and the token was issued
    /// against that document already.
    pub(crate) fn has_resolved(&self, client_id: &str) -> bool {
        self.cache.has(client_id)
    }

    /// Fetches and checks the document at `url`.
    async fn fetch(&self, url: &Url) -> Result<(Client, Duration), Refusal> {
        let busy = || {
            const BUSY: &str = "too many client ID metadata documents are being fetched at once: try again later";
            Refusal::new(BUSY, BUSY)
        };
        // The permit is held for the fetch; the semaphore is never closed.
        let _permit = tokio::time::timeout(self.settings.timeout / 2, self.fetches.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let (headers, body) = self
            .fetcher
            .get_with_headers(url)
            .await
            .map_err(|error| Refusal::new(NOT_FETCHED, fetch_reason(&error)))?;
        let client = client_from_document(url.as_str(), &body, &self.scopes_supported)
            .map_err(|reason| Refusal::new(NOT_ACCEPTED, reason))?;
        Ok((client, cache_ttl(&headers, &self.settings)))
    }
}

/// Why a fetch failed, for the logs.
fn fetch_reason(error: &FetchError) -> String {
    match error {
        FetchError::Status(status @ 300..=399) => format!(
            "the server answered {status}, a redirect, and redirects are not followed: the document must be served at its `client_id` URL"
        ),
        FetchError::Status(status) => format!("the server answered {status} instead of 200"),
        FetchError::Address => {
            "the host does not resolve to a public address (loopback and private addresses are refused)".to_owned()
        }
        FetchError::Json => "the document is not valid JSON".to_owned(),
        FetchError::TooLarge(_) | FetchError::Timeout | FetchError::Refused(_) | FetchError::Transport(_) => {
            error.to_string()
        }
    }
}

/// Checks a client id URL (draft §3) and parses it; the reason completes "the `client_id` URL …".
/// Whether client id URLs on a loopback host are accepted: for development only
/// ([`ClientMetadataDocuments::allow_loopback_for_development`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loopback {
    /// `https` on a public host, the default port.
    Refused,
    /// Also `http` on a loopback host, on any port.
    AllowedForDevelopment,
}

fn client_id_url(raw: &str, loopback: Loopback) -> Result<Url, &'static str> {
    let development = loopback == Loopback::AllowedForDevelopment;
    if raw.len() > MAX_URL_BYTES {
        return Err("is longer than 2048 bytes");
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain whitespace or control characters");
    }
    let url = Url::parse(raw).map_err(|_| "is not a valid URL")?;
    match url.scheme() {
        "https" => {}
        "http" if development && is_loopback_host(&url) => {}
        "http" if development => {
            return Err("must use https (http is accepted from a loopback host only, in development)");
        }
        _ => return Err("must use https"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a username or password");
    }
    // Only the default https port: a client id naming another port would point the fetcher at
    // whatever service listens there (a probe of other services' ports). The development
    // switch allows loopback ports, where a test serves its documents.
    if url.port().is_some() && !(development && is_loopback_host(&url)) {
        return Err("must use the default https port (443)");
    }
    if url.fragment().is_some() || raw.contains('#') {
        return Err("must not contain a fragment");
    }
    // Read from the text: the parser removes dot segments and adds a missing `/`.
    let rest = raw.split_once("://").map_or("", |(_, rest)| rest);
    let path = match rest.find(['/', '?']) {
        Some(start) if rest[start..].starts_with('/') => &rest[start..rest.find('?').unwrap_or(rest.len())],
        _ => return Err("must contain a path, such as `https://client.example/metadata.json`"),
    };
    if path.split('/').any(is_dot_segment) {
        return Err("must not contain `.` or `..` path segments");
    }
    // The document's `client_id` is compared with this text as a plain string, and fetched at the
    // parsed URL: the two must be one spelling.
    if url.as_str() != raw {
        return Err(
            "must be written in canonical form (lower-case scheme and host, no default port, no character a URL parser escapes)",
        );
    }
    Ok(url)
}

/// A `.` or `..` segment, also percent-encoded (RFC 3986 §2.3: `%2E` is an unreserved `.`).
fn is_dot_segment(segment: &str) -> bool {
    let segment = segment.to_ascii_lowercase().replace("%2e", ".");
    segment == "." || segment == ".."
}

/// How long a good document is kept: its `Cache-Control: max-age` within the bounds (RFC 9111
/// §5.2.2.1; the draft §4.4 lets the server bound it), the lower bound for `no-store` and
/// `no-cache`, the default without either.
fn cache_ttl(headers: &HeaderMap, settings: &ClientMetadataDocuments) -> Duration {
    let mut max_age = None;
    let directives = headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for directive in directives {
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "no-store" | "no-cache" => return settings.min_cache_ttl,
            "max-age" => {
                // RFC 9111 §1.2.2: an invalid value is treated as zero, a huge one as very long.
                let value = value.trim().trim_matches('"');
                let seconds = match value.parse::<u64>() {
                    Ok(seconds) => seconds,
                    Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
                    Err(_) => 0,
                };
                max_age = Some(Duration::from_secs(seconds));
            }
            _ => {}
        }
    }
    max_age.map_or(settings.default_cache_ttl, |ttl| ttl.clamp(settings.min_cache_ttl, settings.max_cache_ttl))
}

/// Reads a fetched document (draft §4.1) into its public client, or says why it is refused (the
/// detail of the [`Refusal`]).
fn client_from_document(url: &str, body: &[u8], scopes_supported: &Scopes) -> Result<Client, String> {
    let document: Map<String, Value> =
        serde_json::from_slice(body).map_err(|_| "the document is not a JSON object".to_owned())?;
    let source = Source::MetadataDocument { url: url.to_owned() };
    let metadata = ClientMetadata::parse(&document, &source).map_err(|error| error.document_reason())?;
    Ok(metadata.into_document_client(url, scopes_supported))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://client.example/metadata.json";

    fn supported() -> Scopes {
        Scopes::parse("read write").expect("scopes")
    }

    fn document(extra: Value) -> Vec<u8> {
        let mut document = serde_json::json!({
            "client_id": URL,
            "client_name": "Example",
            "redirect_uris": ["https://client.example/cb"],
        });
        if let (Some(document), Value::Object(extra)) = (document.as_object_mut(), extra) {
            document.extend(extra);
        }
        serde_json::to_vec(&document).expect("JSON")
    }

    #[test]
    fn client_id_urls_follow_section_3() {
        let check = |url: &str| client_id_url(url, Loopback::Refused).map(|_| ());
        assert_eq!(check(URL), Ok(()));
        assert_eq!(check("https://client.example/"), Ok(()));
        assert_eq!(check("https://client.example/m?v=1"), Ok(()));
        // Only the default https port: no probing of other services' ports.
        assert_eq!(check("https://client.example:8443/m"), Err("must use the default https port (443)"));
        assert_eq!(check("https://client.example:22/m"), Err("must use the default https port (443)"));
        assert_eq!(check("http://client.example/m"), Err("must use https"));
        assert_eq!(check("http://127.0.0.1:3000/m"), Err("must use https"));
        assert_eq!(check("https://u:p@client.example/m"), Err("must not contain a username or password"));
        assert_eq!(check("https://client.example/m#x"), Err("must not contain a fragment"));
        let no_path = Err("must contain a path, such as `https://client.example/metadata.json`");
        assert_eq!(check("https://client.example"), no_path);
        assert_eq!(check("https://client.example?x=1"), no_path);
        let dots = Err("must not contain `.` or `..` path segments");
        assert_eq!(check("https://client.example/a/../m"), dots);
        assert_eq!(check("https://client.example/./m"), dots);
        assert_eq!(check("https://client.example/%2E%2e/m"), dots);
        assert_eq!(check("https://client.example/a/.well-known/m"), Ok(()));
        let canonical = Err(
            "must be written in canonical form (lower-case scheme and host, no default port, no character a URL parser escapes)",
        );
        assert_eq!(check("https://Client.example/m"), canonical);
        assert_eq!(check("HTTPS://client.example/m"), canonical);
        assert_eq!(check("https://client.example:443/m"), canonical);
        assert_eq!(check("https://client.example/a b"), Err("must not contain whitespace or control characters"));
        assert_eq!(check(&format!("https://client.example/{}", "a".repeat(2048))), Err("is longer than 2048 bytes"));
        assert_eq!(check("https:"), Err("is not a valid URL"));
    }

    #[test]
    fn http_is_for_loopback_hosts_in_development_only() {
        let check = |url: &str| client_id_url(url, Loopback::AllowedForDevelopment).map(|_| ());
        assert_eq!(check("http://127.0.0.1:3000/m"), Ok(()));
        assert_eq!(check("http://[::1]:3000/m"), Ok(()));
        assert_eq!(check("http://localhost:3000/m"), Ok(()));
        assert_eq!(
            check("http://client.example/m"),
            Err("must use https (http is accepted from a loopback host only, in development)")
        );
    }

    #[test]
    fn document_urls_are_told_by_their_scheme() {
        assert!(is_document_url("https://client.example/m"));
        assert!(is_document_url("HTTPS://client.example/m"));
        assert!(is_document_url("http://client.example/m"));
        assert!(is_document_url("https:client.example"));
        assert!(!is_document_url("spa"));
        assert!(!is_document_url("https"));
        assert!(!is_document_url("é-client"));
    }

    #[test]
    fn max_age_is_honoured_within_bounds() {
        let settings = ClientMetadataDocuments::new();
        let ttl = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_str(value).expect("header"));
            }
            cache_ttl(&headers, &settings).as_secs()
        };
        assert_eq!(ttl(None), 300);
        assert_eq!(ttl(Some("public, max-age=600")), 600);
        assert_eq!(ttl(Some("max-age=\"900\"")), 900);
        assert_eq!(ttl(Some("max-age=5")), 60);
        assert_eq!(ttl(Some("max-age=0")), 60);
        assert_eq!(ttl(Some("max-age=99999999999999999999999")), 86_400);
        assert_eq!(ttl(Some("max-age=soon")), 60);
        assert_eq!(ttl(Some("no-store")), 60);
        assert_eq!(ttl(Some("max-age=600, No-Cache")), 60);
        assert_eq!(ttl(Some("private")), 300);
    }

    // The document's members are read by `protocol::client_metadata`, whose tests cover them.
    #[test]
    fn a_document_is_a_json_object_read_by_the_metadata_parser() {
        let client =
            client_from_document(URL, &document(serde_json::json!({})), &supported()).expect("a good document");
        assert_eq!(client.client_id.as_str(), URL);
        assert!(client.is_public);
        assert_eq!(client.scopes.to_string(), "read write");
        assert_eq!(
            client_from_document(
                URL,
                &document(serde_json::json!({"client_id": "https://other.example/m"})),
                &supported()
            )
            .err()
            .as_deref(),
            Some("the document's `client_id` is not the URL it was fetched from")
        );
        assert_eq!(
            client_from_document(
                URL,
                &document(serde_json::json!({"grant_types": ["client_credentials"]})),
                &supported()
            )
            .err()
            .as_deref(),
            Some(
                "grant type `client_credentials` is not available to a client ID metadata document client: use authorization_code and refresh_token"
            )
        );
        for body in [&b"[1]"[..], b"\"not an object\"", b"{", b""] {
            assert_eq!(
                client_from_document(URL, body, &supported()).err().as_deref(),
                Some("the document is not a JSON object")
            );
        }
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let base = ClientMetadataDocuments::new;
        assert_eq!(base().check(), Ok(()));
        assert_eq!(
            base().timeout(Duration::from_millis(10)).check(),
            Err("`timeout` must be between 100 milliseconds and 60 seconds")
        );
        assert_eq!(
            base().max_document_bytes(10).check(),
            Err("`max_document_bytes` must be between 256 bytes and 1 MiB")
        );
        assert_eq!(
            base().cache_ttl_bounds(Duration::ZERO, Duration::from_secs(60)).check(),
            Err("the cache TTL bounds must be at least 1 second and at most 7 days")
        );
        assert_eq!(
            base().cache_ttl_bounds(Duration::from_secs(600), Duration::from_secs(60)).check(),
            Err("the lower cache TTL bound is above the upper one")
        );
        assert_eq!(
            base().default_cache_ttl(Duration::from_secs(1)).check(),
            Err("`default_cache_ttl` must be within the cache TTL bounds")
        );
        assert_eq!(base().max_cached_documents(0).check(), Err("`max_cached_documents` must be at least 1"));
    }
}
