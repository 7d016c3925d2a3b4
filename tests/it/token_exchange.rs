//! Token exchange (RFC 8693) through the real router: an MCP server exchanges the token its caller
//! sent it for a token to call a downstream API, under the host's `TokenExchangePolicy`, and every
//! refusal the RFC and the policy name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use attesto::{
    Attesto, AuthenticatedPrincipal, Client, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest, EventSink,
    ExchangeDecision, ExchangeRequest, GrantType, HostError, LoginOutcome, LoginRequest, Principal, PrincipalStore,
    Scopes, SecretHash, TokenDenied, TokenExchangePolicy, TokenIssued,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::dpop_key::{self, p256};
use crate::common::*;

const TOKEN: &str = "/oauth/token";
const API: &str = "https://api.example.com";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The test host's clients and login, with a token exchange policy: `mcp-server` may exchange
/// its callers' tokens for the API, nothing else; every request the policy sees is recorded.
#[derive(Clone)]
#[attesto::provider]
struct ExchangeHost {
    base: TestHost,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ClientStore for ExchangeHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.base.load_client(client_id).await
    }
}

impl PrincipalStore for ExchangeHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.base.authenticate(request).await
    }
    async fn build_principal(&self, client: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        let mut principal = self.base.build_principal(client, subject, scopes).await?;
        // A host claim must not forge the actor (RFC 8693 §4.1).
        principal.claims.insert("act".to_owned(), json!({"sub": "forged"}));
        Ok(principal)
    }
}

impl ConsentPolicy for ExchangeHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        user: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        self.base.consent(request, user).await
    }
}

impl EventSink for ExchangeHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.base.token_issued(event);
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.base.token_denied(event);
    }
}

impl TokenExchangePolicy for ExchangeHost {
    async fn exchange(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, HostError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(format!(
                "{} for {} from {} aud={:?} bound={} scopes={}",
                request.client.client_id,
                request.subject,
                request.subject_client_id,
                request.subject_audience,
                request.subject_dpop_bound,
                request.scopes
            ));
        }
        if request.client.client_id.as_str() == "mcp-server" && request.audience == [API] {
            // The policy may narrow: never `admin` through an exchange.
            let granted = request.scopes.iter().filter(|s| s.as_str() != "admin").cloned().collect();
            return Ok(ExchangeDecision::Grant(granted));
        }
        Ok(ExchangeDecision::Refuse("mcp-server may only exchange tokens for the API".into()))
    }
}

fn exchange_clients() -> HashMap<String, Client> {
    let mut clients = clients();
    let scopes = Scopes::parse("read write admin").expect("scopes");
    let mut add = |client: Client| {
        clients.insert(client.client_id.to_string(), client);
    };
    add(Client::confidential("mcp-server", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_grant_types([GrantType::ClientCredentials, GrantType::TokenExchange]));
    add(Client::public("mcp-public").with_scopes(scopes.clone()).with_grant_types([GrantType::TokenExchange]));
    add(Client::confidential("no-exchange", SecretHash::of(SECRET))
        .with_scopes(scopes)
        .with_grant_types([GrantType::ClientCredentials]));
    clients
}

fn exchange_host() -> ExchangeHost {
    ExchangeHost {
        base: TestHost { clients: Arc::new(exchange_clients()), events: Arc::default() },
        seen: Arc::default(),
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// A `client_credentials` token of `service` for the MCP resource: what an MCP client sends the
/// MCP server.
async fn caller_token(router: &Router, scope: &str) -> String {
    let body = format!("grant_type=client_credentials&scope={scope}&resource={RESOURCE}");
    let (status, _, body) = token(router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// A user's token for the MCP resource, through the authorization code flow.
async fn user_token(router: &Router) -> String {
    let (verifier, challenge) = pkce();
    let code = authorize_code(
        router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "read write",
        "alice",
        &[("resource", RESOURCE)],
    )
    .await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
        form_urlencoded::byte_serialize(WEB_REDIRECT.as_bytes()).collect::<String>()
    );
    let (status, _, body) = token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// A token exchange request by `client` (Basic credentials, or `client_id` alone for a public
/// one) with `subject_token` and `extra` form fields.
async fn exchange(
    router: &Router,
    client: Option<&str>,
    subject_token: &str,
    extra: &str,
) -> (StatusCode, http::HeaderMap, Value) {
    let (authorization, client_field) = match client {
        Some("mcp-public") => (None, "&client_id=mcp-public".to_owned()),
        Some(client) => (Some(basic(client, SECRET)), String::new()),
        None => (None, String::new()),
    };
    let body = format!(
        "grant_type={EXCHANGE}&subject_token={subject_token}&subject_token_type={ACCESS_TOKEN_TYPE}{client_field}{extra}"
    );
    token(router, TOKEN, authorization.as_deref(), &body).await
}

/// An access token signed with `auth`'s own key, with `claims` over those of a good token.
fn forge(auth: &Attesto<ExchangeHost>, claims: &Value) -> String {
    let key = auth.keys().signing_key();
    let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": key.kid() });
    let now = unix_now();
    let mut all = json!({
        "iss": auth.issuer().as_str(), "sub": "service", "aud": RESOURCE, "exp": now + 60, "iat": now,
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()), "client_id": "service", "scope": "read",
    });
    for (name, value) in claims.as_object().expect("an object") {
        all[name] = value.clone();
    }
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(all.to_string()));
    let signature = key.sign(input.as_bytes()).expect("signing");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn assert_refusal(response: &(StatusCode, http::HeaderMap, Value), status: StatusCode, error: &str, description: &str) {
    assert_error(response, status, error);
    assert_eq!(response.2["error_description"], description, "{}", response.2);
}

#[tokio::test]
async fn a_users_token_is_exchanged_for_a_downstream_token_naming_the_mcp_server_as_actor() {
    let host = exchange_host();
    let auth = provider(host.clone());
    let router = auth.router();
    let subject = user_token(&router).await;
    let response = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={API}&scope=read")).await;
    let (status, headers, body) = &response;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE, "RFC 8693 §2.2.1");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none(), "no refresh token: {body}");
    let issued = body["access_token"].as_str().expect("access_token");
    let claims = claims_of(issued);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], API, "the downstream API, never the caller's audience");
    assert_eq!(claims["sub"], "alice", "the subject stays the user");
    assert_eq!(claims["client_id"], "mcp-server", "the exchanging client");
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["act"], json!({"sub": "mcp-server"}), "RFC 8693 §4.1, not the host's forged claim");
    assert!(claims["auth_time"].is_u64(), "a user's token stays a user's token: {claims}");
    assert!(claims["grant_id"].is_string(), "the user's grant, which revokes the exchanged token with it: {claims}");
    assert_eq!(claims_of(&subject)["grant_id"], claims["grant_id"]);
    assert!(claims["exp"].as_u64() <= claims_of(&subject)["exp"].as_u64(), "never outlives the subject token");
    let seen = host.seen.lock().expect("lock").clone();
    assert_eq!(seen, [format!("mcp-server for alice from first-party aud=[\"{RESOURCE}\"] bound=false scopes=read")]);
    assert!(host.base.events().contains(&format!("issued mcp-server {EXCHANGE} read")), "{:?}", host.base.events());
}

#[tokio::test]
async fn without_scope_the_subjects_scopes_are_kept_and_the_policy_may_narrow_them() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let subject = caller_token(&router, "read+admin").await;
    // `audience` names the target as `resource` does (RFC 8693 §2.1).
    let (status, _, body) = exchange(&router, Some("mcp-server"), &subject, &format!("&audience={API}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read", "the subject's `read admin`, less the `admin` the policy withholds");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["sub"], "service");
    assert!(claims.get("auth_time").is_none(), "a client's own token stays a client's: {claims}");
}

#[tokio::test]
async fn the_new_token_expires_with_the_subject_token() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let subject = forge(&auth, &json!({"exp": unix_now() + 20}));
    let (status, _, body) = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={API}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expires_in = body["expires_in"].as_u64().expect("expires_in");
    assert!((1..=20).contains(&expires_in), "expires_in {expires_in}, not the provider's 900");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert!(claims["exp"].as_u64().expect("exp") <= unix_now() + 20);
}

#[tokio::test]
async fn an_exchanged_token_exchanged_again_nests_the_actors() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let subject = caller_token(&router, "read").await;
    let (_, _, first) = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={API}")).await;
    let first = first["access_token"].as_str().expect("token").to_owned();
    let (status, _, second) = exchange(&router, Some("mcp-server"), &first, &format!("&resource={API}")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let claims = claims_of(second["access_token"].as_str().expect("token"));
    assert_eq!(claims["act"], json!({"sub": "mcp-server", "act": {"sub": "mcp-server"}}));
}

#[tokio::test]
async fn a_dpop_proof_binds_the_new_token_to_the_exchanging_clients_key() {
    let host = exchange_host();
    let auth = provider(host.clone());
    let router = auth.router();
    let key = p256();
    // The caller's token is bound to the caller's key: the policy is told.
    let caller_key = dpop_key::ed25519();
    let body = format!("grant_type=client_credentials&scope=read&resource={RESOURCE}");
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header("DPoP", caller_key.proof("POST", &auth.issuer().url_of(TOKEN)))
        .body(Body::from(body))
        .expect("request");
    let (_, _, bound) = send_json(&router, request).await;
    let subject = bound["access_token"].as_str().expect("token");
    let body =
        format!("grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={ACCESS_TOKEN_TYPE}&resource={API}");
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("mcp-server", SECRET))
        .header("DPoP", key.proof("POST", &auth.issuer().url_of(TOKEN)))
        .body(Body::from(body))
        .expect("request");
    let (status, _, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["cnf"], json!({"jkt": key.jkt}), "the exchanging client's key, not the caller's");
    assert!(host.seen.lock().expect("lock")[0].contains("bound=true"));
}

#[tokio::test]
async fn the_policy_refuses_with_invalid_target() {
    let host = exchange_host();
    let auth = provider(host.clone());
    let router = auth.router();
    let subject = caller_token(&router, "read").await;
    // The MCP resource itself is a known resource, but the policy does not allow it.
    let response = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={RESOURCE}")).await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "mcp-server may only exchange tokens for the API",
    );
    assert!(host.base.events().contains(&"denied mcp-server invalid_target".to_owned()), "{:?}", host.base.events());
}

#[tokio::test]
async fn a_wrong_token_type_an_actor_token_or_another_requested_type_is_invalid_request() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let subject = caller_token(&router, "read").await;
    let body = format!(
        "grant_type={EXCHANGE}&subject_token={subject}&subject_token_type=urn:ietf:params:oauth:token-type:id_token&resource={API}"
    );
    let response = token(&router, TOKEN, Some(&basic("mcp-server", SECRET)), &body).await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "`subject_token_type` must be urn:ietf:params:oauth:token-type:access_token: only this provider's access tokens are exchanged",
    );
    let response = exchange(
        &router,
        Some("mcp-server"),
        &subject,
        &format!("&resource={API}&actor_token={subject}&actor_token_type={ACCESS_TOKEN_TYPE}"),
    )
    .await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "`actor_token` is not supported: the authenticated client is the actor",
    );
    let response = exchange(
        &router,
        Some("mcp-server"),
        &subject,
        &format!("&resource={API}&requested_token_type=urn:ietf:params:oauth:token-type:refresh_token"),
    )
    .await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "`requested_token_type` must be urn:ietf:params:oauth:token-type:access_token: only access tokens are issued",
    );
    let body = format!("grant_type={EXCHANGE}&subject_token_type={ACCESS_TOKEN_TYPE}");
    let response = token(&router, TOKEN, Some(&basic("mcp-server", SECRET)), &body).await;
    assert_refusal(&response, StatusCode::BAD_REQUEST, "invalid_request", "missing `subject_token`");
}

const INVALID_SUBJECT: &str = "the subject token is not a valid, unexpired and unrevoked access token of this server";

#[tokio::test]
async fn foreign_expired_revoked_and_garbage_subject_tokens_are_refused() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let extra = format!("&resource={API}");
    // Another provider's token, with the same issuer name: its key is not ours.
    let other = provider(exchange_host());
    let foreign = caller_token(&other.router(), "read").await;
    let expired = forge(&auth, &json!({"exp": unix_now() - 120, "iat": unix_now() - 300}));
    let garbage = "not-a-token";
    // A JWT of this issuer and key that is not an access token (`typ`).
    let wrong_typ = {
        let key = auth.keys().signing_key();
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": key.kid() });
        let claims = claims_of(&forge(&auth, &json!({})));
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).expect("signing")))
    };
    // A token whose client no longer exists.
    let orphan = forge(&auth, &json!({"client_id": "deleted-client"}));
    for subject in [foreign.as_str(), &expired, garbage, &wrong_typ, &orphan] {
        let response = exchange(&router, Some("mcp-server"), subject, &extra).await;
        assert_refusal(&response, StatusCode::BAD_REQUEST, "invalid_request", INVALID_SUBJECT);
    }
    // Revoked by its client (RFC 7009): refused at once.
    let revoked = caller_token(&router, "read").await;
    let (status, _, _) = send(
        &router,
        Request::post("/oauth/revoke")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic("service", SECRET))
            .body(Body::from(format!("token={revoked}")))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = exchange(&router, Some("mcp-server"), &revoked, &extra).await;
    assert_refusal(&response, StatusCode::BAD_REQUEST, "invalid_request", INVALID_SUBJECT);
}

#[tokio::test]
async fn a_wider_scope_is_invalid_scope_and_an_unknown_audience_invalid_target() {
    let auth = provider(exchange_host());
    let router = auth.router();
    let subject = caller_token(&router, "read").await;
    let response = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={API}&scope=read+write")).await;
    assert_refusal(&response, StatusCode::BAD_REQUEST, "invalid_scope", "the scope exceeds the subject token's scope");
    let response = exchange(&router, Some("mcp-server"), &subject, "&audience=https://elsewhere.example").await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_target",
        "the requested resource is unknown to this server",
    );
}

#[tokio::test]
async fn public_clients_and_clients_without_the_grant_are_refused() {
    let host = exchange_host();
    let auth = provider(host.clone());
    let router = auth.router();
    let subject = caller_token(&router, "read").await;
    let extra = format!("&resource={API}");
    let response = exchange(&router, Some("mcp-public"), &subject, &extra).await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "invalid_client",
        "token exchange is for confidential clients: authenticate with the client's secret",
    );
    let response = exchange(&router, None, &subject, &extra).await;
    assert_refusal(&response, StatusCode::BAD_REQUEST, "invalid_client", "client authentication is required");
    let response = exchange(&router, Some("no-exchange"), &subject, &extra).await;
    assert_refusal(
        &response,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "the client may not use the token exchange grant",
    );
    let body = format!("grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={ACCESS_TOKEN_TYPE}{extra}");
    let response = token(&router, TOKEN, Some(&basic("mcp-server", "wrong secret")), &body).await;
    assert_refusal(&response, StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    assert!(host.seen.lock().expect("lock").is_empty(), "the policy is asked for authenticated, allowed clients only");
}

#[tokio::test]
async fn without_a_policy_the_grant_is_not_served_nor_advertised() {
    let router = test_provider().router();
    let subject = caller_token(&router, "read").await;
    let body = format!("grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={ACCESS_TOKEN_TYPE}");
    let response = token(&router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_refusal(&response, StatusCode::BAD_REQUEST, "unsupported_grant_type", "this grant type is not supported");

    let request = || Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request");
    let (_, _, metadata) = send_json(&router, request()).await;
    assert_eq!(metadata["grant_types_supported"], json!(["authorization_code", "refresh_token", "client_credentials"]));
    let (_, _, metadata) = send_json(&provider(exchange_host()).router(), request()).await;
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials", EXCHANGE])
    );
}

// ---------------------------------------------------------------------------------------------
// the quickstart's setup, over real HTTP
// ---------------------------------------------------------------------------------------------

/// A form POST to the served provider, as `client_id:secret`.
async fn post_form(url: &str, credentials: (&str, &str), pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = reqwest012::Client::new()
        .post(url)
        .basic_auth(credentials.0, Some(credentials.1))
        .form(pairs)
        .send()
        .await
        .expect("the provider answers");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let body = response.text().await.expect("a body");
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("a JSON body, got {body}")))
}

#[tokio::test]
async fn the_quickstart_serves_token_exchange_to_its_demo_resource_for_its_own_clients_only() {
    use crate::quickstart_like::{self, CONFIDENTIAL_ID, CONFIDENTIAL_SECRET};
    let served = quickstart_like::serve(None).await;
    let resource = served.url("/mcp");
    let demo = (CONFIDENTIAL_ID, CONFIDENTIAL_SECRET);
    let (status, caller) = post_form(
        &served.url(TOKEN),
        demo,
        &[("grant_type", "client_credentials"), ("scope", "read"), ("resource", &resource)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{caller}");
    let subject = caller["access_token"].as_str().expect("token");
    let exchange_pairs = [
        ("grant_type", EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", resource.as_str()),
    ];
    let (status, body) = post_form(&served.url(TOKEN), demo, &exchange_pairs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["act"], json!({"sub": CONFIDENTIAL_ID}));
    assert_eq!(claims["aud"], resource);
    assert_eq!(claims["scope"], "read");

    // A client that registered itself (RFC 7591) for the grant is refused by the demo policy.
    let metadata = json!({
        "client_name": "self-registered",
        "grant_types": [EXCHANGE],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "read",
    });
    let registered = reqwest012::Client::new()
        .post(served.url("/oauth/register"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(metadata.to_string())
        .send()
        .await
        .expect("the provider answers")
        .text()
        .await
        .expect("a body");
    let registered: Value = serde_json::from_str(&registered).expect("JSON");
    let id = registered["client_id"].as_str().unwrap_or_else(|| panic!("registered: {registered}"));
    let secret = registered["client_secret"].as_str().expect("a secret");
    let (status, body) = post_form(&served.url(TOKEN), (id, secret), &exchange_pairs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_target");
    assert_eq!(body["error_description"], "only the demo's own clients may exchange tokens");
}

#[tokio::test]
async fn the_exchanged_token_keeps_the_users_sign_in_class_and_methods() {
    let auth = provider(exchange_host());
    let router = auth.router();
    // The subject token of a user who signed in with a second factor (RFC 9068 §2.2.1).
    let subject = forge(
        &auth,
        &json!({ "sub": "alice", "auth_time": unix_now() - 30, "acr": "urn:test:mfa", "amr": ["pwd", "otp"] }),
    );
    let (status, _, body) = exchange(&router, Some("mcp-server"), &subject, &format!("&resource={API}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    // A resource downstream that requires the class (RFC 9470) sees the same sign-in.
    assert_eq!(claims["acr"], "urn:test:mfa", "{claims}");
    assert_eq!(claims["amr"], json!(["pwd", "otp"]), "{claims}");
    assert_eq!(claims["auth_time"], claims_of(&subject)["auth_time"]);
}
