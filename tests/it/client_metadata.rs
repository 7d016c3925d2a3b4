//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25):
//! the real provider router, and a document server on 127.0.0.1 that counts the requests it gets,
//! so that a test can tell "refused before any connection" from "fetched and refused".
//!
//! The document server speaks HTTP/1.1 by hand over TCP: each test sets what a path answers
//! (status, headers, body, sent chunked or with `Content-Length`, after a delay). Documents are
//! fetched from it over `http` on the loopback interface, which only the development switch
//! (`allow_loopback_for_development`) permits; the tests that switch it off check that nothing
//! reaches the server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use attesto::{Attesto, Client, ClientMetadataDocuments, Key, Scopes};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Where the test clients' documents send the user back.
const REDIRECT: &str = "https://app.example/callback";

// ---------------------------------------------------------------------------------------------
// the document server
// ---------------------------------------------------------------------------------------------

/// What the document server answers on one path.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Sent with `Transfer-Encoding: chunked` (no `Content-Length`), in 1 KiB chunks.
    chunked: bool,
    /// Waited before the response head.
    delay: Duration,
}

impl Reply {
    fn json(document: &Value) -> Self {
        Self {
            status: 200,
            headers: Vec::new(),
            body: serde_json::to_vec(document).expect("JSON"),
            chunked: false,
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16) -> Self {
        Self { status, ..Self::json(&json!({"error": "nope"})) }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A document server on 127.0.0.1, counting requests by path.
#[derive(Clone)]
struct Documents {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Documents {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let documents =
            Self { addr: listener.local_addr().expect("address"), routes: Arc::default(), hits: Arc::default() };
        let server = documents.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().answer(stream));
            }
        });
        documents
    }

    /// `http://127.0.0.1:<port><path>`.
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn serve(&self, path: &str, reply: Reply) {
        self.routes.lock().expect("routes").insert(path.to_owned(), reply);
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("hits").get(path).copied().unwrap_or_default()
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().expect("hits").values().sum()
    }

    /// Reads one request head, answers it, closes the connection.
    async fn answer(self, mut stream: tokio::net::TcpStream) {
        let mut head = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        *self.hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
        let reply = self.routes.lock().expect("routes").get(&path).cloned().unwrap_or_else(|| Reply::status(404));
        tokio::time::sleep(reply.delay).await;
        let mut response =
            format!("HTTP/1.1 {} X\r\nConnection: close\r\nContent-Type: application/json\r\n", reply.status);
        for (name, value) in &reply.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        if reply.chunked {
            response.push_str("Transfer-Encoding: chunked\r\n\r\n");
        } else {
            response.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
        }
        let mut bytes = response.into_bytes();
        if reply.chunked {
            for chunk in reply.body.chunks(1024) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        } else {
            bytes.extend_from_slice(&reply.body);
        }
        // The client may hang up first (a refused size, a timeout): nothing to do then.
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    }
}

/// A good document for the client whose id is `client_id`.
fn document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Example MCP Client",
        "redirect_uris": [REDIRECT, "http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// [`document`] with `changes` merged in (`null` removes a member).
fn document_with(client_id: &str, changes: &Value) -> Value {
    let mut document = document(client_id);
    if let (Some(document), Some(changes)) = (document.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                document.remove(name);
            } else {
                document.insert(name.clone(), value.clone());
            }
        }
    }
    document
}

/// Serves `document` at `path`; returns the client id (the URL).
fn publish(documents: &Documents, path: &str, document: impl Fn(&str) -> Value) -> String {
    let client_id = documents.url(path);
    documents.serve(path, Reply::json(&document(&client_id)));
    client_id
}

// ---------------------------------------------------------------------------------------------
// the provider
// ---------------------------------------------------------------------------------------------

/// The development switch on: documents from the loopback document server are fetched.
fn development() -> ClientMetadataDocuments {
    ClientMetadataDocuments::new().allow_loopback_for_development(true)
}

fn auth_for(host: TestHost, documents: Option<ClientMetadataDocuments>) -> Attesto<TestHost> {
    let mut builder = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("valid resource")
        .scopes_supported(["openid", "read", "write"]);
    if let Some(documents) = documents {
        builder = builder.client_metadata_documents(documents);
    }
    builder.build().expect("provider builds")
}

/// A provider's router and its host, whose events say why a document was refused.
struct Served {
    router: Router,
    host: TestHost,
}

impl std::ops::Deref for Served {
    type Target = Router;
    fn deref(&self) -> &Router {
        &self.router
    }
}

fn router(documents: Option<ClientMetadataDocuments>) -> Served {
    let host = TestHost::new();
    Served { router: auth_for(host.clone(), documents).router(), host }
}

/// The authorization request of `client_id` with a fresh PKCE challenge; `extra` overrides.
fn authorize_uri(client_id: &str, extra: &[(&str, &str)]) -> String {
    let (_, challenge) = pkce();
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("scope", "read"),
        ("state", "xyz"),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        params.push((name, value));
    }
    authorize_url(TestHost::PATHS.authorize, &params)
}

/// A signed-in user's authorization request, answered as JSON when it fails.
async fn authorize(router: &Router, client_id: &str, extra: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(authorize_uri(client_id, extra))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, session_cookie("alice"))
        .body(Body::empty())
        .expect("request");
    send(router, request).await
}

/// Asserts that the request reached the consent page: the client was accepted.
async fn assert_accepted(router: &Router, client_id: &str) {
    let (status, _, body) = authorize(router, client_id, &[]).await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("wants to access your account"), "{body}");
}

/// Asserts an error shown at the authorization endpoint (never redirected): `error` and the
/// exact description.
async fn assert_authorize_error(router: &Router, client_id: &str, error: &str, description: &str) {
    let (status, headers, body) = authorize(router, client_id, &[]).await;
    let json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("a JSON error, got {status}: {}", String::from_utf8_lossy(&body)));
    assert!(headers.get(header::LOCATION).is_none(), "never redirected: {headers:?}");
    assert_error(&(status, headers, json.clone()), StatusCode::BAD_REQUEST, error);
    assert_eq!(json["error_description"], description, "{json}");
}

/// What the caller is told of a document that could not be fetched, and of one that was refused.
const NOT_FETCHED: &str = "the client ID metadata document could not be fetched";
const NOT_ACCEPTED: &str = "the client ID metadata document is not acceptable to this server";

/// Asserts that the document of `client_id` is refused for `reason`: the anonymous caller is told
/// which step failed, in fixed words (a fault of the URL it sent, or the server being busy, as
/// such), and the reason reaches the host as an event only.
async fn assert_refused(served: &Served, client_id: &str, reason: &str) {
    let (status, headers, body) = authorize(served, client_id, &[]).await;
    let json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("a JSON error, got {status}: {}", String::from_utf8_lossy(&body)));
    assert!(headers.get(header::LOCATION).is_none(), "never redirected: {headers:?}");
    assert_error(&(status, headers, json.clone()), StatusCode::BAD_REQUEST, "invalid_client");
    let description = json["error_description"].as_str().expect("a description");
    let own_fault = reason.starts_with("the `client_id` URL ") || reason.starts_with("too many ");
    if own_fault {
        assert_eq!(description, reason, "{json}");
    } else {
        assert!([NOT_FETCHED, NOT_ACCEPTED].contains(&description), "fixed words, not `{reason}`: {json}");
    }
    let event = format!("client_metadata_document_refused {client_id} {reason}");
    assert!(served.host.events().contains(&event), "`{event}` in {:?}", served.host.events());
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The claims of a JWT, unverified (the signature is the token tests' concern).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

// ---------------------------------------------------------------------------------------------
// the flow
// ---------------------------------------------------------------------------------------------

/// Alice authorizes `client_id` for `scope` and `RESOURCE` on the consent page, and the code is
/// redeemed: the consent page's HTML and the token response.
async fn sign_in(router: &Router, client_id: &str, scope: &str) -> (String, Value) {
    let (verifier, challenge) = pkce();
    let uri = authorize_uri(client_id, &[("code_challenge", &challenge), ("scope", scope), ("resource", RESOURCE)]);
    let (page, base, params) = allow_on_consent_page(router, &uri, "alice").await;
    assert_eq!(base, REDIRECT);
    let code = params.get("code").expect("a code");

    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
        ("client_id", client_id),
    ]);
    let (status, _, tokens) = token(router, TestHost::PATHS.token, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    (page, tokens)
}

/// Authorize (consent page showing the host) → code → token → refresh, for a client known only
/// by its document, fetched once.
#[tokio::test]
async fn a_document_client_runs_the_code_flow_with_pkce() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/mcp-client.json", |id| document_with(id, &json!({"scope": "read admin"})));
    let router = router(Some(development()));

    let (page, tokens) = sign_in(&router, &client_id, "read admin").await;
    // draft §6.4: the self-asserted name next to the host that serves the document.
    let host = documents.addr.to_string();
    assert!(
        page.contains(&format!("<strong>Example MCP Client</strong> from <strong>{host}</strong> wants to access")),
        "{page}"
    );
    // The document asked for `admin`, which the server does not advertise: not granted.
    assert_eq!(tokens["scope"], "read");
    let access = claims(tokens["access_token"].as_str().expect("an access token"));
    assert_eq!(access["client_id"], client_id.as_str());
    assert_eq!(access["aud"], RESOURCE);

    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &client_id)]);
    let (status, _, refreshed) = token(&router, TestHost::PATHS.token, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    // Authorization, consent decision, two token requests: one fetch.
    assert_eq!(documents.hits("/mcp-client.json"), 1);
}

/// The resource guard checks that a token's client exists without fetching its document again:
/// a document host that is slow or down after the document expired does not stall, nor break,
/// the requests to the resource.
#[tokio::test]
async fn the_guard_does_not_fetch_the_document_on_the_resource_path() {
    let documents = Documents::start().await;
    let client_id = documents.url("/short-lived.json");
    documents.serve("/short-lived.json", Reply::json(&document(&client_id)).header("Cache-Control", "max-age=1"));
    let auth = auth_for(
        TestHost::new(),
        Some(development().cache_ttl_bounds(Duration::from_secs(1), Duration::from_secs(3600))),
    );
    let guard = auth.guard(RESOURCE).expect("valid resource");
    let app = Router::new()
        .route("/mcp", axum::routing::get(|who: attesto::Authenticated| async move { who.client_id.to_string() }))
        .with_state(guard)
        .merge(auth.router());
    let (_, tokens) = sign_in(&app, &client_id, "read").await;
    let access_token = tokens["access_token"].as_str().expect("an access token").to_owned();
    assert_eq!(documents.hits("/short-lived.json"), 1);

    // The document expires, and its host now takes 10 s to answer.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    documents
        .serve("/short-lived.json", Reply { delay: Duration::from_secs(10), ..Reply::json(&document(&client_id)) });
    let started = Instant::now();
    for _ in 0..3 {
        let request = Request::get("/mcp")
            .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = send(&app, request).await;
        assert_eq!((status, String::from_utf8_lossy(&body).into_owned()), (StatusCode::OK, client_id.clone()));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "no fetch on the resource path: {:?}", started.elapsed());
    assert_eq!(documents.hits("/short-lived.json"), 1);
}

/// A loopback redirect URI of the document matches on any port (RFC 8252 §7.3, a public client).
#[tokio::test]
async fn a_loopback_redirect_uri_of_the_document_matches_any_port() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/native.json", document);
    let router = router(Some(development()));
    let (status, _, body) =
        authorize(&router, &client_id, &[("redirect_uri", "http://127.0.0.1:53117/callback")]).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

// ---------------------------------------------------------------------------------------------
// the document
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_document_naming_another_client_id_is_refused() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/client.json", |_| document("https://trusted.example/client.json"));
    let router = router(Some(development()));
    assert_refused(&router, &client_id, "the document's `client_id` is not the URL it was fetched from").await;
    // Compared as strings: the same URL with another spelling of the port is another URL.
    let client_id = publish(&documents, "/port.json", |id| document(&id.replace("127.0.0.1:", "127.0.0.1:0")));
    assert_refused(&router, &client_id, "the document's `client_id` is not the URL it was fetched from").await;
}

#[tokio::test]
async fn a_redirect_uri_not_in_the_document_is_refused_without_redirecting() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/client.json", document);
    let router = router(Some(development()));
    for uri in ["https://attacker.example/callback", "https://app.example/callback/", "https://app.example/callback?x"]
    {
        let (status, headers, body) = authorize(&router, &client_id, &[("redirect_uri", uri)]).await;
        let json: Value = serde_json::from_slice(&body).expect("a JSON error");
        assert!(headers.get(header::LOCATION).is_none());
        assert_error(&(status, headers, json.clone()), StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(json["error_description"], "`redirect_uri` is not registered for this client");
    }
}

#[tokio::test]
async fn a_document_over_the_size_cap_is_refused_with_or_without_content_length() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let padding = "x".repeat(6 * 1024);
    let client_id = publish(&documents, "/large.json", |id| document_with(id, &json!({"padding": padding})));
    assert_refused(&router, &client_id, "the document is larger than 5120 bytes").await;

    let client_id = documents.url("/chunked.json");
    let mut reply = Reply::json(&document_with(&client_id, &json!({"padding": padding})));
    reply.chunked = true;
    documents.serve("/chunked.json", reply);
    assert_refused(&router, &client_id, "the document is larger than 5120 bytes").await;

    // Just under the cap, chunked: accepted.
    let client_id = documents.url("/fits.json");
    let mut fits = document_with(&client_id, &json!({"padding": ""}));
    let room = 5 * 1024 - serde_json::to_vec(&fits).expect("JSON").len();
    fits["padding"] = Value::from("x".repeat(room));
    let mut reply = Reply::json(&fits);
    reply.chunked = true;
    assert_eq!(reply.body.len(), 5 * 1024);
    documents.serve("/fits.json", reply);
    assert_accepted(&router, &client_id).await;
}

#[tokio::test]
async fn a_slow_document_server_is_given_up_on_at_the_deadline() {
    let documents = Documents::start().await;
    let client_id = documents.url("/slow.json");
    let mut reply = Reply::json(&document(&client_id));
    reply.delay = Duration::from_secs(3);
    documents.serve("/slow.json", reply);
    let router = router(Some(development().timeout(Duration::from_millis(300))));
    let started = Instant::now();
    assert_refused(&router, &client_id, "the fetch timed out").await;
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

/// At most `max_concurrent_fetches` documents are fetched at once: with the one slot held by a
/// slow host, another client id waits at most half the deadline and is refused as busy, without
/// a request to its host; once the slot is free, it is served.
#[tokio::test]
async fn concurrent_fetches_are_bounded() {
    let documents = Documents::start().await;
    let slow = documents.url("/slow.json");
    documents.serve("/slow.json", Reply { delay: Duration::from_secs(3), ..Reply::json(&document(&slow)) });
    let fast = publish(&documents, "/fast.json", document);
    // The slow fetch holds the slot for the 2 s deadline; the other lookup waits 1 s of it.
    let router = router(Some(development().timeout(Duration::from_secs(2)).max_concurrent_fetches(1)));

    let holder = {
        let router = router.clone();
        let slow = slow.clone();
        tokio::spawn(async move { authorize(&router, &slow, &[]).await })
    };
    // Until the slow fetch holds the one slot.
    while documents.hits("/slow.json") == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_refused(&router, &fast, "too many client ID metadata documents are being fetched at once: try again later")
        .await;
    assert_eq!(documents.hits("/fast.json"), 0);
    // The slow one runs out of time and frees the slot.
    let (status, _, _) = holder.await.expect("the slow lookup ends");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_accepted(&router, &fast).await;
    assert_eq!(documents.hits("/fast.json"), 1);
}

/// No redirect is followed, to another host (127.0.0.1 → localhost) or within the host: the
/// document must be served at its URL (draft -02 §5).
#[tokio::test]
async fn redirects_are_not_followed() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let target = publish(&documents, "/target.json", document);
    let port = documents.addr.port();
    let reason = |status| {
        format!(
            "the server answered {status}, a redirect, and redirects are not followed: the document must be served at its `client_id` URL"
        )
    };

    let client_id = documents.url("/other-host.json");
    documents.serve(
        "/other-host.json",
        Reply::status(302).header("Location", format!("http://localhost:{port}/target.json")),
    );
    assert_refused(&router, &client_id, &reason(302)).await;

    let client_id = documents.url("/same-host.json");
    documents.serve("/same-host.json", Reply::status(301).header("Location", target));
    assert_refused(&router, &client_id, &reason(301)).await;

    assert_eq!(documents.hits("/target.json"), 0);
}

#[tokio::test]
async fn a_status_other_than_200_is_refused() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let client_id = documents.url("/missing.json");
    assert_refused(&router, &client_id, "the server answered 404 instead of 200").await;
    let client_id = documents.url("/created.json");
    documents.serve("/created.json", Reply { status: 201, ..Reply::json(&document(&client_id)) });
    assert_refused(&router, &client_id, "the server answered 201 instead of 200").await;
}

#[tokio::test]
async fn a_document_that_is_not_a_json_object_is_refused() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    for (path, body) in [("/broken.json", &b"{\"client_id\": "[..]), ("/array.json", b"[]"), ("/html.json", b"<html>")]
    {
        documents.serve(path, Reply { body: body.to_vec(), ..Reply::status(200) });
        assert_refused(&router, &documents.url(path), "the document is not a JSON object").await;
    }
}

/// §4.1: no shared secret; attesto serves these clients as public clients only.
#[tokio::test]
async fn secrets_and_secret_based_authentication_are_refused() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let cases = [
        (
            json!({"client_secret": "s3cret"}),
            "the document must not contain `client_secret`: a client ID metadata document cannot establish a shared secret",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "`token_endpoint_auth_method` `client_secret_basic` relies on a shared secret, which a client ID metadata document cannot establish",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_post"}),
            "`token_endpoint_auth_method` `client_secret_post` relies on a shared secret, which a client ID metadata document cannot establish",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
            "`token_endpoint_auth_method` `client_secret_jwt` relies on a shared secret, which a client ID metadata document cannot establish",
        ),
        (
            json!({"grant_types": ["client_credentials"]}),
            "grant type `client_credentials` is not available to a client ID metadata document client: use authorization_code and refresh_token",
        ),
        (json!({"redirect_uris": null}), "the document has no `redirect_uris`"),
    ];
    for (index, (changes, reason)) in cases.into_iter().enumerate() {
        let client_id = publish(&documents, &format!("/case-{index}.json"), |id| document_with(id, &changes));
        assert_refused(&router, &client_id, reason).await;
    }
    // Without `token_endpoint_auth_method` the client is public, not `client_secret_basic`.
    let client_id =
        publish(&documents, "/no-method.json", |id| document_with(id, &json!({"token_endpoint_auth_method": null})));
    assert_accepted(&router, &client_id).await;
}

/// A bad document is `invalid_client` with the reason at the token endpoint too (400: the
/// client sent no credentials), never a 503.
#[tokio::test]
async fn the_token_endpoint_reports_a_bad_document() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let client_id = documents.url("/gone.json");
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", REDIRECT),
        ("code_verifier", "y"),
        ("client_id", &client_id),
    ]);
    let reply = token(&router, TestHost::PATHS.token, None, &body).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client");
    assert_eq!(reply.2["error_description"], NOT_FETCHED, "no remote status to an anonymous caller");
    assert_eq!(documents.hits("/gone.json"), 1);
}

// ---------------------------------------------------------------------------------------------
// where attesto fetches from
// ---------------------------------------------------------------------------------------------

/// Without the development switch: no `http`, no loopback address, no name that resolves to
/// one; nothing reaches the server.
#[tokio::test]
async fn loopback_documents_are_refused_without_the_development_switch() {
    let documents = Documents::start().await;
    let router = router(Some(ClientMetadataDocuments::new()));
    let port = documents.addr.port();
    publish(&documents, "/client.json", document);
    let refused_address = "the host does not resolve to a public address (loopback and private addresses are refused)";

    assert_refused(&router, &documents.url("/client.json"), "the `client_id` URL must use https").await;
    // A port other than 443 is refused before anything is resolved or fetched.
    let other_port = "the `client_id` URL must use the default https port (443)";
    assert_refused(&router, &format!("https://127.0.0.1:{port}/client.json"), other_port).await;
    assert_refused(&router, &format!("https://[::1]:{port}/client.json"), other_port).await;
    assert_refused(&router, &format!("https://localhost:{port}/client.json"), other_port).await;
    assert_refused(&router, "https://client.example:8443/client.json", other_port).await;
    // On 443, loopback and private addresses are refused when resolved; the caller learns only
    // that the document could not be fetched (no map of the internal network).
    assert_refused(&router, "https://127.0.0.1/client.json", refused_address).await;
    assert_refused(&router, "https://[::1]/client.json", refused_address).await;
    assert_refused(&router, "https://localhost/client.json", refused_address).await;
    assert_refused(&router, "https://169.254.169.254/latest/meta-data", refused_address).await;
    assert_eq!(documents.total_hits(), 0);
}

/// §3: URLs that are not client identifiers are refused before any fetch.
#[tokio::test]
async fn malformed_client_id_urls_are_refused_before_any_fetch() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let base = documents.url("");
    let cases = [
        (format!("{base}/a/../client.json"), "the `client_id` URL must not contain `.` or `..` path segments"),
        (format!("{base}/client.json#x"), "the `client_id` URL must not contain a fragment"),
        (
            base.replace("http://", "http://user:pass@") + "/client.json",
            "the `client_id` URL must not contain a username or password",
        ),
        (base.clone(), "the `client_id` URL must contain a path, such as `https://client.example/metadata.json`"),
        (
            base.replace("http://", "HTTP://") + "/client.json",
            "the `client_id` URL must be written in canonical form (lower-case scheme and host, no default port, no character a URL parser escapes)",
        ),
        (
            "http://app.example/client.json".to_owned(),
            "the `client_id` URL must use https (http is accepted from a loopback host only, in development)",
        ),
    ];
    for (client_id, reason) in cases {
        assert_refused(&router, &client_id, reason).await;
    }
    assert_eq!(documents.total_hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// the cache
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_good_document_is_cached() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/client.json", document);
    let router = router(Some(development()));
    assert_accepted(&router, &client_id).await;
    assert_accepted(&router, &client_id).await;
    assert_eq!(documents.hits("/client.json"), 1);
}

/// `max-age` sets the lifetime, within the bounds: a 1-second document is fetched again after
/// a second; `no-store` gets the lower bound.
#[tokio::test]
async fn max_age_is_honoured() {
    let documents = Documents::start().await;
    let router = router(Some(development().cache_ttl_bounds(Duration::from_secs(1), Duration::from_secs(3600))));
    let short = documents.url("/short.json");
    documents.serve("/short.json", Reply::json(&document(&short)).header("Cache-Control", "public, max-age=1"));
    let no_store = documents.url("/no-store.json");
    documents.serve("/no-store.json", Reply::json(&document(&no_store)).header("Cache-Control", "no-store"));
    let long = documents.url("/long.json");
    documents.serve("/long.json", Reply::json(&document(&long)).header("Cache-Control", "max-age=600"));
    for client_id in [&short, &no_store, &long] {
        assert_accepted(&router, client_id).await;
        assert_accepted(&router, client_id).await;
    }
    assert_eq!(
        [documents.hits("/short.json"), documents.hits("/no-store.json"), documents.hits("/long.json")],
        [1, 1, 1]
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for client_id in [&short, &no_store, &long] {
        assert_accepted(&router, client_id).await;
    }
    assert_eq!(
        [documents.hits("/short.json"), documents.hits("/no-store.json"), documents.hits("/long.json")],
        [2, 2, 1]
    );
}

/// §4.4: failures are not cached, so a fixed document is used at once.
#[tokio::test]
async fn failures_are_not_cached() {
    let documents = Documents::start().await;
    let router = router(Some(development()));
    let client_id = documents.url("/later.json");
    assert_refused(&router, &client_id, "the server answered 404 instead of 200").await;
    assert_refused(&router, &client_id, "the server answered 404 instead of 200").await;
    assert_eq!(documents.hits("/later.json"), 2);
    documents.serve("/later.json", Reply::json(&document(&client_id)));
    assert_accepted(&router, &client_id).await;
    assert_eq!(documents.hits("/later.json"), 3);
}

/// Concurrent lookups of one URL share one fetch.
#[tokio::test]
async fn concurrent_lookups_share_one_fetch() {
    let documents = Documents::start().await;
    let client_id = documents.url("/busy.json");
    let mut reply = Reply::json(&document(&client_id));
    reply.delay = Duration::from_millis(300);
    documents.serve("/busy.json", reply);
    let router = router(Some(development()));
    let lookups: Vec<_> = (0..8)
        .map(|_| {
            let (router, client_id) = (router.clone(), client_id.clone());
            tokio::spawn(async move { authorize(&router, &client_id, &[]).await.0 })
        })
        .collect();
    for lookup in lookups {
        assert_eq!(lookup.await.expect("task"), StatusCode::OK);
    }
    assert_eq!(documents.hits("/busy.json"), 1);
}

/// The cache holds at most `max_cached_documents`; the one closest to expiry makes room.
#[tokio::test]
async fn the_cache_is_bounded() {
    let documents = Documents::start().await;
    let first = publish(&documents, "/first.json", document);
    let second = publish(&documents, "/second.json", document);
    let router = router(Some(development().max_cached_documents(1)));
    assert_accepted(&router, &first).await;
    assert_accepted(&router, &second).await;
    assert_accepted(&router, &second).await;
    assert_accepted(&router, &first).await;
    assert_eq!([documents.hits("/first.json"), documents.hits("/second.json")], [2, 1]);
}

// ---------------------------------------------------------------------------------------------
// on and off
// ---------------------------------------------------------------------------------------------

/// Off by default: a URL client id is just unknown, and nothing is fetched.
#[tokio::test]
async fn without_client_metadata_documents_a_url_client_id_is_unknown() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/client.json", document);
    let router = router(None);
    assert_authorize_error(&router, &client_id, "invalid_client", "unknown client").await;
    assert_eq!(documents.total_hits(), 0);
}

/// A client id the host's table knows is the host's client, even when it is a URL: nothing is
/// fetched (draft -02 §7.2, pre-registered client identifier URLs).
#[tokio::test]
async fn the_hosts_table_wins_over_a_document() {
    let documents = Documents::start().await;
    let client_id = publish(&documents, "/hosted.json", |id| document(&format!("{id}-not-this-one")));
    let mut clients = clients();
    clients.insert(
        client_id.clone(),
        Client::public(client_id.as_str())
            .with_scopes(Scopes::parse("read").expect("scopes"))
            .with_redirect_uris([REDIRECT]),
    );
    let host = TestHost { clients: Arc::new(clients), events: Arc::default() };
    let router = auth_for(host, Some(development())).router();
    assert_accepted(&router, &client_id).await;
    assert_eq!(documents.total_hits(), 0);
}

/// draft §5: advertised only when on; the documents are otherwise unchanged.
#[tokio::test]
async fn discovery_says_whether_documents_are_supported() {
    for (documents, expected) in [(Some(ClientMetadataDocuments::new()), Some(true)), (None, None)] {
        let router = router(documents);
        for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
            let (status, _, metadata) =
                send_json(&router, Request::get(path).body(Body::empty()).expect("request")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(
                metadata.get("client_id_metadata_document_supported").and_then(Value::as_bool),
                expected,
                "{path}"
            );
            assert_eq!(
                metadata["token_endpoint_auth_methods_supported"],
                json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
            );
        }
    }
}

#[test]
fn settings_out_of_range_are_refused_at_build() {
    let build = |documents: ClientMetadataDocuments| {
        Attesto::builder(TestHost::new())
            .issuer(ISSUER)
            .expect("valid issuer")
            .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
            .client_metadata_documents(documents)
            .build()
            .err()
            .map(|error| error.to_string())
    };
    assert_eq!(build(ClientMetadataDocuments::new()), None);
    assert_eq!(
        build(ClientMetadataDocuments::new().timeout(Duration::from_secs(600))),
        Some(
            "invalid client ID metadata document settings: `timeout` must be between 100 milliseconds and 60 seconds"
                .to_owned()
        )
    );
    assert_eq!(
        build(ClientMetadataDocuments::new().max_document_bytes(10 * 1024 * 1024)),
        Some(
            "invalid client ID metadata document settings: `max_document_bytes` must be between 256 bytes and 1 MiB"
                .to_owned()
        )
    );
    assert_eq!(
        build(ClientMetadataDocuments::new().max_concurrent_fetches(0)),
        Some(
            "invalid client ID metadata document settings: `max_concurrent_fetches` must be between 1 and 1024"
                .to_owned()
        )
    );
}
