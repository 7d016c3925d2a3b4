//! `private_key_jwt` client authentication (RFC 7523 §2.2, RFC 7521 §4.2, OpenID Connect Core
//! §9) through the real router: a client of the host's table with inline keys, a registered
//! client with `jwks`, and one with a `jwks_uri` served on 127.0.0.1 (fetched under the
//! development switch), each getting tokens by `client_credentials` and by redeeming a code; the
//! same authentication at PAR, revocation and introspection; every refusal with its exact
//! `error` and `error_description`; registration's refusals; and, with PostgreSQL, an assertion
//! spent at one instance and refused at the other.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::{ISSUER, SECRET, authorize_code, basic, pkce, send_json, unix_now};
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, Client, ClientId, ClientKeys, ClientRegistration,
    ClientSigningAlgorithm, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest, HostError, Key, LoginOutcome,
    LoginRequest, MemoryRegistrations, PrincipalStore, RegistrationStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const REDIRECT: &str = "https://client.example.com/cb";
const TOKEN: &str = "/oauth/token";
const PAR: &str = "/oauth/par";
const REVOKE: &str = "/oauth/revoke";
const INTROSPECT: &str = "/oauth/introspect";
const REGISTER: &str = "/oauth/register";

// ---------------------------------------------------------------------------------------------
// the host
// ---------------------------------------------------------------------------------------------

/// Where registrations live: in memory, or in PostgreSQL for the two-instance test.
#[derive(Clone)]
enum Registrations {
    Memory(MemoryRegistrations),
    #[cfg(feature = "postgres")]
    Postgres(attesto::PostgresRegistrations),
}

/// A host with two clients of its own: `keyed` (`private_key_jwt`, its EdDSA key inline, which
/// it registered as its only algorithm) and `secret-client` (`client_secret_basic`); open
/// registration; every signed-in user consents.
#[derive(Clone)]
#[attesto::provider(registration)]
struct PkHost {
    keyed_jwks: Value,
    registrations: Registrations,
}

impl ClientStore for PkHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let scopes = Scopes::parse("read write").expect("scopes");
        Ok(match client_id {
            "keyed" => Some(
                Client::private_key_jwt("keyed", ClientKeys::Jwks(self.keyed_jwks.clone()))
                    .with_token_endpoint_auth_signing_alg(ClientSigningAlgorithm::EdDSA)
                    .with_scopes(scopes)
                    .with_redirect_uris([REDIRECT]),
            ),
            "secret-client" => Some(Client::confidential("secret-client", SecretHash::of(SECRET)).with_scopes(scopes)),
            _ => None,
        })
    }
}

impl PrincipalStore for PkHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match crate::common::session(request.headers) {
            Some((subject, at)) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, at)),
            None => LoginOutcome::Redirect("https://auth.example.com/login".to_owned()),
        })
    }
}

impl ConsentPolicy for PkHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

macro_rules! forward {
    ($self:ident, $store:ident => $call:expr) => {
        match &$self.registrations {
            Registrations::Memory($store) => $call.await,
            #[cfg(feature = "postgres")]
            Registrations::Postgres($store) => $call.await,
        }
    };
}

impl RegistrationStore for PkHost {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        forward!(self, store => store.create_client(registration))
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        forward!(self, store => store.load_registration(client_id))
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        forward!(self, store => store.update_client(registration))
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        forward!(self, store => store.delete_client(client_id))
    }
    // The registered test clients get tokens by client credentials too.
    async fn allow_client_credentials(&self, _: &attesto::GrantRequest<'_>) -> Result<bool, HostError> {
        Ok(true)
    }
}

/// A signing key and its public JWK, whose `kid` is the key's thumbprint.
struct Signer {
    key: Key,
}

impl Signer {
    fn new(alg: Algorithm) -> Self {
        Self { key: Key::generate(alg).expect("key") }
    }

    fn kid(&self) -> &str {
        self.key.kid()
    }

    fn jwk(&self) -> Value {
        Value::Object(self.key.public_jwk())
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// An assertion of `client_id` for this server, valid for a minute, with a fresh `jti`;
    /// `changes` overrides claims (`null` removes one).
    fn assertion(&self, client_id: &str, changes: &Value) -> String {
        self.assertion_with(&json!({"alg": self.key.algorithm().as_str(), "kid": self.kid()}), client_id, changes)
    }

    fn assertion_with(&self, header: &Value, client_id: &str, changes: &Value) -> String {
        let now = unix_now();
        let mut claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": ISSUER,
            "exp": now + 60,
            "iat": now,
            "jti": format!("{:032x}", rand::random::<u128>()),
        });
        for (name, value) in changes.as_object().expect("an object") {
            if value.is_null() {
                claims.as_object_mut().expect("an object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = self.key.sign(input.as_bytes()).expect("sign");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn provider_with(host: PkHost, loopback_jwks_uri: bool) -> Attesto<PkHost> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .scopes_supported(["read", "write"])
        .allow_loopback_jwks_uri_for_development(loopback_jwks_uri)
        .build()
        .expect("provider")
}

/// The router of a provider whose `keyed` client has `signer`'s key.
fn router(signer: &Signer) -> Router {
    let host = PkHost { keyed_jwks: signer.jwks(), registrations: Registrations::Memory(MemoryRegistrations::new()) };
    provider_with(host, true).router()
}

/// POSTs a form, with an `Authorization` header if given.
async fn post(
    router: &Router,
    path: &str,
    pairs: &[(&str, &str)],
    authorization: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    send_json(router, request.body(Body::from(body)).expect("request")).await
}

/// A client credentials request authenticated by `assertion`.
async fn client_credentials(router: &Router, assertion: &str) -> (StatusCode, HeaderMap, Value) {
    post(
        router,
        TOKEN,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "read"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
        None,
    )
    .await
}

/// Asserts `invalid_client`, 401, with exactly `description`.
#[track_caller]
fn assert_refused(response: &(StatusCode, HeaderMap, Value), description: &str) {
    assert_refused_with(response, StatusCode::UNAUTHORIZED, "invalid_client", description);
}

#[track_caller]
fn assert_refused_with(response: &(StatusCode, HeaderMap, Value), status: StatusCode, error: &str, description: &str) {
    let (actual, headers, body) = response;
    assert_eq!((*actual, body["error"].as_str()), (status, Some(error)), "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// Alice authorizes `client_id`, and the code is redeemed with an assertion of `signer`.
async fn redeem_code(router: &Router, client_id: &str, signer: &Signer) -> (StatusCode, HeaderMap, Value) {
    let (verifier, challenge) = pkce();
    let code = authorize_code(router, client_id, REDIRECT, &challenge, "read", "alice", &[]).await;
    let assertion = signer.assertion(client_id, &json!({}));
    post(
        router,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await
}

/// Registers a `private_key_jwt` client with `keys` (`jwks` or `jwks_uri` members).
async fn register(router: &Router, keys: Value) -> (StatusCode, HeaderMap, Value) {
    let mut metadata = json!({
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "client_credentials"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": "read",
    });
    for (name, value) in keys.as_object().expect("an object") {
        metadata[name] = value.clone();
    }
    let request = Request::post(REGISTER)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(metadata.to_string()))
        .expect("request");
    send_json(router, request).await
}

/// A JWKS server on 127.0.0.1 that counts its requests, and serves a client ID metadata document
/// at `/client.json`.
#[derive(Clone)]
struct JwksServer {
    addr: SocketAddr,
    jwks: Arc<Mutex<Value>>,
    document: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(jwks: Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let server = Self {
            addr: listener.local_addr().expect("address"),
            jwks: Arc::new(Mutex::new(jwks)),
            document: Arc::default(),
            hits: Arc::default(),
        };
        let (state, documents) = (server.clone(), server.clone());
        let app = Router::new()
            .route(
                "/jwks.json",
                axum::routing::get(move || {
                    let state = state.clone();
                    async move {
                        state.hits.fetch_add(1, Ordering::SeqCst);
                        let jwks = state.jwks.lock().expect("jwks").clone();
                        axum::Json(jwks)
                    }
                }),
            )
            .route(
                "/client.json",
                axum::routing::get(move || {
                    let documents = documents.clone();
                    async move { axum::Json(documents.document.lock().expect("document").clone()) }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn publish(&self, jwks: Value) {
        *self.jwks.lock().expect("jwks") = jwks;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// the three kinds of client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_host_client_with_inline_keys_gets_tokens_by_client_credentials_and_by_code() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let (status, _, body) = client_credentials(&router, &signer.assertion("keyed", &json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    // RFC 7523 §3: the token endpoint's URL is an accepted audience too.
    let to_endpoint = signer.assertion("keyed", &json!({"aud": format!("{ISSUER}{TOKEN}")}));
    assert_eq!(client_credentials(&router, &to_endpoint).await.0, StatusCode::OK);
    let (status, _, tokens) = redeem_code(&router, "keyed", &signer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn a_registered_client_with_jwks_gets_tokens_and_no_secret() {
    let host_signer = Signer::new(Algorithm::EdDSA);
    let router = router(&host_signer);
    let signer = Signer::new(Algorithm::ES256);
    let (status, _, registered) = register(&router, json!({"jwks": signer.jwks()})).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert!(registered.get("client_secret").is_none(), "{registered}");
    assert!(registered.get("client_secret_expires_at").is_none(), "{registered}");
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(registered["jwks"], signer.jwks());
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();

    let (status, _, body) = client_credentials(&router, &signer.assertion(&client_id, &json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, tokens) = redeem_code(&router, &client_id, &signer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn a_registered_client_with_a_jwks_uri_on_loopback_gets_tokens() {
    let host_signer = Signer::new(Algorithm::EdDSA);
    let router = router(&host_signer);
    let signer = Signer::new(Algorithm::RS256);
    let server = JwksServer::start(signer.jwks()).await;
    let (status, _, registered) =
        register(&router, json!({"jwks_uri": server.url(), "token_endpoint_auth_signing_alg": "RS256"})).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["jwks_uri"], server.url());
    assert_eq!(registered["token_endpoint_auth_signing_alg"], "RS256");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();

    let (status, _, body) = client_credentials(&router, &signer.assertion(&client_id, &json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, tokens) = redeem_code(&router, &client_id, &signer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(server.hits(), 1, "the JWK Set is cached");
}

#[tokio::test]
async fn without_the_development_switch_a_loopback_jwks_uri_is_not_fetched() {
    let signer = Signer::new(Algorithm::ES256);
    let server = JwksServer::start(signer.jwks()).await;
    let host =
        PkHost { keyed_jwks: json!({"keys": []}), registrations: Registrations::Memory(MemoryRegistrations::new()) };
    let router = provider_with(host, false).router();
    let (status, _, registered) = register(&router, json!({"jwks_uri": server.url()})).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let response = client_credentials(&router, &signer.assertion(&client_id, &json!({}))).await;
    assert_refused(&response, "the client's `jwks_uri` must use https");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_then_is_refused() {
    let host_signer = Signer::new(Algorithm::EdDSA);
    let router = router(&host_signer);
    let (first, rotated, made_up) =
        (Signer::new(Algorithm::ES256), Signer::new(Algorithm::ES256), Signer::new(Algorithm::ES256));
    let server = JwksServer::start(first.jwks()).await;
    let (_, _, registered) = register(&router, json!({"jwks_uri": server.url()})).await;
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    assert_eq!(client_credentials(&router, &first.assertion(&client_id, &json!({}))).await.0, StatusCode::OK);
    assert_eq!(server.hits(), 1);
    // The client rotates its key: the unknown `kid` fetches the set again, and it is there.
    server.publish(json!({"keys": [first.jwk(), rotated.jwk()]}));
    assert_eq!(client_credentials(&router, &rotated.assertion(&client_id, &json!({}))).await.0, StatusCode::OK);
    assert_eq!(server.hits(), 2);
    // Another unknown `kid` within the interval: no fetch, refused.
    server.publish(json!({"keys": [first.jwk(), rotated.jwk(), made_up.jwk()]}));
    let response = client_credentials(&router, &made_up.assertion(&client_id, &json!({}))).await;
    assert_refused(&response, "no key of the client has the client assertion's `kid`");
    assert_eq!(server.hits(), 2, "one refetch per interval");
}

#[tokio::test]
async fn the_same_method_authenticates_at_par_revocation_and_introspection() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let assert_ok = |(status, _, body): &(StatusCode, HeaderMap, Value), expected: StatusCode| {
        assert_eq!(*status, expected, "{body}");
    };
    let (_, challenge) = pkce();
    let pushed = post(
        &router,
        PAR,
        &[
            ("response_type", "code"),
            ("client_id", "keyed"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", "read"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &signer.assertion("keyed", &json!({}))),
        ],
        None,
    )
    .await;
    assert_ok(&pushed, StatusCode::CREATED);
    assert!(pushed.2["request_uri"].is_string(), "{}", pushed.2);

    let (_, _, tokens) = client_credentials(&router, &signer.assertion("keyed", &json!({}))).await;
    let access_token = tokens["access_token"].as_str().expect("access token").to_owned();
    let with_assertion = |extra: &[(&'static str, String)]| {
        let mut pairs: Vec<(&'static str, String)> = extra.to_vec();
        pairs.push(("client_assertion_type", JWT_BEARER.to_owned()));
        pairs.push(("client_assertion", signer.assertion("keyed", &json!({}))));
        pairs
    };
    let pairs = with_assertion(&[("token", access_token.clone())]);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let introspected = post(&router, INTROSPECT, &refs, None).await;
    assert_ok(&introspected, StatusCode::OK);
    assert_eq!(introspected.2["active"], true, "{}", introspected.2);
    assert_eq!(introspected.2["client_id"], "keyed");

    let pairs = with_assertion(&[("token", access_token.clone())]);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (status, _, _) = crate::common::send(
        &router,
        Request::post(REVOKE)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_urlencoded::Serializer::new(String::new()).extend_pairs(refs).finish()))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let pairs = with_assertion(&[("token", access_token)]);
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let after = post(&router, INTROSPECT, &refs, None).await;
    assert_eq!(after.2["active"], false, "revoked: {}", after.2);

    // A refusal at each of them is the token endpoint's.
    let wrong = signer.assertion("keyed", &json!({"aud": "https://elsewhere.example"}));
    for path in [PAR, REVOKE, INTROSPECT] {
        let response = post(
            &router,
            path,
            &[("token", "x"), ("client_assertion_type", JWT_BEARER), ("client_assertion", &wrong)],
            None,
        )
        .await;
        assert_refused(
            &response,
            "the client assertion's `aud` must be this server's issuer identifier or token endpoint URL",
        );
    }
}

#[tokio::test]
async fn a_client_id_metadata_document_with_a_jwks_uri_authenticates_by_its_key() {
    let signer = Signer::new(Algorithm::ES256);
    let server = JwksServer::start(signer.jwks()).await;
    let client_id = format!("http://{}/client.json", server.addr);
    *server.document.lock().expect("document") = json!({
        "client_id": client_id,
        "client_name": "A ChatGPT-like client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": server.url(),
    });
    let host =
        PkHost { keyed_jwks: json!({"keys": []}), registrations: Registrations::Memory(MemoryRegistrations::new()) };
    let router = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .scopes_supported(["read", "write"])
        .client_metadata_documents(attesto::ClientMetadataDocuments::new().allow_loopback_for_development(true))
        .allow_loopback_jwks_uri_for_development(true)
        .build()
        .expect("provider")
        .router();
    let (status, _, tokens) = redeem_code(&router, &client_id, &signer).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // Its `client_id` alone is no longer enough: it is a confidential client.
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, &client_id, REDIRECT, &challenge, "read", "alice", &[]).await;
    let response = post(
        &router,
        TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
        ],
        None,
    )
    .await;
    assert_refused_with(&response, StatusCode::BAD_REQUEST, "invalid_client", "client authentication failed");
}

// ---------------------------------------------------------------------------------------------
// the refusals
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_faulty_assertion_is_refused_with_its_reason() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let other = Signer::new(Algorithm::EdDSA);
    let es256 = Signer::new(Algorithm::ES256);
    let now = unix_now();
    let header = json!({"alg": "EdDSA", "kid": signer.kid()});
    let unsigned = {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": signer.kid()}).to_string());
        let claims = json!({"iss": "keyed", "sub": "keyed", "aud": ISSUER, "exp": now + 60, "jti": "u"});
        format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
    };
    // HS256 "signed" with the client's public key as the HMAC secret: the algorithm-confusion
    // attack on verifiers that let the header choose.
    let hmac = {
        let x = signer.jwk()["x"].as_str().expect("x").to_owned();
        let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        jwt_header.kid = Some(signer.kid().to_owned());
        let claims = json!({"iss": "keyed", "sub": "keyed", "aud": ISSUER, "exp": now + 60, "jti": "h"});
        jsonwebtoken::encode(&jwt_header, &claims, &jsonwebtoken::EncodingKey::from_secret(x.as_bytes()))
            .expect("HS256")
    };
    // Signed by another key under the client's `kid`.
    let forged = other.assertion_with(&header, "keyed", &json!({}));
    // An algorithm the key fits but the client did not register (EdDSA only).
    let unregistered_alg = es256.assertion_with(&json!({"alg": "ES256", "kid": signer.kid()}), "keyed", &json!({}));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong aud",
            signer.assertion("keyed", &json!({"aud": "https://other.example"})),
            "the client assertion's `aud` must be this server's issuer identifier or token endpoint URL",
        ),
        (
            "expired",
            signer.assertion("keyed", &json!({"exp": now - 120, "iat": now - 180})),
            "the client assertion has expired",
        ),
        (
            "exp too far",
            signer.assertion("keyed", &json!({"exp": now + 3600})),
            "the client assertion's `exp` is more than 5 minutes ahead",
        ),
        (
            "no exp",
            signer.assertion("keyed", &json!({"exp": null})),
            "the client assertion has no `exp` (RFC 7523 section 3)",
        ),
        (
            "iat ahead",
            signer.assertion("keyed", &json!({"iat": now + 600})),
            "the client assertion's `iat` is in the future",
        ),
        (
            "nbf ahead",
            signer.assertion("keyed", &json!({"nbf": now + 600})),
            "the client assertion is not valid yet (`nbf`)",
        ),
        (
            "no jti",
            signer.assertion("keyed", &json!({"jti": null})),
            "the client assertion has no `jti` (at most 256 bytes), which makes it single-use",
        ),
        (
            "unknown kid",
            signer.assertion_with(&json!({"alg": "EdDSA", "kid": "nope"}), "keyed", &json!({})),
            "no key of the client has the client assertion's `kid`",
        ),
        ("alg none", unsigned, "the client assertion is unsigned (`alg` `none`)"),
        (
            "HS256 with the public key",
            hmac,
            "the client assertion is signed with an HMAC: client_secret_jwt is not supported, sign with a private key (private_key_jwt)",
        ),
        (
            "iss and sub differ",
            signer.assertion("keyed", &json!({"sub": "secret-client"})),
            "the client assertion's `sub` must be the client id (RFC 7523 section 3)",
        ),
        (
            "no sub",
            signer.assertion("keyed", &json!({"sub": null})),
            "the client assertion's `sub` must be the client id (RFC 7523 section 3)",
        ),
        (
            "no iss",
            signer.assertion("keyed", &json!({"iss": null})),
            "the client assertion has no `iss`: it must be the client id (RFC 7523 section 3)",
        ),
        ("another key", forged, "the client assertion's signature does not verify with the client's keys"),
        (
            "unregistered alg",
            unregistered_alg,
            "the client assertion's `alg` is not the client's registered `token_endpoint_auth_signing_alg`",
        ),
        ("unknown client", signer.assertion("nobody", &json!({})), "unknown client"),
        (
            "a client_secret_basic client",
            signer.assertion("secret-client", &json!({})),
            "the client is not registered for private_key_jwt authentication",
        ),
        (
            "not a JWT",
            "not.a.jwt".to_owned(),
            "the client assertion is not a signed JWT (RFC 7515 section 7.1 compact serialization)",
        ),
        ("too large", "a".repeat(8193), "the client assertion is larger than 8192 bytes"),
        (
            "crit",
            signer.assertion_with(&json!({"alg": "EdDSA", "kid": signer.kid(), "crit": ["exp"]}), "keyed", &json!({})),
            "the client assertion's header has a `crit` member this server does not understand",
        ),
        (
            "ES512",
            signer.assertion_with(&json!({"alg": "ES512", "kid": signer.kid()}), "keyed", &json!({})),
            "the client assertion's `alg` is not supported: use ES256, ES384, EdDSA, PS256 or RS256",
        ),
    ];
    for (name, assertion, description) in cases {
        let response = client_credentials(&router, &assertion).await;
        assert_eq!(response.0, StatusCode::UNAUTHORIZED, "{name}: {}", response.2);
        assert_refused(&response, description);
    }
}

#[tokio::test]
async fn the_form_around_the_assertion_is_checked() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let grant = ("grant_type", "client_credentials");
    let assertion = signer.assertion("keyed", &json!({}));
    // The form's `client_id` must be the assertion's client (RFC 7521 §4.2).
    let response = post(
        &router,
        TOKEN,
        &[
            grant,
            ("client_id", "secret-client"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_refused(&response, "`client_id` differs from the client assertion's `iss` (RFC 7521 section 4.2)");
    let response = post(
        &router,
        TOKEN,
        &[
            grant,
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
            ("client_assertion", &assertion),
        ],
        None,
    )
    .await;
    assert_refused(
        &response,
        "unsupported `client_assertion_type`: use urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    );
    // Two methods at once (RFC 6749 §2.3): an assertion and a secret, in the form or as Basic.
    let two = "the client used two authentication methods (a client assertion and a client secret)";
    let response = post(
        &router,
        TOKEN,
        &[grant, ("client_secret", SECRET), ("client_assertion_type", JWT_BEARER), ("client_assertion", &assertion)],
        None,
    )
    .await;
    assert_refused_with(&response, StatusCode::BAD_REQUEST, "invalid_request", two);
    let response = post(
        &router,
        TOKEN,
        &[grant, ("client_assertion_type", JWT_BEARER), ("client_assertion", &assertion)],
        Some(&basic("keyed", SECRET)),
    )
    .await;
    assert_refused_with(&response, StatusCode::BAD_REQUEST, "invalid_request", two);
    let response = post(&router, TOKEN, &[grant, ("client_assertion_type", JWT_BEARER)], None).await;
    assert_refused_with(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "`client_assertion_type` without `client_assertion`",
    );
    let response = post(&router, TOKEN, &[grant, ("client_assertion", &assertion)], None).await;
    assert_refused_with(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "`client_assertion` without `client_assertion_type`",
    );
    // A secret for a client registered for `private_key_jwt` is refused, as any wrong method.
    let response = post(&router, TOKEN, &[grant], Some(&basic("keyed", SECRET))).await;
    assert_refused_with(&response, StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    // None of these spent the assertion's `jti`.
    assert_eq!(client_credentials(&router, &assertion).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_client_without_usable_keys_is_refused_with_the_reason() {
    // The host's client has no usable key in its set.
    let signer = Signer::new(Algorithm::EdDSA);
    let host = PkHost {
        keyed_jwks: json!({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}),
        registrations: Registrations::Memory(MemoryRegistrations::new()),
    };
    let router = provider_with(host, true).router();
    assert_refused(
        &client_credentials(&router, &signer.assertion("keyed", &json!({}))).await,
        "the client has no key to verify its assertion with",
    );
    // A `jwks_uri` that answers 404, or serves a set without a usable key.
    let server = JwksServer::start(json!({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]})).await;
    let missing = format!("http://{}/missing.json", server.addr);
    for (jwks_uri, description) in [
        (missing, "the client's `jwks_uri` could not be fetched"),
        (server.url(), "the JWK Set at the client's `jwks_uri` holds no usable public signature key"),
    ] {
        let (status, _, registered) = register(&router, json!({"jwks_uri": jwks_uri})).await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        let client_id = registered["client_id"].as_str().expect("client_id");
        assert_refused(&client_credentials(&router, &signer.assertion(client_id, &json!({}))).await, description);
    }
}

#[tokio::test]
async fn an_update_cannot_trade_keys_for_a_secret() {
    let router = router(&Signer::new(Algorithm::EdDSA));
    let signer = Signer::new(Algorithm::ES256);
    let (_, _, registered) = register(&router, json!({"jwks": signer.jwks()})).await;
    let client_id = registered["client_id"].as_str().expect("client_id");
    let token = registered["registration_access_token"].as_str().expect("registration access token");
    let update = json!({
        "client_id": client_id,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    let request = Request::put(format!("{REGISTER}/{client_id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(update.to_string()))
        .expect("request");
    let response = send_json(&router, request).await;
    assert_refused_with(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        "`token_endpoint_auth_method` cannot change between a client secret and private_key_jwt; register a new client",
    );
    // The same keys again are an update like any other.
    let mut same = update;
    same["token_endpoint_auth_method"] = json!("private_key_jwt");
    same["jwks"] = signer.jwks();
    let request = Request::put(format!("{REGISTER}/{client_id}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(same.to_string()))
        .expect("request");
    let (status, _, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("client_secret").is_none(), "{body}");
}

#[tokio::test]
async fn an_assertion_is_single_use_and_a_forgery_spends_nothing() {
    let signer = Signer::new(Algorithm::EdDSA);
    let router = router(&signer);
    let assertion = signer.assertion("keyed", &json!({}));
    assert_eq!(client_credentials(&router, &assertion).await.0, StatusCode::OK);
    let replayed = client_credentials(&router, &assertion).await;
    assert_refused(&replayed, "the client assertion was used before: its `jti` is single-use");
    // A forged assertion with a `jti` the client is about to use writes nothing: the client's
    // own assertion with that `jti` still works.
    let header = json!({"alg": "EdDSA", "kid": signer.kid()});
    let forged = Signer::new(Algorithm::EdDSA).assertion_with(&header, "keyed", &json!({"jti": "upcoming"}));
    assert_refused(
        &client_credentials(&router, &forged).await,
        "the client assertion's signature does not verify with the client's keys",
    );
    let genuine = signer.assertion("keyed", &json!({"jti": "upcoming"}));
    assert_eq!(client_credentials(&router, &genuine).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_issuer_only_audience_refuses_the_token_endpoint_url() {
    let signer = Signer::new(Algorithm::EdDSA);
    let host = PkHost { keyed_jwks: signer.jwks(), registrations: Registrations::Memory(MemoryRegistrations::new()) };
    let router = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .client_assertion_audience(attesto::ClientAssertionAudience::IssuerOnly)
        .build()
        .expect("provider")
        .router();
    let to_endpoint = signer.assertion("keyed", &json!({"aud": format!("{ISSUER}{TOKEN}")}));
    assert_refused(
        &client_credentials(&router, &to_endpoint).await,
        "the client assertion's `aud` must be this server's issuer identifier",
    );
    let to_issuer = signer.assertion("keyed", &json!({"aud": [ISSUER]}));
    assert_eq!(client_credentials(&router, &to_issuer).await.0, StatusCode::OK);
}

#[tokio::test]
async fn registration_refuses_faulty_keys() {
    let signer = Signer::new(Algorithm::ES256);
    let router = router(&Signer::new(Algorithm::EdDSA));
    let mut private = signer.jwk();
    private["d"] = json!("AAAA");
    let mut duplicate = Signer::new(Algorithm::EdDSA).jwk();
    duplicate["kid"] = json!(signer.kid());
    let cases = [
        (
            json!({"jwks": {"keys": [private]}}),
            "`jwks` must hold public keys only: a key has private or symmetric key material",
        ),
        (json!({"jwks": {"keys": [signer.jwk(), duplicate]}}), "two keys of `jwks` have the same `kid`"),
        (
            json!({"jwks": signer.jwks(), "jwks_uri": "https://client.example.com/jwks"}),
            "`jwks` and `jwks_uri` must not both be present (RFC 7591 section 2)",
        ),
        (json!({}), "`private_key_jwt` needs the client's public keys: send `jwks` or `jwks_uri`"),
        (
            json!({"jwks_uri": "http://client.example.com/jwks"}),
            "`jwks_uri` must be an https URL without credentials or fragment",
        ),
        (
            json!({"jwks": signer.jwks(), "token_endpoint_auth_signing_alg": "HS256"}),
            "`token_endpoint_auth_signing_alg` must be one of ES256, ES384, EdDSA, PS256 or RS256",
        ),
        (
            json!({"jwks": signer.jwks(), "token_endpoint_auth_signing_alg": "EdDSA"}),
            "no key of `jwks` can verify the `token_endpoint_auth_signing_alg`",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
            "`client_secret_jwt` is not supported: it needs the client secret in clear on the server, which stores only its hash; use private_key_jwt",
        ),
    ];
    for (keys, description) in cases {
        let response = register(&router, keys.clone()).await;
        assert_refused_with(&response, StatusCode::BAD_REQUEST, "invalid_client_metadata", description);
    }
}

/// Two providers on one PostgreSQL schema, as two instances: an assertion spent at one is
/// refused at the other, and a client registered with a `jwks_uri` at one (its metadata in the
/// shared table) authenticates at the other.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_spent_at_one_instance_is_refused_at_the_other() {
    let Some(schema) = crate::databases::postgres_schema().await else { return };
    let signer = Signer::new(Algorithm::EdDSA);
    let mut routers = Vec::new();
    for pool in [schema.pool.clone(), schema.another_pool().await] {
        let store = attesto::PostgresStore::from_pool(pool);
        store.migrate().await.expect("migrate");
        let host = PkHost { keyed_jwks: signer.jwks(), registrations: Registrations::Postgres(store.registrations()) };
        let auth = Attesto::builder(host)
            .issuer(ISSUER)
            .expect("issuer")
            .signing_key(Key::generate(Algorithm::ES256).expect("key"))
            .scopes_supported(["read", "write"])
            .allow_loopback_jwks_uri_for_development(true)
            .store(store)
            .build()
            .expect("provider");
        routers.push(auth.router());
    }
    let assertion = signer.assertion("keyed", &json!({}));
    assert_eq!(client_credentials(&routers[0], &assertion).await.0, StatusCode::OK);
    assert_refused(
        &client_credentials(&routers[1], &assertion).await,
        "the client assertion was used before: its `jti` is single-use",
    );

    let client_signer = Signer::new(Algorithm::PS256);
    let server = JwksServer::start(client_signer.jwks()).await;
    let (status, _, registered) =
        register(&routers[0], json!({"jwks_uri": server.url(), "token_endpoint_auth_signing_alg": "PS256"})).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let at_b = client_credentials(&routers[1], &client_signer.assertion(&client_id, &json!({}))).await;
    assert_eq!(at_b.0, StatusCode::OK, "{}", at_b.2);
    // The registered algorithm came back from the table: another one is refused.
    let other_alg = Signer::new(Algorithm::RS256);
    let header = json!({"alg": "RS256", "kid": client_signer.kid()});
    assert_refused(
        &client_credentials(&routers[1], &other_alg.assertion_with(&header, &client_id, &json!({}))).await,
        "the client assertion's `alg` is not the client's registered `token_endpoint_auth_signing_alg`",
    );
}
