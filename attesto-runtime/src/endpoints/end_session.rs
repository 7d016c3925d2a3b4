//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2): a client sends the
//! browser here to sign the user out of the host's session.
//!
//! `GET` and `POST` take the same parameters (§2). The request is checked before anything else
//! (`protocol/logout.rs`): a refused request is answered with a page, never a redirect. Then:
//!
//! - no one is signed in: nothing to end, the request completes;
//! - the `id_token_hint` proves the signed-in user asked (`logout::hint_matches`): the host ends
//!   the session ([`SessionStore::end_session`]) and the request completes;
//! - otherwise the user is asked, on a page whose form posts back here with
//!   `attesto_logout=confirm` or `stay`. That POST must come from the page (`Sec-Fetch-Site`,
//!   `Origin`, and the anti-CSRF value that is both a cookie and a field), since a cross-site POST
//!   would otherwise log the user out.
//!
//! Completing sends the browser to the verified `post_logout_redirect_uri` with `state` (303), or
//! shows a page that says what happened. Once the host has ended its session, attesto revokes the
//! session's grants and queues logout tokens for its relying parties (OpenID Connect Back-Channel
//! Logout 1.0, [`Attesto::session_ended`]); the response does not wait for their delivery.

use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::endpoints::authorize::{self, BrowserCookie};
use crate::endpoints::html::{self, LogoutPage};
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::host::sessions::{EndSessionRequest, HostSession, SessionStore};
use crate::model::client::Client;
use crate::protocol::form::{self, Form};
use crate::protocol::logout::{self, EndSessionParams, IdTokenHint};
use crate::state::Attesto;
use crate::store::new_secret;

/// The handle the page's cookie is named after: one confirmation form per browser.
const COOKIE_HANDLE: &str = "logout";

/// How long the confirmation's anti-CSRF cookie lives.
const COOKIE_TTL_SECS: u64 = 10 * 60;

/// The confirmation form's own fields.
const CSRF: &str = "attesto_csrf";
const DECISION: &str = "attesto_logout";

/// `GET {end_session}`: the parameters are in the query.
pub(crate) async fn get<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default();
    match Form::parse(query.as_bytes(), &[]) {
        Ok(form) => end_session(&attesto, &parts.headers, &EndSessionParams::read(&form)).await,
        Err(error) => error_page(&error),
    }
}

/// `POST {end_session}`: the parameters are in the form body (§2); with `attesto_logout`, the
/// body is the confirmation page's answer.
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    if let Err(error) = form::require_form_content_type(headers) {
        return error_page(&error);
    }
    let body = match form::read_body(body).await {
        Ok(body) => body,
        Err(error) => return error_page(&error),
    };
    let form = match Form::parse(&body, &[]) {
        Ok(form) => form,
        Err(error) => return error_page(&error),
    };
    let params = EndSessionParams::read(&form);
    match form.get(DECISION) {
        None => end_session(&attesto, headers, &params).await,
        Some(decision) => {
            if !from_confirmation_page(&attesto, headers, &form) {
                return html::logout_error_page(
                    StatusCode::FORBIDDEN,
                    ErrorCode::AccessDenied.as_str(),
                    "the logout could not be verified (CSRF check failed); start again from the application",
                );
            }
            confirmed(&attesto, headers, &params, decision == "confirm").await
        }
    }
}

/// A logout request as checked: the hint, the client, where the browser goes afterwards.
struct Checked<'a> {
    hint: Option<IdTokenHint>,
    client: Option<Client>,
    redirect_uri: Option<&'a str>,
}

/// The checks of `protocol/logout.rs` and the client's lookup; an `Err` is shown on a page.
async fn check<'a, P: Provider>(attesto: &Attesto<P>, params: &'a EndSessionParams) -> Result<Checked<'a>, OAuthError> {
    let hint = match params.id_token_hint.as_deref() {
        Some(token) => {
            Some(logout::verify_id_token_hint(attesto.keys(), token, attesto.settings().issuer.as_str()).map_err(
                |_| OAuthError::invalid_request("the id_token_hint is not an ID token issued by this server"),
            )?)
        }
        None => None,
    };
    let client_id = logout::client_of(hint.as_ref(), params.client_id.as_deref()).map_err(refused)?;
    let client = match client_id {
        Some(client_id) => match attesto.lookup_client(client_id).await {
            Ok(Ok(found)) => Some(found.client),
            Ok(Err(missing)) => return Err(missing.error().with_status(StatusCode::BAD_REQUEST)),
            Err(error) => return Err(OAuthError::from(error)),
        },
        None => None,
    };
    let redirect_uri =
        logout::redirect_target(client.as_ref(), params.post_logout_redirect_uri.as_deref()).map_err(refused)?;
    Ok(Checked { hint, client, redirect_uri })
}

/// A request that is not the confirmation's answer.
async fn end_session<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, params: &EndSessionParams) -> Response {
    let checked = match check(attesto, params).await {
        Ok(checked) => checked,
        Err(error) => return error_page(&error),
    };
    let Some(sessions) = attesto.provider().session_store() else { return not_enabled() };
    let session = match sessions.current_session(headers).await {
        Ok(session) => session,
        Err(error) => return error_page(&OAuthError::from(error)),
    };
    let Some(session) = session else {
        // No one to sign out: the request is complete (§2 leaves the OP to decide; telling the
        // client "done" is what it wanted).
        return done(attesto, &checked, params, Vec::new(), false);
    };
    // The hint and `logout_hint` name the user as the client knows them: by a pairwise
    // identifier for a client of that subject type (OIDC Core §8.1).
    let subject = match &checked.client {
        Some(client) => match attesto.subject_for(client, &session.subject) {
            Ok(subject) => subject,
            Err(error) => return error_page(&error),
        },
        None => std::borrow::Cow::Borrowed(session.subject.as_str()),
    };
    let proven = logout::hint_matches(
        checked.hint.as_ref(),
        params.logout_hint.as_deref(),
        &subject,
        session.session_id.as_deref(),
    );
    if proven {
        return match end(attesto, &sessions, headers, &session, &checked).await {
            Ok(cookies) => done(attesto, &checked, params, cookies, true),
            Err(error) => error_page(&error),
        };
    }
    confirmation_page(attesto, &checked, params, &session)
}

/// The confirmation page's answer, its origin already checked.
async fn confirmed<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    params: &EndSessionParams,
    sign_out: bool,
) -> Response {
    // Checked again: the form's fields came back through the browser.
    let checked = match check(attesto, params).await {
        Ok(checked) => checked,
        Err(error) => return error_page(&error),
    };
    if !sign_out {
        // §6 leaves the answer to a refusal to the OP: the user stays here, on a page that says
        // so, rather than being sent to a client that believes it logged them out.
        return with_cookies(html::logout_done_page(false), clear_csrf_cookie(attesto).into_iter().collect());
    }
    let Some(sessions) = attesto.provider().session_store() else { return not_enabled() };
    let session = match sessions.current_session(headers).await {
        Ok(session) => session,
        Err(error) => return error_page(&OAuthError::from(error)),
    };
    let cookies = match session {
        Some(session) => match end(attesto, &sessions, headers, &session, &checked).await {
            Ok(cookies) => cookies,
            Err(error) => return error_page(&error),
        },
        // Signed out meanwhile (another tab): nothing left to end.
        None => Vec::new(),
    };
    // The user chose to sign out, not to go to the client's URI: whether the browser goes there
    // unasked is the hint's to show, and a hint that matched would have skipped this page.
    done(attesto, &checked, params, cookies, false)
}

/// Asks the host to end `session`; its `Set-Cookie` values. Once the host has ended it, the
/// session's grants are revoked and its relying parties queued logout tokens
/// ([`Attesto::session_ended`], OpenID Connect Back-Channel Logout 1.0 §2.7); a failure there is
/// logged and does not undo the logout the user asked for (the host's session is gone).
async fn end<P: Provider>(
    attesto: &Attesto<P>,
    sessions: &impl SessionStore,
    headers: &HeaderMap,
    session: &HostSession,
    checked: &Checked<'_>,
) -> Result<Vec<HeaderValue>, OAuthError> {
    let client_id = checked.client.as_ref().map(|client| client.client_id.as_str());
    let cookies =
        sessions.end_session(&EndSessionRequest { headers, session, client_id }).await.map_err(OAuthError::from)?;
    if let Err(error) = attesto.session_ended(&session.subject, session.session_id.as_deref()).await {
        tracing::error!(%error, sub = session.subject.as_str(), "the ended session's grants and back-channel logouts could not be completed");
    }
    Ok(cookies)
}

/// The end of a logout, the user signed out: the browser goes to the verified redirect URI with
/// `state` — at once (303) when `logout::redirects_without_asking` allows it (the hint matched
/// the session: `hint_matched`), otherwise by the user's choice from a page that names where —,
/// or is shown a page that says what happened. The host's cookies and the cleared anti-CSRF
/// cookie go with either.
fn done<P: Provider>(
    attesto: &Attesto<P>,
    checked: &Checked<'_>,
    params: &EndSessionParams,
    mut cookies: Vec<HeaderValue>,
    hint_matched: bool,
) -> Response {
    cookies.extend(clear_csrf_cookie(attesto));
    let target = checked.redirect_uri.zip(checked.client.as_ref());
    let response = match target.map(|(uri, client)| (url::Url::parse(uri), uri, client)) {
        Some((Ok(mut url), uri, client)) => {
            // §3: `state` is passed back only to a verified redirect URI.
            if let Some(state) = params.state.as_deref() {
                url.query_pairs_mut().append_pair("state", state);
            }
            if logout::redirects_without_asking(client, uri, hint_matched) {
                authorize::see_other(url.as_str())
            } else {
                html::logout_redirect_interstitial(client.label(), url.as_str())
            }
        }
        Some((Err(_), _, _)) => {
            error_page(&OAuthError::invalid_request("the post_logout_redirect_uri is not a valid URL"))
        }
        None => html::logout_done_page(true),
    };
    with_cookies(response, cookies)
}

/// The confirmation page, with a fresh anti-CSRF value set as this browser's cookie.
fn confirmation_page<P: Provider>(
    attesto: &Attesto<P>,
    checked: &Checked<'_>,
    params: &EndSessionParams,
    session: &HostSession,
) -> Response {
    let Some(action) = P::PATHS.end_session_endpoint(&P::FEATURES) else { return not_enabled() };
    let (csrf, _) = new_secret();
    let pairs = params.pairs();
    let client = checked.client.as_ref().map(|client| (client.client_id.as_str(), client.client_name.as_deref()));
    let response = html::logout_confirm_page(&LogoutPage {
        action,
        csrf: &csrf,
        user: &session.subject,
        client,
        params: &pairs,
        redirect_uri: checked.redirect_uri,
    });
    let cookie = BrowserCookie::Logout.header(attesto, COOKIE_HANDLE, &csrf, COOKIE_TTL_SECS);
    with_cookies(response, HeaderValue::from_str(&cookie).into_iter().collect())
}

/// Whether a POST is the confirmation page's own: same-origin, and the anti-CSRF field equal to
/// the cookie the page set.
fn from_confirmation_page<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() != b"same-origin") {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != attesto.settings().issuer.origin().as_bytes()
    {
        return false;
    }
    let cookie = authorize::cookie(headers, &BrowserCookie::Logout.name(attesto, COOKIE_HANDLE)).unwrap_or_default();
    let field = form.get(CSRF).unwrap_or_default();
    !field.is_empty() && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
}

/// The `Set-Cookie` that clears the confirmation's anti-CSRF cookie.
fn clear_csrf_cookie<P: Provider>(attesto: &Attesto<P>) -> Option<HeaderValue> {
    HeaderValue::from_str(&BrowserCookie::Logout.header(attesto, COOKIE_HANDLE, "", 0)).ok()
}

/// `response` with `cookies` appended as `Set-Cookie` headers.
fn with_cookies(mut response: Response, cookies: Vec<HeaderValue>) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A refused request's error.
fn refused(refusal: logout::Refusal) -> OAuthError {
    OAuthError::invalid_request(refusal.description())
}

/// The page of a request the provider cannot serve: the endpoint is only mounted with logout on.
fn not_enabled() -> Response {
    error_page(&OAuthError::new(ErrorCode::ServerError, "logout is not enabled"))
}

/// An error shown to the user, never redirected.
fn error_page(error: &OAuthError) -> Response {
    html::logout_error_page(error.status(), error.code().as_str(), error.description())
}
