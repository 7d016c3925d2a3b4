//! The client of an authorization request: named by `client_id`, and checked again when a
//! request that waited for the user resumes.

use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::{Client, GrantType};
use crate::protocol::form::Form;
use crate::protocol::redirect_uri::{RedirectUriRules, check_redirect_uri, redirect_uri_allowed};
use crate::state::Attesto;
use crate::store::AuthorizationRequest;

/// The client named by `client_id`, not authenticated: whatever fails here is shown, never
/// redirected.
pub(super) async fn named_client<P: Provider>(attesto: &Attesto<P>, form: &Form<'_>) -> Result<Client, OAuthError> {
    if form.is_repeated("client_id") {
        return Err(OAuthError::invalid_request("parameter `client_id` is repeated"));
    }
    let client_id = form.get("client_id").ok_or_else(|| OAuthError::invalid_request("missing `client_id`"))?;
    // Unknown, or a client ID metadata document that could not be used: the error names why.
    attesto.lookup_client(client_id).await?.map(|found| found.client).map_err(|missing| missing.error())
}

/// The client of a request that waited (for the user to sign in, or to decide on consent), as it
/// is now: it must still exist, may still use the code grant, and must still list the redirect
/// URI. A registration changed meanwhile (RFC 7592 PUT, DELETE) takes effect at once, so a
/// removed redirect URI never receives a code. Failures are shown, never redirected: the URI may
/// be the one that was removed.
pub(super) async fn current_client<P: Provider>(
    attesto: &Attesto<P>,
    request: &AuthorizationRequest,
) -> Result<Client, OAuthError> {
    let client = match attesto.lookup_client(request.client_id.as_str()).await {
        Ok(Ok(found)) => found.client,
        Ok(Err(missing)) => return Err(missing.error()),
        Err(error) => return Err(OAuthError::from(error)),
    };
    // A device grant's request has no redirect URI; its client must still be allowed the grant.
    if request.device_code.is_some() {
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the client may no longer use the device authorization grant",
            ));
        }
        return Ok(client);
    }
    check_registered_redirect_uris(&client)?;
    if !redirect_uri_allowed(&client, &request.redirect_uri) {
        return Err(OAuthError::invalid_request("`redirect_uri` is no longer registered for this client"));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may no longer use the authorization code grant",
        ));
    }
    Ok(client)
}

/// Checks every redirect URI a client has, with the most lenient rules attesto knows (those of a
/// native app: `https`, `http` on a loopback host, a private-use scheme; never a user information
/// part or a fragment). A client with one that fails is the host's misconfiguration: refused with
/// an error naming the client, and logged with the reason, rather than redirected to.
pub(super) fn check_registered_redirect_uris(client: &Client) -> Result<(), OAuthError> {
    for uri in &client.redirect_uris {
        if let Err(error) = check_redirect_uri(uri, RedirectUriRules::Native) {
            tracing::error!(
                client_id = client.client_id.as_str(),
                reason = error.description(),
                "a client's registered redirect URI is not acceptable; fix the client's record"
            );
            return Err(OAuthError::new(
                ErrorCode::ServerError,
                format!(
                    "the client `{}` is misconfigured: one of its registered redirect URIs is not acceptable",
                    client.client_id
                ),
            ));
        }
    }
    Ok(())
}
