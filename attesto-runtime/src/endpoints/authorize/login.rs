//! Sign-in: the host is asked who the user is; the request travels sealed through the host's
//! login page and back (`protocol/sealed.rs`), so that nothing is stored for an anonymous browser.

use std::time::{Duration, SystemTime};

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use super::browser::{BrowserCookie, PENDING_TTL, RESUME, cookie, resume_uri};
use super::client::current_client;
use super::consent::consent;
use super::response::{expired, page, redirect_error, see_other};
use crate::error::{ErrorCode, OAuthError};
use crate::host::principals::{LoginOutcome, LoginRequest};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::protocol::authorization_request::Target;
use crate::protocol::claims_request;
use crate::protocol::form::Form;
use crate::state::Attesto;
use crate::store::{AuthorizationRequest, TokenHash, new_secret};

/// What a login resume handle carries: the validated request, sealed (see `protocol/sealed.rs`), so that
/// nothing is stored while the user signs in.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct LoginState {
    request: AuthorizationRequest,
    /// Seconds since 1970 after which the handle is refused.
    expires_at: u64,
    /// The hash of the value of the cookie set in the browser that was sent to the login page:
    /// only that browser may resume (a handle that leaks, in a log or a `Referer`, is useless
    /// elsewhere).
    browser: TokenHash,
}

/// The context a resume handle is sealed under: this provider's authorization endpoint, so that
/// a handle of another provider sharing the secret does not open here.
pub(super) fn login_context<P: Provider>(attesto: &Attesto<P>) -> String {
    attesto.settings().issuer.url_of(P::PATHS.authorize)
}

/// The browser is back from the host's login page.
pub(super) async fn resume<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
    let handle = form.get(RESUME).unwrap_or_default();
    let context = login_context(attesto);
    let state = attesto
        .login_key()
        .open(context.as_bytes(), handle)
        .and_then(|plaintext| serde_json::from_slice::<LoginState>(&plaintext).ok());
    let Some(state) = state else {
        return page(headers, &expired());
    };
    if state.expires_at <= crate::protocol::jwt::unix_seconds(SystemTime::now()) {
        return page(headers, &expired());
    }
    let browser = cookie(headers, &BrowserCookie::Login.name(attesto, handle)).unwrap_or_default();
    if !bool::from(TokenHash::of(browser).as_bytes().ct_eq(state.browser.as_bytes())) {
        return page(
            headers,
            &OAuthError::new(
                ErrorCode::AccessDenied,
                "this sign-in was started in another browser; start again from the application",
            )
            .with_status(StatusCode::FORBIDDEN),
        );
    }
    let client = match current_client(attesto, &state.request).await {
        Ok(client) => client,
        Err(error) => return page(headers, &error),
    };
    let mut response = authenticate(attesto, headers, &client, state.request, Some(handle)).await;
    if let Ok(clear) = HeaderValue::from_str(&BrowserCookie::Login.header(attesto, handle, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Asks the host who the user is, then goes on to consent.
pub(super) async fn authenticate<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    client: &Client,
    request: AuthorizationRequest,
    resumed: Option<&str>,
) -> Response {
    let target = Target::of(&request);
    // The handle this browser will come back with: the request, sealed, bound to a cookie.
    let expires_at = SystemTime::now() + PENDING_TTL;
    let (browser, browser_hash) = new_secret();
    let state =
        LoginState { request, expires_at: crate::protocol::jwt::unix_seconds(expires_at), browser: browser_hash };
    let handle = match serde_json::to_vec(&state) {
        Ok(plaintext) => attesto.login_key().seal(login_context(attesto).as_bytes(), &plaintext),
        Err(_) => {
            return page(&HeaderMap::new(), &OAuthError::new(ErrorCode::ServerError, "the request could not be kept"));
        }
    };
    let request = state.request;
    let resumed_handle = resumed;
    let resumed = resumed.is_some();
    let resume_uri = resume_uri(attesto, &handle);
    // OIDC Core §5.5.1.1: `acr` requested through `claims` with values asks the sign-in for those
    // classes, as `acr_values` does; the host hears both in one list.
    let acr_values = claims_request::acr_values(request.acr_values.as_deref(), request.claims.as_ref());
    let login = LoginRequest {
        headers,
        client,
        scopes: &request.scopes,
        // After the round trip the login happened; `started_at` below checks it was fresh.
        force_login: request.prompt_login && !resumed,
        max_age: request.max_age.map(Duration::from_secs),
        login_hint: request.login_hint.as_deref(),
        acr_values: acr_values.as_deref(),
        ui_locales: &request.ui_locales,
        claims_locales: &request.claims_locales,
        resume_uri: &resume_uri,
    };
    let scope = request.scopes.to_string();
    let deny =
        |subject: Option<&str>, error: OAuthError| redirect_error(attesto, client, subject, &scope, &target, &error);
    let principal = match attesto.provider().authenticate(&login).await {
        Ok(LoginOutcome::Authenticated(principal)) => principal,
        Ok(LoginOutcome::Redirect(url)) => {
            if request.prompt_none {
                return deny(None, OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"));
            }
            // Nothing is stored: the request travels in the handle (RFC 9700 §4: an anonymous
            // request must not cost the server memory), and the cookie ties it to this browser.
            let mut response = see_other(&url);
            let cookie = BrowserCookie::Login.header(attesto, &handle, &browser, PENDING_TTL.as_secs());
            if let Ok(cookie) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            return response;
        }
        Ok(LoginOutcome::LoginRequired) => {
            return deny(None, OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"));
        }
        Err(error) => return deny(None, OAuthError::from(error)),
    };
    // A handle resumes once. Recorded only now that the user is authenticated, so that anonymous
    // requests still cost no storage; without it, the resume URL (in the browser's history)
    // would count a sign-in made for one request towards every replay of it. The store's
    // insert-if-absent set of DPoP proofs serves, under a key no proof can have (a proof's key
    // hashes a thumbprint and a `jti`, this one a label and the handle).
    if let Some(handle) = resumed_handle {
        let once = TokenHash::of(&format!("attesto login resume\0{handle}"));
        match attesto.store().insert_dpop_jti(&once, expires_at).await {
            Ok(true) => {}
            Ok(false) => return page(headers, &expired()),
            Err(error) => return page(headers, &OAuthError::from(error)),
        }
    }
    // The host is asked to honour `prompt=login` and `max_age`; attesto checks that it did (OIDC
    // Core §3.1.2.1: the server MUST re-authenticate), rather than trust a stale session. A sign-in
    // since the request started is that re-authentication (one second of slack for hosts that keep
    // auth times in whole seconds).
    let signed_in_during_request =
        principal.auth_time >= request.started_at.checked_sub(Duration::from_secs(1)).unwrap_or(request.started_at);
    if request.prompt_login && !signed_in_during_request {
        return deny(
            Some(&principal.subject),
            OAuthError::new(ErrorCode::LoginRequired, "a fresh sign-in was required and did not happen"),
        );
    }
    if let Some(max_age) = request.max_age {
        let age = SystemTime::now().duration_since(principal.auth_time).unwrap_or_default();
        // Without the exception `max_age=0` (or any age shorter than the trip back from the
        // login page) could never be satisfied.
        if age > Duration::from_secs(max_age) && !signed_in_during_request {
            return deny(
                Some(&principal.subject),
                OAuthError::new(ErrorCode::LoginRequired, "the sign-in is older than `max_age`"),
            );
        }
    }
    // OIDC Core §3.1.2.2, §5.5.1: a `sub` requested with a value names the user the client wants
    // tokens for; another user signed in gets none (the server "MUST NOT reply with an ID Token or
    // Access Token for a different user"). `login_required`: the user named is not signed in.
    // The client names the user by the `sub` it knows: the pairwise one of its sector, if so
    // (OIDC Core §8.1).
    let known_as = match attesto.subject_for(client, &principal.subject) {
        Ok(subject) => subject,
        Err(error) => return deny(Some(&principal.subject), error),
    };
    if claims_request::asks_for_another_subject(request.claims.as_ref(), &known_as) {
        return deny(
            Some(&principal.subject),
            OAuthError::new(
                ErrorCode::LoginRequired,
                "the signed-in user is not the one the client asked for (`sub` in `claims`)",
            ),
        );
    }
    // OIDC Core §5.5.1.1: an essential `acr` the sign-in did not meet "MUST" be treated as a
    // failed authentication attempt.
    if claims_request::essential_acr_unmet(request.claims.as_ref(), principal.acr.as_deref()) {
        return deny(
            Some(&principal.subject),
            OAuthError::new(
                ErrorCode::AccessDenied,
                "the sign-in did not meet the essential `acr` the client asked for (`claims`)",
            ),
        );
    }
    consent(attesto, headers, client, request, principal).await
}
