//! A test host and helpers to drive the real router.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use attesto::{
    Attesto, Client, ClientStore, EventSink, GrantType, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore,
    Scopes, SecretHash, TokenDenied, TokenEndpointAuthMethod, TokenIssued,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

pub const ISSUER: &str = "https://auth.example.com";
pub const SECRET: &str = "correct horse battery staple";
pub const RESOURCE: &str = "https://mcp.example.com/mcp";

/// The clients every test host knows.
pub fn clients() -> HashMap<String, Client> {
    let scopes = Scopes::parse("read write admin").expect("valid scopes");
    let mut clients = HashMap::new();
    let mut add = |client: Client| {
        clients.insert(client.client_id.to_string(), client);
    };
    add(Client::confidential("service", SecretHash::of(SECRET)).with_scopes(scopes.clone()));
    add(Client::confidential("poster", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_auth_method(TokenEndpointAuthMethod::ClientSecretPost));
    add(Client::confidential("code-only", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_grant_types([GrantType::AuthorizationCode]));
    add(Client::public("spa").with_scopes(scopes));
    // A client id with characters that need form-encoding in Basic credentials (RFC 6749 §2.3.1).
    add(Client::confidential("weird:id/é", SecretHash::of("p@ss:w rd"))
        .with_scopes(Scopes::parse("read").expect("valid")));
    clients
}

/// A host with the default options, recording its events.
#[derive(Clone)]
#[attesto::provider]
pub struct TestHost {
    pub clients: Arc<HashMap<String, Client>>,
    pub events: Arc<Mutex<Vec<String>>>,
}

impl ClientStore for TestHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        if client_id == "db-down" {
            return Err(HostError::msg("connection refused: postgres://secret-host:5432"));
        }
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for TestHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

impl EventSink for TestHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.record(format!("issued {} {} {}", event.client_id, event.grant_type.as_str(), event.scope));
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.record(format!("denied {} {}", event.client_id.unwrap_or("-"), event.error));
    }
}

impl TestHost {
    pub fn new() -> Self {
        Self { clients: Arc::new(clients()), events: Arc::default() }
    }

    fn record(&self, event: String) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// A provider for `host` with the test issuer, a fresh ES256 key and one known resource.
pub fn provider<P: attesto::Provider>(host: P) -> Attesto<P> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("valid resource")
        .resource("https://api.example.com")
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

pub fn test_provider() -> Attesto<TestHost> {
    provider(TestHost::new())
}

pub fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

/// The response of `router` to `request`: status, headers and body.
pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, body)
}

/// The JSON response of `router` to `request`.
pub async fn send_json(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, serde_json::Value) {
    let (status, headers, body) = send(router, request).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON body expected, got {status}: {}", String::from_utf8_lossy(&body)));
    (status, headers, json)
}

/// POSTs a form body to the token endpoint with optional Basic credentials.
pub async fn token(
    router: &Router,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    send_json(router, request.body(Body::from(body.to_owned())).expect("request")).await
}

/// Asserts an RFC 6749 §5.2 error response.
pub fn assert_error(response: &(StatusCode, HeaderMap, serde_json::Value), status: StatusCode, error: &str) {
    let (actual_status, headers, body) = response;
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(*actual_status, status, "body: {body}");
    assert!(body["error_description"].is_string(), "body: {body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}
