//! The MCP server example (`examples/mcp_server/app.rs`, included here as it is) served on a real
//! loopback port, driven the way an MCP client drives it: challenged at `/mcp`, it follows the
//! protected-resource metadata (RFC 9728) to the authorization server's metadata (RFC 8414),
//! registers (RFC 7591), authorizes with PKCE S256 and `resource` (RFC 8707), and calls the
//! tools with the official Rust SDK's client (`rmcp`) and the access token.
//!
//! The discovery, registration and OAuth steps are plain HTTP (reqwest 0.12, redirects not
//! followed: the test reads each `Location`), so each step's answer is checked.

#[path = "../../examples/mcp_server/app.rs"]
mod app;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use attesto::Key;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, StatusCode, header};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The redirect URI of the test's MCP client: a loopback one, as a native MCP client registers
/// (RFC 8252 §7.3). Nothing listens there; the test reads the redirect.
const REDIRECT_URI: &str = "http://127.0.0.1:53682/callback";

/// The user the auto-approving app signs in.
const USER: &str = "alice";

/// The demo user and password of the app with a login page.
const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// The server and the HTTP side
// ---------------------------------------------------------------------------------------------

/// The example's app on a loopback port, until dropped.
struct Server {
    info: app::Info,
    /// The key the app signs with, to forge tokens it would not issue.
    key: Key,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(sign_in: app::SignIn) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let key = Key::generate(attesto::Algorithm::ES256).expect("key");
    let (router, info) = app::app(app::Options { origin, sign_in, key: key.clone() }).expect("the app builds");
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    Server { info, key, task }
}

async fn auto_approving() -> Server {
    serve(app::SignIn::AutoApprove(USER.to_owned())).await
}

async fn with_login_page() -> Server {
    serve(app::SignIn::Login { user: DEMO_USER.to_owned(), password: DEMO_PASSWORD.to_owned() }).await
}

/// Fails the test instead of hanging it.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future).await.expect("done within 30 s")
}

fn http() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

/// Status, headers, and the body as JSON (`Null` when empty, a string when not JSON).
type Reply = (StatusCode, HeaderMap, Value);

async fn reply(request: reqwest012::RequestBuilder) -> Reply {
    let response = within(request.send()).await.expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, body)
}

async fn get(url: &str) -> Reply {
    reply(http().get(url)).await
}

async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    reply(http().post(url).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body)).await
}

/// `POST /mcp` with an MCP `initialize` request and `authorization`, as an MCP client's first
/// request.
async fn initialize(server: &Server, authorization: Option<&str>) -> Reply {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } },
    });
    let mut request = http()
        .post(&server.info.mcp_url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    reply(request).await
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

fn challenges(headers: &HeaderMap) -> Vec<&str> {
    headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().expect("ASCII challenge")).collect()
}

/// A PKCE pair (RFC 7636): a fresh verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT, unverified: what a test reads of a token the server issued.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// The query parameters of a redirect, after checking where it goes.
fn redirect_params(headers: &HeaderMap, to: &str) -> HashMap<String, String> {
    let location = headers.get(header::LOCATION).expect("a Location").to_str().expect("ASCII Location");
    assert!(location.starts_with(&format!("{to}?")), "redirect to {to}: {location}");
    url::Url::parse(location).expect("absolute Location").query_pairs().into_owned().collect()
}

// ---------------------------------------------------------------------------------------------
// The MCP client's steps
// ---------------------------------------------------------------------------------------------

/// What discovery leads the client to.
struct Discovered {
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: String,
}

/// Discovery as an MCP client does it, from the challenge of an unauthenticated request: the
/// protected-resource metadata, then the metadata of the authorization server it names.
async fn discover(server: &Server) -> Discovered {
    let (status, headers, _) = initialize(server, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenges(&headers)[0].to_owned();
    let prm_url = challenge
        .split_once("resource_metadata=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_else(|| panic!("resource_metadata in {challenge}"));

    let (status, headers, prm) = get(&prm_url).await;
    assert_eq!(status, StatusCode::OK, "{prm}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(str_of(&prm, "resource"), server.info.mcp_url);
    assert_eq!(prm["authorization_servers"], json!([server.info.issuer]));
    assert_eq!(prm["scopes_supported"], json!([app::MCP_SCOPE, app::ADMIN_SCOPE]));
    // The same document at the bare well-known path, for clients that look there without a
    // challenge (MCP 2025-06-18 falls back to it).
    let (status, _, bare) = get(&format!("{}/.well-known/oauth-protected-resource", server.info.issuer)).await;
    assert_eq!(status, StatusCode::OK, "{bare}");
    assert_eq!(bare, prm);

    // RFC 8414 §3: the well-known URL of the issuer the PRM names (no path, so no suffix).
    let issuer = prm["authorization_servers"][0].as_str().expect("an authorization server");
    let (status, _, metadata) = get(&format!("{issuer}/.well-known/oauth-authorization-server")).await;
    assert_eq!(status, StatusCode::OK, "{metadata}");
    assert_eq!(str_of(&metadata, "issuer"), issuer);
    // What MCP requires of the authorization server: PKCE S256 advertised, registration, `none`
    // for public clients.
    assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]));
    assert!(metadata["token_endpoint_auth_methods_supported"].as_array().expect("a list").contains(&json!("none")));
    assert_eq!(metadata["scopes_supported"], json!([app::MCP_SCOPE, app::ADMIN_SCOPE]));
    // Client ID metadata documents (MCP 2025-11-25), when the example is built with them.
    let documents = metadata.get("client_id_metadata_document_supported");
    assert_eq!(documents, cfg!(feature = "fetch").then_some(&json!(true)), "{metadata}");
    Discovered {
        authorization_endpoint: str_of(&metadata, "authorization_endpoint").to_owned(),
        token_endpoint: str_of(&metadata, "token_endpoint").to_owned(),
        registration_endpoint: str_of(&metadata, "registration_endpoint").to_owned(),
    }
}

/// RFC 7591: a public client (`none`, PKCE only) with a loopback redirect URI registers itself.
async fn register(discovered: &Discovered) -> String {
    let metadata = json!({
        "client_name": "test MCP client",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    let request = http()
        .post(&discovered.registration_endpoint)
        .header(header::CONTENT_TYPE, "application/json")
        .body(metadata.to_string());
    let (status, _, client) = reply(request).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(str_of(&client, "token_endpoint_auth_method"), "none");
    assert!(client.get("client_secret").is_none(), "a public client has no secret: {client}");
    // Without `scope` at registration, the client may hold what the server advertises.
    assert_eq!(str_of(&client, "scope"), format!("{} {}", app::MCP_SCOPE, app::ADMIN_SCOPE));
    str_of(&client, "client_id").to_owned()
}

/// The authorization request of `client_id` for `scope` with PKCE and `resource` (when given),
/// answered by the auto-approving app with a redirect to the client carrying the code: the code.
async fn authorize(
    server: &Server,
    discovered: &Discovered,
    client_id: &str,
    challenge: &str,
    resource: Option<&str>,
    scope: &str,
) -> String {
    let state = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", scope),
        ("state", &state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    if let Some(resource) = resource {
        params.push(("resource", resource));
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
    let (status, headers, body) = get(&format!("{}?{query}", discovered.authorization_endpoint)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let params = redirect_params(&headers, REDIRECT_URI);
    // RFC 9207: the issuer identifies itself; the client's `state` comes back as sent.
    assert_eq!(params.get("iss"), Some(&server.info.issuer), "{params:?}");
    assert_eq!(params.get("state"), Some(&state), "{params:?}");
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in {params:?}"))
}

/// Redeems `code` at the token endpoint, with `resource` when given: the token response.
async fn redeem(discovered: &Discovered, client_id: &str, code: &str, verifier: &str, resource: Option<&str>) -> Value {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(resource) = resource {
        pairs.push(("resource", resource));
    }
    let (status, headers, tokens) = post_form(&discovered.token_endpoint, &pairs).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(str_of(&tokens, "token_type"), "Bearer");
    tokens
}

/// The whole flow for the auto-approving app: a registered client and its access token, for the
/// MCP server when `resource` is given.
async fn sign_in(server: &Server, resource: Option<&str>) -> (String, String) {
    let discovered = discover(server).await;
    let client_id = register(&discovered).await;
    let (verifier, challenge) = pkce();
    let code = authorize(server, &discovered, &client_id, &challenge, resource, app::MCP_SCOPE).await;
    let tokens = redeem(&discovered, &client_id, &code, &verifier, resource).await;
    (client_id, str_of(&tokens, "access_token").to_owned())
}

/// An rmcp client, initialized against the app's MCP endpoint with `access_token`.
async fn mcp_client(server: &Server, access_token: &str) -> RunningService<RoleClient, ()> {
    // `auth_header` takes the token without the scheme; the transport sends `Bearer <token>`.
    let config = StreamableHttpClientTransportConfig::with_uri(server.info.mcp_url.clone()).auth_header(access_token);
    let transport = StreamableHttpClientTransport::from_config(config);
    within(().serve(transport)).await.expect("the MCP client initializes")
}

fn arguments(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(arguments) => arguments,
        other => panic!("arguments are an object, not {other}"),
    }
}

/// An access token signed with the app's key, with `claims` over those of a valid token for
/// the MCP server: what the authorization server would not issue.
fn forge(server: &Server, claims: &Value) -> String {
    let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": server.key.kid() });
    let now = unix_now();
    let mut all = json!({
        "iss": server.info.issuer, "sub": USER, "aud": server.info.mcp_url, "exp": now + 60, "iat": now,
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()), "scope": app::MCP_SCOPE,
        // A user's sign-in: the example's guard refuses a client's own token (`require_user`).
        "auth_time": now,
    });
    for (name, value) in claims.as_object().expect("an object") {
        all[name] = value.clone();
    }
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(all.to_string()));
    let signature = server.key.sign(input.as_bytes()).expect("signing");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

// ---------------------------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unauthenticated_request_is_challenged_with_the_resource_metadata_url() {
    let server = auto_approving().await;
    let (status, headers, body) = initialize(&server, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The declaration's resource, resolved at compile time.
    assert_eq!(app::Auth::PATHS.resource, Some("/mcp"));
    assert_eq!(app::Auth::PATHS.resource_metadata, Some("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(
        server.info.resource_metadata_url,
        format!("{}/.well-known/oauth-protected-resource/mcp", server.info.issuer)
    );
    let metadata = &server.info.resource_metadata_url;
    // RFC 6750 §3.1: no credentials, no error code; the scope to ask for (MCP 2025-11-25 scope
    // selection); RFC 9728 §5.1: where the metadata is.
    assert_eq!(
        challenges(&headers),
        [
            format!("Bearer scope=\"mcp:tools\", resource_metadata=\"{metadata}\""),
            format!(
                "DPoP algs=\"ES256 ES384 EdDSA RS256 PS256\", scope=\"mcp:tools\", resource_metadata=\"{metadata}\""
            ),
        ]
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_client_discovers_registers_authorizes_with_pkce_and_resource_and_calls_the_tools() {
    let server = auto_approving().await;
    let (client_id, access_token) = sign_in(&server, Some(&server.info.mcp_url.clone())).await;

    // RFC 8707: a token for the MCP server, and for it alone; RFC 9068 claims.
    let claims = claims(&access_token);
    assert_eq!(claims["aud"], json!(server.info.mcp_url), "{claims}");
    assert_eq!(claims["iss"], json!(server.info.issuer));
    assert_eq!(claims["sub"], json!(USER));
    assert_eq!(claims["client_id"], json!(client_id));
    assert_eq!(claims["scope"], json!(app::MCP_SCOPE));

    let client = mcp_client(&server, &access_token).await;
    let info = client.peer_info().expect("the server's initialize result");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("attesto-mcp-example"));

    let tools = within(client.list_all_tools()).await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["add", "admin-action", "whoami"]);

    let sum = within(
        client.call_tool(CallToolRequestParams::new("add").with_arguments(arguments(json!({ "a": 2, "b": 40 })))),
    )
    .await
    .expect("tools/call add");
    assert_ne!(sum.is_error, Some(true), "{sum:?}");
    assert_eq!(sum.content[0].as_text().map(|text| text.text.as_str()), Some("42"));

    // The principal the guard authenticated reaches the tool.
    let caller = within(client.call_tool(CallToolRequestParams::new("whoami"))).await.expect("tools/call whoami");
    assert_eq!(
        caller.structured_content,
        Some(json!({ "subject": USER, "client_id": client_id, "scopes": [app::MCP_SCOPE] })),
        "{caller:?}"
    );
    within(client.cancel()).await.expect("the client closes");
}

#[tokio::test]
async fn a_sum_that_overflows_is_a_tool_error() {
    let server = auto_approving().await;
    let (_, access_token) = sign_in(&server, Some(&server.info.mcp_url.clone())).await;
    let client = mcp_client(&server, &access_token).await;
    let call = CallToolRequestParams::new("add").with_arguments(arguments(json!({ "a": i64::MAX, "b": 1 })));
    let error = within(client.call_tool(call)).await.expect_err("an overflow is refused");
    match error {
        rmcp::ServiceError::McpError(error) => {
            assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
            assert_eq!(error.message, "the sum does not fit in a 64-bit integer");
        }
        other => panic!("an MCP error, got {other:?}"),
    }
    within(client.cancel()).await.expect("the client closes");
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_no_token_passthrough() {
    let server = auto_approving().await;
    // Without `resource`, the token is for the default audience: the issuer, not the MCP server.
    let (_, access_token) = sign_in(&server, None).await;
    assert_eq!(claims(&access_token)["aud"], json!(server.info.issuer));

    let (status, headers, body) = initialize(&server, Some(&format!("Bearer {access_token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        challenges(&headers),
        [format!(
            "Bearer error=\"invalid_token\", error_description=\"the access token is not meant for this resource\", \
             scope=\"mcp:tools\", resource_metadata=\"{}\"",
            server.info.resource_metadata_url
        )]
    );
    assert_eq!(str_of(&body, "error"), "invalid_token");

    // The rmcp client is refused too, and sees the challenge.
    let config = StreamableHttpClientTransportConfig::with_uri(server.info.mcp_url.clone()).auth_header(access_token);
    let refused = within(().serve(StreamableHttpClientTransport::from_config(config))).await;
    let Err(error) = refused else { panic!("initialize is refused") };
    let challenge = error.auth_challenge().map(|challenge| challenge.to_owned());
    assert!(
        challenge.as_deref().is_some_and(|c| c.contains("error=\"invalid_token\"")),
        "the challenge reaches the client: {error:?}"
    );
}

#[tokio::test]
async fn a_clients_own_token_is_refused_with_insufficient_user_authentication() {
    let server = auto_approving().await;
    let (client_id, _) = sign_in(&server, Some(&server.info.mcp_url.clone())).await;
    // No `auth_time`: a token no user authorized, as the client credentials grant mints.
    let token = forge(&server, &json!({ "client_id": client_id, "sub": client_id, "auth_time": null }));
    let (status, headers, body) = initialize(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
    assert!(challenge.starts_with("Bearer error=\"insufficient_user_authentication\""), "{challenge}");
}

#[tokio::test]
async fn a_token_without_the_mcp_scope_is_refused_with_insufficient_scope() {
    let server = auto_approving().await;
    // A registered client, so that only the scope is wrong.
    let (client_id, _) = sign_in(&server, Some(&server.info.mcp_url.clone())).await;
    let token = forge(&server, &json!({ "client_id": client_id, "scope": "profile" }));

    let (status, headers, body) = initialize(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        challenges(&headers),
        [format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\"",
            app::MCP_SCOPE,
            server.info.resource_metadata_url
        )]
    );
    assert_eq!(str_of(&body, "error"), "insufficient_scope");

    // The same token with the scope is accepted: only the scope was missing.
    let token = forge(&server, &json!({ "client_id": client_id }));
    let (status, _, body) = initialize(&server, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "attesto-mcp-example");
}

/// `POST /mcp` with the JSON-RPC `body` (as `content_type`) and the bearer `access_token`.
async fn post_mcp(server: &Server, access_token: &str, content_type: &str, body: String) -> Reply {
    let request = http()
        .post(&server.info.mcp_url)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(body);
    reply(request).await
}

/// A JSON-RPC `tools/call` of `tool` with `id`.
fn tools_call(id: u64, tool: &str, arguments: &Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": arguments } })
}

/// Runs the authorization of the registered `client_id` for `scope` and the MCP server: the
/// access token.
async fn authorize_for(server: &Server, discovered: &Discovered, client_id: &str, scope: &str) -> String {
    let resource = server.info.mcp_url.clone();
    let (verifier, challenge) = pkce();
    let code = authorize(server, discovered, client_id, &challenge, Some(&resource), scope).await;
    let tokens = redeem(discovered, client_id, &code, &verifier, Some(&resource)).await;
    str_of(&tokens, "access_token").to_owned()
}

#[tokio::test]
async fn a_tool_needing_more_than_the_route_is_refused_with_an_http_403_and_runs_after_reauthorizing() {
    // MCP 2025-11-25, runtime insufficient scope: `/mcp` needs `mcp:tools`, the tool
    // `admin-action` `mcp:admin` as well; the client learns it from a 403, not from a JSON-RPC
    // error inside a 200.
    let server = auto_approving().await;
    let discovered = discover(&server).await;
    let client_id = register(&discovered).await;
    let tools_only = authorize_for(&server, &discovered, &client_id, app::MCP_SCOPE).await;
    assert_eq!(claims(&tools_only)["scope"], json!(app::MCP_SCOPE));

    let client = mcp_client(&server, &tools_only).await;
    let sum = within(
        client.call_tool(CallToolRequestParams::new("add").with_arguments(arguments(json!({ "a": 2, "b": 40 })))),
    )
    .await
    .expect("tools/call add");
    assert_eq!(sum.content[0].as_text().map(|text| text.text.as_str()), Some("42"));
    let refused = within(client.call_tool(CallToolRequestParams::new("admin-action"))).await;
    assert!(refused.is_err(), "the rmcp client is refused: {refused:?}");
    within(client.cancel()).await.expect("the client closes");

    let expected = format!(
        "Bearer error=\"insufficient_scope\", scope=\"mcp:tools mcp:admin\", resource_metadata=\"{}\"",
        server.info.resource_metadata_url
    );
    let json = "application/json";
    let (status, headers, body) =
        post_mcp(&server, &tools_only, json, tools_call(1, "admin-action", &json!({})).to_string()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope", "{body}");
    assert_eq!(body["error_description"], "the access token lacks a required scope", "{body}");
    assert_eq!(challenges(&headers), [expected.as_str()]);
    // A batch (JSON-RPC 2.0 §6) is refused when any of its calls is, and a body that does not
    // say it is JSON is read all the same.
    let batch = json!([tools_call(1, "add", &json!({ "a": 1, "b": 2 })), tools_call(2, "admin-action", &json!({}))]);
    for (content_type, body) in
        [(json, batch.to_string()), ("text/plain", tools_call(3, "admin-action", &json!({})).to_string())]
    {
        let (status, headers, body) = post_mcp(&server, &tools_only, content_type, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{content_type}: {body}");
        assert_eq!(challenges(&headers), [expected.as_str()], "{content_type}");
    }

    // The client authorizes again with the challenge's scopes, and the tool runs.
    let scope = expected.split("scope=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("scope").to_owned();
    let both = authorize_for(&server, &discovered, &client_id, &scope).await;
    assert_eq!(claims(&both)["scope"], json!("mcp:tools mcp:admin"));
    let client = mcp_client(&server, &both).await;
    let done =
        within(client.call_tool(CallToolRequestParams::new("admin-action"))).await.expect("tools/call admin-action");
    assert_ne!(done.is_error, Some(true), "{done:?}");
    assert_eq!(
        done.content[0].as_text().map(|text| text.text.as_str()),
        Some(format!("administrative action done for {USER}").as_str())
    );
    within(client.cancel()).await.expect("the client closes");
}

#[tokio::test]
async fn a_json_rpc_body_past_one_mebibyte_is_refused_with_413() {
    let server = auto_approving().await;
    let (_, access_token) = sign_in(&server, Some(&server.info.mcp_url.clone())).await;
    let padding = "x".repeat(attesto::MAX_JSON_RPC_BODY);
    let body = tools_call(1, "add", &json!({ "a": 1, "b": 2, "padding": padding })).to_string();
    let (status, _, body) = post_mcp(&server, &access_token, "application/json", body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(
        (&body["error"], &body["error_description"]),
        (&json!("invalid_request"), &json!("the request body is too large"))
    );
    // Within the bound, the same call reaches the tool.
    let body = tools_call(2, "add", &json!({ "a": 1, "b": 2 })).to_string();
    let (status, _, body) = post_mcp(&server, &access_token, "application/json", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "3", "{body}");
}

/// Interoperability: rmcp's own OAuth client (feature `auth`) runs the whole authorization against
/// the example with nothing but the MCP URL and the challenge: discovery, registration, PKCE,
/// `resource`, the code exchange. The test only plays the browser, reading the redirect.
#[tokio::test]
async fn the_rmcp_oauth_client_authorizes_against_the_example_on_its_own() {
    use rmcp::transport::auth::{AuthorizationRequest, OAuthState};

    let server = auto_approving().await;
    let (status, headers, _) = initialize(&server, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenges(&headers)[0].to_owned();

    let mut oauth = within(OAuthState::new(server.info.mcp_url.as_str(), None)).await.expect("an OAuth state");
    let request = AuthorizationRequest::new(REDIRECT_URI).with_client_name("rmcp").with_challenge(challenge);
    within(oauth.start_authorization(request)).await.expect("discovery and registration");
    let authorization_url = within(oauth.get_authorization_url()).await.expect("an authorization URL");
    let query: HashMap<String, String> =
        url::Url::parse(&authorization_url).expect("a URL").query_pairs().into_owned().collect();
    assert_eq!(query.get("resource"), Some(&server.info.mcp_url), "{authorization_url}");
    assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"), "{authorization_url}");
    // rmcp's client asks for every scope the metadata lists, `mcp:admin` included, rather than
    // the challenge's `mcp:tools` alone.
    let scope = format!("{} {}", app::MCP_SCOPE, app::ADMIN_SCOPE);
    assert_eq!(query.get("scope"), Some(&scope), "{authorization_url}");

    // The browser: the auto-approving app redirects straight back with the code.
    let (status, headers, body) = get(&authorization_url).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let callback = headers[header::LOCATION].to_str().expect("ASCII Location").to_owned();
    within(oauth.handle_callback_url(&callback)).await.expect("the code exchange");

    let manager = oauth.into_authorization_manager().expect("authorized");
    let access_token = within(manager.get_access_token()).await.expect("an access token");
    assert_eq!(claims(&access_token)["aud"], json!(server.info.mcp_url));
    let client = mcp_client(&server, &access_token).await;
    let caller = within(client.call_tool(CallToolRequestParams::new("whoami"))).await.expect("tools/call whoami");
    assert_eq!(caller.structured_content.as_ref().map(|c| &c["subject"]), Some(&json!(USER)), "{caller:?}");
    within(client.cancel()).await.expect("the client closes");
}

// ---------------------------------------------------------------------------------------------
// Without --auto-approve: the login page, then attesto's consent page
// ---------------------------------------------------------------------------------------------

/// The value of the hidden input `name` on a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
    let (_, rest) = page.split_once(&marker).unwrap_or_else(|| panic!("no hidden `{name}` in {page}"));
    rest.split_once('"').map(|(value, _)| value.to_owned()).expect("a closed attribute")
}

fn text(body: &Value) -> &str {
    body.as_str().unwrap_or_else(|| panic!("an HTML page, got {body}"))
}

/// The first `name=value` of a `Set-Cookie`.
fn set_cookie(headers: &HeaderMap) -> String {
    let set_cookie = headers.get(header::SET_COOKIE).expect("a Set-Cookie").to_str().expect("ASCII cookie");
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// A browser's form POST from the app's own pages.
async fn browser_post(server: &Server, url: &str, cookie: Option<&str>, pairs: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let mut request = http()
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, &server.info.issuer)
        .header("sec-fetch-site", "same-origin")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    reply(request).await
}

/// Starts an authorization request of a newly registered client in a browser without a session:
/// the client, the PKCE verifier, and the login page's URL with `return_to`.
/// Registers a client and starts an authorization request without a session: the discovered
/// endpoints, the client id, the PKCE verifier, the login page URL, and the cookie that binds the
/// resume URI to this "browser" (`name=value`).
async fn start_without_session(server: &Server) -> (Discovered, String, String, String, String) {
    let discovered = discover(server).await;
    let client_id = register(&discovered).await;
    let (verifier, challenge) = pkce();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", app::MCP_SCOPE),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &server.info.mcp_url),
        ])
        .finish();
    let (status, headers, _) = get(&format!("{}?{query}", discovered.authorization_endpoint)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let login_url = server.info.login_url.clone().expect("a login page");
    let params = redirect_params(&headers, &login_url);
    assert!(params["return_to"].starts_with(&format!("{}?", discovered.authorization_endpoint)), "{params:?}");
    let location = headers[header::LOCATION].to_str().expect("ASCII").to_owned();
    (discovered, client_id, verifier, location, set_cookie(&headers))
}

#[tokio::test]
async fn without_auto_approve_the_user_signs_in_consents_and_the_tools_see_the_user() {
    let server = with_login_page().await;
    let (discovered, client_id, verifier, login_page, login_cookie) = start_without_session(&server).await;
    let login_url = server.info.login_url.clone().expect("a login page");

    let (status, headers, page) = get(&login_page).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let return_to = hidden(text(&page), "return_to").replace("&amp;", "&");

    // A wrong password: the form again, and no session.
    let wrong = [("username", DEMO_USER), ("password", "wrong"), ("return_to", &return_to)];
    let (status, headers, page) = browser_post(&server, &login_url, None, &wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text(&page).contains("<p role=\"alert\">Wrong username or password.</p>"), "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());

    // The right one: a session, and back to the authorization request.
    let right = [("username", DEMO_USER), ("password", DEMO_PASSWORD), ("return_to", &return_to)];
    let (status, headers, _) = browser_post(&server, &login_url, None, &right).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], return_to.as_str());
    let session = set_cookie(&headers);

    // attesto's consent page, then "allow".
    let cookies = format!("{login_cookie}; {session}");
    let reply = reply(http().get(&return_to).header(header::COOKIE, &cookies)).await;
    let (status, headers, page) = reply;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = text(&page);
    assert!(page.contains(app::MCP_SCOPE), "the consent page names the scope: {page}");
    let cookies = format!("{session}; {}", set_cookie(&headers));
    let decision = [
        ("attesto_consent", hidden(page, "attesto_consent")),
        ("attesto_csrf", hidden(page, "attesto_csrf")),
        ("attesto_decision", "allow".to_owned()),
    ];
    let decision: Vec<(&str, &str)> = decision.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let (status, headers, body) =
        browser_post(&server, &discovered.authorization_endpoint, Some(&cookies), &decision).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let params = redirect_params(&headers, REDIRECT_URI);
    assert_eq!(params.get("state").map(String::as_str), Some("s1"));
    let code = params.get("code").expect("a code");

    let tokens = redeem(&discovered, &client_id, code, &verifier, Some(&server.info.mcp_url.clone())).await;
    let client = mcp_client(&server, str_of(&tokens, "access_token")).await;
    let caller = within(client.call_tool(CallToolRequestParams::new("whoami"))).await.expect("tools/call whoami");
    assert_eq!(caller.structured_content.as_ref().map(|c| &c["subject"]), Some(&json!(DEMO_USER)), "{caller:?}");
    within(client.cancel()).await.expect("the client closes");
}

#[tokio::test]
async fn the_login_page_refuses_a_return_to_elsewhere() {
    let server = with_login_page().await;
    let login_url = server.info.login_url.clone().expect("a login page");
    let message = "<p role=\"alert\">This sign-in link is not valid: start again from your MCP client.</p>";
    // Not the authorization endpoint: the page is no open redirector.
    for return_to in ["https://attacker.example/", "", &format!("{}evil", server.info.issuer)] {
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("return_to", return_to).finish();
        let (status, _, page) = get(&format!("{login_url}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{return_to}");
        assert!(text(&page).contains(message), "{page}");

        let pairs = [("username", DEMO_USER), ("password", DEMO_PASSWORD), ("return_to", return_to)];
        let (status, headers, page) = browser_post(&server, &login_url, None, &pairs).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{return_to}");
        assert!(text(&page).contains(message), "{page}");
        assert!(headers.get(header::SET_COOKIE).is_none());
    }
}

#[tokio::test]
async fn the_login_page_refuses_a_sign_in_posted_from_another_origin() {
    let server = with_login_page().await;
    let (_, _, _, login_page, _) = start_without_session(&server).await;
    let login_url = server.info.login_url.clone().expect("a login page");
    let (_, _, page) = get(&login_page).await;
    let return_to = hidden(text(&page), "return_to").replace("&amp;", "&");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("username", DEMO_USER), ("password", DEMO_PASSWORD), ("return_to", &return_to)])
        .finish();
    let request = http()
        .post(&login_url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "https://attacker.example")
        .body(body);
    let (status, headers, page) = reply(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text(&page).contains("<p role=\"alert\">This sign-in did not come from the sign-in page.</p>"), "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_login_page_refuses_a_repeated_field() {
    let server = with_login_page().await;
    let (_, _, _, login_page, _) = start_without_session(&server).await;
    let login_url = server.info.login_url.clone().expect("a login page");
    let message = "<p role=\"alert\">A field of this sign-in was sent twice.</p>";

    let (status, _, page) = get(&format!("{login_page}&return_to=https%3A%2F%2Fattacker.example%2F")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&page).contains(message), "{page}");

    let (_, _, page) = get(&login_page).await;
    let return_to = hidden(text(&page), "return_to").replace("&amp;", "&");
    let pairs =
        [("username", DEMO_USER), ("password", "wrong"), ("password", DEMO_PASSWORD), ("return_to", &return_to)];
    let (status, headers, page) = browser_post(&server, &login_url, None, &pairs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&page).contains(message), "{page}");
    assert!(headers.get(header::SET_COOKIE).is_none());
}

// ---------------------------------------------------------------------------------------------
// The guide
// ---------------------------------------------------------------------------------------------

/// Every Rust block of `guides/mcp.md` is an excerpt of the example, verbatim: the example is
/// compiled (and served by the tests above), so the guide's code is too, and cannot drift from it.
#[test]
fn the_guide_quotes_the_example_verbatim() {
    let guide = include_str!("../../guides/mcp.md");
    let sources = [
        include_str!("../../examples/mcp_server/app.rs"),
        include_str!("../../examples/mcp_server.rs"),
        include_str!("../../examples/mcp_minimal.rs"),
    ];
    let mut blocks = 0;
    let mut rest = guide;
    while let Some((_, after)) = rest.split_once("```rust\n") {
        let (block, after) = after.split_once("```").expect("a closed code block");
        assert!(
            sources.iter().any(|source| source.contains(block)),
            "this block of guides/mcp.md is not in examples/mcp_minimal.rs, examples/mcp_server.rs or examples/mcp_server/app.rs:\n{block}"
        );
        blocks += 1;
        rest = after;
    }
    assert!(blocks >= 5, "the guide shows the example's code ({blocks} blocks found)");
    // No other kind of Rust block slips past the check.
    assert!(!guide.contains("```rust,") && !guide.contains("```rs"), "Rust blocks are written ```rust");
}
