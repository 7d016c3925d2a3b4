//! The JSON Web Key Set endpoint (RFC 7517 §5).

use axum::extract::State;
use axum::response::Response;
use http::HeaderValue;

use crate::endpoints::discovery::json_bytes;
use crate::host::provider::Provider;
use crate::state::Attesto;

/// The JWKS is cached briefly, so that a key rotated in is picked up soon.
const JWKS_CACHE: HeaderValue = HeaderValue::from_static("public, max-age=300");

/// `GET {jwks}`: the public keys, prepared at start-up.
pub(crate) async fn get<P: Provider>(State(attesto): State<Attesto<P>>) -> Response {
    json_bytes(attesto.documents().jwks.clone(), JWKS_CACHE)
}
