//! JWT introspection responses (RFC 9701) through the real router: an active and an inactive
//! token as signed JWTs verified against the provider's JWKS, `Accept` negotiation, the caller as
//! the audience, errors, a client whose algorithm the server cannot sign with, and the
//! `introspection_signed_response_alg` and encryption members at registration.

use std::sync::Arc;

use crate::common::*;
use attesto::{Algorithm, Attesto, Client, ClientStore, Key, MemoryRegistrations, PrincipalStore, Scopes, SecretHash};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

const INTROSPECT: &str = "/oauth/introspect";
const JWKS: &str = "/oauth/jwks";
const JWT_MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// The test clients, and `rs256-rs`: a resource server of the host's table that asks for RS256
/// introspection responses, which the ES256 provider cannot sign.
fn router() -> Router {
    let mut clients = clients();
    clients.insert(
        "rs256-rs".to_owned(),
        Client::confidential("rs256-rs", SecretHash::of(SECRET))
            .with_scopes(Scopes::parse("read").expect("scopes"))
            .with_introspection_signed_response_alg(Algorithm::RS256),
    );
    provider(TestHost { clients: Arc::new(clients), events: Arc::default() }).router()
}

/// An access token of `service` for `read`, by the client credentials grant.
async fn access_token(router: &Router) -> String {
    let (status, _, body) = token(
        router,
        TestHost::PATHS.token,
        Some(&basic("service", SECRET)),
        "grant_type=client_credentials&scope=read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("an access token").to_owned()
}

/// `POST {introspection}` of `token` by `caller`, with an optional `Accept` header.
async fn introspect(
    router: &Router,
    caller: &str,
    token: &str,
    accept: Option<&str>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::post(INTROSPECT)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic(caller, SECRET));
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("token", token).finish();
    send(router, request.body(Body::from(body)).expect("request")).await
}

/// Verifies a JWT introspection response against the served JWKS (RFC 9701 §5): the header
/// (`typ: token-introspection+jwt`, the signing key's `kid` and algorithm), the signature, `iss`,
/// `aud` = `caller` and an `iat` of now; returns its claims.
async fn verify(router: &Router, token: &str, caller: &str) -> Value {
    let (status, _, jwks) = send_json(router, Request::get(JWKS).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some("token-introspection+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = jwks.find(&header.kid.expect("kid in the header")).expect("the signing key is in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[caller]);
    validation.set_issuer(&[ISSUER]);
    // RFC 9701 §5 has no `exp`.
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let claims = decode::<Value>(token, &key, &validation).expect("the response verifies").claims;
    let iat = claims["iat"].as_u64().expect("a numeric iat");
    assert!(iat.abs_diff(unix_now()) <= 5, "iat {iat} is now");
    claims
}

/// The JWT body of a JWT introspection response, checking its headers.
fn jwt_body(reply: &(StatusCode, HeaderMap, Vec<u8>)) -> String {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{}", String::from_utf8_lossy(body));
    assert_eq!(headers[header::CONTENT_TYPE], JWT_MEDIA_TYPE);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    String::from_utf8(body.clone()).expect("a compact JWS")
}

/// The JSON body of a plain introspection response, checking its headers.
fn json_body(reply: &(StatusCode, HeaderMap, Vec<u8>)) -> Value {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{}", String::from_utf8_lossy(body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(body).expect("JSON")
}

#[tokio::test]
async fn an_active_token_is_described_in_a_signed_jwt_for_the_caller() {
    let router = router();
    let token = access_token(&router).await;
    let plain = json_body(&introspect(&router, "service", &token, None).await);
    assert_eq!(plain["active"], true);
    let jwt = jwt_body(&introspect(&router, "service", &token, Some(JWT_MEDIA_TYPE)).await);
    let mut claims = verify(&router, &jwt, "service").await;
    claims.as_object_mut().expect("an object").remove("iat");
    assert_eq!(claims, json!({"iss": ISSUER, "aud": "service", "token_introspection": plain}));
    assert_eq!(claims["token_introspection"]["client_id"], "service");
    assert_eq!(claims["token_introspection"]["scope"], "read");
}

#[tokio::test]
async fn an_inactive_token_is_a_signed_active_false() {
    let router = router();
    for token in ["garbage", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"] {
        let jwt = jwt_body(&introspect(&router, "service", token, Some(JWT_MEDIA_TYPE)).await);
        let claims = verify(&router, &jwt, "service").await;
        assert_eq!(claims["token_introspection"], json!({"active": false}), "{token}");
    }
}

#[tokio::test]
async fn the_audience_is_the_caller_not_the_tokens_client() {
    let router = router();
    let token = access_token(&router).await;
    // `code-only` may not learn about `service`'s token: inactive, and addressed to `code-only`.
    let jwt = jwt_body(&introspect(&router, "code-only", &token, Some(JWT_MEDIA_TYPE)).await);
    let claims = verify(&router, &jwt, "code-only").await;
    assert_eq!(claims["aud"], "code-only");
    assert_eq!(claims["token_introspection"], json!({"active": false}));
}

#[tokio::test]
async fn json_stays_the_default_and_the_jwt_is_sent_only_when_asked_for() {
    let router = router();
    let token = access_token(&router).await;
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("text/html"),
        Some("application/json, application/token-introspection+jwt;q=0.5"),
        Some("application/token-introspection+jwt;q=0"),
    ] {
        let body = json_body(&introspect(&router, "service", &token, accept).await);
        assert_eq!(body["active"], true, "{accept:?}");
    }
    for accept in [
        "application/token-introspection+jwt",
        "application/json;q=0.5, application/token-introspection+jwt",
        "application/token-introspection+jwt, application/json",
    ] {
        let jwt = jwt_body(&introspect(&router, "service", &token, Some(accept)).await);
        assert_eq!(verify(&router, &jwt, "service").await["token_introspection"]["active"], true, "{accept}");
    }
}

#[tokio::test]
async fn errors_stay_json() {
    let router = router();
    // A wrong secret: 401 invalid_client as JSON, whatever was accepted.
    let request = Request::post(INTROSPECT)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", "wrong"))
        .header(header::ACCEPT, JWT_MEDIA_TYPE)
        .body(Body::from("token=x"))
        .expect("request");
    let reply = send_json(&router, request).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(reply.2["error_description"], "client authentication failed");
    // A public client may not introspect (RFC 7662 §2.1; RFC 9701 §4 requires authentication):
    // 400, since it sent no `Authorization` header (RFC 6749 §5.2), with the answer of any failed
    // authentication.
    let request = Request::post(INTROSPECT)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, JWT_MEDIA_TYPE)
        .body(Body::from("token=x&client_id=spa"))
        .expect("request");
    let reply = send_json(&router, request).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client");
    assert_eq!(reply.2["error_description"], "client authentication failed");
}

#[tokio::test]
async fn a_caller_whose_algorithm_the_server_cannot_sign_with_gets_server_error() {
    let router = router();
    let token = access_token(&router).await;
    let (status, headers, body) = introspect(&router, "rs256-rs", &token, Some(JWT_MEDIA_TYPE)).await;
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_error(&(status, headers, body.clone()), StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert_eq!(body["error_description"], "the introspection response could not be signed");
    // JSON is still served to it.
    assert_eq!(json_body(&introspect(&router, "rs256-rs", &token, None).await)["active"], false);
}

// ---------------------------------------------------------------------------------------------
// Registration and discovery
// ---------------------------------------------------------------------------------------------

/// A provider with open registration in memory and no client of its own.
#[derive(Clone, Default)]
#[attesto::provider(registration = "registrations")]
struct RegisteringHost {
    registrations: MemoryRegistrations,
}

impl ClientStore for RegisteringHost {}

impl PrincipalStore for RegisteringHost {
    async fn authenticate(&self, _: &attesto::LoginRequest<'_>) -> Result<attesto::LoginOutcome, attesto::HostError> {
        Ok(attesto::LoginOutcome::LoginRequired)
    }
}

fn registering_router() -> Router {
    Attesto::builder(RegisteringHost::default())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .build()
        .expect("provider")
        .router()
}

async fn register(router: &Router, extra: Value) -> (StatusCode, HeaderMap, Value) {
    let mut metadata = json!({"grant_types": ["refresh_token"], "response_types": []});
    for (name, value) in extra.as_object().expect("an object") {
        metadata[name] = value.clone();
    }
    let request = Request::post("/oauth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(metadata.to_string()))
        .expect("request");
    send_json(router, request).await
}

#[tokio::test]
async fn registration_accepts_the_servers_algorithm_and_refuses_the_rest() {
    let router = registering_router();
    let (status, _, client) = register(&router, json!({"introspection_signed_response_alg": "ES256"})).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["introspection_signed_response_alg"], "ES256");
    let refusals = [
        (
            json!({"introspection_signed_response_alg": "RS256"}),
            "`introspection_signed_response_alg` must be ES256, the algorithm this server signs with",
        ),
        (
            json!({"introspection_signed_response_alg": "none"}),
            "`introspection_signed_response_alg` must be ES256, the algorithm this server signs with",
        ),
        (json!({"introspection_signed_response_alg": 1}), "`introspection_signed_response_alg` must be a string"),
        (
            json!({"introspection_encrypted_response_alg": "RSA-OAEP-256"}),
            "`introspection_encrypted_response_alg` is not supported: this server signs responses and does not encrypt them",
        ),
        (
            json!({"introspection_encrypted_response_enc": "A256GCM"}),
            "`introspection_encrypted_response_enc` is not supported: this server signs responses and does not encrypt them",
        ),
    ];
    for (extra, description) in refusals {
        let reply = register(&router, extra.clone()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client_metadata");
        assert_eq!(reply.2["error_description"], description, "{extra}");
    }
}

#[tokio::test]
async fn discovery_lists_the_introspection_signing_algorithm() {
    let router = registering_router();
    let (status, _, document) = send_json(
        &router,
        Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["introspection_signing_alg_values_supported"], json!(["ES256"]));
    assert_eq!(document["introspection_endpoint"], format!("{ISSUER}/oauth/introspect"));
}
