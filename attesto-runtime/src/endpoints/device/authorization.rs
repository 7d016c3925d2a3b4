//! The device authorization endpoint (RFC 8628 §3.1–3.2): the device asks for a device code and a
//! user code, authenticated as at the token endpoint, with its scopes checked by the host's scope
//! policy and its resources (RFC 8707) by the provider's, as at the authorization endpoint.

use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use serde::Serialize;

use crate::endpoints::client_auth;
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::GrantType;
use crate::model::scope::Scopes;
use crate::protocol::form::{self, Form};
use crate::protocol::user_code;
use crate::state::Attesto;
use crate::store::{DeviceGrant, new_secret};

/// Parameters that may appear more than once: RFC 8707 §2 `resource`.
const REPEATABLE: &[&str] = &["resource"];

/// How many user codes are drawn before giving up: each collides with a held one with a
/// probability of (held grants) / 20⁸, so a second draw is already rare.
const USER_CODE_DRAWS: usize = 5;

/// The successful response (RFC 8628 §3.2).
#[derive(Debug, Serialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

impl IntoResponse for DeviceAuthorization {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                // The device code is a credential of the client, as a code is (RFC 6749 §5.1).
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response()
    }
}

/// `POST {device_authorization}` (RFC 8628 §3.1).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match authorize_device(&attesto, &parts.headers, body).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn authorize_device<P: Provider>(
    attesto: &Attesto<P>,
    headers: &http::HeaderMap,
    body: axum::body::Body,
) -> Result<DeviceAuthorization, OAuthError> {
    let Some((_, verification_path)) = P::PATHS.device_endpoints(&P::FEATURES) else {
        return Err(OAuthError::new(ErrorCode::ServerError, "the device authorization grant is off"));
    };
    // Read as at the token endpoint: a form, bounded, every parameter at most once but `resource`.
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, REPEATABLE)?;
    // RFC 8628 §3.1: the client authenticates as at the token endpoint; a public client names
    // itself with `client_id`.
    let presented = client_auth::presented(headers, &form)?;
    let client = client_auth::authenticate_client(attesto, presented.as_ref()).await?;
    if !client.allows_grant(GrantType::DeviceCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the device authorization grant",
        ));
    }
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|error| OAuthError::new(ErrorCode::InvalidScope, error.to_string()))?;
    // RFC 8707 §2: the resources must be ones this provider issues tokens for.
    let audience = attesto.settings().audiences(form.all("resource"))?.into_owned();
    // Last, the host's scope policy, as at the authorization endpoint.
    let scopes = match attesto.provider().scope_policy().authorize_scope(&client, &requested).await? {
        ScopeDecision::Grant(scopes) => scopes,
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    let settings = &attesto.settings().device;
    let issued_at = SystemTime::now();
    // RFC 8628 §3.2: the device code is a high-entropy credential (256 random bits), stored only
    // as its hash, like an authorization code.
    let (device_code, device_hash) = new_secret();
    let mut drawn = None;
    for _ in 0..USER_CODE_DRAWS {
        let code = user_code::generate();
        let grant = DeviceGrant::new(
            client.client_id.clone(),
            code.clone(),
            scopes.clone(),
            audience.clone(),
            issued_at,
            settings.code_ttl,
            settings.interval,
        );
        if attesto.store().put_device_grant(&device_hash, &grant).await? {
            drawn = Some(code);
            break;
        }
    }
    let Some(code) = drawn else {
        return Err(OAuthError::new(ErrorCode::TemporarilyUnavailable, "no user code is free; try again later"));
    };
    let shown = user_code::display(&code);
    let verification_uri = attesto.settings().issuer.url_of(verification_path);
    // RFC 8628 §3.3.1: the code in the URI, for a QR code or a link; the page still asks the
    // user to confirm it (§5.4).
    let verification_uri_complete = format!("{verification_uri}?user_code={shown}");
    Ok(DeviceAuthorization {
        device_code,
        user_code: shown,
        verification_uri,
        verification_uri_complete,
        expires_in: settings.code_ttl.as_secs(),
        interval: settings.interval.as_secs(),
    })
}
