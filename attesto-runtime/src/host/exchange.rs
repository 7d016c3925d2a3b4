//! The [`TokenExchangePolicy`] host trait: who may exchange which token for which audience
//! (RFC 8693).

use std::borrow::Cow;
use std::future::Future;

use crate::error::HostError;
use crate::model::client::Client;
use crate::model::scope::Scopes;

/// A token exchange request (RFC 8693 §2.1), as attesto checked it, for the host to decide.
///
/// The subject token is one of this provider's own access tokens, verified (signature, issuer,
/// expiry, `typ`, not revoked) before the policy is asked; the client is authenticated and
/// confidential, and may use the grant.
#[derive(Debug)]
#[non_exhaustive]
pub struct ExchangeRequest<'a> {
    /// The exchanging client (the actor): typically an MCP server calling an API for its caller.
    pub client: &'a Client,
    /// The subject token's `sub`: whom the new token is for.
    pub subject: &'a str,
    /// The subject token's `client_id`: the client it was issued to.
    pub subject_client_id: &'a str,
    /// The subject token's audiences: a policy usually wants the exchanging client to be one of
    /// them (the token was sent to it).
    pub subject_audience: &'a [String],
    /// The subject token's scopes.
    pub subject_scopes: &'a Scopes,
    /// Whether the subject token is DPoP-bound (`cnf.jkt`, RFC 9449 §6.1). The exchanging client
    /// cannot prove that key (its holder is the client's own caller); a policy that wants bound
    /// tokens never to be exchanged refuses here.
    pub subject_dpop_bound: bool,
    /// The audiences of the new token: the `resource` and `audience` parameters, each a resource
    /// this provider knows (RFC 8707), or the default audience.
    pub audience: &'a [String],
    /// The scopes of the new token: the `scope` parameter (within the subject token's scopes) or,
    /// without it, the subject token's scopes.
    pub scopes: &'a Scopes,
}

/// What a [`TokenExchangePolicy`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeDecision {
    /// Issue the token with these scopes (which may be fewer than requested, RFC 8693 §2.2.1;
    /// scopes not requested are dropped).
    Grant(Scopes),
    /// Refuse with `invalid_target` and this description: RFC 8693 §2.2.2 names that error for
    /// a server "unwilling or unable to issue a token for any target service indicated by the
    /// resource or audience parameters", which is what a refused exchange is.
    Refuse(Cow<'static, str>),
}

/// Who may exchange what for which audience and scopes (RFC 8693). Optional: a provider whose
/// host does not implement it does not serve token exchange at all (the grant is
/// `unsupported_grant_type` and is not in `grant_types_supported`).
///
/// ```
/// use attesto_runtime::{ExchangeDecision, ExchangeRequest, HostError, TokenExchangePolicy};
///
/// struct Host;
/// impl TokenExchangePolicy for Host {
///     async fn exchange(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, HostError> {
///         // The MCP server may pass its callers' tokens on to the calendar API only.
///         let to_calendar = request.audience == ["https://calendar.example/api"];
///         if request.client.client_id.as_str() == "mcp-server" && to_calendar {
///             return Ok(ExchangeDecision::Grant(request.scopes.clone()));
///         }
///         Ok(ExchangeDecision::Refuse("this client may not exchange tokens for that audience".into()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::TokenExchangePolicy`",
    note = "implement `attesto::TokenExchangePolicy` for `{Self}` to serve token exchange (RFC 8693)"
)]
pub trait TokenExchangePolicy: Send + Sync {
    /// Decides `request`. The default refuses every exchange.
    fn exchange(
        &self,
        request: &ExchangeRequest<'_>,
    ) -> impl Future<Output = Result<ExchangeDecision, HostError>> + Send {
        let _ = request;
        std::future::ready(Ok(ExchangeDecision::Refuse(Cow::Borrowed("token exchange is not allowed"))))
    }
}

impl<T: TokenExchangePolicy + ?Sized> TokenExchangePolicy for &T {
    fn exchange(
        &self,
        request: &ExchangeRequest<'_>,
    ) -> impl Future<Output = Result<ExchangeDecision, HostError>> + Send {
        (**self).exchange(request)
    }
}
