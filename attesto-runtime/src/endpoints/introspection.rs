//! Token introspection (RFC 7662): what an active token says, for its client or a resource
//! server among its audiences; `active: false` for anything else. As JSON, or as a JWT signed by
//! the provider when the caller asks for one (RFC 9701).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use serde_json::Value;

use crate::endpoints::token_lookup::{Caller, Found, find, read};
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::introspection_jwt;
use crate::protocol::jwt::{self, Confirmation};
use crate::state::Attesto;

/// An introspection response (RFC 7662 §2.2).
#[derive(Serialize, Default)]
struct Introspection<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'a str>,
    /// RFC 9449 §6.2: the key a DPoP-bound token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<&'a Confirmation>,
}

/// `POST {introspection}` (RFC 7662 §2): JSON, or a signed JWT for a caller whose `Accept`
/// asks for `application/token-introspection+jwt` (RFC 9701 §4).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let as_jwt = introspection_jwt::wants_jwt(accept);
    let (client, response) = match introspect(&attesto, &parts.headers, body).await {
        Ok(answer) => answer,
        Err(error) => return error.into_response(),
    };
    let (content_type, body) = if as_jwt {
        match signed(&attesto, &client, &response) {
            Ok(token) => (introspection_jwt::MEDIA_TYPE, token.into_bytes()),
            Err(error) => return error.into_response(),
        }
    } else {
        ("application/json", serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"active\":false}".to_vec()))
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The RFC 9701 §5 JWT of an introspection response, for `client`, the caller, signed with its
/// `introspection_signed_response_alg` (RFC 9701 §6). An algorithm the provider's key does not
/// have is a fault of the server's (registration accepts no other): `server_error`.
fn signed<P: Provider>(attesto: &Attesto<P>, client: &Client, response: &Value) -> Result<String, OAuthError> {
    let unsignable = || OAuthError::new(ErrorCode::ServerError, "the introspection response could not be signed");
    let key = attesto.keys().signer_for(client.introspection_signed_response_alg).ok_or_else(unsignable)?;
    let response = introspection_jwt::IntrospectionResponse {
        issuer: attesto.settings().issuer.as_str(),
        caller: client.client_id.as_str(),
        introspection: response,
        now: jwt::unix_seconds(SystemTime::now()),
    };
    introspection_jwt::sign(key, &response).map_err(|error| {
        tracing::error!(%error, "signing an introspection response failed");
        unsignable()
    })
}

/// The RFC 7662 §2.2 response to the authenticated caller, and the caller.
async fn introspect<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(Client, Value), OAuthError> {
    let (client, token, hint) = read(attesto, headers, body, Caller::Confidential).await?;
    let issuer = attesto.settings().issuer.as_str();
    let found = find(attesto, &client, &token, hint.as_deref()).await?;
    // A token of a client that no longer exists (deleted registration) is no longer active.
    let owner = match &found {
        Some(Found::Access(view)) => Some(view.client_id.as_str()),
        Some(Found::Refresh(family)) => Some(family.client_id.as_str()),
        None => None,
    };
    let owner_exists = match owner {
        Some(owner) if owner == client.client_id.as_str() => true,
        Some(owner) => attesto.find_client(owner).await?.is_some(),
        None => false,
    };
    let scope;
    let response = match &found {
        Some(Found::Access(view)) if owner_exists => Introspection {
            active: true,
            scope: Some(&view.scope).filter(|s| !s.is_empty()).map(String::as_str),
            client_id: Some(&view.client_id),
            sub: Some(&view.sub),
            aud: Some(&view.aud),
            iss: Some(issuer),
            exp: Some(view.exp),
            iat: Some(view.iat).filter(|iat| *iat > 0),
            jti: Some(&view.jti),
            // RFC 9449 §6.2: a bound token is a `DPoP` token, and says which key it needs.
            token_type: Some(if view.cnf.is_some() { "DPoP" } else { "Bearer" }),
            cnf: view.cnf.as_ref(),
        },
        Some(Found::Refresh(family)) if owner_exists => {
            scope = family.scopes.to_string();
            Introspection {
                active: true,
                scope: Some(scope.as_str()).filter(|s| !s.is_empty()),
                client_id: Some(family.client_id.as_str()),
                sub: Some(&family.principal.subject),
                aud: Some(&family.audience),
                iss: Some(issuer),
                exp: family.expires_at.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs()),
                token_type: Some("refresh_token"),
                ..Introspection::default()
            }
        }
        _ => Introspection::default(),
    };
    let response = serde_json::to_value(&response).unwrap_or_else(|_| serde_json::json!({"active": false}));
    Ok((client, response))
}
