//! DPoP proof verification (`attesto::dpop::verify_proof`, RFC 9449 §4.3) and JWK thumbprints
//! (`attesto::dpop::thumbprint`), on the fixed clock.
//!
//! The first byte picks the request the proof is checked against (method, `htu`, with or without
//! an access token, the `iat` window) and the mode. Raw mode: the rest is the `DPoP` header.
//! Signed mode: the rest is `header JSON \n claims JSON`, signed here with a fixture key (P-256 or
//! Ed25519), with `@JWK@` standing for that key's public JWK, `@ATH@` for the access token's hash
//! and `@NOW@` for the clock, so that the fuzzer reaches the claim checks behind the signature.
//!
//! Checked: the verdict is the same twice (the check is pure); a refusal converts to a 400
//! `invalid_dpop_proof`; an accepted proof is within the size bound, was made within the window,
//! has a `jti` and `nonce` within their bounds, a supported `alg`, and the thumbprint of the key
//! in its header.
#![no_main]

use std::time::Duration;

use attesto::dpop::{self, MAX_JTI_LEN, MAX_NONCE_LEN, MAX_PROOF_LEN, ProofRequirements, SUPPORTED_ALGORITHMS};
use attesto::ErrorCode;
use attesto_runtime::__fuzz::proof_error;
use attesto_fuzz::{ACCESS_TOKEN, NOW, TOKEN_URL, USERINFO_URL, fields, keys, proof_jwk, sign_jws, substitute};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let method = ["POST", "GET", "post", "PUT"][usize::from(flags & 0b11)];
    let uri = if flags & 0b100 == 0 { TOKEN_URL } else { USERINFO_URL };
    let mut req = ProofRequirements::new(method, uri, NOW);
    if flags & 0b1000 != 0 {
        req = req.with_access_token(ACCESS_TOKEN);
    }
    if flags & 0b1_0000 != 0 {
        req = req.with_max_age(Duration::from_secs(u64::MAX / 2)).with_max_skew(Duration::ZERO);
    }
    let proof = if flags & 0b10_0000 == 0 {
        match std::str::from_utf8(rest) {
            Ok(proof) => proof.to_owned(),
            Err(_) => return,
        }
    } else {
        let key = if flags & 0b100_0000 == 0 { &keys().p256 } else { &keys().ed25519 };
        let [header, claims] = fields::<2>(rest);
        let (jwk, ath, now) = (proof_jwk(key), dpop::access_token_hash(ACCESS_TOKEN), NOW.to_string());
        let header = substitute(header, &[("@JWK@", &jwk)]);
        let claims = substitute(claims, &[("@ATH@", &ath), ("@NOW@", &now)]);
        sign_jws(key, &header, &claims)
    };
    let verdict = dpop::verify_proof(&proof, &req);
    assert_eq!(verdict, dpop::verify_proof(&proof, &req), "the verdict changed");
    let verified = match verdict {
        Ok(verified) => verified,
        Err(error) => {
            assert!(!error.description().is_empty());
            let error = proof_error(error);
            assert_eq!(error.code(), ErrorCode::InvalidDpopProof);
            assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
            return;
        }
    };
    assert!(proof.len() <= MAX_PROOF_LEN);
    assert!(verified.iat <= NOW.saturating_add(req.max_skew.as_secs()), "iat in the future");
    assert_eq!(verified.valid_until, verified.iat.saturating_add(req.max_age.as_secs()));
    assert!(verified.valid_until >= NOW, "iat too old");
    assert!(!verified.jti.is_empty() && verified.jti.len() <= MAX_JTI_LEN);
    assert!(verified.nonce.as_ref().is_none_or(|nonce| nonce.len() <= MAX_NONCE_LEN));
    assert!(SUPPORTED_ALGORITHMS.contains(&verified.alg));
    let header = proof.split('.').next().expect("a header part");
    let header: Map<String, Value> =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url header")).expect("a JSON header");
    let jwk = header.get("jwk").and_then(Value::as_object).expect("an accepted proof has a jwk");
    assert_eq!(dpop::thumbprint(jwk), Ok(verified.jkt), "jkt is the thumbprint of the header's key");
});
