//! Discovery documents (RFC 8414, OpenID Connect Discovery 1.0) and the JWKS, through the real
//! router: whole-document snapshots, and `attesto::testing::check_discovery` proving every
//! advertised URL is mounted — and catching the host apps that break it.

use crate::common::*;
use attesto::testing::{DiscoveryProblem, DiscoveryProblems, check_discovery};
use attesto::{Attesto, Key};
use axum::Router;
use axum::body::Body;
use axum::middleware::{self, Next};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use http::{Method, Request, StatusCode, header};
use serde_json::json;

/// The MCP shape: endpoints under `/mcp/oauth`, the token endpoint moved to `/mcp/token`.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", token_path = "/mcp/token")]
struct McpHost;

/// A plain OAuth provider without OpenID Connect.
#[derive(Clone)]
struct PlainHost;
attesto::attesto_routes! { PlainHost, openid = false }

/// The device authorization grant on, its verification page moved.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", device_authorization, device_verification_path = "/activate")]
struct DeviceHost;

host_without_clients!(McpHost, PlainHost, DeviceHost);

/// The ID token claims attesto sets, as advertised in `claims_supported`.
const CLAIMS: [&str; 10] = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash"];

async fn get_json(router: &Router, path: &str) -> serde_json::Value {
    let (status, headers, body) = send_json(router, Request::get(path).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "GET {path}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(headers[header::CACHE_CONTROL].to_str().expect("ascii").starts_with("public"), "GET {path}");
    body
}

async fn status_of(router: &Router, path: &str) -> StatusCode {
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
        "response_modes_supported": ["query", "form_post", "jwt", "query.jwt", "form_post.jwt"],
        "authorization_signing_alg_values_supported": ["ES256"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/oauth/par",
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_signing_alg_values_supported": ["ES256"]
    });
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    let mut openid = oauth;
    openid["userinfo_endpoint"] = json!("https://auth.example.com/oauth/userinfo");
    openid["subject_types_supported"] = json!(["public"]);
    openid["id_token_signing_alg_values_supported"] = json!(["ES256"]);
    openid["userinfo_signing_alg_values_supported"] = json!(["ES256"]);
    openid["claims_supported"] = json!(CLAIMS);
    openid["claims_parameter_supported"] = json!(true);
    openid["request_uri_parameter_supported"] = json!(false);
    assert_eq!(get_json(&router, "/.well-known/openid-configuration").await, openid);
}

/// With `device_authorization`, RFC 8628 §4: the endpoint and the grant type, and nothing else
/// changes; the verification page is a page for people, not advertised, but mounted.
#[tokio::test]
async fn device_authorization_snapshot() {
    let router = provider(DeviceHost).router();
    let oauth = json!({
        "issuer": "https://auth.example.com",
        "token_endpoint": "https://auth.example.com/mcp/oauth/token",
        "jwks_uri": "https://auth.example.com/mcp/oauth/jwks",
        "authorization_endpoint": "https://auth.example.com/mcp/oauth/authorize",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post", "jwt", "query.jwt", "form_post.jwt"],
        "authorization_signing_alg_values_supported": ["ES256"],
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:device_code"
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "device_authorization_endpoint": "https://auth.example.com/mcp/oauth/device_authorization",
        "pushed_authorization_request_endpoint": "https://auth.example.com/mcp/oauth/par",
        "revocation_endpoint": "https://auth.example.com/mcp/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_endpoint": "https://auth.example.com/mcp/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_signing_alg_values_supported": ["ES256"]
    });
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    assert_eq!(status_of(&router, "/activate").await, StatusCode::OK);
    assert_eq!(status_of(&router, "/mcp/oauth/device").await, StatusCode::NOT_FOUND);
    check_discovery(&router, "https://auth.example.com").await.expect("every advertised URL is mounted");
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
        "response_modes_supported": ["query", "form_post", "jwt", "query.jwt", "form_post.jwt"],
        "authorization_signing_alg_values_supported": ["ES256"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/mcp/oauth/par",
        "revocation_endpoint": "https://auth.example.com/mcp/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_endpoint": "https://auth.example.com/mcp/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_signing_alg_values_supported": ["ES256"]
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
        "response_modes_supported": ["query", "form_post", "jwt", "query.jwt", "form_post.jwt"],
        "authorization_signing_alg_values_supported": ["EdDSA"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
        "pushed_authorization_request_endpoint": "https://auth.example.com/oauth/par",
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "PS256", "RS256"],
        "introspection_signing_alg_values_supported": ["EdDSA"],
        "service_documentation": "https://docs.example.com/auth"
    });
    // RFC 8414 §3.1: the inserted form, and the host-root form.
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server/tenant-a").await, oauth);
    assert_eq!(get_json(&router, "/.well-known/oauth-authorization-server").await, oauth);
    let mut openid = oauth;
    openid["userinfo_endpoint"] = json!("https://auth.example.com/oauth/userinfo");
    openid["subject_types_supported"] = json!(["public"]);
    openid["id_token_signing_alg_values_supported"] = json!(["EdDSA"]);
    openid["userinfo_signing_alg_values_supported"] = json!(["EdDSA"]);
    openid["claims_supported"] = json!(CLAIMS);
    openid["claims_parameter_supported"] = json!(true);
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

// ---------------------------------------------------------------------------------------------
// attesto::testing::check_discovery: the checklist's "verify discovery" step, as hosts run it
// ---------------------------------------------------------------------------------------------

/// Everything on: endpoints under `/mcp/oauth`, registration, and the MCP endpoint `/mcp` as the
/// declared protected resource.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", registration, resource = "/mcp")]
struct ResourceHost;
host_without_clients!(ResourceHost);
// Registration through the real endpoint is not what these tests are about: nothing is kept.
registration_keeps_nothing!(ResourceHost);

fn provider_at<P: attesto::Provider>(host: P, issuer: &str) -> Attesto<P> {
    let builder = Attesto::builder(host).issuer(issuer).expect("valid issuer");
    builder.signing_key(Key::generate(attesto::Algorithm::ES256).expect("key")).build().expect("provider builds")
}

/// The MCP host's app as its `main` builds it: `/mcp` behind the resource guard, and the provider.
fn resource_app(auth: &Attesto<ResourceHost>) -> Router {
    let guard = auth.resource_guard().expect("the declaration names a resource");
    let mcp = post(|| async { "tools" }).layer(guard);
    Router::new().route(ResourceHost::PATHS.resource.expect("declared"), mcp).merge(auth.router())
}

/// The problems of a check that must fail.
async fn problems(app: &Router, issuer: &str) -> DiscoveryProblems {
    match check_discovery(app, issuer).await {
        Ok(report) => panic!("the check passed: {report:?}"),
        Err(problems) => problems,
    }
}

fn not_mounted(member: &str, url: &str, method: Method) -> DiscoveryProblem {
    DiscoveryProblem::NotMounted { member: member.to_owned(), url: url.to_owned(), method }
}

fn not_served(path: &str) -> DiscoveryProblem {
    DiscoveryProblem::DocumentNotServed { path: path.to_owned(), status: StatusCode::NOT_FOUND }
}

/// Every declaration shape, at an issuer with and without a path: the documents are read at every
/// form, and every advertised URL answers as its endpoint does, with each method it must accept.
#[tokio::test]
async fn every_advertised_url_is_mounted() {
    let auth = provider_at(ResourceHost, ISSUER);
    let report = check_discovery(&resource_app(&auth), ISSUER).await.unwrap_or_else(|problems| panic!("{problems}"));
    let endpoints: Vec<(&str, &str, Vec<Method>)> =
        report.endpoints.iter().map(|e| (e.member.as_str(), e.url.as_str(), e.methods.clone())).collect();
    let (get, post, both) = (vec![Method::GET], vec![Method::POST], vec![Method::GET, Method::POST]);
    assert_eq!(
        endpoints,
        [
            ("authorization_endpoint", "https://auth.example.com/mcp/oauth/authorize", both.clone()),
            ("introspection_endpoint", "https://auth.example.com/mcp/oauth/introspect", post.clone()),
            ("jwks_uri", "https://auth.example.com/mcp/oauth/jwks", get.clone()),
            ("pushed_authorization_request_endpoint", "https://auth.example.com/mcp/oauth/par", post.clone()),
            ("registration_endpoint", "https://auth.example.com/mcp/oauth/register", post.clone()),
            ("resource", "https://auth.example.com/mcp", get),
            ("revocation_endpoint", "https://auth.example.com/mcp/oauth/revoke", post.clone()),
            ("token_endpoint", "https://auth.example.com/mcp/oauth/token", post),
            ("userinfo_endpoint", "https://auth.example.com/mcp/oauth/userinfo", both),
        ]
    );
    assert_eq!(
        report.documents,
        [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ]
    );
    assert!(report.openid_configuration);
    assert_eq!(report.protected_resource.as_deref(), Some("https://auth.example.com/mcp"));

    // An issuer with a path: RFC 8414 §3.1 and the three OpenID forms.
    let issuer = "https://auth.example.com/tenant-a";
    let report = check_discovery(&provider_at(TestHost::new(), issuer).router(), issuer)
        .await
        .unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(
        report.documents,
        [
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/tenant-a",
            "/.well-known/openid-configuration",
            "/tenant-a/.well-known/openid-configuration",
            "/.well-known/openid-configuration/tenant-a",
        ]
    );
    assert_eq!(report.issuer, issuer);
    assert_eq!(report.endpoint("token_endpoint"), Some("https://auth.example.com/oauth/token"));
    assert_eq!(report.protected_resource, None);

    // The token endpoint moved by an override; no OpenID at all.
    let report = check_discovery(&provider(McpHost).router(), ISSUER).await.unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(report.endpoint("token_endpoint"), Some("https://auth.example.com/mcp/token"));
    let report = check_discovery(&provider(PlainHost).router(), ISSUER).await.unwrap_or_else(|p| panic!("{p}"));
    assert!(!report.openid_configuration);
    assert_eq!(report.documents, ["/.well-known/oauth-authorization-server"]);
    assert_eq!(report.endpoint("userinfo_endpoint"), None);
}

/// A reverse proxy's allow-list, written for the previous provider and mirrored in the router as
/// a layer: the paths it does not know answer 404. The check names exactly those.
#[tokio::test]
async fn a_proxy_allow_list_mirrored_in_the_router_is_caught() {
    async fn allow_list(request: axum::extract::Request, next: Next) -> axum::response::Response {
        const ALLOWED: [&str; 4] = [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
            "/oauth/authorize",
            "/oauth/token",
        ];
        if ALLOWED.contains(&request.uri().path()) {
            next.run(request).await
        } else {
            StatusCode::NOT_FOUND.into_response()
        }
    }
    let app = test_provider().router().layer(middleware::from_fn(allow_list));
    let problems = problems(&app, ISSUER).await;
    assert_eq!(
        problems.problems(),
        [
            not_mounted("introspection_endpoint", "https://auth.example.com/oauth/introspect", Method::POST),
            not_mounted("jwks_uri", "https://auth.example.com/oauth/jwks", Method::GET),
            not_mounted("pushed_authorization_request_endpoint", "https://auth.example.com/oauth/par", Method::POST),
            not_mounted("revocation_endpoint", "https://auth.example.com/oauth/revoke", Method::POST),
            not_mounted("userinfo_endpoint", "https://auth.example.com/oauth/userinfo", Method::GET),
        ]
    );
    assert_eq!(
        problems.to_string(),
        "discovery of https://auth.example.com has 5 problems:\n  \
         - `introspection_endpoint` https://auth.example.com/oauth/introspect is advertised but not mounted: POST answered 404\n  \
         - `jwks_uri` https://auth.example.com/oauth/jwks is advertised but not mounted: GET answered 404\n  \
         - `pushed_authorization_request_endpoint` https://auth.example.com/oauth/par is advertised but not mounted: POST answered 404\n  \
         - `revocation_endpoint` https://auth.example.com/oauth/revoke is advertised but not mounted: POST answered 404\n  \
         - `userinfo_endpoint` https://auth.example.com/oauth/userinfo is advertised but not mounted: GET answered 404"
    );
}

/// A proxy's method rule mirrored in the router (`POST` only to the token endpoint, the one the
/// previous provider had): every endpoint that must accept `POST` is named, with the method.
#[tokio::test]
async fn a_method_rule_that_refuses_what_an_endpoint_must_accept_is_caught() {
    async fn post_only_to_token(request: axum::extract::Request, next: Next) -> axum::response::Response {
        if request.method() == Method::POST && request.uri().path() != "/oauth/token" {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        } else {
            next.run(request).await
        }
    }
    let app = test_provider().router().layer(middleware::from_fn(post_only_to_token));
    let refused = |member: &str, url: &str| DiscoveryProblem::MethodNotAllowed {
        member: member.to_owned(),
        url: url.to_owned(),
        method: Method::POST,
    };
    assert_eq!(
        problems(&app, ISSUER).await.problems(),
        [
            refused("authorization_endpoint", "https://auth.example.com/oauth/authorize"),
            refused("introspection_endpoint", "https://auth.example.com/oauth/introspect"),
            refused("pushed_authorization_request_endpoint", "https://auth.example.com/oauth/par"),
            refused("revocation_endpoint", "https://auth.example.com/oauth/revoke"),
            refused("userinfo_endpoint", "https://auth.example.com/oauth/userinfo"),
        ]
    );
}

/// The provider nested under the issuer's path, as if `/tenant` were a prefix the declaration
/// knew: the documents are not at the host root, and the one form that is served advertises URLs
/// the app does not serve.
#[tokio::test]
async fn nesting_under_a_prefix_the_declaration_does_not_know_is_caught() {
    let issuer = "https://auth.example.com/tenant";
    let app = Router::new().nest("/tenant", provider_at(TestHost::new(), issuer).router());
    let url = |path: &str| format!("https://auth.example.com/oauth/{path}");
    assert_eq!(
        problems(&app, issuer).await.problems(),
        [
            not_served("/.well-known/oauth-authorization-server"),
            not_served("/.well-known/oauth-authorization-server/tenant"),
            // `/tenant/.well-known/openid-configuration` is served: the nested root form.
            not_served("/.well-known/openid-configuration"),
            not_served("/.well-known/openid-configuration/tenant"),
            not_mounted("authorization_endpoint", &url("authorize"), Method::GET),
            not_mounted("introspection_endpoint", &url("introspect"), Method::POST),
            not_mounted("jwks_uri", &url("jwks"), Method::GET),
            not_mounted("pushed_authorization_request_endpoint", &url("par"), Method::POST),
            not_mounted("revocation_endpoint", &url("revoke"), Method::POST),
            not_mounted("token_endpoint", &url("token"), Method::POST),
            not_mounted("userinfo_endpoint", &url("userinfo"), Method::GET),
        ]
    );
}

/// The host's app without `.merge(auth.router())`.
#[tokio::test]
async fn a_forgotten_merge_is_caught() {
    let app = Router::new().route("/", get(|| async { "home" }));
    let problems = problems(&app, ISSUER).await;
    assert_eq!(problems.problems(), [not_served("/.well-known/oauth-authorization-server")]);
    assert_eq!(
        problems.to_string(),
        "discovery of https://auth.example.com has 1 problem:\n  \
         - /.well-known/oauth-authorization-server is not served: GET answered 404 Not Found"
    );
}

/// The MCP endpoint the resource metadata advertises, not mounted: the host merged the provider
/// but forgot its own route.
#[tokio::test]
async fn a_protected_resource_that_is_not_mounted_is_caught() {
    let app = provider_at(ResourceHost, ISSUER).router();
    assert_eq!(
        problems(&app, ISSUER).await.problems(),
        [not_mounted("resource", "https://auth.example.com/mcp", Method::GET)]
    );
}

/// A single-page app's fallback answers every path the router does not know with `200` and its
/// HTML: where a refusal or a document was due, the check says what answered instead.
#[tokio::test]
async fn a_fallback_that_answers_everything_is_caught() {
    let page = || async { axum::response::Html("<!doctype html><title>app</title>") };
    // Without OpenID, the OpenID configuration's path falls through to the page.
    let app = provider(PlainHost).router().fallback(page);
    let html = |path: &str| DiscoveryProblem::InvalidDocument {
        path: path.to_owned(),
        reason: "served as `text/html; charset=utf-8`, not `application/json`".to_owned(),
    };
    assert_eq!(
        problems(&app, ISSUER).await.problems(),
        [html("/.well-known/openid-configuration"), html("/.well-known/oauth-protected-resource")]
    );

    // The allow-list of the previous provider again, but answering with the page, not 404.
    async fn allow_list(request: axum::extract::Request, next: Next) -> axum::response::Response {
        match request.uri().path() {
            "/oauth/authorize" | "/oauth/userinfo" | "/oauth/introspect" => {
                axum::response::Html("<!doctype html><title>app</title>").into_response()
            }
            _ => next.run(request).await,
        }
    }
    let app = test_provider().router().layer(middleware::from_fn(allow_list));
    let unexpected =
        |member: &str, path: &str, method: Method, expected: &'static str| DiscoveryProblem::UnexpectedAnswer {
            member: member.to_owned(),
            url: format!("https://auth.example.com/oauth/{path}"),
            method,
            status: StatusCode::OK,
            expected,
        };
    let page = "a 4xx error page (RFC 6749 §4.1.2.1)";
    let challenge = "401 with a `WWW-Authenticate` challenge (RFC 6750 §3)";
    assert_eq!(
        problems(&app, ISSUER).await.problems(),
        [
            unexpected("authorization_endpoint", "authorize", Method::GET, page),
            unexpected("authorization_endpoint", "authorize", Method::POST, page),
            unexpected("introspection_endpoint", "introspect", Method::POST, "a 4xx JSON error (RFC 6749 §5.2)"),
            unexpected("userinfo_endpoint", "userinfo", Method::GET, challenge),
            unexpected("userinfo_endpoint", "userinfo", Method::POST, challenge),
        ]
    );
}

/// The provider built with one issuer, the clients told another (a reverse proxy on another host
/// name): every document names the wrong issuer, every URL is on the wrong origin.
#[tokio::test]
async fn a_provider_built_for_another_issuer_is_caught() {
    let app = test_provider().router();
    let problems = problems(&app, "https://login.example.com").await;
    let mismatch = |path: &str| DiscoveryProblem::IssuerMismatch {
        path: path.to_owned(),
        advertised: "\"https://auth.example.com\"".to_owned(),
    };
    let other_origin = |member: &str, path: &str| DiscoveryProblem::OtherOrigin {
        member: member.to_owned(),
        url: format!("https://auth.example.com/oauth/{path}"),
    };
    assert_eq!(
        problems.problems(),
        [
            mismatch("/.well-known/oauth-authorization-server"),
            mismatch("/.well-known/openid-configuration"),
            other_origin("authorization_endpoint", "authorize"),
            other_origin("introspection_endpoint", "introspect"),
            other_origin("jwks_uri", "jwks"),
            other_origin("pushed_authorization_request_endpoint", "par"),
            other_origin("revocation_endpoint", "revoke"),
            other_origin("token_endpoint", "token"),
            other_origin("userinfo_endpoint", "userinfo"),
        ]
    );
    assert_eq!(problems.issuer(), "https://login.example.com");
}

#[tokio::test]
async fn an_invalid_issuer_is_reported_and_nothing_is_requested() {
    let app = test_provider().router();
    let problems = problems(&app, "http://auth.example.com").await;
    assert_eq!(
        problems.problems(),
        [DiscoveryProblem::InvalidIssuer {
            reason:
                "invalid issuer `http://auth.example.com`: must use https (http is accepted only on a loopback host)"
                    .to_owned()
        }]
    );
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

/// OpenID Discovery §3 `acr_values_supported`: the host's classes, in the OpenID document only
/// (RFC 8414 defines no such member); a value `acr_values` could not name is refused at build.
#[tokio::test]
async fn acr_values_supported_is_advertised_as_given() {
    let builder = || {
        Attesto::builder(TestHost::new())
            .issuer(ISSUER)
            .expect("issuer")
            .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
    };
    let router = builder().acr_values_supported(["silver", "gold"]).build().expect("provider").router();
    let openid = get_json(&router, "/.well-known/openid-configuration").await;
    assert_eq!(openid["acr_values_supported"], json!(["silver", "gold"]));
    let oauth = get_json(&router, "/.well-known/oauth-authorization-server").await;
    assert!(oauth.get("acr_values_supported").is_none(), "{oauth}");
    for bad in ["", "gold plated"] {
        match builder().acr_values_supported([bad]).build() {
            Err(error) => assert_eq!(
                error.to_string(),
                format!("invalid `acr_values_supported` value `{bad}`: it must be non-empty and without whitespace")
            ),
            Ok(_) => panic!("`{bad}` must be refused"),
        }
    }
}
