//! The [`PrincipalStore`] host trait: attesto asks the host who the user is.

use std::future::Future;

use http::HeaderMap;

use crate::error::HostError;
use crate::model::client::Client;
use crate::model::principal::{AuthenticatedPrincipal, Principal};
use crate::model::scope::Scopes;

/// What attesto tells the host when a browser reaches the authorization endpoint.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoginRequest<'a> {
    /// The browser request's headers (cookies, where the host's session lives).
    pub headers: &'a HeaderMap,
    /// The client asking for authorization.
    pub client: &'a Client,
    /// The scopes asked for.
    pub scopes: &'a Scopes,
    /// `prompt=login`: the user must authenticate again even with a session (OIDC Core §3.1.2.1).
    pub force_login: bool,
    /// `max_age`: the longest acceptable time since the user last authenticated.
    pub max_age: Option<std::time::Duration>,
    /// `login_hint`, as sent by the client.
    pub login_hint: Option<&'a str>,
    /// `acr_values`, as sent by the client (OIDC Core §3.1.2.1): the authentication context
    /// classes it asks for, space-separated, in order of preference. The host decides what it can
    /// honour and says which it did with [`AuthenticatedPrincipal::with_acr`], which reaches the ID
    /// token's `acr` claim.
    pub acr_values: Option<&'a str>,
    /// `ui_locales` (OIDC Core §3.1.2.1): the languages the user prefers for the login page, as
    /// BCP 47 tags in order of preference. Tags that were not well-formed are dropped; empty when
    /// the client sent none. A preference: the host uses what it can.
    pub ui_locales: &'a [String],
    /// `claims_locales` (OIDC Core §5.2): the languages the user prefers for claim values, as BCP
    /// 47 tags in order of preference; empty when the client sent none.
    pub claims_locales: &'a [String],
    /// Where the host's login page sends the browser back to when the user has signed in.
    pub resume_uri: &'a str,
}

/// What [`PrincipalStore::authenticate`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// The user is signed in.
    Authenticated(AuthenticatedPrincipal),
    /// Send the browser to the host's login page at this URL; it returns to
    /// [`LoginRequest::resume_uri`] afterwards.
    Redirect(String),
    /// The user is not signed in and cannot be asked to (`login_required` with `prompt=none`).
    LoginRequired,
}

/// Who the user is. Required.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::PrincipalStore`",
    label = "a provider needs `impl attesto::PrincipalStore for {Self}`",
    note = "attesto asks the host who the user is: implement `authenticate` against your sessions"
)]
pub trait PrincipalStore: Send + Sync {
    /// Tells whether the browser behind `request` is signed in, and as whom.
    fn authenticate(&self, request: &LoginRequest<'_>) -> impl Future<Output = Result<LoginOutcome, HostError>> + Send;

    /// The principal a token is issued to. The default is the subject with no extra claims.
    fn build_principal(
        &self,
        client: &Client,
        subject: &str,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<Principal, HostError>> + Send {
        let _ = (client, scopes);
        std::future::ready(Ok(Principal::new(subject)))
    }

    /// Extra claims for the ID token of `principal` (OIDC Core §2, §5.4), e.g. `name` or `email`
    /// when the host wants them in the ID token as well as at userinfo. The default is none.
    /// Claims attesto sets itself (`iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `nonce`,
    /// `acr`, `amr`, `azp`, `at_hash`, …) are never overwritten.
    fn build_id_token_claims(
        &self,
        client: &Client,
        principal: &AuthenticatedPrincipal,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<serde_json::Map<String, serde_json::Value>, HostError>> + Send {
        let _ = (client, principal, scopes);
        std::future::ready(Ok(serde_json::Map::new()))
    }

    /// The userinfo claims (OIDC Core §5.3) for `principal` under `scopes`. The default is
    /// `{"sub": …}` alone.
    fn build_userinfo_claims(
        &self,
        principal: &Principal,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<serde_json::Map<String, serde_json::Value>, HostError>> + Send {
        let _ = scopes;
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), serde_json::Value::String(principal.subject.clone()));
        std::future::ready(Ok(claims))
    }
}
