//! `ToolScopes` in front of a stand-in MCP server (a tower service that echoes what reached it),
//! behind the in-process guard: what it answers itself, and that everything else reaches the
//! server as it came. The MCP example's own use of it is in `tests/it/mcp.rs`.

use std::convert::Infallible;

use crate::common::dpop_key::p256;
use crate::common::resource::{METADATA_URL, challenges};
use crate::common::*;
use attesto::{Attesto, Key, ToolScopes};
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use http::{StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::Layer as _;

const TOKEN: &str = "/oauth/token";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const MCP_URL: &str = "https://mcp.example.com/mcp";

fn auth() -> Attesto<TestHost> {
    Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .protected_resource(RESOURCE, ["read", "write", "admin"])
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

/// The stand-in MCP server: what reached it (method, `Content-Type`, `Content-Length`, body).
async fn echo(request: Request) -> Result<axum::Json<Value>, Infallible> {
    let (parts, body) = request.into_parts();
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (content_type, length) = (header(header::CONTENT_TYPE), header(header::CONTENT_LENGTH));
    let method = parts.method.to_string();
    let body = body.collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    Ok(axum::Json(json!({ "method": method, "content_type": content_type, "length": length, "body": body })))
}

fn tools() -> ToolScopes {
    ToolScopes::new().tool("admin-action", ["admin"])
}

/// `/mcp` behind the guard (`read`) and `ToolScopes`; `/unguarded` behind `ToolScopes` alone.
fn app(auth: &Attesto<TestHost>) -> Router {
    let guard = auth.guard(RESOURCE).expect("valid resource").require_scopes(["read"]);
    let mcp = tower::service_fn(echo);
    Router::new()
        .route_service("/mcp", tools().layer(mcp))
        .layer(guard)
        .route_service("/unguarded", tools().layer(mcp))
        .merge(auth.router())
}

async fn token(router: &Router, scope: &str, dpop: Option<String>) -> String {
    let body = format!("grant_type=client_credentials&scope={scope}&resource=https%3A%2F%2Fmcp.example.com%2Fmcp");
    let mut request = http::Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET));
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    let (status, _, body) = send_json(router, request.body(Body::from(body)).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

fn call(tool: &str) -> String {
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
        .to_string()
}

async fn post(
    router: &Router,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut request = http::Request::post(path).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (status, headers, body) = send(router, request.body(Body::from(body)).expect("request")).await;
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn requests_it_does_not_refuse_reach_the_server_as_they_came() {
    let auth = auth();
    let router = app(&auth);
    let read = format!("Bearer {}", token(&router, "read", None).await);
    let bodies = [
        call("add"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string(),
        "not JSON, the server's to answer".to_owned(),
        // A listed tool's name elsewhere than in a `tools/call` is no call.
        json!({ "jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": { "name": "admin-action" } }).to_string(),
    ];
    for body in bodies {
        let (status, _, echoed) = post(&router, "/mcp", &[("authorization", &read)], body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{echoed}");
        assert_eq!(
            echoed,
            json!({ "method": "POST", "content_type": "application/json", "length": null, "body": body }),
            "the body, untouched"
        );
    }
    // Only POST bodies are read: a GET (the SSE stream of streamable HTTP) passes at once.
    let request = http::Request::get("/mcp").header(header::AUTHORIZATION, &read).body(Body::empty()).expect("request");
    let (status, _, echoed) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed["method"], "GET");
    // With the scope, the listed tool's call reaches the server too.
    let admin = format!("Bearer {}", token(&router, "read%20admin", None).await);
    let (status, _, echoed) = post(&router, "/mcp", &[("authorization", &admin)], call("admin-action")).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
    assert_eq!(echoed["body"], call("admin-action"));
}

#[tokio::test]
async fn a_call_of_a_listed_tool_without_its_scope_is_403_in_the_scheme_of_the_token() {
    let auth = auth();
    let router = app(&auth);
    let read = format!("Bearer {}", token(&router, "read", None).await);
    let (status, headers, body) = post(&router, "/mcp", &[("authorization", &read)], call("admin-action")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenges(&headers),
        [format!("Bearer error=\"insufficient_scope\", scope=\"read admin\", resource_metadata=\"{METADATA_URL}\"")]
    );
    // A DPoP-bound token is answered in the DPoP scheme (RFC 9449 §7.1).
    let key = p256();
    let bound = token(&router, "read", Some(key.proof("POST", TOKEN_URL))).await;
    let proof = key.proof_with_token("POST", MCP_URL, &bound);
    let authorization = format!("DPoP {bound}");
    let headers = [("authorization", authorization.as_str()), ("dpop", proof.as_str())];
    let (status, headers, body) = post(&router, "/mcp", &headers, call("admin-action")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        challenges(&headers),
        [format!(
            "DPoP error=\"insufficient_scope\", error_description=\"the access token lacks a required scope\", \
             scope=\"read admin\", algs=\"ES256 ES384 EdDSA RS256 PS256\", resource_metadata=\"{METADATA_URL}\""
        )]
    );
}

#[tokio::test]
async fn without_a_guard_in_front_a_call_of_a_listed_tool_is_refused_not_passed_on() {
    let auth = auth();
    let router = app(&auth);
    let (status, headers, body) = post(&router, "/unguarded", &[], call("admin-action")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body, json!({ "error": "server_error", "error_description": "the request was not checked by a guard" }));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // What needs no scope is not the layer's to refuse.
    let (status, _, echoed) = post(&router, "/unguarded", &[], call("add")).await;
    assert_eq!(status, StatusCode::OK, "{echoed}");
}

#[tokio::test]
async fn a_body_past_one_mebibyte_is_413_and_one_at_the_limit_passes() {
    let auth = auth();
    let router = app(&auth);
    let read = format!("Bearer {}", token(&router, "read", None).await);
    let (status, _, body) =
        post(&router, "/mcp", &[("authorization", &read)], "x".repeat(attesto::MAX_JSON_RPC_BODY + 1)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body, json!({ "error": "invalid_request", "error_description": "the request body is too large" }));
    let (status, _, echoed) =
        post(&router, "/mcp", &[("authorization", &read)], "x".repeat(attesto::MAX_JSON_RPC_BODY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(echoed["body"].as_str().map(str::len), Some(attesto::MAX_JSON_RPC_BODY));
}
