//! The token check the guards share (RFC 6750 §2.1, RFC 9068 §4, RFC 9449 §7): the credentials
//! of a request, the JWT access token verified by a [`TokenAuthority`] (the provider in process,
//! or a remote guard's JWKS cache), its audience, its revocation, its DPoP binding; and the
//! `WWW-Authenticate` challenges of a refusal (RFC 6750 §3, RFC 9728 §5.1).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::dpop::{self, check::DpopFailure};
use crate::error::{ErrorCode, HostError, OAuthError};
use crate::host::legacy::{LegacyAccessToken, LegacyTokens};
use crate::host::provider::Provider;
use crate::keys::Key;
use crate::model::client::ClientId;
use crate::model::resource::normalize_resource;
use crate::model::scope::Scopes;
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::jwt::{self};
use crate::protocol::legacy_token;
pub(crate) use crate::resource_server::scheme::Scheme;
use crate::resource_server::step_up::{self, Shortfall, UserAuthentication};
use crate::state::Attesto;

/// The caller of a request the guard accepted: who, through which client, with which scopes.
///
/// An axum extractor (with a [`Guard`](crate::Guard) in the router's state), and what the guard's layer puts
/// into the request's extensions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authenticated {
    /// The token's `sub`: the user, or the client for a client-credentials token. Which of the two
    /// is [`kind`](Self::kind): a client id is never a user's subject (RFC 9068 §5, RFC 9700
    /// §4.15), so a resource that acts for users reads `subject` only when `kind` is
    /// [`TokenKind::User`] (or refuses client tokens with [`Guard::require_user`](crate::Guard::require_user)).
    pub subject: String,
    /// Whether a user authorized the token, or the client got it for itself.
    pub kind: TokenKind,
    /// The token's `client_id` (RFC 9068 §2.2).
    pub client_id: ClientId,
    /// The token's scopes.
    pub scopes: Scopes,
    /// Every claim of the token, as signed.
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The thumbprint the token is bound to (`cnf.jkt`, RFC 9449 §6.1), for a DPoP-bound token.
    pub jkt: Option<String>,
    /// When the user signed in (`auth_time`, RFC 9068 §2.2.1): for a [`TokenKind::User`] token;
    /// a refreshed token keeps the time of the original sign-in.
    pub auth_time: Option<SystemTime>,
    /// How the user signed in (`acr`, RFC 9068 §2.2.1), when the host named an authentication
    /// context class at the sign-in ([`AuthenticatedPrincipal::with_acr`](crate::AuthenticatedPrincipal::with_acr)).
    pub acr: Option<String>,
    /// Whose token it is: attesto's own, or one of the provider it replaces that the host
    /// vouched for ([`LegacyTokens`](crate::LegacyTokens)). A legacy token has `claims` made from
    /// what the host returned (`sub`, `client_id`, `scope`, `aud`, `exp`), no `auth_time`, no
    /// `acr` and no binding.
    pub source: TokenSource,
    /// The route of the guard that let the caller in, which [`require_scopes`](Self::require_scopes)
    /// answers for as the guard would; none when no guard did (userinfo).
    pub(crate) route: Option<Arc<Route>>,
}

/// What a guard protects beyond its resource: the URL of the resource's RFC 9728 document, which
/// every challenge names, the scopes every request needs, and what the user's sign-in must be
/// (RFC 9470).
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) resource_metadata: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) authentication: UserAuthentication,
}

impl Authenticated {
    /// Requires `scopes` of this caller as well, inside the route: step-up for one operation among
    /// many behind one route (an MCP server's tools all sit behind `/mcp`; MCP 2025-11-25,
    /// "Runtime insufficient scope errors").
    ///
    /// When one is missing, the error answers as the guard would (RFC 6750 §3.1): `403
    /// insufficient_scope` with a `WWW-Authenticate` challenge (`DPoP` for a DPoP-bound token)
    /// whose `scope` names every scope the operation needs (the route's and these), and whose
    /// `resource_metadata` is the resource's RFC 9728 document, so that the client can authorize
    /// again with them and retry.
    ///
    /// ```
    /// # use attesto_runtime as attesto;
    /// use attesto::{Authenticated, InsufficientScope};
    ///
    /// async fn admin_action(who: Authenticated) -> Result<String, InsufficientScope> {
    ///     who.require_scopes(["mcp:admin"])?;
    ///     Ok(format!("done for {}", who.subject))
    /// }
    /// ```
    pub fn require_scopes<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, scopes: I) -> Result<(), InsufficientScope> {
        let mut needed = self.route.as_ref().map(|route| route.scopes.clone()).unwrap_or_default();
        let mut missing = false;
        for scope in scopes {
            let scope = scope.as_ref();
            missing |= !self.scopes.contains(scope);
            if !needed.iter().any(|s| s == scope) {
                needed.push(scope.to_owned());
            }
        }
        if !missing {
            return Ok(());
        }
        Err(InsufficientScope {
            scheme: self.scheme(),
            scope: needed.join(" "),
            resource_metadata: self.route.as_ref().map(|route| route.resource_metadata.clone()),
        })
    }

    /// Requires of this caller's sign-in one of the authentication context classes `acr_values`
    /// (the token's `acr`, RFC 9068 §2.2.1), for one operation inside the route: step-up
    /// authentication (RFC 9470).
    ///
    /// When the token's `acr` is none of them (or the token has none), the error answers `401
    /// insufficient_user_authentication` with a challenge naming `acr_values` (RFC 9470 §3), and
    /// the guard's `max_age` and `acr_values` where this operation sets none, so that the client
    /// authorizes again with them: the host's
    /// [`LoginRequest::acr_values`](crate::LoginRequest::acr_values) receives them.
    ///
    /// ```
    /// # use attesto_runtime as attesto;
    /// use attesto::{Authenticated, InsufficientUserAuthentication};
    ///
    /// async fn transfer(who: Authenticated) -> Result<String, InsufficientUserAuthentication> {
    ///     who.require_acr(["urn:example:mfa"])?;
    ///     Ok(format!("done for {}", who.subject))
    /// }
    /// ```
    pub fn require_acr<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        acr_values: I,
    ) -> Result<(), InsufficientUserAuthentication> {
        let mut required = UserAuthentication::default();
        required.add_acr_values(acr_values);
        self.require_user_authentication(&required)
    }

    /// Requires of this caller a sign-in at most `max_age` old (the token's `auth_time`, RFC
    /// 9068 §2.2.1), for one operation inside the route (RFC 9470). A token without `auth_time`
    /// (a client's own) never meets it.
    ///
    /// When the sign-in is older, the error answers `401 insufficient_user_authentication` with
    /// a challenge naming `max_age` in whole seconds (RFC 9470 §3), which the client sends in its
    /// next authorization request so that the user signs in again.
    ///
    /// ```
    /// # use attesto_runtime as attesto;
    /// use std::time::Duration;
    /// use attesto::{Authenticated, InsufficientUserAuthentication};
    ///
    /// async fn delete_account(who: Authenticated) -> Result<(), InsufficientUserAuthentication> {
    ///     who.require_max_age(Duration::from_secs(300))?;
    ///     Ok(())
    /// }
    /// ```
    pub fn require_max_age(&self, max_age: Duration) -> Result<(), InsufficientUserAuthentication> {
        let mut required = UserAuthentication::default();
        required.set_max_age(max_age);
        self.require_user_authentication(&required)
    }

    /// Checks `required`, within what the route requires, against the token's sign-in.
    fn require_user_authentication(&self, required: &UserAuthentication) -> Result<(), InsufficientUserAuthentication> {
        let route = self.route.as_deref();
        let required = route.map_or_else(|| required.clone(), |route| required.within(&route.authentication));
        let auth_time = self.auth_time.map(jwt::unix_seconds);
        let now = jwt::unix_seconds(SystemTime::now());
        let Err(shortfall) = required.check(self.acr.as_deref(), auth_time, now) else {
            return Ok(());
        };
        Err(InsufficientUserAuthentication {
            scheme: self.scheme(),
            shortfall,
            required,
            scope: route.filter(|route| !route.scopes.is_empty()).map(|route| route.scopes.join(" ")),
            resource_metadata: route.map(|route| route.resource_metadata.clone()),
        })
    }

    /// The scheme the token is answered in: `DPoP` for a DPoP-bound token (RFC 9449 §7.1).
    pub(crate) fn scheme(&self) -> Scheme {
        if self.jkt.is_some() { Scheme::Dpop } else { Scheme::Bearer }
    }
}

/// A caller without a scope an operation needs ([`Authenticated::require_scopes`]); as a
/// response, `403 insufficient_scope` with the challenge that says which scopes to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientScope {
    scheme: Scheme,
    scope: String,
    resource_metadata: Option<String>,
}

impl InsufficientScope {
    /// The scopes the operation needs, space-separated: the route's and the operation's.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl std::fmt::Display for InsufficientScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "insufficient_scope: the operation needs the scopes `{}`", self.scope)
    }
}

impl std::error::Error for InsufficientScope {}

impl IntoResponse for InsufficientScope {
    fn into_response(self) -> Response {
        Refusal::Error(insufficient_scope(self.scheme, &self.scope))
            .into_response(self.resource_metadata.as_deref(), Some(&self.scope))
    }
}

/// For whom an access token was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A user signed in and authorized the client (the authorization code grant, and the refresh
    /// tokens of that grant): the token carries the sign-in's `auth_time` (RFC 9068 §2.2.1), and
    /// `sub` is the user.
    User,
    /// The client acting for itself (the `client_credentials` grant): no user signed in, and `sub`
    /// names the client (RFC 9068 §2.2).
    Client,
}

/// Who issued the token a caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// This provider: a JWT access token signed by its keys (RFC 9068).
    Attesto,
    /// The provider this one replaces, vouched for by the host's
    /// [`LegacyTokens::verify_access_token`](crate::LegacyTokens::verify_access_token) before its
    /// cut-off.
    Legacy,
}

/// Whether a token check offers a `Bearer` token that is not a valid one of this provider's to
/// the host's `LegacyTokens`: the in-process guard does, userinfo and the remote guard do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyAccess {
    Offered,
    NotOffered,
}

/// Why a request to a protected resource is refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No credentials: RFC 6750 §3.1 answers with a bare challenge, without an error code.
    NoCredentials,
    /// A refusal with its error and challenge.
    Error(OAuthError),
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Self {
        Self::Error(error)
    }
}

impl From<HostError> for Refusal {
    fn from(error: HostError) -> Self {
        Self::Error(OAuthError::from(error))
    }
}

impl Refusal {
    /// The response, with `resource_metadata` added to every challenge when the resource has an
    /// RFC 9728 document (RFC 9728 §5.1), and `scope` (RFC 6750 §3) to every challenge that does
    /// not name one when the resource requires scopes: MCP clients (MCP 2025-11-25, "Scope
    /// Selection Strategy") ask for the scopes of the first 401's challenge.
    pub(crate) fn into_response(self, resource_metadata: Option<&str>, scope: Option<&str>) -> Response {
        let mut response = match self {
            // RFC 6750 §3.1: no error information at all. RFC 9449 §7.1: the `DPoP` challenge
            // next to it tells a client that DPoP is accepted, and with which algorithms.
            Self::NoCredentials => {
                let mut response = (
                    StatusCode::UNAUTHORIZED,
                    [
                        (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    ],
                )
                    .into_response();
                response.headers_mut().append(header::WWW_AUTHENTICATE, dpop::check::bare_dpop_challenge());
                response
            }
            Self::Error(error) => error.into_response(),
        };
        if resource_metadata.is_some() || scope.is_some() {
            let challenges: Vec<HeaderValue> = response
                .headers()
                .get_all(header::WWW_AUTHENTICATE)
                .iter()
                .map(|challenge| with_parameters(challenge, scope, resource_metadata))
                .collect();
            response.headers_mut().remove(header::WWW_AUTHENTICATE);
            for challenge in challenges {
                response.headers_mut().append(header::WWW_AUTHENTICATE, challenge);
            }
        }
        response
    }
}

/// `challenge` with `scope` (unless it names one already, as `insufficient_scope` does) and the
/// RFC 9728 §5.1 `resource_metadata` parameter added: after the scheme of a bare challenge,
/// after the last parameter otherwise.
pub(crate) fn with_parameters(
    challenge: &HeaderValue,
    scope: Option<&str>,
    resource_metadata: Option<&str>,
) -> HeaderValue {
    let Ok(text) = challenge.to_str() else {
        return challenge.clone();
    };
    let mut text = text.to_owned();
    let scope = scope.filter(|_| !text.contains(" scope=\""));
    for (name, value) in [("scope", scope), ("resource_metadata", resource_metadata)] {
        let Some(value) = value else { continue };
        let separator = if text.contains(' ') { ", " } else { " " };
        text = format!("{text}{separator}{name}=\"{value}\"");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| challenge.clone())
}

/// `invalid_token`, 401, with the challenge of `scheme`: RFC 6750 §3 for `Bearer`, RFC 9449 §7.1
/// for `DPoP`.
pub(crate) fn invalid_token(scheme: Scheme, description: &'static str) -> OAuthError {
    let challenge = match scheme {
        Scheme::Bearer => {
            HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
                .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""))
        }
        Scheme::Dpop => dpop::check::dpop_challenge(ErrorCode::InvalidToken, description),
    };
    OAuthError::new(ErrorCode::InvalidToken, description).with_challenge(challenge)
}

/// `insufficient_user_authentication`, 401 (RFC 9470 §3): the token stands for no user sign-in.
pub(crate) fn insufficient_user_authentication(scheme: Scheme) -> OAuthError {
    const DESCRIPTION: &str = "this resource needs a token a user authorized; a client's own token is refused";
    step_up::insufficient_user_authentication(scheme, DESCRIPTION, &UserAuthentication::default())
}

/// `insufficient_scope`, 403, naming the scopes needed (RFC 6750 §3.1), with the challenge of the
/// scheme the token was presented with.
pub(crate) fn insufficient_scope(scheme: Scheme, scope: &str) -> OAuthError {
    const DESCRIPTION: &str = "the access token lacks a required scope";
    let challenge = match scheme {
        Scheme::Bearer => format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
        Scheme::Dpop => format!(
            "DPoP error=\"insufficient_scope\", error_description=\"{DESCRIPTION}\", scope=\"{scope}\", algs=\"{}\"",
            crate::protocol::dpop_proof::SUPPORTED_ALGORITHMS.join(" ")
        ),
    };
    let challenge =
        HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer error=\"insufficient_scope\""));
    OAuthError::new(ErrorCode::InsufficientScope, DESCRIPTION)
        .with_status(StatusCode::FORBIDDEN)
        .with_challenge(challenge)
}

/// The scheme and token of the request's one `Authorization` header, if it carries a `Bearer`
/// or `DPoP` token.
fn credentials(headers: &HeaderMap) -> Result<Option<(Scheme, &str)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (Some(value), None) => value,
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("repeated Authorization header")),
    };
    let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    // Auth schemes are case-insensitive (RFC 9110 §11.1).
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let token = token.trim();
    Ok((!token.is_empty()).then_some((scheme, token)))
}

/// Whether `aud` names `audience`, compared as RFC 8707 resource indicators (normalised), or
/// byte for byte when either is not a URI.
fn same_audience(aud: &str, audience: &str, normalized: Option<&str>) -> bool {
    aud == audience || normalized.is_some_and(|normalized| normalize_resource(aud).is_ok_and(|aud| aud == normalized))
}

/// What a token check needs of the provider whose tokens it accepts: the provider itself, in
/// process ([`Attesto`]), or one running elsewhere, seen through its JWKS (`RemoteGuard`).
pub(crate) trait TokenAuthority: Send + Sync {
    /// The issuer the tokens' `iss` must name, exactly (RFC 9068 §4).
    fn expected_issuer(&self) -> &str;

    /// The verification key whose `kid` is `kid`, `None` when there is none; an error when no
    /// key can be had at all (the provider's keys could never be fetched).
    fn verification_key(&self, kid: &str) -> impl Future<Output = Result<Option<Key>, HostError>> + Send;

    /// Whether the token was revoked (RFC 7009 §2), by its `jti` or by the grant it was issued
    /// under (its `grant_id`, RFC 7009 §2.1), without a store round trip per request.
    fn is_token_revoked(
        &self,
        token: &jwt::AccessTokenView,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// Whether the token's client still exists. An authority that cannot see the client table
    /// answers `true`: its tokens are then bounded by their lifetime and revocation only.
    fn client_exists(&self, client_id: &str) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// The DPoP check of a request to `htu` with `access_token` (see [`dpop::check::check_proof`]).
    fn check_dpop_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        htu: &str,
        access_token: &str,
    ) -> impl Future<Output = Result<Option<VerifiedProof>, DpopFailure>> + Send;

    /// What the host says a token of the provider this one replaces stands for, `None` when it
    /// is not one. An authority without a host to ask answers `None`.
    fn legacy_access_token(
        &self,
        token: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<LegacyAccessToken>, HostError>> + Send {
        let _ = (token, now);
        std::future::ready(Ok(None))
    }
}

impl<P: Provider> TokenAuthority for Attesto<P> {
    fn expected_issuer(&self) -> &str {
        self.settings().issuer.as_str()
    }

    async fn verification_key(&self, kid: &str) -> Result<Option<Key>, HostError> {
        Ok(self.keys().find(kid).cloned())
    }

    async fn is_token_revoked(&self, token: &jwt::AccessTokenView, now: SystemTime) -> Result<bool, HostError> {
        self.is_access_token_revoked(token, now).await
    }

    async fn client_exists(&self, client_id: &str) -> Result<bool, HostError> {
        self.knows_client(client_id).await
    }

    async fn check_dpop_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        htu: &str,
        access_token: &str,
    ) -> Result<Option<VerifiedProof>, DpopFailure> {
        self.check_dpop_at(headers, method, htu, Some(access_token)).await
    }

    async fn legacy_access_token(&self, token: &str, now: SystemTime) -> Result<Option<LegacyAccessToken>, HostError> {
        // Nothing is asked after the cut-off, or for a value that cannot be a bearer token.
        let Some(legacy) = self.provider().legacy_tokens() else { return Ok(None) };
        if now >= legacy.accepted_until() || !legacy_token::is_bearer_token_syntax(token) {
            return Ok(None);
        }
        legacy.verify_access_token(token).await
    }
}

/// Reads and verifies the access token of a request to the resource `audience`, whose URL for
/// this request is `htu`: the one check of userinfo and of every [`Guard`], in process or not.
///
/// In order: one `Authorization` header with a `Bearer` or `DPoP` token; the token itself
/// (`typ`, then the signature by the key its `kid` names, `iss`, `exp` with `leeway` seconds,
/// RFC 9068 §4); `aud` names `audience` (RFC 8707); not revoked (without a store round trip);
/// its client still exists (where the authority can tell); and the binding (RFC 9449 §7). Scopes
/// are the caller's to check.
///
/// With `legacy` [`Offered`](LegacyAccess::Offered), a `Bearer` token that fails as one of this
/// provider's is offered to the host's `LegacyTokens` instead, and what the host returns is
/// checked the same way ([`legacy_caller`]).
pub(crate) async fn authenticate<A: TokenAuthority>(
    authority: &A,
    method: &Method,
    headers: &HeaderMap,
    audience: &str,
    htu: &str,
    leeway: u64,
    legacy: LegacyAccess,
) -> Result<Authenticated, Refusal> {
    let Some((scheme, token)) = credentials(headers)? else {
        return Err(Refusal::NoCredentials);
    };
    // The reason stays in the logs: the client learns only `invalid_token` (RFC 6750 §3.1).
    let refused = |reason: jwt::Rejected| {
        tracing::debug!(?reason, "an access token was refused");
        invalid_token(scheme, "the access token is invalid, expired or revoked")
    };
    let now = SystemTime::now();
    let seconds = jwt::unix_seconds(now);
    let normalized = normalize_resource(audience).ok();
    let view = match verify_own(authority, token, seconds.saturating_sub(leeway)).await? {
        Ok(view) => view,
        // Not a valid token of this provider's: perhaps one of the provider it replaces. Only
        // as a bearer token, which is all the old provider issued.
        Err(reason) => {
            if legacy == LegacyAccess::Offered
                && scheme == Scheme::Bearer
                && let Some(found) = authority.legacy_access_token(token, now).await?
            {
                return legacy_caller(authority, found, audience, normalized.as_deref(), now, leeway).await;
            }
            return Err(refused(reason).into());
        }
    };
    // RFC 8707: only tokens meant for this resource; one issued for another is not accepted
    // here, so a resource cannot replay the tokens it receives to another one.
    if !view.aud.iter().any(|aud| same_audience(aud, audience, normalized.as_deref())) {
        return Err(invalid_token(scheme, "the access token is not meant for this resource").into());
    }
    if authority.is_token_revoked(&view, now).await? {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked").into());
    }
    if !authority.client_exists(&view.client_id).await? {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked").into());
    }
    let scopes = Scopes::parse(&view.scope).map_err(|_| invalid_token(scheme, "the access token is malformed"))?;
    let jkt = view.cnf.map(|cnf| cnf.jkt);
    check_binding(authority, method, headers, scheme, token, jkt.as_deref(), htu).await?;
    // The signature covers these bytes, checked above; they decode as they did there.
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|claims| URL_SAFE_NO_PAD.decode(claims).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default();
    // Only a user's sign-in gives a token `auth_time`: attesto mints it into user tokens alone
    // and keeps hosts from adding it (see `access_token::REGISTERED_CLAIMS`).
    let kind = if view.auth_time.is_some() { TokenKind::User } else { TokenKind::Client };
    Ok(Authenticated {
        subject: view.sub,
        kind,
        client_id: ClientId::new(view.client_id),
        scopes,
        claims,
        jkt,
        auth_time: view.auth_time.map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
        acr: view.acr,
        source: TokenSource::Attesto,
        route: None,
    })
}

/// The token verified as one of this provider's (`typ`, the signature by the key its `kid`
/// names, `iss`, `exp` against `not_before`), or why it is not one; an error only when the keys
/// cannot be had.
async fn verify_own<A: TokenAuthority>(
    authority: &A,
    token: &str,
    not_before: u64,
) -> Result<Result<jwt::AccessTokenView, jwt::Rejected>, HostError> {
    let presented = match jwt::PresentedToken::parse(token) {
        Ok(presented) => presented,
        Err(reason) => return Ok(Err(reason)),
    };
    let key = match presented.kid() {
        Some(kid) => authority.verification_key(kid).await?,
        None => None,
    };
    let Some(key) = key else { return Ok(Err(jwt::Rejected::UnknownKey)) };
    Ok(presented.verify(&key, authority.expected_issuer(), not_before))
}

/// The caller of a token of the provider this one replaces, as the host described it, checked as
/// this provider's own tokens are: unexpired (with `leeway` seconds), meant for `audience` (RFC
/// 8707; a wrong audience is refused with the same answer), and issued to a client that still
/// exists. Scopes are the caller's to check, as for any token.
async fn legacy_caller<A: TokenAuthority>(
    authority: &A,
    found: LegacyAccessToken,
    audience: &str,
    normalized: Option<&str>,
    now: SystemTime,
    leeway: u64,
) -> Result<Authenticated, Refusal> {
    let scheme = Scheme::Bearer;
    // Checked: the expiry is the host's value, and a time past `SystemTime`'s range never ends.
    if found.expires_at.checked_add(Duration::from_secs(leeway)).is_some_and(|end| end <= now) {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked").into());
    }
    if !found.audience.iter().any(|aud| same_audience(aud, audience, normalized)) {
        return Err(invalid_token(scheme, "the access token is not meant for this resource").into());
    }
    if !authority.client_exists(found.client_id.as_str()).await? {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked").into());
    }
    let exp = found.expires_at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let mut claims = serde_json::Map::new();
    claims.insert("sub".to_owned(), found.subject.clone().into());
    claims.insert("client_id".to_owned(), found.client_id.as_str().into());
    claims.insert("scope".to_owned(), found.scopes.to_string().into());
    claims.insert("aud".to_owned(), found.audience.clone().into());
    claims.insert("exp".to_owned(), exp.into());
    Ok(Authenticated {
        subject: found.subject,
        kind: if found.user { TokenKind::User } else { TokenKind::Client },
        client_id: found.client_id,
        scopes: found.scopes,
        claims,
        jkt: None,
        auth_time: None,
        acr: None,
        source: TokenSource::Legacy,
        route: None,
    })
}

/// RFC 9449 §7: the token is presented the way its binding asks. A DPoP-bound token (`jkt`) needs
/// the `DPoP` scheme and one valid proof of this request (`htu`), made with its key, carrying its
/// hash; a bearer token needs the `Bearer` scheme.
async fn check_binding<A: TokenAuthority>(
    authority: &A,
    method: &Method,
    headers: &HeaderMap,
    scheme: Scheme,
    token: &str,
    jkt: Option<&str>,
    htu: &str,
) -> Result<(), OAuthError> {
    match (scheme, jkt) {
        (Scheme::Bearer, None) => Ok(()),
        // RFC 9449 §7.2: a bound token presented as a bearer token is refused, or the binding
        // would protect nothing.
        (Scheme::Bearer, Some(_)) => Err(invalid_token(
            Scheme::Dpop,
            "the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof",
        )),
        (Scheme::Dpop, None) => {
            Err(invalid_token(Scheme::Bearer, "the access token is not DPoP-bound: present it with the Bearer scheme"))
        }
        (Scheme::Dpop, Some(jkt)) => {
            let proof = authority
                .check_dpop_proof(headers, method.as_str(), htu, token)
                .await
                .map_err(DpopFailure::into_resource_error)?;
            match proof {
                None => Err(DpopFailure::Required("the DPoP scheme needs a DPoP proof").into_resource_error()),
                // RFC 9449 §4.3 check 12: the proof's key is the one the token is bound to.
                Some(proof) if proof.jkt != jkt => {
                    Err(DpopFailure::KeyMismatch("the DPoP proof key is not the one the access token is bound to")
                        .into_resource_error())
                }
                Some(_) => Ok(()),
            }
        }
    }
}

/// A caller whose sign-in is not strong or recent enough for an operation
/// ([`Authenticated::require_acr`](crate::Authenticated::require_acr),
/// [`Authenticated::require_max_age`](crate::Authenticated::require_max_age)); as a response,
/// `401 insufficient_user_authentication` with the challenge that says how the user must sign
/// in again (RFC 9470 §3): `acr_values` and `max_age`, which the client sends in its next
/// authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientUserAuthentication {
    pub(crate) scheme: Scheme,
    pub(crate) shortfall: Shortfall,
    pub(crate) required: UserAuthentication,
    pub(crate) scope: Option<String>,
    pub(crate) resource_metadata: Option<String>,
}

impl InsufficientUserAuthentication {
    /// The authentication context classes the operation accepts (any of them); empty when it
    /// accepts any.
    pub fn acr_values(&self) -> &[String] {
        &self.required.acr_values
    }

    /// The oldest sign-in the operation accepts, if it bounds the age.
    pub fn max_age(&self) -> Option<Duration> {
        self.required.max_age.map(Duration::from_secs)
    }
}

impl std::fmt::Display for InsufficientUserAuthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "insufficient_user_authentication: {}", self.shortfall.description())
    }
}

impl std::error::Error for InsufficientUserAuthentication {}

impl IntoResponse for InsufficientUserAuthentication {
    fn into_response(self) -> Response {
        Refusal::Error(step_up::refusal(self.scheme, self.shortfall, &self.required))
            .into_response(self.resource_metadata.as_deref(), self.scope.as_deref())
    }
}
