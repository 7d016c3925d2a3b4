//! Writes the seed inputs of every fuzz target into `corpus/<target>/seed-*`: realistic requests,
//! forms, proofs, tokens and documents, each in the input format its target documents, and a few
//! near misses. Signed seeds use the fixture keys and clock of the harness, so they stay valid.
//!
//! `cargo run --example seeds` from `fuzz/`; existing seed files are overwritten, nothing else is
//! touched.

use std::fs;
use std::path::Path;

use attesto::dpop::access_token_hash;
use attesto_fuzz::{
    ACCESS_TOKEN, CHALLENGE, ISSUER, NOW, REGISTERED_ID, RESOURCE, TOKEN_URL, USERINFO_URL, keys, proof_jwk, sign_jws,
};

/// `exp` of the long-lived signed tokens: 2100-01-01.
const FAR_FUTURE: u64 = 4_102_444_800;

fn write(target: &str, seeds: &[(&str, Vec<u8>)]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).expect("a corpus directory");
    for (name, bytes) in seeds {
        fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed file");
    }
}

fn flagged(flags: u8, rest: impl AsRef<[u8]>) -> Vec<u8> {
    let mut input = vec![flags];
    input.extend_from_slice(rest.as_ref());
    input
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn form() {
    let many: Vec<String> = (0..130).map(|i| format!("p{i}=v")).collect();
    write(
        "form",
        &[
            (
                "code",
                query(&[
                    ("grant_type", "authorization_code"),
                    ("code", "SplxlOBeZQQYbYS6WxSbIA"),
                    ("redirect_uri", "https://client.example.com/cb"),
                    ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                ])
                .into_bytes(),
            ),
            (
                "resources",
                query(&[
                    ("grant_type", "client_credentials"),
                    ("scope", "read write"),
                    ("resource", RESOURCE),
                    ("resource", "https://api.example.com"),
                ])
                .into_bytes(),
            ),
            ("repeated", b"grant_type=refresh_token&refresh_token=a&refresh_token=b".to_vec()),
            ("unicode", query(&[("name", "é ü 日本"), ("x", "a+b&c=d%")]).into_bytes()),
            ("empty-values", b"=&&a=&=b&c&d=1".to_vec()),
            ("bad-percent", b"token=%zz&x=%4".to_vec()),
            ("bad-utf8", b"token=%FF%FE&x=%C3%28".to_vec()),
            ("raw-utf8", "scope=caf\u{e9}&x=\u{1f600}".as_bytes().to_vec()),
            ("too-many", many.join("&").into_bytes()),
            ("plus", b"a=+%2B+&b=%20".to_vec()),
        ],
    );
}

/// An authorization request of `client` to `redirect`, with `extra` parameters.
fn with(client: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("scope", "openid profile read"),
        ("state", "af0ifjsldkj"),
    ];
    pairs.extend_from_slice(extra);
    query(&pairs)
}

fn authorize() {
    const SESSION: u8 = 0b10;
    const POST: u8 = 1;
    const JSON: u8 = 0b1000;
    write(
        "authorize",
        &[
            ("consent-page", flagged(SESSION, with("web", "https://client.example.com/cb", &[]))),
            (
                "code",
                flagged(SESSION, with("first-party", "https://client.example.com/cb", &[("nonce", "n-0S6_WzA2Mj")])),
            ),
            ("login", flagged(0, with("web", "https://client.example.com/other?x=1", &[]))),
            ("nobody", flagged(SESSION | 0b100, with("first-party", "https://client.example.com/cb", &[]))),
            ("loopback-port", flagged(SESSION, with("native", "http://127.0.0.1:51234/callback", &[]))),
            ("loopback-v6", flagged(SESSION, with("native", "http://[::1]:8080/callback", &[]))),
            ("private-use", flagged(SESSION, with("native", "com.example.app:/cb", &[]))),
            (
                "loopback-confidential",
                flagged(SESSION, with("loopback-confidential", "http://127.0.0.1:5000/callback", &[])),
            ),
            ("registered", flagged(SESSION, with(REGISTERED_ID, "http://127.0.0.1:8123/cb", &[]))),
            (
                "form-post",
                flagged(
                    SESSION,
                    with("first-party", "https://client.example.com/cb", &[("response_mode", "form_post")]),
                ),
            ),
            ("prompt-none", flagged(0, with("web", "https://client.example.com/cb", &[("prompt", "none")]))),
            (
                "prompt-login",
                flagged(
                    SESSION,
                    with(
                        "first-party",
                        "https://client.example.com/cb",
                        &[("prompt", "login consent"), ("max_age", "0")],
                    ),
                ),
            ),
            ("blocked", flagged(SESSION, with("blocked", "https://client.example.com/cb", &[]))),
            ("hostile", flagged(SESSION, with("hostile-name", "https://client.example.com/cb", &[]))),
            ("service", flagged(SESSION, with("service", "https://client.example.com/cb", &[]))),
            (
                "resources",
                flagged(
                    SESSION,
                    with(
                        "first-party",
                        "https://client.example.com/cb",
                        &[("resource", "https://mcp.example.com/mcp"), ("resource", "https://api.example.com")],
                    ),
                ),
            ),
            (
                "dpop-jkt",
                flagged(
                    SESSION,
                    with(
                        "first-party",
                        "https://client.example.com/cb",
                        &[("dpop_jkt", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")],
                    ),
                ),
            ),
            ("repeated", flagged(SESSION, with("first-party", "https://client.example.com/cb", &[("state", "again")]))),
            (
                "request-object",
                flagged(
                    SESSION,
                    with("web", "https://client.example.com/cb", &[("request", "eyJhbGciOiJub25lIn0.e30.")]),
                ),
            ),
            (
                "par",
                flagged(
                    SESSION,
                    query(&[
                        ("client_id", "web"),
                        ("request_uri", "urn:ietf:params:oauth:request_uri:bwc4JK-ESC0w8acc191e-Y1LTC2"),
                    ]),
                ),
            ),
            ("resume", flagged(SESSION, "attesto_resume=abc")),
            ("post", flagged(POST | SESSION, with("web", "https://client.example.com/cb", &[]))),
            ("post-consent", flagged(POST | SESSION, "attesto_consent=abc&attesto_csrf=def&attesto_decision=allow")),
            ("json-error", flagged(JSON, "client_id=unknown&response_type=code")),
            ("no-redirect", flagged(SESSION, query(&[("client_id", "spa"), ("response_type", "token")]))),
            (
                "raw",
                flagged(
                    SESSION,
                    "client_id=web&redirect_uri=https://client.example.com/cb&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEYtLk4Ew&code_challenge_method=S256&scope=openid%20read",
                ),
            ),
        ],
    );
}

fn dpop() {
    let p256 = &keys().p256;
    let ed = &keys().ed25519;
    let claims = |htm: &str, htu: &str, extra: &str| {
        format!(r#"{{"jti":"e1j3V_bKic8-LAEB","htm":"{htm}","htu":"{htu}","iat":{NOW}{extra}}}"#)
    };
    let proof = |key: &attesto::Key, alg: &str, claims: &str| {
        let header = format!(r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{}}}"#, proof_jwk(key));
        sign_jws(key, header.as_bytes(), claims.as_bytes())
    };
    let ath = format!(r#","ath":"{}""#, access_token_hash(ACCESS_TOKEN));
    // Flags: bits 0-1 method (0 POST, 1 GET), bit 2 userinfo, bit 3 with the access token,
    // bit 5 signed mode, bit 6 the Ed25519 key in signed mode.
    const GET: u8 = 1;
    const USERINFO: u8 = 0b100;
    const TOKEN: u8 = 0b1000;
    const SIGNED: u8 = 0b10_0000;
    const ED: u8 = 0b100_0000;
    let signed_header = |alg: &str| format!(r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":@JWK@}}"#);
    write(
        "dpop",
        &[
            ("es256-token", flagged(0, proof(p256, "ES256", &claims("POST", TOKEN_URL, "")))),
            (
                "eddsa-token",
                flagged(0, proof(ed, "EdDSA", &claims("POST", TOKEN_URL, r#","nonce":"eyJ7S_zG.eyJH0-Z.HX4w-7v""#))),
            ),
            (
                "es256-userinfo",
                flagged(GET | USERINFO | TOKEN, proof(p256, "ES256", &claims("GET", USERINFO_URL, &ath))),
            ),
            (
                "wrong-htu",
                flagged(0, proof(p256, "ES256", &claims("POST", "https://auth.example.com/oauth/token?x=1#f", ""))),
            ),
            ("not-a-jws", flagged(0, "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30")),
            ("alg-none", flagged(0, "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ.eyJqdGkiOiJ4In0.")),
            ("signed-es256", flagged(SIGNED, format!("{}\n{}", signed_header("ES256"), claims("POST", TOKEN_URL, "")))),
            (
                "signed-eddsa-ath",
                flagged(
                    SIGNED | ED | GET | USERINFO | TOKEN,
                    format!("{}\n{}", signed_header("EdDSA"), claims("GET", USERINFO_URL, r#","ath":"@ATH@""#)),
                ),
            ),
            (
                "signed-nonce",
                flagged(
                    SIGNED,
                    format!(
                        "{}\n{}",
                        signed_header("ES256"),
                        r#"{"jti":"j","htm":"POST","htu":"HTTPS://AUTH.example.com:443/oauth/./%74oken","iat":@NOW@,"nonce":"n"}"#
                    ),
                ),
            ),
            (
                "signed-rsa-jwk",
                flagged(
                    SIGNED,
                    format!(
                        "{}\n{}",
                        r#"{"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}}"#,
                        claims("POST", TOKEN_URL, "")
                    ),
                ),
            ),
            (
                "signed-private",
                flagged(
                    SIGNED,
                    format!(
                        "{}\n{}",
                        r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}}"#,
                        claims("POST", TOKEN_URL, "")
                    ),
                ),
            ),
        ],
    );
}

fn token_claims(aud: &str, client_id: &str, scope: &str, exp: &str, extra: &str) -> String {
    format!(
        r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{aud}","exp":{exp},"iat":{NOW},"jti":"dGhlIGp0aQ","client_id":"{client_id}","scope":"{scope}"{extra}}}"#
    )
}

fn signed_token(claims: &str) -> String {
    let key = &keys().signing;
    let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#, key.kid());
    sign_jws(key, header.as_bytes(), claims.as_bytes())
}

fn jwt() {
    let far = FAR_FUTURE.to_string();
    let header = r#"{"alg":"EdDSA","typ":"at+jwt","kid":"@KID@"}"#;
    write(
        "jwt",
        &[
            ("valid", flagged(0, signed_token(&token_claims(RESOURCE, "web", "openid read", &far, "")))),
            ("expired", flagged(0, signed_token(&token_claims(RESOURCE, "web", "read", "1", "")))),
            ("three-dots", flagged(0, "a.b.c.d")),
            ("no-typ", flagged(0, "eyJhbGciOiJFZERTQSJ9.e30.c2ln")),
            (
                "signed",
                flagged(
                    1,
                    format!("{header}\n{}", token_claims(RESOURCE, "web", "read", &far, r#","cnf":{"jkt":"abc"}"#)),
                ),
            ),
            (
                "signed-aud-list",
                flagged(
                    1,
                    format!(
                        "{header}\n{}",
                        r#"{"iss":"https://auth.example.com","sub":"s","aud":["a","b"],"exp":4102444800,"jti":"j","client_id":"c","grant_id":"g"}"#
                    ),
                ),
            ),
            (
                "signed-crit",
                flagged(
                    1,
                    format!(
                        "{}\n{}",
                        r#"{"alg":"EdDSA","typ":"application/at+jwt","kid":"@KID@","crit":["exp"]}"#,
                        token_claims(RESOURCE, "web", "read", &far, "")
                    ),
                ),
            ),
            (
                "signed-es256-header",
                flagged(
                    1,
                    format!(
                        "{}\n{}",
                        r#"{"alg":"ES256","typ":"at+jwt","kid":"@KID@"}"#,
                        token_claims(RESOURCE, "web", "read", &far, "")
                    ),
                ),
            ),
        ],
    );
}

fn guard() {
    let far = FAR_FUTURE.to_string();
    // Flags: bit 0 userinfo, bit 1 POST, bit 2 signed mode.
    const USERINFO: u8 = 1;
    const POST: u8 = 0b10;
    const SIGNED: u8 = 0b100;
    let bearer = |claims: &str| format!("Bearer {}\n", signed_token(claims));
    let dpop_proof = r#"!{"jti":"@NOW@-j","htm":"GET","htu":"@HTU@","iat":@NOW@,"ath":"@ATH@"}"#;
    write(
        "guard",
        &[
            ("bearer-mcp", flagged(0, bearer(&token_claims(RESOURCE, "service", "read", &far, "")))),
            ("bearer-userinfo", flagged(USERINFO, bearer(&token_claims(ISSUER, "web", "openid profile", &far, "")))),
            ("bearer-expired", flagged(0, bearer(&token_claims(RESOURCE, "service", "read", "1", "")))),
            ("no-token", flagged(0, "\n")),
            ("basic", flagged(POST, "Basic d2ViOnNlY3JldA==\n")),
            ("dpop-raw", flagged(0, "DPoP abc\neyJ0eXAiOiJkcG9wK2p3dCJ9.e30.c2ln")),
            (
                "signed-bearer",
                flagged(SIGNED, format!("Bearer\n{}\n", token_claims(RESOURCE, "service", "read write", "@EXP@", ""))),
            ),
            (
                "signed-userinfo",
                flagged(
                    SIGNED | USERINFO,
                    format!(
                        "Bearer\n{}\n",
                        token_claims(ISSUER, "web", "openid email", "@EXP@", r#","auth_time":@NOW@"#)
                    ),
                ),
            ),
            (
                "signed-dpop",
                flagged(
                    SIGNED,
                    format!(
                        "DPoP\n{}\n{dpop_proof}",
                        token_claims(RESOURCE, "service", "read", "@EXP@", r#","cnf":{"jkt":"@JKT@"}"#)
                    ),
                ),
            ),
            (
                "signed-dpop-userinfo",
                flagged(
                    SIGNED | USERINFO,
                    format!(
                        "DPoP\n{}\n{dpop_proof}",
                        token_claims(ISSUER, "web", "openid", "@EXP@", r#","cnf":{"jkt":"@JKT@"},"grant_id":"g1""#)
                    ),
                ),
            ),
            (
                "signed-bound-as-bearer",
                flagged(
                    SIGNED,
                    format!(
                        "Bearer\n{}\n",
                        token_claims(RESOURCE, "service", "read", "@EXP@", r#","cnf":{"jkt":"@JKT@"}"#)
                    ),
                ),
            ),
            (
                "signed-other-audience",
                flagged(
                    SIGNED,
                    format!("bearer\n{}\n", token_claims("https://api.example.com", "gone", "read", "@EXP@", "")),
                ),
            ),
        ],
    );
}

fn registration() {
    const UPDATE: u8 = 1;
    write(
        "registration",
        &[
            ("minimal", flagged(0, r#"{"redirect_uris":["https://app.example/cb"]}"#)),
            (
                "mcp-client",
                flagged(
                    0,
                    r#"{"client_name":"MCP Inspector","redirect_uris":["http://localhost:6274/oauth/callback","http://127.0.0.1:33418/cb"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none","scope":"openid read"}"#,
                ),
            ),
            (
                "native",
                flagged(
                    0,
                    r#"{"application_type":"native","redirect_uris":["com.example.app:/oauth2redirect","http://[::1]/cb"],"token_endpoint_auth_method":"none","dpop_bound_access_tokens":true}"#,
                ),
            ),
            (
                "informational",
                flagged(
                    0,
                    r#"{"redirect_uris":["https://app.example/cb"],"client_uri":"https://app.example","logo_uri":"https://app.example/logo.png","tos_uri":"https://app.example/tos","policy_uri":"https://app.example/privacy","contacts":["ops@app.example"],"software_id":"4NRB1-0XZABZI9E6-5SM3R","software_version":"2.1","unknown":{"x":[1,2,3]}}"#,
                ),
            ),
            (
                "client-credentials",
                flagged(
                    0,
                    r#"{"grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"client_secret_post","scope":"read"}"#,
                ),
            ),
            (
                "bad-redirect",
                flagged(0, r#"{"redirect_uris":["javascript:alert(1)","https://a/#f","http://evil.example/cb"]}"#),
            ),
            ("duplicate-member", flagged(0, r#"{"redirect_uris":["https://a/cb"],"redirect_uris":["https://b/cb"]}"#)),
            ("not-object", flagged(0, "[1,2,3]")),
            ("wrong-content-type", flagged(0b10, "redirect_uris=https://a/cb")),
            (
                "update",
                flagged(
                    UPDATE,
                    r#"{"client_id":"@CLIENT_ID@","redirect_uris":["http://127.0.0.1:7777/cb"],"token_endpoint_auth_method":"none","client_name":"Renamed"}"#,
                ),
            ),
            ("update-wrong-id", flagged(UPDATE, r#"{"client_id":"other","redirect_uris":["https://a/cb"]}"#)),
            (
                "update-secret",
                flagged(
                    UPDATE,
                    r#"{"client_id":"@CLIENT_ID@","client_secret":"guess","redirect_uris":["https://a/cb"]}"#,
                ),
            ),
        ],
    );
}

fn redirect_uri() {
    let uris: &[(&str, u8, &str)] = &[
        ("https", 0, "https://client.example.com/cb"),
        ("https-query", 0, "https://client.example.com/cb?x=1&y=%20"),
        ("https-port", 0, "https://client.example.com:8443/a/../b"),
        ("loopback", 1, "http://127.0.0.1:33418/callback"),
        ("loopback-v6", 1, "http://[::1]/cb"),
        ("localhost", 1, "http://localhost:6274/oauth/callback"),
        ("loopback-web", 0, "http://127.0.0.1/cb"),
        ("private-use", 2, "com.example.app:/oauth2redirect"),
        ("private-use-web", 1, "com.example.app:/cb"),
        ("userinfo", 0, "https://client.example@evil.example/cb"),
        ("fragment", 0, "https://client.example.com/cb#x"),
        ("javascript", 2, "javascript:alert(1)"),
        ("no-slashes", 0, "https:client.example.com/cb"),
        ("idn", 0, "https://b\u{fc}cher.example/cb"),
        ("loopback-tricks", 1, "http://127.0.0.1.evil.example/cb"),
        ("port-zero", 1, "http://localhost:0/cb"),
        ("backslash", 1, "http://127.0.0.1:80\\@evil.example/"),
    ];
    let seeds: Vec<(&str, Vec<u8>)> = uris.iter().map(|(name, kind, uri)| (*name, flagged(*kind, uri))).collect();
    write("redirect_uri", &seeds);
}

fn client_metadata() {
    let doc = |path: &str, cache: &str, extra: &str, document: &str| {
        format!("{path}\n{cache}\n{extra}\n{document}").into_bytes()
    };
    write(
        "client_metadata",
        &[
            (
                "minimal",
                doc("client.json", "", "", r#"{"client_id":"@URL@","redirect_uris":["https://app.example/callback"]}"#),
            ),
            (
                "full",
                doc(
                    "metadata.json",
                    "public, max-age=3600",
                    "state=xyz&scope=openid%20read&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback",
                    r#"{"client_id":"@URL@","client_name":"Example MCP Client","client_uri":"https://app.example","logo_uri":"https://app.example/logo.png","redirect_uris":["https://app.example/callback","http://127.0.0.1:3000/callback"],"grant_types":["authorization_code","refresh_token"],"response_types":["code"],"token_endpoint_auth_method":"none","scope":"openid read admin","dpop_bound_access_tokens":true}"#,
                ),
            ),
            (
                "native-loopback",
                doc(
                    "native.json?v=2",
                    "no-store",
                    "redirect_uri=http%3A%2F%2F127.0.0.1%3A51234%2Fcallback",
                    r#"{"client_id":"@URL@","application_type":"native","redirect_uris":["http://127.0.0.1/callback","com.example.app:/cb"]}"#,
                ),
            ),
            (
                "jwks-private",
                doc(
                    "k.json",
                    "max-age=abc",
                    "",
                    r#"{"client_id":"@URL@","redirect_uris":["https://a/cb"],"jwks":{"keys":[{"kty":"EC","d":"x"}]}}"#,
                ),
            ),
            (
                "secret",
                doc("s.json", "", "", r#"{"client_id":"@URL@","client_secret":"x","redirect_uris":["https://a/cb"]}"#),
            ),
            (
                "private-key-jwt",
                doc(
                    "p.json",
                    "",
                    "",
                    r#"{"client_id":"@URL@","token_endpoint_auth_method":"private_key_jwt","redirect_uris":["https://a/cb"]}"#,
                ),
            ),
            (
                "wrong-id",
                doc(
                    "w.json",
                    "",
                    "",
                    r#"{"client_id":"https://elsewhere.example/c.json","redirect_uris":["https://a/cb"]}"#,
                ),
            ),
            ("dot-segment", doc("a/../b.json", "", "", r#"{"client_id":"@URL@","redirect_uris":["https://a/cb"]}"#)),
            ("not-json", doc("n.json", "max-age=99999999999999999999999", "", "<html>")),
            (
                "prompt-none",
                doc(
                    "c.json",
                    "",
                    "prompt=none&nonce=n",
                    r#"{"client_id":"@URL@","redirect_uris":["https://app.example/callback"],"scope":""}"#,
                ),
            ),
        ],
    );
}

fn main() {
    form();
    authorize();
    dpop();
    jwt();
    guard();
    registration();
    redirect_uri();
    client_metadata();
}
