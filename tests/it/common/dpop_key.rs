//! A client's DPoP key (RFC 9449) and the proofs it signs.
//!
//! Proofs are signed with jsonwebtoken from the PEM fixtures in
//! `attesto-runtime/tests/fixtures/keys/`, whose thumbprints were computed by openssl, so the
//! expected `cnf.jkt` values do not come from the code under test.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm as JwtAlgorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::unix_now;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../attesto-runtime/tests/fixtures/keys/", $name))
    };
}

/// A client's DPoP key: signs proofs; its public JWK and its openssl-computed thumbprint.
pub(crate) struct DpopKey {
    key: EncodingKey,
    alg: JwtAlgorithm,
    name: &'static str,
    pub(crate) jwk: Value,
    pub(crate) jkt: String,
}

/// The P-256 fixture key (`ES256`).
pub(crate) fn p256() -> DpopKey {
    DpopKey {
        key: EncodingKey::from_ec_pem(fixture!("p256.pkcs8.pem").as_bytes()).expect("P-256 key"),
        alg: JwtAlgorithm::ES256,
        name: "ES256",
        jwk: serde_json::from_str(fixture!("p256.pub.jwk.json")).expect("JWK"),
        jkt: fixture!("p256.thumbprint").trim().to_owned(),
    }
}

/// The Ed25519 fixture key (`EdDSA`).
pub(crate) fn ed25519() -> DpopKey {
    DpopKey {
        key: EncodingKey::from_ed_pem(fixture!("ed25519.pkcs8.pem").as_bytes()).expect("Ed25519 key"),
        alg: JwtAlgorithm::EdDSA,
        name: "EdDSA",
        jwk: serde_json::from_str(fixture!("ed25519.pub.jwk.json")).expect("JWK"),
        jkt: fixture!("ed25519.thumbprint").trim().to_owned(),
    }
}

/// The claims of a fresh proof: a new `jti`, `iat` now.
pub(crate) fn claims(htm: &str, htu: &str) -> Value {
    let jti = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    json!({ "jti": jti, "htm": htm, "htu": htu, "iat": unix_now() })
}

/// `claims` with one member set.
pub(crate) fn with(mut claims: Value, name: &str, value: impl Into<Value>) -> Value {
    claims[name] = value.into();
    claims
}

/// `ath`, computed here independently of attesto (RFC 9449 §4.2).
pub(crate) fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

impl DpopKey {
    /// Signs `claims` as a DPoP proof with this key.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": self.name, "jwk": self.jwk });
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).expect("signing");
        format!("{input}.{signature}")
    }

    /// A fresh proof for `htm` and `htu`.
    pub(crate) fn proof(&self, htm: &str, htu: &str) -> String {
        self.sign(&claims(htm, htu))
    }

    /// A fresh proof for `htm` and `htu` of a request that presents `access_token`: with its hash
    /// (RFC 9449 §4.2 `ath`, required at a protected resource by §7).
    pub(crate) fn proof_with_token(&self, htm: &str, htu: &str, access_token: &str) -> String {
        self.sign(&with(claims(htm, htu), "ath", ath(access_token)))
    }
}

/// The P-384 fixture key (`ES384`).
pub(crate) fn p384() -> DpopKey {
    DpopKey {
        key: EncodingKey::from_ec_pem(fixture!("p384.pkcs8.pem").as_bytes()).expect("P-384 key"),
        alg: JwtAlgorithm::ES384,
        name: "ES384",
        jwk: serde_json::from_str(fixture!("p384.pub.jwk.json")).expect("JWK"),
        jkt: fixture!("p384.thumbprint").trim().to_owned(),
    }
}

/// The RSA-2048 fixture key, signing `RS256`.
pub(crate) fn rsa2048_rs256() -> DpopKey {
    DpopKey {
        key: EncodingKey::from_rsa_pem(fixture!("rsa2048.pkcs8.pem").as_bytes()).expect("RSA key"),
        alg: JwtAlgorithm::RS256,
        name: "RS256",
        jwk: serde_json::from_str(fixture!("rsa2048.pub.jwk.json")).expect("JWK"),
        jkt: fixture!("rsa2048.thumbprint").trim().to_owned(),
    }
}
