//! A protected resource declared with the provider (`resource = "/mcp"`): one declaration gives
//! the path table, the RFC 9728 document at the host root, the RFC 8707 resource tokens may be
//! issued for, and the guard — consistent by construction.

use crate::common::{assert_error, basic, send, send_json};
use attesto::{Attesto, Authenticated, Client, ClientStore, ConfigError, HostError, Key, Scopes, SecretHash};
use attesto::{LoginOutcome, LoginRequest, PrincipalStore};
use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example.com";
const SECRET: &str = "declared resource secret";

/// An MCP server's provider: endpoints under `/mcp/oauth`, the MCP endpoint at `/mcp`.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", resource = "/mcp")]
struct Mcp;

/// A provider that declares no resource.
#[derive(Clone)]
#[attesto::provider]
struct Plain;

async fn service_client(client_id: &str) -> Result<Option<Client>, HostError> {
    Ok((client_id == "service").then(|| {
        Client::confidential("service", SecretHash::of(SECRET))
            .with_scopes(Scopes::parse("mcp:tools mcp:admin").expect("valid scopes"))
    }))
}

impl ClientStore for Mcp {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        service_client(client_id).await
    }
}

impl PrincipalStore for Mcp {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

impl ClientStore for Plain {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        service_client(client_id).await
    }
}

impl PrincipalStore for Plain {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn auth() -> Attesto<Mcp> {
    Attesto::builder(Mcp)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .scopes_supported(["mcp:tools", "mcp:admin"])
        // A second resource, on another host, added at run time: the declared one keeps the bare
        // well-known path.
        .protected_resource("https://files.example.com/files", ["files:read"])
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

async fn whoami(who: Authenticated) -> String {
    who.subject
}

/// The host's app: the MCP route behind the declared resource's guard, and the provider.
fn app(auth: &Attesto<Mcp>) -> Router {
    let guard = auth.resource_guard().expect("the declaration names a resource").require_scopes(["mcp:tools"]);
    let path = Mcp::PATHS.resource.expect("declared");
    Router::new().route(path, post(whoami)).with_state(guard).merge(auth.router())
}

async fn get_json(router: &Router, path: &str) -> (StatusCode, Value) {
    let request = Request::get(path).body(Body::empty()).expect("request");
    let (status, _, body) = send_json(router, request).await;
    (status, body)
}

async fn token(router: &Router, form: &str) -> (StatusCode, http::HeaderMap, Value) {
    let request = Request::post(Mcp::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .body(Body::from(form.to_owned()))
        .expect("request");
    send_json(router, request).await
}

async fn call_mcp(router: &Router, access_token: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let request = Request::post("/mcp")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}

#[test]
fn the_declaration_puts_the_resource_and_its_metadata_in_the_path_table() {
    assert_eq!(Mcp::PATHS.resource, Some("/mcp"));
    assert_eq!(Mcp::PATHS.resource_metadata, Some("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(Mcp::PATHS.token, "/mcp/oauth/token");
    assert_eq!(Plain::PATHS.resource, None);
    assert_eq!(Plain::PATHS.resource_metadata, None);
    assert_eq!(auth().resource_url(), Some("https://auth.example.com/mcp"));
}

#[tokio::test]
async fn resource_metadata_never_lists_the_providers_own_scopes() {
    // MCP 2025-11-25 (scope selection): a client asks for the scopes a resource lists; `openid`
    // and `offline_access` are the provider's, and a resource never grants them.
    let auth = Attesto::builder(Mcp)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .scopes_supported(["openid", "mcp:tools", "offline_access", "mcp:admin"])
        .protected_resource("https://files.example.com/files", ["offline_access", "files:read", "openid"])
        .expect("valid resource")
        .build()
        .expect("provider builds");
    let router = app(&auth);
    let path = Mcp::PATHS.resource_metadata.expect("declared");
    let (status, declared) = get_json(&router, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(declared["scopes_supported"], json!(["mcp:tools", "mcp:admin"]));
    let (status, files) = get_json(&router, "/.well-known/oauth-protected-resource/files").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(files["scopes_supported"], json!(["files:read"]));
    // The provider's own metadata still lists every scope it supports.
    let (_, metadata) = get_json(&router, "/.well-known/oauth-authorization-server").await;
    assert_eq!(metadata["scopes_supported"], json!(["openid", "mcp:tools", "offline_access", "mcp:admin"]));
}

#[tokio::test]
async fn the_metadata_is_served_where_the_path_table_says_and_at_the_bare_path() {
    let auth = auth();
    let router = app(&auth);
    let expected = json!({
        "resource": "https://auth.example.com/mcp",
        "authorization_servers": [ISSUER],
        "scopes_supported": ["mcp:tools", "mcp:admin"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    });
    let path = Mcp::PATHS.resource_metadata.expect("declared");
    assert_eq!(get_json(&router, path).await, (StatusCode::OK, expected.clone()));
    // The declared resource has the bare path, though the builder added another resource.
    assert_eq!(get_json(&router, "/.well-known/oauth-protected-resource").await, (StatusCode::OK, expected));
    let (status, files) = get_json(&router, "/.well-known/oauth-protected-resource/files").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(files["resource"], "https://files.example.com/files");
}

#[tokio::test]
async fn a_token_for_the_declared_resource_passes_its_guard_and_others_do_not() {
    let auth = auth();
    let router = app(&auth);
    // RFC 8707: the declared resource is one tokens may be issued for, with no builder call.
    let (status, _, body) =
        token(&router, "grant_type=client_credentials&scope=mcp%3Atools&resource=https%3A%2F%2Fauth.example.com%2Fmcp")
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let for_mcp = body["access_token"].as_str().expect("access token").to_owned();
    let (status, _, subject) = call_mcp(&router, &for_mcp).await;
    assert_eq!((status, subject.as_slice()), (StatusCode::OK, b"service".as_slice()));

    // A token for the provider itself (no `resource`: aud = issuer) is not for the MCP server.
    let (_, _, body) = token(&router, "grant_type=client_credentials&scope=mcp%3Atools").await;
    let for_issuer = body["access_token"].as_str().expect("access token").to_owned();
    let (status, headers, _) = call_mcp(&router, &for_issuer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
    assert_eq!(
        challenge,
        "Bearer error=\"invalid_token\", error_description=\"the access token is not meant for this resource\", \
         scope=\"mcp:tools\", resource_metadata=\"https://auth.example.com/.well-known/oauth-protected-resource/mcp\""
    );

    // The guard's required scope.
    let (_, _, body) =
        token(&router, "grant_type=client_credentials&scope=mcp%3Aadmin&resource=https%3A%2F%2Fauth.example.com%2Fmcp")
            .await;
    let admin_only = body["access_token"].as_str().expect("access token").to_owned();
    let (status, headers, _) = call_mcp(&router, &admin_only).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
    assert!(challenge.starts_with("Bearer error=\"insufficient_scope\", scope=\"mcp:tools\""), "{challenge}");

    // Unknown resources are still refused at the token endpoint.
    let response = token(
        &router,
        "grant_type=client_credentials&scope=mcp%3Atools&resource=https%3A%2F%2Fauth.example.com%2Fother",
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_target");
}

/// A tower service, as an MCP SDK hands one out: answers with the caller the guard let in.
async fn hello(request: axum::extract::Request) -> Result<String, std::convert::Infallible> {
    let who = request.extensions().get::<Authenticated>().expect("the guard put the caller here");
    Ok(format!("hello {}", who.subject))
}

#[tokio::test]
async fn protect_mounts_a_service_at_the_declared_resource_behind_its_guard() {
    let auth = auth();
    let guard = auth.resource_guard().expect("declared").require_scopes(["mcp:tools"]);
    let router = auth.protect(guard, tower::service_fn(hello)).expect("declared").merge(auth.router());
    let (status, _, body) =
        token(&router, "grant_type=client_credentials&scope=mcp%3Atools&resource=https%3A%2F%2Fauth.example.com%2Fmcp")
            .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, answer) = call_mcp(&router, body["access_token"].as_str().expect("access token")).await;
    assert_eq!((status, answer.as_slice()), (StatusCode::OK, b"hello service".as_slice()));
    // Without a token: the guard's challenge, naming the resource's metadata.
    let request = Request::post("/mcp").body(Body::empty()).expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
    assert!(
        challenge.contains("resource_metadata=\"https://auth.example.com/.well-known/oauth-protected-resource/mcp\""),
        "{challenge}"
    );
    // Without the scope every request needs: 403.
    let (_, _, body) =
        token(&router, "grant_type=client_credentials&scope=mcp%3Aadmin&resource=https%3A%2F%2Fauth.example.com%2Fmcp")
            .await;
    let (status, _, _) = call_mcp(&router, body["access_token"].as_str().expect("access token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_provider_without_a_declared_resource_has_no_resource_guard_and_no_metadata() {
    let plain = Attesto::builder(Plain)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds");
    assert_eq!(plain.resource_url(), None);
    let error = plain.resource_guard().expect_err("no resource declared");
    assert!(matches!(error, ConfigError::NoDeclaredResource));
    let guard = plain.guard("https://auth.example.com/mcp").expect("valid resource");
    let refused = plain.protect(guard, tower::service_fn(hello)).expect_err("no resource declared");
    assert!(matches!(refused, ConfigError::NoDeclaredResource));
    assert_eq!(
        error.to_string(),
        "the provider declaration names no protected resource: add `resource = \"/…\"` to it, or use `Attesto::guard(url)`"
    );
    let router = plain.router();
    let request = Request::get("/.well-known/oauth-protected-resource").body(Body::empty()).expect("request");
    let (status, _, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
