//! Pushed authorization requests (RFC 9126) through the real router: the PAR endpoint (client
//! authentication, validation as at the authorization endpoint, the `request_uri` it returns),
//! the authorization endpoint's use of that `request_uri` (once, by the client that pushed it,
//! before it expires), a provider that requires PAR, and discovery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, AuthorizationDenied, ClaimsQuery, Client, ClientStore, CodeIssued,
    ConfigError, ConsentDecision, ConsentPolicy, ConsentRequest, EventSink, GrantType, HostError, Key, LoginOutcome,
    LoginRequest, Principal, PrincipalStore, Scopes, SecretHash, TokenEndpointAuthMethod, TokenIssued,
};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::Value;

const AUTHORIZE: &str = "/oauth/authorize";
const TOKEN: &str = "/oauth/token";
const PAR: &str = "/oauth/par";
const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

type Reply = (StatusCode, HeaderMap, Vec<u8>);
type JsonReply = (StatusCode, HeaderMap, Value);
/// A named case: the parameters to push and the error they must get.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);

// ---------------------------------------------------------------------------------------------
// A host whose client table a test can change, delegating everything else to `TestHost`.
// ---------------------------------------------------------------------------------------------

/// `TestHost`'s clients and behaviour, plus `post-web` (a code-flow client that authenticates with
/// `client_secret_post`) and `no-code` (a redirect URI but no code grant), in a table that tests
/// may change between a push and the use of its `request_uri`.
#[derive(Clone)]
#[attesto::provider]
struct ParHost {
    inner: TestHost,
    clients: Arc<Mutex<HashMap<String, Client>>>,
}

impl ParHost {
    fn new() -> Self {
        let mut clients = clients();
        let scopes = Scopes::parse("openid profile email offline_access read write").expect("valid scopes");
        clients.insert(
            "post-web".to_owned(),
            Client::confidential("post-web", SecretHash::of(SECRET))
                .with_scopes(scopes.clone())
                .with_redirect_uris([WEB_REDIRECT])
                .with_grant_types([GrantType::AuthorizationCode])
                .with_auth_method(TokenEndpointAuthMethod::ClientSecretPost),
        );
        clients.insert(
            "no-code".to_owned(),
            Client::confidential("no-code", SecretHash::of(SECRET))
                .with_scopes(scopes)
                .with_redirect_uris([WEB_REDIRECT])
                .with_grant_types([GrantType::ClientCredentials]),
        );
        Self { inner: TestHost::new(), clients: Arc::new(Mutex::new(clients)) }
    }

    /// Changes a client in place.
    fn change_client(&self, client_id: &str, change: impl FnOnce(&mut Client)) {
        let mut clients = self.clients.lock().expect("client table");
        change(clients.get_mut(client_id).expect("a known client"));
    }

    fn remove_client(&self, client_id: &str) {
        self.clients.lock().expect("client table").remove(client_id);
    }

    fn events(&self) -> Vec<String> {
        self.inner.events()
    }
}

impl ClientStore for ParHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        if client_id == "db-down" {
            return Err(HostError::msg("connection refused"));
        }
        Ok(self.clients.lock().expect("client table").get(client_id).cloned())
    }
}

impl PrincipalStore for ParHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.inner.authenticate(request).await
    }
    async fn build_principal(&self, client: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        self.inner.build_principal(client, subject, scopes).await
    }
    async fn build_id_token_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, Value>, HostError> {
        self.inner.build_id_token_claims(query).await
    }
}

/// `first-party`, `native` and `post-web` are granted without asking; the rest as `TestHost`.
impl ConsentPolicy for ParHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        principal: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        if request.client.client_id.as_str() == "post-web" {
            return Ok(ConsentDecision::Granted);
        }
        self.inner.consent(request, principal).await
    }
}

impl EventSink for ParHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.inner.token_issued(event);
    }
    fn code_issued(&self, event: &CodeIssued<'_>) {
        self.inner.code_issued(event);
    }
    fn authorization_denied(&self, event: &AuthorizationDenied<'_>) {
        self.inner.authorization_denied(event);
    }
}

/// A host and the router of a provider over it.
fn setup() -> (ParHost, Router) {
    let host = ParHost::new();
    (host.clone(), provider(host).router())
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// A complete, valid authorization request of `client_id` to [`WEB_REDIRECT`] with `state=xyz`;
/// `extra` adds parameters after these.
fn params<'a>(client_id: &'a str, challenge: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile"),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    params
}

/// `params` with the value of `name` replaced.
fn with<'a>(params: Vec<(&'a str, &'a str)>, name: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    params.into_iter().map(|(n, v)| (n, if n == name { value } else { v })).collect()
}

/// `params` without the parameters named in `drop`.
fn without<'a>(params: Vec<(&'a str, &'a str)>, drop: &[&str]) -> Vec<(&'a str, &'a str)> {
    params.into_iter().filter(|(name, _)| !drop.contains(name)).collect()
}

/// `POST {par}` with a form body and optional `Authorization`.
async fn push(router: &Router, authorization: Option<&str>, pairs: &[(&str, &str)]) -> JsonReply {
    token(router, PAR, authorization, &form(pairs)).await
}

/// Pushes a valid request of `first-party` (Basic) and returns the `request_uri`.
async fn push_ok(router: &Router, challenge: &str, extra: &[(&str, &str)]) -> String {
    let reply = push(router, Some(&basic("first-party", SECRET)), &params("first-party", challenge, extra)).await;
    assert_pushed(&reply)
}

/// Asserts a successful push (RFC 9126 §2.2) and returns the `request_uri`.
fn assert_pushed(reply: &JsonReply) -> String {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::CREATED, "body: {body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["expires_in"], 60, "body: {body}");
    let request_uri = body["request_uri"].as_str().unwrap_or_else(|| panic!("a request_uri in {body}")).to_owned();
    let random = request_uri.strip_prefix(URN_PREFIX).unwrap_or_else(|| panic!("a PAR URN: {request_uri}"));
    // 256 bits, base64url.
    assert_eq!(random.len(), 43, "request_uri: {request_uri}");
    assert!(random.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{request_uri}");
    request_uri
}

/// A browser GET of the authorization endpoint with `params`, signed in as `alice`.
async fn authorize(router: &Router, params: &[(&str, &str)]) -> Reply {
    browser_get(router, &authorize_url(AUTHORIZE, params), Some(&session_cookie("alice"))).await
}

/// A browser GET of the authorization endpoint with `client_id` and `request_uri`, as `alice`.
async fn authorize_by_reference(router: &Router, client_id: &str, request_uri: &str) -> Reply {
    authorize(router, &[("client_id", client_id), ("request_uri", request_uri)]).await
}

/// Asserts the error page shown to the user instead of a redirect.
fn assert_page(reply: &Reply, status: StatusCode, error: &str) {
    let (actual, headers, body) = reply;
    let body = text(body);
    assert_eq!(*actual, status, "body: {body}");
    assert!(headers.get(header::LOCATION).is_none(), "must not redirect: {headers:?}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(body.contains(&format!("<code>{error}</code>")), "expected `{error}` on the page: {body}");
}

/// Asserts a 303 to [`WEB_REDIRECT`] with `iss` and `state`, and returns its parameters.
fn assert_redirect(reply: &Reply, state: Option<&str>) -> HashMap<String, String> {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SEE_OTHER, "body: {}", text(body));
    let (base, params) = redirect_params(headers);
    assert_eq!(base, WEB_REDIRECT, "params: {params:?}");
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER), "RFC 9207 iss: {params:?}");
    assert_eq!(params.get("state").map(String::as_str), state, "params: {params:?}");
    params
}

/// Asserts a code sent to [`WEB_REDIRECT`] with `state=xyz`, and returns it.
fn assert_code(reply: &Reply) -> String {
    let params = assert_redirect(reply, Some("xyz"));
    assert!(!params.contains_key("error"), "params: {params:?}");
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in {params:?}"))
}

/// Asserts an error sent to [`WEB_REDIRECT`] with `state=xyz`.
fn assert_redirect_error(reply: &Reply, error: &str) {
    let params = assert_redirect(reply, Some("xyz"));
    assert_eq!(params.get("error").map(String::as_str), Some(error), "params: {params:?}");
    assert!(!params.contains_key("code"), "params: {params:?}");
}

/// A provider over `host` built by `configure` from the test settings.
fn custom_provider<P: attesto::Provider>(
    host: P,
    configure: impl FnOnce(attesto::Builder<P>) -> attesto::Builder<P>,
) -> Result<Attesto<P>, ConfigError> {
    let builder = Attesto::builder(host)
        .issuer(ISSUER)?
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .resource(RESOURCE)?;
    configure(builder).build()
}

// ---------------------------------------------------------------------------------------------
// The PAR endpoint: client authentication (RFC 9126 §2.1 step 1)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_pushes_with_client_secret_basic() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let reply = push(&router, Some(&basic("first-party", SECRET)), &params("first-party", &challenge, &[])).await;
    assert_pushed(&reply);
    // `client_id` in the body is optional next to Basic credentials, and may repeat them.
    let reply = push(
        &router,
        Some(&basic("first-party", SECRET)),
        &without(params("first-party", &challenge, &[]), &["client_id"]),
    )
    .await;
    assert_pushed(&reply);
}

#[tokio::test]
async fn a_client_pushes_with_client_secret_post() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let reply = push(&router, None, &params("post-web", &challenge, &[("client_secret", SECRET)])).await;
    assert_pushed(&reply);
}

#[tokio::test]
async fn a_public_client_pushes_with_none() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let pairs = with(params("native", &challenge, &[]), "redirect_uri", NATIVE_REDIRECT);
    assert_pushed(&push(&router, None, &pairs).await);
}

#[tokio::test]
async fn a_push_without_client_authentication_is_invalid_client() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    // No credentials at all.
    let pairs = without(params("first-party", &challenge, &[]), &["client_id"]);
    assert_error(&push(&router, None, &pairs).await, StatusCode::BAD_REQUEST, "invalid_client");
    // A confidential client naming itself without its secret.
    let pairs = params("first-party", &challenge, &[]);
    assert_error(&push(&router, None, &pairs).await, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn a_push_with_a_wrong_secret_is_invalid_client_as_at_the_token_endpoint() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let pairs = without(params("first-party", &challenge, &[]), &["client_id"]);
    // Basic: 401 with a Basic challenge (RFC 6749 §5.2), for a wrong secret and an unknown client.
    for authorization in [basic("first-party", "wrong"), basic("nobody-knows", SECRET)] {
        let reply = push(&router, Some(&authorization), &pairs).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
        let challenge = reply.1[header::WWW_AUTHENTICATE].to_str().expect("ascii");
        assert!(challenge.starts_with("Basic "), "{challenge}");
    }
    // In the body: 400.
    let reply = push(&router, None, &params("post-web", &challenge, &[("client_secret", "wrong")])).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client");
    // The method the client did not register.
    let reply = push(&router, None, &params("first-party", &challenge, &[("client_secret", SECRET)])).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn a_client_id_other_than_the_authenticated_client_is_invalid_request() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let reply = push(&router, Some(&basic("first-party", SECRET)), &params("web", &challenge, &[])).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_host_failure_while_authenticating_is_temporarily_unavailable() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let reply = push(&router, Some(&basic("db-down", SECRET)), &params("db-down", &challenge, &[])).await;
    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
}

// ---------------------------------------------------------------------------------------------
// The PAR endpoint: the request itself (RFC 9126 §2.1 steps 2 and 3, §2.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_request_uri_cannot_be_pushed() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let first = push_ok(&router, &challenge, &[]).await;
    for request_uri in [first.as_str(), "https://client.example.com/request.jwt"] {
        let pairs = params("first-party", &challenge, &[("request_uri", request_uri)]);
        let reply = push(&router, Some(&basic("first-party", SECRET)), &pairs).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

/// Every check of the authorization endpoint, at push time, with the code that endpoint would
/// have redirected (RFC 9126 §2.3).
#[tokio::test]
async fn each_validation_error_is_a_json_error_with_the_authorization_endpoint_code() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    let long = "a".repeat(2049);
    let base = || params("first-party", &challenge, &[]);
    let cases: Vec<Case<'_>> = vec![
        (
            "unsupported response_mode",
            params("first-party", &challenge, &[("response_mode", "fragment")]),
            "invalid_request",
        ),
        ("state too long", with(base(), "state", &long), "invalid_request"),
        (
            "request object",
            params("first-party", &challenge, &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
            "invalid_request_object",
        ),
        ("missing response_type", without(base(), &["response_type"]), "invalid_request"),
        ("implicit response_type", with(base(), "response_type", "token"), "unsupported_response_type"),
        ("missing code_challenge", without(base(), &["code_challenge"]), "invalid_request"),
        ("plain PKCE", with(base(), "code_challenge_method", "plain"), "invalid_request"),
        ("PKCE method omitted", without(base(), &["code_challenge_method"]), "invalid_request"),
        ("malformed challenge", with(base(), "code_challenge", "too-short"), "invalid_request"),
        ("scope not allowed", with(base(), "scope", "admin"), "invalid_scope"),
        ("malformed scope", with(base(), "scope", "read\""), "invalid_scope"),
        (
            "unknown resource",
            params("first-party", &challenge, &[("resource", "https://unknown.example")]),
            "invalid_target",
        ),
        ("nonce too long", params("first-party", &challenge, &[("nonce", &long)]), "invalid_request"),
        ("login_hint too long", params("first-party", &challenge, &[("login_hint", &long)]), "invalid_request"),
        ("unknown prompt", params("first-party", &challenge, &[("prompt", "select_account")]), "invalid_request"),
        ("prompt none with login", params("first-party", &challenge, &[("prompt", "none login")]), "invalid_request"),
        ("negative max_age", params("first-party", &challenge, &[("max_age", "-1")]), "invalid_request"),
        // Errors the authorization endpoint shows rather than redirects: `invalid_request`.
        ("unregistered redirect_uri", with(base(), "redirect_uri", "https://evil.example/cb"), "invalid_request"),
        (
            "redirect_uri with an extra slash",
            with(base(), "redirect_uri", "https://client.example.com/cb/"),
            "invalid_request",
        ),
        ("repeated parameter", params("first-party", &challenge, &[("state", "again")]), "invalid_request"),
        (
            "repeated redirect_uri",
            params("first-party", &challenge, &[("redirect_uri", WEB_REDIRECT)]),
            "invalid_request",
        ),
    ];
    for (case, pairs, error) in cases {
        let reply = push(&router, Some(&basic("first-party", SECRET)), &pairs).await;
        assert_eq!(reply.1.get(header::LOCATION), None, "{case}: never redirected");
        assert_eq!(reply.2["error"], error, "{case}: {}", reply.2);
        assert_error(&reply, StatusCode::BAD_REQUEST, error);
    }
    // A refusal of an authenticated client's request is an `authorization_denied` event.
    assert!(
        host.events().iter().any(|e| e == "authorization_denied first-party - invalid_scope"),
        "{:?}",
        host.events()
    );
}

#[tokio::test]
async fn a_client_without_the_code_grant_is_unauthorized_client() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let reply = push(&router, Some(&basic("no-code", SECRET)), &params("no-code", &challenge, &[])).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_missing_redirect_uri_is_invalid_request_unless_the_client_has_exactly_one() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    // `web` registered two.
    let pairs = without(params("web", &challenge, &[]), &["redirect_uri"]);
    let reply = push(&router, Some(&basic("web", SECRET)), &pairs).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // `first-party` registered one: it is the default, outside OpenID Connect.
    let pairs = with(without(params("first-party", &challenge, &[]), &["redirect_uri"]), "scope", "read");
    assert_pushed(&push(&router, Some(&basic("first-party", SECRET)), &pairs).await);
    // OIDC Core §3.1.2.1: an OpenID Connect request must send it, pushed or not.
    let pairs = without(params("first-party", &challenge, &[]), &["redirect_uri"]);
    let reply = push(&router, Some(&basic("first-party", SECRET)), &pairs).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.2["error_description"], "an OpenID Connect request must send `redirect_uri`");
}

#[tokio::test]
async fn resource_may_repeat_in_a_push() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let pairs = params("first-party", &challenge, &[("resource", RESOURCE), ("resource", "https://api.example.com")]);
    assert_pushed(&push(&router, Some(&basic("first-party", SECRET)), &pairs).await);
}

#[tokio::test]
async fn the_body_is_bound_as_at_the_token_endpoint() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let body = form(&params("first-party", &challenge, &[]));
    // Not a form.
    let request = Request::post(PAR)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, basic("first-party", SECRET))
        .body(Body::from(body))
        .expect("request");
    assert_error(&send_json(&router, request).await, StatusCode::BAD_REQUEST, "invalid_request");
    // Too large.
    let huge = format!("{}&padding={}", form(&params("first-party", &challenge, &[])), "a".repeat(70 * 1024));
    let reply = push_raw(&router, &huge).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    // Malformed encoding.
    assert_error(&push_raw(&router, "state=%zz").await, StatusCode::BAD_REQUEST, "invalid_request");
    // RFC 9126 §2.3: only POST.
    let request = Request::get(PAR).body(Body::empty()).expect("request");
    assert_eq!(send(&router, request).await.0, StatusCode::METHOD_NOT_ALLOWED);
}

/// `POST {par}` as `first-party` with a raw body.
async fn push_raw(router: &Router, body: &str) -> JsonReply {
    token(router, PAR, Some(&basic("first-party", SECRET)), body).await
}

// ---------------------------------------------------------------------------------------------
// The authorization endpoint with a `request_uri` (RFC 9126 §4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pushed_request_gives_a_code_that_redeems_with_the_pkce_verifier() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[("nonce", "n-0S6")]).await;
    let code = assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
    assert!(host.events().iter().any(|e| e == "code_issued first-party alice openid profile"), "{:?}", host.events());
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", WEB_REDIRECT),
    ];
    let (status, _, body) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &form(&pairs)).await;
    assert_eq!(status, StatusCode::OK, "body: {body}");
    assert!(body["access_token"].is_string(), "body: {body}");
    assert!(body["id_token"].is_string(), "body: {body}");
    assert_eq!(body["scope"], "openid profile");
}

#[tokio::test]
async fn the_code_of_a_pushed_request_needs_the_pushed_challenge_verifier() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let code = assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", other_verifier.as_str()),
        ("redirect_uri", WEB_REDIRECT),
    ];
    let reply = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &form(&pairs)).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn each_client_authentication_method_leads_to_a_code() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    // client_secret_post.
    let reply = push(&router, None, &params("post-web", &challenge, &[("client_secret", SECRET)])).await;
    let request_uri = assert_pushed(&reply);
    assert_code(&authorize_by_reference(&router, "post-web", &request_uri).await);
    // none (a public client, loopback redirect on any port, RFC 8252 §7.3).
    let redirect = "http://127.0.0.1:50123/callback";
    let pairs = with(params("native", &challenge, &[]), "redirect_uri", redirect);
    let request_uri = assert_pushed(&push(&router, None, &pairs).await);
    let (status, headers, body) = authorize_by_reference(&router, "native", &request_uri).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "body: {}", text(&body));
    let (base, params) = redirect_params(&headers);
    assert_eq!(base, redirect);
    assert!(params.contains_key("code"), "{params:?}");
}

/// RFC 9126 §4 builds the request as RFC 9101 does: only the pushed parameters count.
#[tokio::test]
async fn parameters_sent_alongside_the_request_uri_are_ignored() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let reply = authorize(
        &router,
        &[
            ("client_id", "first-party"),
            ("request_uri", &request_uri),
            ("redirect_uri", "https://evil.example/cb"),
            ("state", "forged"),
            ("scope", "openid admin"),
            ("response_mode", "form_post"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ],
    )
    .await;
    // The pushed redirect URI, state and response mode.
    assert_code(&reply);
}

#[tokio::test]
async fn a_request_uri_is_used_once() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
    let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");
}

/// A `request_uri` used with another `client_id` is refused, and burnt: its value reached
/// someone it was not issued to.
#[tokio::test]
async fn a_request_uri_is_only_for_the_client_that_pushed_it() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let reply = authorize_by_reference(&router, "web", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");
    let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");
}

#[tokio::test]
async fn an_expired_request_uri_is_refused() {
    let router = custom_provider(ParHost::new(), |b| {
        b.store(TestStore { take_late: Duration::from_secs(61), ..TestStore::default() })
    })
    .expect("provider")
    .router();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");

    // 59 seconds later it still works.
    let router = custom_provider(ParHost::new(), |b| {
        b.store(TestStore { take_late: Duration::from_secs(59), ..TestStore::default() })
    })
    .expect("provider")
    .router();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
}

#[tokio::test]
async fn an_unknown_request_uri_is_refused() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    // Well-formed but never issued, and a bare prefix.
    for request_uri in [format!("{URN_PREFIX}{}", "A".repeat(43)), URN_PREFIX.to_owned()] {
        let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
        assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");
    }
    // The random part alone is not the request_uri.
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let random = request_uri.strip_prefix(URN_PREFIX).expect("URN");
    let reply = authorize(&router, &[("client_id", "first-party"), ("request_uri", random)]).await;
    // Not a URN of the PAR endpoint: an ordinary request, with a `request_uri` of another kind.
    let params = assert_redirect(&reply, None);
    assert_eq!(params.get("error").map(String::as_str), Some("request_uri_not_supported"), "{params:?}");
    // Nor is the resume handle of the login page: a request_uri is a handle of its own kind.
    let reply = browser_get(&router, &format!("{AUTHORIZE}?attesto_resume={random}"), None).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
}

#[tokio::test]
async fn failures_before_the_pushed_request_is_taken_are_shown_and_do_not_burn_it() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let uri = request_uri.as_str();
    // RFC 9101 §5: client_id is required with request_uri.
    assert_page(&authorize(&router, &[("request_uri", uri)]).await, StatusCode::BAD_REQUEST, "invalid_request");
    // An unknown client.
    let reply = authorize_by_reference(&router, "nobody-knows", uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_client");
    // The host cannot look the client up.
    let reply = authorize_by_reference(&router, "db-down", uri).await;
    assert_page(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    // Repeated parameters: the reference ones and the ignored ones alike (RFC 6749 §3.1).
    for repeated in [
        vec![("client_id", "first-party"), ("request_uri", uri), ("request_uri", uri)],
        vec![("client_id", "first-party"), ("client_id", "first-party"), ("request_uri", uri)],
        vec![("client_id", "first-party"), ("request_uri", uri), ("state", "a"), ("state", "b")],
    ] {
        assert_page(&authorize(&router, &repeated).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // The pushed request is still there.
    assert_code(&authorize_by_reference(&router, "first-party", uri).await);
}

#[tokio::test]
async fn the_request_uri_works_with_post_and_across_the_login_page() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    // A form POST to the authorization endpoint (OIDC Core §3.1.2.1).
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let body = form(&[("client_id", "first-party"), ("request_uri", &request_uri)]);
    let reply = browser_post(&router, AUTHORIZE, Some(&session_cookie("alice")), &body).await;
    assert_code(&reply);
    // Without a session: the host's login page, then back with one.
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let uri = authorize_url(AUTHORIZE, &[("client_id", "first-party"), ("request_uri", &request_uri)]);
    let (status, headers, _) = browser_get(&router, &uri, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (login, params) = redirect_params(&headers);
    assert_eq!(login, LOGIN_PAGE);
    let resume = params["return_to"].strip_prefix(ISSUER).expect("a resume URI on the issuer").to_owned();
    // The cookie that binds the resume URI to this browser comes back with the session.
    let login_cookie = headers[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("a cookie");
    let cookies = format!("{login_cookie}; {}", session_cookie("alice"));
    assert_code(&browser_get(&router, &resume, Some(&cookies)).await);
}

/// RFC 9126 §4: what was checked at push time and depends on the client's registration is
/// checked again when the request is used.
#[tokio::test]
async fn a_client_changed_since_the_push_is_checked_again() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    // Its redirect URI is no longer registered: shown, never redirected there.
    let request_uri = push_ok(&router, &challenge, &[]).await;
    host.change_client("first-party", |c| c.redirect_uris = vec!["https://client.example.com/new".to_owned()]);
    let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    // It may no longer use the code grant: redirected, as at the authorization endpoint.
    let (host, router) = setup();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    host.change_client("first-party", |c| c.grant_types = vec![GrantType::ClientCredentials]);
    assert_redirect_error(&authorize_by_reference(&router, "first-party", &request_uri).await, "unauthorized_client");

    // It is gone.
    let (host, router) = setup();
    let request_uri = push_ok(&router, &challenge, &[]).await;
    host.remove_client("first-party");
    let reply = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn a_pushed_prompt_login_is_honoured() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let request_uri = push_ok(&router, &challenge, &[("prompt", "login")]).await;
    // A session exists, but `prompt=login` sends the browser to the login page regardless.
    let (status, headers, _) = authorize_by_reference(&router, "first-party", &request_uri).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redirect_params(&headers).0, LOGIN_PAGE);
}

#[tokio::test]
async fn a_store_failure_is_temporarily_unavailable() {
    let router = custom_provider(ParHost::new(), |b| b.store(TestStore { fail_pending: true, ..TestStore::default() }))
        .expect("provider")
        .router();
    let (_, challenge) = pkce();
    let reply = push(&router, Some(&basic("first-party", SECRET)), &params("first-party", &challenge, &[])).await;
    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    let reply = authorize_by_reference(&router, "first-party", &format!("{URN_PREFIX}{}", "A".repeat(43))).await;
    assert_page(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
}

/// A `request_uri` that is not a URN of the PAR endpoint is a request object to fetch (OIDC Core
/// §6.2), which attesto does not do.
#[tokio::test]
async fn a_request_uri_of_another_kind_is_not_supported() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let pairs = params("first-party", &challenge, &[("request_uri", "https://client.example.com/request.jwt")]);
    assert_redirect_error(&authorize(&router, &pairs).await, "request_uri_not_supported");
}

// ---------------------------------------------------------------------------------------------
// A provider that requires PAR (RFC 9126 §4, §5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_provider_that_requires_par_refuses_requests_by_value() {
    let router =
        custom_provider(ParHost::new(), |b| b.require_pushed_authorization_requests(true)).expect("provider").router();
    let (verifier, challenge) = pkce();
    // By value: `invalid_request`, redirected, since client and redirect URI are verified.
    let reply = authorize(&router, &params("first-party", &challenge, &[])).await;
    assert_redirect_error(&reply, "invalid_request");
    // With an unverified client or redirect URI: shown, as always.
    let reply =
        authorize(&router, &with(params("first-party", &challenge, &[]), "redirect_uri", "https://evil.example")).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // Pushed: accepted, and the code redeems.
    let request_uri = push_ok(&router, &challenge, &[]).await;
    let code = assert_code(&authorize_by_reference(&router, "first-party", &request_uri).await);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", WEB_REDIRECT),
    ];
    let (status, _, body) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &form(&pairs)).await;
    assert_eq!(status, StatusCode::OK, "body: {body}");
    // Discovery says so, in both documents (RFC 9126 §5).
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let document = get_json(&router, path).await;
        assert_eq!(document["require_pushed_authorization_requests"], true, "{path}: {document}");
        assert_eq!(document["pushed_authorization_request_endpoint"], "https://auth.example.com/oauth/par");
    }
}

/// A host declared without the PAR endpoint.
#[derive(Clone)]
struct NoParHost;
attesto::attesto_routes! { NoParHost, par = false }

impl ClientStore for NoParHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(clients().remove(client_id))
    }
}

impl PrincipalStore for NoParHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

#[tokio::test]
async fn par_cannot_be_required_without_the_par_endpoint() {
    let error = custom_provider(NoParHost, |b| b.require_pushed_authorization_requests(true)).expect_err("refused");
    assert_eq!(error, ConfigError::ParRequiredWithoutPar);
}

#[tokio::test]
async fn without_the_par_endpoint_nothing_of_par_is_served() {
    assert_eq!(NoParHost::PATHS.par, None);
    let router = custom_provider(NoParHost, |b| b).expect("provider").router();
    let (_, challenge) = pkce();
    let request = Request::post(PAR)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("first-party", SECRET))
        .body(Body::from(form(&params("first-party", &challenge, &[]))))
        .expect("request");
    assert_eq!(send(&router, request).await.0, StatusCode::NOT_FOUND);
    // A PAR URN is then a `request_uri` like any other: not supported.
    let urn = format!("{URN_PREFIX}{}", "A".repeat(43));
    let pairs = params("first-party", &challenge, &[("request_uri", &urn)]);
    assert_redirect_error(&authorize(&router, &pairs).await, "request_uri_not_supported");
    let document = get_json(&router, "/.well-known/openid-configuration").await;
    assert!(document.get("pushed_authorization_request_endpoint").is_none(), "{document}");
}

// ---------------------------------------------------------------------------------------------
// Discovery (RFC 9126 §5)
// ---------------------------------------------------------------------------------------------

async fn get_json(router: &Router, path: &str) -> Value {
    let (status, _, body) = send_json(router, Request::get(path).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    body
}

#[tokio::test]
async fn discovery_advertises_the_par_endpoint() {
    let (_, router) = setup();
    let oauth = get_json(&router, "/.well-known/oauth-authorization-server").await;
    let openid = get_json(&router, "/.well-known/openid-configuration").await;
    for document in [&oauth, &openid] {
        assert_eq!(document["pushed_authorization_request_endpoint"], "https://auth.example.com/oauth/par");
        // Not required by default: omitted, which means `false`.
        assert!(document.get("require_pushed_authorization_requests").is_none(), "{document}");
    }
    // A request object by reference (OIDC Core §6.2) is still not fetched: PAR has its own member.
    assert_eq!(openid["request_uri_parameter_supported"], false);
    // The advertised endpoint is mounted.
    assert_eq!(ParHost::PATHS.par, Some(PAR));
    let (_, challenge) = pkce();
    assert_pushed(&push(&router, Some(&basic("first-party", SECRET)), &params("first-party", &challenge, &[])).await);
}

// ---------------------------------------------------------------------------------------------
// A store whose clock is late when pending requests are taken, or that fails on them.
// ---------------------------------------------------------------------------------------------
