//! JWT introspection responses (RFC 9701): the RFC 7662 response, signed by the provider, for a
//! caller that asks for `application/token-introspection+jwt`.
//!
//! RFC 9701 §5: the JWT's header has `typ: token-introspection+jwt`; its claims are `iss` (the
//! provider), `aud` (the caller, a resource server or the token's client), `iat`, and
//! `token_introspection`, the JSON introspection response itself, `{"active": false}` included.
//! Encryption (RFC 9701 §5, optional) is not offered.

use serde::Serialize;
use serde_json::Value;

use crate::keys::{Key, KeyError};
use crate::protocol::jwt;

/// The media type of a JWT introspection response (RFC 9701 §8.2), and what a caller puts in
/// `Accept` to get one (RFC 9701 §4).
pub(crate) const MEDIA_TYPE: &str = "application/token-introspection+jwt";

/// The `typ` of its header (RFC 9701 §5, RFC 8725 §3.11 explicit typing).
pub(crate) const TYP: &str = "token-introspection+jwt";

/// The claims of a JWT introspection response (RFC 9701 §5).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: u64,
    token_introspection: &'a Value,
}

/// What a JWT introspection response is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IntrospectionResponse<'a> {
    /// The issuer identifier.
    pub(crate) issuer: &'a str,
    /// The authenticated caller's client id.
    pub(crate) caller: &'a str,
    /// The RFC 7662 §2.2 response.
    pub(crate) introspection: &'a Value,
    /// Now, in seconds since the epoch.
    pub(crate) now: u64,
}

/// Signs a JWT introspection response with `key`.
pub(crate) fn sign(key: &Key, response: &IntrospectionResponse<'_>) -> Result<String, KeyError> {
    let claims = Claims {
        iss: response.issuer,
        aud: response.caller,
        iat: response.now,
        token_introspection: response.introspection,
    };
    jwt::encode(key, TYP, &claims)
}

/// Whether an `Accept` header asks for a JWT response (RFC 9701 §4): it names
/// `application/token-introspection+jwt` with a non-zero weight, at least as high as that of
/// JSON (`application/json` or a wildcard). RFC 9110 §12.5.1 lets a server disregard `Accept`, so
/// anything else gets the plain JSON response of RFC 7662, never `406`: a caller that sends
/// `Accept: text/html` by mistake still gets its answer.
pub(crate) fn wants_jwt(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut jwt: Option<f32> = None;
    let mut json: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media_type = parts.next().unwrap_or_default().trim();
        // RFC 9110 §12.4.2: `q` is a weight from 0 to 1; a malformed one counts as 1.
        let weight = parts
            .filter_map(|parameter| parameter.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, value)| value.trim().parse::<f32>().ok())
            .map_or(1.0, |q| q.clamp(0.0, 1.0));
        if media_type.eq_ignore_ascii_case(MEDIA_TYPE) {
            jwt = Some(jwt.map_or(weight, |w| w.max(weight)));
        } else if ["application/json", "application/*", "*/*"].iter().any(|t| media_type.eq_ignore_ascii_case(t)) {
            json = json.max(weight);
        }
    }
    jwt.is_some_and(|weight| weight > 0.0 && weight >= json)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;
    use crate::keys::Algorithm;

    fn part(token: &str, index: usize) -> Value {
        let part = token.split('.').nth(index).expect("three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    }

    #[test]
    fn the_response_wraps_the_introspection_for_the_caller() {
        let key = Key::generate(Algorithm::ES256).expect("key");
        for introspection in [json!({"active": false}), json!({"active": true, "sub": "ann", "scope": "read"})] {
            let response = IntrospectionResponse {
                issuer: "https://as.example",
                caller: "rs",
                introspection: &introspection,
                now: 7,
            };
            let token = sign(&key, &response).expect("signs");
            assert_eq!(part(&token, 0), json!({"alg": "ES256", "typ": "token-introspection+jwt", "kid": key.kid()}));
            assert_eq!(
                part(&token, 1),
                json!({"iss": "https://as.example", "aud": "rs", "iat": 7, "token_introspection": introspection})
            );
            let (input, signature) = token.rsplit_once('.').expect("a signature");
            assert!(key.verify(input.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).expect("base64url")));
        }
    }

    #[test]
    fn accept_negotiation() {
        let cases: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some(""), false),
            (Some("application/json"), false),
            (Some("*/*"), false),
            (Some("text/html"), false),
            (Some("application/token-introspection+jwt"), true),
            (Some("Application/Token-Introspection+JWT"), true),
            (Some("application/json, application/token-introspection+jwt"), true),
            (Some("application/token-introspection+jwt;q=0.5, application/json"), false),
            (Some("application/token-introspection+jwt; q=0.9, application/json; q=0.5"), true),
            (Some("application/token-introspection+jwt;q=0"), false),
            (Some("application/token-introspection+jwt;q=zero"), true),
            (Some("application/token-introspection+jwt;q=0.5, */*;q=0.1"), true),
            (Some("application/token-introspection+jwt-extra"), false),
        ];
        for (accept, expected) in cases {
            assert_eq!(wants_jwt(*accept), *expected, "{accept:?}");
        }
    }
}
