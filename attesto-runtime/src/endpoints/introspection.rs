//! Token introspection (RFC 7662): what an active token says, for its client or a resource
//! server among its audiences; `active: false` for anything else.

use std::time::UNIX_EPOCH;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use crate::endpoints::token_lookup::{Caller, Found, find, read};
use crate::error::OAuthError;
use crate::host::provider::Provider;
use crate::protocol::jwt::Confirmation;
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

/// `POST {introspection}` (RFC 7662 §2).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match introspect(&attesto, &parts.headers, body).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

async fn introspect<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Vec<u8>, OAuthError> {
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
    Ok(serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"active\":false}".to_vec()))
}
