//! Access token parsing and verification (`jwt.rs`): what the in-process guard and userinfo run
//! on a presented bearer token, with the fixed signing key and clock.
//!
//! The first byte picks the mode. Even: the rest is a token, as presented. Odd: the rest is
//! `header JSON \n claims JSON` (any bytes; `@KID@` stands for the key's `kid`), encoded and
//! signed here with the provider's key, so that the fuzzer reaches the checks behind the
//! signature.
//!
//! Checked: verification succeeds only for a token whose structure parses, whose `kid` is the
//! key's, whose `iss` is the issuer and whose `exp` is in the future; its claims are those the
//! token carries; every rejection is one of the known reasons.
#![no_main]

use attesto::KeySet;
use attesto_fuzz::{ISSUER, NOW, fields, keys, sign_jws, substitute};
use attesto_runtime::__fuzz::{parse_access_token, verify_access_token};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const REASONS: [&str; 7] =
    ["Malformed", "UnknownKey", "WrongAlgorithm", "WrongType", "BadSignature", "WrongIssuer", "Expired"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = &keys().signing;
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(token) => token.to_owned(),
            Err(_) => return,
        }
    } else {
        let [header, claims] = fields::<2>(rest);
        sign_jws(key, &substitute(header, &[("@KID@", key.kid())]), claims)
    };
    let keyset = KeySet::new(key.clone()).expect("a key set of the signing key");
    let parsed = parse_access_token(&token);
    let verified = verify_access_token(&keyset, &token, ISSUER, NOW);
    for reason in [parsed.as_ref().err(), verified.as_ref().err()].into_iter().flatten() {
        assert!(REASONS.contains(&reason.as_str()), "unknown reason {reason}");
    }
    let Ok(view) = verified else {
        return;
    };
    assert_eq!(parsed, Ok(Some(key.kid().to_owned())), "a verified token has the key's kid");
    assert_eq!(view.iss, ISSUER);
    assert!(view.exp > NOW, "an expired token verified");
    let claims = token.split('.').nth(1).expect("three parts");
    let claims = URL_SAFE_NO_PAD.decode(claims).expect("base64url claims");
    // The claims parser skips the members it does not read without validating their strings, so
    // a verified token may hold invalid UTF-8 or a lone surrogate escape (`"\ud800"`) there, which
    // a `Value` refuses. Only a token signed with the provider's key can, and the provider
    // serialises valid JSON; the comparison needs the claims as a `Value`.
    let Ok(claims) = serde_json::from_slice::<Value>(&claims) else {
        return;
    };
    assert_eq!(claims["sub"].as_str(), Some(view.sub.as_str()));
    assert_eq!(claims["jti"].as_str(), Some(view.jti.as_str()));
    assert_eq!(claims["client_id"].as_str(), Some(view.client_id.as_str()));
    assert_eq!(claims["exp"].as_u64(), Some(view.exp));
    assert_eq!(claims["cnf"]["jkt"].as_str(), view.jkt.as_deref());
});
