//! The keys of the identity providers whose assertions this provider trusts (the identity
//! assertion grant), as the token endpoint asks for them: by issuer and `kid`, fetched from each
//! issuer's JWKS when needed. The cache behind it is the remote guard's
//! (`resource_server/remote/trusted.rs`), built by the builder.

use std::future::Future;
use std::pin::Pin;

use crate::error::HostError;
use crate::keys::Key;

/// A boxed future of a key lookup.
pub(crate) type KeyLookup<'a> = Pin<Box<dyn Future<Output = Result<Option<Key>, HostError>> + Send + 'a>>;

/// The trusted identity issuers and their keys.
pub(crate) trait IssuerKeys: Send + Sync {
    /// Whether `issuer` is one of the trusted issuers (compared exactly, RFC 8414 §3.3).
    fn is_trusted(&self, issuer: &str) -> bool;

    /// The key of the trusted `issuer` whose `kid` is `kid`: from the cache, or from the
    /// issuer's JWKS fetched again when the cache does not know it (at most once per minimum
    /// interval). `None` when the JWKS has no such key; an error when the issuer's keys could
    /// never be fetched.
    fn key<'a>(&'a self, issuer: &'a str, kid: &'a str) -> KeyLookup<'a>;
}
