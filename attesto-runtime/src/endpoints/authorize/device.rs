//! The user's half of a device authorization grant (RFC 8628 §3.3). Once the user has entered a
//! valid user code at the verification page (`endpoints/device/`), the grant becomes an
//! authorization request with no redirect URI, marked by its device code's hash, and goes through
//! the same sign-in (`login.rs`) and consent (`consent.rs`) as any other. Only its end differs:
//! the decision is recorded on the device grant (`device_decision.rs`), and the user is told to
//! return to the device.

use std::time::SystemTime;

use axum::response::Response;
use http::HeaderMap;

use super::login::authenticate;
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::state::Attesto;
use crate::store::{AuthorizationRequest, DeviceGrant, ResponseMode, TokenHash};

/// Starts the sign-in for the device grant under `device_code`, whose user code the user entered.
pub(crate) async fn start<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    client: &Client,
    device_code: TokenHash,
    grant: &DeviceGrant,
) -> Response {
    let request = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: String::new(),
        redirect_uri_sent: false,
        response_mode: ResponseMode::Query,
        state: None,
        nonce: None,
        code_challenge: String::new(),
        scopes: grant.scopes.clone(),
        audience: grant.audience.clone(),
        prompt_login: false,
        // RFC 8628 §5.4 (remote phishing): the user must see which client asks, and for what,
        // before a device is given access; a consent recorded earlier is not enough, since the
        // code may have come from someone else. The host's consent policy is told so.
        prompt_consent: true,
        prompt_none: false,
        max_age: None,
        login_hint: None,
        acr_values: None,
        ui_locales: Vec::new(),
        claims_locales: Vec::new(),
        claims: None,
        started_at: SystemTime::now(),
        dpop_jkt: None,
        device_code: Some(device_code),
    };
    authenticate(attesto, headers, client, request, None).await
}
