//! The authorization endpoint through the real router: every rule of RFC 6749 §3.1 / §4.1, OAuth
//! 2.1, RFC 9700, RFC 9207, RFC 8252 §7.3 and OIDC Core §3.1.2 that the endpoint enforces, each
//! tried against a request that breaks it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::common::*;
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};

const AUTHORIZE: &str = TestHost::PATHS.authorize;
const TOKEN: &str = "/oauth/token";
/// The absolute URL the host's login page sends the browser back to.
const RESUME_PREFIX: &str = "https://auth.example.com/oauth/authorize?attesto_resume=";
/// A well-formed S256 challenge (the base64url SHA-256 of the RFC 7636 appendix B verifier).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

type Reply = (StatusCode, HeaderMap, Vec<u8>);

/// A complete, valid authorization request of `client_id` to `redirect_uri` with `state=xyz`;
/// `extra` adds parameters after these.
fn request<'a>(client_id: &'a str, redirect_uri: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    params
}

/// `params` without the parameters named in `drop`.
fn without<'a>(params: Vec<(&'a str, &'a str)>, drop: &[&str]) -> Vec<(&'a str, &'a str)> {
    params.into_iter().filter(|(name, _)| !drop.contains(name)).collect()
}

/// `params` with the value of `name` replaced.
fn with<'a>(params: Vec<(&'a str, &'a str)>, name: &str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    params.into_iter().map(|(n, v)| (n, if n == name { value } else { v })).collect()
}

/// A browser GET of the authorization endpoint with `params` and an optional `Cookie`.
async fn get(router: &Router, params: &[(&str, &str)], cookie: Option<&str>) -> Reply {
    browser_get(router, &authorize_url(AUTHORIZE, params), cookie).await
}

/// A browser GET as `alice`, signed in just now.
async fn get_as_alice(router: &Router, params: &[(&str, &str)]) -> Reply {
    get(router, params, Some(&session_cookie("alice"))).await
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// Asserts the error page shown to the user instead of a redirect: status, HTML, no `Location`,
/// and the error code printed on the page.
fn assert_page(reply: &Reply, status: StatusCode, error: &str) {
    let (actual, headers, body) = reply;
    let body = text(body);
    assert_eq!(*actual, status, "body: {body}");
    assert!(headers.get(header::LOCATION).is_none(), "must not redirect: {headers:?}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(body.contains(&format!("<code>{error}</code>")), "expected `{error}` on the page: {body}");
}

/// Asserts a 303 to `base` and returns the query parameters, checking `iss` (RFC 9207) and
/// `state` (`None`: absent).
fn assert_redirect(reply: &Reply, base: &str, state: Option<&str>) -> HashMap<String, String> {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SEE_OTHER, "body: {}", text(body));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (actual_base, params) = redirect_params(headers);
    assert_eq!(actual_base, base, "params: {params:?}");
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER), "RFC 9207 iss: {params:?}");
    assert_eq!(params.get("state").map(String::as_str), state, "state: {params:?}");
    params
}

/// Asserts an error redirected to the client (RFC 6749 §4.1.2.1) and returns its parameters.
fn assert_redirect_error(reply: &Reply, base: &str, error: &str, state: Option<&str>) -> HashMap<String, String> {
    let params = assert_redirect(reply, base, state);
    assert_eq!(params.get("error").map(String::as_str), Some(error), "params: {params:?}");
    assert!(params.get("error_description").is_some_and(|d| !d.is_empty()), "params: {params:?}");
    assert!(!params.contains_key("code"), "params: {params:?}");
    params
}

/// Asserts a successful code redirect to `base` with `state=xyz` and returns the code.
fn assert_code(reply: &Reply, base: &str) -> String {
    let params = assert_redirect(reply, base, Some("xyz"));
    assert!(!params.contains_key("error"), "params: {params:?}");
    let code = params.get("code").cloned().unwrap_or_else(|| panic!("a code in {params:?}"));
    // 256 bits, base64url.
    assert_eq!(code.len(), 43, "code: {code}");
    code
}

fn has_event(host: &TestHost, event: &str) -> bool {
    host.events().iter().any(|e| e == event)
}

/// A provider whose host's events the test can read.
fn router_with_host() -> (Router, TestHost) {
    let host = TestHost::new();
    (provider(host.clone()).router(), host)
}

// ---------------------------------------------------------------------------------------------
// The client and its redirect URI: failures are shown, never redirected (RFC 6749 §4.1.2.1).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_client_gets_an_html_page_and_no_redirect() {
    let router = test_provider().router();
    let reply = get_as_alice(&router, &request("no-such-client", "https://evil.example/cb", &[])).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn an_unknown_client_gets_json_when_it_asks_for_json() {
    let router = test_provider().router();
    let uri = authorize_url(AUTHORIZE, &request("no-such-client", "https://evil.example/cb", &[]));
    let request = Request::get(uri).header(header::ACCEPT, "application/json").body(Body::empty()).expect("request");
    let response = send_json(&router, request).await;
    assert!(response.1.get(header::LOCATION).is_none());
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn an_unknown_client_in_a_post_form_gets_a_page_or_json() {
    let router = test_provider().router();
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request("no-such-client", "https://evil.example/cb", &[]))
        .finish();
    let reply = browser_post(&router, AUTHORIZE, Some(&session_cookie("alice")), &form).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_client");

    let request = Request::post(AUTHORIZE)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("request");
    let response = send_json(&router, request).await;
    assert!(response.1.get(header::LOCATION).is_none());
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn a_missing_client_id_gets_a_page() {
    let router = test_provider().router();
    let params = without(request("first-party", WEB_REDIRECT, &[]), &["client_id"]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_never_redirected_to() {
    let router = test_provider().router();
    let cases = [
        "https://client.example.com/cb2",             // another path
        "https://client.example.com/cb/",             // trailing slash
        "https://client.example.com/CB",              // case of the path
        "http://client.example.com/cb",               // http instead of https
        "https://client.example.com/cb?x=1",          // an extra query
        "https://client.example.com/cb?",             // an empty query
        "https://client.example.com/cb#frag",         // a fragment
        "https://client.example.com/cb#",             // an empty fragment
        "https://client.example.com:443/cb",          // the default port spelled out
        "https://CLIENT.example.com/cb",              // case of the host
        "https://evil.example/cb",                    // another host
        "https://client.example.com.evil.example/cb", // a suffix of the host
        "https://client.example.com@evil.example/cb", // userinfo trick
        "https://client.example.com/other",           // registered without its query
        "https://client.example.com/other?x=2",       // registered with another query value
        "https://client.example.com/other?x=1&y=2",   // registered plus a parameter
        "https://client.example.com/cb/../cb",        // dot segments
        "https://client.example.com/%63b",            // percent-encoded path
        " https://client.example.com/cb",             // leading space
    ];
    for (client, redirect_uri) in cases.iter().flat_map(|uri| [("web", *uri), ("first-party", *uri)]) {
        let reply = get_as_alice(&router, &request(client, redirect_uri, &[])).await;
        assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{client} {redirect_uri}: {}", text(&reply.2));
        assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn an_unregistered_redirect_uri_is_checked_before_anything_else_is_reported() {
    let router = test_provider().router();
    // Every later parameter is wrong too; the redirect URI decides that nothing is redirected.
    let params = [
        ("client_id", "first-party"),
        ("redirect_uri", "https://evil.example/cb"),
        ("response_type", "token"),
        ("scope", "admin"),
        ("state", "s"),
        ("state", "t"),
        ("prompt", "none"),
    ];
    assert_page(&get(&router, &params, None).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_missing_redirect_uri_uses_the_only_registered_one() {
    let router = test_provider().router();
    // OAuth 2.1 §4.1.1: optional for a client with one registered redirect URI, outside OpenID
    // Connect.
    let params = with(without(request("first-party", WEB_REDIRECT, &[]), &["redirect_uri", "scope"]), "scope", "read");
    assert_code(&get_as_alice(&router, &params).await, WEB_REDIRECT);
}

#[tokio::test]
async fn an_openid_request_without_redirect_uri_is_refused() {
    // OIDC Core §3.1.2.1: `redirect_uri` is REQUIRED in an OpenID Connect request, even for a
    // client with a single registered one.
    let router = test_provider().router();
    let params = without(request("first-party", WEB_REDIRECT, &[]), &["redirect_uri"]);
    let params =
        assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_request", Some("xyz"));
    assert_eq!(params["error_description"], "an OpenID Connect request must send `redirect_uri`");
}

#[tokio::test]
async fn a_missing_redirect_uri_is_refused_when_two_are_registered() {
    let router = test_provider().router();
    let params = without(request("web", WEB_REDIRECT, &[]), &["redirect_uri"]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_registered_redirect_uri_keeps_its_own_query() {
    let router = test_provider().router();
    let params = with(request("web", "https://client.example.com/other?x=1", &[]), "response_type", "token");
    let reply = get_as_alice(&router, &params).await;
    let params =
        assert_redirect_error(&reply, "https://client.example.com/other", "unsupported_response_type", Some("xyz"));
    assert_eq!(params.get("x").map(String::as_str), Some("1"));
}

#[tokio::test]
async fn a_native_client_may_use_any_port_on_a_loopback_ip() {
    let router = test_provider().router();
    for redirect_uri in ["http://127.0.0.1:53211/callback", "http://[::1]:8080/callback", NATIVE_REDIRECT] {
        let reply = get_as_alice(&router, &request("native", redirect_uri, &[])).await;
        assert_code(&reply, redirect_uri);
    }
}

#[tokio::test]
async fn the_loopback_exception_is_for_the_port_only() {
    let router = test_provider().router();
    let cases = [
        "http://localhost:1234/callback",            // RFC 8252 §8.3: a name, not the IP literal
        "http://127.0.0.1:53211/other",              // another path
        "http://127.0.0.1:53211/callback/",          // trailing slash
        "https://127.0.0.1:53211/callback",          // another scheme
        "http://127.0.0.1:53211/callback?x=1",       // a query
        "http://127.0.0.1:53211/callback#f",         // a fragment
        "http://127.0.0.2:53211/callback",           // another loopback address, not registered
        "http://user@127.0.0.1:53211/callback",      // userinfo
        "http://[::1]:8080/other",                   // another path on IPv6
        "http://127.0.0.1.evil.example:80/callback", // a host that starts like the IP
        // Spellings a URL parser normalizes to the registered URI: not byte-equal, so refused.
        "http://127.1:53211/callback",
        "http://2130706433:53211/callback",
        "http://[0:0:0:0:0:0:0:1]:8080/callback",
        "HTTP://127.0.0.1:53211/callback",
        "http://127.0.0.1:53211/x/../callback",
        "http://127.0.0.1:53211\\callback",
        "http://127.0.0.1:53211/%63allback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:+5/callback",
        "http://127.0.0.1:99999/callback",
    ];
    for redirect_uri in cases {
        let reply = get_as_alice(&router, &request("native", redirect_uri, &[])).await;
        assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{redirect_uri}: {}", text(&reply.2));
        assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn a_confidential_client_gets_no_loopback_port_exception() {
    let router = test_provider().router();
    let reply = get_as_alice(&router, &request("loopback-confidential", "http://127.0.0.1:53211/callback", &[])).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // The exact registered URI works (consent is asked for this client).
    let reply = get_as_alice(&router, &request("loopback-confidential", NATIVE_REDIRECT, &[])).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", text(&reply.2));
}

// ---------------------------------------------------------------------------------------------
// Repeated parameters (RFC 6749 §3.1).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_repeated_client_id_or_redirect_uri_gets_a_page() {
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("client_id", "first-party")]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
    let params = request("first-party", WEB_REDIRECT, &[("client_id", "web")]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
    let params = request("first-party", WEB_REDIRECT, &[("redirect_uri", WEB_REDIRECT)]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
    let params = request("web", WEB_REDIRECT, &[("redirect_uri", "https://client.example.com/other?x=1")]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn any_other_repeated_parameter_is_redirected_as_invalid_request() {
    let router = test_provider().router();
    let cases = [
        ("scope", "openid"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("response_type", "code"),
        ("nonce", "n"),
        ("prompt", "login"),
        ("max_age", "60"),
        ("login_hint", "alice"),
        ("acr_values", "urn:acr:mfa"),
        ("response_mode", "query"),
    ];
    for (name, value) in cases {
        let mut params = request("first-party", WEB_REDIRECT, &[]);
        while params.iter().filter(|(n, _)| *n == name).count() < 2 {
            params.push((name, value));
        }
        let reply = get_as_alice(&router, &params).await;
        let params = assert_redirect_error(&reply, WEB_REDIRECT, "invalid_request", Some("xyz"));
        assert!(params["error_description"].contains(name), "{name}: {params:?}");
    }
}

#[tokio::test]
async fn a_repeated_state_is_refused_without_echoing_either_value() {
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("state", "other")]);
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_request", None);
}

#[tokio::test]
async fn a_repeated_resource_is_allowed() {
    let router = test_provider().router();
    let params =
        request("first-party", WEB_REDIRECT, &[("resource", RESOURCE), ("resource", "https://api.example.com")]);
    assert_code(&get_as_alice(&router, &params).await, WEB_REDIRECT);
}

// ---------------------------------------------------------------------------------------------
// response_type and response_mode.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_response_type_is_invalid_request() {
    let router = test_provider().router();
    let params = without(request("first-party", WEB_REDIRECT, &[]), &["response_type"]);
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn any_response_type_but_code_is_unsupported() {
    let router = test_provider().router();
    for response_type in ["token", "id_token", "code id_token", "code token", "none", "CODE"] {
        let params = with(request("first-party", WEB_REDIRECT, &[]), "response_type", response_type);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "unsupported_response_type", Some("xyz"));
    }
}

/// The hidden inputs of a form_post page, by name.
fn hidden_inputs(body: &str) -> HashMap<String, String> {
    body.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once("\" value=\"")?;
            let (value, _) = rest.split_once('"')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn form_post_answers_with_an_auto_submitting_form() {
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("response_mode", "form_post")]);
    let (status, headers, body) = get_as_alice(&router, &params).await;
    let body = text(&body);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::LOCATION).is_none());
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert!(body.contains(&format!("<form method=\"post\" action=\"{WEB_REDIRECT}\">")), "{body}");
    let inputs = hidden_inputs(&body);
    assert_eq!(inputs.len(), 3, "{inputs:?}");
    assert_eq!(inputs["code"].len(), 43);
    assert_eq!(inputs["state"], "xyz");
    assert_eq!(inputs["iss"], ISSUER);
}

#[tokio::test]
async fn form_post_carries_errors_too() {
    let router = test_provider().router();
    let params = with(request("first-party", WEB_REDIRECT, &[("response_mode", "form_post")]), "scope", "admin");
    let (status, headers, body) = get_as_alice(&router, &params).await;
    let body = text(&body);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::LOCATION).is_none());
    assert!(body.contains(&format!("action=\"{WEB_REDIRECT}\"")), "{body}");
    let inputs = hidden_inputs(&body);
    assert_eq!(inputs["error"], "invalid_scope");
    assert_eq!(inputs["state"], "xyz");
    assert_eq!(inputs["iss"], ISSUER);
    assert!(!inputs.contains_key("code"));
}

#[tokio::test]
async fn an_unknown_response_mode_is_invalid_request_in_the_query() {
    let router = test_provider().router();
    for mode in ["fragment", "fragment.jwt", "JWT", "FORM_POST"] {
        let params = request("first-party", WEB_REDIRECT, &[("response_mode", mode)]);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "invalid_request", Some("xyz"));
    }
}

// ---------------------------------------------------------------------------------------------
// PKCE: S256, always (OAuth 2.1 §4.1.1, RFC 9700 §2.1.1).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pkce_s256_is_required_for_every_client() {
    let router = test_provider().router();
    let long = "a".repeat(128);
    for client in ["first-party", "native"] {
        let redirect_uri = if client == "native" { NATIVE_REDIRECT } else { WEB_REDIRECT };
        let base = request(client, redirect_uri, &[]);
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("no challenge", without(base.clone(), &["code_challenge"])),
            ("no challenge and no method", without(base.clone(), &["code_challenge", "code_challenge_method"])),
            ("plain", with(base.clone(), "code_challenge_method", "plain")),
            ("method missing (means plain)", without(base.clone(), &["code_challenge_method"])),
            ("lowercase method", with(base.clone(), "code_challenge_method", "s256")),
            ("unknown method", with(base.clone(), "code_challenge_method", "S512")),
            ("42 characters", with(base.clone(), "code_challenge", &CHALLENGE[..42])),
            ("44 characters", with(base.clone(), "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMA")),
            (
                "standard base64 alphabet",
                with(base.clone(), "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
            ),
            ("a slash", with(base.clone(), "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM")),
            (
                "non-canonical last character",
                with(base.clone(), "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
            ),
            ("padding", with(base.clone(), "code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=")),
            (
                "a verifier-like value",
                with(base.clone(), "code_challenge", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk."),
            ),
            ("a 128-character value", with(base.clone(), "code_challenge", &long)),
        ];
        for (case, params) in cases {
            let reply = get_as_alice(&router, &params).await;
            assert_eq!(reply.0, StatusCode::SEE_OTHER, "{client}: {case}: {}", text(&reply.2));
            assert_redirect_error(&reply, redirect_uri, "invalid_request", Some("xyz"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scope, resource (RFC 8707), request objects.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_scope_the_client_may_not_have_is_invalid_scope() {
    let router = test_provider().router();
    for scope in ["admin", "nonsense", "read\"", "a\\b"] {
        let params = with(request("first-party", WEB_REDIRECT, &[]), "scope", scope);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "invalid_scope", Some("xyz"));
    }
}

#[tokio::test]
async fn an_unknown_or_malformed_resource_is_invalid_target() {
    let router = test_provider().router();
    for resource in ["https://unknown.example.com/api", "https://mcp.example.com/mcp#frag", "not a uri", "/relative"] {
        let params = request("first-party", WEB_REDIRECT, &[("resource", resource)]);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "invalid_target", Some("xyz"));
    }
    // One known and one unknown: the whole request fails.
    let params =
        request("first-party", WEB_REDIRECT, &[("resource", RESOURCE), ("resource", "https://unknown.example")]);
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_target", Some("xyz"));
}

#[tokio::test]
async fn request_objects_by_reference_are_not_fetched() {
    let router = test_provider().router();
    // An unsigned request object is refused, on a page: its redirect URI is not trusted (the
    // signed ones are in tests/it/jar.rs).
    let params = request("first-party", WEB_REDIRECT, &[("request", "eyJhbGciOiJub25lIn0.e30.")]);
    assert_page(&get_as_alice(&router, &params).await, StatusCode::BAD_REQUEST, "invalid_request_object");
    // A request object by reference (OIDC Core §6.2) is not fetched: only the `request_uri` values
    // of the PAR endpoint are accepted (tests/it/par.rs).
    let params = request("first-party", WEB_REDIRECT, &[("request_uri", "https://client.example.com/req.jwt")]);
    let reply = get_as_alice(&router, &params).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "request_uri_not_supported", Some("xyz"));
    // A PAR URN is a reference to a pushed request: this one was never pushed. Shown, since the
    // redirect URI sent with it is ignored (RFC 9126 §4).
    let urn = "urn:ietf:params:oauth:request_uri:bwc4JK-ESC0w8acc191e-Y1LTC2";
    let reply = get_as_alice(&router, &request("first-party", WEB_REDIRECT, &[("request_uri", urn)])).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request_uri");
}

// ---------------------------------------------------------------------------------------------
// RFC 9207 iss and state.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn iss_is_in_every_response_and_state_only_when_sent() {
    let router = test_provider().router();
    // Success and error with state: checked by the helpers.
    assert_code(&get_as_alice(&router, &request("first-party", WEB_REDIRECT, &[])).await, WEB_REDIRECT);
    let params = with(request("first-party", WEB_REDIRECT, &[]), "scope", "admin");
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_scope", Some("xyz"));
    // Without state: iss still there, state absent.
    let params = without(request("first-party", WEB_REDIRECT, &[]), &["state"]);
    let reply = get_as_alice(&router, &params).await;
    let params = assert_redirect(&reply, WEB_REDIRECT, None);
    assert!(params.contains_key("code"));
    let params = with(without(request("first-party", WEB_REDIRECT, &[]), &["state"]), "scope", "admin");
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_scope", None);
}

#[tokio::test]
async fn state_is_echoed_byte_for_byte() {
    let router = test_provider().router();
    let state = "a b&c=d/é?#%20<script>";
    let params = with(request("first-party", WEB_REDIRECT, &[]), "state", state);
    let params = assert_redirect(&get_as_alice(&router, &params).await, WEB_REDIRECT, Some(state));
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn an_overlong_state_is_refused_without_echoing_it() {
    let router = test_provider().router();
    let long = "s".repeat(4096);
    let params = with(request("first-party", WEB_REDIRECT, &[]), "state", &long);
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_request", None);
}

// ---------------------------------------------------------------------------------------------
// prompt and max_age (OIDC Core §3.1.2.1).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let (router, host) = router_with_host();
    let params = request("first-party", WEB_REDIRECT, &[("prompt", "none")]);
    let reply = get(&router, &params, None).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
    assert!(has_event(&host, "authorization_denied first-party - login_required"), "{:?}", host.events());
}

#[tokio::test]
async fn a_user_the_host_cannot_ask_is_login_required() {
    let router = test_provider().router();
    let nobody = session_cookie("nobody");
    for extra in [&[][..], &[("prompt", "none")][..]] {
        let reply = get(&router, &request("first-party", WEB_REDIRECT, extra), Some(&nobody)).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
    }
}

#[tokio::test]
async fn prompt_none_when_consent_is_needed_is_consent_required() {
    let router = test_provider().router();
    let params = request("web", WEB_REDIRECT, &[("prompt", "none")]);
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "consent_required", Some("xyz"));
}

#[tokio::test]
async fn prompt_none_with_a_session_and_consent_granted_issues_a_code() {
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("prompt", "none")]);
    assert_code(&get_as_alice(&router, &params).await, WEB_REDIRECT);
}

#[tokio::test]
async fn prompt_none_with_another_value_or_an_unknown_value_is_invalid_request() {
    let router = test_provider().router();
    for prompt in ["none login", "login none", "none consent", "select_account", "bogus", "login bogus"] {
        let params = request("first-party", WEB_REDIRECT, &[("prompt", prompt)]);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "invalid_request", Some("xyz"));
    }
}

#[tokio::test]
async fn a_session_older_than_max_age_is_login_required() {
    let router = test_provider().router();
    let old = session_cookie_at("alice", SystemTime::now() - Duration::from_secs(600));
    let params = request("first-party", WEB_REDIRECT, &[("max_age", "300")]);
    assert_redirect_error(&get(&router, &params, Some(&old)).await, WEB_REDIRECT, "login_required", Some("xyz"));
    // Fresh enough: a code.
    let recent = session_cookie_at("alice", SystemTime::now() - Duration::from_secs(10));
    assert_code(&get(&router, &params, Some(&recent)).await, WEB_REDIRECT);
}

#[tokio::test]
async fn a_sign_in_during_the_request_satisfies_any_max_age() {
    // OIDC Core §3.1.2.1: past `max_age` the server must re-authenticate; the sign-in it asked
    // for is fresh, even with `max_age=0` and an auth time the host keeps in whole seconds.
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("max_age", "0")]);
    let resume = login_return_to(&get(&router, &params, None).await);
    let now = session_cookie_at("alice", SystemTime::now());
    assert_code(&browser_get(&router, &local(&resume), Some(&resume.with(&now))).await, WEB_REDIRECT);
    // A session from before the request is still too old for `max_age=0`.
    let old = session_cookie_at("alice", SystemTime::now() - Duration::from_secs(5));
    assert_redirect_error(&get(&router, &params, Some(&old)).await, WEB_REDIRECT, "login_required", Some("xyz"));
}

#[tokio::test]
async fn a_malformed_max_age_is_invalid_request() {
    let router = test_provider().router();
    for max_age in ["-1", "abc", "1.5", "99999999999999999999999"] {
        let params = request("first-party", WEB_REDIRECT, &[("max_age", max_age)]);
        let reply = get_as_alice(&router, &params).await;
        assert_redirect_error(&reply, WEB_REDIRECT, "invalid_request", Some("xyz"));
    }
}

/// Where the host's login page sends the browser back: the resume URI, and the cookie that binds
/// it to the browser that was sent to the login page.
struct Resume {
    uri: String,
    /// `name=value`, as the browser sends it back.
    cookie: String,
}

impl Resume {
    /// The handle in the resume URI.
    fn handle(&self) -> &str {
        &self.uri[RESUME_PREFIX.len()..]
    }

    /// The browser's cookies on the way back: the login cookie and `session`.
    fn with(&self, session: &str) -> String {
        format!("{}; {session}", self.cookie)
    }
}

/// The `return_to` of a redirect to the host's login page, and the login cookie set with it.
fn login_return_to(reply: &Reply) -> Resume {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SEE_OTHER, "{}", text(body));
    let (base, params) = redirect_params(headers);
    assert_eq!(base, LOGIN_PAGE);
    let return_to = params.get("return_to").cloned().unwrap_or_else(|| panic!("return_to in {params:?}"));
    assert!(return_to.starts_with(RESUME_PREFIX), "{return_to}");
    let handle = &return_to[RESUME_PREFIX.len()..];
    // A sealed request (nonce, ciphertext, tag), base64url: nothing is stored meanwhile.
    assert!(handle.len() > 100, "a sealed request: {handle}");
    assert!(handle.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{handle}");
    let set_cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-attesto-login-"))
        .unwrap_or_else(|| panic!("a login cookie in {headers:?}"));
    assert!(
        set_cookie.contains("; HttpOnly") && set_cookie.contains("; Secure") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    Resume { uri: return_to, cookie }
}

/// The path and query of an absolute resume URI, to GET through the router.
fn local(resume: &Resume) -> String {
    let uri = &resume.uri;
    uri.strip_prefix("https://auth.example.com").unwrap_or_else(|| panic!("not on the issuer: {uri}")).to_owned()
}

#[tokio::test]
async fn prompt_login_makes_the_host_sign_the_user_in_again() {
    let (router, host) = router_with_host();
    let params = request("first-party", WEB_REDIRECT, &[("prompt", "login")]);
    let reply = get_as_alice(&router, &params).await;
    assert!(has_event(&host, "authenticate force_login=true"), "{:?}", host.events());
    let resume = login_return_to(&reply);
    // The user signs in again: a fresh session.
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("alice")))).await;
    assert_code(&reply, WEB_REDIRECT);
    // On the way back the host is not asked to force a login again.
    assert_eq!(host.events().iter().filter(|e| *e == "authenticate force_login=true").count(), 1);
    assert!(has_event(&host, "authenticate force_login=false"), "{:?}", host.events());
}

#[tokio::test]
async fn acr_values_reach_the_host_before_and_after_its_login_page() {
    // OIDC Core §3.1.2.1: the host decides how the user authenticates; attesto passes the
    // client's `acr_values` on, also when the request comes back from the login page.
    let (router, host) = router_with_host();
    let params = request("first-party", WEB_REDIRECT, &[("acr_values", "urn:acr:mfa urn:acr:pwd")]);
    let resume = login_return_to(&get(&router, &params, None).await);
    let asked = |host: &TestHost| {
        host.events().iter().filter(|e| *e == "authenticate acr_values=urn:acr:mfa urn:acr:pwd").count()
    };
    assert_eq!(asked(&host), 1, "{:?}", host.events());
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("alice")))).await;
    assert_code(&reply, WEB_REDIRECT);
    assert_eq!(asked(&host), 2, "{:?}", host.events());
    // Without the parameter the host is told nothing.
    let (router, host) = router_with_host();
    assert_code(&get_as_alice(&router, &request("first-party", WEB_REDIRECT, &[])).await, WEB_REDIRECT);
    assert!(!host.events().iter().any(|e| e.starts_with("authenticate acr_values")), "{:?}", host.events());
}

#[tokio::test]
async fn prompt_login_is_not_satisfied_by_the_old_session() {
    let router = test_provider().router();
    let params = request("first-party", WEB_REDIRECT, &[("prompt", "login")]);
    let resume = login_return_to(&get_as_alice(&router, &params).await);
    // Back from the login page with a session that was there before the request.
    let stale = session_cookie_at("alice", SystemTime::now() - Duration::from_secs(120));
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&stale))).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
}

// ---------------------------------------------------------------------------------------------
// The login round trip.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_login_round_trip_resumes_the_request_once() {
    let (router, host) = router_with_host();
    let (verifier, challenge) = pkce();
    let params = with(request("first-party", WEB_REDIRECT, &[("nonce", "n-0S6")]), "code_challenge", &challenge);
    let reply = get(&router, &params, None).await;
    assert_eq!(reply.1[header::CACHE_CONTROL], "no-store");
    let resume = login_return_to(&reply);
    assert!(has_event(&host, "authenticate force_login=false"));

    // Back from the login page, signed in.
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("alice")))).await;
    let code = assert_code(&reply, WEB_REDIRECT);
    assert!(has_event(&host, "code_issued first-party alice openid"), "{:?}", host.events());

    // The same resume URL again: used up, shown to the user, not redirected.
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("alice")))).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    // The code is good at the token endpoint with the verifier.
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .finish();
    let (status, _, json) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["access_token"].is_string(), "{json}");
    assert!(json["id_token"].is_string(), "{json}");
}

#[tokio::test]
async fn a_resumed_request_is_still_checked_against_a_session_it_cannot_use() {
    let router = test_provider().router();
    let resume = login_return_to(&get(&router, &request("first-party", WEB_REDIRECT, &[]), None).await);
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("nobody")))).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
}

#[tokio::test]
async fn a_forged_resume_handle_gets_a_page() {
    let router = test_provider().router();
    // A started request exists; the forged handles are not it.
    let resume = login_return_to(&get(&router, &request("first-party", WEB_REDIRECT, &[]), None).await);
    let real = resume.handle();
    let mut flipped = real.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).expect("ASCII");
    let cookie = session_cookie("alice");
    let cookies = resume.with(&cookie);
    for forged in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x", flipped.as_str(), &real[..real.len() - 1]] {
        let uri = authorize_url(AUTHORIZE, &[("attesto_resume", forged)]);
        assert_page(&browser_get(&router, &uri, Some(&cookies)).await, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // The real one still works.
    assert_code(&browser_get(&router, &local(&resume), Some(&cookies)).await, WEB_REDIRECT);
}

#[tokio::test]
async fn a_resume_with_anything_else_gets_a_page() {
    let router = test_provider().router();
    let resume = login_return_to(&get(&router, &request("first-party", WEB_REDIRECT, &[]), None).await);
    let cookie = session_cookie("alice");
    // Parameters smuggled next to the handle: another redirect URI, another state, a scope.
    for extra in [
        "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        "&state=other",
        "&scope=admin",
        "&attesto_resume=other",
        "&client_id=first-party",
    ] {
        let uri = format!("{}{extra}", local(&resume));
        let reply = browser_get(&router, &uri, Some(&resume.with(&cookie))).await;
        assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // As a POST.
    let handle = resume.handle();
    let reply =
        browser_post(&router, AUTHORIZE, Some(&resume.with(&cookie)), &format!("attesto_resume={handle}")).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// Consent.
// ---------------------------------------------------------------------------------------------

/// What a consent page hands the browser.
struct ConsentPage {
    body: String,
    headers: HeaderMap,
    /// `name=value` of the anti-CSRF cookie, as the browser sends it back.
    cookie: String,
    handle: String,
    csrf: String,
}

/// The value of the hidden input `name` on a page.
fn hidden(body: &str, name: &str) -> String {
    hidden_inputs(body).remove(name).unwrap_or_else(|| panic!("no hidden `{name}` in {body}"))
}

/// Opens the consent page of the authorization request `params` as `subject`.
async fn open_consent(router: &Router, params: &[(&str, &str)], subject: &str) -> ConsentPage {
    let (status, headers, body) = get(router, params, Some(&session_cookie(subject))).await;
    let body = text(&body);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::LOCATION).is_none());
    let set_cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a Set-Cookie: {headers:?}"))
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap_or_default().trim().to_owned();
    ConsentPage { handle: hidden(&body, "attesto_consent"), csrf: hidden(&body, "attesto_csrf"), body, headers, cookie }
}

/// The decision form a browser submits from `page`.
fn decision(page: &ConsentPage, decision: &str) -> String {
    format!("attesto_consent={}&attesto_csrf={}&attesto_decision={decision}", page.handle, page.csrf)
}

/// POSTs a consent decision with the headers a browser sends for a same-origin form submission,
/// plus `extra` headers (which replace those).
async fn post_decision(router: &Router, cookie: Option<&str>, body: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers: Vec<(&str, &str)> = vec![
        ("accept", "text/html"),
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", ISSUER),
        ("sec-fetch-site", "same-origin"),
    ];
    for (name, value) in extra {
        headers.retain(|(n, _)| n != name);
        headers.push((name, value));
    }
    let mut request = Request::post(AUTHORIZE);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::from(body.to_owned())).expect("request")).await
}

/// The cookies a browser sends with the decision: the session of `subject` and the page's cookie.
fn cookies(subject: &str, page: &ConsentPage) -> String {
    format!("{}; {}", session_cookie(subject), page.cookie)
}

#[tokio::test]
async fn the_consent_page_names_the_client_and_the_scopes_and_sets_a_strict_cookie() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    assert!(page.body.contains("<strong>Web App</strong> wants to access your account"), "{}", page.body);
    assert!(page.body.contains("<code>web</code>"), "{}", page.body);
    assert!(page.body.contains("<code>openid</code>"), "{}", page.body);
    assert!(page.body.contains("Signed in as <strong>alice</strong>"), "{}", page.body);
    assert!(page.body.contains(&format!("<form method=\"post\" action=\"{AUTHORIZE}\">")), "{}", page.body);
    assert_eq!(page.handle.len(), 43);
    assert_eq!(page.csrf.len(), 43);
    assert_ne!(page.handle, page.csrf);

    let headers = &page.headers;
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ASCII");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // Browsers apply `form-action` to the redirect that answers the decision: the client's
    // redirect origin must be allowed next to this server, and nothing else.
    assert!(csp.ends_with("form-action 'self' https://client.example.com"), "{csp}");
    // The decision is a same-origin POST whose `Origin` the endpoint checks: the page's referrer
    // policy must let the browser send it (Fetch §3.1: under `no-referrer` it is `null`).
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");

    let set_cookies: Vec<&str> = headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
    assert_eq!(set_cookies.len(), 1, "{set_cookies:?}");
    let set_cookie = set_cookies[0];
    assert!(set_cookie.starts_with("__Host-"), "https issuer: __Host- prefix: {set_cookie}");
    let attributes: Vec<&str> = set_cookie.split(';').skip(1).map(str::trim).collect();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attribute} in {set_cookie}");
    }
    assert!(!attributes.iter().any(|a| a.to_ascii_lowercase().starts_with("domain")), "{set_cookie}");
    // The cookie carries the form's CSRF value, the handle appears in neither.
    assert_eq!(page.cookie.split_once('=').map(|(_, v)| v), Some(page.csrf.as_str()));
    assert!(!set_cookie.contains(&page.handle));
}

#[tokio::test]
async fn the_consent_page_lists_every_scope() {
    let router = test_provider().router();
    let params = with(request("web", WEB_REDIRECT, &[]), "scope", "openid email read");
    let body = open_consent(&router, &params, "alice").await.body;
    assert!(body.contains("<li>Confirm who you are <code>openid</code></li>"), "{body}");
    assert!(body.contains("<li>Your email address <code>email</code></li>"), "{body}");
    assert!(body.contains("<li><code>read</code></li>"), "{body}");
}

#[tokio::test]
async fn allowing_on_the_consent_page_issues_a_code() {
    let (router, host) = router_with_host();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await;
    assert_code(&reply, WEB_REDIRECT);
    assert!(has_event(&host, "code_issued web alice openid"), "{:?}", host.events());
    // The page's cookie is cleared.
    let cleared = reply.1.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    let name = page.cookie.split('=').next().unwrap_or_default();
    assert!(cleared.iter().any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")), "{cleared:?}");
}

#[tokio::test]
async fn a_consented_code_is_redeemable() {
    let router = test_provider().router();
    let (verifier, challenge) = pkce();
    let params = with(request("web", WEB_REDIRECT, &[]), "code_challenge", &challenge);
    let page = open_consent(&router, &params, "alice").await;
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await;
    let code = assert_code(&reply, WEB_REDIRECT);
    let token_body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", WEB_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .finish();
    let (status, _, json) = token(&router, TOKEN, Some(&basic("web", SECRET)), &token_body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

#[tokio::test]
async fn denying_on_the_consent_page_is_access_denied() {
    let (router, host) = router_with_host();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "deny"), &[]).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "access_denied", Some("xyz"));
    assert!(has_event(&host, "authorization_denied web alice access_denied"), "{:?}", host.events());
    assert!(!host.events().iter().any(|e| e.starts_with("code_issued")), "{:?}", host.events());
}

#[tokio::test]
async fn a_decision_without_the_cookie_is_forbidden() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&session_cookie("alice")), &decision(&page, "allow"), &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
}

#[tokio::test]
async fn a_decision_with_the_cookie_of_another_consent_page_is_forbidden() {
    let router = test_provider().router();
    let mine = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let other = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    // The other page's cookie as it is.
    let cookie = format!("{}; {}", session_cookie("alice"), other.cookie);
    let reply = post_decision(&router, Some(&cookie), &decision(&mine, "allow"), &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");

    // The other page's value under this page's cookie name (what an attacker who got a consent
    // page of their own would plant).
    let mine = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let name = mine.cookie.split('=').next().unwrap_or_default();
    let value = other.cookie.split_once('=').map(|(_, v)| v).unwrap_or_default();
    let cookie = format!("{}; {name}={value}", session_cookie("alice"));
    let reply = post_decision(&router, Some(&cookie), &decision(&mine, "allow"), &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
    // And the attacker's own form values with the victim's handle and attacker's cookie value.
    let mine = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let body = format!("attesto_consent={}&attesto_csrf={}&attesto_decision=allow", mine.handle, other.csrf);
    let cookie = format!("{}; {name}={}", session_cookie("alice"), other.csrf);
    let reply = post_decision(&router, Some(&cookie), &body, &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
}

#[tokio::test]
async fn a_decision_with_a_wrong_csrf_field_is_forbidden() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let body = format!(
        "attesto_consent={}&attesto_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&attesto_decision=allow",
        page.handle
    );
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &body, &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
}

#[tokio::test]
async fn a_failed_csrf_check_burns_the_pending_request() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    // A forged decision without the cookie…
    let reply = post_decision(&router, Some(&session_cookie("alice")), &decision(&page, "allow"), &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
    // …leaves nothing for a second try, even a correct one.
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_replayed_decision_gets_a_page() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let cookie = cookies("alice", &page);
    assert_code(&post_decision(&router, Some(&cookie), &decision(&page, "allow"), &[]).await, WEB_REDIRECT);
    let reply = post_decision(&router, Some(&cookie), &decision(&page, "allow"), &[]).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    let reply = post_decision(&router, Some(&cookie), &decision(&page, "deny"), &[]).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_cross_origin_decision_is_forbidden() {
    let router = test_provider().router();
    let cases: [&[(&str, &str)]; 7] = [
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("origin", "http://auth.example.com")],
        &[("origin", "https://auth.example.com.evil.example")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("sec-fetch-site", "none")],
    ];
    for headers in cases {
        let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
        let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), headers).await;
        assert_eq!(reply.0, StatusCode::FORBIDDEN, "{headers:?}: {}", text(&reply.2));
        assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
    }
}

#[tokio::test]
async fn a_decision_from_an_old_browser_without_fetch_metadata_is_accepted() {
    // Neither `Origin` nor `Sec-Fetch-Site`: the cookie and the form field still bind it.
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let post = Request::post(AUTHORIZE)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies("alice", &page))
        .body(Body::from(decision(&page, "allow")))
        .expect("request");
    let reply = send(&router, post).await;
    assert_code(&reply, WEB_REDIRECT);
}

#[tokio::test]
async fn a_decision_sent_with_get_gets_a_page() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let uri = format!("{AUTHORIZE}?{}", decision(&page, "allow"));
    let reply = browser_get(&router, &uri, Some(&cookies("alice", &page))).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    // Nothing was decided: the real form still works.
    assert_code(
        &post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await,
        WEB_REDIRECT,
    );
}

#[tokio::test]
async fn a_malformed_decision_gets_a_page() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let cookie = cookies("alice", &page);
    for body in [
        format!("{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", decision(&page, "allow")),
        format!("{}&attesto_decision=deny", decision(&page, "allow")),
        format!("attesto_consent={}&attesto_csrf={}", page.handle, page.csrf),
    ] {
        let reply = post_decision(&router, Some(&cookie), &body, &[]).await;
        assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // An unknown decision value.
    let reply = post_decision(&router, Some(&cookie), &decision(&page, "maybe"), &[]).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_decision_by_another_user_is_login_required() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&cookies("mallory", &page)), &decision(&page, "allow"), &[]).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
    // Signed out in between.
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&page.cookie), &decision(&page, "allow"), &[]).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "login_required", Some("xyz"));
}

#[tokio::test]
async fn prompt_consent_asks_even_a_client_granted_by_policy() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("first-party", WEB_REDIRECT, &[("prompt", "consent")]), "alice").await;
    assert!(page.body.contains("<strong>First Party</strong>"), "{}", page.body);
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await;
    assert_code(&reply, WEB_REDIRECT);
}

#[tokio::test]
async fn a_hostile_client_name_is_escaped_on_the_consent_page() {
    let router = test_provider().router();
    let page = open_consent(&router, &request("hostile-name", WEB_REDIRECT, &[]), "alice").await;
    assert!(!page.body.contains(HOSTILE_NAME), "{}", page.body);
    assert!(!page.body.contains("<script"), "{}", page.body);
    assert!(!page.body.contains("<img"), "{}", page.body);
    assert!(
        page.body.contains(
            "<strong>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; \
             &amp; &#x27;Co&#x27;</strong>"
        ),
        "{}",
        page.body
    );
    assert!(page.body.contains("provided by the application itself"), "{}", page.body);
}

// ---------------------------------------------------------------------------------------------
// Consent policy outcomes and events.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_the_policy_blocks_is_access_denied() {
    let (router, host) = router_with_host();
    let reply = get_as_alice(&router, &request("blocked", WEB_REDIRECT, &[])).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "access_denied", Some("xyz"));
    assert!(has_event(&host, "authorization_denied blocked alice access_denied"), "{:?}", host.events());
}

#[tokio::test]
async fn a_code_issued_event_follows_success() {
    let (router, host) = router_with_host();
    let params = with(request("first-party", WEB_REDIRECT, &[]), "scope", "openid profile");
    assert_code(&get_as_alice(&router, &params).await, WEB_REDIRECT);
    assert!(has_event(&host, "code_issued first-party alice openid profile"), "{:?}", host.events());
    assert!(!host.events().iter().any(|e| e.starts_with("authorization_denied")), "{:?}", host.events());
}

#[tokio::test]
async fn an_error_redirect_is_an_authorization_denied_event() {
    let (router, host) = router_with_host();
    let params = with(request("first-party", WEB_REDIRECT, &[]), "scope", "admin");
    assert_redirect_error(&get_as_alice(&router, &params).await, WEB_REDIRECT, "invalid_scope", Some("xyz"));
    assert!(has_event(&host, "authorization_denied first-party - invalid_scope"), "{:?}", host.events());
}

// ---------------------------------------------------------------------------------------------
// The request as a POST form (OIDC Core §3.1.2.1) and host failures.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_authorization_request_may_be_a_post_form() {
    let router = test_provider().router();
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request("first-party", WEB_REDIRECT, &[]))
        .finish();
    let reply = browser_post(&router, AUTHORIZE, Some(&session_cookie("alice")), &form).await;
    assert_code(&reply, WEB_REDIRECT);
    // The same repeated-parameter rules apply to the body.
    let form = format!("{form}&scope=openid");
    let reply = browser_post(&router, AUTHORIZE, Some(&session_cookie("alice")), &form).await;
    assert_redirect_error(&reply, WEB_REDIRECT, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn a_host_failure_is_a_503_page_without_internals() {
    let router = test_provider().router();
    let reply = get_as_alice(&router, &request("db-down", WEB_REDIRECT, &[])).await;
    assert_page(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    let body = text(&reply.2);
    for secret in ["postgres", "secret-host", "5432", "connection refused"] {
        assert!(!body.contains(secret), "{secret} leaked: {body}");
    }

    let uri = authorize_url(AUTHORIZE, &request("db-down", WEB_REDIRECT, &[]));
    let request = Request::get(uri).header(header::ACCEPT, "application/json").body(Body::empty()).expect("request");
    let response = send_json(&router, request).await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(!response.2.to_string().contains("postgres"));
}

#[tokio::test]
async fn on_an_http_development_issuer_the_consent_cookie_drops_secure_and_the_host_prefix() {
    const DEV_ISSUER: &str = "http://localhost:3000";
    let router = attesto::Attesto::builder(TestHost::new())
        .issuer(DEV_ISSUER)
        .expect("a loopback http issuer")
        .signing_key(attesto::Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds")
        .router();
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let set_cookie = page.headers[header::SET_COOKIE].to_str().expect("ASCII");
    // A `__Host-` or `Secure` cookie would not be stored over http, and consent could not work.
    assert!(set_cookie.starts_with("attesto-consent-"), "{set_cookie}");
    let attributes: Vec<&str> = set_cookie.split(';').skip(1).map(str::trim).collect();
    assert!(attributes.contains(&"HttpOnly") && attributes.contains(&"SameSite=Strict"), "{set_cookie}");
    assert!(!attributes.contains(&"Secure"), "{set_cookie}");

    let cookie = cookies("alice", &page);
    let reply = post_decision(&router, Some(&cookie), &decision(&page, "allow"), &[("origin", DEV_ISSUER)]).await;
    assert_eq!(reply.0, StatusCode::SEE_OTHER, "{}", text(&reply.2));
    let (base, params) = redirect_params(&reply.1);
    assert_eq!(base, WEB_REDIRECT);
    assert_eq!(params.get("iss").map(String::as_str), Some(DEV_ISSUER));
    assert!(params.contains_key("code"), "{params:?}");

    // The production origin is not this issuer's origin.
    let page = open_consent(&router, &request("web", WEB_REDIRECT, &[]), "alice").await;
    let reply = post_decision(&router, Some(&cookies("alice", &page)), &decision(&page, "allow"), &[]).await;
    assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
}

/// A request with every stored value at its bound — `nonce`, `login_hint`, `acr_values`,
/// `ui_locales` and `claims_locales` at 2048 bytes, `claims` (OIDC Core §5.5) just under 8 KiB —
/// travels sealed through the host's login page and back, and gets its code: the resume handle's
/// bound is above the largest request the endpoint accepts.
#[tokio::test]
async fn a_request_at_every_bound_survives_the_login_page() {
    let router = test_provider().router();
    let long = "n".repeat(2048);
    let acr_values = format!("urn:{}", "a".repeat(2044));
    let tags: Vec<String> = (0..255).map(|i| format!("ab-{i:04}")).collect();
    let locales = tags.join(" ");
    assert!(locales.len() <= 2048, "{}", locales.len());
    let value = "v".repeat(8 * 1024 - 40);
    let claims = format!("{{\"id_token\":{{\"email\":{{\"value\":\"{value}\"}}}}}}");
    assert!(claims.len() <= 8 * 1024, "{}", claims.len());
    let params = request(
        "first-party",
        WEB_REDIRECT,
        &[
            ("nonce", &long),
            ("login_hint", &long),
            ("acr_values", &acr_values),
            ("ui_locales", &locales),
            ("claims_locales", &locales),
            ("claims", &claims),
        ],
    );
    let resume = login_return_to(&get(&router, &params, None).await);
    assert!(resume.handle().len() < 32 * 1024, "{}", resume.handle().len());
    let reply = browser_get(&router, &local(&resume), Some(&resume.with(&session_cookie("alice")))).await;
    assert_code(&reply, WEB_REDIRECT);
}
