//! The authorization endpoint (RFC 6749 §3.1, §4.1.1; OAuth 2.1 §4.1; OpenID Connect Core
//! §3.1.2): validate the request, let the host authenticate the user and decide consent, issue a
//! code bound to everything the token request must repeat.
//!
//! Four kinds of request arrive here:
//! - a new authorization request (GET with a query, or POST with a form, OIDC Core §3.1.2.1);
//! - the same by reference, `client_id` and a `request_uri` from the PAR endpoint (RFC 9126 §4);
//! - `GET ?attesto_resume=…`: the browser coming back from the host's login page;
//! - `POST attesto_consent=…`: the user's decision on the consent page.
//!
//! Until the client and its redirect URI are known to be good, errors are shown to the user and
//! never redirected (RFC 6749 §4.1.2.1: an open redirector otherwise); every later error goes back
//! to the client with `state` and `iss` (RFC 9207).

use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::dpop;
use crate::endpoints::html;
use crate::endpoints::par;
use crate::error::{ErrorCode, OAuthError};
use crate::host::consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
use crate::host::events::{AuthorizationDenied, CodeIssued, EventSink};
use crate::host::principals::{LoginOutcome, LoginRequest};
use crate::host::provider::Provider;
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::{Client, GrantType};
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;
use crate::protocol::form::{self, Form};
use crate::protocol::redirect_uri::{RedirectUriRules, check_redirect_uri, redirect_uri_allowed};
use crate::state::Attesto;
use crate::store::{
    AuthorizationCode, AuthorizationRequest, PendingAuthorization, PendingStage, ResponseMode, TokenHash, new_secret,
};

/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes; OAuth
/// 2.1 and RFC 9700 favour a short one: the client redeems it at once).
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);

/// How long a pending request waits for the user to sign in or decide on consent.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// Parameters that may appear more than once (RFC 8707 §2: `resource`).
const REPEATABLE: &[&str] = &["resource"];

/// The parameter that carries the handle of a pending request back from the host's login page.
const RESUME: &str = "attesto_resume";
/// The consent form's parameters.
const CONSENT: &str = "attesto_consent";
const CONSENT_CSRF: &str = "attesto_csrf";
const CONSENT_DECISION: &str = "attesto_decision";

/// Longest accepted `state`, `nonce` and `login_hint`: generous for any real client, and a bound
/// on what a request makes attesto store.
const MAX_VALUE_LEN: usize = 2048;

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

async fn dispatch<P: Provider>(
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
    // RFC 9126 §4: a request by reference to a pushed one. Only the URNs of this server's PAR
    // endpoint are such references; any other `request_uri` (a request object to fetch, OIDC
    // Core §6.2) makes an ordinary request, which validation refuses as not supported.
    if P::PATHS.par.is_some() && form.get("request_uri").is_some_and(|uri| uri.starts_with(par::REQUEST_URI_PREFIX)) {
        return pushed_request(attesto, headers, form).await;
    }
    new_request(attesto, headers, form).await
}

/// Where an authorization response goes, once the client and redirect URI are verified.
#[derive(Debug, Clone)]
struct Target {
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

impl Target {
    fn of(request: &AuthorizationRequest) -> Self {
        Self { redirect_uri: request.redirect_uri.clone(), mode: request.response_mode, state: request.state.clone() }
    }
}

/// Where the authorization request being validated came from.
#[derive(Debug)]
pub(crate) enum Origin {
    /// The authorization endpoint: the client is named by `client_id`, and not authenticated.
    AuthorizationEndpoint,
    /// The PAR endpoint (RFC 9126 §2.1): the client authenticated as at the token endpoint.
    Pushed(Client),
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
    /// The error alone, for an endpoint that answers it directly (PAR, RFC 9126 §2.3).
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Self::Unverified(error) => error,
            Self::Verified(refusal) => refusal.error,
        }
    }
}

/// A new authorization request, its parameters sent by value.
async fn new_request<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
    match validate(attesto, form, Origin::AuthorizationEndpoint).await {
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
async fn pushed_request<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
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
fn invalid_request_uri() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequestUri,
        "the `request_uri` is unknown, expired, already used, or was pushed by another client",
    )
}

/// The client named by `client_id`, not authenticated: whatever fails here is shown, never
/// redirected.
async fn named_client<P: Provider>(attesto: &Attesto<P>, form: &Form<'_>) -> Result<Client, OAuthError> {
    if form.is_repeated("client_id") {
        return Err(OAuthError::invalid_request("parameter `client_id` is repeated"));
    }
    let client_id = form.get("client_id").ok_or_else(|| OAuthError::invalid_request("missing `client_id`"))?;
    // Unknown, or a client ID metadata document that could not be used: the error names why.
    attesto.lookup_client(client_id).await?.map(|found| found.client).map_err(|missing| missing.error())
}

/// Validates an authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1)
/// into the [`AuthorizationRequest`] the rest of the flow trusts.
///
/// The authorization endpoint and the PAR endpoint share this function, so that a pushed request
/// passes exactly the checks of a front-channel one (RFC 9126 §2.1); they differ only in how the
/// client is known ([`Origin`]) and in where a [`Refusal`] goes.
pub(crate) async fn validate<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    origin: Origin,
) -> Result<(Client, AuthorizationRequest), Refusal> {
    let provider = &attesto.provider();
    // 1. The client: named at the authorization endpoint, authenticated at PAR.
    let (client, pushed) = match origin {
        Origin::Pushed(client) => (client, true),
        Origin::AuthorizationEndpoint => (named_client(attesto, form).await.map_err(Refusal::Unverified)?, false),
    };
    // The client's registered redirect URIs, as loaded: a host's table was never checked by
    // attesto, and what registration accepted may predate a stricter rule.
    check_registered_redirect_uris(&client).map_err(Refusal::Unverified)?;
    // 2. The redirect URI, matched exactly (RFC 9700 §4.1.3).
    if form.is_repeated("redirect_uri") {
        return Err(Refusal::Unverified(OAuthError::invalid_request("parameter `redirect_uri` is repeated")));
    }
    let redirect_uri_sent = form.get("redirect_uri").is_some();
    let redirect_uri = match form.get("redirect_uri") {
        Some(uri) if redirect_uri_allowed(&client, uri) => uri.to_owned(),
        Some(_) => {
            return Err(Refusal::Unverified(OAuthError::invalid_request(
                "`redirect_uri` is not registered for this client",
            )));
        }
        // OAuth 2.1 §4.1.1: optional when the client registered exactly one.
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(Refusal::Unverified(OAuthError::invalid_request("missing `redirect_uri`"))),
        },
    };
    // From here on, errors go back to the client. The response mode and `state` come first,
    // since they shape every later error response.
    let state = form.get("state").filter(|_| !form.is_repeated("state")).map(str::to_owned);
    let mut target = Target { redirect_uri: redirect_uri.clone(), mode: ResponseMode::Query, state };
    let fail = |target: &Target, error: OAuthError| {
        Refusal::Verified(Box::new(VerifiedRefusal { client: client.clone(), target: target.clone(), error }))
    };
    target.mode = match form.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some(_) => return Err(fail(&target, OAuthError::invalid_request("unsupported `response_mode`"))),
    };
    if let Some(description) = form.repeated(REPEATABLE) {
        return Err(fail(&target, OAuthError::invalid_request(description)));
    }
    if target.state.as_ref().is_some_and(|s| s.len() > MAX_VALUE_LEN) {
        target.state = None;
        return Err(fail(&target, OAuthError::invalid_request("`state` is too long")));
    }
    // RFC 9126 §4: a provider that requires PAR refuses request data sent any other way, with
    // `invalid_request`. Checked once the client and redirect URI are verified, so the error is
    // redirected like any other refusal of the client's own request (RFC 6749 §4.1.2.1), and
    // before the rest, so that the host's scope policy is not asked about a request refused anyway.
    if !pushed && attesto.settings().require_pushed_authorization_requests {
        return Err(fail(
            &target,
            OAuthError::invalid_request(
                "this server accepts authorization requests only through its pushed authorization request endpoint",
            ),
        ));
    }
    if form.get("request").is_some() {
        return Err(fail(
            &target,
            OAuthError::new(ErrorCode::RequestNotSupported, "request objects are not supported"),
        ));
    }
    // A `request_uri` reaches this point only at the authorization endpoint (the PAR endpoint
    // refuses it first, RFC 9126 §2.1) and only when it is no reference to a pushed request (see
    // `dispatch`): a request object to fetch (OIDC Core §6.2), which attesto does not do, or any
    // value at all when PAR is off.
    if form.get("request_uri").is_some() {
        let description = if P::PATHS.par.is_some() {
            "only `request_uri` values from the pushed authorization request endpoint are supported"
        } else {
            "`request_uri` is not supported"
        };
        return Err(fail(&target, OAuthError::new(ErrorCode::RequestUriNotSupported, description)));
    }
    match form.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                &target,
                OAuthError::new(ErrorCode::UnsupportedResponseType, "only `response_type=code` is supported"),
            ));
        }
        None => return Err(fail(&target, OAuthError::invalid_request("missing `response_type`"))),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            &target,
            OAuthError::new(ErrorCode::UnauthorizedClient, "the client may not use the authorization code grant"),
        ));
    }
    // PKCE, S256 only, for every client (OAuth 2.1 §4.1.1, RFC 9700 §2.1.1). A missing method
    // means `plain` (RFC 7636 §4.3), which is refused too.
    let code_challenge = match (form.get("code_challenge"), form.get("code_challenge_method")) {
        (None, _) => {
            return Err(fail(
                &target,
                OAuthError::invalid_request("missing `code_challenge` (PKCE with S256 is required)"),
            ));
        }
        (Some(_), None | Some("plain")) => {
            return Err(fail(&target, OAuthError::invalid_request("`code_challenge_method` must be S256")));
        }
        (Some(_), Some(method)) if method != "S256" => {
            return Err(fail(&target, OAuthError::invalid_request("`code_challenge_method` must be S256")));
        }
        (Some(challenge), Some(_)) => challenge,
    };
    // An S256 challenge is the base64url of a SHA-256: exactly 43 characters.
    if code_challenge.len() != 43 || URL_SAFE_NO_PAD.decode(code_challenge).map_or(true, |d| d.len() != 32) {
        return Err(fail(&target, OAuthError::invalid_request("`code_challenge` is not a base64url SHA-256 value")));
    }
    let requested = match Scopes::parse(form.get("scope").unwrap_or_default()) {
        Ok(scopes) => scopes,
        Err(error) => return Err(fail(&target, OAuthError::new(ErrorCode::InvalidScope, error.to_string()))),
    };
    // OIDC Core §3.1.2.1: `redirect_uri` is REQUIRED in an OpenID Connect request, even for a
    // client with a single registered one (which OAuth 2.1 would let it leave out).
    if P::FEATURES.openid && requested.contains("openid") && !redirect_uri_sent {
        return Err(fail(&target, OAuthError::invalid_request("an OpenID Connect request must send `redirect_uri`")));
    }
    let audience = match attesto.settings().audiences(form.all("resource")) {
        Ok(audience) => audience.into_owned(),
        Err(error) => return Err(fail(&target, error)),
    };
    let scopes = match provider.scope_policy().authorize_scope(&client, &requested).await {
        Ok(ScopeDecision::Grant(scopes)) => scopes,
        Ok(ScopeDecision::Refuse(reason)) => {
            return Err(fail(&target, OAuthError::new(ErrorCode::InvalidScope, reason)));
        }
        Err(error) => return Err(fail(&target, OAuthError::from(error))),
    };
    let nonce = form.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_VALUE_LEN) {
        return Err(fail(&target, OAuthError::invalid_request("`nonce` is too long")));
    }
    let login_hint = form.get("login_hint").map(str::to_owned);
    if login_hint.as_ref().is_some_and(|n| n.len() > MAX_VALUE_LEN) {
        return Err(fail(&target, OAuthError::invalid_request("`login_hint` is too long")));
    }
    let (mut prompt_none, mut prompt_login, mut prompt_consent) = (false, false, false);
    for value in form.get("prompt").unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt_none = true,
            "login" => prompt_login = true,
            "consent" => prompt_consent = true,
            _ => return Err(fail(&target, OAuthError::invalid_request("unsupported `prompt` value"))),
        }
    }
    // OIDC Core §3.1.2.1: `none` with any other value is an error.
    if prompt_none && (prompt_login || prompt_consent) {
        return Err(fail(&target, OAuthError::invalid_request("`prompt=none` cannot be combined with other values")));
    }
    let max_age = match form.get("max_age").map(str::parse::<u64>) {
        None => None,
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(_)) => {
            return Err(fail(&target, OAuthError::invalid_request("`max_age` must be a non-negative integer")));
        }
    };
    // RFC 9449 §10: `dpop_jkt` binds the code to the DPoP key with this thumbprint, so that a code
    // stolen on its way back to the client is useless without the key.
    let dpop_jkt = match form.get("dpop_jkt") {
        None => None,
        Some(jkt) if dpop::check::is_thumbprint(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(fail(
                &target,
                OAuthError::invalid_request("`dpop_jkt` is not a base64url SHA-256 JWK thumbprint (RFC 7638)"),
            ));
        }
    };
    let request = AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_sent,
        response_mode: target.mode,
        state: target.state.clone(),
        nonce,
        code_challenge: code_challenge.to_owned(),
        scopes,
        audience,
        prompt_login,
        prompt_consent,
        prompt_none,
        max_age,
        login_hint,
        started_at: SystemTime::now(),
        dpop_jkt,
    };
    Ok((client, request))
}

/// Checks every redirect URI a client has, with the most lenient rules attesto knows (those of a
/// native app: `https`, `http` on a loopback host, a private-use scheme; never a user information
/// part or a fragment). A client with one that fails is the host's misconfiguration: refused with
/// an error naming the client, and logged with the reason, rather than redirected to.
fn check_registered_redirect_uris(client: &Client) -> Result<(), OAuthError> {
    for uri in &client.redirect_uris {
        if let Err(error) = check_redirect_uri(uri, RedirectUriRules::Native) {
            tracing::error!(
                client_id = client.client_id.as_str(),
                reason = error.description(),
                "a client's registered redirect URI is not acceptable; fix the client's record"
            );
            return Err(OAuthError::new(
                ErrorCode::ServerError,
                format!(
                    "the client `{}` is misconfigured: one of its registered redirect URIs is not acceptable",
                    client.client_id
                ),
            ));
        }
    }
    Ok(())
}

/// What a login resume handle carries: the validated request, sealed (see `sealed.rs`), so that
/// nothing is stored while the user signs in.
#[derive(serde::Serialize, serde::Deserialize)]
struct LoginState {
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
fn login_context<P: Provider>(attesto: &Attesto<P>) -> String {
    attesto.settings().issuer.url_of(P::PATHS.authorize)
}

/// The browser is back from the host's login page.
async fn resume<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
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
    let secure = attesto.settings().issuer.origin().starts_with("https:");
    let browser = cookie(headers, &BrowserCookie::Login.name(secure, handle)).unwrap_or_default();
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

/// The client of a request that waited (for the user to sign in, or to decide on consent), as it
/// is now: it must still exist, may still use the code grant, and must still list the redirect
/// URI. A registration changed meanwhile (RFC 7592 PUT, DELETE) takes effect at once, so a
/// removed redirect URI never receives a code. Failures are shown, never redirected: the URI may
/// be the one that was removed.
async fn current_client<P: Provider>(
    attesto: &Attesto<P>,
    request: &AuthorizationRequest,
) -> Result<Client, OAuthError> {
    let client = match attesto.lookup_client(request.client_id.as_str()).await {
        Ok(Ok(found)) => found.client,
        Ok(Err(missing)) => return Err(missing.error()),
        Err(error) => return Err(OAuthError::from(error)),
    };
    check_registered_redirect_uris(&client)?;
    if !redirect_uri_allowed(&client, &request.redirect_uri) {
        return Err(OAuthError::invalid_request("`redirect_uri` is no longer registered for this client"));
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may no longer use the authorization code grant",
        ));
    }
    Ok(client)
}

fn expired() -> OAuthError {
    OAuthError::invalid_request(
        "this authorization request expired or was already completed; start again from the application",
    )
}

/// Asks the host who the user is, then goes on to consent.
async fn authenticate<P: Provider>(
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
    let login = LoginRequest {
        headers,
        client,
        scopes: &request.scopes,
        // After the round trip the login happened; `started_at` below checks it was fresh.
        force_login: request.prompt_login && !resumed,
        max_age: request.max_age.map(Duration::from_secs),
        login_hint: request.login_hint.as_deref(),
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
    consent(attesto, headers, client, request, principal).await
}

/// Asks the consent policy, and the user when it says so.
async fn consent<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    client: &Client,
    request: AuthorizationRequest,
    principal: AuthenticatedPrincipal,
) -> Response {
    let target = Target::of(&request);
    let scope = request.scopes.to_string();
    let deny = |error: OAuthError| redirect_error(attesto, client, Some(&principal.subject), &scope, &target, &error);
    let consent_request =
        ConsentRequest { headers, client, scopes: &request.scopes, force_prompt: request.prompt_consent };
    match attesto.provider().consent_policy().consent(&consent_request, &principal).await {
        Ok(ConsentDecision::Granted) => issue_code(attesto, client, request, principal).await,
        Ok(ConsentDecision::Denied) => deny(OAuthError::new(ErrorCode::AccessDenied, "the request was denied")),
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
async fn ask_consent<P: Provider>(
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
        action: P::PATHS.authorize,
        handle: &handle,
        csrf: &csrf,
        redirect_uri: &pending.request.redirect_uri,
    });
    if let Ok(cookie) =
        HeaderValue::from_str(&BrowserCookie::Consent.header(attesto, &handle, &csrf, PENDING_TTL.as_secs()))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The cookies that bind a handle to the browser it was given to: one per handle (named after
/// it), so that two sign-ins or consent pages in two tabs do not overwrite each other. `HttpOnly`;
/// `__Host-` (RFC 6265bis §4.1.3.2) and `Secure` on https.
#[derive(Debug, Clone, Copy)]
enum BrowserCookie {
    /// Binds a login resume handle to the browser sent to the login page. `SameSite=Lax`, not
    /// `Strict`: the browser comes back from the host's login page by a top-level navigation that
    /// may start on another site (an identity provider), and `Strict` would drop the cookie there;
    /// `Lax` still keeps it off cross-site subrequests and POSTs.
    Login,
    /// Binds a consent page to the browser it was shown in (the anti-CSRF value, RFC 6749
    /// §10.12). `SameSite=Strict`: the decision is posted from the page itself.
    Consent,
}

impl BrowserCookie {
    /// The cookie's name for `handle`.
    fn name(self, secure: bool, handle: &str) -> String {
        let kind = match self {
            Self::Login => "login",
            Self::Consent => "consent",
        };
        let id: String = URL_SAFE_NO_PAD.encode(&TokenHash::of(handle).as_bytes()[..9]);
        if secure { format!("__Host-attesto-{kind}-{id}") } else { format!("attesto-{kind}-{id}") }
    }

    /// The `Set-Cookie` value that sets it to `value` for `max_age` seconds (0 clears it).
    fn header<P: Provider>(self, attesto: &Attesto<P>, handle: &str, value: &str, max_age: u64) -> String {
        let secure = attesto.settings().issuer.origin().starts_with("https:");
        let name = self.name(secure, handle);
        let same_site = match self {
            Self::Login => "Lax",
            Self::Consent => "Strict",
        };
        let secure_attr = if secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure_attr}")
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// `POST attesto_consent=…&attesto_csrf=…&attesto_decision=allow|deny`.
async fn consent_decision<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, form: &Form<'_>) -> Response {
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
    let secure = attesto.settings().issuer.origin().starts_with("https:");
    let cookie_value = cookie(headers, &BrowserCookie::Consent.name(secure, handle)).unwrap_or_default();
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
        "deny" => deny(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request")),
        _ => return page(headers, &OAuthError::invalid_request("malformed consent decision")),
    };
    if let Some(clear) = clear {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Issues a code and sends it to the client.
async fn issue_code<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    request: AuthorizationRequest,
    principal: AuthenticatedPrincipal,
) -> Response {
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
    respond(attesto, &target, &[("code", &code)])
}

/// An error sent back to the client, with the `authorization_denied` event.
fn redirect_error<P: Provider>(
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
fn respond<P: Provider>(attesto: &Attesto<P>, target: &Target, params: &[(&str, &str)]) -> Response {
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

fn see_other(location: &str) -> Response {
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

/// The URL the host's login page sends the browser back to.
fn resume_uri<P: Provider>(attesto: &Attesto<P>, handle: &str) -> String {
    format!("{}?{RESUME}={handle}", attesto.settings().issuer.url_of(P::PATHS.authorize))
}

/// An error shown to the user, never redirected: HTML for a browser, the RFC 6749 §5.2 JSON body
/// for a client that asks for JSON.
fn page(headers: &HeaderMap, error: &OAuthError) -> Response {
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
