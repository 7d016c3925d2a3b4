//! OAuth 2.0 Protected Resource Metadata (RFC 9728): where a resource's document is served and
//! what it says.

/// The path of the protected-resource metadata document (RFC 9728 §3).
pub(crate) const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The RFC 9728 §2 metadata of a protected resource, as served.
#[derive(serde::Serialize)]
pub(crate) struct ProtectedResourceMetadata<'a> {
    pub(crate) resource: &'a str,
    pub(crate) authorization_servers: [&'a str; 1],
    pub(crate) scopes_supported: &'a [String],
    pub(crate) bearer_methods_supported: [&'static str; 1],
    pub(crate) dpop_signing_alg_values_supported: &'a [&'static str],
}

/// The URL of the RFC 9728 document of `resource`: the well-known path inserted between the
/// host and the resource's path (RFC 9728 §3.1).
pub(crate) fn metadata_path(resource: &url::Url) -> String {
    match resource.path() {
        "" | "/" => PRM_WELL_KNOWN.to_owned(),
        path => format!("{PRM_WELL_KNOWN}{}", path.trim_end_matches('/')),
    }
}
