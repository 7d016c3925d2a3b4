//! Resource indicators (RFC 8707): the resources a provider issues tokens for.

use std::borrow::Cow;

use crate::error::{ErrorCode, OAuthError};
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

/// The audiences of a token: the resources asked for (RFC 8707 §2), each one the provider knows,
/// or `default_audience` when none was asked for.
pub(crate) fn audiences<'s, 'v>(
    resources: &[Resource],
    default_audience: &'s [String],
    requested: impl Iterator<Item = &'v str>,
) -> Result<Cow<'s, [String]>, OAuthError> {
    let mut audience: Vec<String> = Vec::new();
    for value in requested {
        let normalized = normalize_resource(value)
            .map_err(|reason| OAuthError::new(ErrorCode::InvalidTarget, format!("`resource` {reason}")))?;
        let resource = resources.iter().find(|r| r.normalized == normalized).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidTarget, "the requested resource is unknown to this server")
        })?;
        if !audience.contains(&resource.audience) {
            audience.push(resource.audience.clone());
        }
    }
    if audience.is_empty() {
        return Ok(Cow::Borrowed(default_audience));
    }
    Ok(Cow::Owned(audience))
}
