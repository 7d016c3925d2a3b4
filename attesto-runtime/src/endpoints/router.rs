//! Mounting: the routes of a provider, built from its path table at run time.

use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::endpoints::discovery;
use crate::endpoints::{
    authorize, device, end_session, introspection, jwks, par, registration, revocation, token, userinfo,
};
use crate::error::OAuthError;
use crate::host::provider::Provider;
use crate::protocol::discovery::{DocumentKind, well_known_paths};
use crate::state::Attesto;

/// How long a request body may take to arrive, counted from the moment its request reaches the
/// router: [`Attesto::router`]'s deadline. Every body attesto reads is at most 64 KiB, which takes
/// well under a second on any link a browser or client uses; a client that sends it a byte at a
/// time (slowloris) would otherwise hold a connection and a task for as long as it likes.
const BODY_DEADLINE: Duration = Duration::from_secs(10);

impl<P: Provider> Attesto<P> {
    /// The axum router of the provider: the endpoints this release serves, at the paths of
    /// `P::PATHS`, and the discovery documents at the host root. Merge it into the host's app.
    ///
    /// Every URL the discovery documents advertise is a route of this router, and the reverse.
    ///
    /// A request body that has not fully arrived 10 seconds after its request reached the router
    /// is answered `408 Request Timeout` (`invalid_request`), and the connection is closed;
    /// [`Attesto::router_with_body_deadline`] sets another deadline. The time a client may take
    /// over the request line and headers is the HTTP server's to bound, before any router sees
    /// the request: hyper's `header_read_timeout` (which needs a timer set on the connection
    /// builder) for a host that serves with hyper or hyper-util directly. `axum::serve` sets no
    /// timer, so under it a client may send its headers as slowly as it likes.
    pub fn router(&self) -> Router {
        self.router_with_body_deadline(BODY_DEADLINE)
    }

    /// [`Attesto::router`] with `deadline` for request bodies instead of 10 seconds.
    pub fn router_with_body_deadline(&self, deadline: Duration) -> Router {
        let mut router = Router::new()
            .route(P::PATHS.authorize, get(authorize::get::<P>).post(authorize::post::<P>))
            .route(P::PATHS.token, post(token::post::<P>))
            .route(P::PATHS.jwks, get(jwks::get::<P>));
        if let Some(path) = P::PATHS.userinfo_endpoint(&P::FEATURES) {
            router = router.route(path, get(userinfo::get_or_post::<P>).post(userinfo::get_or_post::<P>));
        }
        if let Some(path) = P::PATHS.revocation {
            router = router.route(path, post(revocation::post::<P>));
        }
        if let Some(path) = P::PATHS.introspection {
            router = router.route(path, post(introspection::post::<P>));
        }
        if let Some(path) = P::PATHS.par {
            router = router.route(path, post(par::post::<P>));
        }
        if let Some(path) = P::PATHS.registration_endpoint(&P::FEATURES) {
            // RFC 7591 §3 registration, and RFC 7592 client configuration one segment below it.
            router = router.route(path, post(registration::post::<P>)).route(
                &format!("{path}/{{client_id}}"),
                get(registration::get::<P>).put(registration::put::<P>).delete(registration::delete::<P>),
            );
        }
        if let Some((authorization, verification)) = P::PATHS.device_endpoints(&P::FEATURES) {
            // RFC 8628 §3.1 and §3.3.
            router = router
                .route(authorization, post(device::post::<P>))
                .route(verification, get(device::get::<P>).post(device::post_verification::<P>));
        }
        if let Some(path) = P::PATHS.end_session_endpoint(&P::FEATURES) {
            // OpenID Connect RP-Initiated Logout 1.0 §2: GET and POST.
            router = router.route(path, get(end_session::get::<P>).post(end_session::post::<P>));
        }
        // The forms the builder chose: every one, or only those with the issuer's path when
        // another provider keeps the host root (`Builder::well_known_forms`).
        let forms = self.settings().well_known_forms;
        for (path, kind) in well_known_paths(self.issuer().path(), P::FEATURES.openid, forms) {
            router = match kind {
                DocumentKind::OAuth => router.route(&path, get(discovery::get_authorization_server_metadata::<P>)),
                DocumentKind::OpenId => router.route(&path, get(discovery::get_openid_configuration::<P>)),
            };
        }
        // RFC 9728 §3: the protected resources' metadata, served as prepared at start-up.
        for (path, document) in &self.documents().protected_resources {
            let document = document.clone();
            router = router.route(
                path,
                get(move || std::future::ready(discovery::json_bytes(document, discovery::METADATA_CACHE))),
            );
        }
        // A method a route does not take: still 405 (axum adds `Allow`, RFC 9110 §15.5.6), with
        // an error body like every other refusal here, so that a client reads an `error` from any
        // answer of these endpoints. After the last route: it applies to the routes added so far.
        let router = router.method_not_allowed_fallback(method_not_allowed);
        // The deadline runs from the moment the body is wrapped, before the handler reads it; its
        // error is what `form::read_body` answers with 408.
        let router = router.layer(RequestBodyDeadlineLayer::new(deadline));
        // Last, so that it wraps every route above; it picks each request's CORS policy by path.
        router.layer(crate::endpoints::cors::layer(self)).with_state(self.clone())
    }
}

/// The answer to a method a route does not take.
async fn method_not_allowed() -> Response {
    OAuthError::invalid_request("this endpoint does not take this method")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .into_response()
}
