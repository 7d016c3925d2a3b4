//! Dynamic client registration (RFC 7591) and client update (RFC 7592) through the real router:
//! the JSON body, every metadata member `register.rs` reads, redirect URI checks, the scope
//! policy, the response.
//!
//! The first byte sets the request: bit 0 `PUT {registration}/fuzz-registered` (an update, with
//! that client's registration access token; `@CLIENT_ID@` in the body stands for its id) rather
//! than `POST {registration}`; bit 1 a content type other than `application/json`. The rest is the
//! body.
//!
//! Checked: never a 5xx; success is 201 (create) or 200 (update) with a JSON object whose
//! `client_id` is set and whose every redirect URI passes `check_redirect_uri`; a refusal is a
//! 400 with an RFC 7591 §3.2.2 error, or 413 for a body over the limit.
#![no_main]

use attesto_fuzz::{FuzzHost, REGISTERED_ID, REGISTRATION_TOKEN, send, server, substitute};
use attesto_runtime::__fuzz::check_redirect_uri;
use axum::body::Body;
use http::{Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let server = server();
    let path = <FuzzHost as attesto::Provider>::PATHS.registration.expect("registration is on");
    let update = flags & 1 == 1;
    let mut request = if update {
        Request::put(format!("{path}/{REGISTERED_ID}"))
            .header(header::AUTHORIZATION, format!("Bearer {REGISTRATION_TOKEN}"))
    } else {
        Request::post(path)
    };
    let content_type = if flags & 0b10 == 0 { "application/json" } else { "application/x-www-form-urlencoded" };
    request = request.header(header::CONTENT_TYPE, content_type);
    let body = substitute(body, &[("@CLIENT_ID@", REGISTERED_ID)]);
    let reply = send(&server.router, request.body(Body::from(body)).expect("a request"));
    match reply.status {
        StatusCode::CREATED | StatusCode::OK => {
            assert_eq!(reply.status == StatusCode::OK, update);
            let info: Value = serde_json::from_slice(&reply.body).expect("a JSON response");
            assert!(info["client_id"].as_str().is_some_and(|id| !id.is_empty()), "{info}");
            // The rules `register.rs` applies: native apps, public web clients, the others.
            let kind = match (info["application_type"].as_str(), info["token_endpoint_auth_method"].as_str()) {
                (Some("native"), _) => 2,
                (_, Some("none")) => 1,
                _ => 0,
            };
            for uri in info["redirect_uris"].as_array().into_iter().flatten() {
                let uri = uri.as_str().expect("a redirect URI is a string");
                assert!(check_redirect_uri(uri, kind).is_ok(), "registered {uri:?} ({info})");
            }
        }
        StatusCode::BAD_REQUEST => {
            let error: Value = serde_json::from_slice(&reply.body).expect("a JSON error");
            let code = error["error"].as_str().unwrap_or_default();
            assert!(["invalid_client_metadata", "invalid_redirect_uri", "invalid_request"].contains(&code), "{error}");
        }
        StatusCode::PAYLOAD_TOO_LARGE => {}
        other => panic!("unexpected status {other}: {}", String::from_utf8_lossy(&reply.body)),
    }
});
