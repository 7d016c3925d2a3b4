//! Redirect URIs as clients register them (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.6): which
//! ones a client may register, and which reach an app on the user's own device. Pure text rules,
//! shared by registration (RFC 7591), client ID metadata documents, the check of the host's own
//! clients at the authorization endpoint, and the client's redirect trust.

use std::borrow::Cow;

use crate::error::{ErrorCode, OAuthError};
use crate::model::client::Client;
use crate::model::loopback::LoopbackRedirect;

/// `invalid_redirect_uri` (RFC 7591 §3.2.2).
pub(crate) fn invalid_redirect_uri(description: impl Into<Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRedirectUri, description)
}

/// Which redirect URIs a client may register, by what it is (RFC 9700 §2.6, RFC 8252 §7, §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirectUriRules {
    /// A confidential web client: `https` only. An `http` redirect URI, even on a loopback host,
    /// would carry its codes in the clear (RFC 9700 §2.6).
    Web,
    /// A public client registered without `application_type`: `https`, or `http` on a loopback
    /// host. A public client with a loopback redirect URI is a native app (RFC 8252 §7.3, §8.4),
    /// whether or not it says so, and MCP clients register that way.
    PublicWeb,
    /// A native app (`application_type` `native`), or a client from the host's own table, which the
    /// host vouches for: `https`, `http` on a loopback host, or a private-use scheme (RFC 8252 §7.1).
    Native,
}

/// Checks one registered redirect URI.
pub(crate) fn check_redirect_uri(uri: &str, rules: RedirectUriRules) -> Result<(), OAuthError> {
    // The URI itself is not quoted: an `error_description` carries none of the request's text
    // (RFC 6749 §5.2), and the client knows what it sent.
    let invalid = |reason: &str| invalid_redirect_uri(format!("a redirect URI {reason}"));
    // Matched byte for byte at the authorization endpoint (RFC 9700 §4.1.3), while URL parsers
    // strip or encode whitespace: the registered text must be what a parser sees.
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain whitespace or control characters"));
    }
    // RFC 6749 §3.1.2: an absolute URI without a fragment component.
    let url = url::Url::parse(uri).map_err(|_| invalid("is not an absolute URI"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(invalid("must not have a fragment (RFC 6749 §3.1.2)"));
    }
    // `https://client.example@evil.example/cb` goes to evil.example while a person reads
    // client.example (RFC 3986 §7.6); a redirect URI never needs user information. Read from the
    // text too: the parser drops an empty one (`https://@evil.example`).
    let authority =
        uri.split_once("://").map_or("", |(_, rest)| &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]);
    if !url.username().is_empty() || url.password().is_some() || authority.contains('@') {
        return Err(invalid("must not have a user information part (`user@`, RFC 3986 §7.6)"));
    }
    let native = rules == RedirectUriRules::Native;
    match url.scheme() {
        // The text, not the parse: `https:host/cb` parses as `https://host/cb`, which is not the
        // string the authorization endpoint will compare.
        "https" if uri.starts_with("https://") => Ok(()),
        "https" => Err(invalid("must be written `https://host/…`")),
        "http" if rules != RedirectUriRules::Web && is_loopback_http(uri) => Ok(()),
        "http" if is_loopback_http(uri) => Err(invalid(
            "must use https: http on a loopback host is for native apps, which register as public clients or with `application_type` `native` (RFC 8252 §8.3, RFC 9700 §2.6)",
        )),
        "http" => Err(invalid(
            "must use https; http is accepted only on a loopback host: 127.0.0.1, [::1] or localhost, for native apps (RFC 8252 §7.3)",
        )),
        scheme if native && private_use(scheme) => Ok(()),
        _ if native => Err(invalid(
            "must use https, http on a loopback host, or a private-use scheme in reverse domain name form such as `com.example.app:/callback` (RFC 8252 §7.1)",
        )),
        _ => Err(invalid(
            "must use https, or http on a loopback host; a private-use scheme needs `application_type` `native` (RFC 8252 §7.1)",
        )),
    }
}

/// Whether `uri` is `http://` on a loopback host, `127.0.0.1`, `[::1]` or `localhost`, with an
/// optional port, read from the text (see [`LoopbackRedirect`]).
pub(crate) fn is_loopback_http(uri: &str) -> bool {
    LoopbackRedirect::parse(uri).is_some()
}

/// Whether `uri` may receive this client's responses: byte-equal to a registered URI (RFC 9700
/// §4.1.3), or, for a public (native) client, a loopback IP redirect that differs from a
/// registered one only in its port (RFC 8252 §7.3: the port is picked at run time).
pub(crate) fn redirect_uri_allowed(client: &Client, uri: &str) -> bool {
    if client.redirect_uris.iter().any(|registered| registered == uri) {
        return true;
    }
    if !client.is_public {
        return false;
    }
    let Some(requested) = LoopbackRedirect::parse(uri).and_then(|uri| uri.without_port()) else {
        return false;
    };
    client
        .redirect_uris
        .iter()
        .filter_map(|registered| LoopbackRedirect::parse(registered).and_then(|uri| uri.without_port()))
        .any(|registered| registered == requested)
}

/// A private-use URI scheme in reverse domain name form, `com.example.app` (RFC 8252 §7.1): at
/// least two dot-separated labels of letters, digits and `-`. Schemes without a dot
/// (`javascript`, `data`, `myapp`) are not.
fn private_use(scheme: &str) -> bool {
    let mut labels = 0;
    for label in scheme.split('.') {
        if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_read_from_the_text() {
        for uri in ["http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", "http://[::1]:1/cb", "http://localhost:3000"] {
            assert!(is_loopback_http(uri), "{uri}");
        }
        for uri in [
            "http://127.0.0.1@evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.1/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "https://127.0.0.1/cb",
        ] {
            assert!(!is_loopback_http(uri), "{uri}");
        }
    }

    #[test]
    fn private_use_schemes_are_reverse_domain_names() {
        assert!(private_use("com.example.app"));
        assert!(private_use("io.my-app"));
        for scheme in ["myapp", "javascript", "data", ".com", "com.", "com..app", "com+x.app"] {
            assert!(!private_use(scheme), "{scheme}");
        }
    }
}
