//! Answers of the authorization endpoint: authorization responses and errors sent back to the
//! client (RFC 6749 §4.1.2, RFC 9207 `iss`), and errors shown to the user.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::endpoints::html;
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{AuthorizationDenied, EventSink};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::authorization_request::Target;
use crate::state::Attesto;
use crate::store::ResponseMode;

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
        let issuer = attesto.settings().issuer.as_str();
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if let Some(state) = &target.state {
            all.push(("state", state));
        }
        all.push(("iss", issuer));
        let label =
            client.client_name.as_deref().filter(|name| !name.trim().is_empty()).unwrap_or(client.client_id.as_str());
        return html::redirect_interstitial(
            label,
            error.code().as_str(),
            error.description(),
            &target.redirect_uri,
            &all,
            target.mode == ResponseMode::FormPost,
        );
    }
    respond(attesto, target, &params)
}

/// An authorization response: `params`, then `state` and `iss` (RFC 9207 §2), in the query of
/// the redirect URI (303, RFC 9700 §4.12) or POSTed by a form.
pub(super) fn respond<P: Provider>(attesto: &Attesto<P>, target: &Target, params: &[(&str, &str)]) -> Response {
    let issuer = attesto.settings().issuer.as_str();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = &target.state {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    match target.mode {
        ResponseMode::FormPost => html::form_post(&target.redirect_uri, &all),
        ResponseMode::Query => {
            let Ok(mut url) = url::Url::parse(&target.redirect_uri) else {
                return page(&HeaderMap::new(), &OAuthError::invalid_request("the redirect URI is not a valid URL"));
            };
            url.query_pairs_mut().extend_pairs(all);
            see_other(url.as_str())
        }
    }
}

pub(super) fn see_other(location: &str) -> Response {
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
