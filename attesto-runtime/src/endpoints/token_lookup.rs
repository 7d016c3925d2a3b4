//! Finding a token a client presents, for revocation (RFC 7009) and introspection (RFC 7662).
//!
//! Both find a token the same way: a refresh token by the hash of its value in the store, an
//! access token by verifying it as this server's own JWT. Both answer only for the tokens of the
//! calling client (RFC 7009 §2.1: a client revokes its own tokens; RFC 7662 §2.2: a token that is
//! not the caller's business is `active: false`).

use std::time::SystemTime;

use http::HeaderMap;

use crate::endpoints::client_auth::{self, Presented};
use crate::error::OAuthError;
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::form::{self, Form};
use crate::protocol::jwt::{self, AccessTokenView};
use crate::state::Attesto;
use crate::store::{RefreshFamily, RefreshLookup, TokenHash};

/// A token as found for a client.
pub(crate) enum Found {
    /// An access token, verified as this server's.
    Access(AccessTokenView),
    /// A refresh token, current in its family.
    Refresh(RefreshFamily),
}

/// Who may call: any client, or only a confidential one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// Any client that authenticates as at the token endpoint, a public one by its `client_id`.
    AnyClient,
    /// A confidential client only (RFC 7662 §2.1: introspection is for authenticated callers; a
    /// public client proves nothing by naming itself).
    Confidential,
}

/// Reads the form and authenticates the caller, as at the token endpoint.
pub(crate) async fn read<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
    caller: Caller,
) -> Result<(Client, String, Option<String>), OAuthError> {
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, &[])?;
    let presented: Option<Presented> = client_auth::presented(headers, &form)?;
    let client = if caller == Caller::Confidential {
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
pub(crate) async fn find<P: Provider>(
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
    let Ok(view) = jwt::verify_access_token(attesto.keys(), token, attesto.settings().issuer.as_str(), now) else {
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
