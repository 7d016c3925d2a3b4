//! Signed request objects (RFC 9101) at the authorization and PAR endpoints: the client's keys
//! (inline, or fetched from its `jwks_uri`, as for `private_key_jwt`), the pure checks of
//! `protocol/request_object.rs`, then the single use of the object's `jti` through the store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::endpoints::client_assertion::keys_of;
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::model::profile::Profile;
use crate::protocol::form::Form;
use crate::protocol::jwt::{EXPIRY_SKEW, unix_seconds};
use crate::protocol::request_object::{RequestObject, RequestObjectError, replay_key};
use crate::state::Attesto;
use crate::store::TokenHash;

/// `invalid_request_object` (RFC 9101 §6.2) with `description`.
pub(crate) fn refusal(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

fn refused(error: RequestObjectError) -> OAuthError {
    refusal(error.description())
}

/// The authorization request parameters of `client`'s request object `object` (RFC 9101 §6.3:
/// these and no others). Nothing is written to the store before the signature and the claims are
/// checked; a `jti` is then remembered until the object's `exp` plus the clock skew, and a second
/// use is refused.
pub(crate) async fn parameters<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    object: &str,
) -> Result<Form<'static>, OAuthError> {
    let parsed = RequestObject::parse(object).map_err(refused)?;
    // FAPI 2.0 Security Profile §5.4.1: refused before a key is fetched.
    if !attesto.settings().profile.allows_algorithm(parsed.signed().alg()) {
        return Err(refusal(Profile::ALGORITHM_REFUSED));
    }
    let keys = keys_of(attesto, client, parsed.signed().kid()).await.map_err(refusal)?;
    parsed.verify_signature(&keys, client.request_object_signing_alg).map_err(refused)?;
    let accepted = parsed
        .check_claims(
            client.client_id.as_str(),
            attesto.settings().issuer.as_str(),
            unix_seconds(SystemTime::now()),
            EXPIRY_SKEW,
            // FAPI 2.0 Message Signing §5.3.2: `nbf` required, at most 60 minutes old.
            attesto.settings().profile.is_message_signing(),
        )
        .map_err(refused)?;
    if let Some((jti, expires_at)) = &accepted.jti {
        let key = TokenHash::of(&replay_key(client.client_id.as_str(), jti));
        let until = UNIX_EPOCH + Duration::from_secs(*expires_at);
        if !attesto.store().insert_dpop_jti(&key, until).await? {
            return Err(refused(RequestObjectError::Replayed));
        }
    }
    Ok(accepted.parameters)
}
