//! Old refresh tokens carried over (the host's `LegacyTokens`): a `refresh_token` grant whose
//! token attesto does not know, exchanged once, before the host's cut-off, for a new refresh
//! family of attesto's (RFC 6749 §6, with the single use and reuse detection of RFC 9700
//! §4.14.2).

use std::borrow::Cow;
use std::time::SystemTime;

use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{EventSink, RefreshReuseDetected};
use crate::host::legacy::{LegacyGrant, LegacyTokens};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::{Client, GrantType};
use crate::model::scope::Scopes;
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::legacy_token;
use crate::state::Attesto;
use crate::store::{RefreshFamily, TokenHash, new_id, new_secret};

use super::grant::{
    TokenResponse, UserTokens, invalid_grant, narrow_audience, offline_access_granted, record_grant, registration_used,
    respond_with_tokens,
};

/// The answer to a refresh token neither attesto nor the host knows: the one attesto gives for
/// an unknown token of its own, so that a caller learns nothing of which provider was asked.
const UNKNOWN: &str = "the refresh token is invalid, expired or revoked";

/// A refresh token grant (already authenticated: `client` may use the grant, its DPoP proof is
/// recorded) whose `token` attesto does not know: offered to the host's `LegacyTokens` before
/// its cut-off, and exchanged, once, for tokens of a new refresh family.
///
/// In order, so that a request that fails on its own parameters, or from another client, leaves
/// the old token usable: the cut-off and the token's syntax (nothing is asked of the host after
/// the one or for a value that cannot be a token); the host's verification; the client (RFC 6749
/// §6: the token's own); the scopes (no more than the old grant's, narrowed by the
/// `ScopePolicy`) and resources. Only then is the old token spent, in the store until the
/// cut-off: a second presentation is reuse, and revokes the family the first one created.
pub(super) async fn refresh_token<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    token: &str,
    requested: Scopes,
    requested_audience: Option<Cow<'_, [String]>>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = &attesto.provider();
    let Some(legacy) = provider.legacy_tokens() else {
        return Err(invalid_grant(UNKNOWN));
    };
    let now = SystemTime::now();
    let accepted_until = legacy.accepted_until();
    if now >= accepted_until {
        return Err(invalid_grant(
            "the refresh token is invalid, expired or revoked, and the previous provider's tokens are no longer accepted",
        ));
    }
    if !legacy_token::is_refresh_token_syntax(token) {
        return Err(invalid_grant(UNKNOWN));
    }
    let Some(grant) = legacy.verify_refresh_token(token).await? else {
        return Err(invalid_grant(UNKNOWN));
    };
    if grant.client_id != client.client_id {
        return Err(invalid_grant("the refresh token was issued to another client"));
    }
    let scopes = narrow_scopes(attesto, client, &grant, requested).await?;
    // The old grant's resources, each one this provider serves: a token for a resource it does
    // not know could not be used anywhere.
    let granted = attesto
        .settings()
        .audiences(grant.resources.iter().map(String::as_str))
        .map_err(|_| invalid_grant("the refresh token's grant names a resource this provider does not serve"))?;
    let audience = narrow_audience(requested_audience, &granted)?;

    // Spent once, for as long as the host would vouch for it: a second presentation finds the
    // record and is reuse.
    let family_id = legacy_token::family_id(token);
    let refresh_ttl = attesto.settings().refresh_token_ttl;
    let spent = TokenHash::of(&legacy_token::spent_key(token));
    if !attesto.store().insert_dpop_jti(&spent, accepted_until).await? {
        return Err(reuse_detected(attesto, client, &grant, &family_id, now + refresh_ttl).await?);
    }
    let grant_expires_at;
    let refresh = if offline_access_granted::<P>(&scopes)
        && provider.scope_policy().refresh_token_allowed(client, &scopes).await?
    {
        let (next, next_hash) = new_secret();
        grant_expires_at = now + refresh_ttl;
        let family = RefreshFamily {
            family_id: family_id.clone(),
            client_id: client.client_id.clone(),
            principal: grant.principal.clone(),
            scopes: scopes.clone(),
            audience: audience.clone(),
            expires_at: now + refresh_ttl,
            // As for a family made from a code: a public client's tokens are bound to the proof's
            // key (RFC 9449 §5).
            dpop_jkt: proof.filter(|_| client.is_public).map(|proof| proof.jkt.clone()),
            claims: None,
            claims_locales: Vec::new(),
        };
        // Refused when a second presentation revoked the family in the meantime.
        if !attesto.store().create_refresh_family(&family, &next_hash).await? {
            return Err(invalid_grant("the refresh token was already used; every token of its grant is revoked"));
        }
        Some(next)
    } else {
        grant_expires_at = now + attesto.settings().access_token_ttl;
        None
    };
    // The carried-over authorization is a grant like one made here: listed for the user, and
    // revoked with every token of it (`Attesto::revoke_grant`).
    let grant_id = Some(
        record_grant(
            attesto,
            family_id,
            client,
            &grant.principal,
            &scopes,
            &audience,
            (now, grant_expires_at),
            (None, &[]),
        )
        .await?,
    );
    registration_used(attesto, client).await;
    respond_with_tokens(
        attesto,
        UserTokens {
            client,
            user: &grant.principal,
            scopes: &scopes,
            audience: &audience,
            nonce: None,
            grant_type: GrantType::RefreshToken,
            jti: &new_id(),
            grant_id: grant_id.as_deref(),
            refresh_token: refresh,
            proof,
            claims: None,
            claims_locales: &[],
        },
    )
    .await
}

/// The scopes of the new family: the request's `scope` (RFC 6749 §6: no more than the old grant
/// held) or the old grant's, kept only where the host's `ScopePolicy` still allows them to the
/// client.
async fn narrow_scopes<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    grant: &LegacyGrant,
    requested: Scopes,
) -> Result<Scopes, OAuthError> {
    let scopes = if requested.is_empty() {
        grant.scopes.clone()
    } else {
        if requested.iter().any(|s| !grant.scopes.contains(s.as_str())) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, "the scope exceeds what was originally granted"));
        }
        requested
    };
    let scopes = match attesto.provider().scope_policy().authorize_scope(client, &scopes).await? {
        ScopeDecision::Grant(granted) => granted.intersection(&scopes),
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    if scopes.is_empty() && !grant.scopes.is_empty() {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "none of the scopes is allowed any more"));
    }
    Ok(scopes)
}

/// A spent old token presented again: the family its first exchange created is revoked, with the
/// access tokens issued under it (RFC 9700 §4.14.2), and the event sink hears of it.
async fn reuse_detected<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    grant: &LegacyGrant,
    family_id: &str,
    until: SystemTime,
) -> Result<OAuthError, OAuthError> {
    attesto.revoke_refresh_family(family_id, &grant.principal.subject, until).await?;
    attesto.provider().event_sink().refresh_reuse_detected(&RefreshReuseDetected {
        client_id: client.client_id.as_str(),
        subject: &grant.principal.subject,
        scope: &grant.scopes.to_string(),
        family_id,
    });
    Ok(invalid_grant("the refresh token was already used; every token of its grant is revoked"))
}
