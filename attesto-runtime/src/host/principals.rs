//! The [`PrincipalStore`] host trait: attesto asks the host who the user is.

use std::future::Future;

use http::HeaderMap;

use crate::error::HostError;
use crate::model::claims::{ClaimsTarget, RequestedClaims, standard_claims_of_scope};
use crate::model::client::{Client, ClientId};
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

/// What attesto tells the host's claim builders ([`PrincipalStore::build_id_token_claims`],
/// [`PrincipalStore::build_userinfo_claims`]): for whom, for which client, under which scopes, and
/// which claims the client requested there (OIDC Core §5.5) in which languages (§5.2).
///
/// The host decides what to release. A common rule is "the standard claims of the scopes
/// (§5.4) and the claims requested" ([`claim_names`](Self::claim_names)); a requested claim is
/// the client's wish, which the user's consent and the host's policy may refuse (§5.5.1: an
/// essential claim that is not returned is no error).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ClaimsQuery<'a> {
    /// Where the claims go: the ID token or the userinfo response.
    pub target: ClaimsTarget,
    /// The client the claims are released to.
    pub client_id: &'a ClientId,
    /// The client, as registered: always set by attesto (userinfo refuses a token whose client
    /// is gone); `None` only in a query built with [`new`](Self::new) and left so.
    pub client: Option<&'a Client>,
    /// The user, by the host's own identifier (the `sub` of access tokens). A client of the
    /// `pairwise` subject type sees another `sub` in its ID tokens and userinfo (OIDC Core §8.1),
    /// which attesto sets whatever the host returns.
    pub subject: &'a str,
    /// The user's sign-in (when, how, `acr`, `amr`), for the ID token; `None` at userinfo, which
    /// sees only the access token.
    pub authentication: Option<&'a AuthenticatedPrincipal>,
    /// The scopes granted (for an ID token issued at a refresh, those the refresh asked for).
    pub scopes: &'a Scopes,
    /// The claims the client requested for this target with the `claims` parameter (OIDC Core
    /// §5.5): its `id_token` member for the ID token, its `userinfo` member at userinfo; `None`
    /// when it requested none there.
    pub requested: Option<&'a RequestedClaims>,
    /// `claims_locales` (OIDC Core §5.2): the languages the user prefers for claim values, as BCP
    /// 47 tags in order of preference; empty when the client sent none.
    pub claims_locales: &'a [String],
}

impl<'a> ClaimsQuery<'a> {
    /// A query for `target`, about `subject` for `client_id`, under `scopes`, with nothing else
    /// known (set the other fields as needed; the struct is non-exhaustive so that attesto may
    /// tell more later).
    pub fn new(target: ClaimsTarget, client_id: &'a ClientId, subject: &'a str, scopes: &'a Scopes) -> Self {
        Self {
            target,
            client_id,
            client: None,
            subject,
            authentication: None,
            scopes,
            requested: None,
            claims_locales: &[],
        }
    }

    /// Whether the client requested `name` for this target (OIDC Core §5.5).
    pub fn is_requested(&self, name: &str) -> bool {
        self.requested.is_some_and(|requested| requested.contains(name))
    }

    /// The names of the claims this query asks for, each once: at userinfo, the standard claims
    /// of its scopes (OIDC Core §5.4) and the claims requested for userinfo (§5.5); for the ID
    /// token, the claims requested for it alone — attesto issues an access token with every ID
    /// token, so the scopes' claims are for userinfo (§5.4). Sorted.
    pub fn claim_names(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = Vec::new();
        if self.target == ClaimsTarget::Userinfo {
            names.extend(self.scopes.iter().flat_map(|scope| standard_claims_of_scope(scope.as_str()).iter().copied()));
        }
        names.extend(self.requested.into_iter().flat_map(|requested| requested.names()));
        names.sort_unstable();
        names.dedup();
        names
    }
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

    /// Extra claims for the ID token (OIDC Core §2, §5.4), e.g. `name` or `email` when the host
    /// wants them in the ID token as well as at userinfo, or because the client requested them
    /// there ([`ClaimsQuery::requested`], OIDC Core §5.5). The default is none. Claims attesto
    /// sets itself (`iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `nonce`, `acr`, `amr`, `azp`,
    /// `at_hash`, `sid`, …) are never overwritten.
    fn build_id_token_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> impl Future<Output = Result<serde_json::Map<String, serde_json::Value>, HostError>> + Send {
        let _ = query;
        std::future::ready(Ok(serde_json::Map::new()))
    }

    /// The userinfo claims (OIDC Core §5.3) of [`ClaimsQuery::subject`] under its scopes and
    /// requested claims. The default is `{"sub": …}` alone; `sub` is the token's subject whatever
    /// the host returns.
    fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> impl Future<Output = Result<serde_json::Map<String, serde_json::Value>, HostError>> + Send {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), serde_json::Value::String(query.subject.to_owned()));
        std::future::ready(Ok(claims))
    }
}
