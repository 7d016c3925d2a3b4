//! The token endpoint with the client_credentials grant, through the real router.

use crate::common::*;
use axum::body::Body;
use http::{Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

const TOKEN: &str = "/oauth/token";

/// Verifies an access token against the served JWKS with the algorithm the JWKS advertises for
/// its key, and returns its claims.
async fn verify(router: &axum::Router, token: &str, audience: &str) -> serde_json::Value {
    let (status, _, jwks) = send_json(router, Request::get("/oauth/jwks").body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    let kid = header.kid.expect("kid in header");
    let jwk = jwks.find(&kid).expect("the signing key is in the JWKS");
    let advertised = jwk.common.key_algorithm.expect("alg in the JWK");
    assert_eq!(format!("{advertised:?}"), format!("{:?}", header.alg));
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    decode::<serde_json::Value>(token, &key, &validation).expect("the token verifies").claims
}

#[tokio::test]
async fn client_secret_basic_gets_a_verifiable_rfc9068_token() {
    let router = test_provider().router();
    let response =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&scope=read+write").await;
    let (status, headers, body) = &response;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::PRAGMA], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "read write");
    let claims = verify(&router, body["access_token"].as_str().expect("token"), ISSUER).await;
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "service", "RFC 9068 §2.2: sub is the client for client_credentials");
    assert_eq!(claims["client_id"], "service");
    assert_eq!(claims["aud"], ISSUER, "no resource: the default audience");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"), 900);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22), "jti: {claims}");
}

#[tokio::test]
async fn client_secret_post_works_for_a_client_registered_for_it() {
    let router = test_provider().router();
    let body = format!("grant_type=client_credentials&client_id=poster&client_secret={}", SECRET.replace(' ', "+"));
    let (status, _, body) = token(&router, TOKEN, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No scope asked: the default policy grants the client's allowed scopes (RFC 6749 §3.3).
    assert_eq!(body["scope"], "read write admin");
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let router = test_provider().router();
    let (status, _, body) =
        token(&router, TOKEN, Some(&basic("weird:id/é", "p@ss:w rd")), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn every_token_has_a_fresh_jti() {
    let router = test_provider().router();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let (_, _, body) =
            token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials").await;
        let token = body["access_token"].as_str().expect("token").to_owned();
        let claims = verify(&router, &token, ISSUER).await;
        assert!(seen.insert(claims["jti"].as_str().expect("jti").to_owned()));
    }
}

#[tokio::test]
async fn resource_sets_the_audience() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    let (status, _, body) =
        token(&router, TOKEN, Some(&auth), &format!("grant_type=client_credentials&resource={RESOURCE}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify(&router, body["access_token"].as_str().expect("token"), RESOURCE).await;
    assert_eq!(claims["aud"], RESOURCE);

    // Repeatable (RFC 8707 §2): several resources give an audience array; case and default port
    // normalised when matching, the configured form in `aud`.
    let body = format!("grant_type=client_credentials&resource={RESOURCE}&resource=HTTPS://API.example.com:443/");
    let (status, _, body) = token(&router, TOKEN, Some(&auth), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify(&router, body["access_token"].as_str().expect("token"), RESOURCE).await;
    assert_eq!(claims["aud"], serde_json::json!([RESOURCE, "https://api.example.com"]));
}

#[tokio::test]
async fn unknown_resource_is_invalid_target() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    let response =
        token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&resource=https://evil.example.com").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test]
async fn malformed_resource_is_invalid_target() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    for resource in ["https%3A%2F%2Fmcp.example.com%2Fmcp%23frag", "relative/path", "%2Fabsolute-path-only"] {
        let response =
            token(&router, TOKEN, Some(&auth), &format!("grant_type=client_credentials&resource={resource}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_target");
    }
}

#[tokio::test]
async fn scopes_are_narrowed_to_what_the_client_may_hold() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    let (status, _, body) = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&scope=read+delete").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read", "RFC 6749 §3.3: the response says which scopes were granted");
}

#[tokio::test]
async fn no_allowed_scope_is_invalid_scope() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    let response = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&scope=delete").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    // A scope token outside the RFC 6749 §3.3 grammar.
    let response = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&scope=read%22").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let response = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&scope=read++write").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn unknown_client_and_wrong_secret_are_the_same_invalid_client() {
    let router = test_provider().router();
    let unknown = token(&router, TOKEN, Some(&basic("nobody", SECRET)), "grant_type=client_credentials").await;
    let wrong = token(&router, TOKEN, Some(&basic("service", "wrong")), "grant_type=client_credentials").await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(unknown.0, wrong.0);
    assert_eq!(unknown.2, wrong.2, "no enumeration through the body");
    assert_eq!(unknown.1[header::WWW_AUTHENTICATE], wrong.1[header::WWW_AUTHENTICATE]);
    assert!(unknown.1[header::WWW_AUTHENTICATE].to_str().expect("ascii").starts_with("Basic "));

    let unknown = token(&router, TOKEN, None, "grant_type=client_credentials&client_id=nobody&client_secret=x").await;
    let wrong = token(&router, TOKEN, None, "grant_type=client_credentials&client_id=poster&client_secret=x").await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "invalid_client");
    assert_eq!(unknown.2, wrong.2);
    assert!(unknown.1.get(header::WWW_AUTHENTICATE).is_none(), "no challenge without Basic");
}

#[tokio::test]
async fn invalid_client_over_basic_is_401_with_a_challenge() {
    let router = test_provider().router();
    for authorization in ["Basic !!!not-base64", "Basic bm9jb2xvbg==", "Bearer abc", "Basic"] {
        let response = token(&router, TOKEN, Some(authorization), "grant_type=client_credentials").await;
        assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(response.1[header::WWW_AUTHENTICATE].to_str().expect("ascii").starts_with("Basic realm="));
    }
}

#[tokio::test]
async fn the_registered_auth_method_is_enforced() {
    let router = test_provider().router();
    // `poster` is registered for client_secret_post.
    let response = token(&router, TOKEN, Some(&basic("poster", SECRET)), "grant_type=client_credentials").await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    // `service` is registered for client_secret_basic.
    let body = format!("grant_type=client_credentials&client_id=service&client_secret={}", SECRET.replace(' ', "+"));
    assert_error(&token(&router, TOKEN, None, &body).await, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn client_credentials_needs_authentication() {
    let router = test_provider().router();
    // A public client cannot use client_credentials (RFC 6749 §4.4).
    let response = token(&router, TOKEN, None, "grant_type=client_credentials&client_id=spa").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    let response = token(&router, TOKEN, None, "grant_type=client_credentials").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    let response = token(&router, TOKEN, None, "grant_type=client_credentials&client_secret=x").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn two_authentication_methods_are_invalid_request() {
    let router = test_provider().router();
    let body = format!("grant_type=client_credentials&client_secret={}", SECRET.replace(' ', "+"));
    let response = token(&router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    // A client_id in the body that contradicts the header.
    let response =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&client_id=poster").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    // The same client_id in both is fine.
    let (status, _, _) =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&client_id=service").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client() {
    let router = test_provider().router();
    let response = token(&router, TOKEN, Some(&basic("code-only", SECRET)), "grant_type=client_credentials").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=write",
        "grant_type=client_credentials&client_id=service&client_id=service",
    ] {
        let response = token(&router, TOKEN, Some(&auth), body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(response.2["error_description"].as_str().expect("description").contains("repeated"));
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_invalid_request() {
    let router = test_provider().router();
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut request = Request::post(TOKEN).header(header::AUTHORIZATION, basic("service", SECRET));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response =
            send_json(&router, request.body(Body::from("grant_type=client_credentials")).expect("request")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // A charset parameter is fine.
    let request = Request::post(TOKEN)
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=UTF-8")
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    assert_eq!(send(&router, request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_malformed_body_is_invalid_request() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    for body in [
        &b"grant_type=client_credentials&scope=%ZZ"[..],
        b"grant_type=client_credentials&scope=%4",
        b"grant_type=client_credentials&scope=%FF%FE",
        b"grant_type=client_credentials&scope=\xff",
    ] {
        let request = Request::post(TOKEN)
            .header(header::AUTHORIZATION, &auth)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_vec()))
            .expect("request");
        let response = send_json(&router, request).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[tokio::test]
async fn missing_or_unknown_grant_type() {
    let router = test_provider().router();
    let auth = basic("service", SECRET);
    assert_error(&token(&router, TOKEN, Some(&auth), "scope=read").await, StatusCode::BAD_REQUEST, "invalid_request");
    // RFC 6749 §3.2: an empty value counts as omitted.
    assert_error(&token(&router, TOKEN, Some(&auth), "grant_type=").await, StatusCode::BAD_REQUEST, "invalid_request");
    for grant in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "client-credentials"] {
        let response = token(&router, TOKEN, Some(&auth), &format!("grant_type={grant}")).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let router = test_provider().router();
    let body = format!("grant_type=client_credentials&scope={}", "a".repeat(70 * 1024));
    let response = token(&router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn a_host_error_is_503_without_internals() {
    let router = test_provider().router();
    let response = token(&router, TOKEN, Some(&basic("db-down", SECRET)), "grant_type=client_credentials").await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    let text = response.2.to_string();
    assert!(!text.contains("postgres") && !text.contains("secret-host"), "internals leaked: {text}");
}

#[tokio::test]
async fn the_host_event_sink_hears_issued_and_denied_tokens() {
    let auth = test_provider();
    let router = auth.router();
    token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&scope=read").await;
    token(&router, TOKEN, Some(&basic("service", "wrong")), "grant_type=client_credentials").await;
    token(&router, TOKEN, None, "grant_type=password").await;
    assert_eq!(
        auth.provider().events(),
        ["issued service client_credentials read", "denied service invalid_client", "denied - unsupported_grant_type"]
    );
}

#[tokio::test]
async fn only_post_is_routed() {
    let router = test_provider().router();
    let (status, _, _) = send(&router, Request::get(TOKEN).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn hostile_inputs_never_yield_a_server_error() {
    let router = test_provider().router();
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"&&&===&".to_vec(),
        b"=".to_vec(),
        b"grant_type".to_vec(),
        b"%00=%00".to_vec(),
        b"grant_type=client_credentials&resource=".to_vec(),
        b"grant_type=client_credentials&resource=http://[::1".to_vec(),
        b"grant_type=client_credentials&scope=\x00".to_vec(),
        vec![0xff; 1000],
        "grant_type=client_credentials&resource=https://mcp.example.com/mcp".repeat(400).into_bytes(),
    ];
    let authorizations =
        [None, Some(basic("service", SECRET)), Some("Basic Og==".to_owned()), Some("Basic =====".to_owned())];
    for body in &bodies {
        for authorization in &authorizations {
            let mut request = Request::post(TOKEN).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            if let Some(authorization) = authorization {
                request = request.header(header::AUTHORIZATION, authorization.as_str());
            }
            let (status, _, _) = send(&router, request.body(Body::from(body.clone())).expect("request")).await;
            assert!(
                status.is_client_error() || status.is_success(),
                "{status} for {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

/// A host with its own scope policy and secret check, counting verifications.
#[derive(Clone)]
#[attesto::provider(prefix = "/auth")]
struct PolicyHost {
    verifications: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl attesto::ClientStore for PolicyHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<attesto::Client>, attesto::HostError> {
        Ok(clients().remove(client_id))
    }

    async fn verify_client_secret(&self, client: &attesto::Client, secret: &str) -> Result<bool, attesto::HostError> {
        self.verifications.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(client.secret_hash.is_some_and(|hash| hash.verify(secret)))
    }
}

impl attesto::PrincipalStore for PolicyHost {
    async fn authenticate(&self, _: &attesto::LoginRequest<'_>) -> Result<attesto::LoginOutcome, attesto::HostError> {
        Ok(attesto::LoginOutcome::LoginRequired)
    }

    async fn build_principal(
        &self,
        _: &attesto::Client,
        subject: &str,
        _: &attesto::Scopes,
    ) -> Result<attesto::Principal, attesto::HostError> {
        let mut principal = attesto::Principal::new(subject);
        principal.claims.insert("tenant".to_owned(), "acme".into());
        // A host claim may not overwrite what attesto sets.
        principal.claims.insert("iss".to_owned(), "https://evil.example.com".into());
        Ok(principal)
    }
}

impl attesto::ScopePolicy for PolicyHost {
    async fn authorize_scope(
        &self,
        _: &attesto::Client,
        requested: &attesto::Scopes,
    ) -> Result<attesto::ScopeDecision, attesto::HostError> {
        Ok(if requested.contains("admin") {
            attesto::ScopeDecision::Refuse("admin is never granted to machines".into())
        } else {
            attesto::ScopeDecision::Grant(attesto::Scopes::parse("fixed").expect("valid"))
        })
    }
}

#[tokio::test]
async fn the_host_scope_policy_and_claims_are_used() {
    let host = PolicyHost { verifications: Default::default() };
    let router = provider(host).router();
    let auth = basic("service", SECRET);
    let response = token(&router, "/auth/token", Some(&auth), "grant_type=client_credentials&scope=admin").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(response.2["error_description"], "admin is never granted to machines");
    let (status, _, body) =
        token(&router, "/auth/token", Some(&auth), "grant_type=client_credentials&scope=read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "fixed");
    let (_, _, jwks) = send_json(&router, Request::get("/auth/jwks").body(Body::empty()).expect("request")).await;
    let jwks: JwkSet = serde_json::from_value(jwks).expect("jwks");
    let token = body["access_token"].as_str().expect("token");
    let key = DecodingKey::from_jwk(&jwks.keys[0]).expect("key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[ISSUER]);
    let claims = decode::<serde_json::Value>(token, &key, &validation).expect("verifies").claims;
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["iss"], ISSUER, "registered claims are attesto's");
}

#[tokio::test]
async fn an_unknown_client_still_costs_a_secret_verification() {
    let host = PolicyHost { verifications: Default::default() };
    let counter = host.verifications.clone();
    let router = provider(host).router();
    let count = || counter.load(std::sync::atomic::Ordering::SeqCst);
    token(&router, "/auth/token", Some(&basic("service", "wrong")), "grant_type=client_credentials").await;
    assert_eq!(count(), 1);
    token(&router, "/auth/token", Some(&basic("nobody", "wrong")), "grant_type=client_credentials").await;
    assert_eq!(count(), 2, "the decoy client is verified like a real one");
}

#[tokio::test]
async fn too_many_parameters_are_invalid_request() {
    let router = test_provider().router();
    let mut body = String::from("grant_type=client_credentials");
    for i in 0..200 {
        body.push_str(&format!("&x{i}=1"));
    }
    let response = token(&router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(response.2["error_description"], "too many parameters");
    // Unknown parameters within the bound are ignored (RFC 6749 §3.2).
    let (status, _, _) =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&x=1&y=2").await;
    assert_eq!(status, StatusCode::OK);
}
