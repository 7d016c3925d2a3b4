//! The [`ConsentPolicy`] host trait: whether the user must approve a client's request.

use std::future::Future;

use http::HeaderMap;

use crate::error::HostError;
use crate::model::claims::ClaimsRequest;
use crate::model::client::Client;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;

/// What attesto tells the host when consent is to be decided.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConsentRequest<'a> {
    /// The browser request's headers.
    pub headers: &'a HeaderMap,
    /// The client asking.
    pub client: &'a Client,
    /// The scopes asked for, after the [`ScopePolicy`](crate::ScopePolicy).
    pub scopes: &'a Scopes,
    /// `prompt=consent`: the client wants the user asked even if consent was given before.
    pub force_prompt: bool,
    /// `ui_locales` (OIDC Core §3.1.2.1): the languages the user prefers for the pages, as BCP 47
    /// tags in order of preference. Tags that were not well-formed are dropped; empty when the
    /// client sent none.
    pub ui_locales: &'a [String],
    /// `claims_locales` (OIDC Core §5.2): the languages the user prefers for claim values, as BCP
    /// 47 tags in order of preference; empty when the client sent none.
    pub claims_locales: &'a [String],
    /// The claims the client requested with the `claims` parameter (OIDC Core §5.5), for a
    /// policy that asks the user about claims beyond those of the scopes; `None` when it sent
    /// none. The host's claim builders see them again when tokens are issued.
    pub claims: Option<&'a ClaimsRequest>,
}

/// What a [`ConsentPolicy`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentDecision {
    /// Consent is given (a first-party client, or consent recorded earlier).
    Granted,
    /// Ask the user with attesto's consent page.
    Ask,
    /// Refuse: the client receives `access_denied`.
    Denied,
}

/// Whether the user is asked to approve a request. Optional: the default asks every time.
///
/// An OpenID Connect request with `offline_access` in its scopes asks for refresh tokens that
/// outlive the user's session, and OIDC Core §11 wants consent for that in particular: attesto's
/// consent page lists it ("keep access while you are away"). A policy that answers
/// [`ConsentDecision::Granted`] for such a request vouches that the user's recorded consent covers
/// offline access; one that does not know answers [`ConsentDecision::Ask`] when
/// [`ConsentRequest::scopes`] contains `offline_access` and
/// [`force_prompt`](ConsentRequest::force_prompt) is set.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::ConsentPolicy`",
    note = "implement `attesto::ConsentPolicy` for `{Self}`, or leave it out to use the default"
)]
pub trait ConsentPolicy: Send + Sync {
    /// Decides consent for `request` by `principal`. The default is [`ConsentDecision::Ask`].
    fn consent(
        &self,
        request: &ConsentRequest<'_>,
        principal: &AuthenticatedPrincipal,
    ) -> impl Future<Output = Result<ConsentDecision, HostError>> + Send {
        let _ = (request, principal);
        std::future::ready(Ok(ConsentDecision::Ask))
    }
}

impl<T: ConsentPolicy + ?Sized> ConsentPolicy for &T {
    fn consent(
        &self,
        request: &ConsentRequest<'_>,
        principal: &AuthenticatedPrincipal,
    ) -> impl Future<Output = Result<ConsentDecision, HostError>> + Send {
        (**self).consent(request, principal)
    }
}
