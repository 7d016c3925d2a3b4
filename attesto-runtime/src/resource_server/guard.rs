//! The resource-server guard: the host's own routes, protected by this provider's access tokens
//! (RFC 6750, RFC 9068, RFC 9449 §7), in process, next to the provider.
//!
//! A [`Guard`] is made for one resource ([`Attesto::guard`]) and accepts a request only with an
//! access token of this provider, signed by one of its keys, for *that* resource (RFC 8707: a
//! token for another audience is refused, never passed through), unexpired (with a small skew),
//! not revoked (checked in process, no store round trip per request), carrying the required
//! scopes, and presented the way its binding asks (a DPoP-bound token with the `DPoP` scheme and
//! a proof of this request, RFC 9449 §7). Every refusal carries a `WWW-Authenticate` challenge
//! with `resource_metadata`, the URL of the resource's RFC 9728 document (RFC 9728 §5.1).
//!
//! During a migration, a `Bearer` token that is not a valid token of this provider's is offered
//! to the host's [`LegacyTokens`](crate::LegacyTokens) before its cut-off, and what the host
//! vouches for is checked the same way (expiry, audience, client, scopes); a `RemoteGuard` does
//! not do this.
//!
//! ```no_run
//! # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), Box<dyn std::error::Error>> {
//! use attesto_runtime::Authenticated;
//! use axum::routing::get;
//!
//! let guard = auth.guard("https://mcp.example.com/mcp")?.require_scopes(["mcp:tools"]);
//! async fn tools(who: Authenticated) -> String {
//!     who.subject
//! }
//! let app = axum::Router::new()
//!     .route("/mcp", get(tools))
//!     .with_state(guard)
//!     .merge(auth.router());
//! # Ok(()) }
//! ```
//!
//! The token-reading code ([`authenticate`]) is the one the userinfo endpoint uses too, and the
//! one of a guard for a resource server that runs without the provider in its process
//! (`RemoteGuard`, feature `fetch`): what differs between them (where the keys and the
//! revocations come from, whether the client table can be read, where DPoP proofs are
//! remembered) is a [`TokenAuthority`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, header};
use tower::{Layer, Service};

use crate::endpoints::discovery;
use crate::error::ConfigError;
use crate::host::provider::Provider;
use crate::model::resource::normalize_resource;
use crate::protocol::dpop_proof;
use crate::protocol::jwt;
use crate::protocol::jwt::EXPIRY_SKEW;
use crate::protocol::resource_metadata::{PRM_WELL_KNOWN, ProtectedResourceMetadata, metadata_path};
use crate::resource_server::step_up::{self, UserAuthentication};
use crate::resource_server::token_check::{
    Authenticated, LegacyAccess, Refusal, Route, TokenKind, authenticate, insufficient_scope,
    insufficient_user_authentication,
};
use crate::state::Attesto;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A token check, with the provider's type erased, so that [`Guard`] and [`Authenticated`] need
/// no type parameter in the host's handlers: [`Attesto`] in process,
/// `RemoteGuard`'s check otherwise.
pub(crate) trait Check: Send + Sync + 'static {
    fn check<'a>(
        &'a self,
        method: &'a Method,
        headers: &'a HeaderMap,
        audience: &'a str,
        htu: &'a str,
    ) -> BoxFuture<'a, Result<Authenticated, Refusal>>;

    fn add_fresh_dpop_nonce(&self, request: &HeaderMap, response: &mut Response);

    /// The issuer of the tokens accepted: the authorization server the resource's RFC 9728
    /// document names.
    fn issuer(&self) -> &str;
}

impl<P: Provider> Check for Attesto<P> {
    fn check<'a>(
        &'a self,
        method: &'a Method,
        headers: &'a HeaderMap,
        audience: &'a str,
        htu: &'a str,
    ) -> BoxFuture<'a, Result<Authenticated, Refusal>> {
        // FAPI 2.0 Security Profile §5.3.4: a resource accepts sender-constrained tokens only,
        // which a replaced provider's bearer tokens are not.
        let legacy = if self.settings().profile.is_fapi2() { LegacyAccess::NotOffered } else { LegacyAccess::Offered };
        Box::pin(authenticate(self, method, headers, audience, htu, EXPIRY_SKEW, legacy))
    }

    fn add_fresh_dpop_nonce(&self, request: &HeaderMap, response: &mut Response) {
        Attesto::add_fresh_dpop_nonce(self, request, response);
    }

    fn issuer(&self) -> &str {
        self.settings().issuer.as_str()
    }
}

/// What a guard protects.
#[derive(Debug, Clone)]
struct Protected {
    /// The resource as configured: the `aud` its tokens carry.
    resource: String,
    /// The origin of the resource (`https://host[:port]`), the base of each request's `htu`.
    origin: String,
    /// The path of the resource's RFC 9728 document (RFC 9728 §3.1).
    metadata_path: String,
    /// The URL of the resource's RFC 9728 document and the scopes every request needs, shared
    /// with each caller the guard lets in (for [`Authenticated::require_scopes`]).
    route: Arc<Route>,
    /// Whether a client's own token (`client_credentials`) is refused.
    users_only: bool,
}

/// Accepts a request to one resource only with a valid access token of this provider for that
/// resource. Get one from [`Attesto::guard`] (or, for a resource server without the provider in
/// its process, from `RemoteGuard`, feature `fetch`); use it as router state for the
/// [`Authenticated`] extractor, or as a tower [`Layer`].
#[derive(Clone)]
pub struct Guard {
    check: Arc<dyn Check>,
    protected: Arc<Protected>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("protected", &self.protected).finish_non_exhaustive()
    }
}

impl<P: Provider> Attesto<P> {
    /// A guard for the resource at `resource` (an absolute URL, e.g.
    /// `https://mcp.example.com/mcp`): it accepts only tokens whose `aud` is this resource
    /// (RFC 8707). Add the resource to the builder ([`Builder::resource`](crate::Builder::resource)
    /// or [`Builder::protected_resource`](crate::Builder::protected_resource)) so that clients can
    /// get tokens for it.
    pub fn guard(&self, resource: &str) -> Result<Guard, ConfigError> {
        Guard::with_check(Arc::new(self.clone()), resource)
    }

    /// The URL of the protected resource the declaration names (`resource = "/mcp"` gives
    /// `https://<issuer's host>/mcp`), if it names one: the `aud` of the tokens issued for it.
    pub fn resource_url(&self) -> Option<&str> {
        self.settings().resource_url.as_deref()
    }

    /// The guard of the protected resource the declaration names (`resource = "/mcp"`): accepts
    /// only this provider's tokens issued for that resource. Mount it around the resource's route,
    /// at `P::PATHS.resource`.
    ///
    /// ```no_run
    /// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), Box<dyn std::error::Error>> {
    /// # let mcp = axum::routing::post(|| async { "tools" });
    /// let guard = auth.resource_guard()?.require_scopes(["mcp:tools"]);
    /// let path = P::PATHS.resource.unwrap_or("/mcp");
    /// let app = axum::Router::new().route(path, mcp.layer(guard)).merge(auth.router());
    /// # Ok(()) }
    /// ```
    pub fn resource_guard(&self) -> Result<Guard, ConfigError> {
        let url = self.resource_url().ok_or(ConfigError::NoDeclaredResource)?;
        self.guard(url)
    }
    /// `service` mounted at the declared resource's path (`resource = "/mcp"`), behind `guard`:
    /// the route the resource needs, without naming its path a second time. Merge it with
    /// [`router`](Self::router) and the host's routes; the service finds the caller in the
    /// request's extensions ([`Authenticated`](crate::Authenticated)).
    ///
    /// `guard` is usually [`resource_guard`](Self::resource_guard) with the scopes every request
    /// needs; `Err(ConfigError::NoDeclaredResource)` when the declaration names no resource.
    ///
    /// ```no_run
    /// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), Box<dyn std::error::Error>> {
    /// # let mcp = tower::service_fn(|_: axum::extract::Request| async { Ok::<_, std::convert::Infallible>("tools") });
    /// let guard = auth.resource_guard()?.require_scopes(["mcp:tools"]);
    /// let app = auth.protect(guard, mcp)?.merge(auth.router());
    /// # Ok(()) }
    /// ```
    pub fn protect<S>(&self, guard: Guard, service: S) -> Result<axum::Router, ConfigError>
    where
        S: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        S::Response: IntoResponse + 'static,
        S::Future: Send + 'static,
    {
        let path = P::PATHS.resource.ok_or(ConfigError::NoDeclaredResource)?;
        Ok(axum::Router::new().route_service(path, service).layer(guard))
    }
}

impl Guard {
    /// A guard for the resource at `resource` (an absolute URL) whose tokens `check` verifies.
    pub(crate) fn with_check(check: Arc<dyn Check>, resource: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::Resource { resource: resource.to_owned(), reason };
        normalize_resource(resource).map_err(invalid)?;
        let url = url::Url::parse(resource).map_err(|_| invalid("not an absolute URI"))?;
        if url.host_str().is_none() {
            return Err(invalid("has no host"));
        }
        let origin = url.origin().ascii_serialization();
        let path = metadata_path(&url);
        let metadata_url = format!("{origin}{path}");
        Ok(Self {
            check,
            protected: Arc::new(Protected {
                resource: resource.to_owned(),
                origin,
                metadata_path: path,
                route: Arc::new(Route {
                    resource_metadata: metadata_url,
                    scopes: Vec::new(),
                    authentication: UserAuthentication::default(),
                }),
                users_only: false,
            }),
        })
    }

    /// This guard, requiring also `scopes` of every request (403 `insufficient_scope` otherwise,
    /// RFC 6750 §3.1). For per-route scopes, give each route its own guard.
    #[must_use]
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(&self, scopes: I) -> Self {
        self.with_route(|route| {
            for scope in scopes {
                let scope = scope.into();
                if !route.scopes.contains(&scope) {
                    route.scopes.push(scope);
                }
            }
        })
    }

    /// This guard, accepting only tokens a user authorized ([`TokenKind::User`]): a client's own
    /// `client_credentials` token is refused with 401 `insufficient_user_authentication` (RFC
    /// 9470 §3: no user authentication stands behind it), so that a resource that acts for users
    /// never takes a client for one (RFC 9700 §4.15).
    #[must_use]
    pub fn require_user(&self) -> Self {
        let protected = Protected { users_only: true, ..Protected::clone(&self.protected) };
        Self { check: Arc::clone(&self.check), protected: Arc::new(protected) }
    }

    /// This guard, requiring also that the user signed in with one of the authentication context
    /// classes `acr_values` (the token's `acr`, RFC 9068 §2.2.1; any of them, compared exactly).
    /// A token without a matching `acr` (a client's own token has none) is refused with `401
    /// insufficient_user_authentication` and a challenge naming `acr_values` (RFC 9470 §3), which
    /// the client sends in its next authorization request; the host's `authenticate` receives
    /// them ([`LoginRequest::acr_values`](crate::LoginRequest::acr_values)) and says which class
    /// it met with [`AuthenticatedPrincipal::with_acr`](crate::AuthenticatedPrincipal::with_acr).
    ///
    /// ```no_run
    /// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let guard = auth
    ///     .guard("https://api.example.com/payments")?
    ///     .require_acr(["urn:example:mfa", "urn:example:hwk"])
    ///     .require_max_age(Duration::from_secs(15 * 60));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn require_acr<I: IntoIterator<Item = S>, S: Into<String>>(&self, acr_values: I) -> Self {
        self.with_route(|route| route.authentication.add_acr_values(acr_values))
    }

    /// This guard, requiring also that the user signed in at most `max_age` ago (the token's
    /// `auth_time`, RFC 9068 §2.2.1; whole seconds). An older sign-in, or none (a client's own
    /// token), is refused with `401 insufficient_user_authentication` and a challenge naming
    /// `max_age` (RFC 9470 §3); the client authorizes again with it, and the provider has the
    /// user sign in again. A refreshed token keeps the time of the original sign-in, so a
    /// refresh does not make it recent.
    #[must_use]
    pub fn require_max_age(&self, max_age: std::time::Duration) -> Self {
        self.with_route(|route| route.authentication.set_max_age(max_age))
    }

    /// This guard with its route changed by `change`.
    fn with_route(&self, change: impl FnOnce(&mut Route)) -> Self {
        let mut route = Route::clone(&self.protected.route);
        change(&mut route);
        let protected = Protected { route: Arc::new(route), ..Protected::clone(&self.protected) };
        Self { check: Arc::clone(&self.check), protected: Arc::new(protected) }
    }

    /// The URL of the resource's RFC 9728 document, as the challenges advertise it.
    pub fn resource_metadata_url(&self) -> &str {
        &self.protected.route.resource_metadata
    }

    /// The routes of the resource's RFC 9728 protected-resource metadata, for a resource server
    /// that runs without the provider in its process (the guard of a `RemoteGuard`, feature `fetch`;
    /// the provider's [`router`](crate::Attesto::router) serves the documents of its own
    /// resources already). The document names the resource, the guard's issuer as its
    /// authorization server, the scopes this guard requires as `scopes_supported`, the header as
    /// the one way to send a token, and the DPoP algorithms accepted; it is served at the path its
    /// challenges name (`/.well-known/oauth-protected-resource/mcp` for `…/mcp`, RFC 9728 §3.1)
    /// and at the bare well-known path, which some MCP clients try first, with CORS open to any
    /// origin: it is public, and browser-based clients read it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mcp = axum::routing::post(|| async { "tools" });
    /// use attesto_runtime::RemoteGuard;
    ///
    /// let guard = RemoteGuard::new("https://auth.example.com", "https://mcp.example.com/mcp")
    ///     .build()
    ///     .await?
    ///     .require_scopes(["mcp:tools"]);
    /// let app = axum::Router::new().route("/mcp", mcp.layer(guard.clone())).merge(guard.metadata_router());
    /// # Ok(()) }
    /// ```
    pub fn metadata_router(&self) -> axum::Router {
        let protected = &self.protected;
        let document = ProtectedResourceMetadata {
            resource: &protected.resource,
            authorization_servers: [self.check.issuer()],
            scopes_supported: &protected.route.scopes,
            // RFC 9728 §2: tokens in the `Authorization` header only (RFC 6750 §2.1).
            bearer_methods_supported: ["header"],
            dpop_signing_alg_values_supported: dpop_proof::SUPPORTED_ALGORITHMS,
        };
        let document = bytes::Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
        let serve = move || {
            let mut response = discovery::json_bytes(document.clone(), discovery::METADATA_CACHE);
            response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            std::future::ready(response)
        };
        let mut router = axum::Router::new().route(&protected.metadata_path, get(serve.clone()));
        if protected.metadata_path != PRM_WELL_KNOWN {
            router = router.route(PRM_WELL_KNOWN, get(serve));
        }
        router
    }

    /// Checks a request: the principal, or the response refusing it.
    pub async fn check(&self, parts: &Parts) -> Result<Authenticated, Response> {
        let protected = &self.protected;
        // RFC 9449 §4.3 check 9, §11.5: the `htu` is the resource's configured origin and the
        // request's path, never from `Host`, which the client chooses. The path is the one the
        // client sent: under `Router::nest` the router strips the prefix from `uri` and keeps
        // the original in `OriginalUri`.
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |uri| uri.0.path());
        let htu = format!("{}{path}", protected.origin);
        let result = self.check.check(&parts.method, &parts.headers, &protected.resource, &htu).await;
        let route = &protected.route;
        let refusal = match result {
            Ok(principal) if protected.users_only && principal.kind != TokenKind::User => {
                Refusal::Error(insufficient_user_authentication(principal.scheme()))
            }
            Ok(mut principal) => {
                let auth_time = principal.auth_time.map(jwt::unix_seconds);
                let now = jwt::unix_seconds(std::time::SystemTime::now());
                // RFC 9470 §3 before RFC 6750 §3.1: a token whose sign-in falls short is of no
                // use whatever its scopes; the client signs the user in again, asking for the
                // route's scopes at the same time.
                if let Err(shortfall) = route.authentication.check(principal.acr.as_deref(), auth_time, now) {
                    Refusal::Error(step_up::refusal(principal.scheme(), shortfall, &route.authentication))
                } else if route.scopes.iter().all(|scope| principal.scopes.contains(scope)) {
                    principal.route = Some(Arc::clone(route));
                    return Ok(principal);
                } else {
                    Refusal::Error(insufficient_scope(principal.scheme(), &route.scopes.join(" ")))
                }
            }
            Err(refusal) => refusal,
        };
        let scope = (!route.scopes.is_empty()).then(|| route.scopes.join(" "));
        let mut response = refusal.into_response(Some(&route.resource_metadata), scope.as_deref());
        self.check.add_fresh_dpop_nonce(&parts.headers, &mut response);
        Err(response)
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    Guard: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Already checked by a guard's layer around this route.
        if let Some(principal) = parts.extensions.get::<Self>() {
            return Ok(principal.clone());
        }
        Guard::from_ref(state).check(parts).await
    }
}

impl<S> Layer<S> for Guard {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService { inner, guard: self.clone() }
    }
}

/// The service of a [`Guard`] used as a layer: it passes on only the requests the guard accepts,
/// with their [`Authenticated`] in the request extensions.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

impl<S> Service<Request> for GuardService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service polled ready is the one that is called (tower's `Service` contract); a
        // fresh clone stays behind for the next request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match guard.check(&parts).await {
                Ok(principal) => {
                    parts.extensions.insert(principal);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(response) => Ok(response),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use http::{HeaderValue, StatusCode, header};

    use super::*;
    use crate::error::ErrorCode;
    use crate::resource_server::token_check::{Scheme, with_parameters};

    #[test]
    fn the_metadata_path_inserts_the_well_known_segment_before_the_resource_path() {
        // RFC 9728 §3.1.
        let path = |resource: &str| metadata_path(&url::Url::parse(resource).expect("URL"));
        assert_eq!(path("https://mcp.example.com"), "/.well-known/oauth-protected-resource");
        assert_eq!(path("https://mcp.example.com/"), "/.well-known/oauth-protected-resource");
        assert_eq!(path("https://mcp.example.com/mcp"), "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(path("https://h.example/a/b/"), "/.well-known/oauth-protected-resource/a/b");
    }

    #[test]
    fn resource_metadata_and_scope_are_added_to_bare_and_full_challenges() {
        let url = "https://h.example/.well-known/oauth-protected-resource";
        let add =
            |challenge: &'static str, scope| with_parameters(&HeaderValue::from_static(challenge), scope, Some(url));
        assert_eq!(add("Bearer", None), format!("Bearer resource_metadata=\"{url}\"").as_str());
        assert_eq!(
            add("Bearer error=\"invalid_token\"", None),
            format!("Bearer error=\"invalid_token\", resource_metadata=\"{url}\"").as_str()
        );
        assert_eq!(add("Bearer", Some("a b")), format!("Bearer scope=\"a b\", resource_metadata=\"{url}\"").as_str());
        // `insufficient_scope` names its scopes already: not twice.
        assert_eq!(
            add("Bearer error=\"insufficient_scope\", scope=\"a\"", Some("a")),
            format!("Bearer error=\"insufficient_scope\", scope=\"a\", resource_metadata=\"{url}\"").as_str()
        );
    }

    #[test]
    fn insufficient_scope_names_the_scopes_in_either_scheme() {
        let error = insufficient_scope(Scheme::Bearer, "a b");
        assert_eq!(error.status(), StatusCode::FORBIDDEN);
        assert_eq!(error.code(), ErrorCode::InsufficientScope);
        let response = insufficient_scope(Scheme::Dpop, "a b").into_response();
        let challenge = response.headers()[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
        assert!(challenge.starts_with("DPoP error=\"insufficient_scope\""), "{challenge}");
        assert!(challenge.contains("scope=\"a b\""), "{challenge}");
    }
}
