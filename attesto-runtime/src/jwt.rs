//! Compact JWS / JWT encoding (RFC 7515 §7.1, RFC 7519) with a pre-parsed [`Key`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::keys::{Key, KeyError};

/// `typ` of an access token (RFC 9068 §2.1).
pub(crate) const ACCESS_TOKEN_TYP: &str = "at+jwt";

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` as a compact JWT with `key`, whose algorithm goes in the header.
pub(crate) fn encode<T: Serialize>(key: &Key, typ: &str, claims: &T) -> Result<String, KeyError> {
    let header = serde_json::to_vec(&Header { alg: key.algorithm().as_str(), typ, kid: key.kid() })
        .map_err(|_| KeyError::Signing)?;
    let claims = serde_json::to_vec(claims).map_err(|_| KeyError::Signing)?;
    let mut token = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(&header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    Ok(token)
}
