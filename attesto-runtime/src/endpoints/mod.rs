//! The axum handlers, one module per endpoint: read the request, call the protocol functions and
//! the shared state, build the response.

pub(crate) mod authorize;
pub(crate) mod client_assertion;
pub(crate) mod client_auth;
pub(crate) mod cors;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod end_session;
pub(crate) mod html;
pub(crate) mod introspection;
pub(crate) mod jwks;
pub(crate) mod par;
pub(crate) mod registration;
pub(crate) mod request_object;
pub(crate) mod revocation;
pub(crate) mod router;
pub(crate) mod token;
pub(crate) mod token_lookup;
pub(crate) mod userinfo;
