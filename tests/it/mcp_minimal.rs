//! The smallest protected MCP server (`examples/mcp_minimal.rs`, the first program of
//! `guides/mcp.md`, included here as it is) served on a loopback port: a client registers,
//! is signed in by the development sign-in without a page, redeems its code, and calls the tool.
//! Also what `dev_sign_in` and the other declaration shortcuts it uses promise.

#[allow(dead_code)]
#[path = "../../examples/mcp_minimal.rs"]
mod minimal;

use std::time::Duration;

use attesto::{Attesto, ClientStore, ConfigError, Key, MemoryRegistrations};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{StatusCode, header};
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT_URI: &str = "http://127.0.0.1:53682/callback";

fn http() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client")
}

async fn json_of(response: reqwest012::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, not {text}")))
}

#[tokio::test]
async fn the_thirty_line_server_registers_signs_in_and_serves_its_tool() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let app = minimal::app(&origin).expect("the app builds");
    let server = tokio::spawn(async move { axum::serve(listener, app).await.expect("server runs") });
    let mcp_url = format!("{origin}/mcp");

    // Unauthenticated: the MCP challenge names the resource metadata.
    let response = http().post(&mcp_url).header(header::CONTENT_TYPE, "application/json").body("{}").send().await;
    let response = response.expect("POST /mcp");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().expect("a text challenge").to_owned();
    assert!(challenge.contains(&format!("resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\"")));

    // `registration = "registrations"`: the field's `MemoryRegistrations` stores the client.
    let registration = json!({
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
    });
    let response = http()
        .post(format!("{origin}/oauth/register"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(registration.to_string())
        .send()
        .await;
    let (status, client) = json_of(response.expect("register")).await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let client_id = client["client_id"].as_str().expect("a client id").to_owned();

    // `dev_sign_in = "demo-user"`: signed in and approved at once, no page.
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "mcp:tools"),
            ("state", "s1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &mcp_url),
        ])
        .finish();
    let response = http().get(format!("{origin}/oauth/authorize?{query}")).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()[header::LOCATION].to_str().expect("a location")).expect("a URL");
    assert!(location.as_str().starts_with(REDIRECT_URI), "{location}");
    let code = location.query_pairs().find(|(name, _)| name == "code").expect("a code").1.into_owned();

    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id.as_str()),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("resource", mcp_url.as_str()),
    ];
    let form = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let request = http()
        .post(format!("{origin}/oauth/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form);
    let (status, tokens) = json_of(request.send().await.expect("token")).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access_token = tokens["access_token"].as_str().expect("an access token");
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("JSON");
    assert_eq!(claims["sub"], json!("demo-user"));
    assert_eq!(claims["aud"], json!(mcp_url));

    // The tool, through `auth.protect(guard, mcp)`.
    let config = StreamableHttpClientTransportConfig::with_uri(mcp_url.clone()).auth_header(access_token);
    let client =
        tokio::time::timeout(Duration::from_secs(30), ().serve(StreamableHttpClientTransport::from_config(config)))
            .await
            .expect("in time")
            .expect("the MCP client initializes");
    let hello = client.call_tool(CallToolRequestParams::new("hello")).await.expect("tools/call hello");
    assert_eq!(
        hello.content[0].as_text().map(|text| text.text.as_str()),
        Some("Hello from an MCP server protected by attesto")
    );
    client.cancel().await.expect("the client closes");
    server.abort();
}

/// A provider that signs everyone in, for the refusal below.
#[derive(Clone, Default)]
#[attesto::provider(registration = "registrations", dev_sign_in = "demo-user")]
struct DevOnly {
    registrations: MemoryRegistrations,
}

impl ClientStore for DevOnly {}

#[test]
fn the_development_sign_in_is_refused_off_loopback() {
    let key = || Key::generate_for_development().expect("a key");
    let built = Attesto::builder(DevOnly::default()).issuer("https://auth.example.com").expect("an issuer");
    let Err(error) = built.signing_key(key()).build() else { panic!("a development sign-in off loopback builds") };
    assert_eq!(
        error,
        ConfigError::DevSignInOffLoopback { subject: "demo-user", issuer: "https://auth.example.com".to_owned() }
    );
    assert!(error.to_string().contains("remove `dev_sign_in` from the provider declaration"), "{error}");
    for issuer in ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"] {
        let built = Attesto::builder(DevOnly::default()).issuer(issuer).expect("an issuer").signing_key(key()).build();
        assert!(built.is_ok(), "{issuer}");
    }
    assert_eq!(DevOnly::FEATURES.dev_sign_in, Some("demo-user"));
}

/// `guides/mcp.md` opens with the whole minimal program, and its host code (everything but the
/// tool) stays within thirty lines.
#[test]
fn the_guide_opens_with_the_whole_minimal_program() {
    let guide = include_str!("../../guides/mcp.md");
    let source = include_str!("../../examples/mcp_minimal.rs");
    let first = guide.split_once("```rust\n").and_then(|(_, rest)| rest.split_once("```")).map(|(block, _)| block);
    assert_eq!(first, Some(source), "the first Rust block of guides/mcp.md is examples/mcp_minimal.rs");
    let host = source.split("/// The MCP server: one tool.").next().expect("the host part");
    let lines = host.lines().filter(|line| !line.trim().is_empty() && !line.trim_start().starts_with("//")).count();
    assert!(lines <= 30, "{lines} lines of host code");
}
