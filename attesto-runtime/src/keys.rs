//! Signing keys, the key set, and the JSON Web Key Set document (RFC 7517).
//!
//! A [`Key`] is parsed once — PEM (PKCS#8, SEC1, PKCS#1) or JWK — and kept as a ready signing key:
//! signing a token costs one signature and no key parsing. The key decides its algorithm
//! (RFC 8725 §3.1: never trust a header for it); there is no `none` and no HMAC.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPairComponents, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A JWS signing algorithm attesto signs with (RFC 7518 §3, RFC 8037).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256; the default.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
}

impl Algorithm {
    /// The JOSE `alg` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
        }
    }

    /// The algorithm a JOSE `alg` value names, if attesto signs with it.
    pub(crate) fn parse(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::ES256),
            "EdDSA" => Some(Self::EdDSA),
            "RS256" => Some(Self::RS256),
            "PS256" => Some(Self::PS256),
            _ => None,
        }
    }

    const fn is_rsa(self) -> bool {
        matches!(self, Self::RS256 | Self::PS256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key could not be loaded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not a single well-formed PEM block.
    #[error("malformed PEM: {0}")]
    Pem(&'static str),
    /// The PEM label names a format attesto does not read.
    #[error("unsupported PEM label `{0}`: expected PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY or PUBLIC KEY")]
    PemLabel(String),
    /// The key bytes were rejected (wrong curve, corrupt, inconsistent).
    #[error("the key was rejected: {0}")]
    Rejected(String),
    /// The JWK is malformed or of a kind attesto does not support.
    #[error("invalid JWK: {0}")]
    Jwk(String),
    /// RSA keys must be at least 2048 bits.
    #[error("RSA keys must be at least 2048 bits, this one has {0}")]
    RsaTooShort(usize),
    /// The algorithm does not fit the key type.
    #[error("algorithm {alg} does not fit a {kty} key")]
    AlgorithmMismatch {
        /// The requested algorithm.
        alg: Algorithm,
        /// The key type.
        kty: &'static str,
    },
    /// A signing key is needed but this key has only its public part.
    #[error("the key has no private part and cannot sign")]
    NotPrivate,
    /// The signature operation failed.
    #[error("signing failed")]
    Signing,
}

enum Material {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
    /// Verification only: EC point, Ed25519 key or RSA (n, e).
    PublicEc(Vec<u8>),
    PublicEd(Vec<u8>),
    PublicRsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

struct KeyInner {
    alg: Algorithm,
    kid: String,
    /// The public JWK members (kty, crv, x, y / n, e), without kid, alg or use.
    public: Map<String, Value>,
    material: Material,
    generated: bool,
}

/// A signing or verification key, parsed once.
///
/// Cloning is cheap (the key is shared).
///
/// ```
/// use attesto_runtime::{Algorithm, Key};
///
/// let key = Key::generate(Algorithm::ES256).unwrap();
/// assert_eq!(key.algorithm(), Algorithm::ES256);
/// assert_eq!(key.kid().len(), 43); // base64url SHA-256 thumbprint (RFC 7638)
/// ```
#[derive(Clone)]
pub struct Key(Arc<KeyInner>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("alg", &self.0.alg)
            .field("kid", &self.0.kid)
            .field("private", &self.is_private())
            .finish()
    }
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(URL_SAFE_NO_PAD.encode(bytes))
}

fn rejected(error: impl fmt::Display) -> KeyError {
    KeyError::Rejected(error.to_string())
}

/// Where a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provenance {
    /// Made in this process (`Key::generate`): gone at restart.
    Generated,
    /// Read from a PEM or a JWK.
    Loaded,
}

impl Key {
    fn assemble(alg: Algorithm, material: Material, provenance: Provenance) -> Result<Self, KeyError> {
        let mut public = Map::new();
        match &material {
            Material::Ec(pair) => ec_members(&mut public, pair.public_key().as_ref())?,
            Material::PublicEc(point) => ec_members(&mut public, point)?,
            Material::Ed(pair) => okp_members(&mut public, pair.public_key().as_ref()),
            Material::PublicEd(x) => okp_members(&mut public, x),
            Material::Rsa(pair) => {
                let key = pair.public_key();
                rsa_members(
                    &mut public,
                    key.modulus().big_endian_without_leading_zero(),
                    key.exponent().big_endian_without_leading_zero(),
                )?;
            }
            Material::PublicRsa { n, e } => rsa_members(&mut public, n, e)?,
        }
        let kid = thumbprint(&public);
        let generated = provenance == Provenance::Generated;
        Ok(Self(Arc::new(KeyInner { alg, kid, public, material, generated })))
    }

    /// Generates a fresh private key. RSA keys are 2048 bits.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let material = match alg {
            Algorithm::ES256 => {
                Material::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(rejected)?)
            }
            Algorithm::EdDSA => Material::Ed(Ed25519KeyPair::generate().map_err(rejected)?),
            Algorithm::RS256 | Algorithm::PS256 => {
                Material::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(rejected)?)
            }
        };
        Self::assemble(alg, material, Provenance::Generated)
    }

    /// A generated ES256 key for development, logged with a loud warning: tokens signed with it
    /// stop verifying when the process restarts, and several instances cannot share it.
    pub fn generate_for_development() -> Result<Self, KeyError> {
        let key = Self::generate(Algorithm::ES256)?;
        tracing::warn!(
            kid = key.kid(),
            "attesto is signing with a GENERATED key: tokens will not survive a restart and instances will not \
             agree; load a persistent key with Key::from_pem in production"
        );
        Ok(key)
    }

    /// Loads a key from PEM: `PRIVATE KEY` (PKCS#8: P-256, Ed25519 or RSA), `EC PRIVATE KEY`
    /// (SEC1, P-256), `RSA PRIVATE KEY` (PKCS#1), or `PUBLIC KEY` (SPKI, verification only).
    /// RSA keys get `RS256`; use [`Key::from_pem_with_algorithm`] for `PS256`.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (alg, material) = parse_pem(pem)?;
        Self::assemble(alg, material, Provenance::Loaded)
    }

    /// Loads an RSA key from PEM for `RS256` or `PS256`, or any key with the algorithm it implies.
    pub fn from_pem_with_algorithm(pem: &str, alg: Algorithm) -> Result<Self, KeyError> {
        let (default, material) = parse_pem(pem)?;
        Self::assemble(fit(default, Some(alg), &material)?, material, Provenance::Loaded)
    }

    /// Loads a key from a JWK (RFC 7517): EC P-256, OKP Ed25519 or RSA, private (with `d`) or
    /// public (verification only). A JWK `alg` member decides the algorithm (RS256 or PS256 for
    /// RSA, which defaults to RS256). Symmetric (`oct`) keys are refused.
    pub fn from_jwk(jwk: &str) -> Result<Self, KeyError> {
        let jwk: Map<String, Value> =
            serde_json::from_str(jwk).map_err(|e| KeyError::Jwk(format!("not a JSON object: {e}")))?;
        let text = |name: &str| -> Result<Option<&str>, KeyError> {
            match jwk.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(KeyError::Jwk(format!("`{name}` must be a string"))),
            }
        };
        let bytes = |name: &str| -> Result<Vec<u8>, KeyError> {
            let value = text(name)?.ok_or_else(|| KeyError::Jwk(format!("`{name}` is missing")))?;
            URL_SAFE_NO_PAD.decode(value).map_err(|_| KeyError::Jwk(format!("`{name}` is not base64url")))
        };
        let alg = match text("alg")? {
            None => None,
            Some(alg) => Some(Algorithm::parse(alg).ok_or_else(|| KeyError::Jwk(format!("unsupported `alg` {alg}")))?),
        };
        let private = jwk.contains_key("d");
        let (default_alg, material) = match text("kty")? {
            Some("EC") => {
                if text("crv")? != Some("P-256") {
                    return Err(KeyError::Jwk("only the P-256 curve is supported for EC keys".to_owned()));
                }
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Jwk("P-256 coordinates must be 32 bytes".to_owned()));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let material = if private {
                    Material::Ec(
                        EcdsaKeyPair::from_private_key_and_public_key(
                            &ECDSA_P256_SHA256_FIXED_SIGNING,
                            &bytes("d")?,
                            &point,
                        )
                        .map_err(rejected)?,
                    )
                } else {
                    // Validates that the point is on the curve before we accept it.
                    signature::ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point).map_err(rejected)?;
                    Material::PublicEc(point)
                };
                (Algorithm::ES256, material)
            }
            Some("OKP") => {
                if text("crv")? != Some("Ed25519") {
                    return Err(KeyError::Jwk("only the Ed25519 curve is supported for OKP keys".to_owned()));
                }
                let x = bytes("x")?;
                if x.len() != 32 {
                    return Err(KeyError::Jwk("an Ed25519 public key is 32 bytes".to_owned()));
                }
                let material = if private {
                    Material::Ed(Ed25519KeyPair::from_seed_and_public_key(&bytes("d")?, &x).map_err(rejected)?)
                } else {
                    Material::PublicEd(x)
                };
                (Algorithm::EdDSA, material)
            }
            Some("RSA") => {
                let (n, e) = (strip_zeros(bytes("n")?), strip_zeros(bytes("e")?));
                let material = if private {
                    let components = KeyPairComponents {
                        public_key: PublicKeyComponents { n: n.as_slice(), e: e.as_slice() },
                        d: bytes("d")?,
                        p: bytes("p")?,
                        q: bytes("q")?,
                        dP: bytes("dp")?,
                        dQ: bytes("dq")?,
                        qInv: bytes("qi")?,
                    };
                    Material::Rsa(RsaKeyPair::from_components(&components).map_err(rejected)?)
                } else {
                    Material::PublicRsa { n, e }
                };
                (Algorithm::RS256, material)
            }
            Some("oct") => {
                return Err(KeyError::Jwk(
                    "symmetric (`oct`) keys are not accepted: attesto signs asymmetrically".to_owned(),
                ));
            }
            Some(other) => return Err(KeyError::Jwk(format!("unsupported `kty` {other}"))),
            None => return Err(KeyError::Jwk("`kty` is missing".to_owned())),
        };
        check_rsa_size(&material)?;
        Self::assemble(fit(default_alg, alg, &material)?, material, Provenance::Loaded)
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.0.alg
    }

    /// The key id: the RFC 7638 JWK thumbprint (SHA-256, base64url).
    pub fn kid(&self) -> &str {
        &self.0.kid
    }

    /// Whether the key can sign (has its private part).
    pub fn is_private(&self) -> bool {
        matches!(self.0.material, Material::Ec(_) | Material::Ed(_) | Material::Rsa(_))
    }

    /// Whether the key was generated in this process rather than loaded.
    pub fn is_generated(&self) -> bool {
        self.0.generated
    }

    /// The public JWK: the key's public members with `kid`, `alg` and `use: "sig"`. It never
    /// holds a private member.
    pub fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.0.public.clone();
        jwk.insert("kid".to_owned(), Value::String(self.0.kid.clone()));
        jwk.insert("alg".to_owned(), Value::String(self.0.alg.as_str().to_owned()));
        jwk.insert("use".to_owned(), Value::String("sig".to_owned()));
        jwk
    }

    /// Signs `message` (a JWS signing input), giving the JWS signature bytes (RFC 7518 §3.4: the
    /// fixed-width `R || S` form for ES256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match (&self.0.material, self.0.alg) {
            (Material::Ec(pair), _) => {
                let rng = SystemRandom::new();
                Ok(pair.sign(&rng, message).map_err(|_| KeyError::Signing)?.as_ref().to_vec())
            }
            (Material::Ed(pair), _) => Ok(pair.sign(message).as_ref().to_vec()),
            (Material::Rsa(pair), alg) => {
                let padding: &'static dyn signature::RsaEncoding =
                    if alg == Algorithm::PS256 { &signature::RSA_PSS_SHA256 } else { &signature::RSA_PKCS1_SHA256 };
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &SystemRandom::new(), message, &mut signature).map_err(|_| KeyError::Signing)?;
                Ok(signature)
            }
            _ => Err(KeyError::NotPrivate),
        }
    }

    /// Verifies a JWS signature over `message` made with this key's algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0.material {
            Material::Ec(pair) => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref())
                .verify(message, signature)
                .is_ok(),
            Material::PublicEc(point) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
            }
            Material::Ed(pair) => {
                UnparsedPublicKey::new(&ED25519, pair.public_key().as_ref()).verify(message, signature).is_ok()
            }
            Material::PublicEd(x) => UnparsedPublicKey::new(&ED25519, x).verify(message, signature).is_ok(),
            Material::Rsa(pair) => {
                let key = pair.public_key();
                let (n, e) =
                    (key.modulus().big_endian_without_leading_zero(), key.exponent().big_endian_without_leading_zero());
                self.verify_rsa(n, e, message, signature)
            }
            Material::PublicRsa { n, e } => self.verify_rsa(n, e, message, signature),
        }
    }

    fn verify_rsa(&self, n: &[u8], e: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let params: &'static signature::RsaParameters = if self.0.alg == Algorithm::PS256 {
            &signature::RSA_PSS_2048_8192_SHA256
        } else {
            &signature::RSA_PKCS1_2048_8192_SHA256
        };
        PublicKeyComponents { n, e }.verify(params, message, signature).is_ok()
    }
}

/// The PEM forms `Key::from_pem` reads, with the algorithm each implies.
fn parse_pem(pem: &str) -> Result<(Algorithm, Material), KeyError> {
    let (label, der) = decode_pem(pem)?;
    let (alg, material) = match label.as_str() {
        "PRIVATE KEY" => {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
                (Algorithm::ES256, Material::Ec(pair))
            } else if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                (Algorithm::EdDSA, Material::Ed(pair))
            } else {
                let pair = RsaKeyPair::from_pkcs8(&der).map_err(|_| {
                    KeyError::Rejected("not a P-256, Ed25519 or RSA (2048 bits or more) PKCS#8 key".to_owned())
                })?;
                (Algorithm::RS256, Material::Rsa(pair))
            }
        }
        "EC PRIVATE KEY" => {
            let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|_| KeyError::Rejected("not a P-256 SEC1 key (only ES256 is supported)".to_owned()))?;
            (Algorithm::ES256, Material::Ec(pair))
        }
        "RSA PRIVATE KEY" => {
            let pair = RsaKeyPair::from_der(&der)
                .map_err(|_| KeyError::Rejected("not a PKCS#1 RSA key of 2048 bits or more".to_owned()))?;
            (Algorithm::RS256, Material::Rsa(pair))
        }
        "PUBLIC KEY" => public_from_spki(&der)?,
        _ => return Err(KeyError::PemLabel(label)),
    };
    check_rsa_size(&material)?;
    Ok((alg, material))
}

/// The algorithm a key signs with: `requested` when it fits the key type (RSA keys sign RS256 or
/// PS256), else the key's own.
fn fit(default: Algorithm, requested: Option<Algorithm>, material: &Material) -> Result<Algorithm, KeyError> {
    match requested {
        None => Ok(default),
        Some(alg) if alg == default || (alg.is_rsa() && default.is_rsa()) => Ok(alg),
        Some(alg) => Err(KeyError::AlgorithmMismatch { alg, kty: material.kty() }),
    }
}

impl Material {
    fn kty(&self) -> &'static str {
        match self {
            Material::Ec(_) | Material::PublicEc(_) => "EC",
            Material::Ed(_) | Material::PublicEd(_) => "OKP",
            Material::Rsa(_) | Material::PublicRsa { .. } => "RSA",
        }
    }
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn check_rsa_size(material: &Material) -> Result<(), KeyError> {
    // The exact bit length of the modulus, not its byte length times 8: a 256-byte modulus whose
    // first byte is 0x01 has 2041 bits, is too short, and could never verify a signature (the
    // verifier requires 2048 to 8192 bits).
    fn bit_len(n: &[u8]) -> usize {
        n.first().map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
    }
    let bits = match material {
        Material::Rsa(pair) => bit_len(pair.public_key().modulus().big_endian_without_leading_zero()),
        Material::PublicRsa { n, .. } => bit_len(n),
        _ => return Ok(()),
    };
    if bits < 2048 { Err(KeyError::RsaTooShort(bits)) } else { Ok(()) }
}

fn ec_members(jwk: &mut Map<String, Value>, point: &[u8]) -> Result<(), KeyError> {
    // SEC1 uncompressed point: 0x04 || x || y.
    if point.len() != 65 || point[0] != 4 {
        return Err(KeyError::Rejected("unexpected P-256 public key encoding".to_owned()));
    }
    jwk.insert("kty".to_owned(), Value::String("EC".to_owned()));
    jwk.insert("crv".to_owned(), Value::String("P-256".to_owned()));
    jwk.insert("x".to_owned(), b64(&point[1..33]));
    jwk.insert("y".to_owned(), b64(&point[33..]));
    Ok(())
}

fn okp_members(jwk: &mut Map<String, Value>, x: &[u8]) {
    jwk.insert("kty".to_owned(), Value::String("OKP".to_owned()));
    jwk.insert("crv".to_owned(), Value::String("Ed25519".to_owned()));
    jwk.insert("x".to_owned(), b64(x));
}

fn rsa_members(jwk: &mut Map<String, Value>, n: &[u8], e: &[u8]) -> Result<(), KeyError> {
    if n.is_empty() || e.is_empty() {
        return Err(KeyError::Rejected("empty RSA component".to_owned()));
    }
    jwk.insert("kty".to_owned(), Value::String("RSA".to_owned()));
    jwk.insert("n".to_owned(), b64(n));
    jwk.insert("e".to_owned(), b64(e));
    Ok(())
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
pub(crate) fn thumbprint(public: &Map<String, Value>) -> String {
    let required: &[&str] = match public.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &["e", "kty", "n"],
    };
    let mut canonical = String::from("{");
    for (i, name) in required.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        let value = public.get(*name).and_then(Value::as_str).unwrap_or_default();
        // Member values here are base64url or fixed names: no JSON escaping is needed.
        canonical.push_str(&format!("\"{name}\":\"{value}\""));
    }
    canonical.push('}');
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The DER of one PEM block and its label (RFC 7468).
fn decode_pem(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    let pem = pem.trim();
    let rest = pem.strip_prefix("-----BEGIN ").ok_or(KeyError::Pem("missing `-----BEGIN` line"))?;
    let (label, rest) = rest.split_once("-----").ok_or(KeyError::Pem("malformed BEGIN line"))?;
    let end = format!("-----END {label}-----");
    let body = rest.strip_suffix(end.as_str()).ok_or(KeyError::Pem("missing or mismatched END line"))?;
    let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(body).map_err(|_| KeyError::Pem("the body is not base64"))?;
    Ok((label.to_owned(), der))
}

/// A public key from an X.509 SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
fn public_from_spki(der: &[u8]) -> Result<(Algorithm, Material), KeyError> {
    // The fixed DER prefixes of P-256 and Ed25519 SPKIs (RFC 5480, RFC 8410).
    const P256_PREFIX: &[u8] = &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    const ED25519_PREFIX: &[u8] = &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    if let Some(point) = der.strip_prefix(P256_PREFIX) {
        signature::ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).map_err(rejected)?;
        return Ok((Algorithm::ES256, Material::PublicEc(point.to_vec())));
    }
    if let Some(x) = der.strip_prefix(ED25519_PREFIX)
        && x.len() == 32
    {
        return Ok((Algorithm::EdDSA, Material::PublicEd(x.to_vec())));
    }
    let key = aws_lc_rs::rsa::PublicKey::from_der(der)
        .map_err(|_| KeyError::Rejected("not a P-256, Ed25519 or RSA public key".to_owned()))?;
    let n = key.modulus().big_endian_without_leading_zero().to_vec();
    let e = key.exponent().big_endian_without_leading_zero().to_vec();
    Ok((Algorithm::RS256, Material::PublicRsa { n, e }))
}

/// The keys of a provider: one signing key, and extra verification keys for rotation (tokens
/// signed by a retired key keep verifying while they live).
#[derive(Debug, Clone)]
pub struct KeySet {
    signing: Key,
    verification: Vec<Key>,
}

impl KeySet {
    /// A key set with one signing key.
    pub fn new(signing: Key) -> Result<Self, KeyError> {
        if !signing.is_private() {
            return Err(KeyError::NotPrivate);
        }
        Ok(Self { signing, verification: Vec::new() })
    }

    /// Adds a verification key (a retired signing key, or its public part). A key whose `kid`
    /// is already in the set is not added twice.
    #[must_use]
    pub fn with_verification_key(mut self, key: Key) -> Self {
        if self.find(key.kid()).is_none() {
            self.verification.push(key);
        }
        self
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> &Key {
        &self.signing
    }

    /// Every key, the signing key first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.signing).chain(&self.verification)
    }

    /// The key with this `kid`.
    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.keys().find(|key| key.kid() == kid)
    }

    /// The key that signs a response a client asked to be signed with `requested` (its registered
    /// `authorization_signed_response_alg` or `introspection_signed_response_alg`): the signing
    /// key, when the client asked for nothing or for its algorithm. A retired key never signs, so
    /// any other algorithm has no key.
    pub(crate) fn signer_for(&self, requested: Option<Algorithm>) -> Option<&Key> {
        match requested {
            Some(alg) if alg != self.signing.algorithm() => None,
            _ => Some(&self.signing),
        }
    }

    /// The algorithms of the set, without repeats, the signing key's first.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs = Vec::new();
        for key in self.keys() {
            if !algs.contains(&key.algorithm()) {
                algs.push(key.algorithm());
            }
        }
        algs
    }

    /// The JWKS document (RFC 7517 §5): the public JWK of every key, never a private member.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.keys().map(|key| Value::Object(key.public_jwk())).collect();
        serde_json::json!({ "keys": keys })
    }
}
