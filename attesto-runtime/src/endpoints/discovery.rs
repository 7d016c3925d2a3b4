//! The discovery routes: the RFC 8414 and OpenID Connect Discovery documents, prepared at
//! start-up (`protocol/discovery.rs`), served as bytes under each well-known form.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, header};

use crate::host::provider::Provider;
use crate::state::Attesto;

/// Metadata may be cached: it changes only when the provider is redeployed.
pub(crate) const METADATA_CACHE: HeaderValue = HeaderValue::from_static("public, max-age=3600");
pub(crate) fn json_bytes(body: Bytes, cache: HeaderValue) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::CACHE_CONTROL, cache)], body)
        .into_response()
}

/// `GET /.well-known/oauth-authorization-server[/…]`.
pub(crate) async fn get_authorization_server_metadata<P: Provider>(State(attesto): State<Attesto<P>>) -> Response {
    json_bytes(attesto.documents().authorization_server.clone(), METADATA_CACHE)
}

/// `GET /.well-known/openid-configuration` (and its issuer-path forms).
pub(crate) async fn get_openid_configuration<P: Provider>(State(attesto): State<Attesto<P>>) -> Response {
    match &attesto.documents().openid_configuration {
        Some(document) => json_bytes(document.clone(), METADATA_CACHE),
        None => http::StatusCode::NOT_FOUND.into_response(),
    }
}
