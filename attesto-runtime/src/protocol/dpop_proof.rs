//! DPoP proof verification (RFC 9449 §4.3), pure: published as [`crate::dpop`].

use std::fmt;
use std::time::Duration;

use aws_lc_rs::rsa::PublicKeyComponents;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, EcdsaVerificationAlgorithm, ParsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ErrorCode, OAuthError};
use crate::protocol::dpop_htu::normalize_htu;

/// The `alg` values a DPoP proof may use, for discovery's `dpop_signing_alg_values_supported`
/// (RFC 9449 §5.1). All asymmetric: never `none`, never an HMAC (RFC 9449 §4.2, §4.3 check 5).
pub const SUPPORTED_ALGORITHMS: &[&str] = &["ES256", "ES384", "EdDSA", "RS256", "PS256"];

/// The longest `DPoP` header value accepted, in bytes. A proof with an RSA-8192 key (the largest
/// the verifier supports) is about 4 KiB; the bound refuses larger inputs before any decoding.
pub const MAX_PROOF_LEN: usize = 8192;

/// The longest `jti` accepted, in bytes. RFC 9449 §4.2 asks for at least 96 bits of randomness
/// (a 16-character base64url string, a 36-character UUID); the bound keeps replay-store entries small.
pub const MAX_JTI_LEN: usize = 256;

/// The longest `nonce` claim accepted, in bytes. Nonces are issued by the server (RFC 9449 §8),
/// so a longer one cannot be valid and is refused without reaching the nonce check.
pub const MAX_NONCE_LEN: usize = 256;

/// How old a proof's `iat` may be by default (RFC 9449 §11.1: proofs are accepted for a brief
/// window only, which also bounds how long the replay store keeps a `jti`).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// How far in the future a proof's `iat` may be by default: the tolerated clock skew of clients
/// (RFC 9449 §11.1; a server nonce removes the dependency on the client clock, §8).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(60);

/// Private or symmetric JWK members that must never be in a DPoP proof's `jwk` (RFC 9449 §4.2:
/// "MUST NOT contain a private key"; RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// The request a proof is checked against.
///
/// `uri` is the URL of the endpoint as the server publishes it — built from the issuer and the
/// `PATHS` table, never from the `Host` header of the request — so that a proof made for another
/// server or endpoint is refused (RFC 9449 §4.3 check 9, §11.5).
///
/// ```
/// use std::time::Duration;
/// use attesto_runtime::dpop::ProofRequirements;
///
/// let req = ProofRequirements::new("GET", "https://auth.example.com/oauth/userinfo", 1_700_000_000)
///     .with_access_token("eyJhbGciOi…")
///     .with_max_age(Duration::from_secs(120));
/// assert_eq!(req.max_skew, attesto_runtime::dpop::DEFAULT_MAX_SKEW);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProofRequirements<'a> {
    /// The HTTP method of the request, compared exactly with `htm` (RFC 9449 §4.3 check 8).
    pub method: &'a str,
    /// The absolute `http`/`https` URL of the endpoint, compared with `htu` after normalisation
    /// (RFC 9449 §4.3 check 9).
    pub uri: &'a str,
    /// The access token presented with the proof, whose hash `ath` must carry (RFC 9449 §4.3
    /// check 12); `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// The current time, in seconds since the Unix epoch.
    pub now: u64,
    /// How old `iat` may be.
    pub max_age: Duration,
    /// How far in the future `iat` may be.
    pub max_skew: Duration,
}

impl<'a> ProofRequirements<'a> {
    /// Requirements for a request without an access token, with the default `iat` window
    /// ([`DEFAULT_MAX_AGE`], [`DEFAULT_MAX_SKEW`]).
    pub fn new(method: &'a str, uri: &'a str, now: u64) -> Self {
        Self { method, uri, access_token: None, now, max_age: DEFAULT_MAX_AGE, max_skew: DEFAULT_MAX_SKEW }
    }

    /// The same requirements with an access token, so that `ath` is required and checked.
    #[must_use]
    pub fn with_access_token(mut self, access_token: &'a str) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// The same requirements with another maximum age of `iat`.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The same requirements with another tolerance for an `iat` in the future.
    #[must_use]
    pub fn with_max_skew(mut self, max_skew: Duration) -> Self {
        self.max_skew = max_skew;
        self
    }
}

/// What a valid proof tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url: the `cnf.jkt` of a bound
    /// token (RFC 9449 §6.1) and the value `dpop_jkt` is compared with (§10).
    pub jkt: String,
    /// The proof's unique identifier, for the replay check (RFC 9449 §11.1).
    pub jti: String,
    /// When the proof was made, in seconds since the Unix epoch.
    pub iat: u64,
    /// The last second (Unix time) at which this proof passes the `iat` check: a replay store
    /// must remember `jti` at least until then, and may forget it afterwards (RFC 9449 §11.1).
    pub valid_until: u64,
    /// The `nonce` claim, to be checked by the caller when it requires server nonces (RFC 9449
    /// §4.3 check 10, §8). Not checked here.
    pub nonce: Option<String>,
    /// The proof's `alg`, one of [`SUPPORTED_ALGORITHMS`].
    pub alg: &'static str,
}

/// Why a DPoP proof is refused: one variant per reason, each rendered as `invalid_dpop_proof`
/// with [`ProofError::description`] as its `error_description` (RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof is longer than [`MAX_PROOF_LEN`].
    ProofTooLarge,
    /// The proof is not a compact JWS of exactly three dot-separated parts (RFC 7515 §7.1).
    NotThreeParts,
    /// A part is not canonical unpadded base64url (RFC 7515 §2): padding, a character outside the
    /// alphabet, or non-zero trailing bits.
    NotCanonicalBase64,
    /// The header is not a JSON object.
    HeaderNotJson,
    /// `typ` is not exactly `dpop+jwt` (RFC 9449 §4.2, §4.3 check 4).
    WrongType,
    /// `alg` is missing or not one of [`SUPPORTED_ALGORITHMS`] (RFC 9449 §4.3 check 5).
    AlgorithmNotAllowed,
    /// The header has a `crit` member: no extension is understood (RFC 7515 §4.1.11).
    CriticalHeader,
    /// The header has no `jwk` (RFC 9449 §4.2).
    MissingJwk,
    /// `jwk` has private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) (RFC 9449 §4.3 check 7).
    PrivateKeyMembers,
    /// `jwk` is a symmetric key (`kty` `oct` or a `k` member).
    SymmetricKey,
    /// The key type or curve of `jwk` (or its own `alg` member) does not fit the header `alg`.
    KeyDoesNotMatchAlgorithm,
    /// `jwk` is not a valid public key: not an object, a member missing or malformed, a point
    /// not on its curve.
    InvalidKey,
    /// The RSA modulus is shorter than 2048 bits.
    RsaKeyTooSmall,
    /// The signature does not verify with `jwk` (RFC 9449 §4.3 check 6).
    BadSignature,
    /// The payload is not a JSON object.
    ClaimsNotJson,
    /// The `htm` claim is missing or not a string.
    MissingHtm,
    /// `htm` is not the request method (RFC 9449 §4.3 check 8).
    WrongMethod,
    /// The `htu` claim is missing or not a string.
    MissingHtu,
    /// `htu` is not the endpoint URL (RFC 9449 §4.3 check 9).
    WrongUri,
    /// The `iat` claim is missing or not a non-negative integer.
    MissingIat,
    /// `iat` is older than the allowed age (RFC 9449 §4.3 check 11).
    IatTooOld,
    /// `iat` is further in the future than the allowed skew (RFC 9449 §4.3 check 11).
    IatInFuture,
    /// The `jti` claim is missing, empty or not a string.
    MissingJti,
    /// `jti` is longer than [`MAX_JTI_LEN`].
    JtiTooLong,
    /// An access token is presented but the proof has no `ath` (RFC 9449 §4.3 check 12).
    MissingAth,
    /// `ath` is not the hash of the presented access token (RFC 9449 §4.3 check 12).
    WrongAth,
    /// The `nonce` claim is not a string of at most [`MAX_NONCE_LEN`] bytes.
    MalformedNonce,
}

impl ProofError {
    /// The `error_description` of the `invalid_dpop_proof` error (RFC 9449 §7.1). It names the
    /// failed check and nothing about the server.
    pub const fn description(&self) -> &'static str {
        match self {
            Self::ProofTooLarge => "the DPoP proof is too large",
            Self::NotThreeParts => "the DPoP proof is not a compact JWS of three parts",
            Self::NotCanonicalBase64 => "a part of the DPoP proof is not canonical unpadded base64url",
            Self::HeaderNotJson => "the DPoP proof header is not a JSON object",
            Self::WrongType => "the DPoP proof `typ` is not `dpop+jwt`",
            Self::AlgorithmNotAllowed => "the DPoP proof `alg` is not one of ES256, ES384, EdDSA, RS256, PS256",
            Self::CriticalHeader => "the DPoP proof has a `crit` header, which is not supported",
            Self::MissingJwk => "the DPoP proof header has no `jwk`",
            Self::PrivateKeyMembers => "the DPoP proof `jwk` contains private key members",
            Self::SymmetricKey => "the DPoP proof `jwk` is a symmetric key",
            Self::KeyDoesNotMatchAlgorithm => "the DPoP proof `jwk` does not fit the `alg`",
            Self::InvalidKey => "the DPoP proof `jwk` is not a valid public key",
            Self::RsaKeyTooSmall => "the DPoP proof RSA key is shorter than 2048 bits",
            Self::BadSignature => "the DPoP proof signature does not verify",
            Self::ClaimsNotJson => "the DPoP proof payload is not a JSON object",
            Self::MissingHtm => "the DPoP proof has no `htm` claim",
            Self::WrongMethod => "the DPoP proof `htm` does not match the request method",
            Self::MissingHtu => "the DPoP proof has no `htu` claim",
            Self::WrongUri => "the DPoP proof `htu` does not match the request URL",
            Self::MissingIat => "the DPoP proof has no integer `iat` claim",
            Self::IatTooOld => "the DPoP proof `iat` is too old",
            Self::IatInFuture => "the DPoP proof `iat` is in the future",
            Self::MissingJti => "the DPoP proof has no `jti` claim",
            Self::JtiTooLong => "the DPoP proof `jti` is too long",
            Self::MissingAth => "the DPoP proof has no `ath` claim for the access token",
            Self::WrongAth => "the DPoP proof `ath` does not match the access token",
            Self::MalformedNonce => "the DPoP proof `nonce` is not a string of at most 256 bytes",
        }
    }
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl From<ProofError> for OAuthError {
    /// `invalid_dpop_proof` with the reason, 400 (the token endpoint's status, RFC 9449 §5); a
    /// resource answers 401 with a `DPoP` challenge instead (§7.1), through
    /// [`OAuthError::with_status`] and [`OAuthError::with_challenge`].
    fn from(error: ProofError) -> Self {
        Self::new(ErrorCode::InvalidDpopProof, error.description())
    }
}

/// The `ath` value for an access token: base64url of its SHA-256 hash (RFC 9449 §4.2).
///
/// ```
/// // RFC 9449 §7.1, the example access token and its `ath`.
/// assert_eq!(
///     attesto_runtime::dpop::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// The RFC 7638 SHA-256 thumbprint (base64url) of a public JWK of a kind DPoP accepts: EC P-256
/// or P-384, OKP Ed25519, or RSA of at least 2048 bits. The key is checked as a proof's `jwk` is
/// (no private or symmetric member, well-formed members), so a thumbprint is only ever computed
/// for a key [`verify_proof`] would accept.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<String, ProofError> {
    check_public_only(jwk)?;
    let alg = match (jwk.get("kty").and_then(Value::as_str), jwk.get("crv").and_then(Value::as_str)) {
        (Some("EC"), Some("P-256")) => Alg::Es256,
        (Some("EC"), Some("P-384")) => Alg::Es384,
        (Some("OKP"), Some("Ed25519")) => Alg::EdDsa,
        (Some("RSA"), _) => Alg::Rs256,
        _ => return Err(ProofError::InvalidKey),
    };
    // Its own `alg` member may name any algorithm that fits the key type.
    let alg = match jwk.get("alg").and_then(Value::as_str) {
        Some("PS256") if alg == Alg::Rs256 => Alg::Ps256,
        _ => alg,
    };
    public_key(jwk, alg)?;
    Ok(crate::keys::thumbprint(jwk))
}

/// Verifies one DPoP proof against the request it came with (RFC 9449 §4.3 checks 2 to 9, 11
/// and 12). Replay (check 10's `jti` half, §11.1) and the server nonce (§8) are left to the
/// caller.
///
/// The checks run in this order and the first failure is returned: size, JWS structure and
/// canonical base64url, header (`typ`, `alg`, `crit`, `jwk` present and public), the claims that
/// need no key (`htm`, `htu`, `iat`), then the key and the signature, then the rest of the claims
/// (`jti`, `ath`, `nonce`). What costs a public-key operation comes after what costs nothing.
pub fn verify_proof(proof: &str, req: &ProofRequirements<'_>) -> Result<VerifiedProof, ProofError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::ProofTooLarge);
    }
    // RFC 7515 §7.1: BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature); a JWE
    // (five parts) or an unsecured two-part form is refused here.
    if proof.bytes().filter(|b| *b == b'.').count() != 2 {
        return Err(ProofError::NotThreeParts);
    }
    let (signing_input, signature_b64) = proof.rsplit_once('.').ok_or(ProofError::NotThreeParts)?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(ProofError::NotThreeParts)?;
    let header = decode_canonical(header_b64).ok_or(ProofError::NotCanonicalBase64)?;
    let payload = decode_canonical(payload_b64).ok_or(ProofError::NotCanonicalBase64)?;
    let signature = decode_canonical(signature_b64).ok_or(ProofError::NotCanonicalBase64)?;

    let header: Map<String, Value> = serde_json::from_slice(&header).map_err(|_| ProofError::HeaderNotJson)?;
    // RFC 9449 §4.2: typ is exactly `dpop+jwt`, so that no other JWT can pass for a proof.
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(ProofError::WrongType);
    }
    let alg = header.get("alg").and_then(Value::as_str).and_then(Alg::parse).ok_or(ProofError::AlgorithmNotAllowed)?;
    // RFC 7515 §4.1.11: a recipient must refuse a JWS with a critical extension it does not
    // understand, and attesto understands none.
    if header.contains_key("crit") {
        return Err(ProofError::CriticalHeader);
    }
    // RFC 9449 §4.2: the key is the embedded public JWK, never a reference (kid, jku, x5u).
    let jwk = match header.get("jwk") {
        None => return Err(ProofError::MissingJwk),
        Some(Value::Object(jwk)) => jwk,
        Some(_) => return Err(ProofError::InvalidKey),
    };
    // Checked on the raw JSON object: a JWK parser may drop members it does not model.
    check_public_only(jwk)?;

    // The claims that cost nothing to check come before the key and the signature, which cost a
    // public-key operation: a proof made for another request, or long ago, is refused for free
    // (what an unauthenticated caller can make the server compute stays small).
    let claims: Map<String, Value> = serde_json::from_slice(&payload).map_err(|_| ProofError::ClaimsNotJson)?;
    // RFC 9449 §4.3 check 8: htm is compared exactly; HTTP methods are case-sensitive (RFC 9110 §9.1).
    let htm = claims.get("htm").and_then(Value::as_str).ok_or(ProofError::MissingHtm)?;
    if htm != req.method {
        return Err(ProofError::WrongMethod);
    }
    let htu = claims.get("htu").and_then(Value::as_str).ok_or(ProofError::MissingHtu)?;
    match (normalize_htu(htu), normalize_htu(req.uri)) {
        (Some(htu), Some(target)) if htu == target => {}
        _ => return Err(ProofError::WrongUri),
    }
    // RFC 9449 §4.3 check 11: the proof was made within an acceptable window around now.
    let iat = claims.get("iat").and_then(Value::as_u64).ok_or(ProofError::MissingIat)?;
    let valid_until = iat.saturating_add(req.max_age.as_secs());
    if valid_until < req.now {
        return Err(ProofError::IatTooOld);
    }
    if iat > req.now.saturating_add(req.max_skew.as_secs()) {
        return Err(ProofError::IatInFuture);
    }

    let key = public_key(jwk, alg)?;
    if !key.verify(signing_input.as_bytes(), &signature) {
        return Err(ProofError::BadSignature);
    }

    let jti = match claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() => jti,
        _ => return Err(ProofError::MissingJti),
    };
    if jti.len() > MAX_JTI_LEN {
        return Err(ProofError::JtiTooLong);
    }
    // RFC 9449 §4.3 check 12: ath is required and checked only with an access token; at the
    // token endpoint there is none, and an `ath` there binds nothing, so it is ignored.
    if let Some(access_token) = req.access_token {
        let ath = claims.get("ath").ok_or(ProofError::MissingAth)?;
        let expected = access_token_hash(access_token);
        // Constant time: the hash of a live access token is compared with attacker input.
        let matches = ath.as_str().is_some_and(|ath| bool::from(ath.as_bytes().ct_eq(expected.as_bytes())));
        if !matches {
            return Err(ProofError::WrongAth);
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) if nonce.len() <= MAX_NONCE_LEN => Some(nonce.clone()),
        Some(_) => return Err(ProofError::MalformedNonce),
    };
    Ok(VerifiedProof {
        jkt: crate::keys::thumbprint(jwk),
        jti: jti.to_owned(),
        iat,
        valid_until,
        nonce,
        alg: alg.as_str(),
    })
}

/// The proof algorithms, each with the one key type it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Es256,
    Es384,
    EdDsa,
    Rs256,
    Ps256,
}

impl Alg {
    pub(crate) fn parse(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "ES384" => Some(Self::Es384),
            "EdDSA" => Some(Self::EdDsa),
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            _ => None,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }
}

/// A validated public key, ready to verify. Also how a `private_key_jwt` client's keys verify
/// its assertions (`protocol/client_assertion.rs`): the same algorithms, the same key checks.
pub(crate) enum PublicKey {
    /// EC or Ed25519: the point was validated when parsed.
    Parsed(ParsedPublicKey),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        params: &'static signature::RsaParameters,
    },
}

impl PublicKey {
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Parsed(key) => key.verify_sig(message, signature).is_ok(),
            Self::Rsa { n, e, params } => {
                PublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(params, message, signature).is_ok()
            }
        }
    }
}

/// RFC 9449 §4.2: the `jwk` "MUST NOT contain a private key"; and a symmetric key could only
/// make an HMAC, which is never accepted.
pub(crate) fn check_public_only(jwk: &Map<String, Value>) -> Result<(), ProofError> {
    if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
        return Err(ProofError::PrivateKeyMembers);
    }
    if jwk.contains_key("k") || jwk.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(ProofError::SymmetricKey);
    }
    Ok(())
}

/// The public key of `jwk` for `alg`: key type and curve fit the algorithm (RFC 7518 §3.1: the
/// algorithm belongs to one key type), members are canonical and of the right size.
pub(crate) fn public_key(jwk: &Map<String, Value>, alg: Alg) -> Result<PublicKey, ProofError> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or(ProofError::InvalidKey)?;
    // RFC 7517 §4.4: a JWK that names its algorithm may only be used with that one.
    if let Some(key_alg) = jwk.get("alg")
        && key_alg.as_str() != Some(alg.as_str())
    {
        return Err(ProofError::KeyDoesNotMatchAlgorithm);
    }
    match (alg, kty) {
        (Alg::Es256, "EC") => ec_key(jwk, "P-256", 32, &ECDSA_P256_SHA256_FIXED),
        (Alg::Es384, "EC") => ec_key(jwk, "P-384", 48, &ECDSA_P384_SHA384_FIXED),
        (Alg::EdDsa, "OKP") => {
            // RFC 8037 §3.1: EdDSA with the Ed25519 curve only (no Ed448, no X25519).
            curve(jwk, "Ed25519")?;
            let x = member(jwk, "x").filter(|x| x.len() == 32).ok_or(ProofError::InvalidKey)?;
            ParsedPublicKey::new(&ED25519, x).map(PublicKey::Parsed).map_err(|_| ProofError::InvalidKey)
        }
        (Alg::Rs256 | Alg::Ps256, "RSA") => {
            // RFC 7518 §6.3.1: Base64urlUInt, the minimal big-endian form: a leading zero octet
            // would make a second encoding, and a second thumbprint, of the same key.
            let n = member(jwk, "n").filter(|n| n.first().is_some_and(|b| *b != 0)).ok_or(ProofError::InvalidKey)?;
            let e = member(jwk, "e").filter(|e| e.first().is_some_and(|b| *b != 0)).ok_or(ProofError::InvalidKey)?;
            let bits = n.len() * 8 - n.first().map_or(0, |top| top.leading_zeros() as usize);
            // RFC 7518 §3.3, §3.5: keys of 2048 bits or more.
            if bits < 2048 {
                return Err(ProofError::RsaKeyTooSmall);
            }
            // At most 4096 bits and the exponent 65537: what clients use (FIPS 186-5 §A.1.1), and
            // a bound on what verifying a proof of an unauthenticated caller costs (a signature
            // check grows with the modulus, and a huge or odd exponent buys an attacker work).
            if bits > 4096 || e != [0x01, 0x00, 0x01] {
                return Err(ProofError::InvalidKey);
            }
            let params: &'static signature::RsaParameters = if alg == Alg::Ps256 {
                &signature::RSA_PSS_2048_8192_SHA256
            } else {
                &signature::RSA_PKCS1_2048_8192_SHA256
            };
            Ok(PublicKey::Rsa { n, e, params })
        }
        _ => Err(ProofError::KeyDoesNotMatchAlgorithm),
    }
}

/// An EC key on `crv`: fixed-width coordinates (RFC 7518 §6.2.1.2, §6.2.1.3), on the curve.
fn ec_key(
    jwk: &Map<String, Value>,
    crv: &str,
    width: usize,
    algorithm: &'static EcdsaVerificationAlgorithm,
) -> Result<PublicKey, ProofError> {
    curve(jwk, crv)?;
    let x = member(jwk, "x").filter(|x| x.len() == width).ok_or(ProofError::InvalidKey)?;
    let y = member(jwk, "y").filter(|y| y.len() == width).ok_or(ProofError::InvalidKey)?;
    // SEC1 uncompressed point; parsing checks it is on the curve.
    let mut point = Vec::with_capacity(1 + 2 * width);
    point.push(4);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    ParsedPublicKey::new(algorithm, &point).map(PublicKey::Parsed).map_err(|_| ProofError::InvalidKey)
}

/// The `crv` member is `expected`: another curve is a key that does not fit the algorithm, no
/// curve at all a malformed key.
fn curve(jwk: &Map<String, Value>, expected: &str) -> Result<(), ProofError> {
    match jwk.get("crv").and_then(Value::as_str) {
        Some(crv) if crv == expected => Ok(()),
        Some(_) => Err(ProofError::KeyDoesNotMatchAlgorithm),
        None => Err(ProofError::InvalidKey),
    }
}

/// A base64url JWK member, canonical: its text is what the thumbprint hashes, so it must be the
/// one encoding of its bytes.
fn member(jwk: &Map<String, Value>, name: &str) -> Option<Vec<u8>> {
    decode_canonical(jwk.get(name)?.as_str()?)
}

/// Decodes unpadded base64url, and only its canonical form (RFC 7515 §2, RFC 4648 §3.5):
/// re-encoding gives the same text, which refuses padding, non-zero trailing bits and any
/// character outside the alphabet, so that one proof has one encoding.
fn decode_canonical(text: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    (URL_SAFE_NO_PAD.encode(&bytes) == text).then_some(bytes)
}

/// Whether `value` can be an RFC 7638 SHA-256 thumbprint: the canonical unpadded base64url of
/// 32 bytes, 43 characters (RFC 9449 §10 `dpop_jkt`).
pub(crate) fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && URL_SAFE_NO_PAD.decode(value).is_ok_and(|bytes| bytes.len() == 32 && URL_SAFE_NO_PAD.encode(&bytes) == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_43_canonical_base64url_characters() {
        assert!(is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        for bad in [
            "",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I=",
            "0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4J",
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I0ZcO",
        ] {
            assert!(!is_thumbprint(bad), "{bad}");
        }
    }

    #[test]
    fn canonical_base64url_only() {
        assert_eq!(decode_canonical("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(decode_canonical("YQ=="), None, "padding");
        assert_eq!(decode_canonical("YR"), None, "non-zero trailing bits");
        assert_eq!(decode_canonical("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        assert_eq!(decode_canonical("+/8"), None, "standard alphabet");
        assert_eq!(decode_canonical("Y Q"), None, "whitespace");
        assert_eq!(decode_canonical("").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn descriptions_are_distinct() {
        let all = [
            ProofError::ProofTooLarge,
            ProofError::NotThreeParts,
            ProofError::NotCanonicalBase64,
            ProofError::HeaderNotJson,
            ProofError::WrongType,
            ProofError::AlgorithmNotAllowed,
            ProofError::CriticalHeader,
            ProofError::MissingJwk,
            ProofError::PrivateKeyMembers,
            ProofError::SymmetricKey,
            ProofError::KeyDoesNotMatchAlgorithm,
            ProofError::InvalidKey,
            ProofError::RsaKeyTooSmall,
            ProofError::BadSignature,
            ProofError::ClaimsNotJson,
            ProofError::MissingHtm,
            ProofError::WrongMethod,
            ProofError::MissingHtu,
            ProofError::WrongUri,
            ProofError::MissingIat,
            ProofError::IatTooOld,
            ProofError::IatInFuture,
            ProofError::MissingJti,
            ProofError::JtiTooLong,
            ProofError::MissingAth,
            ProofError::WrongAth,
            ProofError::MalformedNonce,
        ];
        let descriptions: std::collections::BTreeSet<_> = all.iter().map(ProofError::description).collect();
        assert_eq!(descriptions.len(), all.len());
        assert_eq!(MAX_NONCE_LEN, 256, "the MalformedNonce description names the bound");
        let error = OAuthError::from(ProofError::WrongAth);
        assert_eq!(error.code(), ErrorCode::InvalidDpopProof);
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(error.description(), ProofError::WrongAth.description());
    }

    #[test]
    fn supported_algorithms_all_parse() {
        for alg in SUPPORTED_ALGORITHMS {
            assert_eq!(Alg::parse(alg).map(Alg::as_str), Some(*alg));
        }
        for refused in ["none", "HS256", "HS384", "HS512", "RS384", "ES512", "Ed25519", "es256", ""] {
            assert_eq!(Alg::parse(refused), None, "{refused}");
        }
    }
}
