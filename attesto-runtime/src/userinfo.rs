//! The userinfo endpoint (OpenID Connect Core 1.0 §5.3), protected as an OAuth resource
//! (RFC 6750), honouring DPoP-bound access tokens (RFC 9449 §7).
//!
//! A bearer token comes as `Authorization: Bearer <token>`. A DPoP-bound token (one with
//! `cnf.jkt`) comes only as `Authorization: DPoP <token>` with exactly one `DPoP` proof made with
//! the token's key, for this request's method and URL, carrying the token's hash (`ath`); a bound
//! token presented as `Bearer` is refused (RFC 9449 §7.2), and so is an unbound one presented as
//! `DPoP`. A refusal's challenge names the scheme the token must be presented with.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::config::Attesto;
use crate::dpop_check::{self, DpopFailure};
use crate::error::{ErrorCode, OAuthError};
use crate::jwt;
use crate::principal::Principal;
use crate::provider::Provider;
use crate::scope::Scopes;

/// `GET` and `POST {userinfo}`.
pub(crate) async fn handler<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let mut response = match userinfo(&attesto, &parts.method, &parts.headers).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    attesto.add_fresh_dpop_nonce(&parts.headers, &mut response);
    response
}

/// The authorization scheme an access token is presented with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `Bearer` (RFC 6750 §2.1).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// `invalid_token`, 401, with the challenge of `scheme`: RFC 6750 §3 for `Bearer`, RFC 9449 §7.1
/// for `DPoP`.
fn invalid_token(scheme: Scheme, description: &'static str) -> OAuthError {
    let challenge = match scheme {
        Scheme::Bearer => {
            HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
                .unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""))
        }
        Scheme::Dpop => dpop_check::dpop_challenge(ErrorCode::InvalidToken, description),
    };
    OAuthError::new(ErrorCode::InvalidToken, description).with_challenge(challenge)
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

async fn userinfo<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, OAuthError> {
    let inner = &attesto.0;
    // RFC 6750 §3.1: a request without credentials gets a bare challenge, and no error code or
    // other error information, in the header or the body. RFC 9449 §7.1: a `DPoP` challenge
    // next to it tells a client that DPoP is accepted, and with which algorithms.
    let Some((scheme, token)) = credentials(headers)? else {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response();
        response.headers_mut().append(header::WWW_AUTHENTICATE, dpop_check::bare_dpop_challenge());
        return Ok(response);
    };
    let now = SystemTime::now();
    let seconds = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let issuer = inner.settings.issuer.as_str();
    let view = jwt::verify_access_token(&inner.keys, token, issuer, seconds).map_err(|reason| {
        tracing::debug!(?reason, "userinfo refused an access token");
        invalid_token(scheme, "the access token is invalid, expired or revoked")
    })?;
    // Only tokens meant for this server: one issued for another resource (RFC 8707) is not
    // accepted here.
    if !view.aud.iter().any(|aud| aud == issuer) {
        return Err(invalid_token(scheme, "the access token is not meant for this server"));
    }
    if attesto.is_access_token_revoked(&view.jti, now).await? {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked"));
    }
    // A token is worth no more than its client: once a registration is deleted (RFC 7592 §2.3)
    // or the host removes a client from its table, the client's tokens stop working here too.
    if attesto.find_client(&view.client_id).await?.is_none() {
        return Err(invalid_token(scheme, "the access token is invalid, expired or revoked"));
    }
    let scopes = Scopes::parse(&view.scope).map_err(|_| invalid_token(scheme, "the access token is malformed"))?;
    check_binding(attesto, method, headers, scheme, token, view.cnf.as_ref().map(|cnf| cnf.jkt.as_str())).await?;
    if !scopes.contains("openid") {
        let challenge = match scheme {
            Scheme::Bearer => HeaderValue::from_static("Bearer error=\"insufficient_scope\", scope=\"openid\""),
            Scheme::Dpop => {
                dpop_check::dpop_challenge(ErrorCode::InsufficientScope, "the access token lacks the `openid` scope")
            }
        };
        return Err(OAuthError::new(ErrorCode::InsufficientScope, "the access token lacks the `openid` scope")
            .with_status(StatusCode::FORBIDDEN)
            .with_challenge(challenge));
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

/// RFC 9449 §7: the token is presented the way its binding asks. A DPoP-bound token (`jkt`) needs
/// the `DPoP` scheme and one valid proof of this request, made with its key, carrying its hash;
/// a bearer token needs the `Bearer` scheme.
async fn check_binding<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
    scheme: Scheme,
    token: &str,
    jkt: Option<&str>,
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
            let path = crate::router::userinfo_path::<P>()
                .ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "the userinfo endpoint is off"))?;
            let proof = attesto
                .check_dpop(headers, method.as_str(), path, Some(token))
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
