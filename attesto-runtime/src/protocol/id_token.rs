//! ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.6).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use crate::error::{ErrorCode, OAuthError};
use crate::keys::{Algorithm, Key};
use crate::model::principal::AuthenticatedPrincipal;
use crate::protocol::jwt;

/// Claims attesto sets itself in an ID token; host claims with these names are dropped.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "cnf",
];

#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    at_hash: String,
    /// The host's session (Front-Channel Logout 1.0 §3), when it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// What an ID token is made of.
pub(crate) struct IdToken<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) principal: &'a AuthenticatedPrincipal,
    /// The `sub` the client knows the principal by: the principal's own, or the pairwise
    /// identifier of the client's sector (OIDC Core §8.1).
    pub(crate) subject: &'a str,
    /// The `nonce` of the authorization request; `None` on refresh (OIDC Core §12.2).
    pub(crate) nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash`.
    pub(crate) access_token: &'a str,
    pub(crate) now: u64,
    pub(crate) ttl: u64,
    pub(crate) extra: serde_json::Map<String, serde_json::Value>,
}

/// Signs an ID token with `key`. `aud` is the client alone, so `azp` is not needed (OIDC Core
/// §2: it is for an ID token with several audiences).
pub(crate) fn mint(key: &Key, token: IdToken<'_>) -> Result<String, OAuthError> {
    let mut extra = token.extra;
    extra.retain(|name, _| !RESERVED.contains(&name.as_str()));
    let auth_time = jwt::unix_seconds(token.principal.auth_time);
    let claims = IdTokenClaims {
        iss: token.issuer,
        sub: token.subject,
        aud: token.client_id,
        exp: token.now + token.ttl,
        iat: token.now,
        auth_time,
        nonce: token.nonce,
        acr: token.principal.acr.as_deref(),
        amr: &token.principal.amr,
        at_hash: at_hash(key.algorithm(), token.access_token),
        sid: token.principal.session_id.as_deref(),
        extra,
    };
    jwt::encode(key, "JWT", &claims).map_err(|error| {
        tracing::error!(%error, "signing an ID token failed");
        OAuthError::new(ErrorCode::ServerError, "the ID token could not be signed")
    })
}

/// `at_hash` (OIDC Core §3.1.3.6): the base64url of the left half of the hash of the access
/// token, with the hash of the signing algorithm — SHA-256 for ES256, RS256 and PS256, and
/// SHA-512 for EdDSA with Ed25519 (the hash Ed25519 uses internally, as OpenID Connect
/// implementations agree).
pub(crate) fn at_hash(alg: Algorithm, access_token: &str) -> String {
    match alg {
        Algorithm::EdDSA => {
            let digest = Sha512::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..32])
        }
        _ => {
            let digest = Sha256::digest(access_token.as_bytes());
            URL_SAFE_NO_PAD.encode(&digest[..16])
        }
    }
}
