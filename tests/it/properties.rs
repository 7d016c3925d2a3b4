//! Property tests of the parsers that read untrusted input, the same ones `fuzz/` fuzzes: form
//! bodies, redirect URIs, access tokens, DPoP proofs, and, through the real router, authorization
//! requests (and their `claims` parameter), registration bodies, bearer tokens with DPoP headers, and (feature `fetch`) client ID
//! metadata documents.
//!
//! Round trips where there is one (a form encoded by `form_urlencoded` parses back to its pairs, a
//! signed token verifies back to its claims, an accepted redirect URI survives parse and
//! serialise); elsewhere a concrete verdict for every input: the refusal the endpoint documents,
//! and never a panic or a 5xx. The crate-private parsers are reached through
//! `attesto_runtime::__fuzz`, the fuzz targets' entry points. Cases that go through HTTP are fewer
//! (each is a request), so that the whole file runs in seconds.

use std::collections::{BTreeMap, HashSet};

use crate::common;
use crate::common::dpop_key;
use crate::common::{
    ISSUER, LOGIN_PAGE, NATIVE_REDIRECT, RESOURCE, TestHost, WEB_REDIRECT, basic, host_without_clients,
    registration_keeps_nothing, session_cookie,
};
use attesto::dpop::{self, ProofError, ProofRequirements};
use attesto::{Attesto, ErrorCode, Key, KeySet};
use attesto_runtime::__fuzz::{
    check_redirect_uri, decode_form_component, display_user_code, generate_user_code, normalize_user_code,
    parse_access_token, parse_form, parse_form_keeping_repeats, verify_access_token,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

/// The fixed clock of the direct parser properties.
const NOW: u64 = 1_700_000_000;
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
/// Cases per property that sends requests through the router.
const HTTP_CASES: u32 = 48;

type Reply = (StatusCode, HeaderMap, Vec<u8>);

fn http_config() -> ProptestConfig {
    ProptestConfig::with_cases(HTTP_CASES)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

/// `router`'s answer to `request`, which must not be a 5xx: whatever a client sends is answered as
/// the client's error, never as the server's.
fn send(rt: &tokio::runtime::Runtime, router: &Router, request: Request<Body>) -> Reply {
    let what = format!("{} {}", request.method(), request.uri());
    let reply = rt.block_on(common::send(router, request));
    assert!(!reply.0.is_server_error(), "{what} answered {}: {}", reply.0, String::from_utf8_lossy(&reply.2));
    reply
}

/// Text of every kind: ASCII, the characters forms and URLs treat specially, and any `char`.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~-]{0,12}",
        "[ &=+%#?/:;@!$'()*,\\[\\]\"<>\\\\^`{|}]{0,8}",
        any::<String>(),
        "[a-z]{1,4}(%[0-9A-Fa-f]{2}|%|\\+){1,3}",
    ]
}

// ---------------------------------------------------------------------------------------------
// forms
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_form_encoded_by_form_urlencoded_parses_back_to_its_pairs(
        pairs in prop::collection::btree_map(text(), text(), 0..16),
    ) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        // RFC 6749 §3.2: a parameter without a value is omitted.
        let expected: Vec<(String, String)> = pairs.into_iter().filter(|(_, value)| !value.is_empty()).collect();
        prop_assert_eq!(&parse_form(body.as_bytes(), &[]).expect("a serialised form parses"), &expected);
        let (kept, repeated) = parse_form_keeping_repeats(body.as_bytes(), &[]).expect("a serialised form parses");
        prop_assert_eq!(kept, expected);
        prop_assert_eq!(repeated, None);
    }

    #[test]
    fn a_repeated_parameter_is_refused_unless_it_may_repeat(
        pairs in prop::collection::vec((prop::sample::select(vec!["a", "b", "scope", "resource"]), "[a-z]{1,3}"), 0..8),
    ) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let mut seen = HashSet::new();
        let repeats = pairs.iter().any(|(name, _)| !seen.insert(*name) && *name != "resource");
        let strict = parse_form(body.as_bytes(), &["resource"]);
        let (kept, repeated) = parse_form_keeping_repeats(body.as_bytes(), &["resource"]).expect("a valid form");
        prop_assert_eq!(strict.is_err(), repeats);
        prop_assert_eq!(repeated.is_some(), repeats);
        let pairs: Vec<(String, String)> = pairs.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
        prop_assert_eq!(&kept, &pairs);
        if let Ok(parsed) = strict {
            prop_assert_eq!(parsed, pairs);
        }
    }

    #[test]
    fn any_form_body_is_parsed_or_refused_as_invalid_request(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let strict = parse_form(&body, &["resource"]);
        let keeping = parse_form_keeping_repeats(&body, &["resource"]);
        match (&strict, &keeping) {
            (Ok(pairs), Ok((kept, None))) => prop_assert_eq!(pairs, kept),
            (Err(_), Ok((_, Some(_))) | Err(_)) => {}
            _ => prop_assert!(false, "the parsers disagree: {strict:?} / {keeping:?}"),
        }
        for error in [strict.err(), keeping.err()].into_iter().flatten() {
            prop_assert_eq!(error.code(), ErrorCode::InvalidRequest);
            prop_assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn a_form_component_decodes_to_what_was_encoded(value in any::<String>()) {
        let encoded: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        prop_assert_eq!(decode_form_component(encoded.as_bytes()).expect("an encoded component decodes"), value);
    }
}

// ---------------------------------------------------------------------------------------------
// redirect URIs
// ---------------------------------------------------------------------------------------------

/// `check_redirect_uri`'s rules, narrowest first: a confidential web client, a public web client,
/// a native app.
const WEB: u8 = 0;
const NATIVE: u8 = 2;

/// Redirect URIs as clients write them, good and bad: schemes, loopback and other hosts, ports,
/// user information, paths, queries, fragments.
fn redirect_uri() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "com.example.app:",
        "com.example.app://",
        "javascript:",
        "HTTPS://",
        "https:",
    ]);
    let host = prop::sample::select(vec![
        "client.example.com",
        "127.0.0.1",
        "[::1]",
        "localhost",
        "LOCALHOST",
        "127.0.0.1.evil.example",
        "user@client.example.com",
        "xn--bcher-kva.example",
        "",
    ]);
    let port = prop_oneof![Just(String::new()), (0u32..70_000).prop_map(|p| format!(":{p}")), Just(":".to_owned())];
    let path = "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,8}){0,3}";
    let query = prop_oneof![Just(String::new()), "\\?[a-z0-9=&%+]{0,10}"];
    let fragment = prop_oneof![3 => Just(""), 1 => Just("#f")];
    (scheme, host, port, path, query, fragment)
        .prop_map(|(scheme, host, port, path, query, fragment)| format!("{scheme}{host}{port}{path}{query}{fragment}"))
}

proptest! {
    #[test]
    fn an_accepted_redirect_uri_survives_parse_and_serialise(uri in redirect_uri(), kind in 0u8..3) {
        let Ok(()) = check_redirect_uri(&uri, kind) else {
            let error = check_redirect_uri(&uri, kind).expect_err("refused");
            prop_assert_eq!(error.code(), ErrorCode::InvalidRedirectUri);
            return Ok(());
        };
        prop_assert!(!uri.contains('#') && !uri.chars().any(char::is_whitespace), "{}", uri);
        if kind == WEB {
            prop_assert!(uri.starts_with("https://"), "{}", uri);
        }
        // The rules only widen from web to public web to native.
        for wider in kind..=NATIVE {
            prop_assert!(check_redirect_uri(&uri, wider).is_ok(), "{} accepted for {}, not {}", uri, kind, wider);
        }
        let url = url::Url::parse(&uri).expect("an accepted redirect URI is a URL");
        prop_assert!(url.username().is_empty() && url.password().is_none(), "{}", uri);
        let serialised = url.as_str();
        let again = url::Url::parse(serialised).expect("a serialised URL parses");
        prop_assert_eq!(again.as_str(), serialised);
        prop_assert!(check_redirect_uri(serialised, kind).is_ok(), "{} accepted, its serialisation {} not", uri, serialised);
    }

    #[test]
    fn an_https_redirect_uri_is_accepted_for_every_client(
        // A label that starts with `xn--` claims to be punycode (RFC 5891 §4.4), which a random
        // one is not: the URL is invalid and refused, rightly.
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){1,3}"
            .prop_filter("not an IDNA A-label", |host| !host.split('.').any(|label| label.starts_with("xn--"))),
        path in "(/[a-zA-Z0-9._~-]{1,8}){0,3}",
        query in prop_oneof![Just(String::new()), "\\?[a-z]{1,5}=[a-z0-9]{0,5}"],
    ) {
        let uri = format!("https://{host}{path}{query}");
        for kind in WEB..=NATIVE {
            prop_assert!(check_redirect_uri(&uri, kind).is_ok(), "{} refused for {}", uri, kind);
        }
    }

    #[test]
    fn any_text_is_an_accepted_redirect_uri_or_invalid_redirect_uri(uri in any::<String>(), kind in 0u8..3) {
        if let Err(error) = check_redirect_uri(&uri, kind) {
            prop_assert_eq!(error.code(), ErrorCode::InvalidRedirectUri);
        } else {
            prop_assert!(url::Url::parse(&uri).is_ok(), "{:?}", uri);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// access tokens
// ---------------------------------------------------------------------------------------------

/// A compact JWS of `header` and `claims` signed with `key`.
fn sign(key: &Key, header: &Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(input.as_bytes()).expect("signing");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[test]
fn a_signed_access_token_verifies_back_to_its_claims() {
    let key = Key::generate(attesto::Algorithm::EdDSA).expect("a key");
    let keys = KeySet::new(key.clone()).expect("a key set");
    let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": key.kid() });
    let claims = (
        any::<String>(),
        prop::collection::vec(any::<String>(), 1..4),
        NOW + 1..u64::MAX,
        any::<String>(),
        any::<String>(),
        "[a-z:]{0,8}( [a-z:]{1,8}){0,3}",
        prop::option::of("[A-Za-z0-9_-]{43}"),
    );
    TestRunner::default()
        .run(&claims, |(sub, aud, exp, jti, client_id, scope, jkt)| {
            let mut claims = json!({
                "iss": ISSUER, "sub": sub, "aud": aud, "exp": exp, "iat": NOW, "jti": jti,
                "client_id": client_id, "scope": scope,
            });
            if let Some(jkt) = &jkt {
                claims["cnf"] = json!({ "jkt": jkt });
            }
            let token = sign(&key, &header, &claims);
            prop_assert_eq!(parse_access_token(&token), Ok(Some(key.kid().to_owned())));
            let view = verify_access_token(&keys, &token, ISSUER, NOW).expect("a signed token verifies");
            prop_assert_eq!(
                (view.sub, view.aud, view.exp, view.jti, view.client_id, view.scope, view.jkt),
                (sub, aud, exp, jti, client_id, scope, jkt)
            );
            // Another issuer, a later clock, or one signature bit flipped: refused.
            prop_assert_eq!(
                verify_access_token(&keys, &token, "https://other.example", NOW),
                Err("WrongIssuer".to_owned())
            );
            prop_assert_eq!(verify_access_token(&keys, &token, ISSUER, exp), Err("Expired".to_owned()));
            let (input, signature) = token.rsplit_once('.').expect("three parts");
            let mut signature = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
            signature[0] ^= 1;
            let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
            prop_assert_eq!(verify_access_token(&keys, &tampered, ISSUER, NOW), Err("BadSignature".to_owned()));
            Ok(())
        })
        .expect("the property holds");
}

proptest! {
    #[test]
    fn any_presented_token_is_refused_with_a_reason(token in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,40}"]) {
        let keys = KeySet::new(Key::generate(attesto::Algorithm::EdDSA).expect("a key")).expect("a key set");
        let reasons = ["Malformed", "UnknownKey", "WrongAlgorithm", "WrongType", "BadSignature", "WrongIssuer", "Expired"];
        let refused = verify_access_token(&keys, &token, ISSUER, NOW).expect_err("an unsigned token is refused");
        prop_assert!(reasons.contains(&refused.as_str()), "{}", refused);
        if let Err(reason) = parse_access_token(&token) {
            prop_assert_eq!(reason, refused);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DPoP proofs
// ---------------------------------------------------------------------------------------------

#[test]
fn a_dpop_proof_verifies_within_its_iat_window_only() {
    let key = dpop_key::p256();
    let req = ProofRequirements::new("POST", TOKEN_URL, NOW);
    let window = i64::try_from(dpop::DEFAULT_MAX_AGE.as_secs()).expect("a minute");
    let strategy = (-3 * window..3 * window, "[A-Za-z0-9_-]{1,256}", prop::option::of("[!-~]{0,256}"));
    TestRunner::new(ProptestConfig::with_cases(64))
        .run(&strategy, |(offset, jti, nonce)| {
            let iat = NOW.checked_add_signed(offset).expect("near NOW");
            let mut claims = json!({ "jti": jti, "htm": "POST", "htu": TOKEN_URL, "iat": iat });
            if let Some(nonce) = &nonce {
                claims["nonce"] = json!(nonce);
            }
            let verdict = dpop::verify_proof(&key.sign(&claims), &req);
            match offset {
                o if o < -window => prop_assert_eq!(verdict, Err(ProofError::IatTooOld)),
                o if o > window => prop_assert_eq!(verdict, Err(ProofError::IatInFuture)),
                _ => {
                    let proof = verdict.expect("a proof within the window verifies");
                    prop_assert_eq!((proof.jti, proof.iat, proof.nonce), (jti, iat, nonce));
                    prop_assert_eq!(proof.jkt, key.jkt.clone());
                }
            }
            Ok(())
        })
        .expect("the property holds");
}

proptest! {
    #[test]
    fn any_dpop_header_is_refused_as_invalid_dpop_proof(
        proof in prop_oneof![any::<String>(), "[A-Za-z0-9_=+/-]{0,60}\\.[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,60}"],
    ) {
        let req = ProofRequirements::new("POST", TOKEN_URL, NOW).with_access_token("token");
        let error = dpop::verify_proof(&proof, &req).expect_err("an unsigned proof is refused");
        let error = attesto_runtime::__fuzz::proof_error(error);
        prop_assert_eq!(error.code(), ErrorCode::InvalidDpopProof);
        prop_assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

// ---------------------------------------------------------------------------------------------
// through the router: the authorization endpoint
// ---------------------------------------------------------------------------------------------

/// Authorization request parameters: the names the endpoint reads, with plausible and arbitrary
/// values, repeats included.
fn authorization_params() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "response_mode",
        "resource",
        "request_uri",
        "request",
        "login_hint",
        "dpop_jkt",
        "attesto_resume",
        "attesto_consent",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "code",
            "token",
            "web",
            "first-party",
            "native",
            "blocked",
            "spa",
            "hostile-name",
            "unknown",
            WEB_REDIRECT,
            NATIVE_REDIRECT,
            "http://127.0.0.1:4242/callback",
            "http://[::1]:1/callback",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "S256",
            "plain",
            "openid profile read",
            "none",
            "login consent",
            "0",
            "-1",
            "form_post",
            "query",
            RESOURCE,
            "urn:ietf:params:oauth:request_uri:x",
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    // A valid request (of a client granted by policy, or one asked for consent) with parameters
    // dropped, added or repeated.
    let client = prop::sample::select(vec!["first-party", "web"]);
    let drop = prop::collection::vec(prop::bool::weighted(0.15), 5);
    let extra = prop::collection::vec((name.prop_map(str::to_owned), value), 0..4);
    (client, drop, extra).prop_map(|(client, drop, extra)| {
        let base = [
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ];
        base.into_iter()
            .zip(drop)
            .filter(|(_, dropped)| !dropped)
            .map(|((name, value), _)| (name.to_owned(), value.to_owned()))
            .chain(extra)
            .collect()
    })
}

/// Whether `location` is where the test host may send a browser: its login page, or a redirect
/// URI of one of its clients (with any port on a loopback IP literal).
fn allowed_location(location: &str) -> bool {
    let registered: Vec<String> = common::clients().values().flat_map(|c| c.redirect_uris.clone()).collect();
    location.starts_with(&format!("{LOGIN_PAGE}?"))
        || registered
            .iter()
            .any(|uri| location.starts_with(&format!("{uri}?")) || location.starts_with(&format!("{uri}&")))
        || ["http://127.0.0.1:", "http://[::1]:"].iter().any(|loopback| location.starts_with(loopback))
}

#[test]
fn an_authorization_request_never_answers_5xx_and_redirects_only_to_registered_uris() {
    let rt = runtime();
    let router = rt.block_on(async { common::test_provider().router() });
    let strategy = (authorization_params(), any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..64));
    TestRunner::new(http_config())
        .run(&strategy, |(params, post, signed_in, raw)| {
            let mut query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
            if raw.first().is_some_and(|b| b % 4 == 0) {
                // Bytes as they come, as a form body: invalid UTF-8 and percent-encodings too.
                query = String::from_utf8_lossy(&raw).into_owned();
            }
            let authorize = TestHost::PATHS.authorize;
            let request = if post {
                Request::post(authorize)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "text/html")
            } else {
                // What a URI may carry as it is; `%` too, so that malformed encodings get through.
                let encoded: String = query
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                Request::get(format!("{authorize}?{encoded}")).header(header::ACCEPT, "text/html")
            };
            let request = if signed_in { request.header(header::COOKIE, session_cookie("alice")) } else { request };
            let body = if post { Body::from(query) } else { Body::empty() };
            let (status, headers, body) = send(&rt, &router, request.body(body).expect("a request"));
            prop_assert!(
                [
                    StatusCode::OK,
                    StatusCode::SEE_OTHER,
                    StatusCode::BAD_REQUEST,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::PAYLOAD_TOO_LARGE
                ]
                .contains(&status),
                "{}: {}",
                status,
                String::from_utf8_lossy(&body)
            );
            if status.is_redirection() {
                let location = headers[header::LOCATION].to_str().expect("an ASCII Location");
                prop_assert!(allowed_location(location), "redirected to {}", location);
            }
            Ok(())
        })
        .expect("the property holds");
}

#[test]
fn a_native_loopback_redirect_uri_matches_on_any_port_and_nothing_else() {
    let rt = runtime();
    let router = rt.block_on(async { common::test_provider().router() });
    let strategy = (
        1u16..,
        prop::sample::select(vec!["127.0.0.1", "[::1]"]),
        prop::sample::select(vec!["/callback", "/other", "/callback/"]),
    );
    let request = |client: &str, redirect_uri: &str| {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect_uri),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
                ("scope", "openid"),
                ("state", "xyz"),
            ])
            .finish();
        Request::get(format!("{}?{query}", TestHost::PATHS.authorize))
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, session_cookie("alice"))
            .body(Body::empty())
            .expect("a request")
    };
    TestRunner::new(http_config())
        .run(&strategy, |(port, host, path)| {
            let redirect_uri = format!("http://{host}:{port}{path}");
            // `native` registered `http://127.0.0.1/callback` and `http://[::1]/callback`.
            let (status, headers, body) = send(&rt, &router, request("native", &redirect_uri));
            if path == "/callback" {
                prop_assert_ne!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "{} refused: {}",
                    redirect_uri,
                    String::from_utf8_lossy(&body)
                );
                if status == StatusCode::SEE_OTHER {
                    let location = headers[header::LOCATION].to_str().expect("an ASCII Location");
                    prop_assert!(location.starts_with(&format!("{redirect_uri}?")), "{}", location);
                }
            } else {
                prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{} accepted", redirect_uri);
            }
            // A confidential client gets the registered URI only.
            let (status, _, _) = send(&rt, &router, request("loopback-confidential", &redirect_uri));
            prop_assert_eq!(status, StatusCode::BAD_REQUEST, "{} accepted for a confidential client", redirect_uri);
            Ok(())
        })
        .expect("the property holds");
}

// ---------------------------------------------------------------------------------------------
// through the router: registration
// ---------------------------------------------------------------------------------------------

/// A host with open registration that keeps nothing.
#[derive(Clone)]
#[attesto::provider(registration)]
struct RegistrationHost;
host_without_clients!(RegistrationHost);
/// A `claims` value (OIDC Core §5.5): mostly the parameter's shape with members and claim
/// requests of any JSON type, sometimes any JSON or any text.
fn claims_parameter() -> impl Strategy<Value = String> {
    let member = prop::sample::select(vec!["userinfo", "id_token", "other"]).prop_map(str::to_owned);
    let claim_name =
        prop_oneof![prop::sample::select(vec!["sub", "acr", "email", "name", ""]).prop_map(str::to_owned), text()];
    let claim_request = prop_oneof![
        Just(Value::Null),
        (json_value(), json_value(), json_value()).prop_map(|(essential, value, values)| {
            json!({"essential": essential, "value": value, "values": values})
        }),
        json_value(),
    ];
    let claims = prop::collection::btree_map(claim_name, claim_request, 0..4)
        .prop_map(|claims| Value::Object(claims.into_iter().collect()));
    let member_value = prop_oneof![3 => claims, 1 => json_value()];
    prop_oneof![
        4 => prop::collection::btree_map(member, member_value, 0..3)
            .prop_map(|members| Value::Object(members.into_iter().collect()).to_string()),
        1 => json_value().prop_map(|value| value.to_string()),
        1 => text(),
    ]
}

/// Whatever `claims` a client sends, the answer goes back to its redirect URI: a code, or the
/// refusal of the request (`invalid_request`) or of the user (`login_required` for a `sub` that
/// is not alice's, `access_denied` for an essential `acr` not met); never a page, never a 5xx.
#[test]
fn any_claims_parameter_gets_a_code_or_a_refusal_at_the_redirect_uri() {
    let rt = runtime();
    let router = rt.block_on(async { common::test_provider().router() });
    TestRunner::new(http_config())
        .run(&claims_parameter(), |claims| {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("response_type", "code"),
                    ("client_id", "first-party"),
                    ("redirect_uri", WEB_REDIRECT),
                    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                    ("code_challenge_method", "S256"),
                    ("scope", "openid"),
                    ("claims", claims.as_str()),
                ])
                .finish();
            let request = Request::get(format!("{}?{query}", TestHost::PATHS.authorize))
                .header(header::ACCEPT, "text/html")
                .header(header::COOKIE, session_cookie("alice"))
                .body(Body::empty())
                .expect("a request");
            let (status, headers, body) = send(&rt, &router, request);
            prop_assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
            let location = headers[header::LOCATION].to_str().expect("an ASCII Location");
            let url = url::Url::parse(location).expect("an absolute Location");
            prop_assert!(location.starts_with(&format!("{WEB_REDIRECT}?")), "redirected to {}", location);
            let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            match (params.get("code"), params.get("error").map(String::as_str)) {
                (Some(_), None) => {}
                (None, Some("invalid_request" | "login_required" | "access_denied")) => {}
                _ => prop_assert!(false, "neither a code nor a refusal: {:?}", params),
            }
            Ok(())
        })
        .expect("the property holds");
}

registration_keeps_nothing!(RegistrationHost);

/// Any JSON value, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Values that registration metadata members take, or nearly.
fn metadata_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::collection::vec(redirect_uri().prop_map(Value::from), 0..3).prop_map(Value::Array),
        2 => prop::sample::select(vec![
            json!(["authorization_code"]), json!(["authorization_code", "refresh_token"]), json!(["client_credentials"]),
            json!(["code"]), json!([]), json!("none"), json!("client_secret_post"), json!("native"), json!("web"),
            json!("openid read"), json!(true), json!("https://app.example"), json!(["ops@app.example"]),
        ]),
        1 => json_value(),
    ]
}

fn metadata() -> impl Strategy<Value = Map<String, Value>> {
    let name = prop::sample::select(vec![
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "application_type",
        "scope",
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "contacts",
        "software_id",
        "software_version",
        "dpop_bound_access_tokens",
        "jwks",
        "client_id",
        "client_secret",
    ]);
    // A valid registration with members added or replaced: most cases stay near valid, so that
    // both verdicts are reached.
    let base = prop::sample::select(vec![
        json!({ "redirect_uris": ["https://app.example/cb"] }),
        json!({ "redirect_uris": ["http://127.0.0.1:33418/cb"], "token_endpoint_auth_method": "none" }),
        json!({ "application_type": "native", "redirect_uris": ["com.example.app:/cb"], "token_endpoint_auth_method": "none" }),
    ]);
    let changes = prop::collection::btree_map(name.prop_map(str::to_owned), metadata_value(), 0..4);
    (base, changes).prop_map(|(base, changes): (Value, BTreeMap<String, Value>)| {
        let mut metadata = base.as_object().cloned().unwrap_or_default();
        metadata.extend(changes);
        metadata
    })
}

#[test]
fn a_registration_body_never_answers_5xx_and_registers_only_valid_redirect_uris() {
    let rt = runtime();
    let router = rt.block_on(async {
        Attesto::builder(RegistrationHost)
            .issuer(ISSUER)
            .expect("valid issuer")
            .signing_key(Key::generate(attesto::Algorithm::EdDSA).expect("key"))
            .scopes_supported(["openid", "read", "write"])
            .build()
            .expect("provider builds")
            .router()
    });
    let path = RegistrationHost::PATHS.registration.expect("registration is on");
    let strategy = prop_oneof![
        4 => metadata().prop_map(|m| serde_json::to_vec(&m).expect("JSON")),
        1 => prop::collection::vec(any::<u8>(), 0..128),
    ];
    let created = std::cell::Cell::new(0);
    TestRunner::new(http_config())
        .run(&strategy, |body| {
            let request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
            let (status, _, body) = send(&rt, &router, request.body(Body::from(body)).expect("a request"));
            let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
            match status {
                StatusCode::CREATED => {
                    let kind =
                        match (answer["application_type"].as_str(), answer["token_endpoint_auth_method"].as_str()) {
                            (Some("native"), _) => 2,
                            (_, Some("none")) => 1,
                            _ => 0,
                        };
                    for uri in answer["redirect_uris"].as_array().into_iter().flatten() {
                        let uri = uri.as_str().expect("a string");
                        prop_assert!(check_redirect_uri(uri, kind).is_ok(), "registered {}", uri);
                    }
                    prop_assert!(answer["client_id"].as_str().is_some_and(|id| !id.is_empty()));
                    created.set(created.get() + 1);
                }
                StatusCode::BAD_REQUEST => {
                    let error = answer["error"].as_str().unwrap_or_default();
                    prop_assert!(["invalid_client_metadata", "invalid_redirect_uri"].contains(&error), "{}", answer);
                }
                other => prop_assert!(false, "{}: {}", other, answer),
            }
            Ok(())
        })
        .expect("the property holds");
    assert!(created.get() > 0, "no case registered a client: the strategy misses valid metadata");
}

// ---------------------------------------------------------------------------------------------
// through the router: bearer tokens and DPoP headers
// ---------------------------------------------------------------------------------------------

/// The test provider with `/mcp` behind its guard.
fn guarded() -> (Attesto<TestHost>, Router) {
    let auth = common::test_provider();
    let guard = auth.guard(RESOURCE).expect("a valid resource");
    async fn who(who: attesto::Authenticated) -> String {
        who.subject
    }
    let mcp = Router::new().route("/mcp", axum::routing::get(who)).with_state(guard);
    let router = Router::new().merge(mcp).merge(auth.router());
    (auth, router)
}

fn with_headers(uri: &str, authorization: &str, proof: Option<&str>) -> Option<Request<Body>> {
    let mut request = Request::get(uri);
    request = request.header(header::AUTHORIZATION, http::HeaderValue::from_str(authorization).ok()?);
    if let Some(proof) = proof {
        request = request.header("DPoP", http::HeaderValue::from_str(proof).ok()?);
    }
    request.body(Body::empty()).ok()
}

#[test]
fn a_bearer_token_or_dpop_header_never_answers_5xx() {
    let rt = runtime();
    let (auth, router) = rt.block_on(async { guarded() });
    let userinfo = TestHost::PATHS.userinfo.expect("userinfo is on");
    let scheme = prop::sample::select(vec!["Bearer", "DPoP", "bearer", "Basic", ""]);
    // Tokens the provider signed, with arbitrary claims over a good token's, and unsigned ones.
    let claims = prop::collection::btree_map(
        prop::sample::select(vec![
            "aud",
            "scope",
            "cnf",
            "client_id",
            "exp",
            "sub",
            "iss",
            "jti",
            "grant_id",
            "auth_time",
        ])
        .prop_map(str::to_owned),
        json_value(),
        0..3,
    );
    let token = prop_oneof![
        claims.prop_map(|claims| (true, Value::Object(claims.into_iter().collect()).to_string())),
        text().prop_map(|token| (false, token)),
    ];
    let proof =
        prop::option::of(prop_oneof![text(), "[A-Za-z0-9_-]{1,30}\\.[A-Za-z0-9_-]{1,30}\\.[A-Za-z0-9_-]{1,30}"]);
    let strategy = (scheme, token, proof, any::<bool>());
    TestRunner::new(http_config())
        .run(&strategy, |(scheme, (signed, token), proof, at_userinfo)| {
            let token = if signed {
                let claims: Value = serde_json::from_str(&token).expect("JSON");
                common::resource::forge(&auth, &claims)
            } else {
                token
            };
            let uri = if at_userinfo { userinfo } else { "/mcp" };
            let Some(request) = with_headers(uri, &format!("{scheme} {token}"), proof.as_deref()) else {
                return Ok(());
            };
            let (status, headers, body) = send(&rt, &router, request);
            match status {
                StatusCode::OK => prop_assert!(signed, "an unsigned token was accepted: {}", token),
                StatusCode::UNAUTHORIZED => prop_assert!(headers.contains_key(header::WWW_AUTHENTICATE)),
                StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN => {}
                other => prop_assert!(false, "{}: {}", other, String::from_utf8_lossy(&body)),
            }
            Ok(())
        })
        .expect("the property holds");
}

#[test]
fn a_dpop_header_at_the_token_endpoint_never_answers_5xx() {
    let rt = runtime();
    let router = rt.block_on(async { common::test_provider().router() });
    let key = dpop_key::p256();
    let proof = prop_oneof![
        text(),
        // Signed proofs with arbitrary claims over a good proof's.
        prop::collection::btree_map(
            prop::sample::select(vec!["htm", "htu", "iat", "jti", "nonce", "ath"]).prop_map(str::to_owned),
            json_value(),
            0..3,
        )
        .prop_map(move |claims| {
            let mut proof = dpop_key::claims("POST", TOKEN_URL);
            for (name, value) in claims {
                proof[name] = value;
            }
            key.sign(&proof)
        }),
    ];
    TestRunner::new(http_config())
        .run(&proof, |proof| {
            let Ok(value) = http::HeaderValue::from_str(&proof) else {
                return Ok(());
            };
            let request = Request::post(TestHost::PATHS.token)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, basic("service", common::SECRET))
                .header("DPoP", value)
                .body(Body::from("grant_type=client_credentials&scope=read"))
                .expect("a request");
            let (status, _, body) = send(&rt, &router, request);
            let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
            match status {
                StatusCode::OK => prop_assert_eq!(&answer["token_type"], "DPoP"),
                StatusCode::BAD_REQUEST => prop_assert_eq!(&answer["error"], "invalid_dpop_proof", "{}", answer),
                other => prop_assert!(false, "{}: {}", other, answer),
            }
            Ok(())
        })
        .expect("the property holds");
}

// ---------------------------------------------------------------------------------------------
// through the router: client ID metadata documents
// ---------------------------------------------------------------------------------------------

/// The absolute destinations an HTML page offers the browser (link `href`s, form `action`s), HTML
/// escapes undone; relative ones (attesto's own endpoints) are left out.
#[cfg(feature = "fetch")]
fn page_destinations(page: &str) -> Vec<String> {
    let mut destinations = Vec::new();
    for attribute in ["href=\"", "action=\""] {
        for (start, _) in page.match_indices(attribute) {
            let value = &page[start + attribute.len()..];
            let value = value[..value.find('"').unwrap_or(value.len())]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            if !value.is_empty() && !value.starts_with(['/', '#']) {
                destinations.push(value);
            }
        }
    }
    destinations
}

/// Whether `destination` is `registered`, compared as URLs (scheme, host, port, path; the query is
/// the response's), with any port on a loopback IP literal (RFC 8252 §7.3).
#[cfg(feature = "fetch")]
fn same_redirect_uri(destination: &str, registered: &str) -> bool {
    let (Ok(destination), Ok(registered)) = (url::Url::parse(destination), url::Url::parse(registered)) else {
        return false;
    };
    let loopback = match registered.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    destination.scheme() == registered.scheme()
        && destination.host() == registered.host()
        && (loopback || destination.port_or_known_default() == registered.port_or_known_default())
        && destination.path() == registered.path()
}

#[cfg(feature = "fetch")]
mod documents {
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use super::*;

    /// A host that knows no client: every client id is a document URL.
    #[derive(Clone)]
    #[attesto::provider]
    struct DocumentsHost;
    host_without_clients!(DocumentsHost);

    /// Changes to a good document (`client_id` and one `redirect_uris`): members added or
    /// replaced, most cases near valid so that both verdicts are reached; or arbitrary JSON.
    fn document_changes() -> impl Strategy<Value = Option<Map<String, Value>>> {
        let name = prop::sample::select(vec![
            "redirect_uris",
            "grant_types",
            "response_types",
            "token_endpoint_auth_method",
            "application_type",
            "scope",
            "client_name",
            "jwks",
            "dpop_bound_access_tokens",
            "client_secret",
            "client_id",
        ]);
        prop_oneof![
            4 => prop::collection::btree_map(name.prop_map(str::to_owned), metadata_value(), 0..3)
                .prop_map(|map| Some(map.into_iter().collect())),
            1 => Just(None),
        ]
    }

    #[test]
    fn a_client_id_metadata_document_never_answers_5xx() {
        let rt = runtime();
        let served = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::clone(&served);
        let app = Router::new().fallback(move || {
            let body = answer.lock().unwrap_or_else(PoisonError::into_inner).clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        });
        let (origin, router) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let origin = format!("http://{}", listener.local_addr().expect("an address"));
            tokio::spawn(async move { axum::serve(listener, app).await });
            let documents = attesto::ClientMetadataDocuments::new()
                .allow_loopback_for_development(true)
                .timeout(Duration::from_secs(5));
            let router = Attesto::builder(DocumentsHost)
                .issuer(ISSUER)
                .expect("valid issuer")
                .signing_key(Key::generate(attesto::Algorithm::EdDSA).expect("key"))
                .scopes_supported(["openid", "read"])
                .client_metadata_documents(documents)
                .build()
                .expect("provider builds")
                .router();
            (origin, router)
        });
        let (n, accepted) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        TestRunner::new(ProptestConfig::with_cases(32))
            .run(&(document_changes(), json_value()), |(changes, arbitrary)| {
                n.set(n.get() + 1);
                // A new URL each case: good documents are cached by URL.
                let client_id = format!("{origin}/client/{}.json", n.get());
                let document = match changes {
                    Some(changes) => {
                        let mut document =
                            json!({ "client_id": client_id, "redirect_uris": ["https://app.example/cb"] });
                        if let Some(object) = document.as_object_mut() {
                            object.extend(changes);
                        }
                        document
                    }
                    None => arbitrary,
                };
                *served.lock().unwrap_or_else(PoisonError::into_inner) = serde_json::to_vec(&document).expect("JSON");
                let query = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([
                        ("client_id", client_id.as_str()),
                        ("response_type", "code"),
                        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                        ("code_challenge_method", "S256"),
                    ])
                    .finish();
                let request = Request::get(format!("{}?{query}", DocumentsHost::PATHS.authorize))
                    .header(header::ACCEPT, "text/html")
                    .body(Body::empty())
                    .expect("a request");
                let (status, headers, body) = send(&rt, &router, request);
                let listed: Vec<&str> =
                    document["redirect_uris"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let page = String::from_utf8_lossy(&body);
                // The host signs nobody in: `login_required`, redirected or on a page that leaves
                // the redirect to the user, is the answer to a client whose document was accepted.
                if status.is_redirection() || page.contains("login_required") {
                    accepted.set(accepted.get() + 1);
                }
                if status.is_redirection() {
                    let location = headers[header::LOCATION].to_str().expect("an ASCII Location");
                    prop_assert!(
                        listed.iter().any(|uri| same_redirect_uri(location, uri)),
                        "redirected to {} for {}",
                        location,
                        document
                    );
                } else {
                    prop_assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::OK, "{}", status);
                }
                for destination in page_destinations(&page) {
                    prop_assert!(
                        listed.iter().any(|uri| same_redirect_uri(&destination, uri)),
                        "the page offers {} for {}",
                        destination,
                        document
                    );
                }
                Ok(())
            })
            .expect("the property holds");
        assert!(accepted.get() > 0, "no document was accepted: the strategy misses valid documents");
    }
}

proptest! {
    /// Any text typed at the device verification page is either a user code (eight consonants of
    /// RFC 8628 §6.1, upper case) or refused, never a panic; a code reads back whatever its case,
    /// dashes and spaces.
    #[test]
    fn any_typed_text_is_a_user_code_or_nothing(input in any::<String>(), separators in "[- ]{0,3}") {
        if let Some(code) = normalize_user_code(&input) {
            prop_assert_eq!(code.len(), 8);
            prop_assert!(code.bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{}", code);
        }
        let code = generate_user_code();
        let shown = display_user_code(&code);
        let typed = format!("{separators}{}{separators}", shown.to_lowercase().replace('-', &separators));
        prop_assert_eq!(normalize_user_code(&typed), Some(code));
    }
}
