//! Token revocation (RFC 7009): a client revokes a token of its own, and with a refresh token the
//! whole grant behind it.

use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::endpoints::token_lookup::{Caller, Found, find, read};
use crate::error::OAuthError;
use crate::host::events::{EventSink, TokenRevoked};
use crate::host::provider::Provider;
use crate::state::Attesto;

/// `POST {revocation}` (RFC 7009 §2).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
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
    let (client, token, hint) = read(attesto, headers, body, Caller::AnyClient).await?;
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
            attesto.revoke_refresh_family(&family.family_id, &family.principal.subject, family.expires_at).await?;
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
