//! The resource-server guard (in process) and the RFC 9728 protected-resource metadata, through a
//! host router that merges the provider's router with routes protected by the `Authenticated`
//! extractor and by the guard's layer.
//!
//! Tokens come from the real token endpoint (`client_credentials` with `resource`, RFC 8707), or
//! are forged with the provider's signing key where a claim must be set by hand (`exp`).
//! DPoP proofs are signed with jsonwebtoken from the PEM fixtures.

use crate::common::dpop_key::{DpopKey, claims, p256, with};
use crate::common::resource::{METADATA_URL, assert_refused, call, challenges, forge};
use crate::common::*;
use attesto::{Attesto, Authenticated, InsufficientScope, Key};
use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Json, Router};
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

const TOKEN: &str = "/oauth/token";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
/// The resource's URL for a request to `/mcp` (the `htu` of its proofs).
const MCP_URL: &str = "https://mcp.example.com/mcp";
const ALGS: &str = "ES256 ES384 EdDSA RS256 PS256";

// ---------------------------------------------------------------------------------------------
// the host
// ---------------------------------------------------------------------------------------------

fn auth() -> Attesto<TestHost> {
    Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .protected_resource(RESOURCE, ["read", "write"])
        .expect("valid resource")
        .resource("https://api.example.com")
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

/// What the protected routes answer: the principal's fields.
fn principal_json(who: &Authenticated) -> Json<Value> {
    Json(json!({
        "subject": who.subject,
        "client_id": who.client_id.as_str(),
        "scopes": who.scopes.to_string(),
        "jkt": who.jkt,
        "aud": who.claims.get("aud"),
    }))
}

async fn extracted(who: Authenticated) -> Json<Value> {
    principal_json(&who)
}

async fn layered(Extension(who): Extension<Authenticated>) -> Json<Value> {
    principal_json(&who)
}

/// An operation that needs more than its route: step-up inside the route.
async fn write_tool(who: Authenticated) -> Result<Json<Value>, InsufficientScope> {
    who.require_scopes(["write"])?;
    Ok(principal_json(&who))
}

/// `/mcp` (extractor, no scope required), `/mcp/admin` (extractor, `admin`), `/mcp/layer` (the
/// layer, `read`), `/mcp/tool` (`read` for the route, `write` for its one operation), and the
/// provider.
fn app(auth: &Attesto<TestHost>) -> Router {
    let guard = auth.guard(RESOURCE).expect("valid resource");
    let open = Router::new().route("/mcp", get(extracted).post(extracted)).with_state(guard.clone());
    let admin = Router::new().route("/mcp/admin", get(extracted)).with_state(guard.require_scopes(["admin"]));
    let layer = Router::new().route("/mcp/layer", get(layered)).layer(guard.require_scopes(["read"]));
    let tool = Router::new().route("/mcp/tool", get(write_tool)).with_state(guard.require_scopes(["read"]));
    Router::new().merge(open).merge(admin).merge(layer).merge(tool).merge(auth.router())
}

// ---------------------------------------------------------------------------------------------
// tokens and proofs
// ---------------------------------------------------------------------------------------------

/// A `client_credentials` token of `service` with `extra` form fields, DPoP-bound with `key`.
async fn service_token(router: &Router, extra: &str, key: Option<&DpopKey>) -> String {
    let mut request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET));
    if let Some(key) = key {
        request = request.header("DPoP", key.proof("POST", TOKEN_URL));
    }
    let body = format!("grant_type=client_credentials&{extra}");
    let (status, _, body) = send_json(router, request.body(Body::from(body)).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// A bearer token for the MCP resource with `read`.
async fn mcp_token(router: &Router) -> String {
    service_token(router, "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", None).await
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_bearer_token_for_the_resource_is_accepted_and_the_principal_reaches_the_handler() {
    let auth = auth();
    let router = app(&auth);
    let token = mcp_token(&router).await;
    for path in ["/mcp", "/mcp/layer"] {
        let (status, _, body) = call(&router, path, Some(&format!("Bearer {token}")), &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(
            body,
            json!({ "subject": "service", "client_id": "service", "scopes": "read", "jkt": null, "aud": RESOURCE }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_dpop_bound_token_is_accepted_with_a_proof_of_the_resource_url() {
    let auth = auth();
    let router = app(&auth);
    let key = p256();
    let token = service_token(&router, "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", Some(&key)).await;
    let authorization = format!("DPoP {token}");
    let (status, _, body) =
        call(&router, "/mcp", Some(&authorization), &[&key.proof_with_token("GET", MCP_URL, &token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["jkt"], key.jkt.as_str());
    // The layer, at its own URL; the `Host` header plays no part in the `htu` (RFC 9449 §11.5).
    let proof = key.proof_with_token("GET", "https://mcp.example.com/mcp/layer", &token);
    let request = Request::get("/mcp/layer")
        .header(header::HOST, "evil.example.net")
        .header(header::AUTHORIZATION, &authorization)
        .header("DPoP", proof)
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    // A proof for the `Host` the client sent instead is refused.
    let proof = key.proof_with_token("GET", "https://evil.example.net/mcp", &token);
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[&proof]).await, "DPoP", "invalid_dpop_proof");
}

/// Under `Router::nest` the route sees a shortened path; the proof names the URL the client
/// called, and that is what the guard checks it against.
#[tokio::test]
async fn a_nested_guarded_route_checks_the_full_path() {
    let auth = auth();
    let guard = auth.guard(MCP_URL).expect("a guard");
    let nested = Router::new().route("/tools", get(extracted)).with_state(guard);
    let router = Router::new().nest("/mcp/api", nested).merge(auth.router());
    let key = p256();
    let token = service_token(&router, "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", Some(&key)).await;
    let authorization = format!("DPoP {token}");
    let full = key.proof_with_token("GET", "https://mcp.example.com/mcp/api/tools", &token);
    let (status, _, body) = call(&router, "/mcp/api/tools", Some(&authorization), &[&full]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A proof for the path as the nested router sees it is not a proof for this URL.
    let stripped = key.proof_with_token("GET", "https://mcp.example.com/tools", &token);
    assert_refused(
        &call(&router, "/mcp/api/tools", Some(&authorization), &[&stripped]).await,
        "DPoP",
        "invalid_dpop_proof",
    );
}

#[tokio::test]
async fn a_request_without_a_token_gets_the_bare_challenges_with_resource_metadata() {
    let router = app(&auth());
    // A route that requires scopes names them (RFC 6750 §3; MCP 2025-11-25 clients ask for the
    // scopes of the first challenge).
    for (path, scope) in [("/mcp", ""), ("/mcp/layer", "scope=\"read\", "), ("/mcp/admin", "scope=\"admin\", ")] {
        let (status, headers, _) = call(&router, path, None, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            challenges(&headers),
            [
                format!("Bearer {scope}resource_metadata=\"{METADATA_URL}\""),
                format!("DPoP algs=\"{ALGS}\", {scope}resource_metadata=\"{METADATA_URL}\""),
            ],
            "RFC 6750 §3.1, RFC 9728 §5.1: {path}"
        );
    }
}

#[tokio::test]
async fn garbage_expired_and_foreign_tokens_are_invalid_token() {
    let auth = auth();
    let router = app(&auth);
    for garbage in ["garbage", "a.b.c", "not.a-token.at-all"] {
        assert_refused(
            &call(&router, "/mcp", Some(&format!("Bearer {garbage}")), &[]).await,
            "Bearer",
            "invalid_token",
        );
    }
    // Forged with the provider's key: good as a control, refused once expired beyond the skew.
    let now = unix_now();
    let valid = forge(&auth, &json!({}));
    assert_eq!(call(&router, "/mcp", Some(&format!("Bearer {valid}")), &[]).await.0, StatusCode::OK);
    let within_skew = forge(&auth, &json!({ "exp": now - 5 }));
    assert_eq!(call(&router, "/mcp", Some(&format!("Bearer {within_skew}")), &[]).await.0, StatusCode::OK);
    let expired = forge(&auth, &json!({ "exp": now - 120 }));
    assert_refused(&call(&router, "/mcp", Some(&format!("Bearer {expired}")), &[]).await, "Bearer", "invalid_token");
    // Another issuer.
    let foreign = forge(&auth, &json!({ "iss": "https://other.example.com" }));
    assert_refused(&call(&router, "/mcp", Some(&format!("Bearer {foreign}")), &[]).await, "Bearer", "invalid_token");
    // Another key: the signature fails.
    let other = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("builds");
    let stranger = forge(&other, &json!({}));
    assert_refused(&call(&router, "/mcp", Some(&format!("Bearer {stranger}")), &[]).await, "Bearer", "invalid_token");
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    let auth = auth();
    let router = app(&auth);
    // RFC 8707: a token for the issuer (no `resource`), or for another resource, is no token here.
    let for_issuer = service_token(&router, "scope=read", None).await;
    let for_api = service_token(&router, "scope=read&resource=https%3A%2F%2Fapi.example.com", None).await;
    for token in [for_issuer, for_api] {
        for path in ["/mcp", "/mcp/layer"] {
            let reply = call(&router, path, Some(&format!("Bearer {token}")), &[]).await;
            assert_refused(&reply, "Bearer", "invalid_token");
            assert_eq!(reply.2["error_description"], "the access token is not meant for this resource");
        }
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let auth = auth();
    let router = app(&auth);
    let token = mcp_token(&router).await;
    assert_eq!(call(&router, "/mcp", Some(&format!("Bearer {token}")), &[]).await.0, StatusCode::OK);
    let request = Request::post("/oauth/revoke")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .body(Body::from(format!("token={token}")))
        .expect("request");
    assert_eq!(send(&router, request).await.0, StatusCode::OK);
    assert_refused(&call(&router, "/mcp", Some(&format!("Bearer {token}")), &[]).await, "Bearer", "invalid_token");
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_it() {
    let auth = auth();
    let router = app(&auth);
    let token = mcp_token(&router).await;
    let (status, headers, body) = call(&router, "/mcp/admin", Some(&format!("Bearer {token}")), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenges(&headers),
        [format!("Bearer error=\"insufficient_scope\", scope=\"admin\", resource_metadata=\"{METADATA_URL}\"")]
    );
    // The layer's route needs `read`, which a `write` token lacks.
    let write = service_token(&router, "scope=write&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", None).await;
    let (status, headers, _) = call(&router, "/mcp/layer", Some(&format!("Bearer {write}")), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenges(&headers)[0].contains("scope=\"read\""), "{headers:?}");
}

#[tokio::test]
async fn an_operation_may_require_more_scopes_than_its_route() {
    // MCP 2025-11-25, runtime insufficient scope: the route lets a `read` token in, its operation
    // needs `write` too; the answer is the guard's, naming every scope the operation needs.
    let auth = auth();
    let router = app(&auth);
    let read = mcp_token(&router).await;
    let (status, headers, body) = call(&router, "/mcp/tool", Some(&format!("Bearer {read}")), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenges(&headers),
        [format!("Bearer error=\"insufficient_scope\", scope=\"read write\", resource_metadata=\"{METADATA_URL}\"")]
    );
    // Authorized again with both, the operation runs.
    let both = service_token(&router, "scope=read%20write&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", None).await;
    let (status, _, body) = call(&router, "/mcp/tool", Some(&format!("Bearer {both}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scopes"], "read write");
    // A DPoP-bound token is challenged with the DPoP scheme.
    let key = p256();
    let bound = service_token(&router, "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", Some(&key)).await;
    let proof = key.proof_with_token("GET", "https://mcp.example.com/mcp/tool", &bound);
    let (status, headers, body) = call(&router, "/mcp/tool", Some(&format!("DPoP {bound}")), &[&proof]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    let challenge = &challenges(&headers)[0];
    assert!(challenge.starts_with("DPoP error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"read write\""), "{challenge}");
    assert!(challenge.contains(&format!("resource_metadata=\"{METADATA_URL}\"")), "{challenge}");
}

#[tokio::test]
async fn dpop_bound_tokens_need_their_proof() {
    let auth = auth();
    let router = app(&auth);
    let key = p256();
    let token = service_token(&router, "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", Some(&key)).await;
    let authorization = format!("DPoP {token}");
    // RFC 9449 §7.2: a bound token as a bearer token.
    assert_refused(&call(&router, "/mcp", Some(&format!("Bearer {token}")), &[]).await, "DPoP", "invalid_token");
    // No proof.
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[]).await, "DPoP", "invalid_dpop_proof");
    // A proof for another URL, method, or token.
    let wrong_htu = key.proof_with_token("GET", "https://mcp.example.com/other", &token);
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[&wrong_htu]).await, "DPoP", "invalid_dpop_proof");
    let wrong_htm = key.proof_with_token("POST", MCP_URL, &token);
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[&wrong_htm]).await, "DPoP", "invalid_dpop_proof");
    let wrong_ath = key.proof_with_token("GET", MCP_URL, "another token");
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[&wrong_ath]).await, "DPoP", "invalid_dpop_proof");
    let no_ath = key.proof("GET", MCP_URL);
    assert_refused(&call(&router, "/mcp", Some(&authorization), &[&no_ath]).await, "DPoP", "invalid_dpop_proof");
    // A proof is accepted once (RFC 9449 §11.1).
    let proof = key.proof_with_token("GET", MCP_URL, &token);
    assert_eq!(call(&router, "/mcp", Some(&authorization), &[&proof]).await.0, StatusCode::OK);
    let replayed = call(&router, "/mcp", Some(&authorization), &[&proof]).await;
    assert_refused(&replayed, "DPoP", "invalid_dpop_proof");
    assert_eq!(replayed.2["error_description"], "the DPoP proof was already used: its `jti` was seen before");
    // An unbound token with the DPoP scheme.
    let bearer = mcp_token(&router).await;
    let proof = key.proof_with_token("GET", MCP_URL, &bearer);
    assert_refused(&call(&router, "/mcp", Some(&format!("DPoP {bearer}")), &[&proof]).await, "Bearer", "invalid_token");
}

#[tokio::test]
async fn a_provider_requiring_nonces_answers_use_dpop_nonce() {
    let auth = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .protected_resource(RESOURCE, ["read"])
        .expect("resource")
        .require_dpop_nonce(true)
        .build()
        .expect("builds");
    let router = app(&auth);
    let key = p256();
    // The token endpoint asks for a nonce first.
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header("DPoP", key.proof("POST", TOKEN_URL))
        .body(Body::from("grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp"))
        .expect("request");
    let (_, headers, _) = send(&router, request).await;
    let nonce = headers["dpop-nonce"].to_str().expect("nonce").to_owned();
    let proof = key.sign(&with(claims("POST", TOKEN_URL), "nonce", nonce));
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header("DPoP", proof)
        .body(Body::from("grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp"))
        .expect("request");
    let (status, _, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    // At the resource, a proof without a nonce: 401 `use_dpop_nonce` with a fresh one.
    let reply =
        call(&router, "/mcp", Some(&format!("DPoP {token}")), &[&key.proof_with_token("GET", MCP_URL, &token)]).await;
    assert_refused(&reply, "DPoP", "use_dpop_nonce");
    assert!(reply.1.contains_key("dpop-nonce"), "RFC 9449 §9");
}

#[tokio::test]
async fn the_protected_resource_metadata_is_served_at_both_paths_with_cors() {
    let router = app(&auth());
    let expected = json!({
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["read", "write"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    });
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
        let request =
            Request::get(path).header(header::ORIGIN, "https://app.example.org").body(Body::empty()).expect("request");
        let (status, headers, body) = send_json(&router, request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body, expected, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{path}");
    }
    // The guard advertises the same document.
    assert_eq!(auth().guard(RESOURCE).expect("guard").resource_metadata_url(), METADATA_URL);
}

#[test]
fn a_guard_needs_an_absolute_resource_url() {
    let auth = auth();
    assert!(auth.guard("not a url").is_err());
    assert!(auth.guard("https://mcp.example.com/mcp#frag").is_err());
    assert_eq!(
        auth.guard("https://mcp.example.com").expect("guard").resource_metadata_url(),
        "https://mcp.example.com/.well-known/oauth-protected-resource"
    );
}
