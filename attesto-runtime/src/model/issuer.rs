//! The issuer identifier (RFC 8414 §2).

use std::fmt;

use crate::error::ConfigError;
use crate::model::loopback::is_loopback_host;

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
        if url.host().is_none() {
            return Err(error("no host"));
        }
        let loopback = is_loopback_host(&url);
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
