//! The OpenID Connect `claims` request parameter (OIDC Core §5.5), through the real router: sent
//! by value, pushed (RFC 9126) and in a signed request object (RFC 9101, where it is a JSON
//! object), it reaches the host's claim builders with `claims_locales` (§5.2) for the ID token of
//! the code, the ID tokens of the refreshes and userinfo; every malformed value is refused with
//! its exact `invalid_request`; a `sub` requested with another user's value yields no tokens; an
//! `acr` request reaches the host's login with `acr_values` and, essential, is enforced; a
//! grant gone from the store is refused at userinfo; and discovery says
//! `claims_parameter_supported`. The quickstart's own claims are tested with its other flows in
//! `grants.rs`; the store's `find_grant` by the store contract in `store.rs`.

use std::sync::Arc;
use std::time::SystemTime;

use attesto::store::Store as _;
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, ClaimsQuery, Client, ClientStore, ConsentDecision, ConsentPolicy,
    ConsentRequest, HostError, Key, LoginOutcome, LoginRequest, MemoryStore, PrincipalStore, Scopes,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::common::{
    ISSUER, RESOURCE, SECRET, TestHost, WEB_REDIRECT, allow_on_consent_page, authorize_code, authorize_url, basic,
    browser_get, pkce, provider, redirect_params, send, send_json, session_cookie, token, unix_now,
};

const AUTHORIZE: &str = "/oauth/authorize";
const PAR: &str = "/oauth/par";
const TOKEN: &str = "/oauth/token";
const USERINFO: &str = "/oauth/userinfo";

/// ID token and userinfo claims requested together, in the form the examples use.
const REQUESTED: &str = r#"{"id_token":{"email":{"essential":true}},"userinfo":{"name":null},"unknown":{"x":1}}"#;

fn setup() -> (TestHost, Router) {
    let host = TestHost::new();
    (host.clone(), provider(host).router())
}

/// The events of `host` about claims queries (see `TestHost::record_query`).
fn claims_events(host: &TestHost) -> Vec<String> {
    host.events().into_iter().filter(|event| event.starts_with("claims ")).collect()
}

/// The claims of a JWT, unverified (the code flow tests check signatures).
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// Redeems `code` for the confidential `first-party` client.
async fn redeem(router: &Router, code: &str, verifier: &str) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .finish();
    let (status, _, tokens) = token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// Refreshes for `first-party`.
async fn refresh(router: &Router, refresh_token: &str) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .finish();
    let (status, _, tokens) = token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// `GET {userinfo}` with a bearer token.
async fn userinfo(router: &Router, access_token: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let request = Request::get(USERINFO)
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}

async fn userinfo_claims(router: &Router, access_token: &str) -> Value {
    let (status, _, body) = userinfo(router, access_token).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON claims")
}

/// The `first-party` authorization request for alice with `extra` parameters, answered by a
/// redirect: its query parameters.
async fn authorize_redirect(router: &Router, challenge: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "first-party"),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    let (status, headers, body) =
        browser_get(router, &authorize_url(AUTHORIZE, &params), Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (base, params) = redirect_params(&headers);
    assert_eq!(base, WEB_REDIRECT);
    let mut params: Vec<(String, String)> = params.into_iter().collect();
    params.sort();
    params
}

/// Asserts an error redirected to `first-party` with `state`: `error` and `error_description`.
#[track_caller]
fn assert_redirected_error(params: &[(String, String)], error: &str, description: &str) {
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!((get("error"), get("error_description")), (Some(error), Some(description)), "{params:?}");
    assert_eq!((get("state"), get("iss"), get("code")), (Some("xyz"), Some(ISSUER), None), "{params:?}");
}

// ---------------------------------------------------------------------------------------------
// by value, pushed, in a request object
// ---------------------------------------------------------------------------------------------

/// By value: the ID token of the code has the claim requested for it (and not the one requested
/// for userinfo), userinfo has its own requested claim (without `profile`), and the builders
/// heard the requested names, which are essential, and `claims_locales`; a refresh builds its ID
/// token with the same request, and its access token gets the same userinfo answer.
#[tokio::test]
async fn claims_by_value_reach_the_id_token_userinfo_and_refreshes() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "openid offline_access",
        "alice",
        &[("claims", REQUESTED), ("claims_locales", "de-CH fr")],
    )
    .await;
    let tokens = redeem(&router, &code, &verifier).await;
    let id_token = payload(str_of(&tokens, "id_token"));
    assert_eq!(id_token["email"], "alice@example.com", "{id_token}");
    assert_eq!(id_token["name#de-CH"], "User alice (de-CH)", "the first of `claims_locales`: {id_token}");
    assert!(id_token.get("name").is_none(), "`name` was requested for userinfo only: {id_token}");
    assert_eq!((id_token["sub"].as_str(), id_token["aud"].as_str()), (Some("alice"), Some("first-party")));
    assert!(id_token["auth_time"].is_u64(), "`auth_time` is in every ID token: {id_token}");

    let claims = userinfo_claims(&router, str_of(&tokens, "access_token")).await;
    assert_eq!(claims, json!({"sub": "alice", "name": "User alice", "name#de-CH": "User alice (de-CH)"}));

    let refreshed = refresh(&router, str_of(&tokens, "refresh_token")).await;
    let id_token = payload(str_of(&refreshed, "id_token"));
    assert_eq!((id_token["email"].as_str(), id_token.get("name")), (Some("alice@example.com"), None), "{id_token}");
    let claims = userinfo_claims(&router, str_of(&refreshed, "access_token")).await;
    assert_eq!(claims, json!({"sub": "alice", "name": "User alice", "name#de-CH": "User alice (de-CH)"}));

    let query = |target: &str, requested: &str, essential: &str| {
        format!("claims {target} requested={requested} essential={essential} locales=de-CH fr")
    };
    assert_eq!(
        claims_events(&host),
        [
            query("id_token", "email", "email"),
            query("userinfo", "name", ""),
            query("id_token", "email", "email"),
            query("userinfo", "name", ""),
        ]
    );
}

/// Without `claims`, nothing is requested: the builders hear no request, and userinfo answers
/// the claims of the scopes as before.
#[tokio::test]
async fn without_claims_the_builders_hear_no_request() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, "openid email", "alice", &[]).await;
    let tokens = redeem(&router, &code, &verifier).await;
    let id_token = payload(str_of(&tokens, "id_token"));
    assert!(id_token.get("email").is_none(), "scope claims are for userinfo: {id_token}");
    let claims = userinfo_claims(&router, str_of(&tokens, "access_token")).await;
    assert_eq!(claims, json!({"sub": "alice", "email": "alice@example.com", "email_verified": true}));
    assert!(claims_events(&host).is_empty(), "{:?}", claims_events(&host));
}

/// Pushed (RFC 9126): the request the browser brings by `request_uri` carries the claims.
#[tokio::test]
async fn claims_pushed_reach_the_id_token() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let pushed = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "first-party"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid"),
            ("state", "xyz"),
            ("claims", r#"{"id_token":{"name":null,"email":null}}"#),
        ])
        .finish();
    let (status, _, body) = token(&router, PAR, Some(&basic("first-party", SECRET)), &pushed).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let uri = authorize_url(AUTHORIZE, &[("client_id", "first-party"), ("request_uri", str_of(&body, "request_uri"))]);
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    let tokens = redeem(&router, params.get("code").expect("a code"), &verifier).await;
    let id_token = payload(str_of(&tokens, "id_token"));
    assert_eq!(
        (id_token["name"].as_str(), id_token["email"].as_str()),
        (Some("User alice"), Some("alice@example.com"))
    );
    assert_eq!(claims_events(&host), ["claims id_token requested=email,name essential= locales="]);
}

/// A malformed `claims` pushed is refused by the PAR endpoint, as JSON.
#[tokio::test]
async fn malformed_claims_pushed_are_refused() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let pushed = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "first-party"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid"),
            ("claims", r#"{"id_token":{"email":{"essential":1}}}"#),
        ])
        .finish();
    let (status, _, body) = token(&router, PAR, Some(&basic("first-party", SECRET)), &pushed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "`essential` in `claims` must be a boolean"})
    );
}

/// A host whose public client `signed` has a key for request objects; the rest is `TestHost`'s.
#[derive(Clone)]
#[attesto::provider]
struct SignedHost {
    inner: TestHost,
    jwks: Value,
}

impl ClientStore for SignedHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        if client_id != "signed" {
            return self.inner.load_client(client_id).await;
        }
        let mut client = Client::public("signed")
            .with_scopes(Scopes::parse("openid profile email offline_access").expect("scopes"))
            .with_redirect_uris([WEB_REDIRECT]);
        client.jwks = Some(self.jwks.clone());
        Ok(Some(client))
    }
}

impl PrincipalStore for SignedHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.inner.authenticate(request).await
    }
    async fn build_id_token_claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, HostError> {
        self.inner.build_id_token_claims(query).await
    }
    async fn build_userinfo_claims(&self, query: &ClaimsQuery<'_>) -> Result<Map<String, Value>, HostError> {
        self.inner.build_userinfo_claims(query).await
    }
}

impl ConsentPolicy for SignedHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

/// A request object of `signed` signed with `key`, with `claims` as the `claims` member.
fn request_object(key: &Key, challenge: &str, claims: &Value) -> String {
    let now = unix_now();
    let header = json!({"alg": key.algorithm().as_str(), "kid": key.kid(), "typ": "oauth-authz-req+jwt"});
    let body = json!({
        "iss": "signed", "aud": ISSUER, "client_id": "signed", "exp": now + 300, "iat": now, "nbf": now,
        "jti": format!("{:032x}", rand::random::<u128>()),
        "response_type": "code", "redirect_uri": WEB_REDIRECT, "scope": "openid", "state": "from-the-object",
        "code_challenge": challenge, "code_challenge_method": "S256", "claims": claims,
    });
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(body.to_string()));
    let signature = key.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// In a request object the `claims` member is a JSON object (RFC 9101 §4, OIDC Core §6.1); it
/// reaches the ID token as by value. One of another JSON type is refused as the object's
/// parameter of the wrong type, and a malformed object as the parameter by value would be.
#[tokio::test]
async fn claims_in_a_request_object_reach_the_id_token() {
    let key = Key::generate(Algorithm::ES256).expect("key");
    let jwks = json!({"keys": [Value::Object(key.public_jwk())]});
    let host = TestHost::new();
    let router = provider(SignedHost { inner: host.clone(), jwks }).router();
    let (verifier, challenge) = pkce();
    let object = request_object(&key, &challenge, &json!({"id_token": {"email": null}}));
    let uri = authorize_url(AUTHORIZE, &[("client_id", "signed"), ("request", object.as_str())]);
    let (status, headers, body) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (_, params) = redirect_params(&headers);
    assert_eq!(params.get("state").map(String::as_str), Some("from-the-object"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("client_id", "signed"),
            ("code", params.get("code").expect("a code").as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .finish();
    let (status, _, tokens) = token(&router, TOKEN, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(payload(str_of(&tokens, "id_token"))["email"], "alice@example.com");
    assert_eq!(claims_events(&host), ["claims id_token requested=email essential= locales="]);

    // Of another JSON type: the object's parameters are unreadable, so nothing is verified yet to
    // redirect to; the refusal is shown (here as JSON, RFC 9101 §6.2).
    let object = request_object(&key, &challenge, &json!(["email"]));
    let uri = authorize_url(AUTHORIZE, &[("client_id", "signed"), ("request", object.as_str())]);
    let request = Request::get(uri)
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, session_cookie("alice"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send_json(&router, request).await;
    assert!(headers.get(header::LOCATION).is_none(), "never redirected: {headers:?}");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({
            "error": "invalid_request_object",
            "error_description": "a parameter claim of the request object has the wrong type: each must be a string (`max_age` a number, `resource` an array of strings, `claims` an object)"
        })
    );
    // A malformed object: refused as by value, to the redirect URI the object names.
    let object = request_object(&key, &challenge, &json!({"userinfo": {"email": {"values": "x"}}}));
    let uri = authorize_url(AUTHORIZE, &[("client_id", "signed"), ("request", object.as_str())]);
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (base, params) = redirect_params(&headers);
    assert_eq!(base, WEB_REDIRECT);
    assert_eq!(params.get("state").map(String::as_str), Some("from-the-object"));
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"));
    assert_eq!(params.get("error_description").map(String::as_str), Some("`values` in `claims` must be an array"));
}

// ---------------------------------------------------------------------------------------------
// refusals
// ---------------------------------------------------------------------------------------------

/// Every malformed `claims` by value is refused to the client with `invalid_request` and its
/// exact description, before the host is asked anything.
#[tokio::test]
async fn malformed_claims_are_refused_with_their_exact_description() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    let many =
        format!("{{\"userinfo\":{{{}}}}}", (0..65).map(|i| format!("\"claim{i}\":null")).collect::<Vec<_>>().join(","));
    let long_name = format!("{{\"id_token\":{{\"{}\":null}}}}", "n".repeat(257));
    let too_long = format!("{{\"id_token\":{{\"email\":{{\"value\":\"{}\"}}}}}}", "v".repeat(8 * 1024));
    let cases: &[(&str, &str)] = &[
        ("not json", "`claims` is not valid JSON"),
        ("{\"id_token\":", "`claims` is not valid JSON"),
        ("[\"email\"]", "`claims` must be a JSON object"),
        ("\"email\"", "`claims` must be a JSON object"),
        (r#"{"userinfo":["name"]}"#, "`claims.userinfo` must be a JSON object"),
        (r#"{"id_token":"email"}"#, "`claims.id_token` must be a JSON object"),
        (r#"{"id_token":{"email":true}}"#, "a claim's request in `claims` must be null or a JSON object"),
        (r#"{"id_token":{"email":{"essential":"true"}}}"#, "`essential` in `claims` must be a boolean"),
        (r#"{"id_token":{"acr":{"values":"urn:test:mfa"}}}"#, "`values` in `claims` must be an array"),
        (r#"{"userinfo":{"":null}}"#, "a claim name in `claims` is empty or too long"),
        (&long_name, "a claim name in `claims` is empty or too long"),
        (&many, "`claims.userinfo` requests too many claims"),
        (&too_long, "`claims` is too long"),
    ];
    for (claims, description) in cases {
        let params = authorize_redirect(&router, &challenge, &[("claims", claims)]).await;
        assert_redirected_error(&params, "invalid_request", description);
    }
    let params = authorize_redirect(&router, &challenge, &[("claims", "{}"), ("claims", "{}")]).await;
    assert_redirected_error(&params, "invalid_request", "parameter `claims` is repeated");
    assert!(host.events().iter().all(|event| !event.starts_with("authenticate")), "{:?}", host.events());
}

/// OIDC Core §3.1.2.2, §5.5.1: a `sub` requested with a value that is not the signed-in user's
/// yields no code (`login_required`), in either member; the user's own value does.
#[tokio::test]
async fn a_requested_sub_of_another_user_yields_no_tokens() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    for claims in
        [r#"{"id_token":{"sub":{"value":"bob"}}}"#, r#"{"userinfo":{"sub":{"value":"bob","essential":true}}}"#]
    {
        let params = authorize_redirect(&router, &challenge, &[("claims", claims)]).await;
        assert_redirected_error(
            &params,
            "login_required",
            "the signed-in user is not the one the client asked for (`sub` in `claims`)",
        );
    }
    assert_eq!(
        host.events().iter().filter(|event| event.starts_with("authorization_denied")).collect::<Vec<_>>(),
        [
            "authorization_denied first-party alice login_required",
            "authorization_denied first-party alice login_required"
        ]
    );
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "openid",
        "alice",
        &[("claims", r#"{"id_token":{"sub":{"value":"alice"}}}"#)],
    )
    .await;
    let tokens = redeem(&router, &code, &verifier).await;
    assert_eq!(payload(str_of(&tokens, "id_token"))["sub"], "alice");
}

/// OIDC Core §5.5.1.1: `acr` requested with values asks the host's login for them, before the
/// classes of `acr_values`; essential and met, the ID token says the class; essential and not
/// met (the test host signs in with a password unless `urn:test:mfa` is asked), `access_denied`.
#[tokio::test]
async fn an_acr_request_reaches_the_login_and_an_essential_one_is_enforced() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let essential_mfa = r#"{"id_token":{"acr":{"essential":true,"values":["urn:test:mfa"]}}}"#;
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "openid",
        "alice",
        &[("claims", essential_mfa), ("acr_values", "urn:test:pwd urn:test:mfa")],
    )
    .await;
    let tokens = redeem(&router, &code, &verifier).await;
    assert_eq!(payload(str_of(&tokens, "id_token"))["acr"], "urn:test:mfa");
    assert!(
        host.events().contains(&"authenticate acr_values=urn:test:mfa urn:test:pwd".to_owned()),
        "the classes of `claims` first, each once: {:?}",
        host.events()
    );

    let unmet = r#"{"id_token":{"acr":{"essential":true,"values":["urn:test:hardware-key"]}}}"#;
    let params = authorize_redirect(&router, &challenge, &[("claims", unmet)]).await;
    assert_redirected_error(
        &params,
        "access_denied",
        "the sign-in did not meet the essential `acr` the client asked for (`claims`)",
    );
    // A voluntary request for a class the sign-in does not reach is a wish: a code.
    let voluntary = r#"{"id_token":{"acr":{"values":["urn:test:hardware-key"]}}}"#;
    let params = authorize_redirect(&router, &challenge, &[("claims", voluntary)]).await;
    assert!(params.iter().any(|(name, _)| name == "code"), "{params:?}");
}

// ---------------------------------------------------------------------------------------------
// userinfo and the grant
// ---------------------------------------------------------------------------------------------

/// Userinfo reads the requested claims from the token's grant: a grant the store no longer holds
/// live (revoked there, before this instance's revocation list knows) is refused with
/// `invalid_token` and a challenge, rather than answered without its request.
#[tokio::test]
async fn userinfo_refuses_a_token_whose_grant_is_gone() {
    let store = Arc::new(MemoryStore::new());
    let auth: Attesto<TestHost> = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("resource")
        .store(Arc::clone(&store))
        .build()
        .expect("provider");
    let router = auth.router();
    let (verifier, challenge) = pkce();
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "openid",
        "alice",
        &[("claims", r#"{"userinfo":{"email":null}}"#)],
    )
    .await;
    let tokens = redeem(&router, &code, &verifier).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(userinfo_claims(&router, access).await, json!({"sub": "alice", "email": "alice@example.com"}));

    let grant_id = payload(access)["grant_id"].as_str().expect("a grant_id").to_owned();
    let revoked = store.revoke_grant("alice", &grant_id, SystemTime::now()).await.expect("revoke in the store");
    assert!(revoked.is_some());
    let (status, headers, body) = userinfo(&router, access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\", error_description=\"the access token's grant was revoked or has expired\""
    );
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        body,
        json!({"error": "invalid_token", "error_description": "the access token's grant was revoked or has expired"})
    );
}

// ---------------------------------------------------------------------------------------------
// discovery
// ---------------------------------------------------------------------------------------------

/// OpenID Connect Discovery §3: `claims_parameter_supported` is `true` in the OpenID document,
/// absent from the RFC 8414 one; `sid` is advertised only where sessions are named for logout.
#[tokio::test]
async fn discovery_says_the_claims_parameter_is_supported() {
    let (_, router) = setup();
    let get = |path: &'static str| {
        let router = router.clone();
        async move { send_json(&router, Request::get(path).body(Body::empty()).expect("request")).await.2 }
    };
    let openid = get("/.well-known/openid-configuration").await;
    assert_eq!(openid["claims_parameter_supported"], true);
    assert!(!openid["claims_supported"].as_array().expect("claims").contains(&json!("sid")), "{openid}");
    let oauth = get("/.well-known/oauth-authorization-server").await;
    assert!(oauth.get("claims_parameter_supported").is_none(), "{oauth}");
}

/// attesto's consent page lists the claims requested (both members, each once, escaped), so the
/// user knows what is asked beyond the scopes; allowing issues the code as usual.
#[tokio::test]
async fn the_consent_page_lists_the_requested_claims() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let uri = authorize_url(
        AUTHORIZE,
        &[
            ("response_type", "code"),
            ("client_id", "web"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid"),
            ("state", "xyz"),
            ("claims", r#"{"id_token":{"email":null},"userinfo":{"email":null,"<b>x</b>":null}}"#),
        ],
    );
    let (page, base, params) = allow_on_consent_page(&router, &uri, "alice").await;
    assert!(
        page.contains(
            "<p>It also asks for these details about you:</p><ul><li><code>&lt;b&gt;x&lt;/b&gt;</code></li>\
             <li><code>email</code></li></ul>"
        ),
        "{page}"
    );
    assert_eq!(base, WEB_REDIRECT);
    assert!(params.contains_key("code"), "{params:?}");
}
