//! `application/x-www-form-urlencoded` parsing (`form.rs`): the strict parser of the token, PAR,
//! revocation and introspection endpoints, the repeat-keeping parser of the authorization
//! endpoint, and the decoding of one component.
//!
//! Checked on every input, beyond "no panic": the two parsers agree (the strict one accepts
//! exactly what the other parses without a repeated parameter, with the same pairs); the pairs
//! are the `&`/`=` split of the input decoded one component at a time, empty values left out;
//! every refusal is `invalid_request`.
#![no_main]

use attesto::ErrorCode;
use attesto_runtime::__fuzz::{decode_form_component, parse_form, parse_form_keeping_repeats};
use libfuzzer_sys::fuzz_target;

/// The parameter the authorization and token endpoints let repeat (RFC 8707 `resource`).
const REPEATABLE: &[&str] = &["resource"];

fuzz_target!(|data: &[u8]| {
    let strict = parse_form(data, REPEATABLE);
    let keeping = parse_form_keeping_repeats(data, REPEATABLE);
    match (&strict, &keeping) {
        (Ok(pairs), Ok((kept, None))) => assert_eq!(pairs, kept, "the parsers disagree on the pairs"),
        (Err(_), Ok((_, Some(_)))) | (Err(_), Err(_)) => {}
        _ => panic!("the parsers disagree: {strict:?} / {keeping:?}"),
    }
    for error in [strict.as_ref().err(), keeping.as_ref().err()].into_iter().flatten() {
        assert_eq!(error.code(), ErrorCode::InvalidRequest, "{error}");
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST, "{error}");
    }
    if let Ok((pairs, _)) = &keeping {
        // The oracle: each component decoded on its own, as `decode` does it.
        let mut expected = Vec::new();
        for part in data.split(|b| *b == b'&').filter(|part| !part.is_empty()) {
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            let name = decode_form_component(name).expect("a component of a parsed form decodes");
            let value = decode_form_component(value).expect("a component of a parsed form decodes");
            if !value.is_empty() {
                expected.push((name, value));
            }
        }
        assert_eq!(pairs, &expected);
    }
    match decode_form_component(data) {
        Ok(decoded) if !data.iter().any(|b| matches!(b, b'+' | b'%')) => {
            assert_eq!(decoded.as_bytes(), data, "nothing to decode, yet the text changed");
        }
        Ok(decoded) => assert!(decoded.len() <= data.len(), "decoding never lengthens"),
        Err(error) => assert_eq!(error.code(), ErrorCode::InvalidRequest),
    }
});
