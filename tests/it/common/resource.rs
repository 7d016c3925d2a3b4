//! Calls to a resource server's guarded routes and what they answer (RFC 6750 §3, RFC 9449 §7,
//! RFC 9728 §5.1), and access tokens forged with a provider's signing key where a claim must be
//! set by hand.

use attesto::Attesto;
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

use super::{RESOURCE, TestHost, send, unix_now};

/// The protected-resource metadata URL of the MCP resource (`RESOURCE`), RFC 9728 §3.1.
pub(crate) const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// A guarded route's answer: status, headers, and the JSON body (`null` if there is none).
pub(crate) type Reply = (StatusCode, HeaderMap, Value);

/// An access token for `RESOURCE` signed with `auth`'s key, with `claims` over those of a good
/// token of the `service` client.
pub(crate) fn forge(auth: &Attesto<TestHost>, claims: &Value) -> String {
    let key = auth.keys().signing_key();
    let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": key.kid() });
    let now = unix_now();
    let mut all = json!({
        "iss": auth.issuer().as_str(), "sub": "service", "aud": RESOURCE, "exp": now + 60, "iat": now,
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()), "client_id": "service", "scope": "read",
    });
    for (name, value) in claims.as_object().expect("an object") {
        all[name] = value.clone();
    }
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(all.to_string()));
    let signature = key.sign(input.as_bytes()).expect("signing");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `GET path` with an optional `Authorization` and `DPoP` proofs.
pub(crate) async fn call(router: &Router, path: &str, authorization: Option<&str>, proofs: &[&str]) -> Reply {
    let mut request = Request::get(path);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let (status, headers, body) = send(router, request.body(Body::empty()).expect("request")).await;
    (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The `WWW-Authenticate` challenges of an answer, in order.
pub(crate) fn challenges(headers: &HeaderMap) -> Vec<&str> {
    headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().expect("ASCII")).collect()
}

/// A 401 `error` with one challenge of `scheme` that carries `resource_metadata` (RFC 9728 §5.1).
pub(crate) fn assert_refused(reply: &Reply, scheme: &str, error: &str) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let challenges = challenges(headers);
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(challenges[0].starts_with(&format!("{scheme} error=\"{error}\"")), "{challenges:?}");
    assert!(challenges[0].ends_with(&format!(", resource_metadata=\"{METADATA_URL}\"")), "{challenges:?}");
}
