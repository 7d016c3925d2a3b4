//! Dynamic client registration (RFC 7591) and client configuration (RFC 7592), through the real
//! router: every metadata rejection with its exact error, the registration access token rules,
//! and registered clients running the flows until their registration is deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common;
use crate::common::{
    ISSUER, assert_error, basic, browser_get, browser_post, pkce, redirect_params, send, send_json, token,
};
use attesto::{
    Attesto, AuthenticatedPrincipal, Client, ClientId, ClientRegistered, ClientRegistration, ClientStore,
    ConsentDecision, ConsentPolicy, ConsentRequest, EventSink, HostError, Key, LoginOutcome, LoginRequest,
    PrincipalStore, RegistrationStore, SecretHash, TokenDenied, TokenIssued,
};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

/// The initial access token `ConnectHost` requires (RFC 7591 §3).
const INITIAL_TOKEN: &str = "initial-access-token-handed-out-of-band";
/// The initial access token `McpHost` hands its own services out of band: with it, a registration
/// may hold `client_credentials`, which open registration never gives (RFC 9700 §4.15).
const SERVICE_TOKEN: &str = "service-token-handed-out-of-band";
/// The scopes the providers advertise, and so what registered clients may hold.
const SUPPORTED: &str = "openid profile read write offline_access";
const WEB_REDIRECT: &str = "https://client.example.com/cb";
const LOOPBACK_REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// The `client_name` `McpHost`'s consent policy grants without asking.
const TRUSTED: &str = "Trusted CLI";
/// The `client_name` `McpHost`'s store fails to store.
const DB_DOWN: &str = "db-down";
/// The `client_name` of a registration `McpHost`'s store loses between reading and writing it, as
/// when another request deletes it at the same moment.
const VANISHING: &str = "vanishing";

// ---------------------------------------------------------------------------------------------
// hosts

/// Registered clients in memory, as a host would keep them in a table.
#[derive(Clone, Default)]
struct Registry(Arc<Mutex<HashMap<ClientId, ClientRegistration>>>);

impl Registry {
    fn get(&self, client_id: &str) -> Option<ClientRegistration> {
        self.0.lock().ok()?.get(&ClientId::new(client_id)).cloned()
    }

    fn create(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        if registration.client.client_name.as_deref() == Some(DB_DOWN) {
            return Err(HostError::msg("connection refused: postgres://secret-host:5432"));
        }
        let mut map = self.0.lock().map_err(|_| HostError::msg("poisoned"))?;
        map.insert(registration.client.client_id.clone(), registration.clone());
        Ok(())
    }

    fn update(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let mut map = self.0.lock().map_err(|_| HostError::msg("poisoned"))?;
        if registration.client.client_name.as_deref() == Some(VANISHING) {
            map.remove(&registration.client.client_id);
        }
        Ok(match map.get_mut(&registration.client.client_id) {
            Some(slot) => {
                *slot = registration.clone();
                true
            }
            None => false,
        })
    }

    fn delete(&self, client_id: &ClientId) -> Result<bool, HostError> {
        let mut map = self.0.lock().map_err(|_| HostError::msg("poisoned"))?;
        if map.get(client_id).is_some_and(|r| r.client.client_name.as_deref() == Some(VANISHING)) {
            map.remove(client_id);
            return Ok(false);
        }
        Ok(map.remove(client_id).is_some())
    }
}

/// Events as strings.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    fn record(&self, event: String) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// An MCP server's authorization server: under `/mcp/oauth`, open registration (the default
/// policy), consent asked except for clients named [`TRUSTED`].
#[derive(Clone, Default)]
#[attesto::provider(registration, prefix = "/mcp/oauth")]
struct McpHost {
    registry: Registry,
    events: Events,
}

/// Registration at an overridden path, protected by an initial access token.
#[derive(Clone, Default)]
#[attesto::provider(registration, registration_path = "/connect/register")]
struct ConnectHost {
    registry: Registry,
}

/// Neither host has clients of its own: every client is a registered one.
impl ClientStore for McpHost {
    async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl ClientStore for ConnectHost {
    async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

/// A `test-session=<subject>` cookie is a signed-in user.
fn signed_in(request: &LoginRequest<'_>) -> LoginOutcome {
    let subject = request
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "test-session")
        .map(|(_, value)| value.to_owned());
    match subject {
        Some(subject) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, SystemTime::now())),
        None => LoginOutcome::Redirect("https://auth.example.com/login".to_owned()),
    }
}

impl PrincipalStore for McpHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(signed_in(request))
    }
}

impl PrincipalStore for ConnectHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(signed_in(request))
    }
}

impl ConsentPolicy for McpHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        _: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        Ok(if request.client.client_name.as_deref() == Some(TRUSTED) {
            ConsentDecision::Granted
        } else {
            ConsentDecision::Ask
        })
    }
}

impl EventSink for McpHost {
    fn client_registered(&self, event: &ClientRegistered<'_>) {
        let grants: Vec<&str> = event.grant_types.iter().map(|g| g.as_str()).collect();
        self.events.record(format!(
            "client_registered {} {} {} [{}] {}",
            event.client_id,
            event.client_name.unwrap_or("-"),
            event.token_endpoint_auth_method.as_str(),
            grants.join(","),
            event.scope
        ));
    }
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.events.record(format!("issued {} {} {}", event.client_id, event.grant_type.as_str(), event.scope));
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.events.record(format!("denied {} {}", event.client_id.unwrap_or("-"), event.error));
    }
}

/// Open registration: the default `authorize_registration`; `client_credentials` only for the
/// registrations that present [`SERVICE_TOKEN`].
impl RegistrationStore for McpHost {
    async fn allow_client_credentials(&self, request: &attesto::GrantRequest<'_>) -> Result<bool, HostError> {
        Ok(request.initial_access_token.is_some_and(|token| SecretHash::of(SERVICE_TOKEN).verify(token)))
    }
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registry.create(registration)
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        Ok(self.registry.get(client_id.as_str()))
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        self.registry.update(registration)
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        self.registry.delete(client_id)
    }
}

/// Protected registration: only with [`INITIAL_TOKEN`], compared by its hash in constant time.
impl RegistrationStore for ConnectHost {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registry.create(registration)
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        Ok(self.registry.get(client_id.as_str()))
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        self.registry.update(registration)
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        self.registry.delete(client_id)
    }
    async fn authorize_registration(&self, initial_access_token: Option<&str>) -> Result<bool, HostError> {
        Ok(initial_access_token.is_some_and(|token| SecretHash::of(INITIAL_TOKEN).verify(token)))
    }
}

fn build<P: attesto::Provider>(host: P) -> Attesto<P> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .scopes_supported(SUPPORTED.split(' '))
        .build()
        .expect("provider builds")
}

fn mcp() -> (McpHost, Router) {
    let host = McpHost::default();
    let router = build(host.clone()).router();
    (host, router)
}

fn connect() -> (ConnectHost, Router) {
    let host = ConnectHost::default();
    let router = build(host.clone()).router();
    (host, router)
}

// ---------------------------------------------------------------------------------------------
// helpers

const REGISTER: &str = "/mcp/oauth/register";
const TOKEN: &str = "/mcp/oauth/token";
const AUTHORIZE: &str = "/mcp/oauth/authorize";
const USERINFO: &str = "/mcp/oauth/userinfo";

/// `POST path` with a raw body, a content type and an optional `Authorization` header.
async fn post_raw(
    router: &Router,
    path: &str,
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: impl Into<Body>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::post(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    send(router, request.body(body.into()).expect("request")).await
}

fn parse(response: (StatusCode, HeaderMap, Vec<u8>)) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, body) = response;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON body expected, got {status}: {}", String::from_utf8_lossy(&body)));
    (status, headers, json)
}

/// Registers `metadata` at `McpHost`'s endpoint.
async fn register(router: &Router, metadata: &Value) -> (StatusCode, HeaderMap, Value) {
    // A registration for `client_credentials` is one of the host's services: it presents the
    // token the host handed it (see `McpHost::allow_client_credentials`).
    let service =
        metadata["grant_types"].as_array().is_some_and(|grants| grants.iter().any(|g| g == "client_credentials"));
    let token = service.then(|| format!("Bearer {SERVICE_TOKEN}"));
    parse(post_raw(router, REGISTER, Some("application/json"), token.as_deref(), metadata.to_string()).await)
}

/// Registers `metadata` and asserts success; returns the client information response.
async fn registered(router: &Router, metadata: &Value) -> Value {
    let (status, headers, body) = register(router, metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    body
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// A confidential web client for the code flow, the refresh and the client credentials grants.
fn confidential_metadata() -> Value {
    json!({
        "redirect_uris": [WEB_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types": ["code"],
        "scope": "openid profile read offline_access",
        "client_name": "Web App",
    })
}

/// A public client as MCP clients register themselves: `none`, a loopback redirect URI.
fn public_metadata(name: &str) -> Value {
    json!({
        "redirect_uris": [LOOPBACK_REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "client_name": name,
        "scope": "openid read",
    })
}

/// The path of a `registration_client_uri`.
fn configuration_path(body: &Value) -> String {
    let uri = str_of(body, "registration_client_uri");
    uri.strip_prefix(ISSUER).unwrap_or_else(|| panic!("{uri} is on the issuer")).to_owned()
}

/// A request to the client configuration endpoint with an optional `Authorization` header.
async fn configure(
    router: &Router,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    send(router, request.body(body).expect("request")).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Asserts the one 401 of the client configuration endpoint (and of protected registration).
fn assert_invalid_token(response: &(StatusCode, HeaderMap, Vec<u8>)) -> Value {
    let (status, headers, body) = response;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(body));
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer error=\"invalid_token\"");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let body: Value = serde_json::from_slice(body).expect("JSON error");
    assert_eq!(body["error"], "invalid_token");
    body
}

/// The value of the hidden input `name` of an HTML form.
fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` input in {html}")) + marker.len();
    html[start..].split('"').next().expect("a quoted value").to_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn authorize_uri(client_id: &str, redirect_uri: &str, challenge: &str, scope: &str) -> String {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", scope),
        ("state", "xyz"),
    ]);
    format!("{AUTHORIZE}?{query}")
}

/// The code of an authorization request that `alice` allows on attesto's consent page.
async fn code_with_consent(router: &Router, client_id: &str, challenge: &str, scope: &str) -> String {
    let session = "test-session=alice";
    let uri = authorize_uri(client_id, WEB_REDIRECT, challenge, scope);
    let (status, headers, page) = browser_get(router, &uri, Some(session)).await;
    let page = String::from_utf8(page).expect("UTF-8 page");
    assert_eq!(status, StatusCode::OK, "the consent page: {page}");
    let csrf_cookie =
        headers[header::SET_COOKIE].to_str().expect("ASCII cookie").split(';').next().expect("name=value");
    let decision = form(&[
        ("attesto_consent", &hidden_input(&page, "attesto_consent")),
        ("attesto_csrf", &hidden_input(&page, "attesto_csrf")),
        ("attesto_decision", "allow"),
    ]);
    let cookies = format!("{session}; {csrf_cookie}");
    let (status, headers, body) = browser_post(router, AUTHORIZE, Some(&cookies), &decision).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (_, params) = redirect_params(&headers);
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in the redirect, got {params:?}"))
}

/// The code of an authorization request the consent policy grants.
async fn code_by_policy(router: &Router, client_id: &str, redirect_uri: &str, challenge: &str, scope: &str) -> String {
    let uri = authorize_uri(client_id, redirect_uri, challenge, scope);
    let (status, headers, body) = browser_get(router, &uri, Some("test-session=alice")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (base, params) = redirect_params(&headers);
    assert_eq!(base, redirect_uri);
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in the redirect, got {params:?}"))
}

async fn userinfo(router: &Router, access_token: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(USERINFO).header(header::AUTHORIZATION, bearer(access_token));
    send(router, request.body(Body::empty()).expect("request")).await
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

// ---------------------------------------------------------------------------------------------
// registration

#[tokio::test]
async fn a_confidential_client_registers_and_gets_its_credentials_once() {
    let (host, router) = mcp();
    let mut metadata = confidential_metadata();
    metadata["client_uri"] = json!("https://client.example.com");
    metadata["logo_uri"] = json!("https://client.example.com/logo.png");
    metadata["tos_uri"] = json!("https://client.example.com/tos");
    metadata["policy_uri"] = json!("https://client.example.com/privacy");
    metadata["contacts"] = json!(["ops@client.example.com"]);
    metadata["software_id"] = json!("4NRB1-0XZABZI9E6-5SM3R");
    metadata["software_version"] = json!("2.1");
    metadata["x_custom_member"] = json!({"anything": true});
    metadata["client_name#fr"] = json!("Appli Web");
    let body = registered(&router, &metadata).await;

    let client_id = str_of(&body, "client_id");
    assert!(client_id.len() >= 22, "128 random bits at least: {client_id}");
    let secret = str_of(&body, "client_secret");
    assert_eq!(secret.len(), 43, "256 random bits, base64url");
    let access_token = str_of(&body, "registration_access_token");
    assert_eq!(access_token.len(), 43, "256 random bits, base64url");
    assert!(body["client_id_issued_at"].as_u64().is_some_and(|t| t.abs_diff(unix_now()) <= 5), "{body}");
    assert_eq!(body["client_secret_expires_at"], 0, "RFC 7591 §3.2.1: 0, the secret does not expire");
    assert_eq!(body["registration_client_uri"], format!("{ISSUER}/mcp/oauth/register/{client_id}"));
    // The accepted metadata, defaults included (RFC 7591 §3.2.1).
    for member in [
        "redirect_uris",
        "grant_types",
        "response_types",
        "scope",
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "contacts",
        "software_id",
        "software_version",
    ] {
        assert_eq!(body[member], metadata[member], "{member}");
    }
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic", "RFC 7591 §2 default");
    assert_eq!(body["application_type"], "web");
    // RFC 7591 §2: metadata the server does not understand is ignored, and not echoed.
    assert!(body.get("x_custom_member").is_none() && body.get("client_name#fr").is_none(), "{body}");

    // The store received hashes, never the secret or the token.
    let stored = host.registry.get(client_id).expect("stored");
    assert_eq!(stored.client.secret_hash, Some(SecretHash::of(secret)));
    assert_eq!(stored.registration_access_token_hash, SecretHash::of(access_token));
    assert!(!stored.client.is_public);
    assert_eq!(stored.client.redirect_uris, [WEB_REDIRECT]);
    assert_eq!(stored.client.scopes.to_string(), "openid profile read offline_access");
    assert_eq!(stored.client.client_name.as_deref(), Some("Web App"));
    let dump = format!("{stored:?}");
    assert!(!dump.contains(secret) && !dump.contains(access_token), "{dump}");
    assert!(stored.metadata.get("x_custom_member").is_none());

    assert_eq!(
        host.events.all(),
        [format!(
            "client_registered {client_id} Web App client_secret_basic [authorization_code,refresh_token,client_credentials] openid profile read offline_access"
        )]
    );
}

#[tokio::test]
async fn defaults_fill_in_what_the_client_left_out() {
    let (host, router) = mcp();
    let body = registered(&router, &json!({"redirect_uris": [WEB_REDIRECT]})).await;
    assert_eq!(body["grant_types"], json!(["authorization_code"]), "RFC 7591 §2 default");
    assert_eq!(body["response_types"], json!(["code"]), "RFC 7591 §2 default");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["application_type"], "web");
    // No scope asked: the default policy grants every advertised scope.
    assert_eq!(body["scope"], SUPPORTED);
    assert!(body["client_secret"].is_string());
    assert!(body.get("client_name").is_none(), "{body}");
    let stored = host.registry.get(str_of(&body, "client_id")).expect("stored");
    assert_eq!(stored.client.scopes.to_string(), SUPPORTED);

    // A client_credentials-only client need not spell out an empty `response_types`.
    let body = registered(&router, &json!({"grant_types": ["client_credentials"]})).await;
    assert_eq!(body["response_types"], json!([]));
    assert!(body.get("redirect_uris").is_none(), "{body}");

    // `null` is an absent member (RFC 7592 §2.2), and repeated values collapse.
    let body = registered(
        &router,
        &json!({"redirect_uris": [WEB_REDIRECT, WEB_REDIRECT], "grant_types": null, "client_name": null, "scope": "read read"}),
    )
    .await;
    assert_eq!(body["redirect_uris"], json!([WEB_REDIRECT]));
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn a_public_client_gets_no_secret() {
    let (host, router) = mcp();
    let body = registered(&router, &public_metadata("My MCP Client")).await;
    assert!(body.get("client_secret").is_none(), "{body}");
    assert!(body.get("client_secret_expires_at").is_none(), "no secret, so no expiry: {body}");
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert!(body["registration_access_token"].is_string());
    let stored = host.registry.get(str_of(&body, "client_id")).expect("stored");
    assert!(stored.client.is_public);
    assert_eq!(stored.client.secret_hash, None);
    assert!(host.events.all()[0].contains(" My MCP Client none [authorization_code,refresh_token] openid read"));
}

#[tokio::test]
async fn scope_is_narrowed_to_what_the_policy_grants() {
    let (_, router) = mcp();
    let body = registered(&router, &json!({"redirect_uris": [WEB_REDIRECT], "scope": "read admin"})).await;
    assert_eq!(body["scope"], "read", "RFC 7591 §2: the server may narrow the scope, and says so");
}

#[tokio::test]
async fn acceptable_redirect_uris() {
    let (_, router) = mcp();
    for uri in [
        "https://client.example.com/cb?tenant=1",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:8080/callback",
        "http://[::1]:8080/callback",
        // RFC 8252 §8.3: NOT RECOMMENDED, but what MCP clients register; matched exactly.
        "http://localhost:6274/oauth/callback",
    ] {
        let body = registered(&router, &json!({"redirect_uris": [uri], "token_endpoint_auth_method": "none"})).await;
        assert_eq!(body["redirect_uris"], json!([uri]));
    }
    // RFC 8252 §7.1: a native app's private-use scheme, in reverse domain name form.
    for uri in ["com.example.app:/oauth2redirect", "com.example.app://callback"] {
        let metadata =
            json!({"redirect_uris": [uri], "application_type": "native", "token_endpoint_auth_method": "none"});
        let body = registered(&router, &metadata).await;
        assert_eq!(body["redirect_uris"], json!([uri]));
        assert_eq!(body["application_type"], "native");
    }
}

#[tokio::test]
async fn every_invalid_redirect_uri_is_invalid_redirect_uri() {
    let (host, router) = mcp();
    let web = |uris: Value| json!({"redirect_uris": uris});
    let native = |uris: Value| json!({"redirect_uris": uris, "application_type": "native"});
    let cases = [
        ("relative", web(json!(["/callback"]))),
        ("no scheme", web(json!(["client.example.com/cb"]))),
        ("fragment", web(json!(["https://client.example.com/cb#top"]))),
        ("empty fragment", web(json!(["https://client.example.com/cb#"]))),
        ("http on a public host", web(json!(["http://client.example.com/cb"]))),
        ("user info posing as loopback", web(json!(["http://127.0.0.1@evil.example/cb"]))),
        ("loopback-looking domain", web(json!(["http://localhost.evil.example/cb"]))),
        ("https without //", web(json!(["https:client.example.com/cb"]))),
        ("whitespace", web(json!(["https://client.example.com/c b"]))),
        ("trailing newline", web(json!(["https://client.example.com/cb\n"]))),
        ("private-use scheme for a web client", web(json!(["com.example.app:/cb"]))),
        ("javascript", web(json!(["javascript:alert(1)"]))),
        ("one bad among good", web(json!([WEB_REDIRECT, "http://client.example.com/cb"]))),
        ("native, scheme without a dot", native(json!(["myapp:/cb"]))),
        ("native, javascript", native(json!(["javascript:alert(1)"]))),
        ("native, http on a public host", native(json!(["http://client.example.com/cb"]))),
        ("missing for the code grant", json!({"grant_types": ["authorization_code"]})),
        ("empty for the code grant", web(json!([]))),
        ("missing, default grant", json!({"client_name": "x"})),
    ];
    for (case, metadata) in cases {
        let response = register(&router, &metadata).await;
        assert_eq!(response.2["error"], "invalid_redirect_uri", "{case}: {}", response.2);
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    }
    assert!(host.registry.0.lock().expect("lock").is_empty(), "nothing was stored");
    assert!(host.events.all().is_empty());
}

#[tokio::test]
async fn every_invalid_metadata_member_is_invalid_client_metadata() {
    let (host, router) = mcp();
    let with = |member: &str, value: Value| {
        let mut metadata = json!({"redirect_uris": [WEB_REDIRECT]});
        metadata[member] = value;
        metadata
    };
    let cases = [
        // Grant and response types (RFC 7591 §2.1).
        ("unsupported grant: implicit", with("grant_types", json!(["implicit"]))),
        ("unsupported grant: password", with("grant_types", json!(["authorization_code", "password"]))),
        (
            "unsupported grant: device code",
            with("grant_types", json!(["urn:ietf:params:oauth:grant-type:device_code"])),
        ),
        ("no grant", with("grant_types", json!([]))),
        ("unsupported response type", with("response_types", json!(["token"]))),
        ("hybrid response type", with("response_types", json!(["code id_token"]))),
        ("code grant without code", with("response_types", json!([]))),
        ("code without the code grant", json!({"grant_types": ["client_credentials"], "response_types": ["code"]})),
        ("refresh only, with code", json!({"grant_types": ["refresh_token"], "response_types": ["code"]})),
        // Authentication.
        ("private_key_jwt", with("token_endpoint_auth_method", json!("private_key_jwt"))),
        ("client_secret_jwt", with("token_endpoint_auth_method", json!("client_secret_jwt"))),
        ("tls_client_auth", with("token_endpoint_auth_method", json!("tls_client_auth"))),
        (
            "client_credentials with none",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
        ),
        ("unknown application type", with("application_type", json!("browser"))),
        // Scope: refused by the policy, or not RFC 6749 §3.3 syntax.
        ("scope refused by the policy", with("scope", json!("admin"))),
        ("scope with two spaces", with("scope", json!("read  write"))),
        ("scope with a quote", with("scope", json!("read \"write\""))),
        // Informational URLs are web URLs.
        ("javascript client_uri", with("client_uri", json!("javascript:alert(1)"))),
        ("relative logo_uri", with("logo_uri", json!("/logo.png"))),
        ("tos_uri with a space", with("tos_uri", json!("https://client.example.com/t os"))),
        ("data policy_uri", with("policy_uri", json!("data:text/html,hi"))),
        // Wrong member types.
        ("redirect_uris a string", json!({"redirect_uris": WEB_REDIRECT})),
        ("redirect_uris of numbers", json!({"redirect_uris": [1]})),
        ("grant_types a string", with("grant_types", json!("authorization_code"))),
        ("response_types of booleans", with("response_types", json!([true]))),
        ("auth method a number", with("token_endpoint_auth_method", json!(5))),
        ("scope an array", with("scope", json!(["read"]))),
        ("client_name a number", with("client_name", json!(1))),
        ("client_uri an object", with("client_uri", json!({}))),
        ("contacts a string", with("contacts", json!("ops@client.example.com"))),
        ("contacts of objects", with("contacts", json!([{"email": "ops@client.example.com"}]))),
        ("software_id an object", with("software_id", json!({}))),
        ("software_version a number", with("software_version", json!(2))),
        ("application_type an array", with("application_type", json!(["native"]))),
    ];
    for (case, metadata) in cases {
        let response = register(&router, &metadata).await;
        assert_eq!(response.2["error"], "invalid_client_metadata", "{case}: {}", response.2);
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    }
    assert!(host.registry.0.lock().expect("lock").is_empty(), "nothing was stored");
}

#[tokio::test]
async fn the_body_must_be_one_json_object() {
    let (_, router) = mcp();
    let valid = json!({"redirect_uris": [WEB_REDIRECT]}).to_string();
    // RFC 7591 §3.1: the request is application/json.
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx")]
    {
        let response = parse(post_raw(&router, REGISTER, content_type, None, valid.clone()).await);
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    }
    // A charset parameter and another case are fine.
    let (status, _, _) = post_raw(&router, REGISTER, Some("Application/JSON; charset=utf-8"), None, valid).await;
    assert_eq!(status, StatusCode::CREATED);

    let bodies = [
        // Malformed.
        "",
        "{",
        "{\"redirect_uris\": [\"https://client.example.com/cb\"]",
        "{}x",
        "{'redirect_uris': []}",
        "\u{feff}{}",
        // Not an object.
        "[]",
        "\"https://client.example.com/cb\"",
        "null",
        "42",
        // A member twice: which one would count?
        "{\"redirect_uris\": [\"https://client.example.com/cb\"], \"redirect_uris\": [\"http://evil.example/cb\"]}",
    ];
    for body in bodies {
        let response = parse(post_raw(&router, REGISTER, Some("application/json"), None, body).await);
        assert_eq!(response.2["error"], "invalid_client_metadata", "{body:?}: {}", response.2);
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    }
    // Invalid UTF-8.
    let response = parse(
        post_raw(&router, REGISTER, Some("application/json"), None, b"{\"client_name\": \"\xff\"}".to_vec()).await,
    );
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
}

#[tokio::test]
async fn an_oversize_body_is_refused_unread() {
    let (host, router) = mcp();
    let padding = "x".repeat(64 * 1024);
    let body = json!({"redirect_uris": [WEB_REDIRECT], "client_name": padding}).to_string();
    let response = parse(post_raw(&router, REGISTER, Some("application/json"), None, body).await);
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    assert!(host.registry.0.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_failing_store_is_temporarily_unavailable_without_details() {
    let (_, router) = mcp();
    let response = register(&router, &json!({"redirect_uris": [WEB_REDIRECT], "client_name": DB_DOWN})).await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(!response.2.to_string().contains("postgres"), "{}", response.2);
}

#[tokio::test]
async fn open_registration_ignores_any_token() {
    let (_, router) = mcp();
    let metadata = json!({"redirect_uris": [WEB_REDIRECT]}).to_string();
    for authorization in ["Bearer whatever", "Basic Zm9vOmJhcg=="] {
        let (status, _, body) =
            post_raw(&router, REGISTER, Some("application/json"), Some(authorization), metadata.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn protected_registration_needs_the_initial_access_token() {
    let (host, router) = connect();
    let metadata = json!({"redirect_uris": [WEB_REDIRECT]}).to_string();
    let path = "/connect/register";
    let mut refusals = Vec::new();
    for authorization in [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {INITIAL_TOKEN}x")),
        Some(format!("Basic {INITIAL_TOKEN}")),
        Some("Bearer ".to_owned()),
    ] {
        let response =
            post_raw(&router, path, Some("application/json"), authorization.as_deref(), metadata.clone()).await;
        refusals.push(assert_invalid_token(&response));
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "one answer for every refusal: {refusals:?}");
    // The token is checked before the body: a caller without one learns nothing of its metadata.
    let response = post_raw(&router, path, Some("text/plain"), None, "not even JSON").await;
    assert_invalid_token(&response);
    assert!(host.registry.0.lock().expect("lock").is_empty());

    let response = post_raw(&router, path, Some("application/json"), Some(&bearer(INITIAL_TOKEN)), metadata).await;
    let (status, _, body) = parse(response);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The registration client URI follows the `registration_path` override.
    let client_id = str_of(&body, "client_id");
    assert_eq!(body["registration_client_uri"], format!("{ISSUER}/connect/register/{client_id}"));
    let token = bearer(str_of(&body, "registration_access_token"));
    let (status, _, read) = configure(&router, "GET", &configuration_path(&body), Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&read));
}

#[tokio::test]
async fn discovery_advertises_the_mounted_registration_endpoint() {
    for (router, endpoint) in
        [(mcp().1, format!("{ISSUER}/mcp/oauth/register")), (connect().1, format!("{ISSUER}/connect/register"))]
    {
        for document in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
            let (status, _, metadata) =
                send_json(&router, Request::get(document).body(Body::empty()).expect("request")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(metadata["registration_endpoint"], endpoint, "{document}");
        }
        // Mounted where advertised: an empty POST reaches the endpoint (and fails on its body or
        // its token), not a 404 or 405.
        let path = endpoint.strip_prefix(ISSUER).expect("on the issuer");
        let (status, _, _) = post_raw(&router, path, None, None, "").await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED, "{path}: {status}");
    }
    // Without `registration`, neither advertised nor mounted.
    let router = common::test_provider().router();
    let (_, _, metadata) = send_json(
        &router,
        Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request"),
    )
    .await;
    assert!(metadata.get("registration_endpoint").is_none(), "{metadata}");
    let (status, _, _) = post_raw(&router, "/oauth/register", Some("application/json"), None, "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// client configuration (RFC 7592)

#[tokio::test]
async fn read_returns_the_registration_without_the_secret() {
    let (_, router) = mcp();
    let created = registered(&router, &confidential_metadata()).await;
    let path = configuration_path(&created);
    let token = str_of(&created, "registration_access_token");
    let (status, headers, body) = parse(configure(&router, "GET", &path, Some(&bearer(token)), None).await);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    // Everything of the registration response but the secret, which only its hash remembers.
    let mut expected = created.clone();
    expected.as_object_mut().expect("object").remove("client_secret");
    assert_eq!(body, expected);
}

#[tokio::test]
async fn a_missing_or_wrong_token_and_an_unknown_client_get_one_answer() {
    let (_, router) = mcp();
    let created = registered(&router, &confidential_metadata()).await;
    let other = registered(&router, &confidential_metadata()).await;
    let path = configuration_path(&created);
    let token = str_of(&created, "registration_access_token");
    let unknown = format!("{REGISTER}/{}", "A".repeat(22));
    let cases: Vec<(String, Option<String>)> = vec![
        (path.clone(), None),
        (path.clone(), Some("Bearer wrong".to_owned())),
        (path.clone(), Some(format!("Bearer {token}x"))),
        (path.clone(), Some(format!("bearer {}", &token[1..]))),
        (path.clone(), Some(basic(str_of(&created, "client_id"), str_of(&created, "client_secret")))),
        // Another client's registration access token.
        (path.clone(), Some(bearer(str_of(&other, "registration_access_token")))),
        // A client id nobody registered, with and without a token.
        (unknown.clone(), Some(bearer(token))),
        (unknown, None),
    ];
    let mut answers = Vec::new();
    for (target, authorization) in &cases {
        for method in ["GET", "PUT", "DELETE"] {
            let body = (method == "PUT").then(|| {
                let mut metadata = confidential_metadata();
                metadata["client_id"] = created["client_id"].clone();
                metadata
            });
            let response = configure(&router, method, target, authorization.as_deref(), body.as_ref()).await;
            answers.push(assert_invalid_token(&response));
        }
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "no enumeration: {answers:?}");
    // The registration survived every attempt.
    let (status, _, _) = configure(&router, "GET", &path, Some(&bearer(token)), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn update_replaces_the_metadata() {
    let (host, router) = mcp();
    let mut metadata = confidential_metadata();
    metadata["logo_uri"] = json!("https://client.example.com/logo.png");
    let created = registered(&router, &metadata).await;
    let client_id = str_of(&created, "client_id");
    let path = configuration_path(&created);
    let token = bearer(str_of(&created, "registration_access_token"));

    // RFC 7592 §2.2: everything as returned (server members included, which are ignored), with
    // changes; an omitted member (`logo_uri`) is removed.
    let mut update = created.clone();
    let object = update.as_object_mut().expect("object");
    object.remove("logo_uri");
    object.insert("client_name".to_owned(), json!("Web App 2"));
    object.insert("redirect_uris".to_owned(), json!(["https://client.example.com/new"]));
    object.insert("scope".to_owned(), json!("read write"));
    object.insert("registration_access_token".to_owned(), json!("chosen-by-the-client"));
    object.insert("client_id_issued_at".to_owned(), json!(1));
    let (status, headers, body) = parse(configure(&router, "PUT", &path, Some(&token), Some(&update)).await);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["client_name"], "Web App 2");
    assert_eq!(body["redirect_uris"], json!(["https://client.example.com/new"]));
    assert_eq!(body["scope"], "read write");
    assert!(body.get("logo_uri").is_none(), "replaced, not merged: {body}");
    assert!(body.get("client_secret").is_none(), "{body}");
    assert_eq!(body["client_id"], client_id);
    assert_eq!(body["client_id_issued_at"], created["client_id_issued_at"]);
    assert_eq!(body["registration_access_token"], created["registration_access_token"]);
    assert_eq!(body["registration_client_uri"], created["registration_client_uri"]);

    let stored = host.registry.get(client_id).expect("stored");
    assert_eq!(stored.client.redirect_uris, ["https://client.example.com/new"]);
    assert_eq!(stored.client.client_name.as_deref(), Some("Web App 2"));
    assert_eq!(stored.client.scopes.to_string(), "read write");
    assert_eq!(stored.client.secret_hash, Some(SecretHash::of(str_of(&created, "client_secret"))), "secret kept");
    assert_eq!(stored.registration_access_token_hash, SecretHash::of(str_of(&created, "registration_access_token")));

    // A matching `client_secret` may be sent (RFC 7592 §2.2).
    let mut update = confidential_metadata();
    update["client_id"] = json!(client_id);
    update["client_secret"] = created["client_secret"].clone();
    let (status, _, body) = parse(configure(&router, "PUT", &path, Some(&token), Some(&update)).await);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_name"], "Web App");
    // The secret still authenticates at the token endpoint.
    let response = token_for(&router, client_id, str_of(&created, "client_secret"), "read").await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.2);
}

#[tokio::test]
async fn update_is_validated_like_registration() {
    let (host, router) = mcp();
    let created = registered(&router, &confidential_metadata()).await;
    let client_id = str_of(&created, "client_id");
    let path = configuration_path(&created);
    let token = bearer(str_of(&created, "registration_access_token"));
    let with = |member: &str, value: Value| {
        let mut metadata = confidential_metadata();
        metadata["client_id"] = json!(client_id);
        metadata[member] = value;
        metadata
    };
    let mut without_id = confidential_metadata();
    without_id.as_object_mut().expect("object").remove("client_id");
    let cases = [
        ("no client_id", without_id, "invalid_client_metadata"),
        ("another client_id", with("client_id", json!("someone-else")), "invalid_client_metadata"),
        ("client_id a number", with("client_id", json!(7)), "invalid_client_metadata"),
        ("a wrong client_secret", with("client_secret", json!("chosen-by-the-client")), "invalid_client_metadata"),
        ("client_secret a number", with("client_secret", json!(7)), "invalid_client_metadata"),
        ("a bad redirect URI", with("redirect_uris", json!(["http://client.example.com/cb"])), "invalid_redirect_uri"),
        ("an unsupported grant", with("grant_types", json!(["implicit"])), "invalid_client_metadata"),
        ("a refused scope", with("scope", json!("admin")), "invalid_client_metadata"),
        (
            "becoming public",
            {
                let mut metadata = with("token_endpoint_auth_method", json!("none"));
                metadata["grant_types"] = json!(["authorization_code"]);
                metadata
            },
            "invalid_client_metadata",
        ),
    ];
    for (case, metadata, error) in cases {
        let response = parse(configure(&router, "PUT", &path, Some(&token), Some(&metadata)).await);
        assert_eq!(response.2["error"], error, "{case}: {}", response.2);
        assert_error(&response, StatusCode::BAD_REQUEST, error);
    }
    // The body rules of registration apply too.
    let request = Request::put(&path).header(header::AUTHORIZATION, &token).header(header::CONTENT_TYPE, "text/plain");
    let response = parse(
        send(&router, request.body(Body::from(with("client_name", json!("x")).to_string())).expect("request")).await,
    );
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    let request =
        Request::put(&path).header(header::AUTHORIZATION, &token).header(header::CONTENT_TYPE, "application/json");
    let response = parse(send(&router, request.body(Body::from("{")).expect("request")).await);
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");

    // And a public client cannot become confidential.
    let public = registered(&router, &public_metadata("cli")).await;
    let mut metadata = public_metadata("cli");
    metadata["client_id"] = public["client_id"].clone();
    metadata["token_endpoint_auth_method"] = json!("client_secret_basic");
    // A native app, so that its loopback redirect URI stays acceptable as a confidential one's.
    metadata["application_type"] = json!("native");
    let public_token = bearer(str_of(&public, "registration_access_token"));
    let response =
        parse(configure(&router, "PUT", &configuration_path(&public), Some(&public_token), Some(&metadata)).await);
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    // A public client has no secret to match.
    let mut metadata = public_metadata("cli");
    metadata["client_id"] = public["client_id"].clone();
    metadata["client_secret"] = json!("anything");
    let response =
        parse(configure(&router, "PUT", &configuration_path(&public), Some(&public_token), Some(&metadata)).await);
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata");

    // Nothing changed.
    let stored = host.registry.get(client_id).expect("stored");
    assert_eq!(stored.client.redirect_uris, [WEB_REDIRECT]);
    assert_eq!(stored.client.scopes.to_string(), "openid profile read offline_access");
}

#[tokio::test]
async fn delete_removes_the_registration() {
    let (host, router) = mcp();
    let created = registered(&router, &confidential_metadata()).await;
    let client_id = str_of(&created, "client_id");
    let path = configuration_path(&created);
    let token = bearer(str_of(&created, "registration_access_token"));

    let (status, headers, body) = configure(&router, "DELETE", &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{}", String::from_utf8_lossy(&body));
    assert!(body.is_empty());
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(host.registry.get(client_id).is_none());
    // RFC 7592 §2.3: the registration access token is dead with it.
    for method in ["GET", "DELETE"] {
        assert_invalid_token(&configure(&router, method, &path, Some(&token), None).await);
    }
}

#[tokio::test]
async fn a_registration_deleted_meanwhile_is_as_unknown_as_any() {
    let (_, router) = mcp();
    // The update finds the registration, and the store no longer has it when writing.
    let created = registered(&router, &confidential_metadata()).await;
    let mut update = confidential_metadata();
    update["client_id"] = created["client_id"].clone();
    update["client_name"] = json!(VANISHING);
    let token = bearer(str_of(&created, "registration_access_token"));
    let path = configuration_path(&created);
    assert_invalid_token(&configure(&router, "PUT", &path, Some(&token), Some(&update)).await);
    assert_invalid_token(&configure(&router, "GET", &path, Some(&token), None).await);

    // The deletion finds it, and another deletion wins the race.
    let mut metadata = confidential_metadata();
    metadata["client_name"] = json!(VANISHING);
    let created = registered(&router, &metadata).await;
    let token = bearer(str_of(&created, "registration_access_token"));
    let path = configuration_path(&created);
    assert_invalid_token(&configure(&router, "DELETE", &path, Some(&token), None).await);
}

// ---------------------------------------------------------------------------------------------
// registered clients in the flows

/// `client_credentials` for a confidential client with Basic credentials.
async fn token_for(router: &Router, client_id: &str, secret: &str, scope: &str) -> (StatusCode, HeaderMap, Value) {
    let body = form(&[("grant_type", "client_credentials"), ("scope", scope)]);
    token(router, TOKEN, Some(&basic(client_id, secret)), &body).await
}

#[tokio::test]
async fn a_registered_confidential_client_runs_the_flows_until_deleted() {
    let (host, router) = mcp();
    let created = registered(&router, &confidential_metadata()).await;
    let client_id = str_of(&created, "client_id");
    let secret = str_of(&created, "client_secret");
    let credentials = basic(client_id, secret);

    // client_credentials, within its registered scope.
    let (status, _, body) = token_for(&router, client_id, secret, "read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
    let response = token_for(&router, client_id, secret, "write").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let response = token_for(&router, client_id, "wrong-secret", "read").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");

    // The code flow, with the user's consent on attesto's page.
    let (verifier, challenge) = pkce();
    // OIDC Core §11: the refresh token needs `offline_access`.
    let code = code_with_consent(&router, client_id, &challenge, "openid profile read offline_access").await;
    let redeem = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", WEB_REDIRECT),
    ]);
    let (status, _, tokens) = token(&router, TOKEN, Some(&credentials), &redeem).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid profile read offline_access");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string(), "{tokens}");
    let access_token = str_of(&tokens, "access_token");
    let refresh_token = str_of(&tokens, "refresh_token");
    let (status, _, claims) = userinfo(&router, access_token).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&claims));

    // Deleted: no more authentication, and its tokens are worthless.
    let (status, _, _) = configure(
        &router,
        "DELETE",
        &configuration_path(&created),
        Some(&bearer(str_of(&created, "registration_access_token"))),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let response = token_for(&router, client_id, secret, "read").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    let refresh = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    let response = token(&router, TOKEN, Some(&credentials), &refresh).await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    let response = userinfo(&router, access_token).await;
    let (status, headers, body) = &response;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(body));
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII challenge");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = serde_json::from_slice(body).expect("JSON");
    assert_eq!(body["error"], "invalid_token");

    let events = host.events.all();
    assert!(events[0].starts_with(&format!("client_registered {client_id} ")), "{events:?}");
    assert!(events.contains(&format!("issued {client_id} client_credentials read")), "{events:?}");
    assert!(
        events.contains(&format!("issued {client_id} authorization_code openid profile read offline_access")),
        "{events:?}"
    );
    assert!(events.contains(&format!("denied {client_id} invalid_client")), "{events:?}");
    for event in &events {
        assert!(!event.contains(secret), "no secret in events: {event}");
    }
}

#[tokio::test]
async fn a_registered_public_client_runs_the_code_flow_with_pkce() {
    let (host, router) = mcp();
    let created = registered(&router, &public_metadata(TRUSTED)).await;
    let client_id = str_of(&created, "client_id");

    let redeem = |code: &str, verifier: &str| {
        form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", LOOPBACK_REDIRECT),
        ])
    };
    // PKCE is what protects it: a code without its verifier is worthless (RFC 7636 §4.6).
    let (_, challenge) = pkce();
    let code = code_by_policy(&router, client_id, LOOPBACK_REDIRECT, &challenge, "openid read").await;
    let (wrong_verifier, _) = pkce();
    let response = token(&router, TOKEN, None, &redeem(&code, &wrong_verifier)).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");

    let (verifier, challenge) = pkce();
    let code = code_by_policy(&router, client_id, LOOPBACK_REDIRECT, &challenge, "openid read").await;
    let (status, _, tokens) = token(&router, TOKEN, None, &redeem(&code, &verifier)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid read");
    let (status, _, _) = userinfo(&router, str_of(&tokens, "access_token")).await;
    assert_eq!(status, StatusCode::OK);

    // A public client cannot use client_credentials, nor pretend to have a secret.
    let response =
        token(&router, TOKEN, None, &form(&[("grant_type", "client_credentials"), ("client_id", client_id)])).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    assert!(host.events.all()[0].contains(&format!("{client_id} {TRUSTED} none")));
}

#[tokio::test]
async fn a_registered_client_is_bound_to_its_registered_redirect_uris() {
    let (_, router) = mcp();
    let created = registered(&router, &public_metadata(TRUSTED)).await;
    let client_id = str_of(&created, "client_id");
    let (_, challenge) = pkce();
    let uri = authorize_uri(client_id, "https://evil.example/cb", &challenge, "openid");
    let (status, headers, _) = browser_get(&router, &uri, Some("test-session=alice")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "shown to the user, never redirected");
    assert!(headers.get(header::LOCATION).is_none());
}
