//! The token exchange grant (RFC 8693): a confidential client (an MCP server, say) exchanges an
//! access token this provider issued, which its caller sent it, for a token to call another
//! resource on the subject's behalf, naming itself as the actor (`act`, §4.1). The caller's token
//! is never passed through.
//!
//! Decisions where RFC 8693 leaves a choice:
//! - only confidential clients exchange (§2.1 leaves client authentication to the grant; an
//!   exchange hands out a token for someone else, so the client must prove who it is);
//! - a DPoP-bound subject token is accepted: the exchanging client received it from its caller,
//!   whose key it cannot prove, and the token's binding protected that hop. The new token is
//!   bound to the exchanging client's own key when it sends a proof, never to the subject
//!   token's; the policy sees the binding and may refuse it;
//! - the new token keeps the subject token's grant (`grant_id`): revoking the user's grant
//!   revokes what was exchanged from it;
//! - the new token expires no later than the subject token;
//! - no refresh token: the client exchanges again, and the policy decides again.

use std::time::{SystemTime, UNIX_EPOCH};

use super::grant::{TokenResponse, access_token_response, confidential_client};
use crate::endpoints::client_auth::Presented;
use crate::error::{ErrorCode, OAuthError};
use crate::host::exchange::{ExchangeDecision, ExchangeRequest, TokenExchangePolicy};
use crate::host::provider::Provider;
use crate::model::client::GrantType;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;
use crate::protocol::access_token::{AccessToken, Subject};
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::form::Form;
use crate::protocol::jwt;
use crate::protocol::token_exchange::{self, ACCESS_TOKEN_TYPE};
use crate::state::Attesto;
use crate::store::new_id;

/// RFC 8693 §2.2.2: a subject token that is "invalid for any reason" is `invalid_request`. One
/// description for every reason, as the guard answers one `invalid_token`.
fn invalid_subject_token() -> OAuthError {
    OAuthError::invalid_request("the subject token is not a valid, unexpired and unrevoked access token of this server")
}

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
pub(super) async fn token_exchange<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = attesto.provider();
    let Some(policy) = provider.token_exchange_policy() else {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported"));
    };
    let client = confidential_client(
        attesto,
        presented,
        proof,
        GrantType::TokenExchange,
        "token exchange is for confidential clients: authenticate with the client's secret",
        "the client may not use the token exchange grant",
    )
    .await?;
    let parameters = token_exchange::check_parameters(|name| form.get(name))?;
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    // RFC 8693 §2.1: `resource` and `audience` both name where the token is to be used; here
    // each must be a resource this provider issues tokens for (RFC 8707), else `invalid_target`.
    let audience = attesto.settings().audiences(form.all("resource").chain(form.all("audience")))?.into_owned();

    // The subject token is verified as the guard and introspection verify one of this server's
    // access tokens: signature with this provider's keys, `typ`, `iss`, expiry, revocation (by
    // `jti` or with its grant), and a client that still exists.
    let now = SystemTime::now();
    let issuer = attesto.settings().issuer.as_str();
    let subject = jwt::verify_access_token(attesto.keys(), parameters.subject_token, issuer, jwt::unix_seconds(now))
        .map_err(|_| invalid_subject_token())?;
    if attesto.is_access_token_revoked(&subject, now).await? || !attesto.knows_client(&subject.client_id).await? {
        return Err(invalid_subject_token());
    }
    let subject_scopes = Scopes::parse(&subject.scope).map_err(|_| invalid_subject_token())?;
    let scopes = token_exchange::narrow_scopes(&requested, &subject_scopes)?;
    let act = token_exchange::actor_claim(client.client_id.as_str(), subject.act.as_ref()).ok_or_else(|| {
        OAuthError::invalid_request(
            "the subject token has passed through too many actors (`act`) to be exchanged again",
        )
    })?;
    let decision = policy
        .exchange(&ExchangeRequest {
            client: &client,
            subject: &subject.sub,
            subject_client_id: &subject.client_id,
            subject_audience: &subject.aud,
            subject_scopes: &subject_scopes,
            subject_dpop_bound: subject.cnf.is_some(),
            audience: &audience,
            scopes: &scopes,
        })
        .await?;
    let scopes = match decision {
        // The policy may narrow, never widen, the scopes.
        ExchangeDecision::Grant(granted) => granted.intersection(&scopes),
        ExchangeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidTarget, reason)),
    };
    // A token a user authorized stays a user's token (its `auth_time` is what tells the guard
    // so, RFC 9068 §2.2.1); a client's own token stays a client's.
    // Its sign-in's `acr` and `amr` too: a resource downstream may require them (RFC 9470), and
    // the user signed in no differently for being acted for.
    let user = subject.auth_time.map(|auth_time| {
        let mut user =
            AuthenticatedPrincipal::new(subject.sub.clone(), UNIX_EPOCH + std::time::Duration::from_secs(auth_time));
        user.acr.clone_from(&subject.acr);
        user.amr.clone_from(&subject.amr);
        user
    });
    let subject_of_token = match &user {
        Some(user) => Subject::User(user),
        None => Subject::Client(&subject.sub),
    };
    let principal = provider.build_principal(&client, &subject.sub, &scopes).await?;
    let scope = scopes.to_string();
    let jti = new_id();
    // The new token never outlives the one it was exchanged for: the access the subject granted
    // ends when its token does, whichever service holds it.
    let now = jwt::unix_seconds(SystemTime::now());
    let ttl = attesto.settings().access_token_ttl.as_secs().min(subject.exp.saturating_sub(now)).max(1);
    access_token_response(
        attesto,
        &client,
        &AccessToken {
            issuer,
            subject: subject_of_token,
            client_id: client.client_id.as_str(),
            scope: &scope,
            audience: &audience,
            jti: &jti,
            grant_id: subject.grant_id.as_deref(),
            jkt: proof.map(|proof| proof.jkt.as_str()),
            act: Some(&act),
            extra: &principal.claims,
            now,
            ttl,
        },
        GrantType::TokenExchange,
        Some(ACCESS_TOKEN_TYPE),
    )
    .await
}
