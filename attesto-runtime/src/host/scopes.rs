//! The [`ScopePolicy`] host trait: which scopes a client gets.

use std::borrow::Cow;
use std::future::Future;

use crate::error::HostError;
use crate::model::client::Client;
use crate::model::scope::Scopes;

/// What a [`ScopePolicy`] decides for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    /// Grant these scopes (which may be fewer than requested: RFC 6749 §3.3 lets the server narrow
    /// the request, and the token response then says which were granted).
    Grant(Scopes),
    /// Refuse the request with `invalid_scope` and this description.
    Refuse(Cow<'static, str>),
}

/// Which scopes a client gets. Optional: without an impl attesto uses the default below.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::ScopePolicy`",
    note = "implement `attesto::ScopePolicy` for `{Self}`, or leave it out to use the default"
)]
pub trait ScopePolicy: Send + Sync {
    /// Decides the scopes for `client` given the `requested` ones.
    ///
    /// The default grants the client's allowed scopes that were requested; a request without
    /// `scope` gets all of the client's allowed scopes (RFC 6749 §3.3 lets the server apply a
    /// default); a request none of whose scopes is allowed is refused with `invalid_scope`.
    ///
    /// Dynamic registration (RFC 7591) asks it too, for the new client with the `scope` it
    /// registered: the client's [`scopes`](Client::scopes) are then the builder's
    /// `scopes_supported`, and what is granted becomes the registered client's allowed scopes (a
    /// refusal is `invalid_client_metadata`). So by default a registered client may hold only
    /// advertised scopes; a host that wants otherwise decides here.
    fn authorize_scope(
        &self,
        client: &Client,
        requested: &Scopes,
    ) -> impl Future<Output = Result<ScopeDecision, HostError>> + Send {
        let decision = if requested.is_empty() {
            ScopeDecision::Grant(client.scopes.clone())
        } else {
            let granted = requested.intersection(&client.scopes);
            if granted.is_empty() {
                ScopeDecision::Refuse(Cow::Borrowed("none of the requested scopes is allowed for this client"))
            } else {
                ScopeDecision::Grant(granted)
            }
        };
        std::future::ready(Ok(decision))
    }

    /// Whether a code exchange issues a refresh token for `scopes`. The default: when the client
    /// may use the `refresh_token` grant. A host that follows OpenID Connect's `offline_access`
    /// convention (OIDC Core §11) returns `scopes.contains("offline_access")` here for clients
    /// that ask for `openid`.
    fn refresh_token_allowed(
        &self,
        client: &Client,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        let _ = scopes;
        std::future::ready(Ok(client.allows_grant(crate::model::client::GrantType::RefreshToken)))
    }
}

impl<T: ScopePolicy + ?Sized> ScopePolicy for &T {
    fn authorize_scope(
        &self,
        client: &Client,
        requested: &Scopes,
    ) -> impl Future<Output = Result<ScopeDecision, HostError>> + Send {
        (**self).authorize_scope(client, requested)
    }
    fn refresh_token_allowed(
        &self,
        client: &Client,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).refresh_token_allowed(client, scopes)
    }
}
