//! Resource indicators (RFC 8707): the resources a provider issues tokens for.

use crate::model::issuer::Issuer;

/// A resource indicator the provider issues tokens for (RFC 8707).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    /// As configured: what goes into `aud`.
    pub(crate) audience: String,
    /// Normalised, to compare requests against.
    pub(crate) normalized: String,
}

/// Parses an RFC 8707 §2 resource indicator: an absolute URI without a fragment. Returns its
/// normalised form (`url::Url` serialisation: lower-case scheme and host, default port dropped).
pub(crate) fn normalize_resource(value: &str) -> Result<String, &'static str> {
    let url = url::Url::parse(value).map_err(|_| "not an absolute URI")?;
    if url.fragment().is_some() || value.contains('#') {
        return Err("must not have a fragment");
    }
    Ok(url.into())
}

/// The URL of a declared resource path on the issuer's origin: `https://h/mcp`, or the origin
/// itself for the host root (the form RFC 9728 §3.1 and the MCP specification use).
pub(crate) fn declared_resource_url(issuer: &Issuer, path: &str) -> String {
    match path {
        "/" => issuer.origin().to_owned(),
        path => format!("{}{path}", issuer.origin()),
    }
}
