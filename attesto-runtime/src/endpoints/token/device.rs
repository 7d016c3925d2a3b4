//! The device code grant at the token endpoint (RFC 8628 §3.4–3.5): the device polls with its
//! device code until the user decided, then gets tokens once.

use std::time::SystemTime;

use super::grant::{
    TokenResponse, UserTokens, check_client_requires_dpop, invalid_grant, narrow_audience, offline_access_granted,
    record_grant, record_proof, registration_used, respond_with_tokens,
};
use crate::endpoints::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::host::scopes::ScopePolicy;
use crate::model::client::GrantType;
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::form::Form;
use crate::state::Attesto;
use crate::store::{DevicePoll, RefreshFamily, TokenHash, new_id, new_secret};

/// The one answer for a device code that is unknown or spent (RFC 8628 §3.5 leaves them to
/// `invalid_grant`).
const INVALID: &str = "the device code is invalid, expired or was already used";

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
pub(super) async fn device_code<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    if P::PATHS.device_endpoints(&P::FEATURES).is_none() {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported"));
    }
    let provider = attesto.provider();
    // RFC 8628 §3.4: the client authenticates as for any grant; a public one names itself.
    let client = client_auth::authenticate_client(attesto, presented).await?;
    record_proof(attesto, proof).await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the device authorization grant",
        ));
    }
    check_client_requires_dpop(&client, proof)?;
    let device_code = form.get("device_code").ok_or_else(|| OAuthError::invalid_request("missing `device_code`"))?;
    let requested_audience = attesto.settings().audiences(form.all("resource"))?;
    let requested_audience = form.get("resource").is_some().then_some(requested_audience);
    let hash = TokenHash::of(device_code);
    let now = SystemTime::now();
    // The grant's client is checked on the grant as found, before the poll changes anything:
    // another client presenting the code neither spends it nor moves its polling clock.
    let Some(grant) = attesto.store().find_device_grant(&hash, now).await? else {
        return Err(invalid_grant(INVALID));
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant("the device code was issued to another client"));
    }
    // The resources are checked before the poll too, so that a request refused on its own
    // parameters does not spend an approved grant.
    let audience = narrow_audience(requested_audience, &grant.audience)?;
    // RFC 8628 §3.5: one atomic step of the store decides the answer.
    let principal = match attesto.store().poll_device_grant(&hash, now).await? {
        DevicePoll::Approved { principal } => principal,
        DevicePoll::Pending => {
            return Err(OAuthError::new(ErrorCode::AuthorizationPending, "the user has not decided yet"));
        }
        DevicePoll::SlowDown { interval } => {
            return Err(OAuthError::new(
                ErrorCode::SlowDown,
                format!("polling too fast: wait at least {} seconds between requests", interval.as_secs()),
            ));
        }
        DevicePoll::Denied => return Err(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request")),
        DevicePoll::Expired => {
            return Err(OAuthError::new(ErrorCode::ExpiredToken, "the device code expired before the user decided"));
        }
        DevicePoll::Redeemed | DevicePoll::Unknown => return Err(invalid_grant(INVALID)),
    };
    let scopes = grant.scopes;
    // A refresh token as for the code grant: with `offline_access` in an OpenID Connect request,
    // and when the host's policy allows it.
    // Every approved device code is a grant, as every redeemed authorization code is (see the
    // code grant): its id is that of its refresh family, whether or not the family is created.
    let family_id = new_id();
    let grant_expires_at;
    let refresh = if offline_access_granted::<P>(&scopes)
        && provider.scope_policy().refresh_token_allowed(&client, &scopes).await?
    {
        let (token, token_hash) = new_secret();
        grant_expires_at = now + attesto.settings().refresh_token_ttl;
        let family = RefreshFamily {
            family_id: family_id.clone(),
            client_id: client.client_id.clone(),
            principal: principal.clone(),
            scopes: scopes.clone(),
            audience: audience.clone(),
            expires_at: grant_expires_at,
            // As for the code grant (RFC 9449 §5): a public client's refresh tokens are bound to
            // the proof's key.
            dpop_jkt: proof.filter(|_| client.is_public).map(|proof| proof.jkt.clone()),
            claims: None,
            claims_locales: Vec::new(),
        };
        if !attesto.store().create_refresh_family(&family, &token_hash).await? {
            return Err(invalid_grant(INVALID));
        }
        Some(token)
    } else {
        grant_expires_at = now + attesto.settings().access_token_ttl;
        None
    };
    let grant_id =
        record_grant(attesto, family_id, &client, &principal, &scopes, &audience, (now, grant_expires_at), (None, &[]))
            .await?;
    registration_used(attesto, &client).await;
    respond_with_tokens(
        attesto,
        UserTokens {
            client: &client,
            user: &principal,
            scopes: &scopes,
            audience: &audience,
            nonce: None,
            grant_type: GrantType::DeviceCode,
            jti: &new_id(),
            grant_id: Some(&grant_id),
            refresh_token: refresh,
            proof,
            claims: None,
            claims_locales: &[],
        },
    )
    .await
}
