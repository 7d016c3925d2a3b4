//! The authorization endpoint through the real router: form parsing, `authorize::validate` (the
//! client, the redirect URI with its loopback port rule, PKCE, scopes, resources, prompts, PAR
//! references), then login, consent and the response.
//!
//! The first byte sets the request: bit 0 POST (a form body) rather than GET (a query); bit 1 a
//! session cookie (bit 2: of `nobody`, whom the host cannot sign in); bit 3 `Accept:
//! application/json`. The rest is the query or body.
//!
//! Checked: never a 5xx; a redirect goes to the login page or to a redirect URI of a client
//! (with any port on a loopback IP literal), never anywhere else, and so does the link or form of
//! a page that leaves the redirect to the user.
#![no_main]

use attesto_fuzz::{
    FuzzHost, LOGIN_PAGE, SESSION_COOKIE, page_destinations, same_redirect_uri, send, server, uri_with_query,
};
use axum::body::Body;
use http::{Request, header};
use libfuzzer_sys::fuzz_target;

/// Whether `location` is `registered` with another port, on a loopback IP literal (RFC 8252 §7.3).
fn other_port(location: &str, registered: &str) -> bool {
    let strip_port = |uri: &str| -> Option<String> {
        let rest = uri.strip_prefix("http://")?;
        let host = ["127.0.0.1", "[::1]"].into_iter().find(|host| rest.starts_with(host))?;
        let after = &rest[host.len()..];
        let tail = after.strip_prefix(':').map_or(after, |port| port.trim_start_matches(|c: char| c.is_ascii_digit()));
        Some(format!("{host}{tail}"))
    };
    let (Some(location), Some(registered)) = (strip_port(location), strip_port(registered)) else {
        return false;
    };
    let base = location.split(['?', '#']).next().unwrap_or_default();
    registered.split(['?', '#']).next() == Some(base)
}

fn allowed_location(host: &FuzzHost, location: &str) -> bool {
    location.starts_with(&format!("{LOGIN_PAGE}?"))
        || host.registered_redirect_uris().any(|registered| {
            location.strip_prefix(registered).is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '&']))
                || other_port(location, registered)
        })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let server = server();
    let path = <FuzzHost as attesto::Provider>::PATHS.authorize;
    let mut request = if flags & 1 == 0 {
        Request::get(uri_with_query(path, rest))
    } else {
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    };
    if flags & 0b10 != 0 {
        let subject = if flags & 0b100 == 0 { "alice" } else { "nobody" };
        request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={subject}"));
    }
    let accept = if flags & 0b1000 == 0 { "text/html" } else { "application/json" };
    request = request.header(header::ACCEPT, accept);
    let body = if flags & 1 == 0 { Body::empty() } else { Body::from(rest.to_vec()) };
    let reply = send(&server.router, request.body(body).expect("a request"));
    let host = server.auth.provider();
    if reply.status.is_redirection() {
        let location = reply.location().expect("a redirect has a Location");
        assert!(allowed_location(host, location), "redirected to {location:?}");
    }
    // A page that leaves the redirect to the user (a consent page's form posts to attesto itself)
    // offers a registered redirect URI only.
    for destination in page_destinations(&reply.body) {
        assert!(
            host.registered_redirect_uris().any(|uri| same_redirect_uri(&destination, uri)),
            "the page offers {destination:?}"
        );
    }
});
