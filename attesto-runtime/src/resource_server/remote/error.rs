//! Why a remote guard could not be built.

use crate::error::ConfigError;

/// Why a [`RemoteGuard`](crate::RemoteGuard) could not be built: its configuration, or, with
/// [`fetch_keys_at_build`](crate::RemoteGuard::fetch_keys_at_build), the provider's documents.
/// Without it, the documents are fetched at the first request, and these failures are logged
/// there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteGuardError {
    /// The issuer or the resource is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A URL to fetch from is not valid or not allowed.
    #[error("invalid {what} `{url}`: {reason}")]
    Url {
        /// Which URL.
        what: &'static str,
        /// The URL given or found.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A refresh interval is out of range.
    #[error("`{what}` {reason}")]
    Interval {
        /// Which setting.
        what: &'static str,
        /// The range allowed.
        reason: &'static str,
    },
    /// The authorization server metadata could not be fetched or is not usable.
    #[error("the authorization server metadata at `{url}` could not be used: {reason}")]
    Metadata {
        /// The metadata URL (RFC 8414 §3.1).
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The metadata names another issuer than the one configured (RFC 8414 §3.3).
    #[error("the authorization server metadata at `{url}` is that of the issuer `{found}`, not `{expected}`")]
    IssuerMismatch {
        /// The metadata URL.
        url: String,
        /// The issuer configured.
        expected: String,
        /// The issuer the metadata names.
        found: String,
    },
    /// The JWKS could not be fetched or holds no usable key.
    #[error("the JWKS at `{url}` could not be used: {reason}")]
    Jwks {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A PEM text given to [`RemoteGuard::root_certificate_pem`](crate::RemoteGuard::root_certificate_pem) is not one or more CA
    /// certificates.
    #[error("the root certificate given to `root_certificate_pem` is not usable: {reason}")]
    RootCertificate {
        /// What is wrong with it.
        reason: &'static str,
    },
}
