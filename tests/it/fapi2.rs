//! The FAPI 2.0 Security Profile and FAPI 2.0 Message Signing (`Builder::fapi2_security_profile`,
//! `Builder::fapi2_message_signing`) through the real router.
//!
//! The example's provider (`examples/fapi2/app.rs`) is served on a loopback port and its
//! hand-written client (`examples/fapi2/client.rs`) runs the whole flow in both profiles, with
//! the ID token verified by the `openidconnect` crate against the discovered JWKS. A host of the
//! test's own then sends what the profile forbids, each refused with its exact error: public
//! clients and secrets, RS256 and ES384, a client assertion for the token endpoint, a pushed
//! request without `redirect_uri`, a request by value, a token request without DPoP, rotation of
//! refresh tokens, registrations the profile does not allow, configurations it cannot hold, and
//! under Message Signing plain requests and unsigned responses.

#[path = "../../examples/fapi2/app.rs"]
mod app;
#[path = "../../examples/fapi2/client.rs"]
mod client;

use std::sync::OnceLock;

use crate::common::dpop_key::{self, DpopKey};
use crate::common::{
    SECRET, authorize_url, basic, browser_get, pkce, redirect_params, send_json, session_cookie, unix_now,
};
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, Client, ClientKeys, ClientStore, ConfigError, ConsentDecision,
    ConsentPolicy, ConsentRequest, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

const ISSUER: &str = "https://bank.example";
const REDIRECT: &str = "https://partner.example/cb";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const AUTH_METHOD_REFUSED: &str =
    "this server follows the FAPI 2.0 Security Profile: clients authenticate with private_key_jwt only";
const ALGORITHM_REFUSED: &str =
    "this server follows the FAPI 2.0 Security Profile: signatures must use ES256, PS256 or EdDSA";

// ---------------------------------------------------------------------------------------------
// the example, end to end
// ---------------------------------------------------------------------------------------------

/// Serves the example's provider on a loopback port; its issuer.
async fn serve_example(message_signing: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let auth = app::provider(&issuer, message_signing).expect("the example's provider builds");
    tokio::spawn(async move { axum::serve(listener, auth.router()).await.expect("serve") });
    issuer
}

fn openid_http() -> reqwest012::Client {
    reqwest012::Client::builder().redirect(reqwest012::redirect::Policy::none()).build().expect("client")
}

/// The example client's whole run in one profile, and the ID token through `openidconnect`.
async fn example_flow(message_signing: bool) {
    use openidconnect::core::{CoreClient, CoreIdToken, CoreProviderMetadata};
    use openidconnect::{ClientId, IssuerUrl, Nonce};

    let issuer = serve_example(message_signing).await;
    let outcome = client::Partner::new(&issuer, message_signing, &app::SCOPES.join(" "))
        .expect("client")
        .run()
        .await
        .unwrap_or_else(|error| panic!("the FAPI 2.0 client's flow: {error}"));
    assert_eq!(outcome.token_type, "DPoP");
    assert_eq!(outcome.jkt, outcome.dpop_thumbprint, "the access token is bound to the client's DPoP key");
    assert_eq!(outcome.refreshes, 2, "one refresh token, used twice");

    // An OpenID Connect library reads the discovery document of the profile and verifies the ID
    // token (signature from the JWKS, `iss`, `aud`, `exp`, `nonce`).
    let http = openid_http();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).expect("issuer"), &http)
        .await
        .expect("OpenID Connect discovery");
    let methods = metadata.token_endpoint_auth_methods_supported().expect("auth methods");
    assert_eq!(serde_json::to_value(methods).expect("json"), json!(["private_key_jwt"]));
    let relying_party = CoreClient::from_provider_metadata(metadata, ClientId::new(outcome.client_id.clone()), None);
    let id_token: CoreIdToken = outcome.id_token.as_deref().expect("an ID token").parse().expect("a JWT");
    let claims = id_token
        .claims(&relying_party.id_token_verifier(), &Nonce::new(outcome.nonce.clone()))
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.issuer().as_str(), issuer);
}

#[tokio::test]
async fn the_example_client_completes_the_security_profile() {
    example_flow(false).await;
}

#[tokio::test]
async fn the_example_client_completes_message_signing() {
    example_flow(true).await;
}

// ---------------------------------------------------------------------------------------------
// the host of the negative cases
// ---------------------------------------------------------------------------------------------

/// The keys of the host's clients, made once.
struct Keys {
    /// `partner`'s ES256 key.
    es256: Key,
    /// An RS256 key (the RSA fixture): `rsa-partner`'s, and `mixed`'s second key.
    rs256: Key,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        es256: Key::generate(Algorithm::ES256).expect("key"),
        rs256: Key::from_pem_with_algorithm(
            include_str!("../../attesto-runtime/tests/fixtures/keys/rsa2048.pkcs8.pem"),
            Algorithm::RS256,
        )
        .expect("RSA key"),
    })
}

fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|key| Value::Object(key.public_jwk())).collect::<Vec<_>>() })
}

/// A host with one client per case: `partner` (`private_key_jwt`, ES256), `rsa-partner` (RS256),
/// `mixed` (both keys, no registered algorithm), `secret-client` (a secret) and `public-app`.
#[derive(Clone)]
#[attesto::provider(registration)]
struct FapiHost;

fn scopes() -> Scopes {
    Scopes::parse("openid offline_access accounts").expect("scopes")
}

impl ClientStore for FapiHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let keys = keys();
        let keyed = |id: &str, jwks: Value| {
            Client::private_key_jwt(id, ClientKeys::Jwks(jwks)).with_scopes(scopes()).with_redirect_uris([REDIRECT])
        };
        Ok(match client_id {
            "partner" => Some(keyed("partner", jwks(&[&keys.es256]))),
            "rsa-partner" => Some(keyed("rsa-partner", jwks(&[&keys.rs256]))),
            "mixed" => Some(keyed("mixed", jwks(&[&keys.es256, &keys.rs256]))),
            "secret-client" => Some(
                Client::confidential("secret-client", SecretHash::of(SECRET))
                    .with_scopes(scopes())
                    .with_redirect_uris([REDIRECT]),
            ),
            "public-app" => Some(Client::public("public-app").with_scopes(scopes()).with_redirect_uris([REDIRECT])),
            _ => None,
        })
    }
}

impl PrincipalStore for FapiHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match crate::common::session(request.headers) {
            Some((subject, at)) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, at)),
            None => LoginOutcome::Redirect("https://bank.example/login".to_owned()),
        })
    }
}

impl ConsentPolicy for FapiHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

impl attesto::RegistrationStore for FapiHost {
    async fn create_client(&self, _: &attesto::ClientRegistration) -> Result<(), HostError> {
        Ok(())
    }
    async fn load_registration(&self, _: &attesto::ClientId) -> Result<Option<attesto::ClientRegistration>, HostError> {
        Ok(None)
    }
    async fn update_client(&self, _: &attesto::ClientRegistration) -> Result<bool, HostError> {
        Ok(false)
    }
    async fn delete_client(&self, _: &attesto::ClientId) -> Result<bool, HostError> {
        Ok(false)
    }
}

fn builder() -> attesto::Builder<FapiHost> {
    Attesto::builder(FapiHost)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .scopes_supported(["openid", "offline_access", "accounts"])
}

fn router() -> Router {
    builder().fapi2_security_profile().build().expect("provider").router()
}

fn signing_router() -> Router {
    builder().fapi2_message_signing().build().expect("provider").router()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn signed(key: &Key, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).expect("sign")))
}

/// A client assertion of `client_id` signed by `key`, `aud` the issuer unless `changes` says
/// otherwise.
fn assertion(key: &Key, client_id: &str, changes: &Value) -> String {
    let now = unix_now();
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": ISSUER, "iat": now, "exp": now + 60,
        "jti": format!("{:032x}", rand::random::<u128>()),
    });
    for (name, value) in changes.as_object().expect("object") {
        claims[name] = value.clone();
    }
    signed(key, &json!({"alg": key.algorithm().as_str(), "kid": key.kid()}), &claims)
}

/// POSTs a form to `path` with optional `Authorization` and `DPoP` headers.
async fn post(
    router: &Router,
    path: &str,
    pairs: &[(&str, &str)],
    authorization: Option<&str>,
    dpop: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    send_json(router, request.body(Body::from(body)).expect("request")).await
}

/// `pairs` with `partner`'s assertion (signed by `key` as `client_id`).
fn authenticated<'a>(pairs: &[(&'a str, &'a str)], client_id: &'a str, assertion: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut all = pairs.to_vec();
    all.extend([("client_id", client_id), ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion)]);
    all
}

fn proof(key: &DpopKey, path: &str) -> String {
    key.proof("POST", &format!("{ISSUER}{path}"))
}

#[track_caller]
fn assert_refused(response: &(StatusCode, HeaderMap, Value), status: StatusCode, error: &str, description: &str) {
    let (actual, _, body) = response;
    assert_eq!((*actual, body["error"].as_str()), (status, Some(error)), "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}

/// The parameters of `partner`'s authorization request, with a PKCE challenge.
fn request_parameters(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", "openid offline_access accounts".to_owned()),
        ("state", "st".to_owned()),
        ("nonce", "n-0S6_WzA2Mj".to_owned()),
        ("code_challenge", challenge.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// Pushes `partner`'s request (`parameters`) with a DPoP proof of `dpop`; the response.
async fn push(router: &Router, parameters: &[(&str, String)], dpop: &DpopKey) -> (StatusCode, HeaderMap, Value) {
    let assertion = assertion(&keys().es256, "partner", &json!({}));
    let pairs: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(router, "/oauth/par", &authenticated(&pairs, "partner", &assertion), None, Some(&proof(dpop, "/oauth/par")))
        .await
}

/// `partner` pushes, alice authorizes, and the code comes back with the verifier.
async fn code(router: &Router, dpop: &DpopKey) -> (String, String) {
    let (verifier, challenge) = pkce();
    let (status, _, body) = push(router, &request_parameters(&challenge), dpop).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let uri = authorize_url("/oauth/authorize", &[("client_id", "partner"), ("request_uri", request_uri)]);
    let (status, headers, _) = browser_get(router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER), "RFC 9207 `iss`");
    (params["code"].clone(), verifier)
}

async fn redeem(router: &Router, code: &str, verifier: &str, dpop: Option<&DpopKey>) -> (StatusCode, HeaderMap, Value) {
    let assertion = assertion(&keys().es256, "partner", &json!({}));
    let pairs =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT), ("code_verifier", verifier)];
    let dpop = dpop.map(|key| proof(key, "/oauth/token"));
    post(router, "/oauth/token", &authenticated(&pairs, "partner", &assertion), None, dpop.as_deref()).await
}

async fn refresh(router: &Router, refresh_token: &str, dpop: &DpopKey) -> (StatusCode, HeaderMap, Value) {
    let assertion = assertion(&keys().es256, "partner", &json!({}));
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    post(
        router,
        "/oauth/token",
        &authenticated(&pairs, "partner", &assertion),
        None,
        Some(&proof(dpop, "/oauth/token")),
    )
    .await
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// the profile's rules, one by one
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_code_is_redeemed_only_with_dpop_and_refresh_tokens_are_not_rotated() {
    let router = router();
    let dpop = dpop_key::p256();
    let (code, verifier) = code(&router, &dpop).await;
    // Without a proof: refused, and the code is not spent.
    let refused = redeem(&router, &code, &verifier, None).await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        "this server follows the FAPI 2.0 Security Profile: access tokens are DPoP-bound, send a DPoP proof",
    );
    let (status, _, tokens) = redeem(&router, &code, &verifier, Some(&dpop)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert_eq!(payload(tokens["access_token"].as_str().expect("token"))["cnf"]["jkt"], dpop.jkt.as_str());
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");

    // §5.3.2.1 clause 9: the refresh token stays; every refresh answers without a new one.
    for _ in 0..3 {
        let (status, _, refreshed) = refresh(&router, refresh_token, &dpop).await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        assert_eq!(refreshed["token_type"], "DPoP");
        assert!(refreshed.get("refresh_token").is_none(), "not rotated: {refreshed}");
    }
    // Still bound to the client: another client's assertion cannot use it.
    let other = assertion(&keys().es256, "mixed", &json!({}));
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    let stolen = post(
        &router,
        "/oauth/token",
        &authenticated(&pairs, "mixed", &other),
        None,
        Some(&proof(&dpop, "/oauth/token")),
    )
    .await;
    assert_refused(&stolen, StatusCode::BAD_REQUEST, "invalid_grant", "the refresh token was issued to another client");
    // And it ends when revoked.
    let revoker = assertion(&keys().es256, "partner", &json!({}));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(authenticated(&[("token", refresh_token)], "partner", &revoker))
        .finish();
    let request = Request::post("/oauth/revoke")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let (status, _, _) = crate::common::send(&router, request).await;
    assert_eq!(status, StatusCode::OK);
    let after = refresh(&router, refresh_token, &dpop).await;
    assert_refused(
        &after,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "the refresh token is invalid, expired or revoked",
    );
}

#[tokio::test]
async fn every_grant_needs_a_dpop_proof() {
    let router = router();
    let assertion = assertion(&keys().es256, "partner", &json!({}));
    let pairs = [("grant_type", "client_credentials"), ("scope", "accounts")];
    let refused = post(&router, "/oauth/token", &authenticated(&pairs, "partner", &assertion), None, None).await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        "this server follows the FAPI 2.0 Security Profile: access tokens are DPoP-bound, send a DPoP proof",
    );
}

#[tokio::test]
async fn clients_authenticate_with_private_key_jwt_only() {
    let router = router();
    let (_, challenge) = pkce();
    let parameters = request_parameters(&challenge);
    let pairs: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dpop = proof(&dpop_key::p256(), "/oauth/par");
    // A public client: `invalid_client`, 400 (no Authorization header was tried).
    let mut public = pairs.clone();
    public.push(("client_id", "public-app"));
    let response = post(&router, "/oauth/par", &public, None, Some(&dpop)).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_client", AUTH_METHOD_REFUSED);
    // A secret in the Authorization header: 401 with a Basic challenge (RFC 6749 §5.2).
    let response = post(&router, "/oauth/par", &pairs, Some(&basic("secret-client", SECRET)), None).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, "invalid_client", AUTH_METHOD_REFUSED);
    assert!(response.1[header::WWW_AUTHENTICATE].to_str().expect("ASCII").starts_with("Basic"));
    // A secret in the body, at the token endpoint.
    let body = [("grant_type", "client_credentials"), ("client_id", "secret-client"), ("client_secret", SECRET)];
    // Without a DPoP proof too: the secret is what the client hears about first.
    let response = post(&router, "/oauth/token", &body, None, None).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_client", AUTH_METHOD_REFUSED);
    // The same at revocation and introspection.
    for path in ["/oauth/revoke", "/oauth/introspect"] {
        let response = post(&router, path, &[("token", "x")], Some(&basic("secret-client", SECRET)), None).await;
        assert_refused(&response, StatusCode::UNAUTHORIZED, "invalid_client", AUTH_METHOD_REFUSED);
    }
}

#[tokio::test]
async fn only_es256_ps256_and_eddsa_signatures_are_accepted() {
    let router = router();
    // An RS256 client assertion.
    let rsa = assertion(&keys().rs256, "rsa-partner", &json!({}));
    let pairs = [("grant_type", "client_credentials")];
    let dpop = proof(&dpop_key::p256(), "/oauth/token");
    let response = post(&router, "/oauth/token", &authenticated(&pairs, "rsa-partner", &rsa), None, Some(&dpop)).await;
    assert_refused(&response, StatusCode::UNAUTHORIZED, "invalid_client", ALGORITHM_REFUSED);
    // DPoP proofs made with ES384 and RS256 keys, which outside the profile are accepted.
    for key in [dpop_key::p384(), dpop_key::rsa2048_rs256()] {
        let (_, challenge) = pkce();
        let response = push(&router, &request_parameters(&challenge), &key).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_dpop_proof", ALGORITHM_REFUSED);
    }
    // EdDSA is one of the three.
    let (code, verifier) = code(&router, &dpop_key::ed25519()).await;
    let (status, _, body) = redeem(&router, &code, &verifier, Some(&dpop_key::ed25519())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_client_assertion_names_the_issuer_alone() {
    let router = router();
    let for_endpoint = assertion(&keys().es256, "partner", &json!({"aud": format!("{ISSUER}/oauth/token")}));
    let pairs = [("grant_type", "client_credentials")];
    let dpop = proof(&dpop_key::p256(), "/oauth/token");
    let response =
        post(&router, "/oauth/token", &authenticated(&pairs, "partner", &for_endpoint), None, Some(&dpop)).await;
    assert_refused(
        &response,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "the client assertion's `aud` must be this server's issuer identifier",
    );
}

#[tokio::test]
async fn requests_are_pushed_with_a_redirect_uri() {
    let router = router();
    let (_, challenge) = pkce();
    // `partner` registered one redirect URI, which OAuth 2.1 lets it leave out; FAPI 2.0 does not.
    let without: Vec<(&str, String)> =
        request_parameters(&challenge).into_iter().filter(|(name, _)| *name != "redirect_uri").collect();
    let response = push(&router, &without, &dpop_key::p256()).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "this server follows the FAPI 2.0 Security Profile: send `redirect_uri`",
    );
    // A request by value at the authorization endpoint goes back with `invalid_request`.
    let mut by_value = request_parameters(&challenge);
    by_value.push(("client_id", "partner".to_owned()));
    let pairs: Vec<(&str, &str)> = by_value.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let uri = authorize_url("/oauth/authorize", &pairs);
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"));
    assert_eq!(
        params.get("error_description").map(String::as_str),
        Some("this server accepts authorization requests only through its pushed authorization request endpoint")
    );
}

#[tokio::test]
async fn discovery_says_what_the_profile_requires() {
    for (router, signing) in [(router(), false), (signing_router(), true)] {
        let request = Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request");
        let (status, _, metadata) = send_json(&router, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(metadata["require_pushed_authorization_requests"], true);
        assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
        for member in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint_auth_methods_supported",
        ] {
            assert_eq!(metadata[member], json!(["private_key_jwt"]), "{member}");
        }
        for member in [
            "token_endpoint_auth_signing_alg_values_supported",
            "request_object_signing_alg_values_supported",
            "revocation_endpoint_auth_signing_alg_values_supported",
            "introspection_endpoint_auth_signing_alg_values_supported",
        ] {
            assert_eq!(metadata[member], json!(["ES256", "EdDSA", "PS256"]), "{member}");
        }
        assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA", "PS256"]));
        assert_eq!(metadata["require_signed_request_object"].as_bool().unwrap_or(false), signing);
        let modes = if signing {
            json!(["jwt", "query.jwt", "form_post.jwt"])
        } else {
            json!(["query", "form_post", "jwt", "query.jwt", "form_post.jwt"])
        };
        assert_eq!(metadata["response_modes_supported"], modes);
    }
}

#[tokio::test]
async fn registration_accepts_only_what_the_profile_allows() {
    let router = router();
    let key = Key::generate(Algorithm::ES256).expect("key");
    let base = json!({
        "redirect_uris": [REDIRECT],
        "jwks": jwks(&[&key]),
        "scope": "accounts",
    });
    let register = |changes: Value| {
        let router = router.clone();
        let mut metadata = base.clone();
        for (name, value) in changes.as_object().expect("object") {
            metadata[name] = value.clone();
        }
        async move {
            let request = Request::post("/oauth/register")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(metadata.to_string()))
                .expect("request");
            send_json(&router, request).await
        }
    };
    let method = "this server follows the FAPI 2.0 Security Profile: register `token_endpoint_auth_method` `private_key_jwt`, with `jwks` or `jwks_uri`";
    let algs = "this server follows the FAPI 2.0 Security Profile: `token_endpoint_auth_signing_alg` and `request_object_signing_alg` must be ES256, PS256 or EdDSA";
    for (changes, description) in [
        // RFC 7591 §2: an absent method is `client_secret_basic`.
        (json!({"jwks": null}), method),
        (json!({"token_endpoint_auth_method": "client_secret_basic", "jwks": null}), method),
        (json!({"token_endpoint_auth_method": "client_secret_post", "jwks": null}), method),
        (json!({"token_endpoint_auth_method": "none", "jwks": null}), method),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "RS256", "jwks": jwks(&[&keys().rs256])}),
            algs,
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "request_object_signing_alg": "RS256", "jwks": jwks(&[&key, &keys().rs256])}),
            algs,
        ),
    ] {
        let response = register(changes.clone()).await;
        assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata", description);
    }
    let (status, _, body) = register(json!({"token_endpoint_auth_method": "private_key_jwt"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("client_secret").is_none());
}

#[derive(Clone)]
#[attesto::provider(par = false)]
struct NoParHost;

impl ClientStore for NoParHost {}

impl PrincipalStore for NoParHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::Redirect("https://bank.example/login".to_owned()))
    }
}

impl ConsentPolicy for NoParHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

#[test]
fn the_build_refuses_what_the_profile_cannot_hold() {
    let message = |result: Result<Attesto<FapiHost>, ConfigError>| match result {
        Err(error) => error.to_string(),
        Ok(_) => panic!("the build must fail"),
    };
    let rs256 = || {
        Key::from_pem_with_algorithm(
            include_str!("../../attesto-runtime/tests/fixtures/keys/rsa2048.pkcs8.pem"),
            Algorithm::RS256,
        )
        .expect("key")
    };
    let signing_rs256 = builder().signing_key(rs256()).fapi2_security_profile().build();
    assert_eq!(
        message(signing_rs256),
        "the FAPI 2.0 Security Profile allows ES256, PS256 and EdDSA keys only, not RS256"
    );
    let verifying_rs256 = builder().verification_key(rs256()).fapi2_message_signing().build();
    assert_eq!(
        message(verifying_rs256),
        "the FAPI 2.0 Security Profile allows ES256, PS256 and EdDSA keys only, not RS256"
    );
    let no_par = Attesto::builder(NoParHost)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .fapi2_security_profile()
        .build();
    match no_par {
        Err(error) => assert_eq!(
            error.to_string(),
            "the FAPI 2.0 Security Profile needs the PAR endpoint, which the provider declaration turns off (`par = false`)"
        ),
        Ok(_) => panic!("the build must fail"),
    }
    // §5.3.2.1 clause 13: nothing dated more than 60 seconds ahead.
    let skewed = builder().dpop_proof_max_skew(std::time::Duration::from_secs(61)).fapi2_security_profile().build();
    assert_eq!(
        message(skewed),
        "the FAPI 2.0 Security Profile refuses DPoP proofs dated more than 60 seconds ahead: `dpop_proof_max_skew` must be at most 60 seconds"
    );
    // PS256 and EdDSA keys are the profile's own.
    for alg in [Algorithm::PS256, Algorithm::EdDSA] {
        let key = Key::generate(alg).expect("key");
        assert!(builder().signing_key(key).fapi2_security_profile().build().is_ok(), "{alg:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Message Signing
// ---------------------------------------------------------------------------------------------

/// `parameters` as a request object signed by `key` for `mixed` (whose keys are ES256 and RS256).
fn request_object(key: &Key, parameters: &[(&str, String)]) -> String {
    let now = unix_now();
    let mut claims = json!({
        "iss": "mixed", "client_id": "mixed", "aud": ISSUER, "iat": now, "nbf": now, "exp": now + 300,
        "jti": format!("{:032x}", rand::random::<u128>()),
    });
    for (name, value) in parameters {
        claims[*name] = json!(value);
    }
    signed(key, &json!({"alg": key.algorithm().as_str(), "kid": key.kid(), "typ": "oauth-authz-req+jwt"}), &claims)
}

async fn push_as_mixed(router: &Router, pairs: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let assertion = assertion(&keys().es256, "mixed", &json!({}));
    let dpop = proof(&dpop_key::p256(), "/oauth/par");
    post(router, "/oauth/par", &authenticated(pairs, "mixed", &assertion), None, Some(&dpop)).await
}

#[tokio::test]
async fn message_signing_requires_signed_requests_and_signed_responses() {
    let router = signing_router();
    let (_, challenge) = pkce();
    let mut parameters = request_parameters(&challenge);
    // Plain parameters: the provider requires request objects.
    let plain: Vec<(&str, &str)> = parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = push_as_mixed(&router, &plain).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "this server accepts authorization requests only as signed request objects (`request`, RFC 9101)",
    );
    // A signed request without a JWT response mode.
    let object = request_object(&keys().es256, &parameters);
    let response = push_as_mixed(&router, &[("request", &object)]).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "this server follows FAPI 2.0 Message Signing: ask for a signed response with `response_mode=jwt`",
    );
    parameters.push(("response_mode", "jwt".to_owned()));
    // Message Signing §5.3.2: `nbf` is required.
    let mut claims = payload(&request_object(&keys().es256, &parameters));
    claims.as_object_mut().expect("claims").remove("nbf");
    let header = json!({"alg": "ES256", "kid": keys().es256.kid(), "typ": "oauth-authz-req+jwt"});
    let object = signed(&keys().es256, &header, &claims);
    let response = push_as_mixed(&router, &[("request", &object)]).await;
    assert_refused(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request_object",
        "the request object has no `nbf`, which this server requires",
    );
    // An RS256 request object, by a client that has an RS256 key.
    let object = request_object(&keys().rs256, &parameters);
    let response = push_as_mixed(&router, &[("request", &object)]).await;
    assert_refused(&response, StatusCode::BAD_REQUEST, "invalid_request_object", ALGORITHM_REFUSED);
    // ES256 with `response_mode=jwt`: the response is a JWT signed for the client.
    let object = request_object(&keys().es256, &parameters);
    let (status, _, body) = push_as_mixed(&router, &[("request", &object)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request_uri = body["request_uri"].as_str().expect("request_uri");
    let uri = authorize_url("/oauth/authorize", &[("client_id", "mixed"), ("request_uri", request_uri)]);
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    let response = payload(params.get("response").expect("a JARM `response`"));
    assert_eq!((response["iss"].as_str(), response["aud"].as_str()), (Some(ISSUER), Some("mixed")));
    assert!(response["code"].is_string(), "{response}");
    assert!(!params.contains_key("code"), "the code travels inside the signed response only");
}

// ---------------------------------------------------------------------------------------------
// the quickstart in the profile
// ---------------------------------------------------------------------------------------------

/// The cookies a browser keeps: `name=value` by name, from every `Set-Cookie` seen.
#[derive(Default)]
struct Jar(std::collections::BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let pair = value.to_str().expect("ASCII").split(';').next().expect("name=value");
            if let Some((name, value)) = pair.split_once('=') {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }
}

/// `examples/quickstart.rs` with `--fapi2-message-signing`, on a loopback port: the FAPI client
/// registers with its key, pushes a signed request, the demo user signs in on the quickstart's
/// login page and allows on attesto's consent page, and the code, DPoP-bound, is redeemed and
/// refreshed without rotation. The demo client with a secret is refused.
#[tokio::test]
async fn the_quickstart_serves_the_profile_to_a_registered_client() {
    use crate::grants::{Quickstart, quickstart};

    let quickstart = Quickstart::start_with(Some(quickstart::Fapi2::MessageSigning)).await;
    let banner = &quickstart.banner;
    assert!(banner.contains("in the FAPI 2.0 Security Profile with Message Signing"), "{banner}");
    let (base, password, http) = (&quickstart.base, &quickstart.password, &quickstart.http);

    // The demo client's secret is no credential here.
    let response = http
        .post(format!("{base}/oauth/token"))
        .basic_auth("demo-client", Some("any"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = serde_json::from_slice(&response.bytes().await.expect("body")).expect("JSON");
    assert_eq!(body["error_description"], AUTH_METHOD_REFUSED);

    let partner = client::Partner::new(base, true, "openid offline_access read").expect("client");
    let outcome = partner
        .run_with(async |authorize: url::Url| {
            let mut jar = Jar::default();
            // To the login page, which sends the browser back to the authorization endpoint.
            let response = http.get(authorize).send().await?;
            jar.keep(response.headers());
            let login = url::Url::parse(response.headers()[header::LOCATION].to_str()?)?;
            let return_to = login.query_pairs().find(|(name, _)| name == "return_to").ok_or("a return_to")?.1;
            let response = http
                .post(format!("{base}/login"))
                .header(header::ORIGIN, base)
                .header(header::COOKIE, jar.header())
                .form(&[("username", "demo"), ("password", password.as_str()), ("return_to", &return_to)])
                .send()
                .await?;
            jar.keep(response.headers());
            let back = response.headers()[header::LOCATION].to_str()?.to_owned();
            // attesto's consent page, then the decision.
            let response = http.get(&back).header(header::COOKIE, jar.header()).send().await?;
            jar.keep(response.headers());
            let page = response.text().await?;
            let decision = [
                ("attesto_consent", crate::common::hidden_input(&page, "attesto_consent")),
                ("attesto_csrf", crate::common::hidden_input(&page, "attesto_csrf")),
                ("attesto_decision", "allow".to_owned()),
            ];
            let response = http
                .post(format!("{base}/oauth/authorize"))
                .header(header::COOKIE, jar.header())
                .header(header::ORIGIN, base)
                .form(&decision)
                .send()
                .await?;
            Ok(url::Url::parse(response.headers()[header::LOCATION].to_str()?)?)
        })
        .await
        .unwrap_or_else(|error| panic!("the FAPI client through the quickstart: {error}"));
    assert_eq!(outcome.token_type, "DPoP");
    assert_eq!(outcome.jkt, outcome.dpop_thumbprint);
    assert!(outcome.id_token.is_some());
    assert_eq!(outcome.refreshes, 2);
}
