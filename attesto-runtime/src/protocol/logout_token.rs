//! The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4: a JWT the provider sends a
//! relying party's `backchannel_logout_uri` when a session ends.
//!
//! §2.4: claims `iss`, `aud` (the client), `iat`, `exp`, `jti`, `events` with the member
//! `http://schemas.openid.net/event/backchannel-logout` (an empty object), and `sub`, `sid` or
//! both; a `nonce` is PROHIBITED, so that a logout token can never pass for an ID token. The
//! header's `typ` is `logout+jwt`, the explicit typing §2.4 recommends (and RFC 8725 §3.11), for
//! the same reason. Signed with the provider's signing key, as ID tokens are (§2.4: the client's
//! `id_token_signed_response_alg`, which attesto does not take: ID tokens are always signed with
//! the signing key).

use serde_json::{Map, Value, json};

use crate::keys::{Key, KeyError};
use crate::protocol::jwt;

/// The `typ` of a logout token's header (§2.4).
pub(crate) const TYP: &str = "logout+jwt";

/// The event a logout token announces (§2.4, `events`).
pub(crate) const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is valid: §2.4 leaves it to the provider, and recommends a short one
/// (the client checks it at once, and remembers `jti`s until `exp` against replay, §2.6). Two
/// minutes cover a delivery's retries.
pub(crate) const LOGOUT_TOKEN_TTL: u64 = 120;

/// What a logout token is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogoutToken<'a> {
    /// The issuer identifier.
    pub(crate) issuer: &'a str,
    /// The client the token is sent to, its only audience.
    pub(crate) client_id: &'a str,
    /// The user whose session ended: always given (§2.4 allows `sub`, `sid` or both; a client
    /// that keys its sessions by user needs `sub`).
    pub(crate) subject: &'a str,
    /// The session that ended, when the host gave it an identifier (the `sid` of its ID tokens).
    pub(crate) session_id: Option<&'a str>,
    /// A fresh identifier of this token.
    pub(crate) jti: &'a str,
    /// Now, in seconds since the epoch.
    pub(crate) now: u64,
}

/// The claims of a logout token (§2.4). Never a `nonce`.
pub(crate) fn claims(token: &LogoutToken<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".to_owned(), token.issuer.into());
    claims.insert("aud".to_owned(), token.client_id.into());
    claims.insert("iat".to_owned(), token.now.into());
    claims.insert("exp".to_owned(), (token.now + LOGOUT_TOKEN_TTL).into());
    claims.insert("jti".to_owned(), token.jti.into());
    claims.insert("sub".to_owned(), token.subject.into());
    if let Some(sid) = token.session_id {
        claims.insert("sid".to_owned(), sid.into());
    }
    claims.insert("events".to_owned(), json!({ BACKCHANNEL_LOGOUT_EVENT: {} }));
    claims
}

/// Signs a logout token with `key`.
pub(crate) fn sign(key: &Key, token: &LogoutToken<'_>) -> Result<String, KeyError> {
    jwt::encode(key, TYP, &claims(token))
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

    fn token(session_id: Option<&'static str>) -> LogoutToken<'static> {
        LogoutToken {
            issuer: "https://as.example",
            client_id: "rp",
            subject: "alice",
            session_id,
            jti: "j1",
            now: 1_000,
        }
    }

    #[test]
    fn a_logout_token_is_typed_and_signed_with_the_provider_key() {
        let key = Key::generate(Algorithm::ES256).expect("key");
        let signed = sign(&key, &token(Some("s1"))).expect("signs");
        assert_eq!(part(&signed, 0), json!({"alg": "ES256", "typ": "logout+jwt", "kid": key.kid()}));
        let (input, signature) = signed.rsplit_once('.').expect("three parts");
        let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        assert!(key.verify(input.as_bytes(), &signature), "verifies with the provider's key");
    }

    #[test]
    fn the_claims_are_those_of_section_2_4_with_sid_when_the_session_has_one() {
        assert_eq!(
            Value::Object(claims(&token(Some("s1")))),
            json!({
                "iss": "https://as.example",
                "aud": "rp",
                "iat": 1_000,
                "exp": 1_120,
                "jti": "j1",
                "sub": "alice",
                "sid": "s1",
                "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
            })
        );
        let without = claims(&token(None));
        assert!(!without.contains_key("sid"), "no sid without a session identifier");
        assert_eq!(without["sub"], "alice", "sub always");
    }

    #[test]
    fn a_logout_token_never_has_a_nonce() {
        for sid in [None, Some("s1")] {
            assert!(!claims(&token(sid)).contains_key("nonce"), "§2.4: a nonce is prohibited");
        }
    }
}
