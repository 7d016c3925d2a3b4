//! Answers of the authorization endpoint: authorization responses and errors sent back to the
//! client (RFC 6749 §4.1.2, RFC 9207 `iss`), plain or as a signed JWT (JARM), and errors shown
//! to the user.

use std::time::SystemTime;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::endpoints::html;
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{AuthorizationDenied, EventSink};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::authorization_request::Target;
use crate::protocol::{jarm, jwt};
use crate::state::Attesto;

pub(super) fn expired() -> OAuthError {
    OAuthError::invalid_request(
        "this authorization request expired or was already completed; start again from the application",
    )
}

/// An error sent back to the client, with the `authorization_denied` event.
pub(super) fn redirect_error<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    subject: Option<&str>,
    scope: &str,
    target: &Target,
    error: &OAuthError,
) -> Response {
    attesto.provider().event_sink().authorization_denied(&AuthorizationDenied {
        client_id: client.client_id.as_str(),
        subject,
        scope,
        error: error.code(),
        description: error.description(),
    });
    // A device grant's request has no redirect URI: the user is told, on a page.
    if target.device {
        return page(&HeaderMap::new(), error);
    }
    let params = [("error", error.code().as_str()), ("error_description", error.description())];
    // RFC 9700 §4.11.2: before anyone signed in, an automatic redirect to a URI the provider does
    // not vouch for turns its origin into an open redirector (register `https://evil.example/cb`,
    // send a link with a bad parameter). The user is shown where the answer would go, and goes
    // there only by choice.
    if subject.is_none() && !client.redirects_automatically_to(&target.redirect_uri) {
        let all = match parameters(attesto, client, target, &params) {
            Ok(all) => all,
            Err(error) => return page(&HeaderMap::new(), &error),
        };
        let all: Vec<(&str, &str)> = all.iter().map(|(name, value)| (*name, value.as_str())).collect();
        return html::redirect_interstitial(
            client.label(),
            error.code().as_str(),
            error.description(),
            &target.redirect_uri,
            &all,
            target.mode.is_form_post(),
        );
    }
    respond(attesto, client, target, &params)
}

/// An authorization response: `params`, then `state` and `iss` (RFC 9207 §2), in the query of
/// the redirect URI (303, RFC 9700 §4.12) or POSTed by a form; in a JWT response mode, the one
/// `response` JWT that holds them (JARM §2.3).
pub(super) fn respond<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    target: &Target,
    params: &[(&str, &str)],
) -> Response {
    let all = match parameters(attesto, client, target, params) {
        Ok(all) => all,
        Err(error) => return page(&HeaderMap::new(), &error),
    };
    let all: Vec<(&str, &str)> = all.iter().map(|(name, value)| (*name, value.as_str())).collect();
    if target.mode.is_form_post() {
        return html::form_post(&target.redirect_uri, &all);
    }
    let Ok(mut url) = url::Url::parse(&target.redirect_uri) else {
        return page(&HeaderMap::new(), &OAuthError::invalid_request("the redirect URI is not a valid URL"));
    };
    url.query_pairs_mut().extend_pairs(all);
    see_other(url.as_str())
}

/// The parameters that reach the client: `params`, `state` and `iss`, or in a JWT response mode
/// the `response` JWT that holds `params` and `state` (its `iss` claim stands for the parameter,
/// RFC 9207 §2.4). A response that cannot be signed is shown to the user as a `server_error`: the
/// client asked for a signed answer, and an unsigned one would be refused by it anyway.
fn parameters<'a, P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    target: &Target,
    params: &[(&'a str, &str)],
) -> Result<Vec<(&'a str, String)>, OAuthError> {
    let issuer = attesto.settings().issuer.as_str();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = &target.state {
        all.push(("state", state));
    }
    if !target.mode.is_jwt() {
        all.push(("iss", issuer));
        return Ok(all.into_iter().map(|(name, value)| (name, value.to_owned())).collect());
    }
    let unsignable = || OAuthError::new(ErrorCode::ServerError, "the authorization response could not be signed");
    let key = attesto.keys().signer_for(client.authorization_signed_response_alg).ok_or_else(unsignable)?;
    let response = jarm::AuthorizationResponse {
        issuer,
        client_id: client.client_id.as_str(),
        params: &all,
        now: jwt::unix_seconds(SystemTime::now()),
    };
    let token = jarm::sign(key, &response).map_err(|error| {
        tracing::error!(%error, "signing an authorization response failed");
        unsignable()
    })?;
    Ok(vec![(jarm::RESPONSE_PARAMETER, token)])
}

/// A `303 See Other` to `location` (RFC 9700 §4.12: never a 307, which would resend a POST's
/// body), not cached.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(_) => {
            page(&HeaderMap::new(), &OAuthError::new(ErrorCode::ServerError, "the redirect target is not a valid URL"))
        }
    }
}

/// An error shown to the user, never redirected: HTML for a browser, the RFC 6749 §5.2 JSON body
/// for a client that asks for JSON.
pub(super) fn page(headers: &HeaderMap, error: &OAuthError) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"));
    let status = if error.status() == StatusCode::UNAUTHORIZED { StatusCode::BAD_REQUEST } else { error.status() };
    if wants_json {
        return error.clone().with_status(status).into_response();
    }
    html::error_page(status, error.code().as_str(), error.description())
}
