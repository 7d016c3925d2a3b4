//! Abuse over real HTTP: a quickstart-like provider (`quickstart_like`) served on a loopback port,
//! sent what no client should send. Every endpoint answers garbage with a 4xx and its documented
//! error body (JSON with `error`; attesto's HTML error page at the authorization endpoint for a
//! browser), never a 5xx or a dropped connection; oversized bodies and headers are refused (413,
//! 431) or the connection closed, and the server answers afterwards; a client that sends its body
//! or its headers a byte at a time is cut off within a bounded time; a flood of authorization
//! requests leaves discovery answering.
//!
//! Who bounds what: the body limit (64 KiB, `form::MAX_BODY`) and the body deadline
//! (`Attesto::router_with_body_deadline`, 10 s by default) are attesto's router's; the request
//! head (header size, header count, header read timeout) is the HTTP server's, before any router
//! sees the request. hyper refuses heads over about 400 KiB or with over 100 headers by itself;
//! its header read timeout needs a timer set on the connection builder, which `axum::serve` does
//! not set, so a host that must bound slow headers serves with hyper-util's builder (as
//! [`serve_with_header_timeout`] does) or behind a proxy that bounds them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::quickstart_like;
use crate::quickstart_like::{Demo, Served};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Every wait of this file is bounded by this.
const BOUND: Duration = Duration::from_secs(20);

/// A body well above the 64 KiB every endpoint reads at most.
const OVERSIZED: usize = 1024 * 1024;

const DISCOVERY: &str = "/.well-known/openid-configuration";

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

/// What came back: a response, or the connection ended without one.
#[derive(Debug)]
enum Outcome {
    Reply { status: StatusCode, headers: HeaderMap, body: Vec<u8> },
    Closed(String),
}

impl Outcome {
    fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Reply { status, .. } => Some(*status),
            Self::Closed(_) => None,
        }
    }

    /// The body as JSON, if it is JSON.
    fn json(&self) -> Option<Value> {
        match self {
            Self::Reply { body, .. } => serde_json::from_slice(body).ok(),
            Self::Closed(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Reply { status, headers, body } => {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                format!("{status} {:?} {text}", headers.get(header::CONTENT_TYPE))
            }
            Self::Closed(error) => format!("connection closed: {error}"),
        }
    }
}

fn http_client() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(BOUND)
        .build()
        .expect("reqwest client")
}

/// A request to be sent.
#[derive(Clone, Debug)]
struct Req {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn new(method: Method, url: String) -> Self {
        Self { method, url, headers: Vec::new(), body: Vec::new() }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    async fn send(&self, client: &reqwest012::Client) -> Outcome {
        let mut request = client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if !self.body.is_empty() {
            request = request.body(self.body.clone());
        }
        match request.send().await {
            Ok(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                match response.bytes().await {
                    Ok(body) => Outcome::Reply { status, headers, body: body.to_vec() },
                    Err(error) => Outcome::Closed(format!("{status}, then the body failed: {error}")),
                }
            }
            Err(error) => Outcome::Closed(format!("{error:?}")),
        }
    }
}

/// Asserts that the provider still answers: discovery, 200, with its issuer.
async fn assert_answers(provider: &Served, after: &str) {
    let outcome = Req::new(Method::GET, provider.url(DISCOVERY)).send(&http_client()).await;
    assert_eq!(outcome.status(), Some(StatusCode::OK), "discovery after {after}: {}", outcome.describe());
    assert_eq!(outcome.json().map(|d| d["issuer"].clone()), Some(json!(provider.base)), "after {after}");
}

/// Sends `bytes` on a fresh connection to `address`, then reads until the server closes the
/// connection or `wait` passes: the status of the response, if one came, and whether the
/// connection was closed (a write or read error counts as closed).
async fn raw(address: SocketAddr, bytes: &[u8], wait: Duration) -> (Option<u16>, bool) {
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let written = stream.write_all(bytes).await;
    let mut received = Vec::new();
    let closed = tokio::time::timeout(wait, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .unwrap_or(false);
    (status_of(&received), closed || written.is_err())
}

/// The status code of the HTTP/1.1 response at the start of `received`.
fn status_of(received: &[u8]) -> Option<u16> {
    let line = received.split(|b| *b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn address_of(provider: &Served) -> SocketAddr {
    provider.base.trim_start_matches("http://").parse().expect("a socket address")
}

// ---------------------------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------------------------

/// Bytes that look random and are the same at every run (xorshift64), so that every outcome is
/// exact.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A kind of garbage, with the content type it is sent with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Garbage {
    /// 4 KiB of noise, labelled a form.
    Noise,
    /// Raw bytes that are not UTF-8 in a form.
    InvalidUtf8,
    /// Percent-encoded bytes that are not UTF-8.
    EncodedInvalidUtf8,
    /// `%zz`.
    MalformedPercent,
    /// A JSON object, labelled JSON, where a form is expected.
    Json,
    /// A JSON object labelled a form: it parses as one parameter without a value.
    JsonLabelledForm,
    /// A form labelled JSON, where JSON is expected (registration).
    FormLabelledJson,
    /// Noise labelled JSON.
    NoiseLabelledJson,
    /// JSON nested 10 000 deep.
    DeepJson,
    /// One parameter (or member) of 60 000 bytes, under the 64 KiB limit.
    HugeParameter,
    /// 4 000 parameters (or members).
    ThousandsOfParameters,
    /// A form body labelled `text/plain`.
    TextPlain,
    /// A form body without a content type.
    NoContentType,
    /// A multipart body.
    Multipart,
}

impl Garbage {
    const ALL: [Self; 14] = [
        Self::Noise,
        Self::InvalidUtf8,
        Self::EncodedInvalidUtf8,
        Self::MalformedPercent,
        Self::Json,
        Self::JsonLabelledForm,
        Self::FormLabelledJson,
        Self::NoiseLabelledJson,
        Self::DeepJson,
        Self::HugeParameter,
        Self::ThousandsOfParameters,
        Self::TextPlain,
        Self::NoContentType,
        Self::Multipart,
    ];

    /// The content type and the body. A form endpoint gets form-shaped huge and numerous
    /// parameters, the registration endpoint JSON-shaped ones.
    fn request(self, json_endpoint: bool) -> (Option<&'static str>, Vec<u8>) {
        const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
        const JSON: Option<&str> = Some("application/json");
        let form_body = b"grant_type=client_credentials&client_id=demo-client".to_vec();
        match self {
            Self::Noise => (FORM, noise(4096)),
            Self::InvalidUtf8 => (FORM, b"grant_type=\xff\xfe&client_id=\xc3\x28".to_vec()),
            Self::EncodedInvalidUtf8 => (FORM, b"grant_type=%FF%FE&client_id=%C3%28".to_vec()),
            Self::MalformedPercent => (FORM, b"grant_type=%zz&client_id=%".to_vec()),
            Self::Json => (JSON, br#"{"grant_type":"client_credentials","client_id":"demo-client"}"#.to_vec()),
            Self::JsonLabelledForm => {
                (FORM, br#"{"grant_type":"client_credentials","client_id":"demo-client"}"#.to_vec())
            }
            Self::FormLabelledJson => (JSON, form_body),
            Self::NoiseLabelledJson => (JSON, noise(4096)),
            Self::DeepJson => (JSON, [vec![b'['; 10_000], vec![b']'; 10_000]].concat()),
            Self::HugeParameter if json_endpoint => {
                (JSON, format!(r#"{{"software_id":"{}"}}"#, "a".repeat(60_000)).into_bytes())
            }
            Self::HugeParameter => (FORM, format!("state={}", "a".repeat(60_000)).into_bytes()),
            Self::ThousandsOfParameters if json_endpoint => {
                let members: Vec<String> = (0..4000).map(|i| format!(r#""m{i}":{i}"#)).collect();
                (JSON, format!("{{{}}}", members.join(",")).into_bytes())
            }
            Self::ThousandsOfParameters => {
                let pairs: Vec<String> = (0..4000).map(|i| format!("p{i}=v")).collect();
                (FORM, pairs.join("&").into_bytes())
            }
            Self::TextPlain => (Some("text/plain"), form_body),
            Self::NoContentType => (None, form_body),
            Self::Multipart => (
                Some("multipart/form-data; boundary=XyZ"),
                b"--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ--\r\n"
                    .to_vec(),
            ),
        }
    }

    /// Whether a form parser gets past it: a form content type and a body that parses.
    fn parses_as_form(self) -> bool {
        matches!(self, Self::JsonLabelledForm | Self::HugeParameter)
    }
}

/// What an endpoint must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// This status, a JSON body with this `error`.
    Json(StatusCode, &'static str),
    /// attesto's HTML error page with this status and error code.
    Page(StatusCode, &'static str),
    /// RFC 6750 §3.1: a request without credentials gets a bare `Bearer` challenge, no body.
    BareChallenge,
    /// The endpoint's document (it reads no body).
    Document,
    /// 405 with `invalid_request`: the route takes other methods, named in `Allow`.
    MethodNotAllowed,
}

impl Expect {
    fn check(&self, outcome: &Outcome) -> Result<(), String> {
        let Outcome::Reply { status, headers, body } = outcome else {
            return Err(outcome.describe());
        };
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let ok = match self {
            Self::Json(expected, error) => {
                status == expected
                    && content_type == "application/json"
                    && json.as_ref().is_some_and(|j| j["error"] == *error && j["error_description"].is_string())
            }
            Self::Page(expected, error) => {
                let text = String::from_utf8_lossy(body);
                status == expected
                    && content_type == "text/html; charset=utf-8"
                    && text.contains("<h1>Authorization request refused</h1>")
                    && text.contains(&format!("<code>{error}</code>"))
            }
            Self::BareChallenge => {
                *status == StatusCode::UNAUTHORIZED
                    && headers.get_all(header::WWW_AUTHENTICATE).iter().any(|v| v == "Bearer")
                    && body.is_empty()
            }
            Self::Document => *status == StatusCode::OK && json.as_ref().is_some_and(Value::is_object),
            Self::MethodNotAllowed => {
                *status == StatusCode::METHOD_NOT_ALLOWED
                    && headers.get(header::ALLOW).is_some_and(|allow| allow.to_str().is_ok_and(|a| a.contains("GET")))
                    && json.as_ref().is_some_and(|j| j["error"] == "invalid_request")
            }
        };
        if ok { Ok(()) } else { Err(format!("expected {self:?}, got {}", outcome.describe())) }
    }
}

/// A registered client's configuration endpoint and its registration access token (RFC 7592).
async fn register(provider: &Served, client: &reqwest012::Client) -> (String, String) {
    let metadata = json!({
        "client_name": "abuse test",
        "redirect_uris": ["http://127.0.0.1/cb"],
        "token_endpoint_auth_method": "none",
    });
    let path = Demo::PATHS.registration.expect("registration is on");
    let outcome = Req::new(Method::POST, provider.url(path))
        .header("content-type", "application/json")
        .body(metadata.to_string().into_bytes())
        .send(client)
        .await;
    assert_eq!(outcome.status(), Some(StatusCode::CREATED), "{}", outcome.describe());
    let body = outcome.json().expect("JSON");
    let uri = body["registration_client_uri"].as_str().expect("registration_client_uri").to_owned();
    let token = body["registration_access_token"].as_str().expect("registration_access_token").to_owned();
    (uri, token)
}

/// One endpoint to send garbage to, and what it must answer.
struct Probe {
    method: Method,
    url: String,
    /// Whether the endpoint takes JSON (registration) rather than a form.
    json: bool,
    accept: &'static str,
    authorization: Option<String>,
    expect: Expect,
}

impl Probe {
    /// An endpoint that takes a form (or no body at all).
    fn form(method: Method, url: String, expect: Expect) -> Self {
        Self { method, url, json: false, accept: "*/*", authorization: None, expect }
    }

    /// An endpoint that takes JSON.
    fn json(method: Method, url: String, expect: Expect) -> Self {
        Self { json: true, ..Self::form(method, url, expect) }
    }

    fn accept(self, accept: &'static str) -> Self {
        Self { accept, ..self }
    }

    fn authorization(self, authorization: &str) -> Self {
        Self { authorization: Some(authorization.to_owned()), ..self }
    }
}

/// Every endpoint, sent every kind of garbage: the exact error, never a 5xx or a dropped
/// connection.
#[tokio::test]
async fn every_endpoint_answers_garbage_with_its_error() {
    let provider = quickstart_like::serve(None).await;
    let client = http_client();
    let (configuration, token) = register(&provider, &client).await;
    let paths = Demo::PATHS;
    let bad_request = StatusCode::BAD_REQUEST;
    let mut failures = Vec::new();
    let mut cases = 0;

    for garbage in Garbage::ALL {
        // Past the form parser, a request without client credentials is `invalid_client`: 400,
        // since no `Authorization` header was tried (RFC 6749 §5.2).
        let form_error = |parsed: Expect| {
            if garbage.parses_as_form() { parsed } else { Expect::Json(bad_request, "invalid_request") }
        };
        let metadata_error = match garbage {
            // Well-formed objects: unknown members are ignored (RFC 7591 §2), and the default
            // `authorization_code` grant needs redirect URIs.
            Garbage::Json | Garbage::HugeParameter | Garbage::ThousandsOfParameters => "invalid_redirect_uri",
            _ => "invalid_client_metadata",
        };
        let (form_type, form_body) = garbage.request(false);
        let (json_type, json_body) = garbage.request(true);
        let bearer_garbage = "Bearer garbage";
        let registration_token = format!("Bearer {token}");
        let unauthorized = StatusCode::UNAUTHORIZED;
        let userinfo = provider.url(paths.userinfo.expect("userinfo"));
        let probes = [
            Probe::form(
                Method::POST,
                provider.url(paths.authorize),
                form_error(Expect::Json(bad_request, "invalid_request")),
            )
            .accept("application/json"),
            Probe::form(Method::POST, provider.url(paths.authorize), Expect::Page(bad_request, "invalid_request"))
                .accept("text/html"),
            Probe::form(
                Method::POST,
                provider.url(paths.token),
                form_error(Expect::Json(bad_request, "invalid_request")),
            ),
            Probe::form(
                Method::POST,
                provider.url(paths.revocation.expect("revocation")),
                form_error(Expect::Json(bad_request, "invalid_client")),
            ),
            Probe::form(
                Method::POST,
                provider.url(paths.introspection.expect("introspection")),
                form_error(Expect::Json(bad_request, "invalid_client")),
            ),
            Probe::form(
                Method::POST,
                provider.url(paths.par.expect("par")),
                form_error(Expect::Json(bad_request, "invalid_client")),
            ),
            Probe::json(
                Method::POST,
                provider.url(paths.registration.expect("registration")),
                Expect::Json(bad_request, metadata_error),
            ),
            Probe::form(
                Method::POST,
                provider.url(paths.device_authorization.expect("device authorization")),
                form_error(Expect::Json(bad_request, "invalid_client")),
            ),
            // A form without the page's anti-CSRF value is refused; anything else is no form.
            Probe::form(
                Method::POST,
                provider.url(paths.device_verification.expect("device verification")),
                if garbage.parses_as_form() {
                    Expect::Page(StatusCode::FORBIDDEN, "access_denied")
                } else {
                    Expect::Page(bad_request, "invalid_request")
                },
            )
            .accept("text/html"),
            // RFC 7592 §2.2: an update names the client in its body, or it is refused first.
            Probe::json(Method::PUT, configuration.clone(), Expect::Json(bad_request, "invalid_client_metadata"))
                .authorization(&registration_token),
            Probe::json(Method::PUT, configuration.clone(), Expect::Json(unauthorized, "invalid_token"))
                .authorization(bearer_garbage),
            Probe::json(Method::GET, configuration.clone(), Expect::Json(unauthorized, "invalid_token"))
                .authorization(bearer_garbage),
            Probe::json(Method::DELETE, configuration.clone(), Expect::Json(unauthorized, "invalid_token"))
                .authorization(bearer_garbage),
            Probe::form(Method::GET, userinfo.clone(), Expect::BareChallenge),
            Probe::form(Method::POST, userinfo.clone(), Expect::BareChallenge),
            Probe::form(Method::POST, userinfo, Expect::Json(unauthorized, "invalid_token"))
                .authorization(bearer_garbage),
            Probe::form(Method::GET, provider.url(paths.jwks), Expect::Document),
            Probe::form(Method::POST, provider.url(paths.jwks), Expect::MethodNotAllowed),
            Probe::form(Method::GET, provider.url(DISCOVERY), Expect::Document),
            Probe::form(Method::POST, provider.url(DISCOVERY), Expect::MethodNotAllowed),
            Probe::form(Method::GET, provider.url("/.well-known/oauth-authorization-server"), Expect::Document),
        ];
        for probe in probes {
            let (content_type, body) = if probe.json { (json_type, &json_body) } else { (form_type, &form_body) };
            let mut request =
                Req::new(probe.method.clone(), probe.url.clone()).header("accept", probe.accept).body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            if let Some(authorization) = &probe.authorization {
                request = request.header("authorization", authorization);
            }
            let outcome = request.send(&client).await;
            cases += 1;
            if let Err(error) = probe.expect.check(&outcome) {
                failures
                    .push(format!("{garbage:?} {} {} (Accept: {}): {error}", probe.method, probe.url, probe.accept));
            }
        }
    }

    // The authorization endpoint's query is its GET "body".
    for query in ["%FF%FE=%C3%28", "client_id=%zz", "a&&&&=&=&==", "client_id=demo-native&client_id=demo-native"] {
        let url = format!("{}?{query}", provider.url(paths.authorize));
        for (accept, expect) in [
            ("application/json", Expect::Json(bad_request, "invalid_request")),
            ("text/html", Expect::Page(bad_request, "invalid_request")),
        ] {
            let outcome = Req::new(Method::GET, url.clone()).header("accept", accept).send(&client).await;
            cases += 1;
            if let Err(error) = expect.check(&outcome) {
                failures.push(format!("GET {url} (Accept: {accept}): {error}"));
            }
        }
    }
    let thousands: Vec<String> = (0..4000).map(|i| format!("p{i}=v")).collect();
    let url = format!("{}?{}", provider.url(paths.authorize), thousands.join("&"));
    let outcome = Req::new(Method::GET, url).header("accept", "application/json").send(&client).await;
    cases += 1;
    if let Err(error) = Expect::Json(bad_request, "invalid_request").check(&outcome) {
        failures.push(format!("GET authorize with 4000 parameters: {error}"));
    }

    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
    // The registration survived every garbage update: it still reads back.
    let outcome =
        Req::new(Method::GET, configuration).header("authorization", &format!("Bearer {token}")).send(&client).await;
    assert_eq!(outcome.status(), Some(StatusCode::OK), "{}", outcome.describe());
    assert_eq!(outcome.json().map(|j| j["client_name"].clone()), Some(json!("abuse test")));
    assert_answers(&provider, "the garbage").await;
}

/// A credentials case: what it is, its headers, and what the token endpoint and userinfo answer.
type Credentials<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, Expect, Expect);

/// Garbage in the credentials: `Authorization` and `DPoP` headers that are malformed, not UTF-8,
/// huge or repeated, at the token endpoint and at userinfo: each its exact error.
#[tokio::test]
async fn garbage_credentials_get_their_error() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let provider = quickstart_like::serve(None).await;
    let client = http_client();
    let unauthorized = StatusCode::UNAUTHORIZED;
    let bad_request = StatusCode::BAD_REQUEST;
    let not_utf8 = format!("Basic {}", STANDARD.encode(b"\xff\xfe:\xc3\x28"));
    let huge = format!("Basic {}", STANDARD.encode(format!("{}:secret", "a".repeat(100_000))));
    let no_colon = format!("Basic {}", STANDARD.encode(b"demo-client"));
    let bad_escape = format!("Basic {}", STANDARD.encode(b"demo%zz:%"));
    let not_json = format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(b"\xff{"), URL_SAFE_NO_PAD.encode(b"{}"));
    let huge_proof = "a".repeat(100_000);
    // (what, headers, at the token endpoint, at userinfo)
    let cases: Vec<Credentials<'_>> = vec![
        (
            "Basic of no base64",
            vec![("authorization", b"Basic !!!")],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "Basic of bytes not UTF-8",
            vec![("authorization", not_utf8.as_bytes())],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "Basic without a colon",
            vec![("authorization", no_colon.as_bytes())],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "Basic with a malformed escape",
            vec![("authorization", bad_escape.as_bytes())],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "Basic of 100 KB",
            vec![("authorization", huge.as_bytes())],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "obs-text bytes",
            vec![("authorization", b"Bearer \xff\xfe")],
            Expect::Json(unauthorized, "invalid_client"),
            Expect::BareChallenge,
        ),
        (
            "two Authorization headers",
            vec![("authorization", b"Basic YTpi"), ("authorization", b"Basic YTpi")],
            Expect::Json(bad_request, "invalid_request"),
            Expect::Json(bad_request, "invalid_request"),
        ),
        (
            "a DPoP proof of one part",
            vec![("dpop", b"garbage")],
            Expect::Json(bad_request, "invalid_dpop_proof"),
            Expect::BareChallenge,
        ),
        (
            "a DPoP proof whose header is not JSON",
            vec![("dpop", not_json.as_bytes())],
            Expect::Json(bad_request, "invalid_dpop_proof"),
            Expect::BareChallenge,
        ),
        (
            "a DPoP proof of 100 KB",
            vec![("dpop", huge_proof.as_bytes())],
            Expect::Json(bad_request, "invalid_dpop_proof"),
            Expect::BareChallenge,
        ),
        (
            "two DPoP headers",
            vec![("dpop", b"a.b.c"), ("dpop", b"a.b.c")],
            Expect::Json(bad_request, "invalid_dpop_proof"),
            Expect::BareChallenge,
        ),
    ];
    let mut failures = Vec::new();
    for (what, headers, at_token, at_userinfo) in cases {
        let userinfo = provider.url(Demo::PATHS.userinfo.expect("userinfo"));
        for (url, expect) in [(provider.url(Demo::PATHS.token), at_token), (userinfo, at_userinfo)] {
            let mut request = client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=read");
            for (name, value) in &headers {
                request = request.header(*name, http::HeaderValue::from_bytes(value).expect("a header value"));
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let (status, headers) = (response.status(), response.headers().clone());
                    let body = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    Outcome::Reply { status, headers, body }
                }
                Err(error) => Outcome::Closed(format!("{error:?}")),
            };
            if let Err(error) = expect.check(&outcome) {
                failures.push(format!("{what} at {url}: {error}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_answers(&provider, "the garbage credentials").await;
}

/// Bodies of 1 MiB to every endpoint that reads one, with a `Content-Length` and chunked: 413
/// (the limit is 64 KiB) with `invalid_request`, or the connection closed before the whole body
/// was taken; the server answers afterwards, and nothing of the bodies was kept.
#[tokio::test]
async fn oversized_bodies_are_refused() {
    let provider = quickstart_like::serve(None).await;
    let address = address_of(&provider);
    let client = http_client();
    let (configuration, token) = register(&provider, &client).await;
    let paths = Demo::PATHS;
    let form = [b"state=".to_vec(), vec![b'a'; OVERSIZED]].concat();
    let json = format!(r#"{{"client_name":"{}"}}"#, "a".repeat(OVERSIZED)).into_bytes();
    let configuration_path = configuration.strip_prefix(&provider.base).expect("on the provider").to_owned();
    let targets: Vec<(Method, &str, &str, &[u8])> = vec![
        (Method::POST, paths.authorize, "application/x-www-form-urlencoded", &form),
        (Method::POST, paths.token, "application/x-www-form-urlencoded", &form),
        (Method::POST, paths.revocation.expect("on"), "application/x-www-form-urlencoded", &form),
        (Method::POST, paths.introspection.expect("on"), "application/x-www-form-urlencoded", &form),
        (Method::POST, paths.par.expect("on"), "application/x-www-form-urlencoded", &form),
        (Method::POST, paths.registration.expect("on"), "application/json", &json),
        (Method::PUT, &configuration_path, "application/json", &json),
    ];
    for (method, path, content_type, body) in targets {
        // With a `Content-Length`.
        let outcome = Req::new(method.clone(), provider.url(path))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .header("authorization", &format!("Bearer {token}"))
            .body(body.to_vec())
            .send(&client)
            .await;
        if let Outcome::Reply { .. } = outcome {
            let expected = Expect::Json(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
            expected.check(&outcome).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        }
        assert_answers(&provider, &format!("a 1 MiB body to {method} {path}")).await;

        // Chunked: no length to judge it by up front.
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n\
             Accept: application/json\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for chunk in body.chunks(16 * 1024) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let (status, closed) = raw(address, &request, BOUND).await;
        assert!(
            status == Some(413) || (status.is_none() && closed),
            "chunked 1 MiB to {method} {path}: status {status:?}, closed {closed}"
        );
        assert_answers(&provider, &format!("a chunked 1 MiB body to {method} {path}")).await;
    }
    let outcome =
        Req::new(Method::GET, configuration).header("authorization", &format!("Bearer {token}")).send(&client).await;
    assert_eq!(outcome.json().map(|j| j["client_name"].clone()), Some(json!("abuse test")), "{}", outcome.describe());
}

/// A 1 MiB header and 5 000 headers: the server refuses the request head (431) or closes the
/// connection, and answers the next request.
#[tokio::test]
async fn oversized_headers_are_refused() {
    let provider = quickstart_like::serve(None).await;
    let address = address_of(&provider);
    let one_huge = format!("GET {DISCOVERY} HTTP/1.1\r\nHost: {address}\r\nX-Big: {}\r\n\r\n", "a".repeat(OVERSIZED));
    let many: String = (0..5000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET {DISCOVERY} HTTP/1.1\r\nHost: {address}\r\n{many}\r\n");
    for (name, request) in [("a 1 MiB header", one_huge), ("5 000 headers", many)] {
        let (status, closed) = raw(address, request.as_bytes(), BOUND).await;
        assert!(
            status.is_some_and(|s| s == 431 || s == 413 || s == 400) || (status.is_none() && closed),
            "{name}: status {status:?}, closed {closed}"
        );
        assert!(closed, "{name}: the connection is closed after the refusal");
        assert_answers(&provider, name).await;
    }
}

/// A body sent a byte a second is cut off at the router's body deadline (2 s here, 10 s by
/// default): 408 with `invalid_request`, and the connection closed, well before the body could
/// have arrived.
#[tokio::test]
async fn a_slow_body_is_cut_off_at_the_deadline() {
    let deadline = Duration::from_secs(2);
    let provider = quickstart_like::serve(Some(deadline)).await;
    let address = address_of(&provider);
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 64\r\nAccept: application/json\r\n\r\n",
        Demo::PATHS.token
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    // Before the head leaves: the deadline starts once the server has read it.
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.expect("the head");
    let (mut reader, mut writer) = stream.into_split();
    // One byte a second, 64 at most: the whole body would take a minute.
    let dripping = tokio::spawn(async move {
        for byte in b"grant_type=client_credentials&client_id=demo-client&scope=read&x=y".iter().take(64) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(BOUND, async {
        let mut buffer = [0u8; 4096];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    let elapsed = started.elapsed();
    dripping.abort();
    let text = String::from_utf8_lossy(&received);
    assert_eq!(status_of(&received), Some(408), "{text}");
    assert!(text.contains(r#""error":"invalid_request""#), "{text}");
    assert!(closed, "the connection is closed after the 408");
    assert!(elapsed >= deadline && elapsed < deadline + Duration::from_secs(3), "cut off after {elapsed:?}");
    assert_answers(&provider, "a slow body").await;
}

/// Serves `quickstart_like`'s app with hyper-util's connection builder, the one `axum::serve`
/// uses, with a timer and a header read timeout set: what a host does to bound slow request
/// heads, which `axum::serve` leaves unbounded.
async fn serve_with_header_timeout(timeout: Duration) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("address");
    let app = quickstart_like::app(&format!("http://{address}"), None);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http1().timer(TokioTimer::new()).header_read_timeout(timeout);
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (address, task)
}

/// Request headers sent a byte every half second are cut off at the server's header read
/// timeout (2 s here).
#[tokio::test]
async fn slow_headers_are_cut_off_by_the_servers_header_timeout() {
    let timeout = Duration::from_secs(2);
    let (address, server) = serve_with_header_timeout(timeout).await;
    let head = format!("GET {DISCOVERY} HTTP/1.1\r\nHost: {address}\r\nX-Slow: {}\r\n\r\n", "a".repeat(100));
    // Before the connection exists: hyper's timer starts no earlier.
    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let dripping = tokio::spawn(async move {
        for byte in head.into_bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(BOUND, reader.read_to_end(&mut received)).await.is_ok();
    let elapsed = started.elapsed();
    dripping.abort();
    assert!(closed, "the connection is closed");
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(3), "cut off after {elapsed:?}");
    // hyper answers 408 before closing, or closes without a word; never the document.
    assert!(matches!(status_of(&received), None | Some(408)), "{}", String::from_utf8_lossy(&received));
    // A request at a normal pace is served.
    let outcome = Req::new(Method::GET, format!("http://{address}{DISCOVERY}")).send(&http_client()).await;
    assert_eq!(outcome.status(), Some(StatusCode::OK), "{}", outcome.describe());
    server.abort();
}

// ---------------------------------------------------------------------------------------------
// Floods
// ---------------------------------------------------------------------------------------------

/// What a flood got back.
#[derive(Debug, Default)]
struct Flood {
    sent: usize,
    /// Responses by status code.
    statuses: BTreeMap<u16, usize>,
    /// Requests that got no response, with the first error.
    failed: usize,
    first_failure: Option<String>,
    elapsed: Duration,
}

/// Sends at most `count` requests, for at most `duration`, `concurrency` at a time: request `i`
/// is `request(i)`. Bounded in both count and time.
async fn flood(
    count: usize,
    duration: Duration,
    concurrency: usize,
    request: impl Fn(usize) -> Req + Send + Sync + 'static,
) -> Flood {
    let client = http_client();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let result = Arc::new(Mutex::new(Flood::default()));
    let request = Arc::new(request);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, result, request) = (client.clone(), next.clone(), result.clone(), request.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count || started.elapsed() >= duration {
                    return;
                }
                let outcome = request(i).send(&client).await;
                let mut result = result.lock().expect("flood result");
                result.sent += 1;
                match outcome {
                    Outcome::Reply { status, .. } => *result.statuses.entry(status.as_u16()).or_default() += 1,
                    Outcome::Closed(error) => {
                        result.failed += 1;
                        result.first_failure.get_or_insert(error);
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let mut result = std::mem::take(&mut *result.lock().expect("flood result"));
    result.elapsed = started.elapsed();
    result
}

/// An unauthenticated authorization request of the public demo client, valid in every way, with
/// `state`, `nonce` and `login_hint` of 2 048 bytes each (the most each may be): attesto stores it
/// while the browser is at the login page.
fn heavy_authorization_request(provider: &str) -> impl Fn(usize) -> Req + Send + Sync + 'static {
    let filler = "x".repeat(2048 - 8);
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let base = format!("{provider}{}", Demo::PATHS.authorize);
    move |i| {
        let unique = format!("{i:08}{filler}");
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", quickstart_like::PUBLIC_ID),
                ("redirect_uri", "http://127.0.0.1:9999/callback"),
                ("scope", "openid email"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("state", &unique),
                ("nonce", &unique),
                ("login_hint", &unique),
            ])
            .finish();
        Req::new(Method::GET, format!("{base}?{query}")).header("accept", "text/html")
    }
}

/// 2 000 heavy authorization requests: each one answered with a 3xx or a 4xx, and discovery
/// answers afterwards. (How much the pending requests cost is `flood_memory_and_latency`'s.)
#[tokio::test]
async fn a_flood_of_authorization_requests_leaves_the_server_answering() {
    let provider = quickstart_like::serve(None).await;
    // A minute at most: a debug build on two cores takes about 10 s.
    let result = flood(2000, Duration::from_secs(60), 32, heavy_authorization_request(&provider.base)).await;
    assert_eq!(result.failed, 0, "{result:?}");
    assert_eq!(result.sent, 2000, "{result:?}");
    // Each one answered: a redirect to the login page (not signed in), or a 4xx from a store
    // that holds no more; never a 5xx.
    assert!(result.statuses.keys().all(|status| (300..500).contains(status)), "{result:?}");
    assert_answers(&provider, "the flood").await;
}

/// This process's resident memory, in bytes (`VmRSS` of /proc/self/status).
fn resident_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB");
    kib * 1024
}

/// Up to 300 000 heavy authorization requests for 10 s against the provider, with discovery
/// timed all along: the growth of this process's resident memory (server and client both) and
/// discovery's 99th percentile. Run it alone, since it measures the memory of the whole test
/// process: `cargo test --release --test it -- --ignored --nocapture flood_memory_and_latency`
/// (release for numbers worth comparing).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a 10 s load test, run alone: cargo test --release --test it -- --ignored flood_memory_and_latency"]
async fn flood_memory_and_latency() {
    let provider = quickstart_like::serve(None).await;
    let before = resident_memory();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (done, url, client) = (done.clone(), provider.url(DISCOVERY), http_client());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) && latencies.len() < 1_000_000 {
                let started = Instant::now();
                let outcome = Req::new(Method::GET, url.clone()).send(&client).await;
                assert_eq!(outcome.status(), Some(StatusCode::OK), "{}", outcome.describe());
                latencies.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies
        })
    };
    let result = flood(300_000, Duration::from_secs(10), 64, heavy_authorization_request(&provider.base)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut latencies = sampler.await.expect("the sampler");
    let after = resident_memory();
    latencies.sort();
    let p99 = latencies.get((latencies.len() * 99).div_ceil(100).saturating_sub(1)).copied().unwrap_or_default();
    let growth = after.saturating_sub(before);
    println!(
        "flood: {} requests in {:?} ({:.0}/s), statuses {:?}, {} failed{}\n\
         resident memory {} MB -> {} MB (+{} MB)\n\
         discovery: {} samples, p50 {:?}, p99 {p99:?}, max {:?}",
        result.sent,
        result.elapsed,
        result.sent as f64 / result.elapsed.as_secs_f64(),
        result.statuses,
        result.failed,
        result.first_failure.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        before / 1_000_000,
        after / 1_000_000,
        growth / 1_000_000,
        latencies.len(),
        latencies.get(latencies.len() / 2).copied().unwrap_or_default(),
        latencies.last().copied().unwrap_or_default(),
    );
    assert_eq!(result.failed, 0, "{result:?}");
    assert!(growth < 100_000_000, "resident memory grew by {} MB", growth / 1_000_000);
    assert!(p99 < Duration::from_millis(100), "discovery p99 {p99:?}");
}
