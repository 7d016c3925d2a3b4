//! The settings of a provider, as the [`Builder`](crate::Builder) checked them: plain values that
//! the endpoints and the guard read.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderValue;

use crate::dpop::nonce::NonceKey;
use crate::error::OAuthError;
use crate::model::issuer::Issuer;
use crate::model::profile::Profile;
use crate::model::resource::{Resource, audiences};
use crate::protocol::client_assertion::ClientAssertionAudience;
use crate::protocol::client_metadata::BackchannelPolicy;
use crate::protocol::discovery::WellKnownForms;
use crate::protocol::pairwise::PairwiseKey;

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
    /// RFC 9101 §10.5 `require_signed_request_object`, for every client.
    pub(crate) require_signed_request_objects: bool,
    /// DPoP proofs: their `iat` window and server nonces (RFC 9449).
    pub(crate) dpop: DpopSettings,
    /// Whether `https` URLs are accepted as client ids (client ID metadata documents).
    pub(crate) client_id_metadata_document_supported: bool,
    /// The device authorization grant (RFC 8628).
    pub(crate) device: DeviceSettings,
    /// Which `aud` a `private_key_jwt` client assertion may name (RFC 7523 §3).
    pub(crate) client_assertion_audience: ClientAssertionAudience,
    /// The security profile (FAPI 2.0) the endpoints enforce.
    pub(crate) profile: Profile,
    /// Which well-known forms of the discovery documents are served.
    pub(crate) well_known_forms: WellKnownForms,
    /// The key of pairwise subject identifiers (OIDC Core §8.1), when the host set a secret.
    pub(crate) pairwise: Option<PairwiseKey>,
    /// How a registered `backchannel_logout_uri` is judged (OpenID Connect Back-Channel Logout
    /// 1.0): refused when logout tokens are not sent.
    pub(crate) backchannel_policy: BackchannelPolicy,
}

/// The settings of the device authorization grant, from the [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct DeviceSettings {
    /// How long a device code and its user code live (RFC 8628 §3.2 `expires_in`).
    pub(crate) code_ttl: Duration,
    /// The least time between two polls (RFC 8628 §3.2 `interval`).
    pub(crate) interval: Duration,
}

impl Settings {
    /// The audiences of a token: the resources asked for (RFC 8707 §2), each one the provider
    /// knows, or the default audience when none was asked for.
    pub(crate) fn audiences<'s, 'v>(
        &'s self,
        requested: impl Iterator<Item = &'v str>,
    ) -> Result<Cow<'s, [String]>, OAuthError> {
        audiences(&self.resources, &self.default_audience, requested)
    }
}

/// The DPoP settings of a provider, from the [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct DpopSettings {
    /// Whether proofs must carry a server nonce (RFC 9449 §8, §9).
    pub(crate) require_nonce: bool,
    /// The key that makes and verifies nonces.
    pub(crate) nonce_key: NonceKey,
    /// How old a proof's `iat` may be.
    pub(crate) max_age: Duration,
    /// How far in the future a proof's `iat` may be.
    pub(crate) max_skew: Duration,
    /// The provider's profile, which narrows the proof algorithms under FAPI 2.0 (Security
    /// Profile §5.4.1).
    pub(crate) profile: Profile,
}

/// Which origins may call the API endpoints from a browser; set with
/// [`Builder::cors_allowed_origins`](crate::Builder::cors_allowed_origins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum AllowedOrigins {
    /// Any origin: `Access-Control-Allow-Origin: *`, without credentials.
    #[default]
    Any,
    /// Exactly these serialised origins (possibly none), echoed back when one matches.
    List(Vec<HeaderValue>),
}

/// Parses an origin for the allow list into the form a browser sends in `Origin` (HTML, "ASCII
/// serialization of an origin": lower-case scheme and host, IDNA host, default port dropped), so
/// that matching is a byte comparison.
pub(crate) fn parse_origin(origin: &str) -> Result<HeaderValue, &'static str> {
    match origin {
        "*" => return Err("`*` cannot be listed: any origin is the default, list explicit origins instead"),
        // Sandboxed iframes, `file:` pages and redirects all send `Origin: null`: allowing it
        // would allow all of them at once.
        "null" => return Err("the `null` origin cannot be allowed"),
        _ => {}
    }
    let url = url::Url::parse(origin).map_err(|_| "not of the form `scheme://host[:port]`")?;
    let host = url.host_str().filter(|host| !host.is_empty()).ok_or("has no host")?;
    if host.contains('*') {
        return Err("wildcards are not supported: list each origin");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not have user info");
    }
    if url.query().is_some() || url.fragment().is_some() || origin.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    // `https://app.example/` is the same URL as `https://app.example`; any other path is not an
    // origin.
    if !matches!(url.path(), "" | "/") {
        return Err("must not have a path");
    }
    let serialized = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    HeaderValue::try_from(serialized).map_err(|_| "is not a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_to_their_serialisation() {
        let ok = |input: &str, expected: &str| {
            assert_eq!(parse_origin(input).as_ref().map(|v| v.as_bytes()), Ok(expected.as_bytes()), "{input}");
        };
        ok("https://app.example", "https://app.example");
        ok("HTTPS://App.Example/", "https://app.example");
        ok("https://app.example:443", "https://app.example");
        ok("https://app.example:8443", "https://app.example:8443");
        ok("http://localhost:3000", "http://localhost:3000");
        ok("http://[::1]:3000", "http://[::1]:3000");
        ok("https://bücher.example", "https://xn--bcher-kva.example");
        ok("chrome-extension://abcdefghijklmnop", "chrome-extension://abcdefghijklmnop");
    }

    #[test]
    fn non_origins_are_refused() {
        for input in [
            "",
            "*",
            "null",
            "app.example",
            "https://app.example/path",
            "https://app.example/?",
            "https://app.example#",
            "https://user@app.example",
            "https://*.example",
            "mailto:someone@example.com",
            "file:///etc/passwd",
        ] {
            assert!(parse_origin(input).is_err(), "{input} must be refused");
        }
    }
}
