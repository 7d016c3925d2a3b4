//! Token revocation (RFC 7009) and token introspection (RFC 7662).
//!
//! Both find a token the same way: a refresh token by the hash of its value in the store, an
//! access token by verifying it as this server's own JWT. Both answer only for the tokens of the
//! calling client (RFC 7009 §2.1: a client revokes its own tokens; RFC 7662 §2.2: a token that is
//! not the caller's business is `active: false`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::endpoints::client_auth::{self, Presented};
use crate::error::OAuthError;
use crate::host::events::{EventSink, TokenRevoked};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::form::{self, Form};
use crate::protocol::jwt::{self, AccessTokenView, Confirmation};
use crate::state::Attesto;
use crate::store::{RefreshFamily, RefreshLookup, TokenHash};

/// A token as found for a client.
enum Found {
    Access(AccessTokenView),
    Refresh(RefreshFamily),
}

/// Reads the form and authenticates the caller, as at the token endpoint.
async fn read<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
    confidential_only: bool,
) -> Result<(Client, String, Option<String>), OAuthError> {
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, &[])?;
    let presented: Option<Presented> = client_auth::presented(headers, &form)?;
    let client = if confidential_only {
        // RFC 7662 §2.1: introspection is for authenticated callers; a public client proves
        // nothing by naming itself.
        let presented =
            presented.as_ref().ok_or_else(|| client_auth::invalid_client(None, "client authentication is required"))?;
        client_auth::authenticate_confidential(attesto, presented).await?
    } else {
        client_auth::authenticate_client(attesto, presented.as_ref()).await?
    };
    let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("missing `token`"))?.to_owned();
    Ok((client, token, form.get("token_type_hint").map(str::to_owned)))
}

/// Finds `token` among the tokens of `client`: the hint says where to look first, never where
/// to look only (RFC 7009 §2.1, RFC 7662 §2.1).
async fn find<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    token: &str,
    hint: Option<&str>,
) -> Result<Option<Found>, OAuthError> {
    let refresh_first = hint == Some("refresh_token");
    if refresh_first && let Some(found) = find_refresh(attesto, client, token).await? {
        return Ok(Some(found));
    }
    if let Some(found) = find_access(attesto, client, token).await? {
        return Ok(Some(found));
    }
    if refresh_first {
        return Ok(None);
    }
    find_refresh(attesto, client, token).await
}

async fn find_refresh<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    token: &str,
) -> Result<Option<Found>, OAuthError> {
    // A JWT is never a refresh token: spare the store the lookup.
    if token.contains('.') {
        return Ok(None);
    }
    let family = match attesto.store().find_refresh(&TokenHash::of(token), SystemTime::now()).await? {
        RefreshLookup::Current(family) => family,
        // A rotated-out token is no longer a grant; its family is revocable through the current one.
        RefreshLookup::RotatedOut(_) | RefreshLookup::Unknown => return Ok(None),
    };
    Ok((family.client_id == client.client_id).then_some(Found::Refresh(family)))
}

async fn find_access<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    token: &str,
) -> Result<Option<Found>, OAuthError> {
    let now = jwt::unix_seconds(SystemTime::now());
    let Ok(view) = jwt::verify_access_token(&attesto.keys(), token, attesto.settings().issuer.as_str(), now) else {
        return Ok(None);
    };
    // Revoked by its `jti` or with its grant (RFC 7009 §2.1): `active: false` either way.
    if attesto.is_access_token_revoked(&view, SystemTime::now()).await? {
        return Ok(None);
    }
    // The client the token was issued to, or a resource server it was issued for (its client id
    // among the audiences), may ask about it.
    let mine =
        view.client_id == client.client_id.as_str() || view.aud.iter().any(|aud| aud == client.client_id.as_str());
    Ok(mine.then_some(Found::Access(view)))
}

/// `POST {revocation}` (RFC 7009 §2).
pub(crate) async fn revocation<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match revoke(&attesto, &parts.headers, body).await {
        // RFC 7009 §2.2: 200 whether or not there was anything to revoke, so that a caller learns
        // nothing about tokens that are not its own.
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn revoke<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<(), OAuthError> {
    let (client, token, hint) = read(attesto, headers, body, false).await?;
    // Only tokens the client itself holds: an audience may introspect a token, not revoke it.
    let found = match find(attesto, &client, &token, hint.as_deref()).await? {
        Some(Found::Access(view)) if view.client_id != client.client_id.as_str() => None,
        found => found,
    };
    match found {
        Some(Found::Refresh(family)) => {
            // RFC 7009 §2.1: revoking a refresh token revokes the grant behind it — the whole
            // family, and the access tokens issued under it ("SHOULD also invalidate all access
            // tokens based on the same authorization grant").
            attesto.revoke_refresh_family(&family.family_id, family.expires_at).await?;
            attesto.provider().event_sink().token_revoked(&TokenRevoked {
                client_id: client.client_id.as_str(),
                subject: &family.principal.subject,
                token_type: "refresh_token",
            });
        }
        Some(Found::Access(view)) => {
            let expires_at = UNIX_EPOCH + Duration::from_secs(view.exp);
            attesto.revoke_access_token(&view.jti, expires_at).await?;
            attesto.provider().event_sink().token_revoked(&TokenRevoked {
                client_id: client.client_id.as_str(),
                subject: &view.sub,
                token_type: "access_token",
            });
        }
        None => {}
    }
    Ok(())
}

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
pub(crate) async fn introspection<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
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
    let (client, token, hint) = read(attesto, headers, body, true).await?;
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
