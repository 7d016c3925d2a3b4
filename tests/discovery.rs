//! Discovery documents (RFC 8414, OpenID Connect Discovery 1.0) and the JWKS, through the real
//! router: whole-document snapshots, and a crawl proving every advertised URL is mounted.

mod common;

use attesto::{Attesto, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore};
use axum::body::Body;
use common::*;
use http::{Request, StatusCode, header};
use serde_json::json;

/// The MCP shape: endpoints under `/mcp/oauth`, the token endpoint moved to `/mcp/token`.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", token_path = "/mcp/token")]
struct McpHost;

/// A plain OAuth provider without OpenID Connect.
#[derive(Clone)]
struct PlainHost;
attesto::attesto_routes! { PlainHost, openid = false }

macro_rules! host_without_clients {
    ($($host:ty),*) => {$(
        impl ClientStore for $host {
            async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
                Ok(None)
            }
        }
        impl PrincipalStore for $host {
            async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
                Ok(LoginOutcome::LoginRequired)
            }
        }
    )*};
}
host_without_clients!(McpHost, PlainHost);

/// The ID token claims attesto sets, as advertised in `claims_supported`.
const CLAIMS: [&str; 10] = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash"];

async fn get_json(router: &axum::Router, path: &str) -> serde_json::Value {
    let (status, headers, body) = send_json(router, Request::get(path).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(headers[header::CACHE_CONTROL].to_str().expect("ascii").starts_with("public"), "GET {path}");
    body
}

async fn status_of(router: &axum::Router, path: &str) -> StatusCode {
    send(router, Request::get(path).body(Body::empty()).expect("request")).await.0
}

#[tokio::test]
async fn default_prefix_snapshot() {
    let router = test_provider().router();
    let oauth = json!({
        "issuer": "https://auth.example.com",
        "token_endpoint": "https://auth.example.com/oauth/token",
        "jwks_uri": "https://auth.example.com/oauth/jwks",
        "authorization_endpoint": "https://auth.example.com/oauth/authorize",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/oauth/par",
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]
    });
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    let mut openid = oauth;
    openid["userinfo_endpoint"] = json!("https://auth.example.com/oauth/userinfo");
    openid["subject_types_supported"] = json!(["public"]);
    openid["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    openid["claims_supported"] = json!(CLAIMS);
    openid["request_parameter_supported"] = json!(false);
    openid["request_uri_parameter_supported"] = json!(false);
    assert_eq!(get_json(&router, "/.well-known/openid-configuration").await, openid);
}

#[tokio::test]
async fn mcp_prefix_with_token_override_snapshot() {
    assert_eq!(McpHost::PATHS.token, "/mcp/token");
    assert_eq!(McpHost::PATHS.jwks, "/mcp/oauth/jwks");
    let router = provider(McpHost).router();
    let oauth = json!({
        "issuer": "https://auth.example.com",
        "token_endpoint": "https://auth.example.com/mcp/token",
        "jwks_uri": "https://auth.example.com/mcp/oauth/jwks",
        "authorization_endpoint": "https://auth.example.com/mcp/oauth/authorize",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/mcp/oauth/par",
        "revocation_endpoint": "https://auth.example.com/mcp/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": "https://auth.example.com/mcp/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]
    });
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    // The override is routed, the default path is not.
    assert_eq!(status_of(&router, "/mcp/token").await, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(status_of(&router, "/mcp/oauth/token").await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&router, "/oauth/token").await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&router, "/mcp/oauth/jwks").await, StatusCode::OK);
}

#[tokio::test]
async fn issuer_with_a_path_snapshot() {
    let auth = Attesto::builder(TestHost::new())
        .issuer("https://auth.example.com/tenant-a")
        .expect("issuer")
        .signing_key(Key::generate(attesto::Algorithm::EdDSA).expect("key"))
        .scopes_supported(["read", "write"])
        .service_documentation("https://docs.example.com/auth")
        .build()
        .expect("provider");
    let router = auth.router();
    let oauth = json!({
        "issuer": "https://auth.example.com/tenant-a",
        "token_endpoint": "https://auth.example.com/oauth/token",
        "jwks_uri": "https://auth.example.com/oauth/jwks",
        "scopes_supported": ["read", "write"],
        "authorization_endpoint": "https://auth.example.com/oauth/authorize",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/oauth/par",
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "service_documentation": "https://docs.example.com/auth"
    });
    // RFC 8414 §3.1: the inserted form, and the host-root form.
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server/tenant-a").await, oauth);
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    let mut openid = oauth;
    openid["userinfo_endpoint"] = json!("https://auth.example.com/oauth/userinfo");
    openid["subject_types_supported"] = json!(["public"]);
    openid["id_token_signing_alg_values_supported"] = json!(["EdDSA"]);
    openid["claims_supported"] = json!(CLAIMS);
    openid["request_parameter_supported"] = json!(false);
    openid["request_uri_parameter_supported"] = json!(false);
    // OpenID Connect Discovery §4 appends to the issuer; MCP clients also try the inserted form.
    for path in [
        "/tenant-a/.well-known/openid-configuration",
        "/.well-known/openid-configuration/tenant-a",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(get_json(&router, path).await, openid, "{path}");
    }
    assert_eq!(status_of(&router, "/.well-known/oauth-authorization-server/other").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_openid_there_is_no_openid_configuration() {
    assert_eq!(PlainHost::PATHS.userinfo, None);
    let router = provider(PlainHost).router();
    let oauth = get_json(&router, "/.well-known/oauth-authorization-server").await;
    assert!(oauth.get("subject_types_supported").is_none());
    assert_eq!(status_of(&router, "/.well-known/openid-configuration").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn jwks_serves_the_signing_and_verification_keys_without_private_members() {
    let signing = Key::generate(attesto::Algorithm::ES256).expect("key");
    let retired = Key::generate(attesto::Algorithm::RS256).expect("key");
    let auth = Attesto::builder(McpHost)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(signing.clone())
        .verification_key(retired.clone())
        .build()
        .expect("provider");
    let jwks = get_json(&auth.router(), "/mcp/oauth/jwks").await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], signing.kid());
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[1]["kid"], retired.kid());
    assert_eq!(keys[1]["alg"], "RS256");
    for key in keys {
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(key.get(private).is_none(), "private member {private} in {key}");
        }
    }
    let openid = get_json(&auth.router(), "/.well-known/openid-configuration").await;
    assert_eq!(openid["id_token_signing_alg_values_supported"], json!(["ES256", "RS256"]));
}

/// GETs `url` on a live server with a bare HTTP/1.1 request: status and body.
async fn fetch(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let parsed = url::Url::parse(url).expect("absolute URL");
    let authority = format!("{}:{}", parsed.host_str().expect("host"), parsed.port().expect("port"));
    let mut stream = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    let request = format!("GET {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n", parsed.path());
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status line");
    (status, body.to_owned())
}

/// The checklist's "verify discovery" step, automated: every URL the documents advertise is a
/// route the server answers (the token endpoint answers GET with 405, never 404).
#[tokio::test]
async fn every_advertised_url_is_mounted() {
    for prefix_host in [false, true] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://127.0.0.1:{}/tenant", listener.local_addr().expect("addr").port());
        fn router_for<P: attesto::Provider>(host: P, issuer: &str) -> axum::Router {
            let auth = Attesto::builder(host).issuer(issuer).expect("issuer");
            auth.signing_key(Key::generate_for_development().expect("key")).build().expect("provider").router()
        }
        let router = if prefix_host { router_for(McpHost, &issuer) } else { router_for(TestHost::new(), &issuer) };
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let origin = issuer.trim_end_matches("/tenant");
        let documents = [
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/oauth-authorization-server/tenant"),
            format!("{origin}/.well-known/openid-configuration"),
            format!("{origin}/.well-known/openid-configuration/tenant"),
            format!("{issuer}/.well-known/openid-configuration"),
        ];
        let mut advertised = Vec::new();
        for document in &documents {
            let (status, body) = fetch(document).await;
            assert_eq!(status, 200, "{document}");
            let body: serde_json::Value = serde_json::from_str(&body).expect("JSON document");
            for (name, value) in body.as_object().expect("object") {
                if name.ends_with("_endpoint") || name.ends_with("_uri") {
                    advertised.push(value.as_str().expect("URL string").to_owned());
                }
            }
        }
        assert!(advertised.len() >= 4, "{advertised:?}");
        for url in &advertised {
            let (status, _) = fetch(url).await;
            assert_ne!(status, 404, "{url} is advertised but not mounted");
            // A bare GET is a complete request for the documents and the JWKS; the authorization
            // endpoint answers it with its error page (400), userinfo with its challenge (401),
            // the token endpoint with 405 (POST only). Each is the endpoint's own answer.
            assert!(matches!(status, 200 | 400 | 401 | 405), "{url}: {status}");
        }
        server.abort();
    }
}

#[test]
fn issuers_are_validated() {
    for (issuer, ok) in [
        ("https://auth.example.com", true),
        ("https://auth.example.com/", true),
        ("http://127.0.0.1:8080", true),
        ("http://localhost:8080", true),
        ("http://auth.example.com", false),
        ("https://auth.example.com?x=1", false),
        ("https://auth.example.com#f", false),
        ("https://user:pw@auth.example.com", false),
        ("auth.example.com", false),
        ("ftp://auth.example.com", false),
    ] {
        assert_eq!(attesto::Issuer::parse(issuer).is_ok(), ok, "{issuer}");
    }
    assert_eq!(
        attesto::Issuer::parse("https://Auth.Example.com:443/t/").expect("valid").as_str(),
        "https://auth.example.com/t"
    );
}
