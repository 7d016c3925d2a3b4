//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9) at every
//! endpoint that authenticates clients: the client the assertion names, its keys (inline, or
//! fetched from its `jwks_uri`), the pure checks of `protocol/client_assertion.rs`, then the
//! single use of its `jti` through the store.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;

use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::{Client, TokenEndpointAuthMethod};
use crate::model::profile::Profile;
use crate::protocol::client_assertion::{Assertion, AssertionError, ClientKey, replay_key, usable_keys};
use crate::protocol::jwt::{EXPIRY_SKEW, unix_seconds};
use crate::state::{Attesto, NoClient};
use crate::store::TokenHash;

/// `invalid_client` with 401 (RFC 6749 §5.2): the client tried to authenticate and failed.
pub(crate) fn refusal(description: impl Into<Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description).with_status(StatusCode::UNAUTHORIZED)
}

fn refused(error: AssertionError) -> OAuthError {
    refusal(error.description())
}

/// Authenticates `client_id` by its `assertion` (RFC 7523 §3). Nothing is written to the store
/// before the signature and the claims are checked; the `jti` is then remembered until the
/// assertion's `exp` plus the clock skew, and a second use is refused.
pub(crate) async fn authenticate<P: Provider>(
    attesto: &Attesto<P>,
    client_id: &str,
    assertion: &str,
) -> Result<Client, OAuthError> {
    let parsed = Assertion::parse(assertion).map_err(refused)?;
    // FAPI 2.0 Security Profile §5.4.1: refused before the client is looked up or a key fetched.
    if !attesto.settings().profile.allows_algorithm(parsed.signed().alg()) {
        return Err(refusal(Profile::ALGORITHM_REFUSED));
    }
    let client = match attesto.lookup_client(client_id).await? {
        Ok(found) => found.client,
        Err(NoClient::MetadataDocument(reason)) => return Err(refusal(reason)),
        Err(NoClient::Unknown) => return Err(refusal("unknown client")),
    };
    if client.is_public || client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
        return Err(refusal("the client is not registered for private_key_jwt authentication"));
    }
    let keys = keys_of(attesto, &client, parsed.signed().kid()).await.map_err(refusal)?;
    parsed.verify_signature(&keys, client.token_endpoint_auth_signing_alg).map_err(refused)?;
    let settings = attesto.settings();
    let now = SystemTime::now();
    let accepted = parsed
        .check_claims(
            client_id,
            settings.issuer.as_str(),
            &attesto.metadata().token_endpoint,
            settings.client_assertion_audience,
            unix_seconds(now),
            EXPIRY_SKEW,
        )
        .map_err(refused)?;
    let key = TokenHash::of(&replay_key(client_id, &accepted.jti));
    let until = UNIX_EPOCH + Duration::from_secs(accepted.expires_at);
    if !attesto.store().insert_dpop_jti(&key, until).await? {
        return Err(refused(AssertionError::Replayed));
    }
    Ok(client)
}

/// The client's keys: its inline `jwks`, or the JWK Set at its `jwks_uri` (fetched again, at
/// most once per interval, when none has the `kid` asked for); none for a client with neither.
/// Shared by client assertions and request objects (`endpoints/request_object.rs`); the error is
/// an `error_description`, for the caller's error code.
pub(crate) async fn keys_of<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    kid: Option<&str>,
) -> Result<Arc<Vec<ClientKey>>, Cow<'static, str>> {
    if let Some(jwks) = &client.jwks {
        return Ok(Arc::new(usable_keys(jwks)));
    }
    let Some(jwks_uri) = &client.jwks_uri else {
        return Ok(Arc::new(Vec::new()));
    };
    #[cfg(feature = "fetch")]
    {
        attesto.client_jwks().keys(jwks_uri, kid).await
    }
    #[cfg(not(feature = "fetch"))]
    {
        let _ = (attesto, jwks_uri, kid);
        Err(Cow::Borrowed("this server does not fetch a client's `jwks_uri`: give the client's keys as `jwks`"))
    }
}
