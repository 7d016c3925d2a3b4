//! Key handling: PEM and JWK loading, RFC 7638 key ids, the JWKS document and signatures.
//!
//! The fixtures in `tests/fixtures/keys/` were generated with the openssl CLI (see its README and
//! `gen.sh`); their JWK forms and thumbprints were computed by openssl, not by attesto, so the
//! comparisons below are independent of the code under test.

use std::collections::BTreeSet;
use std::path::PathBuf;

use attesto_runtime::{Algorithm, Key, KeyError, KeySet};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken as jwt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The RFC 7638 §3.1 example key (RSA, 2048 bits) and its thumbprint.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKR\
    XjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0z\
    gdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8\
    awapJzKnqDKgw";
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// Members that must never appear in a published JWK (RFC 7517 §9.3, RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const ALL_ALGORITHMS: [Algorithm; 4] = [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256, Algorithm::PS256];

// ---------------------------------------------------------------------------------------------
// helpers

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

fn fixture_json(name: &str) -> Map<String, Value> {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name} is not a JSON object: {e}"))
}

fn pem(name: &str) -> Key {
    Key::from_pem(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name} should load: {e}"))
}

fn jwk(json: &Map<String, Value>) -> Result<Key, KeyError> {
    Key::from_jwk(&Value::Object(json.clone()).to_string())
}

/// The openssl-computed thumbprint stored next to the fixture.
fn openssl_thumbprint(stem: &str) -> String {
    fixture(&format!("{stem}.thumbprint")).trim().to_owned()
}

/// RFC 7638 §3, computed here: the required members, lexicographically ordered, no whitespace,
/// SHA-256, base64url.
fn rfc7638(jwk: &Map<String, Value>) -> String {
    let kty = jwk.get("kty").and_then(Value::as_str).expect("the JWK has a kty");
    let required: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        other => panic!("no thumbprint for kty {other}"),
    };
    let members: Vec<String> = required
        .iter()
        .map(|name| {
            let value = jwk.get(*name).unwrap_or_else(|| panic!("the JWK has no `{name}`"));
            format!("\"{name}\":{}", serde_json::to_string(value).expect("a JSON value serializes"))
        })
        .collect();
    let canonical = format!("{{{}}}", members.join(","));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64u(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("valid base64url")
}

/// A copy of `jwk` with member `name` set to `value` (or removed when `None`).
fn with_member(jwk: &Map<String, Value>, name: &str, value: Option<Value>) -> Map<String, Value> {
    let mut copy = jwk.clone();
    match value {
        Some(value) => copy.insert(name.to_owned(), value),
        None => copy.remove(name),
    };
    copy
}

/// A copy of `jwk` whose base64url member `name` has one bit flipped in its first byte.
fn with_flipped_bit(jwk: &Map<String, Value>, name: &str) -> Map<String, Value> {
    let text = jwk.get(name).and_then(Value::as_str).expect("member is a string");
    let mut bytes = unb64u(text);
    bytes[0] ^= 0x01;
    with_member(jwk, name, Some(Value::String(b64u(&bytes))))
}

fn jwt_algorithm(alg: Algorithm) -> jwt::Algorithm {
    match alg {
        Algorithm::ES256 => jwt::Algorithm::ES256,
        Algorithm::EdDSA => jwt::Algorithm::EdDSA,
        Algorithm::RS256 => jwt::Algorithm::RS256,
        Algorithm::PS256 => jwt::Algorithm::PS256,
        other => panic!("unexpected algorithm {other}"),
    }
}

fn assert_no_private_members(jwk: &Map<String, Value>, context: &str) {
    for member in PRIVATE_MEMBERS {
        assert!(!jwk.contains_key(member), "{context}: the public JWK carries the private member `{member}`: {jwk:?}");
    }
}

/// The public members each key type must publish, plus kid, alg and use; nothing else.
fn expected_members(kty: &str) -> BTreeSet<&'static str> {
    let members: &[&'static str] = match kty {
        "EC" => &["kty", "crv", "x", "y", "kid", "alg", "use"],
        "OKP" => &["kty", "crv", "x", "kid", "alg", "use"],
        "RSA" => &["kty", "n", "e", "kid", "alg", "use"],
        other => panic!("unexpected kty {other}"),
    };
    members.iter().copied().collect()
}

/// Every private key the tests can make: generated ones and every loadable private fixture.
fn all_private_keys() -> Vec<(String, Key)> {
    let mut keys: Vec<(String, Key)> = ALL_ALGORITHMS
        .iter()
        .map(|alg| (format!("generated {alg}"), Key::generate(*alg).expect("generation succeeds")))
        .collect();
    for name in ["p256.pkcs8.pem", "p256.sec1.pem", "ed25519.pkcs8.pem", "rsa2048.pkcs1.pem", "rsa2048.pkcs8.pem"] {
        keys.push((name.to_owned(), pem(name)));
    }
    let ps256 = Key::from_pem_with_algorithm(&fixture("rsa2048.pkcs8.pem"), Algorithm::PS256).expect("PS256 loads");
    keys.push(("rsa2048.pkcs8.pem as PS256".to_owned(), ps256));
    for name in ["p256.priv.jwk.json", "ed25519.priv.jwk.json", "rsa2048.priv.jwk.json"] {
        keys.push((name.to_owned(), jwk(&fixture_json(name)).expect("private JWK loads")));
    }
    let rsa_ps256 = with_member(&fixture_json("rsa2048.priv.jwk.json"), "alg", Some(json!("PS256")));
    keys.push(("rsa2048.priv.jwk.json with alg PS256".to_owned(), jwk(&rsa_ps256).expect("PS256 JWK loads")));
    keys
}

/// Every verification-only key the tests can make.
fn all_public_keys() -> Vec<(String, Key)> {
    let mut keys = Vec::new();
    for name in ["p256.pub.pem", "ed25519.pub.pem", "rsa2048.pub.pem"] {
        keys.push((name.to_owned(), pem(name)));
    }
    for name in ["p256.pub.jwk.json", "ed25519.pub.jwk.json", "rsa2048.pub.jwk.json"] {
        keys.push((name.to_owned(), jwk(&fixture_json(name)).expect("public JWK loads")));
    }
    keys.push(("RFC 7638 example".to_owned(), Key::from_jwk(&rfc7638_example().to_string()).expect("loads")));
    keys
}

fn rfc7638_example() -> Value {
    json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29" })
}

// ---------------------------------------------------------------------------------------------
// 1, 2. PEM fixtures load with the right algorithm and the RFC 7638 key id

/// Checks a loaded key against the openssl-derived public JWK and thumbprint of `stem`.
fn assert_is_fixture_key(key: &Key, stem: &str, private: bool) {
    let expected = fixture_json(&format!("{stem}.pub.jwk.json"));
    let thumbprint = openssl_thumbprint(stem);
    assert_eq!(rfc7638(&expected), thumbprint, "{stem}: sha2 and openssl agree on the thumbprint");
    assert_eq!(key.kid(), thumbprint, "{stem}: kid is the RFC 7638 thumbprint");
    assert_eq!(key.is_private(), private, "{stem}: is_private");
    assert!(!key.is_generated(), "{stem}: a loaded key is not generated");
    let public = key.public_jwk();
    for (name, value) in &expected {
        assert_eq!(public.get(name), Some(value), "{stem}: public JWK member `{name}`");
    }
}

#[test]
fn p256_pkcs8_loads_as_es256_with_thumbprint_kid() {
    let key = pem("p256.pkcs8.pem");
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert_is_fixture_key(&key, "p256", true);
}

#[test]
fn p256_sec1_loads_as_the_same_es256_key() {
    let key = pem("p256.sec1.pem");
    assert!(fixture("p256.sec1.pem").starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert_is_fixture_key(&key, "p256", true);
    assert_eq!(key.kid(), pem("p256.pkcs8.pem").kid());
}

#[test]
fn ed25519_pkcs8_loads_as_eddsa_with_thumbprint_kid() {
    let key = pem("ed25519.pkcs8.pem");
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
    assert_is_fixture_key(&key, "ed25519", true);
}

#[test]
fn rsa_pkcs1_loads_as_rs256_with_thumbprint_kid() {
    assert!(fixture("rsa2048.pkcs1.pem").starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let key = pem("rsa2048.pkcs1.pem");
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_is_fixture_key(&key, "rsa2048", true);
}

#[test]
fn rsa_pkcs8_loads_as_the_same_rs256_key() {
    let key = pem("rsa2048.pkcs8.pem");
    assert_eq!(key.algorithm(), Algorithm::RS256);
    assert_is_fixture_key(&key, "rsa2048", true);
    assert_eq!(key.kid(), pem("rsa2048.pkcs1.pem").kid());
}

#[test]
fn rsa_pem_with_algorithm_chooses_rs256_or_ps256_and_keeps_the_kid() {
    for name in ["rsa2048.pkcs1.pem", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"] {
        let text = fixture(name);
        let ps = Key::from_pem_with_algorithm(&text, Algorithm::PS256).expect("PS256");
        assert_eq!(ps.algorithm(), Algorithm::PS256, "{name}");
        assert_eq!(ps.kid(), openssl_thumbprint("rsa2048"), "{name}: the algorithm is not part of the kid");
        assert_eq!(ps.public_jwk().get("alg"), Some(&json!("PS256")), "{name}");
        let rs = Key::from_pem_with_algorithm(&text, Algorithm::RS256).expect("RS256");
        assert_eq!(rs.algorithm(), Algorithm::RS256, "{name}");
        assert_eq!(rs.kid(), ps.kid(), "{name}");
    }
}

#[test]
fn pem_with_algorithm_refuses_an_algorithm_of_another_key_type() {
    let cases = [
        ("rsa2048.pkcs1.pem", Algorithm::ES256, "RSA"),
        ("rsa2048.pkcs8.pem", Algorithm::EdDSA, "RSA"),
        ("rsa2048.pub.pem", Algorithm::ES256, "RSA"),
        ("p256.pkcs8.pem", Algorithm::RS256, "EC"),
        ("p256.sec1.pem", Algorithm::PS256, "EC"),
        ("p256.pkcs8.pem", Algorithm::EdDSA, "EC"),
        ("p256.pub.pem", Algorithm::RS256, "EC"),
        ("ed25519.pkcs8.pem", Algorithm::ES256, "OKP"),
        ("ed25519.pub.pem", Algorithm::PS256, "OKP"),
    ];
    for (name, alg, kty) in cases {
        let error = Key::from_pem_with_algorithm(&fixture(name), alg).expect_err(name);
        assert_eq!(error, KeyError::AlgorithmMismatch { alg, kty }, "{name} as {alg}");
    }
    // The algorithm a key implies is accepted.
    for (name, alg) in [("p256.pkcs8.pem", Algorithm::ES256), ("ed25519.pkcs8.pem", Algorithm::EdDSA)] {
        assert_eq!(Key::from_pem_with_algorithm(&fixture(name), alg).expect(name).algorithm(), alg);
    }
}

#[test]
fn public_pem_keys_load_for_verification_only() {
    for (name, stem, alg) in [
        ("p256.pub.pem", "p256", Algorithm::ES256),
        ("ed25519.pub.pem", "ed25519", Algorithm::EdDSA),
        ("rsa2048.pub.pem", "rsa2048", Algorithm::RS256),
    ] {
        assert!(fixture(name).starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = pem(name);
        assert_eq!(key.algorithm(), alg, "{name}");
        assert_is_fixture_key(&key, stem, false);
        assert_eq!(key.sign(b"message"), Err(KeyError::NotPrivate), "{name}: a public key cannot sign");
    }
}

#[test]
fn rsa_1024_is_refused_in_every_form() {
    for name in ["rsa1024.pkcs1.pem", "rsa1024.pkcs8.pem"] {
        let error = Key::from_pem(&fixture(name)).expect_err(name);
        assert!(
            matches!(error, KeyError::RsaTooShort(_) | KeyError::Rejected(_)),
            "{name}: unexpected error {error:?}"
        );
        let error = Key::from_pem_with_algorithm(&fixture(name), Algorithm::PS256).expect_err(name);
        assert!(matches!(error, KeyError::RsaTooShort(_) | KeyError::Rejected(_)), "{name}: {error:?}");
    }
    assert_eq!(Key::from_pem(&fixture("rsa1024.pub.pem")).expect_err("public"), KeyError::RsaTooShort(1024));
    assert_eq!(jwk(&fixture_json("rsa1024.pub.jwk.json")).expect_err("JWK"), KeyError::RsaTooShort(1024));
}

#[test]
fn p384_is_refused_in_every_form() {
    for name in ["p384.pkcs8.pem", "p384.sec1.pem", "p384.pub.pem"] {
        let error = Key::from_pem(&fixture(name)).expect_err(name);
        assert!(matches!(error, KeyError::Rejected(_)), "{name}: unexpected error {error:?}");
        assert!(Key::from_pem_with_algorithm(&fixture(name), Algorithm::ES256).is_err(), "{name}");
    }
}

#[test]
fn pem_tolerates_crlf_and_surrounding_whitespace() {
    for name in ["p256.pkcs8.pem", "ed25519.pub.pem", "rsa2048.pkcs1.pem"] {
        let text = fixture(name);
        let crlf = text.replace('\n', "\r\n");
        let padded = format!("\n\n  {text}\n\t\n");
        let kid = pem(name).kid().to_owned();
        assert_eq!(Key::from_pem(&crlf).expect("CRLF").kid(), kid, "{name}");
        assert_eq!(Key::from_pem(&padded).expect("padded").kid(), kid, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. RFC 7638 §3.1 example

#[test]
fn rfc7638_example_key_gets_the_rfc_thumbprint() {
    let bare = json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB" });
    let key = Key::from_jwk(&bare.to_string()).expect("the RFC 7638 example key loads");
    assert_eq!(key.kid(), RFC7638_THUMBPRINT);
    assert_eq!(key.algorithm(), Algorithm::RS256, "RSA defaults to RS256");
    assert!(!key.is_private());
    assert_eq!(key.public_jwk().get("n"), Some(&json!(RFC7638_N)), "n is published unchanged");
    assert_eq!(key.public_jwk().get("e"), Some(&json!("AQAB")));
    // The independent computation agrees with the RFC too.
    let object = bare.as_object().expect("object");
    assert_eq!(rfc7638(object), RFC7638_THUMBPRINT);
}

#[test]
fn rfc7638_example_kid_ignores_the_jwk_kid_and_optional_members() {
    // As printed in RFC 7638 §3.1: with "alg" and "kid" members, which are not part of the
    // thumbprint. attesto's kid is the thumbprint, not the document's kid.
    let key = Key::from_jwk(&rfc7638_example().to_string()).expect("loads");
    assert_eq!(key.kid(), RFC7638_THUMBPRINT);
    assert_eq!(key.public_jwk().get("kid"), Some(&json!(RFC7638_THUMBPRINT)));
    let ps = json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "PS256", "use": "sig" });
    let key = Key::from_jwk(&ps.to_string()).expect("loads");
    assert_eq!(key.algorithm(), Algorithm::PS256);
    assert_eq!(key.kid(), RFC7638_THUMBPRINT);
}

#[test]
fn kid_of_every_key_is_the_thumbprint_of_its_public_jwk() {
    for (name, key) in all_private_keys().into_iter().chain(all_public_keys()) {
        let public = key.public_jwk();
        assert_eq!(key.kid(), rfc7638(&public), "{name}");
        assert_eq!(public.get("kid"), Some(&json!(key.kid())), "{name}");
        assert_eq!(key.kid().len(), 43, "{name}: base64url of 32 bytes");
        assert_eq!(unb64u(key.kid()).len(), 32, "{name}");
    }
}

#[test]
fn generated_keys_are_fresh_and_marked_generated() {
    for alg in ALL_ALGORITHMS {
        let a = Key::generate(alg).expect("generate");
        let b = Key::generate(alg).expect("generate");
        assert_eq!(a.algorithm(), alg);
        assert!(a.is_private() && a.is_generated());
        assert_ne!(a.kid(), b.kid(), "{alg}: two generated keys differ");
        let clone = a.clone();
        assert_eq!(clone.kid(), a.kid());
    }
    let dev = Key::generate_for_development().expect("development key");
    assert_eq!(dev.algorithm(), Algorithm::ES256);
    assert!(dev.is_private() && dev.is_generated());
}

#[test]
fn algorithm_names_are_the_jose_names() {
    let names: Vec<String> = ALL_ALGORITHMS.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["ES256", "EdDSA", "RS256", "PS256"]);
    for alg in ALL_ALGORITHMS {
        assert_eq!(alg.as_str(), alg.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The same key as PEM and as JWK

#[test]
fn pem_and_jwk_forms_of_a_key_share_the_kid() {
    for (stem, pems, alg) in [
        ("p256", &["p256.pkcs8.pem", "p256.sec1.pem", "p256.pub.pem"][..], Algorithm::ES256),
        ("ed25519", &["ed25519.pkcs8.pem", "ed25519.pub.pem"][..], Algorithm::EdDSA),
        ("rsa2048", &["rsa2048.pkcs1.pem", "rsa2048.pkcs8.pem", "rsa2048.pub.pem"][..], Algorithm::RS256),
    ] {
        let thumbprint = openssl_thumbprint(stem);
        let private = jwk(&fixture_json(&format!("{stem}.priv.jwk.json"))).expect("private JWK");
        let public = jwk(&fixture_json(&format!("{stem}.pub.jwk.json"))).expect("public JWK");
        assert!(private.is_private() && !public.is_private(), "{stem}");
        assert_eq!(private.algorithm(), alg);
        assert_eq!(public.algorithm(), alg);
        assert_eq!(private.kid(), thumbprint, "{stem}: private JWK");
        assert_eq!(public.kid(), thumbprint, "{stem}: public JWK");
        for name in pems {
            let key = pem(name);
            assert_eq!(key.kid(), thumbprint, "{name}");
            // The public JWK attesto publishes loads back to the same key.
            let round_trip = jwk(&key.public_jwk()).expect("the published JWK loads");
            assert_eq!(round_trip.kid(), thumbprint, "{name}: round trip");
            assert_eq!(round_trip.algorithm(), key.algorithm(), "{name}: round trip");
            assert!(!round_trip.is_private());
        }
        // A signature by the JWK-loaded key verifies with the PEM-loaded key and back.
        let by_jwk = private.sign(b"cross-format").expect("sign");
        let by_pem = pem(pems[0]).sign(b"cross-format").expect("sign");
        for name in pems {
            assert!(pem(name).verify(b"cross-format", &by_jwk), "{name} verifies the JWK key's signature");
        }
        assert!(public.verify(b"cross-format", &by_pem), "{stem}: the public JWK verifies the PEM signature");
    }
}

#[test]
fn published_ps256_jwk_round_trips_as_ps256() {
    let key = Key::from_pem_with_algorithm(&fixture("rsa2048.pkcs8.pem"), Algorithm::PS256).expect("PS256");
    let round_trip = jwk(&key.public_jwk()).expect("loads");
    assert_eq!(round_trip.algorithm(), Algorithm::PS256);
    let signature = key.sign(b"pss").expect("sign");
    assert!(round_trip.verify(b"pss", &signature));
}

#[test]
fn inconsistent_private_jwks_are_refused() {
    // A private part that does not belong to the public part must never load: the kid would
    // name one key while the signatures come from another.
    for (stem, member) in [
        ("p256", "d"),
        ("p256", "x"),
        ("ed25519", "d"),
        ("ed25519", "x"),
        ("rsa2048", "d"),
        ("rsa2048", "n"),
        ("rsa2048", "p"),
        ("rsa2048", "qi"),
    ] {
        let tampered = with_flipped_bit(&fixture_json(&format!("{stem}.priv.jwk.json")), member);
        let error = jwk(&tampered).expect_err(&format!("{stem} with a changed `{member}`"));
        assert!(matches!(error, KeyError::Rejected(_) | KeyError::Jwk(_)), "{stem}/{member}: {error:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Key sets and the JWKS document

fn jwks_keys(set: &KeySet) -> Vec<Map<String, Value>> {
    let document = set.jwks();
    let object = document.as_object().expect("the JWKS is an object");
    assert_eq!(object.len(), 1, "the JWKS holds only `keys`: {document}");
    object
        .get("keys")
        .and_then(Value::as_array)
        .expect("`keys` is an array")
        .iter()
        .map(|key| key.as_object().expect("each key is an object").clone())
        .collect()
}

fn assert_well_formed(entry: &Map<String, Value>, key: &Key, context: &str) {
    assert_no_private_members(entry, context);
    assert_eq!(entry.get("kid"), Some(&json!(key.kid())), "{context}: kid");
    assert_eq!(entry.get("alg"), Some(&json!(key.algorithm().as_str())), "{context}: alg");
    assert_eq!(entry.get("use"), Some(&json!("sig")), "{context}: use");
    let kty = entry.get("kty").and_then(Value::as_str).expect("kty");
    let members: BTreeSet<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(members, expected_members(kty), "{context}: exactly the public members");
    assert_eq!(entry, &key.public_jwk(), "{context}: the JWKS entry is the key's public JWK");
}

#[test]
fn jwks_lists_signing_key_first_then_verification_key() {
    for signing_alg in ALL_ALGORITHMS {
        for other_alg in ALL_ALGORITHMS {
            let signing = Key::generate(signing_alg).expect("generate");
            let other = Key::generate(other_alg).expect("generate");
            let set = KeySet::new(signing.clone()).expect("a private key signs").with_verification_key(other.clone());
            let keys = jwks_keys(&set);
            assert_eq!(keys.len(), 2, "{signing_alg} + {other_alg}");
            assert_well_formed(&keys[0], &signing, &format!("signing {signing_alg}"));
            assert_well_formed(&keys[1], &other, &format!("verification {other_alg}"));
            assert_eq!(set.signing_key().kid(), signing.kid());
        }
    }
}

#[test]
fn no_key_of_any_kind_publishes_private_members() {
    let private = all_private_keys();
    let public = all_public_keys();
    for (name, key) in private.iter().chain(&public) {
        assert_well_formed(&key.public_jwk(), key, name);
    }
    // One set holding everything: each signing key in turn, all others as verification keys.
    for (signing_name, signing) in &private {
        let mut set = KeySet::new(signing.clone()).expect("private keys sign");
        for (_, key) in private.iter().chain(&public) {
            set = set.with_verification_key(key.clone());
        }
        let keys = jwks_keys(&set);
        assert_eq!(keys[0].get("kid"), Some(&json!(signing.kid())), "{signing_name} first");
        let kids: BTreeSet<&str> = keys.iter().filter_map(|k| k.get("kid").and_then(Value::as_str)).collect();
        assert_eq!(kids.len(), keys.len(), "kids are unique within the JWKS");
        for (entry, key) in keys.iter().zip(set.keys()) {
            assert_well_formed(entry, key, signing_name);
        }
        // Textual check as well, in case a private member hides in a nested value.
        let text = set.jwks().to_string();
        for member in PRIVATE_MEMBERS {
            assert!(!text.contains(&format!("\"{member}\":")), "{signing_name}: `{member}` in {text}");
        }
    }
}

#[test]
fn jwks_never_contains_fixture_private_values() {
    for stem in ["p256", "ed25519", "rsa2048"] {
        let private_jwk = fixture_json(&format!("{stem}.priv.jwk.json"));
        let key = jwk(&private_jwk).expect("loads");
        let text = KeySet::new(key).expect("private").jwks().to_string();
        for member in PRIVATE_MEMBERS {
            if let Some(value) = private_jwk.get(member).and_then(Value::as_str) {
                assert!(!text.contains(value), "{stem}: the value of `{member}` leaked into the JWKS");
            }
        }
    }
}

#[test]
fn a_key_set_needs_a_private_signing_key() {
    for (name, key) in all_public_keys() {
        assert_eq!(KeySet::new(key).expect_err(&name), KeyError::NotPrivate, "{name}");
    }
    for (name, key) in all_private_keys() {
        assert!(KeySet::new(key).is_ok(), "{name}");
    }
}

#[test]
fn duplicate_verification_keys_are_not_added_twice() {
    let signing = pem("p256.pkcs8.pem");
    let other = pem("ed25519.pkcs8.pem");
    let set = KeySet::new(signing.clone())
        .expect("private")
        .with_verification_key(signing.clone())
        .with_verification_key(pem("p256.sec1.pem"))
        .with_verification_key(pem("p256.pub.pem"))
        .with_verification_key(jwk(&fixture_json("p256.pub.jwk.json")).expect("loads"))
        .with_verification_key(other.clone())
        .with_verification_key(other.clone())
        .with_verification_key(pem("ed25519.pub.pem"));
    let kids: Vec<&str> = set.keys().map(Key::kid).collect();
    assert_eq!(kids, [signing.kid(), other.kid()]);
    assert_eq!(jwks_keys(&set).len(), 2);
    // The same RSA key under RS256 and PS256 shares one kid, so it is listed once (the first).
    let rs = pem("rsa2048.pkcs1.pem");
    let ps = Key::from_pem_with_algorithm(&fixture("rsa2048.pkcs8.pem"), Algorithm::PS256).expect("PS256");
    let set = set.with_verification_key(rs.clone()).with_verification_key(ps);
    assert_eq!(set.keys().count(), 3);
    assert_eq!(set.find(rs.kid()).map(Key::algorithm), Some(Algorithm::RS256));
}

#[test]
fn key_set_lookup_and_algorithms() {
    let signing = Key::generate(Algorithm::EdDSA).expect("generate");
    let retired = Key::generate(Algorithm::ES256).expect("generate");
    let rsa = pem("rsa2048.pub.pem");
    let retired_too = Key::generate(Algorithm::ES256).expect("generate");
    let set = KeySet::new(signing.clone())
        .expect("private")
        .with_verification_key(retired.clone())
        .with_verification_key(rsa.clone())
        .with_verification_key(retired_too.clone());
    assert_eq!(set.signing_key().kid(), signing.kid());
    for key in [&signing, &retired, &rsa, &retired_too] {
        assert_eq!(set.find(key.kid()).map(Key::kid), Some(key.kid()));
    }
    assert!(set.find("no-such-kid").is_none());
    assert!(set.find("").is_none());
    assert_eq!(set.algorithms(), [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256]);
    let order: Vec<&str> = set.keys().map(Key::kid).collect();
    assert_eq!(order, [signing.kid(), retired.kid(), rsa.kid(), retired_too.kid()]);
}

// ---------------------------------------------------------------------------------------------
// 5. Signatures

fn signature_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::ES256 | Algorithm::EdDSA => 64,
        _ => 256,
    }
}

#[test]
fn every_private_key_signs_and_verifies() {
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
    let mut changed = message.to_vec();
    changed[10] ^= 0x20;
    for (name, key) in all_private_keys() {
        let signature = key.sign(message).expect("a private key signs");
        assert_eq!(signature.len(), signature_len(key.algorithm()), "{name}: signature length");
        assert!(key.verify(message, &signature), "{name}: verifies");
        assert!(!key.verify(&changed, &signature), "{name}: a changed message fails");
        assert!(!key.verify(b"", &signature), "{name}: an empty message fails");
        let mut bad = signature.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert!(!key.verify(message, &bad), "{name}: a changed signature fails");
        assert!(!key.verify(message, &signature[..signature.len() - 1]), "{name}: a truncated signature fails");
        assert!(!key.verify(message, &[]), "{name}: an empty signature fails");
        let other = Key::generate(key.algorithm()).expect("generate");
        assert!(!other.verify(message, &signature), "{name}: another key's verify fails");
    }
}

#[test]
fn es256_signatures_are_fixed_width_r_s() {
    // RFC 7518 §3.4: 64 bytes R || S, never DER (which would be 70-72 bytes and start 0x30).
    for key in [Key::generate(Algorithm::ES256).expect("generate"), pem("p256.pkcs8.pem"), pem("p256.sec1.pem")] {
        for i in 0..32u8 {
            let signature = key.sign(&[i; 17]).expect("sign");
            assert_eq!(signature.len(), 64);
            assert!(key.verify(&[i; 17], &signature));
        }
    }
}

#[test]
fn public_keys_verify_signatures_of_their_private_keys() {
    let message = b"header.payload";
    for (private, public) in [
        ("p256.pkcs8.pem", "p256.pub.pem"),
        ("p256.sec1.pem", "p256.pub.pem"),
        ("ed25519.pkcs8.pem", "ed25519.pub.pem"),
        ("rsa2048.pkcs1.pem", "rsa2048.pub.pem"),
        ("rsa2048.pkcs8.pem", "rsa2048.pub.pem"),
    ] {
        let signature = pem(private).sign(message).expect("sign");
        let public = pem(public);
        assert!(public.verify(message, &signature), "{private}");
        assert!(!public.verify(b"header.payloaD", &signature), "{private}");
    }
    let ps_private = Key::from_pem_with_algorithm(&fixture("rsa2048.pkcs1.pem"), Algorithm::PS256).expect("PS256");
    let ps_public = Key::from_pem_with_algorithm(&fixture("rsa2048.pub.pem"), Algorithm::PS256).expect("PS256");
    let signature = ps_private.sign(message).expect("sign");
    assert!(ps_public.verify(message, &signature));
}

#[test]
fn rs256_and_ps256_signatures_are_not_interchangeable() {
    let message = b"algorithm binding";
    let rs = pem("rsa2048.pkcs1.pem");
    let ps = Key::from_pem_with_algorithm(&fixture("rsa2048.pkcs1.pem"), Algorithm::PS256).expect("PS256");
    let rs_signature = rs.sign(message).expect("sign");
    let ps_signature = ps.sign(message).expect("sign");
    assert!(rs.verify(message, &rs_signature));
    assert!(ps.verify(message, &ps_signature));
    assert!(!ps.verify(message, &rs_signature), "a PS256 key refuses an RS256 signature");
    assert!(!rs.verify(message, &ps_signature), "an RS256 key refuses a PS256 signature");
}

/// Builds a JWT signed by `key` and checks that jsonwebtoken, given only the published JWK,
/// accepts it, and refuses it once the payload is changed.
fn assert_jsonwebtoken_verifies(name: &str, key: &Key) {
    let published = Value::Object(key.public_jwk());
    let jwk: jwt::jwk::Jwk = serde_json::from_value(published.clone())
        .unwrap_or_else(|e| panic!("{name}: jsonwebtoken cannot parse the published JWK {published}: {e}"));
    let decoding = jwt::DecodingKey::from_jwk(&jwk).unwrap_or_else(|e| panic!("{name}: {e}"));
    let header = json!({ "alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.kid() });
    let claims = json!({ "sub": "interop", "iss": "https://issuer.example", "exp": 4_102_444_800_u64 });
    let signing_input = format!("{}.{}", b64u(header.to_string().as_bytes()), b64u(claims.to_string().as_bytes()));
    let signature = b64u(&key.sign(signing_input.as_bytes()).expect("sign"));
    let token = format!("{signing_input}.{signature}");

    let mut validation = jwt::Validation::new(jwt_algorithm(key.algorithm()));
    validation.validate_aud = false;
    let data = jwt::decode::<Value>(&token, &decoding, &validation)
        .unwrap_or_else(|e| panic!("{name}: jsonwebtoken refuses the token: {e}"));
    assert_eq!(data.claims.get("sub"), Some(&json!("interop")), "{name}");
    assert_eq!(data.header.kid.as_deref(), Some(key.kid()), "{name}");
    assert_eq!(data.header.alg, jwt_algorithm(key.algorithm()), "{name}");

    let forged_claims = json!({ "sub": "mallory", "iss": "https://issuer.example", "exp": 4_102_444_800_u64 });
    let forged =
        format!("{}.{}.{signature}", b64u(header.to_string().as_bytes()), b64u(forged_claims.to_string().as_bytes()));
    assert!(jwt::decode::<Value>(&forged, &decoding, &validation).is_err(), "{name}: forged payload accepted");
}

#[test]
fn signatures_verify_with_jsonwebtoken_from_the_published_jwk() {
    for (name, key) in all_private_keys() {
        assert_jsonwebtoken_verifies(&name, &key);
    }
}

#[test]
fn jsonwebtoken_signatures_verify_with_attesto_keys() {
    // The other direction: jsonwebtoken signs with the fixture PEM, attesto verifies.
    let message = b"signed by jsonwebtoken";
    let cases = [
        ("p256.pkcs8.pem", "p256.pub.pem", Algorithm::ES256),
        ("ed25519.pkcs8.pem", "ed25519.pub.pem", Algorithm::EdDSA),
        ("rsa2048.pkcs1.pem", "rsa2048.pub.pem", Algorithm::RS256),
        ("rsa2048.pkcs1.pem", "rsa2048.pub.pem", Algorithm::PS256),
    ];
    for (private, public, alg) in cases {
        let text = fixture(private);
        let encoding = match alg {
            Algorithm::ES256 => jwt::EncodingKey::from_ec_pem(text.as_bytes()),
            Algorithm::EdDSA => jwt::EncodingKey::from_ed_pem(text.as_bytes()),
            _ => jwt::EncodingKey::from_rsa_pem(text.as_bytes()),
        }
        .unwrap_or_else(|e| panic!("jsonwebtoken loads {private}: {e}"));
        let signature = jwt::crypto::sign(message, &encoding, jwt_algorithm(alg)).expect("jsonwebtoken signs");
        let signature = unb64u(&signature);
        let verifier = Key::from_pem_with_algorithm(&fixture(public), alg).expect("loads");
        assert!(verifier.verify(message, &signature), "{private} {alg}");
        let signer = Key::from_pem_with_algorithm(&text, alg).expect("loads");
        assert!(signer.verify(message, &signature), "{private} {alg}: the private key verifies too");
        assert!(!verifier.verify(b"signed by jsonwebtokeN", &signature), "{private} {alg}");
    }
}

#[test]
fn verification_only_keys_cannot_sign_but_verify() {
    for (name, key) in all_public_keys() {
        assert!(!key.is_private(), "{name}");
        assert!(!key.is_generated(), "{name}");
        assert_eq!(key.sign(b"message"), Err(KeyError::NotPrivate), "{name}");
        assert!(!key.verify(b"message", &[0; 64]), "{name}: garbage does not verify");
        assert!(!key.verify(b"message", &[0; 256]), "{name}: garbage does not verify");
    }
}

#[test]
fn rsa_public_exponent_one_cannot_forge() {
    // With e = 1 the "signature" would be the padded digest itself. Whatever attesto does with
    // such a key (refuse it, or keep it), it must never accept such a forgery.
    let message = b"forged";
    let mut encoded = vec![0x00, 0x01];
    encoded.resize(256 - 19 - 32 - 1, 0xff);
    encoded.push(0x00);
    // DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
    encoded.extend_from_slice(&[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
        0x20,
    ]);
    encoded.extend_from_slice(&Sha256::digest(message));
    assert_eq!(encoded.len(), 256);
    let weak = json!({ "kty": "RSA", "n": RFC7638_N, "e": "AQ" });
    if let Ok(key) = Key::from_jwk(&weak.to_string()) {
        assert!(!key.verify(message, &encoded), "an e = 1 key accepted a forged signature");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Rejections

fn assert_jwk_error(json: &str, context: &str) -> KeyError {
    let error = Key::from_jwk(json).expect_err(context);
    assert!(!error.to_string().is_empty());
    error
}

#[test]
fn jwk_rejects_symmetric_and_unknown_key_types() {
    let cases = [
        (json!({ "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" }), "oct"),
        (json!({ "kty": "oct", "k": "c2VjcmV0", "alg": "HS256" }), "oct with HS256"),
        (json!({ "kty": "EC2", "crv": "P-256", "x": "AA", "y": "AA" }), "unknown kty"),
        (json!({ "kty": "ec", "crv": "P-256" }), "kty is case-sensitive"),
        (json!({ "kty": "" }), "empty kty"),
        (json!({ "crv": "P-256", "x": "AA", "y": "AA" }), "missing kty"),
        (json!({ "kty": 1 }), "numeric kty"),
        (json!({ "kty": null }), "null kty"),
    ];
    for (value, context) in cases {
        let error = assert_jwk_error(&value.to_string(), context);
        assert!(matches!(error, KeyError::Jwk(_)), "{context}: {error:?}");
    }
}

#[test]
fn jwk_rejects_unsupported_curves() {
    let p256 = fixture_json("p256.pub.jwk.json");
    let coordinate48 = b64u(&[7; 48]);
    let cases = [
        json!({ "kty": "EC", "crv": "P-384", "x": coordinate48, "y": coordinate48 }),
        Value::Object(with_member(&p256, "crv", Some(json!("P-384")))),
        Value::Object(with_member(&p256, "crv", Some(json!("secp256k1")))),
        Value::Object(with_member(&p256, "crv", Some(json!("p-256")))),
        Value::Object(with_member(&p256, "crv", None)),
        Value::Object(with_member(&fixture_json("ed25519.pub.jwk.json"), "crv", Some(json!("Ed448")))),
        Value::Object(with_member(&fixture_json("ed25519.pub.jwk.json"), "crv", Some(json!("X25519")))),
        Value::Object(with_member(&fixture_json("ed25519.pub.jwk.json"), "crv", None)),
    ];
    for value in cases {
        let error = assert_jwk_error(&value.to_string(), &value.to_string());
        assert!(matches!(error, KeyError::Jwk(_)), "{value}: {error:?}");
    }
}

#[test]
fn jwk_rejects_malformed_base64() {
    for (stem, member) in [
        ("p256.pub", "x"),
        ("p256.pub", "y"),
        ("p256.priv", "d"),
        ("ed25519.pub", "x"),
        ("ed25519.priv", "d"),
        ("rsa2048.pub", "n"),
        ("rsa2048.pub", "e"),
        ("rsa2048.priv", "d"),
        ("rsa2048.priv", "qi"),
    ] {
        let good = fixture_json(&format!("{stem}.jwk.json"));
        let value = good.get(member).and_then(Value::as_str).expect("member").to_owned();
        for bad in [
            format!("{}!", &value[1..]),               // not base64 at all
            format!("+{}", &value[1..]),               // standard, not URL-safe, alphabet
            format!("{}/", &value[1..]),               // standard alphabet again
            format!("{} ", &value[1..]),               // whitespace
            format!("{}=", &value[..value.len() - 1]), // padding
            "A".to_owned(),                            // impossible length
        ] {
            let tampered = with_member(&good, member, Some(Value::String(bad.clone())));
            let error = jwk(&tampered).expect_err(&format!("{stem}.{member} = {bad}"));
            assert!(matches!(error, KeyError::Jwk(_)), "{stem}.{member}: {error:?}");
        }
        let not_a_string = with_member(&good, member, Some(json!(12)));
        assert!(matches!(jwk(&not_a_string), Err(KeyError::Jwk(_))), "{stem}.{member} as a number");
    }
}

#[test]
fn jwk_rejects_missing_members() {
    for (stem, member) in [
        ("p256.pub", "x"),
        ("p256.pub", "y"),
        ("p256.priv", "y"),
        ("ed25519.pub", "x"),
        ("ed25519.priv", "x"),
        ("rsa2048.pub", "n"),
        ("rsa2048.pub", "e"),
        ("rsa2048.priv", "n"),
        ("rsa2048.priv", "p"),
        ("rsa2048.priv", "q"),
        ("rsa2048.priv", "dp"),
        ("rsa2048.priv", "dq"),
        ("rsa2048.priv", "qi"),
    ] {
        let tampered = with_member(&fixture_json(&format!("{stem}.jwk.json")), member, None);
        let error = jwk(&tampered).expect_err(&format!("{stem} without {member}"));
        assert!(matches!(error, KeyError::Jwk(_)), "{stem} without {member}: {error:?}");
    }
}

#[test]
fn jwk_rejects_non_objects() {
    for text in ["", " ", "null", "[]", "[{\"kty\":\"EC\"}]", "\"EC\"", "42", "true", "{", "{\"kty\":\"EC\",}", "{}"] {
        let error = assert_jwk_error(text, text);
        assert!(matches!(error, KeyError::Jwk(_)), "{text:?}: {error:?}");
    }
    // A JWKS is not a JWK.
    let jwks = json!({ "keys": [Value::Object(fixture_json("p256.pub.jwk.json"))] });
    assert!(matches!(Key::from_jwk(&jwks.to_string()), Err(KeyError::Jwk(_))));
}

#[test]
fn jwk_rejects_wrong_length_coordinates() {
    let p256 = fixture_json("p256.pub.jwk.json");
    let ed = fixture_json("ed25519.pub.jwk.json");
    let x = unb64u(p256.get("x").and_then(Value::as_str).expect("x"));
    let cases = [
        with_member(&p256, "x", Some(json!(b64u(&x[1..])))),
        with_member(&p256, "y", Some(json!(b64u(&[&[0][..], &x[..]].concat())))),
        with_member(&p256, "x", Some(json!(b64u(&[9; 48])))),
        with_member(&p256, "x", Some(json!(""))),
        with_member(&ed, "x", Some(json!(b64u(&[9; 31])))),
        with_member(&ed, "x", Some(json!(b64u(&[9; 33])))),
        with_member(&ed, "x", Some(json!(""))),
    ];
    for case in cases {
        let error = jwk(&case).expect_err("wrong length");
        assert!(matches!(error, KeyError::Jwk(_)), "{case:?}: {error:?}");
    }
    // Right length, but not a point of P-256.
    let off_curve = with_member(&p256, "y", Some(json!(b64u(&[1; 32]))));
    assert!(matches!(jwk(&off_curve), Err(KeyError::Rejected(_))));
    let zero = json!({ "kty": "EC", "crv": "P-256", "x": b64u(&[0; 32]), "y": b64u(&[0; 32]) });
    assert!(matches!(Key::from_jwk(&zero.to_string()), Err(KeyError::Rejected(_))));
}

#[test]
fn jwk_rejects_an_alg_that_does_not_fit_the_key() {
    let cases = [
        ("rsa2048.pub", "ES256", "RSA"),
        ("rsa2048.priv", "ES256", "RSA"),
        ("rsa2048.pub", "EdDSA", "RSA"),
        ("p256.pub", "RS256", "EC"),
        ("p256.priv", "PS256", "EC"),
        ("p256.pub", "EdDSA", "EC"),
        ("ed25519.pub", "ES256", "OKP"),
        ("ed25519.priv", "RS256", "OKP"),
    ];
    for (stem, alg, kty) in cases {
        let tampered = with_member(&fixture_json(&format!("{stem}.jwk.json")), "alg", Some(json!(alg)));
        let expected = match alg {
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            "RS256" => Algorithm::RS256,
            _ => Algorithm::PS256,
        };
        assert_eq!(jwk(&tampered).expect_err(stem), KeyError::AlgorithmMismatch { alg: expected, kty }, "{stem}");
    }
    // Algorithms attesto does not sign with at all.
    for alg in ["none", "HS256", "ES384", "RS512", "PS384", "ES256K", "Ed25519", "es256", ""] {
        let tampered = with_member(&fixture_json("p256.pub.jwk.json"), "alg", Some(json!(alg)));
        assert!(matches!(jwk(&tampered), Err(KeyError::Jwk(_))), "alg {alg:?}");
    }
    let numeric = with_member(&fixture_json("p256.pub.jwk.json"), "alg", Some(json!(7)));
    assert!(matches!(jwk(&numeric), Err(KeyError::Jwk(_))));
    // A fitting alg is accepted.
    for (stem, alg) in
        [("p256.pub", Algorithm::ES256), ("ed25519.priv", Algorithm::EdDSA), ("rsa2048.priv", Algorithm::PS256)]
    {
        let with_alg = with_member(&fixture_json(&format!("{stem}.jwk.json")), "alg", Some(json!(alg.as_str())));
        assert_eq!(jwk(&with_alg).expect(stem).algorithm(), alg);
    }
}

#[test]
fn jwk_rejects_short_rsa_moduli_by_exact_bit_length() {
    // 256 bytes whose first byte is 0x01: a 2041-bit modulus, not a 2048-bit one.
    let mut n = unb64u(RFC7638_N);
    n[0] = 0x01;
    let short = json!({ "kty": "RSA", "n": b64u(&n), "e": "AQAB" });
    assert_eq!(Key::from_jwk(&short.to_string()).expect_err("2041 bits"), KeyError::RsaTooShort(2041));
    // A 2048-bit modulus with leading zero octets (not allowed by RFC 7518, but harmless) is
    // read by its value.
    let padded = json!({ "kty": "RSA", "n": b64u(&[&[0, 0][..], &unb64u(RFC7638_N)[..]].concat()), "e": "AQAB" });
    assert_eq!(Key::from_jwk(&padded.to_string()).expect("2048 bits").kid(), RFC7638_THUMBPRINT);
}

#[test]
fn pem_rejects_garbage() {
    let body =
        fixture("p256.pkcs8.pem").lines().filter(|line| !line.starts_with("-----")).collect::<Vec<_>>().join("\n");
    let cases = [
        String::new(),
        "   \n".to_owned(),
        "hello".to_owned(),
        body.clone(),
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n"),
        format!("-----BEGIN PRIVATE KEY\n{body}\n-----END PRIVATE KEY-----"),
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY"),
        format!("BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"),
    ];
    for case in cases {
        let error = Key::from_pem(&case).expect_err(&case);
        assert!(matches!(error, KeyError::Pem(_)), "{case:?}: {error:?}");
    }
}

#[test]
fn pem_rejects_unsupported_labels() {
    let body =
        fixture("p256.pkcs8.pem").lines().filter(|line| !line.starts_with("-----")).collect::<Vec<_>>().join("\n");
    for label in [
        "CERTIFICATE",
        "ENCRYPTED PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "RSA PUBLIC KEY",
        "EC PARAMETERS",
        "private key",
        "PRIVATE  KEY",
        "",
    ] {
        let text = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        assert_eq!(Key::from_pem(&text).expect_err(label), KeyError::PemLabel(label.to_owned()), "{label:?}");
    }
}

#[test]
fn pem_rejects_mismatched_end_and_multiple_blocks() {
    let pkcs8 = fixture("p256.pkcs8.pem");
    let mismatched = pkcs8.replace("-----END PRIVATE KEY-----", "-----END EC PRIVATE KEY-----");
    assert!(matches!(Key::from_pem(&mismatched), Err(KeyError::Pem(_))));
    let mismatched = pkcs8.replace("-----END PRIVATE KEY-----", "-----END PUBLIC KEY-----");
    assert!(matches!(Key::from_pem(&mismatched), Err(KeyError::Pem(_))));
    let two_blocks = format!("{pkcs8}{}", fixture("p256.pub.pem"));
    assert!(matches!(Key::from_pem(&two_blocks), Err(KeyError::Pem(_))), "two different blocks");
    let same_twice = format!("{pkcs8}{pkcs8}");
    assert!(matches!(Key::from_pem(&same_twice), Err(KeyError::Pem(_))), "the same block twice");
    let trailing = format!("{pkcs8}trailing text\n");
    assert!(matches!(Key::from_pem(&trailing), Err(KeyError::Pem(_))), "text after END");
}

#[test]
fn pem_rejects_a_body_that_is_not_base64() {
    let pkcs8 = fixture("p256.pkcs8.pem");
    let mut lines: Vec<String> = pkcs8.lines().map(str::to_owned).collect();
    assert!(lines.len() >= 3);
    for bad in ["!!!!", "AB-_", "AB.C", "ABC=D"] {
        let mut copy = lines.clone();
        copy[1].replace_range(0..bad.len(), bad);
        let text = copy.join("\n");
        assert!(matches!(Key::from_pem(&text), Err(KeyError::Pem(_))), "{bad}");
    }
    lines.insert(1, "Proc-Type: 4,ENCRYPTED".to_owned());
    assert!(matches!(Key::from_pem(&lines.join("\n")), Err(KeyError::Pem(_))), "RFC 1421 headers");
}

#[test]
fn pem_rejects_bodies_that_do_not_fit_the_label() {
    fn relabel(text: &str, from: &str, to: &str) -> String {
        text.replace(&format!("BEGIN {from}-----"), &format!("BEGIN {to}-----"))
            .replace(&format!("END {from}-----"), &format!("END {to}-----"))
    }
    let cases = [
        relabel(&fixture("p256.pkcs8.pem"), "PRIVATE KEY", "PUBLIC KEY"),
        relabel(&fixture("p256.pub.pem"), "PUBLIC KEY", "PRIVATE KEY"),
        relabel(&fixture("rsa2048.pkcs1.pem"), "RSA PRIVATE KEY", "EC PRIVATE KEY"),
        relabel(&fixture("ed25519.pkcs8.pem"), "PRIVATE KEY", "EC PRIVATE KEY"),
        relabel(&fixture("p256.sec1.pem"), "EC PRIVATE KEY", "RSA PRIVATE KEY"),
        relabel(&fixture("rsa2048.pub.pem"), "PUBLIC KEY", "RSA PRIVATE KEY"),
        // Well-formed base64 that is no key at all.
        "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n".to_owned(),
        "-----BEGIN PUBLIC KEY-----\naGVsbG8gd29ybGQ=\n-----END PUBLIC KEY-----\n".to_owned(),
        "-----BEGIN EC PRIVATE KEY-----\n\n-----END EC PRIVATE KEY-----\n".to_owned(),
    ];
    for case in cases {
        let error = Key::from_pem(&case).expect_err(&case);
        assert!(matches!(error, KeyError::Rejected(_)), "{case}: {error:?}");
    }
}

#[test]
fn truncated_pem_bodies_are_refused() {
    for name in ["p256.pkcs8.pem", "p256.sec1.pem", "ed25519.pkcs8.pem", "rsa2048.pkcs1.pem", "p256.pub.pem"] {
        let text = fixture(name);
        let lines: Vec<&str> = text.lines().collect();
        // Drop the second-to-last body line: the DER is cut short (still valid base64).
        let mut shorter = lines.clone();
        shorter.remove(lines.len() - 2);
        let error = Key::from_pem(&shorter.join("\n")).expect_err(name);
        assert!(matches!(error, KeyError::Rejected(_) | KeyError::Pem(_)), "{name}: {error:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Debug output

#[test]
fn debug_output_never_shows_private_material() {
    for stem in ["p256", "ed25519", "rsa2048"] {
        let private_jwk = fixture_json(&format!("{stem}.priv.jwk.json"));
        let secrets: Vec<(String, String)> = PRIVATE_MEMBERS
            .iter()
            .filter_map(|member| {
                private_jwk.get(*member).and_then(Value::as_str).map(|v| ((*member).to_owned(), v.to_owned()))
            })
            .collect();
        assert!(!secrets.is_empty());
        let mut keys = vec![jwk(&private_jwk).expect("private JWK")];
        let pems: &[&str] = match stem {
            "p256" => &["p256.pkcs8.pem", "p256.sec1.pem"],
            "ed25519" => &["ed25519.pkcs8.pem"],
            _ => &["rsa2048.pkcs1.pem", "rsa2048.pkcs8.pem"],
        };
        keys.extend(pems.iter().map(|name| pem(name)));
        for key in keys {
            let debug = format!("{key:?}");
            let pretty = format!("{key:#?}");
            let set = format!("{:?}", KeySet::new(key.clone()).expect("private"));
            for (member, secret) in &secrets {
                let hex: String = unb64u(secret).iter().map(|b| format!("{b:02x}")).collect();
                let decimal: Vec<String> = unb64u(secret).iter().take(8).map(u8::to_string).collect();
                for text in [&debug, &pretty, &set] {
                    assert!(!text.contains(secret.as_str()), "{stem}: `{member}` (base64url) in {text}");
                    assert!(!text.contains(&hex), "{stem}: `{member}` (hex) in {text}");
                    assert!(!text.contains(&decimal.join(", ")), "{stem}: `{member}` (bytes) in {text}");
                }
            }
            assert!(debug.contains(key.kid()), "the debug output names the key: {debug}");
            assert!(debug.contains(key.algorithm().as_str()), "{debug}");
        }
    }
}

#[test]
fn errors_never_echo_private_material() {
    for stem in ["p256", "ed25519", "rsa2048"] {
        let private_jwk = fixture_json(&format!("{stem}.priv.jwk.json"));
        let d = private_jwk.get("d").and_then(Value::as_str).expect("d").to_owned();
        let tampered = [
            with_flipped_bit(&private_jwk, "d"),
            with_member(&private_jwk, "d", Some(json!(format!("{d}!")))),
            with_member(&private_jwk, "alg", Some(json!("HS256"))),
            with_member(&private_jwk, "kty", Some(json!("oct"))),
        ];
        for case in tampered {
            let error = jwk(&case).expect_err(stem);
            let texts = [error.to_string(), format!("{error:?}")];
            for text in texts {
                assert!(!text.contains(&d[..20]), "{stem}: the error echoes d: {text}");
            }
        }
    }
}
