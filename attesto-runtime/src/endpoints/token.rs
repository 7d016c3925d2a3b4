//! The token endpoint (RFC 6749 §3.2): request parsing, grant dispatch, and the RFC 9068 JWT
//! access token.
//!
//! A request with a valid DPoP proof (RFC 9449 §5) gets an access token bound to the proof's key
//! (`cnf.jkt`, `token_type: DPoP`); a public client's refresh tokens are bound to it too, and a
//! code whose authorization request named a key (`dpop_jkt`, RFC 9449 §10) is redeemed only with
//! a proof made with that key.

use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method};

use crate::dpop::check::DpopFailure;
use crate::endpoints::client_auth::{self, Presented};
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{CodeReuseDetected, EventSink, RefreshReuseDetected, RefreshRotated, TokenDenied};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::{Client, GrantType};
use crate::model::scope::Scopes;
use crate::protocol::access_token::{AccessToken, Subject};
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::form::{self, Form};
use crate::protocol::jwt;
use crate::protocol::pkce;
use crate::state::Attesto;
use crate::store::revoked;
use crate::store::{
    AuthorizationRequest, CodeIssue, CodeRedemption, RefreshFamily, RefreshLookup, Rotation, TokenHash, new_id,
    new_secret,
};

#[cfg(feature = "fetch")]
mod assertion;
mod device;
mod exchange;
mod grant;
mod legacy;

use grant::{
    OPENID, TokenResponse, UserTokens, access_token_response, check_client_requires_dpop, invalid_grant,
    narrow_audience, offline_access_granted, record_grant, record_proof, registration_used, respond_with_tokens,
};

/// Parameters that may appear more than once: RFC 8707 §2 `resource`, RFC 8693 §2.1 `audience`.
const REPEATABLE: &[&str] = &["resource", "audience"];

/// `POST {token}`.
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match token(&attesto, &parts.method, &parts.headers, body).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    attesto.add_fresh_dpop_nonce(&parts.headers, &mut response);
    response
}

/// What the endpoint knew of a request when it failed, for the `token_denied` event.
#[derive(Default)]
struct Context {
    /// The credentials presented; their client id names the client in the event.
    presented: Option<Presented>,
    grant_type: Option<GrantType>,
}

async fn token<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<TokenResponse, OAuthError> {
    let mut context = Context::default();
    let result = exchange(attesto, method, headers, body, &mut context).await;
    if let Err(error) = &result {
        attesto.provider().event_sink().token_denied(&TokenDenied {
            client_id: context.presented.as_ref().map(|p| p.client_id.as_str()),
            grant_type: context.grant_type,
            error: error.code(),
            description: error.description(),
        });
    }
    result
}

async fn exchange<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
    body: axum::body::Body,
    context: &mut Context,
) -> Result<TokenResponse, OAuthError> {
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, REPEATABLE)?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("missing `grant_type`"))?;
    context.presented = client_auth::presented(headers, &form)?;
    if let Some(presented) = &context.presented {
        client_auth::refuse_method_outside_profile(attesto, presented)?;
    }
    // RFC 9449 §5: the proof is checked before any grant is looked at, so that a nonce challenge
    // (§8) or a refused proof never spends a code or rotates a refresh token. Its `jti` is
    // recorded against replay only once the client has authenticated (each grant calls
    // `record_proof`), so that a caller who fails authentication costs no store write.
    let proof = attesto.verify_dpop(headers, method.as_str(), P::PATHS.token).map_err(DpopFailure::into_error)?;
    let proof = proof.as_ref();
    // FAPI 2.0 Security Profile §5.3.2.1 clauses 4 and 5: sender-constrained access tokens only,
    // here DPoP-bound ones, so every grant needs a proof.
    if attesto.settings().profile.is_fapi2() && proof.is_none() {
        return Err(DpopFailure::Required(
            "this server follows the FAPI 2.0 Security Profile: access tokens are DPoP-bound, send a DPoP proof",
        )
        .into_error());
    }
    match GrantType::parse(grant_type) {
        Some(GrantType::ClientCredentials) => {
            context.grant_type = Some(GrantType::ClientCredentials);
            client_credentials(attesto, &form, context.presented.as_ref(), proof).await
        }
        Some(GrantType::AuthorizationCode) => {
            context.grant_type = Some(GrantType::AuthorizationCode);
            authorization_code(attesto, &form, context.presented.as_ref(), proof).await
        }
        Some(GrantType::RefreshToken) => {
            context.grant_type = Some(GrantType::RefreshToken);
            refresh_token(attesto, &form, context.presented.as_ref(), proof).await
        }
        Some(GrantType::DeviceCode) => {
            context.grant_type = Some(GrantType::DeviceCode);
            device::device_code(attesto, &form, context.presented.as_ref(), proof).await
        }
        // Token exchange is served when the host has a policy for it.
        Some(GrantType::TokenExchange) if attesto.provider().token_exchange_policy().is_some() => {
            context.grant_type = Some(GrantType::TokenExchange);
            exchange::token_exchange(attesto, &form, context.presented.as_ref(), proof).await
        }
        // Identity assertions are served when the builder was given a trusted issuer.
        #[cfg(feature = "fetch")]
        Some(GrantType::JwtBearer) if attesto.identity_issuers().is_some() => {
            context.grant_type = Some(GrantType::JwtBearer);
            assertion::jwt_bearer(attesto, &form, context.presented.as_ref(), proof).await
        }
        _ => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported")),
    }
}

/// Whether the proof is made with the key a grant is bound to (`bound`, a thumbprint), if it is
/// bound to one: `missing` when there is no proof, `mismatch` when the key differs.
fn check_bound_key(
    bound: Option<&str>,
    proof: Option<&VerifiedProof>,
    missing: &'static str,
    mismatch: &'static str,
) -> Result<(), OAuthError> {
    match (bound, proof) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(DpopFailure::Required(missing).into_error()),
        (Some(jkt), Some(proof)) if proof.jkt != jkt => Err(DpopFailure::KeyMismatch(mismatch).into_error()),
        (Some(_), Some(_)) => Ok(()),
    }
}

/// The client credentials grant (RFC 6749 §4.4): a confidential client gets a token for itself.
async fn client_credentials<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = &attesto.provider();
    // RFC 6749 §4.4.2: the client must authenticate.
    let presented = presented.ok_or_else(|| client_auth::invalid_client(None, "client authentication is required"))?;
    let client = client_auth::authenticate_confidential(attesto, presented).await?;
    record_proof(attesto, proof).await?;
    if !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the client_credentials grant",
        ));
    }
    check_client_requires_dpop(&client, proof)?;
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    // OpenID Connect is about a user, and a client acting for itself has none: its token's `sub`
    // is its client id, which userinfo would otherwise read as the subject of a user (the host's
    // user 42 and client 42, say).
    if requested.contains(OPENID) {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "`openid` needs a user; client_credentials has none"));
    }
    let audience = attesto.settings().audiences(form.all("resource"))?;
    let scopes = match provider.scope_policy().authorize_scope(&client, &requested).await? {
        // A policy that grants the client's allowed scopes by default may include `openid`.
        ScopeDecision::Grant(scopes) if scopes.contains(OPENID) => {
            scopes.iter().filter(|s| s.as_str() != OPENID).cloned().collect::<Scopes>()
        }
        ScopeDecision::Grant(scopes) => scopes,
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    // RFC 9068 §2.2: for a client acting for itself, `sub` is the client id.
    let principal = provider.build_principal(&client, client.client_id.as_str(), &scopes).await?;
    let jti = new_id();
    let scope = scopes.to_string();
    access_token_response(
        attesto,
        &client,
        &AccessToken {
            issuer: attesto.settings().issuer.as_str(),
            subject: Subject::Client(&principal.subject),
            client_id: client.client_id.as_str(),
            scope: &scope,
            audience: &audience,
            jti: &jti,
            grant_id: None,
            jkt: proof.map(|proof| proof.jkt.as_str()),
            act: None,
            extra: &principal.claims,
            now: jwt::unix_seconds(SystemTime::now()),
            ttl: attesto.settings().access_token_ttl.as_secs(),
        },
        GrantType::ClientCredentials,
        None,
    )
    .await
}

/// Whether `client`, presenting `verifier`, holds the code of `request`: its client (RFC 6749
/// §4.1.3) with the verifier of its challenge (RFC 7636 §4.6, S256, compared in constant time).
fn check_code_holder(request: &AuthorizationRequest, client: &Client, verifier: &str) -> Result<(), OAuthError> {
    if request.client_id != client.client_id {
        return Err(invalid_grant("the authorization code was issued to another client"));
    }
    if !pkce::verifier_matches(verifier, &request.code_challenge) {
        return Err(invalid_grant("`code_verifier` does not match the code challenge"));
    }
    Ok(())
}

/// The authorization code grant (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.6).
async fn authorization_code<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = &attesto.provider();
    let client = client_auth::authenticate_client(attesto, presented).await?;
    record_proof(attesto, proof).await?;
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code grant",
        ));
    }
    // Before the code is taken, so that a client that forgot its proof can still redeem it.
    check_client_requires_dpop(&client, proof)?;
    let code = form.get("code").ok_or_else(|| OAuthError::invalid_request("missing `code`"))?;
    let verifier = form.get("code_verifier").ok_or_else(|| OAuthError::invalid_request("missing `code_verifier`"))?;
    if !pkce::verifier_is_well_formed(verifier) {
        return Err(OAuthError::invalid_request("`code_verifier` must be 43 to 128 unreserved characters"));
    }
    let requested_audience = attesto.settings().audiences(form.all("resource"))?;
    let requested_audience = form.get("resource").is_some().then_some(requested_audience);

    // RFC 6749 §4.1.3: the code must have been issued to this client, and (RFC 7636 §4.6) the
    // verifier must match its challenge. Both are checked on the code as found, before it is spent:
    // a caller that is not the code's client, or that lacks the verifier, changes nothing — it
    // neither burns a victim's code nor, presenting a used one, revokes what it issued (RFC 9700
    // §4.5.3.1 is for the code's own client replaying it).
    let hash = TokenHash::of(code);
    let now = SystemTime::now();
    let Some(found) = attesto.store().find_code(&hash, now).await? else {
        return Err(invalid_grant("the authorization code is invalid, expired or was already used"));
    };
    check_code_holder(&found.request, &client, verifier)?;

    // The ids of what this redemption will issue are recorded with the code as it is taken, so
    // that a replay, however soon, can revoke them (RFC 9700 §4.5.3.1).
    let ttl = attesto.settings().access_token_ttl;
    let issue_ids = CodeIssue { family_id: new_id(), access_token_jti: new_id(), access_token_expires_at: now + ttl };
    let grant = match attesto.store().redeem_code(&hash, &issue_ids, now).await? {
        CodeRedemption::Redeemed(grant) => grant,
        CodeRedemption::Replayed(first) => {
            // The family with the access tokens of its refreshes (its grant), and the code's own
            // access token by `jti`, which carries no grant when the code made no family.
            attesto
                .revoke_refresh_family(
                    &first.family_id,
                    &found.principal.subject,
                    now + attesto.settings().refresh_token_ttl,
                )
                .await?;
            attesto.revoke_access_token(&first.access_token_jti, first.access_token_expires_at).await?;
            provider.event_sink().code_reuse_detected(&CodeReuseDetected {
                client_id: client.client_id.as_str(),
                family_id: &first.family_id,
                jti: &first.access_token_jti,
            });
            return Err(invalid_grant("the authorization code is invalid, expired or was already used"));
        }
        CodeRedemption::Unknown => {
            return Err(invalid_grant("the authorization code is invalid, expired or was already used"));
        }
    };
    let request = &grant.request;
    // The code taken is the code found (codes are never rewritten); checked again all the same,
    // since this is the check that matters.
    check_code_holder(request, &client, verifier)?;
    // RFC 6749 §4.1.3: the same redirect URI as the authorization request, if it carried one.
    let redirect_ok = match form.get("redirect_uri") {
        Some(uri) => uri == request.redirect_uri,
        None => !request.redirect_uri_sent,
    };
    if !redirect_ok {
        return Err(invalid_grant("`redirect_uri` does not match the authorization request"));
    }
    // RFC 9449 §10: a code bound to a key (`dpop_jkt` at the authorization endpoint, or the key of
    // a proof sent to PAR, §10.1) is redeemed only with a proof made with that key. Checked after
    // the code is taken, as the other checks of the code are: a code presented wrongly is spent.
    check_bound_key(
        request.dpop_jkt.as_deref(),
        proof,
        "the authorization request was bound to a DPoP key (`dpop_jkt`): a DPoP proof with that key is required",
        "the DPoP proof key is not the one the authorization request was bound to (`dpop_jkt`)",
    )?;
    let audience = narrow_audience(requested_audience, &request.audience)?;
    let scopes = request.scopes.clone();
    let grant_expires_at;
    let refresh = if offline_access_granted::<P>(&scopes)
        && provider.scope_policy().refresh_token_allowed(&client, &scopes).await?
    {
        let (token, hash) = new_secret();
        grant_expires_at = now + attesto.settings().refresh_token_ttl;
        let family = RefreshFamily {
            family_id: issue_ids.family_id.clone(),
            client_id: client.client_id.clone(),
            principal: grant.principal.clone(),
            scopes: scopes.clone(),
            audience: audience.clone(),
            expires_at: grant_expires_at,
            // RFC 9449 §5: a public client's refresh tokens are bound to the proof's key, since
            // nothing else stops a thief from using them; a confidential client's are already
            // bound to its credentials, and it may change keys.
            dpop_jkt: proof.filter(|_| client.is_public).map(|proof| proof.jkt.clone()),
            // The ID tokens of its refreshes are built as the first one is (OIDC Core §5.5).
            claims: request.claims.clone(),
            claims_locales: request.claims_locales.clone(),
        };
        // Refused when a replay of the code revoked the family in the meantime.
        if !attesto.store().create_refresh_family(&family, &hash).await? {
            return Err(invalid_grant("the authorization code is invalid, expired or was already used"));
        }
        Some(token)
    } else {
        grant_expires_at = issue_ids.access_token_expires_at;
        None
    };
    let grant_id = record_grant(
        attesto,
        issue_ids.family_id.clone(),
        &client,
        &grant.principal,
        &scopes,
        &audience,
        (now, grant_expires_at),
        (request.claims.as_ref(), &request.claims_locales),
    )
    .await?;
    let grant_id = Some(grant_id);
    registration_used(attesto, &client).await;
    respond_with_tokens(
        attesto,
        UserTokens {
            client: &client,
            user: &grant.principal,
            scopes: &scopes,
            audience: &audience,
            nonce: request.nonce.as_deref(),
            grant_type: GrantType::AuthorizationCode,
            jti: &issue_ids.access_token_jti,
            grant_id: grant_id.as_deref(),
            refresh_token: refresh,
            proof,
            claims: request.claims.as_ref(),
            claims_locales: &request.claims_locales,
        },
    )
    .await
}

/// The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2),
/// or without rotation under FAPI 2.0.
async fn refresh_token<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = &attesto.provider();
    let client = client_auth::authenticate_client(attesto, presented).await?;
    record_proof(attesto, proof).await?;
    let token = form.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("missing `refresh_token`"))?;
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "the client may not use the refresh token grant"));
    }
    check_client_requires_dpop(&client, proof)?;
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    let requested_audience = attesto.settings().audiences(form.all("resource"))?;
    let requested_audience = form.get("resource").is_some().then_some(requested_audience);
    let hash = TokenHash::of(token);
    let now = SystemTime::now();
    // Looked up first, so that a request that fails on its own parameters (a wider scope, say)
    // does not rotate the token out from under the client.
    let family = match attesto.store().find_refresh(&hash, now).await? {
        RefreshLookup::Current(family) => family,
        RefreshLookup::RotatedOut(family) => {
            if family.client_id != client.client_id {
                return Err(invalid_grant("the refresh token is invalid, expired or revoked"));
            }
            return Err(reuse_detected(attesto, &family).await?);
        }
        // Perhaps a token of the provider this one replaces, which the host may vouch for.
        RefreshLookup::Unknown => {
            return legacy::refresh_token(attesto, &client, token, requested, requested_audience, proof).await;
        }
    };
    if family.client_id != client.client_id {
        return Err(invalid_grant("the refresh token was issued to another client"));
    }
    // RFC 9449 §5: a bound refresh token works only with a proof made with its key. Checked
    // before the rotation, so that a request without it (a thief's) leaves the token current.
    check_bound_key(
        family.dpop_jkt.as_deref(),
        proof,
        "the refresh token is bound to a DPoP key: a DPoP proof with that key is required",
        "the DPoP proof key is not the one the refresh token is bound to",
    )?;
    // RFC 6749 §6: a refresh may ask for fewer scopes, never more.
    let scopes = if requested.is_empty() {
        family.scopes.clone()
    } else {
        if requested.iter().any(|s| !family.scopes.contains(s.as_str())) {
            return Err(OAuthError::new(ErrorCode::InvalidScope, "the scope exceeds what was originally granted"));
        }
        requested
    };
    // The client's allowed scopes may have shrunk since: ask the policy again, and keep only what
    // both allow.
    let scopes = match provider.scope_policy().authorize_scope(&client, &scopes).await? {
        ScopeDecision::Grant(granted) => granted.intersection(&scopes),
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    if scopes.is_empty() && !family.scopes.is_empty() {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "none of the scopes is allowed any more"));
    }
    let audience = narrow_audience(requested_audience, &family.audience)?;
    // FAPI 2.0 Security Profile §5.3.2.1 clause 9: no rotation. The client keeps its refresh
    // token, bound to its `private_key_jwt` credentials, and gets none in the response (RFC 6749
    // §6: a new one is optional); a lost response costs nothing, the next refresh works.
    let next = if attesto.settings().profile.is_fapi2() {
        None
    } else {
        let (next, next_hash) = new_secret();
        match attesto.store().rotate_refresh(&hash, &next_hash, now).await? {
            Rotation::Rotated(_) => {}
            // Another request rotated it first: two holders of one token, which is what reuse
            // means.
            Rotation::Reused(family) => return Err(reuse_detected(attesto, &family).await?),
            Rotation::Unknown => return Err(invalid_grant("the refresh token is invalid, expired or revoked")),
        }
        let scope = scopes.to_string();
        provider.event_sink().refresh_rotated(&RefreshRotated {
            client_id: client.client_id.as_str(),
            subject: &family.principal.subject,
            scope: &scope,
            family_id: &family.family_id,
        });
        Some(next)
    };
    let grant_id = revoked::grant_id(&family.family_id);
    // The grant's last use, for the user's list of the clients they authorized.
    attesto.store().record_grant_use(&grant_id, now).await?;
    respond_with_tokens(
        attesto,
        UserTokens {
            client: &client,
            user: &family.principal,
            scopes: &scopes,
            audience: &audience,
            nonce: None,
            grant_type: GrantType::RefreshToken,
            jti: &new_id(),
            grant_id: Some(&grant_id),
            refresh_token: next,
            proof,
            claims: family.claims.as_ref(),
            claims_locales: &family.claims_locales,
        },
    )
    .await
}

/// Revokes a family whose rotated-out token was presented, and reports it.
async fn reuse_detected<P: Provider>(attesto: &Attesto<P>, family: &RefreshFamily) -> Result<OAuthError, OAuthError> {
    // RFC 9700 §4.14.2: the family, and the access tokens issued under it.
    attesto.revoke_refresh_family(&family.family_id, &family.principal.subject, family.expires_at).await?;
    attesto.provider().event_sink().refresh_reuse_detected(&RefreshReuseDetected {
        client_id: family.client_id.as_str(),
        subject: &family.principal.subject,
        scope: &family.scopes.to_string(),
        family_id: &family.family_id,
    });
    Ok(invalid_grant("the refresh token was already used; every token of its grant is revoked"))
}
