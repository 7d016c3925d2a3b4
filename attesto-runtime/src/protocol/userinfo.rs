//! Signed userinfo responses (OpenID Connect Core §5.3.2): the claims as a JWT the provider signs,
//! for a client that registered `userinfo_signed_response_alg`.

use serde_json::{Map, Value};

use crate::keys::{Key, KeyError};
use crate::protocol::jwt;

/// The media type of a signed userinfo response (OIDC Core §5.3.2).
pub(crate) const CONTENT_TYPE: &str = "application/jwt";

/// The `typ` of a signed userinfo response: OIDC names none, and RFC 7519 §5.1's `JWT` says only
/// that it is one.
const TYP: &str = "JWT";

/// `claims` signed with `key` for `client_id`: OIDC Core §5.3.2 asks for `iss` and `aud` in a
/// signed response, and they are this provider's and the client's whatever the host's claims
/// say, so that the response cannot be taken for another provider's or sent to another client.
pub(crate) fn sign(
    key: &Key,
    issuer: &str,
    client_id: &str,
    mut claims: Map<String, Value>,
) -> Result<String, KeyError> {
    claims.insert("iss".to_owned(), Value::String(issuer.to_owned()));
    claims.insert("aud".to_owned(), Value::String(client_id.to_owned()));
    jwt::encode(key, TYP, &claims)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;
    use crate::keys::Algorithm;

    #[test]
    fn the_issuer_and_audience_are_the_providers_and_the_clients() {
        let key = Key::generate(Algorithm::ES256).expect("key");
        let Value::Object(claims) =
            json!({"sub": "alice", "email": "a@example.com", "iss": "https://evil.example", "aud": "other"})
        else {
            panic!("an object")
        };
        let token = sign(&key, "https://auth.example.com", "app", claims).expect("signed");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!((header["typ"].as_str(), header["alg"].as_str()), (Some("JWT"), Some("ES256")));
        let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(
            payload,
            json!({"sub": "alice", "email": "a@example.com", "iss": "https://auth.example.com", "aud": "app"})
        );
        let input = format!("{}.{}", parts[0], parts[1]);
        assert!(key.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(parts[2]).expect("b64")));
    }
}
