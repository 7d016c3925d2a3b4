//! Mounting: the routes of a provider, built from its path table at run time.

use axum::Router;
use axum::routing::{get, post};

use crate::config::Attesto;
use crate::discovery::{self, Kind};
use crate::provider::Provider;
use crate::{authorize, jwks, token, userinfo};

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
        for (path, kind) in discovery::routes(self.issuer().path(), P::FEATURES.openid) {
            router = match kind {
                Kind::OAuth => router.route(&path, get(discovery::oauth_metadata::<P>)),
                Kind::OpenId => router.route(&path, get(discovery::openid_configuration::<P>)),
            };
        }
        router.with_state(self.clone())
    }
}

/// The userinfo path, when the endpoint is on: it needs OpenID Connect.
pub(crate) fn userinfo_path<P: Provider>() -> Option<&'static str> {
    P::PATHS.userinfo.filter(|_| P::FEATURES.openid && P::FEATURES.userinfo)
}
