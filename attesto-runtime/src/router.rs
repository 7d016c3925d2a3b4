//! Mounting: the routes of a provider, built from its path table at run time.

use axum::Router;
use axum::routing::{get, post};

use crate::config::Attesto;
use crate::discovery::{self, Kind};
use crate::provider::Provider;
use crate::{authorize, jwks, par, register, revoke, token, userinfo};

impl<P: Provider> Attesto<P> {
    /// The axum router of the provider: the endpoints this release serves, at the paths of
    /// `P::PATHS`, and the discovery documents at the host root. Merge it into the host's app.
    ///
    /// Every URL the discovery documents advertise is a route of this router, and the reverse.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route(P::PATHS.authorize, get(authorize::get::<P>).post(authorize::post::<P>))
            .route(P::PATHS.token, post(token::handler::<P>))
            .route(P::PATHS.jwks, get(jwks::jwks::<P>));
        if let Some(path) = userinfo_path::<P>() {
            router = router.route(path, get(userinfo::handler::<P>).post(userinfo::handler::<P>));
        }
        if let Some(path) = P::PATHS.revocation {
            router = router.route(path, post(revoke::revocation::<P>));
        }
        if let Some(path) = P::PATHS.introspection {
            router = router.route(path, post(revoke::introspection::<P>));
        }
        if let Some(path) = P::PATHS.par {
            router = router.route(path, post(par::handler::<P>));
        }
        if let Some(path) = register::registration_path::<P>() {
            // RFC 7591 §3 registration, and RFC 7592 client configuration one segment below it.
            router = router.route(path, post(register::register::<P>)).route(
                &format!("{path}/{{client_id}}"),
                get(register::read::<P>).put(register::update::<P>).delete(register::delete::<P>),
            );
        }
        for (path, kind) in discovery::routes(self.issuer().path(), P::FEATURES.openid) {
            router = match kind {
                Kind::OAuth => router.route(&path, get(discovery::oauth_metadata::<P>)),
                Kind::OpenId => router.route(&path, get(discovery::openid_configuration::<P>)),
            };
        }
        // RFC 9728 §3: the protected resources' metadata, served as prepared at start-up.
        for (path, document) in &self.0.documents.protected_resources {
            let document = document.clone();
            router = router.route(
                path,
                get(move || std::future::ready(discovery::json_bytes(document, discovery::METADATA_CACHE))),
            );
        }
        // Last, so that it wraps every route above; it picks each request's CORS policy by path.
        router.layer(crate::cors::layer(self)).with_state(self.clone())
    }
}

/// The userinfo path, when the endpoint is on: it needs OpenID Connect.
pub(crate) fn userinfo_path<P: Provider>() -> Option<&'static str> {
    P::PATHS.userinfo.filter(|_| P::FEATURES.openid && P::FEATURES.userinfo)
}
