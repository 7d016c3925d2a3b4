//! Client ID metadata documents (feature `fetch`) through the real router: the client id URL
//! checks, the fetch (from a local server, which the development switch allows), the document
//! parser (`client_from_document`: every member it reads, redirect URIs, scopes), `Cache-Control`
//! and the cache, then the authorization request of the document's client.
//!
//! The input is `path \n Cache-Control \n extra query \n document`. The client id is
//! `http://127.0.0.1:<port>/<n>/<path>`, `n` counting inputs so that no input is served from the
//! cache of another; `@URL@` in the document stands for that client id. The `Cache-Control` line
//! is sent when it is a valid header value and not empty. The extra query is appended to
//! `client_id`, `response_type=code` and a PKCE challenge.
//!
//! Checked: never a 5xx; a redirect goes to a redirect URI the document lists, and so does the
//! link or form of a page that leaves the redirect to the user.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use attesto_fuzz::{
    CHALLENGE, Document, DocumentsHost, documents_server, fields, page_destinations, same_redirect_uri, send,
    substitute, uri_with_query,
};
use axum::body::{Body, Bytes};
use http::{HeaderValue, Request, header};
use libfuzzer_sys::fuzz_target;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let [path, cache_control, extra, document] = fields::<4>(data);
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let server = documents_server();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let client_id = format!("{}/{n}/{path}", server.origin);
    let body = substitute(document, &[("@URL@", &client_id)]);
    let cache_control = Some(cache_control).filter(|v| !v.is_empty()).and_then(|v| HeaderValue::from_bytes(v).ok());
    server.serve(Document { cache_control, body: Bytes::from(body.clone()) });
    let mut query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &client_id)
        .append_pair("response_type", "code")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish()
        .into_bytes();
    if !extra.is_empty() {
        query.push(b'&');
        query.extend_from_slice(extra);
    }
    let authorize = <DocumentsHost as attesto::Provider>::PATHS.authorize;
    let request = Request::get(uri_with_query(authorize, &query)).header(header::ACCEPT, "text/html");
    let reply = send(&server.router, request.body(Body::empty()).expect("a request"));
    let listed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|document| document.get("redirect_uris").cloned())
        .and_then(|uris| serde_json::from_value::<Vec<String>>(uris).ok())
        .unwrap_or_default();
    if reply.status.is_redirection() {
        // Compared as URLs: the response is built on the parsed redirect URI, whose host a URL
        // parser writes in lower case (`https://App.Example/cb` answers at `https://app.example/cb`).
        let location = reply.location().expect("a redirect has a Location");
        assert!(
            listed.iter().any(|uri| same_redirect_uri(location, uri)),
            "redirected to {location:?}, not a redirect URI of {listed:?}"
        );
    }
    // A page that leaves the redirect to the user offers a redirect URI of the document only.
    for destination in page_destinations(&reply.body) {
        assert!(
            listed.iter().any(|uri| same_redirect_uri(&destination, uri)),
            "the page offers {destination:?}, not a redirect URI of {listed:?}"
        );
    }
});
