//! DPoP proof verification (RFC 9449 §4.3): a corpus of crafted proofs checked with a fixed clock,
//! each with the exact result it must get, reaching every [`ProofError`] variant.
//!
//! Proofs are signed here with jsonwebtoken from the PEM fixtures in
//! `attesto-runtime/tests/fixtures/keys/`; their JWKs and RFC 7638 thumbprints were computed by
//! openssl (see that folder's README and `gen.sh`), so the expected `jkt` values do not come from
//! the code under test. Headers and claims are written as raw JSON, so that the corpus can carry
//! what a JWT library would refuse to produce: private key members, `crit`, padding, non-canonical
//! base64url, `alg: none`.

use std::collections::BTreeSet;
use std::time::Duration;

use attesto::ErrorCode;
use attesto::dpop::{self, ProofError, ProofRequirements, verify_proof};
use attesto_runtime::__fuzz::{error_with_description, proof_error};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm as JwtAlgorithm, EncodingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The fixed clock of every case.
const NOW: u64 = 1_700_000_000;
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const USERINFO_URL: &str = "https://auth.example.com/oauth/userinfo";
const ACCESS_TOKEN: &str = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

/// Every variant, so that the corpus is checked to reach each one.
const ALL_ERRORS: [ProofError; 27] = [
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

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../attesto-runtime/tests/fixtures/keys/", $name))
    };
}

// ---------------------------------------------------------------------------------------------
// signers and proof crafting

/// A fixture key that signs proofs, with its public JWK and openssl-computed thumbprint.
struct Signer {
    key: EncodingKey,
    alg: JwtAlgorithm,
    name: &'static str,
    jwk: Value,
    jkt: String,
}

fn object(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).expect("a JSON fixture");
    assert!(value.is_object());
    value
}

fn es256() -> Signer {
    Signer {
        key: EncodingKey::from_ec_pem(fixture!("p256.pkcs8.pem").as_bytes()).expect("P-256 key"),
        alg: JwtAlgorithm::ES256,
        name: "ES256",
        jwk: object(fixture!("p256.pub.jwk.json")),
        jkt: fixture!("p256.thumbprint").trim().to_owned(),
    }
}

fn es384() -> Signer {
    Signer {
        key: EncodingKey::from_ec_pem(fixture!("p384.pkcs8.pem").as_bytes()).expect("P-384 key"),
        alg: JwtAlgorithm::ES384,
        name: "ES384",
        jwk: object(fixture!("p384.pub.jwk.json")),
        jkt: fixture!("p384.thumbprint").trim().to_owned(),
    }
}

fn eddsa() -> Signer {
    Signer {
        key: EncodingKey::from_ed_pem(fixture!("ed25519.pkcs8.pem").as_bytes()).expect("Ed25519 key"),
        alg: JwtAlgorithm::EdDSA,
        name: "EdDSA",
        jwk: object(fixture!("ed25519.pub.jwk.json")),
        jkt: fixture!("ed25519.thumbprint").trim().to_owned(),
    }
}

fn rsa(alg: JwtAlgorithm, name: &'static str) -> Signer {
    Signer {
        key: EncodingKey::from_rsa_pem(fixture!("rsa2048.pkcs8.pem").as_bytes()).expect("RSA key"),
        alg,
        name,
        jwk: object(fixture!("rsa2048.pub.jwk.json")),
        jkt: fixture!("rsa2048.thumbprint").trim().to_owned(),
    }
}

fn rs256() -> Signer {
    rsa(JwtAlgorithm::RS256, "RS256")
}

fn ps256() -> Signer {
    rsa(JwtAlgorithm::PS256, "PS256")
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(value.to_string())
}

impl Signer {
    /// The header of a well-formed proof.
    fn header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.name, "jwk": self.jwk })
    }

    /// Signs the signing input made of two encoded parts, exactly as given.
    fn sign_parts(&self, header: &str, payload: &str) -> String {
        let input = format!("{header}.{payload}");
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).expect("signing");
        format!("{input}.{signature}")
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_parts(&b64_json(header), &b64_json(claims))
    }

    /// A header with one member changed (`Value::Null` removes it).
    fn header_with(&self, name: &str, value: Value) -> Value {
        set(self.header(), name, value)
    }

    /// A header whose `jwk` has one member changed (`Value::Null` removes it).
    fn jwk_with(&self, name: &str, value: Value) -> Value {
        self.header_with("jwk", set(self.jwk.clone(), name, value))
    }

    /// A valid proof for the token endpoint.
    fn valid(&self) -> String {
        self.sign(&self.header(), &claims())
    }
}

/// The claims of a valid proof at the token endpoint.
fn claims() -> Value {
    json!({ "jti": "e1j3V_bKic8-LAEB", "htm": "POST", "htu": TOKEN_URL, "iat": NOW })
}

/// The claims of a valid proof at userinfo with the access token.
fn resource_claims() -> Value {
    json!({ "jti": "k2xp9_aQm4vN-1Rt", "htm": "GET", "htu": USERINFO_URL, "iat": NOW, "ath": ath(ACCESS_TOKEN) })
}

/// `ath`, computed here independently of `dpop::access_token_hash` (RFC 9449 §4.2).
fn ath(token: &str) -> String {
    b64(Sha256::digest(token.as_bytes()))
}

/// `value` with one member set, or removed when `member` is `Value::Null`.
fn set(mut value: Value, name: &str, member: Value) -> Value {
    let map = value.as_object_mut().expect("an object");
    if member.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), member);
    }
    value
}

fn claims_with(name: &str, value: Value) -> Value {
    set(claims(), name, value)
}

fn token_endpoint() -> ProofRequirements<'static> {
    ProofRequirements::new("POST", TOKEN_URL, NOW)
}

fn userinfo() -> ProofRequirements<'static> {
    ProofRequirements::new("GET", USERINFO_URL, NOW).with_access_token(ACCESS_TOKEN)
}

/// Replaces the last character of a base64url text with the one that differs in the lowest
/// bit: with trailing bits, the result decodes to the same bytes in a lenient decoder but is not
/// the canonical encoding.
fn set_trailing_bit(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (rest, last) = text.split_at(text.len() - 1);
    let index = ALPHABET.iter().position(|c| *c == last.as_bytes()[0]).expect("a base64url character");
    assert_eq!(index & 1, 0, "the lowest bit of a canonical final character with trailing bits is zero");
    format!("{rest}{}", char::from(ALPHABET[index | 1]))
}

/// Encoded claims that contain `-` or `_`, so that their standard-alphabet form differs.
fn claims_with_url_safe_characters() -> String {
    for pad in 0..64 {
        let encoded = b64_json(&claims_with("pad", Value::String("?>".repeat(pad + 1))));
        if encoded.contains(['-', '_']) {
            return encoded;
        }
    }
    panic!("no padding gives a `-` or `_`");
}

// ---------------------------------------------------------------------------------------------
// the corpus

struct Case {
    name: &'static str,
    proof: String,
    req: ProofRequirements<'static>,
    /// The `jkt` of a valid proof, or the reason of the refusal.
    expected: Result<String, ProofError>,
}

fn ok(name: &'static str, proof: String, req: ProofRequirements<'static>, jkt: &str) -> Case {
    Case { name, proof, req, expected: Ok(jkt.to_owned()) }
}

fn err(name: &'static str, proof: String, error: ProofError) -> Case {
    Case { name, proof, req: token_endpoint(), expected: Err(error) }
}

fn err_at(name: &'static str, proof: String, req: ProofRequirements<'static>, error: ProofError) -> Case {
    Case { name, proof, req, expected: Err(error) }
}

fn corpus() -> Vec<Case> {
    use ProofError::*;
    let (es, es384, ed, rs, ps) = (es256(), es384(), eddsa(), rs256(), ps256());
    let valid = es.valid();
    let (valid_header, valid_payload, valid_signature) = {
        let mut parts = valid.split('.');
        let mut next = || parts.next().expect("three parts").to_owned();
        (next(), next(), next())
    };
    let claims_b64 = b64_json(&claims());
    let mut cases = vec![
        // -- valid proofs, one per algorithm, and the accepted edges
        ok("ES256", es.valid(), token_endpoint(), &es.jkt),
        ok("ES384", es384.valid(), token_endpoint(), &es384.jkt),
        ok("EdDSA (Ed25519)", ed.valid(), token_endpoint(), &ed.jkt),
        ok("RS256", rs.valid(), token_endpoint(), &rs.jkt),
        ok("PS256", ps.valid(), token_endpoint(), &ps.jkt),
        ok("ES256 at a resource with ath", es.sign(&es.header(), &resource_claims()), userinfo(), &es.jkt),
        ok("EdDSA at a resource with ath", ed.sign(&ed.header(), &resource_claims()), userinfo(), &ed.jkt),
        ok(
            "an ath without access token is ignored (RFC 9449 §4.3 check 12)",
            es.sign(&es.header(), &claims_with("ath", json!("not-the-hash-of-anything"))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "htu with query, fragment, upper-case scheme and host, default port",
            es.sign(&es.header(), &claims_with("htu", json!("HTTPS://Auth.EXAMPLE.com:443/oauth/token?a=b#c"))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "htu with a percent-encoded unreserved character",
            es.sign(&es.header(), &claims_with("htu", json!("https://auth.example.com/oauth/%74oken"))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "iat at the edge of the age window",
            es.sign(&es.header(), &claims_with("iat", json!(NOW - 60))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "iat at the edge of the skew window",
            es.sign(&es.header(), &claims_with("iat", json!(NOW + 60))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "jti of 256 bytes",
            es.sign(&es.header(), &claims_with("jti", json!("j".repeat(256)))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "jwk with kid, use and its own matching alg; a kid in the header",
            {
                let mut jwk = es.jwk.clone();
                jwk["alg"] = json!("ES256");
                jwk["use"] = json!("sig");
                jwk["kid"] = json!("client-key-1");
                es.sign(&set(es.header_with("jwk", jwk), "kid", json!("client-key-1")), &claims())
            },
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "a string nonce",
            es.sign(&es.header(), &claims_with("nonce", json!("n-0S6_WzA2Mj"))),
            token_endpoint(),
            &es.jkt,
        ),
        ok(
            "a 2048-bit RSA key signing PS256 at a resource",
            ps.sign(&ps.header(), &resource_claims()),
            userinfo(),
            &ps.jkt,
        ),
        // -- structure
        err(
            "larger than MAX_PROOF_LEN",
            es.sign(&es.header(), &claims_with("pad", json!("x".repeat(dpop::MAX_PROOF_LEN)))),
            ProofTooLarge,
        ),
        err("empty", String::new(), NotThreeParts),
        err("one part", valid_header.clone(), NotThreeParts),
        err("two parts", format!("{valid_header}.{valid_payload}"), NotThreeParts),
        err("four parts", format!("{valid}.{valid_signature}"), NotThreeParts),
        err("a JWE's five parts", format!("{valid_header}.a.b.c.d"), NotThreeParts),
        err("padded header", es.sign_parts(&format!("{valid_header}="), &valid_payload), NotCanonicalBase64),
        err("padded payload", es.sign_parts(&valid_header, &format!("{}=", b64("{}"))), NotCanonicalBase64),
        err("padded signature", format!("{valid}=="), NotCanonicalBase64),
        err(
            "signature with non-zero trailing bits",
            format!("{valid_header}.{valid_payload}.{}", set_trailing_bit(&valid_signature)),
            NotCanonicalBase64,
        ),
        err(
            "payload in the standard base64 alphabet",
            {
                let encoded = claims_with_url_safe_characters();
                es.sign_parts(&valid_header, &encoded.replace('-', "+").replace('_', "/"))
            },
            NotCanonicalBase64,
        ),
        err("whitespace in the header", es.sign_parts(&format!(" {valid_header}"), &valid_payload), NotCanonicalBase64),
        err("empty header", es.sign_parts("", &claims_b64), HeaderNotJson),
        err("header not JSON", es.sign_parts(&b64("dpop+jwt ES256"), &claims_b64), HeaderNotJson),
        err("header a JSON array", es.sign_parts(&b64(r#"["typ","dpop+jwt"]"#), &claims_b64), HeaderNotJson),
        // -- header
        err("typ missing", es.sign(&es.header_with("typ", Value::Null), &claims()), WrongType),
        err("typ JWT", es.sign(&es.header_with("typ", json!("JWT")), &claims()), WrongType),
        err("typ at+jwt", es.sign(&es.header_with("typ", json!("at+jwt")), &claims()), WrongType),
        err("typ in another case", es.sign(&es.header_with("typ", json!("DPoP+JWT")), &claims()), WrongType),
        err(
            "typ with the application/ prefix",
            es.sign(&es.header_with("typ", json!("application/dpop+jwt")), &claims()),
            WrongType,
        ),
        err(
            "alg none, unsigned",
            format!("{}.{claims_b64}.", b64_json(&es.header_with("alg", json!("none")))),
            AlgorithmNotAllowed,
        ),
        err(
            "alg HS256 keyed with the public x",
            {
                let x = es.jwk["x"].as_str().expect("x").to_owned();
                let hmac = Signer {
                    key: EncodingKey::from_secret(x.as_bytes()),
                    alg: JwtAlgorithm::HS256,
                    name: "HS256",
                    jwk: es.jwk.clone(),
                    jkt: es.jkt.clone(),
                };
                hmac.valid()
            },
            AlgorithmNotAllowed,
        ),
        err("alg RS512, not on the list", rsa(JwtAlgorithm::RS512, "RS512").valid(), AlgorithmNotAllowed),
        err("alg missing", es.sign(&es.header_with("alg", Value::Null), &claims()), AlgorithmNotAllowed),
        err("alg in another case", es.sign(&es.header_with("alg", json!("es256")), &claims()), AlgorithmNotAllowed),
        err("alg not a string", es.sign(&es.header_with("alg", json!(["ES256"])), &claims()), AlgorithmNotAllowed),
        err(
            "crit",
            es.sign(&set(es.header_with("crit", json!(["exp"])), "exp", json!(NOW + 60)), &claims()),
            CriticalHeader,
        ),
        err("crit empty", es.sign(&es.header_with("crit", json!([])), &claims()), CriticalHeader),
        err("jwk missing", es.sign(&es.header_with("jwk", Value::Null), &claims()), MissingJwk),
        err(
            "jwk missing, kid instead",
            es.sign(&set(es.header_with("jwk", Value::Null), "kid", json!(es.jkt)), &claims()),
            MissingJwk,
        ),
        // -- the key
        err(
            "jwk with d (the P-256 private key)",
            es.sign(&es.header_with("jwk", object(fixture!("p256.priv.jwk.json"))), &claims()),
            PrivateKeyMembers,
        ),
        err(
            "jwk with d, p, q, dp, dq, qi (the RSA private key)",
            rs.sign(&rs.header_with("jwk", object(fixture!("rsa2048.priv.jwk.json"))), &claims()),
            PrivateKeyMembers,
        ),
        err(
            "jwk with d (the Ed25519 private key)",
            ed.sign(&ed.header_with("jwk", object(fixture!("ed25519.priv.jwk.json"))), &claims()),
            PrivateKeyMembers,
        ),
        err("RSA jwk with oth only", rs.sign(&rs.jwk_with("oth", json!([])), &claims()), PrivateKeyMembers),
        err("RSA jwk with dq only", rs.sign(&rs.jwk_with("dq", json!("AQAB")), &claims()), PrivateKeyMembers),
        err("EC jwk with d set to false", es.sign(&es.jwk_with("d", json!(false)), &claims()), PrivateKeyMembers),
        err(
            "jwk an oct key",
            es.sign(&es.header_with("jwk", json!({ "kty": "oct", "k": "c2VjcmV0" })), &claims()),
            SymmetricKey,
        ),
        err("jwk kty oct without k", es.sign(&es.jwk_with("kty", json!("oct")), &claims()), SymmetricKey),
        err("EC jwk with a k member", es.sign(&es.jwk_with("k", json!("c2VjcmV0")), &claims()), SymmetricKey),
        err(
            "ES256 with a P-384 key",
            es384.sign(&es384.header_with("alg", json!("ES256")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "ES384 with a P-256 key",
            es.sign(&es.header_with("alg", json!("ES384")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "EdDSA with an EC key",
            es.sign(&es.header_with("alg", json!("EdDSA")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "RS256 with an EC key",
            es.sign(&es.header_with("alg", json!("RS256")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "ES256 with an RSA key",
            rs.sign(&rs.header_with("alg", json!("ES256")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "PS256 with an OKP key",
            ed.sign(&ed.header_with("alg", json!("PS256")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "EdDSA with an X25519 key",
            ed.sign(&ed.jwk_with("crv", json!("X25519")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "jwk alg ES384 in an ES256 proof",
            es.sign(&es.jwk_with("alg", json!("ES384")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err(
            "jwk alg RS256 in a PS256 proof",
            ps.sign(&ps.jwk_with("alg", json!("RS256")), &claims()),
            KeyDoesNotMatchAlgorithm,
        ),
        err("jwk unknown kty", es.sign(&es.jwk_with("kty", json!("ECDH")), &claims()), KeyDoesNotMatchAlgorithm),
        err("jwk a string", es.sign(&es.header_with("jwk", json!("eyJrdHkiOiJFQyJ9")), &claims()), InvalidKey),
        err("jwk kty missing", es.sign(&es.jwk_with("kty", Value::Null), &claims()), InvalidKey),
        err("EC jwk crv missing", es.sign(&es.jwk_with("crv", Value::Null), &claims()), InvalidKey),
        err("EC jwk y missing", es.sign(&es.jwk_with("y", Value::Null), &claims()), InvalidKey),
        err("EC jwk x of 31 bytes", es.sign(&es.jwk_with("x", json!(b64([7u8; 31]))), &claims()), InvalidKey),
        err(
            "EC jwk x padded",
            es.sign(&es.jwk_with("x", json!(format!("{}=", es.jwk["x"].as_str().expect("x")))), &claims()),
            InvalidKey,
        ),
        err("EC point not on the curve", es.sign(&es.jwk_with("y", json!(b64([1u8; 32]))), &claims()), InvalidKey),
        err("Ed25519 x of 33 bytes", ed.sign(&ed.jwk_with("x", json!(b64([9u8; 33]))), &claims()), InvalidKey),
        err(
            "RSA n with a leading zero octet",
            {
                let n = URL_SAFE_NO_PAD.decode(rs.jwk["n"].as_str().expect("n")).expect("n decodes");
                rs.sign(&rs.jwk_with("n", json!(b64([&[0u8][..], &n].concat()))), &claims())
            },
            InvalidKey,
        ),
        err("RSA even exponent", rs.sign(&rs.jwk_with("e", json!(b64([0x01, 0x00, 0x00]))), &claims()), InvalidKey),
        err(
            "RSA-1024 key",
            rs.sign(&rs.header_with("jwk", object(fixture!("rsa1024.pub.jwk.json"))), &claims()),
            RsaKeyTooSmall,
        ),
        err(
            "RSA modulus of 2047 bits",
            rs.sign(&rs.jwk_with("n", json!(b64([&[0x7fu8][..], &[0xff; 255]].concat()))), &claims()),
            RsaKeyTooSmall,
        ),
        // -- the signature
        err("empty signature", format!("{valid_header}.{valid_payload}."), BadSignature),
        err(
            "signature of another payload",
            // Claims as valid as the signed ones (only the `jti` differs), so that the signature is
            // what fails: the claims checked before it would otherwise answer first.
            format!("{valid_header}.{}.{valid_signature}", b64_json(&claims_with("jti", json!("another-jti")))),
            BadSignature,
        ),
        err(
            "signature by another key (P-384 under a P-256 jwk)",
            es384.sign_parts(&valid_header, &valid_payload),
            BadSignature,
        ),
        err("PS256 signature in an RS256 proof", ps.sign_parts(&b64_json(&rs.header()), &claims_b64), BadSignature),
        err(
            "signature over the decoded header instead of its text",
            {
                let input = format!("{}.{valid_payload}", es.header());
                let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &es.key, es.alg).expect("signing");
                format!("{valid_header}.{valid_payload}.{signature}")
            },
            BadSignature,
        ),
        // -- claims
        err(
            "payload not JSON",
            es.sign_parts(&valid_header, &b64("POST https://auth.example.com/oauth/token")),
            ClaimsNotJson,
        ),
        err("payload a JSON array", es.sign_parts(&valid_header, &b64("[]")), ClaimsNotJson),
        err("payload empty", es.sign_parts(&valid_header, ""), ClaimsNotJson),
        err("htm missing", es.sign(&es.header(), &claims_with("htm", Value::Null)), MissingHtm),
        err("htm not a string", es.sign(&es.header(), &claims_with("htm", json!(1))), MissingHtm),
        err("htm lower-case", es.sign(&es.header(), &claims_with("htm", json!("post"))), WrongMethod),
        err("htm GET at the token endpoint", es.sign(&es.header(), &claims_with("htm", json!("GET"))), WrongMethod),
        err("htu missing", es.sign(&es.header(), &claims_with("htu", Value::Null)), MissingHtu),
        err("htu not a string", es.sign(&es.header(), &claims_with("htu", json!({ "href": TOKEN_URL }))), MissingHtu),
        err("htu another endpoint", es.sign(&es.header(), &claims_with("htu", json!(USERINFO_URL))), WrongUri),
        err(
            "htu with a trailing slash",
            es.sign(&es.header(), &claims_with("htu", json!(format!("{TOKEN_URL}/")))),
            WrongUri,
        ),
        err(
            "htu over http",
            es.sign(&es.header(), &claims_with("htu", json!("http://auth.example.com/oauth/token"))),
            WrongUri,
        ),
        err(
            "htu on another port",
            es.sign(&es.header(), &claims_with("htu", json!("https://auth.example.com:8443/oauth/token"))),
            WrongUri,
        ),
        err(
            "htu on another host",
            es.sign(&es.header(), &claims_with("htu", json!("https://evil.example/oauth/token"))),
            WrongUri,
        ),
        err(
            "htu path in another case",
            es.sign(&es.header(), &claims_with("htu", json!("https://auth.example.com/OAuth/token"))),
            WrongUri,
        ),
        err("htu relative", es.sign(&es.header(), &claims_with("htu", json!("/oauth/token"))), WrongUri),
        err("iat missing", es.sign(&es.header(), &claims_with("iat", Value::Null)), MissingIat),
        err("iat a string", es.sign(&es.header(), &claims_with("iat", json!(NOW.to_string()))), MissingIat),
        err("iat a fraction", es.sign(&es.header(), &claims_with("iat", json!(1_700_000_000.5))), MissingIat),
        err("iat negative", es.sign(&es.header(), &claims_with("iat", json!(-1))), MissingIat),
        err("iat one second too old", es.sign(&es.header(), &claims_with("iat", json!(NOW - 61))), IatTooOld),
        err("iat zero", es.sign(&es.header(), &claims_with("iat", json!(0))), IatTooOld),
        err("iat one second too far ahead", es.sign(&es.header(), &claims_with("iat", json!(NOW + 61))), IatInFuture),
        err("iat u64::MAX", es.sign(&es.header(), &claims_with("iat", json!(u64::MAX))), IatInFuture),
        err("jti missing", es.sign(&es.header(), &claims_with("jti", Value::Null)), MissingJti),
        err("jti empty", es.sign(&es.header(), &claims_with("jti", json!(""))), MissingJti),
        err("jti a number", es.sign(&es.header(), &claims_with("jti", json!(42))), MissingJti),
        err("jti of 257 bytes", es.sign(&es.header(), &claims_with("jti", json!("j".repeat(257)))), JtiTooLong),
        err_at(
            "ath missing with an access token",
            es.sign(&es.header(), &set(resource_claims(), "ath", Value::Null)),
            userinfo(),
            MissingAth,
        ),
        err_at(
            "ath of another token",
            es.sign(&es.header(), &set(resource_claims(), "ath", json!(ath("another-token")))),
            userinfo(),
            WrongAth,
        ),
        err_at(
            "ath padded",
            es.sign(&es.header(), &set(resource_claims(), "ath", json!(format!("{}=", ath(ACCESS_TOKEN))))),
            userinfo(),
            WrongAth,
        ),
        err_at(
            "ath the token itself",
            es.sign(&es.header(), &set(resource_claims(), "ath", json!(ACCESS_TOKEN))),
            userinfo(),
            WrongAth,
        ),
        err_at("ath a number", es.sign(&es.header(), &set(resource_claims(), "ath", json!(0))), userinfo(), WrongAth),
        err("nonce a number", es.sign(&es.header(), &claims_with("nonce", json!(7))), MalformedNonce),
        err("nonce of 257 bytes", es.sign(&es.header(), &claims_with("nonce", json!("n".repeat(257)))), MalformedNonce),
    ];
    // The userinfo proof is refused at the token endpoint: another method, another URL.
    cases.push(err("a resource proof at the token endpoint", es.sign(&es.header(), &resource_claims()), WrongMethod));
    cases
}

#[test]
fn every_case_of_the_corpus_gets_its_result() {
    let corpus = corpus();
    assert!(corpus.len() >= 25, "the corpus has {} cases", corpus.len());
    let mut failures = Vec::new();
    let mut reached = BTreeSet::new();
    let mut names = BTreeSet::new();
    for case in &corpus {
        assert!(names.insert(case.name), "duplicate case name {:?}", case.name);
        let result = verify_proof(&case.proof, &case.req).map(|proof| proof.jkt);
        if let Err(error) = &result {
            reached.insert(format!("{error:?}"));
        }
        if result != case.expected {
            failures.push(format!("{}: expected {:?}, got {:?}", case.name, case.expected, result));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), corpus.len(), failures.join("\n"));
    let missing: Vec<_> = ALL_ERRORS.iter().filter(|error| !reached.contains(&format!("{error:?}"))).collect();
    assert!(missing.is_empty(), "variants no case reaches: {missing:?}");
}

#[test]
fn a_valid_proof_tells_everything_the_caller_needs() {
    for signer in [es256(), es384(), eddsa(), rs256(), ps256()] {
        let claims = claims_with("nonce", json!("server-nonce"));
        let proof = verify_proof(&signer.sign(&signer.header(), &claims), &token_endpoint())
            .unwrap_or_else(|e| panic!("{}: {e}", signer.name));
        assert_eq!(proof.jkt, signer.jkt, "{}", signer.name);
        assert_eq!(proof.jti, "e1j3V_bKic8-LAEB");
        assert_eq!(proof.iat, NOW);
        assert_eq!(proof.valid_until, NOW + 60, "iat + the default max age");
        assert_eq!(proof.nonce.as_deref(), Some("server-nonce"));
        assert_eq!(proof.alg, signer.name);
        assert!(dpop::SUPPORTED_ALGORITHMS.contains(&proof.alg));
    }
    let proof = verify_proof(&es256().valid(), &token_endpoint()).expect("valid");
    assert_eq!(proof.nonce, None);
}

#[test]
fn the_iat_window_is_configurable() {
    let es = es256();
    let old = es.sign(&es.header(), &claims_with("iat", json!(NOW - 300)));
    let ahead = es.sign(&es.header(), &claims_with("iat", json!(NOW + 5)));
    assert_eq!(verify_proof(&old, &token_endpoint()).map(|p| p.iat), Err(ProofError::IatTooOld));
    let wide = token_endpoint().with_max_age(Duration::from_secs(300));
    let proof = verify_proof(&old, &wide).expect("within five minutes");
    assert_eq!(proof.valid_until, NOW, "the proof stops being accepted now");
    let strict = token_endpoint().with_max_skew(Duration::ZERO);
    assert_eq!(verify_proof(&ahead, &strict).map(|p| p.iat), Err(ProofError::IatInFuture));
    assert_eq!(verify_proof(&es.valid(), &strict).map(|p| p.iat), Ok(NOW));
}

#[test]
fn htu_is_compared_with_the_configured_endpoint_url() {
    // An overridden token path: the proof must name that URL, not the default one.
    let es = es256();
    let custom = "https://auth.example.com/mcp/token";
    let req = ProofRequirements::new("POST", custom, NOW);
    let default_path = es.valid();
    assert_eq!(verify_proof(&default_path, &req).map(|p| p.jkt), Err(ProofError::WrongUri));
    let proof = es.sign(&es.header(), &claims_with("htu", json!(custom)));
    assert_eq!(verify_proof(&proof, &req).map(|p| p.jkt), Ok(es.jkt.clone()));
    // An issuer with a path and an upper-case host in the configuration.
    let req = ProofRequirements::new("POST", "https://AUTH.example.com:443/tenant/oauth/token", NOW);
    let proof = es.sign(&es.header(), &claims_with("htu", json!("https://auth.example.com/tenant/oauth/token")));
    assert_eq!(verify_proof(&proof, &req).map(|p| p.jkt), Ok(es.jkt));
}

#[test]
fn thumbprint_of_the_rfc7638_example_key() {
    // RFC 7638 §3.1.
    let jwk = json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    let jwk = jwk.as_object().expect("an object");
    assert_eq!(dpop::thumbprint(jwk).as_deref(), Ok("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
}

#[test]
fn thumbprint_of_the_fixture_keys_and_refusals() {
    for signer in [es256(), es384(), eddsa(), rs256()] {
        let jwk = signer.jwk.as_object().expect("an object");
        assert_eq!(dpop::thumbprint(jwk), Ok(signer.jkt.clone()), "{}", signer.name);
    }
    let private: Map<String, Value> = serde_json::from_str(fixture!("p256.priv.jwk.json")).expect("JSON");
    assert_eq!(dpop::thumbprint(&private), Err(ProofError::PrivateKeyMembers));
    let small: Map<String, Value> = serde_json::from_str(fixture!("rsa1024.pub.jwk.json")).expect("JSON");
    assert_eq!(dpop::thumbprint(&small), Err(ProofError::RsaKeyTooSmall));
    let oct = json!({ "kty": "oct", "k": "c2VjcmV0" });
    assert_eq!(dpop::thumbprint(oct.as_object().expect("object")), Err(ProofError::SymmetricKey));
    let x25519 = json!({ "kty": "OKP", "crv": "X25519", "x": b64([9u8; 32]) });
    assert_eq!(dpop::thumbprint(x25519.as_object().expect("object")), Err(ProofError::InvalidKey));
}

#[test]
fn access_token_hash_is_the_rfc9449_ath() {
    assert_eq!(dpop::access_token_hash(ACCESS_TOKEN), ath(ACCESS_TOKEN));
    // RFC 9449 §7.1's example access token and the ath of the proof in §7.1 (Figure 12).
    assert_eq!(
        dpop::access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn refusals_render_as_invalid_dpop_proof() {
    assert_eq!(ErrorCode::InvalidDpopProof.as_str(), "invalid_dpop_proof");
    assert_eq!(ErrorCode::UseDpopNonce.as_str(), "use_dpop_nonce");
    for error in ALL_ERRORS {
        let rendered = proof_error(error);
        assert_eq!(rendered.code(), ErrorCode::InvalidDpopProof);
        assert_eq!(rendered.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(rendered.description(), error.description());
        assert_eq!(error.to_string(), error.description());
    }
    let nonce = error_with_description(ErrorCode::UseDpopNonce, "a nonce is required");
    assert_eq!(nonce.status(), http::StatusCode::BAD_REQUEST, "RFC 9449 §8: 400 at the token endpoint");
}
