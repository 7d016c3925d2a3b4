//! The standalone resource server example (`examples/resource_server/app.rs`, included here as it
//! is) served on a loopback port, next to a provider of the test's own on another: it boots while
//! its authorization server is down, answers `503` until it can fetch the keys, then accepts the
//! provider's tokens for its URL, refuses every other token with the exact challenge, and takes
//! keys of each algorithm a provider signs with.

#[path = "../../examples/resource_server/app.rs"]
mod app;

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use attesto::{Algorithm, Attesto, Key};
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

const ALGS: &str = "ES256 ES384 EdDSA RS256 PS256";
const INVALID: &str = "the access token is invalid, expired or revoked";

/// A provider of `issuer` signing with `key`, knowing the resource at `resource`.
fn provider_of(issuer: &str, key: Key, resource: &str) -> Attesto<TestHost> {
    Attesto::builder(TestHost::new())
        .issuer(issuer)
        .expect("valid issuer")
        .signing_key(key)
        .resource(resource)
        .expect("valid resource")
        .resource("https://api.example.com")
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

async fn bind(address: SocketAddr) -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind(address).await.expect("bind a loopback port")
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Serves `router` on `listener` until the test's runtime ends.
fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
}

/// The example's app on a loopback port, trusting `issuer`, requiring `read`, trying the keys
/// again after one second.
async fn resource_server(issuer: &str) -> app::Info {
    let listener = bind(loopback()).await;
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let options = app::Options {
        issuer: issuer.to_owned(),
        origin,
        scopes: vec!["read".to_owned()],
        retry_interval: Duration::from_secs(1),
    };
    let (router, info) = app::app(options).await.expect("the app builds without its issuer");
    serve(listener, router);
    info
}

/// A `client_credentials` token of `service` from `auth`'s token endpoint for `resource`.
async fn service_token(auth: &Attesto<TestHost>, resource: &str, scope: &str) -> String {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("grant_type", "client_credentials"), ("scope", scope), ("resource", resource)])
        .finish();
    let request = Request::post(TestHost::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .body(Body::from(body))
        .expect("request");
    let (status, _, body) = send_json(&auth.router(), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// An access token signed with `key` (named by `kid`), with `claims`.
fn forge(key: &Key, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": kid });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).expect("signing")))
}

type Reply = (StatusCode, HeaderMap, Value);

/// `GET url` with the bearer `token`, if any.
async fn get(url: &str, token: Option<&str>) -> Reply {
    let client = reqwest012::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request");
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn challenges(headers: &HeaderMap) -> Vec<&str> {
    headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().expect("ASCII")).collect()
}

/// A 401 `invalid_token` described by `description`, with the exact Bearer challenge.
fn assert_invalid(reply: &Reply, description: &str, info: &app::Info) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!((&body["error"], &body["error_description"]), (&json!("invalid_token"), &json!(description)));
    assert_eq!(
        challenges(headers),
        [format!(
            "Bearer error=\"invalid_token\", error_description=\"{description}\", scope=\"read\", \
             resource_metadata=\"{}\"",
            info.resource_metadata_url
        )]
    );
}

fn assert_accepted(reply: &Reply) {
    let (status, _, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body, &json!({ "subject": "service", "client_id": "service", "scopes": ["read"] }));
}

#[tokio::test]
async fn it_boots_while_its_issuer_is_down_answers_503_and_accepts_tokens_once_the_issuer_is_up() {
    // The issuer's address is known, nothing listens there yet.
    let address = bind(loopback()).await.local_addr().expect("address");
    let issuer = format!("http://{address}");
    let info = resource_server(&issuer).await;
    assert!(info.mcp_url.starts_with("http://127.0.0.1:") && info.mcp_url.ends_with("/mcp"), "{info:?}");
    let banner = app::banner(&info);
    for line in [&info.mcp_url, &info.resource_metadata_url, &issuer] {
        assert!(banner.contains(line.as_str()), "{banner}");
    }

    // Without a token: the challenges, keys or not (RFC 6750 §3.1, RFC 9728 §5.1).
    let (status, headers, _) = get(&info.mcp_url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let metadata = &info.resource_metadata_url;
    assert_eq!(
        challenges(&headers),
        [
            format!("Bearer scope=\"read\", resource_metadata=\"{metadata}\""),
            format!("DPoP algs=\"{ALGS}\", scope=\"read\", resource_metadata=\"{metadata}\""),
        ]
    );
    // Its RFC 9728 document, at the path the challenge names and at the bare well-known path.
    let origin = info.mcp_url.trim_end_matches("/mcp");
    assert_eq!(*metadata, format!("{origin}/.well-known/oauth-protected-resource/mcp"));
    let expected = json!({
        "resource": info.mcp_url, "authorization_servers": [issuer], "scopes_supported": ["read"],
        "bearer_methods_supported": ["header"], "dpop_signing_alg_values_supported": ALGS.split(' ').collect::<Vec<_>>(),
    });
    for url in [metadata.clone(), format!("{origin}/.well-known/oauth-protected-resource")] {
        let (status, headers, document) = get(&url, None).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert_eq!(document, expected, "{url}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    // A token of the issuer (minted in process: the issuer serves nothing yet) cannot be checked.
    let auth = provider_of(&issuer, Key::generate(Algorithm::ES256).expect("key"), &info.mcp_url);
    let token = service_token(&auth, &info.mcp_url, "read").await;
    let (status, headers, body) = get(&info.mcp_url, Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");

    // The issuer comes up; after the retry interval the token is checked and accepted.
    serve(bind(address).await, auth.router());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&get(&info.mcp_url, Some(&token)).await);
}

#[tokio::test]
async fn tokens_not_for_it_or_not_valid_get_the_exact_challenge() {
    let listener = bind(loopback()).await;
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let info = resource_server(&issuer).await;
    let key = Key::generate(Algorithm::ES256).expect("key");
    let auth = provider_of(&issuer, key.clone(), &info.mcp_url);
    serve(listener, auth.router());
    assert_accepted(&get(&info.mcp_url, Some(&service_token(&auth, &info.mcp_url, "read").await)).await);

    // RFC 8707: a token of the same issuer for another resource.
    let elsewhere = service_token(&auth, "https://api.example.com", "read").await;
    assert_invalid(
        &get(&info.mcp_url, Some(&elsewhere)).await,
        "the access token is not meant for this resource",
        &info,
    );

    let now = unix_now();
    let claims = |changes: Value| {
        let mut claims = json!({
            "iss": issuer, "sub": "service", "aud": info.mcp_url, "exp": now + 60, "iat": now,
            "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()), "client_id": "service", "scope": "read",
        });
        for (name, value) in changes.as_object().expect("an object") {
            match value {
                Value::Null => claims.as_object_mut().expect("an object").remove(name),
                value => claims.as_object_mut().expect("an object").insert(name.clone(), value.clone()),
            };
        }
        claims
    };
    // The forgery with the provider's own key and untouched claims passes: the cases below fail
    // for the one claim or key they change.
    assert_accepted(&get(&info.mcp_url, Some(&forge(&key, key.kid(), &claims(json!({}))))).await);
    let untrusted = Key::generate(Algorithm::ES256).expect("key");
    let cases = [
        ("no aud", forge(&key, key.kid(), &claims(json!({ "aud": null })))),
        ("expired", forge(&key, key.kid(), &claims(json!({ "exp": now - 3600, "iat": now - 7200 })))),
        ("an untrusted key", forge(&untrusted, untrusted.kid(), &claims(json!({})))),
        ("an untrusted key naming the trusted kid", forge(&untrusted, key.kid(), &claims(json!({})))),
    ];
    for (case, token) in cases {
        let reply = get(&info.mcp_url, Some(&token)).await;
        assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{case}");
        assert_invalid(&reply, INVALID, &info);
    }
    // The right token without the scope the resource requires: 403 naming it.
    let write = service_token(&auth, &info.mcp_url, "write").await;
    let (status, headers, body) = get(&info.mcp_url, Some(&write)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenges(&headers),
        [format!(
            "Bearer error=\"insufficient_scope\", scope=\"read\", resource_metadata=\"{}\"",
            info.resource_metadata_url
        )]
    );
}

#[tokio::test]
async fn it_accepts_the_tokens_of_a_provider_signing_with_each_algorithm() {
    for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA] {
        let listener = bind(loopback()).await;
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        let info = resource_server(&issuer).await;
        let auth = provider_of(&issuer, Key::generate(alg).expect("key"), &info.mcp_url);
        serve(listener, auth.router());
        let token = service_token(&auth, &info.mcp_url, "read").await;
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(token.split('.').next().expect("a header")).expect("base64url"),
        )
        .expect("JSON header");
        assert_eq!(header["alg"], alg.as_str(), "{alg:?}");
        let reply = get(&info.mcp_url, Some(&token)).await;
        assert_eq!(reply.0, StatusCode::OK, "{alg:?}: {}", reply.2);
        assert_accepted(&reply);
    }
}
