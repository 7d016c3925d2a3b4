//! Requests arriving at the authorization endpoint: a new request, one by reference to a pushed
//! request (RFC 9126 §4), a browser back from sign-in, a consent decision; and the validation the
//! PAR endpoint shares.

use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, Method};

use super::browser::{CONSENT, RESUME};
use super::client::{check_registered_redirect_uris, named_client};
use super::consent::consent_decision;
use super::login::{authenticate, resume};
use super::response::{page, redirect_error};
use crate::endpoints::request_object;
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::{Client, GrantType};
use crate::protocol::authorization_request::{self, Channel, REQUEST_URI_PREFIX, Rules, SignedRequest, Target};
use crate::protocol::form::{self, Form};
use crate::protocol::redirect_uri::redirect_uri_allowed;
use crate::state::Attesto;
use crate::store::{AuthorizationRequest, PendingStage, TokenHash};

/// `GET {authorize}`.
pub(crate) async fn get<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = parts.uri.query().unwrap_or_default();
    let form = match Form::parse_keeping_repeats(query.as_bytes()) {
        Ok(form) => form,
        Err(error) => return page(&parts.headers, &error),
    };
    if form.get(CONSENT).is_some() {
        // The decision is a state-changing POST, never a link.
        return page(&parts.headers, &OAuthError::invalid_request("the consent decision must be sent with POST"));
    }
    dispatch(&attesto, &parts.headers, &parts.method, &form).await
}

/// `POST {authorize}`: an authorization request as a form (OIDC Core §3.1.2.1), or a consent
/// decision.
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Err(error) = form::require_form_content_type(&parts.headers) {
        return page(&parts.headers, &error);
    }
    let body = match form::read_body(body).await {
        Ok(body) => body,
        Err(error) => return page(&parts.headers, &error),
    };
    let form = match Form::parse_keeping_repeats(&body) {
        Ok(form) => form,
        Err(error) => return page(&parts.headers, &error),
    };
    if form.get(CONSENT).is_some() {
        return consent_decision(&attesto, &parts.headers, &form).await;
    }
    dispatch(&attesto, &parts.headers, &parts.method, &form).await
}

pub(super) async fn dispatch<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    method: &Method,
    form: &Form<'_>,
) -> Response {
    if form.get(RESUME).is_some() {
        if method != Method::GET || form.len() != 1 {
            return page(
                headers,
                &OAuthError::invalid_request("a resumed request carries its handle and nothing else"),
            );
        }
        return resume(attesto, headers, form).await;
    }
    // RFC 9101 §5: a request carries its object by value or by reference, never both. Shown, not
    // redirected: the redirect URI is in one of the two, and neither is verified yet.
    if form.get("request").is_some() && form.get("request_uri").is_some() {
        return page(headers, &OAuthError::invalid_request("`request` and `request_uri` cannot both be sent"));
    }
    if form.get("request").is_some() {
        return object_request(attesto, headers, form).await;
    }
    // RFC 9126 §4: a request by reference to a pushed one. Only the URNs of this server's PAR
    // endpoint are such references; any other `request_uri` (a request object to fetch, OIDC
    // Core §6.2) makes an ordinary request, which validation refuses as not supported.
    if P::PATHS.par.is_some() && form.get("request_uri").is_some_and(|uri| uri.starts_with(REQUEST_URI_PREFIX)) {
        return pushed_request(attesto, headers, form).await;
    }
    new_request(attesto, headers, form).await
}

/// Where the authorization request being validated came from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// The authorization endpoint: the client is named by `client_id`, and not authenticated.
    AuthorizationEndpoint,
    /// The PAR endpoint (RFC 9126 §2.1): the client authenticated as at the token endpoint.
    Pushed(Box<Client>),
}

/// Why an authorization request was refused, which decides where the error may be sent.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The client or its redirect URI could not be verified: the error must not be redirected
    /// (RFC 6749 §4.1.2.1: an open redirector otherwise).
    Unverified(OAuthError),
    /// The client and its redirect URI are verified: the error may go back to the client.
    Verified(Box<VerifiedRefusal>),
}

/// A [`Refusal`] of a request whose client and redirect URI are verified.
#[derive(Debug)]
pub(crate) struct VerifiedRefusal {
    client: Client,
    target: Target,
    error: OAuthError,
}

impl Refusal {
    fn verified(client: Client, target: Target, error: OAuthError) -> Self {
        Self::Verified(Box::new(VerifiedRefusal { client, target, error }))
    }

    /// The error alone, for an endpoint that answers it directly (PAR, RFC 9126 §2.3).
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Self::Unverified(error) => error,
            Self::Verified(refusal) => refusal.error,
        }
    }
}

/// A new authorization request, its parameters sent by value.
pub(super) async fn new_request<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
    match validate(attesto, form, Origin::AuthorizationEndpoint).await {
        Ok((client, request)) => authenticate(attesto, headers, &client, request, None).await,
        Err(Refusal::Unverified(error)) => page(headers, &error),
        Err(Refusal::Verified(refusal)) => {
            redirect_error(attesto, &refusal.client, None, "", &refusal.target, &refusal.error)
        }
    }
}

/// An authorization request whose parameters are the claims of a signed request object (RFC
/// 9101 §2.1): `client_id` and `request`.
///
/// Other parameters are ignored (RFC 9101 §6.3: the server uses only the object's, even when the
/// same ones come with it), so a parameter added or changed on the way through the browser has no
/// effect. A refusal of the object itself is shown, never redirected: the only redirect URI at
/// hand is inside the object that failed. Once the object is verified, its parameters are
/// validated as any request's, and their refusals go back to the client as usual.
async fn object_request<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
    // RFC 6749 §3.1: every parameter at most once, the ignored ones included.
    if let Some(description) = form.repeated(&[]) {
        return page(headers, &OAuthError::invalid_request(description));
    }
    // RFC 9101 §5: `client_id` is required with `request`, and names the key the object is
    // verified with.
    let client = match named_client(attesto, form).await {
        Ok(client) => client,
        Err(error) => return page(headers, &error),
    };
    let object = form.get("request").unwrap_or_default();
    let parameters = match request_object::parameters(attesto, &client, object).await {
        Ok(parameters) => parameters,
        Err(error) => return page(headers, &error),
    };
    match validate_for(attesto, &parameters, client, Channel::FrontChannel, SignedBy::Object).await {
        Ok((client, request)) => authenticate(attesto, headers, &client, request, None).await,
        Err(Refusal::Unverified(error)) => page(headers, &error),
        Err(Refusal::Verified(refusal)) => {
            redirect_error(attesto, &refusal.client, None, "", &refusal.target, &refusal.error)
        }
    }
}

/// An authorization request by reference to a pushed one (RFC 9126 §4): `client_id` and a
/// `request_uri` from the PAR endpoint.
///
/// Other parameters are ignored: RFC 9126 §4 builds this request as RFC 9101 does, whose §6.3
/// has the server use only the parameters of the referenced request even when the same ones come
/// with it. Every failure is shown, never redirected: until the pushed request is found, the only
/// redirect URI at hand is one of those ignored parameters.
///
/// The pushed request is taken (RFC 9126 §4: one use) before its client is compared, so a
/// `request_uri` presented with another `client_id` is burnt too. Its value reached someone it was
/// not issued to, so it is no longer a secret; the rightful client pushes again, at the cost of
/// one request, whereas keeping it would mean putting it back, a second write racing the rightful
/// use.
pub(super) async fn pushed_request<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    form: &Form<'_>,
) -> Response {
    // RFC 6749 §3.1: every parameter at most once, the ignored ones included.
    if let Some(description) = form.repeated(&[]) {
        return page(headers, &OAuthError::invalid_request(description));
    }
    // RFC 9101 §5: `client_id` is required with `request_uri`.
    let client = match named_client(attesto, form).await {
        Ok(client) => client,
        Err(error) => return page(headers, &error),
    };
    // The URN as a whole is the key (see `par::push`); `dispatch` saw it.
    let handle = TokenHash::of(form.get("request_uri").unwrap_or_default());
    let pending = match attesto.store().take_pending(&handle, SystemTime::now()).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return page(headers, &invalid_request_uri()),
        Err(error) => return page(headers, &OAuthError::from(error)),
    };
    let PendingStage::Pushed = pending.stage else {
        return page(headers, &invalid_request_uri());
    };
    let mut request = pending.request;
    if request.client_id != client.client_id {
        return page(headers, &invalid_request_uri());
    }
    // RFC 9126 §4: a check made at push time may be skipped only if nothing it depends on changed
    // since. The client's registration may have (RFC 7592), so what depends on it is checked
    // again; the scope decision stands, as for a request that waited for login or consent.
    if !redirect_uri_allowed(&client, &request.redirect_uri) {
        return page(headers, &OAuthError::invalid_request("`redirect_uri` is not registered for this client"));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        let error =
            OAuthError::new(ErrorCode::UnauthorizedClient, "the client may not use the authorization code grant");
        return redirect_error(attesto, &client, None, "", &Target::of(&request), &error);
    }
    // The request reaches the authorization endpoint now: `prompt=login` asks for a sign-in after
    // this moment, not after the push.
    request.started_at = SystemTime::now();
    authenticate(attesto, headers, &client, request, None).await
}

/// The error of a `request_uri` that stands for no pushed request this client may use (RFC 9101
/// §7.1), one description for every case: unknown, expired, used, or pushed by another client.
pub(super) fn invalid_request_uri() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequestUri,
        "the `request_uri` is unknown, expired, already used, or was pushed by another client",
    )
}

/// Whether an authorization request's parameters came from a verified request object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedBy {
    /// The claims of a request object (RFC 9101), verified.
    Object,
    /// Plain parameters.
    Nothing,
}

/// Validates an authorization request of plain parameters: the client (named at the
/// authorization endpoint, authenticated at PAR), then [`validate_for`].
///
/// The authorization endpoint and the PAR endpoint share this function, so that a pushed request
/// passes exactly the checks of a front-channel one (RFC 9126 §2.1); they differ only in how the
/// client is known ([`Origin`]) and in where a [`Refusal`] goes.
pub(crate) async fn validate<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    origin: Origin,
) -> Result<(Client, AuthorizationRequest), Refusal> {
    let (client, channel) = match origin {
        Origin::Pushed(client) => (*client, Channel::Pushed),
        Origin::AuthorizationEndpoint => {
            (named_client(attesto, form).await.map_err(Refusal::Unverified)?, Channel::FrontChannel)
        }
    };
    validate_for(attesto, form, client, channel, SignedBy::Nothing).await
}

/// Validates the parameters `form` of `client`'s authorization request into the
/// [`AuthorizationRequest`] the rest of the flow trusts: the pure checks of
/// [`authorization_request::validate`], then the host's scope policy. `signed` says whether the
/// parameters are a verified request object's, which a provider or client may require (RFC 9101
/// §10.5).
pub(crate) async fn validate_for<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    client: Client,
    channel: Channel,
    signed: SignedBy,
) -> Result<(Client, AuthorizationRequest), Refusal> {
    // The client's registered redirect URIs, as loaded: a host's table was never checked by
    // attesto, and what registration accepted may predate a stricter rule.
    check_registered_redirect_uris(&client).map_err(Refusal::Unverified)?;
    let settings = attesto.settings();
    let rules = Rules {
        channel,
        par_endpoint: P::PATHS.par.is_some(),
        require_pushed: settings.require_pushed_authorization_requests,
        signed_request: match signed {
            SignedBy::Object => SignedRequest::Object,
            SignedBy::Nothing if client.require_signed_request_object => SignedRequest::PlainRefusedByClient,
            SignedBy::Nothing if settings.require_signed_request_objects => SignedRequest::PlainRefusedByProvider,
            SignedBy::Nothing => SignedRequest::Plain,
        },
        openid: P::FEATURES.openid,
        resources: &settings.resources,
        default_audience: &settings.default_audience,
        profile: settings.profile,
    };
    let validated = match authorization_request::validate(form, &client, &rules) {
        Ok(validated) => validated,
        Err(authorization_request::Refusal::Unverified(error)) => return Err(Refusal::Unverified(error)),
        Err(authorization_request::Refusal::Verified(verified)) => {
            let (target, error) = *verified;
            return Err(Refusal::verified(client, target, error));
        }
    };
    // JARM §2.2: a JWT response is signed with the client's `authorization_signed_response_alg`.
    // Registration accepts only the provider's algorithm, so this fails only once the provider's
    // key changed algorithm, or for a host client set up so: a fault of the server's, shown to
    // the user, since no response the client asked for can be made.
    if validated.target.mode.is_jwt() && attesto.keys().signer_for(client.authorization_signed_response_alg).is_none() {
        return Err(Refusal::Unverified(OAuthError::new(
            ErrorCode::ServerError,
            "this client's `authorization_signed_response_alg` is not the algorithm of this server's signing key",
        )));
    }
    // Last, the host's scope policy, once nothing else is wrong with the request.
    let scopes = match attesto.provider().scope_policy().authorize_scope(&client, &validated.requested).await {
        Ok(ScopeDecision::Grant(scopes)) => scopes,
        Ok(ScopeDecision::Refuse(reason)) => {
            let target = validated.target;
            return Err(Refusal::verified(client, target, OAuthError::new(ErrorCode::InvalidScope, reason)));
        }
        Err(error) => return Err(Refusal::verified(client, validated.target, OAuthError::from(error))),
    };
    let request = validated.into_request(&client, scopes, SystemTime::now());
    Ok((client, request))
}
