//! JWT Secured Authorization Response Mode (JARM, OpenID Foundation, Final): an authorization
//! response as one signed JWT, sent as the `response` parameter.
//!
//! JARM §2.1: the JWT holds the response parameters as claims (`code` and `state`, or `error`,
//! `error_description` and `state`), plus `iss` (the issuer, which also stands for the RFC 9207
//! `iss` parameter: RFC 9207 §2.4), `aud` (the client) and `exp`. §2.2: it is signed with the
//! client's `authorization_signed_response_alg`; encryption is not offered. JARM defines no
//! `typ`, so the header carries the generic `JWT` of RFC 7519 §5.1.

use serde_json::{Map, Value};

use crate::keys::{Key, KeyError};
use crate::protocol::jwt;

/// How long a response JWT is accepted: JARM §2.1 wants it short-lived and recommends 10 minutes
/// at most. The client reads it at once; the code inside lives 60 seconds anyway.
pub(crate) const RESPONSE_TTL: u64 = 600;

/// The name of the one parameter a JARM response carries (JARM §2.3).
pub(crate) const RESPONSE_PARAMETER: &str = "response";

/// The claims JARM sets itself (§2.1); a response parameter never overrides them.
const RESERVED: &[&str] = &["iss", "aud", "exp"];

/// What a response JWT is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorizationResponse<'a> {
    /// The issuer identifier.
    pub(crate) issuer: &'a str,
    /// The client the response goes to, its only audience.
    pub(crate) client_id: &'a str,
    /// The response parameters, in order: `code` or `error` and `error_description`, then `state`.
    pub(crate) params: &'a [(&'a str, &'a str)],
    /// Now, in seconds since the epoch.
    pub(crate) now: u64,
}

/// The claims of a response JWT (JARM §2.1): `iss`, `aud`, `exp`, then each parameter.
pub(crate) fn claims(response: &AuthorizationResponse<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".to_owned(), response.issuer.into());
    claims.insert("aud".to_owned(), response.client_id.into());
    claims.insert("exp".to_owned(), (response.now + RESPONSE_TTL).into());
    for (name, value) in response.params {
        if !RESERVED.contains(name) {
            claims.insert((*name).to_owned(), (*value).into());
        }
    }
    claims
}

/// Signs a response JWT with `key`.
pub(crate) fn sign(key: &Key, response: &AuthorizationResponse<'_>) -> Result<String, KeyError> {
    jwt::encode(key, "JWT", &claims(response))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::keys::Algorithm;

    fn part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).expect("three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    }

    #[test]
    fn a_success_response_carries_the_code_and_state_for_its_client() {
        let key = Key::generate(Algorithm::ES256).expect("key");
        let params = [("code", "c0de"), ("state", "st")];
        let response =
            AuthorizationResponse { issuer: "https://as.example", client_id: "app", params: &params, now: 1_000 };
        let token = sign(&key, &response).expect("signs");
        assert_eq!(
            part(&token, 0),
            serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()}),
            "the header names the key and its algorithm"
        );
        assert_eq!(
            part(&token, 1),
            serde_json::json!({"iss": "https://as.example", "aud": "app", "exp": 1_600, "code": "c0de", "state": "st"})
        );
        let (input, signature) = token.rsplit_once('.').expect("a signature");
        assert!(key.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).expect("base64url")));
    }

    #[test]
    fn an_error_response_carries_the_error_and_never_overrides_the_reserved_claims() {
        let params = [
            ("error", "access_denied"),
            ("error_description", "the user denied the request"),
            ("iss", "https://evil.example"),
            ("aud", "someone-else"),
            ("exp", "9999999999"),
        ];
        let response =
            AuthorizationResponse { issuer: "https://as.example", client_id: "app", params: &params, now: 5 };
        assert_eq!(
            Value::Object(claims(&response)),
            serde_json::json!({
                "iss": "https://as.example",
                "aud": "app",
                "exp": 605,
                "error": "access_denied",
                "error_description": "the user denied the request",
            })
        );
    }

    #[test]
    fn every_signing_algorithm_signs_a_response() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256] {
            let key = Key::generate(alg).expect("key");
            let response =
                AuthorizationResponse { issuer: "https://as.example", client_id: "app", params: &[], now: 0 };
            let token = sign(&key, &response).expect("signs");
            assert_eq!(part(&token, 0)["alg"], alg.as_str());
        }
    }
}
