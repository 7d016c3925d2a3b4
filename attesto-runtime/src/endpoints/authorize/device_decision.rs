//! The end of the user's half of a device authorization grant (RFC 8628 §3.3): the decision the
//! consent step (`consent.rs`) reached, recorded on the device grant instead of redirected to a
//! client, and the page that tells the user to return to the device. Apart from `device.rs`,
//! which starts the sign-in, so that the consent step does not import the sign-in back.

use std::time::SystemTime;

use axum::response::Response;
use http::HeaderMap;

use super::response::page;
use crate::endpoints::html;
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{AuthorizationDenied, EventSink};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::model::principal::AuthenticatedPrincipal;
use crate::state::Attesto;
use crate::store::{AuthorizationRequest, DeviceDecision, TokenHash};

/// The user approved (or the consent policy granted) the device grant under `device_code`.
pub(super) async fn approve<P: Provider>(
    attesto: &Attesto<P>,
    device_code: &TokenHash,
    principal: AuthenticatedPrincipal,
) -> Response {
    let decision = DeviceDecision::Approve(principal);
    match attesto.store().decide_device_grant(device_code, &decision, SystemTime::now()).await {
        Ok(true) => html::device_done_page(true),
        // It expired, or was decided in another tab meanwhile.
        Ok(false) => page(&HeaderMap::new(), &expired()),
        Err(error) => page(&HeaderMap::new(), &OAuthError::from(error)),
    }
}

/// The user denied (or the consent policy refused) the device grant under `device_code`, which
/// `request` stands for.
pub(super) async fn deny<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    request: &AuthorizationRequest,
    device_code: &TokenHash,
    subject: &str,
    error: &OAuthError,
) -> Response {
    match attesto.store().decide_device_grant(device_code, &DeviceDecision::Deny, SystemTime::now()).await {
        Ok(true) => {}
        Ok(false) => return page(&HeaderMap::new(), &expired()),
        Err(error) => return page(&HeaderMap::new(), &OAuthError::from(error)),
    }
    attesto.provider().event_sink().authorization_denied(&AuthorizationDenied {
        client_id: client.client_id.as_str(),
        subject: Some(subject),
        scope: &request.scopes.to_string(),
        error: error.code(),
        description: error.description(),
    });
    html::device_done_page(false)
}

/// The device grant can no longer be decided.
pub(super) fn expired() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequest,
        "this code expired or was already used; start again on your device to get a new code",
    )
}
