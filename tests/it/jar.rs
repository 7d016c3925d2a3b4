//! Signed request objects (JAR, RFC 9101) through the real router: by value at the
//! authorization endpoint and pushed to the PAR endpoint (RFC 9126 §3), each completing the code
//! flow with only the object's parameters in effect (RFC 9101 §6.3); every refusal of an object
//! with its exact `invalid_request_object` description; `require_signed_request_object` per
//! client (registered or the host's) and provider-wide; `request` with `request_uri`; an `https`
//! `request_uri`, never fetched; registration's refusals; and, with PostgreSQL, the request object
//! metadata read back from the registrations table.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{ISSUER, pkce, redirect_params, send, send_json, session_cookie, unix_now};
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, Client, ClientId, ClientKeys, ClientRegistration,
    ClientSigningAlgorithm, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest, HostError, Key, LoginOutcome,
    LoginRequest, MemoryRegistrations, PrincipalStore, RegistrationStore, Scopes,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TYP: &str = "oauth-authz-req+jwt";
const REDIRECT: &str = "https://client.example.com/cb";
const AUTHORIZE: &str = "/oauth/authorize";
const TOKEN: &str = "/oauth/token";
const PAR: &str = "/oauth/par";
const REGISTER: &str = "/oauth/register";

// ---------------------------------------------------------------------------------------------
// the host
// ---------------------------------------------------------------------------------------------

/// A host whose clients all have `jwks` as their keys: `jar` (`private_key_jwt`), `strict`
/// (the same, registered with `require_signed_request_object`), `ps256-only` (its
/// `request_object_signing_alg` is PS256), and `public` (a public client with the same keys, for
/// request objects only); open registration; every signed-in user consents.
#[derive(Clone)]
#[attesto::provider(registration)]
struct JarHost {
    jwks: Value,
    registrations: MemoryRegistrations,
}

impl ClientStore for JarHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let keyed = |id: &str| {
            Client::private_key_jwt(id, ClientKeys::Jwks(self.jwks.clone()))
                .with_scopes(Scopes::parse("read write").expect("scopes"))
                .with_redirect_uris([REDIRECT])
        };
        Ok(match client_id {
            "jar" => Some(keyed("jar")),
            "strict" => Some(keyed("strict").with_require_signed_request_object(true)),
            "ps256-only" => Some(keyed("ps256-only").with_request_object_signing_alg(ClientSigningAlgorithm::PS256)),
            _ => None,
        })
    }
}

impl PrincipalStore for JarHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match crate::common::session(request.headers) {
            Some((subject, at)) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, at)),
            None => LoginOutcome::Redirect("https://auth.example.com/login".to_owned()),
        })
    }
}

impl ConsentPolicy for JarHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

impl RegistrationStore for JarHost {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registrations.create_client(registration).await
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        self.registrations.load_registration(client_id).await
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        self.registrations.update_client(registration).await
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        self.registrations.delete_client(client_id).await
    }
}

/// A client's signing key and its public JWK, whose `kid` is the key's thumbprint.
struct Signer {
    key: Key,
}

impl Signer {
    fn new(alg: Algorithm) -> Self {
        Self { key: Key::generate(alg).expect("key") }
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [Value::Object(self.key.public_jwk())] })
    }

    fn header(&self) -> Value {
        json!({"alg": self.key.algorithm().as_str(), "kid": self.key.kid(), "typ": TYP})
    }

    /// A request object of `client_id` for this server, valid for five minutes, asking for a
    /// code for `challenge`; `changes` overrides claims (`null` removes one).
    fn object(&self, client_id: &str, challenge: &str, changes: &Value) -> String {
        self.object_with(&self.header(), client_id, challenge, changes)
    }

    fn object_with(&self, header: &Value, client_id: &str, challenge: &str, changes: &Value) -> String {
        let input = format!("{}.{}", b64(header), b64(&claims(client_id, challenge, changes)));
        let signature = self.key.sign(input.as_bytes()).expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// A `private_key_jwt` client assertion of `client_id`.
    fn assertion(&self, client_id: &str) -> String {
        let now = unix_now();
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": ISSUER, "exp": now + 60, "iat": now,
            "jti": format!("{:032x}", rand::random::<u128>()),
        });
        let header = json!({"alg": self.key.algorithm().as_str(), "kid": self.key.kid()});
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signature = self.key.sign(input.as_bytes()).expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The claims of a request object, with `changes` applied.
fn claims(client_id: &str, challenge: &str, changes: &Value) -> Value {
    let now = unix_now();
    let mut claims = json!({
        "iss": client_id,
        "aud": ISSUER,
        "client_id": client_id,
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": format!("{:032x}", rand::random::<u128>()),
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "read",
        "state": "from-the-object",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    });
    for (name, value) in changes.as_object().expect("an object") {
        if value.is_null() {
            claims.as_object_mut().expect("an object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn router_with(signer: &Signer, provider_wide: bool) -> Router {
    let host = JarHost { jwks: signer.jwks(), registrations: MemoryRegistrations::new() };
    let builder = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .scopes_supported(["read", "write"])
        .require_signed_request_objects(provider_wide);
    // A registered client's `jwks_uri` on 127.0.0.1 (`a_jwks_uri_client_signs_its_objects`).
    #[cfg(feature = "fetch")]
    let builder = builder.allow_loopback_jwks_uri_for_development(true);
    builder.build().expect("provider").router()
}

fn router(signer: &Signer) -> Router {
    router_with(signer, false)
}

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

type Reply = (StatusCode, HeaderMap, Vec<u8>);

/// Alice's browser GETs the authorization endpoint with `params`; `json` asks for the error
/// pages as JSON (`Accept: application/json`), to read their exact description.
async fn authorize(router: &Router, params: &[(&str, &str)], json: bool) -> Reply {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let accept = if json { "application/json" } else { "text/html" };
    let request = Request::get(format!("{AUTHORIZE}?{query}"))
        .header(header::ACCEPT, accept)
        .header(header::COOKIE, session_cookie("alice"))
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}

/// POSTs a form.
async fn post(router: &Router, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    send_json(router, request).await
}

/// Pushes `pairs`, authenticated by an assertion of `client_id` signed by `signer`.
async fn push(
    router: &Router,
    signer: &Signer,
    client_id: &str,
    pairs: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let assertion = signer.assertion(client_id);
    let mut form =
        vec![("client_id", client_id), ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion.as_str())];
    form.extend_from_slice(pairs);
    post(router, PAR, &form).await
}

/// Asserts a 303 to the client's redirect URI with a code and `state`; returns the code.
#[track_caller]
fn code_of(reply: &Reply, state: &str) -> String {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(body));
    let (base, params) = redirect_params(headers);
    assert_eq!(base, REDIRECT);
    assert_eq!(params.get("state").map(String::as_str), Some(state), "{params:?}");
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
    params.get("code").cloned().unwrap_or_else(|| panic!("a code, got {params:?}"))
}

/// Asserts an error shown (never redirected), as JSON: 400, `error` and `error_description`.
#[track_caller]
fn assert_shown(reply: &Reply, error: &str, description: &str) {
    let (status, headers, body) = reply;
    assert!(headers.get(header::LOCATION).is_none(), "must not redirect: {headers:?}");
    let body: Value = serde_json::from_slice(body).expect("a JSON error");
    assert_eq!((*status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}

/// Asserts an error redirected to the client with `state`.
#[track_caller]
fn assert_redirected(reply: &Reply, error: &str, description: &str, state: &str) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(body));
    let (base, params) = redirect_params(headers);
    assert_eq!(base, REDIRECT);
    assert_eq!(params.get("error").map(String::as_str), Some(error), "{params:?}");
    assert_eq!(params.get("error_description").map(String::as_str), Some(description), "{params:?}");
    assert_eq!(params.get("state").map(String::as_str), Some(state), "{params:?}");
}

/// Asserts a JSON error response of an API endpoint: 400, `error`, `error_description`.
#[track_caller]
fn assert_json_error(response: &(StatusCode, HeaderMap, Value), error: &str, description: &str) {
    let (status, headers, body) = response;
    assert_eq!((*status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// Redeems `code` as `client_id`, authenticated by an assertion of `signer`.
async fn redeem(router: &Router, signer: &Signer, client_id: &str, code: &str, verifier: &str) -> Value {
    let assertion = signer.assertion(client_id);
    let (status, _, body) = post(
        router,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

// ---------------------------------------------------------------------------------------------
// the flows
// ---------------------------------------------------------------------------------------------

/// By value at the authorization endpoint: the code goes to the object's redirect URI with the
/// object's `state`, for the object's scope, and is redeemed. The parameters sent beside the
/// object, which a browser could have changed, have no effect (RFC 9101 §6.3).
#[tokio::test]
async fn by_value_at_the_authorization_endpoint_completes_the_code_flow() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (verifier, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({}));
    let (_, other_challenge) = pkce();
    let reply = authorize(
        &router,
        &[
            ("client_id", "jar"),
            ("request", &object),
            ("redirect_uri", "https://attacker.example/cb"),
            ("scope", "read write"),
            ("state", "from-outside"),
            ("response_type", "token"),
            ("code_challenge", &other_challenge),
            ("response_mode", "fragment"),
        ],
        false,
    )
    .await;
    let code = code_of(&reply, "from-the-object");
    let tokens = redeem(&router, &signer, "jar", &code, &verifier).await;
    assert_eq!(tokens["scope"], "read");
    assert!(tokens["access_token"].is_string());
}

/// RFC 9101 §10.8 leaves explicit typing to the server: an object without `typ` is accepted, as
/// OpenID Connect Core §6.1 clients send them; one of another `typ` is not (the corpus).
#[tokio::test]
async fn an_object_without_typ_is_accepted() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let (verifier, challenge) = pkce();
    let header = json!({"alg": "EdDSA", "kid": signer.key.kid()});
    let object = signer.object_with(&header, "jar", &challenge, &json!({}));
    let code =
        code_of(&authorize(&router, &[("client_id", "jar"), ("request", &object)], false).await, "from-the-object");
    redeem(&router, &signer, "jar", &code, &verifier).await;
}

/// Pushed (RFC 9126 §3): the object's parameters are the request; the body's others are
/// ignored; the `request_uri` then completes the flow with the object's `state`.
#[tokio::test]
async fn through_par_completes_the_code_flow() {
    let signer = Signer::new(Algorithm::PS256);
    let router = router(&signer);
    let (verifier, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({"scope": "write", "state": "pushed-state"}));
    let (status, _, pushed) =
        push(&router, &signer, "jar", &[("request", &object), ("scope", "read"), ("state", "outside")]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let reply = authorize(&router, &[("client_id", "jar"), ("request_uri", request_uri)], false).await;
    let code = code_of(&reply, "pushed-state");
    let tokens = redeem(&router, &signer, "jar", &code, &verifier).await;
    assert_eq!(tokens["scope"], "write");
}

/// Once the object verified, its parameters are validated as any request's, and a refusal goes
/// back to the object's redirect URI with the object's `state`.
#[tokio::test]
async fn a_verified_object_with_a_bad_parameter_is_redirected() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({"response_type": "token"}));
    let reply = authorize(&router, &[("client_id", "jar"), ("request", &object), ("state", "outside")], false).await;
    assert_redirected(&reply, "unsupported_response_type", "only `response_type=code` is supported", "from-the-object");
}

// ---------------------------------------------------------------------------------------------
// the negative corpus
// ---------------------------------------------------------------------------------------------

/// Every refusal of an object, at the authorization endpoint (shown, never redirected) and at
/// the PAR endpoint (a JSON error), with its exact `invalid_request_object` description.
#[tokio::test]
async fn every_bad_request_object_is_refused_with_its_reason() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let now = unix_now();
    let kid = signer.key.kid().to_owned();
    let good_claims = claims("jar", &challenge, &json!({}));
    let another = Signer::new(Algorithm::ES256);
    // HMAC with the client's public key as the secret: the key-confusion attack.
    let public_pem = serde_json::to_vec(&signer.jwks()).expect("jwks");
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            typ: Some(TYP.to_owned()),
            kid: Some(kid.clone()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &good_claims,
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .expect("HMAC");
    let good = signer.object("jar", &challenge, &json!({}));
    let (good_input, _) = good.rsplit_once('.').expect("three parts");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{}.{}.", b64(&json!({"alg": "none", "typ": TYP})), b64(&good_claims)),
            "the request object is unsigned (`alg` `none`): it must be signed by a key of the client",
        ),
        (
            "signature removed",
            format!("{good_input}."),
            "the request object is unsigned (`alg` `none`): it must be signed by a key of the client",
        ),
        (
            "HMAC with the public key",
            hmac,
            "the request object is signed with an HMAC: sign it with a private key of the client",
        ),
        (
            "signed by another key",
            another.object_with(&signer.header(), "jar", &challenge, &json!({})),
            "the request object's signature does not verify with the client's keys",
        ),
        (
            "unknown kid",
            another.object("jar", &challenge, &json!({})),
            "no key of the client has the request object's `kid`",
        ),
        (
            "wrong typ",
            signer.object_with(&json!({"alg": "ES256", "kid": kid, "typ": "JWT"}), "jar", &challenge, &json!({})),
            "the request object's `typ` must be `oauth-authz-req+jwt` (RFC 9101 section 10.8)",
        ),
        (
            "unsupported alg",
            signer.object_with(&json!({"alg": "ES512", "kid": kid, "typ": TYP}), "jar", &challenge, &json!({})),
            "the request object's `alg` is not supported: use ES256, ES384, EdDSA, PS256 or RS256",
        ),
        (
            "crit",
            signer.object_with(
                &json!({"alg": "ES256", "kid": kid, "typ": TYP, "crit": ["b64"]}),
                "jar",
                &challenge,
                &json!({}),
            ),
            "the request object's header has a `crit` member this server does not understand",
        ),
        (
            "iss not the client",
            signer.object("jar", &challenge, &json!({"iss": "someone-else"})),
            "the request object's `iss` must be the client id",
        ),
        (
            "aud not the issuer",
            signer.object("jar", &challenge, &json!({"aud": "https://other.example.com"})),
            "the request object's `aud` must be this server's issuer identifier",
        ),
        (
            "aud the token endpoint",
            signer.object("jar", &challenge, &json!({"aud": format!("{ISSUER}{TOKEN}")})),
            "the request object's `aud` must be this server's issuer identifier",
        ),
        (
            "client_id claim not the parameter",
            signer.object("jar", &challenge, &json!({"client_id": "strict"})),
            "the request object's `client_id` claim must equal the `client_id` parameter",
        ),
        (
            "no client_id claim",
            signer.object("jar", &challenge, &json!({"client_id": null})),
            "the request object's `client_id` claim must equal the `client_id` parameter",
        ),
        (
            "expired",
            signer.object("jar", &challenge, &json!({"exp": now - 60, "nbf": now - 120})),
            "the request object has expired",
        ),
        ("no exp", signer.object("jar", &challenge, &json!({"exp": null})), "the request object has no `exp`"),
        (
            "exp too far",
            signer.object("jar", &challenge, &json!({"exp": now + 2 * 3600, "nbf": null})),
            "the request object's `exp` is more than 60 minutes ahead, or after its `nbf`",
        ),
        (
            "exp - nbf over 60 minutes",
            signer.object("jar", &challenge, &json!({"exp": now + 1800, "nbf": now - 1900})),
            "the request object's `exp` is more than 60 minutes ahead, or after its `nbf`",
        ),
        (
            "nbf in the future",
            signer.object("jar", &challenge, &json!({"nbf": now + 600})),
            "the request object is not valid yet (`nbf`)",
        ),
        (
            "nbf too old",
            signer.object("jar", &challenge, &json!({"nbf": now - 7200, "exp": now + 60})),
            "the request object's `nbf` is more than 60 minutes in the past",
        ),
        (
            "nested request_uri",
            signer.object("jar", &challenge, &json!({"request_uri": "urn:ietf:params:oauth:request_uri:x"})),
            "a request object must not contain `request` or `request_uri` (RFC 9101 section 4)",
        ),
        (
            "scope of the wrong type",
            signer.object("jar", &challenge, &json!({"scope": ["read"]})),
            "a parameter claim of the request object has the wrong type: each must be a string (`max_age` a number, `resource` an array of strings, `claims` an object)",
        ),
        (
            "not a JWT",
            "not-a-jwt".to_owned(),
            "the request object is not a signed JWT (RFC 7515 section 7.1 compact serialization)",
        ),
    ];
    for (name, object, description) in &cases {
        let reply = authorize(&router, &[("client_id", "jar"), ("request", object), ("state", "s")], true).await;
        let (_, headers, body) = &reply;
        assert!(headers.get(header::LOCATION).is_none(), "{name}: must not redirect");
        let body: Value = serde_json::from_slice(body).unwrap_or_else(|_| panic!("{name}: a JSON error"));
        assert_eq!(body["error"], "invalid_request_object", "{name}: {body}");
        assert_eq!(body["error_description"], *description, "{name}: {body}");
        assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{name}");
        let pushed = push(&router, &signer, "jar", &[("request", object)]).await;
        assert_json_error(&pushed, "invalid_request_object", description);
    }
}

/// The browser page of a refused object names the error too (not only the JSON form).
#[tokio::test]
async fn a_refused_object_is_shown_on_a_page() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({"aud": "https://other.example.com"}));
    let (status, headers, body) = authorize(&router, &[("client_id", "jar"), ("request", &object)], false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers.get(header::LOCATION).is_none());
    let page = String::from_utf8(body).expect("UTF-8");
    assert!(page.contains("<code>invalid_request_object</code>"), "{page}");
}

/// A `jti` is single use, at either endpoint, and its replay is refused before any other use.
#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({}));
    code_of(&authorize(&router, &[("client_id", "jar"), ("request", &object)], false).await, "from-the-object");
    let replay = authorize(&router, &[("client_id", "jar"), ("request", &object)], true).await;
    assert_shown(&replay, "invalid_request_object", "the request object was used before: its `jti` is single-use");
    let pushed = push(&router, &signer, "jar", &[("request", &object)]).await;
    assert_json_error(&pushed, "invalid_request_object", "the request object was used before: its `jti` is single-use");
    // Without a `jti`, the object may be used again until it expires (RFC 9101 does not ask for one).
    let object = signer.object("jar", &challenge, &json!({"jti": null}));
    for _ in 0..2 {
        code_of(&authorize(&router, &[("client_id", "jar"), ("request", &object)], false).await, "from-the-object");
    }
}

/// A client's `request_object_signing_alg` (RFC 9101 §10.5) is the only algorithm accepted.
#[tokio::test]
async fn the_registered_algorithm_is_honoured() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let object = signer.object("ps256-only", &challenge, &json!({}));
    let reply = authorize(&router, &[("client_id", "ps256-only"), ("request", &object)], true).await;
    assert_shown(
        &reply,
        "invalid_request_object",
        "the request object's `alg` is not the client's registered `request_object_signing_alg`",
    );
}

// ---------------------------------------------------------------------------------------------
// requirements
// ---------------------------------------------------------------------------------------------

/// A client with `require_signed_request_object`: plain parameters are refused with
/// `invalid_request`, redirected (the client and redirect URI are good), and at PAR as JSON; its
/// object is accepted.
#[tokio::test]
async fn a_client_that_requires_objects_is_refused_plain_parameters() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (verifier, challenge) = pkce();
    let description =
        "this client must send its authorization requests as signed request objects (`request`, RFC 9101)";
    let plain = [
        ("client_id", "strict"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("state", "plain"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    assert_redirected(&authorize(&router, &plain, false).await, "invalid_request", description, "plain");
    let pushed = push(&router, &signer, "strict", &plain[1..]).await;
    assert_json_error(&pushed, "invalid_request", description);
    // Its object passes, by value and pushed.
    let object = signer.object("strict", &challenge, &json!({}));
    let code =
        code_of(&authorize(&router, &[("client_id", "strict"), ("request", &object)], false).await, "from-the-object");
    redeem(&router, &signer, "strict", &code, &verifier).await;
    let object = signer.object("strict", &challenge, &json!({}));
    let (status, _, pushed) = push(&router, &signer, "strict", &[("request", &object)]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    // Other clients may still send plain parameters.
    let mut other = plain;
    other[0] = ("client_id", "jar");
    code_of(&authorize(&router, &other, false).await, "plain");
}

/// `Builder::require_signed_request_objects`: every client's plain parameters are refused, and
/// discovery says so (RFC 9101 §10.5).
#[tokio::test]
async fn the_provider_wide_requirement_refuses_plain_parameters() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router_with(&signer, true);
    let (verifier, challenge) = pkce();
    let description = "this server accepts authorization requests only as signed request objects (`request`, RFC 9101)";
    let plain = [
        ("client_id", "jar"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "plain"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    assert_redirected(&authorize(&router, &plain, false).await, "invalid_request", description, "plain");
    assert_json_error(&push(&router, &signer, "jar", &plain[1..]).await, "invalid_request", description);
    let object = signer.object("jar", &challenge, &json!({}));
    let (status, _, pushed) = push(&router, &signer, "jar", &[("request", &object)]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let code = code_of(
        &authorize(&router, &[("client_id", "jar"), ("request_uri", request_uri)], false).await,
        "from-the-object",
    );
    redeem(&router, &signer, "jar", &code, &verifier).await;
    let (_, _, metadata) = send_json(
        &router,
        Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(metadata["require_signed_request_object"], true);
    assert_eq!(metadata["request_parameter_supported"], true);
    assert_eq!(
        metadata["request_object_signing_alg_values_supported"],
        json!(["ES256", "ES384", "EdDSA", "PS256", "RS256"])
    );
}

/// `request` and `request_uri` together (RFC 9101 §5): shown, never redirected.
#[tokio::test]
async fn request_and_request_uri_together_are_refused() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let (_, challenge) = pkce();
    let object = signer.object("jar", &challenge, &json!({}));
    let reply = authorize(
        &router,
        &[("client_id", "jar"), ("request", &object), ("request_uri", "urn:ietf:params:oauth:request_uri:abc")],
        true,
    )
    .await;
    assert_shown(&reply, "invalid_request", "`request` and `request_uri` cannot both be sent");
    // At PAR, a `request_uri` cannot be pushed at all (RFC 9126 §2.1).
    let pushed =
        push(&router, &signer, "jar", &[("request", &object), ("request_uri", "https://client.example.com/r")]).await;
    assert_json_error(&pushed, "invalid_request", "`request_uri` cannot be pushed");
}

/// An `https` `request_uri` (a request object by reference, OIDC Core §6.2) is refused with
/// `request_uri_not_supported` (RFC 9101 §6.2: this server does not fetch request objects), and
/// nothing is fetched: the URL's server counts no connection.
#[tokio::test]
async fn an_https_request_uri_is_refused_and_never_fetched() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let server = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (_, challenge) = pkce();
    let uri = format!("https://{address}/request.jwt");
    let params = [
        ("client_id", "jar"),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "by-reference"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("request_uri", uri.as_str()),
    ];
    assert_redirected(
        &authorize(&router, &params, false).await,
        "request_uri_not_supported",
        "only `request_uri` values from the pushed authorization request endpoint are supported",
        "by-reference",
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 0, "the request_uri was fetched");
    server.abort();
}

// ---------------------------------------------------------------------------------------------
// registration
// ---------------------------------------------------------------------------------------------

async fn register(router: &Router, metadata: Value) -> (StatusCode, HeaderMap, Value) {
    let request = Request::post(REGISTER)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(metadata.to_string()))
        .expect("request");
    send_json(router, request).await
}

/// Registration refuses an HMAC or `none` `request_object_signing_alg`, a non-boolean
/// `require_signed_request_object`, and either member without keys; it accepts them with keys,
/// returns them, and the registered client is then held to them.
#[tokio::test]
async fn registration_of_request_object_metadata() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&signer);
    let keyed = |extra: Value| {
        let mut metadata = json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": signer.jwks(),
            "scope": "read",
        });
        for (name, value) in extra.as_object().expect("an object") {
            metadata[name] = value.clone();
        }
        metadata
    };
    let refusals = [
        (
            keyed(json!({"request_object_signing_alg": "HS256"})),
            "`request_object_signing_alg` must be one of ES256, ES384, EdDSA, PS256 or RS256",
        ),
        (
            keyed(json!({"request_object_signing_alg": "none"})),
            "`request_object_signing_alg` must be one of ES256, ES384, EdDSA, PS256 or RS256",
        ),
        (
            keyed(json!({"require_signed_request_object": "yes"})),
            "`require_signed_request_object` must be a boolean (RFC 9101 section 10.5)",
        ),
        (
            keyed(json!({"request_object_signing_alg": "PS256"})),
            "no key of `jwks` can verify the `request_object_signing_alg`",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "require_signed_request_object": true}),
            "`request_object_signing_alg` and `require_signed_request_object` need the client's public keys: register `private_key_jwt` with `jwks` or `jwks_uri`",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "request_object_signing_alg": "ES256"}),
            "`request_object_signing_alg` and `require_signed_request_object` need the client's public keys: register `private_key_jwt` with `jwks` or `jwks_uri`",
        ),
    ];
    for (metadata, description) in refusals {
        let response = register(&router, metadata.clone()).await;
        assert_json_error(&response, "invalid_client_metadata", description);
    }
    let (status, _, registered) =
        register(&router, keyed(json!({"request_object_signing_alg": "ES256", "require_signed_request_object": true})))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["request_object_signing_alg"], "ES256");
    assert_eq!(registered["require_signed_request_object"], true);
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let (verifier, challenge) = pkce();
    let plain = [
        ("client_id", client_id.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("state", "plain"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // A registered client is not the host's: before sign-in, the user is shown where its error
    // would go (RFC 9700 §4.11.2) rather than sent there.
    let (status, headers, body) = authorize(&router, &plain, false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    assert!(headers.get(header::LOCATION).is_none());
    let page = String::from_utf8(body).expect("UTF-8");
    assert!(page.contains("<code>invalid_request</code>"), "{page}");
    assert!(
        page.contains(
            "his client must send its authorization requests as signed request objects (`request`, RFC 9101)"
        ),
        "{page}"
    );
    let object = signer.object(&client_id, &challenge, &json!({}));
    let code = code_of(
        &authorize(&router, &[("client_id", &client_id), ("request", &object)], false).await,
        "from-the-object",
    );
    redeem(&router, &signer, &client_id, &code, &verifier).await;
    // An update (RFC 7592) that leaves the requirement out turns it off, and is read at once.
    let token = registered["registration_access_token"].as_str().expect("registration_access_token");
    let mut update = keyed(json!({"client_id": client_id}));
    update["scope"] = json!("read");
    let request = Request::put(format!("{REGISTER}/{client_id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(update.to_string()))
        .expect("request");
    let (status, _, updated) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated.get("require_signed_request_object").is_none(), "{updated}");
    assert!(updated.get("request_object_signing_alg").is_none(), "{updated}");
    code_of(&authorize(&router, &plain, false).await, "plain");
}

/// A client whose keys are at its `jwks_uri` (fetched and cached as for `private_key_jwt`) signs
/// its request objects with them; an object of a key the set does not hold is refused.
#[cfg(feature = "fetch")]
#[tokio::test]
async fn a_jwks_uri_client_signs_its_objects() {
    let host_signer = Signer::new(Algorithm::ES256);
    let router = router(&host_signer);
    let signer = Signer::new(Algorithm::PS256);
    let jwks = signer.jwks();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route("/jwks.json", axum::routing::get(move || async move { axum::Json(jwks) }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (status, _, registered) = register(
        &router,
        json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": format!("http://{address}/jwks.json"),
            "request_object_signing_alg": "PS256",
            "scope": "read",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let (verifier, challenge) = pkce();
    let object = signer.object(&client_id, &challenge, &json!({}));
    let (status, _, pushed) = push(&router, &signer, &client_id, &[("request", &object)]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().expect("request_uri");
    let reply = authorize(&router, &[("client_id", &client_id), ("request_uri", request_uri)], false).await;
    // A registered client's success is redirected: only errors before sign-in are held back.
    let code = code_of(&reply, "from-the-object");
    redeem(&router, &signer, &client_id, &code, &verifier).await;
    let stranger = Signer::new(Algorithm::PS256);
    let object = stranger.object(&client_id, &challenge, &json!({}));
    let reply = authorize(&router, &[("client_id", &client_id), ("request", &object)], true).await;
    assert_shown(&reply, "invalid_request_object", "no key of the client has the request object's `kid`");
    server.abort();
}

/// The SQL registration stores keep the request object metadata in the metadata column and read
/// it back.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_request_object_metadata() {
    let Some(schema) = crate::databases::postgres_schema().await else { return };
    let store = attesto::PostgresStore::from_pool(schema.pool.clone());
    store.migrate().await.expect("migrate");
    let registrations = store.registrations();
    let signer = Signer::new(Algorithm::ES256);
    let client = Client::private_key_jwt("stored", ClientKeys::Jwks(signer.jwks()))
        .with_redirect_uris([REDIRECT])
        .with_request_object_signing_alg(ClientSigningAlgorithm::EdDSA)
        .with_require_signed_request_object(true);
    let registration = ClientRegistration::new(
        client,
        serde_json::Map::new(),
        attesto::SecretHash::of("registration-access-token"),
        std::time::SystemTime::now(),
    );
    registrations.create_client(&registration).await.expect("create");
    let loaded = registrations.load_registration(&ClientId::new("stored")).await.expect("load").expect("found");
    assert_eq!(loaded.client.request_object_signing_alg, Some(ClientSigningAlgorithm::EdDSA));
    assert!(loaded.client.require_signed_request_object);
    // Turned off by an update, it stays off.
    let mut updated = loaded.clone();
    updated.client.require_signed_request_object = false;
    updated.client.request_object_signing_alg = None;
    assert!(registrations.update_client(&updated).await.expect("update"));
    let loaded = registrations.load_registration(&ClientId::new("stored")).await.expect("load").expect("found");
    assert_eq!(loaded.client.request_object_signing_alg, None);
    assert!(!loaded.client.require_signed_request_object);
}
