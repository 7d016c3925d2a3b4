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
    // Header and claims are serialised into one buffer, and the token is allocated once at its
    // final size (for ES256 and EdDSA; an RSA signature is longer and grows it once).
    let mut json = Vec::with_capacity(512);
    serde_json::to_writer(&mut json, &Header { alg: key.algorithm().as_str(), typ, kid: key.kid() })
        .map_err(|_| KeyError::Signing)?;
    let header_len = json.len();
    serde_json::to_writer(&mut json, claims).map_err(|_| KeyError::Signing)?;
    let (header, claims) = json.split_at(header_len);
    let mut token = String::with_capacity(
        base64::encoded_len(header.len(), false).unwrap_or_default()
            + base64::encoded_len(claims.len(), false).unwrap_or_default()
            + 2
            + SHORT_SIGNATURE_B64,
    );
    URL_SAFE_NO_PAD.encode_string(header, &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
    Ok(token)
}

/// The base64url length of a 64-byte signature (ES256 `R || S`, Ed25519).
const SHORT_SIGNATURE_B64: usize = 86;
