//! CORS for browser-based clients: the server side of the Fetch standard's "CORS protocol"
//! (<https://fetch.spec.whatwg.org/#http-cors-protocol>; cited below by section title, since the
//! living standard renumbers its sections).
//!
//! One layer, added once to the whole router, decides by request path which policy applies, from
//! the same path table that mounts the routes ([`Paths`]) and from [`well_known_paths`]; an
//! endpoint added to the router later is therefore covered without touching this module.
//!
//! - **Public** (discovery documents, JWKS): any origin, `Access-Control-Allow-Origin: *`. They
//!   are public documents that anyone can fetch anyway.
//! - **API** (token, userinfo, revocation, introspection, registration and the RFC 7592 client
//!   configuration endpoint under it, device authorization): the origins set with
//!   [`Builder::cors_allowed_origins`](crate::Builder::cors_allowed_origins), any by default.
//! - **No CORS** (the authorization endpoint, PAR, the device verification page, anything else):
//!   requests pass through untouched. An authorization request is a top-level navigation (RFC 6749 §3.1), never a
//!   script's fetch, so a preflight there is not answered and reaches the router (405).
//!
//! `Access-Control-Allow-Credentials` is never sent: no endpoint here reads cookies, every
//! credential is explicit (an `Authorization` header, a form field, a DPoP proof), so a browser
//! never needs to attach ambient credentials to these requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use tower::{Layer, Service};

use crate::host::provider::Provider;
use crate::model::declaration::Paths;
use crate::protocol::discovery::well_known_paths;
use crate::settings::AllowedOrigins;
use crate::state::Attesto;

/// The request headers a browser client may send (Fetch, "HTTP responses":
/// `Access-Control-Allow-Headers`): credentials and bearer tokens (`Authorization`), JSON bodies
/// of registration (a `Content-Type` that is not CORS-safelisted) and DPoP proofs (RFC 9449
/// §4.1). `Authorization` must be named: the `*` wildcard never covers it (same section).
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static("Authorization, Content-Type, DPoP");

/// The response headers a browser client may read beyond the CORS-safelisted ones (Fetch, "HTTP
/// responses": `Access-Control-Expose-Headers`): the RFC 6750 §3 / RFC 9449 §7.1 challenge of a
/// 401, and the DPoP nonce a client must retry with (RFC 9449 §8).
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static("WWW-Authenticate, DPoP-Nonce");

/// How long a browser may cache a preflight answer. Chromium caps the value at two hours, so a
/// longer one would not be honoured by most clients anyway.
const MAX_AGE: HeaderValue = HeaderValue::from_static("7200");

const ANY: HeaderValue = HeaderValue::from_static("*");
const ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// The CORS policy of a request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// A public document (discovery, JWKS): any origin, method `GET`.
    Public,
    /// An API endpoint with the methods its route accepts: the configured origins.
    Api(&'static str),
    /// Not for cross-origin scripts: the authorization endpoint, PAR, unknown paths.
    NoCors,
}

/// The paths of one provider, and the origins allowed on its API endpoints.
#[derive(Debug)]
struct Policy {
    paths: Paths,
    /// The userinfo path when that endpoint is on (it needs `openid`).
    userinfo: Option<&'static str>,
    /// The discovery routes, which depend on the issuer's path.
    well_known: Vec<String>,
    origins: AllowedOrigins,
}

impl Policy {
    fn classify(&self, path: &str) -> Class {
        let paths = &self.paths;
        // First, so that no rule below can claim them: the authorization endpoint is navigated
        // to, not fetched; PAR is a back-channel call of the client's server (RFC 9126 §2).
        if path == paths.authorize || paths.par == Some(path) {
            return Class::NoCors;
        }
        if path == paths.jwks || self.well_known.iter().any(|route| route == path) {
            return Class::Public;
        }
        let is = |endpoint: Option<&str>| endpoint == Some(path);
        if path == paths.token
            || is(paths.revocation)
            || is(paths.introspection)
            || is(paths.registration)
            || is(paths.device_authorization)
        {
            return Class::Api("POST");
        }
        if is(self.userinfo) {
            // OpenID Connect Core §5.3.1: GET and POST.
            return Class::Api("GET, POST");
        }
        // RFC 7592 §2: the client configuration endpoint `{registration}/{client_id}`.
        let under_registration = paths
            .registration
            .and_then(|registration| path.strip_prefix(registration))
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| !rest.is_empty());
        if under_registration {
            return Class::Api("GET, PUT, DELETE");
        }
        Class::NoCors
    }

    /// What a request from `origin` to a path of `class` is granted.
    fn grant(&self, class: Class, origin: Option<&HeaderValue>) -> Grant {
        match (class, &self.origins) {
            (Class::NoCors, _) => Grant { allow_origin: None, vary: false },
            // Fetch, "CORS protocol and HTTP caches": with `*`, send it on every response, CORS
            // request or not, and no `Vary`.
            (Class::Public, _) | (Class::Api(_), AllowedOrigins::Any) => Grant { allow_origin: Some(ANY), vary: false },
            // Here the answer depends on `Origin`, so caches must key on it (same section),
            // whether or not this origin matched.
            (Class::Api(_), AllowedOrigins::List(list)) => Grant {
                allow_origin: origin.filter(|origin| list.iter().any(|allowed| allowed == *origin)).cloned(),
                vary: true,
            },
        }
    }
}

/// The CORS answer to one request: the `Access-Control-Allow-Origin` value, if allowed.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    allow_origin: Option<HeaderValue>,
    /// Whether the answer depends on `Origin` (`Vary: Origin`).
    vary: bool,
}

/// A CORS-preflight request (Fetch, "HTTP requests"): `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`.
fn is_preflight(request: &Request) -> bool {
    let headers = request.headers();
    request.method() == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to a preflight (Fetch, "HTTP responses"), given here before routing since the
/// routes have no `OPTIONS` handler. A disallowed origin gets a 204 without any allowance, so the
/// browser fails the CORS check and does not send the actual request.
fn preflight(class: Class, grant: Grant) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    if grant.vary {
        headers.append(header::VARY, ORIGIN);
    }
    if let Some(origin) = grant.allow_origin {
        let methods = match class {
            Class::Api(methods) => methods,
            Class::Public | Class::NoCors => "GET",
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
    }
    response
}

/// Adds the CORS headers of an actual response (Fetch, "HTTP responses"), errors included, so
/// that a browser client can read an OAuth error and its `WWW-Authenticate` challenge.
fn decorate(headers: &mut HeaderMap, class: Class, grant: Grant) {
    if grant.vary {
        headers.append(header::VARY, ORIGIN);
    }
    if let Some(origin) = grant.allow_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        // The documents carry no header beyond the safelisted ones.
        if let Class::Api(_) = class {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
        }
    }
}

/// The CORS layer of provider `P`, to be added to its router after every route.
pub(crate) fn layer<P: Provider>(attesto: &Attesto<P>) -> CorsLayer {
    let forms = attesto.settings().well_known_forms;
    let well_known = well_known_paths(attesto.issuer().path(), P::FEATURES.openid, forms);
    let mut paths = P::PATHS;
    // As mounted: registration only with its feature flag.
    paths.registration = paths.registration.filter(|_| P::FEATURES.registration);
    CorsLayer(Arc::new(Policy {
        paths,
        userinfo: P::PATHS.userinfo_endpoint(&P::FEATURES),
        // The RFC 9728 documents are public too.
        well_known: well_known
            .into_iter()
            .map(|(path, _)| path)
            .chain(attesto.documents().protected_resources.iter().map(|(path, _)| path.clone()))
            .collect(),
        origins: attesto.settings().cors_origins.clone(),
    }))
}

/// Applies the CORS policy of a provider to the routes it wraps.
#[derive(Debug, Clone)]
pub(crate) struct CorsLayer(Arc<Policy>);

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors { inner, policy: Arc::clone(&self.0) }
    }
}

/// The service of [`CorsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Cors<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> Service<Request> for Cors<S>
where
    S: Service<Request, Response = Response>,
    // axum's route futures are `Unpin`: this spares a pinned projection (or a box) per request.
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let class = self.policy.classify(request.uri().path());
        if class == Class::NoCors {
            return CorsFuture::Actual { future: self.inner.call(request), cors: None };
        }
        let grant = self.policy.grant(class, request.headers().get(header::ORIGIN));
        if is_preflight(&request) {
            return CorsFuture::Preflight(Some(preflight(class, grant)));
        }
        CorsFuture::Actual { future: self.inner.call(request), cors: Some((class, grant)) }
    }
}

/// The response future of [`Cors`].
#[derive(Debug)]
pub(crate) enum CorsFuture<F> {
    /// A preflight, answered without calling the route.
    Preflight(Option<Response>),
    /// Any other request: the route's response, with the CORS headers of its class added.
    Actual { future: F, cors: Option<(Class, Grant)> },
}

impl<F, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            // Polled once: the response is taken then (a second poll breaks the `Future`
            // contract; it gets an empty response rather than a panic).
            Self::Preflight(response) => Poll::Ready(Ok(response.take().unwrap_or_default())),
            Self::Actual { future, cors } => {
                let mut response = ready!(Pin::new(future).poll(cx))?;
                if let Some((class, grant)) = cors.take() {
                    decorate(response.headers_mut(), class, grant);
                }
                Poll::Ready(Ok(response))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(registration: Option<&'static str>) -> Policy {
        Policy {
            paths: Paths {
                authorize: "/oauth/authorize",
                token: "/oauth/token",
                jwks: "/oauth/jwks",
                userinfo: Some("/oauth/userinfo"),
                revocation: Some("/oauth/revoke"),
                introspection: Some("/oauth/introspect"),
                par: Some("/oauth/par"),
                registration,
                device_authorization: None,
                device_verification: None,
                end_session: None,
                resource: None,
                resource_metadata: None,
            },
            userinfo: Some("/oauth/userinfo"),
            well_known: well_known_paths("/tenant", true, crate::protocol::discovery::WellKnownForms::All)
                .into_iter()
                .map(|(path, _)| path)
                .collect(),
            origins: AllowedOrigins::Any,
        }
    }

    #[test]
    fn paths_are_classified_from_the_path_table() {
        let policy = policy(Some("/oauth/register"));
        for path in [
            "/oauth/jwks",
            "/.well-known/oauth-authorization-server",
            "/.well-known/oauth-authorization-server/tenant",
            "/.well-known/openid-configuration",
            "/tenant/.well-known/openid-configuration",
        ] {
            assert_eq!(policy.classify(path), Class::Public, "{path}");
        }
        for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/register"] {
            assert_eq!(policy.classify(path), Class::Api("POST"), "{path}");
        }
        assert_eq!(policy.classify("/oauth/userinfo"), Class::Api("GET, POST"));
        assert_eq!(policy.classify("/oauth/register/abc"), Class::Api("GET, PUT, DELETE"));
        for path in [
            "/oauth/authorize",
            "/oauth/par",
            "/oauth/register/",
            "/oauth/registerx",
            "/oauth/token/",
            "/.well-known/other",
            "/",
        ] {
            assert_eq!(policy.classify(path), Class::NoCors, "{path}");
        }
    }

    #[test]
    fn without_registration_nothing_under_its_default_path_is_covered() {
        let policy = policy(None);
        assert_eq!(policy.classify("/oauth/register"), Class::NoCors);
        assert_eq!(policy.classify("/oauth/register/abc"), Class::NoCors);
    }

    #[test]
    fn an_endpoint_nested_under_registration_keeps_its_own_class() {
        let mut policy = policy(Some("/oauth"));
        policy.paths.par = Some("/oauth/par");
        assert_eq!(policy.classify("/oauth/par"), Class::NoCors);
        assert_eq!(policy.classify("/oauth/authorize"), Class::NoCors);
        assert_eq!(policy.classify("/oauth/token"), Class::Api("POST"));
        assert_eq!(policy.classify("/oauth/jwks"), Class::Public);
        assert_eq!(policy.classify("/oauth/abc"), Class::Api("GET, PUT, DELETE"));
    }
}
