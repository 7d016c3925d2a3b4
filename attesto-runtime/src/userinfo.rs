//! The userinfo endpoint (OpenID Connect Core 1.0 §5.3), protected as an OAuth resource
//! (RFC 6750).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::config::Attesto;
use crate::error::{ErrorCode, OAuthError};
use crate::jwt;
use crate::principal::Principal;
use crate::provider::Provider;
use crate::scope::Scopes;

/// `GET` and `POST {userinfo}`.
pub(crate) async fn handler<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    match userinfo(&attesto, request.headers()).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// `invalid_token`, 401, with the RFC 6750 §3 challenge.
fn invalid_token(description: &'static str) -> OAuthError {
    let challenge =
        HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
            .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""));
    OAuthError::new(ErrorCode::InvalidToken, description).with_challenge(challenge)
}

async fn userinfo<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap) -> Result<Response, OAuthError> {
    let inner = &attesto.0;
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let token = match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty()),
        (None, _) => None,
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("repeated Authorization header")),
    };
    // RFC 6750 §3.1: a request without credentials gets a bare challenge, and no error code or
    // other error information, in the header or the body.
    let Some(token) = token else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response());
    };
    let now = SystemTime::now();
    let seconds = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let issuer = inner.settings.issuer.as_str();
    let view = jwt::verify_access_token(&inner.keys, token, issuer, seconds).map_err(|reason| {
        tracing::debug!(?reason, "userinfo refused an access token");
        invalid_token("the access token is invalid, expired or revoked")
    })?;
    // Only tokens meant for this server: one issued for another resource (RFC 8707) is not
    // accepted here.
    if !view.aud.iter().any(|aud| aud == issuer) {
        return Err(invalid_token("the access token is not meant for this server"));
    }
    if attesto.is_access_token_revoked(&view.jti, now) {
        return Err(invalid_token("the access token is invalid, expired or revoked"));
    }
    // A token is worth no more than its client: once a registration is deleted (RFC 7592 §2.3)
    // or the host removes a client from its table, the client's tokens stop working here too.
    if attesto.find_client(&view.client_id).await?.is_none() {
        return Err(invalid_token("the access token is invalid, expired or revoked"));
    }
    let scopes = Scopes::parse(&view.scope).map_err(|_| invalid_token("the access token is malformed"))?;
    if !scopes.contains("openid") {
        return Err(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the `openid` scope")
            .with_status(StatusCode::FORBIDDEN)
            .with_challenge(HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\"")));
    }
    let principal = Principal::new(view.sub.clone());
    let mut claims = inner.provider.build_userinfo_claims(&principal, &scopes).await?;
    // OIDC Core §5.3.2: `sub` must be the token's subject, whatever the host returned.
    claims.insert("sub".to_owned(), serde_json::Value::String(view.sub));
    let body = serde_json::to_vec(&claims).unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
