//! CORS (Fetch standard §3.2) through the real router: preflights of every endpoint a browser
//! client calls, CORS headers on actual responses (errors included), none on the authorization
//! endpoint, and the configured origin list of the API endpoints.

use crate::common::*;
use attesto::{Attesto, ConfigError, Key};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode, header};

const APP: &str = "https://app.example";
const EVIL: &str = "https://evil.example";

/// A host with registration under a custom prefix, whose issuer has a path (so that the RFC 8414
/// §3.1 and OIDC Discovery §4 issuer-path forms of the well-known routes exist too).
#[derive(Clone)]
#[attesto::provider(prefix = "/api/auth", registration)]
struct RegistrationHost;

host_without_clients!(RegistrationHost);
registration_keeps_nothing!(RegistrationHost);

fn registration_router() -> Router {
    Attesto::builder(RegistrationHost)
        .issuer("https://auth.example.com/tenant")
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds")
        .router()
}

/// The test host with the API endpoints restricted to two origins.
fn restricted_router() -> Router {
    Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .cors_allowed_origins([APP, "http://localhost:3000"])
        .expect("valid origins")
        .build()
        .expect("provider builds")
        .router()
}

/// A CORS-preflight request (Fetch §3.2.2) for `method` on `path` from `origin`.
async fn preflight(router: &Router, path: &str, origin: &str, method: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type, dpop")
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}

/// A request with an `Origin` header, as a browser's `fetch` sends it.
async fn fetch(router: &Router, request: http::request::Builder, origin: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(router, request.header(header::ORIGIN, origin).body(Body::empty()).expect("request")).await
}

/// The value of a header as a string, if present.
fn value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

/// Whether a `Vary` header of the response names `Origin`.
fn varies_on_origin(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("origin"))
}

/// No `Access-Control-*` header at all.
fn assert_no_cors(headers: &HeaderMap, what: &str) {
    let cors: Vec<_> = headers.keys().filter(|name| name.as_str().starts_with("access-control-")).collect();
    assert!(cors.is_empty(), "{what}: unexpected CORS headers {cors:?}");
}

/// A preflight answer granting `allow_origin` for `methods`.
fn assert_preflight_allowed(
    response: &(StatusCode, HeaderMap, Vec<u8>),
    allow_origin: &str,
    methods: &str,
    path: &str,
) {
    let (status, headers, body) = response;
    assert_eq!(*status, StatusCode::NO_CONTENT, "{path}");
    assert!(body.is_empty(), "{path}");
    assert_eq!(value(headers, "access-control-allow-origin"), Some(allow_origin), "{path}");
    assert_eq!(value(headers, "access-control-allow-methods"), Some(methods), "{path}");
    assert_eq!(value(headers, "access-control-allow-headers"), Some("Authorization, Content-Type, DPoP"), "{path}");
    assert_eq!(value(headers, "access-control-max-age"), Some("7200"), "{path}");
    assert_eq!(value(headers, "access-control-allow-credentials"), None, "{path}: never with credentials");
}

#[tokio::test]
async fn every_browser_endpoint_answers_its_preflight() {
    let router = test_provider().router();
    let paths = TestHost::PATHS;
    let cases = [
        (paths.token, "POST", "POST"),
        (paths.userinfo.expect("userinfo"), "GET", "GET, POST"),
        (paths.revocation.expect("revocation"), "POST", "POST"),
        (paths.introspection.expect("introspection"), "POST", "POST"),
        (paths.jwks, "GET", "GET"),
        ("/.well-known/oauth-authorization-server", "GET", "GET"),
        ("/.well-known/openid-configuration", "GET", "GET"),
    ];
    for (path, method, methods) in cases {
        let response = preflight(&router, path, APP, method).await;
        assert_preflight_allowed(&response, "*", methods, path);
        assert!(!varies_on_origin(&response.1), "{path}: `*` does not depend on the origin");
    }
}

#[tokio::test]
async fn registration_and_client_configuration_answer_their_preflights_under_a_custom_prefix() {
    let router = registration_router();
    let registration = RegistrationHost::PATHS.registration.expect("registration");
    assert_eq!(registration, "/api/auth/register");
    let response = preflight(&router, registration, APP, "POST").await;
    assert_preflight_allowed(&response, "*", "POST", registration);
    // RFC 7592 §2: the client configuration endpoint, `{registration}/{client_id}`.
    let configuration = format!("{registration}/some-client");
    for method in ["GET", "PUT", "DELETE"] {
        let response = preflight(&router, &configuration, APP, method).await;
        assert_preflight_allowed(&response, "*", "GET, PUT, DELETE", &configuration);
    }
    // Actual responses, here errors (malformed metadata, no registration access token), too.
    let request = Request::post(registration)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, APP)
        .body(Body::from("{not json"))
        .expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
    let (status, headers, _) = fetch(&router, Request::get(&configuration), APP).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/tenant",
        "/.well-known/openid-configuration/tenant",
        "/tenant/.well-known/openid-configuration",
        "/api/auth/jwks",
        "/api/auth/token",
    ] {
        let response = preflight(&router, path, APP, "GET").await;
        assert_eq!(response.0, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(value(&response.1, "access-control-allow-origin"), Some("*"), "{path}");
    }
}

#[tokio::test]
async fn a_token_response_carries_cors_headers() {
    let router = test_provider().router();
    let request = Request::post(TestHost::PATHS.token)
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, APP)
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    let (status, headers, body) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
    assert_eq!(value(&headers, "access-control-allow-credentials"), None);
    assert!(!varies_on_origin(&headers));
}

#[tokio::test]
async fn error_responses_carry_cors_headers_so_that_browser_clients_can_read_them() {
    let router = test_provider().router();
    // 401 invalid_client, with its challenge (RFC 6749 §5.2), which must be exposed.
    let request = Request::post(TestHost::PATHS.token)
        .header(header::AUTHORIZATION, basic("service", "wrong secret"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, APP)
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
    // 400 unsupported_grant_type.
    let request = Request::post(TestHost::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, APP)
        .body(Body::from("grant_type=password&client_id=spa"))
        .expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    // 401 at userinfo without a token (RFC 6750 §3).
    let userinfo = TestHost::PATHS.userinfo.expect("userinfo");
    let (status, headers, _) = fetch(&router, Request::get(userinfo), APP).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
}

#[tokio::test]
async fn public_documents_are_readable_from_any_origin() {
    let router = test_provider().router();
    for path in [TestHost::PATHS.jwks, "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let (status, headers, _) = fetch(&router, Request::get(path), EVIL).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"), "{path}");
        assert_eq!(value(&headers, "access-control-allow-credentials"), None, "{path}");
    }
}

#[tokio::test]
async fn the_authorization_endpoint_answers_no_preflight() {
    let router = test_provider().router();
    let authorize = TestHost::PATHS.authorize;
    for method in ["GET", "POST"] {
        let (status, headers, _) = preflight(&router, authorize, APP, method).await;
        assert_ne!(status, StatusCode::NO_CONTENT);
        assert!(!status.is_success(), "{status}");
        assert_no_cors(&headers, "preflight at the authorization endpoint");
    }
    // Nor does an actual request get any: it is a top-level navigation.
    let (_, headers, _) = fetch(&router, Request::get(authorize), APP).await;
    assert_no_cors(&headers, "the authorization endpoint");
    // PAR is called by the client's server, not by a browser script.
    let par = TestHost::PATHS.par.expect("par");
    let (_, headers, _) = preflight(&router, par, APP, "POST").await;
    assert_no_cors(&headers, "preflight at PAR");
}

#[tokio::test]
async fn an_options_request_that_is_not_a_preflight_is_left_to_the_router() {
    let router = test_provider().router();
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(TestHost::PATHS.token)
        .header(header::ORIGIN, APP)
        .body(Body::empty())
        .expect("request");
    let (status, _, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn host_routes_merged_beside_the_provider_are_not_touched() {
    let app = Router::new().route("/app", axum::routing::post(|| async { "ok" })).merge(test_provider().router());
    let (_, headers, _) = preflight(&app, "/app", APP, "POST").await;
    assert_no_cors(&headers, "a host route");
    let (status, headers, _) = preflight(&app, TestHost::PATHS.token, APP, "POST").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn a_listed_origin_is_echoed_with_vary_origin() {
    let router = restricted_router();
    let response = preflight(&router, TestHost::PATHS.token, APP, "POST").await;
    assert_preflight_allowed(&response, APP, "POST", TestHost::PATHS.token);
    assert!(varies_on_origin(&response.1));
    let response = preflight(&router, "/oauth/userinfo", "http://localhost:3000", "GET").await;
    assert_preflight_allowed(&response, "http://localhost:3000", "GET, POST", "/oauth/userinfo");

    let request = Request::post(TestHost::PATHS.token)
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, APP)
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value(&headers, "access-control-allow-origin"), Some(APP));
    assert_eq!(value(&headers, "access-control-expose-headers"), Some("WWW-Authenticate, DPoP-Nonce"));
    assert_eq!(value(&headers, "access-control-allow-credentials"), None);
    assert!(varies_on_origin(&headers));
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_allowance() {
    let router = restricted_router();
    let (status, headers, _) = preflight(&router, TestHost::PATHS.token, EVIL, "POST").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_no_cors(&headers, "preflight from an unlisted origin");
    assert!(varies_on_origin(&headers), "the answer depends on the origin");
    // Matching is exact: not a prefix, not another port or scheme.
    for origin in ["https://app.example.evil.example", "http://app.example", "https://app.example:8443"] {
        let (_, headers, _) = preflight(&router, TestHost::PATHS.token, origin, "POST").await;
        assert_no_cors(&headers, origin);
    }

    let request = Request::post(TestHost::PATHS.token)
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, EVIL)
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    let (status, headers, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "CORS is enforced by the browser, not by refusing the request");
    assert_no_cors(&headers, "a token response to an unlisted origin");
    assert!(varies_on_origin(&headers));
}

#[tokio::test]
async fn public_documents_stay_open_to_any_origin_with_a_list_configured() {
    let router = restricted_router();
    for path in [TestHost::PATHS.jwks, "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let response = preflight(&router, path, EVIL, "GET").await;
        assert_preflight_allowed(&response, "*", "GET", path);
        let (status, headers, _) = fetch(&router, Request::get(path), EVIL).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"), "{path}");
        assert!(!varies_on_origin(&headers), "{path}");
    }
}

#[tokio::test]
async fn an_empty_list_turns_cors_off_for_the_api_endpoints() {
    let router = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .cors_allowed_origins(std::iter::empty::<&str>())
        .expect("an empty list is valid")
        .build()
        .expect("provider builds")
        .router();
    let (_, headers, _) = preflight(&router, TestHost::PATHS.token, APP, "POST").await;
    assert_no_cors(&headers, "token with an empty list");
    let (_, headers, _) = preflight(&router, TestHost::PATHS.jwks, APP, "GET").await;
    assert_eq!(value(&headers, "access-control-allow-origin"), Some("*"));
}

#[test]
fn invalid_origins_are_configuration_errors() {
    for origin in [
        "https://app.example/path",
        "app.example",
        "https://app.example?x=1",
        "https://app.example#top",
        "https://user:pass@app.example",
        "https://*.example",
        "*",
        "null",
        "",
    ] {
        let result = Attesto::builder(TestHost::new()).cors_allowed_origins([APP, origin]);
        match result {
            Err(ConfigError::CorsOrigin { origin: given, reason }) => {
                assert_eq!(given, origin);
                assert!(!reason.is_empty());
            }
            Err(other) => panic!("{origin}: wrong error {other}"),
            Ok(_) => panic!("{origin} must be refused"),
        }
    }
    // Equivalent spellings of an origin are accepted, normalised as browsers send them.
    assert!(Attesto::builder(TestHost::new()).cors_allowed_origins(["HTTPS://App.Example:443/"]).is_ok());
}
