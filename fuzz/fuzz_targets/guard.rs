//! The resource-server guard (`Attesto::guard`) and the userinfo endpoint, through the real
//! router: the `Authorization` header, access token parsing and verification (`jwt.rs`), the
//! audience, revocation, the client, scopes, and the DPoP binding (RFC 9449 §7).
//!
//! The first byte sets the request: bit 0 userinfo rather than `/mcp`; bit 1 POST rather than
//! GET; bit 2 the signed mode. Raw mode: the rest is `Authorization value \n DPoP value`. Signed
//! mode: the rest is `scheme \n claims JSON \n proof`: the claims are signed with the provider's
//! key into the token presented as `scheme token`; `@NOW@`, `@EXP@` (five minutes on), `@JKT@`
//! (the proof key's thumbprint) are filled in. A proof line that starts with `!` is a JSON claims
//! set, signed here with the P-256 fixture key (`@ATH@`: the token's hash, `@NOW@`, `@HTU@`: the
//! URL called); any other proof line is sent as it is; an empty one sends no `DPoP` header.
//!
//! Checked: never a 5xx; the answer is 200, or a refusal: 400, 401 (with a challenge) or 403.
#![no_main]

use attesto::dpop::access_token_hash;
use attesto_fuzz::{ISSUER, fields, jkt, keys, proof_jwk, send, server, sign_jws, substitute, unix_now};
use axum::body::Body;
use http::{HeaderValue, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let server = server();
    let (path, htu) = if flags & 1 == 0 {
        ("/mcp", "https://mcp.example.com/mcp".to_owned())
    } else {
        let path = <attesto_fuzz::FuzzHost as attesto::Provider>::PATHS.userinfo.expect("userinfo is on");
        (path, format!("{ISSUER}{path}"))
    };
    let method = if flags & 0b10 == 0 { "GET" } else { "POST" };
    let (authorization, proof) = if flags & 0b100 == 0 {
        let [authorization, proof] = fields::<2>(rest);
        (authorization.to_vec(), proof.to_vec())
    } else {
        let [scheme, claims, proof] = fields::<3>(rest);
        let (now, exp, proof_key) = (unix_now(), unix_now() + 300, &keys().p256);
        let key = &keys().signing;
        let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#, key.kid());
        let claims =
            substitute(claims, &[("@NOW@", &now.to_string()), ("@EXP@", &exp.to_string()), ("@JKT@", &jkt(proof_key))]);
        let token = sign_jws(key, header.as_bytes(), &claims);
        let mut authorization = scheme.to_vec();
        authorization.push(b' ');
        authorization.extend_from_slice(token.as_bytes());
        let proof = match proof.strip_prefix(b"!") {
            Some(proof_claims) => {
                let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#, proof_jwk(proof_key));
                let proof_claims = substitute(
                    proof_claims,
                    &[("@ATH@", &access_token_hash(&token)), ("@NOW@", &now.to_string()), ("@HTU@", &htu)],
                );
                sign_jws(proof_key, header.as_bytes(), &proof_claims).into_bytes()
            }
            None => proof.to_vec(),
        };
        (authorization, proof)
    };
    let mut request = Request::builder().method(method).uri(path);
    if let Ok(value) = HeaderValue::from_bytes(&authorization) {
        request = request.header(header::AUTHORIZATION, value);
    }
    if !proof.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(&proof)
    {
        request = request.header("DPoP", value);
    }
    let reply = send(&server.router, request.body(Body::empty()).expect("a request"));
    match reply.status {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED => {
            assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE), "a 401 without a challenge");
        }
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {}
        other => panic!("unexpected status {other}: {}", String::from_utf8_lossy(&reply.body)),
    }
});
