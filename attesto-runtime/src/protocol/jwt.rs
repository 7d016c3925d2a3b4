//! Compact JWS / JWT encoding (RFC 7515 §7.1, RFC 7519) with a pre-parsed [`Key`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::keys::{Algorithm, Key, KeyError};

/// `typ` of an access token (RFC 9068 §2.1).
/// How far past its `exp` a token is still accepted by a guard, for clocks that disagree a little
/// (RFC 7519 §4.1.4 allows "some small leeway").
pub(crate) const EXPIRY_SKEW: u64 = 30;

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

/// Why a presented JWT was refused. The reasons stay internal: the client learns only
/// `invalid_token` (RFC 6750 §3.1), so that probing does not reveal which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    Malformed,
    UnknownKey,
    WrongAlgorithm,
    WrongType,
    BadSignature,
    WrongIssuer,
    Expired,
}

#[derive(serde::Deserialize)]
struct PresentedHeader<'a> {
    alg: &'a str,
    #[serde(default)]
    typ: Option<&'a str>,
    #[serde(default)]
    kid: Option<&'a str>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// The claims of an access token that attesto reads back.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct AccessTokenView {
    pub(crate) iss: String,
    pub(crate) sub: String,
    #[serde(deserialize_with = "one_or_many")]
    pub(crate) aud: Vec<String>,
    pub(crate) exp: u64,
    #[serde(default)]
    pub(crate) iat: u64,
    pub(crate) jti: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) scope: String,
    /// The key the token is bound to, for a DPoP-bound token (RFC 9449 §6.1).
    #[serde(default)]
    pub(crate) cnf: Option<Confirmation>,
    /// The grant the token was issued under, for a token issued under a refresh family (see
    /// `revoked::grant_id`): revoking the grant revokes the token (RFC 7009 §2.1).
    #[serde(default)]
    pub(crate) grant_id: Option<String>,
    /// When the user signed in (RFC 9068 §2.2.1): present in the tokens a user authorized, and in
    /// no other (see `guard::TokenKind`).
    #[serde(default)]
    pub(crate) auth_time: Option<u64>,
    /// The authentication context class of that sign-in (RFC 9068 §2.2.1), when the host named
    /// one: what `Guard::require_acr` reads (RFC 9470).
    #[serde(default)]
    pub(crate) acr: Option<String>,
    /// The authentication methods of that sign-in (RFC 9068 §2.2.1), when the host named them.
    #[serde(default)]
    pub(crate) amr: Vec<String>,
    /// The actor (RFC 8693 §4.1), in a token issued by token exchange: kept, nested, when that
    /// token is exchanged again.
    #[serde(default)]
    pub(crate) act: Option<serde_json::Value>,
}

/// The confirmation claim of a DPoP-bound access token (RFC 7800 §3.1): the RFC 7638 thumbprint
/// of the key whose proofs must accompany the token (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Confirmation {
    pub(crate) jkt: String,
}

/// Reads an `aud` that is one string or an array of them (RFC 7519 §4.1.3).
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// The algorithms of the keys attesto verifies with.
const ALGORITHMS: [Algorithm; 4] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256, Algorithm::PS256];

/// A presented access token whose header passed the checks that need no key: three base64url
/// parts, a JSON header without `crit`, `typ` `at+jwt` (RFC 9068 §4). What remains is to find the
/// key its `kid` names and [`verify`](Self::verify) it.
///
/// The split lets a caller whose keys live elsewhere (a remote JWKS) look the key up, and maybe
/// fetch it, between the two steps: a token that is not even an access token never costs a fetch.
#[derive(Debug)]
pub(crate) struct PresentedToken<'t> {
    token: &'t str,
    header_len: usize,
    claims_b64: &'t str,
    signature_b64: &'t str,
    alg: Algorithm,
    kid: Option<String>,
}

impl<'t> PresentedToken<'t> {
    /// Parses `token`'s structure and header, an access token's (`typ` `at+jwt`, RFC 9068 §4).
    pub(crate) fn parse(token: &'t str) -> Result<Self, Rejected> {
        Self::parse_typed(token, ACCESS_TOKEN_TYP)
    }

    /// Parses `token`'s structure and header, whose `typ` must be `typ` or `application/` and
    /// `typ` (RFC 7515 §4.1.9 lets the `application/` prefix be left out), compared without
    /// regard to case: explicit typing (RFC 8725 §3.11) keeps one kind of JWT from being taken
    /// for another.
    pub(crate) fn parse_typed(token: &'t str, typ: &str) -> Result<Self, Rejected> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejected::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| Rejected::Malformed)?;
        let header: PresentedHeader<'_> = serde_json::from_slice(&header_json).map_err(|_| Rejected::Malformed)?;
        // RFC 7515 §4.1.11: no extension is understood here, so a critical one refuses the token.
        if header.crit.is_some() {
            return Err(Rejected::Malformed);
        }
        let typed = |found: &str| {
            found.eq_ignore_ascii_case(typ)
                || found.get(..12).is_some_and(|prefix| {
                    prefix.eq_ignore_ascii_case("application/") && found[12..].eq_ignore_ascii_case(typ)
                })
        };
        if !header.typ.is_some_and(typed) {
            return Err(Rejected::WrongType);
        }
        // The header borrows from the decoded bytes, which end here: `alg` is kept as the name of
        // an algorithm a key can have (any other can never verify), `kid` as an owned copy.
        let alg = ALGORITHMS.into_iter().find(|alg| alg.as_str() == header.alg).ok_or(Rejected::WrongAlgorithm)?;
        let kid = header.kid.map(str::to_owned);
        Ok(Self { token, header_len: header_b64.len(), claims_b64, signature_b64, alg, kid })
    }

    /// The header's `kid`, if any.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the token with `key`, the key its `kid` names: the algorithm that key decides
    /// (never the header's choice: no `none`, no HMAC), the signature, `iss`, and `exp` against
    /// `now` (seconds).
    pub(crate) fn verify(&self, key: &Key, issuer: &str, now: u64) -> Result<AccessTokenView, Rejected> {
        let claims_json = self.verified_claims(key)?;
        let claims: AccessTokenView = serde_json::from_slice(&claims_json).map_err(|_| Rejected::Malformed)?;
        if claims.iss != issuer {
            return Err(Rejected::WrongIssuer);
        }
        if claims.exp <= now {
            return Err(Rejected::Expired);
        }
        Ok(claims)
    }
}

impl PresentedToken<'_> {
    /// The JSON of the claims, not verified: only to find whose key verifies them (the `iss` of
    /// an assertion), never to trust them.
    #[cfg(feature = "fetch")]
    pub(crate) fn unverified_claims(&self) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD.decode(self.claims_b64).ok()
    }

    /// The JSON of the claims, once the signature verifies with `key`, in the algorithm `key`
    /// decides (never the header's choice: no `none`, no HMAC).
    pub(crate) fn verified_claims(&self, key: &Key) -> Result<Vec<u8>, Rejected> {
        if self.alg != key.algorithm() {
            return Err(Rejected::WrongAlgorithm);
        }
        let signature = URL_SAFE_NO_PAD.decode(self.signature_b64).map_err(|_| Rejected::Malformed)?;
        let signing_input = &self.token[..self.header_len + 1 + self.claims_b64.len()];
        if !key.verify(signing_input.as_bytes(), &signature) {
            return Err(Rejected::BadSignature);
        }
        URL_SAFE_NO_PAD.decode(self.claims_b64).map_err(|_| Rejected::Malformed)
    }
}

/// Verifies one of this server's own access tokens (RFC 9068 §4): [`PresentedToken::parse`], a
/// `kid` of the key set, then [`PresentedToken::verify`] with that key.
pub(crate) fn verify_access_token(
    keys: &crate::keys::KeySet,
    token: &str,
    issuer: &str,
    now: u64,
) -> Result<AccessTokenView, Rejected> {
    let presented = PresentedToken::parse(token)?;
    let key = presented.kid().and_then(|kid| keys.find(kid)).ok_or(Rejected::UnknownKey)?;
    presented.verify(key, issuer, now)
}

/// A time as a JWT NumericDate (RFC 7519 §2): whole seconds since the Unix epoch; a time before
/// the epoch (a clock set wrong) counts as 0.
pub(crate) fn unix_seconds(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}
