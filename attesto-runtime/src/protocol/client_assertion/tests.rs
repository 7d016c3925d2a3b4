use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::*;
use crate::keys::{Algorithm, Key};

const ISSUER: &str = "https://auth.example";
const TOKEN: &str = "https://auth.example/oauth/token";
const NOW: u64 = 1_800_000_000;
const SKEW: u64 = 30;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signer and the public JWK (with `kid`) of each accepted algorithm.
enum Signer {
    Key(Key),
    Es384(EcdsaKeyPair),
}

impl Signer {
    fn new(alg: ClientSigningAlgorithm) -> Self {
        match alg {
            ClientSigningAlgorithm::ES384 => {
                let rng = SystemRandom::new();
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).expect("key");
                Self::Es384(EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).expect("key"))
            }
            ClientSigningAlgorithm::ES256 => Self::Key(Key::generate(Algorithm::ES256).expect("key")),
            ClientSigningAlgorithm::EdDSA => Self::Key(Key::generate(Algorithm::EdDSA).expect("key")),
            ClientSigningAlgorithm::PS256 => Self::Key(Key::generate(Algorithm::PS256).expect("key")),
            ClientSigningAlgorithm::RS256 => Self::Key(Key::generate(Algorithm::RS256).expect("key")),
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        let mut jwk = match self {
            Self::Key(key) => Value::Object(key.public_jwk()),
            Self::Es384(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-384", "x": b64(&point[1..49]), "y": b64(&point[49..])})
            }
        };
        jwk["kid"] = kid.into();
        jwk
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Key(key) => key.sign(message).expect("sign"),
            Self::Es384(pair) => pair.sign(&SystemRandom::new(), message).expect("sign").as_ref().to_vec(),
        }
    }
}

fn jwt(signer: &Signer, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn claims() -> Value {
    json!({"iss": "c1", "sub": "c1", "aud": ISSUER, "exp": NOW + 60, "iat": NOW, "jti": "j1"})
}

/// Parses, verifies and checks an assertion as `c1` with `keys`.
fn accept(assertion: &str, keys: &[ClientKey], audience: ClientAssertionAudience) -> Result<Accepted, AssertionError> {
    let parsed = Assertion::parse(assertion)?;
    let client_id = parsed.client_id(None)?.to_owned();
    parsed.verify_signature(keys, None)?;
    parsed.check_claims(&client_id, ISSUER, TOKEN, audience, NOW, SKEW)
}

#[test]
fn every_accepted_algorithm_verifies() {
    for alg in ClientSigningAlgorithm::ALL {
        let signer = Signer::new(alg);
        let keys = check_jwks(&json!({"keys": [signer.jwk("k")]})).expect("a usable key");
        let assertion = jwt(&signer, &json!({"alg": alg.as_str(), "kid": "k"}), &claims());
        assert_eq!(
            accept(&assertion, &keys, ClientAssertionAudience::default()),
            Ok(Accepted { jti: "j1".into(), expires_at: NOW + 60 + SKEW }),
            "{alg:?}"
        );
        // Without a `kid`, each key is tried.
        let assertion = jwt(&signer, &json!({"alg": alg.as_str()}), &claims());
        assert!(accept(&assertion, &keys, ClientAssertionAudience::default()).is_ok(), "{alg:?} without kid");
    }
}

#[test]
fn claims_are_checked() {
    let signer = Signer::new(ClientSigningAlgorithm::ES256);
    let keys = check_jwks(&json!({"keys": [signer.jwk("k")]})).expect("key");
    let header = json!({"alg": "ES256", "kid": "k"});
    let with = |changes: Value| {
        let mut claims = claims();
        for (name, value) in changes.as_object().expect("object") {
            if value.is_null() {
                claims.as_object_mut().expect("object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        jwt(&signer, &header, &claims)
    };
    let cases: Vec<(Value, ClientAssertionAudience, Result<(), AssertionError>)> = vec![
        (json!({"aud": TOKEN}), ClientAssertionAudience::IssuerOrTokenEndpoint, Ok(())),
        (json!({"aud": ["x", ISSUER]}), ClientAssertionAudience::IssuerOnly, Ok(())),
        (json!({"aud": TOKEN}), ClientAssertionAudience::IssuerOnly, Err(AssertionError::AudienceNotIssuer)),
        (
            json!({"aud": "https://other.example"}),
            ClientAssertionAudience::default(),
            Err(AssertionError::WrongAudience),
        ),
        (json!({"aud": null}), ClientAssertionAudience::default(), Err(AssertionError::WrongAudience)),
        (json!({"sub": "c2"}), ClientAssertionAudience::default(), Err(AssertionError::SubjectNotClient)),
        (json!({"sub": null}), ClientAssertionAudience::default(), Err(AssertionError::SubjectNotClient)),
        (json!({"iss": null}), ClientAssertionAudience::default(), Err(AssertionError::MissingIssuer)),
        (json!({"exp": null}), ClientAssertionAudience::default(), Err(AssertionError::MissingExpiry)),
        (json!({"exp": NOW - SKEW}), ClientAssertionAudience::default(), Err(AssertionError::Expired)),
        (json!({"exp": NOW - SKEW + 1}), ClientAssertionAudience::default(), Ok(())),
        (json!({"exp": NOW + 330}), ClientAssertionAudience::default(), Ok(())),
        (json!({"exp": NOW + 331}), ClientAssertionAudience::default(), Err(AssertionError::LivesTooLong)),
        (json!({"iat": NOW + 31}), ClientAssertionAudience::default(), Err(AssertionError::IssuedInFuture)),
        (json!({"nbf": NOW + 31}), ClientAssertionAudience::default(), Err(AssertionError::NotYetValid)),
        (json!({"jti": null}), ClientAssertionAudience::default(), Err(AssertionError::MissingJti)),
        (json!({"jti": ""}), ClientAssertionAudience::default(), Err(AssertionError::MissingJti)),
        (json!({"jti": "x".repeat(257)}), ClientAssertionAudience::default(), Err(AssertionError::MissingJti)),
        (json!({"exp": "soon"}), ClientAssertionAudience::default(), Err(AssertionError::MalformedClaims)),
    ];
    for (changes, audience, expected) in cases {
        let result = accept(&with(changes.clone()), &keys, audience).map(|_| ());
        assert_eq!(result, expected, "{changes}");
    }
}

#[test]
fn headers_and_signatures_are_checked() {
    let signer = Signer::new(ClientSigningAlgorithm::ES256);
    let other = Signer::new(ClientSigningAlgorithm::ES256);
    let keys = check_jwks(&json!({"keys": [signer.jwk("k")]})).expect("key");
    let parse = |assertion: &str| Assertion::parse(assertion).map(|_| ());
    let unsigned = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().to_string().as_bytes()));
    assert_eq!(parse(&unsigned), Err(AssertionError::Unsigned));
    let hmac = format!("{}.{}.AAAA", b64(br#"{"alg":"HS256"}"#), b64(claims().to_string().as_bytes()));
    assert_eq!(parse(&hmac), Err(AssertionError::Hmac));
    let es512 = format!("{}.{}.AAAA", b64(br#"{"alg":"ES512"}"#), b64(claims().to_string().as_bytes()));
    assert_eq!(parse(&es512), Err(AssertionError::UnsupportedAlgorithm));
    let crit = jwt(&signer, &json!({"alg": "ES256", "crit": ["exp"]}), &claims());
    assert_eq!(parse(&crit), Err(AssertionError::Critical));
    assert_eq!(parse("a.b"), Err(AssertionError::Malformed));
    assert_eq!(parse(&"a".repeat(MAX_ASSERTION_BYTES + 1)), Err(AssertionError::TooLarge));
    let by_other = jwt(&other, &json!({"alg": "ES256", "kid": "k"}), &claims());
    assert_eq!(accept(&by_other, &keys, ClientAssertionAudience::default()), Err(AssertionError::BadSignature));
    let unknown_kid = jwt(&signer, &json!({"alg": "ES256", "kid": "nope"}), &claims());
    let parsed = Assertion::parse(&unknown_kid).expect("parsed");
    assert_eq!(parsed.verify_signature(&keys, None), Err(AssertionError::UnknownKey));
    // The key decides the algorithm: an ES256 key verifies no EdDSA signature.
    let wrong_alg = jwt(&signer, &json!({"alg": "EdDSA", "kid": "k"}), &claims());
    assert_eq!(accept(&wrong_alg, &keys, ClientAssertionAudience::default()), Err(AssertionError::BadSignature));
    let good = Assertion::parse(&by_other).expect("parsed");
    assert_eq!(
        good.verify_signature(&keys, Some(ClientSigningAlgorithm::PS256)),
        Err(AssertionError::AlgorithmNotRegistered)
    );
    assert_eq!(good.verify_signature(&[], None), Err(AssertionError::NoKeys));
    assert_eq!(good.client_id(Some("c2")), Err(AssertionError::ClientIdMismatch));
    assert_eq!(good.client_id(Some("c1")), Ok("c1"));
}

#[test]
fn registered_jwk_sets_are_checked() {
    let signer = Signer::new(ClientSigningAlgorithm::ES256);
    let rsa = Signer::new(ClientSigningAlgorithm::RS256);
    let mut private = signer.jwk("p");
    private["d"] = "AAAA".into();
    let mut encryption = signer.jwk("e");
    encryption["use"] = "enc".into();
    let mut no_kid = signer.jwk("x");
    no_kid.as_object_mut().expect("object").remove("kid");
    let cases: Vec<(Value, Result<usize, JwksError>)> = vec![
        (json!({"keys": [signer.jwk("a"), rsa.jwk("b")]}), Ok(2)),
        (json!({"keys": [signer.jwk("a"), rsa.jwk("a")]}), Err(JwksError::DuplicateKid)),
        (json!({"keys": [private]}), Err(JwksError::PrivateKey)),
        (json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}), Err(JwksError::PrivateKey)),
        (json!({"keys": [no_kid]}), Err(JwksError::MissingKid)),
        (json!({"keys": [encryption]}), Err(JwksError::UnsupportedKey)),
        (
            json!({"keys": [{"kty": "EC", "crv": "P-521", "kid": "z", "x": "AA", "y": "AA"}]}),
            Err(JwksError::UnsupportedKey),
        ),
        (json!({"keys": []}), Err(JwksError::Empty)),
        (json!({"keys": vec![signer.jwk("a"); 9]}), Err(JwksError::TooManyKeys)),
        (json!([signer.jwk("a")]), Err(JwksError::NotASet)),
    ];
    for (jwks, expected) in cases {
        assert_eq!(check_jwks(&jwks).map(|keys| keys.len()), expected, "{jwks}");
    }
    // What a client publishes is read leniently: unusable keys are skipped.
    let mut with_private = signer.jwk("p");
    with_private["d"] = "AAAA".into();
    let published = json!({"keys": [with_private, signer.jwk("a"), rsa.jwk("a"), "junk"]});
    let usable = usable_keys(&published);
    assert_eq!(usable.iter().map(|key| key.kid()).collect::<Vec<_>>(), [Some("a")]);
}

#[test]
fn replay_keys_are_scoped_to_their_client() {
    assert_ne!(replay_key("a:b", "c"), replay_key("a", "b:c"));
    assert!(replay_key("c1", "j").starts_with("client_assertion:"));
}
