//! The [`IdentityAssertionPolicy`] host trait: which local user an enterprise identity provider's
//! Identity Assertion JWT Authorization Grant (ID-JAG) stands for.

use std::future::Future;

use serde_json::{Map, Value};

use crate::error::HostError;
use crate::model::client::Client;

/// A verified Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-
/// authz-grant), for the host to map to one of its users.
///
/// When the host is asked, attesto has checked the signature (with the issuer's published keys),
/// `typ`, that `iss` is a trusted issuer, `aud`, `client_id`, `exp`, `iat`, `jti`, the `resource`
/// and the scopes.
#[derive(Debug)]
#[non_exhaustive]
pub struct IdentityAssertion<'a> {
    /// `iss`: the trusted identity provider that signed the assertion.
    pub issuer: &'a str,
    /// `sub`: the user at that identity provider (unique together with `iss`).
    pub subject: &'a str,
    /// The client presenting the assertion, which its `client_id` claim names.
    pub client: &'a Client,
    /// Every claim of the assertion, e.g. `email`, `amr`, `acr`, a tenant.
    pub claims: &'a Map<String, Value>,
}

/// Maps the subjects of identity assertions to the host's users. Optional: without an impl,
/// `Builder::trusted_identity_issuer` (feature `fetch`) cannot be used
/// (the build fails), since an assertion nobody maps is an assertion nobody may use.
///
/// ```
/// use attesto_runtime::{HostError, IdentityAssertion, IdentityAssertionPolicy};
///
/// struct Host;
/// impl IdentityAssertionPolicy for Host {
///     async fn map_subject(&self, assertion: &IdentityAssertion<'_>) -> Result<Option<String>, HostError> {
///         // The users provisioned from the enterprise IdP are keyed by its `sub`.
///         Ok(Some(format!("idp:{}", assertion.subject)))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::IdentityAssertionPolicy`",
    note = "implement `attesto::IdentityAssertionPolicy` for `{Self}` to accept identity assertions"
)]
pub trait IdentityAssertionPolicy: Send + Sync {
    /// The local subject `assertion` stands for, or `None` to refuse it (`invalid_grant`). The
    /// default refuses every assertion.
    fn map_subject(
        &self,
        assertion: &IdentityAssertion<'_>,
    ) -> impl Future<Output = Result<Option<String>, HostError>> + Send {
        let _ = assertion;
        std::future::ready(Ok(None))
    }
}

impl<T: IdentityAssertionPolicy + ?Sized> IdentityAssertionPolicy for &T {
    fn map_subject(
        &self,
        assertion: &IdentityAssertion<'_>,
    ) -> impl Future<Output = Result<Option<String>, HostError>> + Send {
        (**self).map_subject(assertion)
    }
}
