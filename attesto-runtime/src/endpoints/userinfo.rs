//! The userinfo endpoint (OpenID Connect Core 1.0 §5.3), protected as an OAuth resource
//! (RFC 6750), honouring DPoP-bound access tokens (RFC 9449 §7).
//!
//! A bearer token comes as `Authorization: Bearer <token>`. A DPoP-bound token (one with
//! `cnf.jkt`) comes only as `Authorization: DPoP <token>` with exactly one `DPoP` proof made with
//! the token's key, for this request's method and URL, carrying the token's hash (`ath`); a bound
//! token presented as `Bearer` is refused (RFC 9449 §7.2), and so is an unbound one presented as
//! `DPoP`. A refusal's challenge names the scheme the token must be presented with.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::dpop;
use crate::error::{ErrorCode, OAuthError};
use crate::host::principals::ClaimsQuery;
use crate::host::provider::Provider;
use crate::model::claims::ClaimsTarget;
use crate::protocol::userinfo as userinfo_jwt;
use crate::resource_server::token_check::{self, LegacyAccess, Scheme};
use crate::state::Attesto;

/// `GET` and `POST {userinfo}`.
pub(crate) async fn get_or_post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let mut response = match userinfo(&attesto, &parts.method, &parts.headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    attesto.add_fresh_dpop_nonce(&parts.headers, &mut response);
    response
}

async fn userinfo<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, OAuthError> {
    let path = P::PATHS
        .userinfo_endpoint(&P::FEATURES)
        .ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "the userinfo endpoint is off"))?;
    let issuer = attesto.settings().issuer.as_str();
    // Only tokens meant for this server (RFC 8707): the audience is the issuer. No expiry
    // leeway: the provider's own clock decided `exp`.
    // The previous provider's tokens are not offered to the host here: its userinfo answered
    // for them, and attesto's answers for attesto's.
    let htu = attesto.settings().issuer.url_of(path);
    let view =
        match token_check::authenticate(attesto, method, headers, issuer, &htu, 0, LegacyAccess::NotOffered).await {
            Ok(view) => view,
            Err(refusal) => return Ok(refusal.into_response(None, None)),
        };
    let scheme = view.scheme();
    if !view.scopes.contains("openid") {
        let challenge = match scheme {
            Scheme::Bearer => HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
            Scheme::Dpop => {
                dpop::check::dpop_challenge(ErrorCode::InsufficientScope, "the access token lacks the `openid` scope")
            }
        };
        return Err(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the `openid` scope")
            .with_status(StatusCode::FORBIDDEN)
            .with_challenge(challenge));
    }
    // OIDC Core §5.5: the claims the authorization requested for userinfo, kept with its grant,
    // which the token names (`grant_id`; every token attesto issues for a user does). A grant
    // that is gone (revoked, or expired with its last token) is not answered for: its tokens are
    // revoked with it, and this instance may not have heard yet (the revocation list is refreshed
    // periodically), so the store's word is taken and the token refused as the check would.
    // The claims were requested by the grant's client for its user: a token that another client
    // got by exchange (RFC 8693, which keeps the grant) is answered without them. A store that
    // cannot answer does not stop userinfo, whose token check needs no store within the revocation
    // refresh interval: the answer then has the claims of the scopes alone (requested claims are
    // a client's wish, OIDC Core §5.5.1), and the failure is logged.
    let now = std::time::SystemTime::now();
    let grant = match view.claims.get("grant_id").and_then(serde_json::Value::as_str) {
        None => None,
        Some(grant_id) => match attesto.store().find_grant(grant_id, now).await {
            Ok(Some(grant)) => {
                Some(grant).filter(|grant| grant.subject == view.subject && grant.client_id == view.client_id)
            }
            Ok(None) => {
                return Err(token_check::invalid_token(scheme, "the access token's grant was revoked or has expired"));
            }
            Err(error) => {
                tracing::warn!(%error, "userinfo: the grant could not be read; answering without requested claims");
                None
            }
        },
    };
    // The token's client decides the `sub` it sees (OIDC Core §8: public or pairwise) and how the
    // answer is sent. The token check refused tokens of a client that is gone; one deleted since
    // (a race) is refused the same way, never answered with the user's own identifier.
    let client = match attesto.lookup_client(view.client_id.as_str()).await? {
        Ok(found) => found.client,
        Err(_) => return Err(token_check::invalid_token(scheme, "the access token is invalid, expired or revoked")),
    };
    let mut query = ClaimsQuery::new(ClaimsTarget::Userinfo, &view.client_id, &view.subject, &view.scopes);
    query.client = Some(&client);
    if let Some(grant) = &grant {
        query.requested = grant.claims.as_ref().and_then(|claims| claims.userinfo.as_ref());
        query.claims_locales = &grant.claims_locales;
    }
    let mut claims = attesto.provider().build_userinfo_claims(&query).await?;
    // OIDC Core §5.3.2: `sub` must be the ID token's, whatever the host returned.
    let subject = attesto.subject_for(&client, &view.subject)?;
    claims.insert("sub".to_owned(), serde_json::Value::String(subject.into_owned()));
    // A client that registered `userinfo_signed_response_alg` gets the claims signed (OIDC Core
    // §5.3.2).
    let signed = client.userinfo_signed_response_alg;
    let (content_type, body) = match signed {
        None => ("application/json", serde_json::to_vec(&claims).unwrap_or_default()),
        Some(alg) => {
            // Registration accepts only the signing key's algorithm; a host's client set up with
            // another, or a key changed since, is a fault of the server's, never an unsigned answer.
            let key = attesto.keys().signer_for(Some(alg)).ok_or_else(|| {
                OAuthError::new(
                    ErrorCode::ServerError,
                    "this client's `userinfo_signed_response_alg` is not the algorithm of this server's signing key",
                )
            })?;
            let token = userinfo_jwt::sign(key, attesto.settings().issuer.as_str(), view.client_id.as_str(), claims)
                .map_err(|_| OAuthError::new(ErrorCode::ServerError, "the userinfo response could not be signed"))?;
            (userinfo_jwt::CONTENT_TYPE, token.into_bytes())
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
