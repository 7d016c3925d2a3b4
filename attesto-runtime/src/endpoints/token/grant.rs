//! What every grant of the token endpoint shares: the token response (RFC 6749 §5.1), minting the
//! access token and, for a user, the ID token, and the checks and records each grant makes the
//! same way (DPoP, resources, the registration's last use). `token.rs` has the
//! grants of RFC 6749; `device.rs`, `exchange.rs` and `assertion.rs` the others; all of them
//! import this module, none imports another grant.

use std::borrow::Cow;
use std::time::SystemTime;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde::Serialize;

use crate::dpop::check::DpopFailure;
use crate::endpoints::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{EventSink, TokenIssued};
use crate::host::principals::ClaimsQuery;
use crate::host::provider::Provider;
use crate::host::registrations::RegistrationStore;
use crate::model::claims::{ClaimsRequest, ClaimsTarget};
use crate::model::client::{Client, ClientSource, GrantType};
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;
use crate::protocol::access_token::{self, AccessToken, Subject};
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::id_token;
use crate::protocol::jwt;
use crate::state::Attesto;
use crate::store::{Grant, LogoutSession};

/// The scope of OpenID Connect requests (OIDC Core §3.1.2.1).
pub(super) const OPENID: &str = "openid";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub(super) access_token: String,
    pub(super) token_type: &'static str,
    pub(super) expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) id_token: Option<String>,
    /// RFC 8693 §2.2.1: the type of the token issued by token exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) issued_token_type: Option<&'static str>,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        // Sized for the token and the other members, so that serialising does not reallocate.
        let extra = self.refresh_token.as_ref().map_or(0, |t| t.len() + 20)
            + self.id_token.as_ref().map_or(0, |t| t.len() + 16);
        let mut body = Vec::with_capacity(self.access_token.len() + self.scope.len() + 96 + extra);
        if serde_json::to_writer(&mut body, &self).is_err() {
            body = Vec::new();
        }
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                // RFC 6749 §5.1: responses with tokens must not be cached.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response()
    }
}

/// `token_type` of a response (RFC 6749 §7.1): `DPoP` for a token bound to a DPoP key (RFC 9449
/// §5), `Bearer` otherwise.
fn token_type(bound: bool) -> &'static str {
    if bound { "DPoP" } else { "Bearer" }
}

/// The client of a grant that only confidential clients may use (token exchange, identity
/// assertions): authenticated, its DPoP proof recorded, allowed `grant`, and holding a proof if
/// its tokens must be DPoP-bound. `public` and `not_allowed` are the grant's own descriptions of
/// a public client and of a client not allowed the grant.
pub(super) async fn confidential_client<P: Provider>(
    attesto: &Attesto<P>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
    grant: GrantType,
    public: &'static str,
    not_allowed: &'static str,
) -> Result<Client, OAuthError> {
    let presented = presented.ok_or_else(|| client_auth::invalid_client(None, "client authentication is required"))?;
    if presented.is_public() {
        return Err(client_auth::invalid_client(None, public));
    }
    let client = client_auth::authenticate_confidential(attesto, presented).await?;
    record_proof(attesto, proof).await?;
    if !client.allows_grant(grant) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, not_allowed));
    }
    check_client_requires_dpop(&client, proof)?;
    Ok(client)
}

/// RFC 9449 §5.2: a client whose tokens must always be DPoP-bound (`dpop_bound_access_tokens`)
/// is refused a token without a proof.
pub(super) fn check_client_requires_dpop(client: &Client, proof: Option<&VerifiedProof>) -> Result<(), OAuthError> {
    if client.dpop_bound_access_tokens && proof.is_none() {
        return Err(DpopFailure::Required("this client must use DPoP: a DPoP proof is required").into_error());
    }
    Ok(())
}

/// The audiences of a token issued from a grant: the resources the token request names, each one
/// the grant holds (RFC 8707 §2.2: a token request may narrow the resources, never widen them), or
/// all of the grant's when it names none.
pub(super) fn narrow_audience(
    requested: Option<Cow<'_, [String]>>,
    granted: &[String],
) -> Result<Vec<String>, OAuthError> {
    match requested {
        Some(requested) if requested.iter().any(|r| !granted.contains(r)) => {
            Err(OAuthError::new(ErrorCode::InvalidTarget, "the resource was not part of the authorization"))
        }
        Some(requested) => Ok(requested.into_owned()),
        None => Ok(granted.to_vec()),
    }
}

/// Tells the registration store that a registered client obtained a token (see
/// `RegistrationStore::registration_used`): a store that expires unused registrations keeps it.
/// A failure is logged: the token is not refused for it.
/// Records the grant `user` gave `client` (a code or device code redeemed, or a replaced
/// provider's authorization carried over) and returns its id, which the access tokens carry. Every
/// user authorization is one, with or without a refresh token (the family `family_id`, when
/// issued), so that revoking it (`Attesto::revoke_grant`) cuts the access tokens too; `period` is
/// when it was given and until when the user sees it listed (the family's or the access token's
/// end). `requested` is the authorization's `claims` and `claims_locales` (OIDC Core §5.5, §5.2),
/// kept with the grant for the userinfo endpoint.
// One argument per part of the record: a struct would only repeat `Grant`'s fields.
#[allow(clippy::too_many_arguments)]
pub(super) async fn record_grant<P: Provider>(
    attesto: &Attesto<P>,
    family_id: String,
    client: &Client,
    user: &AuthenticatedPrincipal,
    scopes: &Scopes,
    audience: &[String],
    period: (SystemTime, SystemTime),
    requested: (Option<&ClaimsRequest>, &[String]),
) -> Result<String, OAuthError> {
    let (created_at, expires_at) = period;
    let (claims, claims_locales) = requested;
    let record = Grant::new(
        family_id,
        client.client_id.clone(),
        user.subject.clone(),
        scopes.clone(),
        audience.to_vec(),
        created_at,
        expires_at,
    )
    .with_session_id(user.session_id.clone())
    .with_claims(claims.cloned(), claims_locales.to_vec());
    attesto.store().put_grant(&record).await?;
    // OpenID Connect Back-Channel Logout 1.0 §2.7: a client that wants to hear of the session's
    // end is recorded with it. The record outlives the grant's access tokens (a relying party's
    // session outlasts the tokens that started it), for the refresh token lifetime: the longest a
    // token of this grant can live, since a refresh family ends at its creation plus that time.
    if client.backchannel_logout_uri.is_some() {
        let until = expires_at.max(created_at + attesto.settings().refresh_token_ttl);
        let session =
            LogoutSession::new(user.subject.clone(), user.session_id.clone(), client.client_id.clone(), until);
        attesto.store().put_logout_session(&session).await?;
    }
    Ok(record.grant_id)
}

pub(super) async fn registration_used<P: Provider>(attesto: &Attesto<P>, client: &Client) {
    if client.source != ClientSource::SelfAsserted {
        return;
    }
    if let Some(store) = attesto.provider().registration_store()
        && let Err(error) = store.registration_used(&client.client_id).await
    {
        tracing::warn!(%error, client_id = client.client_id.as_str(), "the registration store was not told of a token");
    }
}

/// Records the request's DPoP proof against replay (RFC 9449 §11.1), now that the client has
/// authenticated.
pub(super) async fn record_proof<P: Provider>(
    attesto: &Attesto<P>,
    proof: Option<&VerifiedProof>,
) -> Result<(), OAuthError> {
    attesto.record_dpop(proof, "POST", P::PATHS.token).await.map_err(DpopFailure::into_error)
}

/// Whether a grant with `scopes` may have a refresh token at all: in an OpenID Connect request only
/// with `offline_access` (OIDC Core §11: a refresh token outliving the user's session is what
/// that scope asks, and consents, for). A plain OAuth request is not concerned.
pub(super) fn offline_access_granted<P: Provider>(scopes: &Scopes) -> bool {
    !(P::FEATURES.openid && scopes.contains(OPENID)) || scopes.contains("offline_access")
}

pub(super) fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// What a grant on behalf of a user issues: an access token, the refresh token if any, and an ID
/// token when the scope has `openid` and OpenID Connect is on.
pub(super) struct UserTokens<'a> {
    pub(super) client: &'a Client,
    pub(super) user: &'a AuthenticatedPrincipal,
    pub(super) scopes: &'a Scopes,
    pub(super) audience: &'a [String],
    /// The authorization request's `nonce`, for the ID token (OIDC Core §3.1.3.6).
    pub(super) nonce: Option<&'a str>,
    pub(super) grant_type: GrantType,
    pub(super) jti: &'a str,
    pub(super) grant_id: Option<&'a str>,
    pub(super) refresh_token: Option<String>,
    pub(super) proof: Option<&'a VerifiedProof>,
    /// The authorization's `claims` (OIDC Core §5.5), whose `id_token` member the host's ID token
    /// claims are built with.
    pub(super) claims: Option<&'a ClaimsRequest>,
    /// The authorization's `claims_locales` (OIDC Core §5.2).
    pub(super) claims_locales: &'a [String],
}

/// The response of a grant on behalf of a user.
pub(super) async fn respond_with_tokens<P: Provider>(
    attesto: &Attesto<P>,
    tokens: UserTokens<'_>,
) -> Result<TokenResponse, OAuthError> {
    let UserTokens {
        client,
        user,
        scopes,
        audience,
        nonce,
        grant_type,
        jti,
        grant_id,
        refresh_token,
        proof,
        claims,
        claims_locales,
    } = tokens;
    let provider = &attesto.provider();
    let principal = provider.build_principal(client, &user.subject, scopes).await?;
    // The subject is the authenticated user's: the host shapes claims, not identity.
    let scope = scopes.to_string();
    let access_token = issue(
        attesto,
        &AccessToken {
            issuer: attesto.settings().issuer.as_str(),
            subject: Subject::User(user),
            client_id: client.client_id.as_str(),
            scope: &scope,
            audience,
            jti,
            grant_id,
            jkt: proof.map(|proof| proof.jkt.as_str()),
            act: None,
            extra: &principal.claims,
            now: jwt::unix_seconds(SystemTime::now()),
            ttl: attesto.settings().access_token_ttl.as_secs(),
        },
        grant_type,
    )?;
    let id_token = if P::FEATURES.openid && scopes.contains(OPENID) {
        let mut query = ClaimsQuery::new(ClaimsTarget::IdToken, &client.client_id, &user.subject, scopes);
        query.client = Some(client);
        query.authentication = Some(user);
        query.requested = claims.and_then(|claims| claims.id_token.as_ref());
        query.claims_locales = claims_locales;
        // `auth_time` is in every ID token attesto issues, so a request for it (OIDC Core §5.5.1)
        // is met already; the host's claims never replace attesto's own (`id_token::mint`).
        let extra = provider.build_id_token_claims(&query).await?;
        let subject = attesto.subject_for(client, &user.subject)?;
        Some(id_token::mint(
            attesto.keys().signing_key(),
            id_token::IdToken {
                issuer: attesto.settings().issuer.as_str(),
                client_id: client.client_id.as_str(),
                principal: user,
                subject: &subject,
                nonce,
                access_token: &access_token,
                now: jwt::unix_seconds(SystemTime::now()),
                ttl: attesto.settings().access_token_ttl.as_secs(),
                extra,
            },
        )?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: token_type(proof.is_some()),
        expires_in: attesto.settings().access_token_ttl.as_secs(),
        scope,
        refresh_token,
        id_token,
        issued_token_type: None,
    })
}

/// The answer of a grant that issues an access token alone, without refresh or ID token
/// (`client_credentials`, token exchange, identity assertions): the token minted, the
/// registration's use recorded, and the response, with `issued_token_type` when the grant has one
/// (RFC 8693 §2.2.1).
pub(super) async fn access_token_response<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    token: &AccessToken<'_>,
    grant_type: GrantType,
    issued_token_type: Option<&'static str>,
) -> Result<TokenResponse, OAuthError> {
    let access_token = issue(attesto, token, grant_type)?;
    registration_used(attesto, client).await;
    Ok(TokenResponse {
        access_token,
        token_type: token_type(token.jkt.is_some()),
        expires_in: token.ttl,
        scope: token.scope.to_owned(),
        refresh_token: None,
        id_token: None,
        issued_token_type,
    })
}

/// Mints an access token and tells the event sink.
pub(super) fn issue<P: Provider>(
    attesto: &Attesto<P>,
    token: &AccessToken<'_>,
    grant_type: GrantType,
) -> Result<String, OAuthError> {
    let access_token = access_token::mint(attesto.keys().signing_key(), token).map_err(|error| {
        tracing::error!(%error, "signing an access token failed");
        OAuthError::new(ErrorCode::ServerError, "the token could not be signed")
    })?;
    attesto.provider().event_sink().token_issued(&TokenIssued {
        client_id: token.client_id,
        subject: token.subject(),
        grant_type,
        scope: token.scope,
        audience: token.audience,
        jti: token.jti,
    });
    Ok(access_token)
}
