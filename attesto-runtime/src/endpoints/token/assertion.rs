//! The JWT bearer grant (RFC 7523 §2.1) for Identity Assertion JWT Authorization Grants (ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant, its access token request): a confidential
//! client presents an assertion a trusted enterprise identity provider signed for it, and gets an
//! access token for the user the host maps the assertion's subject to, restricted to the
//! assertion's `resource`.
//!
//! Every refusal of the assertion is `invalid_grant` (RFC 7521 §4.1.1), its reason in
//! `error_description`. Decisions where the draft leaves a choice:
//! - confidential clients only (the draft's security considerations: "SHOULD only be supported
//!   for confidential clients");
//! - an assertion is good for one token: its `jti` is recorded (per issuer) in the [`Store`]'s
//!   single-use memory until the assertion expires, and a re-submission is refused, even by the
//!   same client (RFC 7523 §3 item 7). The client asks its identity provider for a new one;
//! - no refresh token (the draft's token responses carry none, and it says the identity
//!   provider's SHOULD NOT: a refresh token here would outlive the identity provider's decision);
//! - the scopes asked (`scope`, or the assertion's when absent) must all be in the assertion's
//!   `scope`, and the host's [`ScopePolicy`](crate::ScopePolicy) may narrow them further.
//!
//! [`Store`]: crate::Store

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::grant::{TokenResponse, access_token_response, confidential_client};
use crate::endpoints::client_auth::Presented;
use crate::error::{ErrorCode, OAuthError};
use crate::host::identity_assertion::{IdentityAssertion, IdentityAssertionPolicy};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::GrantType;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::resource::normalize_resource;
use crate::model::scope::Scopes;
use crate::protocol::access_token::{AccessToken, Subject};
use crate::protocol::dpop_proof::VerifiedProof;
use crate::protocol::form::Form;
use crate::protocol::identity_assertion::{self, Expected, ID_JAG_TYP};
use crate::protocol::jwt::{self, EXPIRY_SKEW, PresentedToken, Rejected};
use crate::state::Attesto;
use crate::store::{TokenHash, new_id};

fn refused(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

/// The key of an assertion in the store's single-use memory (`Store::insert_dpop_jti`): the
/// SHA-256 of `id-jag:`, the issuer, a line feed and the `jti`. A `jti` is unique per issuer
/// (RFC 7519 §4.1.7); a DPoP proof's key is a base64url thumbprint, `.` and its `jti`, which
/// never starts with `id-jag:` (`:` is not base64url), so the two never collide.
fn replay_key(issuer: &str, jti: &str) -> TokenHash {
    TokenHash::of(&format!("id-jag:{issuer}\n{jti}"))
}

/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an identity assertion.
pub(super) async fn jwt_bearer<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
    proof: Option<&VerifiedProof>,
) -> Result<TokenResponse, OAuthError> {
    let provider = attesto.provider();
    let (Some(issuers), Some(policy)) = (attesto.identity_issuers(), provider.identity_assertion_policy()) else {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported"));
    };
    let client = confidential_client(
        attesto,
        presented,
        proof,
        GrantType::JwtBearer,
        "identity assertions are for confidential clients: authenticate with the client's secret",
        "the client may not use the jwt-bearer grant",
    )
    .await?;
    let assertion = form.get("assertion").ok_or_else(|| OAuthError::invalid_request("missing `assertion`"))?;
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;

    // The header first (the draft's processing rules, RFC 8725 §3.11): `typ`, and an algorithm a key can have (no
    // `none`, no HMAC: a symmetric key would be the identity provider's public key).
    let token = PresentedToken::parse_typed(assertion, ID_JAG_TYP).map_err(|rejected| match rejected {
        Rejected::WrongType => refused("the assertion's `typ` is not oauth-id-jag+jwt"),
        Rejected::WrongAlgorithm => refused("the assertion's `alg` is not one of ES256, PS256, RS256 and EdDSA"),
        _ => refused("the assertion is not a signed JWT"),
    })?;
    // The issuer decides whose keys verify the signature; it is read before the signature is
    // checked for that reason only, and verified with it.
    let unverified: serde_json::Map<String, serde_json::Value> = token
        .unverified_claims()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| refused("the assertion's claims are not a JSON object"))?;
    let issuer = unverified.get("iss").and_then(serde_json::Value::as_str).unwrap_or_default();
    if !issuers.is_trusted(issuer) {
        return Err(refused("the assertion's issuer is not trusted"));
    }
    let kid = token.kid().ok_or_else(|| refused("the assertion's header has no `kid`"))?;
    let key = issuers
        .key(issuer, kid)
        .await?
        .ok_or_else(|| refused("the assertion is signed with a key its issuer does not publish (`kid`)"))?;
    let claims_json = token.verified_claims(&key).map_err(|rejected| match rejected {
        Rejected::WrongAlgorithm => refused("the assertion's `alg` is not the algorithm of its issuer's key"),
        _ => refused("the assertion's signature does not verify"),
    })?;
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&claims_json).map_err(|_| refused("the assertion's claims are not a JSON object"))?;
    let checked = identity_assertion::check_claims(
        &claims,
        &Expected {
            audience: attesto.settings().issuer.as_str(),
            client_id: client.client_id.as_str(),
            now: jwt::unix_seconds(SystemTime::now()),
            skew: EXPIRY_SKEW,
        },
    )
    .map_err(refused)?;

    // RFC 8707: the token is for the assertion's resource, one this provider knows. A `resource`
    // parameter, if sent, must be that resource: the client gets what it asked for or nothing.
    let mut asked = form.all("resource");
    let (asked, more) = (asked.next(), asked.next());
    if more.is_some() {
        return Err(refused("the token is for one `resource`, the assertion's"));
    }
    let resource = match (checked.resource, asked) {
        (Some(claimed), Some(asked)) => {
            if normalize_resource(claimed).ok() != normalize_resource(asked).ok() {
                return Err(refused("the `resource` parameter is not the assertion's `resource`"));
            }
            Some(claimed)
        }
        (claimed, asked) => claimed.or(asked),
    };
    let audience = attesto
        .settings()
        .audiences(resource.into_iter())
        .map_err(|_| refused("the assertion's `resource` is not a resource of this server"))?
        .into_owned();

    // Draft §5.1 and RFC 6749 §3.3: the scopes asked, each of which the identity provider
    // granted, narrowed by the host's scope policy for this client.
    let asserted = Scopes::parse(checked.scope).map_err(|_| refused("the assertion's `scope` is not valid"))?;
    let scopes = if requested.is_empty() { asserted.clone() } else { requested };
    if scopes.iter().any(|scope| !asserted.contains(scope.as_str())) {
        return Err(refused("a requested scope is not in the assertion's `scope`"));
    }
    let scopes = match provider.scope_policy().authorize_scope(&client, &scopes).await? {
        ScopeDecision::Grant(granted) => granted.intersection(&scopes),
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    if scopes.is_empty() && !asserted.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "none of the assertion's scopes is allowed for this client",
        ));
    }

    let Some(subject) = policy
        .map_subject(&IdentityAssertion {
            issuer: checked.issuer,
            subject: checked.subject,
            client: &client,
            claims: &claims,
        })
        .await?
    else {
        return Err(refused("the assertion's subject is not a user of this server"));
    };
    // Last, so that an assertion refused for any other reason is not spent; atomic, so that of
    // two concurrent presentations one wins.
    let expires = UNIX_EPOCH + Duration::from_secs(checked.expires_at.saturating_add(EXPIRY_SKEW));
    if !attesto.store().insert_dpop_jti(&replay_key(checked.issuer, checked.jti), expires).await? {
        return Err(refused("the assertion was already used (`jti`)"));
    }
    let user = AuthenticatedPrincipal::new(subject, UNIX_EPOCH + Duration::from_secs(checked.auth_time));
    let principal = provider.build_principal(&client, &user.subject, &scopes).await?;
    let scope = scopes.to_string();
    let jti = new_id();
    let ttl = attesto.settings().access_token_ttl.as_secs();
    access_token_response(
        attesto,
        &client,
        &AccessToken {
            issuer: attesto.settings().issuer.as_str(),
            subject: Subject::User(&user),
            client_id: client.client_id.as_str(),
            scope: &scope,
            audience: &audience,
            jti: &jti,
            grant_id: None,
            jkt: proof.map(|proof| proof.jkt.as_str()),
            act: None,
            extra: &principal.claims,
            now: jwt::unix_seconds(SystemTime::now()),
            ttl,
        },
        GrantType::JwtBearer,
        None,
    )
    .await
}
