//! Consent and the code: the host's consent policy, the consent page and its decision, and the
//! authorization code (RFC 6749 §4.1.2).

use std::time::{Duration, SystemTime};

use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use subtle::ConstantTimeEq;

use super::browser::{BrowserCookie, CONSENT, CONSENT_CSRF, CONSENT_DECISION, PENDING_TTL, cookie, resume_uri};
use super::client::current_client;
use super::device_decision;
use super::response::{expired, page, redirect_error, respond};
use crate::endpoints::html;
use crate::error::{ErrorCode, OAuthError};
use crate::host::consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
use crate::host::events::{CodeIssued, EventSink};
use crate::host::principals::{LoginOutcome, LoginRequest};
use crate::host::provider::Provider;
use crate::model::client::Client;
use crate::model::principal::AuthenticatedPrincipal;
use crate::protocol::authorization_request::Target;
use crate::protocol::claims_request;
use crate::protocol::form::Form;
use crate::state::Attesto;
use crate::store::{
    AuthorizationCode, AuthorizationRequest, PendingAuthorization, PendingStage, TokenHash, new_secret,
};

/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes; OAuth
/// 2.1 and RFC 9700 favour a short one: the client redeems it at once).
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);

/// Asks the consent policy, and the user when it says so.
pub(super) async fn consent<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    client: &Client,
    request: AuthorizationRequest,
    principal: AuthenticatedPrincipal,
) -> Response {
    let target = Target::of(&request);
    let scope = request.scopes.to_string();
    let deny = |error: OAuthError| redirect_error(attesto, client, Some(&principal.subject), &scope, &target, &error);
    let consent_request = ConsentRequest {
        headers,
        client,
        scopes: &request.scopes,
        force_prompt: request.prompt_consent,
        ui_locales: &request.ui_locales,
        claims_locales: &request.claims_locales,
        claims: request.claims.as_ref(),
    };
    match attesto.provider().consent_policy().consent(&consent_request, &principal).await {
        Ok(ConsentDecision::Granted) => issue_code(attesto, client, request, principal).await,
        Ok(ConsentDecision::Denied) => {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the request was denied");
            if let Some(device_code) = &request.device_code {
                return device_decision::deny(attesto, client, &request, device_code, &principal.subject, &error).await;
            }
            deny(error)
        }
        Ok(ConsentDecision::Ask) if request.prompt_none => {
            deny(OAuthError::new(ErrorCode::ConsentRequired, "the user must consent, and `prompt=none` was asked"))
        }
        Ok(ConsentDecision::Ask) => ask_consent(attesto, client, request, principal).await,
        Err(error) => deny(OAuthError::from(error)),
    }
}

/// Shows the consent page. The pending request is stored under a handle in the page, bound to an
/// anti-CSRF value that is both a cookie of this browser and a field of the form (RFC 6749
/// §10.12); the decision must carry both.
pub(super) async fn ask_consent<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    request: AuthorizationRequest,
    principal: AuthenticatedPrincipal,
) -> Response {
    let target = Target::of(&request);
    let (handle, handle_hash) = new_secret();
    let (csrf, csrf_hash) = new_secret();
    let scope_list: Vec<String> = request.scopes.iter().map(ToString::to_string).collect();
    let scope_refs: Vec<&str> = scope_list.iter().map(String::as_str).collect();
    // The claims requested (OIDC Core §5.5), both members together, each once.
    let claims = request.claims.as_ref().map(claims_request::requested_names).unwrap_or_default();
    let claims: Vec<String> = claims.into_iter().map(str::to_owned).collect();
    let claim_refs: Vec<&str> = claims.iter().map(String::as_str).collect();
    let subject = principal.subject.clone();
    let pending = PendingAuthorization {
        request,
        stage: PendingStage::Consent { principal, browser: csrf_hash },
        expires_at: SystemTime::now() + PENDING_TTL,
    };
    if let Err(error) = attesto.store().put_pending(&handle_hash, &pending).await {
        return redirect_error(
            attesto,
            client,
            Some(&subject),
            &scope_list.join(" "),
            &target,
            &OAuthError::from(error),
        );
    }
    let mut response = html::consent_page(&html::ConsentPage {
        client_id: client.client_id.as_str(),
        client_name: client.client_name.as_deref(),
        user: &subject,
        scopes: &scope_refs,
        claims: &claim_refs,
        action: P::PATHS.authorize,
        handle: &handle,
        csrf: &csrf,
        redirect_uri: &pending.request.redirect_uri,
        device: pending.request.device_code.is_some(),
    });
    if let Ok(cookie) =
        HeaderValue::from_str(&BrowserCookie::Consent.header(attesto, &handle, &csrf, PENDING_TTL.as_secs()))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST attesto_consent=…&attesto_csrf=…&attesto_decision=allow|deny`.
pub(super) async fn consent_decision<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    form: &Form<'_>,
) -> Response {
    let forbidden = |description: &'static str| {
        page(headers, &OAuthError::new(ErrorCode::AccessDenied, description).with_status(StatusCode::FORBIDDEN))
    };
    if form.repeated(&[]).is_some() || form.len() != 3 {
        return page(headers, &OAuthError::invalid_request("malformed consent decision"));
    }
    // The decision must come from a page of this server: a browser says where a form was
    // submitted from (Fetch Metadata, and `Origin` on every POST).
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes() != b"same-origin") {
        return forbidden("the consent decision did not come from the consent page");
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != attesto.settings().issuer.origin().as_bytes()
    {
        return forbidden("the consent decision did not come from the consent page");
    }
    let handle = form.get(CONSENT).unwrap_or_default();
    let (Some(csrf), Some(decision)) = (form.get(CONSENT_CSRF), form.get(CONSENT_DECISION)) else {
        return page(headers, &OAuthError::invalid_request("malformed consent decision"));
    };
    // Taken before anything else is checked: a handle is good for one attempt, so a forged
    // decision also burns the pending request it aimed at.
    let pending = match attesto.store().take_pending(&TokenHash::of(handle), SystemTime::now()).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return page(headers, &expired()),
        Err(error) => return page(headers, &OAuthError::from(error)),
    };
    let PendingStage::Consent { principal, browser } = pending.stage else {
        return page(headers, &expired());
    };
    let cookie_value = cookie(headers, &BrowserCookie::Consent.name(attesto, handle)).unwrap_or_default();
    let bound = bool::from(cookie_value.as_bytes().ct_eq(csrf.as_bytes()))
        && bool::from(TokenHash::of(csrf).as_bytes().ct_eq(browser.as_bytes()));
    if !bound {
        return forbidden("the consent decision could not be verified (CSRF check failed)");
    }
    let request = pending.request;
    let client = match current_client(attesto, &request).await {
        Ok(client) => client,
        Err(error) => return page(headers, &error),
    };
    let target = Target::of(&request);
    let scope = request.scopes.to_string();
    let subject = principal.subject.clone();
    let deny = |error: OAuthError| redirect_error(attesto, &client, Some(&subject), &scope, &target, &error);
    let clear = HeaderValue::from_str(&BrowserCookie::Consent.header(attesto, handle, "", 0)).ok();
    let mut response = match decision {
        "allow" => {
            // The user who decides must still be the one who was asked.
            let resume_uri = resume_uri(attesto, "");
            let login = LoginRequest {
                headers,
                client: &client,
                scopes: &request.scopes,
                force_login: false,
                max_age: None,
                login_hint: None,
                acr_values: None,
                ui_locales: &request.ui_locales,
                claims_locales: &request.claims_locales,
                resume_uri: &resume_uri,
            };
            match attesto.provider().authenticate(&login).await {
                Ok(LoginOutcome::Authenticated(now)) if now.subject == principal.subject => {
                    issue_code(attesto, &client, request, principal).await
                }
                Ok(_) => {
                    deny(OAuthError::new(ErrorCode::LoginRequired, "the user who was asked is no longer signed in"))
                }
                Err(error) => deny(OAuthError::from(error)),
            }
        }
        "deny" => {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            match &request.device_code {
                Some(device_code) => {
                    device_decision::deny(attesto, &client, &request, device_code, &subject, &error).await
                }
                None => deny(error),
            }
        }
        _ => return page(headers, &OAuthError::invalid_request("malformed consent decision")),
    };
    if let Some(clear) = clear {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Issues a code and sends it to the client.
pub(super) async fn issue_code<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    request: AuthorizationRequest,
    principal: AuthenticatedPrincipal,
) -> Response {
    // A device grant's request has no redirect URI: the approval is recorded on the grant, and
    // its device fetches the tokens (RFC 8628 §3.4).
    if let Some(device_code) = &request.device_code {
        return device_decision::approve(attesto, device_code, principal).await;
    }
    let target = Target::of(&request);
    let scope = request.scopes.to_string();
    let (code, code_hash) = new_secret();
    let subject = principal.subject.clone();
    let grant = AuthorizationCode { request, principal, expires_at: SystemTime::now() + CODE_TTL };
    if let Err(error) = attesto.store().put_code(&code_hash, &grant).await {
        return redirect_error(attesto, client, Some(&subject), &scope, &target, &OAuthError::from(error));
    }
    attesto.provider().event_sink().code_issued(&CodeIssued {
        client_id: client.client_id.as_str(),
        subject: &subject,
        scope: &scope,
    });
    respond(attesto, client, &target, &[("code", &code)])
}
