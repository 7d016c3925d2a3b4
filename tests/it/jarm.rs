//! JWT Secured Authorization Response Mode (JARM) through the real router: `jwt`, `query.jwt` and
//! `form_post.jwt` responses, success and error, verified against the provider's JWKS; `state`
//! through the login page, consent and PAR; what stays a page; the `authorization_signed_response_alg`
//! and encryption members at registration; discovery.

use std::collections::HashMap;
use std::sync::Arc;

use crate::common::*;
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, Client, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest,
    GrantType, HostError, Key, LoginOutcome, LoginRequest, MemoryRegistrations, PrincipalStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

const AUTHORIZE: &str = "/oauth/authorize";
const JWKS: &str = "/oauth/jwks";
const PAR: &str = "/oauth/par";
const REGISTER: &str = "/oauth/register";

/// The test clients, and `rs256-web`: a client of the host's table that asks for RS256
/// responses, which the ES256 provider cannot sign.
fn jarm_provider() -> Attesto<TestHost> {
    let mut clients = clients();
    clients.insert(
        "rs256-web".to_owned(),
        Client::confidential("rs256-web", SecretHash::of(SECRET))
            .with_scopes(Scopes::parse("read").expect("scopes"))
            .with_redirect_uris([WEB_REDIRECT])
            .with_grant_types([GrantType::AuthorizationCode])
            .with_authorization_signed_response_alg(Algorithm::RS256),
    );
    provider(TestHost { clients: Arc::new(clients), events: Arc::default() })
}

/// An authorization request of `client_id` to [`WEB_REDIRECT`] with `state=xyz`, plus `extra`.
fn request_uri(client_id: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "openid read"),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    authorize_url(AUTHORIZE, &params)
}

/// Verifies a response JWT against the served JWKS (JARM §2.4): the header (`typ: JWT`, the
/// signing key's `kid` and algorithm), the signature, `iss`, `aud` = `client_id` and an `exp` at
/// most 10 minutes ahead; returns its claims.
async fn verify_response(router: &Router, token: &str, client_id: &str) -> Value {
    let (status, _, jwks) = send_json(router, Request::get(JWKS).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let kid = header.kid.expect("kid in the header");
    let jwk = jwks.find(&kid).expect("the signing key is in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    let claims = decode::<Value>(token, &key, &validation).expect("the response verifies").claims;
    let exp = claims["exp"].as_u64().expect("a numeric exp");
    let now = unix_now();
    assert!(exp > now + 590 && exp <= now + 600, "exp {exp} is 10 minutes ahead of {now}");
    claims
}

/// The claims of a response JWT without `exp`, which [`verify_response`] checked.
fn without_exp(mut claims: Value) -> Value {
    claims.as_object_mut().expect("an object").remove("exp");
    claims
}

/// The one `response` parameter of a `query.jwt` redirect to [`WEB_REDIRECT`].
fn query_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> String {
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(body));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let (base, params) = redirect_params(headers);
    assert_eq!(base, WEB_REDIRECT);
    assert_eq!(params.keys().collect::<Vec<_>>(), ["response"], "nothing but `response` in the query: {params:?}");
    params["response"].clone()
}

/// The hidden inputs of a form_post page.
fn hidden_inputs(html: &str) -> HashMap<String, String> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|input| {
            let (name, rest) = input.split_once("\" value=\"").expect("a value");
            (name.to_owned(), rest.split('"').next().expect("a quoted value").to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Success and error responses in each mode
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn jwt_and_query_jwt_send_the_code_and_state_as_one_signed_response() {
    let router = jarm_provider().router();
    for mode in ["jwt", "query.jwt"] {
        let (verifier, challenge) = pkce();
        let uri = request_uri("first-party", &challenge, &[("response_mode", mode)]);
        let (status, headers, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
        let response = query_response(status, &headers, &body);
        let claims = verify_response(&router, &response, "first-party").await;
        let code = claims["code"].as_str().expect("a code").to_owned();
        assert_eq!(without_exp(claims), json!({"iss": ISSUER, "aud": "first-party", "code": code, "state": "xyz"}));
        // The code inside is an ordinary code.
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            form_urlencoded::byte_serialize(WEB_REDIRECT.as_bytes()).collect::<String>()
        );
        let (status, _, tokens) =
            token(&router, TestHost::PATHS.token, Some(&basic("first-party", SECRET)), &form).await;
        assert_eq!(status, StatusCode::OK, "{mode}: {tokens}");
        assert!(tokens["access_token"].is_string());
    }
}

#[tokio::test]
async fn form_post_jwt_posts_the_signed_response() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    let uri = request_uri("first-party", &challenge, &[("response_mode", "form_post.jwt")]);
    let (status, headers, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::LOCATION).is_none());
    let html = String::from_utf8(body).expect("UTF-8");
    assert!(html.contains(&format!("action=\"{WEB_REDIRECT}\"")), "{html}");
    let inputs = hidden_inputs(&html);
    assert_eq!(inputs.keys().collect::<Vec<_>>(), ["response"], "{html}");
    let claims = verify_response(&router, &inputs["response"], "first-party").await;
    assert!(claims["code"].is_string());
    assert_eq!(claims["state"], "xyz");
}

#[tokio::test]
async fn errors_go_back_as_signed_responses_in_each_mode() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    let session = session_cookie("alice");
    // An error of the request itself, before anyone signed in.
    let uri = request_uri("first-party", &challenge, &[("response_mode", "jwt"), ("prompt", "bogus")]);
    let (status, headers, body) = browser_get(&router, &uri, None).await;
    let claims = verify_response(&router, &query_response(status, &headers, &body), "first-party").await;
    assert_eq!(
        without_exp(claims),
        json!({
            "iss": ISSUER,
            "aud": "first-party",
            "error": "invalid_request",
            "error_description": "unsupported `prompt` value",
            "state": "xyz",
        })
    );
    // A denial by the consent policy, after sign-in.
    let uri = request_uri("blocked", &challenge, &[("response_mode", "query.jwt")]);
    let (status, headers, body) = browser_get(&router, &uri, Some(&session)).await;
    let claims = verify_response(&router, &query_response(status, &headers, &body), "blocked").await;
    assert_eq!(
        without_exp(claims),
        json!({
            "iss": ISSUER,
            "aud": "blocked",
            "error": "access_denied",
            "error_description": "the request was denied",
            "state": "xyz",
        })
    );
    // Without `state`, no `state` claim.
    let uri = request_uri("blocked", &challenge, &[("response_mode", "form_post.jwt")]).replace("&state=xyz", "");
    let (status, _, body) = browser_get(&router, &uri, Some(&session)).await;
    assert_eq!(status, StatusCode::OK);
    let inputs = hidden_inputs(&String::from_utf8(body).expect("UTF-8"));
    let claims = verify_response(&router, &inputs["response"], "blocked").await;
    assert_eq!(
        without_exp(claims),
        json!({"iss": ISSUER, "aud": "blocked", "error": "access_denied", "error_description": "the request was denied"})
    );
}

#[tokio::test]
async fn an_unknown_response_mode_is_invalid_request_in_the_default_mode() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    for mode in ["fragment.jwt", "fragment", "jwt.query", "JWT"] {
        let uri = request_uri("first-party", &challenge, &[("response_mode", mode)]);
        let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{mode}");
        let (base, params) = redirect_params(&headers);
        assert_eq!(base, WEB_REDIRECT);
        let expected: HashMap<String, String> = [
            ("error", "invalid_request"),
            ("error_description", "unsupported `response_mode`"),
            ("state", "xyz"),
            ("iss", ISSUER),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(params, expected, "{mode}");
    }
}

#[tokio::test]
async fn errors_shown_on_a_page_stay_pages() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    // An unknown client, an unregistered redirect URI: nothing goes to the client.
    let unknown = request_uri("nobody-knows", &challenge, &[("response_mode", "jwt")]);
    let unregistered = request_uri("first-party", &challenge, &[("response_mode", "jwt")])
        .replace("client.example.com", "evil.example");
    for uri in [unknown, unregistered] {
        let (status, headers, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(headers.get(header::LOCATION).is_none(), "{uri}");
        let html = String::from_utf8(body).expect("UTF-8");
        assert!(!html.contains("eyJ"), "no response JWT on the page: {html}");
    }
}

#[tokio::test]
async fn a_client_whose_algorithm_the_server_cannot_sign_with_is_refused_on_a_page() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    let uri = request_uri("rs256-web", &challenge, &[("response_mode", "jwt")]);
    let request = Request::get(&uri)
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, session_cookie("alice"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(headers.get(header::LOCATION).is_none());
    assert_eq!(body["error"], "server_error");
    assert_eq!(
        body["error_description"],
        "this client's `authorization_signed_response_alg` is not the algorithm of this server's signing key"
    );
    // The algorithm does not turn JARM on: without a JWT mode the request goes on (to consent).
    let plain = request_uri("rs256-web", &challenge, &[]);
    let (status, _, _) = browser_get(&router, &plain, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::OK, "the consent page");
}

// ---------------------------------------------------------------------------------------------
// `state` through the login page, consent and PAR
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_mode_and_state_survive_the_login_page_and_consent() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    let uri = request_uri("web", &challenge, &[("response_mode", "jwt")]);
    // No session: the host's login page, with where to come back.
    let (status, headers, _) = browser_get(&router, &uri, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().expect("ASCII");
    assert!(location.starts_with(LOGIN_PAGE), "{location}");
    let url = url::Url::parse(location).expect("a URL");
    let return_to = url.query_pairs().find(|(k, _)| k == "return_to").expect("return_to").1.into_owned();
    let resume = return_to.strip_prefix(ISSUER).expect("a resume URI on the issuer").to_owned();
    // The request is sealed into the resume URI, bound to this browser by the login cookie.
    let login_cookie = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-attesto-login-"))
        .and_then(|v| v.split(';').next())
        .expect("a login cookie")
        .to_owned();
    let session = session_cookie("alice");
    // Signed in, back: the consent page, then the decision.
    let (status, headers, page) = browser_get(&router, &resume, Some(&format!("{login_cookie}; {session}"))).await;
    let page = String::from_utf8(page).expect("UTF-8");
    assert_eq!(status, StatusCode::OK, "the consent page: {page}");
    let csrf_cookie = headers[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("a cookie");
    let decision = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("attesto_consent", hidden_input(&page, "attesto_consent").as_str()),
            ("attesto_csrf", &hidden_input(&page, "attesto_csrf")),
            ("attesto_decision", "allow"),
        ])
        .finish();
    let cookies = format!("{session}; {csrf_cookie}");
    let (status, headers, body) = browser_post(&router, AUTHORIZE, Some(&cookies), &decision).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (base, params) = redirect_params(&headers);
    assert_eq!(base, WEB_REDIRECT);
    assert_eq!(params.keys().collect::<Vec<_>>(), ["response"], "{params:?}");
    let claims = verify_response(&router, &params["response"], "web").await;
    assert_eq!(claims["state"], "xyz");
    assert!(claims["code"].is_string());
}

#[tokio::test]
async fn a_pushed_request_keeps_its_jwt_mode() {
    let router = jarm_provider().router();
    let (_, challenge) = pkce();
    let pairs = [
        ("response_type", "code"),
        ("client_id", "first-party"),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "openid read"),
        ("state", "pushed-state"),
        ("response_mode", "form_post.jwt"),
    ];
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let (status, _, pushed) = token(&router, PAR, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().expect("a request_uri");
    let uri = authorize_url(AUTHORIZE, &[("client_id", "first-party"), ("request_uri", request_uri)]);
    let (status, _, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::OK);
    let inputs = hidden_inputs(&String::from_utf8(body).expect("UTF-8"));
    let claims = verify_response(&router, &inputs["response"], "first-party").await;
    assert_eq!(claims["state"], "pushed-state");
    assert!(claims["code"].is_string());
    // PAR refuses an unknown mode as the authorization endpoint does.
    let body = body_with(&pairs, ("response_mode", "fragment.jwt"));
    let (status, _, error) = token(&router, PAR, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_request");
    assert_eq!(error["error_description"], "unsupported `response_mode`");
}

/// `pairs` as a form, with `replace` instead of the pair of the same name.
fn body_with(pairs: &[(&str, &str)], replace: (&str, &str)) -> String {
    let pairs = pairs.iter().map(|&(name, value)| if name == replace.0 { replace } else { (name, value) });
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

// ---------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------

/// A provider with open registration in memory, signing in with the `test-session` cookie and
/// granting consent without a page.
#[derive(Clone, Default)]
#[attesto::provider(registration = "registrations")]
struct RegisteringHost {
    registrations: MemoryRegistrations,
}

impl ClientStore for RegisteringHost {}

impl PrincipalStore for RegisteringHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match session(request.headers) {
            Some((subject, auth_time)) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, auth_time)),
            None => LoginOutcome::LoginRequired,
        })
    }
}

impl ConsentPolicy for RegisteringHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

fn registering_router(key: Key) -> Router {
    Attesto::builder(RegisteringHost::default())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(key)
        .build()
        .expect("provider")
        .router()
}

async fn register(router: &Router, metadata: &Value) -> (StatusCode, HeaderMap, Value) {
    let request = Request::post(REGISTER)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(metadata.to_string()))
        .expect("request");
    send_json(router, request).await
}

fn metadata(extra: &Value) -> Value {
    let mut metadata = json!({"redirect_uris": [WEB_REDIRECT], "token_endpoint_auth_method": "none"});
    for (name, value) in extra.as_object().expect("an object") {
        metadata[name] = value.clone();
    }
    metadata
}

#[tokio::test]
async fn registration_accepts_the_servers_algorithm_and_the_client_gets_jwt_responses() {
    let router = registering_router(Key::generate(Algorithm::ES256).expect("key"));
    let (status, _, client) =
        register(&router, &metadata(&json!({"authorization_signed_response_alg": "ES256"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["authorization_signed_response_alg"], "ES256");
    let client_id = client["client_id"].as_str().expect("a client id");
    // The registration reads back with it (RFC 7592 §2.1).
    let read = Request::get(client["registration_client_uri"].as_str().expect("a URI").replace(ISSUER, ""))
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", client["registration_access_token"].as_str().expect("a token")),
        )
        .body(Body::empty())
        .expect("request");
    let (status, _, read) = send_json(&router, read).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["authorization_signed_response_alg"], "ES256");
    let (_, challenge) = pkce();
    let uri = request_uri(client_id, &challenge, &[("response_mode", "jwt")]).replace("&scope=openid+read", "");
    let (status, headers, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    let claims = verify_response(&router, &query_response(status, &headers, &body), client_id).await;
    assert!(claims["code"].is_string(), "{claims}");
    // Without the member, nothing is added, and the client may still ask for JWT responses.
    let (status, _, plain) = register(&router, &metadata(&json!({}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(plain.get("authorization_signed_response_alg").is_none(), "{plain}");
}

#[tokio::test]
async fn the_interstitial_page_of_an_unvouched_client_carries_the_signed_response() {
    // RFC 9700 §4.11.2: before sign-in, an error for a self-registered client is a page with a
    // link the user may follow; in a JWT mode the link carries the `response` JWT only.
    let router = registering_router(Key::generate(Algorithm::ES256).expect("key"));
    let (status, _, client) = register(&router, &metadata(&json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = client["client_id"].as_str().expect("a client id");
    let (_, challenge) = pkce();
    let uri = request_uri(client_id, &challenge, &[("response_mode", "jwt"), ("prompt", "bogus")])
        .replace("&scope=openid+read", "");
    let (status, headers, body) = browser_get(&router, &uri, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers.get(header::LOCATION).is_none());
    let html = String::from_utf8(body).expect("UTF-8");
    let href =
        html.split("href=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a link").replace("&amp;", "&");
    let link = url::Url::parse(&href).expect("a URL");
    assert_eq!(link.as_str().split('?').next(), Some(WEB_REDIRECT));
    let params: HashMap<String, String> = link.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert_eq!(params.keys().collect::<Vec<_>>(), ["response"], "{params:?}");
    let claims = verify_response(&router, &params["response"], client_id).await;
    assert_eq!(
        without_exp(claims),
        json!({
            "iss": ISSUER,
            "aud": client_id,
            "error": "invalid_request",
            "error_description": "unsupported `prompt` value",
            "state": "xyz",
        })
    );
}

#[tokio::test]
async fn registration_refuses_other_algorithms_and_encryption() {
    let router = registering_router(Key::generate(Algorithm::EdDSA).expect("key"));
    let (status, _, accepted) =
        register(&router, &metadata(&json!({"authorization_signed_response_alg": "EdDSA"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    // OIDC Registration §2: a signed userinfo response, in the key's algorithm.
    let (status, _, accepted) = register(&router, &metadata(&json!({"userinfo_signed_response_alg": "EdDSA"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    assert_eq!(accepted["userinfo_signed_response_alg"], "EdDSA");
    let refusals = [
        (
            json!({"authorization_signed_response_alg": "ES256"}),
            "`authorization_signed_response_alg` must be EdDSA, the algorithm this server signs with",
        ),
        (
            json!({"authorization_signed_response_alg": "none"}),
            "`authorization_signed_response_alg` must be EdDSA, the algorithm this server signs with",
        ),
        (
            json!({"authorization_signed_response_alg": "HS256"}),
            "`authorization_signed_response_alg` must be EdDSA, the algorithm this server signs with",
        ),
        (
            json!({"authorization_signed_response_alg": ["EdDSA"]}),
            "`authorization_signed_response_alg` must be a string",
        ),
        (
            json!({"authorization_encrypted_response_alg": "RSA-OAEP-256"}),
            "`authorization_encrypted_response_alg` is not supported: this server signs responses and does not encrypt them",
        ),
        (
            json!({"userinfo_signed_response_alg": "ES256"}),
            "`userinfo_signed_response_alg` must be EdDSA, the algorithm this server signs with",
        ),
        (
            json!({"userinfo_encrypted_response_alg": "RSA-OAEP-256"}),
            "`userinfo_encrypted_response_alg` is not supported: this server signs responses and does not encrypt them",
        ),
        (
            json!({"authorization_signed_response_alg": "EdDSA", "authorization_encrypted_response_enc": "A128CBC-HS256"}),
            "`authorization_encrypted_response_enc` is not supported: this server signs responses and does not encrypt them",
        ),
    ];
    for (extra, description) in refusals {
        let (status, headers, body) = register(&router, &metadata(&extra)).await;
        assert_error(&(status, headers, body.clone()), StatusCode::BAD_REQUEST, "invalid_client_metadata");
        assert_eq!(body["error_description"], description, "{extra}");
    }
}

// ---------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_lists_the_jwt_modes_and_the_signing_algorithm() {
    let router = registering_router(Key::generate(Algorithm::PS256).expect("key"));
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let (status, _, document) = send_json(&router, Request::get(path).body(Body::empty()).expect("request")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            document["response_modes_supported"],
            json!(["query", "form_post", "jwt", "query.jwt", "form_post.jwt"]),
            "{path}"
        );
        assert_eq!(document["authorization_signing_alg_values_supported"], json!(["PS256"]), "{path}");
    }
}
