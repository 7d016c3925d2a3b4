//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OpenID Connect
//! Core §9): the checks of a client assertion and of a client's JSON Web Key Set, as pure
//! functions. Finding the client, fetching a `jwks_uri` and remembering `jti`s is the caller's
//! (`endpoints/client_assertion.rs`).
//!
//! The order matters: the assertion's form and header first, then its signature by a key of the
//! client, then its claims. Only an assertion that passed all three costs a store write (its
//! `jti`), so a flood of forged assertions writes nothing.
//!
//! Keys are checked as DPoP proof keys are (`protocol/dpop_proof.rs`, one verifier for both): the
//! algorithms ES256, ES384, EdDSA, PS256 and RS256, the key type and curve the algorithm needs,
//! RSA moduli of 2048 to 4096 bits. Never `none`, never an HMAC: a shared secret is not a key
//! attesto can hold (see `SECURITY.md`, `client_secret_jwt`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::model::client::ClientSigningAlgorithm;
use crate::protocol::dpop_proof::{self, Alg};

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live: `exp` at most this many seconds past now (plus the clock
/// skew). A short life bounds how long its `jti` must be remembered (RFC 7523 §3 lets the server
/// limit the window).
pub(crate) const MAX_LIFETIME: u64 = 300;

/// The longest assertion accepted, in bytes: one signed with an RSA-4096 key is under 2 KiB.
pub(crate) const MAX_ASSERTION_BYTES: usize = 8192;

/// The longest `jti` accepted, in bytes: what a UUID or 128 random bits need, many times over.
pub(crate) const MAX_JTI_BYTES: usize = 256;

/// The most keys a client's JWK Set may hold: a current key and a few being rotated. Bounds what
/// a registration stores and what one assertion without a `kid` costs to verify.
pub(crate) const MAX_KEYS: usize = 8;

/// The JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a client's JWK Set is refused at registration (RFC 7591 §2, `jwks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwksError {
    /// Not `{"keys": [...]}` (RFC 7517 §5).
    #[error("`jwks` must be a JWK Set (RFC 7517 §5): an object with a `keys` array")]
    NotASet,
    /// No key at all.
    #[error("`jwks` must hold at least one key")]
    Empty,
    /// More than [`MAX_KEYS`].
    #[error("`jwks` holds more than 8 keys")]
    TooManyKeys,
    /// A private or symmetric key.
    #[error("`jwks` must hold public keys only: a key has private or symmetric key material")]
    PrivateKey,
    /// A key without `kid`.
    #[error("every key of `jwks` must have a `kid`, which assertions name their key by")]
    MissingKid,
    /// Two keys of one `kid` (RFC 7517 §4.5).
    #[error("two keys of `jwks` have the same `kid`")]
    DuplicateKid,
    /// A key that no accepted algorithm can use.
    #[error(
        "a key of `jwks` is not usable: use an EC P-256 or P-384, Ed25519, or RSA (2048 to 4096 bits) signature key"
    )]
    UnsupportedKey,
}

/// A key of a client's JWK Set, checked: its `kid` and the algorithms it verifies.
#[derive(Debug, Clone)]
pub(crate) struct ClientKey {
    kid: Option<String>,
    jwk: Map<String, Value>,
    algorithms: Vec<ClientSigningAlgorithm>,
}

impl ClientKey {
    /// The key's `kid`.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether the key can verify signatures of `alg`.
    pub(crate) fn verifies_with(&self, alg: ClientSigningAlgorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// Reads one JWK: a public signature key of a type and size an accepted algorithm fits.
    fn parse(jwk: &Value) -> Result<Self, JwksError> {
        let Value::Object(jwk) = jwk else { return Err(JwksError::UnsupportedKey) };
        if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member))
            || jwk.get("kty").and_then(Value::as_str) == Some("oct")
        {
            return Err(JwksError::PrivateKey);
        }
        // RFC 7517 §4.2, §4.3: a key for encryption, or not for verifying, signs nothing.
        match jwk.get("use") {
            None => {}
            Some(Value::String(usage)) if usage == "sig" => {}
            Some(_) => return Err(JwksError::UnsupportedKey),
        }
        if let Some(ops) = jwk.get("key_ops")
            && !ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
        {
            return Err(JwksError::UnsupportedKey);
        }
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) if !kid.is_empty() => Some(kid.clone()),
            Some(_) => return Err(JwksError::MissingKid),
        };
        // `public_key` checks the key type, curve, sizes and a JWK `alg` against each algorithm.
        let algorithms: Vec<ClientSigningAlgorithm> = ClientSigningAlgorithm::ALL
            .into_iter()
            .filter(|alg| dpop_proof::public_key(jwk, alg_of(*alg)).is_ok())
            .collect();
        if algorithms.is_empty() {
            return Err(JwksError::UnsupportedKey);
        }
        Ok(Self { kid, jwk: jwk.clone(), algorithms })
    }

    /// Whether the key verifies `signature` over `message` with `alg`.
    pub(crate) fn verifies(&self, alg: ClientSigningAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        self.algorithms.contains(&alg)
            && dpop_proof::public_key(&self.jwk, alg_of(alg)).is_ok_and(|key| key.verify(message, signature))
    }
}

/// The DPoP verifier's name of an algorithm; the two lists are the same five.
fn alg_of(alg: ClientSigningAlgorithm) -> Alg {
    match alg {
        ClientSigningAlgorithm::ES256 => Alg::Es256,
        ClientSigningAlgorithm::ES384 => Alg::Es384,
        ClientSigningAlgorithm::EdDSA => Alg::EdDsa,
        ClientSigningAlgorithm::PS256 => Alg::Ps256,
        ClientSigningAlgorithm::RS256 => Alg::Rs256,
    }
}

/// Checks a JWK Set given at registration: at most [`MAX_KEYS`] public signature keys, each
/// usable and with its own `kid`. Strict: a key attesto cannot use is the client's mistake, told
/// now rather than at its first token request.
pub(crate) fn check_jwks(jwks: &Value) -> Result<Vec<ClientKey>, JwksError> {
    let keys = jwks.get("keys").and_then(Value::as_array).ok_or(JwksError::NotASet)?;
    if keys.is_empty() {
        return Err(JwksError::Empty);
    }
    if keys.len() > MAX_KEYS {
        return Err(JwksError::TooManyKeys);
    }
    let mut checked: Vec<ClientKey> = Vec::with_capacity(keys.len());
    for jwk in keys {
        let key = ClientKey::parse(jwk)?;
        let kid = key.kid().ok_or(JwksError::MissingKid)?;
        if checked.iter().any(|other| other.kid() == Some(kid)) {
            return Err(JwksError::DuplicateKid);
        }
        checked.push(key);
    }
    Ok(checked)
}

/// The usable keys of a JWK Set the client publishes (at its `jwks_uri`) or the host gave: keys
/// attesto cannot use, private keys, keys past the first [`MAX_KEYS`] and repeated `kid`s (the
/// first wins) are skipped, not fatal, as a provider's own JWKS is read by a remote guard.
pub(crate) fn usable_keys(jwks: &Value) -> Vec<ClientKey> {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else { return Vec::new() };
    let mut usable: Vec<ClientKey> = Vec::new();
    for jwk in keys.iter().take(MAX_KEYS) {
        if let Ok(key) = ClientKey::parse(jwk)
            && !key.kid().is_some_and(|kid| usable.iter().any(|other| other.kid() == Some(kid)))
        {
            usable.push(key);
        }
    }
    usable
}

/// Which audiences an assertion may name (RFC 7523 §3, condition 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAssertionAudience {
    /// The issuer identifier, or the URL of the token endpoint, as RFC 7523 §3 allows and many
    /// clients send (the default).
    #[default]
    IssuerOrTokenEndpoint,
    /// The issuer identifier only, as FAPI 2.0 Security Profile §5.3.2.1 asks: an assertion made
    /// for one endpoint URL cannot be replayed at another server that shares it.
    IssuerOnly,
}

/// Why a client assertion is refused: each is `invalid_client` with
/// [`description`](Self::description) as its `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssertionError {
    /// Longer than [`MAX_ASSERTION_BYTES`].
    TooLarge,
    /// Not three base64url parts with a JSON header.
    Malformed,
    /// `crit` in the header (RFC 7515 §4.1.11): no extension is understood.
    Critical,
    /// `alg` `none`.
    Unsigned,
    /// An HMAC `alg` (`client_secret_jwt`).
    Hmac,
    /// Another `alg`.
    UnsupportedAlgorithm,
    /// Not the client's `token_endpoint_auth_signing_alg`.
    AlgorithmNotRegistered,
    /// The claims are not a JSON object of the expected member types.
    MalformedClaims,
    /// No `iss`.
    MissingIssuer,
    /// The form's `client_id` is not the assertion's `iss` (RFC 7521 §4.2).
    ClientIdMismatch,
    /// `sub` absent or not the client id (RFC 7523 §3, condition 2).
    SubjectNotClient,
    /// The client has no key (or none usable).
    NoKeys,
    /// No key of the client has the header's `kid`.
    UnknownKey,
    /// No key of the client verifies the signature.
    BadSignature,
    /// `aud` does not name this server, under [`ClientAssertionAudience::IssuerOrTokenEndpoint`].
    WrongAudience,
    /// `aud` is not the issuer, under [`ClientAssertionAudience::IssuerOnly`].
    AudienceNotIssuer,
    /// No `exp` (RFC 7523 §3, condition 4).
    MissingExpiry,
    /// `exp` has passed.
    Expired,
    /// `exp` more than [`MAX_LIFETIME`] ahead.
    LivesTooLong,
    /// `iat` in the future.
    IssuedInFuture,
    /// `nbf` in the future (RFC 7523 §3, condition 5).
    NotYetValid,
    /// No `jti`, or one longer than [`MAX_JTI_BYTES`].
    MissingJti,
    /// The `jti` was seen before (RFC 7523 §3, condition 7).
    Replayed,
}

impl AssertionError {
    /// The `error_description`.
    pub(crate) const fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "the client assertion is larger than 8192 bytes",
            Self::Malformed => "the client assertion is not a signed JWT (RFC 7515 §7.1 compact serialization)",
            Self::Critical => "the client assertion's header has a `crit` member this server does not understand",
            Self::Unsigned => "the client assertion is unsigned (`alg` `none`)",
            Self::Hmac => {
                "the client assertion is signed with an HMAC: client_secret_jwt is not supported, sign with a private key (private_key_jwt)"
            }
            Self::UnsupportedAlgorithm => {
                "the client assertion's `alg` is not supported: use ES256, ES384, EdDSA, PS256 or RS256"
            }
            Self::AlgorithmNotRegistered => {
                "the client assertion's `alg` is not the client's registered `token_endpoint_auth_signing_alg`"
            }
            Self::MalformedClaims => "the client assertion's claims are not a JSON object of the expected types",
            Self::MissingIssuer => "the client assertion has no `iss`: it must be the client id (RFC 7523 §3)",
            Self::ClientIdMismatch => "`client_id` differs from the client assertion's `iss` (RFC 7521 §4.2)",
            Self::SubjectNotClient => "the client assertion's `sub` must be the client id (RFC 7523 §3)",
            Self::NoKeys => "the client has no key to verify its assertion with",
            Self::UnknownKey => "no key of the client has the client assertion's `kid`",
            Self::BadSignature => "the client assertion's signature does not verify with the client's keys",
            Self::WrongAudience => {
                "the client assertion's `aud` must be this server's issuer identifier or token endpoint URL"
            }
            Self::AudienceNotIssuer => "the client assertion's `aud` must be this server's issuer identifier",
            Self::MissingExpiry => "the client assertion has no `exp` (RFC 7523 §3)",
            Self::Expired => "the client assertion has expired",
            Self::LivesTooLong => "the client assertion's `exp` is more than 5 minutes ahead",
            Self::IssuedInFuture => "the client assertion's `iat` is in the future",
            Self::NotYetValid => "the client assertion is not valid yet (`nbf`)",
            Self::MissingJti => "the client assertion has no `jti` (at most 256 bytes), which makes it single-use",
            Self::Replayed => "the client assertion was used before: its `jti` is single-use",
        }
    }
}

/// Why a JWT a client signed (a client assertion, a request object) is refused before its
/// signature is looked at: its form and header, which both are checked by the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormRefusal {
    TooLarge,
    Malformed,
    Critical,
    Unsigned,
    Hmac,
    UnsupportedAlgorithm,
}

/// Why the signature of a JWT a client signed is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureRefusal {
    AlgorithmNotRegistered,
    NoKeys,
    UnknownKey,
    BadSignature,
}

impl From<FormRefusal> for AssertionError {
    fn from(refusal: FormRefusal) -> Self {
        match refusal {
            FormRefusal::TooLarge => Self::TooLarge,
            FormRefusal::Malformed => Self::Malformed,
            FormRefusal::Critical => Self::Critical,
            FormRefusal::Unsigned => Self::Unsigned,
            FormRefusal::Hmac => Self::Hmac,
            FormRefusal::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
        }
    }
}

impl From<SignatureRefusal> for AssertionError {
    fn from(refusal: SignatureRefusal) -> Self {
        match refusal {
            SignatureRefusal::AlgorithmNotRegistered => Self::AlgorithmNotRegistered,
            SignatureRefusal::NoKeys => Self::NoKeys,
            SignatureRefusal::UnknownKey => Self::UnknownKey,
            SignatureRefusal::BadSignature => Self::BadSignature,
        }
    }
}

#[derive(serde::Deserialize)]
struct Header<'a> {
    #[serde(default)]
    alg: Option<&'a str>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

/// A compact JWS a client signed, split, its header read: the size, three parts, a JSON header
/// without `crit` whose `alg` is one a client may sign with (never `none`, never HMAC). The
/// signature and the claims are left encoded, for the caller to decode under its own rules.
#[derive(Debug)]
pub(crate) struct Compact<'t> {
    pub(crate) signing_input: &'t str,
    pub(crate) alg: ClientSigningAlgorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) claims_b64: &'t str,
    pub(crate) signature_b64: &'t str,
}

impl<'t> Compact<'t> {
    /// Splits `token`, refused unread past `max_bytes`, and checks its header.
    pub(crate) fn parse(token: &'t str, max_bytes: usize) -> Result<Self, FormRefusal> {
        if token.len() > max_bytes {
            return Err(FormRefusal::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(FormRefusal::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD.decode(header_b64).map_err(|_| FormRefusal::Malformed)?;
        let header: Header<'_> = serde_json::from_slice(&header_json).map_err(|_| FormRefusal::Malformed)?;
        if header.crit.is_some() {
            return Err(FormRefusal::Critical);
        }
        let alg = match header.alg {
            Some(alg) if alg.eq_ignore_ascii_case("none") => return Err(FormRefusal::Unsigned),
            Some(alg) if alg.starts_with("HS") => return Err(FormRefusal::Hmac),
            Some(alg) => ClientSigningAlgorithm::parse(alg).ok_or(FormRefusal::UnsupportedAlgorithm)?,
            None => return Err(FormRefusal::Malformed),
        };
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
        Ok(Self { signing_input, alg, kid: header.kid, typ: header.typ, claims_b64, signature_b64 })
    }
}

/// Verifies `signature` over `message`, made with `alg`, with the client's `keys`: the key
/// `kid` names, or without a `kid` each key in turn (at most [`MAX_KEYS`]). The algorithm must
/// be the client's `registered` one, when it registered one, and one the key fits.
pub(crate) fn verify_client_signature(
    keys: &[ClientKey],
    kid: Option<&str>,
    alg: ClientSigningAlgorithm,
    registered: Option<ClientSigningAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureRefusal> {
    if registered.is_some_and(|registered| registered != alg) {
        return Err(SignatureRefusal::AlgorithmNotRegistered);
    }
    if keys.is_empty() {
        return Err(SignatureRefusal::NoKeys);
    }
    let mut candidates =
        keys.iter().take(MAX_KEYS).filter(|key| kid.is_none_or(|kid| key.kid() == Some(kid))).peekable();
    if candidates.peek().is_none() {
        return Err(SignatureRefusal::UnknownKey);
    }
    if candidates.any(|key| key.verifies(alg, message, signature)) {
        Ok(())
    } else {
        Err(SignatureRefusal::BadSignature)
    }
}

/// What checking a client's signature needs of a JWS it made, once parsed: the signing input,
/// the decoded signature, the header's `alg` and `kid`. Client assertions and request objects
/// each hold one.
#[derive(Debug)]
pub(crate) struct ClientSigned<'t> {
    signing_input: &'t str,
    signature: Vec<u8>,
    alg: ClientSigningAlgorithm,
    kid: Option<String>,
}

impl<'t> ClientSigned<'t> {
    /// The signed part of `compact`, whose signature decoded to `signature`.
    pub(crate) fn new(compact: Compact<'t>, signature: Vec<u8>) -> Self {
        Self { signing_input: compact.signing_input, signature, alg: compact.alg, kid: compact.kid }
    }

    /// The header's `alg`.
    pub(crate) fn alg(&self) -> ClientSigningAlgorithm {
        self.alg
    }

    /// The header's `kid`.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the signature with the client's `keys` ([`verify_client_signature`]).
    pub(crate) fn verify(
        &self,
        keys: &[ClientKey],
        registered: Option<ClientSigningAlgorithm>,
    ) -> Result<(), SignatureRefusal> {
        verify_client_signature(keys, self.kid(), self.alg, registered, self.signing_input.as_bytes(), &self.signature)
    }
}

/// The claims of an assertion that attesto reads; the others are ignored (RFC 7523 §3).
#[derive(Debug, Default, serde::Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    jti: Option<String>,
}

/// `aud`: one string or an array of them (RFC 7519 §4.1.3).
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|one| one == audience),
        }
    }
}

/// An assertion whose form and header were checked, not yet its signature nor its claims.
#[derive(Debug)]
pub(crate) struct Assertion<'t> {
    signed: ClientSigned<'t>,
    claims: Claims,
}

/// What an accepted assertion leaves to the caller: its `jti`, to remember until `expires_at`
/// (seconds) so that it is single-use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) jti: String,
    pub(crate) expires_at: u64,
}

impl<'t> Assertion<'t> {
    /// Parses `assertion`: its size, three base64url parts, a JSON header without `crit` whose
    /// `alg` is accepted, and JSON claims.
    pub(crate) fn parse(assertion: &'t str) -> Result<Self, AssertionError> {
        let compact = Compact::parse(assertion, MAX_ASSERTION_BYTES)?;
        let signature = URL_SAFE_NO_PAD.decode(compact.signature_b64).map_err(|_| AssertionError::Malformed)?;
        if signature.is_empty() {
            return Err(AssertionError::Malformed);
        }
        let claims_json = URL_SAFE_NO_PAD.decode(compact.claims_b64).map_err(|_| AssertionError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&claims_json).map_err(|_| AssertionError::MalformedClaims)?;
        Ok(Self { signed: ClientSigned::new(compact, signature), claims })
    }

    /// The client the assertion is for: its `iss` (RFC 7523 §3, condition 1), which a form's
    /// `client_id`, when sent, must equal (RFC 7521 §4.2).
    pub(crate) fn client_id(&self, form_client_id: Option<&str>) -> Result<&str, AssertionError> {
        let issuer = self.claims.iss.as_deref().filter(|iss| !iss.is_empty()).ok_or(AssertionError::MissingIssuer)?;
        if form_client_id.is_some_and(|id| id != issuer) {
            return Err(AssertionError::ClientIdMismatch);
        }
        Ok(issuer)
    }

    /// Its signature, `alg` and `kid`.
    pub(crate) fn signed(&self) -> &ClientSigned<'t> {
        &self.signed
    }

    /// Verifies the signature with the client's `keys`: the key the `kid` names, or without a
    /// `kid` each key in turn (at most [`MAX_KEYS`]). The algorithm must be the client's
    /// registered one, when it registered one, and one the key fits.
    pub(crate) fn verify_signature(
        &self,
        keys: &[ClientKey],
        registered: Option<ClientSigningAlgorithm>,
    ) -> Result<(), AssertionError> {
        Ok(self.signed.verify(keys, registered)?)
    }

    /// Checks the claims of an assertion whose signature verified (RFC 7523 §3): `sub` is
    /// `client_id`, `aud` names `issuer` (or `token_endpoint` when `audience` allows it), `exp`
    /// present, not passed and at most [`MAX_LIFETIME`] ahead, `iat` and `nbf` not in the future,
    /// all with `skew` seconds of leeway for clocks that disagree, and a `jti`.
    pub(crate) fn check_claims(
        &self,
        client_id: &str,
        issuer: &str,
        token_endpoint: &str,
        audience: ClientAssertionAudience,
        now: u64,
        skew: u64,
    ) -> Result<Accepted, AssertionError> {
        let claims = &self.claims;
        if claims.sub.as_deref() != Some(client_id) {
            return Err(AssertionError::SubjectNotClient);
        }
        let aud = claims.aud.as_ref();
        match audience {
            ClientAssertionAudience::IssuerOrTokenEndpoint => {
                if !aud.is_some_and(|aud| aud.contains(issuer) || aud.contains(token_endpoint)) {
                    return Err(AssertionError::WrongAudience);
                }
            }
            ClientAssertionAudience::IssuerOnly => {
                if !aud.is_some_and(|aud| aud.contains(issuer)) {
                    return Err(AssertionError::AudienceNotIssuer);
                }
            }
        }
        let now_f = now as f64;
        let skew_f = skew as f64;
        let exp = claims.exp.ok_or(AssertionError::MissingExpiry)?;
        if exp + skew_f <= now_f {
            return Err(AssertionError::Expired);
        }
        if exp > now_f + (MAX_LIFETIME + skew) as f64 {
            return Err(AssertionError::LivesTooLong);
        }
        if claims.iat.is_some_and(|iat| iat > now_f + skew_f) {
            return Err(AssertionError::IssuedInFuture);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now_f + skew_f) {
            return Err(AssertionError::NotYetValid);
        }
        let jti = claims
            .jti
            .as_deref()
            .filter(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_BYTES)
            .ok_or(AssertionError::MissingJti)?;
        // Remembered for as long as the assertion would be accepted: `exp` plus the leeway.
        Ok(Accepted { jti: jti.to_owned(), expires_at: exp.ceil() as u64 + skew })
    }
}

/// The text whose hash keys an assertion's `jti` in the store's replay memory
/// (`Store::insert_dpop_jti`). A DPoP key is `thumbprint.jti` (base64url, never a `:`), so the
/// prefix keeps the two kinds apart; the client id scopes a `jti` to its client, so that two
/// clients cannot spend each other's `jti`s.
pub(crate) fn replay_key(client_id: &str, jti: &str) -> String {
    format!("client_assertion:{}:{client_id}:{jti}", client_id.len())
}

#[cfg(test)]
mod tests;
