//! The verification page (RFC 8628 §3.3): the user enters the code the device shows, then signs
//! in and consents as in the code flow (`authorize/device.rs`).
//!
//! - `GET` shows the form, pre-filled from `?user_code=` (`verification_uri_complete`,
//!   §3.3.1) but never submitted without the user's click: a link with a code may come from an
//!   attacker who wants the user to approve the attacker's device (§5.4, remote phishing).
//! - `POST` takes the code. Like the consent decision it must come from this page: the browser's
//!   `Sec-Fetch-Site` and `Origin`, and an anti-CSRF value that is both a cookie and a field of
//!   the form; otherwise another site could submit its own code in the user's name, and a consent
//!   policy that grants without asking would approve it.
//!
//! Wrong codes are counted (`store/guesses.rs`); past the budget the page answers 429 without
//! looking the code up. An unknown, expired or used code gets one answer, which tells nothing
//! that helps guessing.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::endpoints::authorize::{self, BrowserCookie};
use crate::endpoints::html::{self, DeviceEntryPage};
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::GrantType;
use crate::protocol::form::{self, Form};
use crate::protocol::user_code;
use crate::state::Attesto;
use crate::store::new_secret;

/// The handle the page's cookie is named after: there is one form per browser.
const COOKIE_HANDLE: &str = "device verification";

/// How long the page's anti-CSRF cookie lives: long enough to read the code off a device.
const COOKIE_TTL_SECS: u64 = 30 * 60;

/// The form's parameters.
const USER_CODE: &str = "user_code";
const CSRF: &str = "attesto_csrf";

/// The one answer for a code that is not a live one: unknown, expired, used or denied alike.
const NOT_VALID: &str =
    "that code is not valid or has expired; check the code shown on your device, or start again there";

/// `GET {device_verification}`.
pub(crate) async fn get<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default();
    let prefill = Form::parse(query.as_bytes(), &[])
        .ok()
        .and_then(|form| form.get(USER_CODE).map(str::to_owned))
        .unwrap_or_default();
    // A pre-filled code is shown as the device shows it when it is one; anything else as typed,
    // cut to what the field takes.
    let prefill = user_code::normalize(&prefill)
        .map(|code| user_code::display(&code))
        .unwrap_or_else(|| prefill.chars().take(64).collect());
    entry_page(&attesto, &prefill, None, StatusCode::OK)
}

/// `POST {device_verification}`.
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let forbidden = |description: &'static str| {
        html::error_page(StatusCode::FORBIDDEN, ErrorCode::AccessDenied.as_str(), description)
    };
    if form::require_form_content_type(headers).is_err() {
        return error_page(&OAuthError::invalid_request("the code must be sent from the verification page"));
    }
    let body = match form::read_body(body).await {
        Ok(body) => body,
        Err(error) => return error_page(&error),
    };
    let Ok(form) = Form::parse(&body, &[]) else {
        return error_page(&OAuthError::invalid_request("malformed form"));
    };
    // The code must be entered on this server's page (see the module docs).
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() != b"same-origin") {
        return forbidden("the code was not entered on the verification page");
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != attesto.settings().issuer.origin().as_bytes()
    {
        return forbidden("the code was not entered on the verification page");
    }
    let cookie = authorize::cookie(headers, &BrowserCookie::Device.name(&attesto, COOKIE_HANDLE)).unwrap_or_default();
    let field = form.get(CSRF).unwrap_or_default();
    if field.is_empty() || !bool::from(cookie.as_bytes().ct_eq(field.as_bytes())) {
        return forbidden(
            "the form could not be verified (CSRF check failed); reload the page and enter the code again",
        );
    }
    let typed = form.get(USER_CODE).unwrap_or_default();
    // RFC 8628 §5.1: guesses are bounded before anything is looked up.
    let address = client_address(&parts);
    let guesses = attesto.user_code_guesses();
    if let Err(wait) = guesses.check(address, Instant::now()) {
        let mut response = entry_page(
            &attesto,
            typed,
            Some("too many wrong codes were entered; wait a minute, then try again"),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(seconds) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, seconds);
        }
        return response;
    }
    let Some(code) = user_code::normalize(typed) else {
        // Not a code at all: no code was tried, nothing is counted.
        return entry_page(
            &attesto,
            typed,
            Some("enter the code as your device shows it, like BCDF-GHJK"),
            StatusCode::BAD_REQUEST,
        );
    };
    let found = match attesto.store().find_device_grant_by_user_code(&code, std::time::SystemTime::now()).await {
        Ok(found) => found,
        Err(error) => return error_page(&OAuthError::from(error)),
    };
    let Some((device_code, grant)) = found else {
        guesses.wrong(address, Instant::now());
        return entry_page(&attesto, typed, Some(NOT_VALID), StatusCode::BAD_REQUEST);
    };
    // The client as it is now: it must still exist and may still use the grant.
    let client = match attesto.lookup_client(grant.client_id.as_str()).await {
        Ok(Ok(found)) if found.client.allows_grant(GrantType::DeviceCode) => found.client,
        Ok(Ok(_)) => {
            return error_page(&OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the application may no longer use this kind of sign-in",
            ));
        }
        Ok(Err(missing)) => return error_page(&missing.error()),
        Err(error) => return error_page(&OAuthError::from(error)),
    };
    authorize::start_device_authorization(&attesto, headers, &client, device_code, &grant).await
}

/// The client's address, when the server provides it (axum's `ConnectInfo`).
fn client_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip())
}

/// The form, with a fresh anti-CSRF value set as this browser's cookie.
fn entry_page<P: Provider>(
    attesto: &Attesto<P>,
    user_code: &str,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let Some(path) = P::PATHS.device_verification else {
        return error_page(&OAuthError::new(ErrorCode::ServerError, "the device authorization grant is off"));
    };
    let (csrf, _) = new_secret();
    let mut response =
        html::device_entry_page(&DeviceEntryPage { action: path, csrf: &csrf, user_code, problem, status });
    let cookie = BrowserCookie::Device.header(attesto, COOKIE_HANDLE, &csrf, COOKIE_TTL_SECS);
    if let Ok(cookie) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// An error shown to the user.
fn error_page(error: &OAuthError) -> Response {
    html::error_page(error.status(), error.code().as_str(), error.description())
}
